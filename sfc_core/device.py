"""The one place that decides where models run."""

from __future__ import annotations

import os
import platform

import torch

from .errors import ConfigError


def pick_device(name: str | None = None) -> torch.device:
    """`name` if given, else $SFC_DEVICE, else CUDA when available, else CPU."""
    choice = name or os.environ.get("SFC_DEVICE")
    if choice:
        try:
            device = torch.device(choice)
        except RuntimeError:
            raise ConfigError(f"unknown device {choice!r}; use cpu or cuda") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"{choice} was requested but this machine has no CUDA device; use --device cpu")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe(device: torch.device) -> str:
    """A human-readable device name, e.g. 'NVIDIA H100 80GB HBM3' or 'CPU (x86_64, 2 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
