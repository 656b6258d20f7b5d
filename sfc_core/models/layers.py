"""Conv3d that always takes PyTorch's oneDNN (mkldnn) kernel on the CPU.

PyTorch picks the CPU kernel for a 3D convolution by a heuristic: a batch of one whose
N x C x T x H is at most 20480 goes to the reference `slow_conv3d` kernel, which is several times
slower (tiny at batch 1: 145 ms vs 28 ms for the same result). Dense sampling one view at a time
and SFC's single long clip are exactly such batches, so the heuristic made them slower than they
need be, and unevenly so. Calling the oneDNN kernel directly gives every batch size the same kernel
(results equal to within float rounding; autograd is supported). The parameters and state_dict
keys are those of `nn.Conv3d`. `torch.utils.flop_counter` has no formula for that op, so the standard
convolution count is registered for it below: FLOPs are counted as before. Exporters know no
conversion for it either: inside `standard_convolution()` the standard operator runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import nn
from torch.utils.flop_counter import conv_flop_count, register_flop_formula


@register_flop_formula(torch.ops.aten.mkldnn_convolution)
def _mkldnn_convolution_flops(x_shape, w_shape, _bias, _padding, _stride, _dilation, _groups, *, out_shape=None,
                              **kwargs) -> int:
    return conv_flop_count(x_shape, w_shape, out_shape)


_STANDARD = ContextVar("standard_convolution", default=False)


@contextmanager
def standard_convolution() -> Iterator[None]:
    """Inside: every `Conv3d` runs PyTorch's standard convolution operator (for ONNX and OpenVINO export)."""
    token = _STANDARD.set(True)
    try:
        yield
    finally:
        _STANDARD.reset(token)


class Conv3d(nn.Conv3d):
    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if (
            not _STANDARD.get()
            and input.device.type == "cpu"
            and input.dtype == torch.float32
            and self.padding_mode == "zeros"
            and not isinstance(self.padding, str)
            and torch.backends.mkldnn.is_available()
        ):
            return torch.mkldnn_convolution(input, weight, bias, self.padding, self.stride, self.dilation, self.groups)
        return super()._conv_forward(input, weight, bias)
