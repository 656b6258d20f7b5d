"""Registry of backbone configurations (timm-style): name -> builder, input spec, label set.

Architecture files call `register(ModelConfig(...))` at import time; `sfc_core.models` imports
them all, so `create(name)` and `list_models()` see every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from torch import nn

from ..errors import ConfigError
from ..resources import LABELS_DIR, SHIPPED_MODELS_DIR


@dataclass(frozen=True)
class InputSpec:
    """How one ordinary clip for this backbone is sampled and preprocessed."""

    frames: int  # frames per clip
    stride: int  # source frames between sampled frames
    short_side: int  # resize the short side to this many pixels
    crop: int  # square crop size
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class WeightsSpec:
    """Where a published checkpoint lives and how to verify it (used by sfc_core.weights)."""

    url: str
    sha256: str | None = None  # full hash, when the publisher gives one
    size_bytes: int | None = None  # exact size, checked when known
    download_mb: float | None = None  # shown to users before they download; not used to verify


@dataclass(frozen=True)
class ModelConfig:
    name: str
    builder: Callable[[int], nn.Module]  # num_classes -> backbone
    input_spec: InputSpec
    label_set: str  # file stem under assets/labels/
    num_classes: int
    default_split: str = "res3"
    description: str = ""
    weights: WeightsSpec | None = field(default=None)
    shipped_weights: str | None = None  # backbone checkpoint under assets/models/ (offline default)
    shipped_sfc: str | None = None  # trained SFC checkpoint under assets/models/, for shipped_weights

    def labels(self) -> list[str]:
        return load_labels(self.label_set)

    def shipped(self, which: str) -> Path | None:
        """Path of the shipped `backbone` or `sfc` checkpoint, if this model ships one."""
        name = self.shipped_weights if which == "backbone" else self.shipped_sfc
        return SHIPPED_MODELS_DIR / name if name else None


_REGISTRY: dict[str, ModelConfig] = {}


def register(config: ModelConfig) -> ModelConfig:
    if config.name in _REGISTRY:
        raise ValueError(f"model {config.name!r} is registered twice")
    _REGISTRY[config.name] = config
    return config


def get_config(name: str) -> ModelConfig:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def list_models() -> list[str]:
    return sorted(_REGISTRY)


@cache
def _read_labels(label_set: str) -> tuple[str, ...]:
    path = LABELS_DIR / f"{label_set}.txt"
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


def load_labels(label_set: str) -> list[str]:
    return list(_read_labels(label_set))
