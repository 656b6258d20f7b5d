"""Deep links to a lesson state (`app.links`, the page's load event): what a link may name, what it
opens, and a note for everything it asked for that was ignored."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from app import links, ui
from app.cache import content_hash
from app.session import Settings
from sfc_core.options import RunOptions
from sfc_core.resources import EXAMPLES_DIR
from tests.clips import ROTATE_EXAMPLE


def test_a_link_names_an_example_settings_and_an_explorer_state() -> None:
    lesson = links.parse({"example": "grow", "model": "tiny", "length": "32", "clips": "2", "crops": "1",
                          "strategy": "uniform", "keep": "4"})
    assert lesson.example == EXAMPLES_DIR / "grow.mp4" and lesson.notes == []
    assert lesson.settings == Settings("tiny", 32, 1, RunOptions(clips=2, crops=1))
    assert (lesson.strategy, lesson.keep) == ("uniform", 4)
    query = links.link_for("grow", lesson.settings, "uniform", 4)
    assert links.parse(dict(pair.split("=") for pair in query[1:].split("&"))).settings == lesson.settings


def test_paths_unknown_parameters_and_bad_values_are_ignored_with_a_note() -> None:
    lesson = links.parse({"example": "../../etc/passwd", "model": "gpt", "length": "7", "keep": "x",
                          "strategy": "magic", "colour": "red"})
    assert lesson.example is None and lesson.settings == Settings() and lesson.strategy is None
    text = " ".join(lesson.notes)
    for part in ("example='../../etc/passwd'", "model='gpt'", "length='7'", "keep='x'", "strategy='magic'",
                 "unknown parameter 'colour'", "bundled example only"):
        assert part in text, part


def _request(**params: str) -> SimpleNamespace:
    return SimpleNamespace(query_params=params, url="http://127.0.0.1:7860/?" + "&".join(params))


def test_a_link_is_served_from_the_cache_like_a_run_and_opens_the_explorer(rotate_analysis) -> None:
    """A link's example goes through the page's cache: analysed already at the link's settings, it is served."""
    ui.ANALYSES.clear()
    ui.ANALYSES.get((content_hash(ROTATE_EXAMPLE), Settings()), lambda: ui._drawn(rotate_analysis))
    try:
        outputs = ui.open_link(_request(example="rotate_clockwise", strategy="uniform", keep="4"))
    finally:
        ui.ANALYSES.clear()
    page = dict(zip(ui.AnalysisOutputs._fields, outputs))
    note, answer = outputs[-2:]
    assert page["report"]["cache"] == "hit" and page["report"]["video"]["file"] == ROTATE_EXAMPLE.name
    assert note == "" and answer["strategy"] == "uniform" and len(answer["kept_frames"]) == 4
    assert page["explore_top5"] == {label: p for label, p in answer["top5"]} and not rotate_analysis.clip.tried


@pytest.mark.slow  # a whole analysis (a link served from the cache: above)
def test_opening_a_link_analyses_the_example_and_sets_the_explorer() -> None:
    outputs = ui.open_link(_request(example="grow", clips="2", crops="1", strategy="uniform", keep="4"))
    page = dict(zip(ui.AnalysisOutputs._fields, outputs))
    values = dict(zip(ui.LINK_INPUTS, outputs[len(ui.AnalysisOutputs._fields):]))
    note, answer = outputs[-2:]
    assert page["report"]["video"]["file"] == "grow.mp4" and page["report"]["settings"]["clips"] == 2
    assert values["strategy"] == "uniform" and values["keep"] == 4 and note == ""
    assert answer["strategy"] == "uniform" and len(answer["kept_frames"]) == 4
    assert page["explore_top5"] == {label: p for label, p in answer["top5"]}
    link = ui.link_to_view(values["video"], "tiny", 64, 1, 2, 1, "uniform", 4, "", None, _request())
    assert link.startswith("http://127.0.0.1:7860/?example=grow&") and "strategy=uniform" in link
    assert "seed=7" in ui.link_to_view(values["video"], "tiny", 64, 1, 2, 1, "random", 4, "", 7, _request())
    assert links.parse({"example": "grow", "strategy": "random", "seed": "7"}).seed == 7


def test_a_page_without_a_link_or_with_a_bad_one_is_left_alone_but_told() -> None:
    assert all(isinstance(o, type(gr.skip())) for o in ui.open_link(_request()))
    outputs = ui.open_link(_request(example="/etc/passwd"))
    assert "bundled example only" in outputs[-2]
    assert all(isinstance(o, type(gr.skip())) for o in outputs[:-2])
    assert "bundled examples only" in ui.link_to_view(None, "tiny", 64, 1, 10, 3, "sfc", 8, "", None, _request())
