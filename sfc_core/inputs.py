"""What a recognizer reads: a video file opened for its plan, or a `DecodedVideo` whose planned frames
were decoded ahead (in another thread, process or machine: `sfc-batch` overlaps decoding with the
model), and its frames made into normalised views.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import transforms
from .models import ModelConfig
from .models.registry import InputSpec
from .sampling import SamplingPlan
from .video import DecodedFrames, FrameReader, VideoInfo, probe

Planner = Callable[[int], SamplingPlan]  # a recognizer's plan for a video of that many frames


@dataclass
class PreparedInputs:
    """A whole plan decoded and preprocessed at once (training and evaluation, which are not measured)."""

    video: VideoInfo
    views: torch.Tensor  # (V, 3, T, crop, crop)
    frame_indices: list[list[int]]
    timestamps_s: list[list[float]]
    notes: list[str]


PREPROCESS_FRAMES = 8  # frames converted to float at a time: full-size float frames are the largest input buffer


def clip_views(decoded: DecodedFrames, crops: tuple[str, ...], spec: InputSpec,
               display: bool = False) -> tuple[torch.Tensor, np.ndarray | None]:
    """One clip's (or chunk's) decoded frames -> its normalised views (len(crops), 3, T, crop, crop);
    with `display`, also the first crop as uint8 (T, crop, crop, 3), as the model saw it. Frames are
    converted a few at a time (each frame is resized on its own, so the result is the same)."""
    views, shown = None, []
    for first in range(0, len(decoded.frames), PREPROCESS_FRAMES):
        group = decoded.frames[first : first + PREPROCESS_FRAMES]
        frames = transforms.resize_short_side(transforms.to_float_frames(group), spec.short_side)
        part, boxes = transforms.make_views(frames, [range(len(frames))], crops, spec)
        if views is None:
            views = part.new_empty(*part.shape[:2], len(decoded.frames), *part.shape[3:])
        views[:, :, first : first + len(group)] = part
        if display:
            y, x, size = boxes[0]
            shown.append(frames[:, :, y : y + size, x : x + size].mul(255).round().clamp(0, 255).byte())
    if not display:
        return views, None
    return views, torch.cat(shown).permute(0, 2, 3, 1).numpy()


def max_short_side(spec: InputSpec) -> int:
    """Frames are decoded at most this large: enough for the resize, bounded for huge resolutions."""
    return 2 * spec.short_side


def open_reader(path: str | Path, plan: SamplingPlan, spec: InputSpec) -> FrameReader:
    return FrameReader(path, plan.unique_indices(), max_short_side=max_short_side(spec))


@dataclass
class DecodedVideo:
    """A video probed and the frames of one or more plans decoded ahead of the model; picklable."""

    info: VideoInfo
    frames: dict[int, tuple[np.ndarray, int, float]]  # planned index -> (RGB frame, source index, time)
    notes: list[str]
    decode_time_s: float  # probe + decode, wherever it ran

    def reader(self) -> HeldFrames:
        return HeldFrames(self)


def decode_ahead(path: str | Path, planners: Iterable[Planner], spec: InputSpec) -> DecodedVideo:
    """Probe `path` and decode every frame the plans of `planners` (recognizers' `.plan`) need."""
    begin = time.perf_counter()
    info = probe(path)
    wanted = sorted({i for plan_for in planners for i in plan_for(info.num_frames).unique_indices()})
    with FrameReader(path, wanted, max_short_side=max_short_side(spec)) as reader:
        decoded = reader.take(wanted)
        notes = reader.notes
    frames = dict(zip(wanted, zip(decoded.frames, decoded.source_indices, decoded.timestamps_s)))
    return DecodedVideo(info, frames, notes, time.perf_counter() - begin)


class HeldFrames:
    """`FrameReader`'s interface over the frames of a `DecodedVideo`."""

    def __init__(self, video: DecodedVideo) -> None:
        self._video, self.notes = video, video.notes

    def __enter__(self) -> HeldFrames:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def take(self, indices: list[int]) -> DecodedFrames:
        missing = sorted(set(indices) - self._video.frames.keys())
        if missing:
            raise ValueError(f"frames {missing[:5]} were not decoded ahead: decode_ahead had other plans")
        used = [self._video.frames[i] for i in indices]
        return DecodedFrames([u[0] for u in used], [u[1] for u in used], [u[2] for u in used], self.notes)

    def forget_before(self, index: int) -> None:
        pass  # every mode reading this video shares its frames


def load_views(path: str | Path, config: ModelConfig, plan_for) -> tuple[SamplingPlan, PreparedInputs]:
    """Probe, plan (`plan_for(num_frames)`), decode only the planned frames, preprocess them all."""
    info = probe(path)
    plan = plan_for(info.num_frames)
    with open_reader(path, plan, config.input_spec) as reader:
        decoded = [reader.take(list(clip)) for clip in plan.clips]
        notes = list(plan.notes) + reader.notes
    views = torch.cat([clip_views(clip, plan.crops, config.input_spec)[0] for clip in decoded])
    sources, stamps = [d.source_indices for d in decoded], [d.timestamps_s for d in decoded]
    return plan, PreparedInputs(info, views, sources, stamps, notes)
