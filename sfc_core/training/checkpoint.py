"""Resumable training state, written atomically so a crash never leaves half a file."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def save_state(path: Path, state: dict) -> None:
    """Write `state` (tensors, numbers, lists, dicts) to `path` through a temporary file."""
    partial = path.with_name(path.name + ".tmp")
    torch.save(state, partial)
    os.replace(partial, path)


def load_state(path: Path, device: torch.device) -> dict | None:
    """The state saved at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    return torch.load(path, map_location=device, weights_only=True)
