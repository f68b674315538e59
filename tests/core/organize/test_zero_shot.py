"""Zero-shot tagging and personal concepts with the real model path (the repo's tiny CLIP).

One library of pictures generated for this test (the model never saw them) is
indexed once for the module; each test tags it with its own set and removes
that set's tags again, so the tests don't depend on each other's order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.library import Library
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.synthetic import draw_picture, make_library

MIN_ACCURACY = 0.85
# The tiny model learned captions like "a red circle" only, so a shape's prompts are
# an ensemble over the colours and a colour's over the shapes.
SHAPES = 'name = "{name}"\ntemplates = ["a red {{}}", "a green {{}}", "a blue {{}}", "a yellow {{}}"]\n'
COLOURS = 'name = "colours"\ntemplates = ["a {} circle", "a {} square", "a {} triangle"]\n'


@pytest.fixture(scope="module")
def shapes_library(tmp_path_factory: pytest.TempPathFactory,
                   tiny_model_spec: str) -> Iterator[tuple[Library, dict[Path, tuple[str, str]], list[Path]]]:
    root = tmp_path_factory.mktemp("zero-shot")
    made = make_library(root / "photos", per_class=5, seed=4242, formats=("PNG", "JPEG"))
    rng = random.Random(99)
    examples = []  # five more blue triangles: a personal concept's examples
    for i in range(5):
        path = root / "photos" / "examples" / f"bluey-{i}.png"
        path.parent.mkdir(exist_ok=True)
        draw_picture("blue", "triangle", rng, (160, 160)).save(path)
        examples.append(path.resolve())
    settings = Settings(model=tiny_model_spec, label_sets=[], batch_size=32, decode_workers=2)
    library = Library(app_paths({"PHOTOCLIP_HOME": str(root / "home")}), settings)
    library.add_folder(root / "photos")
    library.index_photos()
    yield library, {p.resolve(): (c, s) for p, c, s in made}, examples
    library.close()


def _tagged(library: Library, text: str, folder: Path) -> dict[Path, list[str]]:
    """Tag the library with a set written as a file; its tags per photo. Leaves no tags behind."""
    source = folder / "set.toml"
    source.write_text(text, encoding="utf-8")
    label_set = library.organizer.resolve_label_set(str(source))
    library.organizer.tag_library(label_set, enable=False)
    ids, _ = library.catalog.all_vectors(library.encoder.model_id)
    photos = library.catalog.photos_by_ids(ids.tolist())
    found = {p.path: [t.name for t in library.catalog.tags(pid) if t.label_set == label_set.name]
             for pid, p in photos.items()}
    library.catalog.forget_label_set(label_set.name)
    return found


def test_shape_and_colour_sets_tag_unseen_pictures_accurately(shapes_library, tmp_path: Path) -> None:
    library, truth, _ = shapes_library
    shapes = _tagged(library, SHAPES.format(name="shapes") + 'labels = ["circle", "square", "triangle"]',
                     tmp_path)
    colours = _tagged(library, COLOURS + 'labels = ["red", "green", "blue", "yellow"]', tmp_path)
    shape_hits = sum(shapes[p] == [shape] for p, (_, shape) in truth.items())
    colour_hits = sum(colours[p] == [colour] for p, (colour, _) in truth.items())
    assert shape_hits / len(truth) >= MIN_ACCURACY, shape_hits
    assert colour_hits / len(truth) >= MIN_ACCURACY, colour_hits


def test_a_fallback_leaves_a_photo_of_an_unknown_kind_untagged(shapes_library, tmp_path: Path) -> None:
    """Circles and squares only: a triangle is "none of these". Without a fallback
    CLIP must pick one of the two; with one, the triangle stays untagged."""
    library, truth, _ = shapes_library
    labels = 'labels = ["circle", "square"]\n'
    forced = _tagged(library, SHAPES.format(name="two") + labels, tmp_path)
    careful = _tagged(library, SHAPES.format(name="two") + labels + 'fallback = ["triangle"]',
                      tmp_path)
    triangles = [p for p, (_, shape) in truth.items() if shape == "triangle"]
    known = [p for p in truth if p not in triangles]
    untagged = sum(careful[p] == [] for p in triangles) / len(triangles)
    assert untagged > 0.5, untagged
    assert sum(forced[p] == [] for p in triangles) / len(triangles) < untagged
    # ...and costs the photos that do fit next to nothing (33 of 40 right either way here).
    def right(tags: dict[Path, list[str]]) -> float:
        return sum(tags[p] == [truth[p][1]] for p in known) / len(known)

    assert right(careful) >= right(forced) - 0.05 and right(careful) >= 0.75


def test_a_concept_learned_from_five_examples_finds_the_held_out_ones_first(shapes_library) -> None:
    library, truth, examples = shapes_library
    held_out = {p for p, kind in truth.items() if kind == ("blue", "triangle")}
    concept = library.organizer.add_concept("Bluey", examples)
    try:
        assert concept.example_ids and len(concept.example_ids) == 5
        hits = [h.path for h in library.search("Bluey", top=30) if h.path not in examples]
        assert set(hits[: len(held_out)]) == held_out  # every held-out one above every other photo
        tagged = {library.catalog.photo(i).path for i in library.catalog.photo_ids_with_tag("Bluey")}
        assert tagged - set(examples) == held_out
        # A concept goes in a sentence like a word: "Bluey" plus a described colour.
        mixed = library.search("Bluey + a blue circle", top=3)
        assert all(truth.get(h.path, ("blue", "triangle"))[0] == "blue" for h in mixed)
    finally:
        library.organizer.remove_concept("Bluey")
    # Forgotten: its auto tags go; the examples keep the tag the user gave them.
    assert library.catalog.concepts() == {}
    assert {library.catalog.photo(i).path for i in library.catalog.photo_ids_with_tag("Bluey")} == set(
        examples)
