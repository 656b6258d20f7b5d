"""Dense and SFC recognizers over the same backbone, returning one `Result` type.

Dense: decode the 10x3 plan's frames, run the whole backbone on every view (all in one batch, or
in chunks of `batch_size` to bound memory), average the softmax. SFC: decode one long clip, run
the head once, compress with SFC to the temporal size the tail expects, run the tail once.
Input time (probe + decode + preprocess) and model time are measured separately.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import sampling, transforms
from .chunked_head import TemporalGeometry, run_head
from .models import ModelConfig, StagedBackbone
from .profiling import Measurement, measure
from .sampling import SamplingPlan
from .sfc import SFC
from .video import VideoInfo, decode_frames, probe

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
    decode_time_s: float
    notes: list[str] = field(default_factory=list)
    # SFC only
    kept: KeptFrames | None = None
    scores: list[float] | None = None  # every head temporal position
    attention: np.ndarray | None = None  # (T_head, Hk, Wk) mean attention per key position
    display_frames: np.ndarray | None = None  # (T, crop, crop, 3) uint8: the SFC clip as the model saw it
    tail_input: torch.Tensor | None = None  # SFC's output, kept for attributions (explain.gradcam)

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
    """Everything decoded and preprocessed for one plan, plus how long that took."""

    video: VideoInfo
    views: torch.Tensor  # (V, 3, T, crop, crop)
    frame_indices: list[list[int]]
    timestamps_s: list[list[float]]
    notes: list[str]
    seconds: float
    display_frames: np.ndarray  # (T, crop, crop, 3) uint8: first clip, first crop, before normalising


def load_views(path: str | Path, config: ModelConfig, plan_for) -> tuple[SamplingPlan, PreparedInputs]:
    """Probe, plan (`plan_for(num_frames)`), decode only the planned frames, preprocess."""
    begin = time.perf_counter()
    spec = config.input_spec
    info = probe(path)
    plan = plan_for(info.num_frames)
    unique = plan.unique_indices()
    decoded = decode_frames(path, unique, max_short_side=2 * spec.short_side)
    frames = transforms.resize_short_side(transforms.to_float_frames(decoded.frames), spec.short_side)
    slot = {index: i for i, index in enumerate(unique)}
    clips = [[slot[i] for i in clip] for clip in plan.clips]
    views, boxes = transforms.make_views(frames, clips, plan.crops, spec)
    source = [[decoded.source_indices[s] for s in clip] for clip in clips]
    stamps = [[decoded.timestamps_s[s] for s in clip] for clip in clips]
    notes = list(plan.notes) + decoded.notes
    y, x, size = boxes[0]
    display = frames[clips[0], :, y : y + size, x : x + size].mul(255).round().clamp(0, 255).byte()
    display = display.permute(0, 2, 3, 1).numpy()
    return plan, PreparedInputs(info, views, source, stamps, notes, time.perf_counter() - begin, display)


class _Recognizer:
    def __init__(
        self, model: StagedBackbone, config: ModelConfig, device: torch.device, repeats: int = 1
    ) -> None:
        self.model = model.to(device).eval()
        self.config, self.device, self.repeats = config, device, repeats

    def _result(self, mode: str, plan: SamplingPlan, inputs: PreparedInputs, probs: torch.Tensor, m: Measurement, **sfc):
        return Result(
            mode=mode,
            model=self.config.name,
            labels=self.config.labels(),
            probabilities=probs.float().cpu().numpy(),
            video=inputs.video,
            plan=plan,
            frame_indices=inputs.frame_indices,
            timestamps_s=inputs.timestamps_s,
            measurement=m,
            decode_time_s=inputs.seconds,
            notes=inputs.notes,
            **sfc,
        )


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
    ) -> None:
        super().__init__(model, config, device, repeats)
        self.num_clips, self.num_crops, self.batch_size = num_clips, num_crops, batch_size

    def plan(self, num_frames: int) -> SamplingPlan:
        return sampling.dense_plan(num_frames, self.config.input_spec, self.num_clips, self.num_crops)

    @torch.inference_mode()
    def classify(self, views: torch.Tensor) -> torch.Tensor:
        """Mean softmax over views (V, 3, T, H, W), in batches of `batch_size` (None: all at once)."""
        batch = self.batch_size or views.shape[0]
        total = None
        for chunk in views.split(batch):
            probs = self.model(chunk.to(self.device, non_blocking=True)).softmax(dim=1).sum(dim=0)
            total = probs if total is None else total + probs
        return total / views.shape[0]

    def __call__(self, path: str | Path) -> Result:
        plan, inputs = load_views(path, self.config, self.plan)
        probs, measurement = measure(lambda: self.classify(inputs.views), self.device, self.repeats)
        return self._result("dense", plan, inputs, probs, measurement)


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
    ) -> None:
        """`sfc` fits the head that ends after stage `split` (`sfc_core.hub` decides which SFC
        runs); `length` is the long clip's number of frames. With the head's `geometry` and
        `head_chunk_frames`, the head runs in exact temporal chunks (see `chunked_head`)."""
        super().__init__(model, config, device, repeats)
        self.length, self.split = length, split
        self.head, self.tail = self.model.split(split)
        self.sfc = sfc.to(device).eval()
        self.geometry, self.head_chunk_frames = geometry, head_chunk_frames

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """The head's output for a long clip (B, 3, L, H, W), in chunks when configured."""
        clip = clip.to(self.device, non_blocking=True)
        if self.geometry is None:
            return self.head(clip)
        return run_head(self.head, clip, self.geometry, self.head_chunk_frames)

    def plan(self, num_frames: int) -> SamplingPlan:
        return sampling.sfc_plan(num_frames, self.length)

    @torch.inference_mode()
    def classify(self, clip: torch.Tensor):
        compressed = self.sfc(self.features(clip))
        probs = self.tail(compressed.features).softmax(dim=1)[0]
        return probs, compressed

    def __call__(self, path: str | Path) -> Result:
        plan, inputs = load_views(path, self.config, self.plan)
        (probs, out), measurement = measure(lambda: self.classify(inputs.views), self.device, self.repeats)
        sampled, stamps = inputs.frame_indices[0], inputs.timestamps_s[0]
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
            plan,
            inputs,
            probs,
            measurement,
            kept=kept,
            scores=scores.tolist(),
            attention=out.attention[0].float().cpu().numpy(),
            display_frames=inputs.display_frames,
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
