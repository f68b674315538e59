"""Before the window: a missing system library for Qt's xcb plugin is named in one line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import qWarning

from photoclip.ui import platform_check
from photoclip.ui.platform_check import (
    CANNOT_OPEN,
    DEBIAN_PACKAGES,
    first_platform,
    guarded_start,
    install_hint,
    run_ldd,
    unresolved_in,
    window_problem,
    xcb_plugin,
)
from tests.ui.conftest import DOCS_SCREENSHOTS, REPO, screenshots_folder

# ldd's real format (a library missing at two depths is reported twice).
LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f3d18fa2000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007f3d18389000)
\tlibsomething-new.so.2 => not found
\tlibxcb-cursor.so.0 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3d19072000)
"""


def _never_called(binary: Path) -> str:
    raise AssertionError(f"ldd was run on {binary} where the platform is not xcb")


def test_a_missing_library_is_named_with_its_package_in_one_line(tmp_path: Path) -> None:
    seen: list[Path] = []

    def fake_ldd(binary: Path) -> str:
        seen.append(binary)
        return LDD_MISSING

    plugin = tmp_path / "libqxcb.so"
    problem = window_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", plugin, fake_ldd)
    assert seen == [plugin]
    assert problem == (
        "photoclip: cannot open the window: missing system libraries libxcb-cursor.so.0, "
        "libsomething-new.so.2 (install: sudo apt-get install libxcb-cursor0; also install "
        "the packages that provide libsomething-new.so.2)")
    assert "\n" not in problem


def test_nothing_missing_passes(tmp_path: Path) -> None:
    found_all = "\n".join(line for line in LDD_MISSING.splitlines() if "not found" not in line)
    assert window_problem({}, "linux", tmp_path / "libqxcb.so", lambda _: found_all) is None
    assert window_problem({}, "linux", tmp_path / "libqxcb.so", lambda _: "") is None  # no ldd


@pytest.mark.parametrize(("environ", "platform"), [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux"),  # xcb only as the fallback: Qt's failure catches it
    ({"XDG_SESSION_TYPE": "wayland"}, "linux"),
    ({}, "darwin"),
    ({"QT_QPA_PLATFORM": "xcb"}, "win32"),
])
def test_only_xcb_on_linux_is_checked(tmp_path: Path, environ: dict[str, str], platform: str) -> None:
    assert window_problem(environ, platform, tmp_path / "libqxcb.so", _never_called) is None


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "xcb"),
    ({"XDG_SESSION_TYPE": "x11"}, "xcb"),
    ({"XDG_SESSION_TYPE": "wayland"}, "wayland"),
    ({"QT_QPA_PLATFORM": "xcb:nograb"}, "xcb"),
    ({"QT_QPA_PLATFORM": " XCB;wayland", "XDG_SESSION_TYPE": "wayland"}, "xcb"),
    ({"QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
])
def test_the_first_platform_is_the_one_qt_tries_first(environ: dict[str, str], expected: str) -> None:
    assert first_platform(environ) == expected


def test_ldd_output_is_read_for_not_found_only_each_once() -> None:
    assert unresolved_in(LDD_MISSING) == ["libxcb-cursor.so.0", "libsomething-new.so.2"]
    assert install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libglib-2.0.so.0",
                         "libgthread-2.0.so.0"]) == (
        "install: sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libglib2.0-0")


def _real_plugin() -> Path:
    plugin = xcb_plugin()
    if plugin is None or not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        pytest.skip("no PySide6 xcb plugin or no ldd here")
    return plugin


def test_the_real_plugin_is_judged_as_the_loader_judges_it() -> None:
    """The loader itself is the reference: where it loads the plugin, the check passes;
    where it cannot, the check names the library the loader could not find."""
    plugin = _real_plugin()
    problem = window_problem({"QT_QPA_PLATFORM": "xcb"}, "linux")
    loaded = subprocess.run([sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])",
                             str(plugin)], capture_output=True, text=True, timeout=60)
    if loaded.returncode == 0:
        assert problem is None
    else:
        first_missing = re.search(r"(\S+\.so[.\d]*): cannot open shared object", loaded.stderr)
        assert first_missing, loaded.stderr
        assert problem is not None and problem.startswith(CANNOT_OPEN)
        assert first_missing.group(1) in problem and "sudo apt-get install" in problem


def test_every_system_library_of_the_real_plugin_has_its_package_in_make_run() -> None:
    plugin = _real_plugin()
    needed = re.findall(r"^\s*(\S+) => (?!.*PySide6)", run_ldd(plugin), re.MULTILINE)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    listed = re.search(r"^QT_SYSTEM_PACKAGES := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert listed and needed
    make_run = listed.group(1).replace("\\\n", " ").split()
    wanted = {DEBIAN_PACKAGES[name] for name in needed if name in DEBIAN_PACKAGES}
    assert wanted and wanted <= set(make_run), wanted - set(make_run)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"sudo apt-get install {' '.join(make_run)}\n" in readme  # the quick start's list


def _photoclip(environ: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(environ, PHOTOCLIP_HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "photoclip"], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_app_on_xcb_without_its_libraries_or_display_says_why_in_one_line(tmp_path: Path) -> None:
    _real_plugin()
    # Missing libraries: the preflight's line; all present: Qt's failure to reach display
    # :4242, caught. Either way one line, no abort, no advice to reinstall.
    done = _photoclip({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":4242"}, tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(CANNOT_OPEN), done.stderr
    assert "Reinstalling" not in done.stderr


def test_qts_own_failure_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = _photoclip({"QT_QPA_PLATFORM": "no-such-platform"}, tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"{CANNOT_OPEN} Qt could not load its platform plugin (")
    assert '"no-such-platform"' in done.stderr


def test_a_started_application_shows_the_messages_held_meanwhile(capfd) -> None:
    def create() -> int:
        qWarning("held while starting")
        return 7

    assert guarded_start(create) == 7
    assert "held while starting" in capfd.readouterr().err


def test_the_check_module_imports_no_qt() -> None:
    """The CLI runs it before the app's import, which itself needs Qt's libraries."""
    source = Path(platform_check.__file__).read_text(encoding="utf-8")
    module_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in module_level if "PySide6" in line or "shiboken" in line]


@pytest.mark.parametrize(("asked", "expected"), [
    ("", None), ("  ", None), ("1", DOCS_SCREENSHOTS), ("docs/screenshots", DOCS_SCREENSHOTS),
    ("/elsewhere/shots", Path("/elsewhere/shots")),
])
def test_screenshots_go_to_docs_only_when_asked(tmp_path: Path, asked: str, expected: Path | None) -> None:
    assert screenshots_folder(asked, tmp_path) == (expected or tmp_path)
