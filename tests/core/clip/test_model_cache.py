"""Whether a model's weights are already on this computer: read from a Hugging Face cache
laid out as huggingface_hub lays it out (models--ORG--NAME/refs/main naming a revision,
snapshots/REV/FILE linking to blobs/), never from the network."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from photoclip.core.clip.download import HUB_WEIGHTS, hub_files
from photoclip.core.clip.encoder import ModelSpec
from photoclip.core.clip.known_models import (
    KNOWN_MODELS,
    SwitchCost,
    describe_switch,
    is_downloaded,
    switch_cost,
    weights_repo,
)
from photoclip.core.clip.model_cache import cached_file
from photoclip.core.settings import DEFAULT_MODEL

DEFAULT_REPO = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
REVISION = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


def fake_hub_cache(cache: Path, repo_id: str, files: Iterable[str], revision: str = REVISION,
                   main: str | None = REVISION) -> Path:
    """``files`` of ``repo_id`` cached at ``revision`` as hf_hub_download leaves them: the
    content in blobs/, a link to it in snapshots/; refs/main names ``main`` (None: no ref)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for name in files:
        content = f"weights of {repo_id}/{name}".encode()
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / name)
    if main is not None:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(main)
    return snapshot


def test_the_table_names_the_repository_and_file_open_clip_loads() -> None:
    for model in KNOWN_MODELS:
        spec = ModelSpec.parse(model.spec)
        assert hub_files(spec.open_clip_name, spec.pretrained) == (model.hf_hub, [list(HUB_WEIGHTS)])
        assert weights_repo(model.spec) == model.hf_hub


def test_cached_weights_are_found_and_anything_less_is_not(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    assert not is_downloaded(DEFAULT_MODEL, cache)  # no cache at all
    fake_hub_cache(cache, DEFAULT_REPO, ["open_clip_config.json"])
    assert not is_downloaded(DEFAULT_MODEL, cache)  # the config alone is not the weights
    partial = cache / f"models--{DEFAULT_REPO.replace('/', '--')}" / "blobs" / "f00d.incomplete"
    partial.write_bytes(b"half")  # a download cut short never reaches the snapshot
    assert not is_downloaded(DEFAULT_MODEL, cache)

    snapshot = fake_hub_cache(cache, DEFAULT_REPO, ["open_clip_model.safetensors"])
    assert is_downloaded(DEFAULT_MODEL, cache)
    assert cached_file(DEFAULT_REPO, HUB_WEIGHTS, cache) == snapshot / "open_clip_model.safetensors"
    assert [m.spec for m in KNOWN_MODELS if is_downloaded(m.spec, cache)] == [DEFAULT_MODEL]
    assert not is_downloaded("ViT-B-32:/some/file.safetensors", cache)
    assert not is_downloaded("nonsense", cache)


def test_the_pickled_twin_counts_and_so_does_only_mains_revision(tmp_path: Path) -> None:
    large = "ViT-L-14:laion2b_s32b_b82k"
    repo = "laion/CLIP-ViT-L-14-laion2B-s32B-b82K"
    snapshot = fake_hub_cache(tmp_path, repo, ["open_clip_pytorch_model.bin"])
    # The hub said the repo has no safetensors: huggingface_hub remembers that in .no_exist.
    missing = tmp_path / f"models--{repo.replace('/', '--')}" / ".no_exist" / REVISION
    missing.mkdir(parents=True)
    (missing / "open_clip_model.safetensors").touch()
    assert is_downloaded(large, tmp_path)
    assert cached_file(repo, HUB_WEIGHTS, tmp_path) == snapshot / "open_clip_pytorch_model.bin"
    # main moved on to a revision not downloaded: open_clip would fetch it, so it is not here.
    (tmp_path / f"models--{repo.replace('/', '--')}" / "refs" / "main").write_text("f" * 40)
    assert not is_downloaded(large, tmp_path)
    fake_hub_cache(tmp_path / "no-ref", repo, ["open_clip_model.safetensors"], main=None)
    assert not is_downloaded(large, tmp_path / "no-ref")


def test_an_hf_hub_model_needs_its_config_and_its_weights(tmp_path: Path) -> None:
    fake_hub_cache(tmp_path, "me/my-clip", ["open_clip_model.safetensors"])
    assert weights_repo("hf-hub:me/my-clip") == "me/my-clip" and weights_repo("hf-hub:") is None
    assert not is_downloaded("hf-hub:me/my-clip", tmp_path)
    fake_hub_cache(tmp_path, "me/my-clip", ["open_clip_config.json"])
    assert is_downloaded("hf-hub:me/my-clip", tmp_path)
    assert not is_downloaded("hf-hub:me/other", tmp_path)


def test_without_a_folder_the_cache_huggingface_hub_uses_is_read(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert not is_downloaded(DEFAULT_MODEL)
    fake_hub_cache(tmp_path, DEFAULT_REPO, ["open_clip_model.safetensors"])
    assert is_downloaded(DEFAULT_MODEL)
    # And where HF_HOME points a fresh process (huggingface_hub reads it on import).
    home = tmp_path / "hf-home"
    fake_hub_cache(home / "hub", "timm/ViT-B-16-SigLIP", ["open_clip_model.safetensors"])
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    found = subprocess.run(
        [sys.executable, "-c", "from photoclip.core.clip.known_models import KNOWN_MODELS, is_downloaded;"
         "print([m.spec for m in KNOWN_MODELS if is_downloaded(m.spec)])"],
        env={**env, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "['ViT-B-16-SigLIP:webli']"


def test_a_cached_model_costs_no_download() -> None:
    assert switch_cost("ViT-L-14:laion2b_s32b_b82k", 10, downloaded=True) == SwitchCost(
        10, None, 1710, None, True)
    assert describe_switch(SwitchCost(1234, 1234 / 7.1, 1710, 7.1, downloaded=True)) == (
        "Re-encodes 1,234 photos: about 3 min at this computer's measured 7.1 photos/s. "
        "No download: its weights are on this computer already.")
    assert describe_switch(SwitchCost(0, None, 605, downloaded=True)) == (
        "Nothing is indexed yet: nothing to re-encode. "
        "No download: its weights are on this computer already.")
