"""Tags, label-set runs, albums and sidecars through the Library (fake colour encoder: fast).

The fake encoder sees a picture as its main colour and a text as the colour
word in it, so a "colours" label set behaves like a good zero-shot model.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.library import Library
from photoclip.core.organize.labelsets import LabelSet, parse_label_set
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings, load_settings
from tests.fakes import FakeEncoder
from tests.synthetic import draw_picture

COLOURS = """
name = "colours"
version = 1
templates = ["a {} thing", "something {}"]
labels = ["red", "green", "blue", "yellow"]
"""


def _picture(path: Path, colour: str, seed: int, taken: datetime | None = None) -> Path:
    image = draw_picture(colour, "circle", random.Random(seed), (96, 96))
    exif = Image.Exif()
    if taken is not None:
        exif[0x8769] = {0x9003: taken.strftime("%Y:%m:%d %H:%M:%S")}  # DateTimeOriginal
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def _library(tmp_path: Path, encoder: FakeEncoder | None = None, **settings: object) -> Library:
    paths = app_paths({"PHOTOCLIP_HOME": str(tmp_path / "home")})
    options = {"batch_size": 8, "decode_workers": 2, "label_sets": [], **settings}
    return Library(paths, Settings(**options), encoder=encoder or FakeEncoder())  # type: ignore[arg-type]


@pytest.fixture
def colour_library(tmp_path: Path) -> tuple[Library, dict[Path, str]]:
    folder = tmp_path / "photos"
    made = {_picture(folder / f"{c}-{i}.jpg", c, i * 7 + n): c
            for n, c in enumerate(("red", "green", "blue", "yellow")) for i in range(3)}
    library = _library(tmp_path)
    library.add_folder(folder)
    library.index_photos()
    return library, {p.resolve(): c for p, c in made.items()}


def _colours(library: Library, text: str = COLOURS) -> LabelSet:
    """The set as a user gives it: a TOML file (installed into the label-set folder)."""
    source = library.paths.data_dir.parent / "colours.toml"
    source.write_text(text, encoding="utf-8")
    return library.organizer.resolve_label_set(str(source))


def _auto(library: Library, path: Path, label_set: str | None = None) -> list[str]:
    return [t.name for t in library.tags(path)
            if t.source == "auto" and (label_set is None or t.label_set == label_set)]


def test_tags_record_their_label_set_version_model_and_score(colour_library) -> None:
    library, truth = colour_library
    label_set = _colours(library)
    library.settings.device = "cpu"  # a one-off override (--device cpu): never saved
    run = library.organizer.tag_library(label_set)
    assert run.photos == 12 and run.counts == {"red": 3, "green": 3, "blue": 3, "yellow": 3}
    for path, colour in truth.items():
        [tag] = library.tags(path)
        assert (tag.name, tag.source, tag.label_set) == (colour, "auto", "colours")
        assert tag.set_version == label_set.version_tag and tag.model_id == "fake:colour-v1"
        assert 0.5 <= tag.score <= 1.0
    # Tagging with a set turns it on for new photos, in the settings file both front ends
    # read; only that list is written there.
    stored = load_settings(library.paths.settings)
    assert stored.label_sets[-1] == "colours" and library.settings.label_sets == ["colours"]
    assert stored.device == "auto"


def test_retagging_with_an_edited_set_keeps_every_user_decision(colour_library) -> None:
    library, truth = colour_library
    organizer = library.organizer
    organizer.tag_library(_colours(library))
    red, green, blue = (sorted(p for p, c in truth.items() if c == name)[0]
                        for name in ("red", "green", "blue"))
    organizer.reject(red, ["red"])  # wrong, says the user
    organizer.confirm(green, ["green"])
    organizer.add_tags(blue, ["holiday"])
    # Version 2 drops "yellow" into the fallback: yellow pictures should lose their tag.
    edited = _colours(library, COLOURS.replace("version = 1", "version = 2").replace(
        ', "yellow"]', ']\nfallback = ["yellow"]'))
    run = organizer.tag_library(edited)
    assert "yellow" not in run.counts
    assert all(_auto(library, p) == [] for p, c in truth.items() if c == "yellow")
    assert {t.set_version for p in truth for t in library.tags(p) if t.source == "auto"} == {
        edited.version_tag}
    assert library.tags(red) == [] and [(t.name, t.source) for t in library.catalog.tags(
        library.catalog.photo_by_path(red).id, rejected=True)] == [("red", "rejected")]
    assert [(t.name, t.source) for t in library.tags(green)] == [("green", "user")]
    assert sorted((t.name, t.source) for t in library.tags(blue)) == [
        ("blue", "auto"), ("holiday", "user")]


def test_new_photos_are_tagged_as_they_are_indexed_with_the_enabled_sets(colour_library) -> None:
    library, truth = colour_library
    library.organizer.tag_library(_colours(library))
    folder = next(iter(truth)).parent
    new = _picture(folder / "new-green.jpg", "green", 99).resolve()
    library.index_photos()
    assert _auto(library, new, "colours") == ["green"]
    library.organizer.set_enabled("colours", False)  # off: its auto tags go, user ones stay
    assert all(library.tags(p) == [] for p in (*truth, new))


def test_a_photo_reindexed_after_an_edit_gets_fresh_tags(colour_library) -> None:
    library, truth = colour_library
    library.organizer.tag_library(_colours(library))
    path = next(p for p, c in truth.items() if c == "red")
    _picture(path, "blue", 5)  # repainted in place
    library.index_photos()
    assert _auto(library, path) == ["blue"]


def test_class_vectors_are_cached_per_model_and_reused_without_the_model(tmp_path: Path) -> None:
    label_set = parse_label_set(COLOURS)
    first = _library(tmp_path, FakeEncoder())
    classifier = first.organizer.classifier(label_set)
    first.close()
    encoder = FakeEncoder()
    second = _library(tmp_path, encoder)
    again = second.organizer.classifier(label_set)
    assert encoder.loads == 0  # read from the cache: no model needed to re-tag
    assert (again.labels == classifier.labels).all() and again.logit_scale == 100.0
    changed = second.organizer.classifier(parse_label_set(COLOURS.replace('"something {}"', '"a {}"')))
    assert encoder.loads == 1 and changed.label_set.digest != label_set.digest


def test_event_albums_group_photos_by_exif_date_and_are_named_from_their_tags(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    trip = [datetime(2024, 7, 14, 10), datetime(2024, 7, 14, 19), datetime(2024, 7, 15, 9),
            datetime(2024, 7, 15, 20), datetime(2024, 7, 16, 8)]  # nights under 16 h
    party = [datetime(2024, 8, 20, 18), datetime(2024, 8, 20, 19), datetime(2024, 8, 20, 23)]
    for i, when in enumerate(trip):
        _picture(folder / f"trip{i}.jpg", "blue", i, when)
    for i, when in enumerate(party):
        _picture(folder / f"party{i}.jpg", "red" if i else "yellow", 10 + i, when)
    _picture(folder / "alone.jpg", "green", 20, datetime(2024, 9, 1, 12))  # one photo: no event
    library = _library(tmp_path, album_min_photos=3, event_gap_hours=16)
    library.add_folder(folder)
    library.index_photos()
    library.organizer.tag_library(_colours(library))
    events = [a for a in library.organizer.albums() if a.kind == "event"]
    assert [a.name for a in events] == ["Red · 20 Aug 2024", "Blue · 14–16 Jul 2024"]
    names = [{library.catalog.photo(i).path.name for i in a.photo_ids} for a in events]
    assert names == [{f"party{i}.jpg" for i in range(3)}, {f"trip{i}.jpg" for i in range(5)}]
    tag_albums = {a.name: len(a.photo_ids) for a in library.organizer.albums() if a.kind == "tag"}
    assert tag_albums == {"Blue": 5}  # red has 2 photos, fewer than album_min_photos


def test_a_smart_album_takes_in_a_matching_photo_when_it_arrives(colour_library) -> None:
    library, truth = colour_library
    library.organizer.save_smart_album("Reds", "red", min_score=0.9)

    def members() -> set[Path]:
        [album] = [a for a in library.organizer.albums() if a.kind == "smart"]
        return {library.catalog.photo(i).path for i in album.photo_ids}

    assert members() == {p for p, c in truth.items() if c == "red"}
    new = _picture(next(iter(truth)).parent / "late-red.jpg", "red", 77).resolve()
    _picture(new.parent / "late-blue.jpg", "blue", 78)
    library.index_photos()
    assert members() == {p for p, c in truth.items() if c == "red"} | {new}


def test_sidecars_follow_tags_and_never_touch_the_photo(tmp_path: Path) -> None:
    from photoclip.core.files.xmp import read_keywords

    folder = tmp_path / "photos"
    photo = _picture(folder / "sea.jpg", "blue", 1).resolve()
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    library = _library(tmp_path, xmp_sidecars=True)
    library.add_folder(folder)
    library.index_photos()
    library.organizer.tag_library(_colours(library))
    library.organizer.add_tags(photo, ["holiday"])
    sidecar = photo.with_name("sea.jpg.xmp")
    assert sorted(read_keywords(photo)) == ["blue", "holiday"] and sidecar.is_file()
    library.organizer.reject(photo, ["blue"])
    assert read_keywords(photo) == ["holiday"]
    library.organizer.reject(photo, ["holiday"])
    library.organizer.add_tags(photo, ["holiday"])  # the user changed their mind
    library.organizer.confirm(photo, ["blue"])
    library.organizer.tag_library(_colours(library))
    library.organizer.remove_tags(photo, ["blue"])  # no longer a user tag: the auto one is gone
    library.organizer.tag_library(_colours(library))
    assert sorted(read_keywords(photo)) == ["blue", "holiday"]
    library.organizer.set_enabled("colours", False)  # its tags leave the sidecar too
    assert read_keywords(photo) == ["holiday"]
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before


def test_keywords_already_in_a_photo_become_user_tags(tmp_path: Path) -> None:
    import pyexiv2

    photo = _picture(tmp_path / "photos" / "tagged.jpg", "green", 3)
    with pyexiv2.Image(str(photo)) as image:
        image.modify_iptc({"Iptc.Application2.Keywords": ["Garden", "Summer"]})
    library = _library(tmp_path)
    library.add_folder(photo.parent)
    library.index_photos()
    assert [(t.name, t.source) for t in library.tags(photo.resolve())] == [
        ("Garden", "user"), ("Summer", "user")]


def test_a_broken_enabled_set_does_not_stop_indexing(tmp_path: Path, caplog) -> None:
    library = _library(tmp_path, label_sets=["colours"])
    library.paths.label_sets.mkdir(parents=True)
    (library.paths.label_sets / "colours.toml").write_text('name = "colours"\nlabels = 3\n')
    _picture(tmp_path / "photos" / "a.jpg", "red", 1)
    library.add_folder(tmp_path / "photos")
    report = library.index_photos()
    assert report.encoded == 1 and report.failed == 0
    assert "colours" in caplog.text  # said which set was skipped




def test_a_run_cut_short_leaves_no_indexed_photo_untagged(tmp_path: Path) -> None:
    """Tags are written with each batch: what a killed or cancelled run committed is tagged."""
    import threading

    folder = tmp_path / "photos"
    for i in range(12):
        _picture(folder / f"red-{i}.jpg", "red", i)
    library = _library(tmp_path, batch_size=4, decode_workers=1)
    library.add_folder(folder)
    library.organizer.set_enabled(_colours(library).name, True)
    cancel = threading.Event()
    report = library.index_photos(progress=lambda p: cancel.set() if p.done >= 4 else None,
                                  cancel=cancel)
    assert report.cancelled and 1 <= report.encoded < 12
    indexed = [p for p in folder.iterdir()
               if (photo := library.catalog.photo_by_path(p.resolve())) and photo.state == "indexed"]
    assert len(indexed) == report.encoded
    assert all(_auto(library, p.resolve()) == ["red"] for p in indexed)


def test_a_smart_album_of_an_example_image_keeps_its_meaning(colour_library, tmp_path: Path,
                                                             monkeypatch) -> None:
    library, truth = colour_library
    example = sorted(p for p, c in truth.items() if c == "green")[0]
    saved = library.organizer.save_smart_album("Like it", f"./{example.name}", 0.9,
                                               cwd=example.parent)
    assert saved.query == str(example)  # not relative to wherever it is listed from
    monkeypatch.chdir(tmp_path)
    [album] = [a for a in library.organizer.albums() if a.kind == "smart"]
    assert {library.catalog.photo(i).path for i in album.photo_ids} == {
        p for p, c in truth.items() if c == "green"}
    example.unlink()  # the example is gone: the album says so, it doesn't search for its name
    library.index_photos(full=True)
    [album] = [a for a in library.organizer.albums() if a.kind == "smart"]
    assert album.photo_ids == ()


NO_GREEN = COLOURS.replace('"green", ', "") + 'fallback = ["green"]\n'


def test_sidecars_lose_what_photoclip_no_longer_applies(colour_library) -> None:
    from photoclip.core.files.xmp import read_keywords

    library, truth = colour_library
    library.settings.xmp_sidecars = True
    reds, greens, yellows = (sorted(p for p, c in truth.items() if c == colour)
                             for colour in ("red", "green", "yellow"))

    def in_step(photo: Path) -> bool:  # the sidecar says what the catalog says
        return sorted(read_keywords(photo)) == sorted(t.name for t in library.tags(photo))

    # Green is "none of these" here: green pictures get no tag, so no sidecar is made.
    library.organizer.tag_library(_colours(library, NO_GREEN))
    assert all(library.tags(p) == [] and not p.with_name(p.name + ".xmp").exists() for p in greens)
    assert {p.name: read_keywords(p) for p in truth if truth[p] != "green"} == {
        p.name: [c] for p, c in truth.items() if c != "green"}
    new = {c: _picture(reds[0].parent / f"new-{c}.jpg", c, 99).resolve() for c in ("red", "green")}
    library.index_photos()  # tagged as they are indexed, and their sidecars written
    assert read_keywords(new["red"]) == ["red"]
    assert library.tags(new["green"]) == [] and not new["green"].with_name("new-green.jpg.xmp").exists()
    library.organizer.tag_library(_colours(library, NO_GREEN.replace(', "yellow"]', "]")))
    assert all("yellow" not in read_keywords(p) and in_step(p) for p in yellows)  # label dropped
    # A concept that tags more than its examples: the other reds, beside their colour tag,
    # and the other greens, their only tag (what becomes of those: the next test).
    examples = [reds[0], greens[0]]
    library.organizer.add_concept("Christmas", examples)
    tagged = {p for p in truth if "Christmas" in read_keywords(p)}
    assert {*examples, *reds[1:], *greens[1:]} <= tagged and all(in_step(p) for p in truth)
    library.organizer.remove_concept("Christmas")
    assert all("Christmas" in read_keywords(p) for p in examples)  # the user gave them the tag
    coloured = [p for p in truth if p not in examples and truth[p] != "green"]
    assert [p.name for p in coloured if "Christmas" in read_keywords(p)] == []
    assert [p.name for p in coloured + examples if not in_step(p)] == []


def test_photoclips_own_tags_read_back_from_a_sidecar_stay_photoclips(tmp_path: Path) -> None:
    photo = _picture(tmp_path / "photos" / "sea.jpg", "blue", 1).resolve()
    library = _library(tmp_path, xmp_sidecars=True)
    library.add_folder(photo.parent)
    library.index_photos()
    library.organizer.tag_library(_colours(library))
    library.organizer.add_tags(photo, ["holiday"])
    library.remove_folder(photo.parent)  # forgotten, then found again: read from the sidecar
    library.add_folder(photo.parent)
    library.index_photos()
    assert sorted((t.name, t.source, t.label_set) for t in library.tags(photo)) == [
        ("blue", "auto", "colours"), ("holiday", "user", "keywords")]
    library.organizer.remove_tags(photo, ["holiday"])  # removed here: it stays removed
    _picture(photo, "blue", 2)  # an edit: read again
    library.index_photos()
    assert [t.name for t in library.tags(photo)] == ["blue"]


def test_a_concept_survives_losing_an_example(colour_library) -> None:
    library, truth = colour_library
    reds = sorted(p for p, c in truth.items() if c == "red")
    library.organizer.add_concept("Rosso", reds)
    reds[0].unlink()
    library.index_photos(full=True)
    fresh = _library(library.paths.data_dir.parent)  # a later session
    assert set(fresh.organizer.concepts()) == {"Rosso"}, fresh.organizer.concept_book.problems
    reds[1].unlink()
    fresh.index_photos(full=True)
    later = _library(library.paths.data_dir.parent)
    assert later.organizer.concepts() == {}  # one example left: not enough, and said why
    assert "needs 2" in later.organizer.concept_book.problems["Rosso"]


def test_a_broken_user_set_is_reported_and_can_still_be_turned_off(colour_library) -> None:
    library, _ = colour_library
    label_set = _colours(library)
    library.organizer.tag_library(label_set)
    label_set.source.write_text('name = "colours"\nlabels = ["red"', encoding="utf-8")
    [(path, problem)] = library.organizer.label_set_problems().items()
    assert path.name == "colours.toml" and "not valid TOML" in problem
    library.organizer.set_enabled("colours", False)
    assert library.catalog.tag_counts() == [] and library.settings.label_sets == []
