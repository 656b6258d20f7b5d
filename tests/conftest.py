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
    """120 frames at 30 fps, 96x64; frame i is flat gray of level 2*i (decodable index)."""
    path = tmp_path_factory.mktemp("clips") / "ramp.mp4"
    write_gray_ramp_clip(path, num_frames=120, width=96, height=64, fps=30)
    return path
