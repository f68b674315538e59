"""Justified rows: each full row fills the width exactly, photos keep their shapes, and
the cells fit QListView's flow, so it breaks the rows where the layout did."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photoclip.ui.justified import MAX_ASPECT, fits_in_row, justify, squares


def _rows(cells, count: int) -> list[range]:
    starts = [*cells.row_starts, count]
    return [range(a, b) for a, b in itertools.pairwise(starts)]


def test_equal_squares_fill_the_row_at_the_wanted_height() -> None:
    cells = justify(np.ones(6, np.float32), width=401, row_height=100, spacing=0)
    assert cells.row_starts == [0, 4]
    assert cells.widths == [100] * 6 and cells.heights == [100] * 6


def test_full_rows_fill_the_width_and_the_flow_breaks_where_the_layout_does() -> None:
    rng = np.random.default_rng(3)
    aspects = rng.choice([4 / 3, 3 / 2, 2 / 3, 3 / 4, 1.0, 16 / 9], size=500)
    width, spacing = 1000, 2
    cells = justify(aspects, width, 160, spacing)
    rows = _rows(cells, len(aspects))
    assert rows[-1].stop == 500 and len(rows) > 50
    for number, row in enumerate(rows):
        widths = [cells.widths[i] for i in row]
        assert fits_in_row(widths, spacing, width)
        assert len({cells.heights[i] for i in row}) == 1  # one height a row
        if number < len(rows) - 1:
            # Full: to the pixel (the flow wants it short of the bounds by one), and the
            # next photo would not fit, so QListView wraps here too.
            assert sum(widths) + spacing * (len(widths) + 1) == width - 1
            assert not fits_in_row([*widths, cells.widths[row.stop]], spacing, width)
            # Shapes kept: each cell's width over height is its photo's, but for whole
            # pixels (a width rounded, a height cut by under a pixel each).
            for i in row:
                slack = (1 + aspects[i]) / cells.heights[i]
                assert cells.widths[i] / cells.heights[i] == pytest.approx(aspects[i], abs=slack)
    heights = [cells.heights[r.start] for r in rows[:-1]]
    assert min(heights) > 0.66 * 160 and max(heights) <= 1.5 * 160
    assert cells.heights[rows[-1].start] == 160  # the last row is not stretched


def test_a_panorama_is_cropped_and_never_wider_than_the_row() -> None:
    cells = justify(np.asarray([12.0, 1.0]), width=300, row_height=200, spacing=2)
    assert cells.widths[0] <= 300 - 1 - 2 * 2
    assert cells.widths[0] / cells.heights[0] == pytest.approx(MAX_ASPECT, rel=0.02)
    assert fits_in_row(cells.widths[:1], 2, 300)


def test_nothing_to_lay_out() -> None:
    cells = justify(np.ones(0, np.float32), 800, 160, 2)
    assert len(cells) == 0 and cells.row_starts == []


def test_each_section_starts_a_row_under_its_header() -> None:
    aspects = np.asarray([1.5] * 5 + [1.0] * 2 + [0.75] * 9)
    width, spacing, header = 900, 4, 28
    cells = justify(aspects, width, 150, spacing, sections=[5, 7], header=header)
    rows = _rows(cells, len(aspects))
    starts = [r.start for r in rows]
    assert {0, 5, 7} <= set(starts)  # a section never shares a row with the one before
    for row in rows:
        widths = [cells.widths[i] for i in row]
        assert fits_in_row(widths, spacing, width)
        if row.stop in (5, 7):  # a section's last row: its photos at the wanted height, no more
            assert all(cells.heights[i] - (header if cells.headed[i] >= 0 else 0) == 150 for i in row)
            assert cells.widths[row.stop - 1] == int(aspects[row.stop - 1] * 150)
    for section in (0, 5, 7):
        first_row = next(r for r in rows if r.start == section)
        assert all(cells.headed[i] == section for i in first_row)
        assert all(cells.heights[i] == cells.heights[section] for i in first_row)
    assert cells.heights[5] == 150 + header  # a short section's row: the wanted height under its band
    headed = {i for i, s in enumerate(cells.headed) if s >= 0}
    assert all(cells.headed[i] == -1 for i in range(len(aspects)) if i not in headed)
    assert cells.header == header
    # Without sections: no band.
    plain = justify(aspects, width, 150, spacing)
    assert plain.header == 0 and set(plain.headed) == {-1}
    # One section is no section: no band either.
    assert justify(aspects, width, 150, spacing, sections=[], header=header).header == 0


def test_squares_fill_rows_and_sections_start_their_own() -> None:
    cells = squares(10, width=4 + 3 * (50 + 4) + 20, side=50, spacing=4, sections=[4], header=20)
    assert cells.row_starts == [0, 3, 4, 7]  # three a row; the section at 4 starts a row
    assert set(cells.widths) == {50}
    assert [cells.heights[i] for i in (0, 3, 4, 7)] == [70, 50, 70, 50]
    assert [cells.headed[i] for i in range(10)] == [0, 0, 0, -1, 4, 4, 4, -1, -1, -1]
