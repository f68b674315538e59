"""`photoclip search` asks a running `photoclip watch` (over the library's local socket)
and prints its answer, the same as its own search would, without opening the library;
with no server, a dead one or a stranger's socket, it searches by itself (tiny model)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from photoclip import cli
from photoclip.core import local_channel
from photoclip.core.local_channel import NoServer, request, socket_path
from photoclip.core.paths import app_paths
from tests.cli.conftest import Cli
from tests.core.test_local_channel import needs_root, stranger_listener
from tests.synthetic import make_library

pytestmark = [pytest.mark.model, pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="a Unix-domain socket channel")]

QUERIES = (("red circle", "--json"), ("red year:2020", "--json"), ("blue", "--top", "3"))
PROBE = (  # the CLI in a process of its own, saying which heavy parts it loaded
    "import sys, json\n"
    "from photoclip.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'open_clip', 'numpy')\n"
    "                or m in ('photoclip.core.library', 'sqlite3'))\n"
    "sys.stderr.write('\\nLOADED=' + json.dumps(loaded))\n"
    "sys.exit(code)\n"
)


@dataclass
class Served:
    cli: Cli
    runtime: Path  # the $XDG_RUNTIME_DIR watch listens in
    watch: subprocess.Popen[str]
    expected: dict[tuple[str, ...], tuple[str, str]]  # args -> (stdout, stderr) searched here

    @property
    def socket(self) -> Path:
        paths = app_paths({"PHOTOCLIP_HOME": str(self.cli.home)})
        return socket_path(paths.data_dir, paths.cache_dir, {"XDG_RUNTIME_DIR": str(self.runtime)})

    def env(self) -> dict[str, str]:
        return {**self.cli.env, "XDG_RUNTIME_DIR": str(self.runtime)}


def _private_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="pc-run-", dir="/tmp"))  # short: sun_path is ~104 bytes


def _wait_for_answers(served: Served, within_s: float = 60) -> None:
    """Until watch answers a search (its first one loads the model)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        assert served.watch.poll() is None, served.watch.communicate()[1]
        try:
            if request(served.socket, {"cmd": "search", "query": "red", "top": 1}, timeout=30)["ok"]:
                return
        except NoServer:
            time.sleep(0.1)
    raise AssertionError("photoclip watch never answered")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_model_spec: str) -> Iterator[Served]:
    """An indexed library and `photoclip watch` on it; the answers of the CLI's own search
    (asked while its environment points at no server) to compare with."""
    tmp_path = tmp_path_factory.mktemp("via-running")
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    make_library(pictures, per_class=1, seed=5)
    home_cli = Cli(tmp_path / "home", tiny_model_spec)
    home_cli.run("add", str(pictures))
    home_cli.run("index")
    runtime = _private_folder()
    env = {**home_cli.env, "XDG_RUNTIME_DIR": str(runtime)}
    watch = subprocess.Popen([sys.executable, "-m", "photoclip.cli", "watch"], env=env, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    served = Served(home_cli, runtime, watch, {})
    try:
        with ThreadPoolExecutor(1) as pool:
            warming = pool.submit(_wait_for_answers, served)  # watch loads its model meanwhile
            for args in QUERIES:  # this process's XDG_RUNTIME_DIR is another: no server for it
                done = home_cli.run("search", *args)
                served.expected[args] = (done.stdout, done.stderr)
            warming.result()
        yield served
    finally:
        watch.kill()
        watch.communicate(timeout=30)
        shutil.rmtree(runtime, ignore_errors=True)


def _no_library(*args: object) -> None:
    raise AssertionError("the library was opened")


def test_the_cli_prints_the_running_watch_s_answer_without_loading_anything(served: Served) -> None:
    args = QUERIES[0]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PROBE, "search", *args], env=served.env(),
                          capture_output=True, text=True, timeout=60)
    seconds = time.monotonic() - started
    stderr, loaded = done.stderr.rsplit("\nLOADED=", 1)
    assert (done.returncode, done.stdout, stderr) == (0, *served.expected[args])
    assert json.loads(loaded) == []  # no catalog, no model, not even numpy
    assert seconds < 5  # a search of its own here loads torch and the model: ~5 s


@pytest.mark.parametrize("args", QUERIES, ids=" ".join)
def test_each_answer_equals_the_cli_s_own(served: Served, args: tuple[str, ...],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(served.runtime))
    monkeypatch.setattr(cli, "open_library", _no_library)
    done = served.cli.run("search", *args)
    assert (done.stdout, done.stderr) == served.expected[args]


def test_a_query_error_from_the_server_is_the_cli_s_one_line(served: Served,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(served.runtime))
    monkeypatch.setattr(cli, "open_library", _no_library)
    done = served.cli.run("search", "red after:2023-13", check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("photoclip: error: ") and done.stderr.count("\n") == 1


@needs_root
@pytest.mark.parametrize(("file_uid", "process_uid", "talked_to"), [
    (65534, 65534, (0, 0)),  # the file is a stranger's: not even connected to
    (None, 65534, (1, 0)),  # ours, but a stranger listens on it: hung up before a word
])
def test_a_stranger_s_socket_is_not_asked(served: Served, monkeypatch: pytest.MonkeyPatch,
                                          file_uid: int | None, process_uid: int,
                                          talked_to: tuple[int, int]) -> None:
    runtime = _private_folder()
    monkeypatch.setattr(local_channel, "_warned", set())  # said once per process: this one's first
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        paths = app_paths({"PHOTOCLIP_HOME": str(served.cli.home)})
        path = socket_path(paths.data_dir, paths.cache_dir, {"XDG_RUNTIME_DIR": str(runtime)})
        owner = os.geteuid() if file_uid is None else file_uid
        with stranger_listener(path, file_uid=owner, process_uid=process_uid) as stop:
            args = QUERIES[0]
            done = served.cli.run("search", *args)
            assert done.stdout == served.expected[args][0]  # searched here
            assert "uid 65534" in done.stderr  # and said why, once
            assert stop() == talked_to
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_with_the_server_killed_the_cli_searches_by_itself(served: Served,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Last: it kills the module's watch (its socket file stays, as after a crash)."""
    served.watch.send_signal(signal.SIGKILL)
    served.watch.wait(timeout=30)
    assert served.socket.exists()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(served.runtime))
    args = QUERIES[0]
    done = served.cli.run("search", *args)
    assert (done.stdout, done.stderr) == served.expected[args]


def test_watch_goes_on_without_a_socket_it_cannot_have(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from photoclip import cli_commands

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    too_deep = tmp_path / ("d" * 100)  # the fallback folder's socket path is over sun_path's size
    library = SimpleNamespace(paths=SimpleNamespace(data_dir=tmp_path / "data", cache_dir=too_deep))
    with caplog.at_level(logging.WARNING, "photoclip.test"):
        assert cli_commands._answer_searches(library, logging.getLogger("photoclip.test")) is None
    (line,) = caplog.messages
    assert line.startswith("searches from the terminal are not answered by this process: the socket path")
    assert line.endswith("is too long for the system")
