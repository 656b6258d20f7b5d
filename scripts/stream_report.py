"""SFC over time on this machine: `sfc-stream` on the Kinetics report's clip, next to dense sampling
re-run at every update on the same stream, and the stream's memory on a 20-minute file.

    python -m scripts.stream_report

For each row (the embedded model with its trained SFC; SlowOnly-R50 with random weights, cost only,
training-free `change`, on PyTorch and on OpenVINO f32; SlowOnly-R50 with the untrained learned module):
the stream at its defaults
(8 s window, an update every second) over the 10 s 640x272 clip (`scripts.make_bench_clip`) as fast as
it goes, median of 3 runs: realtime factor, mean and p95 update latency, FLOPs per video second. Dense
sampling at every update is 30 views (one at a time, the CPU's fastest) over the window: its FLOPs are
counted and its time measured, on the row's backend, on the clip's first window cut to a file of its
own. Memory: the peak of the whole stream (`profiling.PeakMemory`) on the 10 s clip, and for the embedded
model on 1- and 20-minute files (`tests.input_cases.moving_frames`), to show it does not grow with the
stream. Ceiling: the realtime factor if every FLOP the stream counts ran at the rate of a 2048x2048
float32 matrix product on this CPU (`matmul_flops_per_s`, best of 5, measured in the same run), decoding
left out: roughly how far a faster float32 implementation could go; an estimate, not a hard limit.
Writes benchmarks/stream-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import sfc_core
from scripts.bench_reports import BENCHMARKS, REPORTS, bench_clip
from sfc_core.environment import environment
from sfc_core.profiling import PeakMemory
from sfc_core.streaming import DEFAULT_WINDOW_S, Streamer, open_source
from sfc_core.video import cut, probe
from tests.clips import write_frames
from tests.input_cases import moving_frames

OUT = BENCHMARKS / "stream-cpu-2core"
RUNS = 3
SLOWONLY = {"name": "slowonly_r50", "backbone": "random"}
ROWS = {  # row -> (load arguments, backend)
    "tiny (embedded, trained SFC)": ({"name": "tiny"}, "torch"),
    "slowonly_r50 (random weights, training-free change)": (SLOWONLY, "torch"),
    "slowonly_r50 (random weights, training-free change), OpenVINO f32": (SLOWONLY, "openvino"),
    "slowonly_r50 (random weights, untrained learned SFC)": (SLOWONLY | {"sfc": "untrained"}, "torch"),
}


def stream_once(model: sfc_core.SFCModel, video: Path, backend: str = "torch",
                memory: bool = False) -> tuple[list, dict, int | None]:
    streamer = Streamer(model, backend=backend)
    source = open_source(video, model, DEFAULT_WINDOW_S)
    if not memory:
        return list(streamer.run(source)), streamer.summary().to_dict()["summary"], None
    with PeakMemory(model.device) as peak:
        updates = list(streamer.run(source))
    return updates, streamer.summary().to_dict()["summary"], peak.peak_bytes


def first_window(video: Path, directory: Path) -> Path:
    """The clip's first window as a file of its own: what dense sampling re-runs at an update."""
    info = probe(video)
    return cut(video, 0, min(info.num_frames, round(DEFAULT_WINDOW_S * info.fps)), directory / "window.mp4")


def row(model: sfc_core.SFCModel, backend: str, clip: Path, window: Path) -> dict:
    """The stream's figures, and dense sampling's on the same backend. With OpenVINO a first stream and a
    first dense request compile the networks (not timed: a deployment pays it once)."""
    if backend != "torch":
        stream_once(model, clip, backend)
        model.predict(window, mode="dense", measure="time", backend=backend)
    runs = [stream_once(model, clip, backend) for _ in range(RUNS)]
    summaries = [summary for _, summary, _ in runs]
    updates, summary, peak = stream_once(model, clip, backend, memory=True)
    dense = model.predict(window, mode="dense", measure="time", repeats=RUNS, backend=backend).dense
    median = {key: statistics.median(s[key] for s in summaries)
              for key in ("realtime_factor", "mean_latency_s", "p95_latency_s", "wall_s")}
    per_update = dense.measurement.model_time_s
    return {
        **median,
        "updates": summary["updates"], "video_s": summary["video_s"], "frames": summary["frames"],
        "flops_per_video_s": summary["flops_per_video_s"],
        "dense_flops_per_video_s": summary["dense_flops_per_video_s"],
        "peak_memory_bytes": peak,
        "dense_time_per_update_s": per_update,
        "dense_realtime_factor": summary["video_s"] / (per_update * summary["updates"]),
        "backend": backend,
        "head_chunk_frames": model.settings.head_chunk_frames,
        "chunkable": model.geometry.chunkable,
    }


def best_time(fn: Callable[[], object], runs: int = 5) -> float:
    """Best of `runs` timed calls after one warm-up: the least disturbed by other work on the machine."""
    fn()
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def matmul_flops_per_s(size: int = 2048, repeats: int = 5) -> float:
    """The FLOP rate of a large float32 matrix product (PyTorch's), best of `repeats`: convolutions seldom
    run faster on a CPU."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_time(lambda: a @ b, repeats)


def long_memory(model: sfc_core.SFCModel, directory: Path) -> dict:
    """Peak memory of the embedded model's stream on 1- and 20-minute files (10 fps, 160x120)."""
    peaks = {}
    for minutes in (1, 20):
        video = write_frames(directory / f"{minutes}min.mp4", moving_frames(minutes * 600, 160, 120), fps=10,
                             options={"crf": "30", "g": "250"})
        _, summary, peak = stream_once(model, video, memory=True)
        peaks[f"{minutes}_min"] = {"peak_memory_bytes": peak, "updates": summary["updates"],
                                   "realtime_factor": summary["realtime_factor"]}
        print(minutes, peaks[f"{minutes}_min"], flush=True)
    return peaks


def main() -> None:
    rows, matmul = {}, matmul_flops_per_s()
    with tempfile.TemporaryDirectory() as scratch:
        clip = bench_clip(Path(scratch))
        window = first_window(clip, Path(scratch))
        for name, (arguments, backend) in ROWS.items():
            model = sfc_core.load(**arguments, device="cpu")
            rows[name] = row(model, backend, clip, window)
            print(name, rows[name], flush=True)
        long = long_memory(sfc_core.load("tiny", device="cpu"), Path(scratch))
    width, height, seconds = REPORTS["kinetics"]["clip"]
    result = {"command": "python -m scripts.stream_report", "environment": environment(),
              "clip": f"{width}x{height}, {seconds} s (scripts.make_bench_clip)", "window_s": DEFAULT_WINDOW_S,
              "every_s": 1.0, "runs": RUNS, "rows": rows, "long_stream_memory": long,
              "matmul_flops_per_s": matmul}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def table(result: dict) -> list[str]:
    """The report's table (report.md and README show the same one)."""
    lines = ["| model | realtime factor | latency mean / p95 | GFLOPs per video second | dense GFLOPs per video "
             "second | dense time per update | dense realtime factor | stream peak memory | ceiling at the "
             "matmul rate |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["rows"].items():
        times_dense = r["dense_flops_per_video_s"] / r["flops_per_video_s"]
        ceiling = result["matmul_flops_per_s"] / r["flops_per_video_s"]
        lines.append(
            f"| {name} | {r['realtime_factor']:.1f}x | {r['mean_latency_s'] * 1000:.0f} / "
            f"{r['p95_latency_s'] * 1000:.0f} ms | {r['flops_per_video_s'] / 1e9:.1f} | "
            f"{r['dense_flops_per_video_s'] / 1e9:.0f} ({times_dense:.0f}x) | "
            f"{r['dense_time_per_update_s']:.2f} s | {r['dense_realtime_factor']:.2f}x | "
            f"{r['peak_memory_bytes'] / 2**20:.0f} MiB | {ceiling:.1f}x |")
    return lines


def ceiling_note(result: dict) -> str:
    """What the ceiling column means, with the rate it was computed from."""
    return ("Ceiling: the realtime factor if every counted FLOP ran at the rate of a 2048x2048 float32 matrix "
            f"product on this CPU (PyTorch, best of 5: {result['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s in the "
            "same run), decoding left out; an estimate, not a hard limit.")


def to_markdown(result: dict) -> str:
    env = result["environment"]
    lines = ["# SFC over time: `sfc-stream` vs dense sampling re-run at every update", "",
             f"Clip: {result['clip']}; window {result['window_s']:.0f} s, an update every {result['every_s']:.0f} s; "
             f"as fast as it goes, median of {result['runs']} runs, on {env['cpu']} ({env['cpu_cores']} cores). "
             f"Dense: 30 views over the window, one at a time, on the row's backend (PyTorch unless it says OpenVINO). "
             f"{ceiling_note(result)} Regenerate: `{result['command']}`.", "",
             *table(result)]
    long = result["long_stream_memory"]
    short_mib = long["1_min"]["peak_memory_bytes"] / 2**20
    long_mib = long["20_min"]["peak_memory_bytes"] / 2**20
    lines += ["", f"The embedded model's stream, peak memory: {short_mib:.0f} MiB over a 1-minute file, "
              f"{long_mib:.0f} MiB over a 20-minute file "
              f"({long['20_min']['updates']} updates, {long['20_min']['realtime_factor']:.0f}x real time)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
