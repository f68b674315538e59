"""The tiny test CLIP model loads like real weights and actually works.

``tiny_model_dir`` (tests/conftest.py) builds the model once per session with
``tests.make_tiny_clip.build_tiny_clip``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.synthetic import CLASSES, caption, draw_picture

pytestmark = pytest.mark.model

PER_CLASS = 4  # 48 pictures in all


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path) -> dict[str, Any]:
    """Load through the exact calls the product uses for real weights."""
    import open_clip  # heavy; keep it out of collection of unrelated tests

    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + str(tiny_model_dir))
    tokenizer = open_clip.get_tokenizer("local-dir:" + str(tiny_model_dir))
    model.eval()  # the ResNet tower has BatchNorm; loaders return train mode
    return {"model": model, "preprocess": preprocess, "tokenizer": tokenizer}


@pytest.fixture(scope="module")
def scores(loaded: dict[str, Any]) -> tuple[Any, list[int]]:
    """Image x class-prompt cosine similarities for fresh pictures of any size."""
    import torch

    rng = random.Random(20240613)  # unlike the training and build-time eval seeds
    pictures, labels = [], []
    for _ in range(PER_CLASS):
        for label, (colour, shape) in enumerate(CLASSES):
            size = (rng.randint(64, 800), rng.randint(64, 800))
            pictures.append(draw_picture(colour, shape, rng, size))
            labels.append(label)
    model, preprocess, tokenizer = loaded["model"], loaded["preprocess"], loaded["tokenizer"]
    with torch.no_grad():
        text = model.encode_text(tokenizer([caption(c, s) for c, s in CLASSES]), normalize=True)
        pixels = torch.stack([preprocess(picture) for picture in pictures])
        images = model.encode_image(pixels, normalize=True)
    return images @ text.T, labels


def test_loads_with_matching_preprocess_and_tokenizer(loaded: dict[str, Any]) -> None:
    model = loaded["model"]
    size = model.visual.image_size
    pixels = loaded["preprocess"](draw_picture("red", "circle", random.Random(0), (4000, 3000)))
    assert tuple(pixels.shape) == (3, size, size)
    tokens = loaded["tokenizer"](["a red circle"])
    assert tuple(tokens.shape) == (1, model.context_length)


def test_zero_shot_accuracy(scores: tuple[Any, list[int]]) -> None:
    similarity, labels = scores
    predicted = similarity.argmax(dim=1).tolist()
    accuracy = sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)
    assert accuracy >= 0.8


def test_text_query_ranks_matching_pictures_first(scores: tuple[Any, list[int]]) -> None:
    similarity, labels = scores
    query = CLASSES.index(("red", "circle"))
    ranking = similarity[:, query].argsort(descending=True).tolist()
    top = [labels[i] for i in ranking[:PER_CLASS]]
    assert top.count(query) >= PER_CLASS - 1
