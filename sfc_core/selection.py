"""Ways of choosing which of the head's temporal positions the tail sees, as one concept.

Every strategy picks kept positions from the head's output of one long clip, and the same frozen tail
classifies them, so strategies compare on equal terms (same clip, same head, same tail):

- "sfc": the model's SFC module (trained, or its training-free score when none is trained); the tail
  gets SFC's output (kept features plus what its attention gathered from the whole clip);
- "change", "distinctiveness", "energy": the training-free scores (`sfc_core.sfc`);
- "uniform": one position at the centre of each of K equal stretches of the clip;
- "random": K positions drawn without replacement (seeded: `draws` draws are averaged);
- "oracle": needs ground truth: the K positions whose receptive fields overlap the action window most
  (ties: the nearest to the window's middle), the best choice a selector could make;
- "manual": positions given by a person.

All but "sfc" give the tail the real head features of the kept positions, as an untrained SFC does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .chunked_head import TemporalGeometry, position_centres
from .errors import ConfigError
from .sfc import TRAINING_FREE_SCORES, Compressor, TrainingFreeSFC, take

STRATEGIES = ("sfc", *TRAINING_FREE_SCORES, "uniform", "random", "oracle", "manual")


@dataclass(frozen=True)
class Selection:
    strategy: str
    kept: list[int]  # ascending head positions
    probabilities: torch.Tensor  # (num_classes,)


def uniform(num_positions: int, keep: int) -> list[int]:
    """The centre position of each of `keep` equal stretches."""
    return [int((k + 0.5) * num_positions / keep) for k in range(keep)]


def random_positions(num_positions: int, keep: int, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(num_positions, generator=generator)[:keep].tolist())


def oracle(sampled: list[int], num_positions: int, keep: int, window: tuple[int, int],
           geometry: TemporalGeometry) -> list[int]:
    """The `keep` positions whose receptive fields hold the most sampled frames inside `window` (source
    frames, inclusive), ties going to the position whose centre is nearest the window's middle. (A count,
    not a share: a field cut short by the clip's end must not win by having fewer frames outside.)"""
    start, end = window
    middle = (start + end) / 2
    centres = position_centres(len(sampled), num_positions, geometry)

    def rank(position: int) -> tuple[int, float]:
        first, last = geometry.field(position)
        inside = sum(start <= frame <= end for frame in sampled[max(0, first) : last + 1])
        return -inside, abs(sampled[centres[position]] - middle)

    return sorted(sorted(range(num_positions), key=rank)[:keep])


def manual(positions: list[int], num_positions: int) -> list[int]:
    chosen = sorted(set(int(p) for p in positions))
    if not chosen or chosen[0] < 0 or chosen[-1] >= num_positions:
        raise ConfigError(f"manual positions must be 1 or more of 0..{num_positions - 1}, not {positions}")
    return chosen


def _check_keep(keep: int, num_positions: int) -> None:
    if not 1 <= keep <= num_positions:
        raise ConfigError(f"keep must be 1..{num_positions} (the head's positions for this clip), not {keep}")


class Selector:
    """Runs any strategy on the head features of one clip (1, C, T, H, W) with a model's SFC and tail."""

    def __init__(self, sfc: Compressor, tail: torch.nn.Module, geometry: TemporalGeometry) -> None:
        self.sfc, self.tail, self.geometry = sfc, tail, geometry
        self._scorers: dict[tuple[str, int], TrainingFreeSFC] = {}

    def kept(self, strategy: str, features: torch.Tensor, keep: int, *, seed: int = 0,
             sampled: list[int] | None = None, window: tuple[int, int] | None = None,
             positions: list[int] | None = None) -> list[int]:
        """The positions `strategy` keeps (`sampled` and `window` for "oracle", `positions` for "manual")."""
        num_positions = features.shape[2]
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if strategy == "manual":
            return manual(positions or [], num_positions)
        _check_keep(keep, num_positions)
        if strategy == "sfc":
            return self._compress(self.sfc, features).kept[0].tolist()
        if strategy in TRAINING_FREE_SCORES:
            return self._compress(self._scorer(strategy, keep), features).kept[0].tolist()
        if strategy == "uniform":
            return uniform(num_positions, keep)
        if strategy == "random":
            return random_positions(num_positions, keep, seed)
        if sampled is None or window is None:
            raise ConfigError("the oracle needs the ground-truth action window")
        return oracle(sampled, num_positions, keep, window, self.geometry)

    @torch.inference_mode()
    def select(self, strategy: str, features: torch.Tensor, keep: int | None = None, **options) -> Selection:
        """Kept positions and the tail's probabilities on them (keep: the SFC's by default; "sfc" at
        another keep ranks positions by the SFC's own scores and gives the tail their features)."""
        keep = keep or self.sfc.keep
        if strategy == "sfc":  # exactly as a request runs it
            _check_keep(keep, features.shape[2])
            out = self._compress(self.sfc, features)
            if keep == self.sfc.keep:
                return Selection(strategy, out.kept[0].tolist(), self._classify(out.features))
            kept = sorted(out.scores[0].topk(keep).indices.tolist())  # another K: SFC's own scores, ranked
        else:
            kept = self.kept(strategy, features, keep, **options)
        chosen = take(features, torch.tensor([kept], device=features.device))
        if self.sfc.spatial_stride > 1:
            stride = self.sfc.spatial_stride
            chosen = F.avg_pool3d(chosen, (1, stride, stride))
        return Selection(strategy, kept, self._classify(chosen))

    def _classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.tail(features).float().softmax(dim=1)[0]

    @staticmethod
    def _compress(compressor: Compressor, features: torch.Tensor):
        return compressor.compress(iter([features]), features.shape[2])

    def _scorer(self, score: str, keep: int) -> TrainingFreeSFC:
        if (score, keep) not in self._scorers:
            self._scorers[(score, keep)] = TrainingFreeSFC(self.sfc.channels, keep, score).eval()
        return self._scorers[(score, keep)]

