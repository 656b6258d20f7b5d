"""Selective Feature Compression (Liu et al., ICCV 2021).

The paper does not publish its exact layers; this is our specification of them.

Input: head features X (B, C, T, H, W) of one long clip. Output: Z (B, C, K, H/s, W/s) with K the
number of temporal positions the tail was trained on, so the unchanged tail classifies Z once.

1. Abstraction: 1x1x1 conv C -> Ca (default min(128, C)), GroupNorm, ReLU, temporal (3,1,1) conv, ReLU: a cheap
   description of every position with a little temporal context. The GroupNorm normalises each temporal
   position on its own (its channel groups over space: `PositionNorm`), so a position's description needs
   only it and its two neighbours and the module streams over the head's output like the training-free
   scores.
2. Selective TopK: a linear score per temporal position (abstraction features averaged over
   space); the top K positions are kept in temporal order. With `priors`, the score also weighs the
   position's streaming training-free scores ("change" and "energy", standardised with statistics of the
   training set that the module keeps, so a position's score never waits for the rest of the clip),
   starting from "change" alone (the linear part starts at zero): training learns a correction to the
   heuristic, and where the heuristic is right there is nothing to unlearn. The kept features are multiplied by
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

Training-free SFC (`TrainingFreeSFC`): for a backbone with no trained SFC, positions are scored
without any learned weight, straight from the head features, and the tail gets the real features
of the kept positions (what a zero-initialised W_out gives too). Its "attention" diagnostic is the
score's own map over (T, H, W): where the evidence for keeping a moment is.
  - "change": how much the features move between neighbouring positions (motion);
  - "distinctiveness": how far each location is from its own average over the clip;
  - "energy": the features' magnitude.

Both kinds answer the same interface (`Compressor`): `compress(blocks, capacity)`, SFC over head
features that arrive as consecutive temporal blocks, is how every request and selection runs them;
the learned module's `forward` is its training pass (and the reference its inference is tested
against). Streaming: the learned module holds, besides a block, only its running top-K (features and
abstraction of K positions) and every position's pooled key and value (C_a wide, `kv_stride`^2 times
smaller than the head's output).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .chunked_head import collect, memory_format
from .errors import ConfigError, WeightsError
from .models.layers import Conv3d

ATTENTION_CHUNK = 1 << 21  # attention weights held at once per batch item, at most (8 MiB in float32)
# A chunk may hold this many whatever the keys' size (1 MiB in float32): the embedded model's attention (2048
# queries and keys) took 1.3-1.6x longer in chunks of 32 queries than of 128 on a 2-core CPU; 256 spill the cache.
SMALL_ATTENTION_CHUNK = 1 << 18


@dataclass
class SFCOutput:
    features: torch.Tensor  # (B, C, K, H/s, W/s), what the tail consumes
    kept: torch.Tensor  # (B, K) kept temporal positions, ascending
    scores: torch.Tensor  # (B, T) selection score of every temporal position
    attention: torch.Tensor | None  # (B, T, Hk, Wk) mean attention weight per key position


def chunked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk_elements: int = ATTENTION_CHUNK,
    sink: Callable[[int, torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Softmax attention over query chunks, also returning each key's mean weight over queries.

    Holds at most `chunk_elements` attention weights per batch item at once, so a 64-frame clip
    never materialises the full (queries x keys) matrix. q (B, Nq, D), k (B, Nk, D), v (B, Nk, Dv).
    With `sink`, each chunk's output goes to `sink(first query, output)` instead (and None is returned
    for the output): the whole output is never held either.
    """
    num_queries, num_keys = q.shape[1], k.shape[1]
    chunk = max(1, chunk_elements // num_keys)
    q, keys = q * q.shape[-1] ** -0.5, k.transpose(1, 2)  # scaled once, not every chunk's weights
    outputs, key_weight = [], q.new_zeros(q.shape[0], num_keys)
    for start in range(0, num_queries, chunk):
        weights = torch.softmax(q[:, start : start + chunk] @ keys, dim=-1)
        key_weight += weights.sum(dim=1)
        if sink is None:
            outputs.append(weights @ v)
        else:
            sink(start, weights @ v)
        del weights  # freed before the next chunk's are made
    return (torch.cat(outputs, dim=1) if sink is None else None), key_weight / num_queries


def take(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Gather temporal positions (B, K) from (B, C, T, H, W)."""
    batch, channels, _, height, width = x.shape
    index = positions.view(batch, 1, -1, 1, 1).expand(batch, channels, positions.shape[1], height, width)
    return torch.gather(x, 2, index)


LEARNED = "learned"
TRAINING_FREE_SCORES = ("change", "distinctiveness", "energy")
DEFAULT_TRAINING_FREE = "change"
# Scores that need only a position and its neighbours: computed as the head's output arrives.
STREAMING_SCORES = ("change", "energy")
BLOCK = 8  # temporal positions inference works on at a time: it bounds every temporary of the clip's size,
BLOCK_BYTES = 4 * 2**20  # and so does this much of the head's features (a big model's block has fewer positions)


def block_positions(x: torch.Tensor) -> int:
    """Positions per block of head features like x (B, C, T, H, W): at most BLOCK, and within BLOCK_BYTES."""
    per_position = max(1, math.prod(x.shape[:2] + x.shape[3:])) * x.element_size()  # a block may be empty
    return max(1, min(BLOCK, BLOCK_BYTES // per_position))


class _RunningTopK:
    """The K best-scored positions seen so far, their features (one or more tensors per position, e.g.
    the head's features and their abstraction) copied into buffers (B, C, K, H, W) that are updated in
    place: a block costs one position of extra memory, not K."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.scores = self.positions = self.features = None

    def offer(self, scores: torch.Tensor, first: int, *features: torch.Tensor) -> None:
        """Positions first, first+1, ... with `scores` (B, n) and `features`, each (B, C_i, n, H, W)."""
        batch = scores.shape[0]
        if self.features is None:  # empty slots score -inf: anything replaces them
            self.scores = scores.new_full((batch, self.keep), -math.inf)
            self.positions = torch.full((batch, self.keep), -1, dtype=torch.long, device=scores.device)
            self.features = [f.new_empty(*f.shape[:2], self.keep, *f.shape[3:]) for f in features]
        count = min(self.keep, scores.shape[1])
        best, source = scores.topk(count, dim=1)  # descending
        held, slot = self.scores.sort(dim=1)  # ascending: the i-th best newcomer challenges the i-th worst held
        held, slot = held[:, :count], slot[:, :count]
        wins = best > held  # the i-th best newcomer against the i-th worst held
        self.scores.scatter_(1, slot, torch.where(wins, best, held))
        self.positions.scatter_(1, slot, torch.where(wins, source + first, self.positions.gather(1, slot)))
        if wins.device.type == "meta":  # shapes only (FLOPs counted on the meta device): no values to copy
            return
        # only the winners' features, a position at a time (no temporary of the block's size)
        for row in range(batch):
            for challenge in wins[row].nonzero().flatten().tolist():
                target, origin = int(slot[row, challenge]), int(source[row, challenge])
                for buffer, new in zip(self.features, features):
                    buffer[row, :, target] = new[row, :, origin]

    def result(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Kept positions (B, K) in temporal order and their features, each (B, C_i, K, H, W): the buffers
        themselves, put in that order in place (a copy would hold them twice)."""
        order = self.positions.argsort(dim=1)
        self.positions, self.scores = self.positions.gather(1, order), self.scores.gather(1, order)
        if order.device.type == "meta":  # shapes only (FLOPs counted on the meta device): nothing to permute
            self.features = [take(buffer, order) for buffer in self.features]
            return self.positions, self.features
        for item, permutation in enumerate(order.tolist()):  # follow each cycle of the permutation
            done = [False] * self.keep
            for start in range(self.keep):
                if done[start] or permutation[start] == start:
                    continue
                saved = [buffer[item, :, start].clone() for buffer in self.features]
                slot = start
                while permutation[slot] != start:  # slot takes what permutation[slot] holds
                    for buffer in self.features:
                        buffer[item, :, slot] = buffer[item, :, permutation[slot]]
                    done[slot], slot = True, permutation[slot]
                for buffer, value in zip(self.features, saved):
                    buffer[item, :, slot] = value
                done[slot] = True
        return self.positions, self.features


class _ChangeScore:
    """"change" evidence per position, as blocks of consecutive positions arrive: the mean of the
    feature distance to the previous and to the next position (an end counts its one side twice).
    A position is final once its next neighbour has arrived, so the last one waits (one position)."""

    def __init__(self) -> None:
        self.pending = None  # features (B, C, 1, H, W) of the last position seen: it waits for its right side
        self.pending_left = None  # its distance to its left neighbour (B, H, W); None for the first

    def update(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(evidence maps (B, n, H, W), features (B, C, n, H, W)) of the positions this block
        finalises: the pending one, if any, then all of x but its last."""
        pending, left = self.pending, self.pending_left
        self.pending = x[:, :, -1:].clone()
        steps = [] if pending is None else [(x[:, :, :1] - pending).norm(dim=1)]  # from the position that waited
        size = block_positions(x)
        for first in range(0, x.shape[2] - 1, size):  # then the block's own steps, a block at a time
            last = min(x.shape[2] - 1, first + size)
            steps.append((x[:, :, first + 1 : last + 1] - x[:, :, first:last]).norm(dim=1))
        if not steps:  # a first block of one position: nothing final yet
            return []
        steps = torch.cat(steps, dim=1)  # (B, positions' steps, H, W)
        left = steps[:, :1] if left is None else left.unsqueeze(1)
        self.pending_left = steps[:, -1]
        maps = (torch.cat([left, steps[:, :-1]], dim=1) + steps) / 2
        if pending is None:
            return [(maps, x[:, :, :-1])]
        return [(maps[:, :1], pending), (maps[:, 1:], x[:, :, :-1])]

    def finish(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The last position: its one side counted twice (no neighbours at all: zero evidence)."""
        left = self.pending_left if self.pending_left is not None else self.pending.new_zeros(
            self.pending.shape[0], *self.pending.shape[3:])
        return [(((left + left) / 2).unsqueeze(1), self.pending)]


def regroup(blocks: Iterable[torch.Tensor], channels: int) -> Iterator[torch.Tensor]:
    """The positions of consecutive temporal blocks, re-cut into blocks of exactly `block_positions` of the
    first (the last may be shorter): what SFC computes then does not depend on how the head happened to
    chunk the clip, so one pass over a stored head output gives bit for bit the streamed answer. Besides
    the block that arrived it holds one block being filled (positions copied in, so the arrived block can
    be freed)."""
    size = 0
    held: torch.Tensor | None = None  # a block being filled, its first `filled` positions so far
    filled = 0
    for block in blocks:
        if block.shape[1] != channels:
            raise ConfigError(f"SFC expects {channels} channels, got {block.shape[1]}")
        size = size or block_positions(block)
        start = 0
        if held is not None:  # complete the held positions from the front of this block
            start = min(size - filled, block.shape[2])
            held[:, :, filled : filled + start] = block[:, :, :start]
            filled += start
            if filled < size:
                del block
                continue
            yield held
            held = None
        whole = start + (block.shape[2] - start) // size * size
        if whole > start:  # split() of an empty range would yield one empty block
            yield from block[:, :, start:whole].split(size, dim=2)
        if whole < block.shape[2]:  # filled in place as blocks arrive: one block's memory, copied once
            held = torch.empty((*block.shape[:2], size, *block.shape[3:]), dtype=block.dtype, device=block.device,
                               memory_format=memory_format(block))
            filled = block.shape[2] - whole
            held[:, :, :filled] = block[:, :, whole:]
        del block  # the head's next block is computed without this one
    if held is not None:
        yield held[:, :, :filled]


def _check_input(channels: int, frames: int, expected_channels: int, keep: int) -> None:
    if channels != expected_channels:
        raise ConfigError(f"SFC expects {expected_channels} channels, got {channels}")
    if frames < keep:
        raise ConfigError(f"SFC keeps {keep} temporal positions but the head produced only {frames}")


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, T*H*W, C)."""
    return x.flatten(2).transpose(1, 2)


class PositionNorm(nn.GroupNorm):
    """GroupNorm of each temporal position on its own (B, C, T, H, W): statistics over a channel group
    and space, never over time, so any set of positions normalises as it would in the whole clip."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, frames, height, width = x.shape
        y = super().forward(x.transpose(1, 2).reshape(batch * frames, channels, height, width))
        return y.view(batch, frames, channels, height, width).transpose(1, 2)


class SFC(nn.Module):
    """The learned SFC module (see the module docstring): abstraction, selective TopK, attention."""

    scoring = LEARNED

    def __init__(
        self,
        channels: int,
        keep: int,
        abstraction_channels: int | None = None,
        spatial_stride: int = 1,
        kv_stride: int = 2,
        chunk_elements: int = ATTENTION_CHUNK,
        selection_noise: float = 0.0,
        priors: bool = False,
    ) -> None:
        super().__init__()
        if keep < 1 or spatial_stride < 1 or kv_stride < 1:
            raise ConfigError("keep, spatial_stride and kv_stride must be >= 1")
        self.channels, self.keep = channels, keep
        # A description of each position, never wider than the features it describes.
        self.abstraction_channels = abstraction_channels or min(128, channels)
        self.spatial_stride, self.kv_stride, self.chunk_elements = spatial_stride, kv_stride, chunk_elements
        self.selection_noise = selection_noise  # Gumbel scale for exploring selections; training only
        self.priors = priors
        width = self.abstraction_channels
        self.abstraction = nn.Sequential(
            Conv3d(channels, width, 1, bias=False),
            PositionNorm(math.gcd(8, width), width),
            nn.ReLU(inplace=True),
            Conv3d(width, width, (3, 1, 1), padding=(1, 0, 0)),
            nn.ReLU(inplace=True),
        )
        self.scorer = nn.Linear(width, 1)
        if self.priors:  # score = change (standardised) + 0 x energy + a learned correction, at first
            self.prior = nn.Linear(len(STREAMING_SCORES), 1, bias=False)
            # the training set's mean and standard deviation of each prior (`set_prior_statistics`)
            self.register_buffer("prior_mean", torch.zeros(len(STREAMING_SCORES)))
            self.register_buffer("prior_std", torch.ones(len(STREAMING_SCORES)))
            with torch.no_grad():
                self.prior.weight.copy_(torch.tensor([[1.0, 0.0]]))
                self.scorer.weight.zero_()
                self.scorer.bias.zero_()
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(channels, width, bias=False)
        self.out = nn.Linear(width, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, diagnostics: bool = True) -> SFCOutput:
        """The training pass over the whole clip (fused attention; with `diagnostics`, each key's mean
        attention weight too, without gradient). Inference runs `compress`, tested equal to this."""
        batch, channels, frames, _, _ = x.shape
        _check_input(channels, frames, self.channels, self.keep)
        abstract = self.abstraction(x)
        scores = self._score(abstract)
        if self.priors:
            scores = scores + self._prior(prior_scores(x))
        ranking = scores
        if self.training and self.selection_noise > 0:  # explore: sometimes keep lower-scored positions
            gumbel = -torch.log(-torch.log(torch.rand_like(scores).clamp_min(1e-9)))
            ranking = scores + self.selection_noise * gumbel
        kept = ranking.detach().topk(self.keep, dim=1).indices.sort(dim=1).values
        log_p = scores.log_softmax(dim=1).gather(1, kept)
        gate = (log_p - log_p.detach()).exp()  # == 1 exactly; carries the scores' gradient

        q, k, v, kept_x, key_size = self._attention_inputs(abstract, x, kept)
        attended = F.scaled_dot_product_attention(q, k, v)
        attention = None
        if diagnostics:
            with torch.no_grad():
                attention = chunked_attention(q, k, v, self.chunk_elements)[1].view(batch, frames, *key_size)
        delta = self.out(attended).transpose(1, 2).reshape(kept_x.shape)
        features = (kept_x + delta) * gate.view(batch, 1, self.keep, 1, 1)
        return SFCOutput(features=features, kept=kept, scores=scores, attention=attention)

    def _score(self, abstract: torch.Tensor) -> torch.Tensor:
        """The learned score (B, T) of each position, from its abstraction averaged over space."""
        return self.scorer(abstract.mean(dim=(3, 4)).transpose(1, 2)).squeeze(-1)

    def _prior(self, raw: torch.Tensor) -> torch.Tensor:
        """The weighted, standardised priors (B, T) of positions whose `prior_scores` are `raw` (B, 2, T)."""
        standardised = (raw - self.prior_mean[:, None]) / self.prior_std[:, None]
        return self.prior(standardised.transpose(1, 2)).squeeze(-1)

    @torch.no_grad()
    def set_prior_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Fix the priors' standardisation: each `prior_scores` row's mean and standard deviation (2,) over
        every position of the training clips. Statistics of the training set, not of the clip at hand, so
        a position's score is final as soon as its neighbours have arrived."""
        self.prior_mean.copy_(mean)
        self.prior_std.copy_(std.clamp_min(1e-6))

    def _attention_inputs(self, abstract: torch.Tensor, x: torch.Tensor, kept: torch.Tensor):
        """Queries from the kept positions' abstraction, keys and values from every position (pooled by
        `kv_stride`): (q, k, v, the kept features, the keys' spatial size)."""
        kept_abstract, kept_x = take(abstract, kept), take(x, kept)
        if self.spatial_stride > 1:
            pool = (1, self.spatial_stride, self.spatial_stride)
            kept_abstract, kept_x = F.avg_pool3d(kept_abstract, pool), F.avg_pool3d(kept_x, pool)
        key_abstract, key_x = self._pool_keys(abstract), self._pool_keys(x)
        q = self.query(_tokens(kept_abstract))
        k, v = self.key(_tokens(key_abstract)), self.value(_tokens(key_x))
        return q, k, v, kept_x, key_abstract.shape[-2:]

    @torch.inference_mode()
    def position_attention(self, x: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
        """Where each kept position gathered its evidence: (B, K, T), row k the share of kept position
        k's attention (averaged over its spatial queries) that went to each temporal position; rows sum
        to 1."""
        q, k, _, _, key_size = self._attention_inputs(self.abstraction(x), x, kept)
        weights = torch.softmax((q @ k.transpose(1, 2)) * q.shape[-1] ** -0.5, dim=-1)
        batch, keep, frames = x.shape[0], kept.shape[1], x.shape[2]
        per_time = weights.view(batch, keep, -1, frames, key_size[0] * key_size[1]).sum(dim=-1)
        return per_time.mean(dim=2)

    @torch.no_grad()
    def compress(self, blocks: Iterable[torch.Tensor], capacity: int) -> SFCOutput:
        """SFC at inference over head features arriving as consecutive temporal blocks
        (`chunked_head.head_chunks`): the same output as `forward` on the whole, as the blocks arrive.
        Each position's abstraction (and change prior) is final once its next neighbour has arrived; it is
        scored, its pooled key and value kept, and it is offered, with its features, to the running top-K.
        The queries come from the K kept positions' abstraction at the end. (`capacity`, the most
        positions the blocks hold, is for compressors that collect them; this one never does.)"""
        project, norm, _, temporal, _ = self.abstraction
        selection, change = _RunningTopK(self.keep), _ChangeScore()
        scores, keys, values, seen = [], [], [], 0
        context = None  # normalised projections of the last two positions seen (the newest is not final yet)
        pending = None  # features of the newest position seen: it waits for its right neighbour

        def emit(y: torch.Tensor, parts: list[torch.Tensor], first: int, change_maps: list) -> None:
            """Score positions first.. with their abstraction window y (one position on each side more than
            they have), features `parts` (consecutive pieces, not joined: a copy would cost a block's
            memory) and change evidence (in the same pieces); keep their keys and values; offer them to the
            top-K."""
            abstract = temporal(y)[:, :, 1:-1].relu_()
            score = self._score(abstract)
            if self.priors:
                score = score + self._prior(torch.cat(
                    [_prior_inputs(maps, part) for (maps, _), part in zip(change_maps, parts, strict=True)], dim=2))
            scores.append(score)
            keys.append(self.key(_tokens(self._pool_keys(abstract))))
            offset = 0
            for part in parts:
                count = part.shape[2]
                if not count:  # a block of one position leaves nothing beside the one that waited
                    continue
                values.append(self.value(_tokens(self._pool_keys(part))))
                selection.offer(score[:, offset : offset + count], first + offset, part,
                                abstract[:, :, offset : offset + count])
                offset += count

        for x in regroup(blocks, self.channels):
            y = norm(project(x)).relu_()
            change_maps = change.update(x) if self.priors else []
            if context is None:  # the clip's first positions: their left neighbour is the zero padding
                window, ready = F.pad(y, (0, 0, 0, 0, 1, 0)), [x[:, :, :-1]]
            else:
                window, ready = torch.cat([context, y], dim=2), [pending, x[:, :, :-1]]
            count = sum(part.shape[2] for part in ready)
            if count:
                emit(window, ready, seen, change_maps)
                seen += count
            context, pending = window[:, :, -2:].clone(), x[:, :, -1:].clone()
            del x, y, window, ready, change_maps  # each holds a block: gone before the next is put together
        if pending is None:
            raise ConfigError(f"SFC keeps {self.keep} temporal positions but the head produced none")
        last_change = change.finish() if self.priors else []
        emit(F.pad(context, (0, 0, 0, 0, 0, 1)), [pending], seen, last_change)  # its right neighbour: the padding
        frames = seen + 1
        _check_input(self.channels, frames, self.channels, self.keep)
        # the blocks' pieces are freed; the keys are stored transposed (B, D, N), the layout the attention's
        # matmul reads, so it does not copy them for every chunk of queries
        keys = torch.cat([piece.transpose(1, 2) for piece in keys], dim=2).transpose(1, 2)
        values = torch.cat(values, dim=1)
        kept, (kept_x, kept_abstract) = selection.result()
        return self._attend(kept, kept_x, kept_abstract, torch.cat(scores, dim=1), keys, values, frames)

    def _pool_keys(self, x: torch.Tensor) -> torch.Tensor:
        if self.kv_stride == 1:
            return x
        return F.avg_pool3d(x, (1, self.kv_stride, self.kv_stride), ceil_mode=True)

    def _attend(self, kept: torch.Tensor, kept_x: torch.Tensor, kept_abstract: torch.Tensor, scores: torch.Tensor,
                keys: torch.Tensor, values: torch.Tensor, frames: int) -> SFCOutput:
        """The kept positions' queries attend over every position's keys and values: SFC's output, the kept
        features (a tensor of their own, added to in place) plus the attention's projection, chunk by chunk."""
        key_size = [-(-side // self.kv_stride) for side in kept_x.shape[-2:]]
        if self.spatial_stride > 1:
            pool = (1, self.spatial_stride, self.spatial_stride)
            kept_abstract, kept_x = F.avg_pool3d(kept_abstract, pool), F.avg_pool3d(kept_x, pool)
        tokens = kept_x.view(*kept_x.shape[:2], -1).transpose(1, 2)  # a view (never a copy): adds go to kept_x

        def add(first: int, attended: torch.Tensor) -> None:
            tokens[:, first : first + attended.shape[1]] += self.out(attended)

        # sized to the work: a chunk's weights are no larger than the larger of the keys (a small model's keys
        # are far smaller than a big one's chunk) and SMALL_ATTENTION_CHUNK (below it each chunk's fixed cost
        # dominates), and never over `chunk_elements`. SlowOnly-R50's 16384 keys (128 wide) fill ATTENTION_CHUNK:
        # chunks of 128 queries, a little faster than 64 on a 2-core CPU (`scripts.attention_report`)
        chunk = min(self.chunk_elements, max(keys[0].numel(), SMALL_ATTENTION_CHUNK))
        _, key_weight = chunked_attention(self.query(_tokens(kept_abstract)), keys, values, chunk, sink=add)
        return SFCOutput(features=kept_x, kept=kept, scores=scores,
                         attention=key_weight.view(kept.shape[0], frames, *key_size))


class TrainingFreeSFC(nn.Module):
    """TopK by a parameter-free score of the head's features ("change", "distinctiveness", "energy";
    see the module docstring): no weights, and the tail gets the kept positions' real features."""

    def __init__(self, channels: int, keep: int, scoring: str = DEFAULT_TRAINING_FREE, spatial_stride: int = 1) -> None:
        super().__init__()
        if keep < 1 or spatial_stride < 1:
            raise ConfigError("keep and spatial_stride must be >= 1")
        if scoring not in TRAINING_FREE_SCORES:
            raise ConfigError(f"unknown scoring {scoring!r}; choose one of {', '.join(TRAINING_FREE_SCORES)}")
        self.channels, self.keep, self.scoring, self.spatial_stride = channels, keep, scoring, spatial_stride

    def forward(self, x: torch.Tensor) -> SFCOutput:
        """The whole clip in one pass: what an exported graph runs, and the reference `compress` is tested
        against."""
        _check_input(x.shape[1], x.shape[2], self.channels, self.keep)
        maps = evidence(x, self.scoring)
        scores = maps.mean(dim=(2, 3))
        kept = scores.topk(self.keep, dim=1).indices.sort(dim=1).values
        return self._training_free_output(take(x, kept), kept, scores, maps)

    @torch.no_grad()
    def compress(self, blocks: Iterable[torch.Tensor], capacity: int) -> SFCOutput:
        """"change" and "energy" stream: each block is scored as it arrives and only the running top-K
        positions' features are kept, so memory does not grow with the clip's length.
        "distinctiveness" compares each position with the clip's mean, so the blocks are collected first."""
        if self.scoring in STREAMING_SCORES:
            return self._stream(blocks)
        return self(collect(blocks, capacity))

    def position_attention(self, x: torch.Tensor, kept: torch.Tensor) -> None:
        """No attention runs: nothing to show (see `SFC.position_attention`)."""
        return None

    def _stream(self, blocks: Iterable[torch.Tensor]) -> SFCOutput:
        selection, maps, seen = _RunningTopK(self.keep), [], 0
        for block_maps, ready in self._scored(blocks):
            selection.offer(block_maps.mean(dim=(2, 3)), seen, ready)
            maps.append(block_maps)
            seen += block_maps.shape[1]
        maps = torch.cat(maps, dim=1)
        if maps.shape[1] < self.keep:
            raise ConfigError(f"SFC keeps {self.keep} temporal positions but the head produced only {maps.shape[1]}")
        kept, (features,) = selection.result()
        return self._training_free_output(features, kept, maps.mean(dim=(2, 3)), maps)

    def _scored(self, blocks: Iterable[torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(evidence maps, features) of consecutive positions, as soon as each is final."""
        change = _ChangeScore()
        for x in blocks:
            if x.shape[1] != self.channels:
                raise ConfigError(f"SFC expects {self.channels} channels, got {x.shape[1]}")
            if self.scoring == "energy":
                yield evidence(x, "energy"), x
            else:
                yield from change.update(x)
        if self.scoring == "change" and change.pending is not None:
            yield from change.finish()

    def _training_free_output(self, features: torch.Tensor, kept: torch.Tensor, scores: torch.Tensor,
                              maps: torch.Tensor) -> SFCOutput:
        if self.spatial_stride > 1:
            features = F.avg_pool3d(features, (1, self.spatial_stride, self.spatial_stride))
        attention = maps / maps.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
        return SFCOutput(features=features, kept=kept, scores=scores, attention=attention)


Compressor = SFC | TrainingFreeSFC  # what a recognizer and a selector run: `compress(blocks, capacity)`


def evidence(x: torch.Tensor, score: str) -> torch.Tensor:
    """The training-free `score`'s map (B, T, H, W) of head features x (B, C, T, H, W), over the whole clip."""
    if score == "energy":
        return x.norm(dim=1)
    if score == "distinctiveness":  # how far each location is from its own average over the clip
        return (x - x.mean(dim=2, keepdim=True)).norm(dim=1)
    change = _ChangeScore()
    return torch.cat([maps for maps, _ in change.update(x) + change.finish()], dim=1)


def prior_scores(x: torch.Tensor) -> torch.Tensor:
    """(B, 2, T): the "change" and "energy" score of every position of head features x (B, C, T, H, W),
    as the training-free SFC computes them (raw: the learned module standardises them)."""
    return _prior_inputs(evidence(x, "change"), x)


def _prior_inputs(change_maps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`prior_scores` of positions x (B, C, T, H, W) whose change maps (B, T, H, W) are known: the
    streamed module gets those from its running change score."""
    return torch.stack([change_maps.mean(dim=(2, 3)), evidence(x, "energy").mean(dim=(2, 3))], dim=1)


def sfc_config(module: SFC) -> dict[str, int | str]:
    """The constructor arguments that an SFC checkpoint must record to be rebuilt."""
    return {
        "channels": module.channels,
        "keep": module.keep,
        "abstraction_channels": module.abstraction_channels,
        "spatial_stride": module.spatial_stride,
        "kv_stride": module.kv_stride,
        "scoring": LEARNED,  # checkpoints written before the training-free kind had a type of its own say so too
        "priors": module.priors,
        "normalisation": "position",  # what a checkpoint without this key (SFC Studio < 0.6) did not do
    }


def save_sfc(path: str | Path, module: SFC, meta: dict) -> None:
    """Save SFC weights with their config and `meta` (backbone, split, length, training facts)."""
    torch.save({"config": sfc_config(module), "meta": meta, "state_dict": module.state_dict()}, Path(path))


def heatmap_kind(sfc: Compressor) -> str:
    """What an SFC's heatmap shows: "attention" where its learned attention ran, "score" where a
    training-free score chose (the map is then the score's own, and no attention runs)."""
    return "attention" if isinstance(sfc, SFC) else "score"


def written_before_streaming(normalisation: str | None, state_dict: dict) -> bool:
    """Whether a saved SFC predates 0.6: it normalised over the whole clip (no `normalisation` recorded,
    or "clip"), or, as 0.5's per-position option did, it kept priors without their training-set
    statistics (three raw scores, one of them over the whole clip)."""
    return normalisation != "position" or ("prior.weight" in state_dict and "prior_mean" not in state_dict)


def load_sfc(path: str | Path) -> tuple[SFC, dict]:
    """Rebuild an SFC module from `save_sfc`'s file (read with weights_only=True)."""
    try:
        checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True)
        config = dict(checkpoint["config"])
        if config.pop("scoring", LEARNED) != LEARNED:
            raise KeyError("a training-free SFC has no weights to load")
        if written_before_streaming(config.pop("normalisation", None), checkpoint["state_dict"]):
            raise WeightsError(f"{Path(path).name} was written by SFC Studio before 0.6: its SFC normalises over the "
                               "whole clip or scores with unstandardised priors, which this version no longer runs; "
                               "retrain it with `sfc-train sfc`")
        module = SFC(**config)
        module.load_state_dict(checkpoint["state_dict"])
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError) as error:
        raise WeightsError(f"{Path(path).name} is not an SFC checkpoint ({type(error).__name__}: {error})") from None
    return module.eval(), checkpoint.get("meta", {})
