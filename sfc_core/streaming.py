"""SFC over time: a video file or a camera in one streamed pass, with an answer every few seconds.

Frames are sampled at SFC's rate: the long clip's `length` frames per window (64 per 8 s window: 8 a
second). Each sampled frame goes through the head once, with carried state (`chunked_head`), so no
head work is ever repeated. Every `every_s` seconds of the stream, SFC keeps its K positions among
those of the window [t - window_s, t] and the tail runs once: an *update*. The head looks a few
samples ahead, so the update for time t comes as soon as the head's newest final position reaches t
(none of the window's positions is left out), and updates start once the window holds K positions.

Window edges: a position near a window's edges was computed from the real frames around it (the
stream carries them), where one pass over the window's frames alone would pad with zeros there: only
the positions within the head's receptive field of the window's first or last frame differ from such
a pass.
A head that mixes the whole clip (X3D's squeeze-excitation) passes nothing on until its clip ends,
so it cannot stream; it runs over the window's sampled frames at every update (in chunks, as
`sfc-predict` runs it), and each update's FLOPs count that.

Memory is bounded by the window: the head's carried state, the window's positions (their features)
and their frame numbers. Nothing grows with the stream's length.

A file no longer than one window is sampled exactly as `sfc-predict` samples it (`length` frames
spread over the whole file); with `every_s` at least as long there is one update, equal to
`sfc-predict --mode sfc` on that file.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np
import torch

from . import sampling
from .chunked_head import position_centres
from .device import autocast
from .errors import ConfigError, VideoError
from .hub import SFCModel
from .inputs import clip_views, max_short_side
from .options import DEFAULT_CLIPS, DEFAULT_CROPS
from .profiling import count_flops
from .report import TOP_K
from .video import DecodedFrames, FrameReader, probe, to_rgb

DEFAULT_WINDOW_S = 8.0
DEFAULT_EVERY_S = 1.0
CAMERA = re.compile(r"camera:(\d+)$")


@dataclass(frozen=True)
class Sample:
    """One sampled frame of the stream."""

    index: int  # source frame number
    time_s: float
    rgb: np.ndarray  # (H, W, 3) uint8, upright


@dataclass
class Update:
    """SFC's answer for the window ending at `t_s`."""

    t_s: float
    window_s: tuple[float, float]
    top5: list[tuple[str, float]]
    kept_frames: list[int]  # source frame numbers of the kept positions
    kept_timestamps_s: list[float]
    latency_s: float  # from the arrival of the frame that completed it to the answer
    flops: int | None  # the new work of this update: the head on the frames since the last one, SFC, the tail
    dense_flops: int | None  # dense sampling (clips x crops views) over the same window

    def to_dict(self) -> dict:
        data = asdict(self)
        data["window_s"], data["top5"] = list(self.window_s), [list(pair) for pair in self.top5]
        return data


@dataclass
class Summary:
    updates: int
    frames: int  # sampled frames, each through the head once
    video_s: float
    wall_s: float
    realtime_factor: float  # video seconds per wall-clock second
    mean_latency_s: float | None
    p95_latency_s: float | None
    flops_per_video_s: float
    dense_flops_per_video_s: float  # dense sampling re-run at every update, per second of video
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"summary": asdict(self)}


class FileSource:
    """A video file sampled at `length` frames per `window_s` seconds (a file no longer than one window:
    `length` frames over the whole file, as `sfc-predict` samples it). A file that breaks off ends the
    stream there, with a note."""

    def __init__(self, path: str | Path, length: int, window_s: float, decode_short_side: int) -> None:
        self.path, self.info = Path(path), probe(path)
        duration = self.info.num_frames / self.info.fps
        count = length if duration <= window_s else max(length, round(duration * length / window_s))
        plan = sampling.sfc_plan(self.info.num_frames, count)
        self.indices, self.notes = plan.clips[0], list(plan.notes)
        self.duration_s, self._short_side = duration, decode_short_side

    def __iter__(self) -> Iterator[Sample]:
        served = -1
        with FrameReader(self.path, list(self.indices), self._short_side) as reader:
            for index in self.indices:
                decoded = reader.take([index])
                reader.forget_before(index)
                if decoded.source_indices[0] < index and decoded.source_indices[0] <= served < index - 1:
                    self.notes += reader.notes  # the file ended early: the stream ends with it
                    return
                served = decoded.source_indices[0]
                yield Sample(served, decoded.timestamps_s[0], decoded.frames[0])


class CameraSource:
    """`camera:N`, through PyAV's device input (V4L2's /dev/videoN on Linux, AVFoundation's N on macOS),
    sampled at `rate` frames per second of its own clock."""

    def __init__(self, spec: str, rate: float, decode_short_side: int) -> None:
        match = CAMERA.match(spec)
        if match is None:
            raise ConfigError(f"unknown camera {spec!r}: write camera:N, e.g. camera:0")
        number = int(match.group(1))
        if os.uname().sysname == "Darwin":
            self._url, self._format = str(number), "avfoundation"
        else:
            self._url, self._format = f"/dev/video{number}", "v4l2"
            if not Path(self._url).exists():
                raise ConfigError(f"no camera {spec}: {self._url} does not exist on this machine")
        self.spec, self.rate, self._short_side = spec, rate, decode_short_side
        self.duration_s: float | None = None
        self.notes: list[str] = []

    def __iter__(self) -> Iterator[Sample]:
        try:
            container = av.open(self._url, format=self._format)
        except (av.error.FFmpegError, OSError) as error:
            raise ConfigError(f"{self.spec} could not be opened ({error}): is it in use, or is access "
                              "denied?") from None
        begin, count, taken = None, 0, 0
        try:
            with container:
                for frame in container.decode(video=0):
                    now = float(frame.time) if frame.time is not None else time.monotonic()
                    begin = now if begin is None else begin
                    if now - begin >= taken / self.rate:
                        taken += 1
                        rgb = to_rgb(frame, self._short_side)
                        yield Sample(count, now - begin, rgb)
                    count += 1
        except av.error.FFmpegError as error:
            self.notes.append(f"the camera stream broke off ({error})")


def open_source(source: str | Path, model: SFCModel, window_s: float) -> FileSource | CameraSource:
    """A file path, or `camera:N`."""
    short_side = max_short_side(model.config.input_spec)
    if str(source).startswith("camera:"):
        return CameraSource(str(source), model.settings.length / window_s, short_side)
    return FileSource(source, model.settings.length, window_s, short_side)


@dataclass
class _Position:
    features: torch.Tensor  # (1, C, 1, H, W)
    centre: int  # stream number of the sample at its receptive field's centre


class Streamer:
    """Runs `model`'s SFC over a stream of samples: see the module docstring."""

    def __init__(self, model: SFCModel, window_s: float = DEFAULT_WINDOW_S, every_s: float = DEFAULT_EVERY_S,
                 dense_views: int = DEFAULT_CLIPS * DEFAULT_CROPS, flops: bool = True, backend: str = "torch") -> None:
        """`flops`: count each update's FLOPs and dense sampling's (False: they are None). `backend`: what
        runs the head and the tail (`RunOptions.backend`)."""
        if not window_s > 0 or not every_s > 0:
            raise ConfigError(f"--window-s and --every-s must be > 0, not {window_s} and {every_s}")
        self.model, self.window_s, self.every_s = model, window_s, every_s
        self.recognizer = model.sfc_recognizer(measure="time", backend=backend)
        self.geometry = self.recognizer.geometry
        self.labels = model.labels
        self.spec = model.config.input_spec
        self._dense_views, self._counts_flops = dense_views, flops
        self._flops: dict[tuple, int] = {}
        self._counting_s = 0.0
        # a streamed head runs on a few samples at a time (about half an update's worth), so positions
        # become final as the stream goes and an update comes as soon as its window's last one is final
        per_update = model.settings.length / window_s * every_s
        budget = model.settings.head_chunk_frames or self.geometry.stride
        self._chunk = max(self.geometry.stride, min(budget, int(per_update // 2)))

    # --- costs, counted once per shape (not while an update is timed) ---
    def _count(self, key: tuple, run) -> int:
        """FLOPs of `run`, counted on first use; the counting's time is not the stream's (`wall_s` leaves it out)."""
        if key not in self._flops:
            begin = time.perf_counter()
            with torch.inference_mode():
                self._flops[key] = count_flops(run)[1]
            self._counting_s += time.perf_counter() - begin
        return self._flops[key]

    def _input(self, frames: int) -> torch.Tensor:
        crop = self.spec.crop
        return self.recognizer.to_device(torch.randn(1, 3, frames, crop, crop))

    def _head_flops(self, frames: int) -> int:
        """The head over `frames` new frames: linear in frames when it streams (measured on a dense clip)."""
        if self.geometry.streams:
            per_clip = self._count(("head",), lambda: self.recognizer.head(self._input(self.spec.frames)))
            return round(per_clip * frames / self.spec.frames)
        return self._count(("head", frames), lambda: self.recognizer.head(self._input(frames)))

    def _dense_flops(self) -> int | None:
        if not self._counts_flops:
            return None
        one_view = self._count(("dense",), lambda: self.recognizer.model(self._input(self.spec.frames)))
        return one_view * self._dense_views

    # --- the stream ---
    def run(self, source: FileSource | CameraSource | Iterable[Sample], realtime: bool = False) -> Iterator[Update]:
        """Updates as the stream goes, the last one when it ends (then `summary()`). `realtime`: take each
        sample no earlier than its time (a file then plays as it would live). Ctrl-C ends the stream there,
        with its last update."""
        self.start(source)
        try:
            for sample in source:
                if realtime:
                    time.sleep(max(0.0, self._begin + sample.time_s - time.perf_counter()))
                update = self.push(sample)
                if update is not None:
                    yield update
        except KeyboardInterrupt:
            self._state.notes.append("stopped by the user")
        yield from self.finish(getattr(source, "duration_s", None))

    def start(self, source: object = None) -> None:
        """Begin a stream (`run` does it; frames handed in one by one start here, then `push`, `finish`).
        `source`'s `notes`, if it has them, end up in the summary."""
        self._state = _State(self.recognizer.head_stream() if self.geometry.streams else None)
        self._source, self._counting_s = source, 0.0
        self._begin, self._next_update = time.perf_counter(), self.every_s
        self.wall_s = 0.0

    @torch.inference_mode()
    def push(self, sample: Sample) -> Update | None:
        """Take the stream's next sample; the update it completes, if any: the one whose time the head's
        newest final position has reached (a head that cannot stream: whose time the sample has reached)."""
        state, begin, update = self._state, time.perf_counter(), None
        if state.stream is None and sample.time_s >= self._next_update and state.pending:
            update = self._update(self._next_update, begin)
            self._advance_update_time(sample.time_s)
        state.add(sample, self._views(sample))
        if state.stream is not None and len(state.pending) >= self._chunk:
            self._advance_head(last=False)
            newest = state.frames[state.positions[-1].centre][1] if state.positions else -math.inf
            if newest >= self._next_update:
                update = self._update(self._next_update, begin)
                self._advance_update_time(newest)
        self.wall_s = time.perf_counter() - self._begin - self._counting_s
        return update

    @torch.inference_mode()
    def finish(self, duration_s: float | None = None) -> list[Update]:
        """End the stream (`duration_s`: its length, when known): the update due within it that the head's
        look-ahead held back, if any, then the last one, over the window that ends with the stream."""
        state, begin = self._state, time.perf_counter()
        if not state.seen:
            raise VideoError("the stream ended before its first frame")
        state.end_s = max(state.end_s, duration_s or 0.0)
        if state.stream is not None:
            self._advance_head(last=True)
        due = self._update(self._next_update, begin) if self._next_update < state.end_s else None
        final = self._update(state.end_s, begin, everything=True)
        self.wall_s = time.perf_counter() - self._begin - self._counting_s
        return [update for update in (due, final) if update is not None]

    def _advance_update_time(self, now: float) -> None:
        """The next update's time: the first multiple of `every_s` after `now`."""
        self._next_update += self.every_s * (math.floor((now - self._next_update) / self.every_s) + 1)

    def _views(self, sample: Sample) -> torch.Tensor:
        decoded = DecodedFrames([sample.rgb], [sample.index], [sample.time_s])
        return clip_views(decoded, ("centre",), self.spec)[0]

    def _update(self, t_s: float, begin: float, everything: bool = False) -> Update | None:
        """SFC over the positions of the window [t_s - window_s, t_s] (`everything`: the stream ended, all
        that are left) and the tail once; `begin`: when the sample that completed it arrived (the update's
        latency counts from there)."""
        state, recognizer = self._state, self.recognizer
        start = t_s - self.window_s
        with autocast(recognizer.options.precision, recognizer.device):
            if state.stream is None:
                self._advance_head(everything, start)
            state.forget_before(start, self._upcoming_centre())
            window = [p for p in state.positions if everything or state.frames[p.centre][1] <= t_s]
            if len(window) < recognizer.sfc.keep:
                return None
            features = torch.cat([p.features for p in window], dim=2)
            compressed = recognizer.sfc.compress(iter([features]), features.shape[2])
            probabilities = recognizer.run_tail(compressed.features).float().softmax(dim=1)[0]
        latency = time.perf_counter() - begin
        flops = self._new_work(features) if self._counts_flops else None
        state.head_frames = 0
        kept = [window[p].centre for p in compressed.kept[0].tolist()]
        order = torch.argsort(probabilities, descending=True)[:TOP_K].tolist()
        state.latencies.append(latency)
        state.flops += flops or 0
        return Update(
            t_s=round(float(t_s), 3), window_s=(round(max(0.0, start), 3), round(float(t_s), 3)),
            top5=[(self.labels[i], float(probabilities[i])) for i in order],
            kept_frames=[state.frames[n][0] for n in kept],
            kept_timestamps_s=[round(state.frames[n][1], 3) for n in kept],
            latency_s=latency, flops=flops, dense_flops=self._dense_flops(),
        )

    def _new_work(self, features: torch.Tensor) -> int:
        """This update's FLOPs: the head on the frames since the last update, SFC and the tail."""
        positions, recognizer = features.shape[2], self.recognizer

        def sfc_and_tail() -> torch.Tensor:
            return recognizer.tail(recognizer.sfc.compress(iter([features]), positions).features)

        return self._head_flops(self._state.head_frames) + self._count(("sfc+tail", positions), sfc_and_tail)

    def _upcoming_centre(self) -> int | None:
        """The sample at the centre of the next position the streamed head will produce (None: no stream)."""
        if self._state.stream is None:
            return None
        return max(0, self._state.produced * self.geometry.stride + self.geometry.centre_offset)

    def _advance_head(self, last: bool, window_start: float | None = None) -> None:
        """Run the head over the samples it has not seen (`last`: the stream ended). A head that cannot
        stream runs over the window's samples from `window_start` on instead, as a request runs it."""
        state, recognizer = self._state, self.recognizer
        if state.stream is None:
            state.take_pending_into_window(window_start)
            clip = torch.cat(list(state.window_views), dim=2)
            out = recognizer.features(clip)
            centres = position_centres(clip.shape[2], out.shape[2], self.geometry)
            state.positions = deque(_Position(out[:, :, [t]], state.window_first + c) for t, c in enumerate(centres))
            state.head_frames = clip.shape[2]
            return
        pending, state.pending = state.pending, []
        blocks = [torch.cat(pending[i : i + self._chunk], dim=2) for i in range(0, len(pending), self._chunk)]
        # at the end, what the layers still hold goes through in a step of its own (as `head_chunks` does)
        for block in [*blocks, None] if last else blocks:
            for out in state.stream.step(None if block is None else recognizer.to_device(block), last=block is None):
                for t in range(out.shape[2]):
                    state.positions.append(_Position(out[:, :, [t]], min(self._upcoming_centre(), state.seen - 1)))
                    state.produced += 1
        state.head_frames += len(pending)

    def summary(self) -> Summary:
        """The stream as a whole, after `run` ended."""
        state = self._state
        video_s = state.end_s
        notes = list(getattr(self._source, "notes", [])) + state.notes
        latencies = np.array(state.latencies) if state.latencies else None
        if not state.latencies:
            keep = self.recognizer.sfc.keep
            notes.append(f"no update: the stream ended before the window held SFC's {keep} positions")
        dense = self._dense_flops()
        return Summary(
            updates=len(state.latencies), frames=state.seen, video_s=round(video_s, 3), wall_s=self.wall_s,
            realtime_factor=video_s / self.wall_s if self.wall_s > 0 else math.inf,
            mean_latency_s=None if latencies is None else float(latencies.mean()),
            p95_latency_s=None if latencies is None else float(np.percentile(latencies, 95)),
            flops_per_video_s=state.flops / video_s if video_s > 0 else 0.0,
            dense_flops_per_video_s=(dense or 0) * len(state.latencies) / video_s if video_s > 0 else 0.0,
            notes=notes,
        )


class _State:
    """What a stream holds between updates, all of it bounded by the window."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.pending: list[torch.Tensor] = []  # views of the samples the head has not run on yet
        self.window_views: deque[torch.Tensor] = deque()  # (heads that cannot stream) the window's views
        self.window_first = 0  # stream number of window_views[0]
        self.positions: deque[_Position] = deque()
        self.frames: dict[int, tuple[int, float]] = {}  # stream number -> (source frame, time)
        self.seen = self.produced = self.head_frames = self.flops = 0
        self.latencies: list[float] = []  # one per update
        self.notes: list[str] = []
        self.end_s = 0.0

    def add(self, sample: Sample, views: torch.Tensor) -> None:
        self.frames[self.seen] = (sample.index, sample.time_s)
        self.pending.append(views)
        self.seen += 1
        self.end_s = max(self.end_s, sample.time_s)

    def take_pending_into_window(self, window_start: float | None) -> None:
        """(A head that cannot stream.) The new samples join the window; those before `window_start` leave it."""
        self.window_views.extend(self.pending)
        self.pending = []
        while window_start is not None and self.window_views and self.frames[self.window_first][1] < window_start:
            self.window_views.popleft()
            self.window_first += 1

    def forget_before(self, start_s: float, upcoming: int | None) -> None:
        """Drop the positions before `start_s` (a window is [start, end]), and the frame numbers that no
        position held, to come (`upcoming`: the next streamed position's centre) or in the window needs."""
        while self.positions and self.frames[self.positions[0].centre][1] < start_s:
            self.positions.popleft()
        needed = [self.seen - 1] + ([upcoming] if upcoming is not None else [])
        needed += [self.positions[0].centre] if self.positions else []
        needed += [self.window_first] if self.stream is None else []
        oldest = min(needed)
        for number in [n for n in self.frames if n < oldest]:
            del self.frames[number]


def over_time(model: SFCModel, video: str | Path, window_s: float = DEFAULT_WINDOW_S,
              backend: str = "torch") -> list[Update]:
    """The answer of each consecutive `window_s` window of a video, from one streamed pass (an update at the
    end of every window; the last one covers the video's last `window_s` seconds), run on `backend`. FLOPs
    are not counted."""
    streamer = Streamer(model, window_s, window_s, flops=False, backend=backend)
    return list(streamer.run(open_source(video, model, window_s)))
