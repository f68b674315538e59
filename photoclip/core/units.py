"""Numbers as people read them: sizes on disk in decimal units ("21 KB", "3.2 MB"), as
file managers on Linux and macOS show them."""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """``21_000`` -> "21 KB", ``3_240_000`` -> "3.2 MB", ``999`` -> "999 bytes"; never "0.0 MB"."""
    if size < 1000:
        return f"{size} byte" + ("" if size == 1 else "s")
    value = float(size)
    for unit in _UNITS:
        value /= 1000
        if value < 999.5 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
