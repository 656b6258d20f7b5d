"""Side-by-side benchmark: dense sampling vs SFC on the same videos, same backbone, a fresh process each.

    sfc-bench [VIDEO ...] [--model NAME ...] [--quick] [--repeats N] [--processes N] [--device cuda]
              [--precision fp16] [--out DIR]

What it measures and writes: `sfc_core.bench`.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .. import hub, models
from ..bench import benchmark
from ..device import PRECISIONS
from . import command_parser, user_errors_exit_2


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("sfc-bench", __doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--model", action="append", choices=models.list_models(), help="repeatable (default: tiny)")
    parser.add_argument("--quick", action="store_true", help="one clip, short sweep (under 3 minutes on 2 CPU cores)")
    parser.add_argument("--clips", type=int, default=3, help="generated clips when no videos are given")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after a warm-up, in each process")
    parser.add_argument("--processes", type=int, default=1,
                        help="fresh processes per configuration, run in rounds; figures are medians over them")
    parser.add_argument("--random-weights", action="store_true", help="random backbone weights (timing only)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="fp32",
                        help="fp16/bf16: mixed precision for dense and SFC alike (CUDA only)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks") / "latest")
    args = parser.parse_args(argv)
    command = shlex.join(["sfc-bench", *(sys.argv[1:] if argv is None else argv)])
    benchmark(args.model or ["tiny"], args.videos, quick=args.quick, clips=args.clips, repeats=args.repeats,
              backbone=hub.RANDOM if args.random_weights else hub.AUTO, device=args.device, out=args.out,
              precision=args.precision, command=command, processes=args.processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
