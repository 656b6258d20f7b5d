r"""CLI: train the SynthActions backbone, or SFC on a frozen backbone (one process or `torchrun`).

The embedded model is reproduced by these two commands (the defaults; also in README and in
assets/models/tiny_synth.json, which records the commands as they were run: the backbone's as
`python -m sfc_core.train`, this command's module before 0.5.0):

    sfc-train backbone --clips 600 --epochs 16 --seed 0 --synth-version 2 --out \
        assets/models/tiny_synth.pth
    sfc-train sfc --weights assets/models/tiny_synth.pth --clips 400 --epochs 40 \
        --lr 0.003 --selection 3 --seed 1 --synth-version 2 --scorer-priors --window-target 0.5 \
        --cache /tmp/sfc_cache_A.pt --out assets/models/tiny_synth_sfc.pth

and the SFC trained the paper's way beside it (distillation and labels only: no selection target, no
action-window annotations, no heuristic prior) by:

    sfc-train sfc --weights assets/models/tiny_synth.pth --clips 400 --epochs 40 \
        --lr 0.003 --selection 0 --seed 1 --synth-version 2 --no-scorer-priors --window-target 0 \
        --cache /tmp/sfc_cache_A.pt --out assets/models/tiny_synth_sfc_paper.pth

Held-out SynthActions seeds (`sfc_core.seeds`) are refused.

SFC for any registered backbone on your own folder of videos (labels optional: without them SFC
learns by distillation from the dense teacher), on one process or many; state is saved every
epoch and `--resume` continues from it:

    sfc-train sfc --model x3d_s --videos DIR [--labels CSV] --out x3d_s_sfc.pth
    torchrun --nproc_per_node 8 -m sfc_core.cli.train sfc --model slowonly_r50 --videos DIR --out s.pth --resume \
        --features recompute        # many videos: keep only the targets, recompute head features each step
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

from ..objective import ObjectiveWeights
from ..training.backbone import BackboneTrainingConfig, train_backbone
from ..training.sfc_trainer import SFCTrainingConfig, train_sfc
from . import command_parser, user_errors_exit_2

_BACKBONE, _SFC, _OBJECTIVE = BackboneTrainingConfig(out=Path()), SFCTrainingConfig(out=Path()), ObjectiveWeights()


def build_parser() -> argparse.ArgumentParser:
    """Options and defaults come from the config dataclasses, so the CLI cannot drift from the library."""
    helps = {"clips": "SynthActions training clips", "val_clips": "SynthActions validation clips",
             "epochs": "passes over the training clips", "batch_size": "clips per step",
             "seed": "SynthActions seed of the training clips",
             "synth_version": "SynthActions version (2: with distractors)",
             "spatial_stride": "SFC spatial compression"}
    parser = command_parser("sfc-train", __doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    backbone = sub.add_parser("backbone", help="train a backbone on SynthActions (the tiny default)",
                              formatter_class=parser.formatter_class)
    backbone.add_argument("--model", default=_BACKBONE.model, help="the backbone to train")
    for name in ("clips", "val_clips", "epochs", "batch_size", "seed", "synth_version"):
        backbone.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(_BACKBONE, name),
                              help=helps[name])
    backbone.add_argument("--lr", type=float, default=_BACKBONE.lr, help="learning rate")
    backbone.add_argument("--out", type=Path, required=True)

    sfc = sub.add_parser("sfc", help="train SFC with the backbone frozen", formatter_class=parser.formatter_class)
    sfc.add_argument("--model", default=_SFC.model, help="the frozen backbone")
    sfc.add_argument("--weights", default=_SFC.backbone,
                     help="backbone checkpoint (default: the embedded one, else the published one, downloaded)")
    sfc.add_argument("--videos", type=Path, default=None, help="folder of videos (default: generate SynthActions)")
    sfc.add_argument("--labels", type=Path, default=None, help="CSV with file,label columns (else distil only)")
    sfc.add_argument("--clips", type=int, default=_SFC.clips, help="SynthActions clips when --videos is not given")
    sfc.add_argument("--length", type=int, default=_SFC.length, help="frames in SFC's long clip")
    sfc.add_argument("--split", default=None, help="stage after which the head ends (default: the model's)")
    for name in ("spatial_stride", "epochs", "batch_size", "seed", "synth_version"):
        sfc.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(_SFC, name), help=helps[name])
    sfc.add_argument("--lr", type=float, default=_SFC.lr, help="learning rate")
    sfc.add_argument("--temperature", type=float, default=_OBJECTIVE.temperature, help="distillation temperature")
    sfc.add_argument("--distill", type=float, default=_OBJECTIVE.distill, help="weight of the distillation loss")
    sfc.add_argument("--selection", type=float, default=_OBJECTIVE.selection, help="weight of the selection loss")
    sfc.add_argument("--usefulness-temperature", type=float, default=_OBJECTIVE.usefulness_temperature,
                     help="temperature of the selection target")
    sfc.add_argument("--window-target", type=float, default=_OBJECTIVE.window_target,
                     help="share of the selection target put on the known action window (SynthActions' ground "
                          "truth; 0: the label-free target only)")
    sfc.add_argument("--usefulness-window", type=int, default=_SFC.usefulness_window,
                     help="head positions per window of the selection target (default: the kept count)")
    sfc.add_argument("--selection-noise", type=float, default=_SFC.selection_noise,
                     help="Gumbel noise on scores while training")
    sfc.add_argument("--scorer-priors", action=argparse.BooleanOptionalAction, default=_SFC.scorer_priors,
                     help="score positions by the streaming training-free scores ('change', 'energy') plus a learned "
                          "correction (starts as 'change')")
    sfc.add_argument("--cache", type=Path, default=None, help="save/reuse the per-video targets (and features) here")
    sfc.add_argument("--features", choices=("memory", "recompute"), default=_SFC.features,
                     help="keep head features in memory (fast, ~64 MB per SlowOnly video), or keep only the "
                          "targets and recompute features from the video each step (any number of videos)")
    sfc.add_argument("--checkpoint", type=Path, default=None,
                     help="resumable state, saved every epoch (default: OUT with .ckpt.pt)")
    sfc.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    sfc.add_argument("--out", type=Path, required=True)
    return parser


def config_from_args(args: argparse.Namespace) -> BackboneTrainingConfig | SFCTrainingConfig:
    values = vars(args).copy()
    values.pop("what")
    if args.what == "backbone":
        return BackboneTrainingConfig(**values)
    objective = ObjectiveWeights(**{f.name: values.pop(f.name) for f in dataclasses.fields(ObjectiveWeights)})
    values["backbone"] = values.pop("weights")
    return SFCTrainingConfig(**values, objective=objective)


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["sfc-train", *(argv if argv is not None else sys.argv[1:])])
    summary = train_backbone(config) if args.what == "backbone" else train_sfc(config, command)
    if not summary.pop("is_main", True):
        return 0
    summary["command"] = command
    config.out.with_suffix(".log.json").write_text(json.dumps(summary, indent=1))
    print(f"saved {config.out} after {summary['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
