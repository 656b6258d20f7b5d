"""The app's limits: configuration, not magic numbers. Each can be set by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass


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
    queue_size: int  # SFC_QUEUE_SIZE: requests waiting beyond that get "queue full"

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            max_upload_bytes=int(_env_number("SFC_MAX_UPLOAD_MB", 200) * 2**20),
            max_duration_s=_env_number("SFC_MAX_DURATION_S", 600),
            max_pixels=int(_env_number("SFC_MAX_MEGAPIXELS", 8.3) * 1e6),  # 4K UHD
            max_frames=int(_env_number("SFC_MAX_FRAMES", 36_000)),  # 10 minutes at 60 fps
            output_max_age_s=_env_number("SFC_OUTPUT_MAX_AGE_S", 3600),
            concurrency=int(_env_number("SFC_CONCURRENCY", 1)),
            queue_size=int(_env_number("SFC_QUEUE_SIZE", 16)),
        )


LIMITS = Limits.from_env()
