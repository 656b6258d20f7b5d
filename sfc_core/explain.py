"""Explanations of one SFC prediction: attention heatmaps, a heatmap video (each frame of the long
clip beside its heatmap), captum Grad-CAM.

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

from .profiling import EXCLUSIVE
from .report import Result
from .video import write_h264

COLOUR_MAP = "magma"  # perceptual: brightness grows with the value, also for colour-blind readers
OPACITY = 0.6  # the map's share of every pixel: the same everywhere, so a colour reads as a value
SHOWN_SIZE = 256  # frames are enlarged to this many pixels (at least 224) to be readable on a projector
RANK_POWER = 3  # "frame" scale: colour = rank^3, so the strongest quarter of a frame stands out, the median is dark
RANK_TICKS = {"median": 0.5, "top 25%": 0.75, "top 10%": 0.9, "strongest": 1.0}  # ranks named on colour bars
KEPT_GREEN, MARGIN_GREY = (40, 220, 60), (32, 32, 32)  # the heatmap video's margin: kept frame or not
SCALES = {  # how a map's values become colours, and what the colour bar says
    "frame": "rank within this frame",
    "shared": "value / the largest value on any kept frame",
}


def upsample_maps(maps: np.ndarray, size: int, scale: str = "frame") -> np.ndarray:
    """(N, h, w) non-negative maps -> (N, size, size) in [0, 1] on one of `SCALES`:
    "frame": each pixel's rank among its frame's pixels (the share of them with a lower value; 0 where
    the map is 0) to the power RANK_POWER. Attention is a softmax, so a few cells hold most of it;
    ranks show where it was strongest on every frame, however peaky. "shared": values over the largest
    of all maps, so frames can be compared with each other."""
    tensor = torch.from_numpy(np.asarray(maps, dtype=np.float32))[:, None]
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)[:, 0].clamp_min(0)
    if scale == "shared":
        peak = resized.max()
        return (resized / peak if peak > 0 else resized).numpy()
    if scale != "frame":
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    flat = resized.flatten(1)
    ordered = flat.sort(dim=1).values
    below = torch.searchsorted(ordered, flat.contiguous(), side="left")  # pixels with a lower value
    ranks = below.float() / max(1, flat.shape[1] - 1) * (flat > 0)
    return ranks.pow(RANK_POWER).view_as(resized).numpy()


def overlay(frames: np.ndarray, maps: np.ndarray, opacity: float = OPACITY, cmap: str = COLOUR_MAP) -> np.ndarray:
    """[0, 1] maps (N, H, W) over uint8 frames (N, H, W, 3), coloured by `cmap` at a fixed opacity over
    the frames in grey, so every colour on the picture is the map's (read it with a colour bar)."""
    grey = (frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    colours = colormaps[cmap](maps)[..., :3] * 255
    return (grey * (1 - opacity) + colours * opacity).round().clip(0, 255).astype(np.uint8)


def enlarge(frames: np.ndarray, size: int = SHOWN_SIZE, mode: str = "bilinear") -> np.ndarray:
    """uint8 frames (N, h, w, 3) resized to (N, size, size, 3), so small model inputs read on a screen;
    `mode` "nearest-exact" keeps every pixel a crisp square (a 64 px frame does not blur)."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    big = F.interpolate(tensor, size=(size, size), mode=mode, align_corners=None if "nearest" in mode else False)
    return big.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy().copy()


def position_maps(result: Result, scale: str = "frame") -> np.ndarray:
    """SFC attention for each of the clip's sampled frames: (L, crop, crop) in [0, 1]."""
    frames = result.display_frames
    windows = result.position_windows
    per_position = upsample_maps(result.attention, frames.shape[1], scale)
    maps = np.empty(frames.shape[:3], dtype=np.float32)
    for position, window in enumerate(windows):
        maps[window] = per_position[position]
    return maps


def attention_shares(result: Result) -> list[float]:
    """Each kept position's share of all the attention SFC paid, over every position of the clip."""
    per_position = result.attention.sum(axis=(1, 2))
    total = per_position.sum()
    return [float(per_position[p] / total) if total > 0 else 0.0 for p in result.kept.positions]


def kept_slots(result: Result) -> list[int]:
    """Index into `result.display_frames` of the frame that stands for each kept position."""
    return [result.position_centres[p] for p in result.kept.positions]


def kept_overlays(result: Result, scale: str = "frame") -> list[np.ndarray]:
    """The kept frames with SFC's attention overlaid, in temporal order, enlarged to SHOWN_SIZE."""
    picks = kept_slots(result)
    return list(enlarge(overlay(result.display_frames[picks], position_maps(result, scale)[picks])))


def gradcam_overlays(result: Result, cams: np.ndarray, scale: str = "frame") -> list[np.ndarray]:
    """Grad-CAM maps (K, h, w) (see `gradcam`) on the kept frames, drawn as `kept_overlays` draws attention."""
    cams = upsample_maps(cams, result.display_frames.shape[1], scale)
    return list(enlarge(overlay(result.display_frames[kept_slots(result)], cams)))


def attention_video(result: Result, path: str | Path, size: int = SHOWN_SIZE, fps: int = 8) -> Path:
    """Every sampled frame, `size` px square (rounded down to even), beside itself with its heatmap
    overlaid (ranked within the frame): left the colour frame enlarged pixel for pixel (crisp, not
    blurred), right the overlay. The pair sits on a dark margin, green for the kept frames, so both
    halves are framed. H.264 MP4 of about (size, 2 * size), even on both sides (yuv420p needs it)."""
    size -= size % 2
    border = 2 * max(1, size // 80)
    frames = result.display_frames
    kept = {i for p in result.kept.positions for i in result.position_windows[p]}
    margins = np.array([KEPT_GREEN if i in kept else MARGIN_GREY for i in range(len(frames))], dtype=np.uint8)
    video = np.empty((len(frames), size + 2 * border, 2 * size + 3 * border, 3), dtype=np.uint8)
    video[:] = margins[:, None, None]
    halves = (enlarge(frames, size, "nearest-exact"), enlarge(overlay(frames, position_maps(result)), size))
    for half, images in enumerate(halves):
        left = border + half * (size + border)
        video[:, border:-border, left:left + size] = images
    return write_h264(path, video, fps=fps)


def gradcam(tail: torch.nn.Sequential, result: Result, class_index: int | None = None) -> np.ndarray:
    """captum Grad-CAM at the input of `tail` (SFC's output) for `class_index` (default: the top
    class): (K, h, w) non-negative, one map per kept position."""
    if class_index is None:
        class_index = int(np.argmax(result.probabilities))
    features = result.tail_input.clone().to(next(tail.parameters()).device).requires_grad_(True)
    with EXCLUSIVE:  # captum hooks the tail, which every user's model shares
        cam = LayerGradCam(tail, tail[0]).attribute(features, target=class_index, attribute_to_layer_input=True)
    return F.relu(cam)[0, 0].detach().cpu().numpy()
