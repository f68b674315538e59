"""The text tower on ONNX Runtime with int8 weights: a new query in ~10 ms.

A query is a handful of tokens, so each of the text tower's weights (ViT-B-32: 38M,
151 MB in fp32) takes part in a few products only: the cost is per weight, not per
token. Measured on the 2-core dev machine (ViT-B-32, trimmed to the real tokens):
PyTorch fp32 36-70 ms; ONNX Runtime, each block's attention one fused causal
operator (``onnx_export``), with every product on 8-bit weights in blocks of 32
inputs (a scale each: an outlier channel coarsens one block, not a whole tensor)
9-16 ms per session run, and with the MLP's products dynamic int8 instead 7-11 ms
(``RECIPES``). They agreed with fp32 at cosine >= 0.99966 and >= 0.99949 on 218
texts, against 0.998 for PyTorch's per-tensor dynamic int8.

Built once per model with the image tower (precision int8 on ONNX Runtime), cached
beside it (``onnx_cache``), and checked against the fp32 torch tower on
``PROBES`` before first use on a CPU kind (cosine >= ``AGREEMENT`` each; a recipe
that fails is remembered, and the next one is used). The
token lookup stays in torch (a gather: nothing to quantize); the transformer's
torch weights are released once the ONNX tower is in use.

Imports torch, onnx and onnxruntime: loaded with the model only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import ModelRejected, OnnxUnavailable
from .onnx_cache import cache_entry, import_runtime, load_checked
from .onnx_export import (
    export_text,
    quantize_text_int8,
    quantize_weights_int8,
    weight_quantizer,
)
from .query_pack_source import keep_query_pack
from .torch_helpers import (
    embed_trimmed,
    is_plain_self_attention,
    return_freed_memory,
    text_head,
    trimmable,
)

log = logging.getLogger(__name__)

AGREEMENT = 0.999  # cosine with the fp32 tower, per probe text (as the image tower's bar)
FORMAT = 3  # bump when the export or the quantization changes: old caches are rebuilt
MODEL_FILE = "text-int8.onnx"
# Texts of the kinds searches and label sets send: a word, phrases, long sentences,
# punctuation, digits, accents, other scripts, and the full 77-token width.
PROBES = (
    "dog", "a photo of a dog", "dog on a beach at sunset", "receipt",
    "a screenshot of a chat", "two children playing in the snow in front of a red house",
    "grandma's kitchen, Christmas 2019", "Eiffel Tower at night!!!", "a bowl of pho",
    "café in Zürich", "東京の夜景", "a blurry photo of something", "1984",
    "a close-up photo of a small yellow flower with dew drops on its petals",
    "birthday cake with candles", "a whiteboard covered in equations", "",
    " ".join(["a long caption that goes on and on about a busy street market"] * 8),
)


@dataclass(frozen=True)
class Recipe:
    """One way to quantize the exported tower, cached as its own entry (``tower``)."""

    name: str
    tower: str
    quantize: Callable[[Path, Path], None]


# Fastest first. Each is checked against fp32 before first use on a CPU kind; one that
# disagrees is remembered as such and the next is used (the last one agreed at
# >= 0.99966 on ViT-B-32, the first at >= 0.99949: see ``quantize_text_int8``).
RECIPES = (
    Recipe("dynamic int8 MLP, 8-bit block attention", "text", quantize_text_int8),
    Recipe("8-bit blocks", "text-blocks", quantize_weights_int8),
)


class TextTower(nn.Module):
    """open_clip's text tower after the token lookup: embedded tokens and the positions
    of their end tokens in, features out (what is exported). Shares the model's
    modules; copies nothing."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.transformer = model.transformer
        self.ln_final = model.ln_final
        self.text_projection = model.text_projection
        self.attn_mask = model.attn_mask

    def forward(self, embedded: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        return text_head(self, embedded, ends)


class OnnxText:
    """Encodes token batches like ``fast_layers.encode_text_trimmed``, the transformer
    run by an ONNX Runtime session (thread-safe)."""

    def __init__(self, session: Any, model: Any, path: Path) -> None:
        self.session = session
        self.path = path
        self._model = model  # for the token lookup, which stays in torch

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        embedded, ends = embed_trimmed(self._model, tokens.cpu())
        features = self.session.run(None, {"embedded": embedded.float().contiguous().numpy(),
                                           "ends": ends.numpy()})[0]
        return torch.from_numpy(features)


def onnx_int8_text(model: Any, tokenizer: Any, cache_dir: Path, model_id: str,
                   threads: int = 0) -> OnnxText:
    """``model``'s text tower (fp32, open_clip's causal text transformer) as a checked
    ONNX Runtime tower with int8 weights, built or reused from the cache. Raises
    OnnxUnavailable, with the model untouched, when it cannot be used; on success the
    torch transformer's weights are released."""
    if not text_tower_exportable(model):
        raise OnnxUnavailable("the text tower is not a plain open_clip causal transformer")
    onnxruntime = import_runtime()
    weight_quantizer()  # before exporting: an old ONNX Runtime fails here, in no time
    tower = TextTower(model)
    width = int(model.positional_embedding.shape[1])
    failures: list[tuple[str, str]] = []
    for recipe in RECIPES:
        entry = cache_entry(cache_dir, model_id, recipe.tower, tower, MODEL_FILE, FORMAT,
                            onnxruntime.__version__)
        try:
            session = load_checked(
                entry, lambda path: export_text(tower, width, path), recipe.quantize,
                lambda: _agreement_probe(model, tokenizer), AGREEMENT,
                f"{len(PROBES)} probe texts", threads, spinning=True)
        except ModelRejected as exc:  # this recipe's model: the next one may do
            failures.append((recipe.name, str(exc)))
            continue
        except OnnxUnavailable as exc:  # export, disk: the next recipe would fail too
            failures.append((recipe.name, str(exc)))
            break
        if failures:
            log.info("int8 text tower: %s (%s)", recipe.name, _joined(failures))
        # Released only now: had no session opened, queries stay on the torch tower.
        _release(model)
        text = OnnxText(session, model, entry.model_path)
        # For processes without torch: a `photoclip search` encodes its query from it.
        keep_query_pack(model, tokenizer, text, cache_dir, model_id, entry.model_path, PROBES)
        return text
    raise OnnxUnavailable(failures[0][1] if len(failures) == 1 else _joined(failures))


def _joined(failures: list[tuple[str, str]]) -> str:
    return "; ".join(f"{name} not used: {reason}" for name, reason in failures)


def text_tower_exportable(model: Any) -> bool:
    """Plain self-attention blocks under exactly the causal mask (the exported operator
    applies that mask itself), end-token pooling and a projection matrix."""
    blocks = getattr(getattr(model, "transformer", None), "resblocks", None)
    return (trimmable(model) and blocks is not None and len(blocks) > 0
            and isinstance(getattr(model, "text_projection", None), torch.Tensor)
            and all(is_plain_self_attention(getattr(b, "attn", None)) for b in blocks)
            and _is_causal_mask(model.attn_mask))


def _is_causal_mask(mask: Any) -> bool:
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
        return False
    above = torch.ones(mask.shape, dtype=torch.bool, device=mask.device).triu(1)
    return bool(torch.isneginf(mask[above]).all() and (mask[~above] == 0).all())


def _release(model: Any) -> None:
    """The transformer's weights (most of the text tower) are no longer needed."""
    model.transformer.to("meta")
    return_freed_memory()


def _agreement_probe(model: Any, tokenizer: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The fp32 tower's features for ``PROBES``, and the session's inputs for them."""
    with torch.inference_mode():
        embedded, ends = embed_trimmed(model, tokenizer(list(PROBES)))
        expected = text_head(model, embedded, ends).float().numpy()
    return expected, {"embedded": embedded.float().numpy(), "ends": ends.numpy()}
