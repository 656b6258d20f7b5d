"""Peak memory as a user sees it: plain `sfc-predict VIDEO --mode both` calls, next to `sfc-bench`.

    python -m scripts.predict_memory

Runs the command a user types (`sfc-predict CLIP --model M [--random-weights] --mode both
--json OUT`), in a fresh process with every MALLOC_* variable removed from its environment, on the clip
of the committed Kinetics benchmark (`scripts.make_bench_clip`, 10 s, 640x272) for SlowOnly-R50,
R(2+1)D-18, X3D-S (random weights: cost only) and the embedded model, and sets the dense / SFC memory ratio
(dense one view at a time, SFC at its defaults) beside the one the committed `sfc-bench` report
measured for the same model, clip and settings (read from it when the table is written). Writes
benchmarks/predict-memory-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.bench_reports import BENCHMARKS, REPORTS, bench_clip
from sfc_core.environment import environment

OUT = BENCHMARKS / "predict-memory-cpu-2core"
BENCH = "cpu-2core-kinetics"  # the committed sfc-bench report on the same clip
MODELS = {  # model -> (extra flags, the bench row that ran the same SFC; None: not benchmarked on this clip)
    "slowonly_r50": (["--random-weights"], "sfc L=64 keep=8 s=1 training-free"),
    "r2plus1d_18": (["--random-weights"], "sfc L=64 keep=8 s=1 training-free"),
    "tiny": ([], None),
    "x3d_s": (["--random-weights"], None),
}


def predict(clip: Path, model: str, flags: list[str], out: Path) -> dict:
    environment_without_malloc = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    subprocess.run([sys.executable, "-m", "sfc_core.cli.predict", str(clip), "--model", model, *flags, "--mode", "both",
                    "--json", str(out)], check=True, env=environment_without_malloc, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def bench_ratio(model: str, row: str | None) -> float | None:
    """Dense one view at a time / SFC peak memory in the committed bench, for `model`'s `row`."""
    if row is None:
        return None
    summary = json.loads((BENCHMARKS / BENCH / "bench.json").read_text())["models"][model]["summary"]
    return next(entry["vs_chunked"]["memory"] for entry in summary if entry["config"] == row)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        clip = bench_clip(Path(scratch))
        width, height, seconds = REPORTS["kinetics"]["clip"]
        for model, (flags, row) in MODELS.items():
            data = predict(clip, model, flags, Path(scratch) / f"{model}.json")
            rows.append({
                "model": model,
                "dense_peak_bytes": data["dense"]["peak_memory_bytes"],
                "sfc_peak_bytes": data["sfc"]["peak_memory_bytes"],
                "memory_ratio": data["ratios"]["memory"],
                "bench_row": row,  # the committed sfc-bench row on the same clip (see bench_ratio)
            })
            print(rows[-1], flush=True)
    result = {"command": "python -m scripts.predict_memory", "environment": environment(),
              "clip": f"{width}x{height}, {seconds} s (scripts.make_bench_clip)", "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def to_markdown(result: dict) -> str:
    lines = ["# Peak memory from a plain `sfc-predict` call", "",
             f"Clip: {result['clip']}. Each row is `sfc-predict CLIP --model M --mode both` in a fresh process with "
             f"no MALLOC_* variable set (dense one view at a time, SFC at its defaults), on "
             f"{result['environment']['cpu']} ({result['environment']['cpu_cores']} cores). Regenerate: "
             f"`{result['command']}`.", "",
             "| model | dense peak (MiB) | SFC peak (MiB) | memory ratio dense / SFC | sfc-bench's ratio, same clip |",
             "|---|---|---|---|---|"]
    for row in result["rows"]:
        ratio = bench_ratio(row["model"], row["bench_row"])
        bench = f"{ratio:.2f}x" if ratio else "(no sfc-bench row)"
        dense_mib, sfc_mib = row["dense_peak_bytes"] / 2**20, row["sfc_peak_bytes"] / 2**20
        lines.append(f"| {row['model']} | {dense_mib:.0f} | {sfc_mib:.0f} | {row['memory_ratio']:.2f}x | {bench} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
