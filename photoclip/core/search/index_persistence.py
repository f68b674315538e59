"""Saving and loading a VectorIndex's two files (hnswlib's file and its manifest).

Saving publishes the pair atomically: the manifest is removed before the index
is replaced and rewritten after, so a crash in between leaves "no manifest"
(load -> None -> rebuild), never a new index with a stale manifest.  Loading
checks the pair (index_files) before hnswlib reads the file, and has hnswlib
read the very file that was checked (by descriptor where the OS allows).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..files.atomic import fsync_dir, fsync_file, temp_sibling, write_temp_text
from .index_files import (
    check_index_file,
    open_index_file,
    path_by_descriptor,
    still_same_file,
    unless_replaced,
)
from .index_format import SPACE, IndexUnusable, manifest_path
from .index_manifest import read_checked_manifest, seal_manifest

if TYPE_CHECKING:  # hnswlib is imported lazily so reading a manifest stays cheap.
    import hnswlib

_Index = TypeVar("_Index")
# Wraps a loaded hnswlib index: (raw, dim, live ids, deleted ids) -> the caller's index.
Adopt = Callable[["hnswlib.Index", int, set[int], set[int]], _Index]


def publish_index_files(path: Path, write_index: Callable[[Path], dict[str, Any]]) -> None:
    """Write the index and its sealed manifest next to ``path``, replacing both atomically.

    ``write_index(tmp)`` writes hnswlib's file to ``tmp`` and returns the manifest;
    the manifest is then sealed with the size and SHA-256 of the fsynced file.
    The caller serialises saves, so two cannot interleave their renames.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_path = manifest_path(path)
    tmp_index = temp_sibling(path)
    tmp_manifest: Path | None = None
    try:
        meta = write_index(tmp_index)
        fsync_file(tmp_index)
        meta = seal_manifest(meta, tmp_index)
        tmp_manifest = write_temp_text(meta_path, json.dumps(meta, indent=1, sort_keys=True))
        meta_path.unlink(missing_ok=True)
        os.replace(tmp_index, path)
        os.replace(tmp_manifest, meta_path)
    except BaseException:
        tmp_index.unlink(missing_ok=True)
        if tmp_manifest is not None:
            tmp_manifest.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def load_checked(path: Path, dim: int, adopt: Adopt[_Index]) -> tuple[_Index, dict[str, Any]]:
    """The saved index at ``path`` as ``adopt`` wraps it, and its manifest; or IndexUnusable
    saying why it must be rebuilt. Read again if a concurrent save replaced the files."""
    return unless_replaced(lambda: _load_or_explain(path, dim, adopt), path)


def _load_or_explain(path: Path, dim: int, adopt: Adopt[_Index]) -> tuple[_Index, dict[str, Any]]:
    try:
        return _load(path, dim, adopt)
    except IndexUnusable:
        raise
    except Exception as exc:  # hnswlib or the OS: the cache is unusable all the same
        raise IndexUnusable(f"index could not be loaded ({type(exc).__name__}: {exc})") from None


def _load(path: Path, dim: int, adopt: Adopt[_Index]) -> tuple[_Index, dict[str, Any]]:
    import hnswlib

    meta = read_checked_manifest(path)
    if meta["dim"] != dim:
        raise IndexUnusable(f"index is {meta['dim']}-d, {dim}-d is wanted", damaged=False)
    deleted = set(meta["deleted_ids"])
    total = meta["count"] + len(deleted)
    with open_index_file(path) as f:
        check_index_file(f, meta)
        raw = hnswlib.Index(space=SPACE, dim=dim)
        by_fd = path_by_descriptor(f)
        raw.load_index(by_fd or str(path), max_elements=max(total, 1))
        if by_fd is None:
            still_same_file(f, path)
    labels = set(raw.get_ids_list())
    if len(labels) != total or not deleted <= labels:
        raise IndexUnusable("index labels do not match its manifest")
    return adopt(raw, dim, labels - deleted, deleted), meta
