"""The app answers `photoclip search` over its single-instance socket: the search runs in
the window's search pool and its reply is written when done, while the GUI thread goes on
(a command may hand back a Future)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from photoclip.core.library import Library
from photoclip.core.local_channel import request
from photoclip.core.paths import app_paths
from photoclip.core.remote_search import answer_search
from photoclip.core.settings import Settings
from photoclip.ui.app import _answer_searches
from photoclip.ui.single_instance import SingleInstance
from photoclip.ui.tasks import TaskRunner
from tests.fakes import FakeEncoder
from tests.synthetic import make_library

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the Unix-domain socket channel")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[SingleInstance]:
    runtime = Path(tempfile.mkdtemp(prefix="pc-run-", dir="/tmp"))  # short: sun_path is ~104 bytes
    made = SingleInstance(tmp_path / "library", tmp_path / "cache",
                          environ={"XDG_RUNTIME_DIR": str(runtime)}, read_timeout_s=0.5)
    yield made
    made.close()
    shutil.rmtree(runtime, ignore_errors=True)


def ask_beside_the_loop(qtbot, path: str, message: dict[str, Any]) -> dict[str, Any]:
    answer: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: answer.append(request(Path(path), message, timeout=5)))
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=6_000)
    return answer[0]


def test_a_later_reply_is_written_when_its_future_is_done_and_the_loop_runs_meanwhile(
        qtbot, instance: SingleInstance) -> None:
    pending: Future = Future()
    instance.commands["slow"] = lambda message: pending
    assert instance.listen() is None
    replies: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: replies.append(request(Path(instance.address()),
                                                                    {"cmd": "slow"}, timeout=5)))
    thread.start()
    qtbot.wait(700)  # past the read timeout: the peer is not dropped while the app works
    with qtbot.waitSignal(instance.activated, timeout=3_000):  # the GUI thread still answers others
        assert ask_beside_the_loop(qtbot, instance.address(), {"cmd": "activate"}) == {"v": 1, "ok": True}
    assert replies == []
    threading.Timer(0.1, lambda: pending.set_result({"ok": True, "late": 1})).start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=3_000)
    assert replies == [{"v": 1, "ok": True, "late": 1}]


def test_a_failed_future_is_answered_and_a_peer_gone_meanwhile_is_no_error(
        qtbot, instance: SingleInstance) -> None:
    failing: Future = Future()
    forgotten: Future = Future()
    futures = iter([forgotten, failing])
    instance.commands["work"] = lambda message: next(futures)
    assert instance.listen() is None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(instance.address())
        sock.sendall(b'{"v":1,"cmd":"work"}\n')
        qtbot.wait(200)
    qtbot.wait(200)  # it hung up: its peer is gone
    forgotten.set_result({"ok": True})
    threading.Timer(0.2, lambda: failing.set_exception(RuntimeError("a bug"))).start()
    reply = ask_beside_the_loop(qtbot, instance.address(), {"cmd": "work"})
    assert reply == {"v": 1, "ok": False, "error": "PhotoClip failed to answer (see its log)"}


def test_the_app_answers_a_search_from_its_search_pool(qtbot, instance: SingleInstance,
                                                       tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    make_library(photos, per_class=1, seed=2)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(batch_size=8, decode_workers=2), encoder=FakeEncoder())
    library.add_folder(photos)
    library.index_photos()
    searches = TaskRunner(1, "search")
    threads: list[str] = []
    real_find = library.find
    library.find = lambda *a, **k: threads.append(threading.current_thread().name) or real_find(*a, **k)
    window = SimpleNamespace(library=library, searches=searches)
    instance.commands["search"] = _answer_searches(window)  # type: ignore[arg-type]
    assert instance.listen() is None
    message = {"cmd": "search", "query": "red", "top": 3}
    try:
        reply = ask_beside_the_loop(qtbot, instance.address(), message)
        assert threads and threads[0].startswith("search")  # not the GUI thread
        assert reply == {"v": 1, **answer_search(library, {"v": 1, **message})}
        assert len(reply["hits"]) == 3 and all("/red_" in h["path"] for h in reply["hits"])
        searches.shutdown()
        closing = ask_beside_the_loop(qtbot, instance.address(), message)
        assert closing == {"v": 1, "ok": False, "error": "PhotoClip is closing", "kind": "library"}
    finally:
        searches.shutdown()
        library.close()
