"""Every file PhotoClip writes, listed once, with its kind.

The kind decides what happens when the file cannot be read:

- a **source of truth** (the catalog, settings, the user's label sets) holds what
  the user put in: PhotoClip stops with one line naming it and never overwrites it;
- a **cache** (the HNSW index and its manifest, class vectors, thumbnails, the ONNX
  towers, the window's layout) can always be made again from the sources of truth: it is rebuilt;
- **runtime** files (the writer lock) hold nothing worth keeping: they are taken over.

The fault-injection suite (``tests/faults/test_persisted_files.py``) damages each
entry here in every way its format allows and checks that promise, and a test
walks a library after every kind of work and fails on a file no entry matches: a
new persisted file must join this list to pass.

Not listed, because PhotoClip does not own them: downloaded weights live in the
Hugging Face cache (huggingface_hub writes them atomically; safetensors checks
them on load), and XMP sidecars beside photos are written through ``xmp``, which
keeps everything other apps put in them. Nor the single-instance socket
(``local_channel.py``): a socket holds no bytes at rest; it lives in the user's private
runtime folder, and a stale one is cleared when the next instance listens.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .paths import AppPaths


class Kind(enum.Enum):
    SOURCE_OF_TRUTH = "source of truth"
    CACHE = "cache"
    RUNTIME = "runtime"


@dataclass(frozen=True)
class PersistedFile:
    name: str
    kind: Kind
    format: str  # how its bytes are laid out: which damage is plausible
    folder: Callable[[AppPaths], Path]
    pattern: str  # a glob below ``folder``
    what: str

    def files(self, paths: AppPaths) -> list[Path]:
        folder = self.folder(paths)
        return sorted(p for p in folder.glob(self.pattern) if p.is_file()) if folder.is_dir() else []

    def matches(self, paths: AppPaths, path: Path) -> bool:
        folder = self.folder(paths)
        return folder in path.parents and path.relative_to(folder).match(self.pattern)


PERSISTED_FILES: tuple[PersistedFile, ...] = (
    PersistedFile("catalog", Kind.SOURCE_OF_TRUTH, "sqlite", lambda p: p.data_dir, "catalog.sqlite3",
                  "photos, vectors, tags, decisions, albums, concepts (SQLite, WAL)"),
    PersistedFile("catalog journal", Kind.SOURCE_OF_TRUTH, "sqlite-wal", lambda p: p.data_dir,
                  "catalog.sqlite3-*", "SQLite's write-ahead log and shared-memory index"),
    PersistedFile("catalog backups", Kind.SOURCE_OF_TRUTH, "sqlite", lambda p: p.backups,
                  "*.sqlite3", "copies taken before each schema migration"),
    PersistedFile("settings", Kind.SOURCE_OF_TRUTH, "toml", lambda p: p.config_dir, "settings.toml",
                  "the user's settings"),
    PersistedFile("user label sets", Kind.SOURCE_OF_TRUTH, "toml", lambda p: p.label_sets, "*.toml",
                  "label sets the user added"),
    PersistedFile("search index", Kind.CACHE, "hnsw", lambda p: p.data_dir, "index.hnsw",
                  "the HNSW graph over the catalog's vectors"),
    PersistedFile("search index manifest", Kind.CACHE, "json", lambda p: p.data_dir, "index.json",
                  "which model, catalog epoch and checksum the index file belongs to"),
    PersistedFile("class vectors", Kind.CACHE, "npz", lambda p: p.class_vectors, "*.npz",
                  "label sets' text embeddings per model"),
    PersistedFile("thumbnails", Kind.CACHE, "jpeg", lambda p: p.thumbnails, "**/*.jpg",
                  "the app's grid thumbnails, by content hash"),
    PersistedFile("window state", Kind.CACHE, "json", lambda p: p.cache_dir, "window-state.json",
                  "the window's size, position, dock layout, grid cell size and photo shapes "
                  "(ui/window_state.py); "
                  "a bad one is ignored and the window opens as new"),
    PersistedFile("ONNX towers", Kind.CACHE, "onnx", lambda p: p.models_cache / "onnx", "*/*.onnx",
                  "image and text towers exported and quantized for ONNX Runtime"),
    PersistedFile("ONNX manifests", Kind.CACHE, "json", lambda p: p.models_cache / "onnx",
                  "*/manifest.json", "what each exported tower was made from and how it was checked"),
    PersistedFile("ONNX query packs", Kind.CACHE, "query-pack", lambda p: p.models_cache / "onnx",
                  "query-pack-*", "a text tower's token embeddings and a manifest naming the tower: "
                  "queries encoded without torch (clip/query_pack.py); a damaged one is ignored"),
    PersistedFile("catalog damage note", Kind.RUNTIME, "json", lambda p: p.data_dir,
                  "catalog.sqlite3.damaged", "which catalog file was found damaged: refused until "
                  "it is replaced (catalog/damage.py); an unreadable note is ignored"),
    PersistedFile("writer lock", Kind.RUNTIME, "lock", lambda p: p.data_dir, "writer.lock",
                  "an OS lock held by the one writing process; the pid inside is informational"),
)


def entry_for(paths: AppPaths, path: Path) -> PersistedFile | None:
    """The list's entry for a file PhotoClip wrote, or None (a file nobody listed)."""
    return next((entry for entry in PERSISTED_FILES if entry.matches(paths, path)), None)
