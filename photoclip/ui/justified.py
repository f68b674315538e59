"""Justified rows: photos at their own aspect ratios, each row scaled to fill the grid's
width exactly (Google Photos, Flickr), the last row left at the wanted height; or
squares, as many a row as fit. Qt-free: these turn aspects into cell sizes and rows,
which the photo grid (``photo_grid.py``) places line by line.

The rows are found greedily: photos are added until the row is at least as wide as
the grid at the wanted height, then the row is shrunk to fit, or, when that is nearer
the wanted height, the last photo goes to the next row and the rest are grown.

Sections (the timeline's days or months) start a row of their own under a header
band: the cells of a section's first row are taller by the band (the photo sits under
it), and a section's last row ends where its photos do.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

# Panoramas and tall strips are cropped to these for the layout: a 10:1 panorama at
# row height would be a row of its own a few pixels high.
MIN_ASPECT, MAX_ASPECT = 0.5, 3.0
MAX_GROWTH = 1.5  # a row is grown at most this much over the wanted height


@dataclass(frozen=True)
class CellSizes:
    """Each photo's cell, ``widths[i]`` x ``heights[i]``; the photo fills it, under the
    header band when ``headed[i]`` is not -1 (then it is the first photo of the section
    whose band the cell's row carries)."""

    widths: list[int]
    heights: list[int]
    row_starts: list[int]  # the index of each row's first photo
    headed: list[int] = field(default_factory=list)
    header: int = 0  # px of the header band over a section's first row

    def __len__(self) -> int:
        return len(self.widths)


def fits_in_row(widths: list[int], spacing: int, width: int) -> bool:
    """Cells fit in a row ``width`` px wide with ``spacing`` before each and after the
    last, and a pixel to spare: the rule ``justify`` cuts its rows to."""
    return sum(widths) + spacing * (len(widths) + 1) < width


def justify(aspects: np.ndarray, width: int, row_height: int, spacing: int,
            sections: Sequence[int] = (), header: int = 0) -> CellSizes:
    """Cells for photos of ``aspects`` (width / height) in rows ``width`` px wide;
    ``sections``: the indices where a section starts (0 is one anyway)."""
    count = len(aspects)
    if not count:
        return CellSizes([], [], [])
    budget = max(1, width - 1)  # fits_in_row is strict
    shape = np.clip(np.nan_to_num(np.asarray(aspects, dtype=np.float64), nan=1.0), MIN_ASPECT, MAX_ASPECT)
    natural = np.concatenate(([0.0], np.cumsum(shape * row_height + spacing))).tolist()
    ratio = np.concatenate(([0.0], np.cumsum(shape))).tolist()
    bounds = _bounds(sections, count)
    starts: list[int] = []
    heights: list[float] = []
    for first, stop in pairwise(bounds):
        start = first
        while start < stop:
            end = bisect_left(natural, natural[start] + budget - spacing, lo=start + 1, hi=stop + 1)
            starts.append(start)
            if end > stop:  # the section's last row: not full, at the wanted height
                heights.append(float(row_height))
                break
            height = _row_height(ratio, start, end, budget, spacing)
            if end - 1 > start:  # or one photo fewer, grown: whichever is nearer the wanted size
                grown = _row_height(ratio, start, end - 1, budget, spacing)
                if grown <= row_height * MAX_GROWTH and grown / row_height < row_height / height:
                    end, height = end - 1, grown
            heights.append(height)
            start = end
    return _with_sections(_cells(shape, starts, heights, count, budget, spacing), bounds, header)


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


def _with_sections(cells: CellSizes, bounds: list[int], header: int) -> CellSizes:
    """The header bands over each section's first row (none when all is one section)."""
    count = len(cells)
    heights, headed = cells.heights, [-1] * count
    if header and len(bounds) > 2:
        row_ends = dict(zip(cells.row_starts, [*cells.row_starts[1:], count], strict=True))
        for section in bounds[:-1]:
            for i in range(section, row_ends[section]):
                headed[i] = section
                heights[i] += header
    else:
        header = 0
    return CellSizes(cells.widths, heights, cells.row_starts, headed, header)


def squares(count: int, width: int, side: int, spacing: int, sections: Sequence[int] = (),
            header: int = 0) -> CellSizes:
    """Square cells of ``side``, as many a row as fit in ``width`` with the spacing; each
    section starting a row of its own, under its band."""
    columns = max(1, (width - spacing) // (side + spacing))
    bounds = _bounds(sections, count)
    starts = [start for first, stop in pairwise(bounds) for start in range(first, stop, columns)]
    return _with_sections(CellSizes([side] * count, [side] * count, starts), bounds, header)


def _bounds(sections: Sequence[int], count: int) -> list[int]:
    """Where sections start, with 0 and the end: [0, ..., count]."""
    return [*sorted({0, *(i for i in sections if 0 < i < count)}), count]
