"""A text query encoded without torch: the model's "query pack".

The torch side, once it has a checked ONNX Runtime int8 text tower (``onnx_text``),
leaves beside it what a process needs to encode a query without torch
(``keep_query_pack`` in ``query_pack_source``): the token and position embeddings (the
token lookup, which stays in torch there, is a gather), and a manifest naming the
checked text tower. Found by the model id alone: the towers' own cache key needs a
digest of the torch weights. ``PackedTextEncoder`` then encodes a query with the
torch-free tokenizer (``bpe_tokenizer``), a numpy gather and the same ONNX session,
so a cold `photoclip search` never imports torch (~8 s saved).

Files, in ``<models cache>/onnx/``: ``query-pack-<model>-<id hash>.json`` (the
manifest, written last), ``.npy`` (float32 rows: every token, then every position;
fp32 so that a query's vector is bit for bit the torch path's, hence the same ranking)
and ``.rows.npy`` (a CRC-32 of each row: a query checks the few rows it reads, not
~100 MB). Before a manifest is written, the tokenizer's ids are checked against
open_clip's and the packed vectors against the torch path's on the probe texts.

A cache: a pack that is missing, stale (another model, tower file, ONNX Runtime, CPU
kind or vocabulary) or damaged is ignored (a damaged one is deleted), and the next
model load writes it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files.atomic import write_bytes_atomically, write_text_atomically
from .bpe_tokenizer import TOKENIZER_NAME, BpeTokenizer, VocabularyMissing, vocabulary_digest
from .ort_session import cpu_signature, open_session

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the files change: older packs are ignored, then rewritten
AGREEMENT = 0.9999  # cosine with the torch path's vector, per probe text
PREFIX = "query-pack-"


class PackUnusable(Exception):
    """This model has no pack that can be used here; the message says why. ``damaged``:
    its files are not what was checked (else it is missing or stale)."""

    def __init__(self, reason: str, *, damaged: bool = False) -> None:
        super().__init__(reason)
        self.damaged = damaged


@dataclass(frozen=True)
class PackFiles:
    manifest: Path
    embeddings: Path
    row_sums: Path

    @classmethod
    def of(cls, cache_dir: Path, model_id: str) -> PackFiles:
        stem = cache_dir / "onnx" / f"{PREFIX}{_slug(model_id)}-{_id_hash(model_id)}"
        return cls(stem.with_suffix(".json"), stem.with_suffix(".npy"), stem.with_suffix(".rows.npy"))

    def remove(self) -> None:
        for path in (self.manifest, self.embeddings, self.row_sums):  # the manifest first
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def discard_query_pack(cache_dir: Path, model_id: str) -> None:
    """Queries of this model are no longer the pack's to answer (the torch path runs
    another text tower now)."""
    PackFiles.of(cache_dir, model_id).remove()


class PackedTextEncoder:
    """Texts -> unit vectors, as ``ClipEncoder.encode_texts`` gives them on its ONNX
    Runtime text tower, without torch. Thread-safe (the session is; the rest is read)."""

    def __init__(self, manifest: dict[str, Any], table: np.ndarray, row_sums: np.ndarray,
                 session: Any, tokenizer: BpeTokenizer) -> None:
        self.model_id: str = manifest["model_id"]
        self.dim: int = manifest["dim"]
        self.logit_scale: float = manifest["logit_scale"]
        self._vocab: int = manifest["vocab"]
        self._table = table  # memory-mapped: a query reads a few rows of it
        self._row_sums = row_sums
        self._session = session
        self._tokenizer = tokenizer

    @classmethod
    def open(cls, cache_dir: Path, model_id: str, threads: int = 0) -> PackedTextEncoder:
        """The model's pack, checked; raises PackUnusable (missing, stale or damaged)."""
        files = PackFiles.of(cache_dir, model_id)
        try:
            manifest = json.loads(files.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PackUnusable("no query pack yet") from None
        except (OSError, ValueError) as exc:
            raise PackUnusable(f"unreadable manifest ({exc})", damaged=True) from None
        return cls.from_manifest(_checked_manifest(manifest, model_id), files, threads)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], files: PackFiles,
                      threads: int = 0) -> PackedTextEncoder:
        onnxruntime, model, table, row_sums = _verified(manifest, files)
        try:
            session = open_session(model, threads, onnxruntime, spinning=True)  # as onnx_text's
            tokenizer = BpeTokenizer(manifest["context_length"])
        except (OSError, VocabularyMissing) as exc:
            raise PackUnusable(str(exc)) from None
        except Exception as exc:  # ONNX Runtime refusing a file that matches its checksum
            raise PackUnusable(f"ONNX Runtime could not open it ({type(exc).__name__})",
                               damaged=True) from None
        return cls(manifest, table, row_sums, session, tokenizer)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised. Raises PackUnusable on a damaged row."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self._tokenizer(list(texts))
        length = int(ids.argmax(axis=1).max()) + 1  # the end token has the largest id
        ids = ids[:, :length]  # the real tokens only, as embed_trimmed runs them
        positions = np.arange(self._vocab, self._vocab + length)
        self._check_rows(np.concatenate([np.unique(ids), positions]))
        embedded = self._table[ids] + self._table[positions]
        features = self._session.run(None, {"embedded": np.ascontiguousarray(embedded, np.float32),
                                            "ends": ids.argmax(axis=1).astype(np.int64)})[0]
        return _normalised(features)

    encode_texts = encode_text  # the Encoder protocol's name

    def _check_rows(self, rows: np.ndarray) -> None:
        for row in rows.tolist():
            if zlib.crc32(self._table[row].tobytes()) != int(self._row_sums[row]):
                raise PackUnusable(f"embedding row {row} is damaged", damaged=True)


def write_query_pack(cache_dir: Path, model_id: str, onnx_path: Path, rows: PackRows,
                     reference_ids: Callable[[list[str]], np.ndarray],
                     reference_vectors: Callable[[list[str]], np.ndarray],
                     probes: Sequence[str]) -> bool:
    """Leave (or keep) the pack for ``model_id``'s checked text tower at ``onnx_path``.
    ``reference_ids`` is open_clip's tokenizer, ``reference_vectors`` the torch path's
    unit vectors; both must agree on ``probes``, else no pack. Never raises: without
    a pack, queries only cost a torch load. True when a checked pack is there."""
    files = PackFiles.of(cache_dir, model_id)
    try:
        relative = onnx_path.relative_to(files.manifest.parent).as_posix()
        if _current(files, model_id, relative):
            return True
        return _write(files, model_id, relative, onnx_path, rows, reference_ids,
                      reference_vectors, list(probes))
    except Exception as exc:  # a cache: a failure only costs torch on the next query
        log.warning("no query pack for %s (%s: %s): `photoclip search` loads the model",
                    model_id, type(exc).__name__, exc)
        files.remove()
        return False


@dataclass(frozen=True)
class PackRows:
    """What the torch model gives the pack: its embeddings (float32) and a few facts."""

    token_embedding: np.ndarray  # (vocab, width)
    positional_embedding: np.ndarray  # (context length, width)
    context_length: int  # the tokenizer's
    dim: int
    logit_scale: float


def _current(files: PackFiles, model_id: str, relative: str) -> bool:
    """The pack on disk is this tower's and whole (without reading its ~100 MB of rows)."""
    try:
        manifest = json.loads(files.manifest.read_text(encoding="utf-8"))
        checked = _checked_manifest(manifest, model_id)
        _verified(checked, files)
    except (OSError, ValueError, PackUnusable):
        return False
    return checked["onnx_file"] == relative


def _write(files: PackFiles, model_id: str, relative: str, onnx_path: Path, rows: PackRows,
           reference_ids: Callable[[list[str]], np.ndarray],
           reference_vectors: Callable[[list[str]], np.ndarray], probes: list[str]) -> bool:
    tokenizer = BpeTokenizer(rows.context_length)
    if not np.array_equal(tokenizer(probes), reference_ids(probes)):
        log.info("no query pack for %s: its tokenizer is not open_clip's default BPE", model_id)
        files.remove()
        return False
    files.remove()  # no manifest naming half-written rows, whatever happens next
    table = np.ascontiguousarray(np.concatenate([rows.token_embedding, rows.positional_embedding]),
                                 dtype=np.float32)
    sums = np.array([zlib.crc32(row.tobytes()) for row in table], dtype=np.uint32)
    _save_npy(files.embeddings, table)
    sums_bytes = _save_npy(files.row_sums, sums)
    onnxruntime = _runtime()
    model = onnx_path.read_bytes()
    manifest = {
        "format": FORMAT, "model_id": model_id, "onnx_file": relative, "onnx_bytes": len(model),
        "onnx_crc32": zlib.crc32(model), "rows": len(table), "width": int(table.shape[1]),
        "vocab": len(rows.token_embedding), "row_sums_crc32": zlib.crc32(sums_bytes),
        "tokenizer": TOKENIZER_NAME, "vocabulary": vocabulary_digest(),
        "context_length": rows.context_length, "dim": rows.dim, "logit_scale": rows.logit_scale,
        "onnxruntime": onnxruntime.__version__, "cpu": cpu_signature(onnxruntime.__version__)}
    packed = PackedTextEncoder.from_manifest(_checked_manifest(manifest, model_id), files)
    cosine = float((packed.encode_text(probes) * reference_vectors(probes)).sum(axis=1).min())
    if not cosine >= AGREEMENT:  # NaN fails too
        log.warning("no query pack for %s: it disagrees with the model (cosine %.6f < %s)",
                    model_id, cosine, AGREEMENT)
        files.remove()
        return False
    manifest["agreement"] = round(cosine, 7)
    _remove_older_packs(files, model_id)
    write_text_atomically(files.manifest, json.dumps(manifest, indent=2, sort_keys=True))
    log.info("query pack for %s written (cosine >= %.6f with the model on %d probes)",
             model_id, cosine, len(probes))
    return True


def _save_npy(path: Path, array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    write_bytes_atomically(path, data)
    return data


def _remove_older_packs(files: PackFiles, model_id: str) -> None:
    """Packs of this model's earlier weights (a local model replaced in place)."""
    base = model_id.split("#")[0]
    for other in files.manifest.parent.glob(f"{PREFIX}{_slug(model_id)}-*.json"):
        if other == files.manifest:
            continue
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if json.loads(other.read_text(encoding="utf-8")).get("model_id", "").split("#")[0] == base:
                stem = other.with_suffix("")
                PackFiles(other, stem.with_suffix(".npy"), stem.with_suffix(".rows.npy")).remove()


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int, "model_id": str, "onnx_file": str, "onnx_bytes": int, "onnx_crc32": int,
    "rows": int, "width": int, "vocab": int, "row_sums_crc32": int, "tokenizer": str,
    "vocabulary": str, "context_length": int, "dim": int, "logit_scale": (int, float),
    "onnxruntime": str, "cpu": str}


def _checked_manifest(manifest: Any, model_id: str) -> dict[str, Any]:
    """The parsed manifest if it is a pack of ``model_id`` in this format, fields typed."""
    if not isinstance(manifest, dict):
        raise PackUnusable("the manifest is not an object")
    for key, kind in _FIELDS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise PackUnusable(f"the manifest's {key} is missing or not a {kind}")
    if manifest["format"] != FORMAT:
        raise PackUnusable(f"format {manifest['format']}, not {FORMAT}")
    if manifest["model_id"] != model_id:
        raise PackUnusable(f"made for {manifest['model_id']}")
    if manifest["tokenizer"] != TOKENIZER_NAME:
        raise PackUnusable(f"unknown tokenizer {manifest['tokenizer']}")
    sizes = ("onnx_bytes", "rows", "width", "vocab", "context_length", "dim")
    if (min(manifest[k] for k in sizes) <= 0 or manifest["rows"] != manifest["vocab"]
            + manifest["context_length"] or ".." in Path(manifest["onnx_file"]).parts
            or Path(manifest["onnx_file"]).is_absolute()):
        raise PackUnusable("the manifest's sizes or tower file do not add up")
    return manifest


def _verified(manifest: dict[str, Any], files: PackFiles) -> tuple[Any, bytes, np.ndarray, np.ndarray]:
    """ONNX Runtime, the tower's bytes, the rows and their sums, if all are what the
    manifest says were checked (on this CPU kind, with this vocabulary)."""
    onnxruntime = _runtime()
    if manifest["onnxruntime"] != onnxruntime.__version__:
        raise PackUnusable(f"made for ONNX Runtime {manifest['onnxruntime']}")
    if manifest["cpu"] != cpu_signature(onnxruntime.__version__):
        raise PackUnusable(f"checked on another kind of CPU ({manifest['cpu']})")
    try:
        if manifest["vocabulary"] != vocabulary_digest():
            raise PackUnusable("open_clip's vocabulary changed since it was checked")
        model = _checked_bytes(files.manifest.parent / manifest["onnx_file"],
                               manifest["onnx_bytes"], manifest["onnx_crc32"])
        table, row_sums = _checked_embeddings(files, manifest)
    except FileNotFoundError as exc:  # a tower rebuilt for other weights: stale
        raise PackUnusable(f"{Path(exc.filename or '?').name} is gone") from None
    except (OSError, ValueError, VocabularyMissing) as exc:
        raise PackUnusable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                           damaged=True) from None
    return onnxruntime, model, table, row_sums


def _checked_bytes(path: Path, size: int, crc: int) -> bytes:
    data = path.read_bytes()
    if len(data) != size or zlib.crc32(data) != crc:
        raise PackUnusable(f"{path.name} is not the file it was checked with", damaged=True)
    return data


def _checked_embeddings(files: PackFiles, manifest: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    sums_bytes = files.row_sums.read_bytes()
    if zlib.crc32(sums_bytes) != manifest["row_sums_crc32"]:
        raise PackUnusable(f"{files.row_sums.name} is damaged", damaged=True)
    sums = np.load(io.BytesIO(sums_bytes), allow_pickle=False)
    table = np.load(files.embeddings, mmap_mode="r", allow_pickle=False)
    shape = (manifest["rows"], manifest["width"])
    if sums.shape != shape[:1] or sums.dtype != np.uint32 or table.shape != shape \
            or table.dtype != np.float32:
        raise PackUnusable(f"{files.embeddings.name} has the wrong shape", damaged=True)
    return table, sums


def _runtime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise PackUnusable("ONNX Runtime (the fast extra) is not installed") from None
    return onnxruntime


def _normalised(features: np.ndarray) -> np.ndarray:
    """As ``encoder._normalise`` does it: the same bits as the torch path's vectors."""
    array = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


def _slug(model_id: str) -> str:
    """The model's last path part, readable ("local-dir:/models/my-clip" -> "my-clip")."""
    name = model_id.split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[-48:] or "model"


def _id_hash(model_id: str) -> str:
    return hashlib.blake2b(model_id.encode(), digest_size=5).hexdigest()
