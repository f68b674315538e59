"""The layers behind the fast CPU paths (see ``precision``): int8 and bf16 image
towers, and a text encoder that runs only the query's real tokens.

Imports torch: loaded with the model, never by `photoclip --help` or `status`.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import OnnxUnavailable
from .precision import int8_engine
from .torch_helpers import (
    PatchEmbedding,
    embed_trimmed,
    is_patchify,
    is_vision_transformer,
    linear_from,
    return_freed_memory,
    text_head,
    trimmable,
)

if TYPE_CHECKING:
    from .onnx_visual import OnnxTarget

log = logging.getLogger(__name__)


def apply_precision(visual: Any, precision: str, onnx: OnnxTarget | None = None) -> tuple[Any, str]:
    """The image tower converted for ``precision`` (in place, so peak memory stays at
    the fp32 model's), and the precision it really runs in: int8 applies to
    open_clip's vision transformers only (other towers, such as the ResNets, stay
    fp32 rather than be quantized in ways nobody has checked). "int8-onnx" needs
    ``onnx`` (where its cache lives) and falls back to PyTorch int8, saying why."""
    if precision in ("int8", "int8-onnx") and not is_vision_transformer(visual):
        log.info("int8 is for vision transformers; %s stays fp32", type(visual).__name__)
        return visual, "fp32"
    if precision == "int8-onnx":
        fast = _onnx_visual(visual, onnx)
        if fast is not None:
            return fast, "int8-onnx"
        precision = "int8" if int8_engine() is not None else "fp32"
    if precision == "int8":
        return int8_visual(visual), "int8"
    if precision == "bf16":
        return visual.to(torch.bfloat16), "bf16"
    return visual, precision


def _onnx_visual(visual: Any, onnx: OnnxTarget | None) -> Any:
    """The ONNX Runtime int8 tower, or None (the reason logged) to fall back. On
    success the torch tower's weights are already released in place, so the
    caller's reference to it holds no memory."""
    from .onnx_visual import onnx_int8_visual

    try:
        if onnx is None:
            raise OnnxUnavailable("no cache folder was given for the exported model")
        return onnx_int8_visual(visual, onnx)
    except OnnxUnavailable as exc:
        log.warning("ONNX Runtime int8 not used: %s; PyTorch int8 instead", exc)
        return None


def fast_text_encoder(model: Any, tokenizer: Any, precision: str,
                      onnx: OnnxTarget | None) -> tuple[Any, str]:
    """The text tower's runner and precision: with the image tower on ONNX Runtime int8,
    the text tower too (``onnx_text``; a query is ~4x faster), else None and "fp32"
    (``encode_text_trimmed`` in torch). A failure is logged and falls back."""
    if precision != "int8-onnx" or onnx is None:
        return None, "fp32"
    from .onnx_text import onnx_int8_text

    try:
        return onnx_int8_text(model, tokenizer, onnx.cache_dir, onnx.model_id), "int8-onnx"
    except OnnxUnavailable as exc:
        log.warning("ONNX Runtime int8 text tower not used: %s; fp32 instead", exc)
    except Exception as exc:  # the image tower works: a text-side surprise must not stop it
        log.warning("ONNX Runtime int8 text tower not used (%s: %s); fp32 instead",
                    type(exc).__name__, exc, exc_info=True)
    return None, "fp32"


def int8_visual(visual: Any) -> Any:
    """Every matrix product of a vision transformer on int8 weights (dynamic
    quantization): the blocks' attention and MLP, and the patch embedding. Pooling
    and the final projection (a bare tensor) stay fp32."""
    engine = int8_engine()
    if engine is not None:
        torch.backends.quantized.engine = engine
    # Block by block, the rewritten layers sharing the original tensors: at any moment
    # only one block exists in both precisions, so converting never holds a second
    # copy of the model (peak memory must stay at or below fp32's).
    for block in visual.transformer.resblocks:
        block.attn = LinearAttention(block.attn)
        _quantize_in_place(block)
    if is_patchify(visual.conv1):
        visual.conv1 = PatchEmbedding(visual.conv1)
        _quantize_in_place(visual.conv1)
    return_freed_memory()
    return visual


def _quantize_in_place(module: nn.Module) -> None:
    with warnings.catch_warnings():  # torch.ao.quantization's move to torchao, announced
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.ao.quantization.quantize_dynamic(module, {nn.Linear}, dtype=torch.qint8,
                                               inplace=True)


class LinearAttention(nn.Module):
    """``nn.MultiheadAttention`` (batch first, self-attention) as two ``nn.Linear`` and
    scaled dot-product attention: the same function, with every weight in a layer
    that quantization can reach."""

    def __init__(self, attention: Any) -> None:
        super().__init__()
        self.heads = attention.num_heads
        self.qkv = linear_from(attention.in_proj_weight, attention.in_proj_bias)
        self.out = linear_from(attention.out_proj.weight, attention.out_proj.bias)

    def forward(self, query: Any, key: Any = None, value: Any = None, need_weights: bool = False,
                attn_mask: Any = None) -> tuple[Any, None]:
        batch, tokens, width = query.shape
        qkv = self.qkv(query).reshape(batch, tokens, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.out(mixed.transpose(1, 2).reshape(batch, tokens, width)), None


def encode_text_trimmed(model: Any, tokens: Any) -> Any:
    """open_clip's ``encode_text``, run only over the positions up to the longest
    query's end token instead of all 77 (a query is a few tokens).

    The text transformer is causal: a position never sees later ones, so the
    padding after the end token cannot change the features taken at it. Falls back
    to ``model.encode_text`` for models built differently."""
    if not trimmable(model):
        return model.encode_text(tokens)
    return text_head(model, *embed_trimmed(model, tokens))
