"""The explorer: after Run, ask "what if other moments had been kept?" without running the head again.

`analyze` leaves one `Clip` per browser session (the head's output of the long clip, the results it
showed, the ground truth when known); each question re-runs only a selection strategy and the tail
(`sfc_core.selection.Selector`), and the answers collect in a small comparison for that clip.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.figure import Figure

from sfc_core.errors import ConfigError
from sfc_core.hub import SFCModel
from sfc_core.report import KeptFrames, Result
from sfc_core.selection import STRATEGIES, Selector
from sfc_core.sfc import Compressor, heatmap_kind

from . import figures
from .session import Answer, Clip

STRATEGY_NAMES = {
    "sfc": "SFC (the model's own)",
    "change": "training-free: change",
    "distinctiveness": "training-free: distinctiveness",
    "energy": "training-free: energy",
    "uniform": "uniform (evenly spaced)",
    "random": "random",
    "oracle": "oracle (knows where the action is)",
    "manual": "manual (your picks)",
}
assert tuple(STRATEGY_NAMES) == STRATEGIES


def short_name(strategy: str) -> str:
    """"uniform" for "uniform (evenly spaced)": for titles and chart labels."""
    return STRATEGY_NAMES[strategy].split(" (")[0]


@dataclass
class Exploration:
    result: Result  # the SFC result with this strategy's kept positions and probabilities
    label: str  # e.g. "uniform, keep 4"
    comparison: Figure
    report: dict  # strategy, keep, kept_frames, kept_positions, top5, time_s, seed (random only), note


def positions_for_frames(clip: Clip, frames: str) -> list[int]:
    """'12, 40' (source frame numbers) -> the head positions whose receptive fields are centred nearest."""
    try:
        wanted = [int(f) for f in frames.replace(";", ",").split(",") if f.strip()]
    except ValueError:
        raise ConfigError(f"frames must be frame numbers separated by commas, like '12, 40', not {frames!r}") from None
    if not wanted:
        raise ConfigError("manual: pick at least one moment (click a frame, or type frame numbers like '12, 40')")
    last = clip.sfc.video.num_frames - 1
    outside = [f for f in wanted if not 0 <= f <= last]
    if outside:
        raise ConfigError(f"frame {outside[0]} is outside this clip: its frames are 0-{last}")
    centres = np.array(clip.sfc.position_frames)
    return sorted({int(np.abs(centres - f).argmin()) for f in wanted})


def _scorer_only_note(sfc: Compressor, strategy: str, keep: int) -> str:
    """What differs from a request when a trained SFC is asked for another number of moments: the
    selector ranks by its scores alone and the tail gets the raw kept features ("" otherwise)."""
    if strategy != "sfc" or keep == sfc.keep or heatmap_kind(sfc) != "attention":
        return ""
    return (f"SFC at keep {keep} ≠ its trained keep {sfc.keep}: positions ranked by SFC's scores alone; "
            "attention not run")


def comparison_figure(clip: Clip) -> Figure:
    """Every answer on this clip: dense sampling's and SFC's from the run, then each one tried."""
    truth = clip.truth_class
    run = {f"dense, {clip.dense.plan.num_views} views": answer(clip.dense.probabilities, clip.dense.labels, truth),
           f"SFC (the run), keep {len(clip.sfc.kept.positions)}": answer(clip.sfc.probabilities, clip.sfc.labels,
                                                                         truth)}
    return figures.comparison(run | clip.tried, None if truth is None else clip.sfc.labels[truth])


def answer(probabilities: np.ndarray, labels: list[str], truth: int | None) -> Answer:
    """The class `probabilities` name, with its probability and the true class's (None: unknown)."""
    top = int(np.argmax(probabilities))
    return Answer(labels[top], float(probabilities[top]), None if truth is None else float(probabilities[truth]))


def explore(model: SFCModel, clip: Clip, strategy: str, keep: int, frames: str = "",
            seed: int | None = None) -> Exploration:
    """Run `strategy` (keeping `keep` positions; `frames` for "manual"; `seed` for "random", None: a new
    draw) on the clip's head output and classify with the same tail of `model` (the one that analysed the
    clip), on PyTorch whatever backend analysed it (an OpenVINO run's own answer then agrees up to rounding);
    the answer is added to the clip's comparison."""
    if strategy == "random" and seed is None:
        seed = secrets.randbelow(2**31)
    if strategy == "oracle" and clip.window is None:
        raise ConfigError("the oracle needs to know where the action is: run one of the bundled examples")
    recognizer = model.sfc_recognizer()
    selector = Selector(recognizer.sfc, recognizer.tail, recognizer.geometry)
    sampled = clip.sfc.frame_indices[0]
    positions = positions_for_frames(clip, frames) if strategy == "manual" else None
    begin = time.perf_counter()
    features = clip.features.to(recognizer.device)
    selection = selector.select(strategy, features, int(keep), seed=seed, sampled=sampled, window=clip.window,
                                positions=positions)
    probabilities = selection.probabilities.float().cpu().numpy()
    elapsed = time.perf_counter() - begin
    kept = KeptFrames.at(selection.kept, clip.sfc, clip.sfc.scores)
    same_as_run = strategy == "sfc" and selection.kept == clip.sfc.kept.positions
    result = replace(clip.sfc, kept=kept, probabilities=probabilities,
                     attention=clip.sfc.attention if same_as_run else None)
    label = (short_name(strategy) + (f" (seed {seed})" if strategy == "random" else "")
             + ("" if strategy == "manual" else f", keep {len(kept.positions)}"))
    clip.tried[label] = answer(probabilities, clip.sfc.labels, clip.truth_class)
    comparison = comparison_figure(clip)
    report = {
        "strategy": strategy,
        "keep": len(kept.positions),
        "kept_positions": kept.positions,
        "kept_frames": kept.frame_indices,
        "kept_timestamps_s": [round(t, 3) for t in kept.timestamps_s],
        "top5": [[name, p] for name, p in result.top(5)],
        "time_s": elapsed,
        "seed": seed if strategy == "random" else None,
        "note": (f"random draw with seed {seed}: enter it as the seed to draw the same moments again"
                 if strategy == "random" else _scorer_only_note(recognizer.sfc, strategy, len(kept.positions))),
    }
    return Exploration(result, label, comparison, report)
