from __future__ import annotations

import os
from pathlib import Path

from photoclip.core.files.scanner import content_hash, folder_online, scan_folder


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_scan_finds_photos_case_insensitively_and_skips_junk(tmp_path: Path) -> None:
    for name in ("a.jpg", "B.JPG", "c.HeIc", "d.txt", "sub/e.png", ".hidden.jpg",
                 ".git/f.jpg", "@eaDir/g.jpg", "node_modules/h.jpg", ".thumbnails/i.png",
                 "doc.pdf", "j.eps"):
        _touch(tmp_path / name)
    found = sorted(p.path.relative_to(tmp_path).as_posix() for p in scan_folder(tmp_path))
    assert found == ["B.JPG", "a.jpg", "c.HeIc", "sub/e.png"]


def test_directory_symlinks_are_not_followed(tmp_path: Path) -> None:
    _touch(tmp_path / "real" / "a.jpg")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    found = [p.path.relative_to(tmp_path).as_posix() for p in scan_folder(tmp_path)]
    assert found == ["real/a.jpg"]


def test_exclusion_patterns(tmp_path: Path) -> None:
    _touch(tmp_path / "keep.jpg")
    _touch(tmp_path / "skip_me.jpg")
    _touch(tmp_path / "Private" / "x.jpg")
    found = [p.path.name for p in scan_folder(tmp_path, ["skip_*", "Private"])]
    assert found == ["keep.jpg"]


def test_stat_values(tmp_path: Path) -> None:
    _touch(tmp_path / "a.jpg")
    (scanned,) = scan_folder(tmp_path)
    assert scanned.size == 1 and scanned.mtime_ns == (tmp_path / "a.jpg").stat().st_mtime_ns


def test_offline_folder(tmp_path: Path) -> None:
    assert folder_online(tmp_path)
    assert not folder_online(tmp_path / "unplugged")


def test_content_hash_depends_on_content_only() -> None:
    assert content_hash(b"abc") == content_hash(b"abc") != content_hash(b"abd")
