"""The facade: the one place the core is assembled, used by the CLI and the app.

Front ends build a ``Library`` once (dependencies passed in, nothing global)
and call it; it never prints or exits. Writes happen under the library's
writer lock (``writing()``), so two processes never index at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .catalog.store import Catalog
from .catalog.text import StoredText
from .clip.encoder import ClipEncoder, Encoder, ModelSpec
from .files.ocr import OCR_MISSING
from .files.scanner import folder_online
from .files.thumbnails import ThumbnailCache
from .indexer import Indexer, ProgressCallback
from .library_status import read_status, record_run
from .live.reconcile import ScanOutcome, missing_photos, scan_library, vanished_for_good
from .lock import LibraryLocked, WriterLock
from .looks_pass import LooksProgress, take_missing_looks
from .metadata_backfill import BackfillProgress, backfill_metadata
from .models import (
    Facets,
    Folder,
    FolderStatus,
    IndexProgress,
    IndexReport,
    LibraryStatus,
    Photo,
    PhotoFilter,
    PhotoMarks,
    PhotoMeta,
    SearchHit,
    Tag,
)
from .organize.cleanup import CleanupPlan, CleanupReport, TrashFile, clean_up, system_trash
from .organize.duplicates import Duplicates
from .organize.organizer import Organizer
from .paths import AppPaths
from .search.finder import Finder, FindResult
from .search.index_files import IndexUnusable, read_checked_manifest
from .search.index_store import IndexStore
from .search.searcher import DEFAULT_TOP, Searcher
from .search.stacks import stacks_tier
from .settings import Settings
from .text_pass import PhotoReader, TextProgress, read_text_in_photos, text_reader_for

log = logging.getLogger(__name__)


class LibraryError(Exception):
    """An expected failure with a message for the user (bad folder, ...)."""


class Library:
    def __init__(
        self, paths: AppPaths, settings: Settings, *, encoder: Encoder | None = None,
        text_reader: PhotoReader | None = None,
    ) -> None:
        self.paths = paths.ensure()
        self.settings = settings
        self.spec = ModelSpec.parse(settings.model)
        # Not loaded until a photo or a query needs it: status and folder
        # management never touch torch.
        self.encoder: Encoder = encoder or ClipEncoder(
            self.spec, settings.device, settings.precision, cache_dir=paths.models_cache)
        self.catalog = Catalog(paths.catalog, backups_dir=paths.backups)
        # None: as the `ocr` setting says (loads no model; none when off or not installed).
        self.text_reader = text_reader or text_reader_for(settings.ocr)
        self.index = IndexStore(self.catalog, paths.index, self.encoder.model_id)
        # Handed only as its LibraryParts (catalog, encoder, paths, settings, searcher, the
        # writer lock, photo_at): the organizing room never imports this module.
        self.organizer = Organizer(self)
        self.searcher = Searcher(self.catalog, self.encoder, self.index,
                                 concepts=self.organizer.concepts)
        self.duplicates = Duplicates(self.catalog, self.index, self.encoder.model_id, self.writing)
        self.finder = Finder(self.catalog, self.searcher, self.organizer.album_members,
                             before_text=self._require_vectors)
        self._lock = WriterLock(paths.lock)
        # The file lock keeps other processes out; this keeps this process's
        # threads (indexer, a UI folder change) from writing at the same time.
        self._write_mutex = threading.RLock()

    def close(self) -> None:
        self._lock.release()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim_writer(self, purpose: str) -> None:
        """Hold the writer lock until ``release_writer`` (a long-running watcher).

        Other threads of this process still write, one at a time, through
        ``writing()``; other processes are refused with LibraryLocked.
        """
        with self._write_mutex:
            if not self._lock.held:
                self._lock.purpose = purpose
                self._lock.acquire()

    def release_writer(self) -> None:
        with self._write_mutex:
            self._lock.release()

    @contextlib.contextmanager
    def writing(self, purpose: str = "photoclip") -> Iterator[Library]:
        """Hold the writer lock; raises LibraryLocked if another process has it."""
        with self._write_mutex:
            if self._lock.held:  # re-entered by the same thread
                yield self
                return
            self._lock.purpose = purpose
            with self._lock:
                yield self

    # -- folders -----------------------------------------------------------------
    def folders(self) -> list[FolderStatus]:
        counts = self.catalog.folder_counts()
        return [FolderStatus(f, folder_online(f.path), counts.get(f.id, {}))
                for f in self.catalog.folders()]

    def add_folder(self, path: Path) -> Folder:
        folder = path.expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"not a folder: {path}")
        for existing in self.catalog.folders():
            if existing.path == folder or existing.path in folder.parents:
                raise LibraryError(f"{folder} is already in the library (as {existing.path})")
        with self.writing("add"):
            return self.catalog.add_folder(folder)

    def remove_folder(self, path: Path) -> int:
        """Forget a library folder and its photos (the files are not touched)."""
        target = path.expanduser().absolute()
        resolved = target.resolve() if target.exists() else target
        for folder in self.catalog.folders():
            if folder.path in (target, resolved):
                with self.writing("remove"):
                    self.load_index_for_writing()
                    removed = self.catalog.remove_folder(folder.id)
                    self.index.remove(removed)
                    self.index.save()
                return len(removed)
        raise LibraryError(f"not a library folder: {path}")

    # -- indexing ------------------------------------------------------------------
    def index_photos(
        self, *, full: bool = False, progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexReport:
        """Encode what is new or changed; ``full`` also forgets gone files and rebuilds the index."""
        started = time.monotonic()
        with self.writing("index"):
            self.load_index_for_writing()
            scan = self.scan(full=full)
            done = self.index_pending({f.id for f in scan.online}, progress, cancel)
            report = IndexReport(
                scanned=scan.scanned, unchanged=scan.unchanged + done.verified,
                encoded=done.encoded,
                reused=done.reused, moved=done.moved, failed=done.failed,
                offline_folders=[f.path for f in scan.offline],
                cancelled=bool(cancel and cancel.is_set()),
            )
            if not report.cancelled:
                # A plain run takes out what left the library but still has a path (a
                # folder now has its name, excluded since): search can't tell those.
                report.forgotten = self.trash_missing(scan, deleted=full)
            if not report.cancelled:
                report.metadata = backfill_metadata(self.catalog, cancel=cancel)
            if full and not report.cancelled:
                self.purge_trash()
                report.index_rebuilt = self.index.rebuild() is not None
            record_run(self.catalog, self.encoder)
            self.index.save()
        report.seconds = time.monotonic() - started
        return report

    def scan(self, *, full: bool = False, settle_s: float = 0.0) -> ScanOutcome:
        """Mark new and changed files pending (stat only). Call while writing."""
        return scan_library(
            self.catalog, self.catalog.folders(), self.encoder.model_id,
            exclude=self.settings.exclude, full=full, settle_s=settle_s,
        )

    def index_pending(
        self, online: set[int], progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None, *, limit: int | None = None,
        thumbnails: bool = False,
    ) -> IndexProgress:
        """Encode the pending photos of the ``online`` folders (the first ``limit``);
        ``thumbnails``: also make the app's grid thumbnails from the same decode.
        Call while writing. First the tags still owed to photos already indexed (a run
        killed or failing between a batch's commit and its tags)."""
        self.load_index_for_writing()
        owed = self.catalog.tags_owed(self.encoder.model_id)  # usually none: one empty lookup
        chunk = 4096  # photos (and their vectors) tagged at once: bounded memory
        for start in range(0, len(owed), chunk):
            self.organizer.tag_new_photos(owed[start:start + chunk])
        todo = self.catalog.pending_photos(online, limit)
        indexer = Indexer(
            self.catalog, self.encoder, self.index, batch_size=self.settings.batch_size,
            workers=self.settings.decode_workers, online_folders=online,
            thumbnails=ThumbnailCache(self.paths.thumbnails) if thumbnails else None,
            on_indexed=self.organizer.tag_new_photos,
        )
        done = indexer.run(todo, progress, cancel)
        gone = vanished_for_good(self.catalog, indexer.vanished)
        self.catalog.trash(gone)  # keeps what can come back; a move is restored at its new path
        self.index.remove(gone)
        record_run(self.catalog, self.encoder, done)
        return done

    def trash_missing(self, scan: ScanOutcome, *, deleted: bool = True) -> int:
        """Move photos that left the library to the trash (folders available now only).
        ``deleted`` False: only those whose path still exists (excluded, or no longer a
        photo file), not those simply missing (a plain ``index`` never forgets those)."""
        gone = missing_photos(self.catalog, scan, deleted=deleted)
        self.catalog.trash(gone)
        self.index.remove(gone)
        return len(gone)

    def purge_trash(self) -> int:
        """Forget trashed photos older than the grace period (``trash_days``); see
        ``Catalog.purge_trash`` for a clock that jumps."""
        now = time.time()
        return self.catalog.purge_trash(now - self.settings.trash_days * 86400, now)

    # -- tags ----------------------------------------------------------------------
    def tag(self, path: Path, names: list[str], source: str = "user") -> None:
        photo = self.photo_at(path)
        with self.writing("tag"):
            self.catalog.add_tags(photo.id, [Tag(n, source) for n in names])

    def tags(self, path: Path) -> list[Tag]:
        return self.catalog.tags(self.photo_at(path).id)

    def photo_at(self, path: Path) -> Photo:
        photo = self.catalog.photo_by_path(path.expanduser().absolute())
        if photo is None:
            raise LibraryError(f"not in the library: {path}")
        return photo

    def load_index_for_writing(self) -> None:
        """Load the saved index while it still matches the catalog, so a write
        updates it in place instead of forcing a rebuild from every vector."""
        if self.index.loaded is not None:
            return
        dim = self._known_dim()
        if dim:
            self.index.get(dim)

    def _known_dim(self) -> int | None:
        # Only the dimension is needed: the manifest's own checksum is enough
        # (no hash of the index file); loading it checks the file fully, once.
        try:
            manifest = read_checked_manifest(self.paths.index)
        except IndexUnusable:
            manifest = {}
        if manifest.get("model_id") == self.encoder.model_id:
            return int(manifest["dim"])
        return self.catalog.vector_dim(self.encoder.model_id)

    # -- searching -------------------------------------------------------------
    def search(
        self, query: str, top: int = DEFAULT_TOP, min_score: float | None = None,
        cwd: Path | None = None,
    ) -> list[SearchHit]:
        return self.find(query, top=top, min_score=min_score, cwd=cwd).hits

    def find(
        self, query: str, *, filters: PhotoFilter | None = None, sort: str | None = None,
        literal: bool = False, top: int = DEFAULT_TOP, offset: int = 0,
        min_score: float | None = None, cwd: Path | None = None, use_text: bool = True,
    ) -> FindResult:
        """Text, filters or both (``search/finder.py``); a filter-only query needs no model.
        ``use_text``: fuse the photos whose text matches the query's words (off: CLIP only)."""
        result = self.finder.find(query, filters=filters, sort=sort, literal=literal, top=top,
                                  offset=offset, min_score=min_score, cwd=cwd, use_text=use_text,
                                  stacks=stacks_tier(self.settings.stacks))
        self._keep_rebuilt_index()
        return result

    def facets(self, filters: PhotoFilter | None = None) -> Facets:
        """How many photos each month, place, camera, folder, tag and kind holds."""
        return self.finder.facets(filters or PhotoFilter())

    def meta_of(self, photo_ids: Iterable[int]) -> dict[int, PhotoMeta]:
        return self.catalog.meta_of(list(photo_ids))

    def backfill_meta(self, progress: BackfillProgress | None = None,
                      cancel: threading.Event | None = None, batches: int | None = None) -> int:
        """Read the headers of photos indexed before PhotoClip kept their metadata."""
        with self.writing("metadata"):
            return backfill_metadata(self.catalog, progress=progress, cancel=cancel, batches=batches)

    def read_text(self, progress: TextProgress | None = None, cancel: threading.Event | None = None,
                  batches: int | None = None) -> int:
        """Read the text in indexed photos not read yet (``text_pass``); 0 without a reader."""
        if self.text_reader is None:
            if self.settings.ocr == "all":
                raise LibraryError(OCR_MISSING)
            return 0
        with self.writing("text"):
            return read_text_in_photos(self.catalog, self.text_reader, progress=progress,
                                       cancel=cancel, batches=batches)

    def update_duplicates(self, progress: LooksProgress | None = None, cancel: threading.Event | None = None,
                          batches: int | None = None) -> int:
        """Looks for photos without them (``looks_pass``), then the groups up to date."""
        with self.writing("duplicates"):
            taken = take_missing_looks(self.catalog, progress=progress, cancel=cancel, batches=batches)
            # Grouped once no more looks can be taken now (an offline folder's wait for it).
            if not (cancel and cancel.is_set()) and (batches is None or taken == 0):
                self.duplicates.update()
        return taken

    def clean_up(self, plans: Sequence[CleanupPlan], trash_file: TrashFile | None = None) -> CleanupReport:
        """Merge extras into the kept photos, move their files to the system trash: ask first."""
        trash = trash_file or system_trash()
        with self.writing("clean up"):
            report = clean_up(self.catalog, plans, trash)
            self.index.remove(report.trashed_ids)
        return report

    def marks_of(self, photo_ids: Iterable[int]) -> dict[int, PhotoMarks]:
        return self.catalog.marks_of(list(photo_ids))

    def set_favourite(self, photo_ids: Sequence[int], on: bool = True) -> None:
        with self.writing("favourite"):
            self.catalog.set_favourite(photo_ids, on)

    def set_rating(self, photo_ids: Sequence[int], stars: int) -> None:
        with self.writing("rating"):
            self.catalog.set_rating(photo_ids, stars)
            self.organizer.write_sidecars(photo_ids)  # xmp:Rating, when sidecars are on

    def set_rotation(self, photo_id: int, quarter_turns: int) -> None:  # shown so; never written
        with self.writing("rotation"):
            self.catalog.set_rotation(photo_id, quarter_turns)

    def text_of(self, photo_ids: Iterable[int]) -> dict[int, StoredText]:
        return self.catalog.text_of(list(photo_ids))

    def similar(self, path: Path, top: int = DEFAULT_TOP) -> list[SearchHit]:
        if not path.is_file():
            raise LibraryError(f"no such image: {path}")
        self._require_vectors()
        hits = self.searcher.similar(path.resolve(), top)
        self._keep_rebuilt_index()
        return hits

    def _keep_rebuilt_index(self) -> None:
        if not self.index.rebuild_to_keep or self._lock.held:
            return
        try:
            with self.writing("save index"):
                self.index.save_rebuilt()
        except LibraryLocked:
            pass  # an indexer is running; it saves the index itself
        except OSError as exc:  # a full disk: the answer stands, the next writer saves it
            log.warning("could not save the rebuilt search index: %s", exc)

    def _require_vectors(self) -> None:
        """Say so up front rather than load a model to search nothing."""
        if self.catalog.vector_dim(self.encoder.model_id) is None:
            raise LibraryError(
                f"no photos are indexed with {self.encoder.model_id} yet: "
                "add folders (photoclip add PATH) and run photoclip index"
            )

    def newest(self, limit: int = 500, offset: int = 0) -> list[Photo]:
        """The library without a query: newest photos first, a page at a time."""
        return self.catalog.newest_photos(limit, offset)

    # -- status --------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        """Everything `photoclip status` shows; reads files only, never loads the model."""
        return read_status(self.paths, self.catalog, self.encoder.model_id, self.settings, self.folders())
