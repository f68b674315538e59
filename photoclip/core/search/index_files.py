"""Checks the two files of a saved index (the manifest, hnswlib's file) before use.

hnswlib's ``loadIndex`` trusts its file: an entry point, a neighbour id or a
level out of range is followed blindly by the next search (a segfault, or
``RuntimeError: cand error``), and a header may claim any allocation size.  The
index is a cache, so a damaged file must be noticed here and rebuilt instead.

Two layers, both run on every load (once per file per process; a status line
checks only the manifest, the size and the header, see check_index_file):

* a SHA-256 of the whole file, recorded in the manifest when it was saved: a
  match means these are the bytes PhotoClip wrote (it also covers the vectors,
  which no structural check can judge).  SHA-256 rather than BLAKE2: with the
  SHA instructions of current CPUs it hashes ~1.5 GB/s here, BLAKE2b ~0.7 GB/s.
* a structural check of what hnswlib will dereference, vectorised with numpy:
  the header fields against each other and the manifest, the file size the
  header implies, every neighbour id (level 0 and above) and the levels.

The manifest's own checks are in index_manifest, the header's in index_format;
this module checks the rest of the file and reads the pair while a save may land.

File layout (hnswlib 0.8.0 ``HierarchicalNSW::saveIndex``, native byte order,
little-endian on every platform we ship): the header (index_format.HEADER); then
``cur_element_count`` records of ``size_data_per_element`` bytes (level-0 link
list ``[uint32 count | uint32 ids * maxM0]``, whose third byte is the deleted
mark, then the vector, then a ``size_t`` label); then per element a ``uint32``
byte size and that many bytes of upper-level link lists, ``level`` lists of
``[uint32 count | uint32 ids * maxM]``.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

# IndexUnusable and read_checked_manifest are imported from here too (by the library).
from .index_format import CHECKSUM_ALGORITHM, HEADER, Header, IndexUnusable, manifest_path, read_header
from .index_manifest import read_checked_manifest

_READ_ATTEMPTS = 3  # a save replacing the files under a reader, twice in a row, is rare enough

Identity = tuple[int, int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns
_T = TypeVar("_T")


# ---------------------------------------------------------------- hnswlib's file


def check_index_file(f: BinaryIO, meta: dict[str, Any], *, thorough: bool = True) -> Header:
    """Raise IndexUnusable unless the open file is the one ``meta`` (a checked manifest) describes.

    ``thorough=False`` checks the size and the header only: no read of the rest
    of the file, for a status line. The thorough check hashes and walks the whole
    file (~1.5 s per GB), so a file it passed is remembered for this process (by
    its identity, see _identity) and not hashed again.
    """
    actual = os.fstat(f.fileno()).st_size
    if actual != meta["index_bytes"]:
        raise IndexUnusable(f"index file is {actual} bytes, its manifest says {meta['index_bytes']}")
    header = read_header(f)
    deleted = set(meta["deleted_ids"])
    if header.dim != meta["dim"] or header.count != meta["count"] + len(deleted):
        raise IndexUnusable("index header does not match its manifest")
    if not thorough:
        return header
    key = (_identity(os.fstat(f.fileno())), meta["manifest_checksum"])
    if key in _verified:
        return header
    try:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            problem = _problem_in(mm, header, meta["index_checksum"], deleted)
    except OSError:  # a filesystem that cannot map files: read it instead
        f.seek(0)
        problem = _problem_in(f.read(), header, meta["index_checksum"], deleted)
    if problem:
        raise IndexUnusable(problem)
    _remember_verified(key)
    return header


# Files (identity, manifest checksum) that passed the thorough check in this process.
# A save writes a new file (a new inode), and writing in place changes mtime and ctime.
_verified: OrderedDict[tuple[Identity, str], None] = OrderedDict()
_VERIFIED_KEPT = 8
_verified_lock = threading.Lock()


def _remember_verified(key: tuple[Identity, str]) -> None:
    with _verified_lock:
        _verified[key] = None
        while len(_verified) > _VERIFIED_KEPT:
            _verified.popitem(last=False)


def _identity(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _problem_in(mm: mmap.mmap | bytes, header: Header, checksum: str, deleted: set[int]) -> str | None:
    # Returns instead of raising so no traceback keeps numpy views of ``mm``
    # alive when the caller closes it (that would raise BufferError).
    if f"{CHECKSUM_ALGORITHM}:{hashlib.new(CHECKSUM_ALGORITHM, mm).hexdigest()}" != checksum:
        return "index file does not match its checksum"
    try:
        levels = _check_upper_levels(mm, header)
        _check_level0(mm, header, deleted)
    except IndexUnusable as exc:
        return str(exc)
    except Exception as exc:  # numpy refusing a shape or buffer: malformed all the same
        return f"index file is malformed ({type(exc).__name__}: {exc})"
    if header.count and levels[header.entry_point] != header.max_level:
        return "the entry point is not on the top level"
    return None


def _check_level0(buf: mmap.mmap | bytes, h: Header, deleted: set[int]) -> None:
    records = np.ndarray((h.count,), dtype=np.dtype({
        "names": ["links", "label"], "formats": [("<u4", (h.max_m0 + 1,)), "<u8"],
        "offsets": [0, h.label_offset], "itemsize": h.size_per_element}),
        buffer=buf, offset=HEADER.size)
    head = records["links"][:, 0]
    _check_links(records["links"][:, 1:], head & 0xFFFF, h.max_m0, h.count, "level 0")
    labels = records["label"]
    if len(np.unique(labels)) != h.count or (h.count and int(labels.max()) >= 1 << 63):
        raise IndexUnusable("index labels are duplicated or out of range")
    marked = labels[(head >> 16) & 1 == 1]
    if set(marked.tolist()) != deleted:
        raise IndexUnusable("deleted marks do not match the manifest")


def _check_upper_levels(buf: mmap.mmap | bytes, h: Header) -> np.ndarray:
    """Every element's level, after checking the upper-level link lists; see the module doc."""
    start = HEADER.size + h.count * h.size_per_element
    if start > len(buf) or (len(buf) - start) % 4:
        raise IndexUnusable("index file size does not match its header")
    words = np.frombuffer(buf, dtype="<u4", offset=start)
    sizes_at = _walk_sizes(memoryview(buf)[start:].cast("I"), h.count)
    sizes = words[sizes_at]
    step = h.upper_list_bytes
    if (sizes % step).any():
        raise IndexUnusable("an upper-level link list has a partial size")
    levels = (sizes // step).astype(np.int64)
    if h.count and int(levels.max()) > h.max_level:
        raise IndexUnusable("an element is above the top level")
    lists_mask = np.ones(len(words), dtype=bool)
    lists_mask[sizes_at] = False
    lists = words[lists_mask].reshape(-1, h.max_m + 1)
    first_row = np.repeat(np.cumsum(levels) - levels, levels)
    row_level = np.arange(len(lists)) - first_row + 1
    _check_links(lists[:, 1:], lists[:, 0] & 0xFFFF, h.max_m, h.count, "upper levels",
                 levels=levels, row_level=row_level)
    return levels


def _walk_sizes(words: memoryview, count: int) -> np.ndarray:
    """Word offsets of the per-element size fields, which hnswlib chains one after another."""
    at = np.empty(count, dtype=np.int64)
    pos, end = 0, len(words)
    for i in range(count):  # sequential by nature; ~10 ms per 100k elements
        if pos >= end:
            raise IndexUnusable("index file is shorter than its header implies")
        at[i] = pos
        pos += 1 + words[pos] // 4
    if pos != end:
        raise IndexUnusable("index file size does not match its header")
    return at


def _check_links(ids: np.ndarray, counts: np.ndarray, max_links: int, n: int, where: str, *,
                 levels: np.ndarray | None = None, row_level: np.ndarray | None = None) -> None:
    if len(counts) and int(counts.max()) > max_links:
        raise IndexUnusable(f"a {where} link list is too long")
    used = np.arange(max_links) < counts[:, None]
    neighbours = ids[used]
    if len(neighbours) and int(neighbours.max()) >= n:
        raise IndexUnusable(f"a {where} neighbour id is out of range")
    # A search at level l reads the neighbour's level-l list: it must have one.
    if levels is not None and row_level is not None and (
            levels[neighbours] < np.broadcast_to(row_level[:, None], ids.shape)[used]).any():
        raise IndexUnusable(f"a {where} neighbour is missing from its level")


# ---------------------------------------------------------------- reading while a save may land


def inspect_saved(path: Path, *, thorough: bool = True) -> dict[str, Any]:
    """The checked manifest beside ``path`` once its index file passes check_index_file."""
    meta = read_checked_manifest(path)
    try:
        with open_index_file(path) as f:
            check_index_file(f, meta, thorough=thorough)
    except IndexUnusable:
        raise
    except Exception as exc:  # the OS, or a check tripping on damage: unusable all the same
        raise IndexUnusable(f"index file could not be checked ({type(exc).__name__}: {exc})") from None
    return meta


def unless_replaced(attempt: Callable[[], _T], path: Path) -> _T:
    """``attempt()``, again if a concurrent save replaced the files while it ran.

    A reader does not hold the writer lock, so it may read the old manifest and
    the new index file; that is a race, not damage, and must not be reported as such.
    """
    for _ in range(_READ_ATTEMPTS - 1):
        before = _identities(path)
        try:
            return attempt()
        except IndexUnusable as exc:
            if not exc.damaged or _identities(path) == before:
                raise
    return attempt()


def _identities(path: Path) -> tuple[Identity | None, ...]:
    def identity(p: Path) -> Identity | None:
        try:
            return _identity(os.stat(p))
        except OSError:
            return None
    return identity(path), identity(manifest_path(path))


def open_index_file(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise IndexUnusable("index file is missing (its manifest is there)") from None


def path_by_descriptor(f: BinaryIO) -> str | None:
    """A path by which hnswlib opens exactly the file ``f`` checked, even if a
    concurrent save renames another over its name meanwhile (Linux only)."""
    by_fd = f"/proc/self/fd/{f.fileno()}"
    return by_fd if os.path.exists(by_fd) else None


def still_same_file(f: BinaryIO, path: Path) -> None:
    """Without /proc, notice that the file hnswlib read may not be the one checked."""
    checked, now = os.fstat(f.fileno()), os.stat(path)
    if (checked.st_dev, checked.st_ino) != (now.st_dev, now.st_ino):
        raise IndexUnusable("index file was replaced while loading", damaged=False)
