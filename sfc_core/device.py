"""The one place that decides where models run."""

from __future__ import annotations

import os
import platform

import torch


def pick_device(name: str | None = None) -> torch.device:
    """`name` if given, else $SFC_DEVICE, else CUDA when available, else CPU."""
    choice = name or os.environ.get("SFC_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA device is available")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe(device: torch.device) -> str:
    """A human-readable device name, e.g. 'NVIDIA H100 80GB HBM3' or 'CPU (x86_64, 2 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
