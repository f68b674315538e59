"""Label-set files: the built-ins load, mistakes are named, ensembles are built as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.organize.albums import date_range
from photoclip.core.organize.concepts import find_concepts
from photoclip.core.organize.labelsets import (
    LabelSetError,
    available_label_sets,
    install_label_set,
    parse_label_set,
)

SHAPES = """
name = "shapes"
templates = ["a {}", "a picture of a {}"]
labels = [
  "circle", "square",
  {name = "triangle", synonyms = ["three-sided shape"], prompts = ["a pointy thing"], threshold = 0.7},
]
multi_label = false
"""


def test_the_issue_example_parses_into_a_prompt_ensemble() -> None:
    shapes = parse_label_set(SHAPES)
    assert [x.name for x in shapes.labels] == ["circle", "square", "triangle"]
    triangle = shapes.labels[2]
    assert triangle.texts(shapes.templates) == [
        "a triangle", "a picture of a triangle", "a three-sided shape",
        "a picture of a three-sided shape", "a pointy thing"]
    assert shapes.threshold_for(triangle) == 0.7 and shapes.threshold_for(shapes.labels[0]) == 0.5


def test_built_in_sets_suit_photo_libraries() -> None:
    sets = available_label_sets(Path("/nonexistent"))
    assert {"scenes", "subjects", "events", "kinds"} <= set(sets)
    for label_set in sets.values():
        assert label_set.builtin and len(label_set.templates) >= 4 and label_set.fallback
    names = {x.name for s in sets.values() for x in s.labels}
    assert {"beach", "mountains", "dog", "cat", "food", "birthday", "wedding", "screenshot",
            "receipt", "whiteboard", "selfie", "night shot"} <= names


@pytest.mark.parametrize(("text", "says"), [
    ('name = "x"\nlabels = ["a", "b"]\ncolour = 1', "unknown keys ['colour']"),
    ('name = "x"\nlabels = ["a", "b"]\ntemplates = ["a photo"]', "must contain {} exactly once"),
    ('name = "x"\nlabels = []', "at least one label"),
    ('name = "x"\nlabels = ["a"]', "needs two labels"),
    ('name = "x"\nlabels = ["a", "A"]', "same name"),
    ('name = "x"\nlabels = ["a", "b"]\nthreshold = 2', "threshold must be a number from 0 to 1"),
    ('labels = ["a", "b"]', "name must be a non-empty string"),
    ('name = "x"\nlabels = [{name = "a", colour = "red"}, "b"]', "unknown"),
    ('name = "x" labels', "not valid TOML"),
])
def test_mistakes_in_a_set_are_named(text: str, says: str) -> None:
    with pytest.raises(LabelSetError, match=None) as raised:
        parse_label_set(text, "mine.toml")
    assert says in str(raised.value) and str(raised.value).startswith("mine.toml")


def test_a_users_file_is_installed_and_wins_over_a_built_in(tmp_path: Path) -> None:
    mine = tmp_path / "elsewhere.toml"
    mine.write_text('name = "scenes"\nlabels = ["my garden", "my street"]\n')
    user_dir = tmp_path / "labelsets"
    installed = install_label_set(mine, user_dir)
    mine.unlink()  # the copy keeps working
    assert installed.source == user_dir / "scenes.toml"
    assert [x.name for x in available_label_sets(user_dir)["scenes"].labels] == ["my garden", "my street"]


def test_the_digest_changes_with_what_decides_and_not_with_the_description() -> None:
    base = parse_label_set(SHAPES)
    assert parse_label_set(SHAPES + 'description = "just words"\n').digest == base.digest
    assert parse_label_set(SHAPES.replace('"a {}",', '"an image of a {}",')).digest != base.digest
    assert parse_label_set(SHAPES + "margin = 0.3\n").digest != base.digest


def test_event_date_ranges_read_naturally() -> None:
    import time

    def at(*day: int) -> float:
        return time.mktime((*day, 12, 0, 0, 0, 0, -1))

    assert date_range(at(2024, 7, 14), at(2024, 7, 14)) == "14 Jul 2024"
    assert date_range(at(2024, 7, 14), at(2024, 7, 16)) == "14–16 Jul 2024"
    assert date_range(at(2024, 6, 30), at(2024, 7, 2)) == "30 Jun – 2 Jul 2024"
    assert date_range(at(2023, 12, 28), at(2024, 1, 2)) == "28 Dec 2023 – 2 Jan 2024"


def test_concept_names_are_found_as_whole_words_in_a_query() -> None:
    assert find_concepts("Rex on the beach", ["Rex", "Grandma's kitchen"]) == [("Rex", "on the beach")]
    assert find_concepts("rex", ["Rex"]) == [("Rex", "")]
    assert find_concepts("Rexford at home", ["Rex"]) == []
