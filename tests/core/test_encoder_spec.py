from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.encoder import ModelSpec


@pytest.mark.parametrize(
    ("text", "name", "pretrained"),
    [
        ("ViT-B-32:laion2b_s34b_b79k", "ViT-B-32", "laion2b_s34b_b79k"),
        ("hf-hub:laion/CLIP-ViT-B-32", "hf-hub:laion/CLIP-ViT-B-32", None),
        ("random:ViT-B-32", "ViT-B-32", None),
    ],
)
def test_specs_map_to_open_clip_arguments(text: str, name: str, pretrained: str | None) -> None:
    spec = ModelSpec.parse(text)
    assert (spec.open_clip_name, spec.pretrained, spec.model_id) == (name, pretrained, text)


@pytest.mark.parametrize("text", ["ViT-B-32", ":x", "ViT-B-32:"])
def test_incomplete_specs_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid model"):
        ModelSpec.parse(text)


def test_local_weights_are_fingerprinted(tmp_path: Path) -> None:
    weights = tmp_path / "open_clip_model.safetensors"
    weights.write_bytes(b"a" * 5000)
    spec = ModelSpec.parse(f"local-dir:{tmp_path}")
    first = spec.model_id
    assert first.startswith(f"local-dir:{tmp_path}#")
    assert ModelSpec.parse(f"local-dir:{tmp_path}").model_id == first  # stable
    weights.write_bytes(b"b" * 5000)  # retrained in place, same size
    assert ModelSpec.parse(f"local-dir:{tmp_path}").model_id != first


def test_checkpoint_file_spec_is_absolute_and_fingerprinted(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "w.safetensors").write_bytes(b"x" * 100)
    monkeypatch.chdir(tmp_path)
    spec = ModelSpec.parse("ViT-B-32:w.safetensors")
    assert spec.pretrained == str(tmp_path / "w.safetensors")
    assert spec.model_id.startswith(f"ViT-B-32:{tmp_path}/w.safetensors#")


def test_random_models_are_the_same_in_every_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """random:ARCH (benchmarks) always builds the same weights, so runs compare and its
    exported ONNX towers are found in the cache again; the caller's random state is
    left as it was, and real models are not seeded."""
    import open_clip
    import torch

    from photoclip.core import encoder

    monkeypatch.setattr(open_clip, "create_model_and_transforms",
                        lambda *args, **kwargs: (torch.randn(8), None, None))
    monkeypatch.setattr(open_clip, "get_tokenizer", lambda name: None)
    random_spec = ModelSpec.parse("random:ViT-B-32")
    first, second = (encoder._build(random_spec)[0] for _ in range(2))
    assert torch.equal(first, second)
    torch.manual_seed(5)
    expected = torch.randn(3)
    torch.manual_seed(5)
    encoder._build(random_spec)
    assert torch.equal(torch.randn(3), expected)  # the caller's generator did not move
    real_spec = ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k")
    assert not torch.equal(encoder._build(real_spec)[0], encoder._build(real_spec)[0])
