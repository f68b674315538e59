"""The model: an open_clip image/text encoder behind a small protocol.

``encoder`` loads a model (``download`` fetches weights through the Hugging Face cache);
``precision`` chooses fp32/fp16/int8 for the device; ``fast_layers`` trims and fuses the
CPU int8 towers; ``onnx_export``, ``onnx_text``, ``onnx_visual`` and ``onnx_cache`` build and
keep the ONNX Runtime towers; ``torch_helpers`` holds what the fast layers and the exporters
share; ``errors`` the exceptions every side raises. ``query_pack`` (written by
``query_pack_source``), ``bpe_tokenizer``, ``ort_session`` and ``pack_first`` answer text
queries from a cached ONNX text tower without importing torch (a cold ``photoclip search``).

May import: ``models``, ``paths``, ``files.atomic``. torch and open_clip only inside functions.
"""
