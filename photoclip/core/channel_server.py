"""The local channel's server without Qt, for ``photoclip watch`` (the app has its own,
``ui/single_instance.py``, on Qt's event loop; both follow ``local_channel.py``).

One thread accepts; each connection of this user gets a short-lived thread that reads
its lines (each within the read timeout, each within the size limit) and writes the
replies; the commands themselves run one at a time in one answering thread, so a
command never races another and the catalog keeps one reader connection for them.
A garbled, oversized or slow peer only loses its own connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .local_channel import (
    READ_TIMEOUT_S,
    ChannelError,
    LineReader,
    ProtocolError,
    UnsafeChannel,
    check_peer,
    clear_stale_socket,
    decode_request,
    encode,
)

log = logging.getLogger(__name__)

MAX_PEERS = 16  # connections served at once; more are closed at once
Reply = dict[str, Any]
Command = Callable[[Reply], Reply]


class ChannelServer:
    """Answers ``commands`` on the socket ``path`` until ``close()``.

    ``start()`` raises ChannelError (one line) when the name is taken or can't be bound;
    ``close()`` stops the threads and removes the socket file if it is still ours."""

    def __init__(self, path: Path, commands: Mapping[str, Command], *,
                 read_timeout_s: float = READ_TIMEOUT_S, max_peers: int = MAX_PEERS) -> None:
        self.path = path
        self.commands = dict(commands)
        self.read_timeout_s = read_timeout_s
        self.max_peers = max_peers
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._wake_read, self._wake_write = -1, -1
        self._accepting: threading.Thread | None = None
        self._answers = ThreadPoolExecutor(1, thread_name_prefix="channel-answer")
        self._peers: dict[socket.socket, threading.Thread] = {}
        self._peers_lock = threading.Lock()
        self._closed = threading.Event()

    def __enter__(self) -> ChannelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> ChannelServer:
        clear_stale_socket(self.path)  # a crash's leftover goes; a live or foreign one stays
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))  # fails on a taken name: never replaces a live server
            os.chmod(self.path, 0o600)  # the 0700 folder kept everyone out until now
            self._inode = os.lstat(self.path).st_ino
            listener.listen(self.max_peers)
        except OSError as exc:
            listener.close()
            if self._inode is not None:
                self.path.unlink(missing_ok=True)
            raise ChannelError(f"can't listen at {self.path}: {exc.strerror or exc}") from exc
        self._listener = listener
        self._wake_read, self._wake_write = os.pipe()
        self._accepting = threading.Thread(target=self._accept_loop, name="channel-accept", daemon=True)
        self._accepting.start()
        return self

    def close(self) -> None:
        """Stop accepting, hang up on every peer, let a command in flight finish."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._accepting is not None:
            os.write(self._wake_write, b"x")
            self._accepting.join(timeout=5)
            for fd in (self._wake_read, self._wake_write):
                os.close(fd)
        self._answers.shutdown(wait=True, cancel_futures=True)  # the reply in flight is written
        with self._peers_lock:
            peers = dict(self._peers)
        for peer, thread in peers.items():
            with contextlib.suppress(OSError):
                peer.shutdown(socket.SHUT_RD)  # wakes its thread's recv; a reply still goes out
            thread.join(timeout=1)
        if self._listener is not None:
            self._listener.close()
            self._remove_our_socket_file()

    def _remove_our_socket_file(self) -> None:
        with contextlib.suppress(OSError):
            if os.lstat(self.path).st_ino == self._inode:  # not a later server's
                self.path.unlink()

    # ---- connections ------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            ready, _, _ = select.select([self._listener, self._wake_read], [], [])
            if self._wake_read in ready:
                return
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue  # the caller gave up between select and accept
            self._admit(connection)

    def _admit(self, connection: socket.socket) -> None:
        try:
            check_peer(connection.fileno())  # another user: refused, logged once
        except UnsafeChannel:
            connection.close()
            return
        with self._peers_lock:
            if len(self._peers) >= self.max_peers or self._closed.is_set():
                connection.close()
                return
            thread = self._peers[connection] = threading.Thread(
                target=self._serve, args=(connection,), name="channel-peer", daemon=True)
        thread.start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            self._converse(connection)
        except ProtocolError as exc:
            log.info("dropped a connection to PhotoClip's socket: %s", exc)
        except OSError:
            pass  # a timeout (a slow writer), a hang-up, or close()
        finally:
            with self._peers_lock:
                self._peers.pop(connection, None)
            connection.close()

    def _converse(self, connection: socket.socket) -> None:
        """Lines in, replies out; each line must be complete within the read timeout."""
        reader = LineReader()
        deadline = time.monotonic() + self.read_timeout_s
        while not self._closed.is_set():
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            data = connection.recv(65536)
            if not data:
                return
            for line in reader.feed(data):
                reply = self._answer(decode_request(line))
                connection.settimeout(self.read_timeout_s)  # a reader that never reads
                connection.sendall(encode(reply))
                deadline = time.monotonic() + self.read_timeout_s  # the next line's own time

    def _answer(self, message: Reply) -> Reply:
        command = self.commands.get(message["cmd"])
        if command is None:
            return {"ok": False, "error": f"unknown command {message['cmd'][:40]!r}"}
        try:
            return self._answers.submit(_guarded, command, message).result()
        except (RuntimeError, CancelledError):  # close() came first
            return {"ok": False, "error": "PhotoClip is stopping"}


def _guarded(command: Command, message: Reply) -> Reply:
    """A command's reply; a bug in it is logged and answered, never the server's end."""
    try:
        return command(message)
    except Exception:
        log.exception("the %r command failed", message["cmd"])
        return {"ok": False, "error": "PhotoClip failed to answer (see its log)"}
