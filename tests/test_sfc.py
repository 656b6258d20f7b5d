"""The SFC module: shapes, exact selection at zero init, gradients, parity with a float64
second implementation, chunked attention, bounded memory at 64 frames."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sfc_core import sfc
from sfc_core.errors import ConfigError, WeightsError
from sfc_core.memory_breakdown import TensorBytes
from sfc_core.profiling import PeakMemory
from sfc_core.resources import SHIPPED_MODELS_DIR
from sfc_core.sfc import (
    ATTENTION_CHUNK,
    BLOCK_BYTES,
    SFC,
    SMALL_ATTENTION_CHUNK,
    TrainingFreeSFC,
    chunked_attention,
    load_sfc,
    prior_scores,
    save_sfc,
)
from tests.marks import slow_cases


def _trained_like(module: SFC, seed: int = 0) -> SFC:
    """Give the zero-initialised weights (output projection; with priors, the scorer) random values,
    as training would, and the priors the statistics of some training set."""
    generator = torch.Generator().manual_seed(seed)
    zero_initialised = [module.out.weight, module.out.bias]
    if module.priors:
        zero_initialised += [module.scorer.weight, module.scorer.bias, module.prior.weight]
        module.set_prior_statistics(torch.rand(2, generator=generator) + 1, torch.rand(2, generator=generator) + 0.2)
    with torch.no_grad():
        for weight in zero_initialised:
            weight.copy_(torch.randn(weight.shape, generator=generator) * 0.1)
    return module.eval()


@pytest.mark.parametrize("frames,keep,spatial,kv", [(16, 4, 1, 1), (32, 8, 1, 2), (12, 3, 2, 2), (9, 9, 1, 3)])
def test_output_shapes(frames: int, keep: int, spatial: int, kv: int) -> None:
    x = torch.randn(2, 24, frames, 8, 10)
    out = SFC(24, keep, abstraction_channels=16, spatial_stride=spatial, kv_stride=kv).eval()(x)
    assert out.features.shape == (2, 24, keep, 8 // spatial, 10 // spatial)
    assert out.kept.shape == (2, keep) and out.scores.shape == (2, frames)
    assert out.attention.shape == (2, frames, -(-8 // kv), -(-10 // kv))
    assert torch.all(out.kept[:, 1:] > out.kept[:, :-1]), "kept positions must be in temporal order"
    torch.testing.assert_close(out.attention.sum(dim=(1, 2, 3)), torch.ones(2))


def test_kept_positions_are_the_top_scores() -> None:
    out = SFC(16, 5, abstraction_channels=8).eval()(torch.randn(3, 16, 20, 4, 4))
    for b in range(3):
        expected = set(out.scores[b].topk(5).indices.tolist())
        assert set(out.kept[b].tolist()) == expected


@pytest.mark.parametrize("spatial", [1, 2])
def test_zero_initialised_output_is_exact_selection(spatial: int) -> None:
    x = torch.randn(2, 32, 24, 8, 8)
    out = SFC(32, 6, abstraction_channels=16, spatial_stride=spatial).eval()(x)
    selected = torch.stack([x[b][:, out.kept[b]] for b in range(2)])
    if spatial > 1:
        selected = F.avg_pool3d(selected, (1, spatial, spatial))
    assert torch.equal(out.features, selected)


def test_gradient_reaches_the_scorer_through_kept_and_dropped_positions() -> None:
    module = SFC(16, 3, abstraction_channels=8).train()
    x = torch.randn(2, 16, 10, 4, 4)
    out = module(x, diagnostics=False)
    out.scores.retain_grad()
    (out.features * torch.randn_like(out.features)).sum().backward()
    assert module.scorer.weight.grad.abs().sum() > 0
    dropped = torch.ones_like(out.scores, dtype=torch.bool).scatter_(1, out.kept, False)
    assert out.scores.grad[dropped].abs().sum() > 0, "dropped positions must receive gradient too"
    assert module.abstraction[0].weight.grad.abs().sum() > 0


def test_inference_is_deterministic_and_matches_the_training_pass() -> None:
    module = _trained_like(SFC(16, 4, abstraction_channels=8))
    x = torch.randn(1, 16, 12, 6, 6)
    a, b = module.compress([x], 12), module.compress(x.split(5, dim=2), 12)
    assert torch.equal(a.kept, b.kept)  # blocks change the order of float sums, nothing else
    torch.testing.assert_close(a.features, b.features, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(a.attention, b.attention, atol=1e-7, rtol=1e-6)
    training = module(x)  # grad enabled: fused attention, diagnostics computed separately
    without_diagnostics = module(x, diagnostics=False)
    assert training.features.requires_grad and without_diagnostics.attention is None
    torch.testing.assert_close(training.features, a.features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(without_diagnostics.features, a.features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(training.attention, a.attention)


def _reference_forward(module: SFC, x: torch.Tensor):
    """A second, loop-based float64 implementation of the SFC forward pass (one batch item)."""
    m = {k: v.double() for k, v in module.state_dict().items()}
    x = x.double()[0]  # (C, T, H, W)
    C, T, H, W = x.shape
    a = torch.einsum("oc,cthw->othw", m["abstraction.0.weight"].flatten(1), x)
    groups, weight, bias = module.abstraction[1].num_groups, m["abstraction.1.weight"], m["abstraction.1.bias"]
    # each position over its own channel groups and space
    a = torch.stack([F.group_norm(a[:, t][None], groups, weight, bias)[0] for t in range(T)], dim=1)
    a = F.relu(a)
    a = F.relu(F.conv3d(a[None], m["abstraction.3.weight"], m["abstraction.3.bias"], padding=(1, 0, 0))[0])
    scores = torch.stack([m["scorer.weight"][0] @ a[:, t].mean(dim=(1, 2)) for t in range(T)]) + m["scorer.bias"]
    if module.priors:  # change and energy, standardised with the module's statistics, weighted
        raw = torch.stack([_reference_maps(x[None], "change")[0].mean(dim=(1, 2)),
                           _reference_maps(x[None], "energy")[0].mean(dim=(1, 2))])
        standardised = (raw - m["prior_mean"][:, None]) / m["prior_std"][:, None]
        scores = scores + m["prior.weight"][0] @ standardised
    kept = sorted(scores.argsort(descending=True)[: module.keep].tolist())
    s, kv = module.spatial_stride, module.kv_stride
    ka = F.avg_pool3d(a[:, kept][None], (1, s, s))[0]
    kx = F.avg_pool3d(x[:, kept][None], (1, s, s))[0]
    pa = F.avg_pool3d(a[None], (1, kv, kv), ceil_mode=True)[0]
    px = F.avg_pool3d(x[None], (1, kv, kv), ceil_mode=True)[0]
    q = m["query.weight"] @ ka.flatten(1)  # (D, Nq)
    k = m["key.weight"] @ pa.flatten(1)  # (D, Nk)
    v = m["value.weight"] @ px.flatten(1)  # (D, Nk)
    weights = torch.softmax(q.T @ k / q.shape[0] ** 0.5, dim=1)  # (Nq, Nk)
    attended = weights @ v.T  # (Nq, D)
    delta = (attended @ m["out.weight"].T + m["out.bias"]).T.reshape(kx.shape)
    return kx + delta, kept, scores, weights.mean(dim=0).reshape(T, *pa.shape[-2:])


@pytest.mark.parametrize("priors", [False, True])
@pytest.mark.parametrize("spatial,kv", [(1, 1), (2, 2), (1, 3)])
def test_matches_float64_reference_implementation(spatial: int, kv: int, priors: bool) -> None:
    module = _trained_like(SFC(20, 4, abstraction_channels=12, spatial_stride=spatial, kv_stride=kv, chunk_elements=50,
                               priors=priors))
    x = torch.randn(1, 20, 14, 6, 8)
    with torch.no_grad():
        out = module(x)
    features, kept, scores, attention = _reference_forward(module, x)
    assert out.kept[0].tolist() == kept
    torch.testing.assert_close(out.scores[0].double(), scores, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.features[0].double(), features, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.attention[0].double(), attention, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("priors", [False, True])
def test_inference_of_a_batch_matches_the_training_pass_item_by_item(priors: bool) -> None:
    module = _trained_like(SFC(16, 6, abstraction_channels=8, priors=priors))
    x = torch.randn(2, 16, 12, 5, 5)
    batched = module.compress(x.split(4, dim=2), 12)
    for item in range(2):  # each item keeps its own positions (the clip's ends among them, for some)
        alone = module(x[item : item + 1], diagnostics=False)
        assert batched.kept[item].tolist() == alone.kept[0].tolist()
        torch.testing.assert_close(batched.features[item], alone.features[0].detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("priors", [False, True])
@pytest.mark.parametrize("sizes", [(5, 5, 4), (1, 12, 1), (1,) * 14, (14,), (1,), (7,), (8, 1), (4, 5), (16, 1),
                                   (3, 14), (0, 9, 0, 5)])  # blocks of SFC's size or not, a lone first or last
                                                           # position, an empty block
# keep 14: every position is kept, the clip's first and last included; block: the positions SFC works on at a
# time (fewer for a big model's features). The fast lane runs keep 4 in blocks of 8, keep 14 in blocks of 1.
@pytest.mark.parametrize(("keep", "block"), slow_cases([(4, 8), (14, 8), (4, 2), (14, 2), (4, 1), (14, 1)],
                                                     {(14, 8), (4, 2), (14, 2), (4, 1)}))
def test_inference_matches_the_float64_reference_at_the_clips_ends_too(keep: int, sizes: tuple[int, ...],
                                                                      priors: bool, block: int, monkeypatch) -> None:
    """`compress` against the loop-based float64 forward pass, whatever blocks the head's output arrives in
    (each position final once its right neighbour came, its change prior too), attention in chunks."""
    monkeypatch.setattr(sfc, "BLOCK_BYTES", block * 20 * 6 * 8 * 4)  # a position of x below: 20 x 6 x 8 floats
    positions = sum(sizes)
    keep = min(keep, positions)
    module = _trained_like(SFC(20, keep, abstraction_channels=12, kv_stride=2, chunk_elements=50, priors=priors))
    x = torch.randn(1, 20, positions, 6, 8)
    out = module.compress(x.split(list(sizes), dim=2), capacity=positions)
    features, kept, scores, attention = _reference_forward(module, x)
    assert out.kept[0].tolist() == kept and (keep < positions or kept == list(range(positions)))
    torch.testing.assert_close(out.scores[0].double(), scores, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.features[0].double(), features, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.attention[0].double(), attention, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("chunk_elements", [1, 37, 10**9])
def test_chunked_attention_matches_sdpa_and_float64(chunk_elements: int) -> None:
    q, k, v = torch.randn(2, 23, 8), torch.randn(2, 31, 8), torch.randn(2, 31, 5)
    out, key_weight = chunked_attention(q, k, v, chunk_elements)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5, rtol=1e-5)
    weights = torch.softmax(q.double() @ k.double().transpose(1, 2) / 8**0.5, dim=-1)
    torch.testing.assert_close(out.double(), weights @ v.double(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(key_weight.double(), weights.mean(dim=1), atol=1e-6, rtol=1e-5)


def test_rejects_too_few_positions_and_wrong_channels() -> None:
    module = SFC(8, 6, abstraction_channels=8)
    with pytest.raises(ConfigError, match="keeps 6 temporal positions but the head produced only 4"):
        module(torch.randn(1, 8, 4, 2, 2))
    with pytest.raises(ConfigError, match="keeps 6 temporal positions but the head produced only 4"):
        module.compress(torch.randn(1, 8, 4, 2, 2).split(1, dim=2), 4)
    with pytest.raises(ConfigError, match="expects 8 channels"):
        module(torch.randn(1, 9, 8, 2, 2))
    with pytest.raises(ConfigError, match="expects 8 channels"):
        module.compress([torch.randn(1, 9, 8, 2, 2)], 8)


@pytest.mark.parametrize("priors", [False, True])
def test_the_learned_module_streams_holding_its_kept_positions_and_pooled_keys_only(priors: bool) -> None:
    """Head output arriving 8 positions at a time: the learned module's tensors (counted exactly, not the
    resident set) grow by well under the head output they stream over, and stay under that output (which a
    module normalising over the whole clip holds, with more); one block gives exactly the same answer."""
    torch.manual_seed(0)
    streaming = _trained_like(SFC(256, 8, priors=priors))  # C_a = 128

    def peak(module: SFC, x: torch.Tensor) -> int:
        with torch.inference_mode(), TensorBytes(torch.device("cpu")) as tensors:
            module.compress(x.split(8, dim=2), x.shape[2])
        return tensors.peak_bytes

    short, long = torch.randn(1, 256, 64, 8, 8), torch.randn(1, 256, 128, 8, 8)
    growth, extra_output = peak(streaming, long) - peak(streaming, short), (long.numel() - short.numel()) * 4
    assert growth < 0.75 * extra_output, (growth, extra_output)
    assert peak(streaming, long) < 0.95 * long.numel() * 4
    streamed, whole = streaming.compress(long.split([3, 13, 5, 40, 1, 66], dim=2), 128), streaming.compress([long], 128)
    assert torch.equal(streamed.kept, whole.kept)  # bit for bit: SFC re-cuts whatever blocks arrive alike
    assert torch.equal(streamed.features, whole.features) and torch.equal(streamed.scores, whole.scores)


@pytest.mark.parametrize("priors", [False, True])
def test_a_big_models_features_stream_a_few_positions_at_a_time(priors: bool) -> None:
    """Features of 2 MiB a position (SlowOnly-R50's res3 at 256 px: 512 x 32 x 32), arriving one position at
    a time: besides what it must keep (the K best positions' features and abstraction, every position's
    pooled key and value, twice while their pieces are joined, one chunk of attention weights) compress
    holds no more than a few BLOCK_BYTES at once, not blocks of BLOCK positions (16 MiB each) joined and
    copied (before: 92-98 MB here, against this bound's 43 MB)."""
    module, keep, frames = _trained_like(SFC(512, 4, priors=priors)), 4, 24
    x = torch.randn(1, 512, frames, 32, 32)
    with torch.inference_mode(), TensorBytes(torch.device("cpu")) as tensors:
        module.compress(x.split(1, dim=2), frames)
    kept = keep * (512 + 128) * 32 * 32 * 4
    keys_and_values = frames * 16 * 16 * 128 * 4 * 2
    chunk = min(ATTENTION_CHUNK, max(keys_and_values // 2 // 4, SMALL_ATTENTION_CHUNK)) * 4  # as `SFC._attend` sizes it
    assert tensors.peak_bytes <= kept + 2 * keys_and_values + chunk + 4 * BLOCK_BYTES, tensors.peak_bytes


def test_checkpoints_normalised_over_the_clip_are_refused_with_what_to_do(tmp_path) -> None:
    module = _trained_like(SFC(16, 4, abstraction_channels=8, priors=True))
    save_sfc(tmp_path / "sfc.pth", module, {})
    checkpoint = torch.load(tmp_path / "sfc.pth", weights_only=True)
    loaded, _ = load_sfc(tmp_path / "sfc.pth")
    torch.testing.assert_close(loaded.prior_std, module.prior_std)
    del checkpoint["config"]["normalisation"]  # as SFC Studio wrote them before 0.6
    torch.save(checkpoint, tmp_path / "old.pth")
    with pytest.raises(WeightsError, match="old.pth was written by SFC Studio before 0.6.*retrain it with `sfc-train"):
        load_sfc(tmp_path / "old.pth")
    checkpoint["config"]["normalisation"] = "position"  # 0.5's per-position option: priors without statistics
    checkpoint["state_dict"]["prior.weight"] = torch.randn(1, 3)
    del checkpoint["state_dict"]["prior_mean"], checkpoint["state_dict"]["prior_std"]
    torch.save(checkpoint, tmp_path / "old_position.pth")
    with pytest.raises(WeightsError, match="old_position.pth was written by SFC Studio before 0.6"):
        load_sfc(tmp_path / "old_position.pth")
    shipped = sorted(SHIPPED_MODELS_DIR.glob("*_sfc*.pth"))
    assert len(shipped) == 2  # every shipped SFC loads: the shipped one and the paper's-way one
    assert [type(load_sfc(path)[0]) for path in shipped] == [SFC, SFC]


@pytest.mark.slow
def test_64_frame_slowonly_head_never_materialises_the_attention_matrix() -> None:
    """SlowOnly res3 at L=64, 256 px: (1, 512, 64, 32, 32). With full-resolution keys the
    attention matrix would be 8192 x 65536 floats = 2 GiB; chunking keeps it to 8 MiB pieces."""
    module = SFC(512, 8, kv_stride=1).eval()
    x = torch.randn(1, 512, 64, 32, 32)
    full_matrix_bytes = 8 * 32 * 32 * 64 * 32 * 32 * 4
    with torch.no_grad(), PeakMemory(torch.device("cpu")) as memory:
        out = module.compress([x], x.shape[2])
    assert out.features.shape == (1, 512, 8, 32, 32)
    assert memory.peak_bytes < full_matrix_bytes / 4


def _reference_maps(x: torch.Tensor, method: str) -> torch.Tensor:
    """Loop-based float64 second implementation of the training-free evidence maps."""
    x = x.double()
    batch, _, frames, height, width = x.shape
    maps = torch.zeros(batch, frames, height, width, dtype=torch.float64)
    mean = x.mean(dim=2)
    for b in range(batch):
        for t in range(frames):
            for i in range(height):
                for j in range(width):
                    v = x[b, :, t, i, j]
                    if method == "energy":
                        maps[b, t, i, j] = v.norm()
                    elif method == "distinctiveness":
                        maps[b, t, i, j] = (v - mean[b, :, i, j]).norm()
                    elif frames == 1:  # change without any neighbour: no evidence
                        maps[b, t, i, j] = 0.0
                    else:  # change: mean distance to the neighbours that exist, edges count their one side twice
                        before = (v - x[b, :, t - 1, i, j]).norm() if t > 0 else (x[b, :, 1, i, j] - v).norm()
                        after = (x[b, :, t + 1, i, j] - v).norm() if t < frames - 1 else before
                        maps[b, t, i, j] = (before + after) / 2
    return maps


@pytest.mark.parametrize("method", ["change", "distinctiveness", "energy"])
def test_training_free_sfc_selects_by_its_parameter_free_score(method: str) -> None:
    x = torch.randn(2, 12, 10, 3, 4)
    module = TrainingFreeSFC(12, 4, method).eval()
    assert list(module.parameters()) == [], "training-free SFC has no weights"
    out = module(x)
    maps = _reference_maps(x, method)
    torch.testing.assert_close(out.scores.double(), maps.mean(dim=(2, 3)), rtol=1e-5, atol=1e-5)
    expected_kept = maps.mean(dim=(2, 3)).topk(4, dim=1).indices.sort(dim=1).values
    assert torch.equal(out.kept, expected_kept)
    assert torch.equal(out.features, torch.stack([x[b, :, out.kept[b]] for b in range(2)]))  # real head features
    torch.testing.assert_close(out.attention.sum(dim=(1, 2, 3)), torch.ones(2))


def test_change_scoring_finds_the_moving_moment() -> None:
    """Hand-made case: still features except positions 5-7, where one location moves."""
    x = torch.randn(1, 8, 1, 4, 4).repeat(1, 1, 12, 1, 1) + 0.01 * torch.randn(1, 8, 12, 4, 4)
    for t in (5, 6, 7):
        x[0, :, t, 1, 2] += torch.randn(8) * 3
    out = TrainingFreeSFC(8, 3, "change").eval()(x)
    assert out.kept[0].tolist() == [5, 6, 7]
    assert out.attention[0, 6].argmax().item() == 1 * 4 + 2  # the evidence map points at the moving location


def test_unknown_scoring_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown scoring 'magic'"):
        TrainingFreeSFC(8, 2, "magic")


@pytest.mark.parametrize("method", ["change", "energy", "distinctiveness", "learned", "learned with priors"])
@pytest.mark.parametrize("sizes", [(1,) * 13, (5, 8), (2, 1, 6, 4), (13,), (8, 1), (4, 5), (16, 1), (3, 14)])
def test_features_arriving_in_blocks_give_the_one_pass_output(method: str, sizes: tuple[int, ...]) -> None:
    """`compress` over any split of the head's output into consecutive blocks equals `forward` on
    the whole (the streaming scores and the learned module keep only a running top-K;
    "distinctiveness" collects the blocks)."""
    x = torch.randn(2, 12, sum(sizes), 3, 4)
    learned = method.startswith("learned")
    stride = 1 + (method in ("energy", "learned"))
    if learned:
        module = _trained_like(SFC(12, 4, abstraction_channels=8, spatial_stride=stride,
                                   priors=method == "learned with priors"))
    else:
        module = TrainingFreeSFC(12, 4, method, spatial_stride=stride).eval()
    with torch.inference_mode():
        whole = module(x)
        streamed = module.compress(x.split(list(sizes), dim=2), capacity=x.shape[2])
    torch.testing.assert_close(streamed.scores, whole.scores, rtol=1e-6, atol=1e-6)
    assert torch.equal(streamed.kept, whole.kept)
    torch.testing.assert_close(streamed.features, whole.features, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(streamed.attention, whole.attention, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_streaming_selection_holds_only_the_kept_positions() -> None:
    """Memory of streamed "change" SFC does not grow with the clip: 256 positions arriving 8 at a
    time cost about what 32 do, while the one-pass output of 256 positions would hold all of them."""
    module = TrainingFreeSFC(256, 8, "change").eval()

    def peak(positions: int) -> int:
        blocks = (torch.randn(1, 256, 8, 28, 28) for _ in range(positions // 8))  # 6.1 MiB per block
        with torch.inference_mode(), PeakMemory(torch.device("cpu")) as memory:
            module.compress(blocks, capacity=positions)
        return memory.peak_bytes

    peak(8)  # the first call also maps the code of every operator it uses
    short, long = peak(32), peak(256)
    # all 256 positions would hold 196 MiB; the slack covers what other threads of a long test process
    # (Ray's, decoders') happen to allocate meanwhile, which the resident set counts too (seen: 20 MiB)
    assert long < short + 48 * 2**20, (short, long)


def test_a_scorer_with_priors_starts_as_change_and_learns_a_correction(tmp_path) -> None:
    x = torch.randn(2, 24, 20, 5, 6) * torch.linspace(0.5, 2, 20).view(1, 1, 20, 1, 1)
    module = SFC(24, 5, abstraction_channels=16, priors=True).eval()
    with torch.no_grad():
        fresh, change = module(x), TrainingFreeSFC(24, 5, "change").eval()(x)
    assert torch.equal(fresh.kept, change.kept)  # before training: exactly the heuristic's choice
    torch.testing.assert_close(fresh.scores, change.scores, rtol=1e-5, atol=1e-5)  # standardised as (s - 0) / 1
    raw = prior_scores(x)
    assert raw.shape == (2, 2, 20)
    torch.testing.assert_close(raw[:, 1].double(), _reference_maps(x, "energy").mean(dim=(2, 3)), rtol=1e-5, atol=1e-5)
    module.set_prior_statistics(torch.tensor([3.0, -1.0]), torch.tensor([2.0, 5.0]))  # a training set's
    with torch.no_grad():
        standardised = module(x)
    assert torch.equal(standardised.kept, change.kept)  # an affine map of one score keeps its ranking
    torch.testing.assert_close(standardised.scores, (change.scores - 3) / 2, rtol=1e-5, atol=1e-5)
    module.train()
    module(x).scores.sum().backward()  # the correction and the prior weights both learn
    assert module.scorer.weight.grad.abs().sum() > 0 and module.prior.weight.grad.abs().sum() > 0
    save_sfc(tmp_path / "sfc.pth", _trained_like(module), {})
    loaded, _ = load_sfc(tmp_path / "sfc.pth")
    assert loaded.priors
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).scores, module(x).scores)
