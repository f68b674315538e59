"""Train a tiny open_clip model on synthetic shapes and save it as a local-dir model.

Usage: ``python tests/make_tiny_clip.py OUT_DIR``

The result loads exactly like real weights do in the product::

    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + OUT_DIR)
    tokenizer = open_clip.get_tokenizer("local-dir:" + OUT_DIR)

so tests can exercise the real loading, preprocessing and embedding code paths
without network access or large downloads. Training is seeded and runs on CPU
in well under a minute.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image
from safetensors.torch import save_file

try:
    from tests.synthetic import CLASSES, caption, draw_picture
except ModuleNotFoundError:  # run as a script: tests/ itself is on sys.path
    from synthetic import CLASSES, caption, draw_picture

# A deliberately small CLIP. The vision tower is open_clip's ModifiedResNet
# (selected by a list-valued ``layers``, as in RN50): on CPU it learns shapes
# far faster than an equally cheap ViT, which mostly learned colour in 400
# steps. The 49408-token embedding (vocab of the default BPE tokenizer) is
# about 3.2M of the ~4.6M parameters and is kept frozen during training.
MODEL_CFG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 16},
    "text_cfg": {
        # get_tokenizer("local-dir:...") reads this, so tokens come out 16 long.
        "context_length": 16,
        "vocab_size": 49408,
        "width": 64,
        "heads": 2,
        "layers": 2,
    },
}
# The same CLIP with a small vision transformer: it learns colour more than shape
# in a few hundred steps, but its embedding is trained (not random), which is what
# the precision tests need (the int8 path applies to vision transformers only).
VIT_MODEL_CFG: dict[str, Any] = {
    **MODEL_CFG,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
}
# Only these keys are merged into open_clip's PreprocessCfg; "size" comes from
# vision_cfg.image_size at load time. Mean/std are OpenAI's, like real models.
PREPROCESS_CFG: dict[str, Any] = {
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}
CONFIG_NAME = "open_clip_config.json"
WEIGHTS_NAME = "open_clip_model.safetensors"
MIN_ACCURACY = 0.85

Transform = Callable[[Image.Image], torch.Tensor]
Sample = tuple[Image.Image, int]


def _random_size(rng: random.Random, low: int, high: int) -> tuple[int, int]:
    """Random width/height so the model sees many aspect ratios and scales."""
    return rng.randint(low, high), rng.randint(low, high)


def make_pictures(per_class: int, seed: int, low: int, high: int) -> list[Sample]:
    """``per_class`` pictures of every class as (image, class index) pairs."""
    rng = random.Random(seed)
    return [
        (draw_picture(colour, shape, rng, _random_size(rng, low, high)), label)
        for _ in range(per_class)
        for label, (colour, shape) in enumerate(CLASSES)
    ]


def _pool(per_class: int, seed: int, preprocess: Transform) -> tuple[torch.Tensor, torch.Tensor]:
    """Pre-render the training pool once; drawing per step would dominate runtime."""
    samples = make_pictures(per_class, seed, low=48, high=200)
    images = torch.stack([preprocess(image) for image, _ in samples])
    labels = torch.tensor([label for _, label in samples])
    return images, labels


def clip_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    labels: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric CLIP loss with soft targets.

    A batch may hold several pictures of one class, hence duplicate captions;
    a one-hot target would push apart pairs that really match, so every
    same-class pair shares the target mass instead.
    """
    logits = logit_scale.exp() * image_features @ text_features.t()
    same = (labels[:, None] == labels[None, :]).float()
    targets = same / same.sum(dim=1, keepdim=True)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)) / 2


def _lr_factor(step: int, steps: int, warmup: int) -> float:
    """Linear warm-up then cosine decay (the usual CLIP schedule)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))


def train(
    model: open_clip.CLIP,
    images: torch.Tensor,
    labels: torch.Tensor,
    tokens: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    seed: int,
    lr: float = 2e-3,
) -> None:
    """Contrastive training on random batches drawn from the pre-rendered pool."""
    generator = torch.Generator().manual_seed(seed)
    # Random token vectors already tell the few caption words apart; updating
    # the whole 49408-row table every step would dominate the optimizer cost.
    model.token_embedding.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, steps, warmup=max(1, steps // 20))
    )
    model.train()
    for _ in range(steps):
        index = torch.randint(len(images), (batch_size,), generator=generator)
        batch_labels = labels[index]
        image_features = model.encode_image(images[index], normalize=True)
        # Encode each distinct caption once and gather: same gradients, 4x less text work.
        text_features = model.encode_text(tokens, normalize=True)[batch_labels]
        loss = clip_loss(image_features, text_features, batch_labels, model.logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():  # CLIP caps the temperature at 100
            model.logit_scale.clamp_(0, math.log(100))


def save_local_dir(model: open_clip.CLIP, out_dir: Path,
                   model_cfg: dict[str, Any] | None = None) -> None:
    """Write the two files open_clip's ``local-dir:`` loader looks for."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": model_cfg or MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_NAME))


def load_local_dir(model_dir: Path) -> tuple[open_clip.CLIP, Transform, Callable[..., torch.Tensor]]:
    """Load the model exactly the way the product loads real weights."""
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{model_dir}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{model_dir}")
    model.eval()
    return model, preprocess, tokenizer


@torch.no_grad()
def score_matrix(
    model: open_clip.CLIP,
    preprocess: Transform,
    tokenizer: Callable[..., torch.Tensor],
    images: Sequence[Image.Image],
) -> torch.Tensor:
    """Cosine similarity of every image (rows) to every class prompt (columns)."""
    prompts = [caption(colour, shape) for colour, shape in CLASSES]
    text = model.encode_text(tokenizer(prompts), normalize=True)
    pixels = torch.stack([preprocess(image) for image in images])
    return model.encode_image(pixels, normalize=True) @ text.t()


def _average_precision(scores: torch.Tensor, relevant: torch.Tensor) -> float:
    """AP of one text query ranking all images (higher score = earlier)."""
    hits = relevant[scores.argsort(descending=True)].float()
    precision_at_hit = hits.cumsum(0) / torch.arange(1, len(hits) + 1)
    return float((precision_at_hit * hits).sum() / hits.sum())


def evaluate(model_dir: Path, per_class: int = 20, seed: int = 1234) -> dict[str, float]:
    """Reload from disk, then measure zero-shot accuracy and text->image mAP."""
    model, preprocess, tokenizer = load_local_dir(model_dir)
    samples = make_pictures(per_class, seed, low=200, high=600)
    labels = torch.tensor([label for _, label in samples])
    scores = score_matrix(model, preprocess, tokenizer, [image for image, _ in samples])
    accuracy = float((scores.argmax(dim=1) == labels).float().mean())
    aps = [_average_precision(scores[:, c], labels == c) for c in range(len(CLASSES))]
    return {"zero_shot_accuracy": accuracy, "retrieval_map": sum(aps) / len(aps)}


def build_tiny_clip(
    out_dir: Path,
    *,
    steps: int = 400,
    seed: int = 0,
    batch_size: int = 48,
    pool_per_class: int = 150,
    threads: int = 1,
    model_cfg: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train, save to ``out_dir`` as a local-dir model, reload and evaluate it.

    ``threads`` defaults to 1: on a 2-core box, 2 intra-op threads are only
    ~25% faster when idle but 10-20x slower (OpenMP spin-waits) as soon as
    anything else, e.g. another test process, competes for a core.
    """
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        model_cfg = model_cfg or MODEL_CFG
        model = open_clip.CLIP(**json.loads(json.dumps(model_cfg)))
        # The same resize/centre-crop/normalise pipeline the loader will build.
        preprocess = image_transform_v2(
            PreprocessCfg(size=model.visual.image_size, **PREPROCESS_CFG), is_train=False
        )
        tokenizer = open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
        tokens = tokenizer([caption(colour, shape) for colour, shape in CLASSES])
        images, labels = _pool(pool_per_class, seed, preprocess)
        train(model, images, labels, tokens, steps=steps, batch_size=batch_size, seed=seed)
        train_seconds = time.perf_counter() - started
        save_local_dir(model, Path(out_dir), model_cfg)
        metrics = evaluate(Path(out_dir), seed=seed + 1000)
    finally:
        torch.set_num_threads(previous_threads)
    return {
        **metrics,
        "seconds": time.perf_counter() - started,
        "train_seconds": train_seconds,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
    }


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/make_tiny_clip.py OUT_DIR", file=sys.stderr)
        return 2
    result = build_tiny_clip(Path(argv[0]))
    print(
        f"tiny CLIP -> {argv[0]}: zero-shot accuracy {result['zero_shot_accuracy']:.3f}, "
        f"retrieval mAP {result['retrieval_map']:.3f}, {result['parameters']:,} params, "
        f"{result['steps']} steps, train {result['train_seconds']:.1f}s, total {result['seconds']:.1f}s"
    )
    return 0 if result["zero_shot_accuracy"] >= MIN_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
