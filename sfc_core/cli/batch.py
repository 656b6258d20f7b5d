"""Classify a video collection: one row per file, written as it finishes, resumable.

    sfc-batch INPUT... --out results.parquet|results.jsonl [--engine local|ray] [--model NAME]
        [--mode sfc|dense|both] [predict's settings] [--retry-errors] [--verify]

INPUT: video files, folders (searched recursively for video files), glob patterns, or manifests
(`.txt`: one path per line; `.csv`: a `file` column; relative paths are relative to the manifest).
Each row: `file`, `size`, `mtime`, `sha256`, `status` ("ok" or "error"), `error` (the one-line message
predict prints), `result` (for ok rows, predict's JSON report as a string), and the columns people
filter on: `sfc_top1`, `sfc_top1_prob`, `dense_top1`, `duration_s`, `model_time_s` (SFC's when SFC
ran, else dense's); with `--over-time`, `over_time`: JSON with the window length (`window_s`) and each
window's answer (`windows`: `window_s`, `top1`, `top1_prob`, `kept_frames`), from one streamed pass.
A bad file is a row with its error, never the end of the run.

Engines: `local` runs the model in this process (on a GPU, `--decoders` threads decode the next videos);
`ray` runs a Ray Data pipeline (decode tasks on CPUs -> a pool of `--workers` model actors, one GPU
each when the cluster has GPUs) on a local Ray instance, or on the cluster at `--address`.
By default each video is timed once (`--measure time`: no warm-up, FLOPs or memory call, which
would triple the work); `--measure full` measures as predict does.

Rows are committed as they finish (see `sfc_core.corpus.tables`), so an interrupted run keeps what
it committed. A rerun with the same `--out` skips every file whose path, size and modification time
(with `--verify`: path and SHA-256 of its content) match a finished row and adds only new rows;
`--retry-errors` runs the failed ones again. At the end the table holds one row per file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from ..corpus.collection import Engine, classify_collection
from ..corpus.inputs import expand_inputs
from ..corpus.local import run_local
from ..corpus.tables import open_table
from ..corpus.work import Job
from ..errors import ConfigError
from ..options import RunOptions, add_run_arguments
from ..streaming import DEFAULT_WINDOW_S
from . import command_parser, user_errors_exit_2
from .model_args import add_model_arguments, load_from_args, load_settings

ENGINES = ("local", "ray")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("sfc-batch", __doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="video files, folders, glob patterns or .txt/.csv manifests")
    parser.add_argument("--out", type=Path, required=True,
                        help="the table: .parquet (a folder of parts; needs pyarrow) or .jsonl; added to, resumable")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--decoders", type=int, default=None,
                        help="local engine: threads decoding the next videos while the model works (default: 2 "
                        "when the model runs on a GPU, none on a CPU, where the model already uses every core)")
    parser.add_argument("--workers", type=int, default=1, help="ray engine: model actors (one GPU each on GPUs)")
    parser.add_argument("--address", default=None,
                        help="ray engine: join the Ray cluster at this address (default: start one on this machine)")
    parser.add_argument("--retry-errors", action="store_true", help="run the files that failed before again")
    parser.add_argument("--verify", action="store_true",
                        help="recognise finished files by the SHA-256 of their content instead of size and mtime")
    parser.add_argument("--over-time", type=float, nargs="?", const=DEFAULT_WINDOW_S, default=None, metavar="SECONDS",
                        help=f"also store each window's answer, from one streamed pass (windows of "
                        f"{DEFAULT_WINDOW_S:.0f} s unless given)")
    add_model_arguments(parser)
    add_run_arguments(parser)
    parser.set_defaults(mode="sfc", measure="time")
    return parser


def engine_for(args: argparse.Namespace) -> Engine:
    """The engine the arguments ask for; the model is loaded when there is work for it."""
    if (args.decoders or 0) < 0 or args.workers < 1:
        raise ConfigError("--decoders must be >= 0 and --workers >= 1")
    if args.over_time is not None and not args.over_time > 0:
        raise ConfigError(f"--over-time must be a number of seconds > 0, not {args.over_time}")
    job = Job(load=load_settings(args), options=RunOptions.from_args(args), over_time_s=args.over_time)

    def run(files: list[Path]) -> Iterable[dict]:
        model = load_from_args(args)
        if args.engine == "ray":
            from ..corpus.ray_engine import run_ray  # Ray is an optional extra

            return run_ray(files, model, job, workers=args.workers, address=args.address)
        return run_local(files, model, job, decoders=args.decoders)

    return run


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    table = open_table(args.out)
    files = expand_inputs(args.inputs)
    counts = classify_collection(files, table, engine_for(args), retry_errors=args.retry_errors,
                                 verify=args.verify, over_time_s=args.over_time, progress=True)
    print(f"{counts['done']} classified ({counts['failed']} failed), {counts['skipped']} already in {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
