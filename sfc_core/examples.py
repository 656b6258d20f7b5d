"""The bundled example clips, recognised by content (a renamed copy is still one), and what to tell a
user who runs a model that knows only SynthActions on any other video."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from .models import ModelConfig, get_config, list_models
from .resources import EXAMPLES_DIR
from .synth_classes import SYNTH_ACTION_CLASSES

SYNTH_LABEL_SET = "synth_actions"
_LARGEST_EXAMPLE_BYTES = 50 * 2**20  # anything bigger is not a bundled example: never hash it


@lru_cache(maxsize=1)
def _by_content() -> dict[str, dict]:
    path = EXAMPLES_DIR / "examples.json"
    if not path.exists():
        return {}
    return {item["sha256"]: item for item in json.loads(path.read_text())}


def bundled_example(path: str | Path) -> dict | None:
    """Label and action window (`label_name`, `window_start`, `window_end`, ...) when the file is one of
    the bundled examples, else None."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > _LARGEST_EXAMPLE_BYTES:
        return None
    return _by_content().get(hashlib.sha256(path.read_bytes()).hexdigest())


def domain_note(config: ModelConfig, video: str | Path) -> str | None:
    """For a model trained on SynthActions run on a video that is not a bundled example: what its answer
    means (the nearest synthetic motion, nothing about the real action) and which models know real ones."""
    if config.label_set != SYNTH_LABEL_SET or bundled_example(video) is not None:
        return None
    kinetics = ", ".join(name for name in list_models() if get_config(name).label_set == "kinetics400")
    return (f"the {config.name} model knows only the {len(SYNTH_ACTION_CLASSES)} synthetic SynthActions motions "
            f"({', '.join(SYNTH_ACTION_CLASSES)}). On any other video it still answers with the nearest of those, "
            f"which says nothing about the real action. For real actions use a Kinetics-400 model ({kinetics}): its "
            "weights download once on first use (when this machine is online), and SFC then runs training-free.")
