"""What SFC is trained to do, as one function: `sfc_objective(...)` returns the loss and its named terms.

- distillation: KL divergence to the dense 30-view teacher at temperature T (scaled by T^2), so
  unlabelled videos train SFC too;
- selection: cross-entropy between the softmax of SFC's position scores and a target distribution
  over positions (how useful each position is to the frozen tail: see `training.targets`), so the
  scorer learns which moments matter without frame-level labels; when a video's action window is
  known (SynthActions, or any dataset with temporal annotations) a share `window_target` of that
  target is put evenly on the positions inside the window instead;
- classification: cross-entropy on the labels of the videos that have one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ObjectiveWeights:
    distill: float = 1.0  # weight of the distillation term
    selection: float = 3.0  # weight of the selection term
    temperature: float = 2.0  # distillation temperature
    usefulness_temperature: float = 0.5  # sharpness of the selection target
    window_target: float = 0.5  # share of the selection target from the known action window (0: label-free)


@dataclass
class ObjectiveTerms:
    loss: torch.Tensor  # the weighted sum, to back-propagate
    distillation: float
    selection: float
    classification: float | None  # None when no video in the batch has a label


def sfc_objective(
    logits: torch.Tensor,
    scores: torch.Tensor,
    teacher: torch.Tensor,
    usefulness: torch.Tensor,
    labels: torch.Tensor,
    weights: ObjectiveWeights = ObjectiveWeights(),
    in_window: torch.Tensor | None = None,
) -> ObjectiveTerms:
    """logits (B, classes) from the tail on SFC's output; scores (B, T) SFC's position scores;
    teacher (B, classes) dense probabilities; usefulness (B, T) selection targets; labels (B,) with
    -1 for an unlabelled video; in_window (B, T) bool, the positions inside the action (a row of
    all False: window unknown for that video)."""
    t = weights.temperature
    soft_teacher = F.softmax(teacher.clamp_min(1e-8).log() / t, dim=1)
    distillation = t * t * F.kl_div(F.log_softmax(logits / t, dim=1), soft_teacher, reduction="batchmean")
    target = F.softmax(usefulness / weights.usefulness_temperature, dim=1)
    if in_window is not None and weights.window_target > 0:
        inside = in_window.float()
        known = inside.sum(dim=1, keepdim=True) > 0
        window = inside / inside.sum(dim=1, keepdim=True).clamp_min(1)
        mixed = (1 - weights.window_target) * target + weights.window_target * window
        target = torch.where(known, mixed, target)
    selection = -(target * F.log_softmax(scores, dim=1)).sum(dim=1).mean()
    loss = weights.distill * distillation + weights.selection * selection
    labelled = labels >= 0
    classification = None
    if labelled.any():
        cross_entropy = F.cross_entropy(logits[labelled], labels[labelled])
        loss = loss + cross_entropy
        classification = cross_entropy.item()
    return ObjectiveTerms(loss, distillation.item(), selection.item(), classification)
