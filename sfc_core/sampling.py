"""Sampling plans: which source frames and crops each view uses, for dense and SFC inference.

Dense (the standard 30-view protocol): N clips x M crops. Each clip is `frames` frames, `stride`
apart, and the N clips are spread evenly from the first to the last frame. SFC: one long clip of
L frames spread evenly over the whole video (the centre frame of L equal segments), one centre crop.
Videos too short for a plan repeat frames, and the plan records a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .models.registry import InputSpec

CROP_NAMES = {1: ("centre",), 3: ("first", "centre", "last")}  # along the long side


@dataclass(frozen=True)
class SamplingPlan:
    mode: str  # "dense" or "sfc"
    clips: tuple[tuple[int, ...], ...]  # source frame indices of each clip
    crops: tuple[str, ...]  # crop positions along the long side
    notes: tuple[str, ...] = field(default=())

    @property
    def num_views(self) -> int:
        return len(self.clips) * len(self.crops)

    def unique_indices(self) -> list[int]:
        return sorted({i for clip in self.clips for i in clip})


def dense_plan(num_frames: int, spec: InputSpec, num_clips: int = 10, num_crops: int = 3) -> SamplingPlan:
    """`num_clips` clips of spec.frames x spec.stride spread evenly over the video (one clip: the
    centre clip), `num_crops` crops."""
    _check(num_frames, num_clips)
    if num_crops not in CROP_NAMES:
        raise ConfigError(f"num_crops must be 1 or 3, not {num_crops}")
    span = (spec.frames - 1) * spec.stride + 1
    room = max(0, num_frames - span)
    starts = np.linspace(0, room, num_clips).round().astype(int) if num_clips > 1 else np.array([room // 2])
    offsets = np.arange(spec.frames) * spec.stride
    clips = tuple(tuple(int(i) for i in np.minimum(start + offsets, num_frames - 1)) for start in starts)
    notes = ()
    if num_frames < span:
        notes = (
            f"the video has {num_frames} frames, fewer than one {spec.frames}x{spec.stride} clip spans "
            f"({span}); frames past the end repeat the last frame.",
        )
    return SamplingPlan("dense", clips, CROP_NAMES[num_crops], notes)


def sfc_plan(num_frames: int, length: int) -> SamplingPlan:
    """One clip of `length` frames: the centre frame of each of `length` equal segments."""
    _check(num_frames, length)
    indices = tuple(int(i) for i in ((np.arange(length) + 0.5) * num_frames / length).astype(int))
    notes = ()
    if num_frames < length:
        notes = (f"the video has {num_frames} frames, fewer than the {length} SFC samples; frames repeat.",)
    return SamplingPlan("sfc", (indices,), CROP_NAMES[1], notes)


def _check(num_frames: int, count: int) -> None:
    if num_frames < 1:
        raise ConfigError("a sampling plan needs a video with at least one frame")
    if count < 1:
        raise ConfigError(f"need at least one clip/frame, got {count}")
