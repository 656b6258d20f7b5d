"""A backbone as an ordered list of named stages, so it can be cut into a head and a tail.

Every architecture in this package subclasses `StagedBackbone` and lists its stages in order
(`stem`, `res2` ... `res5`, `classifier`). The head and the tail returned by `split` are
`nn.Sequential`s over the *same* stage modules (no copies), so `tail(head(x))` runs exactly the
operations of `model(x)` and the results are bit-identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError


class StagedBackbone(nn.Module):
    """Base class: subclasses implement `named_stages` in forward order."""

    def named_stages(self) -> list[tuple[str, nn.Module]]:
        raise NotImplementedError

    @property
    def stage_names(self) -> list[str]:
        return [name for name, _ in self.named_stages()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _, stage in self.named_stages():
            x = stage(x)
        return x

    def split(self, after: str) -> tuple[nn.Sequential, nn.Sequential]:
        """Cut after stage `after`: returns (head, tail) sharing this model's parameters. The same cut
        returns the same two modules every time, so what is built per module (a compiled backend's
        networks, a head's streaming plan) is built once."""
        names = self.stage_names
        splittable = names[:-1]  # the classifier must stay in the tail
        if after not in splittable:
            raise ConfigError(f"cannot split after {after!r}; choose one of {splittable}")
        splits = self.__dict__.setdefault("_splits", {})  # not a submodule: the stages are registered already
        if after not in splits:
            cut = names.index(after) + 1
            stages = self.named_stages()
            splits[after] = _sequential(stages[:cut]), _sequential(stages[cut:])
        return splits[after]


def _sequential(stages: Sequence[tuple[str, nn.Module]]) -> nn.Sequential:
    seq = nn.Sequential()
    for name, module in stages:
        seq.add_module(name, module)
    return seq
