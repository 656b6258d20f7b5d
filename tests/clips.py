"""Writers for the small real video files the tests decode (H.264 and friends, via PyAV)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def gray_level(index: int) -> int:
    """The flat gray level written into frame `index` of a ramp clip (stays well inside 0..255)."""
    return 10 + 2 * index % 230


def write_frames(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 30,
    codec: str = "libx264",
    rotation: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to `path`; the container comes from the extension."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"crf": "0", "preset": "ultrafast", **(options or {})}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_gray_ramp_clip(path: Path, num_frames: int, width: int, height: int, fps: int = 30, **kwargs) -> Path:
    frames = [np.full((height, width, 3), gray_level(i), dtype=np.uint8) for i in range(num_frames)]
    return write_frames(path, frames, fps=fps, **kwargs)


def write_noise_clip(path: Path, num_frames: int, width: int, height: int, fps: int = 30, seed: int = 0, **kwargs) -> Path:
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(num_frames)]
    return write_frames(path, frames, fps=fps, **kwargs)
