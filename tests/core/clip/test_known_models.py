"""The table of models Settings offers, and the arithmetic of what a switch costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.clip.encoder import ModelSpec
from photoclip.core.clip.known_models import (
    KNOWN_MODELS,
    SwitchCost,
    about,
    arch_in_name,
    custom_spec,
    describe_switch,
    known_model,
    measured_rates,
    switch_cost,
)
from photoclip.core.settings import DEFAULT_MODEL

LARGE = "ViT-L-14:laion2b_s32b_b82k"


def test_every_entry_is_a_spec_photoclip_takes_with_plausible_numbers() -> None:
    specs = [model.spec for model in KNOWN_MODELS]
    assert len(set(specs)) == len(specs) == 7
    assert len({model.name for model in KNOWN_MODELS}) == 7
    assert specs[0] == DEFAULT_MODEL and known_model(DEFAULT_MODEL) is KNOWN_MODELS[0]
    for model in KNOWN_MODELS:
        parsed = ModelSpec.parse(model.spec)
        assert (parsed.text, parsed.open_clip_name) == (model.spec, model.arch)
        assert parsed.pretrained == model.spec.partition(":")[2] and parsed.local_weights is None
        assert model.download_mb > 0 and model.gflops > 0 and 0 < model.imagenet_top1 < 1
        assert model.licence in ("MIT", "Apache-2.0") and model.dim in (512, 768, 1024)
    assert [m.spec for m in KNOWN_MODELS if m.multilingual] == [
        "xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k"]
    assert known_model(f"  {LARGE} ") is KNOWN_MODELS[5] and known_model("ViT-L-14:x") is None


def test_the_table_agrees_with_open_clips_registry() -> None:
    import open_clip
    from open_clip.pretrained import get_pretrained_cfg

    registered = set(open_clip.list_pretrained())
    for model in KNOWN_MODELS:
        arch, tag = model.spec.split(":")
        assert (arch, tag) in registered, model.spec
        assert open_clip.get_model_config(arch)["embed_dim"] == model.dim, model.spec
        assert get_pretrained_cfg(arch, tag)["hf_hub"].rstrip("/") == model.hf_hub, model.spec


def test_switch_cost_divides_the_photos_by_the_rate_measured_for_that_model() -> None:
    rates = {LARGE: 7.1, DEFAULT_MODEL: 24.0}
    assert switch_cost(LARGE, 1234, rates) == SwitchCost(1234, 1234 / 7.1, 1710, 7.1)
    assert switch_cost(DEFAULT_MODEL, 600, rates) == SwitchCost(600, 25.0, 605, 24.0)
    # Another model's speed is never borrowed: not measured is said as such.
    assert switch_cost("ViT-H-14:laion2b_s32b_b79k", 50, rates) == SwitchCost(50, None, 3944)
    assert switch_cost(LARGE, 10) == SwitchCost(10, None, 1710)
    assert switch_cost("hf-hub:org/repo", 10, {"hf-hub:org/repo": 2.0}) == SwitchCost(10, 5.0, None, 2.0)
    assert switch_cost("not a spec", 10, rates) == SwitchCost(10, None, None)


def test_the_cost_reads_as_a_sentence() -> None:
    assert describe_switch(SwitchCost(1234, 1234 / 7.1, 1710, 7.1)) == (
        "Re-encodes 1,234 photos: about 3 min at this computer's measured 7.1 photos/s. "
        "Downloads 1.7 GB the first time.")
    assert describe_switch(SwitchCost(1, None, None)) == (
        "Re-encodes 1 photo: speed not measured on this computer yet.")
    assert describe_switch(SwitchCost(0, None, 605)) == (
        "Nothing is indexed yet: nothing to re-encode. Downloads 605 MB the first time.")
    assert describe_switch(SwitchCost(90_000, 7500.0, 3944, 12.0)) == (
        "Re-encodes 90,000 photos: about 2 h 5 min at this computer's measured 12.0 photos/s. "
        "Downloads 3.9 GB the first time.")


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "under a minute"), (59.9, "under a minute"), (60.0, "about 1 min"),
    (150.0, "about 3 min"), (173.8, "about 3 min"), (3569.0, "about 59 min"), (3599.0, "about 1 h"),
    (7500.0, "about 2 h 5 min"), (36_000.0, "about 10 h"),
])
def test_about_rounds_to_minutes(seconds: float, text: str) -> None:
    assert about(seconds) == text


def test_measured_rates_keep_only_real_speeds(tmp_path: Path) -> None:
    meta = {f"rate:{DEFAULT_MODEL}": "24.3", f"rate:{LARGE}": "garbage",
            "rate:ViT-B-32:openai": "0", "rate:ViT-B-16:laion2b_s34b_b88k": "-3",
            "rate:ViT-H-14:laion2b_s32b_b79k": "nan", "rate:ViT-B-16-SigLIP:webli": "inf",
            f"rate:local-dir:{tmp_path}": "4.5"}
    specs = [model.spec for model in KNOWN_MODELS] + ["nonsense", f"local-dir:{tmp_path}"]
    assert measured_rates(meta.get, specs) == {DEFAULT_MODEL: 24.3, f"local-dir:{tmp_path}": 4.5}
    assert measured_rates({}.get, specs) == {}


def test_a_model_on_disk_becomes_a_spec(tmp_path: Path) -> None:
    folder = tmp_path / "my model"
    folder.mkdir()
    assert custom_spec(folder, "ViT-B-32") == f"local-dir:{folder}"
    named = tmp_path / "vit-b-16-siglip-webli.safetensors"  # the longest known arch wins
    named.write_bytes(b"x" * 100)
    assert custom_spec(named, "ViT-B-32") == f"ViT-B-16-SigLIP:{named}"
    plain = tmp_path / "weights.BIN"
    assert custom_spec(plain, "ViT-L-14") == f"ViT-L-14:{plain}"
    spec = ModelSpec.parse(custom_spec(named, "ViT-B-32"))
    assert (spec.open_clip_name, spec.local_weights) == ("ViT-B-16-SigLIP", named)
    assert arch_in_name("CLIP-ViT-H-14-laion2B.safetensors") == "ViT-H-14"
    assert arch_in_name("model.safetensors") is None
    with pytest.raises(ValueError, match=r"notes\.txt is not a weights file"):
        custom_spec(tmp_path / "notes.txt", "ViT-B-32")
