"""The OpenVINO backend for CPU inference (`RunOptions.backend == "openvino"`): a network's parts
converted from their PyTorch modules (with the standard convolution operator, which the converter
knows) and compiled by OpenVINO, taking and returning torch tensors, so the recognizers around them
read the same for both backends.

What runs on it: dense sampling's whole network (the view axis free); SFC's tail; SFC's head as the
parts `chunked_head` streams, each compiled with its time axis free (a run of layers that treat frames
alone; a temporal convolution with the run after it; a squeeze-excitation gate's scale: the frames and
sums carried over held in PyTorch), or whole for a head that cannot be chunked. The SFC module itself
(selection and attention) stays in PyTorch.
Each part is converted and compiled once per loaded model (`compiled`), on the first request that runs it;
a compiled part runs one request at a time (its inference request is not thread-safe).

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
from functools import lru_cache

import torch
from torch import nn
from torch.utils._python_dispatch import _disable_current_modes, _get_current_dispatch_mode_stack

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
    """`module` run by OpenVINO. Converted and compiled on its first input, with the axes in
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

    def _shape_class(self, shape: torch.Size) -> tuple[int, ...]:
        return tuple(-1 if axis in self.free_axes else size for axis, size in enumerate(shape))

    def _compile(self, shape: tuple[int, ...], example_shape: torch.Size):
        """Compiled for `shape` (-1: free), traced on a random input of this request's `example_shape`
        (always valid: a temporal convolution needs at least its kernel's frames)."""
        import openvino

        # outside any dispatch mode: the conversion's tracing is neither the request's FLOPs nor its tensors
        with _disable_current_modes(), torch.inference_mode(False), torch.no_grad(), standard_convolution():
            example = torch.randn(example_shape)  # traced: a normal tensor
            with warnings.catch_warnings():  # the converter reads torch.jit traces, deprecated since torch 2.9
                warnings.simplefilter("ignore", DeprecationWarning)
                # traced here without the trace check (two more runs of the module, compared), which the
                # converter's own tracing runs: the embedded network converts in 2.0 s instead of 4.5-4.8 s
                traced = torch.jit.trace(self.module, example, check_trace=False)
                converted = openvino.convert_model(traced, example_input=example, input=[openvino.PartialShape(shape)])
        return _core().compile_model(converted, "CPU", {
            "INFERENCE_PRECISION_HINT": PRECISION_HINTS[self.precision],
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),  # the same threads as PyTorch's
            "PERFORMANCE_HINT": "LATENCY",
        })

    def _count_flops(self, x: torch.Tensor) -> None:
        if self._meta is None:
            self._meta = copy.deepcopy(self.module).to("meta")
        self._meta(torch.empty(x.shape, device="meta"))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = self._shape_class(x.shape)
        if shape not in self._compiled:
            self._compiled[shape] = self._compile(shape, x.shape)
        if _counting_flops():
            self._count_flops(x)
        with self._running:  # the compiled model's one inference request, shared by every request of the model
            output = self._compiled[shape](x.detach().contiguous().numpy())[0]
        return torch.from_numpy(output)


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
