"""Preprocessing in plain torch (no torchvision): short-side resize, crops, normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .models.registry import InputSpec


def to_float_frames(frames: Sequence[np.ndarray]) -> torch.Tensor:
    """List of (H, W, 3) uint8 RGB frames -> (N, 3, H, W) float32 in [0, 1]."""
    stacked = torch.from_numpy(np.stack(frames))
    return stacked.permute(0, 3, 1, 2).float().div_(255.0)


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) -> short side `size`, aspect kept; bilinear with antialiasing when shrinking."""
    height, width = frames.shape[-2:]
    scale = size / min(height, width)
    new_size = (max(size, round(height * scale)), max(size, round(width * scale)))
    if new_size == (height, width):
        return frames
    return F.interpolate(frames, size=new_size, mode="bilinear", align_corners=False, antialias=scale < 1)


def crop_box(height: int, width: int, size: int, position: str) -> tuple[int, int]:
    """Top-left (y, x) of a `size` square at `position` ("first"/"centre"/"last") along the long side."""
    if size > height or size > width:
        raise ValueError(f"crop {size} does not fit a {height}x{width} frame")
    centre = ((height - size) // 2, (width - size) // 2)
    if position == "centre":
        return centre
    if position not in ("first", "last"):
        raise ValueError(f"unknown crop position {position!r}")
    along_height = height > width
    end = (height - size) if along_height else (width - size)
    offset = 0 if position == "first" else end
    return (offset, centre[1]) if along_height else (centre[0], offset)


def normalize(clip: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(3, T, H, W) or (B, 3, T, H, W) with channels at dim -4."""
    shape = (3, 1, 1, 1)
    return (clip - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)


def make_views(
    frames: torch.Tensor, clips: Sequence[Sequence[int]], crops: Sequence[str], spec: InputSpec
) -> tuple[torch.Tensor, list[tuple[int, int, int]]]:
    """Build normalised views (V, 3, T, crop, crop), clip-major, from resized frames.

    `frames` is (N, 3, H, W) already resized; `clips` index into it. Returns the views and, per
    crop, its box (y, x, size) in resized-frame pixels.
    """
    height, width = frames.shape[-2:]
    boxes = [(*crop_box(height, width, spec.crop, position), spec.crop) for position in crops]
    views = []
    for clip in clips:
        clip_frames = frames[list(clip)].permute(1, 0, 2, 3)  # (3, T, H, W)
        for y, x, size in boxes:
            views.append(normalize(clip_frames[:, :, y : y + size, x : x + size], spec.mean, spec.std))
    return torch.stack(views), boxes
