"""Shared fixtures: small real H.264 clips written with PyAV, fresh random inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.clips import write_gray_ramp_clip


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def ramp_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """110 frames at 30 fps, 96x64, a keyframe every 16; frame i is flat gray `gray_level(i)`."""
    path = tmp_path_factory.mktemp("clips") / "ramp.mp4"
    write_gray_ramp_clip(path, num_frames=110, width=96, height=64, fps=30, options={"g": "16"})
    return path

