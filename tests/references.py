"""Test-only reference implementations (torchvision, pytorchvideo), never used by the app."""

from __future__ import annotations

import sys
import types

import pytest
import torch
from torch import nn


def _skip_torchvision_compiled_ops() -> None:
    # torchvision's compiled ops do not load beside the CPU torch build; its video models need none.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))


def torchvision_video_models():
    _skip_torchvision_compiled_ops()
    return pytest.importorskip("torchvision.models.video")


def pytorchvideo_hub():
    _skip_torchvision_compiled_ops()  # pytorchvideo imports torchvision transforms
    return pytest.importorskip("pytorchvideo.models.hub")


def randomize_(model: nn.Module, seed: int) -> nn.Module:
    """Give every parameter and BatchNorm statistic fresh random values (no identity BNs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)
            elif tensor.dim() == 1:  # BatchNorm weight
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:  # conv / linear weight, fan-in scaled so activations stay O(1)
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
    return model.eval()
