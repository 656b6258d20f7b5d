"""Explanations of one SFC prediction: attention heatmaps, a heatmap video, captum Grad-CAM.

SFC's attention says where the module *looked* to build the tail's input; Grad-CAM (captum's
LayerGradCam at the tail's input) says which parts of that input the *classifier* relied on.
Showing both side by side lets a class compare the module's selection with the model's evidence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam
from matplotlib import colormaps

from .pipeline import Result
from .profiling import EXCLUSIVE
from .video import write_h264


def upsample_maps(maps: np.ndarray, size: int) -> np.ndarray:
    """(N, h, w) non-negative maps -> (N, size, size) in [0, 1], scaled by the largest value of all
    maps so that frames can be compared with each other."""
    tensor = torch.from_numpy(np.asarray(maps, dtype=np.float32))[:, None]
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    peak = resized.max()
    return (resized / peak if peak > 0 else resized).clamp(0, 1).numpy()


def overlay(frames: np.ndarray, maps: np.ndarray, alpha: float = 0.5, cmap: str = "inferno") -> np.ndarray:
    """Blend [0, 1] maps (N, H, W) over uint8 frames (N, H, W, 3) with a colour map."""
    colours = colormaps[cmap](maps)[..., :3] * 255
    weight = alpha * maps[..., None] ** 0.5  # faint where attention is low
    return (frames * (1 - weight) + colours * weight).round().clip(0, 255).astype(np.uint8)


def position_maps(result: Result) -> np.ndarray:
    """SFC attention for each of the clip's sampled frames: (L, crop, crop) in [0, 1]."""
    frames = result.display_frames
    windows = result.position_windows
    per_position = upsample_maps(result.attention, frames.shape[1])
    maps = np.empty(frames.shape[:3], dtype=np.float32)
    for position, window in enumerate(windows):
        maps[window] = per_position[position]
    return maps


def kept_slots(result: Result) -> list[int]:
    """Index into `result.display_frames` of the frame that stands for each kept position."""
    return [result.position_centres[p] for p in result.kept.positions]


def kept_overlays(result: Result) -> list[np.ndarray]:
    """The kept frames with SFC's attention overlaid, in temporal order."""
    picks = kept_slots(result)
    return list(overlay(result.display_frames[picks], position_maps(result)[picks]))


def attention_video(result: Result, path: str | Path, size: int = 256, fps: int = 8) -> Path:
    """Every sampled frame with its attention overlay; kept frames framed in green. H.264 MP4."""
    frames = overlay(result.display_frames, position_maps(result))
    kept = {i for p in result.kept.positions for i in result.position_windows[p]}
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    big = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)
    big = big.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy().copy()
    border = max(2, size // 40)
    green = np.array([40, 220, 60], dtype=np.uint8)
    for i in kept:
        big[i, :border] = big[i, -border:] = green
        big[i, :, :border] = big[i, :, -border:] = green
    return write_h264(path, big, fps=fps)


def gradcam(tail: torch.nn.Sequential, result: Result, class_index: int | None = None) -> np.ndarray:
    """captum Grad-CAM at the input of `tail` (SFC's output) for `class_index` (default: the top
    class): (K, h, w) non-negative, one map per kept position."""
    if class_index is None:
        class_index = int(np.argmax(result.probabilities))
    features = result.tail_input.clone().to(next(tail.parameters()).device).requires_grad_(True)
    with EXCLUSIVE:  # captum hooks the tail, which every user's model shares
        cam = LayerGradCam(tail, tail[0]).attribute(features, target=class_index, attribute_to_layer_input=True)
    return F.relu(cam)[0, 0].detach().cpu().numpy()
