"""Evaluate the shipped SynthActions model on a freshly generated held-out set.

    python -m sfc_core.evaluate [--seed 100] [--num-clips 200] [--training-free change] [--json OUT]

Reports top-1 of dense 30-view sampling, of a single centre clip and of SFC (same frozen
backbone), the selection hit rate (fraction of SFC's kept positions whose frame lies inside the
ground-truth action window) against the rate a uniform choice gets, and the FLOPs, time and
memory ratios measured with the profiling helpers on the first few clips.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import models, synth
from .device import pick_device
from .pipeline import DenseRecognizer, SFCRecognizer, load_views, position_centres
from .sfc import LEARNED, TRAINING_FREE_SCORES, load_sfc


def evaluate(
    model: str = "tiny",
    weights: Path | None = None,
    sfc_weights: Path | None = None,
    seed: int = 100,
    num_clips: int = 200,
    profile_clips: int = 3,
    device: torch.device | None = None,
    length: int | None = None,
    training_free: str | None = None,
) -> dict:
    """`training_free` names a training-free scoring to evaluate instead of the trained SFC."""
    config = models.get_config(model)
    device = device or pick_device()
    backbone = models.create(model, weights=weights or config.shipped("backbone"))
    sfc_module, sfc_meta = None, {}
    if training_free is None:
        sfc_module, sfc_meta = load_sfc(sfc_weights or config.shipped("sfc"))
    dense = DenseRecognizer(backbone, config, device)
    centre = DenseRecognizer(backbone, config, device, num_clips=1, num_crops=1)
    length = length or sfc_meta.get("length", 64)
    sfc = SFCRecognizer(backbone, config, device, sfc=sfc_module, length=length, scoring=training_free or LEARNED)
    hits, uniform, ceiling, correct = [], [], [], {"dense": 0, "centre": 0, "sfc": 0}
    agreement = 0
    profiles = {"dense": [], "sfc": []}
    with tempfile.TemporaryDirectory() as scratch:
        specs = synth.write_dataset(Path(scratch), num_clips, seed)
        for spec in tqdm(specs, desc="evaluate"):
            path = Path(scratch) / f"clip_{spec.index:05d}.mp4"
            predictions = {}
            for name, recognizer in (("dense", dense), ("centre", centre)):
                _, inputs = load_views(path, config, recognizer.plan)
                predictions[name] = int(recognizer.classify(inputs.views).argmax())
            _, inputs = load_views(path, config, sfc.plan)
            probs, out = sfc.classify(inputs.views)
            predictions["sfc"] = int(probs.argmax())
            for name, predicted in predictions.items():
                correct[name] += predicted == spec.label
            agreement += predictions["sfc"] == predictions["dense"]
            sampled = inputs.frame_indices[0]
            centres = [sampled[c] for c in position_centres(len(sampled), out.scores.shape[1])]
            inside = np.array([spec.in_window(f) for f in centres])
            kept = out.kept[0].cpu().numpy()
            hits.append(inside[kept].mean())
            uniform.append(inside.mean())
            ceiling.append(min(1.0, inside.sum() / len(kept)))  # short actions span fewer than K positions
            if spec.index < profile_clips:
                profiles["dense"].append(dense(path).measurement)
                profiles["sfc"].append(sfc(path).measurement)

    def median_ratio(field: str) -> float:
        return statistics.median(
            getattr(d, field) / getattr(s, field) for d, s in zip(profiles["dense"], profiles["sfc"])
        )

    return {
        "model": model,
        "sfc": f"training-free ({training_free})" if training_free else "trained",
        "length": length,
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
        "profiled_clips": profile_clips,
        "device": profiles["sfc"][0].device if profiles["sfc"] else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sfc_core.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--weights", type=Path, default=None, help="backbone (default: the shipped one)")
    parser.add_argument("--sfc-weights", type=Path, default=None, help="SFC (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--num-clips", type=int, default=200)
    parser.add_argument("--length", type=int, default=None, help="SFC long-clip length (default: as trained)")
    parser.add_argument(
        "--training-free", choices=TRAINING_FREE_SCORES, default=None, help="evaluate this training-free SFC instead"
    )
    parser.add_argument("--profile-clips", type=int, default=3, help="clips on which time/memory/FLOPs are measured")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = evaluate(
        args.model, args.weights, args.sfc_weights, args.seed, args.num_clips, args.profile_clips, length=args.length,
        training_free=args.training_free,
    )
    for key, value in result.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
