"""What the torch side hands the query pack (``query_pack``): the loaded model's
embeddings, open_clip's tokenizer and the torch path's query vectors to check it by.

Imports torch: called by ``onnx_text`` once its int8 text tower is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .query_pack import PackRows, discard_query_pack, write_query_pack

log = logging.getLogger(__name__)


def keep_query_pack(model: Any, tokenizer: Any, text_tower: Callable[[torch.Tensor], torch.Tensor],
                    cache_dir: Path, model_id: str, onnx_path: Path, probes: Sequence[str]) -> bool:
    """Leave the pack for ``text_tower`` (the checked ONNX Runtime one, at ``onnx_path``)
    unless the model's tokenizer or embeddings are not what the pack reproduces. Never
    raises: the tower works without a pack (the CLI then loads the model)."""
    try:
        rows = _pack_rows(model, tokenizer)
    except Exception as exc:  # an open_clip model built differently
        log.warning("no query pack for %s (%s: %s)", model_id, type(exc).__name__, exc)
        rows = None
    if rows is None:
        discard_query_pack(cache_dir, model_id)
        return False

    def reference_ids(texts: list[str]) -> np.ndarray:
        return tokenizer(texts).numpy()

    def reference_vectors(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            features = text_tower(tokenizer(texts)).float().numpy()
        return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)

    return write_query_pack(cache_dir, model_id, onnx_path, rows, reference_ids,
                            reference_vectors, probes)


def _pack_rows(model: Any, tokenizer: Any) -> PackRows | None:
    """The embeddings as the token lookup adds them (float32), or None: a tokenizer
    other than open_clip's BPE (the packed one could not reproduce it), or a cast."""
    from open_clip.tokenizer import SimpleTokenizer

    if type(tokenizer) is not SimpleTokenizer or tokenizer.reduction_fn is not None:
        log.debug("no query pack: the tokenizer is %s", type(tokenizer).__name__)
        return None
    table, positions = model.token_embedding.weight, model.positional_embedding
    if not (table.dtype == positions.dtype == model.transformer.get_cast_dtype() == torch.float32):
        log.debug("no query pack: the token lookup is not float32")
        return None
    projection = model.text_projection
    dim = projection.out_features if isinstance(projection, torch.nn.Linear) else projection.shape[1]
    scale = getattr(model, "logit_scale", None)  # as ClipEncoder reads it
    return PackRows(table.detach().cpu().numpy(), positions.detach().cpu().numpy(),
                    int(tokenizer.context_length), int(dim),
                    100.0 if scale is None else float(scale.detach().float().exp().cpu()))
