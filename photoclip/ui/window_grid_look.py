"""The grid's look, a part of MainWindow: justified rows (each photo at its own shape,
rows filling the width) or square crops (as many as fill a row), chosen in View ▸
Photo Shapes and kept between runs; and the cell size both are drawn at.

The cells' sizes come from the delegate (``GridDelegate.cells_for``) and their places
from the photo grid (``photo_grid.py``), for the viewport's width each time it lays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ..core.models import PhotoFilter
from .grid_delegate import GridLook
from .window_parts import WindowBase

LOOK_NAMES = {GridLook.JUSTIFIED: "&Justified Rows", GridLook.SQUARE: "&Square Crops"}
LOOK_KEYS = {GridLook.JUSTIFIED: "Ctrl+Alt+1", GridLook.SQUARE: "Ctrl+Alt+2"}


class GridLookActions(WindowBase):

    def build_grid_look(self) -> None:
        """View ▸ Photo Shapes: the two looks, one checked."""
        menu = self.find_view_menu().addMenu("Photo &Shapes")
        group = QActionGroup(self)
        group.setExclusive(True)
        self.look_actions: dict[GridLook, QAction] = {}
        for look, text in LOOK_NAMES.items():
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(LOOK_KEYS[look]))
            action.setChecked(look is self.delegate.look)
            action.triggered.connect(lambda _=False, look=look: self.set_grid_look(look))
            group.addAction(action)
            menu.addAction(action)
            self.look_actions[look] = action
        self.marks_changed.connect(self.model.forget_marks)  # hearts and stars on the cells

    def set_grid_look(self, look: GridLook) -> None:
        if look is self.delegate.look:
            return
        top = self.first_visible_row()
        self.delegate.look = look
        self.look_actions[look].setChecked(True)
        self.apply_cell_size(self.grid.iconSize().width())
        if top is not None:
            self.grid.scrollTo(self.model.index(top), self.grid.ScrollHint.PositionAtTop)

    def apply_cell_size(self, size: int) -> None:
        """Cells ``size`` px: the rows' height (justified) or the squares' side, near it."""
        self.grid.setIconSize(QSize(size, size))
        self.delegate.icon_size = size
        # Laid out when next looked at (a paint, a scrollTo): once, however many changes
        # asked for it (photo_grid.py places the cells).
        self.grid.scheduleDelayedItemsLayout()

    def shapes_of(self, rows: Sequence[tuple[Any, ...]], total: int | None,
                  found: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Every row's shape for the justified grid, and for a list in date order its day
        (run in the search pool with the rows): the hits' own shapes; for a paged list
        (the library, a filter-only query) all of its photos', pages not fetched yet too."""
        catalog = self.library.catalog
        if total is None:
            return catalog.aspects_of([row[0].id for row in rows]), None
        if found is None:
            return catalog.listing_shapes(PhotoFilter())
        return getattr(found, "aspects", None), getattr(found, "days", None)
