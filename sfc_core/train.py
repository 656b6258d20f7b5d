"""Training: the tiny backbone on SynthActions, then SFC with the backbone frozen.

    python -m sfc_core.train backbone --clips 600 --epochs 14 --seed 0 --out assets/models/tiny_synth.pth
    python -m sfc_core.train sfc --weights assets/models/tiny_synth.pth --clips 600 --epochs 60 --seed 1 \\
        --out assets/models/tiny_synth_sfc.pth

Backbone: the ordinary way an action model is trained, on short clips cut from inside the action
windows. SFC: the backbone never changes; its head runs once per training video (features are
cached), and the SFC module learns from cross-entropy on labels (when there are labels) plus
distillation from the dense 30-view teacher (KL on temperature-softened predictions), so
unlabelled videos train it too. Videos go through the same decode and preprocessing as inference.

SFC for any registered backbone on your own folder of videos (labels optional), on one process or
many with the standard launcher; state is saved every epoch and `--resume` continues from it:

    python -m sfc_core.train sfc --model x3d_s --videos DIR [--labels CSV] --out x3d_s_sfc.pth
    torchrun --nproc_per_node 8 -m sfc_core.train sfc --model slowonly_r50 --videos DIR --out s.pth --resume \\
        --features recompute        # many videos: keep only the targets, recompute head features each step
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from . import distributed, models, synth, transforms, weights
from .pipeline import DenseRecognizer, SFCRecognizer, load_views, position_centres
from .sfc import SFC, save_sfc
from .video import VideoError

VIDEO_SUFFIXES = {".mp4", ".webm", ".mkv", ".avi", ".mov"}


# ---------------------------------------------------------------- backbone


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


def train_backbone(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = models.get_config(args.model)
    spec = config.input_spec
    span = (spec.frames - 1) * spec.stride + 1
    specs = [synth.clip_spec(args.seed, i) for i in range(args.clips)]
    data = [_window_frames(s, args.seed, span, spec.short_side) for s in tqdm(specs, desc="render clips")]
    held_out = [synth.clip_spec(args.seed + 1000, i) for i in range(args.val_clips)]
    val = [_window_frames(s, args.seed + 1000, span, spec.short_side) for s in held_out]
    val_views = torch.stack([_sample_clip(v, spec, np.random.default_rng(i)) for i, v in enumerate(val)])
    val_labels = torch.tensor([v.label for v in val])

    model = config.builder(config.num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * (len(data) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    log = []
    begin = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(data))
        losses, correct = [], 0
        batches = range(0, len(order) - args.batch_size + 1, args.batch_size)
        for b in tqdm(batches, desc=f"backbone epoch {epoch + 1}/{args.epochs}", leave=False):
            items = [data[i] for i in order[b : b + args.batch_size]]
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
            "train_acc": correct / (len(batches) * args.batch_size),
            "val_acc_in_window": val_acc,
        }
        log.append(entry)
        tqdm.write(json.dumps(entry))
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, args.out)
    return {"seconds": time.time() - begin, "log": log}


# ---------------------------------------------------------------- SFC


@dataclass
class _CachedVideo:
    path: str
    features: torch.Tensor | None  # head output of the long clip, float16 (C, T, H, W); None: recomputed
    teacher: torch.Tensor  # dense 30-view mean probabilities
    label: int | None
    in_window: torch.Tensor | None  # (T,) bool: head position's centre frame inside the action
    usefulness: torch.Tensor  # (T,) how well the frozen tail recognises the clip around each position


def position_usefulness(tail: torch.nn.Module, features: torch.Tensor, keep: int, target: int) -> torch.Tensor:
    """Selection target per head position, from the frozen tail itself: run the tail on every window
    of `keep` consecutive positions, take log p(target); a position's usefulness is the mean over the
    windows that contain it. Label-free when `target` is the dense teacher's answer."""
    frames = features.shape[1]
    starts = range(frames - keep + 1)
    with torch.inference_mode():
        windows = torch.stack([features[:, s : s + keep] for s in starts]).float()
        log_p = torch.cat([tail(chunk).log_softmax(1)[:, target] for chunk in windows.split(8)])
    total, count = torch.zeros(frames), torch.zeros(frames)
    for s, value in zip(starts, log_p):
        total[s : s + keep] += value
        count[s : s + keep] += 1
    return total / count


def _read_labels(path: Path | None, names: list[str]) -> dict[str, int]:
    if path is None:
        return {}
    index = {name: i for i, name in enumerate(names)}
    with open(path, newline="") as handle:
        return {row["file"]: index[row["label"]] for row in csv.DictReader(handle)}


def _ground_truth(directory: Path) -> dict[str, tuple[int, int]]:
    path = directory / "ground_truth.json"
    if not path.exists():
        return {}
    clips = json.loads(path.read_text())["clips"]
    return {c["file"]: (c["window_start"], c["window_end"]) for c in clips}


def cache_videos(
    videos: list[Path], labels: dict[str, int], windows: dict[str, tuple[int, int]],
    dense: DenseRecognizer, sfc: SFCRecognizer, keep: int, keep_features: bool = True,
) -> list[_CachedVideo]:
    """Run the frozen head (long clip), the dense teacher and the usefulness target once per video.
    Without `keep_features` only the small targets stay (a few KB per video, not tens of MB) and
    training recomputes the head features from the video at every step: the Kinetics-scale mode."""
    cached = []
    for path in tqdm(videos, desc="head features + dense teacher"):
        _, dense_inputs = load_views(path, dense.config, dense.plan)
        _, sfc_inputs = load_views(path, sfc.config, sfc.plan)
        with torch.inference_mode():
            features = sfc.head(sfc_inputs.views.to(sfc.device))[0]
        in_window = None
        if path.name in windows:
            start, end = windows[path.name]
            sampled = sfc_inputs.frame_indices[0]
            centres = [sampled[c] for c in position_centres(len(sampled), features.shape[1])]
            in_window = torch.tensor([start <= f <= end for f in centres])
        teacher = dense.classify(dense_inputs.views).cpu()
        label = labels.get(path.name)
        target = label if label is not None else int(teacher.argmax())
        usefulness = position_usefulness(sfc.tail, features, keep, target).cpu()
        kept = features.half().cpu() if keep_features else None
        cached.append(_CachedVideo(str(path), kept, teacher, label, in_window, usefulness))
    return cached


def _head_features(items: list[_CachedVideo], recognizer: SFCRecognizer) -> torch.Tensor:
    """(B, C, T, H, W) head features for a batch: cached ones, or decoded and computed now."""
    if all(item.features is not None for item in items):
        return torch.stack([item.features.float() for item in items]).to(recognizer.device)
    views = [load_views(item.path, recognizer.config, recognizer.plan)[1].views for item in items]
    with torch.inference_mode():
        features = recognizer.head(torch.cat(views).to(recognizer.device))
    return features.clone()  # a normal tensor again, so autograd can use it


def _sfc_epoch(sfc, recognizer, cached, optimizer, args, rng, steps: int, train: bool) -> list[float]:
    """One pass over `steps` batches of this rank's videos; returns raw sums (see `_epoch_metrics`)."""
    sfc.train(train)
    device = recognizer.device
    order = rng.permutation(len(cached)) if train else np.arange(len(cached))
    totals = [0.0] * 7  # loss sum, items, correct, labelled, teacher agreements, hit sum, hit items
    for b in range(0, steps * args.batch_size, args.batch_size):
        items = [cached[i] for i in order[b : b + args.batch_size]]
        x = _head_features(items, recognizer)
        with torch.set_grad_enabled(train):
            out = sfc(x, diagnostics=False)
            logits = recognizer.tail(out.features)
            teacher = torch.stack([item.teacher for item in items]).to(device).clamp_min(1e-8)
            t = args.temperature
            soft_teacher = F.softmax(teacher.log() / t, dim=1)
            loss = args.distill * t * t * F.kl_div(F.log_softmax(logits / t, 1), soft_teacher, reduction="batchmean")
            useful = torch.stack([item.usefulness for item in items]).to(device)
            target = F.softmax(useful / args.usefulness_temperature, dim=1)
            loss = loss + args.selection * -(target * F.log_softmax(out.scores, dim=1)).sum(1).mean()
            labelled = [i for i, item in enumerate(items) if item.label is not None]
            if labelled:
                y = torch.tensor([items[i].label for i in labelled], device=device)
                loss = loss + F.cross_entropy(logits[labelled], y)
                totals[2] += (logits[labelled].argmax(1) == y).sum().item()
                totals[3] += len(labelled)
            if train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        totals[0] += loss.item() * len(items)
        totals[1] += len(items)
        totals[4] += (logits.argmax(1) == teacher.argmax(1)).sum().item()
        for item, kept in zip(items, out.kept.cpu()):
            if item.in_window is not None:
                totals[5] += item.in_window[kept].float().mean().item()
                totals[6] += 1
    return totals


def _epoch_metrics(totals: list[float]) -> dict:
    loss, items, correct, labelled, agree, hits, hit_items = totals
    return {
        "loss": loss / max(items, 1),
        "top1": correct / labelled if labelled else None,
        "agreement_with_dense": agree / max(items, 1),
        "hit_rate": hits / hit_items if hit_items else None,
    }


def _backbone_weights(args: argparse.Namespace, context: distributed.Context) -> Path:
    """--weights, else the shipped checkpoint, else the published one (rank 0 downloads first)."""
    if args.weights is not None:
        return args.weights
    shipped = models.get_config(args.model).shipped("backbone")
    if shipped is not None and shipped.exists():
        return shipped
    if context.is_main:
        path = weights.backbone_weights(args.model, progress=weights.progress_bar(args.model))
    distributed.barrier(context)
    return path if context.is_main else weights.backbone_weights(args.model)


def _list_videos(args: argparse.Namespace, scratch: Path, config: models.ModelConfig):
    """(videos, labels, windows): the --videos folder, or SynthActions generated into `scratch`."""
    if args.videos is None:  # SynthActions, labelled, with ground-truth windows
        directory = scratch / "train"
        synth.write_dataset(directory, args.clips, args.seed)
        labels_csv = directory / "labels.csv"
    else:
        directory, labels_csv = args.videos, args.labels
    videos = sorted(p for p in directory.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise ValueError(f"no videos ({', '.join(sorted(VIDEO_SUFFIXES))}) in {directory}")
    return videos, _read_labels(labels_csv, config.labels()), _ground_truth(directory)


def train_sfc(args: argparse.Namespace) -> dict:
    """Train SFC on the frozen backbone: one process, or one rank of a torchrun job (each rank
    caches and trains on every world_size-th video; DDP averages the gradients)."""
    if args.features == "recompute" and args.videos is None:
        raise ValueError("--features recompute reads the videos at every step: give them with --videos DIR")
    context = distributed.setup()
    device = context.device
    torch.manual_seed(args.seed)
    config = models.get_config(args.model)
    backbone_path = _backbone_weights(args, context)
    backbone = models.create(args.model, weights=backbone_path).to(device)
    for parameter in backbone.parameters():
        parameter.requires_grad_(False)
    dense = DenseRecognizer(backbone, config, device)
    recognizer = SFCRecognizer(backbone, config, device, length=args.length, split=args.split)
    channels, keep = recognizer.sfc.channels, recognizer.sfc.keep
    if args.cache is not None and args.cache.exists():
        cached = [_CachedVideo(**item) for item in torch.load(args.cache, weights_only=True)]
        cached = cached[context.rank :: context.world_size]
    else:
        with tempfile.TemporaryDirectory() as scratch:
            videos, labels, windows = _list_videos(args, Path(scratch), config)
            mine = videos[context.rank :: context.world_size]
            cached = cache_videos(mine, labels, windows, dense, recognizer, keep, args.features == "memory")
        if args.cache is not None and context.world_size == 1:
            torch.save([vars(item) for item in cached], args.cache)
    split_at = max(1, int(len(cached) * 0.9))
    train_set, val_set = cached[:split_at], cached[split_at:]
    # Every rank must take the same number of steps, or DDP waits forever for the shortest one.
    train_steps, val_steps = (
        int(n) for n in distributed.reduce([-(-len(train_set) // args.batch_size), -(-len(val_set) // args.batch_size)],
                                           context, op="min")
    )

    torch.manual_seed(args.seed)  # the same initial SFC on every rank (DDP also broadcasts rank 0's)
    sfc = SFC(channels, keep, spatial_stride=args.spatial_stride, selection_noise=args.selection_noise).to(device)
    optimizer = torch.optim.AdamW(sfc.parameters(), lr=args.lr, weight_decay=1e-4)
    checkpoint_path = args.checkpoint or args.out.with_suffix(".ckpt.pt")
    start_epoch, step, log = 0, 0, []
    if args.resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        sfc.load_state_dict(state["sfc"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step, log = state["epoch"], state["step"], state["log"]
    model = DistributedDataParallel(sfc) if context.world_size > 1 else sfc
    begin = time.time()
    for epoch in tqdm(range(start_epoch, args.epochs), desc="SFC epochs", disable=not context.is_main):
        rng = np.random.default_rng((args.seed, epoch, context.rank))  # resumable without saving RNG state
        torch.manual_seed(args.seed * 100_003 + epoch * context.world_size + context.rank)
        totals = _sfc_epoch(model, recognizer, train_set, optimizer, args, rng, train_steps, True)
        step += train_steps
        entry = {"epoch": epoch + 1, "step": step, "train": _epoch_metrics(distributed.reduce(totals, context))}
        if val_steps:
            totals = _sfc_epoch(sfc, recognizer, val_set, None, args, rng, val_steps, False)
            entry["val"] = _epoch_metrics(distributed.reduce(totals, context))
        log.append(entry)
        if context.is_main:
            tqdm.write(json.dumps(entry))
            state = {"sfc": sfc.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "step": step,
                     "log": log}
            torch.save(state, checkpoint_path.with_name(checkpoint_path.name + ".tmp"))
            os.replace(checkpoint_path.with_name(checkpoint_path.name + ".tmp"), checkpoint_path)
    flat = torch.cat([p.detach().flatten() for p in sfc.parameters()])
    rank_difference = distributed.max_difference_from_rank0(flat, context)
    sfc.selection_noise = 0.0
    meta = {
        "backbone": args.model,
        "backbone_weights": str(backbone_path),
        "split": recognizer.split,
        "length": args.length,
        "trained_on": "SynthActions" if args.videos is None else str(args.videos),
        "num_videos": int(distributed.reduce([len(cached)], context)[0]),
        "seed": args.seed,
    }
    if context.is_main:
        save_sfc(args.out, sfc.cpu(), meta)
    distributed.teardown(context)
    return {
        "seconds": time.time() - begin,
        "world_size": context.world_size,
        "device": str(device),
        "steps": step,
        "resumed_from_epoch": start_epoch or None,
        "max_weight_difference_between_ranks": rank_difference,
        "is_main": context.is_main,
        "log": log,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sfc_core.train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    backbone = sub.add_parser("backbone", help="train a backbone on SynthActions (the tiny default)")
    backbone.add_argument("--model", default="tiny")
    backbone.add_argument("--clips", type=int, default=600)
    backbone.add_argument("--val-clips", type=int, default=100)
    backbone.add_argument("--epochs", type=int, default=14)
    backbone.add_argument("--batch-size", type=int, default=24)
    backbone.add_argument("--lr", type=float, default=3e-3)
    backbone.add_argument("--seed", type=int, default=0)
    backbone.add_argument("--out", type=Path, required=True)
    sfc = sub.add_parser("sfc", help="train SFC with the backbone frozen")
    sfc.add_argument("--model", default="tiny")
    sfc.add_argument("--weights", type=Path, default=None,
                     help="backbone checkpoint (default: the shipped one, else the published one, downloaded)")
    sfc.add_argument("--videos", type=Path, default=None, help="folder of videos (default: generate SynthActions)")
    sfc.add_argument("--labels", type=Path, default=None, help="CSV with file,label columns (else distil only)")
    sfc.add_argument("--clips", type=int, default=600, help="SynthActions clips when --videos is not given")
    sfc.add_argument("--length", type=int, default=64)
    sfc.add_argument("--split", default=None)
    sfc.add_argument("--spatial-stride", type=int, default=1)
    sfc.add_argument("--epochs", type=int, default=60)
    sfc.add_argument("--batch-size", type=int, default=16)
    sfc.add_argument("--lr", type=float, default=1e-3)
    sfc.add_argument("--temperature", type=float, default=2.0)
    sfc.add_argument("--distill", type=float, default=1.0, help="weight of the distillation loss")
    sfc.add_argument("--selection", type=float, default=1.0, help="weight of the selection (usefulness) loss")
    sfc.add_argument("--usefulness-temperature", type=float, default=0.5)
    sfc.add_argument("--selection-noise", type=float, default=0.5, help="Gumbel noise on scores while training")
    sfc.add_argument("--cache", type=Path, default=None, help="save/reuse the per-video head features here")
    sfc.add_argument("--features", choices=("memory", "recompute"), default="memory",
                     help="keep head features in memory (fast, ~64 MB per SlowOnly video), or keep only the "
                          "targets and recompute features from the video each step (any number of videos)")
    sfc.add_argument("--checkpoint", type=Path, default=None, help="resumable state, saved every epoch "
                     "(default: OUT with .ckpt.pt)")
    sfc.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    sfc.add_argument("--seed", type=int, default=1)
    sfc.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        summary = train_backbone(args) if args.what == "backbone" else train_sfc(args)
    except (VideoError, ValueError, FileNotFoundError) as error:  # WeightsError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not summary.pop("is_main", True):
        return 0
    summary["command"] = "python -m sfc_core.train " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.with_suffix(".log.json").write_text(json.dumps(summary, indent=1))
    print(f"saved {args.out} after {summary['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
