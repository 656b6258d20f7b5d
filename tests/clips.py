"""Writers for the small real video files the tests decode (H.264 and friends, via PyAV)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sfc_core.resources import EXAMPLES_DIR

ROTATE_EXAMPLE = EXAMPLES_DIR / "rotate_clockwise.mp4"  # the bundled example the app's tests share an analysis of


def gray_level(index: int) -> int:
    """The flat gray level of frame `index` in a ramp clip: distinct for index < 115."""
    return 10 + (2 * index) % 230


def write_frames(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int = 30,
    codec: str = "libx264",
    rotation: int | None = None,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    pix_fmt: str = "yuv420p",
    pts: list[int] | None = None,
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to `path`; the container comes from the extension.
    `pts` (in units of 1/fps s, or of 1 ms when given) makes a variable-frame-rate file."""
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = pix_fmt
        stream.time_base = Fraction(1, 1000) if pts is not None else Fraction(1, fps)
        if pts is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.options = {"crf": "0", "preset": "ultrafast", **(options or {})}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(itertools.chain([first], frames)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_gray_ramp_clip(path: Path, num_frames: int, width: int, height: int, fps: int = 30, **kwargs) -> Path:
    frames = [np.full((height, width, 3), gray_level(i), dtype=np.uint8) for i in range(num_frames)]
    return write_frames(path, frames, fps=fps, **kwargs)


def write_noise_clip(path: Path, num_frames: int, width: int, height: int, fps: int = 30, seed: int = 0,
                     **kwargs) -> Path:
    rng = np.random.default_rng(seed)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(num_frames)]
    return write_frames(path, frames, fps=fps, **kwargs)


def write_audio_only(path: Path, seconds: float = 0.5, rate: int = 44100) -> Path:
    samples = np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate).astype(np.float32)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        for start in range(0, len(samples) - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_video_without_frames(path: Path) -> Path:
    """A container with a declared H.264 video stream and not one frame in it."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


def write_png(path: Path, width: int = 60, height: int = 40) -> Path:
    """A real PNG image (written by FFmpeg's PNG encoder), whatever the file's extension."""
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    av.VideoFrame.from_ndarray(image, format="rgb24").save(str(path.with_suffix(".png")))
    path.with_suffix(".png").replace(path)
    return path


def truncate(path: Path, fraction: float = 0.5) -> Path:
    """Keep only the first `fraction` of the file's bytes, as an interrupted upload would."""
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
    return path
