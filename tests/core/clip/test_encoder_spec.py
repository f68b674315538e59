from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.core.clip.encoder import ModelSpec

REPO = Path(__file__).resolve().parents[3]


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


# Builds random:ARCH in a fresh interpreter and prints the weights' digest. open_clip is
# replaced by a stand-in that initialises a small torch module (importing the real one
# costs seconds): what matters is that _build seeds torch's generator the same way in
# every process. Each child first puts its own generator somewhere else (argv[1]), as a
# caller that already drew random numbers would.
_BUILD_IN_A_FRESH_PROCESS = """
import hashlib, json, sys, types
import torch

def create_model_and_transforms(name, pretrained=None, **kwargs):
    return torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.Linear(16, 8)), None, None

sys.modules["open_clip"] = types.SimpleNamespace(
    create_model_and_transforms=create_model_and_transforms, get_tokenizer=lambda name: None)
from photoclip.core.clip.encoder import ModelSpec, _build

torch.manual_seed(int(sys.argv[1]))
model = _build(ModelSpec.parse("random:ViT-B-32"))[0]
digest = hashlib.sha256()
for name, tensor in sorted(model.state_dict().items()):
    digest.update(name.encode() + tensor.numpy().tobytes())
print(json.dumps({"hash": hash("random:ViT-B-32"), "digest": digest.hexdigest()}))
"""


def test_random_models_are_the_same_in_every_process() -> None:
    """random:ARCH (benchmarks) always builds the same weights, so runs compare and its
    exported ONNX towers are found in the cache again, whatever the process's string
    hash seed and whatever random numbers its caller drew before."""
    children = [
        subprocess.Popen([sys.executable, "-c", _BUILD_IN_A_FRESH_PROCESS, caller_seed],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONHASHSEED": hash_seed})
        for hash_seed, caller_seed in (("1", "11"), ("2", "22"))
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    first, second = results
    assert first["hash"] != second["hash"]  # the processes really hash strings differently
    assert first["digest"] == second["digest"]


def test_random_models_leave_the_callers_random_state_and_real_models_are_not_seeded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import open_clip
    import torch

    from photoclip.core.clip import encoder

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
