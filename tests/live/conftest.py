"""A live library: a real watchdog observer, the real worker, the tiny CLIP model."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.library import Library
from photoclip.core.live.worker import LibraryWorker
from photoclip.core.paths import app_paths
from photoclip.core.settings import Settings
from tests.fakes import CountingEncoder
from tests.synthetic import CLASSES, draw_picture


def wait_until(condition: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")


def write_picture(path: Path, index: int, seed: int = 0) -> Path:
    """A distinct picture (its own content hash) of class ``CLASSES[index % 12]``."""
    colour, shape = CLASSES[index % len(CLASSES)]
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_picture(colour, shape, random.Random(seed * 100_003 + index), (64, 64)).save(path, "PNG")
    return path


@dataclass
class Live:
    library: Library
    worker: LibraryWorker
    photos: Path
    encoder: CountingEncoder
    messages: list[str] = field(default_factory=list)

    def indexed(self) -> set[Path]:
        """Paths a search can return right now."""
        hits = self.library.search("a photo", top=10_000) if self.has_vectors() else []
        return {hit.path for hit in hits}

    def has_vectors(self) -> bool:
        return self.library.catalog.vector_dim(self.library.encoder.model_id) is not None

    def wait_searchable(self, *paths: Path, timeout: float = 60.0) -> None:
        wait_until(lambda: set(paths) <= self.indexed(), timeout, f"{len(paths)} searchable")

    def wait_gone(self, *paths: Path, timeout: float = 30.0) -> None:
        """Until the catalog has no live photo at ``paths`` (search also hides missing files)."""
        catalog = self.library.catalog
        wait_until(lambda: all(catalog.photo_by_path(p) is None for p in paths), timeout,
                   "photos to leave the catalog")


def open_live(home: Path, photos: Path, model: str, *, polling_folders: tuple[Path, ...] = (),
              **worker_options: object) -> Live:
    spec = ModelSpec.parse(model)
    encoder = CountingEncoder(ClipEncoder(spec, "cpu"))
    # No label sets: these tests are about files coming and going (tags given by hand
    # must follow them); zero-shot tagging of new photos is tested in tests/core.
    settings = Settings(model=model, batch_size=16, decode_workers=2, label_sets=[],
                        polling_folders=[str(p) for p in polling_folders])
    library = Library(app_paths({"PHOTOCLIP_HOME": str(home)}), settings, encoder=encoder)
    if not any(f.path == photos for f in library.catalog.folders()):
        library.add_folder(photos)
    messages: list[str] = []
    worker = LibraryWorker(library, on_message=messages.append, **worker_options)  # type: ignore[arg-type]
    worker.start()
    return Live(library, worker, photos, encoder, messages)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def live(tmp_path: Path, photos: Path, tiny_model_spec: str) -> Iterator[Live]:
    running = open_live(tmp_path / "home", photos, tiny_model_spec)
    assert running.worker.wait_idle(60)
    yield running
    assert running.worker.stop(), "the worker did not stop in time"
    running.library.close()


def copy_slowly(source: Path, dest: Path, chunks: int = 5, pause_s: float = 0.15) -> None:
    """Copy like a slow network or a card reader: one open file, written in pauses."""
    data = source.read_bytes()
    step = len(data) // chunks + 1
    with dest.open("wb") as out:
        for start in range(0, len(data), step):
            out.write(data[start:start + step])
            out.flush()
            time.sleep(pause_s)

