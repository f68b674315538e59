"""What ONNX Runtime sessions share, torch-free: the session settings and the CPU
signature a tower's agreement check is recorded under.

Here, below ``onnx_cache`` (which imports torch for the weights' digests), so that a
process that never imports torch (``query_pack``: a `photoclip search` answered from
the cached text tower) opens its session exactly as the torch side does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .precision import INT8_FLAGS, cpu_flags

# Session settings (ONNX Runtime's config keys) for the image tower. Spinning threads
# hold the cores the decode workers need between batches: with spinning on, 1.16x
# fp32 end to end instead of 1.42x (bench_precision). Dynamic block sizing changed
# nothing. The text tower spins: a query is latency, and its threads waking up for
# each of ~50 small operators cost ~10-15% of it (measured).
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}


def cpu_signature(ort_version: str) -> str:
    """What the int8 kernels ORT picks depend on: a check passed on one CPU kind
    says nothing about another (without VNNI, int8 products can saturate)."""
    found = sorted(f for f in cpu_flags() if f in INT8_FLAGS or f.startswith("avx512"))
    return f"ort {ort_version}; " + (" ".join(found) or "no avx512/vnni")


def open_session(model: Path | bytes, threads: int, onnxruntime: Any, spinning: bool = False) -> Any:
    """A CPU session for ``model`` (a file, or its bytes already read and checked)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    config = SESSION_CONFIG | ({"session.intra_op.allow_spinning": "1"} if spinning else {})
    for key, value in config.items():
        options.add_session_config_entry(key, value)
    options.log_severity_level = 3  # errors only
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
