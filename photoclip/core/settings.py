"""Typed user settings stored as TOML in the config dir.

TOML (not QSettings) so the CLI and the app read the same file. The file carries
a version; older files are upgraded step by step by the functions in
``_UPGRADES`` and unknown keys are kept, so a newer app never loses a setting.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .atomic import write_text_atomically
from .precision import PRECISIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_VERSION = 1
DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_LABEL_SETS = ("scenes", "subjects", "events", "kinds")
SIDECAR_STYLES = ("photo.jpg.xmp", "photo.xmp")


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
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # unknown keys, kept

    def validate(self) -> None:
        for name, kind, called in (
            ("model", str, "a string"), ("device", str, "a string"),
            ("precision", str, "a string"),
            ("batch_size", int, "an integer"), ("decode_workers", int, "an integer"),
            ("exclude", list, "a list"), ("trash_days", int, "an integer"),
            ("polling_folders", list, "a list"), ("thumbnail_size", int, "an integer"),
            ("label_sets", list, "a list"), ("album_min_photos", int, "an integer"),
            ("event_gap_hours", (int, float), "a number"), ("read_keywords", bool, "true or false"),
            ("xmp_sidecars", bool, "true or false"), ("xmp_sidecar_style", str, "a string"),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise SettingsError(f"{name} must be {called}, not {value!r}")
        if not all(isinstance(pattern, str) for pattern in self.exclude):
            raise SettingsError("exclude must be a list of strings (glob patterns)")
        if not all(isinstance(folder, str) for folder in self.polling_folders):
            raise SettingsError("polling_folders must be a list of folder paths")
        if not 64 <= self.thumbnail_size <= 512:
            raise SettingsError("thumbnail_size must be between 64 and 512")
        if self.trash_days < 0:
            raise SettingsError("trash_days must be 0 or more")
        if not self.model.strip():
            raise SettingsError("model must name a CLIP model (e.g. ViT-B-32:laion2b_s34b_b79k)")
        if self.device not in DEVICES:
            raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.precision not in PRECISIONS:
            raise SettingsError(
                f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if not all(isinstance(name, str) for name in self.label_sets):
            raise SettingsError("label_sets must be a list of label set names")
        if self.album_min_photos < 1 or self.event_gap_hours <= 0:
            raise SettingsError("album_min_photos and event_gap_hours must be positive")
        if self.xmp_sidecar_style not in SIDECAR_STYLES:
            raise SettingsError(f"xmp_sidecar_style must be one of {', '.join(SIDECAR_STYLES)}")
        if self.batch_size < 1:
            raise SettingsError("batch_size must be at least 1")


def _upgrade_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (pre-release) called the model key "clip_model".
    if "clip_model" in raw:
        raw.setdefault("model", raw.pop("clip_model"))
    return raw


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_0_to_1}


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw settings mapping to SETTINGS_VERSION."""
    version = int(raw.get("version", 0))
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
    """Read settings; a missing file gives the defaults."""
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings {path}: {exc}") from exc
    raw = upgrade(raw)
    known = {f.name for f in fields(Settings)} - {"extra"}
    values = {k: v for k, v in raw.items() if k in known}
    extra = {k: v for k, v in raw.items() if k not in known and k != "version"}
    settings = Settings(**values, extra=extra)
    settings.validate()
    return settings


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings atomically (temp file + rename) so a crash never leaves half a file."""
    import tomli_w

    settings.validate()
    data = {"version": SETTINGS_VERSION, **settings.extra}
    data.update({k: v for k, v in asdict(settings).items() if k != "extra"})
    write_text_atomically(path, tomli_w.dumps(data))
