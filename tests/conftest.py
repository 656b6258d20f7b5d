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



@pytest.fixture(scope="session")
def twenty_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-minute video (tests.input_cases.twenty_minute_video), written once for every test that needs it."""
    from tests.input_cases import twenty_minute_video

    return twenty_minute_video(tmp_path_factory.mktemp("long") / "twenty_minutes.mp4")


@pytest.fixture(scope="session")
def rotate_analysis():
    """The app's analysis of the bundled "rotate clockwise" example with the embedded model, made once.
    A test module that explores takes its own copy (`Analysis.for_session`), as each browser session does."""
    from app.analysis import analyze
    from app.session import Settings
    from sfc_core.resources import EXAMPLES_DIR

    return analyze(EXAMPLES_DIR / "rotate_clockwise.mp4", Settings())
