"""Damaged caches are remade, never trusted, never a crash; the user's label sets are never lost.

Every cache file PhotoClip writes besides the index (class vectors, thumbnails, the
ONNX cache) is damaged the ways a crash, a full disk or the drive leaves it:
zero-length, cut short, same-size bytes flipped, and plausible but wrong content.
Each case: no exception, the same answer as an undamaged run, the file rewritten
valid. A full disk on each writer leaves no temp file and the old entry usable.
(The concept book persists nothing but the catalog's rows: no file of its own.)
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photoclip.core.files import atomic
from photoclip.core.files.thumbnails import ThumbnailCache
from photoclip.core.library import Library
from photoclip.core.models import Photo, PhotoState
from photoclip.core.organize import tagging
from photoclip.core.organize.labelsets import parse_label_set
from photoclip.core.organize.organizer import Organizer
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.synthetic import draw_picture, make_library

KEYS = ("labels", "competitors", "logit_scale")  # what a class-vector entry holds
SHAPES = """name = "shapes"
templates = ["a red {}", "a green {}", "a blue {}", "a yellow {}"]
labels = ["circle", "square", "triangle"]
"""


def _flipped(*fractions: float) -> Callable[[bytes], bytes]:
    def flip(data: bytes) -> bytes:
        damaged = bytearray(data)
        for fraction in fractions:
            damaged[int(len(damaged) * fraction)] ^= 0xFF
        return bytes(damaged)
    return flip


# What a crash (empty, cut short) or the drive (flipped bytes) leaves of any file.
BYTE_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "zero-length": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "truncated-tail": lambda data: data[:-3],
    "flipped-early": _flipped(0.1),
    "flipped-middle": _flipped(0.5),
    "flipped-late": _flipped(0.8, 0.95),
}


def _npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _wrong_npz(good: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Valid npz files that are not this set's class vectors for this model."""
    labels, competitors, scale = good["labels"], good["competitors"], good["logit_scale"]
    return {
        "missing-key": _npz(labels=labels, logit_scale=scale),
        "fewer-labels": _npz(labels=labels[:-1], competitors=competitors, logit_scale=scale),
        "other-dim": _npz(labels=labels[:, :-1], competitors=competitors[:, :-1], logit_scale=scale),
        "float64": _npz(labels=labels.astype(np.float64), competitors=competitors,
                        logit_scale=scale),
        "strings": _npz(labels=labels.astype(str), competitors=competitors, logit_scale=scale),
        "nan": _npz(labels=np.full_like(labels, np.nan), competitors=competitors,
                    logit_scale=scale),
        "zero-scale": _npz(labels=labels, competitors=competitors, logit_scale=np.float32(0)),
        "not-unit": _npz(labels=labels * 3, competitors=competitors, logit_scale=scale),
    }


class _FullDisk:
    """A file whose writes fail as on a full disk (the file itself was created)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``full_disk(folder)``: from now on every file opened for writing under ``folder``
    fails with ENOSPC on write (patched ``open`` and ``io.open``: numpy, zipfile and
    PIL open through one or the other)."""
    real_open = builtins.open

    def start(folder: Path) -> None:
        def opened(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            handle = real_open(file, mode, *args, **kwargs)
            writing = any(flag in mode for flag in "wax+")
            if writing and isinstance(file, str | Path) and Path(file).is_relative_to(folder):
                return _FullDisk(handle)
            return handle
        monkeypatch.setattr(builtins, "open", opened)
        monkeypatch.setattr(io, "open", opened)
    return start


def _leftovers(folder: Path, keep: set[Path]) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p not in keep]


# -- class vectors (with the tiny CLIP model) ---------------------------------------------
@pytest.fixture(scope="module")
def tagged_library(tmp_path_factory: pytest.TempPathFactory,
                   tiny_model_spec: str) -> Iterator[tuple[Library, Any, dict[int, list[str]], Path]]:
    """A small library tagged once with an undamaged cache: (library, set, tags, cache file)."""
    root = tmp_path_factory.mktemp("cache-damage")
    make_library(root / "photos", per_class=1, seed=5, formats=("PNG",))
    library = Library(app_paths({"PHOTOCLIP_HOME": str(root / "home")}),
                      Settings(model=tiny_model_spec, label_sets=[], batch_size=32, decode_workers=1))
    library.add_folder(root / "photos")
    library.index_photos()
    label_set = parse_label_set(SHAPES)
    reference = _tags_after_run(library, label_set)
    (cache,) = library.paths.class_vectors.glob("*.npz")
    yield library, label_set, reference, cache
    library.close()


def _tags_after_run(library: Library, label_set: Any) -> dict[int, list[str]]:
    """Tag with a fresh organizer (nothing remembered in memory: the disk cache is read)."""
    Organizer(library).tag_library(label_set, enable=False)
    ids, _ = library.catalog.all_vectors(library.encoder.model_id)
    return {pid: sorted(t.name for t in library.catalog.tags(pid) if t.label_set == label_set.name)
            for pid in ids.tolist()}


def _saved(cache: Path) -> dict[str, np.ndarray]:
    with np.load(cache, allow_pickle=False) as saved:
        return {key: saved[key] for key in KEYS}


def _class_vector_cases() -> list[str]:
    return [*BYTE_DAMAGE, "missing-key", "fewer-labels", "other-dim", "float64", "strings", "nan",
            "zero-scale", "not-unit"]


@pytest.mark.parametrize("damage", _class_vector_cases())
def test_a_damaged_class_vector_cache_is_recomputed_and_rewritten(
        tagged_library, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    library, label_set, reference, cache = tagged_library
    good_bytes = cache.read_bytes()
    good = _saved(cache)
    damaged = BYTE_DAMAGE[damage](good_bytes) if damage in BYTE_DAMAGE else _wrong_npz(good)[damage]
    cache.write_bytes(damaged)
    try:
        with caplog.at_level(logging.WARNING, logger="photoclip"):
            assert _tags_after_run(library, label_set) == reference
        rewritten = _saved(cache)  # valid again, and the same vectors
        for key in KEYS:
            assert rewritten[key].dtype == good[key].dtype
            np.testing.assert_allclose(rewritten[key], good[key], rtol=0, atol=1e-6)
        if cache.read_bytes() != damaged:  # harmless flips (a zip header's time) are kept
            assert sum(str(cache) in r.getMessage() for r in caplog.records) == 1  # said once
    finally:
        cache.write_bytes(good_bytes)


def test_new_photos_are_tagged_despite_an_empty_cache(tagged_library) -> None:
    """What a crash mid-write left: photos just indexed still get their tags."""
    library, label_set, reference, cache = tagged_library
    good_bytes = cache.read_bytes()
    library.catalog.forget_label_set(label_set.name)
    cache.write_bytes(b"")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(library.settings, "label_sets", [label_set.name])
            patch.setattr(Organizer, "label_sets", lambda self: {label_set.name: label_set})
            with library.writing("tag"):
                Organizer(library).tag_new_photos(list(reference))  # as indexing does
        assert {pid: sorted(t.name for t in library.catalog.tags(pid)) for pid in reference} == reference
        assert _saved(cache)["labels"].shape[0] == len(label_set.labels)
    finally:
        cache.write_bytes(good_bytes)


def test_photoclip_tag_runs_on_a_truncated_cache(tagged_library, tmp_path: Path) -> None:
    from tests.cli.conftest import Cli

    library, label_set, _, cache = tagged_library
    cli = Cli(library.paths.data_dir, library.settings.model)  # PHOTOCLIP_HOME's root
    source = tmp_path / "shapes.toml"
    source.write_text(SHAPES, encoding="utf-8")
    installed = Organizer(library).resolve_label_set(str(source)).source
    library.paths.settings.write_text('version = 1\nlabel_sets = ["shapes"]\n', encoding="utf-8")
    good_bytes = cache.read_bytes()
    try:
        first = cli.run("tag").stdout
        cache.write_bytes(good_bytes[:100])
        again = cli.run("tag", check=False)
        assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
        assert again.stdout == first and len(again.stderr.strip().splitlines()) == 1
        assert _saved(cache)["labels"].shape[0] == len(label_set.labels)  # rewritten
    finally:
        cache.write_bytes(good_bytes)
        library.paths.settings.unlink()
        assert installed is not None
        installed.unlink()


def test_a_full_disk_leaves_no_temp_file_and_the_old_class_vectors(
        tagged_library, full_disk, tmp_path: Path) -> None:
    library, label_set, reference, cache = tagged_library
    before = set(cache.parent.iterdir())
    good_bytes = cache.read_bytes()
    edited = parse_label_set(SHAPES.replace('"a yellow {}"', '"a yellow {}", "one {}"'))
    full_disk(cache.parent)
    tagging.build_classifier(edited, library.encoder, cache.parent)  # computed, not cached
    assert set(cache.parent.iterdir()) == before  # no temp file, no half entry
    assert cache.read_bytes() == good_bytes
    assert _tags_after_run(library, label_set) == reference  # the old entry still serves


# -- thumbnails --------------------------------------------------------------------------
def _thumbnail_source(tmp_path: Path) -> Photo:
    import random

    source = tmp_path / "photo.jpg"
    draw_picture("blue", "square", random.Random(3), (640, 480)).save(source, "JPEG", quality=92)
    return Photo(1, source, 1, source.stat().st_size, 0, PhotoState.INDEXED, content_hash="cd" * 16)


def _wrong_thumbnails() -> dict[str, bytes]:
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(png, "PNG")
    huge = io.BytesIO()
    Image.new("L", (8, 8)).save(huge, "JPEG")
    header = bytearray(huge.getvalue())
    start = header.index(b"\xff\xc0") + 5  # the frame's height and width: 60000 x 60000
    header[start:start + 4] = (60000).to_bytes(2, "big") * 2
    return {"png-named-jpg": png.getvalue(), "huge-header": bytes(header),
            "text": b"\xff\xd8\xffnot a jpeg at all\xff\xd9"}


@pytest.mark.parametrize("damage", [*BYTE_DAMAGE, *_wrong_thumbnails()])
def test_a_damaged_thumbnail_is_made_again(tmp_path: Path, damage: str) -> None:
    photo = _thumbnail_source(tmp_path)
    cache = ThumbnailCache(tmp_path / "thumbs")
    made = cache.get(photo, 128)
    assert made is not None
    good = made.read_bytes()
    made.write_bytes(BYTE_DAMAGE[damage](good) if damage in BYTE_DAMAGE else _wrong_thumbnails()[damage])
    again = cache.get(photo, 128)
    assert again == made
    with Image.open(again) as image:
        image.load()  # decodes: the grid gets a picture, not a blank or an exception
        assert image.format == "JPEG" and max(image.size) == 128
    if damage in ("zero-length", "truncated", "truncated-tail", *_wrong_thumbnails()):
        assert again.read_bytes() == good  # what a crash leaves is always remade


def test_a_full_disk_leaves_no_temp_thumbnail_and_the_old_one(tmp_path: Path, full_disk) -> None:
    photo = _thumbnail_source(tmp_path)
    cache = ThumbnailCache(tmp_path / "thumbs")
    old = cache.get(photo, 128)
    assert old is not None
    full_disk(tmp_path / "thumbs")
    assert cache.get(photo, 96) is None  # could not be written: none, no exception
    image = Image.new("RGB", (300, 200))
    assert cache.save("ef" * 16, image, 128) is None
    assert _leftovers(tmp_path / "thumbs", {old}) == []
    assert cache.get(photo, 128) == old


# -- the user's label sets ---------------------------------------------------------------
USER_SET_DAMAGE = {
    "bad-toml": b'name = "shapes"\nlabels = ["circle", "square"',
    "zero-length": b"",
    "not-utf8": b'name = "shapes"\nlabels = ["\xff\xfe"]\n',
    "labels-not-a-list": b'name = "shapes"\nlabels = 3\n',
    "threshold-a-string": b'name = "shapes"\nlabels = ["circle", "square"]\nthreshold = "high"\n',
    "description-a-table": b'name = "shapes"\ndescription = {a = 1}\nlabels = ["circle", "square"]\n',
}


@pytest.mark.parametrize("damage", list(USER_SET_DAMAGE))
def test_a_damaged_user_label_set_is_named_skipped_and_never_overwritten(
        tagged_library, damage: str, tmp_path: Path) -> None:
    library, _, _, _ = tagged_library
    organizer = Organizer(library)
    folder = library.paths.label_sets
    folder.mkdir(parents=True, exist_ok=True)
    mine = folder / "shapes.toml"
    mine.write_bytes(USER_SET_DAMAGE[damage])
    try:
        assert "shapes" not in organizer.label_sets()  # skipped, no exception
        problems = organizer.label_set_problems()
        assert list(problems) == [mine] and "\n" not in problems[mine]  # named, in one line
        source = tmp_path / "elsewhere.toml"
        source.write_text(SHAPES, encoding="utf-8")
        installed = organizer.resolve_label_set(str(source))  # another "shapes" comes in
        assert installed.source == mine and mine.read_text(encoding="utf-8") == SHAPES
        (kept,) = folder.glob("shapes.toml.kept-*")
        assert kept.read_bytes() == USER_SET_DAMAGE[damage]  # the user's file, as it was
    finally:
        for path in folder.iterdir():
            path.unlink()


def test_a_label_set_file_that_dangles_does_not_stop_tagging(tagged_library) -> None:
    library, _, _, _ = tagged_library
    folder = library.paths.label_sets
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gone.toml").symlink_to(folder / "nowhere.toml")
    try:
        assert "shapes" not in Organizer(library).label_sets()
        assert "gone.toml" in {p.name for p in Organizer(library).label_set_problems()}
    finally:
        (folder / "gone.toml").unlink()


# -- the ONNX cache (export: the slow part) ----------------------------------------------
WRONG_MANIFESTS = (  # valid JSON, wrong types: read as no manifest, so the model is rebuilt
    "[]",
    json.dumps({"digest": 5, "failed": "everything", "verified": [1]}),
)


@pytest.mark.slow
@pytest.mark.model
def test_a_damaged_onnx_cache_is_rebuilt_not_held_against_the_model(
        tiny_vit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One round (each costs an export of both towers): the image tower's manifest a
    list and its model file emptied, the text tower's manifest of the wrong types."""
    pytest.importorskip("onnxruntime")
    from photoclip.core.clip import onnx_text, onnx_visual
    from photoclip.core.clip.encoder import ClipEncoder, ModelSpec

    for tower in (onnx_visual, onnx_text):  # about the cache: pass on CPUs without VNNI too
        monkeypatch.setattr(tower, "AGREEMENT", 0.9)

    def load() -> tuple[str, str]:
        encoder = ClipEncoder(ModelSpec.parse(f"local-dir:{tiny_vit_dir}"), "cpu", "int8-onnx",
                              cache_dir=tmp_path / "cache").load()
        return encoder.precision, encoder.text_precision

    fast = load()
    assert fast == ("int8-onnx", "int8-onnx")
    manifests = sorted((tmp_path / "cache").glob("onnx/*/manifest.json"),
                       key=lambda path: "text" in path.parent.name)
    assert len(manifests) == 2  # the image tower's, then the text tower's
    for manifest, text in zip(manifests, WRONG_MANIFESTS, strict=True):
        manifest.write_text(text, encoding="utf-8")
    for model in manifests[0].parent.glob("*.onnx"):
        model.write_bytes(b"")
    assert load() == fast  # rebuilt: fast again, the damage not held against the model
    for manifest in (tmp_path / "cache").glob("onnx/*/manifest.json"):
        found = json.loads(manifest.read_text(encoding="utf-8"))
        assert isinstance(found["digest"], str) and not found.get("failed")


def test_a_full_disk_keeps_the_old_onnx_manifest_and_no_partial_file(tmp_path: Path, full_disk) -> None:
    from photoclip.core.clip.onnx_cache import MANIFEST, CacheEntry

    entry = CacheEntry(tmp_path / "entry", "visual-int8.onnx", "random:x", "visual")
    entry.folder.mkdir()
    entry.write_manifest({"digest": "ab", "verified": {"cpu": 0.9999}})
    old = (entry.folder / MANIFEST).read_bytes()
    full_disk(entry.folder)
    entry.write_manifest({"digest": "ab", "verified": {"cpu": 0.9999, "other": 0.9998}})  # no raise
    assert list(entry.folder.iterdir()) == [entry.folder / MANIFEST]
    assert (entry.folder / MANIFEST).read_bytes() == old and entry.manifest()["digest"] == "ab"


def test_atomic_bytes_leave_the_old_file_on_a_full_disk(tmp_path: Path, full_disk) -> None:
    target = tmp_path / "entry.bin"
    atomic.write_bytes_atomically(target, b"old")
    full_disk(tmp_path)
    with pytest.raises(OSError):
        atomic.write_bytes_atomically(target, b"new")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]
