"""`photoclip` (the app) as a real process, offscreen: hand-off to a running one, clean quit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photoclip.core.lock import WriterLock
from photoclip.core.paths import app_paths
from tests.live.conftest import wait_until

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_second_launch_hands_over_and_sigterm_quits_cleanly(tmp_path: Path,
                                                            tiny_model_spec: str) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PHOTOCLIP_HOME=str(tmp_path / "home"),
               PHOTOCLIP_MODEL=tiny_model_spec)
    command = [sys.executable, "-m", "photoclip.cli"]
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        lock = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}).lock
        wait_until(lambda: lock.exists() and "(watch)" in lock.read_text(), 60, "the app")
        started = time.monotonic()
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0  # handed over to the running window and left
        assert time.monotonic() - started < 30
        assert first.poll() is None
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
    finally:
        first.kill()
    with WriterLock(lock):  # released: nothing is left holding the library
        pass
