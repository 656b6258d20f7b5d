"""The head streamed in temporal chunks (carried state, no recomputed overlap) equals one pass, for
every backbone that can be streamed; the geometry it relies on is measured from the layers
(checked against a hand-computed case)."""

from __future__ import annotations

import warnings
from collections import deque

import pytest
import torch
from torch import nn

from sfc_core import models
from sfc_core.chunked_head import (
    StreamStep,
    TemporalGeometry,
    as_is,
    collect,
    head_chunks,
    position_centres,
    run_head,
    temporal_geometry,
)
from sfc_core.memory_breakdown import TensorBytes
from sfc_core.models import x3d
from sfc_core.models.layers import standard_convolution
from tests.marks import slow_cases
from tests.references import randomize_


def _chunks(head: nn.Module, clip: torch.Tensor, geometry: TemporalGeometry, chunk: int, run=as_is):
    """`head_chunks` over a clip in memory, the stream's parts run by `run`."""
    return head_chunks(lambda first, last: clip[:, :, first:last], clip.shape[2], chunk, head,
                       lambda: geometry.new_stream(run))


def test_geometry_of_a_hand_computed_stack() -> None:
    """conv k=3 pad 1, then conv k=3 stride 2 pad 1 (temporal): position j sees inputs 2j-2 .. 2j+2,
    its own frames are 2j, 2j+1: stride 2, 2 frames before, 1 after."""
    head = nn.Sequential(nn.Conv3d(3, 4, (3, 1, 1), padding=(1, 0, 0)), nn.ReLU(),
                         nn.Conv3d(4, 4, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0)))
    geometry = temporal_geometry(head, crop=32)
    assert (geometry.stride, geometry.before, geometry.after, geometry.chunkable) == (2, 2, 1, True)
    clip = torch.randn(1, 3, 11, 4, 4)
    with torch.inference_mode():
        for chunk in (1, 2, 3, 5):
            torch.testing.assert_close(run_head(head, clip, geometry, chunk), head(clip), rtol=1e-6, atol=1e-6)


def test_a_stride_longer_than_the_kernel_skips_the_right_frames() -> None:
    """A 1-frame kernel with temporal stride 2 (a residual shortcut) uses frames 0, 2, 4, ...:
    a chunk that ends on a used frame must pass over the next one when it arrives."""
    head = nn.Sequential(nn.Conv3d(3, 4, 1, stride=(2, 1, 1)), nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 0, 0)))
    geometry = temporal_geometry(head, crop=32)
    clip = torch.randn(1, 3, 13, 4, 4)
    with torch.inference_mode():
        for chunk in (1, 2, 3):
            torch.testing.assert_close(run_head(head, clip, geometry, chunk), head(clip), rtol=1e-6, atol=1e-6)


def test_a_temporal_convolution_runs_in_one_call_with_the_frame_wise_layers_after_it() -> None:
    """The stream hands its runner (what a compiled backend compiles) three parts for this branch,
    spatial conv + BN + ReLU | temporal conv + BN + ReLU | temporal conv + BN, not five: each call and
    each compiled graph costs the same fixed time whatever its size. Streamed, it equals one pass."""
    branch = nn.Sequential(nn.Conv3d(3, 4, (1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(4), nn.ReLU(),
                           nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 0, 0)), nn.BatchNorm3d(4), nn.ReLU(),
                           nn.Conv3d(4, 4, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0)), nn.BatchNorm3d(4))
    randomize_(branch, seed=5).eval()
    geometry = temporal_geometry(branch, crop=32)
    parts = []

    def run(module: nn.Module) -> nn.Module:
        parts.append([type(layer).__name__ for layer in module.modules() if not list(layer.children())])
        return module

    clip = torch.randn(1, 3, 15, 8, 8)
    with torch.inference_mode():
        streamed = collect(_chunks(branch, clip, geometry, 4, run), 9)
        torch.testing.assert_close(streamed, branch(clip), rtol=1e-5, atol=1e-5)
    assert parts == [["Conv3d", "BatchNorm3d", "ReLU"], ["Conv3d", "BatchNorm3d", "ReLU"], ["Conv3d", "BatchNorm3d"]]


BACKBONES = ("tiny", "r3d_18", "r2plus1d_18", "slowonly_r50", "x3d_s")


@pytest.mark.parametrize(("name", "length"), slow_cases(
    [(name, length) for name in BACKBONES for length in (64, 37)],
    {(name, length) for name in BACKBONES for length in (64, 37)}
    - {("tiny", 37)}))  # fast lane: a temporal head at a length its chunks do not divide
def test_chunked_head_equals_one_pass(name: str, length: int) -> None:
    model = randomize_(models.create(name), seed=11)  # random BatchNorm statistics too
    head, _ = model.split(models.get_config(name).default_split)
    geometry = temporal_geometry(head, crop=64)
    assert geometry.chunkable
    clip = torch.randn(1, 3, length, 64, 64)
    with torch.inference_mode():
        whole = head(clip)
        for chunk in (1, 3, 8, 24):
            chunked = run_head(head, clip, geometry, chunk)
            assert chunked.shape == whole.shape
            # float32 rounding relative to the activations' scale (random BN statistics reach ~10^3):
            # oneDNN's blocking depends on the chunk's length and on the CPU's vector width
            assert (chunked - whole).abs().max() <= 1e-5 * whole.abs().max(), (name, length, chunk)


def test_a_block_the_planner_does_not_know_is_run_in_one_pass() -> None:
    """A module that mixes frames in its own code (here: a running mean over time) is neither
    frame-wise, a convolution nor a declared residual block: no stream is planned for it."""

    class MovingAverage(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x + x.roll(1, dims=2)) / 2

    head = nn.Sequential(nn.Conv3d(3, 4, (3, 1, 1), padding=(1, 0, 0)), MovingAverage())
    geometry = temporal_geometry(head, crop=32)
    assert not geometry.chunkable


class _MeanGate(nn.Module):
    """x * tanh(w * x's mean over the whole clip): a gate on a whole-clip statistic, small enough to
    compute by hand."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.Conv3d(channels, channels, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x.mean(dim=(2, 3, 4), keepdim=True))

    def clip_gate(self) -> nn.Module:
        return self.gate


def test_a_gate_on_the_whole_clips_mean_runs_in_exact_chunks_but_cannot_stream_live() -> None:
    """Temporal conv -> gate -> temporal conv with stride 2: the gate holds its input until the clip ends,
    then passes it on gated; any chunk size gives one pass's values (float64)."""
    head = nn.Sequential(nn.Conv3d(3, 4, (3, 1, 1), padding=(1, 0, 0)), _MeanGate(4),
                         nn.Conv3d(4, 4, (3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))).double()
    geometry = temporal_geometry(head, crop=32)
    assert geometry.chunkable and geometry.holds_clip and not geometry.streams
    clip = torch.randn(1, 3, 13, 5, 5, dtype=torch.float64)
    with torch.inference_mode():
        whole = head(clip)
        for chunk in (1, 2, 5, 12):
            blocks = list(_chunks(head, clip, geometry, chunk))
            torch.testing.assert_close(torch.cat(blocks, dim=2), whole, rtol=1e-12, atol=1e-12)


def test_x3d_in_chunks_holds_only_its_gates_inputs_over_the_clip() -> None:
    """X3D-S's squeeze-excitation scales each block by its input's mean over the whole clip, so its head
    runs in chunks (one pass's values: `test_chunked_head_equals_one_pass`) but cannot stream live, and the
    tensors alive at once peak at less than half of one pass's (which holds every layer's whole-clip
    output; a quarter at 182 px over 64 frames: 67 against 279 MiB)."""
    model = randomize_(models.create("x3d_s"), seed=13).eval()
    head, _ = model.split("res3")
    geometry = temporal_geometry(head, crop=64)
    assert geometry.chunkable and geometry.holds_clip and not geometry.streams
    clip = torch.randn(1, 3, 40, 64, 64)
    with torch.inference_mode():
        with TensorBytes(torch.device("cpu")) as one_pass:
            head(clip)
        for chunk in (1, 3, 8):
            with TensorBytes(torch.device("cpu")) as chunked:
                run_head(head, clip, geometry, chunk)
            assert chunked.peak_bytes < one_pass.peak_bytes / 2, chunk


def test_each_step_run_from_what_the_stream_carries_goes_on_as_if_uninterrupted() -> None:
    """A compiled backend runs each step as one graph of (input, carried tensors), traced on random inputs of
    their shapes: here each step is a fresh `StreamStep` restored from the previous one's `carried()`, traced
    so, then run on the real inputs; the blocks equal one uninterrupted stream's (and one pass's) up to
    rounding. What is carried settles after the first steps, so a clip in equal chunks has a few kinds of
    step, not one per chunk. The embedded head has every kind of carried state: frames a temporal
    convolution holds, frames a strided shortcut passes over, blocks a residual waits on."""
    head, _ = randomize_(models.create("tiny"), seed=3).eval().split("res3")
    geometry = temporal_geometry(head, crop=32)
    clip, chunk = torch.randn(1, 3, 48, 32, 32), 4  # 12 steps and the end: one graph each, traced
    description, carried = geometry.new_stream(as_is).carried()
    kinds, blocks = [], []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # sizes traced as constants: each kind its graph
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace, as OpenVINO's converter reads it
        for start in [*range(0, clip.shape[2], chunk), None]:
            inputs = ([] if start is None else [clip[:, :, start : start + chunk]]) + carried
            step = StreamStep(geometry.new_stream, description, start is not None, last=start is None)
            kinds.append((description, start is None))
            with standard_convolution():  # the operator OpenVINO's converter reads
                traced = torch.jit.trace(step, tuple(torch.randn_like(t) for t in inputs), check_trace=False)
            outputs = traced(*inputs)
            blocks += outputs[: step.blocks]
            description, carried = step.after, list(outputs[step.blocks :])
        uninterrupted = torch.cat(list(_chunks(head, clip, geometry, chunk)), dim=2)
        whole = head(clip)
    # within rounding, relative to scale: the traced graph runs the standard convolution, the stream oneDNN's
    assert (torch.cat(blocks, dim=2) - uninterrupted).abs().max() <= 1e-5 * uninterrupted.abs().max()
    assert (uninterrupted - whole).abs().max() <= 1e-5 * whole.abs().max()
    assert kinds[-2] == kinds[-3] == kinds[-4] and len(set(kinds)) <= 6, len(set(kinds))


def test_a_channels_last_clip_streams_in_channels_last_throughout() -> None:
    """The clip ends' zero padding takes the clip's layout: joined to frames of the other layout, every
    frame a layer held after it (and so every later chunk) fell back to the contiguous layout, and each
    convolution converted its input back (the tiny head streamed 1.2x slower)."""
    head, _ = randomize_(models.create("tiny"), seed=7).eval().split("res3")
    head.to(memory_format=torch.channels_last_3d)
    geometry = temporal_geometry(head, crop=64)
    clip = torch.randn(1, 3, 40, 64, 64).contiguous(memory_format=torch.channels_last_3d)
    joins = []
    real_cat = torch.cat

    def cat(tensors, dim=0):
        framed = [t for t in tensors if t.dim() == 5 and t.shape[2]]
        joins.append([t.is_contiguous(memory_format=torch.channels_last_3d) for t in framed])
        return real_cat(tensors, dim=dim)

    with torch.inference_mode(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch, "cat", cat)
        blocks = list(_chunks(head, clip, geometry, 8))
    assert joins and all(all(layouts) for layouts in joins)
    assert all(block.is_contiguous(memory_format=torch.channels_last_3d) for block in blocks)
    with torch.inference_mode():
        whole = head(clip)
    streamed = torch.cat(blocks, dim=2)
    assert (streamed - whole).abs().max() <= 1e-5 * whole.abs().max()


def test_the_probe_leaves_every_module_in_its_mode() -> None:
    model = models.create("tiny").eval()
    head, _ = model.split("res3")  # a fresh Sequential says training=True; its stages are in eval mode
    before = {name: module.training for name, module in head.named_modules()}
    temporal_geometry(head, crop=64)
    assert {name: module.training for name, module in head.named_modules()} == before


def test_chunk_size_follows_the_memory_budget() -> None:
    head, _ = models.create("slowonly_r50").split("res3")
    geometry = temporal_geometry(head, crop=256)
    small, large = geometry.chunk_frames(64), geometry.chunk_frames(512)
    assert 1 <= small < large


def test_the_end_of_the_clip_does_not_raise_the_peak() -> None:
    """The frames every layer still holds at the end are flushed in a step of their own: the tensors alive
    over a whole clip peak no higher than over its middle chunks alone (joined to the last chunk, the
    flush made every layer's input that chunk plus all it held: 1.3x the steady peak for the tiny head)."""
    head, _ = randomize_(models.create("tiny"), seed=5).eval().split("res3")
    geometry = temporal_geometry(head, crop=64)
    clip, chunk = torch.randn(1, 3, 64, 64, 64), 8

    def steady_peak(frames: int) -> int:
        stream = geometry.new_stream(as_is)
        with torch.inference_mode(), TensorBytes(torch.device("cpu")) as tensors:
            for start in range(0, frames, chunk):
                stream.step(clip[:, :, start : start + chunk], last=False)
        return tensors.peak_bytes

    with torch.inference_mode(), TensorBytes(torch.device("cpu")) as tensors:
        deque(_chunks(head, clip, geometry, chunk), maxlen=0)
    assert tensors.peak_bytes <= steady_peak(48)


@pytest.mark.slow  # a backward pass per position (the positions' frames in the fast lane: tests/test_pipeline.py)
@pytest.mark.parametrize("name", ["tiny", "r3d_18", "r2plus1d_18", "slowonly_r50", "x3d_s"])
def test_each_position_stands_for_the_centre_of_the_frames_that_influence_it(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The frames whose values change head position t (its gradient's support, in float64) are its
    receptive field, and the frame the page and the JSON show for t is that field's centre."""
    model = randomize_(models.create(name), seed=5).double().eval()
    head, _ = model.split(models.get_config(name).default_split)
    geometry = temporal_geometry(head, crop=64)
    field = geometry
    if name.startswith("x3d"):
        # Squeeze-excitation lets every frame influence every position (so the head cannot stream live);
        # without it, what remains is the local field whose centre stands for each position.
        assert geometry.holds_clip and not geometry.streams
        monkeypatch.setattr(x3d.SqueezeExcitation, "forward", lambda self, x: x)
        field = temporal_geometry(head, crop=64)
    frames = 24
    clip = torch.randn(1, 3, frames, 32, 32, dtype=torch.float64, requires_grad=True)
    out = head(clip)
    centres = position_centres(frames, out.shape[2], geometry)
    for t in range(out.shape[2]):
        (grad,) = torch.autograd.grad(out[:, :, t].abs().sum(), clip, retain_graph=True)
        support = grad.abs().sum(dim=(0, 1, 3, 4)).nonzero().flatten()
        first, last = field.field(t)
        assert (int(support.min()), int(support.max())) == (max(0, first), min(frames - 1, last)), (name, t)
        if first >= 0 and last < frames:
            assert centres[t] == (first + last) // 2, (name, t)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_collected_blocks_keep_their_values_and_layout(layout: torch.memory_format) -> None:
    """A head in channels-last hands SFC channels-last blocks; the collected output must be laid out alike,
    or SFC run on it later (the explorer) adds in another order than it did on the stream."""
    whole = torch.randn(1, 6, 11, 3, 4).contiguous(memory_format=layout)
    collected = collect(iter(whole.split([4, 4, 3], dim=2)), capacity=12)
    channels_innermost = collected.stride(1) == 1
    assert torch.equal(collected, whole) and channels_innermost == (layout == torch.channels_last_3d)
