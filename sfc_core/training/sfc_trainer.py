"""Train SFC with the backbone frozen: one process, or one rank of a `torchrun` job.

Each rank computes the targets (`training.targets`) of every world_size-th video once, then trains
on them; DDP averages the gradients, every rank takes the same number of steps, and the state is
saved atomically every epoch so `resume` continues where a run stopped.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import astuple, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import hub, seeds, synth
from ..errors import ConfigError
from ..objective import ObjectiveWeights, sfc_objective
from ..options import DEFAULT_LENGTH
from ..pipeline import SFCRecognizer
from ..sfc import SFC, prior_scores, save_sfc, written_before_streaming
from . import distributed
from .checkpoint import load_state, save_state
from .targets import CachedVideo, cache_videos, head_features, list_videos, read_action_windows, read_labels


@dataclass(frozen=True)
class SFCTrainingConfig:
    """Everything one SFC training run depends on; the defaults reproduce the embedded model's SFC."""

    out: Path
    model: str = "tiny"
    backbone: str | Path = hub.AUTO  # as in hub.load
    videos: Path | None = None  # a folder of videos; None: generate `clips` SynthActions clips
    labels: Path | None = None  # CSV with file,label columns; None: distillation only
    clips: int = 400
    length: int = DEFAULT_LENGTH
    split: str | None = None
    spatial_stride: int = 1
    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-3
    objective: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    selection_noise: float = 0.5  # Gumbel noise on the scores while training, to explore selections
    scorer_priors: bool = True  # score = streaming training-free scores (from "change") + a learned correction
    usefulness_window: int | None = None  # positions per tail window of the selection target (None: keep)
    cache: Path | None = None  # save (or reuse) the per-video targets and features here
    features: str = "memory"  # "memory": cache head features; "recompute": from the videos at every step
    checkpoint: Path | None = None  # resumable state (default: `out` with .ckpt.pt)
    resume: bool = False
    seed: int = 1
    synth_version: int = synth.VERSION  # SynthActions version, when `videos` is None


@dataclass
class _Totals:
    """Sums over one epoch's batches, reduced over ranks before they become metrics."""

    loss: float = 0.0
    items: float = 0.0
    correct: float = 0.0
    labelled: float = 0.0
    agreements: float = 0.0  # SFC's top-1 equals the dense teacher's
    hits: float = 0.0  # sum over videos of the fraction of kept positions inside the action
    hit_items: float = 0.0

    def reduced(self, context: distributed.Context) -> _Totals:
        return _Totals(*distributed.reduce(list(astuple(self)), context))

    def metrics(self) -> dict:
        return {
            "loss": self.loss / max(self.items, 1),
            "top1": self.correct / self.labelled if self.labelled else None,
            "agreement_with_dense": self.agreements / max(self.items, 1),
            "hit_rate": self.hits / self.hit_items if self.hit_items else None,
        }


def _epoch(sfc, recognizer: SFCRecognizer, cached: list[CachedVideo], optimizer, config: SFCTrainingConfig,
           rng: np.random.Generator, steps: int, train: bool) -> _Totals:
    """One pass over `steps` batches of this rank's videos."""
    sfc.train(train)
    device = recognizer.device
    order = rng.permutation(len(cached)) if train else np.arange(len(cached))
    totals = _Totals()
    for b in range(0, steps * config.batch_size, config.batch_size):
        items = [cached[i] for i in order[b : b + config.batch_size]]
        x = head_features(items, recognizer)
        teacher = torch.stack([item.teacher for item in items]).to(device)
        usefulness = torch.stack([item.usefulness for item in items]).to(device)
        labels = torch.tensor([-1 if item.label is None else item.label for item in items], device=device)
        in_window = torch.stack([torch.zeros_like(item.usefulness, dtype=torch.bool) if item.in_window is None
                                 else item.in_window for item in items]).to(device)
        with torch.set_grad_enabled(train):
            out = sfc(x, diagnostics=False)
            logits = recognizer.tail(out.features)
            terms = sfc_objective(logits, out.scores, teacher, usefulness, labels, config.objective, in_window)
            if train:
                optimizer.zero_grad()
                terms.loss.backward()
                optimizer.step()
        predicted, labelled = logits.argmax(1), labels >= 0
        totals.loss += terms.loss.item() * len(items)
        totals.items += len(items)
        totals.correct += (predicted[labelled] == labels[labelled]).sum().item()
        totals.labelled += labelled.sum().item()
        totals.agreements += (predicted == teacher.argmax(1)).sum().item()
        for item, kept in zip(items, out.kept.cpu()):
            if item.in_window is not None:
                totals.hits += item.in_window[kept].float().mean().item()
                totals.hit_items += 1
    return totals


def _targets(config: SFCTrainingConfig, model: hub.SFCModel, context: distributed.Context) -> list[CachedVideo]:
    """This rank's share of the training videos' targets: from `cache`, or computed now."""
    if config.cache is not None and config.cache.exists():
        cached = [CachedVideo(**item) for item in torch.load(config.cache, weights_only=True)]
        return cached[context.rank :: context.world_size]
    with tempfile.TemporaryDirectory() as scratch:
        directory, labels_csv = config.videos, config.labels
        if directory is None:  # SynthActions, labelled, with ground-truth windows
            directory = Path(scratch) / "train"
            synth.write_dataset(directory, config.clips, config.seed, version=config.synth_version)
            labels_csv = directory / "labels.csv"
        videos = list_videos(directory)[context.rank :: context.world_size]
        labels, windows = read_labels(labels_csv, model.labels), read_action_windows(directory)
        cached = cache_videos(videos, labels, windows, model.dense_recognizer(), model.sfc_recognizer(),
                              keep_features=config.features == "memory", usefulness_window=config.usefulness_window)
    if config.cache is not None and context.world_size == 1:
        torch.save([vars(item) for item in cached], config.cache)
    return cached


def _frozen_model(config: SFCTrainingConfig, context: distributed.Context) -> hub.SFCModel:
    """The frozen backbone (rank 0 downloads published weights first) and an SFC of the right shape."""
    def load() -> hub.SFCModel:
        return hub.load(config.model, config.backbone, hub.UNTRAINED, context.device, length=config.length,
                        split=config.split, spatial_stride=config.spatial_stride)

    if not context.is_main:
        distributed.barrier(context)  # until rank 0 has the weights
    model = load()
    if context.is_main:
        distributed.barrier(context)
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(False)
    return model


def _standardise_priors(sfc: SFC, recognizer: SFCRecognizer, train_set: list[CachedVideo], batch_size: int,
                        context: distributed.Context) -> None:
    """The priors' standardisation from every rank's training clips: sums of each prior score and of its
    square over all their positions, reduced over ranks (a resumed run loads the same from its state)."""
    raw = torch.cat([prior_scores(head_features(train_set[b : b + batch_size], recognizer)).cpu().double()
                     for b in range(0, len(train_set), batch_size)])  # (N, 2, T)
    count, sums, squares = raw[:, 0].numel(), raw.sum(dim=(0, 2)), raw.square().sum(dim=(0, 2))
    totals = distributed.reduce([count, *sums.tolist(), *squares.tolist()], context)
    count, sums, squares = totals[0], torch.tensor(totals[1:3]), torch.tensor(totals[3:5])
    mean = sums / count
    sfc.set_prior_statistics(mean, ((squares / count - mean.square()) * count / max(count - 1, 1)).sqrt())


def training_record(config: SFCTrainingConfig, labelled: bool, windows: bool, command: str | None) -> dict:
    """What an SFC was trained with, saved in its checkpoint so every report on it can say so: the
    weight of each loss term, whether labels and action-window annotations took part (`labelled`,
    `windows`: whether any training video had them), the seeds."""
    objective = config.objective
    return {
        "objective": {
            "distillation": objective.distill,
            "classification": 1.0 if labelled else 0.0,
            "selection": objective.selection,
            "window_target": objective.window_target if objective.selection > 0 and windows else 0.0,
            "temperature": objective.temperature,
            "usefulness_temperature": objective.usefulness_temperature,
        },
        "annotations_used": windows and objective.selection > 0 and objective.window_target > 0,
        "labels_used": labelled,
        "scorer_priors": config.scorer_priors,
        "data": f"SynthActions v{config.synth_version}" if config.videos is None else str(config.videos),
        "training_seed": config.seed if config.videos is None else None,
        "validation": "the last 10% of the training videos, every epoch",
        "command": command,
    }


def train_sfc(config: SFCTrainingConfig, command: str | None = None) -> dict:
    """Train SFC on the frozen backbone and save it to `config.out` with its `training_record`
    (`command`: the command line that ran, for the record); returns the run's log."""
    if config.videos is None:
        seeds.refuse_held_out(config.seed, "training")
    if config.features not in ("memory", "recompute"):
        raise ConfigError(f"features must be 'memory' or 'recompute', not {config.features!r}")
    if config.features == "recompute" and config.videos is None:
        raise ConfigError("--features recompute reads the videos at every step: give them with --videos DIR")
    context = distributed.setup()
    torch.manual_seed(config.seed)
    model = _frozen_model(config, context)
    recognizer = model.sfc_recognizer()
    cached = _targets(config, model, context)
    split_at = max(1, int(len(cached) * 0.9))
    train_set, val_set = cached[:split_at], cached[split_at:]
    # Every rank must take the same number of steps, or DDP waits forever for the shortest one.
    batches = [-(-len(train_set) // config.batch_size), -(-len(val_set) // config.batch_size)]
    train_steps, val_steps = (int(n) for n in distributed.reduce(batches, context, op="min"))

    torch.manual_seed(config.seed)  # the same initial SFC on every rank (DDP also broadcasts rank 0's)
    sfc = SFC(model.sfc.channels, model.settings.keep, spatial_stride=model.settings.spatial_stride,
              selection_noise=config.selection_noise, priors=config.scorer_priors).to(context.device)
    optimizer = torch.optim.AdamW(sfc.parameters(), lr=config.lr, weight_decay=1e-4)
    checkpoint_path = config.checkpoint or config.out.with_suffix(".ckpt.pt")
    start_epoch, step, log = 0, 0, []
    state = load_state(checkpoint_path, context.device) if config.resume else None
    if state is not None:
        if written_before_streaming(state.get("normalisation"), state["sfc"]):
            raise ConfigError(f"{checkpoint_path} was written by SFC Studio before 0.6 (whole-clip normalisation "
                              "or unstandardised priors): start again without --resume")
        sfc.load_state_dict(state["sfc"])  # the priors' statistics too
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step, log = state["epoch"], state["step"], state["log"]
    elif config.scorer_priors:
        _standardise_priors(sfc, recognizer, train_set, config.batch_size, context)
    trained = DistributedDataParallel(sfc) if context.world_size > 1 else sfc
    begin = time.time()
    for epoch in tqdm(range(start_epoch, config.epochs), desc="SFC epochs", disable=not context.is_main):
        rng = np.random.default_rng((config.seed, epoch, context.rank))  # resumable without saving RNG state
        torch.manual_seed(config.seed * 100_003 + epoch * context.world_size + context.rank)
        totals = _epoch(trained, recognizer, train_set, optimizer, config, rng, train_steps, True)
        step += train_steps
        entry = {"epoch": epoch + 1, "step": step, "train": totals.reduced(context).metrics()}
        if val_steps:
            totals = _epoch(sfc, recognizer, val_set, None, config, rng, val_steps, False)
            entry["val"] = totals.reduced(context).metrics()
        log.append(entry)
        if context.is_main:
            tqdm.write(json.dumps(entry))
            save_state(checkpoint_path, {"sfc": sfc.state_dict(), "optimizer": optimizer.state_dict(),
                                         "epoch": epoch + 1, "step": step, "log": log,
                                         "normalisation": "position"})
    flat = torch.cat([p.detach().flatten() for p in sfc.parameters()])
    rank_difference = distributed.max_difference_from_rank0(flat, context)
    sfc.selection_noise = 0.0
    meta = {
        "backbone": config.model,
        "backbone_weights": model.provenance["backbone"].source or model.provenance["backbone"].kind,
        "split": model.settings.split,
        "length": model.settings.length,
        "trained_on": "SynthActions" if config.videos is None else str(config.videos),
        "num_videos": int(distributed.reduce([len(cached)], context)[0]),
        "seed": config.seed,
        "training": training_record(config, any(item.label is not None for item in cached),
                                    any(item.in_window is not None for item in cached), command),
    }
    if context.is_main:
        save_sfc(config.out, sfc.cpu(), meta)
    distributed.teardown(context)
    return {
        "seconds": time.time() - begin,
        "world_size": context.world_size,
        "device": str(context.device),
        "steps": step,
        "resumed_from_epoch": start_epoch or None,
        "max_weight_difference_between_ranks": rank_difference,
        "is_main": context.is_main,
        "log": log,
    }
