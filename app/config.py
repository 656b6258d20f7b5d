"""The app's limits: configuration, not magic numbers. Each can be set by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sfc_core.errors import SFCError
from sfc_core.streaming import DEFAULT_WINDOW_S as OVER_TIME_WINDOW_S
from sfc_core.video import probe

if TYPE_CHECKING:
    from .session import Settings


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int  # SFC_MAX_UPLOAD_MB
    max_duration_s: float  # SFC_MAX_DURATION_S
    max_pixels: int  # SFC_MAX_MEGAPIXELS: per frame, as displayed
    max_frames: int  # SFC_MAX_FRAMES: frames in the video (a high-frame-rate file can be short and huge)
    output_max_age_s: float  # SFC_OUTPUT_MAX_AGE_S: generated videos kept for the browser this long
    concurrency: int  # SFC_CONCURRENCY: analyses run at once (model work is CPU/GPU bound)
    queue_size: int  # SFC_QUEUE_SIZE: requests waiting beyond that get "queue full" (a class of 30 fits)
    cache_entries: int  # SFC_CACHE_ENTRIES: analyses kept to serve identical requests (0: none)

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_upload_bytes=int(_env_number("SFC_MAX_UPLOAD_MB", 200) * 2**20),
            max_duration_s=_env_number("SFC_MAX_DURATION_S", 600),
            max_pixels=int(_env_number("SFC_MAX_MEGAPIXELS", 8.3) * 1e6),  # 4K UHD
            max_frames=int(_env_number("SFC_MAX_FRAMES", 36_000)),  # 10 minutes at 60 fps
            output_max_age_s=_env_number("SFC_OUTPUT_MAX_AGE_S", 3600),
            concurrency=int(_env_number("SFC_CONCURRENCY", 1)),
            queue_size=int(_env_number("SFC_QUEUE_SIZE", 64)),
            cache_entries=int(_env_number("SFC_CACHE_ENTRIES", 8)),
        )


LIMITS = Limits.from_env()


# ZeroGPU: seconds of GPU to request for one analysis, from the work it does. A request is refused above
# the Space's maximum and a shorter one is queued earlier, so ask for what the video and model need.
GPU_SECONDS_FIXED = 12.0  # model to the GPU, first-call kernels, plots, the attention video
GPU_SECONDS_PER_VIEW = {"tiny": 0.05, "x3d_s": 0.15, "x3d_m": 0.25, "r3d_18": 0.2, "r2plus1d_18": 0.25,
                        "slowonly_r50": 0.4}  # one clip through the whole network, measured passes included
GPU_SECONDS_PER_VIDEO_SECOND = 0.05  # decoding and seeking grow with the video's length
GPU_SECONDS_MAX = 120.0


def gpu_seconds(video: str, settings: Settings, progress=None) -> float:
    """The GPU time to request for analysing `video` at `settings` (ZeroGPU calls it with the analysis's own
    arguments): a conservative sum of fixed costs, dense's views and SFC's long clip (counted as length / 16
    views), each run three times (FLOPs count, memory pass, timed pass), the over-time pass of a video longer
    than one window (about a view per window), and decoding; clamped to 20-120 s."""
    try:
        duration = probe(video).duration_s if video else 0.0
    except SFCError:
        duration = 0.0  # the analysis itself will say what is wrong with the file, quickly
    per_view = GPU_SECONDS_PER_VIEW.get(settings.model, max(GPU_SECONDS_PER_VIEW.values()))
    views = settings.run.clips * settings.run.crops + settings.length / 16
    windows = duration / OVER_TIME_WINDOW_S if duration > OVER_TIME_WINDOW_S else 0.0
    estimate = GPU_SECONDS_FIXED + 3 * per_view * views + per_view * windows + GPU_SECONDS_PER_VIDEO_SECOND * duration
    return float(min(GPU_SECONDS_MAX, max(20.0, estimate)))
