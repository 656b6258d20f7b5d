"""Every kind of input a user can hand us, and what must happen to it in the CLI and in the app.

README.md's "What happens to each input" table lists exactly these rows (a test checks that the
two agree). `Ok(note)` means a correct result, with a note containing `note` when given;
`Error(pattern)` means one clear message matching `pattern`, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.clips import (
    truncate,
    write_audio_only,
    write_frames,
    write_gray_ramp_clip,
    write_noise_clip,
    write_png,
    write_video_without_frames,
)


@dataclass(frozen=True)
class Ok:
    note: str | None = None


@dataclass(frozen=True)
class Error:
    pattern: str


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]  # writes the input into a folder and returns its path
    cli: Ok | Error
    app: Ok | Error | None  # None: the upload widget cannot send this


def moving_frames(num_frames: int, width: int, height: int) -> Iterator[np.ndarray]:
    """A bright bar sweeping left to right: every frame differs, it compresses well, and frames
    are made one at a time (a 20-minute video never sits in memory)."""
    for i in range(num_frames):
        image = np.full((height, width, 3), 40, np.uint8)
        x = (i * 3) % width
        image[:, x : x + max(2, width // 16)] = 220
        yield image


def twenty_minute_video(path: Path) -> Path:
    """20 minutes at 10 fps, 160x120, one keyframe every 25 s: 12,000 frames (~20 s to write)."""
    return write_frames(path, moving_frames(12_000, 160, 120), fps=10, options={"crf": "30", "g": "250"})


def _vfr(path: Path) -> Path:
    gaps = [33, 50, 17, 66, 33, 100, 20] * 10
    return write_frames(path, moving_frames(60, 96, 64), pts=[int(t) for t in np.cumsum([0] + gaps)[:60]])


def _rotated(path: Path) -> Path:
    return write_frames(path, moving_frames(60, 96, 64), rotation=90)


UNREADABLE = r"could not be read as a video"
REPEATS = r"frames repeat"

CASES: dict[str, Case] = {
    "zero-byte file": Case(lambda d: _write(d / "empty.mp4", b""), Error(r"is empty \(0 bytes\)"),
                           Error(r"is empty \(0 bytes\)")),
    "random bytes named .mp4": Case(
        lambda d: _write(d / "random.mp4", np.random.default_rng(7).integers(0, 256, 50_000, np.uint8).tobytes()),
        Error(UNREADABLE), Error(UNREADABLE)),
    "text file named .mp4": Case(lambda d: _write(d / "notes.mp4", b"not a video\n" * 500), Error(UNREADABLE),
                                 Error(UNREADABLE)),
    "PNG image named .mp4": Case(lambda d: write_png(d / "image.mp4"), Error(r"is a still image \(png\)"),
                                 Error(r"is a still image \(png\)")),
    "audio-only file": Case(lambda d: write_audio_only(d / "song.m4a"), Error(r"contains only audio"),
                            Error(r"contains only audio")),
    "video track with no frames": Case(lambda d: write_video_without_frames(d / "hollow.mp4"),
                                       Error(r"has no video stream"), Error(r"has no video stream")),
    "one-frame video": Case(lambda d: write_frames(d / "one.mp4", moving_frames(1, 96, 64)), Ok(REPEATS), Ok(REPEATS)),
    "three-frame video": Case(lambda d: write_frames(d / "three.mp4", moving_frames(3, 96, 64)),
                              Ok(REPEATS), Ok(REPEATS)),
    "truncated MP4, index at the end": Case(
        lambda d: truncate(write_noise_clip(d / "cut.mp4", 60, 64, 48, options={"crf": "23"})),
        Error(UNREADABLE + r".*truncated"), Error(UNREADABLE + r".*truncated")),
    "truncated MP4, index first": Case(
        lambda d: truncate(write_frames(d / "cut_faststart.mp4", moving_frames(90, 96, 64),
                                        options={"crf": "23", "g": "10"},
                                        container_options={"movflags": "faststart"})),
        Ok(r"truncated"), Ok(r"truncated")),
    "4K UHD, 3840x2160": Case(lambda d: write_frames(d / "uhd.mp4", moving_frames(4, 3840, 2160),
                                                     options={"crf": "30"}),
                              Ok(REPEATS), Ok(REPEATS)),
    "8K, 7680x4320 (over the app's pixel limit)": Case(
        lambda d: write_frames(d / "8k.mp4", moving_frames(2, 7680, 4320), options={"crf": "35"}),
        Ok(REPEATS), Error(r"is 7680x4320; this app accepts up to 8.3 megapixels")),
    "20-minute video (over the app's duration limit)": Case(
        lambda d: twenty_minute_video(d / "lecture.mp4"), Ok(),
        Error(r"lasts 20.0 minutes; this app accepts up to 10 minutes")),
    "odd size 101x75, 4:4:4 chroma": Case(
        lambda d: write_frames(d / "odd.mp4", moving_frames(40, 101, 75), pix_fmt="yuv444p"), Ok(REPEATS), Ok(REPEATS)),
    "10-bit 4:2:2 H.264": Case(
        lambda d: write_frames(d / "tenbit.mp4", moving_frames(40, 96, 64), pix_fmt="yuv422p10le"),
        Ok(REPEATS), Ok(REPEATS)),
    "grayscale FFV1 in MKV": Case(
        lambda d: write_frames(d / "gray.mkv", moving_frames(40, 96, 64), codec="ffv1", pix_fmt="gray"), Ok(REPEATS),
        Ok(REPEATS)),
    "portrait 64x112": Case(lambda d: write_frames(d / "portrait.mp4", moving_frames(80, 64, 112)), Ok(), Ok()),
    "rotated 90 degrees (display matrix)": Case(lambda d: _rotated(d / "rotated.mp4"), Ok(REPEATS), Ok(REPEATS)),
    "variable frame rate": Case(lambda d: _vfr(d / "vfr.mp4"), Ok(REPEATS), Ok(REPEATS)),
    "WebM / VP9": Case(lambda d: write_gray_ramp_clip(d / "clip.webm", 90, 96, 64, codec="libvpx-vp9"), Ok(), Ok()),
    "AVI / MPEG-4 Part 2": Case(lambda d: write_gray_ramp_clip(d / "clip.avi", 90, 96, 64, codec="mpeg4"), Ok(), Ok()),
    "MKV / H.264": Case(lambda d: write_gray_ramp_clip(d / "clip.mkv", 90, 96, 64), Ok(), Ok()),
    "missing file": Case(lambda d: d / "nowhere.mp4", Error(r"File not found"), None),
    "a folder": Case(lambda d: d, Error(r"is a folder, not a video file"), None),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
