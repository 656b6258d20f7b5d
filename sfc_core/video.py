"""Probe and decode video files with PyAV, decoding only the frames a sampling plan needs.

Every failure a person can cause with a file (empty, not a video, image, audio only, no decodable
frames, unknown codec) surfaces as one `VideoError` whose message says what is wrong in plain words.
A file that ends early (truncated, or shorter than its header claims) is not an error: the missing
frames repeat the last decoded one and a note says so.

Frame index convention: index = round((pts_seconds - stream_start_seconds) * fps), i.e. the
frame's position on the stream's average-rate grid. For constant frame rate this is the decode
order; for variable frame rate it is the nearest grid slot, and the exact timestamp is kept too.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .errors import VideoError

# Demuxers that read single still images; FFmpeg opens these as one-frame "videos".
_IMAGE_FORMATS = ("image2", "_pipe", "gif")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    codec: str
    width: int  # as displayed, after rotation
    height: int
    fps: float
    num_frames: int
    frames_counted: bool  # True: from the container's index or by counting packets; False: duration x fps
    duration_s: float
    rotation: int  # degrees counter-clockwise to display upright (FFmpeg display-matrix convention)


@dataclass
class DecodedFrames:
    """Decoded RGB frames for the requested indices, in request order (duplicates share memory)."""

    frames: list[np.ndarray]  # each (H, W, 3) uint8, upright
    source_indices: list[int]  # index of the frame actually used for each request
    timestamps_s: list[float]
    notes: list[str] = field(default_factory=list)


# On a machine of 2 cores or fewer the model already uses every core, so the decoder takes slice threads
# (one thread for most H.264: one slice a frame); frame threads hold a decoded picture each and, measured on
# 2 cores, were slower too: 19 against 13 MiB and 0.34 against 0.27 s for 5 s of 1280x720 H.264, 1.7 against
# 1.2 s for 10 s of 1920x1080. With more cores, frame threads decode in parallel beside the model.
DECODER_THREADS = "SLICE" if (os.cpu_count() or 1) <= 2 else "AUTO"


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"File not found: {path}")
    if path.is_dir():
        raise VideoError(f"{path.name} is a folder, not a video file.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes).")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise VideoError(
            f"{path.name} could not be read as a video: it is not in a known video container format "
            f"(corrupt, truncated before its header, or not a video). [{type(error).__name__}]"
        ) from None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    format_name = container.format.name
    if any(marker in format_name for marker in _IMAGE_FORMATS) and format_name != "gif":
        raise VideoError(f"{path.name} is a still image ({format_name.replace('_pipe', '')}), not a video.")
    if not container.streams.video:
        if container.streams.audio:
            raise VideoError(f"{path.name} contains only audio; it has no video stream.")
        raise VideoError(f"{path.name} has no video stream (no video track, or a video track with no frames).")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise VideoError(f"{path.name} uses a video codec that this FFmpeg build cannot decode.")
    return stream


def _fps(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return 25.0  # FFmpeg's own fallback when a stream declares no rate


def _start_seconds(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _duration_seconds(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _count_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Count video packets without decoding (cheap; WebM headers often carry no frame count)."""
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                count += 1
    except av.error.FFmpegError:
        pass  # truncated tail: what was read so far is the count
    return count


def probe(path: str | Path) -> VideoInfo:
    """Read a file's video metadata and check that at least one frame decodes."""
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        fps = _fps(stream)
        duration = _duration_seconds(container, stream)
        codec = stream.codec_context.name
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError:
            first = None
        if first is None:
            raise VideoError(f"{path.name} has a video stream ({codec}) but no frame in it could be decoded.")
        rotation = int(first.rotation or 0) % 360
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        num_frames, counted = int(stream.frames or 0), True
        if num_frames <= 0:
            container.seek(0)
            num_frames = _count_packets(container, stream)
        if num_frames <= 0:
            num_frames, counted = max(1, round(duration * fps)), False
        if duration <= 0:
            duration = num_frames / fps
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            codec=codec,
            width=width,
            height=height,
            fps=fps,
            num_frames=num_frames,
            frames_counted=counted,
            duration_s=duration,
            rotation=rotation,
        )


def to_rgb(frame: av.VideoFrame, max_short_side: int | None) -> np.ndarray:
    """Frame -> upright RGB uint8; downscale in libswscale first if it is far larger than needed."""
    width, height = frame.width, frame.height
    short = min(width, height)
    if max_short_side is not None and short > max_short_side:
        scale = max_short_side / short
        width, height = max(2, round(width * scale)), max(2, round(height * scale))
        frame = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    image = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=quarter_turns)) if quarter_turns else image


def decode_frames(
    path: str | Path,
    indices: list[int],
    max_short_side: int | None = None,
    seek_gap: int | None = None,
) -> DecodedFrames:
    """Decode the frames at `indices` (any order, repeats allowed), seeking over long gaps.

    Each request gets the first frame whose index is >= the requested one. `max_short_side`
    bounds memory for huge resolutions; `seek_gap` (default: 2 s of frames, at least 64) is the
    gap above which we seek to the nearest keyframe instead of decoding through.
    """
    with FrameReader(path, indices, max_short_side, seek_gap) as reader:
        return reader.take(indices)


class FrameReader:
    """Decodes the frames a plan wants in file order, only as they are asked for, and forgets the
    ones the caller no longer needs: a request holds the frames of the clip (or chunk) it is working
    on, not the whole plan's. Use as a context manager (it keeps the file open).

    `take(indices)` returns a `DecodedFrames` for those indices (each >= the last `forget_before`);
    `notes` says which requests a truncated file could not serve (they repeat the last frame).
    """

    def __init__(self, path: str | Path, indices: list[int], max_short_side: int | None = None,
                 seek_gap: int | None = None) -> None:
        self.path = Path(path)
        if not indices:
            raise ValueError("no frame indices requested")
        self._wanted = sorted(set(indices))
        self._max_short_side, self._seek_gap = max_short_side, seek_gap
        self._held: dict[int, tuple[np.ndarray, int, float]] = {}
        self._errors: list[str] = []
        self._padded: list[tuple[int, int]] = []  # (requested index, index of the frame served)
        self._frames = self._decode()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc) -> None:
        self._frames.close()  # closes the container

    def _decode(self):
        with _open(self.path) as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = DECODER_THREADS
            fps, start = _fps(stream), _start_seconds(stream)
            gap = self._seek_gap if self._seek_gap is not None else max(64, round(2 * fps))
            for frame, index, slots in _frames_for(container, stream, self._wanted, fps, start, gap, self._errors):
                yield (to_rgb(frame, self._max_short_side), index, float(frame.time or 0.0) - start), slots

    def take(self, indices: list[int]) -> DecodedFrames:
        last = max(indices)
        while last not in self._held:
            decoded, slots = next(self._frames, (None, None))
            if decoded is None:
                if not self._held and not self._padded:
                    raise VideoError(
                        f"{self.path.name}: none of the requested frames could be decoded (the file may be truncated)."
                    )
                raise VideoError(f"{self.path.name}: frame {last} was asked for after it was forgotten.")
            self._held.update((slot, decoded) for slot in slots)
            self._padded += [(slot, decoded[1]) for slot in slots if slot > decoded[1]]
        used = [self._held[i] for i in indices]
        return DecodedFrames(
            frames=[u[0] for u in used],
            source_indices=[u[1] for u in used],
            timestamps_s=[u[2] for u in used],
            notes=self.notes,
        )

    def forget_before(self, index: int) -> None:
        """Drop held frames below `index`: no later `take` asks for them."""
        for slot in [slot for slot in self._held if slot < index]:
            del self._held[slot]

    @property
    def notes(self) -> list[str]:
        if not self._padded:
            return []
        first, served = self._padded[0]
        return [
            f"{self._errors[0] if self._errors else 'the video ended'} at frame {served}, before requested frame "
            f"{first} (truncated, or shorter than its header says); the last decoded frame was repeated "
            f"for {len(self._padded)} sampled position(s)."
        ]


def _frames_for(container, stream, wanted: list[int], fps: float, start: float, gap: int, errors: list[str]):
    """Yield (frame, index, wanted slots it serves) in order, seeking once per far-away target.

    At the end of the stream (or on a decoder error, appended to `errors`), the last decoded
    frame is yielded once more for every slot still unserved.
    """
    frames = container.decode(stream)
    position, current, sought, last = 0, -1, None, None
    while position < len(wanted):
        target = wanted[position]
        try:
            if target - current > gap and sought != target:
                sought = target
                pts = int((start + target / fps) / stream.time_base)
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                frames = container.decode(stream)
            frame = next(frames, None)
        except (av.error.FFmpegError, EOFError) as error:
            errors.append(f"decoding failed ({type(error).__name__})")
            frame = None
        if frame is None:
            if last is not None:
                yield last, current, wanted[position:]
            return
        current = current + 1 if frame.time is None else round((float(frame.time) - start) * fps)
        last = frame
        if current < target:
            continue
        slots = []
        while position < len(wanted) and wanted[position] <= current:
            slots.append(wanted[position])
            position += 1
        yield frame, current, slots


def write_h264(path: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: float = 25, crf: int = 18) -> Path:
    """Encode (T, H, W, 3) uint8 RGB frames (or an iterable of (H, W, 3) frames, encoded as they come)
    as browser-playable MP4: H.264, yuv420p, moov first. Odd widths or heights are cropped by one
    pixel (yuv420p needs even sizes)."""
    path = Path(path)
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[0] // 2 * 2, first.shape[1] // 2 * 2
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = 1 / rate
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        frames = itertools.chain([first], frames)
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cut(path: str | Path, first: int, last: int, out: str | Path, max_short_side: int | None = None) -> Path:
    """Frames `first`..`last`-1 of `path`, upright, re-encoded to `out` at the same frame rate; decoded and
    encoded one at a time, so a long or large video never sits in memory."""
    indices = list(range(first, last))
    fps = probe(path).fps

    def frames() -> Iterator[np.ndarray]:
        with FrameReader(path, indices, max_short_side) as reader:
            for index in indices:
                yield reader.take([index]).frames[0]
                reader.forget_before(index + 1)

    return write_h264(out, frames(), fps=fps)
