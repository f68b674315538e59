"""Thumbnails: oriented, bounded, cached by content, refusing bad files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from photoclip.core.models import Photo, PhotoState
from photoclip.core.thumbnails import ThumbnailCache


def _photo(path: Path, digest: str = "ab" * 16) -> Photo:
    return Photo(1, path, 1, path.stat().st_size, 0, PhotoState.INDEXED, content_hash=digest)


def test_thumbnail_is_oriented_bounded_and_cached(tmp_path: Path) -> None:
    source = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees
    Image.new("RGB", (1200, 800), (200, 30, 30)).save(source, "JPEG", exif=exif)
    cache = ThumbnailCache(tmp_path / "thumbs")
    made = cache.get(_photo(source), 128)
    assert made is not None
    with Image.open(made) as thumb:
        assert thumb.size == (85, 128)  # portrait after orientation, long side 128
    source.unlink()  # the cache answers without the original (it is keyed by content)
    assert cache.get(_photo(made), 128) == made
    assert cache.cached(_photo(made), 64) is None  # another size is another file


def test_a_corrupt_photo_has_no_thumbnail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.get(_photo(broken)) is None
    assert not any((tmp_path / "thumbs").rglob("*.jpg"))
    assert broken.read_bytes().startswith(b"\xff\xd8")  # the original is untouched
