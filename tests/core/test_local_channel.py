"""The local channel: a private socket folder, peer checks against other users, the line protocol.

The other user is ``nobody`` (uid 65534): a child process forked from this (root) test run
drops to it, so those tests skip when not run as root."""

from __future__ import annotations

import os
import select
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from photoclip.core import local_channel
from photoclip.core.local_channel import (
    MAX_MESSAGE_BYTES,
    ChannelError,
    LineReader,
    NoServer,
    ProtocolError,
    UnsafeChannel,
    clear_stale_socket,
    decode_reply,
    decode_request,
    encode,
    peer_uid,
    request,
    socket_folder,
    socket_path,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="a Unix-domain socket channel")

NOBODY = 65534
needs_root = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                                reason="acting as another user (nobody) needs root")
STRANGERS_LIE = b'{"v":1,"ok":true}\n'  # what a stranger answers to be taken for PhotoClip


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short private folder in /tmp (as $XDG_RUNTIME_DIR; short: sun_path is ~104 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="pc-run-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# ---- helpers the UI tests share: another user's processes -------------------------------

class Child:
    """A forked process running ``work`` as ``uid``; what ``work`` returns comes back."""

    def __init__(self, uid: int, work: Callable[[], bytes]) -> None:
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                os.close(read_end)
                _become(uid)
                os.write(write_end, work())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self._output = read_end
        self._status: int | None = None

    def done(self) -> bool:
        if self._status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            self._status = status if pid else None
        return self._status is not None

    def output(self) -> bytes:
        with os.fdopen(self._output, "rb") as stream:
            data = stream.read()
        if self._status is None:
            self._status = os.waitpid(self.pid, 0)[1]
        assert self._status == 0, "the child failed"
        return data


def _become(uid: int) -> None:
    if uid != os.geteuid():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _serve_as_stranger(listener: socket.socket, stop_fd: int) -> tuple[int, int]:
    """Accept, tell every caller 'ok' and count what they send, until told to stop."""
    connections = received = 0
    while True:
        ready, _, _ = select.select([listener, stop_fd], [], [], 10)
        if listener not in ready:  # told to stop (or forgotten): callers already queued come first
            return connections, received
        conn, _ = listener.accept()
        connections += 1
        with conn:
            conn.settimeout(0.5)
            try:
                conn.sendall(STRANGERS_LIE)
                while data := conn.recv(65536):
                    received += len(data)
            except OSError:
                pass


@contextmanager
def stranger_listener(path: Path, *, file_uid: int = NOBODY,
                      process_uid: int = NOBODY) -> Iterator[Callable[[], tuple[int, int]]]:
    """A listener on ``path`` whose socket file belongs to ``file_uid`` and which listens
    as ``process_uid`` (the uid SO_PEERCRED reports). Yields ``stop() -> (connections, bytes)``."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chown(path, file_uid, file_uid)
    stop_read, stop_write = os.pipe()

    def serve() -> bytes:
        os.close(stop_write)  # only the test holds it: closing it there is the stop signal
        listener.listen(8)  # here: the listener's credentials are taken at listen()
        os.write(ready_write, b"r")
        connections, received = _serve_as_stranger(listener, stop_read)
        return f"{connections} {received}".encode()

    ready_read, ready_write = os.pipe()
    child = Child(process_uid, serve)
    listener.close()
    os.close(stop_read)
    os.close(ready_write)
    assert os.read(ready_read, 1) == b"r"
    os.close(ready_read)
    result: list[tuple[int, int]] = []

    def stop() -> tuple[int, int]:
        if not result:
            os.close(stop_write)
            connections, received = child.output().split()
            result.append((int(connections), int(received)))
        return result[0]

    try:
        yield stop
    finally:
        stop()


# ---- where the socket lives --------------------------------------------------------------

def test_the_runtime_folder_is_used_when_it_is_private_and_ours(runtime_dir: Path, tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(runtime_dir)}
    path = socket_path(tmp_path / "data", tmp_path / "cache", env)
    assert path.parent == runtime_dir
    assert path.name == local_channel.socket_name(tmp_path / "data")
    assert not (tmp_path / "cache").exists()


def test_a_loose_runtime_folder_is_passed_over_for_a_private_fallback(runtime_dir: Path,
                                                                      tmp_path: Path) -> None:
    os.chmod(runtime_dir, 0o755)
    folder = socket_folder(tmp_path / "cache", {"XDG_RUNTIME_DIR": str(runtime_dir)})
    assert folder == tmp_path / "cache" / "run"
    info = os.lstat(folder)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()


@needs_root
def test_a_runtime_folder_of_another_user_is_passed_over(runtime_dir: Path, tmp_path: Path) -> None:
    os.chown(runtime_dir, NOBODY, NOBODY)
    folder = socket_folder(tmp_path / "cache", {"XDG_RUNTIME_DIR": str(runtime_dir)})
    assert folder == tmp_path / "cache" / "run"


def test_the_fallback_folder_mode_is_narrowed_to_the_owner(tmp_path: Path) -> None:
    fallback = tmp_path / "cache" / "run"
    fallback.mkdir(parents=True)
    os.chmod(fallback, 0o777)
    assert socket_folder(tmp_path / "cache", {}) == fallback
    assert stat.S_IMODE(os.lstat(fallback).st_mode) == 0o700


def test_a_fallback_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "run").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafeChannel, match="not a real folder"):
        socket_path(tmp_path / "data", tmp_path / "cache", {})


@needs_root
def test_a_fallback_folder_of_another_user_is_refused_and_left_alone(tmp_path: Path) -> None:
    fallback = tmp_path / "cache" / "run"
    fallback.mkdir(parents=True, mode=0o777)
    os.chmod(fallback, 0o777)
    os.chown(fallback, NOBODY, NOBODY)
    with pytest.raises(UnsafeChannel, match="another user"):
        socket_path(tmp_path / "data", tmp_path / "cache", {})
    assert stat.S_IMODE(os.lstat(fallback).st_mode) == 0o777


def test_a_socket_path_too_long_for_the_system_is_an_error(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 100)
    with pytest.raises(ChannelError, match="too long"):
        socket_path(tmp_path / "data", deep, {})


# ---- the line protocol ---------------------------------------------------------------------

def test_messages_are_one_versioned_json_line() -> None:
    assert encode({"cmd": "activate"}) == b'{"v":1,"cmd":"activate"}\n'
    assert decode_request(b'{"v":1,"cmd":"activate","folder":"/x"}') == {
        "v": 1, "cmd": "activate", "folder": "/x"}
    assert decode_reply(b'{"v":1,"ok":false,"error":"no"}')["ok"] is False


@pytest.mark.parametrize("line", [
    b"activate", b"\xff\xfe", b"[1,2]", b'"activate"', b'{"cmd":"activate"}', b'{"v":2,"cmd":"activate"}',
    b'{"v":"1","cmd":"activate"}', b'{"v":1}', b'{"v":1,"cmd":7}', b'{"v":1,"cmd":true}', b"[" * 20_000,
    b'{"v":1,"cmd":"' + b"a" * MAX_MESSAGE_BYTES + b'"}',
])
def test_malformed_requests_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_request(line)


def test_a_reply_needs_a_boolean_ok() -> None:
    for line in (b'{"v":1}', b'{"v":1,"ok":1}', b'{"v":1,"ok":"yes"}'):
        with pytest.raises(ProtocolError):
            decode_reply(line)


def test_the_line_reader_splits_and_caps_lines() -> None:
    reader = LineReader(limit=10)
    assert reader.feed(b"ab") == []
    assert reader.feed(b"c\nde\nf") == [b"abc", b"de"]
    assert reader.feed(b"\n") == [b"f"]
    with pytest.raises(ProtocolError):
        reader.feed(b"x" * 11)  # no newline yet, already over the limit
    with pytest.raises(ProtocolError):
        LineReader(limit=10).feed(b"y" * 11 + b"\n")
    with pytest.raises(ProtocolError):
        encode({"cmd": "search", "text": "q" * MAX_MESSAGE_BYTES})


# ---- the client's checks -------------------------------------------------------------------

def _answer_once(path: Path, reply: bytes) -> tuple[threading.Thread, list[bytes]]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    heard: list[bytes] = []

    def serve() -> None:
        with listener, listener.accept()[0] as conn:
            heard.append(conn.recv(65536))
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread, heard


def test_a_request_to_our_own_listener_gets_its_reply(runtime_dir: Path) -> None:
    path = runtime_dir / "s"
    thread, heard = _answer_once(path, b'{"v":1,"ok":true,"n":3}\n')
    assert request(path, {"cmd": "activate"}, timeout=2) == {"v": 1, "ok": True, "n": 3}
    thread.join(2)
    assert heard == [b'{"v":1,"cmd":"activate"}\n']


def test_no_listener_is_no_server(runtime_dir: Path) -> None:
    with pytest.raises(NoServer):
        request(runtime_dir / "absent", {"cmd": "activate"})
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(runtime_dir / "dead"))
    dead.close()  # a crash's leftover: the file stays, nobody accepts
    with pytest.raises(NoServer):
        request(runtime_dir / "dead", {"cmd": "activate"})


@needs_root
def test_a_socket_file_of_another_user_is_not_even_connected_to(runtime_dir: Path) -> None:
    path = runtime_dir / "s"
    with stranger_listener(path, file_uid=NOBODY, process_uid=os.geteuid()) as stop:
        with pytest.raises(UnsafeChannel, match="another user"):
            request(path, {"cmd": "activate"})
        assert stop() == (0, 0)


@needs_root
def test_a_listener_run_by_another_user_is_told_nothing(runtime_dir: Path) -> None:
    path = runtime_dir / "s"  # the file is ours, the process listening on it is not
    with stranger_listener(path, file_uid=os.geteuid(), process_uid=NOBODY) as stop:
        with pytest.raises(UnsafeChannel, match="uid 65534"):
            request(path, {"cmd": "activate"})
        assert stop() == (1, 0)  # connected, checked, hung up before a byte was sent


@needs_root
def test_peer_uid_reads_the_other_process_user() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert peer_uid(ours.fileno()) == os.geteuid()
    path = Path(tempfile.mkdtemp(dir="/tmp")) / "s"
    os.chmod(path.parent, 0o711)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o666)
    listener.listen(1)

    def connect() -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(path))
        return b""

    child = Child(NOBODY, connect)
    conn, _ = listener.accept()
    with listener, conn:
        assert peer_uid(conn.fileno()) == NOBODY
        assert conn.fileno() >= 0  # the duplicate was closed, not the socket
    child.output()
    shutil.rmtree(path.parent)


# ---- making way for a new server -------------------------------------------------------------

def test_a_dead_socket_of_ours_is_cleared_a_live_one_is_kept(runtime_dir: Path) -> None:
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(runtime_dir / "dead"))
    dead.close()
    clear_stale_socket(runtime_dir / "dead")
    assert not (runtime_dir / "dead").exists()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(runtime_dir / "live"))
        live.listen(1)
        with pytest.raises(ChannelError, match="already listens"):
            clear_stale_socket(runtime_dir / "live")
    assert (runtime_dir / "live").exists()
    (runtime_dir / "file").write_text("not a socket")
    with pytest.raises(UnsafeChannel, match="not a socket"):
        clear_stale_socket(runtime_dir / "file")
    assert (runtime_dir / "file").exists()


@needs_root
def test_a_socket_of_another_user_is_never_cleared(runtime_dir: Path) -> None:
    path = runtime_dir / "s"
    with stranger_listener(path) as stop:
        with pytest.raises(UnsafeChannel):
            clear_stale_socket(path)
        assert stop() == (0, 0)
    assert path.exists()  # the stranger's listener is gone, its file is not ours to delete
    with pytest.raises(UnsafeChannel):
        clear_stale_socket(path)
    assert path.exists()
