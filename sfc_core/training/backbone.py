"""Train a backbone on SynthActions the ordinary way: short clips cut from inside the action windows,
random crops and brightness, cross-entropy with label smoothing, one-cycle learning rate."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import models, seeds, synth, transforms


@dataclass(frozen=True)
class BackboneTrainingConfig:
    """Everything one backbone training run depends on; the defaults reproduce the embedded backbone."""

    out: Path
    model: str = "tiny"
    clips: int = 600
    val_clips: int = 100
    epochs: int = 16
    batch_size: int = 24
    lr: float = 3e-3
    seed: int = 0
    synth_version: int = synth.VERSION


@dataclass
class _WindowFrames:
    frames: torch.Tensor  # (N, 3, H, W) float16, resized, around the action window
    window: tuple[int, int]  # action window in local frame indices
    label: int


def _window_frames(spec: synth.ClipSpec, seed: int, span: int, short_side: int) -> _WindowFrames:
    video = synth.render(spec, seed)
    first = max(0, spec.window_start - span)
    last = min(spec.num_frames, spec.window_end + span + 1)
    frames = transforms.resize_short_side(transforms.to_float_frames(list(video[first:last])), short_side)
    return _WindowFrames(frames.half(), (spec.window_start - first, spec.window_end - first), spec.label)


def _sample_clip(item: _WindowFrames, spec: models.InputSpec, rng: np.random.Generator) -> torch.Tensor:
    """A random clip covering as much of the action window as possible, random crop, brightness."""
    span = (spec.frames - 1) * spec.stride + 1
    start, end = item.window
    if end - start + 1 >= span:
        first = rng.integers(start, end - span + 2)
    else:
        first = rng.integers(max(0, end - span + 1), start + 1)
    indices = np.minimum(first + np.arange(spec.frames) * spec.stride, len(item.frames) - 1)
    clip = item.frames[indices].float() * rng.uniform(0.85, 1.15)
    height, width = clip.shape[-2:]
    y, x = rng.integers(0, height - spec.crop + 1), rng.integers(0, width - spec.crop + 1)
    clip = clip[:, :, y : y + spec.crop, x : x + spec.crop].permute(1, 0, 2, 3)
    return transforms.normalize(clip.clamp(0, 1), spec.mean, spec.std)


def train_backbone(config: BackboneTrainingConfig) -> dict:
    """Train backbone `config.model` from scratch on SynthActions; saves float16 weights to `config.out`."""
    seeds.refuse_held_out(config.seed, "training")
    seeds.refuse_held_out(config.seed + seeds.BACKBONE_VALIDATION_OFFSET, "a training run's validation")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model_config = models.get_config(config.model)
    spec = model_config.input_spec
    span = (spec.frames - 1) * spec.stride + 1
    specs = [synth.clip_spec(config.seed, i, version=config.synth_version) for i in range(config.clips)]
    data = [_window_frames(s, config.seed, span, spec.short_side) for s in tqdm(specs, desc="render clips")]
    validation_seed = config.seed + seeds.BACKBONE_VALIDATION_OFFSET
    held_out = [synth.clip_spec(validation_seed, i, version=config.synth_version) for i in range(config.val_clips)]
    val = [_window_frames(s, config.seed + seeds.BACKBONE_VALIDATION_OFFSET, span, spec.short_side) for s in held_out]
    val_views = torch.stack([_sample_clip(v, spec, np.random.default_rng(i)) for i, v in enumerate(val)])
    val_labels = torch.tensor([v.label for v in val])

    model = model_config.builder(model_config.num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    steps = config.epochs * (len(data) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps, pct_start=0.15)
    log = []
    begin = time.time()
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(data))
        losses, correct = [], 0
        batches = range(0, len(order) - config.batch_size + 1, config.batch_size)
        for b in tqdm(batches, desc=f"backbone epoch {epoch + 1}/{config.epochs}", leave=False):
            items = [data[i] for i in order[b : b + config.batch_size]]
            x = torch.stack([_sample_clip(item, spec, rng) for item in items])
            y = torch.tensor([item.label for item in items])
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=0.05)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            correct += (logits.argmax(1) == y).sum().item()
        model.eval()
        with torch.no_grad():
            val_acc = (model(val_views).argmax(1) == val_labels).float().mean().item()
        entry = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "train_acc": correct / (len(batches) * config.batch_size),
            "val_acc_in_window": val_acc,
        }
        log.append(entry)
        tqdm.write(json.dumps(entry))
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, config.out)
    return {"seconds": time.time() - begin, "log": log}
