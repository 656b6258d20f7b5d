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
from .cli import user_errors_exit_2
from .device import PRECISIONS
from .pipeline import MEASURES
from .report import Report, format_table
from .sfc import TRAINING_FREE_SCORES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfc-predict", description="SFC vs dense-sampling action recognition on one video."
    )
    parser.add_argument("video", type=Path)
    add_settings(parser)
    parser.add_argument("--json", type=Path, default=None, help="write the report JSON here")
    return parser


def add_settings(parser: argparse.ArgumentParser) -> None:
    """The model, weights, SFC and run settings: shared by every command that classifies videos."""
    parser.add_argument("--model", default="tiny", choices=models.list_models())
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
    parser.add_argument("--mode", choices=hub.MODES, default="both")
    parser.add_argument("--length", type=int, default=None,
                        help=f"SFC long-clip length in frames (default: as trained, or {hub.DEFAULT_LENGTH})")
    parser.add_argument("--split", default=None, help="stage after which the head ends (default: as trained, "
                        "or the model's)")
    parser.add_argument("--spatial-stride", type=int, default=None, help="SFC spatial compression (default: as "
                        "trained, or 1)")
    parser.add_argument("--head-budget-mb", type=float, default=hub.DEFAULT_BUDGET_MB,
                        help="memory for the head's activations: it runs over the long clip in exact temporal "
                        "chunks that fit (0: one pass)")
    parser.add_argument("--clips", type=int, default=hub.DEFAULT_CLIPS, help="dense: clips along time")
    parser.add_argument("--crops", type=int, default=hub.DEFAULT_CROPS, choices=(1, 3), help="dense: crops per clip")
    parser.add_argument("--batch-size", type=_batch_size, default=hub.AUTO,
                        help="dense: views per batch, or all (default: auto: one at a time on a CPU, all on a GPU)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repeats after the warm-up")
    parser.add_argument("--measure", choices=MEASURES, default="full",
                        help="full: warm-up, FLOPs, peak memory and timed repeats; time: the timed runs only "
                        "(no warm-up; FLOPs and memory not measured)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="fp32",
                        help="fp16/bf16: mixed precision for both modes (CUDA only)")


def _batch_size(text: str) -> int | str | None:
    """--batch-size: "auto" (the device's best), "all" (None: one batch) or a number of views."""
    if text == hub.AUTO:
        return hub.AUTO
    if text == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of views, 'all' or 'auto'") from None


def load_settings(args: argparse.Namespace) -> dict:
    """`hub.load`'s keyword arguments from the parsed settings."""
    backbone = hub.RANDOM if args.random_weights else (args.weights or hub.AUTO)
    sfc = args.sfc_weights or (f"{hub.TRAINING_FREE}{args.training_free}" if args.training_free else hub.AUTO)
    return {"name": args.model, "backbone": backbone, "sfc": sfc, "device": args.device, "length": args.length,
            "split": args.split, "spatial_stride": args.spatial_stride, "head_budget_mb": args.head_budget_mb}


def predict_settings(args: argparse.Namespace) -> dict:
    """`SFCModel.predict`'s keyword arguments from the parsed settings."""
    return {"mode": args.mode, "clips": args.clips, "crops": args.crops, "batch_size": args.batch_size,
            "repeats": args.repeats, "precision": args.precision, "measure": args.measure}


def load_from_args(args: argparse.Namespace) -> hub.SFCModel:
    return hub.load(**load_settings(args), progress=weights.progress_bar(args.model))


def predict_from_args(model: hub.SFCModel, video: Path, args: argparse.Namespace) -> Report:
    return model.predict(video, **predict_settings(args))


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    model = load_from_args(args)
    report = predict_from_args(model, args.video, args)
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
