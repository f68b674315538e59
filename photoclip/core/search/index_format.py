"""What a saved index is made of, and the error that refuses one.

A saved index is two files: hnswlib's file (its layout is in index_files' doc)
and a JSON manifest beside it (index_manifest).  This module holds what both
sides share: the manifest's name and version, the checksum both record, and
hnswlib's header with the checks of its fields against each other, which even
a status line runs (it reads no more of the file than the header).
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# offsetLevel0, max_elements, cur_element_count, size_data_per_element,
# label_offset, offsetData (size_t); maxlevel (int); enterpoint_node (uint);
# maxM, maxM0, M (size_t); mult (double); ef_construction (size_t). No padding.
HEADER = struct.Struct("<6QiI3QdQ")
CHECKSUM_ALGORITHM = "sha256"
FORMAT_VERSION = 1  # of the manifest
SPACE = "cosine"
_NO_ENTRY = 0xFFFFFFFF  # enterpoint_node of an empty index (-1 as unsigned)
_MAX_LEVEL = 64  # an element reaches level l with odds M**-l: 2**-64 at the smallest M
_MAX_M = 10_000  # hnswlib caps M at 10000
_MAX_EF_CONSTRUCTION = 1 << 20


class IndexUnusable(Exception):
    """A saved index that must not be loaded; str() is the reason, for the log.

    ``damaged`` is False for the ordinary cases (nothing saved yet, another
    model's dimension) and True when a file is corrupt, incomplete or untrusted.
    """

    def __init__(self, reason: str, *, damaged: bool = True) -> None:
        super().__init__(reason)
        self.damaged = damaged


@dataclass(frozen=True)
class Header:
    offset_level0: int
    max_elements: int
    count: int
    size_per_element: int
    label_offset: int
    offset_data: int
    max_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    mult: float
    ef_construction: int

    @property
    def dim(self) -> int:
        return (self.label_offset - self.offset_data) // 4

    @property
    def upper_list_bytes(self) -> int:  # size_links_per_element_
        return self.max_m * 4 + 4


def manifest_path(index_path: Path) -> Path:
    return index_path.with_suffix(".json")


def file_checksum(f: BinaryIO) -> str:
    """``sha256:<hex>`` of the whole open file, read from its start."""
    digest = hashlib.new(CHECKSUM_ALGORITHM)
    f.seek(0)
    while chunk := f.read(1 << 20):  # hashlib.file_digest is Python 3.11+
        digest.update(chunk)
    return f"{CHECKSUM_ALGORITHM}:{digest.hexdigest()}"


# ---------------------------------------------------------------- hnswlib's header


def read_header(f: BinaryIO) -> Header:
    f.seek(0)
    raw = f.read(HEADER.size)
    if len(raw) != HEADER.size:
        raise IndexUnusable("index file is shorter than its header")
    header = Header(*HEADER.unpack(raw))
    _check_header(header)
    return header


def _check_header(h: Header) -> None:
    """The header's fields against each other, as hnswlib derives them.

    In order, each check evaluated only once the ones before it passed: M must be
    bounded before ``1/ln(M)`` is computed (M=1 divides by zero, M=0 is a math
    domain error), and damage must always read as IndexUnusable, never as a crash.
    """
    checks: list[tuple[Callable[[], bool], str]] = [
        (lambda: h.offset_level0 != 0, "offsetLevel0 is not 0"),
        (lambda: not 2 <= h.m <= _MAX_M or h.max_m != h.m or h.max_m0 != 2 * h.m, "M/maxM/maxM0 disagree"),
        (lambda: h.offset_data != h.max_m0 * 4 + 4, "offsetData does not follow the level-0 links"),
        (lambda: h.label_offset <= h.offset_data or (h.label_offset - h.offset_data) % 4, "bad vector size"),
        (lambda: h.size_per_element != h.label_offset + 8, "size_data_per_element is inconsistent"),
        (lambda: h.count > h.max_elements, "more elements than capacity"),
        (lambda: not (math.isfinite(h.mult) and math.isclose(h.mult, 1 / math.log(h.m), rel_tol=1e-9)),
         "mult is not 1/ln(M)"),
        (lambda: not h.m <= h.ef_construction <= _MAX_EF_CONSTRUCTION, "ef_construction out of range"),
    ]
    if h.count == 0:
        checks.append((lambda: h.max_level != -1 or h.entry_point != _NO_ENTRY,
                       "empty index with an entry point"))
    else:
        checks.append((lambda: not 0 <= h.max_level <= _MAX_LEVEL, f"max level {h.max_level} out of range"))
        checks.append((lambda: h.entry_point >= h.count, f"entry point {h.entry_point} out of range"))
    for bad, reason in checks:
        if bad():
            raise IndexUnusable(f"index header: {reason}")
