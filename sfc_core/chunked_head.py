"""Run a backbone's head over a long clip in temporal chunks, with the one-pass result.

Why: the head's largest activations (the first stages, at full resolution) are what makes one pass
over a 64-frame clip use several times the memory of one 8- or 16-frame dense view. Fed a few
frames at a time, the head holds only those frames' activations; on a CPU small chunks are also
faster, because they stay in cache (SlowOnly's head over 64 frames: 5.9 s in one pass, 1.7 s in
chunks of 2 frames).

Exactness (one pass's values, up to float rounding) comes from carried state, not from recomputing
overlaps:
  - a module that treats every frame on its own (measured: its output at frame t depends only on
    input frame t) is applied to each chunk as it comes (SlowOnly's whole head up to res3 is one);
  - a temporal convolution keeps the last input frames its next outputs still need (its window
    minus its stride) and pads with zeros only at the true ends of the clip, as one pass does (the
    parts after it that treat frames alone run in the same call);
  - a residual block streams its branch and its shortcut and adds them as both catch up;
  - a sequence streams its parts in turn;
  - a gate scaled by a statistic of the whole clip (X3D's squeeze-excitation: x times a function of x's
    mean over the clip) holds its input until the clip ends, then passes it on gated, block by block
    (its mean summed chunk by chunk, in float64: one pass's values up to float rounding). Over the
    whole clip only that input and its block's shortcut are held, not every layer's output, and
    everything before and after the gate still runs a chunk at a time. Such a head runs a finite clip in
    chunks but cannot stream a live source: `TemporalGeometry.streams` says whether it can.
A head with any other kind of temporal mixing cannot be streamed exactly and runs in one pass;
`TemporalGeometry.chunkable` says which. Residual blocks take part by declaring `residual_parts()` (see
`models.video_resnet.BasicBlock`), gates by declaring `clip_gate()` (see `models.x3d.SqueezeExcitation`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

PROBE_FRAMES = 96  # long enough that a finite receptive field does not reach both clip ends
PROBE_SIZE = 32  # spatial size of the probe; temporal geometry does not depend on it
DEFAULT_BUDGET_MB = 16.0  # activation memory one chunk may use
Read = Callable[[int, int], torch.Tensor]  # (first, last) -> input frames first..last-1, (B, 3, n, H, W)
Runner = Callable[[nn.Module], Callable[[torch.Tensor], torch.Tensor]]  # what runs a part of the head's stream


def as_is(module: nn.Module) -> nn.Module:
    """The default `Runner`: the part runs as the PyTorch module it is."""
    return module


class Stream:
    """Consumes a clip's frames in order, a block at a time; `step` returns the output frames that
    became final, as consecutive blocks along time (none yet: an empty list). `last=True` marks the
    end of the clip."""

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        raise NotImplementedError

    def carried(self) -> tuple[tuple, list[torch.Tensor]]:
        """What the stream carries from one step to the next: a hashable description (its counters and the
        carried tensors' shapes, which decide everything the next step computes) and the tensors. A compiled
        backend runs a whole step as one graph of (input, carried tensors) per description. A gate over the
        whole clip carries the clip itself: it has no step of a fixed shape, and does not implement this."""
        raise NotImplementedError

    def restore(self, description: tuple, tensors: list[torch.Tensor]) -> None:
        """Carry what `carried` described, its tensors taken from the front of `tensors`."""
        raise NotImplementedError


def _shapes(blocks: list[torch.Tensor]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(size) for size in block.shape) for block in blocks)  # traced, sizes are tensors


def _append(held: torch.Tensor | None, new: torch.Tensor | None) -> torch.Tensor | None:
    if held is None or new is None:
        return new if held is None else held
    return torch.cat([held, new], dim=2)


def _frames(blocks: list[torch.Tensor]) -> int:
    return sum(block.shape[2] for block in blocks)


def _take(blocks: list[torch.Tensor], count: int) -> torch.Tensor:
    """The first `count` frames of `blocks` (removed from it) in one tensor."""
    taken: list[torch.Tensor] = []
    while count:
        block = blocks.pop(0)
        if block.shape[2] > count:
            blocks.insert(0, _rest(block, count))
            block = block[:, :, :count]
        taken.append(block)
        count = count - block.shape[2]  # not in place: traced, sizes are tensors, and `count` the caller's
    return taken[0] if len(taken) == 1 else torch.cat(taken, dim=2)


def _feed(stream: Stream, blocks: list[torch.Tensor], last: bool) -> list[torch.Tensor]:
    """`stream` stepped over `blocks` in order (`last` with the final one), each freed once consumed."""
    if not blocks:
        return stream.step(None, last) if last else []
    out: list[torch.Tensor] = []
    while blocks:  # popped in the call: no reference here keeps a consumed block alive while the stream runs
        out.extend(stream.step(blocks.pop(0), last and not blocks))
    return out


def _rest(x: torch.Tensor, start: int) -> torch.Tensor | None:
    """Frames from `start` on, copied so the block they came from can be freed."""
    return x[:, :, start:].clone() if start < x.shape[2] else None


class _Framewise(Stream):
    def __init__(self, module: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.module = module

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        return [] if x is None else [self.module(x)]

    def carried(self) -> tuple[tuple, list[torch.Tensor]]:
        return (), []

    def restore(self, description: tuple, tensors: list[torch.Tensor]) -> None:
        pass


class _Sequence(Stream):
    def __init__(self, parts: list[Stream]) -> None:
        self.parts = parts

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        blocks = [] if x is None else [x]
        del x
        for part in self.parts:
            blocks = _feed(part, blocks, last)
        return blocks

    def carried(self) -> tuple[tuple, list[torch.Tensor]]:
        described = [part.carried() for part in self.parts]
        return tuple(d for d, _ in described), [t for _, tensors in described for t in tensors]

    def restore(self, description: tuple, tensors: list[torch.Tensor]) -> None:
        for part, described in zip(self.parts, description, strict=True):
            part.restore(described, tensors)


class _TemporalConv(Stream):
    """A Conv3d as a window sliding along time: it keeps the input frames its next outputs need."""

    def __init__(self, conv: Callable[[torch.Tensor], torch.Tensor], kernel: int, stride: int, padding: int) -> None:
        """`conv`: the convolution (time `kernel` and `stride`) without its time `padding`, which is added
        here at the clip's ends, possibly followed by parts that treat frames alone (`_conv_plan`)."""
        self.conv, self.kernel, self.stride, self.padding = conv, kernel, stride, padding
        self.held: torch.Tensor | None = None
        self.started = False
        self.skip = 0  # input frames still to pass over (a stride longer than the kernel jumps ahead)

    def _zeros(self, like: torch.Tensor) -> torch.Tensor:
        """The clip end's zero padding in like's layout: joining two layouts is several times slower, and
        the joined frames (and all that follows) would lose the layout the convolutions run fastest in."""
        shape = (*like.shape[:2], self.padding, *like.shape[3:])
        return torch.empty(shape, dtype=like.dtype, device=like.device, memory_format=memory_format(like)).zero_()

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        if x is not None and not self.started:
            x, self.started = torch.cat([self._zeros(x), x], dim=2), True
        if x is not None and self.skip:
            x, self.skip = (x[:, :, self.skip :] if self.skip < x.shape[2] else None), max(0, self.skip - x.shape[2])
        frames = _append(self.held, x)
        if frames is None:
            return []
        if last:
            frames = torch.cat([frames, self._zeros(frames)], dim=2)
        count = (frames.shape[2] - self.kernel) // self.stride + 1 if frames.shape[2] >= self.kernel else 0
        self.held = _rest(frames, count * self.stride)
        self.skip = max(0, count * self.stride - frames.shape[2])
        if count == 0:
            return []
        return [self.conv(frames[:, :, : (count - 1) * self.stride + self.kernel])]

    def carried(self) -> tuple[tuple, list[torch.Tensor]]:
        held = [] if self.held is None else [self.held]
        return (bool(self.started), int(self.skip), _shapes(held)), held

    def restore(self, description: tuple, tensors: list[torch.Tensor]) -> None:
        self.started, self.skip, held = description
        self.held = tensors.pop(0) if held else None


class _Residual(Stream):
    """activation(branch(x) + shortcut(x)), adding each output frame once both sides have it."""

    def __init__(self, branch: Stream, shortcut: Stream | None, activation: nn.Module) -> None:
        self.branch, self.shortcut, self.activation = branch, shortcut, activation
        self.held_branch: list[torch.Tensor] = []
        self.held_shortcut: list[torch.Tensor] = []

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        if self.shortcut is not None:
            self.held_shortcut += self.shortcut.step(x, last)
        elif x is not None:
            self.held_shortcut.append(x)
        self.held_branch += self.branch.step(x, last)
        del x
        out = []
        while self.held_branch and self.held_shortcut:
            # all that is ready in one block, except when a gate passes on a whole clip: its blocks one by one
            fronts = max(self.held_branch[0].shape[2], self.held_shortcut[0].shape[2])
            ready = min(_frames(self.held_branch), _frames(self.held_shortcut), fronts)
            out.append(self.activation(_take(self.held_branch, ready) + _take(self.held_shortcut, ready)))
        assert not (last and (self.held_branch or self.held_shortcut)), "a residual's paths ended at different frames"
        return out

    def carried(self) -> tuple[tuple, list[torch.Tensor]]:
        branch, branch_tensors = self.branch.carried()
        shortcut, shortcut_tensors = self.shortcut.carried() if self.shortcut is not None else (None, [])
        description = (branch, shortcut, _shapes(self.held_branch), _shapes(self.held_shortcut))
        return description, [*branch_tensors, *shortcut_tensors, *self.held_branch, *self.held_shortcut]

    def restore(self, description: tuple, tensors: list[torch.Tensor]) -> None:
        branch, shortcut, held_branch, held_shortcut = description
        self.branch.restore(branch, tensors)
        if self.shortcut is not None:
            self.shortcut.restore(shortcut, tensors)
        self.held_branch = [tensors.pop(0) for _ in held_branch]
        self.held_shortcut = [tensors.pop(0) for _ in held_shortcut]


class _ClipGate(Stream):
    """x * gate(x's mean over the whole clip, per channel), as squeeze-excitation computes it in one pass:
    x is held (as the blocks it came in) until the clip ends, then passed on gated, block by block."""

    def __init__(self, gate: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.gate = gate
        self.held: list[torch.Tensor] = []
        self.total: torch.Tensor | None = None  # per-channel sum over the clip so far, in float64
        self.count = 0

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        if x is not None:
            total = x.sum(dim=(2, 3, 4), keepdim=True, dtype=torch.float64)
            self.total = total if self.total is None else self.total + total
            self.count += x[0, 0].numel()
            self.held.append(x)
        if not last or not self.held:
            return []
        scale = self.gate((self.total / self.count).to(self.held[0].dtype))
        out = []
        while self.held:
            out.append(self.held.pop(0) * scale)
        return out


class StreamStep(nn.Module):
    """One step of a stream as a module of tensors, for a backend that compiles it into one graph:
    (input, *carried) -> (*output blocks, *carried after), for a stream carrying what `description`
    describes (`Stream.carried`), fed an input (`has_input`) or not, at the clip's end (`last`) or not.
    Its parts are registered as submodules. A traced call records the step's number of output `blocks`
    and the description of what it carries `after`."""

    def __init__(self, new_stream: Callable[[Runner], Stream], description: tuple, has_input: bool,
                 last: bool) -> None:
        super().__init__()
        self.parts = nn.ModuleList()
        self.stream = new_stream(self._register)
        self.description, self.has_input, self.last = description, has_input, last
        self.blocks: int | None = None
        self.after: tuple | None = None

    def _register(self, module: nn.Module) -> nn.Module:
        self.parts.append(module)
        return module

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        carried = list(tensors)
        x = carried.pop(0) if self.has_input else None
        self.stream.restore(self.description, carried)
        assert not carried, f"{len(carried)} carried tensors left unused by restore"
        blocks = self.stream.step(x, self.last)
        self.after, carried = self.stream.carried()
        self.blocks = len(blocks)
        return (*blocks, *carried)


def _is_framewise(module: nn.Module, input_shape: torch.Size) -> bool:
    """Whether output frame t depends on input frame t only (gradient probe, 5 frames)."""
    parameter = next(module.parameters(), None)
    leaf = torch.randn(1, *input_shape[1:2], 5, *input_shape[3:], requires_grad=True,
                       dtype=parameter.dtype if parameter is not None else torch.float32)
    with torch.enable_grad():
        out = module(leaf.clone())  # a non-leaf input: in-place activations may modify it
        if out.shape[2] != 5:
            return False
        out[:, :, 2].abs().sum().backward()
    touched = leaf.grad.abs().sum(dim=(0, 1, 3, 4)).nonzero().flatten().tolist()
    return touched == [2]


def _merge_framewise(sequence: nn.Sequential, shapes: dict[nn.Module, torch.Size]) -> list[nn.Module]:
    """The sequence's parts, each run of consecutive parts that treat frames alone joined in one
    `nn.Sequential` (recorded in `shapes` with its first part's input): one call per chunk for the
    run, which a compiled backend runs as one graph."""
    merged: list[nn.Module] = []
    run: list[nn.Module] = []
    for part in [*sequence, None]:
        shape = shapes.get(part) if part is not None else None
        if shape is not None and _is_framewise(part, shape):
            run.append(part)
            continue
        if len(run) > 1:
            joined = nn.Sequential(*run)
            shapes[joined] = shapes[run[0]]
            merged.append(joined)
        else:
            merged.extend(run)
        run = []
        if part is not None:
            merged.append(part)
    return merged


def _plan(module: nn.Module, shape: torch.Size | None, shapes: dict[nn.Module, torch.Size]
          ) -> Callable[[Runner], Stream] | None:
    """A factory of fresh streams equivalent to `module` (whose input has `shape`; `shapes` holds
    every submodule's), given what runs the stream's parts (each run of parts that treat frames alone,
    each temporal convolution with the run after it); None when it cannot be streamed exactly."""
    if shape is None:
        return None
    if _is_framewise(module, shape):
        return lambda run: _Framewise(run(module))
    if isinstance(module, nn.Sequential):
        merged, parts = _merge_framewise(module, shapes), []
        while merged:
            part = merged.pop(0)
            if _slides_along_time(part) and merged and shapes.get(merged[0]) is not None \
                    and _is_framewise(merged[0], shapes[merged[0]]):
                parts.append(_conv_plan(part, then=merged.pop(0)))
            else:
                parts.append(_plan(part, shapes.get(part), shapes))
        if any(part is None for part in parts):
            return None
        return lambda run: _Sequence([part(run) for part in parts])
    if _slides_along_time(module):
        return _conv_plan(module)
    if hasattr(module, "clip_gate"):
        gate = module.clip_gate()
        return lambda run: _ClipGate(run(gate))
    if hasattr(module, "residual_parts"):
        branch, shortcut, activation = module.residual_parts()
        branch_plan = _plan(branch, shape, shapes)
        shortcut_plan = _plan(shortcut, shape, shapes) if shortcut is not None else None
        if branch_plan is None or (shortcut is not None and shortcut_plan is None):
            return None
        return lambda run: _Residual(branch_plan(run), shortcut_plan(run) if shortcut_plan else None, activation)
    return None


def _slides_along_time(module: nn.Module) -> bool:
    """A convolution `_TemporalConv` streams (its time padding is zeros, given as numbers)."""
    return isinstance(module, nn.Conv3d) and module.padding_mode == "zeros" and not isinstance(module.padding, str)


def _conv_plan(conv: nn.Conv3d, then: nn.Module | None = None) -> Callable[[Runner], Stream]:
    """`conv` streamed as a `_TemporalConv`, followed by `then` (parts that treat frames alone) in the same
    call: one compiled graph and one call per chunk instead of two. The module is built once, here, so a
    backend that compiles it does so once for every stream."""
    unpadded = copy.copy(conv)  # same weights; time is padded by the stream, at the clip's ends
    unpadded.padding = (0, *conv.padding[1:])
    module = unpadded if then is None else nn.Sequential(unpadded, then)
    return lambda run: _TemporalConv(run(module), conv.kernel_size[0], conv.stride[0], conv.padding[0])


@dataclass(frozen=True)
class TemporalGeometry:
    stride: int  # input frames per output position
    before: int  # input frames before a position's own frames that influence it
    after: int  # input frames after them that influence it
    activation_bytes_per_frame: float  # the largest single activation, per input frame at full size
    new_stream: Callable[[Runner], Stream] | None = field(default=None, compare=False, repr=False)
    holds_clip: bool = False  # a gate needs the whole clip's statistic before it passes anything on

    @property
    def chunkable(self) -> bool:
        """Whether the head can run a clip in exact chunks (False when some layer mixes the whole clip
        in a way `_plan` cannot stream)."""
        return self.new_stream is not None

    @property
    def streams(self) -> bool:
        """Whether output positions arrive as the frames they depend on do (a live source needs it)."""
        return self.chunkable and not self.holds_clip

    @property
    def centre_offset(self) -> int:
        """Input frames from a position's first own frame to the centre of its receptive field
        (rounded down). A head that mixes the whole clip (X3D's squeeze-excitation) has all of it as
        its field; its local layers are centred, so the middle of the position's own frames stands for it."""
        if not self.streams:
            return (self.stride - 1) // 2
        return (self.stride - 1 + self.after - self.before) // 2

    def field(self, position: int) -> tuple[int, int]:
        """First and last input frame that `position` depends on (unbounded by the clip)."""
        return position * self.stride - self.before, position * self.stride + self.stride - 1 + self.after

    def chunk_frames(self, budget_mb: float = DEFAULT_BUDGET_MB) -> int:
        """Input frames per chunk whose activations fit `budget_mb`. Three live copies of the largest
        activation (a block's input, output and residual) are assumed."""
        return max(1, int(budget_mb * 2**20 / (3 * self.activation_bytes_per_frame)))


def temporal_geometry(head: nn.Module, crop: int) -> TemporalGeometry:
    """Measure the head's temporal stride and receptive field with a gradient probe (the input
    frames whose values change output position t are exactly the frames t depends on), and plan
    how to stream it (`_plan`, from every submodule's input shape, recorded on the same probe)."""
    parameter = next(head.parameters())
    probe = torch.randn(1, 3, PROBE_FRAMES, PROBE_SIZE, PROBE_SIZE, device=parameter.device, dtype=parameter.dtype,
                        requires_grad=True)
    largest, shapes = [], {}

    def record(module: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
        shapes.setdefault(module, inputs[0].shape)
        if not list(module.children()):
            largest.append(out.numel())

    modes = {module: module.training for module in head.modules()}  # restored one by one: a split's
    head.eval()  # Sequential says "training" even when every stage in it is in eval mode
    try:
        hooks = [m.register_forward_hook(record) for m in head.modules()]
        try:
            with torch.enable_grad():
                out = head(probe.clone())
                positions = out.shape[2]
                stride = PROBE_FRAMES // positions
                middle = positions // 2
                out[:, :, middle].abs().sum().backward()
        finally:
            for hook in hooks:
                hook.remove()
        new_stream = _plan(head, probe.shape, shapes) if PROBE_FRAMES % positions == 0 else None
    finally:
        for module, training in modes.items():
            module.training = training
    influence = probe.grad.abs().sum(dim=(0, 1, 3, 4)).nonzero().flatten()
    first, last = int(influence.min()), int(influence.max())
    own_first, own_last = middle * stride, middle * stride + stride - 1
    per_frame = max(largest) * parameter.element_size() / PROBE_FRAMES * (crop / PROBE_SIZE) ** 2
    holds_clip = any(hasattr(module, "clip_gate") for module in head.modules())
    return TemporalGeometry(stride, max(0, own_first - first), max(0, last - own_last), per_frame, new_stream,
                            holds_clip)


def head_chunks(read: Read, frames: int, chunk_frames: int | None, whole: Callable[[torch.Tensor], torch.Tensor],
                new_stream: Callable[[], Stream] | None) -> Iterator[torch.Tensor]:
    """The head's output for a long clip of `frames` frames, yielded as consecutive blocks of positions.

    `read(first, last)` returns the input frames first..last-1: the caller decodes and preprocesses
    them only when asked, so no more than one chunk's input exists at a time. The clip is fed
    `chunk_frames` input frames at a time to a stream from `new_stream` (the head's plan, see
    `TemporalGeometry.new_stream`) when there is one; otherwise (no stream, no chunk size or one
    covering the clip) `whole` (the head) runs once over the clip. Same values either way (up to float
    rounding where a gate sums a whole-clip mean)."""
    if new_stream is None or chunk_frames is None or chunk_frames >= frames:
        yield whole(read(0, frames))
        return
    stream = new_stream()
    for start in [*range(0, frames, chunk_frames), None]:
        # the clip's end (the frames each layer still holds, and its zero padding) in a step of its own: joined
        # to the last chunk, every layer's input there would be the chunk plus all it held (the peak of the run)
        blocks = stream.step(None if start is None else read(start, min(frames, start + chunk_frames)),
                             last=start is None)
        while blocks:
            yield blocks.pop(0)  # the consumer holds it for as long as it needs it, not this loop


def collect(blocks: Iterator[torch.Tensor], capacity: int) -> torch.Tensor:
    """Consecutive blocks along time (dim 2) in one tensor allocated once for at most `capacity`
    positions (torch.cat would hold every block and the result at the same time); a single block
    is returned as it is (the same layout, so what runs on it adds in the same order)."""
    blocks = iter(blocks)
    first = next(blocks)
    second = next(blocks, None)
    if second is None:
        return first
    output = torch.empty((*first.shape[:2], capacity, *first.shape[3:]), dtype=first.dtype, device=first.device,
                         memory_format=memory_format(first))  # the layout decides the next layers' float sums
    output[:, :, : first.shape[2]] = first
    filled = first.shape[2]
    del first
    while second is not None:
        output[:, :, filled : filled + second.shape[2]] = second
        filled += second.shape[2]
        second = next(blocks, None)
    return output[:, :, :filled]


def memory_format(x: torch.Tensor) -> torch.memory_format:
    """x's layout, for a buffer that should have it (the layout decides the next layers' float sums)."""
    if x.dim() == 5 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last_3d):
        return torch.channels_last_3d
    return torch.contiguous_format


def run_head(head: nn.Module, clip: torch.Tensor, geometry: TemporalGeometry, chunk_frames: int | None) -> torch.Tensor:
    """head(clip) for a clip already in memory (B, 3, L, H, W), in chunks as `head_chunks` runs it."""
    frames = clip.shape[2]
    new_stream = (lambda: geometry.new_stream(as_is)) if geometry.chunkable else None
    blocks = head_chunks(lambda first, last: clip[:, :, first:last], frames, chunk_frames, head, new_stream)
    return collect(blocks, -(-frames // geometry.stride) + 1)


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
