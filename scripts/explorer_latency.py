"""How long the app's explorer takes to answer, per strategy: the `/explore` callback (selection + tail
on the stored head output, the timeline, thumbnails and comparison figures) plus drawing its figures to
PNG as Gradio does. The embedded model on a bundled example, and SlowOnly-R50 with random weights
(its published weights are a download; time does not depend on the weights). Reproducible from the repo
root:

    python -m scripts.explorer_latency [--repeats 5]

Writes benchmarks/explorer-cpu-2core/report.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

from app import analysis, ui
from app.session import Clip, Settings
from sfc_core import explain, hub
from sfc_core.device import describe, pick_device
from sfc_core.environment import environment
from sfc_core.examples import bundled_example
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.selection import STRATEGIES

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "explorer-cpu-2core"
EXAMPLE = EXAMPLES_DIR / "rotate_clockwise.mp4"


def _clip(name: str, settings: Settings) -> tuple[Clip, hub.SFCModel]:
    """What `analyze` leaves in the session, without dense's 30 views (the explorer never runs them)."""
    model = (analysis.model_for(settings) if name == "tiny"
             else hub.load(name, hub.RANDOM, f"{hub.TRAINING_FREE}change", device="cpu"))
    recognizer = model.sfc_recognizer(measure="time")
    sfc = recognizer(EXAMPLE)
    dense = model.dense_recognizer(clips=1, crops=1, measure="time")(EXAMPLE)
    cams = explain.gradcam(recognizer.tail, sfc)
    return Clip(settings, recognizer.head_features(EXAMPLE), sfc, dense, cams, bundled_example(EXAMPLE)), model


def _time_answers(clip: Clip, model: hub.SFCModel, repeats: int) -> dict[str, dict[str, float]]:
    rows = {}
    ui.model_for = lambda settings: model  # the app looks the model up by settings; here it is given
    for strategy in STRATEGIES:
        frames = ", ".join(str(f) for f in clip.sfc.position_frames[3:9]) if strategy == "manual" else ""
        selection, total = [], []
        for _ in range(repeats):
            begin = time.perf_counter()
            timeline, thumbnails, top5, comparison, answer = ui.run_explore(strategy, 8, frames, clip=clip)
            for figure in (timeline, comparison):
                figure.savefig(io.BytesIO(), format="png")
            total.append(time.perf_counter() - begin)
            selection.append(answer["time_s"])
        rows[strategy] = {"selection_and_tail_s": statistics.median(selection), "response_s": statistics.median(total)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report = {"command": shlex.join(["python", "-m", "scripts.explorer_latency", *sys.argv[1:]]),
              "environment": environment(), "device": describe(pick_device()), "example": EXAMPLE.name,
              "repeats": args.repeats, "models": {}}
    for name in ("tiny", "slowonly_r50"):
        clip, model = _clip(name, Settings(model=name))
        report["models"][name] = {"head_positions": clip.features.shape[2], "strategies": _time_answers(clip, model,
                                                                                                       args.repeats)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1))
    lines = ["# Explorer response times", "", f"Measured on {report['device']}, {EXAMPLE.name}, median of "
             f"{args.repeats}; `{report['command']}`. SlowOnly-R50 with random weights and its "
             "training-free SFC (what the app runs for it).", "",
             "| model | strategy | selection + tail (s) | whole response (s) |", "|---|---|---|---|"]
    for name, data in report["models"].items():
        for strategy, row in data["strategies"].items():
            lines.append(f"| {name} | {strategy} | {row['selection_and_tail_s']:.3f} | {row['response_s']:.3f} |")
    (OUT / "report.md").write_text("\n".join(lines) + "\n")
    print((OUT / "report.md").read_text())


if __name__ == "__main__":
    main()
