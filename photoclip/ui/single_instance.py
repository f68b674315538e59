"""One app per library: a second launch hands over to the first and exits.

The first launch listens on a socket only its user can reach (where it lives, the peer
checks and the line protocol: ``core/local_channel.py``); a later launch asks it
``{"v": 1, "cmd": "activate"}`` and the running app raises its window. A socket that
is not this user's is never talked to, so a stranger's listener can't make PhotoClip
exit; the app then starts anyway and says in one line why it can't be reached.
On Windows the channel is a named pipe whose access list admits only this user
(Qt's ``UserAccessOption``); there is no peer id check there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..core.local_channel import (
    MAX_MESSAGE_BYTES,
    READ_TIMEOUT_S,
    ChannelError,
    ChannelTimeout,
    LineReader,
    NoServer,
    ProtocolError,
    UnsafeChannel,
    check_peer,
    clear_stale_socket,
    decode_reply,
    decode_request,
    encode,
    request,
    socket_name,
    socket_path,
)

log = logging.getLogger(__name__)

POSIX = os.name == "posix"
CONNECT_TIMEOUT_S = 0.5  # a running PhotoClip answers at once; a busy one later
MAX_PEERS = 16  # connections served at once; more are closed at once
MAX_WAITING_LINES = 16  # requests a peer may queue while its last one is being worked on
Reply = dict[str, Any]
# A command answers at once, or hands back a Future whose reply is written when it is
# done (work that must not hold up the GUI thread: a search runs in the search pool).
Answer = Reply | Future


class SingleInstance(QObject):
    """Nothing here points back at the instance (its own commands and its peers hold it
    weakly): in a reference cycle it would be freed by Python's cyclic collector, which runs
    in whatever thread happens to allocate (the indexing worker, a pool thread), and its
    server and sockets would be destroyed there, under the GUI thread's event loop: a crash.
    Without cycles it goes, with its sockets, where its last reference is dropped."""

    activated = Signal()  # another launch asked this one to come forward

    def __init__(self, data_dir: Path, cache_dir: Path | None = None, parent: QObject | None = None,
                 *, environ: Mapping[str, str] | None = None,
                 read_timeout_s: float = READ_TIMEOUT_S) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.cache_dir = data_dir if cache_dir is None else cache_dir  # the fallback socket folder's home
        self.environ = environ
        self.read_timeout_s = read_timeout_s
        self.problem: str | None = None  # why this launch could not hand over or listen
        self.commands: dict[str, Callable[[Reply], Answer]] = {"activate": _weakly(self._activate)}
        self._address: str | None = None
        self._server: QLocalServer | None = None
        self._peers: set[_Peer] = set()  # served now (not dropped)

    def address(self) -> str:
        """The socket's path (a pipe's name on Windows); raises ChannelError."""
        if self._address is None:  # chosen once: both ends of one launch use the same place
            self._address = (socket_name(self.data_dir) if not POSIX else
                             str(socket_path(self.data_dir, self.cache_dir, self.environ)))
        return self._address

    # ---- the second launch ---------------------------------------------------------------
    def hand_over(self) -> bool:
        """True if this library's PhotoClip runs (and was asked to come forward); False when
        none runs or the socket is not ours to talk to (``problem`` then says why)."""
        try:
            address = self.address()
            ask = request if POSIX else _ask_pipe
            reply = ask(Path(address) if POSIX else address, {"cmd": "activate"}, CONNECT_TIMEOUT_S)
        except NoServer:
            return False
        except ChannelTimeout as exc:  # ours (checked) but busy: it gets the message when it wakes
            log.warning("%s", exc)
            return True
        except ChannelError as exc:  # a stranger's socket, an unsafe folder, a garbled answer
            self.problem = str(exc)
            log.info("not handing over to the running PhotoClip: %s", exc)  # listen() says it
            return False
        return reply["ok"] is True

    # ---- the first launch ----------------------------------------------------------------
    def listen(self) -> str | None:
        """Answer later launches. None when listening, else the one line to show the user
        (also logged): the app runs on, later launches just can't find it."""
        try:
            address = self.address()
            if POSIX:
                clear_stale_socket(Path(address))
        except ChannelError as exc:
            return self._cannot_listen(str(exc))
        server = QLocalServer(self)
        if not POSIX:
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(address):
            return self._cannot_listen(server.errorString())
        if POSIX:
            # Not UserAccessOption here: Qt then binds elsewhere and renames over the name,
            # silently replacing a live server's socket. A plain bind fails on a taken name,
            # and the 0700 folder keeps everyone else out until the mode is narrowed.
            try:
                os.chmod(address, 0o600)
            except OSError as exc:
                server.close()
                return self._cannot_listen(f"can't make {address} private: {exc.strerror}")
        server.newConnection.connect(self._accept)
        self._server = server
        return None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()  # removes the socket file
            self._server = None
        for peer in list(self._peers):
            peer.drop()

    def _cannot_listen(self, reason: str) -> str:
        self.problem = (f"another launch of PhotoClip can't reach this one ({reason}); "
                        "it will open a second window")
        log.warning("%s", self.problem)
        return self.problem

    def _accept(self) -> None:
        assert self._server is not None
        while (connection := self._server.nextPendingConnection()) is not None:
            if (POSIX and not _peer_is_us(connection)) or len(self._peers) >= MAX_PEERS:
                connection.abort()
                connection.deleteLater()
                continue
            self._peers.add(_Peer(connection, self, int(self.read_timeout_s * 1000)))

    def _answer(self, message: Reply) -> Answer:
        command = self.commands.get(message["cmd"])
        if command is None:
            return {"ok": False, "error": f"unknown command {message['cmd'][:40]!r}"}
        return command(message)

    def _activate(self, _message: Reply) -> Reply:
        self.activated.emit()
        return {"ok": True}


def _weakly(method: Callable[[Reply], Answer]) -> Callable[[Reply], Answer]:
    """``method`` without the strong reference to its object that a bound method holds."""
    ref = weakref.WeakMethod(method)

    def call(message: Reply) -> Answer:
        bound = ref()
        return {"ok": False, "error": "PhotoClip is closing"} if bound is None else bound(message)

    return call


def _peer_is_us(connection: QLocalSocket) -> bool:
    try:
        check_peer(int(connection.socketDescriptor()))  # logs a stranger once
    except UnsafeChannel:
        return False
    return True


class _Peer(QObject):
    """One connection: request lines in, reply lines out; dropped, without waiting on it,
    on a malformed or oversized line or when a line takes longer than the timeout.

    A child of the instance, its connection a child of it: when the instance goes, each peer
    is destroyed before its socket, and Qt cuts the socket's signals to it first, so the
    ``disconnected`` a dying socket emits never reaches a peer (nor the socket under it)."""

    _answered = Signal(object)  # the done Future: queued back to the GUI thread from the pool

    def __init__(self, connection: QLocalSocket, owner: SingleInstance, timeout_ms: int) -> None:
        super().__init__(owner)
        connection.setParent(self)
        self.connection = connection
        self._owner = weakref.ref(owner)  # no cycle back (see SingleInstance)
        self._done = False  # dropped: no more reading, answering or replying
        self._reader = LineReader()
        self._lines: list[bytes] = []  # read, not answered yet
        self._working: Future | None = None  # the answer being worked on
        connection.setReadBufferSize(MAX_MESSAGE_BYTES + 1)  # Qt buffers no more than a line
        self._deadline = QTimer(self, singleShot=True, interval=timeout_ms)
        self._deadline.timeout.connect(self.drop)
        self._deadline.start()
        connection.readyRead.connect(self._read)
        connection.disconnected.connect(self._closed)
        self._answered.connect(self.answered)
        self._read()  # bytes that came with the connection

    def _read(self) -> None:
        if self._done or not self.connection.bytesAvailable():
            return  # dropped already, or nothing new
        try:
            self._lines += self._reader.feed(self.connection.readAll().data())
            if len(self._lines) > MAX_WAITING_LINES:
                raise ProtocolError(f"more than {MAX_WAITING_LINES} requests waiting")
            self._answer_lines()
        except ProtocolError as exc:
            log.info("dropped a connection to PhotoClip's socket: %s", exc)
            self.drop()

    def _answer_lines(self) -> None:
        while self._lines and self._working is None and not self._done:
            owner = self._owner()
            if owner is None:  # the instance is going: it takes this peer with it
                return
            answer = owner._answer(decode_request(self._lines.pop(0)))
            if isinstance(answer, Future):
                self._working = answer
                self._deadline.stop()  # the app's own work: not the peer's slowness
                answer.add_done_callback(self._answer_later)
            else:
                self._reply(answer)

    def _answer_later(self, future: Future) -> None:
        """In the pool thread: post the done Future to this peer's (the GUI) thread."""
        with contextlib.suppress(RuntimeError):  # the peer was destroyed meanwhile
            self._answered.emit(future)

    def answered(self, future: Future) -> None:
        """The reply of the Future handed out for the line in hand (on the GUI thread)."""
        if self._done or future is not self._working:
            return  # dropped (hung up, timed out, closed) while it was worked on
        self._working = None
        try:
            reply = future.result()
        except Exception:
            log.exception("a command of PhotoClip's socket failed")
            reply = {"ok": False, "error": "PhotoClip failed to answer (see its log)"}
        try:
            self._reply(reply)
            self._answer_lines()
        except ProtocolError as exc:
            log.info("dropped a connection to PhotoClip's socket: %s", exc)
            self.drop()

    def _reply(self, reply: Reply) -> None:
        self.connection.write(encode(reply))
        self._deadline.start()  # the next line gets its own time

    def _closed(self) -> None:
        self._read()  # what came just before the hang-up
        self.drop()

    def drop(self) -> None:
        if self._done:
            return
        self._done = True
        self._working = None
        self._deadline.stop()
        self.connection.abort()
        self.deleteLater()  # and its connection with it
        if (owner := self._owner()) is not None:
            owner._peers.discard(self)


def _ask_pipe(name: str, message: Reply, timeout_s: float) -> Reply:
    """The Windows client: the same protocol over Qt's named pipe (blocking, before the window)."""
    sock = QLocalSocket()
    wait_ms = int(timeout_s * 1000)
    sock.connectToServer(name)
    if not sock.waitForConnected(wait_ms):
        raise NoServer(f"no PhotoClip listens at {name}")
    sock.write(encode(message))
    reader = LineReader()
    while sock.waitForReadyRead(wait_ms):
        if lines := reader.feed(sock.readAll().data()):
            sock.disconnectFromServer()
            return decode_reply(lines[0])
    raise ChannelTimeout(f"PhotoClip at {name} did not answer in time")
