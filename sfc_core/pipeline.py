"""Dense and SFC recognizers over the same backbone, each returning a `report.Result`.

Dense: the 10x3 plan, a clip at a time (decode its frames, make its crops), the whole backbone on
every view in batches of `batch_size` (None: all views at once), mean softmax. SFC: one long clip,
decoded and preprocessed chunk by chunk as the head asks for it (`chunked_head`), SFC compressing the
head's output to the temporal size the tail expects as it arrives, the tail once.
With `options.backend == "openvino"` the networks run compiled by OpenVINO (`openvino_backend`):
dense's whole network, SFC's head (a graph per step of its stream where it can; otherwise per part, or whole
in one pass) and tail; the SFC module stays in PyTorch.
Each request is measured whole (`profiling.measure`): input time (probe + decode + preprocess) and
model time separately, one peak memory for all of it.

A recognizer reads a video file, or a `DecodedVideo` whose planned frames were decoded beforehand
(`inputs.decode_ahead`); the time that took is charged to the request's input time.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from . import openvino_backend, sampling
from .chunked_head import (
    Stream,
    TemporalGeometry,
    collect,
    head_chunks,
    position_centres,
    position_windows,
    temporal_geometry,
)
from .device import autocast, check_precision, prepare
from .errors import ConfigError
from .inputs import DecodedVideo, HeldFrames, Planner, clip_views, open_reader
from .memory_breakdown import stage, staged
from .models import ModelConfig, StagedBackbone
from .options import RunOptions, SFCSettings
from .profiling import Measurement, Stopwatch, measure
from .report import KeptFrames, Result
from .sampling import SamplingPlan
from .sfc import Compressor, SFCOutput, heatmap_kind
from .video import FrameReader, VideoInfo, probe

T = TypeVar("T")


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

    def __init__(self, model: StagedBackbone, config: ModelConfig, device: torch.device, options: RunOptions) -> None:
        self.openvino = options.backend == "openvino"
        if self.openvino:
            openvino_backend.check(options.precision, device)
        else:
            check_precision(options.precision, device)
        prepare(device)
        self.model = model.to(device).eval()
        if device.type == "cpu" and not self.openvino:  # oneDNN's channels-last kernels: 1.3-1.4x faster on
            self.model.to(memory_format=torch.channels_last_3d)  # a 2-core CPU, dense and SFC alike
        self.config, self.device, self.options = config, device, options

    def _autocast(self):
        """PyTorch's autocast; the OpenVINO backend's parts take their precision when compiled."""
        return contextlib.nullcontext() if self.openvino else autocast(self.options.precision, self.device)

    def _backend(self, module: nn.Module, free_axes: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
        """What runs `module` on this request's backend: the module, or it compiled by OpenVINO (once per
        module, precision and free axes, for every request)."""
        if not self.openvino:
            return module
        return openvino_backend.compiled(module, free_axes, self.options.precision)

    def _measure(self, fn: Callable[[Stopwatch], T]) -> tuple[T, Measurement]:
        return measure(fn, self.device, self.options.repeats, profile=self.options.measure == "full")

    def _open(self, source: str | Path | DecodedVideo,
              watch: Stopwatch) -> tuple[VideoInfo, SamplingPlan, FrameReader | HeldFrames]:
        if isinstance(source, DecodedVideo):
            watch.add("input", source.decode_time_s)
            return source.info, self.plan(source.info.num_frames), source.reader()
        with watch.part("input"):
            info = probe(source)
            plan = self.plan(info.num_frames)
            return info, plan, open_reader(source, plan, self.config.input_spec)

    def to_device(self, views: torch.Tensor) -> torch.Tensor:
        """Views as the model takes them: on its device (pinned and non-blocking on CUDA), channels-last on a CPU."""
        if self.device.type == "cuda":  # pinned host memory: the copy overlaps with queued GPU work
            return views.pin_memory().to(self.device, non_blocking=True)
        return views.contiguous(memory_format=torch.contiguous_format if self.openvino else torch.channels_last_3d)

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

    def __init__(self, model: StagedBackbone, config: ModelConfig, device: torch.device,
                 options: RunOptions = RunOptions()) -> None:
        """`options.clips` x `options.crops` views, `options.dense_batch_size(device)` at a time."""
        super().__init__(model, config, device, options)
        self.network = self._backend(self.model, free_axes=(0,))  # any number of views per batch
        self.batch_size = options.dense_batch_size(device)
        self.plan = partial(sampling.dense_plan, spec=config.input_spec, num_clips=options.clips,
                            num_crops=options.crops)

    def _mean_softmax(self, batches: Iterable[torch.Tensor], watch: Stopwatch | None = None) -> torch.Tensor:
        """Mean softmax over `batches`; each batch's copy to the device is input time, as SFC's is."""
        total, count = None, 0
        for batch in batches:
            with watch.part("input") if watch is not None else contextlib.nullcontext():
                batch = self.to_device(batch)
            with self._autocast(), stage("network"):
                logits = self.network(batch)
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
        sfc: Compressor,
        settings: SFCSettings,
        options: RunOptions = RunOptions(),
        geometry: TemporalGeometry | None = None,
    ) -> None:
        """`sfc` fits the head that ends after stage `settings.split` (`sfc_core.hub` decides which
        SFC runs); the long clip has `settings.length` frames. The head's `geometry` (measured when not
        given) maps its positions to frames; with `settings.head_chunk_frames`, the head runs in exact
        temporal chunks (see `chunked_head`)."""
        super().__init__(model, config, device, options)
        self.settings = settings
        self.plan = partial(sampling.sfc_plan, length=settings.length)
        self.head, self.tail = self.model.split(settings.split)  # PyTorch modules (explanations need them)
        self.run_tail = self._backend(self.tail, free_axes=())  # the tail as a request runs it
        self.sfc = sfc.to(device).eval()
        self.geometry = geometry or temporal_geometry(self.head, config.input_spec.crop)

    def _head_part(self, module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """A part of the head's stream (or the whole head) on this request's backend; its time axis is
        free (the clip's chunks differ in length)."""
        return self._backend(module, free_axes=(2,))

    def _new_stream(self) -> Stream:
        """The head as a stream on this request's backend. On OpenVINO, a head whose steps carry state of a
        fixed size runs each step as one compiled graph (`openvino_backend.CompiledStream`); otherwise each
        part of the stream runs on the backend."""
        if self.openvino and self.geometry.streams:
            return openvino_backend.CompiledStream(self.geometry.new_stream, self.options.precision)
        return self.geometry.new_stream(self._head_part)

    def head_stream(self) -> Stream:
        """The head as a stream that the caller feeds frames (`sfc_core.streaming`), on this request's backend."""
        if not self.geometry.streams:
            raise ConfigError(f"{self.config.name}'s head mixes the whole clip: it cannot stream")
        return self._new_stream()

    def _blocks(self, read: Callable[[int, int], torch.Tensor], frames: int) -> Iterator[torch.Tensor]:
        return head_chunks(read, frames, self.settings.head_chunk_frames, self._head_part(self.head),
                           self._new_stream if self.geometry.chunkable else None)

    def _capacity(self, frames: int) -> int:
        return math.ceil(frames / self.geometry.stride) + 1

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """The head's output for a long clip in memory (B, 3, L, H, W), in chunks when configured."""
        blocks = self._blocks(lambda first, last: self.to_device(clip[:, :, first:last]), clip.shape[2])
        return collect(blocks, self._capacity(clip.shape[2]))

    def _compress_and_classify(self, read: Callable[[int, int], torch.Tensor], frames: int):
        with self._autocast():
            with stage("sfc_module"):  # the head's chunks as SFC pulls them are the head's (memory breakdown)
                compressed = self.sfc.compress(staged(self._blocks(read, frames), "head"), self._capacity(frames))
            with stage("tail"):
                logits = self.run_tail(compressed.features)
        return logits.float().softmax(dim=1)[0], compressed

    @torch.inference_mode()
    def classify(self, clip: torch.Tensor):
        """Probabilities and SFC's output for a long clip in memory (1, 3, L, H, W)."""
        return self._compress_and_classify(lambda first, last: self.to_device(clip[:, :, first:last]), clip.shape[2])

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
                return self.to_device(views)

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
            return self.to_device(clip_views(decoded, plan.crops, self.config.input_spec)[0])

        with reader, self._autocast():
            return collect(self._blocks(read, len(clip)), self._capacity(len(clip)))

    def __call__(self, source: str | Path | DecodedVideo) -> Result:
        (run, out, display), measurement = self._measure(lambda watch: self._run(source, watch))
        sampled, positions = len(run.frame_indices[0]), out.scores.shape[1]
        scores = out.scores[0].float().cpu().tolist()
        result = self._result(
            "sfc",
            run,
            measurement,
            scores=scores,
            attention=out.attention[0].float().cpu().numpy(),
            heatmap_kind=heatmap_kind(self.sfc),
            display_frames=display,
            tail_input=out.features.detach().cpu(),
            position_centres=position_centres(sampled, positions, self.geometry),
            position_windows=position_windows(sampled, positions, self.geometry),
        )
        result.kept = KeptFrames.at(out.kept[0].tolist(), result, scores)
        return result


