"""CLI: classify a video with SFC and/or dense sampling and print the side-by-side measurements.

    python -m sfc_core.predict VIDEO [--model NAME] [--weights PATH | --random-weights]
        [--sfc-weights PATH|URL|hf://... | --training-free METHOD] [--mode sfc|dense|both] [--json OUT]

Which weights and which SFC run is decided by `sfc_core.hub.load` (see there): with none named,
`tiny` runs its embedded backbone and trained SFC offline, and a Kinetics-400 model downloads its
published checkpoint once and runs the training-free SFC. `--json` writes the report described in
`sfc_core.report`. A user's error (bad video, weights or settings) exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import hub, models, weights
from .cli import command_parser, user_errors_exit_2
from .options import DEFAULT_LENGTH, RunOptions, add_run_arguments
from .report import format_table
from .sfc import TRAINING_FREE_SCORES


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("sfc-predict", "SFC vs dense-sampling action recognition on one video.")
    parser.add_argument("video", type=Path)
    add_settings(parser)
    parser.add_argument("--json", type=Path, default=None, help="write the report JSON here")
    return parser


def add_settings(parser: argparse.ArgumentParser) -> None:
    """The model, weights and SFC (for `hub.load`) and the run options: shared by every command that
    classifies videos."""
    parser.add_argument("--model", default="tiny", choices=models.list_models(), help="the backbone")
    backbone = parser.add_mutually_exclusive_group()
    backbone.add_argument("--weights", type=Path, help="backbone checkpoint in its publisher's layout")
    backbone.add_argument(
        "--random-weights", action="store_true", help="use random backbone weights (timing only: labels are noise)"
    )
    sfc = parser.add_mutually_exclusive_group()
    sfc.add_argument("--sfc-weights", default=None,
                     help="trained SFC checkpoint (sfc-train): a path, URL or hf://owner/repo/file[@revision]")
    sfc.add_argument("--training-free", choices=TRAINING_FREE_SCORES, default=None,
                     help="run the training-free SFC with this score (default when no trained SFC exists: change)")
    parser.add_argument("--length", type=int, default=None,
                        help=f"SFC long-clip length in frames (default: as trained, or {DEFAULT_LENGTH})")
    parser.add_argument("--split", default=None, help="stage after which the head ends (default: as trained, "
                        "or the model's)")
    parser.add_argument("--spatial-stride", type=int, default=None, help="SFC spatial compression (default: as "
                        "trained, or 1)")
    parser.add_argument("--head-budget-mb", type=float, default=hub.DEFAULT_BUDGET_MB,
                        help="memory for the head's activations: it runs over the long clip in exact temporal "
                        "chunks that fit (0: one pass)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    add_run_arguments(parser)


def load_settings(args: argparse.Namespace) -> dict:
    """`hub.load`'s keyword arguments from the parsed settings."""
    backbone = hub.RANDOM if args.random_weights else (args.weights or hub.AUTO)
    sfc = args.sfc_weights or (f"{hub.TRAINING_FREE}{args.training_free}" if args.training_free else hub.AUTO)
    return {"name": args.model, "backbone": backbone, "sfc": sfc, "device": args.device, "length": args.length,
            "split": args.split, "spatial_stride": args.spatial_stride, "head_budget_mb": args.head_budget_mb}


def load_from_args(args: argparse.Namespace) -> hub.SFCModel:
    return hub.load(**load_settings(args), progress=weights.progress_bar(args.model))


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    model = load_from_args(args)
    report = model.predict(args.video, RunOptions.from_args(args))
    data = report.to_dict()
    if args.random_weights:
        print("RANDOM WEIGHTS: the labels below are noise; times, memory and FLOPs are real.")
    for note in report.notes:
        print(f"note: {note}")
    print(f"model: {args.model} on {(data['sfc'] or data['dense'])['device']}; "
          f"backbone: {model.provenance['backbone'].describe()}; SFC: {model.provenance['sfc'].describe()}")
    chunk = model.settings.head_chunk_frames
    why = "" if model.geometry.chunkable else " (a layer mixes the whole clip, so it cannot be streamed)"
    print(f"SFC head: {f'streamed in chunks of {chunk} frame(s)' if chunk else 'one pass'} over "
          f"{model.settings.length} frames{why}")
    print(format_table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
