"""The window's own look, remembered between runs: its size, position and whether it was
maximized, where its docks and splitters were, and the grid's cell size.

A cache in the app's cache folder, never a setting (the settings' thumbnail size is the
user's; this is only where the window was left). So reading it never fails: a missing,
unreadable, truncated or strange file reads as None and the window opens with its
defaults, and each field is checked on its own, a bad one dropped.

Qt-free on purpose: the fault-injection suite damages this file and reads it back
without a display; the window part (window_help.py) turns it into Qt calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from pathlib import Path
from typing import Any

from ..core.files.atomic import write_text_atomically

log = logging.getLogger(__name__)

WINDOW_STATE_FILE = "window-state.json"
VERSION = 1
MAX_FILE_BYTES = 1 << 20  # a few hundred bytes in practice; anything bigger is not ours
COORDINATE = (-32_768, 32_767)  # a position left of or above the primary screen is fine
SIDE = (200, 32_767)
CELL_SIZE = (16, 2_048)
GRID_LOOKS = ("justified", "square")  # grid_delegate.GridLook's values
MAX_BLOB_BYTES = 64 * 1024  # Qt's dock or splitter state: well under a kilobyte


def window_state_path(cache_dir: Path) -> Path:
    return cache_dir / WINDOW_STATE_FILE


def read_window_state(path: Path) -> dict[str, Any] | None:
    """The fields of the file that make sense, or None when there are none (or no file).

    Keys: ``x``, ``y`` (together), ``width``, ``height`` (together), ``maximized``,
    ``docks`` (bytes of QMainWindow.saveState), ``splitters`` ({objectName: bytes}),
    ``cell_size``, ``grid_look`` ("justified" or "square")."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        log.info("the window state %s is unreadable (%s); the window opens as new", path, exc)
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION or isinstance(data.get("version"), bool):
        return None
    state: dict[str, Any] = {}
    for pair, bounds in ((("x", "y"), COORDINATE), (("width", "height"), SIDE)):
        values = [_int_in(data.get(key), bounds) for key in pair]
        if all(value is not None for value in values):
            state.update(zip(pair, values, strict=True))
    if isinstance(data.get("maximized"), bool):
        state["maximized"] = data["maximized"]
    docks = _blob(data.get("docks"))
    if docks is not None:
        state["docks"] = docks
    splitters = data.get("splitters")
    if isinstance(splitters, dict):
        kept = {name: blob for name, value in splitters.items()
                if isinstance(name, str) and name and (blob := _blob(value)) is not None}
        if kept:
            state["splitters"] = kept
    cell_size = _int_in(data.get("cell_size"), CELL_SIZE)
    if cell_size is not None:
        state["cell_size"] = cell_size
    if data.get("grid_look") in GRID_LOOKS:
        state["grid_look"] = data["grid_look"]
    return state or None


def write_window_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the file atomically (a crash leaves the old one or the new one). Takes the
    keys ``read_window_state`` gives; raises OSError (the caller logs it and goes on)."""
    data: dict[str, Any] = {"version": VERSION}
    data.update({key: state[key] for key in ("x", "y", "width", "height", "maximized", "cell_size",
                                              "grid_look") if key in state})
    if "docks" in state:
        data["docks"] = _text(state["docks"])
    if state.get("splitters"):
        data["splitters"] = {name: _text(blob) for name, blob in state["splitters"].items()}
    write_text_atomically(path, json.dumps(data, indent=1) + "\n")


def _int_in(value: object, bounds: tuple[int, int]) -> int | None:
    # bool is an int to Python, and JSON's true is no width.
    if isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]:
        return value
    return None


def _blob(value: object) -> bytes | None:
    if not isinstance(value, str) or not value or len(value) > MAX_BLOB_BYTES * 2:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")
