"""3D ResNets: R3D-18 and R(2+1)D-18 (Tran et al., 2018), and `tiny`, a narrow R3D.

Module names mirror torchvision's `VideoResNet` (`stem.0.weight`, `layer1.0.conv1.0.0.weight`,
..., `fc.weight`), so torchvision's published Kinetics-400 checkpoints load as they are.
`tiny` (widths 16-128, 64 px) is the embedded default model, small enough to train on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .base import StagedBackbone
from .layers import Conv3d
from .registry import InputSpec, ModelConfig, WeightsSpec, register

ConvBuilder = Callable[[int, int, int, int], nn.Module]  # (in, out, mid, stride) -> conv


def conv3d_simple(in_planes: int, out_planes: int, mid: int, stride: int) -> nn.Module:
    return Conv3d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv2plus1d(in_planes: int, out_planes: int, mid: int, stride: int) -> nn.Module:
    """A (1,3,3) spatial conv to `mid` channels, then a (3,1,1) temporal conv."""
    return nn.Sequential(
        Conv3d(in_planes, mid, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        Conv3d(mid, out_planes, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
    )


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, conv: ConvBuilder, stride: int) -> None:
        super().__init__()
        # torchvision sizes R(2+1)D's mid-planes once per block, from the block's input width,
        # so both convs match a full 3x3x3 conv's parameter count.
        mid = (in_planes * planes * 3 * 3 * 3) // (in_planes * 3 * 3 + 3 * planes)
        self.conv1 = nn.Sequential(conv(in_planes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv(planes, planes, mid, 1), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                Conv3d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm3d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + shortcut)

    def residual_parts(self) -> tuple[nn.Module, nn.Module | None, nn.Module]:
        """(branch, shortcut or None for identity, activation): forward is activation(branch(x) +
        shortcut(x)). Lets `chunked_head` stream the block over time."""
        return nn.Sequential(self.conv1, self.conv2), self.downsample, self.relu


def r3d_stem(width: int = 64) -> nn.Sequential:
    return nn.Sequential(
        Conv3d(3, width, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(width),
        nn.ReLU(inplace=True),
    )


def r2plus1d_stem() -> nn.Sequential:
    return nn.Sequential(
        Conv3d(3, 45, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
        nn.BatchNorm3d(45),
        nn.ReLU(inplace=True),
        Conv3d(45, 64, (3, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(64),
        nn.ReLU(inplace=True),
    )


class GlobalAvgPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3, 4))


class VideoResNet(StagedBackbone):
    def __init__(
        self,
        stem: nn.Module,
        conv: ConvBuilder,
        num_classes: int = 400,
        widths: tuple[int, int, int, int] = (64, 128, 256, 512),
    ) -> None:
        super().__init__()
        self.stem = stem
        in_planes = widths[0]
        for i, planes in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks = [BasicBlock(in_planes, planes, conv, stride), BasicBlock(planes, planes, conv, 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            in_planes = planes
        self.fc = nn.Linear(widths[-1], num_classes)

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        return [
            ("stem", self.stem),
            ("res2", self.layer1),
            ("res3", self.layer2),
            ("res4", self.layer3),
            ("res5", self.layer4),
            ("classifier", nn.Sequential(GlobalAvgPool(), self.fc)),  # torchvision's avgpool + fc
        ]


TORCHVISION_MODELS = "https://download.pytorch.org/models"
_KINETICS_112 = InputSpec(
    frames=16,
    stride=2,
    short_side=128,
    crop=112,
    mean=(0.43216, 0.394666, 0.37645),
    std=(0.22803, 0.22145, 0.216989),
)

register(
    ModelConfig(
        name="r2plus1d_18",
        builder=lambda num_classes: VideoResNet(r2plus1d_stem(), conv2plus1d, num_classes),
        input_spec=_KINETICS_112,
        label_set="kinetics400",
        num_classes=400,
        description="R(2+1)D-18, Kinetics-400, 16 x 112 px (torchvision layout)",
        weights=WeightsSpec(url=f"{TORCHVISION_MODELS}/r2plus1d_18-91a641e6.pth", download_mb=120.3),
    )
)
register(
    ModelConfig(
        name="r3d_18",
        builder=lambda num_classes: VideoResNet(r3d_stem(), conv3d_simple, num_classes),
        input_spec=_KINETICS_112,
        label_set="kinetics400",
        num_classes=400,
        description="R3D-18, Kinetics-400, 16 x 112 px (torchvision layout)",
        weights=WeightsSpec(url=f"{TORCHVISION_MODELS}/r3d_18-b3b3357e.pth", download_mb=127.4),
    )
)
register(
    ModelConfig(
        name="tiny",
        builder=lambda num_classes: VideoResNet(r3d_stem(16), conv3d_simple, num_classes, widths=(16, 32, 64, 128)),
        input_spec=InputSpec(
            frames=16, stride=2, short_side=72, crop=64, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)
        ),
        label_set="synth_actions",
        num_classes=10,
        description="Tiny R3D (widths 16-128, 16 x 64 px) for SynthActions; the embedded default",
        shipped_weights="tiny_synth.pth",
        shipped_sfc="tiny_synth_sfc.pth",
    )
)
