"""Dense and SFC recognizers over the same backbone, returning one `Result` type.

Dense: the 10x3 plan, a clip at a time (decode its frames, make its crops), the whole backbone on
every view in batches of `batch_size` (None: all views at once), mean softmax. SFC: one long clip,
decoded and preprocessed chunk by chunk as the head asks for it (`chunked_head`), SFC compressing the
head's output to the temporal size the tail expects as it arrives, the tail once.
Each request is measured whole (`profiling.measure`): input time (probe + decode + preprocess) and
model time separately, one peak memory for all of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import sampling, transforms
from .chunked_head import TemporalGeometry, collect, head_chunks
from .device import autocast, check_precision, prepare
from .models import ModelConfig, StagedBackbone
from .models.registry import InputSpec
from .profiling import Measurement, Stopwatch, measure
from .sampling import SamplingPlan
from .sfc import SFC, SFCOutput
from .video import DecodedFrames, FrameReader, VideoInfo, probe

TOP_K = 5


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
    attention: np.ndarray | None = None  # (T_head, Hk, Wk) mean attention per key position
    display_frames: np.ndarray | None = None  # (T, crop, crop, 3) uint8: the SFC clip as the model saw it
    tail_input: torch.Tensor | None = None  # SFC's output, kept for attributions (explain.gradcam)

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
                sampled_frames=self.frame_indices[0],
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


def _reader(path: str | Path, plan: SamplingPlan, spec: InputSpec) -> FrameReader:
    return FrameReader(path, plan.unique_indices(), max_short_side=2 * spec.short_side)


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
    def __init__(
        self, model: StagedBackbone, config: ModelConfig, device: torch.device, repeats: int = 1,
        precision: str = "fp32",
    ) -> None:
        check_precision(precision, device)
        prepare(device)
        self.model = model.to(device).eval()
        if device.type == "cpu":  # oneDNN's channels-last kernels: 1.3-1.4x faster on a 2-core CPU, dense and SFC alike
            self.model.to(memory_format=torch.channels_last_3d)
        self.config, self.device, self.repeats, self.precision = config, device, repeats, precision

    def _autocast(self):
        return autocast(self.precision, self.device)

    def _open(self, path: str | Path, watch: Stopwatch) -> tuple[VideoInfo, SamplingPlan, FrameReader]:
        with watch.part("input"):
            info = probe(path)
            plan = self.plan(info.num_frames)
            return info, plan, _reader(path, plan, self.config.input_spec)

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
    ) -> None:
        super().__init__(model, config, device, repeats, precision)
        self.num_clips, self.num_crops, self.batch_size = num_clips, num_crops, batch_size

    def plan(self, num_frames: int) -> SamplingPlan:
        return sampling.dense_plan(num_frames, self.config.input_spec, self.num_clips, self.num_crops)

    def _mean_softmax(self, batches: Iterable[torch.Tensor]) -> torch.Tensor:
        total, count = None, 0
        for batch in batches:
            with self._autocast():
                logits = self.model(self._to_device(batch))
            probs = logits.float().softmax(dim=1).sum(dim=0)
            total, count = (probs if total is None else total + probs), count + len(batch)
        return total / count

    @torch.inference_mode()
    def classify(self, views: torch.Tensor) -> torch.Tensor:
        """Mean softmax over views in memory (V, 3, T, H, W), in batches of `batch_size` (None: all at once)."""
        return self._mean_softmax(views.split(self.batch_size or len(views)))

    @torch.inference_mode()
    def _run(self, path: str | Path, watch: Stopwatch) -> _Run:
        """One request: decode a clip at a time (its frames only), classify views in batches as they
        fill, so one view at a time holds one clip's frames, not the whole plan's."""
        info, plan, reader = self._open(path, watch)
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
            probs = self._mean_softmax(_rebatch(clips(), self.batch_size))
        return _Run(info, plan, probs, sources, stamps, list(plan.notes) + reader.notes)

    def __call__(self, path: str | Path) -> Result:
        run, measurement = measure(lambda watch: self._run(path, watch), self.device, self.repeats)
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
    ) -> None:
        """`sfc` fits the head that ends after stage `split` (`sfc_core.hub` decides which SFC
        runs); `length` is the long clip's number of frames. With the head's `geometry` and
        `head_chunk_frames`, the head runs in exact temporal chunks (see `chunked_head`)."""
        super().__init__(model, config, device, repeats, precision)
        self.length, self.split = length, split
        self.head, self.tail = self.model.split(split)
        self.sfc = sfc.to(device).eval()
        self.geometry, self.head_chunk_frames = geometry, head_chunk_frames

    def _blocks(self, read: Callable[[int, int], torch.Tensor], frames: int) -> Iterator[torch.Tensor]:
        return head_chunks(self.head, read, frames, self.geometry, self.head_chunk_frames)

    def _capacity(self, frames: int) -> int:
        return math.ceil(frames / (self.geometry.stride if self.geometry else 1)) + 1

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """The head's output for a long clip in memory (B, 3, L, H, W), in chunks when configured."""
        blocks = self._blocks(lambda first, last: self._to_device(clip[:, :, first:last]), clip.shape[2])
        return collect(blocks, self._capacity(clip.shape[2]))

    def plan(self, num_frames: int) -> SamplingPlan:
        return sampling.sfc_plan(num_frames, self.length)

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
    def _run(self, path: str | Path, watch: Stopwatch) -> tuple[_Run, SFCOutput, np.ndarray]:
        """One request: the head asks for the long clip's frames chunk by chunk; each chunk is decoded
        and preprocessed only then, and SFC keeps what it needs of the head's output as it comes."""
        info, plan, reader = self._open(path, watch)
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

    def __call__(self, path: str | Path) -> Result:
        (run, out, display), measurement = measure(lambda watch: self._run(path, watch), self.device, self.repeats)
        sampled, stamps = run.frame_indices[0], run.timestamps_s[0]
        positions = out.scores.shape[1]
        kept_positions = out.kept[0].tolist()
        scores = out.scores[0].float().cpu()
        centre = position_centres(len(sampled), positions)
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
            display_frames=display,
            tail_input=out.features.detach().cpu(),
        )


def head_output_shape(head: torch.nn.Module, frames: int) -> tuple[int, int]:
    """(channels, temporal positions) of the head's output for one ordinary clip.

    Runs the head on a small spatial size: channels and temporal size do not depend on it.
    """
    parameter = next(head.parameters())
    with torch.no_grad():
        out = head(torch.zeros(1, 3, frames, 32, 32, device=parameter.device, dtype=parameter.dtype))
    return out.shape[1], out.shape[2]


def position_centres(num_samples: int, num_positions: int) -> list[int]:
    """The sampled frame (0..num_samples-1) that stands for each head temporal position."""
    return [window[len(window) // 2] for window in position_windows(num_samples, num_positions)]


def representative_frames(sampled: list[int], num_positions: int) -> list[int]:
    """The source frame that stands for each of the head's temporal positions."""
    return [sampled[c] for c in position_centres(len(sampled), num_positions)]


def positions_inside(sampled: list[int], num_positions: int, window: tuple[int, int]) -> np.ndarray:
    """(num_positions,) bool: whether each position's representative frame lies in `window`
    (first and last frame, inclusive); a selection's hit rate is the mean over its kept positions."""
    start, end = window
    return np.array([start <= frame <= end for frame in representative_frames(sampled, num_positions)])


def position_windows(num_samples: int, num_positions: int) -> list[list[int]]:
    """Which sampled frames (0..num_samples-1) each head temporal position covers."""
    edges = np.linspace(0, num_samples, num_positions + 1).round().astype(int)
    return [list(range(edges[t], max(edges[t] + 1, edges[t + 1]))) for t in range(num_positions)]
