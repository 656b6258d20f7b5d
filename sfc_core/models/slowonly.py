"""SlowOnly ResNet-50 (Feichtenhofer et al., SlowFast paper): the SFC paper's main backbone.

Module names and shapes mirror pytorchvideo's `slow_r50` exactly (`blocks.0.conv.weight`, ...,
`blocks.5.proj.weight`), so its published Kinetics-400 `state_dict` loads without remapping.
Temporal stride is 1 throughout: an 8-frame clip gives 8 temporal positions at every stage.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import StagedBackbone
from .layers import Conv3d
from .registry import InputSpec, ModelConfig, WeightsSpec, register


def _bn(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, eps=1e-5, momentum=0.1)


class Stem(nn.Module):
    def __init__(self, out_channels: int = 64) -> None:
        super().__init__()
        self.conv = Conv3d(3, out_channels, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False)
        self.norm = _bn(out_channels)
        self.activation = nn.ReLU()
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.activation(self.norm(self.conv(x))))


class Bottleneck(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int) -> None:
        super().__init__()
        self.conv_a = Conv3d(
            dim_in, dim_inner, (temporal_kernel, 1, 1), padding=(temporal_kernel // 2, 0, 0), bias=False
        )
        self.norm_a = _bn(dim_inner)
        self.act_a = nn.ReLU()
        self.conv_b = Conv3d(
            dim_inner, dim_inner, (1, 3, 3), stride=(1, spatial_stride, spatial_stride), padding=(0, 1, 1), bias=False
        )
        self.norm_b = _bn(dim_inner)
        self.act_b = nn.ReLU()
        self.conv_c = Conv3d(dim_inner, dim_out, 1, bias=False)
        self.norm_c = _bn(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int) -> None:
        super().__init__()
        self.branch1_conv = self.branch1_norm = None
        if dim_in != dim_out or spatial_stride != 1:
            stride = (1, spatial_stride, spatial_stride)
            self.branch1_conv = Conv3d(dim_in, dim_out, 1, stride=stride, bias=False)
            self.branch1_norm = _bn(dim_out)
        self.branch2 = Bottleneck(dim_in, dim_inner, dim_out, temporal_kernel, spatial_stride)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.branch1_conv is None else self.branch1_norm(self.branch1_conv(x))
        return self.activation(shortcut + self.branch2(x))


class ResStage(nn.Module):
    def __init__(
        self, depth: int, dim_in: int, dim_inner: int, dim_out: int, temporal_kernel: int, spatial_stride: int
    ) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(
            ResBlock(dim_in if i == 0 else dim_out, dim_inner, dim_out, temporal_kernel,
                     spatial_stride if i == 0 else 1)
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class BasicHead(nn.Module):
    """pytorchvideo's ResNetBasicHead: sliding average pool, per-position linear, global average.

    The pool kernel is clipped to the feature map so that smaller inputs (e.g. after SFC's
    spatial compression) still classify; at the standard sizes it is exactly the reference.
    """

    def __init__(self, dim_in: int, num_classes: int, pool_kernel: tuple[int, int, int], dropout: float = 0.5) -> None:
        super().__init__()
        self.pool_kernel = pool_kernel
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(dim_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = tuple(min(k, s) for k, s in zip(self.pool_kernel, x.shape[2:]))
        x = self.dropout(F.avg_pool3d(x, kernel, stride=1))
        x = self.proj(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return x.mean(dim=(2, 3, 4))


class SlowOnly(StagedBackbone):
    def __init__(
        self,
        num_classes: int = 400,
        depths: tuple[int, int, int, int] = (3, 4, 6, 3),
        temporal_kernels: tuple[int, int, int, int] = (1, 1, 3, 3),
        head_pool_kernel: tuple[int, int, int] = (8, 7, 7),
    ) -> None:
        super().__init__()
        stages: list[nn.Module] = [Stem(64)]
        dim_in, dim_inner = 64, 64
        for i, (depth, t_kernel) in enumerate(zip(depths, temporal_kernels)):
            dim_out = dim_inner * 4
            stages.append(ResStage(depth, dim_in, dim_inner, dim_out, t_kernel, spatial_stride=1 if i == 0 else 2))
            dim_in, dim_inner = dim_out, dim_inner * 2
        stages.append(BasicHead(dim_in, num_classes, head_pool_kernel))
        self.blocks = nn.ModuleList(stages)

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        names = ["stem", "res2", "res3", "res4", "res5", "classifier"]
        return list(zip(names, self.blocks))


register(
    ModelConfig(
        name="slowonly_r50",
        builder=lambda num_classes: SlowOnly(num_classes),
        input_spec=InputSpec(
            frames=8, stride=8, short_side=256, crop=256, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225)
        ),
        label_set="kinetics400",
        num_classes=400,
        description="SlowOnly 8x8 ResNet-50, Kinetics-400 (pytorchvideo slow_r50 layout)",
        weights=WeightsSpec(
            url="https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOW_8x8_R50.pyth", download_mb=130
        ),
    )
)
