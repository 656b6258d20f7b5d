"""The arguments of every command that loads a model to classify videos (sfc-predict, sfc-batch,
sfc-stream): the backbone, its weights, its SFC and the SFC settings, turned into `hub.load`'s."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import hub, models
from ..options import DEFAULT_LENGTH
from ..sfc import TRAINING_FREE_SCORES
from . import progress_bar


def add_model_arguments(parser: argparse.ArgumentParser, model_positional: bool = False) -> None:
    """The model (`--model`, or the first argument), its weights, its SFC and the SFC settings (`hub.load`'s
    arguments)."""
    if model_positional:
        parser.add_argument("model", choices=models.list_models(), help="the backbone")
    else:
        parser.add_argument("--model", default="tiny", choices=models.list_models(), help="the backbone")
    backbone = parser.add_mutually_exclusive_group()
    backbone.add_argument("--weights", type=Path, help="backbone checkpoint in its publisher's layout")
    backbone.add_argument(
        "--random-weights", action="store_true", help="use random backbone weights (timing only: labels are noise)"
    )
    sfc = parser.add_mutually_exclusive_group()
    sfc.add_argument("--sfc-weights", default=None,
                     help="trained SFC checkpoint (sfc-train): a path, URL or hf://owner/repo/file[@revision]; "
                     "or 'untrained' (the learned module with random weights: cost only)")
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


def load_settings(args: argparse.Namespace) -> dict:
    """`hub.load`'s keyword arguments from the parsed model arguments."""
    backbone = hub.RANDOM if args.random_weights else (args.weights or hub.AUTO)
    sfc = args.sfc_weights or (f"{hub.TRAINING_FREE}{args.training_free}" if args.training_free else hub.AUTO)
    return {"name": args.model, "backbone": backbone, "sfc": sfc, "device": args.device, "length": args.length,
            "split": args.split, "spatial_stride": args.spatial_stride, "head_budget_mb": args.head_budget_mb}


def load_from_args(args: argparse.Namespace) -> hub.SFCModel:
    return hub.load(**load_settings(args), progress=progress_bar(args.model))
