"""X3D (Feichtenhofer, CVPR 2020): small, efficient video networks, in pytorchvideo's layout.

Module names and shapes mirror pytorchvideo's `create_x3d` (`blocks.0.conv.conv_t.weight`, ...,
`blocks.5.pool.pre_conv.weight`, `blocks.5.proj.weight`), so the published Kinetics-400 X3D-S/M
checkpoints load without remapping. (pytorchvideo names the stem's spatial conv `conv_t` and its
temporal conv `conv_xy`; we keep its names, not its confusion, in the comments.)

Temporal stride is 1 throughout, so every frame of the clip is a temporal position at every stage,
as SFC needs. The stem, stages and bottlenecks are sequences (named as pytorchvideo names them) and
the blocks declare their residual parts and squeeze-excitation gates, so `chunked_head` can run the
head a few frames at a time. pytorchvideo's head ends in a softmax averaged over positions; ours returns the log
of that average, whose softmax is exactly pytorchvideo's output at any input size.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .base import StagedBackbone
from .layers import Conv3d
from .registry import InputSpec, ModelConfig, WeightsSpec, register

PYTORCHVIDEO_ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"


def round_width(width: float, multiplier: float, divisor: int = 8) -> int:
    """pytorchvideo's channel rounding: to the nearest multiple of `divisor`, never 10% below."""
    width *= multiplier
    rounded = max(divisor, int(width + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * width else rounded


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def stem(channels: int) -> nn.Sequential:
    convs = OrderedDict(
        conv_t=Conv3d(3, channels, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),  # spatial
        conv_xy=Conv3d(channels, channels, (5, 1, 1), padding=(2, 0, 0), bias=False, groups=channels),  # temporal
    )
    return nn.Sequential(OrderedDict(conv=nn.Sequential(convs), norm=nn.BatchNorm3d(channels), activation=nn.ReLU()))


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            Conv3d(channels, reduced, 1), nn.ReLU(), Conv3d(reduced, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.block(F.adaptive_avg_pool3d(x, 1))

    def clip_gate(self) -> nn.Module:
        """What maps the input's mean over the whole clip to the scale it is multiplied by."""
        return self.block


def bottleneck(dim_in: int, dim_inner: int, dim_out: int, spatial_stride: int, use_se: bool) -> nn.Sequential:
    """1x1x1 -> depthwise 3x3x3 (+ squeeze-excitation every other block) -> swish -> 1x1x1."""
    stride = (1, spatial_stride, spatial_stride)
    se = SqueezeExcitation(dim_inner, round_width(dim_inner, 0.0625)) if use_se else nn.Identity()
    return nn.Sequential(OrderedDict(
        conv_a=Conv3d(dim_in, dim_inner, 1, bias=False),
        norm_a=nn.BatchNorm3d(dim_inner),
        act_a=nn.ReLU(),
        conv_b=Conv3d(dim_inner, dim_inner, 3, stride=stride, padding=1, bias=False, groups=dim_inner),
        norm_b=nn.Sequential(nn.BatchNorm3d(dim_inner), se),
        act_b=Swish(),
        conv_c=Conv3d(dim_inner, dim_out, 1, bias=False),
        norm_c=nn.BatchNorm3d(dim_out),
    ))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, spatial_stride: int, use_se: bool) -> None:
        super().__init__()
        self.branch1_conv = self.branch1_norm = None
        if dim_in != dim_out or spatial_stride > 1:
            stride = (1, spatial_stride, spatial_stride)
            self.branch1_conv = Conv3d(dim_in, dim_out, 1, stride=stride, bias=False)
            self.branch1_norm = nn.BatchNorm3d(dim_out) if dim_in != dim_out else None
        self.branch2 = bottleneck(dim_in, dim_inner, dim_out, spatial_stride, use_se)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.branch1_conv is not None:
            shortcut = self.branch1_conv(x)
            if self.branch1_norm is not None:
                shortcut = self.branch1_norm(shortcut)
        return self.activation(shortcut + self.branch2(x))

    def residual_parts(self) -> tuple[nn.Module, nn.Module | None, nn.Module]:
        """(branch, shortcut or None for the identity, activation after their sum)."""
        shortcut = [layer for layer in (self.branch1_conv, self.branch1_norm) if layer is not None]
        return self.branch2, nn.Sequential(*shortcut) if shortcut else None, self.activation


def res_stage(depth: int, dim_in: int, dim_inner: int, dim_out: int) -> nn.Sequential:
    blocks = [ResBlock(dim_in if i == 0 else dim_out, dim_inner, dim_out, 2 if i == 0 else 1, use_se=i % 2 == 0)
              for i in range(depth)]
    return nn.Sequential(OrderedDict(res_blocks=nn.Sequential(*blocks)))


class _ProjectedPool(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, pool_kernel: tuple[int, int, int]) -> None:
        super().__init__()
        self.pre_conv = Conv3d(dim_in, dim_inner, 1, bias=False)
        self.pre_norm = nn.BatchNorm3d(dim_inner)
        self.post_conv = Conv3d(dim_inner, dim_out, 1, bias=False)
        self.pool_kernel = pool_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.pre_norm(self.pre_conv(x)))
        # Clipped to the feature map, so smaller inputs (SFC's spatial compression) still classify.
        kernel = tuple(min(k, s) for k, s in zip(self.pool_kernel, x.shape[2:]))
        return F.relu(self.post_conv(F.avg_pool3d(x, kernel, stride=1)))


class Head(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, num_classes: int, pool_kernel: tuple[int, int, int]) -> None:
        super().__init__()
        self.pool = _ProjectedPool(dim_in, dim_inner, 2048, pool_kernel)
        self.dropout = nn.Dropout(0.5)
        self.proj = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.pool(x))
        log_p = self.proj(x.permute(0, 2, 3, 4, 1)).log_softmax(dim=-1).flatten(1, 3)  # (B, positions, classes)
        return torch.logsumexp(log_p, dim=1) - math.log(log_p.shape[1])  # log of the mean probability


class X3D(StagedBackbone):
    def __init__(self, num_classes: int = 400, depth_factor: float = 2.2, train_crop: int = 160, frames: int = 13):
        super().__init__()
        width_factor, bottleneck_factor = 2.0, 2.25
        stem_dim = round_width(12, width_factor)
        stages: list[nn.Module] = [stem(stem_dim)]
        dim_in, dims = stem_dim, [12, 24, 48, 96]
        for base_dim, base_depth in zip(dims, (1, 2, 5, 3)):
            dim_out = round_width(base_dim, width_factor)
            dim_inner = int(bottleneck_factor * dim_out)
            stages.append(res_stage(math.ceil(depth_factor * base_depth), dim_in, dim_inner, dim_out))
            dim_in = dim_out
        side = math.ceil(train_crop / 32)
        stages.append(Head(dim_in, dim_inner, num_classes, (frames, side, side)))
        self.blocks = nn.ModuleList(stages)

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        names = ["stem", "res2", "res3", "res4", "res5", "classifier"]
        return list(zip(names, self.blocks))


_MEAN, _STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)

register(
    ModelConfig(
        name="x3d_s",
        builder=lambda num_classes: X3D(num_classes, train_crop=160, frames=13),
        input_spec=InputSpec(frames=13, stride=6, short_side=182, crop=182, mean=_MEAN, std=_STD),
        label_set="kinetics400",
        num_classes=400,
        description="X3D-S, Kinetics-400, 13 x 182 px (pytorchvideo layout)",
        weights=WeightsSpec(url=f"{PYTORCHVIDEO_ZOO}/X3D_S.pyth", download_mb=15),
    )
)
register(
    ModelConfig(
        name="x3d_m",
        builder=lambda num_classes: X3D(num_classes, train_crop=224, frames=16),
        input_spec=InputSpec(frames=16, stride=5, short_side=256, crop=256, mean=_MEAN, std=_STD),
        label_set="kinetics400",
        num_classes=400,
        description="X3D-M, Kinetics-400, 16 x 256 px (pytorchvideo layout)",
        weights=WeightsSpec(url=f"{PYTORCHVIDEO_ZOO}/X3D_M.pyth", download_mb=15),
    )
)
