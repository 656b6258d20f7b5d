"""CLI: classify a video with SFC and/or dense sampling and print the side-by-side measurements.

    sfc-predict VIDEO [--model NAME] [--weights PATH | --random-weights]
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

from ..options import RunOptions, add_run_arguments
from ..report import format_table
from . import command_parser, user_errors_exit_2
from .model_args import add_model_arguments, load_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("sfc-predict", "SFC vs dense-sampling action recognition on one video.")
    parser.add_argument("video", type=Path)
    add_model_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument("--json", type=Path, default=None, help="write the report JSON here")
    return parser


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
    if chunk and model.geometry.holds_clip:
        why = " (a squeeze-excitation gate waits for the whole clip's mean: its input is held over the clip)"
    print(f"SFC head: {f'streamed in chunks of {chunk} frame(s)' if chunk else 'one pass'} over "
          f"{model.settings.length} frames{why}")
    print(format_table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
