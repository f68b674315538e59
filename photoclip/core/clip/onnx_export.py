"""Exporting open_clip's image and text towers to ONNX and quantizing them to int8
(for ``onnx_visual`` and ``onnx_text``, which cache, check and run the results).

Imports torch; onnx and onnxruntime.quantization are imported when used.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import OnnxUnavailable
from .precision import INT8_FLAGS, cpu_flags
from .torch_helpers import PatchEmbedding, is_patchify, linear_from


class _FusedAttention(torch.autograd.Function):
    """Self-attention, projections in, exported as ONNX Runtime's ``Attention`` operator
    (com.microsoft), which dynamic quantization turns into ``QAttention``: the packed
    q/k/v projection on int8 weights and the attention itself in one kernel, instead of
    a MatMul plus slices, transposes and a softmax (12-16% faster on ViT-B-32)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor,
                heads: int) -> torch.Tensor:  # what the operator computes (for tracing)
        batch, tokens, width = x.shape
        qkv = (x @ weight_t + bias).reshape(batch, tokens, 3, heads, width // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(q, k, v)
        return mixed.transpose(1, 2).reshape(batch, tokens, width)

    @staticmethod
    def symbolic(g: Any, x: Any, weight_t: Any, bias: Any, heads: int) -> Any:
        out = g.op("com.microsoft::Attention", x, weight_t, bias, num_heads_i=heads)
        out.setType(x.type())
        return out


class _ExportAttention(nn.Module):
    """``nn.MultiheadAttention`` (plain self-attention) for export: the fused operator
    and the output projection as a plain Linear (a MatMul quantization reaches)."""

    def __init__(self, attention: Any) -> None:
        super().__init__()
        self.heads = attention.num_heads
        # The operator wants the packed weight as (in, 3 * out): a transposed copy,
        # alive only while exporting.
        self.weight_t = nn.Parameter(attention.in_proj_weight.detach().t().contiguous(),
                                     requires_grad=False)
        self.bias = nn.Parameter(attention.in_proj_bias.detach(), requires_grad=False)
        self.out = linear_from(attention.out_proj.weight, attention.out_proj.bias)

    def forward(self, query: Any, key: Any = None, value: Any = None, need_weights: bool = False,
                attn_mask: Any = None) -> tuple[Any, None]:
        if attn_mask is not None:
            raise ValueError("the fused attention exports unmasked self-attention only")
        return self.out(_FusedAttention.apply(query, self.weight_t, self.bias, self.heads)), None


class _CausalAttention(torch.autograd.Function):
    """Causal multi-head attention over projected q, k, v, exported as ONNX Runtime's
    ``MultiHeadAttention`` (com.microsoft) with ``unidirectional``: one operator per
    block. Written out, the head split is ~25 small shape operators per block, and a
    query's few tokens make those cost as much as the weights (measured: 8.8 ms per
    query instead of 12-17)."""

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                heads: int) -> torch.Tensor:  # what the operator computes (for tracing)
        batch, tokens, width = q.shape

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(batch, tokens, heads, width // heads).transpose(1, 2)

        mixed = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=True)
        return mixed.transpose(1, 2).reshape(batch, tokens, width)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, heads: int) -> Any:
        out = g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads,
                   unidirectional_i=1)
        out.setType(q.type())
        return out


class _ExportCausalAttention(nn.Module):
    """``nn.MultiheadAttention`` under a causal mask, for export: q, k and v as three
    Linear layers (matrix products the weight quantizer reaches), the fused causal
    operator, the output projection. The caller's mask is the causal one
    (``onnx_text.text_tower_exportable`` checks), which the operator applies itself."""

    def __init__(self, attention: Any) -> None:
        super().__init__()
        self.heads = attention.num_heads
        weight, bias, width = attention.in_proj_weight, attention.in_proj_bias, attention.embed_dim
        self.q, self.k, self.v = (linear_from(weight[i * width:(i + 1) * width],
                                               bias[i * width:(i + 1) * width]) for i in range(3))
        self.out = linear_from(attention.out_proj.weight, attention.out_proj.bias)

    def forward(self, query: Any, key: Any = None, value: Any = None, need_weights: bool = False,
                attn_mask: Any = None) -> tuple[Any, None]:
        mixed = _CausalAttention.apply(self.q(query), self.k(query), self.v(query), self.heads)
        return self.out(mixed), None


@contextlib.contextmanager
def _exportable(visual: Any) -> Iterator[None]:
    """Attention as the fused operator and the patch embedding as a plain matrix
    product while exporting (sharing the weights): every weight then sits where
    quantization reaches it, and attention exports without the fused PyTorch kernel
    ONNX has no operator for. Restored afterwards."""
    blocks = list(visual.transformer.resblocks)
    attentions, conv = [block.attn for block in blocks], visual.conv1
    try:
        for block in blocks:
            block.attn = _ExportAttention(block.attn)
        if is_patchify(conv):
            visual.conv1 = PatchEmbedding(conv)
        yield
    finally:
        for block, attention in zip(blocks, attentions, strict=True):
            block.attn = attention
        visual.conv1 = conv


def export_visual(visual: Any, path: Path) -> None:
    """``visual`` (fp32, a plain open_clip vision transformer) to an ONNX file, any
    batch size."""
    size = visual.image_size
    height, width = (size, size) if isinstance(size, int) else size
    example = torch.zeros(2, 3, height, width)
    with _exportable(visual), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation notices, not errors
        torch.onnx.export(visual, (example,), str(path), dynamo=False, opset_version=17,
                          input_names=["pixels"], output_names=["features"],
                          dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
                          custom_opsets={"com.microsoft": 1})


def export_text(tower: nn.Module, width: int, path: Path) -> None:
    """A text tower after its token lookup (``onnx_text.TextTower``: embedded tokens and
    end positions in, features out) to an ONNX file, any batch size and length.
    Attention is exported as ONNX Runtime's fused causal operator
    (``_ExportCausalAttention``)."""
    blocks = list(tower.transformer.resblocks)
    attentions = [block.attn for block in blocks]
    example = (torch.zeros(2, 5, width), torch.tensor([4, 2]))
    try:
        for block in blocks:
            block.attn = _ExportCausalAttention(block.attn)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(tower, example, str(path), dynamo=False, opset_version=17,
                              input_names=["embedded", "ends"], output_names=["features"],
                              dynamic_axes={"embedded": {0: "batch", 1: "length"},
                                            "ends": {0: "batch"}, "features": {0: "batch"}},
                              custom_opsets={"com.microsoft": 1})
    finally:
        for block, attention in zip(blocks, attentions, strict=True):
            block.attn = attention


def quantize_weights_int8(source: Path, target: Path) -> None:
    """8-bit weights in blocks of 32 inputs, each with its own scale (ONNX Runtime's
    MatMulNBits), products in int8 with the activations quantized per block too
    (accuracy level 4). A query is a few tokens, so its cost is reading the weights:
    a quarter of fp32's bytes. Per-block scales keep an outlier channel from
    coarsening a whole row, as one scale per activation tensor would."""
    import onnx

    quantizer_module = weight_quantizer()
    config = quantizer_module.DefaultWeightOnlyQuantConfig(
        block_size=32, is_symmetric=True, accuracy_level=4, bits=8)
    chatter = logging.getLogger(quantizer_module.__name__)  # INFO lines per matrix
    level = chatter.level
    chatter.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantizer = quantizer_module.MatMulNBitsQuantizer(onnx.load(str(source)),
                                                              algo_config=config)
            quantizer.process()
            quantizer.model.save_model_to_file(str(target), use_external_data_format=False)
    finally:
        chatter.setLevel(level)


def weight_quantizer() -> Any:
    """ONNX Runtime's weight quantizer module (8-bit ``MatMulNBits`` since ORT 1.22; it
    needs ``onnx_ir``); OnnxUnavailable, saying what is missing, where it cannot be used."""
    try:
        module = _import_keeping_root_logger("onnxruntime.quantization.matmul_nbits_quantizer")
    except ImportError as exc:
        raise OnnxUnavailable(f"ONNX Runtime's weight quantizer cannot be imported ({exc}); "
                              "it needs onnxruntime >= 1.22 and onnx-ir") from None
    if not hasattr(module, "MatMulNBitsQuantizer"):
        raise OnnxUnavailable("this ONNX Runtime has no 8-bit weight quantizer (needs >= 1.22)")
    return module


def _import_keeping_root_logger(name: str) -> Any:
    """Import ``name``, undoing its ``logging.basicConfig(level=INFO)`` (onnxruntime's
    weight quantizer calls it at import): it would print every INFO line of the
    app's own loggers to stderr."""
    import importlib

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return importlib.import_module(name)
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization: int8 weights per output channel (signed: VNNI
    multiplies u8 activations by s8 weights; u8 weights ran at half the speed),
    activations quantized per batch. Products of two activations (attention scores)
    stay fp32."""
    _quantize_dynamic(source, target, ["MatMul", "Gemm", "Attention"])


def quantize_text_int8(source: Path, target: Path) -> None:
    """A text tower's MLP products dynamic int8 (``quantize_int8``'s scheme: one scale
    per activation tensor, VNNI products), the attention projections as 8-bit blocks
    (``quantize_weights_int8``). Measured on ViT-B-32's text tower (218 texts, 2
    cores, the three side by side twice): 8-bit blocks everywhere 10.8-15.9 ms per
    session run, cosine to fp32 >= 0.99966; this 8.7-10.9 ms, >= 0.99949; dynamic
    everywhere 6.6-8.8 ms but >= 0.99918, most of its error from q, k and v, whose
    per-tensor scales coarsen the attention scores."""
    import onnx

    mlp = [node.name for node in onnx.load(str(source)).graph.node
           if node.op_type == "MatMul" and "/mlp/" in node.name]
    if not mlp:  # named otherwise (an empty list would quantize every product)
        quantize_weights_int8(source, target)
        return
    partial = target.with_name(f"{target.stem}-mlp{target.suffix}")
    _quantize_dynamic(source, partial, ["MatMul"], nodes=mlp)
    quantize_weights_int8(partial, target)
    partial.unlink()


def _quantize_dynamic(source: Path, target: Path, op_types: list[str],
                      nodes: list[str] | None = None) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_logging():
        quantize_dynamic(str(source), str(target), op_types_to_quantize=op_types,
                         nodes_to_quantize=nodes, weight_type=QuantType.QInt8,
                         per_channel=True, reduce_range=weights_need_reduced_range(),
                         extra_options={"MatMulConstBOnly": True})


def weights_need_reduced_range() -> bool:
    """7-bit weights where the CPU has no VNNI. Its AVX2 int8 kernel adds pairs of
    u8 x s8 products into int16 (VPMADDUBSW), which saturates with full-range
    weights: measured on an AVX2-only EPYC, the tiny test ViT's image tower agreed
    with fp32 to cosine 0.982 (below the 0.999 bar: every photo fell back to PyTorch
    int8) and with 7-bit weights passed every agreement check. VNNI adds in int32
    and keeps the eighth bit (ONNX Runtime's advice for ``reduce_range``)."""
    return not any(flag in cpu_flags() for flag in INT8_FLAGS)


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """quantize_dynamic advises pre-processing on the root logger, at WARNING, every
    time: a note for its authors' examples, not for PhotoClip's users."""

    def advice(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Please consider to run pre-processing")

    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)
