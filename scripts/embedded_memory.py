"""The embedded model against dense sampling, as the app's first visitor sees it: peak memory, where each
peak goes, and model time, on clips from 176x144 to 1280x720 and 4 to 10 s.

    python -m scripts.embedded_memory

Each row is `sfc-predict CLIP --model tiny --mode both --repeats 5 [--training-free change]` in a fresh
process with every MALLOC_* variable removed (the app's defaults: dense one view at a time, 10 clips x 3
crops; SFC at L=64, keep 8), on street-like clips written by `scripts.make_bench_clip` (the 1280x720 one
with an AAC audio track, as phone videos have). Model time is the median of 5 timed calls. Writes
benchmarks/embedded-memory-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

from scripts.bench_reports import BENCHMARKS
from scripts.make_bench_clip import frames, write_bench_clip
from sfc_core.environment import environment

OUT = BENCHMARKS / "embedded-memory-cpu-2core"
CLIPS = [(176, 144, 4, False), (1280, 720, 5, True), (640, 272, 10, False)]  # width, height, seconds, audio
SFCS = {"trained": [], "training-free change": ["--training-free", "change"]}
STAGE_ORDER = ["other", "input", "network", "head", "sfc_module", "tail", "model"]


def write_with_audio(path: Path, width: int, height: int, seconds: float, fps: int = 25, rate: int = 44100) -> Path:
    """The bench clip's pictures with a 440 Hz AAC track beside them."""
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "23"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=rate)
        for image in frames(width, height, seconds, fps):
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        samples = np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate).astype(np.float32)
        for start in range(0, len(samples) - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                container.mux(packet)
    return path


def predict(clip: Path, flags: list[str], out: Path) -> dict:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    subprocess.run([sys.executable, "-m", "sfc_core.cli.predict", str(clip), "--model", "tiny", "--mode", "both",
                    "--repeats", "5", *flags, "--json", str(out)], check=True, env=clean, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for width, height, seconds, audio in CLIPS:
            path = Path(scratch) / f"street_{width}x{height}_{seconds}s.mp4"
            (write_with_audio if audio else write_bench_clip)(path, width, height, seconds)
            for name, flags in SFCS.items():
                data = predict(path, flags, Path(scratch) / "out.json")
                rows.append({"clip": f"{seconds} s, {width}x{height}" + (" with audio" if audio else ""), "sfc": name,
                             **{f"{mode}_{key}": data[mode][key] for mode in ("dense", "sfc")
                                for key in ("peak_memory_bytes", "memory_breakdown", "model_time_s")},
                             "memory_ratio": data["ratios"]["memory"], "time_ratio": data["ratios"]["time"],
                             "flops_ratio": data["ratios"]["flops"]})
                row = rows[-1]
                print(row["clip"], name, f"memory {row['memory_ratio']:.2f}x time {row['time_ratio']:.2f}x", flush=True)
    result = {"command": "python -m scripts.embedded_memory", "environment": environment(), "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def _parts(breakdown: dict[str, int]) -> str:
    return ", ".join(f"{key} {breakdown[key] / 2**20:.1f}" for key in STAGE_ORDER if breakdown.get(key, 0) >= 2**18)


def table(result: dict) -> list[str]:
    """Memory and time, dense beside SFC, a row per clip and SFC; then where each peak goes."""
    lines = ["| clip | SFC | dense peak (MiB) | SFC peak (MiB) | memory dense / SFC | time dense / SFC | "
             "FLOPs dense / SFC |", "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['clip']} | {row['sfc']} | {row['dense_peak_memory_bytes'] / 2**20:.1f} | "
                     f"{row['sfc_peak_memory_bytes'] / 2**20:.1f} | {row['memory_ratio']:.2f}x | "
                     f"{row['time_ratio']:.2f}x | {row['flops_ratio']:.2f}x |")
    lines += ["", "Where each peak goes (MiB held when the memory peaked; parts of 0.25 MiB and more): `input` decoded "
              "and preprocessed frames, `head` the head's activations and its output block by block, `sfc_module` the "
              "SFC module (what it keeps of the head's output, its selection and attention), "
              "`network` dense sampling's network, `other` the rest of the measured peak (the video decoder, "
              "Python objects, allocator slack).", "", "| clip | SFC | dense | SFC |", "|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['clip']} | {row['sfc']} | {_parts(row['dense_memory_breakdown'])} | "
                     f"{_parts(row['sfc_memory_breakdown'])} |")
    return lines


def to_markdown(result: dict) -> str:
    env = result["environment"]
    return "\n".join([
        "# The embedded model: SFC vs dense sampling, memory and time", "",
        f"Each row is `sfc-predict CLIP --model tiny --mode both --repeats 5` in a fresh process (the app's defaults: "
        f"dense 30 views one at a time; SFC L=64, keep 8), on {env['cpu']} ({env['cpu_cores']} cores, torch "
        f"{env['torch']}), {env['date']}. Model time: median of 5. Regenerate: `{result['command']}`.", "",
        *table(result)]) + "\n"


if __name__ == "__main__":
    main()
