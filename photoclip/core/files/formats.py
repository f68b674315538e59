"""Which files are photos, and opening one by its content among whitelisted formats only.

Photo libraries hold mislabelled files (a PDF named ``.jpg``), so a file's extension only
decides whether it is looked at; what it is comes from its content, and only the PIL
plugins on the whitelist may try it: anything else (EPS/PS/PDF would run Ghostscript) is
never opened.  Opening reads the header only; decoding is :mod:`.imaging`'s.

GUI-free, silent, and safe to call from many threads at once.
"""

from __future__ import annotations

import importlib.util
import io
import threading
import warnings
from typing import BinaryIO

from PIL import Image, features

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)

ImageSource = bytes | bytearray | memoryview | BinaryIO
"""A whole file's bytes, or a file open for binary reading (decoded from where it stands)."""


def _allowed_formats() -> tuple[str, ...]:
    """Whitelist of PIL plugins; anything else (EPS/PS/PDF -> Ghostscript!) is never tried."""
    names = ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"]
    if importlib.util.find_spec("pillow_heif") is not None:
        names.append("HEIF")
    if features.check_module("avif"):  # Pillow's own AVIF plugin (HEIF container, AV1 codec)
        names.append("AVIF")
    return tuple(names)


ALLOWED_FORMATS: tuple[str, ...] = _allowed_formats()

_heif_lock = threading.Lock()
_heif_enabled: bool | None = None
_plugins_lock = threading.Lock()
_open_formats: tuple[str, ...] | None = None
# warnings.catch_warnings swaps a process-global filter list; two threads doing it at once
# can leave a filter installed forever, so the (cheap, header-only) open is serialised.
_open_lock = threading.Lock()


def enable_heif() -> bool:
    """Register pillow-heif's opener once; False when pillow-heif is not usable.

    Called lazily so importing this module stays cheap and works without pillow-heif.
    """
    global _heif_enabled
    if _heif_enabled is not None:
        return _heif_enabled
    with _heif_lock:
        if _heif_enabled is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_enabled = True
            except Exception:  # ImportError, or a broken native library
                _heif_enabled = False
    return _heif_enabled


def _formats() -> tuple[str, ...]:
    """ALLOWED_FORMATS that are actually registered (Image.open raises KeyError otherwise)."""
    global _open_formats
    if _open_formats is None:
        enable_heif()
        with _plugins_lock:  # Image.init() imports plugins; do it once, not racing
            Image.init()
            _open_formats = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)
    return _open_formats


def open_image(source: ImageSource) -> Image.Image:
    """Identify by content among whitelisted formats, with bomb warnings made errors.

    A file is left open for the caller to close."""
    formats = _formats()
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else _Lent(source)
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "possible formats" chatter; we never print
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(fp, formats=formats)


class _Lent:
    """The caller's file as lent to PIL, which closes the file of an image it closes:
    closing this leaves the file open (and everything else goes to the file)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)

    def close(self) -> None:
        pass
