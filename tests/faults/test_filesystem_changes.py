"""The catalog follows the file system through swaps, replacements, exclusions and
drives that go away mid-run: every photo keeps exactly its own tags, and a photo
that left the library leaves search.

In-process ``Library`` with the fake encoder; watcher-side changes go through the
same ``ChangeQueue`` -> ``ChangeApplier`` path the live worker uses (one test
runs the real worker and watchdog observer).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import photoclip.core.search.searcher as search_module
from photoclip.core.catalog.store import Catalog, EncodedPhoto
from photoclip.core.library import Library
from photoclip.core.live.apply_changes import ChangeApplier
from photoclip.core.live.change_queue import ChangeQueue, Move, ReadyChanges
from photoclip.core.live.worker import LibraryWorker
from photoclip.core.models import PhotoState, Tag
from photoclip.core.paths import app_paths
from photoclip.core.search.searcher import FileChecks
from photoclip.core.settings import Settings
from tests.fakes import FakeEncoder
from tests.synthetic import CLASSES, draw_picture

LONG_AGO_NS = 1_600_000_000 * 10**9  # settled: no "still being written" waits


def picture(path: Path, index: int, seed: int = 0) -> Path:
    """A distinct small PNG (its own content hash), dated long ago."""
    colour, shape = CLASSES[index % len(CLASSES)]
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_picture(colour, shape, random.Random(seed * 100_003 + index), (48, 48)).save(path, "PNG")
    mtime = LONG_AGO_NS + (seed * 1000 + index) * 10**9  # an edit shows as a new mtime
    os.utime(path, ns=(mtime, mtime))
    return path


def open_library(home: Path, **settings: object) -> Library:
    options: dict[str, object] = {"batch_size": 4, "decode_workers": 2, "label_sets": []}
    options.update(settings)
    return Library(app_paths({"PHOTOCLIP_HOME": str(home)}), Settings(**options),  # type: ignore[arg-type]
                   encoder=FakeEncoder())


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def library(tmp_path: Path, photos: Path) -> Iterator[Library]:
    lib = open_library(tmp_path / "home")
    lib.add_folder(photos)
    yield lib
    lib.close()


def user_tags(library: Library, path: Path) -> set[str]:
    return {t.name for t in library.tags(path) if t.source == "user"}


def _tags_now(library: Library, path: Path) -> set[str] | None:
    photo = library.catalog.photo_by_path(path)
    return None if photo is None else {t.name for t in library.catalog.tags(photo.id)
                                       if t.source == "user"}


def tag_each(library: Library, paths: list[Path], prefix: str) -> None:
    for path in paths:
        library.tag(path, [f"{prefix}-{path.name}"])


def searchable(library: Library) -> set[Path]:
    return {hit.path for hit in library.search("a photo", top=10_000)}


def apply(library: Library, ready: ReadyChanges, exclude: tuple[str, ...] = ()) -> None:
    """What the live worker does with a batch: apply it, then index what became pending."""
    applier = ChangeApplier(library.catalog, library.index, library.encoder.model_id, exclude)
    with library.writing():
        applier.apply(ready, library.catalog.folders())
        library.index_pending({f.id for f in library.catalog.folders()})


def two_folders(photos: Path, count: int = 4) -> tuple[list[Path], list[Path]]:
    a = [picture(photos / "A" / f"{i}.png", i, seed=1) for i in range(count)]
    b = [picture(photos / "B" / f"{i}.png", i, seed=2) for i in range(count)]
    return a, b


# -- folder swap: rm -rf B && mv A B ---------------------------------------------------
def _swap_on_disk(photos: Path) -> dict[str, bytes]:
    """``rm -rf B && mv A B``; returns B's old contents by name (to bring back later)."""
    old_b = {p.name: p.read_bytes() for p in (photos / "B").iterdir()}
    shutil.rmtree(photos / "B")
    os.rename(photos / "A", photos / "B")
    return old_b


def _check_swap(library: Library, photos: Path, old_b: dict[str, bytes], count: int) -> None:
    for i in range(count):  # A's pictures now at B/, each with A's own tag only
        assert user_tags(library, photos / "B" / f"{i}.png") == {f"A-{i}.png"}
    assert library.catalog.state_counts()[PhotoState.INDEXED] == count
    assert library.catalog.trash_count() == count  # B's rows, with B's content
    assert searchable(library) == {photos / "B" / f"{i}.png" for i in range(count)}
    back = photos / "B's return"
    back.mkdir()
    for name, data in old_b.items():  # B's content comes back: B's rows (and tags) with it
        (back / name).write_bytes(data)
    library.index_photos()
    for i in range(count):
        assert user_tags(library, back / f"{i}.png") == {f"B-{i}.png"}
        assert user_tags(library, photos / "B" / f"{i}.png") == {f"A-{i}.png"}
    assert library.catalog.trash_count() == 0


def test_folder_swap_in_one_batch_keeps_every_photo_its_own_tags(library: Library,
                                                                 photos: Path) -> None:
    a, b = two_folders(photos)
    library.index_photos()
    tag_each(library, a, "A")
    tag_each(library, b, "B")
    old_b = _swap_on_disk(photos)
    # The watcher's batch: B's deletes, B's folder, and the move of A onto B.
    apply(library, ReadyChanges(moves=[Move(photos / "A", photos / "B", True)],
                                files=b, folders=[photos / "B"]))
    _check_swap(library, photos, old_b, len(a))


def test_folder_swap_with_the_deletes_due_before_the_move(library: Library, photos: Path) -> None:
    """B's deletes settle before the move does; looked at alone (the move already done
    on disk) they would see A's files at B's paths as edits of B's photos."""
    a, b = two_folders(photos)
    library.index_photos()
    tag_each(library, a, "A")
    tag_each(library, b, "B")
    now = [100.0]
    queue = ChangeQueue(clock=lambda: now[0])
    for path in b:  # the events, as watchdog reports them, rm -rf first
        queue.file_changed(path, complete=True)
    queue.folder_changed(photos / "B")
    old_b = _swap_on_disk(photos)
    now[0] += 0.1
    queue.moved(photos / "A", photos / "B", is_dir=True)
    for step in (0.1, 0.1, 0.5):  # the worker's turns: apply what is ready, index pending
        now[0] += step
        apply(library, queue.take_ready())
    assert not len(queue)
    _check_swap(library, photos, old_b, len(a))


@pytest.mark.parametrize("full", [False, True])
def test_folder_swap_while_nothing_watches(library: Library, photos: Path, full: bool) -> None:
    """Found by the next ``index``: A's rows follow A's files to B's paths; B's rows,
    renamed over, go to the trash with B's content instead of being dropped."""
    a, b = two_folders(photos)
    library.index_photos()
    tag_each(library, a, "A")
    tag_each(library, b, "B")
    old_b = _swap_on_disk(photos)
    library.index_photos(full=full)
    _check_swap(library, photos, old_b, len(a))


def test_folder_swap_under_the_running_watcher(tmp_path: Path, photos: Path) -> None:
    a, b = two_folders(photos, count=3)
    library = open_library(tmp_path / "home")
    library.add_folder(photos)
    library.index_photos()
    tag_each(library, a, "A")
    tag_each(library, b, "B")
    worker = LibraryWorker(library).start()
    try:
        assert worker.wait_idle(30)
        old_b = _swap_on_disk(photos)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _tags_now(library, b[0]) != {"A-0.png"}:
            time.sleep(0.05)
        assert worker.wait_idle(30)
        for i in range(3):
            assert user_tags(library, photos / "B" / f"{i}.png") == {f"A-{i}.png"}
        assert library.catalog.trash_count() == 3
    finally:
        assert worker.stop()
    _check_swap(library, photos, old_b, 3)
    library.close()


# -- a photo replaced by a folder, and back; a folder replaced by a file ----------------
def test_photo_replaced_by_a_folder_leaves_search_and_comes_back(library: Library,
                                                                 photos: Path) -> None:
    kept = [picture(photos / f"k{i}.png", i) for i in range(2)]
    victim = picture(photos / "victim.png", 5)
    library.index_photos()
    library.tag(victim, ["private"])
    tag_each(library, kept, "k")
    content = victim.read_bytes()
    victim.unlink()
    inner = picture(victim / "inner.png", 7)  # a folder now has the photo's name
    assert victim not in searchable(library)  # hidden at once: not a photo file
    library.index_photos()  # the next reconcile, not only --reindex
    assert library.catalog.photo_by_path(victim) is None
    assert library.status().counts[PhotoState.INDEXED] == 3  # k0, k1, inner
    assert searchable(library) == {*kept, inner}
    shutil.rmtree(victim)
    victim.write_bytes(content)  # and back: a photo again, with its tag
    library.index_photos()
    assert user_tags(library, victim) == {"private"}
    assert {user_tags(library, p).pop() for p in kept} == {"k-k0.png", "k-k1.png"}


def test_photo_replaced_by_a_folder_under_the_watcher(library: Library, photos: Path) -> None:
    victim = picture(photos / "victim.png", 5)
    library.index_photos()
    library.tag(victim, ["private"])
    victim.unlink()
    inner = picture(victim / "inner.png", 7)
    apply(library, ReadyChanges(files=[victim], folders=[victim]))
    assert library.catalog.photo_by_path(victim) is None and library.catalog.trash_count() == 1
    assert searchable(library) == {inner}


def test_folder_replaced_by_a_file(library: Library, photos: Path) -> None:
    trip = [picture(photos / "trip.png" / f"{i}.png", i) for i in range(3)]
    library.index_photos()
    tag_each(library, trip, "trip")
    old = {p.name: p.read_bytes() for p in trip}
    shutil.rmtree(photos / "trip.png")
    newcomer = picture(photos / "trip.png", 9)  # a photo file where the folder was
    assert searchable(library) == set()  # x/0.png under a file: not a photo file
    apply(library, ReadyChanges(files=[*trip, newcomer], folders=[photos / "trip.png"]))
    assert searchable(library) == {newcomer}
    assert library.catalog.trash_count() == 3
    for name, data in old.items():
        (photos / "again" / name).parent.mkdir(exist_ok=True)
        (photos / "again" / name).write_bytes(data)
    library.index_photos()
    assert [user_tags(library, photos / "again" / p.name) for p in trip] == [
        {f"trip-{p.name}"} for p in trip]


# -- renames and moves ---------------------------------------------------------------------
def test_case_only_renames(library: Library, photos: Path) -> None:
    files = [picture(photos / f"img{i}.png", i) for i in range(3)]
    library.index_photos()
    tag_each(library, files, "t")
    os.rename(files[0], photos / "IMG0.png")  # under the watcher: a move event
    apply(library, ReadyChanges(moves=[Move(files[0], photos / "IMG0.png", False)]))
    os.rename(files[1], photos / "Img1.PNG")  # without it: the next index finds it moved
    library.index_photos()
    assert user_tags(library, photos / "IMG0.png") == {"t-img0.png"}
    assert user_tags(library, photos / "Img1.PNG") == {"t-img1.png"}
    assert user_tags(library, files[2]) == {"t-img2.png"}
    assert library.catalog.state_counts()[PhotoState.INDEXED] == 3
    assert library.catalog.trash_count() == 0


@pytest.mark.parametrize("watched", [True, False])
def test_a_tree_moved_out_and_back_in_keeps_its_tags(library: Library, photos: Path,
                                                     tmp_path: Path, watched: bool) -> None:
    tree = [picture(photos / "trip" / "day 1" / f"{i}.png", i) for i in range(3)]
    library.index_photos()
    tag_each(library, tree, "trip")
    os.rename(photos / "trip", tmp_path / "outside")
    if watched:  # moved out of the watched tree: watchdog reports the folder gone
        apply(library, ReadyChanges(folders=[photos / "trip"]))
    else:
        library.index_photos(full=True)
    assert library.catalog.trash_count() == 3 and searchable(library) == set()
    os.rename(tmp_path / "outside", photos / "trip")
    if watched:
        apply(library, ReadyChanges(folders=[photos / "trip"]))
    else:
        library.index_photos()
    assert [user_tags(library, p) for p in tree] == [{f"trip-{p.name}"} for p in tree]
    assert library.catalog.trash_count() == 0


# -- exclusion added after indexing ----------------------------------------------------------
@pytest.mark.parametrize("full", [False, True])
def test_exclude_added_after_indexing_takes_photos_out_of_search(tmp_path: Path, photos: Path,
                                                                 full: bool) -> None:
    public = [picture(photos / f"p{i}.png", i) for i in range(2)]
    private = [picture(photos / "private" / f"s{i}.png", i + 4) for i in range(2)]
    hidden = picture(photos / "skip me.png", 9)
    with open_library(tmp_path / "home") as library:
        library.add_folder(photos)
        library.index_photos()
        tag_each(library, private, "secret")
    with open_library(tmp_path / "home", exclude=["private", "skip me.png"]) as library:
        library.index_photos(full=full)
        assert searchable(library) == set(public)
        assert library.status().counts[PhotoState.INDEXED] == 2
        assert library.catalog.trash_count() == 3
        assert library.catalog.photo_by_path(hidden) is None
    with open_library(tmp_path / "home") as library:  # exclusion lifted: tags come back
        library.index_photos()
        assert [user_tags(library, p) for p in private] == [{f"secret-{p.name}"} for p in private]


# -- a drive that goes away mid-index -------------------------------------------------------
def _edited_and_tagged(library: Library, photos: Path, count: int) -> list[Path]:
    files = [picture(photos / "sub" / f"{i:03d}.png", i) for i in range(count)]
    library.index_photos()
    tag_each(library, files, "mine")
    for i, path in enumerate(files):  # new content for every one: all pending again
        picture(path, i, seed=9)
    return files


def _unplug_after(done: int, unplug: object) -> object:
    fired = []

    def progress(state: object) -> None:
        if state.done >= done and not fired:  # type: ignore[attr-defined]
            fired.append(True)
            unplug()  # type: ignore[operator]
    return progress


def _nothing_lost(library: Library, files: list[Path]) -> None:
    assert library.catalog.trash_count() == 0
    library.index_photos()
    assert [user_tags(library, p) for p in files] == [{f"mine-{p.name}"} for p in files]
    assert library.catalog.state_counts()[PhotoState.INDEXED] == len(files)
    assert library.catalog.trash_count() == 0


@pytest.mark.parametrize("full", [False, True])
def test_folder_gone_mid_index_loses_no_tag(library: Library, photos: Path, tmp_path: Path,
                                            full: bool) -> None:
    files = _edited_and_tagged(library, photos, 40)
    away = tmp_path / "unplugged"
    report = library.index_photos(full=full, progress=_unplug_after(5, lambda: photos.rename(away)))
    assert report.failed == 0
    counts = library.catalog.state_counts()
    assert library.catalog.trash_count() == 0 and counts[PhotoState.FAILED] == 0
    assert counts[PhotoState.PENDING] > 0  # not reached: waiting for the drive
    away.rename(photos)
    _nothing_lost(library, files)


def test_drive_unplugged_mid_index_gives_its_rows_to_no_copy(tmp_path: Path) -> None:
    """A copy (same content) of a photo on a drive that goes mid-run: the drive's file
    looks moved away, but its folder is gone now, so the copy is a copy; the original
    keeps its row and tags for when the drive returns."""
    drive, photos = tmp_path / "drive", tmp_path / "photos"
    original = picture(drive / "x.png", 0)
    photos.mkdir()
    with open_library(tmp_path / "home") as library:
        library.add_folder(drive)
        library.add_folder(photos)
        library.index_photos()
        library.tag(original, ["mine"])
        others = [picture(photos / f"a{i}.png", i + 1) for i in range(6)]
        copy = photos / "zz.png"  # triaged last, well after the drive went
        shutil.copy2(original, copy)
        away = tmp_path / "unplugged"
        report = library.index_photos(progress=_unplug_after(1, lambda: drive.rename(away)))
        assert report.moved == 0 and report.encoded == len(others)
        assert user_tags(library, copy) == set()
        assert library.catalog.photo_by_path(original) is not None  # waiting for the drive
        away.rename(drive)
        library.index_photos()
        assert user_tags(library, original) == {"mine"}
        assert library.catalog.trash_count() == 0


def test_drive_unplugged_while_scanning_forgets_nothing(
    library: Library, photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Gone between listing a subfolder and statting its files: the scan saw part of
    the folder, so the end of the run must ask again whether the folder is there."""
    files = [picture(photos / name / f"{i}.png", i) for i, name in enumerate(["a", "b"])]
    library.index_photos()
    tag_each(library, files, "mine")
    real = os.scandir

    def scandir(path: bytes) -> object:
        if os.fsdecode(path) != str(photos / "a"):
            return real(path)
        with real(path) as entries:
            listed = list(entries)
        photos.rename(tmp_path / "unplugged")  # right after the last folder was listed
        return contextlib.nullcontext(listed)

    monkeypatch.setattr("photoclip.core.files.scanner.os.scandir", scandir)
    library.index_photos(full=True)
    monkeypatch.setattr("photoclip.core.files.scanner.os.scandir", real)
    assert library.catalog.trash_count() == 0
    (tmp_path / "unplugged").rename(photos)
    _nothing_lost(library, files)


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                    reason="bind mounts need root (mount --bind / umount -l)")
def test_drive_unplugged_mid_index_bind_mount(tmp_path: Path) -> None:
    drive, mount_point = tmp_path / "drive", tmp_path / "mnt"
    drive.mkdir()
    mount_point.mkdir()
    if not _mount("--bind", str(drive), str(mount_point)):
        pytest.skip("mount --bind is not permitted here (no CAP_SYS_ADMIN in this container)")
    try:
        library = open_library(tmp_path / "home")
        library.add_folder(mount_point)
        files = _edited_and_tagged(library, mount_point, 40)
        unplug = _unplug_after(5, lambda: subprocess.run(["umount", "-l", str(mount_point)],
                                                         check=True))
        library.index_photos(progress=unplug)
        assert not any(mount_point.iterdir())  # an empty mount point: the drive is away
        counts = library.catalog.state_counts()
        assert library.catalog.trash_count() == 0 and counts[PhotoState.FAILED] == 0
        library.index_photos(full=True)  # a run while it is away forgets nothing either
        assert library.catalog.trash_count() == 0
        assert _mount("--bind", str(drive), str(mount_point))
        _nothing_lost(library, files)
        library.close()
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


# -- a read that failed for a moment is retried --------------------------------------------
def test_unreadable_for_a_moment_is_retried_by_a_plain_index(
    library: Library, photos: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    locked = picture(photos / "locked.png", 1)
    (photos / "broken.png").write_bytes(b"not a picture at all")
    import builtins

    from photoclip.core import indexer as indexer_module

    def opening(file: object, *args: object, **kwargs: object) -> object:
        # As root, chmod refuses nobody: the indexer's open is refused instead.
        if Path(str(file)) == locked:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(indexer_module, "open", opening, raising=False)
    assert library.index_photos().failed == 2
    monkeypatch.delattr(indexer_module, "open")  # the permissions are fixed; nothing else changed
    report = library.index_photos()
    assert report.encoded == 1 and report.failed == 0  # the broken one is not re-read
    assert [f.path for f in library.status().failures] == [photos / "broken.png"]
    assert library.catalog.photo_by_path(locked).state is PhotoState.INDEXED


# -- search with a hung mount ----------------------------------------------------------------
def test_a_hung_file_check_does_not_hang_search(library: Library, photos: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    files = [picture(photos / f"{i}.png", i) for i in range(3)]
    library.index_photos()
    entered, release = threading.Event(), threading.Event()
    real = search_module.file_is_gone

    def hanging(path: Path) -> bool:
        if path == files[0]:
            entered.set()
            release.wait(60)  # a stat() on a dead NFS server
        return real(path)

    monkeypatch.setattr(search_module, "file_is_gone", hanging)
    # A deadline a loaded 2-core CI machine meets: every check starts, the quick ones end.
    # (The searcher's FileChecks was made with the module's FILE_CHECK_S already.)
    checks = library.searcher._file_checks
    monkeypatch.setattr(checks, "deadline_s", 2.0)
    try:
        started = time.monotonic()
        hits = library.search("a photo", top=10)
        assert time.monotonic() - started < 2.0 + 5  # the deadline, not the 60 s hang
        assert entered.wait(5)  # the hung check had started before the deadline...
        assert {h.path for h in hits} == set(files)  # unanswered means kept
        settled = time.monotonic() + 5
        while checks.stuck > 1 and time.monotonic() < settled:  # ...and a slow quick one ends
            time.sleep(0.01)
        assert checks.stuck == 1
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while checks.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checks.stuck == 0


def test_file_checks_tell_files_from_folders_and_missing(tmp_path: Path) -> None:
    photo = picture(tmp_path / "a.png", 1)
    (tmp_path / "b.png").mkdir()
    checks = FileChecks()
    paths = [photo, tmp_path / "b.png", tmp_path / "c.png", photo / "under a file.png"]
    assert checks.not_photo_files(paths) == set(paths[1:])


# -- the trash and a clock that jumps ------------------------------------------------------
def _trashed(catalog: Catalog, folder_id: int, path: Path, now: float) -> int:
    catalog.mark_pending(folder_id, [(path, 1, 1)])
    photo_id = catalog.photo_by_path(path).id
    catalog.record_results([EncodedPhoto(photo_id, path.name, 1, 1, None,
                                         np.ones(4, np.float32) / 2, "m")])
    catalog.add_tags(photo_id, [Tag("kept")])
    catalog.trash([photo_id], now=now)
    return photo_id


def test_a_clock_set_back_does_not_make_fresh_trash_look_old(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    folder = catalog.add_folder(tmp_path)
    day, real_now = 86400.0, 1_750_000_000.0
    _trashed(catalog, folder.id, tmp_path / "a.png", real_now)
    # The clock falls back to 2001 (a dead RTC battery) while a photo is deleted...
    fresh = _trashed(catalog, folder.id, tmp_path / "b.png", 1_000_000_000.0)
    # ...and NTP fixes it an hour later: b was trashed an hour ago, not 24 years ago.
    later = real_now + 3600
    assert catalog.purge_trash(later - 30 * day, later) == 0
    assert catalog.photo(fresh) is not None
    assert catalog.purge_trash(later + 31 * day - 30 * day, later + 31 * day) == 2
    catalog.close()


def test_trash_stamped_in_the_future_is_not_purged(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    folder = catalog.add_folder(tmp_path)
    ahead = _trashed(catalog, folder.id, tmp_path / "a.png", 2_000_000_000.0)  # clock was ahead
    now = 1_750_000_000.0
    assert catalog.purge_trash(deleted_before=now + 10**10, now=now) == 0  # even if asked
    assert catalog.photo(ahead) is not None
    catalog.close()


def _deleted_at(catalog: Catalog, photo_id: int) -> float | None:
    photo = catalog.photo(photo_id)
    return None if photo is None else photo.deleted_at


def test_a_clock_set_back_a_little_keeps_the_latest_stamp(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    folder = catalog.add_folder(tmp_path)
    real_now = 1_750_000_000.0
    _trashed(catalog, folder.id, tmp_path / "a.png", real_now)
    # NTP steps a drifted clock back an hour; b is deleted then: stamped no earlier than a.
    fresh = _trashed(catalog, folder.id, tmp_path / "b.png", real_now - 3600)
    assert _deleted_at(catalog, fresh) == real_now
    catalog.close()


def test_a_trash_made_while_the_clock_was_ahead_holds_back_no_later_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    folder = catalog.add_folder(tmp_path)
    day, real_now = 86400.0, 1_750_000_000.0
    ahead = _trashed(catalog, folder.id, tmp_path / "a.png", 2_200_000_000.0)  # 2039
    with caplog.at_level("WARNING", logger="photoclip.core.catalog.moves"):
        later = [_trashed(catalog, folder.id, tmp_path / f"{name}.png", real_now + i)
                 for i, name in enumerate("bc")]
    assert [_deleted_at(catalog, i) for i in later] == [real_now, real_now + 1]
    assert len([r for r in caplog.records if "trash clock" in r.getMessage()]) == 1  # once
    purge_at = real_now + 31 * day
    assert catalog.purge_trash(purge_at - 30 * day, purge_at) == 2  # b and c, after 30 days
    assert _deleted_at(catalog, ahead) is not None  # its own stamp still waits for its date
    catalog.close()
