"""CLI: classify a video with SFC and/or dense sampling and print the side-by-side measurements.

    python -m sfc_core.predict VIDEO [--model NAME] [--weights PATH | --random-weights]
        [--sfc-weights PATH] [--mode sfc|dense|both] [--json OUT]

With no weights given, a model that ships weights under assets/models/ (the default `tiny`)
uses them, and its trained SFC with them, offline; a Kinetics-400 model downloads its published
checkpoint on first use (verified, cached: see sfc_core.weights). A backbone without trained SFC
weights runs the training-free SFC (`--training-free`), and the output says so.

The JSON written by --json is a stable interface (the app and the bench read it): top-level
`dense` and `sfc` objects (null when that mode did not run), each with `top5`, `model_time_s`,
`decode_time_s`, `peak_memory_bytes`, `flops`, `device`; `sfc` also has `kept_frames`,
`kept_timestamps_s` and `scores`; and `ratios` (dense / SFC) with `time`, `memory`, `flops`.
Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from . import models, weights
from .device import pick_device
from .pipeline import DenseRecognizer, Result, SFCRecognizer
from .sfc import DEFAULT_TRAINING_FREE, TRAINING_FREE_SCORES, load_sfc
from .video import VideoError

EXIT_BAD_INPUT = 2


def training_free_label(scoring: str) -> str:
    """How the UI and CLI name an SFC that has no trained weights."""
    return f"training-free, untrained weights (TopK by feature {scoring}; no trained SFC for this backbone)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sfc_core.predict", description="SFC vs dense-sampling action recognition on one video."
    )
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", default="tiny", choices=models.list_models())
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", type=Path, help="backbone checkpoint in its publisher's layout")
    weights.add_argument(
        "--random-weights", action="store_true", help="use random backbone weights (timing only: labels are noise)"
    )
    parser.add_argument(
        "--sfc-weights", default=None, help="trained SFC checkpoint (sfc_core.train): a path, URL or hf://owner/repo/file"
    )
    parser.add_argument(
        "--training-free", choices=TRAINING_FREE_SCORES, default=DEFAULT_TRAINING_FREE,
        help="scoring of the training-free SFC used when there are no trained SFC weights",
    )
    parser.add_argument("--mode", choices=("sfc", "dense", "both"), default="both")
    parser.add_argument("--length", type=int, default=None, help="SFC long-clip length (default: as trained, or 64)")
    parser.add_argument("--split", default=None, help="stage after which the head ends (default: the model's)")
    parser.add_argument("--spatial-stride", type=int, default=1, help="SFC spatial compression")
    parser.add_argument("--clips", type=int, default=10, help="dense: clips along time")
    parser.add_argument("--crops", type=int, default=3, choices=(1, 3), help="dense: crops per clip")
    parser.add_argument("--batch-size", type=int, default=None, help="dense: views per batch (default: all)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repeats after the warm-up")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", type=Path, default=None, help="write the result JSON here")
    return parser


def _ratio(dense: float, sfc: float) -> float | None:
    return dense / sfc if sfc > 0 else None


def build_report(
    model: str, weights: str, sfc_weights: str, settings: dict, dense: Result | None, sfc: Result | None
) -> dict:
    """The stable JSON document (see the module docstring); the app returns the same one."""
    ratios = None
    if dense and sfc:
        ratios = {
            "time": _ratio(dense.measurement.model_time_s, sfc.measurement.model_time_s),
            "memory": _ratio(dense.measurement.peak_memory_bytes, sfc.measurement.peak_memory_bytes),
            "flops": _ratio(dense.measurement.flops, sfc.measurement.flops),
        }
    return {
        "model": model,
        "weights": weights,
        "sfc_weights": sfc_weights,
        "video": asdict((dense or sfc).video),
        "settings": settings,
        "dense": dense.to_dict() if dense else None,
        "sfc": sfc.to_dict() if sfc else None,
        "ratios": ratios,
    }


def format_table(data: dict) -> str:
    modes = [m for m in ("dense", "sfc") if data[m]]
    rows = [("", *[m.upper() for m in modes])]
    for rank in range(5):
        rows.append(
            (f"top-{rank + 1}", *[f"{data[m]['top5'][rank][0][:28]} {data[m]['top5'][rank][1]:.3f}" for m in modes])
        )
    rows += [
        ("views", *[str(data[m]["num_views"]) for m in modes]),
        ("model time", *[f"{data[m]['model_time_s']:.3f} s" for m in modes]),
        ("decode time", *[f"{data[m]['decode_time_s']:.3f} s" for m in modes]),
        ("peak memory", *[f"{data[m]['peak_memory_bytes'] / 2**20:.0f} MiB" for m in modes]),
        ("FLOPs", *[f"{data[m]['flops'] / 1e9:.1f} G" for m in modes]),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    if data["ratios"]:
        r = data["ratios"]
        lines.append(
            "dense / SFC: "
            + ", ".join(f"{k} {v:.2f}x" if v else f"{k} n/a" for k, v in r.items())
        )
    if data["sfc"]:
        lines.append(f"SFC kept frames: {data['sfc']['kept_frames']}")
    return "\n".join(lines)


def resolve_weights(args: argparse.Namespace) -> None:
    """Fill in the shipped backbone (and its trained SFC) when the user named no weights."""
    config = models.get_config(args.model)
    shipped = config.shipped("backbone")
    if args.weights is None and not args.random_weights:
        if shipped is not None and shipped.exists():
            args.weights = shipped
        elif config.weights is not None:
            args.weights = weights.backbone_weights(args.model, progress=weights.progress_bar(args.model))
        else:
            raise ValueError(
                f"no weights for {args.model!r}: pass --weights PATH, or --random-weights to measure the "
                "architecture with random weights"
            )
    if args.sfc_weights is None and args.weights == shipped and config.shipped("sfc") is not None:
        args.sfc_weights = config.shipped("sfc")


def run(args: argparse.Namespace) -> dict:
    config = models.get_config(args.model)
    resolve_weights(args)
    device = pick_device(args.device)
    model = models.create(args.model, weights=args.weights)
    sfc_module, length, split = None, args.length or 64, args.split
    if args.sfc_weights is not None:
        args.sfc_weights = weights.resolve(args.sfc_weights, progress=weights.progress_bar("SFC weights"))
        sfc_module, meta = load_sfc(args.sfc_weights)
        length, split = args.length or meta.get("length", 64), args.split or meta.get("split")
    dense = sfc = None
    if args.mode in ("dense", "both"):
        dense = DenseRecognizer(model, config, device, args.clips, args.crops, args.batch_size, args.repeats)(args.video)
    if args.mode in ("sfc", "both"):
        recognizer = SFCRecognizer(
            model, config, device, sfc=sfc_module, length=length, split=split,
            spatial_stride=args.spatial_stride, repeats=args.repeats, scoring=args.training_free,
        )
        sfc = recognizer(args.video)
    settings = {
        "length": len(sfc.plan.clips[0]) if sfc else length,
        "split": split or config.default_split,
        "spatial_stride": args.spatial_stride,
        "clips": args.clips,
        "crops": args.crops,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
    }
    weights_label = "random" if args.random_weights else str(args.weights)
    sfc_weights = str(args.sfc_weights) if args.sfc_weights else training_free_label(args.training_free)
    return build_report(args.model, weights_label, sfc_weights, settings, dense, sfc)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = run(args)
    except (VideoError, ValueError, FileNotFoundError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.random_weights:
        print("RANDOM WEIGHTS: the labels below are noise; times, memory and FLOPs are real.")
    notes = (data["dense"] or {}).get("notes", []) + (data["sfc"] or {}).get("notes", [])
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    print(f"model: {args.model} on {(data['sfc'] or data['dense'])['device']}; SFC: {data['sfc_weights']}")
    print(format_table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
