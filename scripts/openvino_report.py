"""PyTorch against the OpenVINO backend on a CPU, dense sampling and SFC side by side.

    python -m scripts.openvino_report

Per model (the embedded one with its shipped weights and trained SFC; X3D-S, R(2+1)D-18 and
SlowOnly-R50 with random weights and their training-free SFC) and per backend (PyTorch f32, OpenVINO f32,
OpenVINO bf16 where the CPU computes bf16 natively): one `model.predict(clip, mode="both")` at the
defaults (dense 30 views one at a time, SFC L=64) on the clip of the committed Kinetics benchmark
(`scripts.make_bench_clip`, 10 s, 640x272), each configuration in a fresh process. Recorded: model time
(median of the timed repeats), peak memory of one request after the warm-up, FLOPs, the dense / SFC
ratios, top-1 against the PyTorch run, and the process's resident memory after the run above the loaded
model (what a backend keeps between requests: OpenVINO's compiled graphs and buffers). Writes
benchmarks/openvino-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.bench_reports import BENCHMARKS, REPORTS, bench_clip
from sfc_core.environment import environment

OUT = BENCHMARKS / "openvino-cpu-2core"
MODELS = ["tiny", "x3d_s", "r2plus1d_18", "slowonly_r50"]
REPEATS = 3
MIB = 2**20


def _resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS missing")


def run_one(clip: str, model_name: str, backend: str, precision: str) -> dict:
    """One configuration, in this (fresh) process."""
    from sfc_core import hub

    model = hub.load(model_name, backbone=hub.AUTO if model_name == "tiny" else hub.RANDOM)
    loaded = _resident_bytes()
    report = model.predict(clip, mode="both", repeats=REPEATS, backend=backend, precision=precision)
    row = {"model": model_name, "backend": backend, "precision": precision,
           "sfc_kind": report.provenance["sfc"].kind, "resident_after_bytes": _resident_bytes() - loaded}
    for mode in ("dense", "sfc"):
        result = getattr(report, mode)
        row[mode] = {"model_time_s": result.measurement.model_time_s,
                     "model_times_s": list(result.measurement.model_times_s),
                     "peak_memory_bytes": result.measurement.peak_memory_bytes,
                     "flops": result.measurement.flops,
                     "top1": int(result.probabilities.argmax()),
                     "kept": result.kept.positions if mode == "sfc" else None}
    row["ratios"] = report.ratios
    return row


def configurations() -> list[tuple[str, str]]:
    from sfc_core import openvino_backend

    chosen = [("torch", "fp32"), ("openvino", "fp32")]
    return chosen + ([("openvino", "bf16")] if openvino_backend.bf16_native() else [])


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        clip = bench_clip(Path(scratch))
        for model in MODELS:
            for backend, precision in configurations():
                out = subprocess.run([sys.executable, "-m", "scripts.openvino_report", "--one", str(clip), model,
                                      backend, precision], check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print({k: rows[-1][k] for k in ("model", "backend", "precision", "ratios")}, flush=True)
    width, height, seconds = REPORTS["kinetics"]["clip"]
    result = {"command": "python -m scripts.openvino_report", "environment": environment(),
              "clip": f"{width}x{height}, {seconds} s (scripts.make_bench_clip)", "repeats": REPEATS, "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def to_markdown(result: dict) -> str:
    env = result["environment"]
    lines = ["# PyTorch and OpenVINO on a CPU: dense sampling and SFC", "",
             f"Clip: {result['clip']}; on {env['cpu']} ({env['cpu_cores']} cores, {env['torch_threads']} threads "
             f"for both backends), torch {env['torch']}. Each row: `model.predict(clip, mode=\"both\", "
             f"backend=..., precision=...)` at the defaults (dense 30 views one at a time, SFC L=64) in a fresh "
             f"process; model time the median of {result['repeats']} timed repeats after a warm-up; peak memory: "
             f"one request after the warm-up; kept: MiB the process holds after the run above the loaded model "
             f"(OpenVINO's compiled graphs and buffers). Kinetics models: random weights (cost only), training-free "
             f"SFC; the embedded model: its trained SFC. Regenerate: `{result['command']}`.", "",
             "| model | backend | dense time (s) | SFC time (s) | speed-up over PyTorch (dense / SFC) | "
             "dense / SFC time | FLOPs ratio | time / FLOPs ratio | dense / SFC peak (MiB) | memory ratio | "
             "kept (MiB) | top-1 as PyTorch (dense / SFC) | same kept frames |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = {row["model"]: row for row in result["rows"] if row["backend"] == "torch"}
    for row in result["rows"]:
        ref, ratios = base[row["model"]], row["ratios"]
        dense, sfc = row["dense"], row["sfc"]
        speedup = (f"{ref['dense']['model_time_s'] / dense['model_time_s']:.2f}x / "
                   f"{ref['sfc']['model_time_s'] / sfc['model_time_s']:.2f}x")
        same = ["yes" if row[m]["top1"] == ref[m]["top1"] else "no" for m in ("dense", "sfc")]
        lines.append(
            f"| {row['model']} | {row['backend']} {row['precision']} | {dense['model_time_s']:.3f} | "
            f"{sfc['model_time_s']:.3f} | {speedup} | {ratios['time']:.2f}x | {ratios['flops']:.2f}x | "
            f"{ratios['time'] / ratios['flops']:.2f} | {dense['peak_memory_bytes'] / MIB:.0f} / "
            f"{sfc['peak_memory_bytes'] / MIB:.0f} | {ratios['memory']:.2f}x | "
            f"{row['resident_after_bytes'] / MIB:.0f} | "
            f"{same[0]} / {same[1]} | {'yes' if sfc['kept'] == ref['sfc']['kept'] else 'no'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run_one(*sys.argv[2:6])))
    else:
        main()
