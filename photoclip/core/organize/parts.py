"""The parts of a library the organizing code works on, named here, in the room.

The room never imports the ``Library`` facade: ``library.py`` assembles the core and
hands the organizer an object with just these parts (the ``Library`` has them all).
The books behind the organizer get the single parts they use, one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from ..catalog.store import Catalog
    from ..clip.encoder import Encoder
    from ..models import Photo, SearchHit
    from ..paths import AppPaths
    from ..search.query import QueryTerm
    from ..settings import Settings

# Holds the library's writer lock for a purpose ("tag", "album", ...) while entered.
Writing = Callable[[str], AbstractContextManager[object]]


class PhotoSearch(Protocol):
    """What smart albums need from the searcher: a query's vector, its nearest photos."""

    def query_vector(self, terms: list[QueryTerm]) -> np.ndarray: ...

    def nearest(self, vector: np.ndarray, top: int,
                min_score: float | None = None) -> list[SearchHit]: ...


class LibraryParts(Protocol):
    """What the organizer uses of one library, and nothing more."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def encoder(self) -> Encoder: ...

    @property
    def paths(self) -> AppPaths: ...

    @property
    def settings(self) -> Settings:
        """Read at every use: the app swaps in newly saved settings without a reopen."""
        ...

    @property
    def searcher(self) -> PhotoSearch: ...

    def writing(self, purpose: str) -> AbstractContextManager[object]:
        """The library's writer lock, held while entered."""
        ...

    def photo_at(self, path: Path) -> Photo:
        """The library's photo at ``path``; raises the library's error for one it lacks."""
        ...
