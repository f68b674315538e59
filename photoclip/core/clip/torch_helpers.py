"""Torch helpers shared by the fast layers (``fast_layers``) and the ONNX exporters
(``onnx_export``, ``onnx_cache``, ``onnx_text``, ``onnx_visual``): which open_clip
towers the fast paths understand, layers that share the model's tensors, the text
tower split at the token lookup, and handing freed weights back to the OS.

Here rather than in ``fast_layers`` so that the ONNX modules, which ``fast_layers``
picks lazily, never import back up into it.

Imports torch: loaded with the model, never by `photoclip --help` or `status`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
from typing import Any

import torch
from torch import nn


def return_freed_memory() -> None:
    """Hand the freed fp32 weights back to the OS. glibc keeps freed heap memory for
    reuse, and the replaced float layers are only freed by the cycle collector: without
    this, the int8 model's process stayed ~40 MB *above* fp32's instead of ~240 MB
    below it (measured)."""
    gc.collect()  # the replaced float modules sit in reference cycles (quantization's)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # musl, another libc: no trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def is_vision_transformer(visual: Any) -> bool:
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
    return (blocks is not None and len(blocks) > 0
            and all(is_plain_self_attention(getattr(b, "attn", None)) for b in blocks)
            and isinstance(getattr(visual, "conv1", None), nn.Conv2d))


def is_plain_self_attention(module: Any) -> bool:
    return (isinstance(module, nn.MultiheadAttention) and module.batch_first
            and module.in_proj_weight is not None and module.in_proj_bias is not None
            and module._qkv_same_embed_dim and module.dropout == 0.0)


def is_patchify(conv: Any) -> bool:
    return (conv.kernel_size == conv.stride and conv.kernel_size[0] == conv.kernel_size[1]
            and conv.padding in ((0, 0), 0) and conv.dilation == (1, 1) and conv.groups == 1)


def linear_from(weight: Any, bias: Any) -> nn.Linear:
    """A Linear layer over the given tensors (shared, not copied)."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                      device="meta")  # no throwaway initialisation of its own weights
    layer.weight = nn.Parameter(weight.detach(), requires_grad=False)
    if bias is not None:
        layer.bias = nn.Parameter(bias.detach(), requires_grad=False)
    return layer


class PatchEmbedding(nn.Module):
    """A stride-p, p x p, unpadded convolution as a matrix product over patches."""

    def __init__(self, conv: Any) -> None:
        super().__init__()
        self.patch = conv.kernel_size[0]
        self.proj = linear_from(conv.weight.reshape(conv.out_channels, -1),
                                conv.bias if conv.bias is not None else None)

    def forward(self, images: Any) -> Any:
        batch, channels, height, width = images.shape
        p = self.patch
        rows, cols = height // p, width // p
        images = images[:, :, : rows * p, : cols * p]  # what the convolution ignores, too
        patches = (images.reshape(batch, channels, rows, p, cols, p)
                   .permute(0, 2, 4, 1, 3, 5).reshape(batch, rows * cols, channels * p * p))
        # Back to the convolution's layout: the caller flattens it again.
        return self.proj(patches).transpose(1, 2).reshape(batch, -1, rows, cols)


def trimmable(model: Any) -> bool:
    # Plain open_clip CLIP with a causal mask and end-token pooling (what the trim relies on).
    return (getattr(model, "text_pool_type", None) == "argmax"
            and getattr(model, "attn_mask", None) is not None
            and getattr(model, "text_projection", None) is not None
            and all(hasattr(model, name) for name in (
                "token_embedding", "positional_embedding", "transformer", "ln_final")))


def embed_trimmed(model: Any, tokens: Any) -> tuple[Any, Any]:
    """The token and position embeddings of the real tokens (the first part of the text
    tower), and where each text's end token is."""
    length = int(tokens.argmax(dim=-1).max()) + 1  # the end token has the largest id
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    embedded = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    return embedded, tokens.argmax(dim=-1)


def text_head(parts: Any, embedded: Any, ends: Any) -> Any:
    """The rest of the text tower: the causal transformer over ``embedded`` (any
    length), the final norm, the features at the end tokens, projected. ``parts`` has
    open_clip's ``transformer``, ``attn_mask``, ``ln_final`` and ``text_projection``."""
    length = embedded.shape[1]
    x = parts.transformer(embedded, attn_mask=parts.attn_mask[:length, :length])
    x = parts.ln_final(x)
    pooled = x[torch.arange(x.shape[0], device=x.device), ends]
    if isinstance(parts.text_projection, torch.nn.Linear):
        return parts.text_projection(pooled)
    return pooled @ parts.text_projection
