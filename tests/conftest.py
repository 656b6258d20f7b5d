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


def slow_cases(values: list, slow: set) -> list:
    """Parametrize `values` (a tuple for several names), marking those in `slow` as slow: the fast lane
    (-m "not slow") keeps the cheap cases of a test and the full suite runs them all."""
    def case(value):
        return pytest.param(*value if isinstance(value, tuple) else (value,), marks=pytest.mark.slow)

    return [case(value) if value in slow else value for value in values]
