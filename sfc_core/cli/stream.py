"""CLI: SFC over time on a video file or a camera, one streamed pass, an answer every second.

    sfc-stream SOURCE [--model NAME] [model and SFC options as sfc-predict] [--window-s 8] [--every-s 1]
        [--realtime] [--backend torch|openvino] [--jsonl OUT]

SOURCE is a video file or `camera:N`. Frames are sampled at SFC's rate (the long clip's frames per
window), each goes through the head once with carried state, and every `--every-s` seconds SFC keeps
its positions in the last `--window-s` seconds and the tail runs once (see `sfc_core.streaming`).
A line per update on stdout; with `--jsonl`, one JSON object per update and a last `{"summary": ...}`.
Files run as fast as they can unless `--realtime`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..options import add_backend_argument
from ..streaming import DEFAULT_EVERY_S, DEFAULT_WINDOW_S, Streamer, Update, open_source
from . import command_parser, user_errors_exit_2
from .model_args import add_model_arguments, load_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("sfc-stream", __doc__.split("\n\n")[0].removeprefix("CLI: "))
    parser.add_argument("source", help="a video file, or camera:N (e.g. camera:0)")
    add_model_arguments(parser)
    add_backend_argument(parser)
    parser.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S, help="seconds SFC chooses from")
    parser.add_argument("--every-s", type=float, default=DEFAULT_EVERY_S, help="seconds between updates")
    parser.add_argument("--realtime", action="store_true", help="take a file's frames no faster than they play")
    parser.add_argument("--jsonl", type=Path, default=None, help="write every update, then the summary, here")
    return parser


def describe(update: Update, ratio: float) -> str:
    label, probability = update.top5[0]
    start, end = update.window_s
    return (f"t={update.t_s:7.2f} s  window {start:6.2f}-{end:6.2f} s  {label[:28]:28s} {probability:.3f}  "
            f"kept frames {update.kept_frames}  {update.latency_s * 1000:6.1f} ms  dense {ratio:.1f}x the FLOPs")


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    model = load_from_args(args)
    streamer = Streamer(model, args.window_s, args.every_s, backend=args.backend)
    source = open_source(args.source, model, args.window_s)
    out = args.jsonl.open("w") if args.jsonl else None
    try:
        for update in streamer.run(source, realtime=args.realtime):
            print(describe(update, update.dense_flops / update.flops), flush=True)
            if out:
                out.write(json.dumps(update.to_dict()) + "\n")
                out.flush()
        summary = streamer.summary()
        if out:
            out.write(json.dumps(summary.to_dict()) + "\n")
    finally:
        if out:
            out.close()
    for note in summary.notes:
        print(f"note: {note}")
    latency = "" if summary.p95_latency_s is None else (
        f", latency mean {summary.mean_latency_s * 1000:.0f} ms / p95 {summary.p95_latency_s * 1000:.0f} ms")
    print(f"{summary.updates} updates over {summary.video_s:.1f} s of video in {summary.wall_s:.1f} s "
          f"({summary.realtime_factor:.1f}x real time){latency}; FLOPs per video second: SFC "
          f"{summary.flops_per_video_s / 1e9:.2f} G, dense re-run per update "
          f"{summary.dense_flops_per_video_s / 1e9:.2f} G")
    return 0


if __name__ == "__main__":
    sys.exit(main())
