"""PyTorch against the OpenVINO backend on a CPU, dense sampling and SFC side by side.

    python -m scripts.openvino_report

Per model (the embedded one with its shipped weights and trained SFC; X3D-S, R(2+1)D-18 and
SlowOnly-R50 with random weights and their training-free SFC) and per backend (PyTorch f32, OpenVINO f32,
OpenVINO bf16 where the CPU computes bf16 natively; and OpenVINO f32 with SFC's head in one pass,
`head_budget_mb=None`, one compiled graph over the long clip instead of one per step of a few frames): one
`model.predict(clip, mode="both")` at the defaults (dense 30 views one at a time, SFC L=64) on the clip
of the committed Kinetics benchmark (`scripts.make_bench_clip`, 10 s, 640x272), each configuration in a
fresh process. Recorded: model time
(median of the timed repeats), the wall time of the process's first request (both modes, timed once:
for OpenVINO it converts and compiles every graph), peak memory of one request after the warm-up, FLOPs, the dense / SFC
ratios, top-1 and kept positions against the PyTorch run (with the largest difference in probabilities or
scores beside the margin PyTorch's own answer had: a near tie flips on float rounding), and the process's
resident memory after the run above the loaded model (what a backend keeps between requests: OpenVINO's
compiled graphs and buffers). Writes
benchmarks/openvino-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench_reports import BENCHMARKS, REPORTS, bench_clip
from sfc_core import openvino_backend
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


def run_one(clip: str, model_name: str, backend: str, precision: str, head: str) -> dict:
    """One configuration, in this (fresh) process; `head`: "chunks" (the default) or "one-pass"."""
    from sfc_core import hub

    model = hub.load(model_name, backbone=hub.AUTO if model_name == "tiny" else hub.RANDOM)
    if head == "one-pass":
        model = model.replace(head_budget_mb=None)
    loaded = _resident_bytes()
    started = time.perf_counter()
    model.predict(clip, mode="both", measure="time", repeats=1, backend=backend, precision=precision)
    first_request_s = time.perf_counter() - started  # with OpenVINO: every graph converted and compiled
    report = model.predict(clip, mode="both", repeats=REPEATS, backend=backend, precision=precision)
    row = {"model": model_name, "backend": backend, "precision": precision, "head": head,
           "head_chunk_frames": model.settings.head_chunk_frames, "first_request_s": first_request_s,
           "sfc_kind": report.provenance["sfc"].kind, "resident_after_bytes": _resident_bytes() - loaded}
    for mode in ("dense", "sfc"):
        result = getattr(report, mode)
        row[mode] = {"model_time_s": result.measurement.model_time_s,
                     "model_times_s": list(result.measurement.model_times_s),
                     "peak_memory_bytes": result.measurement.peak_memory_bytes,
                     "flops": result.measurement.flops,
                     "top1": int(result.probabilities.argmax()),
                     "probabilities": result.probabilities.tolist(),
                     "kept": result.kept.positions if mode == "sfc" else None,
                     "scores": result.scores}
    row["ratios"] = report.ratios
    return row


def configurations() -> list[tuple[str, str, str]]:
    chosen = [("torch", "fp32", "chunks"), ("openvino", "fp32", "chunks"), ("openvino", "fp32", "one-pass")]
    return chosen + ([("openvino", "bf16", "chunks")] if openvino_backend.bf16_native() else [])


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        clip = bench_clip(Path(scratch))
        for model in MODELS:
            for backend, precision, head in configurations():
                out = subprocess.run([sys.executable, "-m", "scripts.openvino_report", "--one", str(clip), model,
                                      backend, precision, head], check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print({k: rows[-1][k] for k in ("model", "backend", "precision", "head", "ratios")}, flush=True)
    compare_with_pytorch(rows)
    width, height, seconds = REPORTS["kinetics"]["clip"]
    result = {"command": "python -m scripts.openvino_report", "environment": environment(),
              "clip": f"{width}x{height}, {seconds} s (scripts.make_bench_clip)", "repeats": REPEATS,
              "bf16_native": openvino_backend.bf16_native(), "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def _margin(values: list[float], rank: int) -> float:
    """The gap between the `rank`-th and the next largest value: how far apart the reference's choice is."""
    ordered = sorted(values, reverse=True)
    return ordered[rank - 1] - ordered[rank] if rank < len(ordered) else float("inf")


def compare_with_pytorch(rows: list[dict]) -> None:
    """Per row and mode, how far the backend's numbers are from PyTorch's, next to the margin PyTorch's own
    answer had: each value moving by at most the difference moves a gap by at most twice that, so a
    different top-1 or kept position is a near tie decided by rounding when twice the difference reaches
    the margin (random weights put the Kinetics models' 400 classes within ~1e-4 of each other). The full
    probability vectors are dropped after."""
    base = {row["model"]: row for row in rows if row["backend"] == "torch"}
    for row in rows:
        ref = base[row["model"]]
        for mode in ("dense", "sfc"):
            mine, theirs = row[mode], ref[mode]
            mine["max_probability_difference"] = max(
                abs(a - b) for a, b in zip(mine["probabilities"], theirs["probabilities"]))
            mine["pytorch_top1_margin"] = _margin(theirs["probabilities"], 1)
        sfc, ref_sfc = row["sfc"], ref["sfc"]
        sfc["max_score_difference"] = max(abs(a - b) for a, b in zip(sfc["scores"], ref_sfc["scores"]))
        sfc["pytorch_keep_margin"] = _margin(ref_sfc["scores"], len(ref_sfc["kept"]))
    for row in rows:
        for mode in ("dense", "sfc"):
            del row[mode]["probabilities"]


def _against_pytorch(row: dict, ref: dict) -> str:
    """"same" or the difference against PyTorch's margin, for the top-1 of both modes and the kept positions."""
    def one(same: bool, difference: float, margin: float) -> str:
        if same:
            return "same"
        verdict = "a near tie" if 2 * difference >= margin else "NOT explained by rounding"
        return f"differs: {verdict} (2 x {difference:.1e} vs margin {margin:.1e})"

    dense, sfc = row["dense"], row["sfc"]
    return " / ".join([
        one(dense["top1"] == ref["dense"]["top1"], dense["max_probability_difference"], dense["pytorch_top1_margin"]),
        one(sfc["top1"] == ref["sfc"]["top1"], sfc["max_probability_difference"], sfc["pytorch_top1_margin"]),
        one(sfc["kept"] == ref["sfc"]["kept"], sfc["max_score_difference"], sfc["pytorch_keep_margin"])])


def to_markdown(result: dict) -> str:
    env = result["environment"]
    lines = ["# PyTorch and OpenVINO on a CPU: dense sampling and SFC", "",
             f"Clip: {result['clip']}; on {env['cpu']} ({env['cpu_cores']} cores, {env['torch_threads']} threads "
             f"for both backends), torch {env['torch']}. Each row: `model.predict(clip, mode=\"both\", "
             f"backend=..., precision=...)` at the defaults (dense 30 views one at a time, SFC L=64) in a fresh "
             f"process (*head in one pass*: `head_budget_mb=None`, SFC's head one compiled graph over the long clip "
             f"instead of a compiled graph per step of a few frames; X3D-S: per part of each step); first request: "
             f"the wall time of the process's "
             f"first `predict` (both modes, timed once; with "
             f"OpenVINO it converts and compiles every graph, once per loaded model); model time the median of "
             f"{result['repeats']} timed repeats of a second request, after its warm-up; peak memory: "
             f"one request after the warm-up; kept: MiB the process holds after the run above the loaded model "
             f"(OpenVINO's compiled graphs and buffers). Kinetics models: random weights (cost only), training-free "
             f"SFC; the embedded model: its trained SFC. *Against PyTorch*: \"same\", or the largest difference in "
             f"probabilities (top-1) or position scores (kept) beside PyTorch's own margin (top-1 minus second; the "
             f"K-th score minus the next): when twice the difference reaches that margin, rounding alone can decide "
             f"the near tie the other way. Regenerate: `{result['command']}`.", "", *table(result), "",
             bf16_note(result)]
    return "\n".join(lines) + "\n"


def bf16_note(result: dict) -> str:
    return ("OpenVINO bf16 ran: this CPU computes bf16 natively." if result["bf16_native"] else
            "OpenVINO bf16 was not measured: this CPU has no native bf16 (AVX-512 bf16 or AMX), where the backend "
            "refuses `--precision bf16` in one line.")


def _configuration(row: dict) -> str:
    return f"{row['backend']} {row['precision']}" + (", head in one pass" if row["head"] == "one-pass" else "")


def pytorch_rows(result: dict) -> dict[str, dict]:
    """Each model's PyTorch row: what every row's speed-up is measured against."""
    return {row["model"]: row for row in result["rows"] if row["backend"] == "torch"}


def speed_up(row: dict, reference: dict, mode: str) -> float:
    """How many times faster `row` ran `mode` ("dense" or "sfc") than the PyTorch row `reference`."""
    return reference[mode]["model_time_s"] / row[mode]["model_time_s"]


def table(result: dict) -> list[str]:
    """The report's table (report.md and README show the same one)."""
    lines = ["| model | backend | dense time (s) | SFC time (s) | speed-up over PyTorch (dense / SFC) | "
             "dense / SFC time | FLOPs ratio | time / FLOPs ratio | dense / SFC peak (MiB) | memory ratio | "
             "kept (MiB) | first request (s) | against PyTorch: top-1 dense / top-1 SFC / kept positions |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = pytorch_rows(result)
    for row in result["rows"]:
        ref, ratios = base[row["model"]], row["ratios"]
        dense, sfc = row["dense"], row["sfc"]
        speedup = f"{speed_up(row, ref, 'dense'):.2f}x / {speed_up(row, ref, 'sfc'):.2f}x"
        lines.append(
            f"| {row['model']} | {_configuration(row)} | {dense['model_time_s']:.3f} | "
            f"{sfc['model_time_s']:.3f} | {speedup} | {ratios['time']:.2f}x | {ratios['flops']:.2f}x | "
            f"{ratios['time'] / ratios['flops']:.2f} | {dense['peak_memory_bytes'] / MIB:.0f} / "
            f"{sfc['peak_memory_bytes'] / MIB:.0f} | {ratios['memory']:.2f}x | "
            f"{row['resident_after_bytes'] / MIB:.0f} | {row['first_request_s']:.1f} | {_against_pytorch(row, ref)} |")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run_one(*sys.argv[2:7])))
    else:
        main()
