"""Selective Feature Compression (Liu et al., ICCV 2021).

The paper does not publish its exact layers; this is our specification of them.

Input: head features X (B, C, T, H, W) of one long clip. Output: Z (B, C, K, H/s, W/s) with K the
number of temporal positions the tail was trained on, so the unchanged tail classifies Z once.

1. Abstraction: 1x1x1 conv C -> Ca (default min(128, C)), GroupNorm, ReLU, temporal (3,1,1) conv, ReLU: a cheap
   description of every position with a little temporal context.
2. Selective TopK: a linear score per temporal position (abstraction features averaged over
   space); the top K positions are kept in temporal order. The kept features are multiplied by
   exp(log p - stop_grad(log p)) with p = softmax(scores): exactly 1 in the forward pass, but it
   carries the loss gradient into every score (kept and dropped), so the selection is learned.
3. Attention: queries from the kept abstraction features (K x H/s x W/s), keys from all
   abstraction features and values from X projected to Ca, both average-pooled by `kv_stride`
   in space (every temporal position stays: the point is to reach evidence anywhere in time).
   Full-resolution keys at L=64 on a 256 px SlowOnly head would cost more than the head itself.
4. Z = X[kept] + W_out(attention), W_out zero-initialised: an untrained SFC is exact TopK
   selection of real head features, which the tail already understands.
5. Diagnostics: kept positions, all scores, and the attention weights averaged over queries per
   key position (T x Hk x Wk), which the pipeline maps back to source frames.

Training-free SFC (`scoring` other than "learned"): for a backbone with no trained SFC, positions
are scored without any learned weight, straight from the head features, and the tail gets the
real features of the kept positions (what a zero-initialised W_out gives too). Its "attention"
diagnostic is the score's own map over (T, H, W): where the evidence for keeping a moment is.
  - "change": how much the features move between neighbouring positions (motion);
  - "distinctiveness": how far each location is from its own average over the clip;
  - "energy": the features' magnitude.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError, WeightsError
from .models.layers import Conv3d


@dataclass
class SFCOutput:
    features: torch.Tensor  # (B, C, K, H/s, W/s), what the tail consumes
    kept: torch.Tensor  # (B, K) kept temporal positions, ascending
    scores: torch.Tensor  # (B, T) selection score of every temporal position
    attention: torch.Tensor | None  # (B, T, Hk, Wk) mean attention weight per key position


def chunked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk_elements: int = 1 << 24
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention over query chunks, also returning each key's mean weight over queries.

    Holds at most `chunk_elements` attention weights per batch item at once, so a 64-frame clip
    never materialises the full (queries x keys) matrix. q (B, Nq, D), k (B, Nk, D), v (B, Nk, Dv).
    """
    num_queries, num_keys = q.shape[1], k.shape[1]
    chunk = max(1, chunk_elements // num_keys)
    scale = q.shape[-1] ** -0.5
    outputs, key_weight = [], q.new_zeros(q.shape[0], num_keys)
    for start in range(0, num_queries, chunk):
        weights = torch.softmax((q[:, start : start + chunk] @ k.transpose(1, 2)) * scale, dim=-1)
        outputs.append(weights @ v)
        key_weight = key_weight + weights.sum(dim=1)
    return torch.cat(outputs, dim=1), key_weight / num_queries


def _take(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Gather temporal positions (B, K) from (B, C, T, H, W)."""
    batch, channels, _, height, width = x.shape
    index = positions.view(batch, 1, -1, 1, 1).expand(batch, channels, positions.shape[1], height, width)
    return torch.gather(x, 2, index)


LEARNED = "learned"
TRAINING_FREE_SCORES = ("change", "distinctiveness", "energy")
DEFAULT_TRAINING_FREE = "change"


def training_free_maps(x: torch.Tensor, method: str) -> torch.Tensor:
    """Parameter-free evidence per position (B, T, H, W) from head features (B, C, T, H, W)."""
    if method == "energy":
        return x.norm(dim=1)
    if method == "distinctiveness":
        return (x - x.mean(dim=2, keepdim=True)).norm(dim=1)
    if method == "change":
        step = (x[:, :, 1:] - x[:, :, :-1]).norm(dim=1)  # (B, T-1, H, W): between neighbours
        padded = F.pad(step, (0, 0, 0, 0, 1, 1), mode="replicate")
        return (padded[:, :-1] + padded[:, 1:]) / 2  # each position: mean of its two sides
    raise ConfigError(f"unknown training-free scoring {method!r}; choose one of {TRAINING_FREE_SCORES}")


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, T*H*W, C)."""
    return x.flatten(2).transpose(1, 2)


class SFC(nn.Module):
    def __init__(
        self,
        channels: int,
        keep: int,
        abstraction_channels: int | None = None,
        spatial_stride: int = 1,
        kv_stride: int = 2,
        chunk_elements: int = 1 << 24,
        selection_noise: float = 0.0,
        scoring: str = LEARNED,
    ) -> None:
        super().__init__()
        if keep < 1 or spatial_stride < 1 or kv_stride < 1:
            raise ConfigError("keep, spatial_stride and kv_stride must be >= 1")
        if scoring != LEARNED and scoring not in TRAINING_FREE_SCORES:
            raise ConfigError(f"unknown scoring {scoring!r}; choose {LEARNED!r} or one of {TRAINING_FREE_SCORES}")
        self.channels, self.keep, self.scoring = channels, keep, scoring
        # A description of each position, never wider than the features it describes.
        self.abstraction_channels = abstraction_channels or min(128, channels)
        self.spatial_stride, self.kv_stride, self.chunk_elements = spatial_stride, kv_stride, chunk_elements
        self.selection_noise = selection_noise  # Gumbel scale for exploring selections; training only
        if scoring != LEARNED:
            return  # training-free: no weights at all
        width = self.abstraction_channels
        self.abstraction = nn.Sequential(
            Conv3d(channels, width, 1, bias=False),
            nn.GroupNorm(math.gcd(8, width), width),
            nn.ReLU(inplace=True),
            Conv3d(width, width, (3, 1, 1), padding=(1, 0, 0)),
            nn.ReLU(inplace=True),
        )
        self.scorer = nn.Linear(width, 1)
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(channels, width, bias=False)
        self.out = nn.Linear(width, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, diagnostics: bool = True) -> SFCOutput:
        batch, channels, frames, _, _ = x.shape
        if channels != self.channels:
            raise ConfigError(f"SFC expects {self.channels} channels, got {channels}")
        if frames < self.keep:
            raise ConfigError(f"SFC keeps {self.keep} temporal positions but the head produced only {frames}")
        if self.scoring != LEARNED:
            return self._training_free(x)
        abstract = self.abstraction(x)
        scores = self.scorer(abstract.mean(dim=(3, 4)).transpose(1, 2)).squeeze(-1)  # (B, T)
        ranking = scores
        if self.training and self.selection_noise > 0:  # explore: sometimes keep lower-scored positions
            gumbel = -torch.log(-torch.log(torch.rand_like(scores).clamp_min(1e-9)))
            ranking = scores + self.selection_noise * gumbel
        kept = ranking.detach().topk(self.keep, dim=1).indices.sort(dim=1).values
        log_p = scores.log_softmax(dim=1).gather(1, kept)
        gate = (log_p - log_p.detach()).exp()  # == 1 exactly; carries the scores' gradient

        kept_abstract, kept_x = _take(abstract, kept), _take(x, kept)
        if self.spatial_stride > 1:
            pool = (1, self.spatial_stride, self.spatial_stride)
            kept_abstract, kept_x = F.avg_pool3d(kept_abstract, pool), F.avg_pool3d(kept_x, pool)
        key_abstract, key_x = abstract, x
        if self.kv_stride > 1:
            pool = (1, self.kv_stride, self.kv_stride)
            key_abstract = F.avg_pool3d(abstract, pool, ceil_mode=True)
            key_x = F.avg_pool3d(x, pool, ceil_mode=True)

        q = self.query(_tokens(kept_abstract))
        k, v = self.key(_tokens(key_abstract)), self.value(_tokens(key_x))
        key_weight = None
        if torch.is_grad_enabled():  # training: fused attention with a memory-efficient backward
            attended = F.scaled_dot_product_attention(q, k, v)
            if diagnostics:
                with torch.no_grad():
                    key_weight = chunked_attention(q, k, v, self.chunk_elements)[1]
        elif diagnostics:
            attended, key_weight = chunked_attention(q, k, v, self.chunk_elements)
        else:
            attended = F.scaled_dot_product_attention(q, k, v)

        delta = self.out(attended).transpose(1, 2).reshape(kept_x.shape)
        features = (kept_x + delta) * gate.view(batch, 1, self.keep, 1, 1)
        attention = None
        if key_weight is not None:
            attention = key_weight.view(batch, frames, *key_abstract.shape[-2:])
        return SFCOutput(features=features, kept=kept, scores=scores, attention=attention)

    def _training_free(self, x: torch.Tensor) -> SFCOutput:
        maps = training_free_maps(x, self.scoring)
        scores = maps.mean(dim=(2, 3))
        kept = scores.topk(self.keep, dim=1).indices.sort(dim=1).values
        features = _take(x, kept)
        if self.spatial_stride > 1:
            features = F.avg_pool3d(features, (1, self.spatial_stride, self.spatial_stride))
        attention = maps / maps.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
        return SFCOutput(features=features, kept=kept, scores=scores, attention=attention)


def sfc_config(module: SFC) -> dict[str, int | str]:
    """The constructor arguments that an SFC checkpoint must record to be rebuilt."""
    return {
        "channels": module.channels,
        "keep": module.keep,
        "abstraction_channels": module.abstraction_channels,
        "spatial_stride": module.spatial_stride,
        "kv_stride": module.kv_stride,
        "scoring": module.scoring,
    }


def save_sfc(path: str | Path, module: SFC, meta: dict) -> None:
    """Save SFC weights with their config and `meta` (backbone, split, length, training facts)."""
    torch.save({"config": sfc_config(module), "meta": meta, "state_dict": module.state_dict()}, Path(path))


def load_sfc(path: str | Path) -> tuple[SFC, dict]:
    """Rebuild an SFC module from `save_sfc`'s file (read with weights_only=True)."""
    try:
        checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True)
        module = SFC(**checkpoint["config"])
        module.load_state_dict(checkpoint["state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError) as error:
        raise WeightsError(f"{Path(path).name} is not an SFC checkpoint ({type(error).__name__}: {error})") from None
    return module.eval(), checkpoint.get("meta", {})
