"""A class of 30 at once, on this machine: the served app (embedded model, its defaults, one analysis at a
time as on a 2-core Space) called through gradio_client by 30 users together.

    python -m scripts.classroom_report

1. 30 users analyse the same bundled example at once: time until the last has its result, and how many
   were served from the cache (identical requests are computed once).
2. 30 users analyse 30 different clips at once (SynthActions, seed 4242, at the examples' size): time
   until the last result, and the peak memory above idle (RSS high-water mark) of the one process that
   holds the server and the 30 clients.
3. A lesson in one process: 20 `/analyze` (the 4 examples in turn, cache off so each computes) and 100
   `/explore` calls; resident memory after the warm-up round (4 analyses, 20 explores) and at the end.
Writes benchmarks/classroom-cpu-2core/report.json and report.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from gradio_client import Client, handle_file

from app.config import LIMITS
from app.ui import build_demo
from scripts.bench_reports import BENCHMARKS
from sfc_core import synth
from sfc_core.environment import environment
from sfc_core.profiling import current_rss_bytes, release_memory, reset_rss_high_water, rss_high_water_bytes
from sfc_core.resources import EXAMPLES_DIR

OUT = BENCHMARKS / "classroom-cpu-2core"
USERS = 30
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.mp4"))
STRATEGIES = ("uniform", "random", "change", "energy", "sfc")


def _served(**limits):
    demo = build_demo(replace(LIMITS, concurrency=1, **limits))
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    return demo, url


def _settled_rss() -> int:
    time.sleep(1)
    release_memory(torch.device("cpu"))
    return current_rss_bytes()


def class_at_once(url: str, clips: list[Path]) -> dict:
    """Every user submits at once; returns the time until the last result and the cache hits."""
    begin = time.perf_counter()
    jobs = [Client(url, verbose=False).submit(handle_file(str(clip)), api_name="/analyze") for clip in clips]
    reports = [job.result(timeout=1800)[-1] for job in jobs]
    return {"users": len(clips), "last_result_s": time.perf_counter() - begin,
            "from_cache": sum(report["cache"] == "hit" for report in reports),
            "answers": len({json.dumps(report["sfc"]["top5"]) for report in reports})}


def different_clips(directory: Path) -> dict:
    specs = synth.write_dataset(directory, USERS, seed=4242)
    clips = [synth.clip_path(directory, spec) for spec in specs]
    demo, url = _served()
    try:
        Client(url, verbose=False).predict(handle_file(str(EXAMPLES[0])), api_name="/analyze")  # load the model
        idle = _settled_rss()
        reset_rss_high_water()
        row = class_at_once(url, clips)
        row["peak_memory_above_idle_bytes"] = rss_high_water_bytes() - idle
    finally:
        demo.close()
    return row


def lesson() -> dict:
    demo, url = _served(cache_entries=0)
    try:
        client = Client(url, verbose=False)

        def round_of(analyses: int, explores_each: int) -> None:
            for number in range(analyses):
                client.predict(handle_file(str(EXAMPLES[number % len(EXAMPLES)])), api_name="/analyze")
                for turn in range(explores_each):
                    client.predict(STRATEGIES[turn % len(STRATEGIES)], 4 + turn % 4, "", api_name="/explore")

        round_of(4, 5)  # warm-up: every example, every strategy
        warm = _settled_rss()
        round_of(16, 5)
        end = _settled_rss()
    finally:
        demo.close()
    return {"analyses": 20, "explores": 100, "rss_after_warmup_bytes": warm, "rss_at_end_bytes": end,
            "growth_bytes": end - warm}


def main() -> None:
    demo, url = _served()
    try:
        same = class_at_once(url, [EXAMPLES_DIR / "grow.mp4"] * USERS)
    finally:
        demo.close()
    print("same clip", same, flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        different = different_clips(Path(scratch))
    print("different clips", different, flush=True)
    soak = lesson()
    print("lesson", soak, flush=True)
    result = {"command": "python -m scripts.classroom_report", "environment": environment(),
              "settings": "embedded model, the app's defaults, one analysis at a time (SFC_CONCURRENCY=1)",
              "same_clip": same, "different_clips": different, "lesson": soak}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def to_markdown(result: dict) -> str:
    env, same, different, soak = (result[k] for k in ("environment", "same_clip", "different_clips", "lesson"))
    mib = 2**20
    return "\n".join([
        "# A class of 30 at once", "",
        f"The served app ({result['settings']}) called through gradio_client, on {env['cpu']} "
        f"({env['cpu_cores']} cores). Regenerate: `{result['command']}`.", "",
        "| what | users | last result after | served from the cache | memory (server and clients, one process) |",
        "|---|---|---|---|---|",
        f"| the same bundled example | {same['users']} | {same['last_result_s']:.0f} s | {same['from_cache']} | - |",
        f"| 30 different clips | {different['users']} | {different['last_result_s']:.0f} s | "
        f"{different['from_cache']} | peak {different['peak_memory_above_idle_bytes'] / mib:.0f} MiB above idle |",
        "",
        f"A lesson in one server process ({soak['analyses']} analyses, {soak['explores']} explorer answers): resident "
        f"memory {soak['rss_after_warmup_bytes'] / mib:.0f} MiB after the warm-up round, "
        f"{soak['rss_at_end_bytes'] / mib:.0f} MiB at the end ({soak['growth_bytes'] / mib:+.0f} MiB).", ""])


if __name__ == "__main__":
    main()
