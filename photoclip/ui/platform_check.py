"""Can Qt open a window here? Asked before PySide6's widgets are imported.

On a fresh Debian desktop, Qt 6.5+'s xcb platform plugin needs system libraries the
PySide6 wheel does not carry (libxcb-cursor0, libxcb-icccm4 ...). Without them Qt prints
"could not load the Qt platform plugin xcb ... Reinstalling the application may fix this
problem" and aborts. This module says instead, in one line, which libraries are missing
and the command that installs them. It imports no Qt at module level (the CLI calls it
before the desktop app's import, which would itself fail on a missing libEGL or libGL);
only ``guarded_start`` imports QtCore, to catch what the preflight missed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

CANNOT_OPEN = "photoclip: cannot open the window:"

# Inside the PySide6 package. ldd on it lists the closure: libQt6XcbQpa, libQt6Gui,
# libQt6DBus, libQt6Core and the system libraries of each (QtWidgets needs no others).
XCB_PLUGIN = Path("Qt", "plugins", "platforms", "libqxcb.so")

# The sonames Qt 6's xcb plugin and its Qt libraries need (ldd on PySide6 6.11's
# libqxcb.so), and the Debian/Ubuntu package of each. The Makefile's
# QT_SYSTEM_PACKAGES installs these for `make run`.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

# "libfoo.so.1 => not found": the loader's word for a library it cannot find.
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)

LddRunner = Callable[[Path], str]
T = TypeVar("T")


def first_platform(environ: Mapping[str, str]) -> str:
    """The platform plugin Qt will try first, as Qt 6 chooses it on Linux:
    QT_QPA_PLATFORM ("xcb", "wayland;xcb", "offscreen", "xcb:option=..."), else wayland
    on a Wayland session (falling back to xcb), else xcb."""
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if not chosen:
        chosen = "wayland;xcb" if environ.get("XDG_SESSION_TYPE", "") == "wayland" else "xcb"
    return chosen.split(";")[0].split(":")[0].strip().lower()


def xcb_plugin() -> Path | None:
    """PySide6's xcb plugin, found without importing PySide6 (its import loads Qt)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / XCB_PLUGIN
    return plugin if plugin.is_file() else None


def unresolved_in(ldd_output: str) -> list[str]:
    """The sonames ldd reports "not found", each once, in ldd's order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def run_ldd(binary: Path) -> str:
    """ldd's report on ``binary``; empty where ldd is absent or cannot say (then the
    check passes and Qt's own failure, if any, is caught by guarded_start)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        done = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def install_hint(sonames: Sequence[str]) -> str:
    """The Debian/Ubuntu command for the known sonames; the others named as they are."""
    packages = list(dict.fromkeys(DEBIAN_PACKAGES[s] for s in sonames if s in DEBIAN_PACKAGES))
    unknown = [s for s in sonames if s not in DEBIAN_PACKAGES]
    parts = [f"install: sudo apt-get install {' '.join(packages)}"] if packages else []
    if unknown:
        parts.append(f"also install the packages that provide {', '.join(unknown)}")
    return "; ".join(parts)


def missing_libraries_message(sonames: Sequence[str]) -> str:
    return f"{CANNOT_OPEN} missing system libraries {', '.join(sonames)} ({install_hint(sonames)})"


def window_problem(environ: Mapping[str, str] | None = None, platform: str = sys.platform,
                   plugin: Path | None = None, ldd: LddRunner = run_ldd) -> str | None:
    """One line saying why Qt's xcb plugin cannot load here, or None where it can (or
    where Qt will not use xcb, or there is nothing to check: Qt then decides)."""
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux") or first_platform(environ) != "xcb":
        return None
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    missing = unresolved_in(ldd(plugin))
    return missing_libraries_message(missing) if missing else None


def guarded_start(create: Callable[[], T]) -> T:
    """``create()`` (the QApplication's constructor), where a Qt fatal message ends the
    process with one line on stderr instead of Qt's advice to reinstall and an abort.
    Qt's other messages meanwhile are held: on a failure, its qt.qpa ones are the reason
    given in that line; on success they are shown as Qt would have shown them."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    held: list[tuple[str, str]] = []

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        category = getattr(context, "category", None) or ""
        category = category.decode() if isinstance(category, bytes) else str(category)
        if kind == QtMsgType.QtFatalMsg:
            reasons = [text for cat, text in held if cat.startswith("qt.qpa")]
            print(platform_failure_message(reasons or [message]), file=sys.stderr, flush=True)
            os._exit(1)  # Qt would abort() right after this handler
        held.append((category, message))

    previous = qInstallMessageHandler(handler)
    try:
        return create()
    finally:
        qInstallMessageHandler(previous)
        for category, message in held:
            print(f"{category}: {message}" if category not in ("", "default") else message,
                  file=sys.stderr)


def platform_failure_message(reasons: Sequence[str]) -> str:
    """One line for Qt's failure: the xcb plugin's missing libraries where Qt tried xcb
    (maybe as the fallback from wayland) and some are missing, else Qt's own reasons."""
    tried_xcb = any('"xcb"' in reason for reason in reasons)
    missing_for_xcb = window_problem({"QT_QPA_PLATFORM": "xcb"}) if tried_xcb else None
    if missing_for_xcb is not None:
        return missing_for_xcb
    said = "; ".join(" ".join(reason.split()) for reason in reasons)
    return f"{CANNOT_OPEN} Qt could not load its platform plugin ({said})"
