"""Duplicates over a real library (tiny CLIP model, the generated corpus with known
truth): the tiers found, kept up to date as photos arrive, the photo suggested to keep,
stacks folded in search, and the clean-up that merges, then trashes (a fake trash here:
never the desktop's)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.models import PhotoMarks, Tag
from photoclip.core.organize.cleanup import plan_for
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.dupe_corpus import DupeCorpus, make_dupe_corpus, pair_scores

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> DupeCorpus:
    return make_dupe_corpus(tmp_path_factory.mktemp("dupes") / "photos", originals=3, seed=4)


@pytest.fixture
def library(tmp_path: Path, corpus: DupeCorpus, tiny_model_spec: str) -> Iterator[Library]:
    photos = tmp_path / "photos"
    shutil.copytree(corpus.files[0].path.parents[1], photos)  # a fresh copy: clean-ups move files
    settings = Settings(model=tiny_model_spec, ocr="off", label_sets=[], decode_workers=2)
    lib = Library(app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")}), settings,
                  encoder=ClipEncoder(ModelSpec.parse(tiny_model_spec), "cpu"))
    lib.add_folder(photos)
    lib.index_photos()
    lib.update_duplicates()
    yield lib
    lib.close()


def here(library: Library, corpus: DupeCorpus, path: Path) -> Path:
    """A corpus path in the library's own copy of the corpus."""
    root = corpus.files[0].path.parents[1]
    return Path(library.catalog.folders()[0].path) / path.relative_to(root)


def truth(library: Library, corpus: DupeCorpus, tier: str) -> frozenset[frozenset[Path]]:
    return frozenset(frozenset(here(library, corpus, p) for p in pair) for pair in corpus.pairs(tier))


def test_each_tier_is_found_exactly(library: Library, corpus: DupeCorpus) -> None:
    for tier in ("copies", "near", "similar"):
        groups = [[p.path for p in g.photos] for g in library.duplicates.groups(tier)]
        scores = pair_scores(truth(library, corpus, tier), groups)
        assert (tier, scores.precision, scores.recall) == (tier, 1.0, 1.0)
    assert len(library.duplicates.groups("near")) == 3  # one per original


def test_the_suggested_photo_is_the_original_or_its_copy_with_a_reason(library: Library,
                                                                       corpus: DupeCorpus) -> None:
    kinds = {here(library, corpus, f.path): f.kind for f in corpus.files}
    for found in library.duplicates.groups("near"):
        assert kinds[found.keep.path] in ("original", "copy") and found.reason
        assert found.extra_bytes == sum(p.size for p in found.photos) - found.keep.size


def test_new_photos_join_their_groups_incrementally(library: Library, corpus: DupeCorpus) -> None:
    original = here(library, corpus, corpus.of_kind("original")[0].path)
    before = next(g for g in library.duplicates.groups("near") if original in {p.path for p in g.photos})
    shutil.copyfile(original, original.parent.parent / "another copy.jpg")
    library.index_photos()
    library.update_duplicates()
    after = next(g for g in library.duplicates.groups("near") if original in {p.path for p in g.photos})
    assert {p.path.name for p in after.photos} - {p.path.name for p in before.photos} == {"another copy.jpg"}
    assert library.catalog.stacks_made_with() == library.duplicates.made_with()


def test_search_folds_stacks_into_one_hit_each(library: Library, corpus: DupeCorpus,
                                               stacks_on: None) -> None:
    result = library.find("a photo", top=20)  # the whole library: each stack once, each negative
    stacks = {h.stack_id: h.stack_size for h in result.hits if h.stack_id is not None}
    sizes = sorted(len(g.photos) for g in library.duplicates.groups("similar"))
    assert sorted(stacks.values()) == sizes and len(stacks) == 3
    assert len(result.hits) == 3 + len(corpus.of_kind("negative"))
    assert result.stacked == sum(sizes) - 3
    library.settings.stacks = "off"
    unfolded = library.find("a photo", top=20)
    assert {h.stack_id for h in unfolded.hits} == {None} and unfolded.stacked == 0


def test_clean_up_merges_then_trashes_and_a_file_put_back_returns_with_its_tags(
        library: Library, corpus: DupeCorpus, tmp_path: Path) -> None:
    group = library.duplicates.groups("near")[0]
    extra, changed, *rest = group.extras
    library.catalog.add_tags(extra.id, [Tag("holiday")])
    library.catalog.set_tag_source(extra.id, "cat", "rejected")
    library.catalog.save_concept("my sofa", [extra.id, rest[0].id])
    library.catalog.create_album("Trip")
    library.catalog.add_to_album("Trip", [rest[0].id, extra.id])
    library.set_rating([extra.id], 4)
    library.set_favourite([rest[0].id])
    os.utime(changed.path, ns=(changed.mtime_ns + 10**9, changed.mtime_ns + 10**9))  # edited since
    trash = tmp_path / "Trash"
    trash.mkdir()
    report = library.clean_up([plan_for(group)], trash_file=lambda p: p.rename(trash / p.name))

    assert set(report.trashed) == {p.path for p in group.extras} - {changed.path}
    assert report.failed == [(changed.path, "it changed since it was indexed: index again first")]
    assert report.bytes_freed == sum(p.size for p in group.extras) - changed.size
    assert changed.path.exists() and group.keep.path.exists()
    assert {(t.name, t.source) for t in library.catalog.tags(group.keep.id, rejected=True)} == {
        ("holiday", "user"), ("cat", "rejected")}
    assert library.catalog.concepts()["my sofa"] == [group.keep.id]
    assert library.catalog.manual_albums() == [("Trip", [group.keep.id])]  # in the extras' place
    assert library.marks_of([group.keep.id])[group.keep.id] == PhotoMarks(favourite=True, rating=4)
    assert [t.path for t in library.catalog.trashed_files()] == report.trashed
    assert library.catalog.photos_by_ids([extra.id]) == {}  # in PhotoClip's trash now
    assert extra.path not in {h.path for h in library.find("a photo", top=200).hits}

    (trash / extra.path.name).rename(extra.path)  # the user puts it back
    library.index_photos()
    assert [t.name for t in library.catalog.tags(library.photo_at(extra.path).id)] == ["holiday"]


def test_nothing_moves_when_the_photo_to_keep_is_gone(library: Library) -> None:
    group = library.duplicates.groups("near")[0]
    group.keep.path.unlink()
    moved: list[Path] = []
    report = library.clean_up([plan_for(group)], trash_file=moved.append)
    assert moved == [] and report.trashed == [] and len(report.failed) == len(group.extras)
    assert all(p.path.exists() for p in group.extras)


def test_photos_indexed_before_looks_were_kept_get_them_from_the_backfill(library: Library) -> None:
    with library.catalog._transaction() as db:  # as a library indexed before migration 8 is
        db.execute("DELETE FROM photo_looks")
        db.execute("DELETE FROM photo_stacks")
        db.execute("DELETE FROM meta WHERE key IN ('stacks_made_with', 'stacks_through_id')")
    total = library.catalog.count_missing_looks()
    seen: list[tuple[int, int]] = []
    assert library.update_duplicates(progress=lambda done, of: seen.append((done, of))) == total
    assert library.catalog.count_missing_looks() == 0 and seen[-1] == (total, total)
    assert len(library.duplicates.groups("near")) == 3  # grouped again from the looks taken


def test_looks_taken_without_the_extra_are_taken_again_once_it_is_there(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    with library.catalog._transaction() as db:  # as if hashed while imagehash was missing
        db.execute("UPDATE photo_looks SET phash = NULL")
    monkeypatch.setattr("photoclip.core.organize.duplicates.hashing_available", lambda: False)
    assert library.catalog.count_missing_looks(want_hash=False) == 0
    made_without = library.duplicates.made_with()
    monkeypatch.undo()
    everyone = library.catalog.count_missing_looks(want_hash=True)
    assert everyone == len(library.catalog.looks_rows().ids)
    assert library.duplicates.made_with() != made_without  # so the groups are made again
    assert library.update_duplicates() == everyone
    assert library.catalog.looks_rows().has_hash.all()
