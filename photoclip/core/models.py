"""Plain data passed between the core and its front ends (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class PhotoState(str, Enum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"


@dataclass(frozen=True)
class Folder:
    id: int
    path: Path
    identity: str | None = None  # see scanner.folder_identity


@dataclass(frozen=True)
class Photo:
    id: int
    path: Path
    folder_id: int
    size: int
    mtime_ns: int
    state: PhotoState
    content_hash: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: float | None = None
    failure_reason: str | None = None
    model_id: str | None = None
    deleted_at: float | None = None  # in the trash: the file is gone, the row kept a while


@dataclass(frozen=True)
class SearchHit:
    photo: Photo
    score: float  # cosine similarity, higher is better

    @property
    def path(self) -> Path:
        return self.photo.path


@dataclass(frozen=True)
class Tag:
    name: str
    source: str = "user"  # "user" (added or confirmed), "auto" (zero-shot) or "rejected"
    score: float | None = None  # auto: the label's probability (concepts: cosine)
    label_set: str | None = None  # auto: the set that gave it; imported: "keywords"
    set_version: str | None = None  # auto: the set's version and content digest
    model_id: str | None = None  # auto: the model whose vectors were scored


@dataclass(frozen=True)
class Album:
    """A group of photos: by tag, by event (time), or a saved search ("smart")."""

    name: str
    kind: str  # "tag", "event" or "smart"
    photo_ids: tuple[int, ...]
    key: str = ""  # what identifies it across updates: the tag, the event's first photo, the saved name
    start: float | None = None  # events: first and last photo times
    end: float | None = None


@dataclass(frozen=True)
class SmartAlbum:
    """A saved search: a query (text, combined, or example photos) and a score cutoff."""

    name: str
    query: str
    min_score: float


@dataclass(frozen=True)
class Failure:
    path: Path
    reason: str


@dataclass
class IndexProgress:
    """A snapshot of an indexing run, handed to progress callbacks."""

    total: int = 0  # photos this run has to look at (decode or reuse)
    done: int = 0
    encoded: int = 0
    reused: int = 0  # vector taken from a photo with the same content (a copy)
    moved: int = 0  # an indexed photo found at a new path: its row and vector follow it
    verified: int = 0  # re-read and hashed: content unchanged, its vector kept
    failed: int = 0
    elapsed_s: float = 0.0
    current: Path | None = None

    @property
    def rate(self) -> float:
        """Photos per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class IndexReport:
    """What one `index` run did, for the CLI summary and tests."""

    scanned: int = 0
    unchanged: int = 0
    encoded: int = 0
    reused: int = 0
    moved: int = 0
    failed: int = 0
    forgotten: int = 0
    offline_folders: list[Path] = field(default_factory=list)
    index_rebuilt: bool = False
    cancelled: bool = False
    seconds: float = 0.0
