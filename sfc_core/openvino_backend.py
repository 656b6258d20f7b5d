"""The OpenVINO backend for CPU inference (`RunOptions.backend == "openvino"`): a network's parts
converted from their PyTorch modules (with the standard convolution operator, which the converter
knows) and compiled by OpenVINO, taking and returning torch tensors, so the recognizers around them
read the same for both backends.

What runs on it: dense sampling's whole network (the view axis free); SFC's tail; SFC's head, as one
compiled graph per step of its stream where what the stream carries from step to step has a fixed size
(`CompiledStream`: the frames temporal convolutions hold and the blocks residuals wait on, as the graph's
inputs and outputs), as the parts `chunked_head` streams where a squeeze-excitation gate holds the whole
clip (each part compiled with its time axis free; the gate's sums and held blocks in PyTorch), or whole
for a head that runs in one pass. The SFC module itself (selection and attention) stays in PyTorch.
Each graph is converted and compiled once per loaded model (`compiled`; a step's graphs: `CompiledStream`), on
the first request that runs it; a compiled graph runs one request at a time (its inference request is not
thread-safe).

FLOPs: while `profiling.count_flops` counts, a compiled part also runs its PyTorch module on the meta
device (no data, no memory), so FLOPs are counted as for the PyTorch backend.
Precision: f32 gives PyTorch's answers within float rounding; bf16 where the CPU computes it natively.

Needs the `openvino` package (the `export` extra).
"""

from __future__ import annotations

import copy
import threading
import warnings
import weakref
from collections.abc import Callable
from functools import lru_cache

import torch
from torch import nn
from torch.utils._python_dispatch import _disable_current_modes, _get_current_dispatch_mode_stack

from .chunked_head import Runner, Stream, StreamStep, as_is
from .errors import ConfigError
from .models.layers import standard_convolution
from .profiling import FlopCount

INSTALL_HINT = 'pip install openvino==2026.4.1 (or ".[export]" from a checkout of SFC Studio)'
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}


@lru_cache(maxsize=1)
def _core():
    try:
        import openvino
    except ImportError:
        raise ConfigError(f"the OpenVINO backend needs the openvino package: {INSTALL_HINT}") from None
    return openvino.Core()


def bf16_native() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 bf16 or AMX), as OpenVINO reports it."""
    return "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def check(precision: str, device: torch.device) -> None:
    """Refuse, in one line, what the backend cannot run: another device, fp16, bf16 on a CPU without it."""
    _core()
    if device.type != "cpu":
        raise ConfigError(f"the OpenVINO backend runs on a CPU, not {device.type}; use --backend torch there")
    if precision not in PRECISION_HINTS:
        raise ConfigError(f"the OpenVINO backend runs fp32 or bf16, not {precision}")
    if precision == "bf16" and not bf16_native():
        raise ConfigError("this CPU has no native bf16 (AVX-512 bf16 or AMX); use --precision fp32")


def _counting_flops() -> bool:
    return any(isinstance(mode, FlopCount) for mode in _get_current_dispatch_mode_stack())


class CompiledPart:
    """`module` run by OpenVINO. Converted and compiled on its first inputs, with the axes in
    `free_axes` left free (other shapes compile once more). Holds the module weakly: `compiled`
    keeps a part for as long as its module lives."""

    def __init__(self, module: nn.Module, free_axes: tuple[int, ...], precision: str) -> None:
        self._module, self.free_axes, self.precision = weakref.ref(module.eval()), free_axes, precision
        self._compiled = {}
        self._meta: nn.Module | None = None
        self._running = threading.Lock()

    @property
    def module(self) -> nn.Module:
        module = self._module()
        if module is None:
            raise RuntimeError("the module of this compiled part was freed; compile its model again")
        return module

    def _shape_class(self, inputs: tuple[torch.Tensor, ...]) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(-1 if axis in self.free_axes else size for axis, size in enumerate(x.shape)) for x in inputs)

    def _compile(self, shapes: tuple[tuple[int, ...], ...], example_shapes: list[torch.Size]):
        """Compiled for `shapes` (-1: free), traced on random inputs of this request's `example_shapes`
        (always valid: a temporal convolution needs at least its kernel's frames)."""
        import openvino

        # outside any dispatch mode: the conversion's tracing is neither the request's FLOPs nor its tensors
        with _disable_current_modes(), torch.inference_mode(False), torch.no_grad(), standard_convolution():
            example = tuple(torch.randn(shape) for shape in example_shapes)  # traced: normal tensors
            with warnings.catch_warnings():  # the converter reads torch.jit traces, deprecated since torch 2.9
                warnings.simplefilter("ignore", DeprecationWarning)
                if all(-1 not in shape for shape in shapes):  # sizes traced as constants are right: none is free
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)
                # traced here without the trace check (two more runs of the module, compared), which the
                # converter's own tracing runs: the embedded network converts in 2.0 s instead of 4.5-4.8 s
                traced = torch.jit.trace(self.module, example, check_trace=False)
                converted = openvino.convert_model(traced, example_input=example,
                                                   input=[openvino.PartialShape(shape) for shape in shapes])
        return _core().compile_model(converted, "CPU", {
            "INFERENCE_PRECISION_HINT": PRECISION_HINTS[self.precision],
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),  # the same threads as PyTorch's
            "PERFORMANCE_HINT": "LATENCY",
        })

    def _count_flops(self, inputs: tuple[torch.Tensor, ...]) -> None:
        if self._meta is None:
            self._meta = copy.deepcopy(self.module).to("meta")
        self._meta(*(torch.empty(x.shape, device="meta") for x in inputs))

    def outputs(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """All of the module's outputs, in order."""
        shapes = self._shape_class(inputs)
        # one request at a time: the compiled model's one inference request is shared by every request of the
        # model, and a module that holds state (`chunked_head.StreamStep`) is traced and counted one call at a time
        with self._running:
            if shapes not in self._compiled:
                self._compiled[shapes] = self._compile(shapes, [x.shape for x in inputs])
            if _counting_flops():
                self._count_flops(inputs)
            results = self._compiled[shapes]([x.detach().contiguous().numpy() for x in inputs])
        return [torch.from_numpy(results[index]) for index in range(len(results))]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(x)[0]


_PARTS: weakref.WeakKeyDictionary[nn.Module, dict[tuple, CompiledPart]] = weakref.WeakKeyDictionary()


def compiled(module: nn.Module, free_axes: tuple[int, ...], precision: str) -> CompiledPart:
    """The one `CompiledPart` of `module` at `precision` with `free_axes`: every request that runs the
    module shares it, so a new set of run options (another view count, repeats, measurement) does not
    convert and compile the network again (seconds per part)."""
    parts = _PARTS.setdefault(module, {})
    key = (free_axes, precision)
    if key not in parts:
        parts[key] = CompiledPart(module, free_axes, precision)
    return parts[key]


_STEPS: weakref.WeakKeyDictionary[Callable, dict[tuple, tuple[CompiledPart, StreamStep]]] = weakref.WeakKeyDictionary()


class CompiledStream(Stream):
    """A head's stream (`chunked_head`) whose every step runs as one compiled graph of the step's input and
    the tensors the stream carries, instead of a graph per part: OpenVINO runs the small graphs of single
    layers at a fraction of the speed of a whole head's graph (measured on a 2-core CPU: a 1x1x1
    convolution's graph at about 7 GFLOP/s, a whole head's at about 45). Same values as the parts, up to
    float rounding.

    A graph is compiled, with fixed shapes, per kind of step: the input's shape, the clip's end or not, and
    what the stream carries (`Stream.carried`). A clip in chunks of one size has a few: the first steps,
    the steady one, a shorter last chunk, the end. They are shared by every stream of the same head plan
    (`new_stream`) and precision, for as long as the plan lives."""

    def __init__(self, new_stream: Callable[[Runner], Stream], precision: str) -> None:
        self._new_stream, self._precision = new_stream, precision
        self._steps = _STEPS.setdefault(new_stream, {})
        self._description, self._carried = new_stream(as_is).carried()

    def step(self, x: torch.Tensor | None, last: bool) -> list[torch.Tensor]:
        inputs = ([] if x is None else [x]) + self._carried
        if not inputs:  # nothing held and nothing new: nothing to pass on
            return []
        key = (None if x is None else (tuple(x.shape), x.dtype), last, self._description, self._precision)
        if key not in self._steps:
            module = StreamStep(self._new_stream, self._description, x is not None, last)
            self._steps[key] = compiled(module, (), self._precision), module  # the part holds its module weakly
        part, module = self._steps[key]
        outputs = part.outputs(*inputs)  # traced on its first call, which records the step's blocks and after
        self._description, self._carried = module.after, outputs[module.blocks:]
        return outputs[: module.blocks]
