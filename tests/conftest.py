"""Shared fixtures: small real H.264 clips written with PyAV, fresh random inputs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.clips import ROTATE_EXAMPLE, write_gray_ramp_clip

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # The suite's workers share the cores this process may use: each takes its share of threads, and so
    # do the processes it starts, so that they don't contend (oversubscribed OpenMP threads spin).
    _threads = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)
    # and each has a gradio upload folder of its own: a test that lists the files its analyses wrote there
    # must not see the other worker's
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(tempfile.gettempdir(), f"gradio-{os.environ['PYTEST_XDIST_WORKER']}")


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
def _rotate_run() -> tuple:
    """The app's analysis of the bundled "rotate clockwise" example with the embedded model, made once,
    with the progress steps it reported."""
    from app.analysis import analyze
    from app.session import Settings

    steps = []
    out = analyze(ROTATE_EXAMPLE, Settings(), progress=lambda fraction, text: steps.append((fraction, text)))
    return out, steps


@pytest.fixture(scope="session")
def rotate_analysis(_rotate_run):
    """That analysis. A test module that explores or restyles takes its own copy (`Analysis.for_session`),
    as each browser session does."""
    return _rotate_run[0]


@pytest.fixture(scope="session")
def rotate_progress(_rotate_run) -> list[tuple[float, str]]:
    """The (fraction, description) progress steps that analysis reported."""
    return _rotate_run[1]


@pytest.fixture(scope="session")
def training_free_analysis():
    """The same example at a spatial stride the embedded SFC was not trained at: the training-free SFC (no
    attention), with one dense view."""
    from app.analysis import analyze
    from app.session import Settings
    from sfc_core.options import RunOptions

    return analyze(ROTATE_EXAMPLE, Settings(spatial_stride=2, run=RunOptions(clips=1, crops=1)))
