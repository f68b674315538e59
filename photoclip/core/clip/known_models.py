"""The CLIP models PhotoClip offers by name, and what switching to one costs.

A table, not a query: Settings lists these without importing open_clip (seconds) or
asking the network. Where each number comes from:

- ``imagenet_top1``, ``gflops``: open_clip's docs/openclip_results.csv (columns
  "ImageNet 1k" and "FLOPs (B)"; mlfoundations/open_clip at 89fb801, June 2026).
- ``download_mb``: the weights file open_clip fetches, as its Hugging Face repository
  (``hf_hub``, from open_clip's pretrained.py) lists it: 605 MB (laion ViT-B-32 and
  timm's OpenAI ViT-B-32), 813 MB (timm/ViT-B-16-SigLIP), 1.71 GB (laion ViT-L-14),
  3.94 GB (laion ViT-H-14: 3,944,552,236 bytes), 1.46 GB (laion xlm-roberta ViT-B-32).
  Every one is fp32, 4 bytes a parameter, so "params (M)" in the results CSV times 4
  gives the same figures; ViT-B-16 laion2b (149.62 M parameters: 599 MB) is that
  product, its repository's listing not having been seen.
- ``licence``: the weights' licence on the model card. LAION's OpenCLIP weights: MIT.
  OpenAI's CLIP: MIT (github.com/openai/CLIP's LICENSE; timm's re-packaged copy, which
  open_clip downloads, is tagged apache-2.0). SigLIP (timm/ViT-B-16-SigLIP): Apache-2.0.
- ``dim``: ``embed_dim`` in open_clip's model_configs/ARCH.json.

Speed is not in the table: it depends on the computer. The worker measures photos/s
while indexing; a rate recorded in the catalog meta under ``rate_key(model_id)`` is
what ``switch_cost`` estimates with, and without one it says so rather than guess.

Whether a model's weights are on this computer already (``is_downloaded``) is read from
the Hugging Face cache, where open_clip keeps them: every model in the table loads
open_clip_model.safetensors (or its .bin twin) from its ``hf_hub`` repository.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..settings import DEFAULT_MODEL
from ..units import human_size
from .download import HUB_CONFIG, HUB_WEIGHTS
from .encoder import ModelSpec
from .model_cache import cached_file

RATE_KEY_PREFIX = "rate:"  # catalog meta: photos/s measured on this computer, per model id
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")  # what ModelSpec reads as a file


@dataclass(frozen=True)
class KnownModel:
    spec: str  # as --model and settings.toml take it: ARCH:WEIGHTS
    name: str  # what Settings shows
    download_mb: int  # decimal megabytes, as Hugging Face lists the file
    imagenet_top1: float  # zero-shot ImageNet-1k top-1, 0..1
    gflops: float  # compute per image and text, a hint of relative speed
    licence: str
    multilingual: bool  # searches in languages other than English
    dim: int  # embedding size: the index grows with it
    hf_hub: str  # where open_clip downloads it from

    @property
    def arch(self) -> str:
        return self.spec.partition(":")[0]


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(DEFAULT_MODEL, "ViT-B/32 LAION-2B", 605, 0.6656, 14.78, "MIT", False, 512,
               "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
    KnownModel("ViT-B-32:openai", "ViT-B/32 OpenAI", 605, 0.6332, 14.78, "MIT", False, 512,
               "timm/vit_base_patch32_clip_224.openai"),
    KnownModel("ViT-B-16:laion2b_s34b_b88k", "ViT-B/16 LAION-2B", 599, 0.7023, 41.09, "MIT",
               False, 512, "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"),
    KnownModel("ViT-B-16-SigLIP:webli", "SigLIP ViT-B/16 WebLI", 813, 0.7604, 46.44,
               "Apache-2.0", False, 768, "timm/ViT-B-16-SigLIP"),
    KnownModel("xlm-roberta-base-ViT-B-32:laion5b_s13b_b90k", "Multilingual ViT-B/32 LAION-5B",
               1464, 0.6236, 105.87, "MIT", True, 512,
               "laion/CLIP-ViT-B-32-xlm-roberta-base-laion5B-s13B-b90k"),
    KnownModel("ViT-L-14:laion2b_s32b_b82k", "ViT-L/14 LAION-2B", 1710, 0.7525, 175.33, "MIT",
               False, 768, "laion/CLIP-ViT-L-14-laion2B-s32B-b82K"),
    KnownModel("ViT-H-14:laion2b_s32b_b79k", "ViT-H/14 LAION-2B", 3944, 0.7796, 381.68, "MIT",
               False, 1024, "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"),
)


def known_model(spec: str) -> KnownModel | None:
    """The table's entry for ``spec`` (spaces around it ignored), or None."""
    spec = spec.strip()
    return next((model for model in KNOWN_MODELS if model.spec == spec), None)


def rate_key(model_id: str) -> str:
    return f"{RATE_KEY_PREFIX}{model_id}"


def measured_rates(get_meta: Callable[[str], str | None], specs: Iterable[str]) -> dict[str, float]:
    """{model id: photos/s} for those of ``specs`` with a rate recorded in the catalog meta
    (``get_meta``: Catalog.get_meta). Unparsable specs and values are left out: a speed
    nobody measured is shown as such, never as 0."""
    rates: dict[str, float] = {}
    for spec in specs:
        try:
            model_id = ModelSpec.parse(spec).model_id
        except (ValueError, OSError):  # not a model spec; a weights file gone unreadable
            continue
        try:
            rate = float(get_meta(rate_key(model_id)) or "nan")
        except ValueError:
            continue
        if math.isfinite(rate) and rate > 0:
            rates[model_id] = rate
    return rates


@dataclass(frozen=True)
class SwitchCost:
    photos: int  # to encode again with the new model
    seconds: float | None  # None: no rate measured on this computer for it
    download_mb: int | None  # None: not in the table (a local file, a hub repo)
    rate: float | None = None  # the photos/s the seconds come from
    downloaded: bool = False  # its weights are in the Hugging Face cache already


def switch_cost(spec: str, photo_count: int, rates: Mapping[str, float] | None = None, *,
                downloaded: bool = False) -> SwitchCost:
    """What moving every one of ``photo_count`` photos to ``spec`` costs, from ``rates``
    ({model id: photos/s measured here}, as ``measured_rates`` reads them); ``downloaded``:
    its weights are on this computer (``is_downloaded``), so there is nothing to fetch."""
    try:
        model_id: str | None = ModelSpec.parse(spec).model_id
    except (ValueError, OSError):
        model_id = None
    rate = (rates or {}).get(model_id) if model_id else None
    known = known_model(spec)
    return SwitchCost(photos=photo_count, seconds=photo_count / rate if rate else None,
                      download_mb=known.download_mb if known else None, rate=rate,
                      downloaded=downloaded)


def about(seconds: float) -> str:
    """A duration as an estimate reads: "under a minute", "about 3 min", "about 2 h 5 min"."""
    if seconds < 60:
        return "under a minute"
    minutes = int(seconds / 60 + 0.5)  # halves up: round() would make 2.5 min "2"
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h" + (f" {minutes} min" if minutes else "")


def describe_switch(cost: SwitchCost) -> str:
    """The sentence under Settings' model list, e.g. "Re-encodes 1,234 photos: about 3 min
    at this computer's measured 7.1 photos/s. Downloads 605 MB the first time." """
    if cost.photos == 0:
        text = "Nothing is indexed yet: nothing to re-encode."
    elif cost.seconds is None:
        text = (f"Re-encodes {cost.photos:,} photo{'s' if cost.photos != 1 else ''}: "
                "speed not measured on this computer yet.")
    else:
        text = (f"Re-encodes {cost.photos:,} photo{'s' if cost.photos != 1 else ''}: "
                f"{about(cost.seconds)} at this computer's measured {cost.rate:.1f} photos/s.")
    if cost.downloaded:
        text += " No download: its weights are on this computer already."
    elif cost.download_mb:
        text += f" Downloads {human_size(cost.download_mb * 1_000_000)} the first time."
    return text


def weights_repo(spec: str) -> str | None:
    """The Hugging Face repository open_clip loads ``spec`` from: a known model's
    ``hf_hub``, or an ``hf-hub:ORG/REPO`` spec's; None for anything else (a file on disk)."""
    known = known_model(spec)
    if known is not None:
        return known.hf_hub
    spec = spec.strip()
    if not spec.startswith("hf-hub:"):
        return None
    return spec.removeprefix("hf-hub:").strip() or None


def is_downloaded(spec: str, cache_dir: Path | None = None) -> bool:
    """Whether ``spec``'s weights are in the Hugging Face cache (``cache_dir``, else
    huggingface_hub's own): read from the disk, never the network. An ``hf-hub:`` model
    needs its open_clip_config.json too; a table model, only its weights."""
    repo = weights_repo(spec)
    if repo is None:
        return False
    needed = [HUB_WEIGHTS] if known_model(spec) else [(HUB_CONFIG,), HUB_WEIGHTS]
    return all(cached_file(repo, choices, cache_dir) is not None for choices in needed)


def custom_spec(path: Path, arch: str) -> str:
    """The spec for a model on disk: a folder (open_clip_config.json and weights) is
    ``local-dir:PATH``; a weights file is ``ARCH:FILE``, ARCH from the file's name when it
    names a known architecture, else ``arch``. Raises ValueError for anything else."""
    if path.is_dir():
        return f"local-dir:{path}"
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise ValueError(f"{path.name} is not a weights file ({', '.join(WEIGHT_SUFFIXES)}) "
                         "or a model folder")
    return f"{arch_in_name(path.name) or arch}:{path}"


def arch_in_name(filename: str) -> str | None:
    """The longest known architecture the file name contains ("ViT-B-16-SigLIP" before
    "ViT-B-16"), ignoring case: weights are usually named after their model."""
    lowered = filename.lower()
    archs = sorted({model.arch for model in KNOWN_MODELS}, key=len, reverse=True)
    return next((arch for arch in archs if arch.lower() in lowered), None)
