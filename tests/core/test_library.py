"""The Library facade with a fake encoder: indexing, moves, failures, maintenance."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photoclip.core.clip.encoder import encode_halving_on_oom
from photoclip.core.library import Library, LibraryError
from photoclip.core.lock import LibraryLocked
from photoclip.core.models import PhotoState
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.bad_inputs import make_bad_corpus
from tests.fakes import FakeEncoder
from tests.synthetic import make_library


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    make_library(folder, per_class=2, seed=1)
    return folder


def open_library(tmp_path: Path, encoder: FakeEncoder | None = None) -> Library:
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    return Library(paths, Settings(batch_size=8, decode_workers=2), encoder=encoder or FakeEncoder())


def indexed_and_closed(tmp_path: Path, photos: Path) -> Library:
    """A library whose photos were indexed by an earlier session (closed since)."""
    library = open_library(tmp_path)
    library.add_folder(photos)
    library.index_photos()
    library.close()
    return library


@pytest.fixture
def library(tmp_path: Path, photos: Path) -> Library:
    lib = open_library(tmp_path)
    lib.add_folder(photos)
    yield lib
    lib.close()


def test_index_then_search_by_colour(library: Library) -> None:
    report = library.index_photos()
    assert report.encoded == 24 and report.failed == 0
    hits = library.search("red", top=5)
    assert len(hits) == 5
    assert all(h.path.name.startswith("red_") for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_second_run_encodes_nothing(library: Library) -> None:
    library.index_photos()
    encoder = library.encoder
    before = encoder.images_encoded
    report = library.index_photos()
    assert report.encoded == 0 and report.unchanged == 24
    assert encoder.images_encoded == before


def test_rename_reuses_the_vector(library: Library, photos: Path) -> None:
    library.index_photos()
    victim = next(photos.rglob("red_*"))
    old = library.catalog.photo_by_path(victim)
    target = photos / "renamed" / ("moved" + victim.suffix)
    target.parent.mkdir()
    victim.rename(target)
    report = library.index_photos()
    assert (report.encoded, report.moved) == (0, 1)
    moved = library.catalog.photo_by_path(target)
    assert moved is not None and moved.id == old.id
    assert target in [h.path for h in library.search("red", top=24)]


def test_copy_and_touch_reuse_vectors(library: Library, photos: Path) -> None:
    library.index_photos()
    source = next(photos.rglob("blue_*"))
    shutil.copy(source, photos / ("copy" + source.suffix))
    os.utime(next(photos.rglob("green_*")), ns=(1, 1))  # same content, new mtime
    report = library.index_photos()
    assert (report.encoded, report.reused, report.unchanged) == (0, 1, 24)  # touched: re-hashed


def test_changed_content_is_encoded_again(library: Library, photos: Path) -> None:
    library.index_photos()
    red = next(p for p in photos.rglob("red_*") if p.suffix.lower() == ".png")
    blue = next(p for p in photos.rglob("blue_*") if p.suffix.lower() == ".png")
    shutil.copyfile(blue, red)  # editor overwrote the red picture with a blue one
    os.utime(red, ns=(5, 5))
    assert library.index_photos().reused == 1  # identical to the blue file: no encode
    red.write_bytes(blue.read_bytes() + b"\0")  # now truly new content
    assert library.index_photos().encoded == 1


def test_bad_files_are_recorded_and_originals_untouched(library: Library, photos: Path) -> None:
    corpus = make_bad_corpus(photos / "bad")
    checksums = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.rglob("*") if p.is_file()}
    report = library.index_photos()
    rejected = {n for n, kind in corpus.items() if kind == "rejected"}
    failed = {f.path.name: f.reason for f in library.catalog.failures()}
    assert set(failed) == rejected
    assert all(reason for reason in failed.values())
    assert report.encoded == 24 + len(corpus) - len(rejected)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.rglob("*") if p.is_file()}
    assert after == checksums


def test_offline_folder_forgets_nothing(library: Library, photos: Path, tmp_path: Path) -> None:
    library.index_photos()
    photos.rename(tmp_path / "unplugged")
    report = library.index_photos(full=True)
    assert report.offline_folders == [photos] and report.forgotten == 0
    assert library.catalog.state_counts()[PhotoState.INDEXED] == 24
    (tmp_path / "unplugged").rename(photos)
    assert library.index_photos(full=True).encoded == 0


def test_reindex_forgets_deleted_files(library: Library, photos: Path) -> None:
    library.index_photos()
    gone = next(photos.rglob("yellow_*"))
    gone.unlink()
    assert library.index_photos().forgotten == 0  # plain index never forgets
    report = library.index_photos(full=True)
    assert report.forgotten == 1 and report.index_rebuilt
    assert library.catalog.photo_by_path(gone) is None
    assert gone not in [h.path for h in library.search("yellow", top=30)]


def test_cancel_keeps_the_rest_pending_and_resumes(tmp_path: Path, photos: Path) -> None:
    encoder = FakeEncoder()
    library = open_library(tmp_path, encoder)
    library.add_folder(photos)
    cancel = threading.Event()
    library.index_photos(progress=lambda p: cancel.set() if p.done >= 10 else None, cancel=cancel)
    counts = library.catalog.state_counts()
    assert counts[PhotoState.PENDING] > 0
    committed = counts[PhotoState.INDEXED]
    before = encoder.images_encoded
    library.index_photos()
    assert encoder.images_encoded - before == 24 - committed
    library.close()


def test_corrupt_index_file_is_rebuilt_without_decoding(tmp_path: Path, photos: Path) -> None:
    library = indexed_and_closed(tmp_path, photos)
    library.paths.index.write_bytes(b"garbage")
    encoder = FakeEncoder()
    reopened = open_library(tmp_path, encoder)
    assert len(reopened.search("green", top=3)) == 3
    assert reopened.index.rebuilt and encoder.images_encoded == 0
    reopened.close()


def test_second_writer_is_refused(library: Library, tmp_path: Path) -> None:
    with library.writing("index"):
        other = open_library(tmp_path)
        with pytest.raises(LibraryLocked, match="in use"):
            other.index_photos()
        other.close()


def test_folder_management(library: Library, photos: Path, tmp_path: Path) -> None:
    (photos / "inner").mkdir()
    for already in (photos, photos / "inner"):
        with pytest.raises(LibraryError, match="already"):
            library.add_folder(already)
    with pytest.raises(LibraryError, match="not a folder"):
        library.add_folder(tmp_path / "nope")
    library.index_photos()
    assert library.remove_folder(photos) == 24
    assert library.folders() == []
    with pytest.raises(LibraryError, match="no photos are indexed"):
        library.search("red")
    assert len(list(photos.rglob("*.*"))) >= 24  # files untouched


def test_other_model_vectors_are_reencoded(tmp_path: Path, photos: Path) -> None:
    indexed_and_closed(tmp_path, photos)
    encoder = FakeEncoder()
    encoder.model_id = "fake:colour-v2"
    second = open_library(tmp_path, encoder)
    assert second.status().other_model == 24
    assert second.index_photos().encoded == 24
    assert second.status().other_model == 0
    second.close()


def test_out_of_memory_batches_are_halved_not_dropped() -> None:
    seen: list[int] = []

    def encode(items):
        seen.append(len(items))
        if len(items) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        return np.ones((len(items), 3), np.float32)

    assert encode_halving_on_oom(encode, list(range(8))).shape == (8, 3)
    assert seen[0] == 8 and max(seen[1:]) <= 4 and sum(n for n in seen if n <= 2) == 8


def test_other_runtime_errors_propagate() -> None:
    def encode(items):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape"):
        encode_halving_on_oom(encode, [1, 2])


def test_non_utf8_file_names_are_indexed_and_found(library: Library, photos: Path) -> None:
    red = next(photos.rglob("red_*.png"))
    weird = Path(os.fsdecode(os.fsencode(photos) + b"/caf\xe9 \xff.png"))
    red.rename(weird)
    library.index_photos()
    photo = library.catalog.photo_by_path(weird)
    assert photo is not None and photo.state is PhotoState.INDEXED
    assert weird in [h.path for h in library.search("red", top=24)]


def test_unchanged_library_does_not_rewrite_the_index(library: Library) -> None:
    library.index_photos()
    saved = library.paths.index.stat().st_mtime_ns
    library.index_photos()
    assert library.paths.index.stat().st_mtime_ns == saved


def test_photos_deleted_since_indexing_are_dropped_from_results(library: Library, photos: Path) -> None:
    library.index_photos()
    reds = sorted(photos.rglob("red_*"))
    for path in reds[:4]:
        path.unlink()  # gone outside the app, no reindex yet
    hits = library.search("red", top=2)
    assert len(hits) == 2 and all(h.path.exists() for h in hits)
    assert {h.path for h in library.search("red", top=24)} <= set(photos.rglob("*"))


def _index_ids_match_catalog(library: Library) -> bool:
    ids, _ = library.catalog.all_vectors(library.encoder.model_id)
    index = library.index.loaded
    return index is not None and set(index.ids().tolist()) == set(ids.tolist())


def test_an_empty_mount_point_is_treated_as_unmounted(library: Library, photos: Path,
                                                      tmp_path: Path) -> None:
    library.index_photos()
    os.rename(photos, tmp_path / "on the unplugged drive")
    photos.mkdir()  # the mount point left behind: another directory, empty
    report = library.index_photos(full=True)
    assert report.offline_folders == [photos] and report.forgotten == 0
    assert library.catalog.state_counts()[PhotoState.INDEXED] == 24


def test_a_folder_emptied_in_place_goes_to_the_trash(library: Library, photos: Path) -> None:
    library.index_photos()
    for path in [p for p in photos.rglob("*") if p.is_file()]:
        path.unlink()  # the same directory, its photos deleted
    report = library.index_photos(full=True)
    assert report.offline_folders == [] and report.forgotten == 24
    assert library.catalog.trash_count() == 24  # recoverable for trash_days


def test_unreadable_subfolders_are_not_forgotten(library: Library, photos: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    library.index_photos()
    blocked = os.fsencode(photos / "2023")
    real_scandir = os.scandir

    def scandir(path):  # root ignores chmod 000, so refuse the folder by hand
        if os.fsencode(path) == blocked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("photoclip.core.files.scanner.os.scandir", scandir)
    monkeypatch.setattr("photoclip.core.live.reconcile.file_is_gone", lambda key: True)
    report = library.index_photos(full=True)
    assert report.forgotten == 0
    assert library.catalog.state_counts()[PhotoState.INDEXED] == 24


def test_file_renamed_over_an_indexed_photo(library: Library, photos: Path) -> None:
    library.index_photos()
    blue = next(photos.rglob("blue_*"))
    red = next(photos.rglob("red_*"))
    blue.replace(red)  # `mv blue.png red.png`: red's old row must go, blue's follows
    report = library.index_photos()  # not --reindex: that would rebuild the index anyway
    assert report.moved == 1 and report.encoded == 0
    assert _index_ids_match_catalog(library)
    assert library.catalog.photo_by_path(red).content_hash is not None
    assert red in [h.path for h in library.search("blue", top=6)]


def test_forgotten_photos_leave_the_index(library: Library, photos: Path) -> None:
    library.index_photos()
    for path in list(photos.rglob("yellow_*"))[:3]:
        path.unlink()
    assert library.index_photos(full=True).forgotten == 3
    assert _index_ids_match_catalog(library)
    assert library.status().index_size == 21


def test_a_copy_in_an_online_folder_is_not_a_move_from_an_offline_one(
    tmp_path: Path, photos: Path,
) -> None:
    library = open_library(tmp_path)
    library.add_folder(photos)
    library.index_photos()
    other = tmp_path / "other"
    other.mkdir()
    source = next(photos.rglob("green_*"))
    shutil.copy(source, other / source.name)
    library.add_folder(other)
    photos.rename(tmp_path / "unplugged")
    report = library.index_photos()
    assert (report.moved, report.reused) == (0, 1)
    assert library.catalog.photo_by_path(source) is not None  # the offline photo stays
    library.close()


def test_full_reindex_catches_an_edit_that_kept_size_and_mtime(library: Library, photos: Path) -> None:
    library.index_photos()
    bitmap = next(p for p in photos.rglob("*") if p.suffix.lower() == ".bmp")
    stat = bitmap.stat()
    data = bytearray(bitmap.read_bytes())
    data[-1] ^= 0xFF  # one pixel edited; uncompressed, so size is unchanged
    bitmap.write_bytes(bytes(data))
    os.utime(bitmap, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # `cp -p` / exiftool -P style
    assert library.index_photos().encoded == 0  # stat unchanged: a plain index trusts it
    report = library.index_photos(full=True)
    assert (report.encoded, report.unchanged) == (1, 23)


def test_similar_by_another_spelling_of_the_path_excludes_the_photo(library: Library,
                                                                    photos: Path) -> None:
    library.index_photos()
    example = next(photos.rglob("red_*.png"))
    os.symlink(photos, photos.parent / "link")
    spellings = [photos.parent / "link" / example.relative_to(photos),
                 example.parent / ".." / example.parent.name / example.name]
    for spelling in spellings:
        assert example not in [h.path for h in library.similar(spelling, top=5)]


def test_a_corrupt_query_image_is_a_query_error(library: Library, tmp_path: Path) -> None:
    from photoclip.core.search.query import QueryError

    library.index_photos()
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    with pytest.raises(QueryError, match="cannot use"):
        library.similar(bad)
    with pytest.raises(QueryError, match="cannot use"):
        library.search(f"{bad} + red")


def test_writes_from_two_threads_take_turns(library: Library) -> None:
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with library.writing("first"):
            inside.set()
            release.wait(5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    threading.Timer(0.2, release.set).start()
    with library.writing("second"):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_temp_files_of_a_killed_save_are_cleaned_up(library: Library, photos: Path) -> None:
    library.index_photos()
    leftover = library.paths.index.parent / f".{library.paths.index.name}.12345.tmp"
    leftover.write_bytes(b"half an index")
    (photos / "new.png").write_bytes(next(photos.rglob("*.png")).read_bytes() + b"\0")
    library.index_photos()
    assert not leftover.exists()


def test_full_reindex_reuses_vectors_for_new_copies(library: Library, photos: Path) -> None:
    library.index_photos()
    source = next(photos.rglob("blue_*"))
    shutil.copy(source, photos / ("copy" + source.suffix))  # its twin is pending mid-reindex
    report = library.index_photos(full=True)
    assert (report.encoded, report.reused, report.unchanged) == (0, 1, 24)


def test_a_search_keeps_the_index_it_had_to_rebuild(tmp_path: Path, photos: Path) -> None:
    library = indexed_and_closed(tmp_path, photos)
    library.paths.index.write_bytes(b"left half-written by a killed indexer")
    searcher = open_library(tmp_path)
    searcher.search("red")
    assert searcher.index.rebuilt
    searcher.close()
    again = open_library(tmp_path)
    again.search("red")
    assert not again.index.rebuilt  # loaded the saved rebuild
    again.close()


def test_only_the_first_search_after_a_rebuild_takes_the_writer_lock(
    tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = indexed_and_closed(tmp_path, photos)
    library.paths.index.unlink()
    searcher = open_library(tmp_path)
    locked: list[str] = []
    writing = searcher.writing

    def counted(purpose: str = "photoclip") -> Any:
        locked.append(purpose)
        return writing(purpose)

    monkeypatch.setattr(searcher, "writing", counted)
    searcher.search("red")
    assert locked == ["save index"] and searcher.paths.index.exists()
    searcher.search("blue")
    searcher.similar(next(photos.rglob("red_*")))
    assert locked == ["save index"]  # a lock file per query would slow every search
    searcher.close()


def test_a_rebuild_is_not_saved_while_another_process_writes(tmp_path: Path, photos: Path) -> None:
    library = open_library(tmp_path)
    library.add_folder(photos)
    library.index_photos()
    library.paths.index.unlink()
    with library.writing("indexer elsewhere"):
        searcher = open_library(tmp_path)
        searcher.search("red")
        assert searcher.index.rebuilt and not library.paths.index.exists()
        searcher.close()
    library.close()
