"""Applying settled changes to the catalog, with the fake encoder (no watcher involved)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.live.apply_changes import ChangeApplier
from photoclip.core.live.change_queue import Move, ReadyChanges
from photoclip.core.models import PhotoState
from tests.core.test_library import open_library
from tests.synthetic import make_library


@pytest.fixture
def library(tmp_path: Path) -> Library:
    photos = tmp_path / "photos"
    make_library(photos, per_class=1, seed=2)
    lib = open_library(tmp_path)
    lib.add_folder(photos)
    lib.index_photos()
    yield lib
    lib.close()


def _apply(library: Library, ready: ReadyChanges) -> tuple[int, int, int]:
    applier = ChangeApplier(library.catalog, library.index, library.encoder.model_id)
    with library.writing():
        done = applier.apply(ready, library.catalog.folders())
    return done.moved, done.marked, done.trashed


def _folder(library: Library) -> Path:
    return library.catalog.folders()[0].path


def test_a_folder_moved_out_of_the_library_goes_to_the_trash(library: Library,
                                                             tmp_path: Path) -> None:
    sub = next(p for p in _folder(library).iterdir() if p.is_dir())
    inside = len(list(library.catalog.records_under(sub)))
    shutil.move(sub, tmp_path / "elsewhere")
    assert _apply(library, ReadyChanges(folders=[sub])) == (0, 0, inside)
    assert library.catalog.trash_count() == inside


def test_an_empty_mount_point_trashes_nothing(library: Library, tmp_path: Path) -> None:
    folder = _folder(library)
    photos = [p for p in folder.rglob("*") if p.is_file()]
    os.rename(folder, tmp_path / "unplugged")
    folder.mkdir()
    assert _apply(library, ReadyChanges(files=photos, folders=[folder / "a"])) == (0, 0, 0)
    assert library.catalog.trash_count() == 0


def test_a_chain_of_renames_lands_on_the_last_name(library: Library) -> None:
    folder = _folder(library)
    first = next(p for p in folder.rglob("*") if p.is_file())
    photo_id = library.catalog.photo_by_path(first).id
    os.rename(first, folder / "b.png")
    os.rename(folder / "b.png", folder / "c.png")  # before the worker saw the first rename
    ready = ReadyChanges(moves=[Move(first, folder / "b.png", False),
                                Move(folder / "b.png", folder / "c.png", False)],
                         files=[folder / "b.png", folder / "c.png"])
    assert _apply(library, ready) == (2, 0, 0)
    assert library.catalog.photo_by_path(folder / "c.png").id == photo_id


def test_a_changed_file_is_marked_pending(library: Library) -> None:
    photo = next(p for p in _folder(library).rglob("*") if p.is_file())
    os.utime(photo, ns=(1, 1))
    new = _folder(library) / "new.png"
    shutil.copyfile(photo, new)
    assert _apply(library, ReadyChanges(files=[photo, new])) == (0, 2, 0)


def test_a_photo_deleted_before_it_is_read_is_trashed_not_failed(library: Library,
                                                                 tmp_path: Path) -> None:
    photo = next(p for p in _folder(library).rglob("*") if p.is_file())
    library.tag(photo, ["kept"])
    os.utime(photo, ns=(5, 5))  # changed: pending again
    library.scan()
    kept = tmp_path / "kept.png"
    shutil.move(photo, kept)  # gone before the indexer reads it
    with library.writing():
        library.index_pending({f.id for f in library.catalog.folders()})
    assert library.catalog.state_counts()[PhotoState.FAILED] == 0
    assert library.catalog.trash_count() == 1
    back = _folder(library) / "back.png"
    shutil.move(kept, back)  # it was a move after all
    library.index_photos()
    assert _user_tags(library, back) == ["kept"]


def test_a_known_photo_is_not_replaced_by_a_trashed_twin(library: Library) -> None:
    first, second = sorted(p for p in _folder(library).rglob("*") if p.is_file())[:2]
    library.tag(first, ["mine"])
    first_id = library.catalog.photo_by_path(first).id
    content = second.read_bytes()
    second.unlink()
    library.index_photos(full=True)  # second goes to the trash
    first.write_bytes(content)  # first now holds the trashed photo's bytes
    library.index_photos()
    assert library.catalog.photo_by_path(first).id == first_id
    assert _user_tags(library, first) == ["mine"]


def _user_tags(library: Library, path: Path) -> list[str]:
    """The tags a user gave (auto tags from the default label sets come and go)."""
    return [t.name for t in library.tags(path) if t.source == "user"]
