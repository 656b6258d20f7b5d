"""The explorer and the walk-through on a real analysed clip: other selections of the same head output."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_rgba

from app import analysis, teaching
from app.explorer import STRATEGY_NAMES, explore, positions_for_frames
from app.figures import RIGHT_COLOUR, WRONG_COLOUR
from sfc_core.errors import ConfigError
from sfc_core.selection import STRATEGIES
from tests.clips import ROTATE_EXAMPLE


@pytest.fixture(scope="module")
def analysed(rotate_analysis) -> analysis.Analysis:
    return rotate_analysis.for_session(str(ROTATE_EXAMPLE), cached=False)


@pytest.fixture(scope="module")
def model(analysed):
    return analysis.model_for(analysed.clip.settings)


def test_sfc_at_its_own_keep_reproduces_the_analysis_exactly(analysed, model) -> None:
    found = explore(model, analysed.clip, "sfc", 8)
    assert found.report["kept_frames"] == analysed.report["sfc"]["kept_frames"]
    assert found.report["top5"] == analysed.report["sfc"]["top5"]
    assert found.result.attention is not None  # SFC's own choice: its attention is still the one shown


def test_every_strategy_answers_and_the_comparison_collects_them(analysed, model) -> None:
    clip = analysed.clip
    for strategy in STRATEGIES:
        found = explore(model, clip, strategy, 4, frames="30, 90")
        expected = 2 if strategy == "manual" else 4
        assert found.report["strategy"] == strategy and len(found.report["kept_frames"]) == expected
        assert found.report["kept_positions"] == sorted(found.report["kept_positions"])
        assert sum(p for _, p in found.report["top5"]) <= 1 + 1e-6 and 0 <= found.report["time_s"] < 5
        assert found.result.attention is None or strategy == "sfc"
    assert len(clip.tried) == len(STRATEGIES) + 1  # "sfc, keep 8" from the test above, then each at keep 4
    assert all(answer.truth_probability is not None for answer in clip.tried.values())  # a bundled example
    axes = found.comparison.axes[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]  # the run's two answers first, then each one tried
    assert labels == ["dense, 30 views", "SFC (the run), keep 8", *clip.tried]
    truth = clip.truth["label_name"]
    run = [(clip.dense.top(1)[0][0], clip.dense.probabilities), (clip.sfc.top(1)[0][0], clip.sfc.probabilities)]
    expected = [(label, float(p[clip.truth_class])) for label, p in run]
    expected += [(answer.label, answer.truth_probability) for answer in clip.tried.values()]
    texts = [text.get_text() for text in axes.texts]  # each bar: the true class's probability, and the answer
    for text, bar, (label, p_truth) in zip(texts, axes.patches, expected, strict=True):
        assert float(text.split()[0]) == pytest.approx(p_truth, abs=0.005) and bar.get_width() == pytest.approx(p_truth)
        assert ("✓ right" in text) == (label == truth) and (f"✗ says {label}" in text) == (label != truth)
        assert bar.get_facecolor() == to_rgba(RIGHT_COLOUR if label == truth else WRONG_COLOUR)
    assert min(t.get_fontsize() for t in [*axes.texts, *axes.get_yticklabels()]) >= 12
    oracle = explore(model, clip, "oracle", 8).report
    window = clip.window
    inside = sum(window[0] <= f <= window[1] for f in oracle["kept_frames"])
    possible = sum(window[0] <= f <= window[1] for f in clip.sfc.position_frames)
    assert inside == min(8, possible) >= 3  # every position centred inside the action is kept


def test_random_draws_anew_each_press_and_a_seed_repeats_a_draw(analysed, model) -> None:
    draws = [explore(model, analysed.clip, "random", 8).report for _ in range(4)]
    seeds = [draw["seed"] for draw in draws]
    assert len(set(seeds)) == 4 and all(f"seed {seed}" in draw["note"] for seed, draw in zip(seeds, draws))
    assert len({tuple(draw["kept_positions"]) for draw in draws}) > 1  # C(32, 8) draws: four equal ones never
    again = explore(model, analysed.clip, "random", 8, seed=seeds[0]).report
    assert again["kept_positions"] == draws[0]["kept_positions"] and again["top5"] == draws[0]["top5"]
    assert f"random (seed {seeds[0]}), keep 8" in analysed.clip.tried
    assert explore(model, analysed.clip, "uniform", 8, seed=7).report["seed"] is None


def test_manual_frames_map_to_the_nearest_position(analysed) -> None:
    clip = analysed.clip
    frames = clip.sfc.position_frames
    assert positions_for_frames(clip, f"{frames[3]}, {frames[3] + 1}; {frames[10]}") == [3, 10]
    last = clip.sfc.video.num_frames - 1
    assert positions_for_frames(clip, "0") == [0] and positions_for_frames(clip, str(last)) == [len(frames) - 1]
    with pytest.raises(ConfigError, match=f"frame 99999 is outside this clip: its frames are 0-{last}"):
        positions_for_frames(clip, "99999")
    with pytest.raises(ConfigError, match="frame numbers"):
        positions_for_frames(clip, "ten")
    with pytest.raises(ConfigError, match="at least one"):
        positions_for_frames(clip, " , ")


def test_bad_requests_are_clear(analysed, model) -> None:
    clip = analysed.clip
    positions = clip.features.shape[2]
    for strategy in ("uniform", "sfc"):  # "sfc" at another keep too: the message, not an index error
        with pytest.raises(ConfigError, match=f"keep must be 1..{positions} .*not {positions + 8}"):
            explore(model, clip, strategy, positions + 8)
    with pytest.raises(ConfigError, match="unknown strategy"):
        explore(model, clip, "best", 4)
    no_truth = type(clip)(clip.settings, clip.features, clip.sfc, clip.dense, clip.cams, None)
    with pytest.raises(ConfigError, match="oracle needs"):
        explore(model, no_truth, "oracle", 4)
    # a bundled example on a model that does not know its label: the window still serves the oracle
    other_label = type(clip)(clip.settings, clip.features, clip.sfc, clip.dense, clip.cams,
                             {**clip.truth, "label_name": "juggling"})
    assert len(explore(model, other_label, "oracle", 4).report["kept_frames"]) == 4
    assert other_label.truth_class is None and [a.truth_probability for a in other_label.tried.values()] == [None]
    assert set(STRATEGY_NAMES) == set(STRATEGIES)


@pytest.fixture(scope="module")
def training_free(training_free_analysis) -> analysis.Analysis:
    """The embedded model at a spatial stride its SFC was not trained at: training-free SFC, no attention."""
    return training_free_analysis.for_session(str(ROTATE_EXAMPLE), cached=False)


def test_sfc_at_another_keep_notes_that_only_its_scores_ran(analysed, model, training_free) -> None:
    clip = analysed.clip
    fresh = type(clip)(clip.settings, clip.features, clip.sfc, clip.dense, clip.cams, clip.truth)  # own comparison
    note = explore(model, fresh, "sfc", 4).report["note"]
    assert note == ("SFC at keep 4 ≠ its trained keep 8: positions ranked by SFC's scores alone; "
                    "attention not run")
    assert explore(model, fresh, "sfc", 8).report["note"] == ""  # a request's own keep: attention ran
    assert explore(model, fresh, "uniform", 4).report["note"] == ""
    free = analysis.model_for(training_free.clip.settings)
    assert explore(free, training_free.clip, "sfc", 4).report["note"] == ""  # no attention at any keep


def test_the_walkthrough_says_whether_the_kept_moments_attend(analysed, training_free) -> None:
    scoring, keeping = (teaching.walkthrough_step(analysed.clip, step)[0] for step in (2, 3))
    assert "trained module" in scoring and "attend to every moment" in keeping
    scoring, keeping = (teaching.walkthrough_step(training_free.clip, step)[0] for step in (2, 3))
    assert "without learned weights" in scoring and "trained" not in scoring
    assert "attend" not in keeping and "as they are: no attention runs" in keeping


def test_walkthrough_steps_follow_the_clip(analysed) -> None:
    text, figure = teaching.walkthrough_step(None, 0)
    assert "Run an analysis" in text and figure is None
    for step in range(len(teaching.STEPS)):
        text, figure = teaching.walkthrough_step(analysed.clip, step)
        assert text.startswith(f"### Step {step + 1} of {len(teaching.STEPS)}") and figure.axes
    assert "30 views" in teaching.walkthrough_step(analysed.clip, 0)[0]
    assert teaching.walkthrough_step(analysed.clip, 99)[0].startswith("### Step 5")


def test_the_diagram_follows_the_theme_and_wraps_on_a_phone() -> None:
    html = teaching.DIAGRAM_HTML
    assert "var(--body-text-color)" in html and "flex-wrap:wrap" in html and "<img" not in html
    assert "background:white" not in html.replace(" ", "") and "#fff" not in html.lower()
