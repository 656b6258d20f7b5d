"""What a class sees on the page, checked on a real analysed example: ✓/✗ against the known truth, the
out-of-domain warning, kept / picked / dropped moments marked in the pictures, hints instead of errors
while exploring, and figures redrawn for a dark page."""

from __future__ import annotations

from dataclasses import replace

import gradio as gr
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text

from app import figures, ui, verdicts
from app.analysis import KEPT_RGB, PICKED_RGB, kept_thumbnails, moments
from tests.clips import ROTATE_EXAMPLE


@pytest.fixture(scope="module")
def clip(rotate_analysis):
    return rotate_analysis.for_session(str(ROTATE_EXAMPLE), cached=False).clip


def _luminance(colour) -> float:
    red, green, blue, _ = to_rgba(colour)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def test_each_top5_says_right_or_wrong_against_the_known_truth(clip) -> None:
    truth = clip.truth["label_name"]
    others = [label for label in clip.sfc.labels if label != truth]
    right = verdicts.verdict("SFC", [(truth, 0.4), (others[0], 0.3)], clip)
    assert "✓" in right and "SFC is right" in right and truth in right and figures.RIGHT_COLOUR in right
    wrong = verdicts.verdict("uniform", [(others[0], 0.5), (others[1], 0.2), (truth, 0.1)], clip)
    assert "✗" in wrong and "uniform is wrong" in wrong and "#3 here" in wrong and figures.WRONG_COLOUR in wrong
    missing = verdicts.verdict("dense", [(label, 0.1) for label in others[:5]], clip)
    assert "not in this top-5" in missing
    # the page's own verdicts follow each method's real answer
    shown = ui.decorate_run(clip, "light")
    for html, result in ((shown[0], clip.sfc), (shown[1], clip.dense)):
        assert ("✓" in html) == (result.top(1)[0][0] == truth) and ("✗" in html) != ("✓" in html)
    assert shown[3].visible is False  # a bundled example on the model that knows it: no model switch


def test_labels_that_mean_nothing_are_said_on_the_answer_and_a_switch_is_offered(clip) -> None:
    own_video = replace(clip, truth=None)  # the embedded model on a video that is not one of its examples
    warning = verdicts.verdict("SFC", clip.sfc.top(5), own_video)
    assert "mean nothing" in warning and f"{len(clip.sfc.labels)} synthetic motions" in warning
    assert verdicts.out_of_domain(own_video)
    shown = ui.decorate_run(own_video, "light")
    assert shown[3].visible is True and all("mean nothing" in panel.label for panel in shown[-2:])
    assert [panel.label for panel in ui.decorate_run(clip, "light")[-2:]] == ["SFC top-5", "Dense sampling top-5"]
    kinetics = replace(own_video, settings=replace(clip.settings, model=verdicts.KINETICS_FALLBACK))
    assert verdicts.verdict("SFC", clip.sfc.top(5), kinetics) == ""  # a real video, truth unknown: no claim


def test_kept_picked_and_dropped_moments_are_marked_in_the_pictures(clip) -> None:
    sfc = clip.sfc
    shown = moments(sfc, kept=[2, 5], picked=[7])
    frame = sfc.display_frames[sfc.position_centres[0]]
    assert np.array_equal(shown[0][0], frame)  # neither kept nor picked: the frame as it is
    assert (shown[2][0][0, :] == KEPT_RGB).all() and (shown[5][0][:, -1] == KEPT_RGB).all()
    assert (shown[7][0][-1, :] == PICKED_RGB).all()
    assert shown[0][1] == f"frame {sfc.frame_indices[0][sfc.position_centres[0]]}, {sfc.timestamps_s[0][0]:.1f} s"
    thumbnails = kept_thumbnails(sfc)
    kept = len(sfc.kept.positions)
    assert all((image[0, :] == KEPT_RGB).all() for image, _ in thumbnails[:kept])
    first_dropped = next(p for p in range(len(sfc.position_centres)) if p not in sfc.kept.positions)
    original = sfc.display_frames[sfc.position_centres[first_dropped]].astype(float)
    dimmed = thumbnails[kept][0].astype(float)
    assert not (dimmed[0, :] == KEPT_RGB).all() and dimmed.std() < original.std()  # greyed, not framed
    assert all(len(caption) <= 20 for _, caption in thumbnails)  # read in full under a thumbnail


def test_exploring_before_there_is_anything_to_try_gives_a_hint_not_an_error(clip) -> None:
    skipped = ui.explore_on_change("uniform", 4, "", None, None)  # no Run yet
    assert len(skipped) == 5 and all(isinstance(item, dict) and item.get("__type__") == "update" for item in skipped)
    assert ui.explore_on_change("manual", 4, "  ", None, clip) == skipped  # manual, nothing picked yet
    timeline, _, top5, _, answer = ui.explore_on_change("uniform", 4, "", None, clip)
    assert isinstance(timeline, Figure) and answer["strategy"] == "uniform" and len(answer["kept_frames"]) == 4
    verdict, marked, *_ = ui.decorate_explore(answer, clip, "light")
    assert ("✓" in verdict) == (answer["top5"][0][0] == clip.truth["label_name"])
    assert sum((image[0, :] == KEPT_RGB).all() for image, _ in marked) == 4  # the explorer's choice, framed


def test_a_dark_page_gets_dark_copies_of_its_figures(clip, rotate_analysis) -> None:
    light = rotate_analysis.measurements
    assert figures.themed(light, "light") is light
    dark = figures.themed(light, "dark")
    assert dark is not light and light.get_facecolor() == (1, 1, 1, 1)  # the shared (cached) one is untouched
    assert _luminance(dark.get_facecolor()) < 0.25
    texts = [t for t in dark.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert texts and all(_luminance(t.get_color()) > 0.6 for t in texts)
    bars = [[patch.get_facecolor() for patch in ax.patches] for ax in light.axes]
    assert bars == [[patch.get_facecolor() for patch in ax.patches] for ax in dark.axes]  # data colours stay
    shown = ui.decorate_run(clip, "dark")
    assert all(isinstance(figure, Figure) and _luminance(figure.get_facecolor()) < 0.25 for figure in shown[5:8])
    # drawn once, when a dark page first asked, and shared by every session the analysis is served to
    again = ui.decorate_run(replace(clip, tried={}, explored={}), "dark")
    assert all(first is second for first, second in zip(shown[5:8], again[5:8]))
    assert ui.decorate_run(clip, "light")[5:8] == [gr.skip()] * 3


def test_the_pages_empty_seed_box_draws_anew_and_a_typed_seed_repeats(clip) -> None:
    """The page's seed box is text (a number box shows an empty value as 0, which would repeat one draw)."""
    draws = [ui.run_explore("random", 8, "", "", clip)[-1] for _ in range(3)]
    assert len({draw["seed"] for draw in draws}) == 3
    again = ui.run_explore("random", 8, "", f" {draws[0]['seed']} ", clip)[-1]
    assert again["kept_positions"] == draws[0]["kept_positions"] and again["seed"] == draws[0]["seed"]
    assert ui.run_explore("random", 8, "", 1234, clip)[-1]["seed"] == 1234  # an API client's number
    with pytest.raises(gr.Error, match="whole number"):
        ui.run_explore("random", 8, "", "twelve", clip)
