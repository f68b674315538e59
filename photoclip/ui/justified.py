"""Justified rows: photos at their own aspect ratios, each row scaled to fill the grid's
width exactly (Google Photos, Flickr), the last row left at the wanted height. Qt-free:
``justify`` turns aspects into cell sizes; the grid's delegate hands them to QListView,
whose icon-mode flow places them (``fits_in_row`` is its rule for when a row is full).

The rows are found greedily: photos are added until the row is at least as wide as
the grid at the wanted height, then the row is shrunk to fit, or, when that is nearer
the wanted height, the last photo goes to the next row and the rest are grown.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

# Panoramas and tall strips are cropped to these for the layout: a 10:1 panorama at
# row height would be a row of its own a few pixels high.
MIN_ASPECT, MAX_ASPECT = 0.5, 3.0
MAX_GROWTH = 1.5  # a row is grown at most this much over the wanted height


@dataclass(frozen=True)
class CellSizes:
    """The cell size of each photo, in rows: ``widths[i]`` x ``heights[i]``."""

    widths: list[int]
    heights: list[int]
    row_starts: list[int]  # the index of each row's first photo

    def __len__(self) -> int:
        return len(self.widths)


def fits_in_row(widths: list[int], spacing: int, width: int) -> bool:
    """QListView's icon-mode flow keeps cells in one row while, with ``spacing`` before
    each cell and after the last, they end short of ``width`` (the layout's bounds) by
    a pixel or more (measured on Qt 6: it steps a cell's width plus the spacing)."""
    return sum(widths) + spacing * (len(widths) + 1) < width


def justify(aspects: np.ndarray, width: int, row_height: int, spacing: int) -> CellSizes:
    """Cells for photos of ``aspects`` (width / height) in rows ``width`` px wide."""
    count = len(aspects)
    if not count:
        return CellSizes([], [], [])
    budget = max(1, width - 1)  # fits_in_row is strict
    shape = np.clip(np.nan_to_num(np.asarray(aspects, dtype=np.float64), nan=1.0), MIN_ASPECT, MAX_ASPECT)
    natural = np.concatenate(([0.0], np.cumsum(shape * row_height + spacing))).tolist()
    ratio = np.concatenate(([0.0], np.cumsum(shape))).tolist()
    starts: list[int] = []
    heights: list[float] = []
    start = 0
    while start < count:
        end = bisect_left(natural, natural[start] + budget - spacing, lo=start + 1)
        if end > count:  # the last row: not full, at the wanted height
            starts.append(start)
            heights.append(float(row_height))
            break
        height = _row_height(ratio, start, end, budget, spacing)
        if end - 1 > start:  # or one photo fewer, grown: whichever is nearer the wanted size
            grown = _row_height(ratio, start, end - 1, budget, spacing)
            if grown <= row_height * MAX_GROWTH and grown / row_height < row_height / height:
                end, height = end - 1, grown
        starts.append(start)
        heights.append(height)
        start = end
    return _cells(shape, starts, heights, count, budget, spacing)


def _row_height(ratio: list[float], start: int, end: int, budget: int, spacing: int) -> float:
    """The height at which photos ``start:end`` fill ``budget`` exactly."""
    return (budget - spacing * (end - start + 1)) / (ratio[end] - ratio[start])


def _cells(shape: np.ndarray, starts: list[int], heights: list[float], count: int, budget: int,
           spacing: int) -> CellSizes:
    """Whole-pixel cells: each row's widths are cut from its running total, so rounding
    never adds up past the row's budget."""
    lengths = np.diff(np.asarray([*starts, count]))
    row_of = np.repeat(np.arange(len(starts)), lengths)
    item_height = np.asarray(heights)[row_of]
    running = np.cumsum(shape * item_height)
    before = np.concatenate(([0.0], running))[np.asarray(starts)]  # the total at each row's start
    inside = running - before[row_of]
    ends = np.floor(inside + 1e-6).astype(np.int64)
    first = np.zeros(count, dtype=bool)
    first[starts] = True
    begins = np.where(first, 0, np.concatenate(([0], ends[:-1])))
    widths = np.maximum(1, ends - begins)
    rows_height = np.maximum(1, np.floor(item_height)).astype(np.int64)
    # A photo alone in a row, as wide as the grid (a panorama): never wider than the row.
    widths = np.minimum(widths, max(1, budget - 2 * spacing))  # with the spacing before and after
    return CellSizes(widths.tolist(), rows_height.tolist(), starts)
