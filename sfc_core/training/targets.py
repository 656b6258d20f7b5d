"""What SFC learns from, computed once per training video with the frozen backbone: the dense
teacher's probabilities, the label (if any), a selection target per head position, which positions
lie inside the action (when the ground truth is known), and optionally the head features."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..chunked_head import positions_inside
from ..errors import ConfigError
from ..inputs import load_views
from ..pipeline import DenseRecognizer, SFCRecognizer

VIDEO_SUFFIXES = {".mp4", ".webm", ".mkv", ".avi", ".mov"}


@dataclass
class CachedVideo:
    path: str
    features: torch.Tensor | None  # head output of the long clip, float16 (C, T, H, W); None: recomputed
    teacher: torch.Tensor  # dense 30-view mean probabilities
    label: int | None
    in_window: torch.Tensor | None  # (T,) bool: the position's frame lies inside the action
    usefulness: torch.Tensor  # (T,) how well the frozen tail recognises the clip around each position


def position_usefulness(tail: torch.nn.Module, features: torch.Tensor, keep: int, target: int) -> torch.Tensor:
    """Selection target per head position, from the frozen tail itself: run the tail on every window
    of `keep` consecutive positions, take log p(target); a position's usefulness is the mean over the
    windows that contain it (a shorter window localises the evidence more sharply). Label-free when
    `target` is the dense teacher's answer."""
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


def list_videos(directory: Path) -> list[Path]:
    videos = sorted(p for p in directory.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise ConfigError(f"no videos ({', '.join(sorted(VIDEO_SUFFIXES))}) in {directory}")
    return videos


def read_labels(path: Path | None, names: list[str]) -> dict[str, int]:
    """file name -> class index, from a CSV with `file,label` columns (label: a class name)."""
    if path is None:
        return {}
    index = {name: i for i, name in enumerate(names)}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    unknown = sorted({row["label"] for row in rows} - index.keys())
    if unknown:
        raise ConfigError(f"{path.name} names classes the model does not know: {', '.join(unknown[:5])}")
    return {row["file"]: index[row["label"]] for row in rows}


def read_action_windows(directory: Path) -> dict[str, tuple[int, int]]:
    """file name -> (first, last) frame of the action, from a SynthActions ground_truth.json."""
    path = directory / "ground_truth.json"
    if not path.exists():
        return {}
    clips = json.loads(path.read_text())["clips"]
    return {c["file"]: (c["window_start"], c["window_end"]) for c in clips}


def cache_videos(
    videos: list[Path], labels: dict[str, int], windows: dict[str, tuple[int, int]],
    dense: DenseRecognizer, sfc: SFCRecognizer, keep_features: bool = True, usefulness_window: int | None = None,
) -> list[CachedVideo]:
    """Run the frozen head (long clip), the dense teacher and the usefulness target once per video.
    Without `keep_features` only the small targets stay (a few KB per video, not tens of MB) and
    training recomputes the head features from the video at every step: the Kinetics-scale mode."""
    cached = []
    for path in tqdm(videos, desc="head features + dense teacher"):
        _, dense_inputs = load_views(path, dense.config, dense.plan)
        _, sfc_inputs = load_views(path, sfc.config, sfc.plan)
        with torch.inference_mode():
            features = sfc.features(sfc_inputs.views)[0]
        in_window = None
        if path.name in windows:
            inside = positions_inside(sfc_inputs.frame_indices[0], features.shape[1], windows[path.name],
                                      sfc.geometry)
            in_window = torch.from_numpy(inside)
        teacher = dense.classify(dense_inputs.views).cpu()
        label = labels.get(path.name)
        target = label if label is not None else int(teacher.argmax())
        usefulness = position_usefulness(sfc.tail, features, usefulness_window or sfc.sfc.keep, target).cpu()
        kept = features.half().cpu() if keep_features else None
        cached.append(CachedVideo(str(path), kept, teacher, label, in_window, usefulness))
    return cached


def head_features(items: list[CachedVideo], recognizer: SFCRecognizer) -> torch.Tensor:
    """(B, C, T, H, W) head features for a batch: cached ones, or decoded and computed now."""
    if all(item.features is not None for item in items):
        return torch.stack([item.features.float() for item in items]).to(recognizer.device)
    views = [load_views(item.path, recognizer.config, recognizer.plan)[1].views for item in items]
    with torch.inference_mode():
        features = recognizer.features(torch.cat(views))
    return features.clone()  # a normal tensor again, so autograd can use it
