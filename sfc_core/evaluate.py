"""Evaluate a model with SFC on a freshly generated, held-out SynthActions set.

    sfc-evaluate [--seed 100] [--num-clips 200] [--training-free change] [--length 64] [--json OUT]

Reports top-1 of dense 30-view sampling, of a single centre clip and of SFC (same frozen
backbone), the selection hit rate (fraction of SFC's kept positions whose frame lies inside the
ground-truth action window) against the rate a uniform choice gets and the best any choice can get,
and the FLOPs, time and memory ratios measured on the first `profile_clips` clips.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import hub, synth
from .cli import user_errors_exit_2
from .pipeline import load_views, positions_inside
from .profiling import ratio
from .sfc import TRAINING_FREE_SCORES


def evaluate(
    model: str = "tiny",
    backbone: str | Path = hub.AUTO,
    sfc: str | Path = hub.AUTO,
    *,
    seed: int = 100,
    num_clips: int = 200,
    profile_clips: int = 3,
    length: int | None = None,
    device: str | torch.device | None = None,
) -> dict:
    """`backbone` and `sfc` as in `hub.load` (e.g. sfc="training-free:change")."""
    loaded = hub.load(model, backbone, sfc, device, length=length)
    dense, centre = loaded.dense_recognizer(), loaded.dense_recognizer(clips=1, crops=1)
    recognizer = loaded.sfc_recognizer()
    hits, uniform, ceiling, correct = [], [], [], {"dense": 0, "centre": 0, "sfc": 0}
    agreement = 0
    profiles = {"dense": [], "sfc": []}
    with tempfile.TemporaryDirectory() as scratch:
        specs = synth.write_dataset(Path(scratch), num_clips, seed)
        for spec in tqdm(specs, desc="evaluate"):
            path = synth.clip_path(scratch, spec)
            predictions = {}
            for name, dense_like in (("dense", dense), ("centre", centre)):
                _, inputs = load_views(path, loaded.config, dense_like.plan)
                predictions[name] = int(dense_like.classify(inputs.views).argmax())
            _, inputs = load_views(path, loaded.config, recognizer.plan)
            probs, out = recognizer.classify(inputs.views)
            predictions["sfc"] = int(probs.argmax())
            for name, predicted in predictions.items():
                correct[name] += predicted == spec.label
            agreement += predictions["sfc"] == predictions["dense"]
            window = (spec.window_start, spec.window_end)
            inside = positions_inside(inputs.frame_indices[0], out.scores.shape[1], window)
            kept = out.kept[0].cpu().numpy()
            hits.append(inside[kept].mean())
            uniform.append(inside.mean())
            ceiling.append(min(1.0, inside.sum() / len(kept)))  # short actions span fewer than K positions
            if spec.index < profile_clips:
                profiles["dense"].append(dense(path).measurement)
                profiles["sfc"].append(recognizer(path).measurement)

    def median_ratio(field: str) -> float | None:
        ratios = [ratio(getattr(d, field), getattr(s, field)) for d, s in zip(profiles["dense"], profiles["sfc"])]
        ratios = [r for r in ratios if r is not None]
        return statistics.median(ratios) if ratios else None

    return {
        "model": model,
        "sfc": loaded.provenance["sfc"].describe(),
        "length": loaded.settings.length,
        "seed": seed,
        "num_clips": num_clips,
        "dense_top1": correct["dense"] / num_clips,
        "center_top1": correct["centre"] / num_clips,
        "sfc_top1": correct["sfc"] / num_clips,
        "sfc_agreement_with_dense": agreement / num_clips,
        "hit_rate": float(np.mean(hits)),
        "uniform_hit_rate": float(np.mean(uniform)),
        "hit_rate_ceiling": float(np.mean(ceiling)),
        "flops_ratio": median_ratio("flops"),
        "time_ratio": median_ratio("model_time_s"),
        "memory_ratio": median_ratio("peak_memory_bytes"),
        "profiled_clips": len(profiles["sfc"]),
        "device": profiles["sfc"][0].device if profiles["sfc"] else None,
    }


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sfc-evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--weights", type=Path, default=None, help="backbone checkpoint (default: as hub.load)")
    sfc = parser.add_mutually_exclusive_group()
    sfc.add_argument("--sfc-weights", default=None, help="trained SFC: a path, URL or hf://... (default: shipped)")
    sfc.add_argument("--training-free", choices=TRAINING_FREE_SCORES, default=None,
                     help="evaluate this training-free SFC instead")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--num-clips", type=int, default=200)
    parser.add_argument("--length", type=int, default=None, help="SFC long-clip length (default: as trained)")
    parser.add_argument("--profile-clips", type=int, default=3, help="clips on which time/memory/FLOPs are measured")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sfc_choice = args.sfc_weights or (f"{hub.TRAINING_FREE}{args.training_free}" if args.training_free else hub.AUTO)
    result = evaluate(args.model, args.weights or hub.AUTO, sfc_choice, seed=args.seed, num_clips=args.num_clips,
                      profile_clips=args.profile_clips, length=args.length, device=args.device)
    for key, value in result.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
