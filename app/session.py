"""What one browser session holds: the settings of its Run, and the clip its last analysis left for
the explorer. Its own module, so the analysis (which makes a `Clip`) and the explorer (which reads
one) both depend on it and not on each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from sfc_core.options import DEFAULT_LENGTH, RunOptions
from sfc_core.report import Result
from sfc_core.streaming import Update
from sfc_core.video import VideoInfo

DEFAULT_MODEL = "tiny"


class SharedFigures:
    """Figures drawn once, the first time anyone asks, and then shared read-only by every session an
    analysis is served to (a cached analysis is handed to several)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures: dict | None = None

    def get(self, draw: Callable[[], dict]) -> dict:
        with self._lock:
            if self._figures is None:
                self._figures = draw()
            return self._figures


class Answer(NamedTuple):
    """One answer the explorer compares: the class it named, its probability, and the true class's."""

    label: str
    probability: float
    truth_probability: float | None  # None: the clip's true action is not one of the model's classes


@dataclass(frozen=True)
class Settings:
    """A Run's choices: the model, its SFC overrides, and how the request runs (the page sets dense
    sampling's clips and crops and the backend; everything else is `RunOptions`' default)."""

    model: str = DEFAULT_MODEL
    length: int = DEFAULT_LENGTH  # SFC long-clip length in frames
    spatial_stride: int = 1  # SFC spatial compression
    run: RunOptions = RunOptions()


@dataclass
class Clip:
    """What one session keeps of its last analysis (one clip: a new Run replaces it)."""

    settings: Settings  # which model the analysis ran, at which settings
    features: torch.Tensor  # the head's output (1, C, T, H, W), on the CPU
    sfc: Result
    dense: Result
    cams: np.ndarray  # Grad-CAM per kept position (K, h, w), for redrawing at another scale
    truth: dict | None  # bundled example: label and action window
    tried: dict[str, Answer] = field(default_factory=dict)  # the explorer's answers on this clip, by name
    over_time: list[Update] = field(default_factory=list)  # each window's answer, for a video longer than one
    over_time_video: VideoInfo | None = None  # the video those windows are of (None: this clip's own)
    attention: np.ndarray | None = None  # where each kept position gathered its evidence (K, T); None: no attention
    # the run's figures in the dark theme, by output name: drawn afresh from this data when a dark page first
    # asks (most pages are light), never copied from a figure another session may be drawing
    dark: SharedFigures = field(default_factory=SharedFigures)
    explored: dict = field(default_factory=dict)  # this session's last explorer figures: its own to restyle
    name: str = ""  # the file name this session knows the video by (a cached analysis may be of another upload)

    @property
    def window(self) -> tuple[int, int] | None:
        return (self.truth["window_start"], self.truth["window_end"]) if self.truth else None

    @property
    def truth_class(self) -> int | None:
        """The true class's index, when the clip's label is one this model knows (a bundled SynthActions
        example on a Kinetics-400 model has a known action window but a label outside its classes)."""
        name = self.truth["label_name"] if self.truth else None
        return self.sfc.labels.index(name) if name in self.sfc.labels else None
