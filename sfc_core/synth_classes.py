"""The SynthActions class names: actions that differ only in motion (see sfc_core/synth.py)."""

SYNTH_ACTION_CLASSES: tuple[str, ...] = (
    "move left",
    "move right",
    "move up",
    "move down",
    "rotate clockwise",
    "rotate counter-clockwise",
    "grow",
    "shrink",
    "zig-zag",
    "bounce",
)
