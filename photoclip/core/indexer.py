"""The single writer's pipeline: read, hash, decode, encode, persist, index.

Decoding runs in a small thread pool a couple of batches ahead of the encoder
so the model never waits for input; results are consumed in submission order.
Every batch is written in one transaction, so a crash (even kill -9) loses at
most the batch in flight, and the next run resumes from the photos still
pending. The indexer only reads photo files; it never writes next to them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from .catalog.moves import READ_FAILURE_PREFIX
from .catalog.store import Catalog, EncodedPhoto
from .clip.encoder import Encoder, ModelUnavailable
from .files.decode_budget import DecodeBudget
from .files.imaging import ImageRejected, decode_for_model
from .files.looks import Looks, looks_of
from .files.photo_meta import read_photo_meta
from .files.scanner import check_still_readable, file_identity, file_is_gone, hash_file
from .files.thumbnails import ThumbnailCache
from .live.reconcile import folder_available
from .models import IndexProgress, Photo, PhotoMeta
from .search.index_store import IndexStore

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IndexProgress], None]
INDEX_SAVE_INTERVAL_S = 60.0  # bounds the rebuild work after a crash
# Bigger files are not photos (a renamed video or disk image): refuse them
# rather than read gigabytes into memory in every decode worker at once.
MAX_FILE_BYTES = 1 << 30
# How long a folder's availability is believed before a move asks again: a drive can
# go at any moment of a run, and a twin's file missing then is no move.
FOLDER_CHECK_TTL_S = 1.0
# A file changing while it is read is read again this many times in all, then left failed
# for the next plain index to retry (it is being written: its scan will come round again).
READ_ATTEMPTS = 3


@dataclass
class Prepared:
    """What a decode worker found out about one pending photo."""

    photo: Photo
    content_hash: str | None = None
    error: str | None = None
    vanished: bool = False  # deleted or moved away since it was queued: not a failure
    unchanged: bool = False  # same content as its own stored vector
    twins: list[Photo] = field(default_factory=list)  # indexed photos with the same content
    model_input: Any = None
    width: int = 0
    height: int = 0
    taken_at: float | None = None
    meta: PhotoMeta | None = None  # what its headers say (dates, camera, place)
    looks: Looks | None = None  # its perceptual hash and sharpness, from the decode


@dataclass
class Batch:
    to_encode: list[Prepared] = field(default_factory=list)
    ready: list[EncodedPhoto] = field(default_factory=list)  # vectors reused, no model needed
    verified: list[EncodedPhoto] = field(default_factory=list)  # content unchanged: own vector
    failures: list[tuple[int, str, str | None]] = field(default_factory=list)
    moves: list[tuple[int, int]] = field(default_factory=list)
    restored: list[tuple[int, np.ndarray]] = field(default_factory=list)  # back from the trash
    meta: dict[int, PhotoMeta] = field(default_factory=dict)

    def __len__(self) -> int:
        return (len(self.to_encode) + len(self.ready) + len(self.verified) + len(self.failures)
                + len(self.moves))


class Indexer:
    def __init__(
        self, catalog: Catalog, encoder: Encoder, index: IndexStore, *,
        batch_size: int = 32, workers: int = 0, online_folders: set[int] | None = None,
        thumbnails: ThumbnailCache | None = None,
        on_indexed: Callable[[list[int]], None] | None = None,
        decode_budget: DecodeBudget | None = None,
    ) -> None:
        self._catalog = catalog
        # Every worker reserves its decode's peak bytes here first, so the pool's memory
        # is bounded whatever the files and the number of workers (None: the process's).
        self._decode_budget = decode_budget
        # Called with each batch's newly indexed photos once they are committed (the
        # library tags them there: a run cut short leaves no photo untagged).
        self._on_indexed = on_indexed
        # Where the app is running, grid thumbnails are made from the decode already
        # done here instead of a second decode of the photo later.
        self._thumbnails = thumbnails
        self._encoder = encoder
        self._index = index
        # A photo whose file is missing counts as moved only if its folder is
        # online: in an unplugged drive every file looks missing. Online at the
        # scan's start, and available still when the move is decided (_folder_up).
        self._online_folders = online_folders
        self._folder_checks: dict[int, tuple[bool, float]] = {}  # id -> (available, when)
        self.batch_size = max(1, batch_size)
        self.workers = workers or os.cpu_count() or 2
        self._claimed: set[int] = set()  # old rows already taken over by a move this run
        # Pending photos whose files disappeared before they were read; the caller
        # trashes them (a move shows up again at its new path and is restored).
        self.vanished: list[int] = []
        self._last_save = time.monotonic()

    # -- decode workers ------------------------------------------------------------
    # A worker never holds a file's bytes: it hashes them as they stream past and decodes
    # from the file itself, so the only memory a photo costs is its decode's, and that is
    # reserved in the decode budget first (a 674 MB TIFF read whole beside a 784 MB decode
    # went 45% over a 1 GiB budget).  One open serves both, so an ordinary photo costs no
    # more than reading it into memory did.  The hash must be of the content decoded: the
    # file's identity (size, mtime, ctime of the open file) is the same before the hash and
    # after the decode, else it is read again.  A file replaced by a rename meanwhile does
    # not matter: the open file is still the one hashed.
    def prepare(self, photo: Photo) -> Prepared:
        """Hash, and decode only if no stored vector can be reused."""
        if photo.size > MAX_FILE_BYTES:
            return Prepared(photo, error=_too_large(photo.size))
        prepared = self._read(photo, reuse=True)
        if prepared.error is None and not (prepared.vanished or prepared.unchanged):
            # Headers only, in this worker thread; a photo missed here (unreadable a moment)
            # gets its metadata from the backfill (metadata_backfill.py) on the next run.
            with contextlib.suppress(OSError):
                prepared.meta = read_photo_meta(photo.path, mtime_ns=photo.mtime_ns)
        return prepared

    def _reread(self, photo: Photo, digest: str) -> Prepared:
        """Decode now (its twins lost their vectors); hashed again with it, so the vector
        is of the content its hash names even if the file changed since ``digest``."""
        return self._read(photo, reuse=False)

    def _read(self, photo: Photo, *, reuse: bool) -> Prepared:
        for _ in range(READ_ATTEMPTS):
            try:
                with open(photo.path, "rb") as file:
                    prepared = self._from_file(photo, file, reuse)
            except (FileNotFoundError, NotADirectoryError):
                return Prepared(photo, vanished=True)
            except OSError as exc:
                return Prepared(photo, error=_read_failure(exc))  # retried by a plain index
            except MemoryError:
                return Prepared(photo, error="not enough memory to read the file")
            if prepared is not None:
                return prepared
        return Prepared(photo, error=f"{READ_FAILURE_PREFIX} it kept changing while it was read")

    def _from_file(self, photo: Photo, file: BinaryIO, reuse: bool) -> Prepared | None:
        """What ``file`` is, or None if it changed while it was read."""
        before = file_identity(file)
        if before[0] > MAX_FILE_BYTES:
            return Prepared(photo, error=_too_large(before[0]))
        digest = hash_file(file)
        if reuse:
            if file_identity(file) != before:
                return None
            model_id = self._encoder.model_id
            if photo.content_hash == digest and photo.model_id == model_id:
                return Prepared(photo, digest, unchanged=True)
            twins = [p for p in self._catalog.photos_with_hash(digest, model_id) if p.id != photo.id]
            if twins:
                return Prepared(photo, digest, twins=twins)
        file.seek(0)
        prepared = self._decode(photo, digest, file)
        if file_identity(file) != before:
            return None
        if prepared.error is not None:
            check_still_readable(photo.path, file)  # a drive gone mid-decode is no corrupt photo
        return prepared

    def _decode(self, photo: Photo, digest: str, file: BinaryIO) -> Prepared:
        self._encoder.load()
        try:
            decoded = decode_for_model(file, self._encoder.input_size, self._decode_budget)
            if self._thumbnails is not None:
                self._save_thumbnail(digest, decoded)
            model_input = self._encoder.preprocess(decoded.image)
            looks = looks_of(decoded.image)
        except ImageRejected as exc:
            return Prepared(photo, digest, error=str(exc))
        except (ModelUnavailable, OSError):  # OSError: reading the file, not decoding it
            raise
        except Exception as exc:  # a decoder bug must not stop the batch
            log.exception("unexpected error decoding %s", photo.path)
            return Prepared(photo, digest, error=f"unexpected decoding error: {exc}")
        return Prepared(photo, digest, model_input=model_input, width=decoded.width,
                        height=decoded.height, taken_at=decoded.taken_at, looks=looks)

    def _save_thumbnail(self, digest: str, decoded: Any) -> None:
        """A side effect for the app's grid: its failure must never fail the photo."""
        try:
            self._thumbnails.save_from_decode(  # type: ignore[union-attr]
                digest, decoded.image, (decoded.width, decoded.height))
        except Exception:
            log.warning("no thumbnail from the indexing decode", exc_info=True)

    # -- the run -------------------------------------------------------------------
    def run(
        self, photos: Sequence[Photo], progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexProgress:
        """Index ``photos`` (pending rows). Returns the final progress counters."""
        state = IndexProgress(total=len(photos))
        started = time.monotonic()
        batch = Batch()
        for prepared in self._prepared_in_order(photos, cancel):
            self._triage(prepared, batch)
            state.done += 1
            state.current = prepared.photo.path
            state.elapsed_s = time.monotonic() - started
            # The first batch is small so a GPU starts working while the pool warms up.
            wanted = self.batch_size if state.encoded else max(1, self.batch_size // 4)
            if len(batch.to_encode) >= wanted or len(batch) >= 4 * self.batch_size:
                self._flush(batch, state)
                batch = Batch()
            if progress:
                progress(state)
        if cancel is not None and cancel.is_set():
            return state  # the unflushed batch stays pending; nothing half-written
        self._flush(batch, state)
        state.elapsed_s = time.monotonic() - started
        if progress:
            progress(state)
        return state

    def _prepared_in_order(
        self, photos: Sequence[Photo], cancel: threading.Event | None
    ) -> Iterator[Prepared]:
        window = self.batch_size * 2  # decode up to two batches ahead of the encoder
        with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            queue: deque[Future[Prepared]] = deque()
            upcoming = iter(photos)
            try:
                for photo in upcoming:
                    queue.append(pool.submit(self.prepare, photo))
                    if len(queue) >= window:
                        break
                while queue:
                    if cancel is not None and cancel.is_set():
                        return
                    result = queue.popleft().result()
                    following = next(upcoming, None)
                    if following is not None:
                        queue.append(pool.submit(self.prepare, following))
                    yield result
            finally:
                for future in queue:
                    future.cancel()

    def _triage(self, prepared: Prepared, batch: Batch) -> None:
        photo, digest = prepared.photo, prepared.content_hash
        if photo.id in self._claimed:
            return  # this row already followed its file to a new path in this run
        if prepared.vanished:
            self.vanished.append(photo.id)
            return
        if prepared.error is not None:
            batch.failures.append((photo.id, prepared.error, digest))
            return
        assert digest is not None
        if prepared.unchanged:
            vector = self._catalog.vector(photo.id, self._encoder.model_id)
            if vector is not None:
                batch.verified.append(self._encoded(prepared, vector, photo))
                return
        # A twin whose file just went away was renamed here (over this photo, if
        # this row is an old one): its row follows the file. A twin from the trash
        # only comes back into a new row: a known photo whose content changed to
        # match a deleted one keeps its own row, tags and albums.
        if prepared.meta is not None:
            batch.meta[photo.id] = prepared.meta
        is_new = photo.content_hash is None
        for twin in prepared.twins:
            claimable = is_new or twin.deleted_at is None
            if claimable and twin.id not in self._claimed and self._moved_away(twin):
                self._claimed.add(twin.id)  # the file moved: the old row takes the new path
                batch.moves.append((twin.id, photo.id))
                if twin.deleted_at is not None:  # deleted, now back: tags and albums return
                    vector = self._catalog.vector(twin.id, self._encoder.model_id)
                    if vector is not None:
                        batch.restored.append((twin.id, vector))
                return
        for twin in prepared.twins:  # a copy: reuse the vector, no encoding
            vector = self._catalog.vector(twin.id, self._encoder.model_id)
            if vector is not None:
                batch.ready.append(self._encoded(prepared, vector, twin))
                return
        if prepared.model_input is None:  # twins lost their vectors meanwhile: decode now
            prepared = self._reread(photo, digest)
            if prepared.vanished:
                self.vanished.append(photo.id)
                return
            if prepared.error is not None:
                batch.failures.append((photo.id, prepared.error, digest))
                return
        batch.to_encode.append(prepared)

    def _moved_away(self, twin: Photo) -> bool:
        if twin.deleted_at is not None:
            return True  # in the trash: its file is gone by definition
        if self._online_folders is not None and twin.folder_id not in self._online_folders:
            return False
        return file_is_gone(twin.path) and self._folder_up(twin.folder_id)

    def _folder_up(self, folder_id: int) -> bool:
        """Whether a folder is available now (``reconcile.folder_available``), asked
        again after ``FOLDER_CHECK_TTL_S``: a drive unplugged mid-run makes its files
        look moved away, and a copy elsewhere would take their rows and tags."""
        now = time.monotonic()
        cached = self._folder_checks.get(folder_id)
        if cached is not None and now - cached[1] < FOLDER_CHECK_TTL_S:
            return cached[0]
        # Read afresh (a few rows): the identity folder_available compares may have moved on.
        folder = next((f for f in self._catalog.folders() if f.id == folder_id), None)
        available = folder is not None and folder_available(self._catalog, folder)
        self._folder_checks[folder_id] = (available, now)
        return available

    def _encoded(self, prepared: Prepared, vector: np.ndarray, source: Photo) -> EncodedPhoto:
        return EncodedPhoto(
            prepared.photo.id, prepared.content_hash or "", source.width or 0,
            source.height or 0, source.taken_at, vector, self._encoder.model_id,
        )

    def _flush(self, batch: Batch, state: IndexProgress) -> None:
        if not len(batch):
            return
        encoded = batch.ready + batch.verified
        if batch.to_encode:
            vectors = self._encoder.encode_images([p.model_input for p in batch.to_encode])
            encoded += [
                EncodedPhoto(p.photo.id, p.content_hash or "", p.width, p.height, p.taken_at,
                             vector, self._encoder.model_id)
                for p, vector in zip(batch.to_encode, vectors, strict=True)
            ]
        verified = {e.photo_id for e in batch.verified}
        # New vectors (encoded, or a copy's reused) get tags; moves and unchanged files
        # keep theirs. They are recorded as owed their tags in the batch's own
        # transaction: tagging is a later step, and a kill or a failure before it is
        # done leaves the mark for the next run (Library.index_pending) to finish.
        fresh = [e.photo_id for e in encoded if e.photo_id not in verified]
        self._catalog.record_results(encoded, batch.failures, batch.moves, owed=fresh)
        if known := [(pid, batch.meta[pid]) for pid in fresh if pid in batch.meta]:
            self._catalog.save_meta_many(known)
        # After the results: a look is stored with the content hash just recorded.
        self._catalog.save_looks_many((p.photo.id, p.looks.phash, p.looks.sharpness)
                                      for p in batch.to_encode if p.looks is not None)
        encoded_ids = [e.photo_id for e in encoded] + [pid for pid, _ in batch.restored]
        if encoded_ids:
            vectors = [e.vector for e in encoded] + [v for _, v in batch.restored]
            self._index.add(encoded_ids, np.stack(vectors))
        # A failed photo loses its vector; a move's pending row is deleted (it may
        # have been an indexed photo the moved file was renamed over).
        self._index.remove([pid for pid, _, _ in batch.failures] + [new for _, new in batch.moves])
        if fresh and self._on_indexed is not None:
            self._on_indexed(fresh)
        state.encoded += len(batch.to_encode)
        state.reused += len(batch.ready)
        state.verified += len(batch.verified)
        state.moved += len(batch.moves)
        state.failed += len(batch.failures)
        if time.monotonic() - self._last_save > INDEX_SAVE_INTERVAL_S:
            self._index.save()
            self._last_save = time.monotonic()


def _too_large(size: int) -> str:
    return f"file too large for a photo ({size >> 20} MB)"


def _read_failure(exc: OSError) -> str:
    return f"{READ_FAILURE_PREFIX} {exc.strerror or exc}"
