"""Corpus throughput of `sfc-batch`: videos per second, SFC vs dense, local engine vs Ray with 1 and 2
model workers, on generated SynthActions clips enlarged to 640x480 (the size and decoding cost of
ordinary videos). Reproducible from the repo root:

    python -m scripts.bench_batch [--clips 24] [--kinetics-clips 6] [--out benchmarks/batch-cpu-2core]

Every run is the `sfc-batch` command a user types, in a fresh process, timed from start to exit
(model load and, for Ray, starting a local Ray instance included), then run again on the finished
table (the rerun cost). The same command on one video gives the fixed cost of a run; the steady
rate is the rest of the videos over the rest of the time. The embedded model's rows are also scored
against the clips' ground truth.
A Kinetics-400 backbone with random weights (R(2+1)D-18: timing only) shows the cost of a real-size
model on the local engine. Writes report.json and report.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sfc_core import synth
from sfc_core.corpus.tables import open_table
from sfc_core.device import describe, pick_device
from sfc_core.environment import environment

ROOT = Path(__file__).resolve().parents[1]
SEED = 300  # neither a training nor an evaluation seed
SCALE = 5  # 128x96 -> 640x480


def _run(corpus: Path, out: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "sfc_core.cli.batch", str(corpus), "--out", str(out), *extra]
    begin = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def _accuracy(out: Path, labels: dict[str, str], column: str) -> float | None:
    rows = open_table(out).rows().values()
    scored = [row[column] == labels[Path(row["file"]).name] for row in rows if row[column] is not None]
    return sum(scored) / len(scored) if scored else None


def measure(corpus: Path, count: int, work: Path, name: str, model: list[str], mode: str, engine: list[str],
            labels: dict[str, str] | None) -> dict:
    out = work / f"{name}.jsonl"
    one = _run(next(corpus.glob("*.mp4")), work / f"{name}-one.jsonl", [*model, "--mode", mode, *engine])
    seconds = _run(corpus, out, [*model, "--mode", mode, *engine])
    rerun = _run(corpus, out, [*model, "--mode", mode, *engine])
    rows = list(open_table(out).rows().values())
    assert len(rows) == count and all(row["status"] == "ok" for row in rows), f"{name}: not every video classified"
    column = "sfc_top1" if mode == "sfc" else "dense_top1"
    return {
        "run": name, "mode": mode, "command_args": [*model, "--mode", mode, *engine], "videos": count,
        "wall_s": round(seconds, 2), "videos_per_s": round(count / seconds, 3), "one_video_s": round(one, 2),
        "steady_videos_per_s": round((count - 1) / (seconds - one), 3) if seconds > one else None,
        "model_time_s_mean": round(sum(row["model_time_s"] for row in rows) / count, 4),
        "rerun_s": round(rerun, 2), "top1": _accuracy(out, labels, column) if labels else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--kinetics-clips", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "batch-cpu-2core")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        corpus = work / "corpus"
        synth.write_dataset(corpus, args.clips, SEED, scale=SCALE)
        with open(corpus / "labels.csv") as handle:
            labels = {row["file"]: row["label"] for row in csv.DictReader(handle)}
        small = work / "kinetics"
        small.mkdir()
        for path in sorted(corpus.glob("*.mp4"))[: args.kinetics_clips]:
            os.link(path, small / path.name)
        tiny, kinetics = ["--model", "tiny"], ["--model", "r2plus1d_18", "--random-weights"]
        engines = {"local": ["--engine", "local"], "ray-1": ["--engine", "ray", "--workers", "1"],
                   "ray-2": ["--engine", "ray", "--workers", "2"]}
        runs = []
        for mode in ("sfc", "dense"):
            for engine, flags in engines.items():
                runs.append(measure(corpus, args.clips, work, f"tiny-{mode}-{engine}", tiny, mode, flags, labels))
                print(runs[-1], flush=True)
            runs.append(measure(small, args.kinetics_clips, work, f"r2plus1d_18-{mode}-local", kinetics, mode,
                                engines["local"], None))
            print(runs[-1], flush=True)
    report = {
        "command": shlex.join(["python", "-m", "scripts.bench_batch", *sys.argv[1:]]),
        "environment": environment(),
        "machine": describe(pick_device("cpu")),
        "cpus": os.cpu_count(),
        "corpus": {"generator": "SynthActions", "seed": SEED, "size": f"{128 * SCALE}x{96 * SCALE}",
                   "clips": args.clips, "kinetics_clips": args.kinetics_clips, "frames": "96-160 at 25 fps"},
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    (args.out / "report.md").write_text(to_markdown(report))
    print(to_markdown(report))


def to_markdown(report: dict) -> str:
    lines = [
        f"# sfc-batch throughput on {report['machine']} ({report['cpus']} CPUs)", "",
        f"Corpus: {report['corpus']['clips']} SynthActions clips (seed {report['corpus']['seed']}), "
        f"{report['corpus']['size']}, {report['corpus']['frames']}. Wall time of the whole command in a fresh "
        "process (model load and Ray start included); one video: the same command on one video (the fixed "
        "cost of a run); steady: the other videos over the other seconds; rerun: the same command on the "
        f"finished table. Regenerate: `{report['command']}`.", "",
        "| run | videos | wall | videos/s | one video | steady videos/s | model time / video | rerun | top-1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        top1 = f"{run['top1']:.3f}" if run["top1"] is not None else "(random weights)"
        steady = f"{run['steady_videos_per_s']:.2f}" if run["steady_videos_per_s"] else "n/a"
        lines.append(f"| {run['run']} | {run['videos']} | {run['wall_s']:.1f} s | {run['videos_per_s']:.2f} | "
                     f"{run['one_video_s']:.1f} s | {steady} | {run['model_time_s_mean']:.3f} s | "
                     f"{run['rerun_s']:.1f} s | {top1} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
