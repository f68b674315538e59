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
    score: float  # cosine similarity, higher is better (a hit found by its text: its cosine too)
    matched_text: str | None = None  # the photo's text that matched the query, when it did
    # The stack it heads (search/stacks.py): the group's id and how many photos it holds.
    stack_id: int | None = None
    stack_size: int = 1

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
    kind: str  # "favourites", "manual" (made by hand), "smart", "event" or "tag"
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
    metadata: int = 0  # photos indexed before whose metadata (dates, places) was read now
    cancelled: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class PhotoMarks:
    """What the user says of a photo: a favourite, 0-5 stars, the rotation it is shown at
    (quarter turns clockwise on top of its EXIF orientation; the file is never written)."""

    favourite: bool = False
    rating: int = 0
    rotation: int = 0


@dataclass(frozen=True)
class PhotoMeta:
    """What a photo's headers say, read once at index time (or by the metadata backfill).

    Date filters and month counts use ``taken_local``, the calendar the photographer lived
    in; sorting by date uses ``taken_at``. ``taken_source == "file"`` means no header had a
    date and the file's modification time stands in (the UI and JSON say so).
    """

    taken_at: float | None = None  # capture instant, POSIX seconds
    taken_local: str | None = None  # wall-clock capture time, "YYYY-MM-DDTHH:MM:SS"
    taken_offset_min: int | None = None  # OffsetTimeOriginal in minutes; None when unknown
    taken_source: str = "file"  # "exif", "xmp", "png", "heif" or "file" (the last resort)
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    orientation: int = 1  # EXIF 1..8
    width: int | None = None  # pixel size as stored (before the orientation turns it)
    height: int | None = None
    file_type: str | None = None  # "jpeg", "png", "heic", "webp", "tiff", "gif", "bmp"
    lat: float | None = None
    lon: float | None = None
    city: str | None = None  # from GPS, offline (files/places.py)
    region: str | None = None  # state / first-level division
    country: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2

    @property
    def camera(self) -> str | None:
        """"Google Pixel 7": the model, with the make in front unless the model repeats it."""
        make, model = (self.camera_make or "").strip(), (self.camera_model or "").strip()
        if not model:
            return make or None
        return model if not make or model.lower().startswith(make.lower().split()[0]) else f"{make} {model}"

    @property
    def place(self) -> str | None:
        """"Lisbon, Portugal": the nearest populated place and its country."""
        parts = [p for p in (self.city, self.country) if p]
        return ", ".join(parts) or None


@dataclass(frozen=True)
class PhotoFilter:
    """Conditions on what the photo knows; every one that is set must hold.

    Text values are already folded (case- and accent-insensitive, files/places.py ``fold``).
    """

    after: str | None = None  # "YYYY-MM-DD", inclusive lower bound on taken_local
    before: str | None = None  # "YYYY-MM-DD", exclusive upper bound on taken_local
    places: tuple[str, ...] = ()  # city, region, country or country code; any of them
    cameras: tuple[str, ...] = ()  # part of "make model"; any of them
    folders: tuple[str, ...] = ()  # a folder name on the photo's path; any of them
    tags: tuple[str, ...] = ()  # tag names (user or auto, not rejected); all of them
    albums: tuple[str, ...] = ()  # album names; the library resolves them into ``ids``
    kinds: tuple[str, ...] = ()  # labels of the "kinds" label set; any of them
    orientation: str | None = None  # "portrait", "landscape" or "square", as shown upright
    exclude_tags: tuple[str, ...] = ()
    exclude_places: tuple[str, ...] = ()
    ids: tuple[int, ...] | None = None  # an allow-list; None: no limit
    text: tuple[str, ...] = ()  # text queries (catalog/text_search.py) the photo's text matches; all of them
    # The user's marks (catalog/marks.py; a photo never marked is no favourite, 0 stars).
    favourite: bool | None = None  # True: favourites only; False: none of them; None: either
    min_rating: int | None = None  # 1..5: at least that many stars
    exact_rating: int | None = None  # 0..5: exactly that many (0: unrated)

    def is_empty(self) -> bool:
        return self == PhotoFilter()


@dataclass(frozen=True)
class Facets:
    """How many photos each filter value holds (under the filter in force), for the
    filter bar's pickers and the Places sidebar."""

    months: tuple[tuple[str, int], ...] = ()  # ("2024-07", 132), oldest first
    places: tuple[tuple[str, str | None, str, int], ...] = ()  # (country, region, city, n)
    cameras: tuple[tuple[str, int], ...] = ()
    folders: tuple[tuple[str, int], ...] = ()
    tags: tuple[tuple[str, int], ...] = ()
    kinds: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class FolderStatus:
    folder: Folder
    online: bool
    counts: dict[PhotoState, int] = field(default_factory=dict)  # photos by state


@dataclass
class LibraryStatus:
    counts: dict[PhotoState, int]
    failures: list[Failure]
    folders: list[FolderStatus]
    model: str
    device: str  # as configured; the last device actually used is in last_device
    last_device: str | None
    index_size: int | None  # vectors in the saved index file, None when there is none
    index_bytes: int | None
    other_model: int = 0  # indexed photos whose vectors need re-encoding for this model
    precision: str = "auto"  # as configured; what the image encoder last ran in is below
    last_precision: str | None = None
    last_text_precision: str | None = None  # what the text encoder last ran in
    trashed: int = 0  # deleted photos kept for trash_days in case their files come back
    data_dir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
