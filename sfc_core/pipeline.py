"""Dense and SFC recognizers over the same backbone, returning one `Result` type.

Dense: the 10x3 plan, a clip at a time (decode its frames, make its crops), the whole backbone on
every view in batches of `batch_size` (None: all views at once), mean softmax. SFC: one long clip,
decoded and preprocessed chunk by chunk as the head asks for it (`chunked_head`), SFC compressing the
head's output to the temporal size the tail expects as it arrives, the tail once.
Each request is measured whole (`profiling.measure`): input time (probe + decode + preprocess) and
model time separately, one peak memory for all of it.

A recognizer reads a video file, or a `DecodedVideo` whose planned frames `decode_ahead` decoded
beforehand (in another thread, process or machine: `sfc-batch` overlaps decoding with the model); the
time that took is charged to the request's input time.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from . import sampling, transforms
from .chunked_head import TemporalGeometry, collect, head_chunks, temporal_geometry
from .device import autocast, check_precision, prepare
from .errors import ConfigError
from .models import ModelConfig, StagedBackbone
from .models.registry import InputSpec
from .profiling import Measurement, Stopwatch, measure
from .sampling import SamplingPlan
from .sfc import LEARNED, SFC, SFCOutput
from .video import DecodedFrames, FrameReader, VideoInfo, probe

TOP_K = 5
MEASURES = ("full", "time")  # full: warm-up, FLOPs, peak memory, timed calls; time: the timed calls only
Planner = Callable[[int], SamplingPlan]  # a recognizer's plan for a video of that many frames
T = TypeVar("T")


@dataclass
class KeptFrames:
    positions: list[int]  # kept temporal positions of the head's output
    frame_indices: list[int]  # representative source frame of each kept position
    timestamps_s: list[float]
    scores: list[float]


@dataclass
class Result:
    mode: str  # "dense" or "sfc"
    model: str
    labels: list[str]
    probabilities: np.ndarray  # (num_classes,)
    video: VideoInfo
    plan: SamplingPlan
    frame_indices: list[list[int]]  # source frame actually decoded, per clip and sample
    timestamps_s: list[list[float]]
    measurement: Measurement
    notes: list[str] = field(default_factory=list)
    # SFC only
    kept: KeptFrames | None = None
    scores: list[float] | None = None  # every head temporal position
    attention: np.ndarray | None = None  # (T_head, Hk, Wk) mean attention per key position, or the score map
    heatmap_kind: str | None = None  # "attention" (a learned SFC's attention ran) or "score" (training-free)
    display_frames: np.ndarray | None = None  # (T, crop, crop, 3) uint8: the SFC clip as the model saw it
    tail_input: torch.Tensor | None = None  # SFC's output, kept for attributions (explain.gradcam)
    position_centres: list[int] | None = None  # per head position: the sampled frame at its field's centre
    position_windows: list[list[int]] | None = None  # per head position: the sampled frames it stands for

    @property
    def decode_time_s(self) -> float:
        """Probe + decode + preprocess (median over repeats), measured inside the same request."""
        return self.measurement.input_time_s

    def top(self, k: int = TOP_K) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict:
        """The stable JSON shape read by the app, the bench and outside tools."""
        data = {
            "top5": [[label, p] for label, p in self.top(TOP_K)],
            "model_time_s": self.measurement.model_time_s,
            "decode_time_s": self.decode_time_s,
            "peak_memory_bytes": self.measurement.peak_memory_bytes,
            "flops": self.measurement.flops,
            "device": self.measurement.device,
            "num_views": self.plan.num_views,
            "frames_decoded": len(self.plan.unique_indices()),
            "notes": list(self.notes),
        }
        if self.kept is not None:
            data.update(
                kept_frames=self.kept.frame_indices,
                kept_timestamps_s=self.kept.timestamps_s,
                kept_positions=self.kept.positions,
                scores=self.scores,
                position_frames=[self.frame_indices[0][c] for c in self.position_centres],
                sampled_frames=self.frame_indices[0],
                heatmap_kind=self.heatmap_kind,
            )
        return data


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


def _max_short_side(spec: InputSpec) -> int:
    """Frames are decoded at most this large: enough for the resize, bounded for huge resolutions."""
    return 2 * spec.short_side


def _reader(path: str | Path, plan: SamplingPlan, spec: InputSpec) -> FrameReader:
    return FrameReader(path, plan.unique_indices(), max_short_side=_max_short_side(spec))


@dataclass
class DecodedVideo:
    """A video probed and the frames of one or more plans decoded ahead of the model; picklable."""

    info: VideoInfo
    frames: dict[int, tuple[np.ndarray, int, float]]  # planned index -> (RGB frame, source index, time)
    notes: list[str]
    decode_time_s: float  # probe + decode, wherever it ran

    def reader(self) -> "_HeldFrames":
        return _HeldFrames(self)


def decode_ahead(path: str | Path, planners: Iterable[Planner], spec: InputSpec) -> DecodedVideo:
    """Probe `path` and decode every frame the plans of `planners` (recognizers' `.plan`) need."""
    begin = time.perf_counter()
    info = probe(path)
    wanted = sorted({i for plan_for in planners for i in plan_for(info.num_frames).unique_indices()})
    with FrameReader(path, wanted, max_short_side=_max_short_side(spec)) as reader:
        decoded = reader.take(wanted)
        notes = reader.notes
    frames = dict(zip(wanted, zip(decoded.frames, decoded.source_indices, decoded.timestamps_s)))
    return DecodedVideo(info, frames, notes, time.perf_counter() - begin)


class _HeldFrames:
    """`FrameReader`'s interface over the frames of a `DecodedVideo`."""

    def __init__(self, video: DecodedVideo) -> None:
        self._video, self.notes = video, video.notes

    def __enter__(self) -> "_HeldFrames":
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
    with _reader(path, plan, config.input_spec) as reader:
        decoded = [reader.take(list(clip)) for clip in plan.clips]
        notes = list(plan.notes) + reader.notes
    views = torch.cat([clip_views(clip, plan.crops, config.input_spec)[0] for clip in decoded])
    sources, stamps = [d.source_indices for d in decoded], [d.timestamps_s for d in decoded]
    return plan, PreparedInputs(info, views, sources, stamps, notes)


@dataclass
class _Run:
    """What one request produced, before it becomes a `Result`."""

    video: VideoInfo
    plan: SamplingPlan
    probabilities: torch.Tensor
    frame_indices: list[list[int]]
    timestamps_s: list[list[float]]
    notes: list[str]


class _Recognizer:
    plan: Planner

    def __init__(
        self, model: StagedBackbone, config: ModelConfig, device: torch.device, repeats: int = 1,
        precision: str = "fp32", measure: str = "full",
    ) -> None:
        check_precision(precision, device)
        if measure not in MEASURES:
            raise ConfigError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
        prepare(device)
        self.model = model.to(device).eval()
        if device.type == "cpu":  # oneDNN's channels-last kernels: 1.3-1.4x faster on a 2-core CPU, dense and SFC alike
            self.model.to(memory_format=torch.channels_last_3d)
        self.config, self.device, self.repeats, self.precision = config, device, repeats, precision
        self.measure = measure

    def _autocast(self):
        return autocast(self.precision, self.device)

    def _measure(self, fn: Callable[[Stopwatch], T]) -> tuple[T, Measurement]:
        return measure(fn, self.device, self.repeats, profile=self.measure == "full")

    def _open(self, source: str | Path | DecodedVideo,
              watch: Stopwatch) -> tuple[VideoInfo, SamplingPlan, FrameReader | _HeldFrames]:
        if isinstance(source, DecodedVideo):
            watch.add("input", source.decode_time_s)
            return source.info, self.plan(source.info.num_frames), source.reader()
        with watch.part("input"):
            info = probe(source)
            plan = self.plan(info.num_frames)
            return info, plan, _reader(source, plan, self.config.input_spec)

    def _to_device(self, views: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":  # pinned host memory: the copy overlaps with queued GPU work
            return views.pin_memory().to(self.device, non_blocking=True)
        return views.contiguous(memory_format=torch.channels_last_3d)

    def _result(self, mode: str, run: _Run, m: Measurement, **sfc) -> Result:
        return Result(
            mode=mode,
            model=self.config.name,
            labels=self.config.labels(),
            probabilities=run.probabilities.float().cpu().numpy(),
            video=run.video,
            plan=run.plan,
            frame_indices=run.frame_indices,
            timestamps_s=run.timestamps_s,
            measurement=m,
            notes=run.notes,
            **sfc,
        )


def _rebatch(groups: Iterable[torch.Tensor], size: int | None) -> Iterator[torch.Tensor]:
    """Views arriving a clip at a time (n, 3, T, H, W), regrouped into batches of `size` (None: one batch)."""
    waiting: list[torch.Tensor] = []
    for group in groups:
        waiting.append(group)
        while size and sum(len(w) for w in waiting) >= size:
            joined = torch.cat(waiting) if len(waiting) > 1 else waiting[0]
            yield joined[:size]
            waiting = [joined[size:]] if len(joined) > size else []
    if waiting:
        yield torch.cat(waiting) if len(waiting) > 1 else waiting[0]


class DenseRecognizer(_Recognizer):
    """The standard multi-view protocol: mean softmax over clips x crops."""

    def __init__(
        self,
        model: StagedBackbone,
        config: ModelConfig,
        device: torch.device,
        num_clips: int = 10,
        num_crops: int = 3,
        batch_size: int | None = None,
        repeats: int = 1,
        precision: str = "fp32",
        measure: str = "full",
    ) -> None:
        super().__init__(model, config, device, repeats, precision, measure)
        self.num_clips, self.num_crops, self.batch_size = num_clips, num_crops, batch_size
        self.plan = partial(sampling.dense_plan, spec=config.input_spec, num_clips=num_clips, num_crops=num_crops)

    def _mean_softmax(self, batches: Iterable[torch.Tensor], watch: Stopwatch | None = None) -> torch.Tensor:
        """Mean softmax over `batches`; each batch's copy to the device is input time, as SFC's is."""
        total, count = None, 0
        for batch in batches:
            with watch.part("input") if watch is not None else contextlib.nullcontext():
                batch = self._to_device(batch)
            with self._autocast():
                logits = self.model(batch)
            probs = logits.float().softmax(dim=1).sum(dim=0)
            total, count = (probs if total is None else total + probs), count + len(batch)
        return total / count

    @torch.inference_mode()
    def classify(self, views: torch.Tensor) -> torch.Tensor:
        """Mean softmax over views in memory (V, 3, T, H, W), in batches of `batch_size` (None: all at once)."""
        return self._mean_softmax(views.split(self.batch_size or len(views)))

    @torch.inference_mode()
    def _run(self, source: str | Path | DecodedVideo, watch: Stopwatch) -> _Run:
        """One request: decode a clip at a time (its frames only), classify views in batches as they
        fill, so one view at a time holds one clip's frames, not the whole plan's."""
        info, plan, reader = self._open(source, watch)
        sources, stamps = [], []

        def clips() -> Iterator[torch.Tensor]:
            for number, clip in enumerate(plan.clips):
                with watch.part("input"):
                    decoded = reader.take(list(clip))
                    if number + 1 < len(plan.clips):
                        reader.forget_before(min(plan.clips[number + 1]))
                    sources.append(decoded.source_indices)
                    stamps.append(decoded.timestamps_s)
                    views = clip_views(decoded, plan.crops, self.config.input_spec)[0]
                yield views

        with reader, watch.part("model"):
            probs = self._mean_softmax(_rebatch(clips(), self.batch_size), watch)
        return _Run(info, plan, probs, sources, stamps, list(plan.notes) + reader.notes)

    def __call__(self, source: str | Path | DecodedVideo) -> Result:
        run, measurement = self._measure(lambda watch: self._run(source, watch))
        return self._result("dense", run, measurement)


class SFCRecognizer(_Recognizer):
    """Head on one long clip, SFC to the tail's temporal size, tail once."""

    def __init__(
        self,
        model: StagedBackbone,
        config: ModelConfig,
        device: torch.device,
        sfc: SFC,
        length: int,
        split: str,
        repeats: int = 1,
        geometry: TemporalGeometry | None = None,
        head_chunk_frames: int | None = None,
        precision: str = "fp32",
        measure: str = "full",
    ) -> None:
        """`sfc` fits the head that ends after stage `split` (`sfc_core.hub` decides which SFC
        runs); `length` is the long clip's number of frames. The head's `geometry` (measured when not
        given) maps its positions to frames; with `head_chunk_frames`, the head runs in exact temporal
        chunks (see `chunked_head`)."""
        super().__init__(model, config, device, repeats, precision, measure)
        self.length, self.split = length, split
        self.plan = partial(sampling.sfc_plan, length=length)
        self.head, self.tail = self.model.split(split)
        self.sfc = sfc.to(device).eval()
        self.geometry = geometry or temporal_geometry(self.head, config.input_spec.crop)
        self.head_chunk_frames = head_chunk_frames

    def _blocks(self, read: Callable[[int, int], torch.Tensor], frames: int) -> Iterator[torch.Tensor]:
        return head_chunks(self.head, read, frames, self.geometry, self.head_chunk_frames)

    def _capacity(self, frames: int) -> int:
        return math.ceil(frames / self.geometry.stride) + 1

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """The head's output for a long clip in memory (B, 3, L, H, W), in chunks when configured."""
        blocks = self._blocks(lambda first, last: self._to_device(clip[:, :, first:last]), clip.shape[2])
        return collect(blocks, self._capacity(clip.shape[2]))

    def _compress_and_classify(self, read: Callable[[int, int], torch.Tensor], frames: int):
        with self._autocast():
            compressed = self.sfc.compress(self._blocks(read, frames), self._capacity(frames))
            logits = self.tail(compressed.features)
        return logits.float().softmax(dim=1)[0], compressed

    @torch.inference_mode()
    def classify(self, clip: torch.Tensor):
        """Probabilities and SFC's output for a long clip in memory (1, 3, L, H, W)."""
        return self._compress_and_classify(lambda first, last: self._to_device(clip[:, :, first:last]), clip.shape[2])

    @torch.inference_mode()
    def _run(self, source: str | Path | DecodedVideo, watch: Stopwatch) -> tuple[_Run, SFCOutput, np.ndarray]:
        """One request: the head asks for the long clip's frames chunk by chunk; each chunk is decoded
        and preprocessed only then, and SFC keeps what it needs of the head's output as it comes."""
        info, plan, reader = self._open(source, watch)
        clip = plan.clips[0]
        sources, stamps, shown = [], [], []

        def read(first: int, last: int) -> torch.Tensor:
            with watch.part("input"):
                decoded = reader.take(list(clip[first:last]))
                reader.forget_before(clip[first])  # chunks move forward; their halos overlap
                views, display = clip_views(decoded, plan.crops, self.config.input_spec, display=True)
                new = len(sources) - first  # frames not seen in an earlier chunk start here
                sources.extend(decoded.source_indices[new:])
                stamps.extend(decoded.timestamps_s[new:])
                shown.append(display[new:])
                return self._to_device(views)

        with reader, watch.part("model"):
            probs, out = self._compress_and_classify(read, len(clip))
        run = _Run(info, plan, probs, [sources], [stamps], list(plan.notes) + reader.notes)
        return run, out, np.concatenate(shown)

    @torch.inference_mode()
    def head_features(self, source: str | Path | DecodedVideo) -> torch.Tensor:
        """The head's output (1, C, T, H, W) for `source`, computed exactly as a request computes it
        (same frames, chunks and precision), not measured: the input of `selection.Selector`, so other
        selections of the same clip need only SFC and the tail."""
        info, plan, reader = self._open(source, Stopwatch(self.device))
        clip = plan.clips[0]

        def read(first: int, last: int) -> torch.Tensor:
            decoded = reader.take(list(clip[first:last]))
            reader.forget_before(clip[first])
            return self._to_device(clip_views(decoded, plan.crops, self.config.input_spec)[0])

        with reader, self._autocast():
            return collect(self._blocks(read, len(clip)), self._capacity(len(clip)))

    def __call__(self, source: str | Path | DecodedVideo) -> Result:
        (run, out, display), measurement = self._measure(lambda watch: self._run(source, watch))
        sampled, stamps = run.frame_indices[0], run.timestamps_s[0]
        positions = out.scores.shape[1]
        kept_positions = out.kept[0].tolist()
        scores = out.scores[0].float().cpu()
        centre = position_centres(len(sampled), positions, self.geometry)
        kept = KeptFrames(
            positions=kept_positions,
            frame_indices=[sampled[centre[p]] for p in kept_positions],
            timestamps_s=[stamps[centre[p]] for p in kept_positions],
            scores=[float(scores[p]) for p in kept_positions],
        )
        return self._result(
            "sfc",
            run,
            measurement,
            kept=kept,
            scores=scores.tolist(),
            attention=out.attention[0].float().cpu().numpy(),
            heatmap_kind=heatmap_kind(self.sfc),
            display_frames=display,
            tail_input=out.features.detach().cpu(),
            position_centres=centre,
            position_windows=position_windows(len(sampled), positions, self.geometry),
        )


def heatmap_kind(sfc: SFC) -> str:
    """What an SFC's heatmap shows: "attention" where its learned attention ran, "score" where a
    training-free score chose (the map is then the score's own, and no attention runs)."""
    return "attention" if sfc.scoring == LEARNED else "score"


def head_output_shape(head: torch.nn.Module, frames: int) -> tuple[int, int]:
    """(channels, temporal positions) of the head's output for one ordinary clip.

    Runs the head on a small spatial size: channels and temporal size do not depend on it.
    """
    parameter = next(head.parameters())
    with torch.no_grad():
        out = head(torch.zeros(1, 3, frames, 32, 32, device=parameter.device, dtype=parameter.dtype))
    return out.shape[1], out.shape[2]


def position_centres(num_samples: int, num_positions: int, geometry: TemporalGeometry) -> list[int]:
    """The sampled frame (0..num_samples-1) that stands for each head temporal position: the centre of
    its receptive field (`TemporalGeometry.centre_offset`), kept within the clip."""
    return [min(num_samples - 1, max(0, t * geometry.stride + geometry.centre_offset)) for t in range(num_positions)]


def position_windows(num_samples: int, num_positions: int, geometry: TemporalGeometry) -> list[list[int]]:
    """The sampled frames each position stands for on a timeline: those nearer its centre than any
    other position's (a position whose centre another shares at the clip's end gets its centre)."""
    centres = np.array(position_centres(num_samples, num_positions, geometry))
    nearest = np.abs(np.arange(num_samples)[:, None] - centres[None, :]).argmin(axis=1)
    return [[int(f) for f in np.flatnonzero(nearest == t)] or [int(centres[t])] for t in range(num_positions)]


def positions_inside(sampled: list[int], num_positions: int, window: tuple[int, int],
                     geometry: TemporalGeometry) -> np.ndarray:
    """(num_positions,) bool: whether each position's representative source frame lies in `window`
    (first and last frame, inclusive); a selection's hit rate is the mean over its kept positions."""
    start, end = window
    return np.array([start <= sampled[c] <= end for c in position_centres(len(sampled), num_positions, geometry)])
