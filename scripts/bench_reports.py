"""Regenerate a committed `sfc-bench` report, inputs included, from a fresh checkout.

    python -m scripts.bench_reports kinetics   # SlowOnly-R50 and R(2+1)D-18, random weights, 10 s 640x272 clip
    python -m scripts.bench_reports tiny       # the embedded model, 3 SynthActions clips
    python -m scripts.bench_reports gpu        # the kinetics report's models and clip on a CUDA GPU

`kinetics` first writes its clip with `scripts.make_bench_clip` (into a temporary folder), so the
report's one input is made by committed code. Each report records this command and the environment.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from scripts.make_bench_clip import write_bench_clip
from sfc_core import hub
from sfc_core.bench import benchmark

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
REPORTS = {
    "kinetics": {"models": ["slowonly_r50", "r2plus1d_18"], "clip": (640, 272, 10), "backbone": hub.RANDOM,
                 "out": "cpu-2core-kinetics"},
    # a model this small varies by up to 1.5x in time from one process to the next: medians over 3
    "tiny": {"models": ["tiny"], "clip": None, "backbone": hub.AUTO, "out": "cpu-2core-tiny", "processes": 3},
    "gpu": {"models": ["slowonly_r50", "r2plus1d_18"], "clip": (640, 272, 10), "backbone": hub.RANDOM,
            "out": "gpu-kinetics", "device": "cuda"},
}


def bench_clip(directory: Path, report: str = "kinetics") -> Path:
    """Write `report`'s clip into `directory`."""
    width, height, seconds = REPORTS[report]["clip"]
    return write_bench_clip(directory / f"street_{width}x{height}_{seconds}s.mp4", width, height, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", choices=REPORTS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = REPORTS[args.report]
    command = f"python -m scripts.bench_reports {args.report}" + (
        f" --repeats {args.repeats}" if args.repeats != 3 else "")
    with tempfile.TemporaryDirectory() as scratch:
        videos = [bench_clip(Path(scratch), args.report)] if spec["clip"] else []
        benchmark(spec["models"], videos, repeats=args.repeats, backbone=spec["backbone"], device=spec.get("device"),
                  out=BENCHMARKS / spec["out"], command=command, processes=spec.get("processes", 1))


if __name__ == "__main__":
    main()
