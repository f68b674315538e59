"""The exceptions the model room raises on one side and catches on another.

Here, below every other module of the room, so that the encoder, the fast layers and
the ONNX towers can share them without importing each other. They stay importable
from where they are raised (``encoder.ModelUnavailable``, ``download.DownloadFailed``,
``onnx_cache.OnnxUnavailable``), which is where the rest of PhotoClip looks for them.
"""

from __future__ import annotations


class ModelUnavailable(Exception):
    """The model cannot be loaded (no network and no cached or local weights...)."""


class DownloadFailed(Exception):
    """Fetching the weights into the Hugging Face cache failed; the message says why."""


class OnnxUnavailable(Exception):
    """An ONNX Runtime tower cannot be used here; the message says why."""


class ModelRejected(OnnxUnavailable):
    """This entry's int8 model cannot be used here: its quantization failed, ONNX
    Runtime cannot open or run it, or it disagrees with fp32. Another quantization
    of the same tower might do (an export or disk failure would fail it too)."""
