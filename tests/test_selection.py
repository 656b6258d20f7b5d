"""Selection strategies: hand-computed choices, the learned and training-free strategies agree with the
recognizers that run them, and evaluate reports every strategy on the same clips."""

from __future__ import annotations

import pytest
import torch

import sfc_core
from sfc_core import hub
from sfc_core.chunked_head import TemporalGeometry
from sfc_core.errors import ConfigError
from sfc_core.evaluate import EVALUATED_STRATEGIES, evaluate
from sfc_core.inputs import load_views
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.selection import STRATEGIES, Selector, manual, oracle, random_positions, uniform
from tests.marks import slow_cases

FRAMEWISE = TemporalGeometry(stride=1, before=0, after=0, activation_bytes_per_frame=1.0, new_stream=lambda: None)
HALVING = TemporalGeometry(stride=2, before=2, after=1, activation_bytes_per_frame=1.0, new_stream=lambda: None)


def test_hand_computed_choices() -> None:
    assert uniform(32, 8) == [2, 6, 10, 14, 18, 22, 26, 30]
    assert uniform(5, 5) == [0, 1, 2, 3, 4]
    draws = [random_positions(32, 8, seed) for seed in range(20)]
    assert all(len(set(d)) == 8 and d == sorted(d) and d[0] >= 0 and d[-1] < 32 for d in draws)
    assert random_positions(32, 8, 3) == random_positions(32, 8, 3) and len({tuple(d) for d in draws}) > 15
    assert manual([5, 1, 5], 8) == [1, 5]
    with pytest.raises(ConfigError):
        manual([8], 8)
    sampled = list(range(0, 64, 2))  # 32 samples of a 64-frame video, one per position (frame-wise head)
    assert oracle(sampled, 32, 3, (21, 27), FRAMEWISE) == [11, 12, 13]  # frames 22, 24, 26 are inside
    # a head that halves time: position t sees samples 2t-2..2t+2 (clipped); its centre is sample 2t
    assert oracle(sampled, 16, 2, (16, 30), HALVING) == [5, 6]  # fields of samples 8-12 and 10-14: all inside


@pytest.fixture(scope="module")
def tiny() -> hub.SFCModel:
    return sfc_core.load("tiny", device="cpu")


@pytest.fixture(scope="module")
def clip_features(tiny: hub.SFCModel):
    recognizer = tiny.sfc_recognizer(measure="time")  # answers only: no FLOP or memory pass
    path = EXAMPLES_DIR / "bounce.mp4"
    _, inputs = load_views(path, tiny.config, recognizer.plan)
    with torch.inference_mode():
        return recognizer, path, inputs, recognizer.features(inputs.views)


def test_the_sfc_strategy_reproduces_the_recognizer(clip_features) -> None:
    recognizer, path, _, features = clip_features
    selector = Selector(recognizer.sfc, recognizer.tail, recognizer.geometry)
    selection = selector.select("sfc", features)
    result = recognizer(path)
    assert selection.kept == result.kept.positions
    torch.testing.assert_close(selection.probabilities.numpy(), result.probabilities, rtol=0, atol=1e-5)
    fewer = selector.select("sfc", features, keep=4)  # another K: the SFC's four best-scored positions
    best = sorted(torch.tensor(result.scores).topk(4).indices.tolist())
    assert fewer.kept == best and fewer.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("score", slow_cases(["change", "distinctiveness", "energy"], {"distinctiveness", "energy"}))
def test_training_free_strategies_keep_what_that_sfc_keeps(tiny: hub.SFCModel, clip_features, score: str) -> None:
    recognizer, path, _, features = clip_features
    selector = Selector(recognizer.sfc, recognizer.tail, recognizer.geometry)
    expected = tiny.replace(sfc=f"training-free:{score}").sfc_recognizer(measure="time")(path)
    selection = selector.select(score, features)
    assert selection.kept == expected.kept.positions
    torch.testing.assert_close(selection.probabilities.numpy(), expected.probabilities, rtol=0, atol=1e-5)


def test_every_strategy_runs_and_bad_requests_are_refused(clip_features) -> None:
    recognizer, _, inputs, features = clip_features
    selector = Selector(recognizer.sfc, recognizer.tail, recognizer.geometry)
    for strategy in STRATEGIES:
        selection = selector.select(strategy, features, keep=6, seed=1, sampled=inputs.frame_indices[0],
                                    window=(60, 90), positions=[3, 9])
        assert len(selection.kept) == (2 if strategy == "manual" else 6 if strategy != "sfc" else 6)
        assert selection.probabilities.shape == (10,)
    with pytest.raises(ConfigError, match="ground-truth"):
        selector.select("oracle", features)
    with pytest.raises(ConfigError, match="keep must be"):
        selector.select("uniform", features, keep=33)
    with pytest.raises(ConfigError, match="unknown strategy"):
        selector.select("best", features)


@pytest.mark.slow
def test_evaluate_reports_every_strategy_on_the_same_clips() -> None:
    result = evaluate(seed=777, num_clips=6, profile_clips=0, random_draws=3)
    table = result["strategies"]
    assert list(table) == list(EVALUATED_STRATEGIES)
    assert table["sfc"]["top1"] == result["sfc_top1"] and table["sfc"]["hit_rate"] == result["hit_rate"]
    assert table["oracle"]["hit_rate"] >= 0.95 * result["hit_rate_ceiling"]  # the best possible, or nearly
    assert all(table["oracle"]["hit_rate"] >= row["hit_rate"] for row in table.values())
    assert table["sfc"]["flops"] > table["uniform"]["flops"] == table["change"]["flops"]  # attention costs
    assert result["time_ratio"] is None and result["profiled_clips"] == 0


def test_head_features_let_the_explorer_reproduce_a_request_exactly(tiny: hub.SFCModel, clip_features) -> None:
    recognizer, path, _, in_memory = clip_features
    features = recognizer.head_features(path)  # decoded again, chunk by chunk, as a request does
    torch.testing.assert_close(features, in_memory, rtol=0, atol=1e-5)
    result = recognizer(path)
    selection = Selector(recognizer.sfc, recognizer.tail, recognizer.geometry).select("sfc", features)
    assert selection.kept == result.kept.positions
    assert (selection.probabilities.numpy() == result.probabilities).all()  # the same computation, bit for bit


def test_position_attention_matches_the_attention_sfc_reports() -> None:
    """Each kept position's attention over time, against a float64 loop over single queries and against
    the per-key attention that `forward` reports (its mean over the kept positions)."""
    torch.manual_seed(3)
    sfc = sfc_core.sfc.SFC(16, 3, kv_stride=2).double().eval()
    for parameter in sfc.parameters():  # a trained-looking module: nothing zero-initialised
        torch.nn.init.normal_(parameter, std=0.3)
    x = torch.randn(1, 16, 7, 6, 6, dtype=torch.float64)
    with torch.inference_mode():
        out = sfc(x)
    matrix = sfc.position_attention(x, out.kept)[0]
    assert matrix.shape == (3, 7)
    torch.testing.assert_close(matrix.sum(dim=1), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(matrix.mean(dim=0), out.attention[0].sum(dim=(1, 2)))
    with torch.inference_mode():
        abstract = sfc.abstraction(x)
        keys = sfc.key(torch.nn.functional.avg_pool3d(abstract, (1, 2, 2), ceil_mode=True)[0].flatten(1).T)
        for row, position in enumerate(out.kept[0].tolist()):
            queries = sfc.query(abstract[0, :, position].flatten(1).T)  # this position's 36 spatial queries
            per_query = torch.softmax(queries @ keys.T / 4.0, dim=1).view(36, 7, 9).sum(dim=2)
            torch.testing.assert_close(matrix[row], per_query.mean(dim=0))
    assert sfc_core.sfc.TrainingFreeSFC(16, 3, "change").position_attention(x, out.kept) is None
