"""Backbones in plain torch, a registry of their configs, and `create(name, weights)`.

Each backbone maps (B, 3, T, H, W) to logits and splits into head and tail at a named stage
(`model.split("res3")`).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..errors import WeightsError
from . import slowonly, video_resnet, x3d  # noqa: F401  (importing registers the architectures)
from .base import StagedBackbone
from .registry import InputSpec, ModelConfig, WeightsSpec, get_config, list_models, load_labels

__all__ = [
    "InputSpec",
    "ModelConfig",
    "StagedBackbone",
    "WeightsSpec",
    "create",
    "get_config",
    "list_models",
    "load_labels",
    "load_state_dict_file",
]


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint in its publisher's layout (bare state_dict, or under `model_state`,
    `state_dict` or `model`; DDP's `module.` prefix removed), only ever with `weights_only=True`."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(f"{path.name} is not a readable PyTorch checkpoint ({first_line})") from None
    for key in ("model_state", "state_dict", "model"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise WeightsError(f"{path} does not hold a state_dict of tensors")
    # A model saved from inside DistributedDataParallel has every key under `module.`.
    if checkpoint and all(key.startswith("module.") for key in checkpoint):
        checkpoint = {key.removeprefix("module."): value for key, value in checkpoint.items()}
    return checkpoint


def create(name: str, weights: str | Path | None = None) -> StagedBackbone:
    """Build backbone `name` in eval mode; `weights` is a checkpoint file or None (random init)."""
    config = get_config(name)
    model = config.builder(config.num_classes)
    if weights is not None:
        state = load_state_dict_file(weights)
        expected = model.state_dict()
        missing = sorted(expected.keys() - state.keys())
        unexpected = sorted(state.keys() - expected.keys())
        wrong_shape = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
        if missing or unexpected or wrong_shape:
            raise WeightsError(
                f"{weights} does not fit {name}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
                f"wrong shape {wrong_shape[:3]}"
            )
        model.load_state_dict(state)
    return model.eval()
