"""Thumbnails: oriented, bounded, cached by content, refusing bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.files.thumbnails import ThumbnailCache
from photoclip.core.models import Photo, PhotoState


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


def test_indexing_for_the_app_leaves_thumbnails_from_its_own_decode(tmp_path: Path,
                                                                     monkeypatch) -> None:
    """The worker the app runs makes grid thumbnails from the decode it does for the
    model: afterwards the grid needs no second decode of any photo."""
    from photoclip.core.files import thumbnails
    from photoclip.core.library import Library
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings
    from tests.fakes import FakeEncoder

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (3000, 2000), (20, 120, 200)).save(folder / "big.jpg", quality=80)
    Image.new("RGB", (120, 90), (200, 120, 20)).save(folder / "small.png")  # below 256
    encoder = FakeEncoder()
    encoder.input_size = 224  # decodes as big as a real CLIP model's (the fake's 32 is tiny)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(model="fake:x", decode_workers=1), encoder=encoder)
    try:
        library.add_folder(folder)
        with library.writing():
            library.scan()
            done = library.index_pending({f.id for f in library.catalog.folders()},
                                         thumbnails=True)
        assert done.encoded == 2
        cache = ThumbnailCache(library.paths.thumbnails)
        monkeypatch.setattr(thumbnails, "decode_for_model",
                            lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded again")))
        sizes = {}
        for name in ("big.jpg", "small.png"):
            photo = library.catalog.photo_by_path((folder / name).resolve())
            made = cache.get(photo)  # DEFAULT_SIZE, as the grid asks
            assert made is not None, name
            with Image.open(made) as thumb:
                sizes[name] = thumb.size
        assert sizes == {"big.jpg": (256, 171), "small.png": (120, 90)}
        assert (folder / "big.jpg").stat().st_size > 0  # originals untouched, as always
    finally:
        library.close()


def test_a_thumbnail_that_cannot_be_written_does_not_fail_the_photo(tmp_path: Path) -> None:
    from photoclip.core.library import Library
    from photoclip.core.models import PhotoState
    from photoclip.core.paths import app_paths
    from photoclip.core.settings import Settings
    from tests.fakes import FakeEncoder

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (1200, 900), (20, 120, 200)).save(folder / "a.jpg")
    encoder = FakeEncoder()
    encoder.input_size = 224
    library = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}),
                      Settings(model="fake:x", decode_workers=1), encoder=encoder)
    try:
        library.paths.thumbnails.parent.mkdir(parents=True, exist_ok=True)
        library.paths.thumbnails.write_text("a file where the cache folder should be")
        library.add_folder(folder)
        with library.writing():
            library.scan()
            done = library.index_pending({f.id for f in library.catalog.folders()},
                                         thumbnails=True)
        assert (done.encoded, done.failed) == (1, 0)
        assert library.catalog.state_counts()[PhotoState.INDEXED] == 1
    finally:
        library.close()


def _pil(path: Path) -> Image.Image | None:
    """A reader like the grid's: the decoded picture, or None where it cannot decode."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except OSError:
        return None


def test_load_decodes_a_cached_thumbnail_once_by_its_reader(tmp_path: Path, monkeypatch) -> None:
    from photoclip.core.files import thumbnails

    source = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (20, 120, 200)).save(source, "JPEG")
    cache = ThumbnailCache(tmp_path / "thumbs")
    made = cache.get(_photo(source), 128)
    assert made is not None
    monkeypatch.setattr(thumbnails, "_readable", lambda *a: pytest.fail("decoded to be checked"))
    monkeypatch.setattr(thumbnails, "decode_for_model", lambda *a: pytest.fail("made again"))
    read: list[Path] = []
    image = cache.load(_photo(source), 128, lambda path: read.append(path) or _pil(path))
    assert read == [made] and image is not None and image.size == (128, 96)


def test_load_remakes_a_whole_looking_thumbnail_its_reader_cannot_decode(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (20, 120, 200)).save(source, "JPEG")
    cache = ThumbnailCache(tmp_path / "thumbs")
    made = cache.get(_photo(source), 128)
    assert made is not None
    good = made.read_bytes()
    made.write_bytes(b"\xff\xd8\xffnot a jpeg at all\xff\xd9")  # its markers whole, its inside not
    image = cache.load(_photo(source), 128, _pil)
    assert image is not None and image.size == (128, 96)
    assert made.read_bytes() == good
    source.unlink()  # damaged again, and nothing to remake it from: no picture, no exception
    made.write_bytes(b"\xff\xd8\xffnot a jpeg at all\xff\xd9")
    assert cache.load(_photo(made), 128, _pil) is None
