"""Deep links to a lesson state: `/?example=grow&strategy=uniform&keep=4` opens the page with that
bundled example analysed (model and settings too) and the explorer in that state.

Only bundled examples can be named (by name, never a path: a link never reads a file of the server's);
an unknown parameter or an invalid value is ignored and listed in a note, never an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

from sfc_core import models
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.selection import STRATEGIES

from .session import Settings

LENGTHS, SPATIAL_STRIDES, CLIPS, CROPS, KEEPS = range(16, 129, 8), (1, 2), range(1, 11), (1, 3), range(1, 65)


def examples() -> dict[str, Path]:
    """The bundled examples by name ("grow" for grow.mp4)."""
    return {path.stem: path for path in sorted(EXAMPLES_DIR.glob("*.mp4"))}


@dataclass
class Lesson:
    """What a link asks for; `notes` lists what it asked for and was ignored."""

    example: Path | None = None
    settings: Settings = Settings()
    strategy: str | None = None
    keep: int | None = None
    frames: str = ""
    seed: int | None = None  # repeats a random draw
    notes: list[str] = field(default_factory=list)


def _number(value: str, allowed) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number in allowed else None


def parse(params: dict[str, str]) -> Lesson:
    """The lesson a link's query parameters name."""
    lesson, run = Lesson(), {}
    numbers = {"length": LENGTHS, "spatial_stride": SPATIAL_STRIDES, "clips": CLIPS, "crops": CROPS, "keep": KEEPS}
    for key, value in params.items():
        if key.startswith("__"):  # gradio's own (`__theme=dark`): the page handles it
            continue
        if key == "example":
            lesson.example = examples().get(value)
            ok = lesson.example is not None
        elif key == "model":
            ok = value in models.list_models()
            lesson.settings = replace(lesson.settings, model=value) if ok else lesson.settings
        elif key == "strategy":
            ok = value in STRATEGIES
            lesson.strategy = value if ok else None
        elif key == "seed":
            lesson.seed = _number(value, range(2**31))
            ok = lesson.seed is not None
        elif key == "frames":
            ok = all(part.strip().isdigit() for part in value.split(",") if part.strip())
            lesson.frames = value if ok else ""
        elif key in numbers:
            number = _number(value, numbers[key])
            ok = number is not None
            if ok and key == "keep":
                lesson.keep = number
            elif ok and key in ("clips", "crops"):
                run[key] = number
            elif ok:
                lesson.settings = replace(lesson.settings, **{key: number})
        else:
            lesson.notes.append(f"unknown parameter {key!r} ignored")
            continue
        if not ok:
            lesson.notes.append(f"{key}={value!r} is not valid here and was ignored")
    lesson.settings = replace(lesson.settings, run=replace(lesson.settings.run, **run))
    if lesson.example is None and (lesson.strategy or "example" in params):
        names = ", ".join(examples())
        lesson.notes.append(f"a link can open a bundled example only: example=NAME, one of {names}")
    return lesson


def link_for(example: str, settings: Settings, strategy: str | None = None, keep: int | None = None,
             frames: str = "", seed: int | None = None) -> str:
    """The query string that opens this state (after the page's address)."""
    params = {"example": example, "model": settings.model, "length": settings.length,
              "spatial_stride": settings.spatial_stride, "clips": settings.run.clips, "crops": settings.run.crops}
    if strategy:
        params |= {"strategy": strategy, "keep": keep} | ({"frames": frames} if frames else {})
        params |= {"seed": seed} if strategy == "random" and seed is not None else {}
    return "?" + urlencode({key: value for key, value in params.items() if value is not None})
