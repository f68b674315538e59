"""The real window, as a user sees it: the app as a process on a private Xvfb display
(Qt's xcb platform, not offscreen), driven by xdotool, photographed with ImageMagick.

Skips (never fails) where Xvfb, xdotool or ImageMagick's `import` is missing, or where
Qt's xcb libraries are (the app's own one-line reason)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image

from photoclip.ui.platform_check import CANNOT_OPEN  # Qt-free
from tests.synthetic import camera_exif, draw_picture, make_library, save_camera_photo
from tests.ui.conftest import screenshots_folder

TOOLS = ("Xvfb", "xdotool", "import")
INSTALL_HINT = "apt install xvfb xdotool imagemagick"
SCREEN = "1280x800x24"
# 24 generated pictures, a photo and its resized copy, two camera photos with dates.
LIBRARY_SIZE = 24 + 2 + 2
CAMERA_2023 = "camera_2023.jpg"  # the one photo taken in 2023 (EXIF)
T = TypeVar("T")


def poll(read: Callable[[], T | None], timeout: float, what: str, every: float = 0.25) -> T:
    """``read()`` until it gives something truthy; fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = read()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def photo_folder(folder: Path) -> Path:
    """What the user's library holds: shapes, a duplicate pair, two dated camera photos."""
    import random

    make_library(folder, per_class=2, seed=7, formats=("PNG", "JPEG"))
    original = draw_picture("green", "triangle", random.Random(99), (800, 600))
    original.save(folder / "holiday_original.jpg", format="JPEG", quality=92)
    original.resize((400, 300)).save(folder / "holiday_small.jpg", format="JPEG", quality=85)
    save_camera_photo(folder / CAMERA_2023, "red", "circle", seed=3, exif=camera_exif(
        "2023:07:14 10:30:00", make="Canon", model="EOS R6"))
    save_camera_photo(folder / "camera_2021.jpg", "blue", "square", seed=4, exif=camera_exif(
        "2021:03:02 16:05:00", make="FUJIFILM", model="X-T4"))
    return folder


@dataclass
class RealApp:
    """The running app on its display, and the commands a user (or a script) has."""

    env: dict[str, str]
    display: str
    process: subprocess.Popen[str] | None = None
    screenshots: Path = field(default_factory=Path)
    window: str = ""
    log: Path = field(default_factory=Path)

    def output(self) -> str:
        """What the app printed so far (its log lines, a traceback)."""
        return self.log.read_text(errors="replace") if self.log.is_file() else ""

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "photoclip.cli", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args: str) -> Any:
        import json

        done = self.cli(*args, "--json")
        assert done.returncode == 0, f"photoclip {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    def key(self, *keys: str, settle: float = 0.4) -> None:
        """Keys pressed as on a keyboard, to whichever window has the focus."""
        self.xdotool("key", "--delay", "60", *keys)
        time.sleep(settle)

    def type(self, text: str, settle: float = 0.3) -> None:
        self.xdotool("type", "--delay", "40", text)
        time.sleep(settle)

    def focus(self, window: str | None = None) -> None:
        """The window (the main one by default) gets the keyboard: with no window manager
        on Xvfb, a closed dialog leaves the focus nowhere, so it is given back directly."""
        self.xdotool("windowfocus", "--sync", window or self.window)
        time.sleep(0.2)

    def visible_windows(self, title: str) -> list[str]:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                               env=self.env, capture_output=True, text=True, timeout=10)
        return found.stdout.split() if found.returncode == 0 else []

    def wait_window(self, title: str, timeout: float = 10) -> str:
        """The X id of the visible window titled ``title`` once it is shown."""
        return poll(lambda: (self.visible_windows(title) or [None])[0], timeout, f"a {title!r} window")

    def screenshot(self, step: str) -> Path:
        """The whole screen, as `import` sees the X server; not blank."""
        target = self.screenshots / f"e2e-{step}.png"
        self.screenshots.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-window", "root", str(target)], env=self.env, check=True,
                       capture_output=True, timeout=30)
        with Image.open(target) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 16, f"{target.name} is blank"
        return target


def _start_xvfb(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display number it picks itself (-displayfd: never one in use)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN,
                               "-nolisten", "tcp"], pass_fds=(write_end,), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        number = answer.readline().strip()
    if not number.isdigit():
        server.kill()
        raise AssertionError(f"Xvfb did not start: {server.communicate()[1].decode()[-500:]}")
    poll(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 10, "the X socket")
    return server, f":{number}"


def _stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def x_tools() -> None:
    """A skip, before anything is built, where the X tools are missing (CI without them)."""
    if missing := missing_tools():
        pytest.skip(f"{', '.join(missing)} not installed: {INSTALL_HINT}")


@pytest.fixture
def real_app(x_tools: None, tmp_path: Path, tiny_model_dir: Path) -> Iterator[RealApp]:
    """The library added by the CLI, then `photoclip` started as a user would, on Xvfb."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(PHOTOCLIP_HOME=str(tmp_path / "home"), PHOTOCLIP_OCR="off",
               PHOTOCLIP_MODEL=f"local-dir:{tiny_model_dir}")
    server, display = _start_xvfb(env)
    env["DISPLAY"] = display
    app = RealApp(env, display, screenshots=screenshots_folder(
        os.environ.get("PHOTOCLIP_SCREENSHOTS", ""), tmp_path / "screenshots"))
    try:
        added = app.cli("add", str(photo_folder(tmp_path / "Pictures")))
        assert added.returncode == 0, added.stderr
        # Its output to a file: a pipe nobody reads would fill and stall the app.
        app.log = tmp_path / "app.log"
        with app.log.open("w") as log:
            app.process = subprocess.Popen([sys.executable, "-m", "photoclip.cli"], env=env,
                                           stdout=log, stderr=subprocess.STDOUT, text=True)
        app.window = _main_window(app)
        yield app
    finally:
        _stop(app.process)
        _stop(server)


def _main_window(app: RealApp) -> str:
    """The window's X id once it is mapped; a skip if the app says Qt can't open one here."""
    assert app.process is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            err = app.output()
            # Qt's xcb libraries missing: the app's own line names them and their packages.
            if said := [line for line in err.splitlines() if line.startswith(CANNOT_OPEN)]:
                pytest.skip(said[0])
            raise AssertionError(f"the app exited ({app.process.returncode}): {err[-2000:]}")
        if found := app.visible_windows("^PhotoClip$"):
            # No window manager places it: it fills the screen, as a maximised window would.
            app.xdotool("windowmove", "--sync", found[0], "0", "0")
            app.xdotool("windowsize", "--sync", found[0], *SCREEN.split("x")[:2])
            return found[0]
        time.sleep(0.3)
    raise AssertionError("no PhotoClip window appeared within 60 s")
