"""Typed user settings stored as TOML in the config dir.

TOML (not QSettings) so the CLI and the app read the same file. The file carries
a version; older files are upgraded step by step by the functions in
``_UPGRADES`` and unknown keys are kept, so a newer app never loses a setting.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .clip.precision import PRECISIONS
from .files.atomic import write_text_atomically

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_VERSION = 1
DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_LABEL_SETS = ("scenes", "subjects", "events", "kinds")
SIDECAR_STYLES = ("photo.jpg.xmp", "photo.xmp")
# Reading text in photos: auto = when the `ocr` extra is installed; all = the same, but
# an error when it is missing; off = never.
OCR_MODES = ("auto", "all", "off")
# Which duplicate groups search results fold into one photo (organize/grouping.py's tiers).
STACK_MODES = ("similar", "near", "off")


class SettingsError(Exception):
    """The settings file exists but cannot be used."""


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    # The image encoder's precision on the CPU: auto picks int8 or bf16 where the CPU
    # runs them natively (both agree with fp32 at cosine >= 0.999), else fp32.
    precision: str = "auto"
    batch_size: int = 32
    decode_workers: int = 0  # 0 = one per CPU core
    exclude: list[str] = field(default_factory=list)  # glob patterns on file or folder names
    trash_days: int = 30  # a deleted photo's tags and vector wait this long for it to come back
    # Folders watched by polling instead of OS events: network shares, where
    # inotify never hears about changes made by other machines.
    polling_folders: list[str] = field(default_factory=list)
    thumbnail_size: int = 160  # grid cell size in the app, in logical pixels
    # Label sets that tag new photos as they are indexed (built-in or the user's own).
    label_sets: list[str] = field(default_factory=lambda: list(DEFAULT_LABEL_SETS))
    album_min_photos: int = 5  # a tag or an event needs this many photos to be an album
    # Photos further apart than this are different events; 14 h keeps a trip's nights
    # (last photo at 21:00, first at 9:00) inside one event and splits days without photos.
    event_gap_hours: float = 14.0
    read_keywords: bool = True  # existing keywords (XMP, IPTC, sidecars) become user tags
    xmp_sidecars: bool = False  # write tags to XMP sidecars (never into the photos)
    xmp_sidecar_style: str = "photo.jpg.xmp"  # or "photo.xmp" (Lightroom's naming)
    ocr: str = "auto"  # read the text in photos (OCR_MODES)
    stacks: str = "similar"  # fold search results' duplicate groups (STACK_MODES)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # unknown keys, kept

    def validate(self) -> None:
        """Check every field's type and bounds, so a bad value stops at load, not mid-index."""
        for name, (kind, called) in _TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise SettingsError(f"{name} must be {called}, not {_shown(value)}")
        for name, what in _STRING_LISTS.items():
            if not all(isinstance(item, str) for item in getattr(self, name)):
                raise SettingsError(f"{name} must be a list of strings ({what})")
        for name, (low, high) in _BOUNDS.items():
            if not low <= getattr(self, name) <= high:
                raise SettingsError(
                    f"{name} must be between {low} and {high}, not {getattr(self, name)}")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(
                    f"{name} must be one of {', '.join(allowed)}, not {_shown(getattr(self, name))}")
        if not self.model.strip():
            raise SettingsError("model must name a CLIP model (e.g. ViT-B-32:laion2b_s34b_b79k)")
        if not (math.isfinite(self.event_gap_hours) and self.event_gap_hours > 0):
            raise SettingsError(f"event_gap_hours must be a positive number of hours, "
                                f"not {self.event_gap_hours}")


_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "model": (str, "a string"), "device": (str, "a string"), "precision": (str, "a string"),
    "batch_size": (int, "an integer"), "decode_workers": (int, "an integer"),
    "exclude": (list, "a list"), "trash_days": (int, "an integer"),
    "polling_folders": (list, "a list"), "thumbnail_size": (int, "an integer"),
    "label_sets": (list, "a list"), "album_min_photos": (int, "an integer"),
    "event_gap_hours": ((int, float), "a number"), "read_keywords": (bool, "true or false"),
    "xmp_sidecars": (bool, "true or false"), "xmp_sidecar_style": (str, "a string"),
    "ocr": (str, "a string"), "stacks": (str, "a string"),
}
_STRING_LISTS = {"exclude": "glob patterns", "polling_folders": "folder paths",
                 "label_sets": "label set names"}
# Upper bounds: what the settings dialog offers, or far beyond any real use; past them
# a value is a typo that would fail late (a pool of a million decode threads).
_BOUNDS = {"batch_size": (1, 1024), "decode_workers": (0, 256), "trash_days": (0, 36500),
           "thumbnail_size": (64, 512), "album_min_photos": (1, 1_000_000)}
_CHOICES = {"device": DEVICES, "precision": PRECISIONS, "xmp_sidecar_style": SIDECAR_STYLES,
            "ocr": OCR_MODES, "stacks": STACK_MODES}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _upgrade_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (pre-release) called the model key "clip_model".
    if "clip_model" in raw:
        raw.setdefault("model", raw.pop("clip_model"))
    return raw


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_0_to_1}


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw settings mapping to SETTINGS_VERSION."""
    version = raw.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SettingsError(f"version must be a whole number, not {_shown(version)}")
    if version > SETTINGS_VERSION:
        raise SettingsError(
            f"settings file is from a newer PhotoClip (version {version}); please upgrade"
        )
    while version < SETTINGS_VERSION:
        raw = _UPGRADES[version](dict(raw))
        version += 1
    raw["version"] = SETTINGS_VERSION
    return raw


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file gives the defaults, and so does an empty one (an
    empty TOML document is valid: every key at its default).

    A file that cannot be used raises SettingsError naming the file and the key: it is
    the user's, so PhotoClip stops rather than guess, and never writes over it.
    """
    if not path.exists():
        return Settings()
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings {path}: {exc}{_KEEP}") from exc
    except SettingsError as exc:
        raise SettingsError(f"settings {path}: {exc}{_KEEP}") from exc


_KEEP = "; fix or remove the file (PhotoClip will not overwrite it)"


def _parse(text: str) -> Settings:
    raw = upgrade(tomllib.loads(text))
    known = {f.name for f in fields(Settings)} - {"extra"}
    values = {k: v for k, v in raw.items() if k in known}
    extra = {k: v for k, v in raw.items() if k not in known and k != "version"}
    settings = Settings(**values, extra=extra)
    settings.validate()
    return settings


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings atomically (temp file + rename) so a crash never leaves half a file.

    Refuses to replace a file that does not load: whatever is in it (a newer version's
    keys, a hand edit with a typo) is the user's until they fix or remove it.
    """
    import tomli_w

    settings.validate()
    load_settings(path)  # raises SettingsError for a file that must not be replaced
    data = {"version": SETTINGS_VERSION, **settings.extra}
    data.update({k: v for k, v in asdict(settings).items() if k != "extra"})
    write_text_atomically(path, tomli_w.dumps(data))
