"""What each SynthActions seed is for, declared once.

A figure called held-out is honest only if no model, setting or choice between models ever saw
those clips. Every seed that made or chose the embedded model is listed here by its use; the
held-out seeds are only ever evaluated, and training and tuning refuse them.

- training: the clips a model learned from;
- validation: clips that chose between models and settings (including every seed a figure was
  reported on before a later model was chosen: once looked at, a seed is no longer held out);
- held-out: clips only reported, after the choice was made.

Tests use seeds of their own (SynthActions clip i of seed s is drawn from `(s, i)`, so distinct
seeds never share a clip).
"""

from __future__ import annotations

from .errors import ConfigError

TRAINING: dict[int, str] = {
    0: "the embedded backbone (600 clips)",
    1: "the embedded SFCs (400 clips; the last 10% are each run's per-epoch validation)",
}
VALIDATION: dict[int, str] = {
    1000: "the backbone's per-epoch validation (its training seed + 1000)",
    5000: "choosing which SFC ships and its training settings",
    100: "the model card's evaluation (time, memory, FLOPs ratios); looked at while choosing earlier models",
    7001: "reported as held-out for an earlier model, then looked at while choosing the next",
    7002: "reported as held-out for an earlier model, then looked at while choosing the next",
}
HELD_OUT: dict[int, str] = {
    8001: "held-out evaluation of every shipped and compared SFC (never trained or tuned on)",
    8002: "held-out evaluation of every shipped and compared SFC (never trained or tuned on)",
}
BACKBONE_VALIDATION_OFFSET = 1000  # the backbone trainer validates on seed + this


def split_of(seed: int) -> str:
    """'training', 'validation', 'held-out', or 'other' (a seed this project never reported on)."""
    for name, table in (("training", TRAINING), ("validation", VALIDATION), ("held-out", HELD_OUT)):
        if seed in table:
            return name
    return "other"


def refuse_held_out(seed: int, use: str) -> None:
    """Raise ConfigError when `use` (training, tuning) would look at a held-out seed."""
    if seed in HELD_OUT:
        raise ConfigError(
            f"seed {seed} is held out for evaluation and must not be used for {use}; use a training seed "
            f"({', '.join(map(str, TRAINING))}) or a validation seed ({', '.join(map(str, VALIDATION))})")
