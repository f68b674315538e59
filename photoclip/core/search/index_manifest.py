"""The manifest beside a saved index: sealed on save, every field checked on read.

It records what hnswlib's file cannot say (the deleted ids, the manifest's own
version), the file's size and SHA-256, and a SHA-256 of itself, so a reader
knows these are the bytes PhotoClip wrote before it trusts any field.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from .index_format import (
    FORMAT_VERSION,
    HEADER,
    SPACE,
    IndexUnusable,
    file_checksum,
    manifest_path,
)

_MAX_DIM = 1 << 16
_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")


def seal_manifest(meta: dict[str, Any], index_file: Path) -> dict[str, Any]:
    """The manifest with the written file's size and checksum, then its own checksum.

    Round-tripped through JSON first so the digest is over what a reader will parse.
    """
    sealed = json.loads(json.dumps(meta))
    with open(index_file, "rb") as f:
        sealed["index_bytes"] = os.fstat(f.fileno()).st_size
        sealed["index_checksum"] = file_checksum(f)
    sealed["manifest_checksum"] = _manifest_digest(sealed)
    return sealed


def read_checked_manifest(path: Path) -> dict[str, Any]:
    """The manifest beside ``path`` with every field checked, or IndexUnusable."""
    try:
        with open(manifest_path(path), "rb") as f:
            meta = json.loads(f.read())
    except FileNotFoundError:
        if path.exists():
            raise IndexUnusable("index file has no manifest (a save was interrupted)") from None
        raise IndexUnusable("no saved index", damaged=False) from None
    except OSError as exc:
        raise IndexUnusable(f"index manifest could not be read ({exc})") from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise IndexUnusable("index manifest is not valid JSON") from None
    try:
        _check_manifest(meta)
    except RecursionError:  # nested just under json's limit, then re-encoded a few frames deeper
        raise IndexUnusable("index manifest is nested too deeply") from None
    return meta


def _check_manifest(meta: Any) -> None:
    if not isinstance(meta, dict):
        raise IndexUnusable("index manifest is not a JSON object")
    if "index_checksum" not in meta or "manifest_checksum" not in meta:
        raise IndexUnusable("index was saved without checksums (by an older PhotoClip), so it is not trusted")
    if meta["manifest_checksum"] != _manifest_digest(meta):
        raise IndexUnusable("index manifest does not match its checksum")
    deleted, hnsw = meta.get("deleted_ids"), meta.get("hnsw")
    problems = [
        (meta.get("format_version") != FORMAT_VERSION or not _is_int(meta.get("format_version")),
         "unknown format"),
        (not _is_int(meta.get("dim"), 1, _MAX_DIM), "dim"),
        (not _is_int(meta.get("count"), 0), "count"),
        (not _is_int(meta.get("capacity"), 0), "capacity"),
        (not _is_int(meta.get("index_bytes"), HEADER.size), "index_bytes"),
        (not isinstance(meta.get("index_checksum"), str)
         or not _CHECKSUM.fullmatch(meta["index_checksum"]), "index_checksum"),
        (not isinstance(deleted, list) or not all(_is_int(i, 0, 2**63 - 1) for i in deleted)
         or len(set(deleted)) != len(deleted), "deleted_ids"),
        (not isinstance(hnsw, dict) or hnsw.get("space") != SPACE
         or not _is_int(hnsw.get("M"), 2), "hnsw"),
    ]
    for bad, field in problems:
        if bad:
            raise IndexUnusable(f"index manifest has a bad {field}")


def _is_int(value: Any, low: int | None = None, high: int | None = None) -> bool:
    # bool is an int subclass, but `"dim": true` is no dimension.
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _manifest_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of the manifest without this field, in a canonical JSON form."""
    rest = {k: v for k, v in meta.items() if k != "manifest_checksum"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"))
    return f"sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"
