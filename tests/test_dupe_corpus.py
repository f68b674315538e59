"""The duplicate corpus (tests/dupe_corpus.py) holds what its truth says, and pair_scores counts right."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.dupe_corpus import NEAR_KINDS, DupeCorpus, Scores, make_dupe_corpus, pair_scores
from tests.synthetic import CLASSES

ORIGINALS = 3  # bursts after originals 0 (3 frames) and 2 (4 frames); negatives 1 + 2 + 1


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> DupeCorpus:
    return make_dupe_corpus(tmp_path_factory.mktemp("dupes"), originals=ORIGINALS, seed=3)


def one(corpus: DupeCorpus, index: int, kind: str) -> Path:
    (path,) = [f.path for f in corpus.files if f.original == index and f.kind == kind]
    return path


def shown(path: Path, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Pixels as a viewer shows them (EXIF orientation applied), at ``size``."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    return np.asarray(upright.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def difference(a: Path, b: Path) -> float:
    return float(np.abs(shown(a) - shown(b)).mean())


def taken(path: Path) -> datetime | None:
    with Image.open(path) as image:
        value = image.getexif().get_ifd(0x8769).get(0x9003)
    return datetime.strptime(value, "%Y:%m:%d %H:%M:%S") if value else None


def shape_of(path: Path) -> tuple[tuple[float, float, float], str]:
    """Mean colour of the subject and its shape, told apart by area over the circle around
    it (circle 1.0, square 0.64, triangle 0.41): rotation does not change that ratio."""
    pixels = shown(path)
    mask = pixels.min(axis=2) < 110  # the light background never gets this dark
    ys, xs = np.nonzero(mask)
    radius = np.sqrt((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2).max()
    fill = mask.sum() / (np.pi * radius**2)
    ideal = {"circle": 1.0, "square": 0.64, "triangle": 0.41}
    shape = min(ideal, key=lambda name: abs(ideal[name] - fill))
    r, g, b = pixels[mask].mean(axis=0)
    return (float(r), float(g), float(b)), shape


def test_counts_per_kind(corpus: DupeCorpus) -> None:
    counts = Counter(f.kind for f in corpus.files)
    assert counts == {"original": 3, **dict.fromkeys(NEAR_KINDS, 3), "burst": 7, "negative": 4}
    assert corpus.skipped == ()  # pillow_heif is installed, so HEIC was written
    assert {f.burst for f in corpus.files if f.kind in ("original", "burst")} == {0, 2, None}
    assert Counter(f.burst for f in corpus.files if f.kind == "burst") == {0: 3, 2: 4}
    assert all(f.path.is_file() for f in corpus.files)


def test_copies_are_exactly_the_byte_identical_files(corpus: DupeCorpus) -> None:
    by_bytes: dict[bytes, list[Path]] = {}
    for file in corpus.files:
        by_bytes.setdefault(file.path.read_bytes(), []).append(file.path)
    identical = frozenset(frozenset(p) for paths in by_bytes.values() for p in combinations(paths, 2))
    assert identical == corpus.pairs("copies")
    assert one(corpus, 1, "copy").parent != one(corpus, 1, "original").parent


def test_exif_rotated_displays_as_the_original(corpus: DupeCorpus) -> None:
    original, rotated = one(corpus, 0, "original"), one(corpus, 0, "exif_rotated")
    with Image.open(rotated) as image:
        assert image.size == (480, 640)
        assert image.getexif()[0x0112] == 6
    with Image.open(original) as image:
        raw_original = np.asarray(image.convert("RGB").resize((480, 640)), dtype=np.float32)
    with Image.open(rotated) as image:
        raw_rotated = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert np.abs(raw_rotated - raw_original).mean() > 10  # stored pixels are turned
    assert difference(original, rotated) < 1.0  # shown, only JPEG noise remains


def test_variants_keep_capture_time_except_stripped(corpus: DupeCorpus) -> None:
    with Image.open(one(corpus, 2, "stripped")) as image:
        assert len(image.getexif()) == 0
    assert difference(one(corpus, 2, "original"), one(corpus, 2, "stripped")) < 1.0
    when = taken(one(corpus, 2, "original"))
    assert when is not None
    kept = {kind: taken(one(corpus, 2, kind)) for kind in NEAR_KINDS if kind != "stripped"}
    assert kept == dict.fromkeys(kept, when)


def test_originals_fall_on_distinct_days(corpus: DupeCorpus) -> None:
    days = [taken(f.path) for f in corpus.of_kind("original")]
    assert len({day.date() for day in days if day}) == ORIGINALS


def test_burst_frames_are_one_second_apart_and_visibly_different(corpus: DupeCorpus) -> None:
    for index, frames in ((0, 3), (2, 4)):
        original = one(corpus, index, "original")
        start = taken(original)
        assert start is not None
        shots = [f.path for f in corpus.files if f.original == index and f.kind == "burst"]
        seconds = [(taken(path) - start).total_seconds() for path in shots]  # type: ignore[operator]
        assert seconds == list(range(1, frames + 1))
        assert min(difference(original, shot) for shot in shots) > 4.0
        resized = (one(corpus, index, kind) for kind in ("resized50", "resized25"))
        assert max(difference(original, path) for path in resized) < 3.0


def test_negatives_share_colour_and_shape_but_not_days(corpus: DupeCorpus) -> None:
    originals = {f.original for f in corpus.files if f.kind != "negative"}
    negatives = corpus.of_kind("negative")
    assert len({f.original for f in negatives}) == len(negatives)
    assert not originals & {f.original for f in negatives}
    days = [taken(f.path) for f in corpus.of_kind("original")]
    current = -1
    for file in corpus.files:  # files come in creation order: a negative follows its original
        if file.kind == "original":
            current = file.original
        if file.kind != "negative":
            continue
        colour, shape = shape_of(file.path)
        own_colour, own_shape = shape_of(one(corpus, current, "original"))
        assert shape == own_shape == CLASSES[current][1]
        assert max(abs(a - b) for a, b in zip(colour, own_colour, strict=True)) < 45
        when = taken(file.path)
        assert when is not None
        assert min(abs((when - day).total_seconds()) for day in days if day) >= 2 * 86400
        assert difference(file.path, one(corpus, current, "original")) > 4.0


def test_pair_sets_nest_and_have_the_expected_sizes(corpus: DupeCorpus) -> None:
    copies, near, similar = corpus.pairs("copies"), corpus.pairs("near"), corpus.pairs("similar")
    assert copies < near < similar
    assert (len(copies), len(near), len(similar)) == (3, 3 * 91, 136 + 91 + 153)  # 14, 17, 14, 18 files
    kind = {f.path: f.kind for f in corpus.files}
    assert not any(kind[p] == "negative" for pair in similar for p in pair)
    assert not any(kind[p] == "burst" for pair in near for p in pair)
    frame = one(corpus, 0, "resized25"), corpus.of_kind("burst")[0].path
    assert frozenset(frame) in similar
    with pytest.raises(ValueError, match="unknown tier"):
        corpus.pairs("dupes")


def test_same_seed_same_files(tmp_path: Path) -> None:
    first = make_dupe_corpus(tmp_path / "a", originals=1, seed=5)
    second = make_dupe_corpus(tmp_path / "b", originals=1, seed=5)
    assert [f.path.read_bytes() for f in first.files] == [f.path.read_bytes() for f in second.files]


def test_pair_scores_counts_pairs() -> None:
    a, b, c, d, e = (Path(name) for name in "abcde")
    truth = frozenset({frozenset({a, b}), frozenset({a, c}), frozenset({b, c}), frozenset({d, e})})
    # Predicted pairs ab, ad, bd (the repeated a adds nothing; ab again in a second group counts once).
    assert pair_scores(truth, [[a, b, d, a], [e], [b, a]]) == Scores(1 / 3, 1 / 4, 3, 4)
    assert pair_scores(truth, [[a, b, c], [d, e]]) == Scores(1.0, 1.0, 4, 4)
    assert pair_scores(truth, []) == Scores(1.0, 0.0, 0, 4)
    assert pair_scores(frozenset(), [[a, b]]) == Scores(0.0, 1.0, 1, 0)
    assert pair_scores(frozenset(), []) == Scores(1.0, 1.0, 0, 0)
    assert pair_scores(truth, [["a", "c"]]) == Scores(1.0, 1 / 4, 1, 4)  # str paths are accepted
