"""Evaluate a model with SFC on a freshly generated, held-out SynthActions set.

    sfc-evaluate [--seed 100] [--num-clips 200] [--training-free change] [--length 64] [--json OUT]

What each figure means: `sfc_core.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .. import hub, synth
from ..evaluate import evaluate
from ..sfc import TRAINING_FREE_SCORES
from . import command_parser, user_errors_exit_2


def _named_choice(text: str) -> tuple[str, str]:
    name, _, choice = text.partition("=")
    if not name or not choice:
        raise argparse.ArgumentTypeError(f"expected NAME=SFC (a path, URL or hf://...), not {text!r}")
    return name, choice


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("sfc-evaluate", __doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny", help="the backbone")
    parser.add_argument("--weights", type=Path, default=None, help="backbone checkpoint (default: as hub.load)")
    sfc = parser.add_mutually_exclusive_group()
    sfc.add_argument("--sfc-weights", default=None, help="trained SFC: a path, URL or hf://... (default: shipped)")
    sfc.add_argument("--training-free", choices=TRAINING_FREE_SCORES, default=None,
                     help="evaluate this training-free SFC instead")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--num-clips", type=int, default=200)
    parser.add_argument("--synth-version", type=int, choices=(1, 2), default=synth.VERSION,
                        help="SynthActions version (2: with distractors that fool change-based selection)")
    parser.add_argument("--random-draws", type=int, default=5, help="draws averaged for the random strategy")
    parser.add_argument("--length", type=int, default=None, help="SFC long-clip length (default: as trained)")
    parser.add_argument("--profile-clips", type=int, default=3, help="clips on which time/memory/FLOPs are measured")
    parser.add_argument("--compare", type=_named_choice, action="append", default=[], metavar="NAME=SFC",
                        help="another trained SFC for the same backbone, evaluated on the same clips (repeatable)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sfc_choice = args.sfc_weights or (f"{hub.TRAINING_FREE}{args.training_free}" if args.training_free else hub.AUTO)
    result = evaluate(args.model, args.weights or hub.AUTO, sfc_choice, seed=args.seed, num_clips=args.num_clips,
                      profile_clips=args.profile_clips, length=args.length, device=args.device,
                      random_draws=args.random_draws, synth_version=args.synth_version, compare=dict(args.compare))
    result["command"] = shlex.join(["sfc-evaluate", *(sys.argv[1:] if argv is None else argv)])
    for key, value in result.items():
        if key not in ("strategies", "sfc_training", "environment", "compared"):
            print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    print(f"\n{'strategy':>16}  top-1  hit rate  GFLOPs")
    for name, row in result["strategies"].items():
        print(f"{name:>16}  {row['top1']:.3f}  {row['hit_rate']:8.3f}  {row['flops'] / 1e9:6.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
