"""The one place that decides where models run."""

from __future__ import annotations

import contextlib
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


PRECISIONS = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def check_precision(precision: str, device: torch.device) -> None:
    """Mixed precision is offered on CUDA only: a CPU without half-precision arithmetic units runs
    it slower than float32 (bf16 autocast measured 20x slower on an AVX2 CPU)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if PRECISIONS[precision] is not None and device.type != "cuda":
        raise ConfigError(f"precision {precision} runs on CUDA only; on {device.type} use fp32")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The model's forward pass at `precision` (checked by `check_precision`)."""
    if PRECISIONS[precision] is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=PRECISIONS[precision])


def prepare(device: torch.device) -> None:
    """On CUDA, let cuDNN time its algorithms once per input shape (the warm-up call, never timed)
    and keep the fastest: every request here repeats the same few shapes."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
