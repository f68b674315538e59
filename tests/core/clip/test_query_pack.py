"""The query pack: written beside a checked ONNX text tower, it encodes queries without
torch exactly as the torch side does; a stale or damaged pack is never used."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.clip import pack_first, query_pack
from photoclip.core.clip.encoder import ClipEncoder, ModelSpec
from photoclip.core.clip.pack_first import PackFirstEncoder, torch_would_use_the_pack_tower
from photoclip.core.clip.query_pack import PackedTextEncoder, PackFiles, PackUnusable

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytestmark = pytest.mark.model

QUERIES = ["a red circle", "", "x", "Ünïcödé 東京 🙂", "two yellow triangles and a purple circle "
           "next to each other on a white table, seen from above in the late afternoon sun"]


@dataclass(frozen=True)
class Packed:
    cache: Path
    model_id: str
    expected: np.ndarray  # the torch side's ONNX text tower's unit vectors for QUERIES
    spec: ModelSpec
    torch_side: tuple  # model, tokenizer and OnnxText, as onnx_text hands them to the pack


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Packed:
    """The tiny model's text tower exported by onnx_text (its image tower is a ResNet,
    so the product exports only with a ViT; the text tower is the tiny ViT's)."""
    from photoclip.core.clip.onnx_text import onnx_int8_text

    cache = tmp_path_factory.mktemp("models")
    spec = ModelSpec.parse(f"local-dir:{tiny_model_dir}")
    model, _, tokenizer = ClipEncoder(spec, "cpu", "fp32").load()._parts()
    text = onnx_int8_text(model, tokenizer, cache, spec.model_id)
    features = text(tokenizer(QUERIES)).numpy()
    expected = (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)
    return Packed(cache, spec.model_id, expected, spec, (model, tokenizer, text))


def _copy(packed: Packed, tmp_path: Path) -> Path:
    return Path(shutil.copytree(packed.cache, tmp_path / "models"))


def _manifest(cache: Path, model_id: str) -> dict:
    return json.loads(PackFiles.of(cache, model_id).manifest.read_text())


def test_the_pack_encodes_queries_as_the_torch_side_does(packed: Packed) -> None:
    files = PackFiles.of(packed.cache, packed.model_id)
    assert files.manifest.name.startswith("query-pack-tiny-clip-") and files.embeddings.is_file()
    manifest = _manifest(packed.cache, packed.model_id)
    assert (manifest["vocab"], manifest["context_length"], manifest["dim"]) == (49408, 16, 64)
    assert manifest["agreement"] >= query_pack.AGREEMENT
    assert (files.manifest.parent / manifest["onnx_file"]).is_file()
    encoder = PackedTextEncoder.open(packed.cache, packed.model_id)
    assert np.array_equal(encoder.encode_text(QUERIES), packed.expected)  # the same bits
    one = np.concatenate([encoder.encode_text([q]) for q in QUERIES])
    assert (one * packed.expected).sum(1).min() >= 0.9999
    assert encoder.encode_text([]).shape == (0, 64)


@pytest.mark.parametrize(("field", "value"), [
    ("onnxruntime", "1.0.0"), ("cpu", "ort 1.0.0; avx512_vnni"), ("vocabulary", "0" * 32),
    ("format", 0), ("model_id", "local-dir:/elsewhere"), ("context_length", 77),
    ("onnx_file", "../../outside.onnx"), ("dim", "64")])
def test_a_stale_or_odd_manifest_is_not_used(packed: Packed, tmp_path: Path, field: str,
                                             value: object) -> None:
    cache = _copy(packed, tmp_path)
    manifest = _manifest(cache, packed.model_id)
    manifest[field] = value
    PackFiles.of(cache, packed.model_id).manifest.write_text(json.dumps(manifest))
    with pytest.raises(PackUnusable) as raised:
        PackedTextEncoder.open(cache, packed.model_id)
    assert not raised.value.damaged


def _flip(path: Path, at: float | int) -> None:
    data = bytearray(path.read_bytes())
    where = at if isinstance(at, int) else int(len(data) * at)
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["tower", "row sums", "manifest", "embeddings cut"])
def test_a_damaged_pack_is_refused_as_damaged(packed: Packed, tmp_path: Path, damage: str) -> None:
    cache = _copy(packed, tmp_path)
    files = PackFiles.of(cache, packed.model_id)
    if damage == "tower":
        _flip(files.manifest.parent / _manifest(cache, packed.model_id)["onnx_file"], 0.5)
    elif damage == "row sums":
        _flip(files.row_sums, -3)
    elif damage == "manifest":
        files.manifest.write_bytes(b"\xff\x00 not json")
    else:
        files.embeddings.write_bytes(files.embeddings.read_bytes()[:1000])
    with pytest.raises(PackUnusable) as raised:
        PackedTextEncoder.open(cache, packed.model_id)
    assert raised.value.damaged


def test_a_damaged_row_is_found_when_a_query_reads_it(packed: Packed, tmp_path: Path) -> None:
    cache = _copy(packed, tmp_path)
    files = PackFiles.of(cache, packed.model_id)
    table = np.load(files.embeddings, mmap_mode="r")
    dog = 1929  # "dog</w>"
    offset = files.embeddings.stat().st_size - table.nbytes + dog * table.shape[1] * 4
    _flip(files.embeddings, offset + 2)
    encoder = PackedTextEncoder.open(cache, packed.model_id)
    assert encoder.encode_text(["a red circle"]).shape == (1, 64)  # rows it does not read
    with pytest.raises(PackUnusable, match="row 1929") as raised:
        encoder.encode_text(["a dog"])
    assert raised.value.damaged


def test_no_pack_when_the_tokenizer_or_the_vectors_disagree(
        packed: Packed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photoclip.core.clip.onnx_text import PROBES
    from photoclip.core.clip.query_pack_source import keep_query_pack

    cache = _copy(packed, tmp_path)
    model, tokenizer, text = packed.torch_side
    tower = cache / text.path.relative_to(packed.cache)  # the copy's

    def keep() -> bool:
        return keep_query_pack(model, tokenizer, text, cache, packed.model_id, tower, PROBES)

    class OffByOne(query_pack.BpeTokenizer):
        def __call__(self, texts: list[str] | str) -> np.ndarray:
            return super().__call__(texts) + 1

    PackFiles.of(cache, packed.model_id).manifest.unlink()
    monkeypatch.setattr(query_pack, "BpeTokenizer", OffByOne)
    assert keep() is False
    assert not any(p.name.startswith("query-pack-") for p in (cache / "onnx").iterdir())
    monkeypatch.undo()
    monkeypatch.setattr(query_pack, "AGREEMENT", 1.5)  # no pack can pass
    assert keep() is False
    assert not any(p.name.startswith("query-pack-") for p in (cache / "onnx").iterdir())
    monkeypatch.undo()
    assert keep() is True and PackedTextEncoder.open(cache, packed.model_id).dim == 64


def test_the_search_encoder_answers_from_the_pack_without_loading_the_model(
        packed: Packed, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = _copy(packed, tmp_path)
    encoder = PackFirstEncoder(ClipEncoder(packed.spec, "cpu", "int8", cache_dir=cache), cache)
    assert np.array_equal(encoder.encode_texts(QUERIES), packed.expected)
    assert (encoder.dim, encoder.model_id, encoder.clip.device) == (64, packed.model_id, "unloaded")
    assert encoder.answered_from_pack

    files = PackFiles.of(cache, packed.model_id)
    files.row_sums.write_bytes(b"")
    damaged = PackFirstEncoder(ClipEncoder(packed.spec, "cpu", "int8", cache_dir=cache), cache)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        assert not damaged.answered_from_pack
    assert "query pack" in caplog.text and "damaged" in caplog.text
    assert not files.manifest.exists() and damaged.clip.device == "unloaded"  # made again on load
    got = damaged.encode_texts(QUERIES)
    assert damaged.clip.device == "cpu"  # the model answered
    assert (got * packed.expected).sum(1).min() >= 0.999


@pytest.mark.parametrize(("device", "precision", "gpu", "used"), [
    ("cpu", "int8", False, True), ("auto", "int8", False, True), ("auto", "int8", True, False),
    ("cpu", "fp32", False, False), ("cuda", "int8", False, False), ("mps", "auto", False, False)])
def test_the_pack_is_used_only_where_torch_would_run_its_tower(
        monkeypatch: pytest.MonkeyPatch, device: str, precision: str, gpu: bool, used: bool) -> None:
    monkeypatch.setattr(pack_first, "_may_have_gpu", lambda: gpu)
    assert torch_would_use_the_pack_tower(device, precision) is used
