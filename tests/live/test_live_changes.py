"""Photos copied, renamed, moved and deleted outside the app, seen by a live library."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from photoclip.core.models import PhotoState, Tag
from tests.live.conftest import Live, copy_slowly, wait_until, write_picture

pytestmark = pytest.mark.model


def test_copies_become_searchable_each_encoded_once(live: Live, tmp_path: Path) -> None:
    outside = tmp_path / "camera"
    sources = [write_picture(outside / f"src{i}.png", i) for i in range(3)]
    plain = live.photos / "plain.png"
    shutil.copyfile(sources[0], plain)
    slow = live.photos / "slow.png"
    copy_slowly(sources[1], slow)
    renamed = live.photos / "renamed.png"
    partial = live.photos / "renamed.png.part"  # a browser's partial download
    shutil.copyfile(sources[2], partial)
    os.rename(partial, renamed)

    live.wait_searchable(plain, slow, renamed)
    assert live.worker.wait_idle(30)
    assert live.encoder.images_encoded == 3
    assert live.library.catalog.state_counts()[PhotoState.FAILED] == 0  # nothing read half-written
    assert live.library.catalog.photo_by_path(partial) is None


def test_renames_and_moves_keep_vectors(live: Live, tmp_path: Path) -> None:
    album = live.photos / "album"
    pictures = [write_picture(album / f"p{i:03d}.png", i) for i in range(200)]
    single = write_picture(live.photos / "single.png", 7, seed=1)
    live.wait_searchable(single, *pictures, timeout=120)
    assert live.worker.wait_idle(30)
    encoded = live.encoder.images_encoded
    ids = {p.name: live.library.catalog.photo_by_path(p).id for p in pictures}

    os.rename(single, live.photos / "renamed.png")
    os.rename(album, live.photos / "trip 2026")
    moved = [live.photos / "trip 2026" / p.name for p in pictures]

    live.wait_searchable(live.photos / "renamed.png", *moved)
    live.wait_gone(single, *pictures)
    assert live.encoder.images_encoded == encoded
    assert {p.name: live.library.catalog.photo_by_path(p).id for p in moved} == ids


def test_move_between_library_folders(live: Live, tmp_path: Path) -> None:
    second = tmp_path / "more photos"
    second.mkdir()
    live.worker.submit(lambda: live.library.add_folder(second)).result(10)
    picture = write_picture(live.photos / "travel.png", 3)
    live.wait_searchable(picture)
    photo_id = live.library.catalog.photo_by_path(picture).id
    encoded = live.encoder.images_encoded

    target = second / "travel.png"
    shutil.move(picture, target)

    live.wait_searchable(target)
    live.wait_gone(picture)
    assert live.encoder.images_encoded == encoded
    moved = live.library.catalog.photo_by_path(target)
    folder_ids = {f.path: f.id for f in live.library.catalog.folders()}
    assert moved.id == photo_id and moved.folder_id == folder_ids[second]


def test_editor_save_reencodes_only_changed_content(live: Live, tmp_path: Path) -> None:
    picture = write_picture(live.photos / "edit.png", 1)
    live.wait_searchable(picture)
    assert live.worker.wait_idle(30)
    encoded = live.encoder.images_encoded

    def editor_save(content_from: Path) -> None:  # write a temp file, rename it over the photo
        temp = live.photos / ".edit.png.tmp"
        shutil.copyfile(content_from, temp)
        os.replace(temp, picture)

    editor_save(picture)  # saved without changes: a new inode and mtime, same bytes
    wait_until(lambda: live.library.catalog.file_record(picture).mtime_ns
               == os.stat(picture).st_mtime_ns, 30, "the save to be seen")
    assert live.worker.wait_idle(30)
    assert live.encoder.images_encoded == encoded

    editor_save(write_picture(tmp_path / "other.png", 5))  # real edit: new content
    wait_until(lambda: live.encoder.images_encoded == encoded + 1, 30, "the edit to be encoded")
    assert live.worker.wait_idle(30)
    assert live.encoder.images_encoded == encoded + 1
    live.wait_searchable(picture)


def test_delete_and_restore_brings_tags_back(live: Live, tmp_path: Path) -> None:
    picture = write_picture(live.photos / "beach.png", 2)
    other = write_picture(live.photos / "other.png", 3)
    live.wait_searchable(picture, other)
    live.library.tag(picture, ["beach", "holiday"])
    encoded = live.encoder.images_encoded
    kept = tmp_path / "desktop trash" / "beach.png"
    kept.parent.mkdir()
    shutil.move(picture, kept)  # deleted to the desktop's trash (another file system in real life)

    live.wait_gone(picture)
    assert live.library.catalog.trash_count() == 1

    shutil.copyfile(kept, picture)  # restored
    live.wait_searchable(picture)
    assert [t.name for t in live.library.tags(picture)] == ["beach", "holiday"]
    assert live.library.catalog.trash_count() == 0
    assert live.encoder.images_encoded == encoded


def test_new_file_at_a_deleted_photos_path_gets_no_tags(live: Live) -> None:
    picture = write_picture(live.photos / "IMG_0001.png", 2)
    live.wait_searchable(picture, write_picture(live.photos / "IMG_0002.png", 3))
    live.library.catalog.add_tags(live.library.catalog.photo_by_path(picture).id, [Tag("cat")])
    picture.unlink()
    live.wait_gone(picture)
    write_picture(picture, 4, seed=9)  # the camera reused the name for another shot
    live.wait_searchable(picture)
    assert live.library.tags(picture) == []
