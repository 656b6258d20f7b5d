"""Evaluate a model with SFC on a freshly generated, held-out SynthActions set (`sfc-evaluate` runs it).

Reports top-1 of dense 30-view sampling, of a single centre clip and of SFC (same frozen
backbone), the selection hit rate (fraction of SFC's kept positions whose frame lies inside the
ground-truth action window) against the rate a random choice gets on average and the best any choice
can get, and the FLOPs, time and memory ratios measured on the first `profile_clips` clips.

`strategies`: every way of choosing the kept positions (`sfc_core.selection`) on the same clips, with
the same head features and the same tail: `top1`, `hit_rate` and `flops` (head + selection + tail,
counted on the first clip) of each; "random" is the mean over `random_draws` draws per clip. Other
trained SFCs for the same backbone (`--compare NAME=PATH`) run on the same clips as strategies
"sfc:NAME". `sfc_training` records how each trained SFC was trained (objective, whether action-window
annotations were used, seeds, command); `seed_split` says what the seed is for (`sfc_core.seeds`).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import hub, seeds, synth
from .chunked_head import positions_inside
from .environment import environment
from .inputs import load_views
from .profiling import count_flops, ratio
from .selection import Selector
from .sfc import TRAINING_FREE_SCORES

EVALUATED_STRATEGIES = ("sfc", *TRAINING_FREE_SCORES, "uniform", "random", "oracle")


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
    random_draws: int = 5,
    synth_version: int = synth.VERSION,
    compare: Mapping[str, str | Path] | None = None,
) -> dict:
    """`backbone` and `sfc` as in `hub.load` (e.g. sfc="training-free:change"); `compare`: other SFCs
    for the same backbone (name -> as `sfc`), evaluated on the same clips as strategies "sfc:name"."""
    loaded = hub.load(model, backbone, sfc, device, length=length)
    dense, centre = loaded.dense_recognizer(), loaded.dense_recognizer(clips=1, crops=1)
    recognizer = loaded.sfc_recognizer()
    others = {f"sfc:{name}": loaded.replace(sfc=choice) for name, choice in (compare or {}).items()}
    strategies = (*EVALUATED_STRATEGIES, *others)
    selectors = {"sfc": Selector(recognizer.sfc, recognizer.tail, recognizer.geometry)}
    selectors |= {name: Selector(other.sfc, recognizer.tail, recognizer.geometry) for name, other in others.items()}

    def select(name: str, features: torch.Tensor, **options):
        """Strategy `name`, where "sfc:NAME" is "sfc" run by that compared SFC."""
        return selectors.get(name, selectors["sfc"]).select(name.split(":")[0], features, **options)

    correct = {"dense": 0, "centre": 0, **dict.fromkeys(strategies, 0.0)}  # random: mean over draws
    hits: dict[str, list[float]] = {name: [] for name in strategies}
    flops: dict[str, int] = {}
    uniform, ceiling, agreement = [], [], 0
    profiles = {"dense": [], "sfc": []}
    with tempfile.TemporaryDirectory() as scratch:
        specs = synth.write_dataset(Path(scratch), num_clips, seed, version=synth_version)
        for spec in tqdm(specs, desc="evaluate"):
            path = synth.clip_path(scratch, spec)
            predictions = {}
            for name, dense_like in (("dense", dense), ("centre", centre)):
                _, inputs = load_views(path, loaded.config, dense_like.plan)
                predictions[name] = int(dense_like.classify(inputs.views).argmax())
            _, inputs = load_views(path, loaded.config, recognizer.plan)
            head = partial(recognizer.features, inputs.views)
            with torch.inference_mode():  # FLOPs counted on the first clip only: every clip has the same shape
                features, head_flops = (head(), None) if flops else count_flops(head)
            sampled, window = inputs.frame_indices[0], (spec.window_start, spec.window_end)
            inside = positions_inside(sampled, features.shape[2], window, recognizer.geometry)
            if not flops:
                for name in strategies:
                    flops[name] = head_flops + count_flops(
                        partial(select, name, features, sampled=sampled, window=window))[1]
            for name in strategies:
                draws = range(random_draws) if name == "random" else range(1)
                selections = [select(name, features, seed=spec.index * random_draws + draw,
                                     sampled=sampled, window=window) for draw in draws]
                correct[name] += np.mean([int(s.probabilities.argmax()) == spec.label for s in selections])
                hits[name].append(float(np.mean([inside[s.kept].mean() for s in selections])))
                if name == "sfc":
                    predictions["sfc"] = int(selections[0].probabilities.argmax())
            correct["dense"] += predictions["dense"] == spec.label
            correct["centre"] += predictions["centre"] == spec.label
            agreement += predictions["sfc"] == predictions["dense"]
            uniform.append(inside.mean())
            ceiling.append(min(1.0, inside.sum() / recognizer.sfc.keep))  # short actions span fewer than K
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
        "sfc_training": {"sfc": loaded.sfc_training, **{name: other.sfc_training for name, other in others.items()}},
        "compared": {name: other.provenance["sfc"].describe() for name, other in others.items()},
        "length": loaded.settings.length,
        "seed": seed,
        "seed_split": seeds.split_of(seed),
        "num_clips": num_clips,
        "synth_version": synth_version,
        "dense_top1": correct["dense"] / num_clips,
        "center_top1": correct["centre"] / num_clips,
        "sfc_top1": correct["sfc"] / num_clips,
        "sfc_agreement_with_dense": agreement / num_clips,
        "hit_rate": float(np.mean(hits["sfc"])),
        "uniform_hit_rate": float(np.mean(uniform)),
        "hit_rate_ceiling": float(np.mean(ceiling)),
        "strategies": {name: {"top1": correct[name] / num_clips, "hit_rate": float(np.mean(hits[name])),
                              "flops": flops.get(name)} for name in strategies},
        "random_draws": random_draws,
        "flops_ratio": median_ratio("flops"),
        "time_ratio": median_ratio("model_time_s"),
        "memory_ratio": median_ratio("peak_memory_bytes"),
        "profiled_clips": len(profiles["sfc"]),
        "device": profiles["sfc"][0].device if profiles["sfc"] else None,
        "environment": environment(loaded.device),
    }
