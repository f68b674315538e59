"""The Qt-free channel server (`photoclip watch`'s): it answers this user only, in the
channel's line protocol, and a garbled, oversized or slow peer loses only its own
connection. Helpers for acting as another user come from test_local_channel."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photoclip.core.channel_server import ChannelServer
from photoclip.core.local_channel import MAX_MESSAGE_BYTES, ChannelError, NoServer, request
from tests.core.test_local_channel import NOBODY, Child, needs_root, runtime_dir, stranger_listener

pytestmark = pytest.mark.skipif(os.name != "posix", reason="a Unix-domain socket channel")
__all__ = ["runtime_dir"]  # the fixture, shared
TIMEOUT_S = 0.3


class Echo:
    """A command that says back what it was told, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return {"ok": True, "said": message.get("text")}


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def server(runtime_dir: Path, echo: Echo) -> Iterator[ChannelServer]:
    with ChannelServer(runtime_dir / "s", {"echo": echo}, read_timeout_s=TIMEOUT_S) as running:
        yield running


def say(server: ChannelServer, text: str) -> dict[str, Any]:
    return request(server.path, {"cmd": "echo", "text": text}, timeout=2)


def hung_up(sock: socket.socket, within_s: float = 2.0) -> bool:
    """True when the server closed ``sock`` (without a reply) within ``within_s``."""
    sock.settimeout(within_s)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def raw(server: ChannelServer) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(server.path))
    return sock


def test_it_answers_each_line_in_order_on_an_owner_only_socket(server: ChannelServer, echo: Echo) -> None:
    assert say(server, "hello") == {"v": 1, "ok": True, "said": "hello"}
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
    with raw(server) as sock:
        sock.sendall(b'{"v":1,"cmd":"echo","text":"a"}\n{"v":1,"cmd":"echo","text":"b"}\n')
        time.sleep(0.1)
        assert sock.recv(65536).splitlines() == [b'{"v":1,"ok":true,"said":"a"}',
                                                 b'{"v":1,"ok":true,"said":"b"}']
    assert echo.calls == 3
    assert request(server.path, {"cmd": "nope"}) == {"v": 1, "ok": False, "error": "unknown command 'nope'"}


def test_closing_removes_its_socket_and_a_second_close_is_harmless(runtime_dir: Path, echo: Echo) -> None:
    server = ChannelServer(runtime_dir / "s", {"echo": echo}).start()
    server.close()
    server.close()
    assert not server.path.exists()
    with pytest.raises(NoServer):
        say(server, "anyone?")


def test_a_live_server_s_name_is_not_taken_a_dead_one_s_is(server: ChannelServer, echo: Echo) -> None:
    with pytest.raises(ChannelError, match="already listens"):
        ChannelServer(server.path, {}).start()
    assert say(server, "still here")["said"] == "still here"
    crashed = server.path.with_name("crashed")
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(crashed))
    leftover.close()  # what a killed server leaves: a socket file nobody accepts on
    with ChannelServer(crashed, {"echo": echo}) as second:
        assert say(second, "new")["said"] == "new"


def test_a_bind_that_fails_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match=r"^can't listen at .*: No such file or directory$"):
        ChannelServer(tmp_path / "missing" / "s", {}).start()


@pytest.mark.parametrize("send", [
    b"garbage\n",
    b'{"v":2,"cmd":"echo"}\n',
    b'{"v":1,"cmd":true}\n',
    b"x" * (MAX_MESSAGE_BYTES + 10),  # no newline yet: over the limit
    b"",  # says nothing at all: dropped at the read timeout
    b'{"v":1,"cmd":"echo"',  # a line never finished
])
def test_a_bad_or_slow_peer_is_dropped_and_others_are_answered_meanwhile(
        server: ChannelServer, echo: Echo, send: bytes) -> None:
    with raw(server) as bad:
        bad.sendall(send)
        started = time.monotonic()
        assert say(server, "fine")["said"] == "fine"  # while the bad one is still connected
        assert hung_up(bad)
        assert time.monotonic() - started < TIMEOUT_S + 1.0
    assert say(server, "after")["said"] == "after"
    assert echo.calls == 2


def test_a_command_that_fails_is_answered_and_the_server_goes_on(runtime_dir: Path) -> None:
    def broken(message: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("a bug")

    with ChannelServer(runtime_dir / "s", {"broken": broken, "echo": Echo()}) as server:
        reply = request(server.path, {"cmd": "broken"})
        assert reply == {"v": 1, "ok": False, "error": "PhotoClip failed to answer (see its log)"}
        assert say(server, "ok")["said"] == "ok"


def test_more_peers_than_allowed_are_closed_at_once(runtime_dir: Path, echo: Echo) -> None:
    with ChannelServer(runtime_dir / "s", {"echo": echo}, max_peers=2, read_timeout_s=5) as server:
        first, second = raw(server), raw(server)
        time.sleep(0.1)
        with first, second, raw(server) as third:
            assert hung_up(third, 1.0)
            assert not hung_up(first, 0.1)


@needs_root
def test_a_peer_run_by_another_user_is_refused_before_a_word(runtime_dir: Path, echo: Echo) -> None:
    with ChannelServer(runtime_dir / "s", {"echo": echo}) as server:
        os.chmod(runtime_dir, 0o711)  # let the stranger reach the file: the peer check must refuse
        os.chmod(server.path, 0o666)

        def ask_as_stranger() -> bytes:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(5)
                sock.connect(str(server.path))  # the kernel accepts; the server then hangs up
                try:
                    sock.sendall(b'{"v":1,"cmd":"echo","text":"from nobody"}\n')
                    return b"reply:" + sock.recv(65536)
                except (BrokenPipeError, ConnectionResetError):
                    return b"hung up"

        assert Child(NOBODY, ask_as_stranger).output() in (b"reply:", b"hung up")  # no reply
        assert echo.calls == 0
        assert say(server, "ours")["said"] == "ours"


@needs_root
def test_a_stranger_s_socket_on_the_name_is_neither_cleared_nor_replaced(runtime_dir: Path) -> None:
    path = runtime_dir / "s"
    with stranger_listener(path) as stop:
        with pytest.raises(ChannelError, match="uid 65534"):
            ChannelServer(path, {}).start()
        assert stop() == (0, 0)
    assert path.exists()


def test_close_lets_the_command_in_flight_finish(runtime_dir: Path) -> None:
    release = threading.Event()

    def slow(message: dict[str, Any]) -> dict[str, Any]:
        release.wait(5)
        return {"ok": True}

    server = ChannelServer(runtime_dir / "s", {"slow": slow}).start()
    replies: list[dict[str, Any]] = []
    asking = threading.Thread(target=lambda: replies.append(request(server.path, {"cmd": "slow"}, 5)))
    asking.start()
    time.sleep(0.2)
    threading.Timer(0.2, release.set).start()
    server.close()
    asking.join(5)
    assert not server.path.exists()
    assert replies == [{"v": 1, "ok": True}]
