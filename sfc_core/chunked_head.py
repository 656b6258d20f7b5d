"""Run a backbone's head over a long clip in temporal chunks, with exactly the one-pass result.

Why: the head's largest activations (the first stages, at full resolution) are what makes one pass
over a 64-frame clip use several times the memory of one 8- or 16-frame dense view. Each chunk
holds only its own activations, and its output is written into one preallocated buffer.

Exactness needs two facts about the head, both measured from its layers (`temporal_geometry`):
  - its temporal stride s (input frames per output position): chunks start on multiples of s, so
    every strided layer sees the same sampling grid as in one pass;
  - its temporal receptive field around a position: how many input frames before and after the
    position's own s frames influence it. Each chunk is extended by that halo, and only the positions
    whose whole receptive field lies inside the extended chunk (or reaches a true clip end, where
    zero padding is the same as in one pass) are kept.
A head in which some layer mixes the whole clip (X3D's squeeze-excitation averages over time) has no
finite receptive field: it is not chunkable and runs in one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

PROBE_FRAMES = 96  # long enough that a finite receptive field does not reach both clip ends
PROBE_SIZE = 32  # spatial size of the probe; temporal geometry does not depend on it
DEFAULT_BUDGET_MB = 128.0  # activation memory one chunk may use
MAX_HALO_SHARE = 0.5  # recomputing more halo than this per chunk costs more time than chunking saves


@dataclass(frozen=True)
class TemporalGeometry:
    stride: int  # input frames per output position
    before: int  # input frames before a position's own frames that influence it
    after: int  # input frames after them that influence it
    chunkable: bool  # False when some layer mixes the whole clip
    activation_bytes_per_frame: float  # the largest single activation, per input frame at full size

    def chunk_frames(self, budget_mb: float = DEFAULT_BUDGET_MB) -> int:
        """Input frames per chunk (a multiple of the stride) whose activations fit `budget_mb`.
        Three live copies of the largest activation (a block's input, output and residual) are assumed."""
        frames = int(budget_mb * 2**20 / (3 * self.activation_bytes_per_frame))
        return max(self.stride, frames // self.stride * self.stride)

    def worth_chunking(self, chunk_frames: int) -> bool:
        """Whether chunks of this size beat one pass: each chunk recomputes its halo (measured: R(2+1)D's
        23-frame halo on 24-frame chunks made SFC 2x slower for no memory saved)."""
        return self.chunkable and self.before + self.after <= MAX_HALO_SHARE * chunk_frames


def temporal_geometry(head: nn.Module, crop: int) -> TemporalGeometry:
    """Measure the head's temporal stride and receptive field with a gradient probe: the input
    frames whose values change output position t are exactly the frames t depends on."""
    parameter = next(head.parameters())
    probe = torch.randn(1, 3, PROBE_FRAMES, PROBE_SIZE, PROBE_SIZE, device=parameter.device, dtype=parameter.dtype,
                        requires_grad=True)
    largest = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: largest.append(getattr(out, "numel", lambda: 0)()))
             for m in head.modules() if not list(m.children())]
    modes = {module: module.training for module in head.modules()}  # restored one by one: a split's
    head.eval()  # Sequential says "training" even when every stage in it is in eval mode
    try:
        with torch.enable_grad():
            out = head(probe)
            positions = out.shape[2]
            stride = PROBE_FRAMES // positions
            middle = positions // 2
            out[:, :, middle].abs().sum().backward()
    finally:
        for hook in hooks:
            hook.remove()
        for module, training in modes.items():
            module.training = training
    influence = probe.grad.abs().sum(dim=(0, 1, 3, 4)).nonzero().flatten()
    first, last = int(influence.min()), int(influence.max())
    own_first, own_last = middle * stride, middle * stride + stride - 1
    chunkable = PROBE_FRAMES % positions == 0 and not (first == 0 and last == PROBE_FRAMES - 1)
    per_frame = max(largest) * parameter.element_size() / PROBE_FRAMES * (crop / PROBE_SIZE) ** 2
    return TemporalGeometry(stride, max(0, own_first - first), max(0, last - own_last), chunkable, per_frame)


def run_head(head: nn.Module, clip: torch.Tensor, geometry: TemporalGeometry, chunk_frames: int | None) -> torch.Tensor:
    """head(clip) for a clip (B, 3, L, H, W), in chunks of `chunk_frames` input frames when the head
    is chunkable (None, or a chunk covering the clip: one pass). Same result as one pass."""
    frames = clip.shape[2]
    if not geometry.chunkable or chunk_frames is None or chunk_frames >= frames:
        return head(clip)
    s = geometry.stride
    chunks = math.ceil(frames / max(s, chunk_frames))
    step = math.ceil(frames / chunks / s) * s  # equal chunks on the stride grid, about `chunk_frames` long
    before = math.ceil(geometry.before / s) * s  # the halo before, kept on the stride grid
    output = None
    filled = 0
    for start in range(0, frames, step):  # `start` is the first input frame of positions start/s ...
        first, last = max(0, start - before), min(frames, start + step + geometry.after)
        y = head(clip[:, :, first:last])
        offset = (start - first) // s
        count = y.shape[2] - offset if last == frames else step // s
        if output is None:  # every position's output has the same shape: allocate once
            output = y.new_empty(y.shape[0], y.shape[1], math.ceil(frames / s) + 1, *y.shape[3:])
        output[:, :, filled : filled + count] = y[:, :, offset : offset + count]
        filled += count
        if last == frames:
            break
    return output[:, :, :filled]
