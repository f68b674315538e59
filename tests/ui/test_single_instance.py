"""The single-instance socket: hand-over between one user's launches, nothing for strangers,
and a server that stays responsive whatever is written to it."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core import local_channel
from photoclip.core.local_channel import request
from photoclip.ui.single_instance import SingleInstance
from tests.core.test_local_channel import NOBODY, Child, needs_root, stranger_listener

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the Unix-domain socket channel")


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="pc-run-", dir="/tmp"))  # short, and /tmp is traversable
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def make_instance(tmp_path: Path, runtime_dir: Path) -> Iterator:
    made: list[SingleInstance] = []

    def make(library: str = "library", **options) -> SingleInstance:
        instance = SingleInstance(tmp_path / library, tmp_path / "cache",
                                  environ={"XDG_RUNTIME_DIR": str(runtime_dir)}, **options)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


def test_a_second_launch_hands_over_to_the_first(qtbot, make_instance) -> None:
    first = make_instance()
    assert first.listen() is None
    second = make_instance()
    handed_over: list[bool] = []
    thread = threading.Thread(target=lambda: handed_over.append(second.hand_over()))
    with qtbot.waitSignal(first.activated, timeout=5_000):
        thread.start()  # beside the event loop, which the first needs to answer
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=3_000)
    assert handed_over == [True] and second.problem is None
    assert not make_instance("another library").hand_over()


def test_an_instance_dropped_with_a_peer_connected_goes_at_once_and_hangs_up(
        qtbot, tmp_path: Path, runtime_dir: Path) -> None:
    """Freed by its reference count where it is dropped, its peer's socket with it: a cycle
    would leave it to the cyclic collector, which may run in the indexing worker's thread and
    destroy the sockets there, under the GUI thread's event loop (a crash, now and then)."""
    instance = SingleInstance(tmp_path / "library", tmp_path / "cache",
                              environ={"XDG_RUNTIME_DIR": str(runtime_dir)})
    assert instance.listen() is None
    received = bytearray()

    def replied() -> bool:
        with contextlib.suppress(BlockingIOError):
            received.extend(client.recv(100))
        return received.endswith(b"\n")

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(instance.address())
        client.setblocking(False)
        with qtbot.waitSignal(instance.activated, timeout=5_000):
            client.sendall(b'{"v":1,"cmd":"activate"}\n')
        qtbot.waitUntil(replied, timeout=5_000)  # the peer stays: this client has not hung up
        assert bytes(received) == b'{"v":1,"ok":true}\n' and len(instance._peers) == 1
        gone = weakref.ref(instance)
        gc.disable()  # only the reference count may free it
        try:
            del instance
            assert gone() is None
        finally:
            gc.enable()
        client.settimeout(2)
        assert client.recv(100) == b""  # its connection was closed with it, at once


def test_the_socket_and_its_fallback_folder_are_the_owners_only(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # whatever the umask, nobody else gets in
    try:
        instance = SingleInstance(tmp_path / "library", tmp_path / "cache", environ={})
        assert instance.listen() is None
    finally:
        os.umask(old_umask)
    path = Path(instance.address())
    assert path.parent == tmp_path / "cache" / "run"
    assert stat.S_IMODE(os.lstat(path.parent).st_mode) == 0o700
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    instance.close()


def ask_in_a_thread(qtbot, path: str) -> object:
    """A client beside the event loop (which the server needs to answer)."""
    answer: list[object] = []
    thread = threading.Thread(target=lambda: answer.append(request(Path(path), {"cmd": "activate"})))
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=3_000)
    return answer[0] if answer else None


def test_a_crash_leftover_is_replaced_and_a_live_server_is_not(qtbot, make_instance) -> None:
    first = make_instance()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(first.address())
    leftover.close()
    assert first.listen() is None
    second = make_instance()
    problem = second.listen()  # its hand-over "failed": it must not steal the name
    assert problem is not None and "already listens" in problem
    assert ask_in_a_thread(qtbot, first.address()) == {"v": 1, "ok": True}  # the first still answers


@needs_root
def test_a_strangers_listener_is_neither_handed_over_to_nor_queried(make_instance) -> None:
    instance = make_instance()
    path = Path(instance.address())
    with stranger_listener(path) as stop:  # a socket file and a process of nobody's, answering "ok"
        assert not instance.hand_over()
        assert "another user (uid 65534)" in (instance.problem or "")
        problem = instance.listen()
        assert problem is not None and "second window" in problem
        assert stop() == (0, 0)
    assert os.lstat(path).st_uid == NOBODY  # left as it was: not ours to remove


def _connect_and_ask(path: str) -> bytes:
    """In the child: two connections asking to come forward; what came back."""
    answers = []
    for _ in range(2):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(path)
            try:
                sock.sendall(b'{"v":1,"cmd":"activate"}\n')
                answers.append(sock.recv(1024) or b"closed")
            except OSError:
                answers.append(b"closed")
    return b"|".join(answers)


@needs_root
def test_a_connection_from_another_user_is_refused(qtbot, make_instance, runtime_dir: Path,
                                                   caplog, monkeypatch) -> None:
    monkeypatch.setattr(local_channel, "_warned", set())
    instance = make_instance()
    assert instance.listen() is None
    activations: list[bool] = []
    instance.activated.connect(lambda: activations.append(True))
    # Open the way in, as a mistaken chmod would: the peer check must still hold.
    os.chmod(runtime_dir, 0o711)
    os.chmod(instance.address(), 0o666)

    def ask_as(uid: int) -> bytes:
        child = Child(uid, lambda: _connect_and_ask(instance.address()))
        qtbot.waitUntil(child.done, timeout=5_000)  # the event loop serves it meanwhile
        return child.output()

    with caplog.at_level(logging.WARNING, logger="photoclip.core.local_channel"):
        assert ask_as(NOBODY) == b"closed|closed"
    assert activations == []
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.getMessage() for r in refusals] == [
        "refused a PhotoClip socket peer run by another user (uid 65534)"]  # logged once
    assert ask_as(os.geteuid()) == b'{"v":1,"ok":true}\n|{"v":1,"ok":true}\n'
    assert activations == [True, True]


def _hung_up(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closed ``sock``, None if it was still open after ``within``."""
    started = time.monotonic()
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except OSError:
        pass
    return time.monotonic() - started


GARBAGE = [b"activate\n", b"\xff\xfe\x00\n", b"[1,2]\n", b'{"v":2,"cmd":"activate"}\n',
           b'{"cmd":"activate"}\n', b'{"v":1,"cmd":true}\n', b"[" * 30_000 + b"\n"]


def test_garbage_oversized_and_slow_writers_leave_the_server_responsive(qtbot, make_instance) -> None:
    instance = make_instance(read_timeout_s=0.5)
    assert instance.listen() is None
    activations: list[bool] = []
    instance.activated.connect(lambda: activations.append(True))
    path = instance.address()
    results: dict[str, object] = {}

    def connected() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return sock

    def garbage(index: int, line: bytes) -> None:
        with connected() as sock:
            sock.sendall(line)
            results[f"garbage {index}"] = _hung_up(sock, 1.0)

    def oversized() -> None:  # a valid request, only too big: obeyed if the limit were gone
        line = b'{"v":1,"cmd":"activate","pad":"' + b"x" * 100_000 + b'"}\n'
        with connected() as sock:
            with contextlib.suppress(OSError):  # hung up on mid-way
                sock.sendall(line)
            results["oversized"] = _hung_up(sock, 1.0)

    def flood() -> None:  # no newline ever: dropped once past the limit, not at the timeout
        with connected() as sock:
            started = time.monotonic()
            with contextlib.suppress(OSError):
                sock.sendall(b"y" * 300_000)
            hung_up = _hung_up(sock, 1.0)
            results["flood"] = None if hung_up is None else time.monotonic() - started

    def slow() -> None:  # a byte every 50 ms, never a whole line
        with connected() as sock:
            started = time.monotonic()
            sock.settimeout(0.05)
            results["slow"] = None
            for byte in b'{"v":1,"cmd":"activate"' + b" " * 100:
                try:
                    sock.send(bytes([byte]))
                    if sock.recv(1) == b"":
                        results["slow"] = time.monotonic() - started
                        return
                except TimeoutError:
                    continue
                except OSError:
                    results["slow"] = time.monotonic() - started
                    return

    def good() -> None:
        time.sleep(0.1)  # after the others are connected and writing
        started = time.monotonic()
        results["good"] = request(Path(path), {"cmd": "activate"}, timeout=1.0)
        results["good took"] = time.monotonic() - started

    threads = [threading.Thread(target=garbage, args=item) for item in enumerate(GARBAGE)]
    threads += [threading.Thread(target=work) for work in (oversized, flood, slow, good)]
    for thread in threads:
        thread.start()
    qtbot.waitUntil(lambda: not any(t.is_alive() for t in threads), timeout=8_000)

    assert results["good"] == {"v": 1, "ok": True}
    assert results["good took"] < 1.0
    for index in range(len(GARBAGE)):
        assert results[f"garbage {index}"] is not None, GARBAGE[index][:30]  # dropped at once
    assert results["oversized"] is not None
    assert results["flood"] is not None and results["flood"] < 0.35
    assert results["slow"] is not None and 0.4 < results["slow"] < 2.0  # dropped at the timeout
    assert activations == [True]  # the good client only
