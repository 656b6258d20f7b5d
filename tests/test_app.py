"""The app's analysis and callbacks on real clips through the real pipeline, shipped weights."""

from __future__ import annotations

import inspect
import io
import json
import shutil
import socket
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from gradio.components.plot import PlotData
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from matplotlib.text import Text

from app import analysis, figures, teaching, ui
from app.analysis import analyze, check_upload
from app.config import LIMITS
from app.session import Settings
from sfc_core import explain, hub, models
from sfc_core.errors import ConfigError, InputRejected
from sfc_core.examples import bundled_example
from sfc_core.models import registry
from sfc_core.models.registry import WeightsSpec
from sfc_core.options import BACKENDS, RunOptions
from sfc_core.profiling import format_ratio
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.video import probe
from tests.clips import ROTATE_EXAMPLE, write_frames, write_noise_clip
from tests.input_cases import moving_frames
from tests.marks import slow_cases
from tests.weights_server import serve

EXAMPLE = EXAMPLES_DIR / "move_left.mp4"


@pytest.fixture(scope="module")
def result(rotate_analysis) -> analysis.Analysis:
    """This module's own copy of the shared analysis of a bundled example (as a browser session gets)."""
    return rotate_analysis.for_session(str(ROTATE_EXAMPLE), cached=False)


@pytest.fixture(scope="module")
def training_free(training_free_analysis) -> analysis.Analysis:
    """The embedded model at a spatial stride its SFC was not trained at: training-free SFC, no attention."""
    return training_free_analysis.for_session(str(ROTATE_EXAMPLE), cached=False)


def test_analysis_of_an_example_returns_everything_the_page_shows(result, rotate_progress) -> None:
    assert [round(f, 2) for f, _ in rotate_progress] == [0.02, 0.08, 0.45, 0.65, 0.85, 1.0]
    assert len(result.sfc_top5) == 5 and len(result.dense_top5) == 5
    assert abs(sum(result.sfc_top5.values())) <= 1.0 + 1e-6
    assert [row[0] for row in result.table] == [
        "views run", "model time", "decode + preprocess", "end to end", "peak memory (whole request)", "FLOPs",
        "frames decoded"]
    assert result.table[0][1:] == ["30", "1", "30.00x"]
    assert "ground truth:** rotate clockwise" in result.summary and "trained" in result.summary
    kept = [path for path, _ in result.thumbnails if (imread(path)[0, :, :3] * 255).round().astype(int).tolist()
            == [list(analysis.KEPT_RGB)] * imread(path).shape[1]]  # framed green: kept
    assert len(kept) == 8 and len(result.heatmaps) == 8
    assert all(imread(path).shape[0] >= 224 and "% of attention" in caption for path, caption in result.heatmaps)
    assert len(result.moments) == len(result.clip.sfc.scores) == result.clip.features.shape[2]
    # a bundled example on the model that knows it: only how its SFC was trained, if with annotations
    annotated = analysis.model_for(result.clip.settings).sfc_training["annotations_used"]
    assert ("trained:** with action-window annotations" in result.model_note) == annotated
    assert "About this model" not in result.model_note
    report = result.report
    assert report["sfc"]["kept_frames"] and report["ratios"]["flops"] > 5


def test_heatmap_video_is_browser_playable_h264(result) -> None:
    info = probe(result.heatmap_video)
    assert info.codec == "h264" and info.num_frames == 64 and info.width % 2 == 0 and info.height % 2 == 0
    import av

    with av.open(result.heatmap_video) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_figures_have_titles_axis_labels_and_legends(result) -> None:
    for figure in (result.timeline, result.measurements):
        axes = figure.axes
        assert all(ax.get_title() for ax in axes) and all(ax.get_xlabel() or ax.get_ylabel() for ax in axes)
        assert any(ax.get_legend() is not None for ax in axes)
    timeline_labels = [t.get_text() for t in result.timeline.axes[0].get_legend().get_texts()]
    assert "ground-truth action" in timeline_labels and "kept by SFC" in timeline_labels
    assert result.explanations.axes[0].get_ylabel() == "SFC attention"
    assert any(ax.get_ylabel() == explain.SCALES["frame"] for ax in result.explanations.axes)  # the colour bar
    dense_rows = [line for line in result.timeline.axes[0].get_lines() if len(line.get_xdata()) == 2]
    assert len(dense_rows) == 10 and len({line.get_ydata()[0] for line in dense_rows}) == 10  # a row per clip
    matrix = result.attention_matrix.axes[0]
    assert matrix.get_title() and matrix.get_xlabel() and len(matrix.get_yticks()) == 8
    where = next(ax for ax in result.measurements.axes if ax.get_title().startswith("where each peak goes"))
    for index, method in enumerate((result.clip.dense, result.clip.sfc)):  # each stack is that peak, split
        stack = [bar.get_height() for bar in where.patches if round(bar.get_x() + bar.get_width() / 2) == index]
        assert sum(stack) == pytest.approx(sum(method.measurement.memory_breakdown.values()) / 2**20)
        assert len(stack) >= 2 and sum(stack) == pytest.approx(method.measurement.peak_memory_bytes / 2**20, rel=0.1)
    for figure in (result.timeline, result.measurements, result.explanations, result.attention_matrix):
        figure.canvas.draw()  # ticks are made when drawn
        sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= figures.MIN_POINTS  # legible on a projector at 1280x720


def _patches(figure, colour: str) -> list:
    return [patch for ax in figure.axes for patch in ax.patches if to_rgb(patch.get_facecolor()) == to_rgb(colour)]


def _squeezed(text: str) -> str:  # a label as the figure may wrap it
    return "".join(text.split())


@pytest.mark.parametrize("variant", slow_cases(["with truth", "without truth", "training-free"],
                                               {"without truth", "training-free"}))
def test_each_walkthrough_step_shows_only_what_it_explains_at_one_size(result, training_free, variant: str) -> None:
    shown = {"with truth": result.clip, "without truth": replace(result.clip, truth=None),
             "training-free": training_free.clip}[variant]  # the last: no attention, 1 dense clip
    sfc, dense = shown.sfc, shown.dense
    steps = [teaching.walkthrough_step(shown, step)[1] for step in range(len(teaching.STEPS))]
    assert {tuple(figure.get_size_inches()) for figure in steps} == {teaching.SIZE}  # the page keeps still
    for figure in steps:
        texts = [t for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]
        titles = [ax.title for ax in figure.axes if ax.get_title()]
        titles += [t for t in texts if t.get_text() == figure.get_suptitle()]
        assert titles and min(t.get_fontsize() for t in titles) >= 14
        assert min(t.get_fontsize() for t in texts) >= 12, [t.get_text() for t in texts if t.get_fontsize() < 12]
        figure.savefig(io.BytesIO())
    dense_step, long_clip, scoring, keeping, answers = steps
    clips = dense_step.axes[0]
    rows = [line for line in clips.get_lines() if len(line.get_xdata()) == 2]
    assert len(rows) == len(dense.timestamps_s) and f"= {dense.plan.num_views} views" in clips.get_title()
    assert bool(_patches(dense_step, figures.TRUTH_COLOUR)) == (shown.window is not None)
    for figure in (dense_step, scoring):
        assert not _patches(figure, figures.KEPT_COLOUR)  # nothing gives step 4 away
    assert not [line for line in scoring.axes[0].get_lines() if line.get_color() == figures.DENSE_COLOUR]
    legend = [t.get_text() for t in scoring.axes[0].get_legend().get_texts()]
    assert "SFC selection score" in legend and ("attention received" in legend) == (sfc.heatmap_kind == "attention")
    assert len(_patches(keeping, figures.KEPT_COLOUR)) == len(sfc.kept.positions)
    assert sum(bool(ax.images) for ax in keeping.axes) == len(sfc.kept.positions)  # the kept frames below
    assert sum(bool(ax.images) for ax in long_clip.axes) == 8
    assert all(" s\nframe " in ax.get_xlabel() for ax in long_clip.axes)  # each frame says when it is
    sfc_answers = [_squeezed(t.get_text()) for t in answers.axes[0].get_yticklabels()]
    assert sfc_answers[0] == _squeezed(sfc.top(1)[0][0]) and len(sfc_answers) == 5
    ratio = format_ratio(dense.measurement.flops / sfc.measurement.flops)
    assert f"{ratio} fewer FLOPs" in answers.get_suptitle()
    marked = [t.get_text() for ax in answers.axes for t in ax.texts if "✓" in t.get_text()]
    truth = shown.truth_class
    assert len(marked) == (0 if truth is None else sum(sfc.labels[truth] in dict(r.top(5)) for r in (sfc, dense)))


def _heatmap_texts(out: analysis.Analysis) -> tuple[list[str], bool]:
    """Every text the page shows about the clip's heatmap (captions, colour bar, labels, figure titles, on
    both colour scales), and whether the attention matrix is shown."""
    bar, gallery, video = ui.name_heatmaps(out.clip)
    matrix = ui.decorate_run(out.clip, "light")[5 + ui.RUN_FIGURES.index("attention_matrix")]
    timeline = out.timeline.axes[0]
    texts = [bar.value, gallery.label, video.label, timeline.get_ylabel(),
             *(t.get_text() for t in timeline.get_legend().get_texts())]
    for shown, figure in (ui.redraw_heatmaps(False, out.clip), ui.redraw_heatmaps(True, out.clip)):
        texts += [caption for _, caption in shown] + [figure.get_suptitle()]
        texts += [text for ax in figure.axes for text in (ax.get_ylabel(), ax.get_title())]
    return texts, matrix.visible


def test_each_heatmap_says_whether_it_is_attention_or_a_score(result, training_free) -> None:
    assert result.report["sfc"]["heatmap_kind"] == "attention"
    trained, shown = _heatmap_texts(result)
    assert shown and result.attention_matrix is not None
    assert all(caption.endswith("% of attention") for _, caption in result.heatmaps)
    shown_text = " | ".join(trained)
    for words in ("least attention", "most attention", "attention received", "SFC attention on the kept frames"):
        assert words in shown_text

    assert training_free.report["sfc"]["heatmap_kind"] == "score" and "training-free" in training_free.summary
    free, shown = _heatmap_texts(training_free)
    assert not shown and training_free.attention_matrix is None
    assert all(caption.endswith("% of the score") for _, caption in training_free.heatmaps)
    assert any(text.startswith("SFC score map on the kept frames") for text in free)
    assert "highest score" in " | ".join(free)
    assert [text for text in free if "attention" in text.lower()] == []


def test_attention_can_be_redrawn_on_one_scale_for_all_frames(result) -> None:
    gallery, figure = analysis.heatmaps(result.clip, "shared")
    assert len(gallery) == 8 and any(ax.get_ylabel() == explain.SCALES["shared"] for ax in figure.axes)
    shown = [np.round(imread(path)[..., :3] * 255).astype(int) for path, _ in result.heatmaps]
    assert all(np.abs(a[..., :3].astype(int) - b).max() <= 1 for (a, _), b in zip(analysis.heatmaps(result.clip)[0],
                                                                                shown))  # the files hold the images
    assert max(np.abs(a[..., :3].astype(int) - b).max() for (a, _), b in zip(gallery, shown)) > 10


def test_a_video_outside_the_embedded_models_classes_says_so(tmp_path: Path) -> None:
    model = hub.load("tiny")
    other = model.predict(write_noise_clip(tmp_path / "street.mp4", 48, 96, 72), mode="sfc", measure="time")
    note = analysis.model_note(other)
    assert note.startswith("**About this model:** The tiny model knows only the 10 synthetic SynthActions")
    assert "slowonly_r50" in note and "download" in note
    assert other.to_dict()["notes"] == other.notes == other.model_notes + other.video_notes  # the library says it
    assert other.video_notes == ["the video has 48 frames, fewer than the 64 SFC samples; frames repeat."]
    assert f"note: {other.notes[0]}" in repr(other)
    example = model.predict(EXAMPLE, mode="sfc", measure="time")
    assert analysis.model_note(example) == "" and example.model_notes == []
    annotated = {"annotations_used": True}
    assert analysis.model_note(example, annotated).startswith(
        "**How this SFC was trained:** with action-window annotations")
    assert analysis.model_note(example, {"annotations_used": False}) == ""


def test_zerogpu_duration_grows_with_the_work_and_is_clamped() -> None:
    from app.config import gpu_seconds

    inspect.signature(gpu_seconds).bind(*inspect.signature(ui._analyze_on_gpu).parameters)  # ZeroGPU's call
    small = gpu_seconds(str(EXAMPLE), Settings())
    big = gpu_seconds(str(EXAMPLE), Settings("slowonly_r50"))
    assert 20 <= small < big <= 120
    assert gpu_seconds(str(EXAMPLE), Settings("slowonly_r50", run=RunOptions(clips=1, crops=1))) < big
    assert gpu_seconds(None, Settings()) == gpu_seconds("missing.mp4", Settings()) >= 20


def test_examples_are_recognised_by_content_not_name(tmp_path: Path) -> None:
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes(EXAMPLE.read_bytes())
    assert bundled_example(copy)["label_name"] == "move left"
    other = tmp_path / "other.mp4"
    other.write_bytes(EXAMPLE.read_bytes()[:-1] + b"\0")
    assert bundled_example(other) is None and bundled_example(tmp_path / "missing.mp4") is None


def test_limits_reject_large_long_and_huge_uploads() -> None:
    with pytest.raises(InputRejected, match="accepts up to 0 MB"):
        check_upload(EXAMPLE, replace(LIMITS, max_upload_bytes=1000))
    with pytest.raises(InputRejected, match="accepts up to 0 minutes"):
        check_upload(EXAMPLE, replace(LIMITS, max_duration_s=1))
    with pytest.raises(InputRejected, match="megapixels per frame"):
        check_upload(EXAMPLE, replace(LIMITS, max_pixels=100))
    frames = probe(EXAMPLE).num_frames
    with pytest.raises(InputRejected, match=f"has {frames} frames; this app accepts up to {frames - 1} frames"):
        check_upload(EXAMPLE, replace(LIMITS, max_frames=frames - 1))
    check_upload(EXAMPLE, replace(LIMITS, max_frames=frames))  # the limit itself is allowed


def test_callback_turns_bad_input_into_a_clear_ui_error_and_one_log_line(tmp_path: Path, caplog) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video at all\n" * 50)
    with caplog.at_level("INFO", logger="sfc_studio"), pytest.raises(gr.Error, match="could not be read") as caught:
        ui.run_analysis(str(bad), "tiny", 64, 1, 10, 3)
    assert not caught.value.print_exception  # gradio prints no traceback for it
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage().startswith("refused analysis of notes.mp4: ") and "\n" not in record.getMessage()
    with pytest.raises(gr.Error, match="Upload a video"):
        ui.run_analysis(None, "tiny", 64, 1, 10, 3)


@pytest.fixture(scope="module")
def served() -> Iterator[ui.AnalysisOutputs]:
    """The `/analyze` callback's outputs for a bundled example, computed afresh (not served from the cache)."""
    ui.ANALYSES.clear()
    yield ui.run_analysis(str(EXAMPLE), "tiny", 32, 1, 2, 1)
    ui.ANALYSES.clear()


def test_callback_outputs_line_up_with_the_page(served) -> None:
    outputs = served
    assert isinstance(outputs, ui.AnalysisOutputs) and len(outputs) == 19
    assert max(outputs.sfc_top5, key=outputs.sfc_top5.get) == "move left"  # the shipped model gets it right
    assert outputs.report["settings"]["length"] == 32 and outputs.report["dense"]["num_views"] == 2
    assert isinstance(outputs.clip, ui.Clip) and outputs.clip.features.shape[2] == len(outputs.clip.sfc.scores)
    assert "About this model" not in outputs.model_note and outputs.table[0][1] == "2"
    assert outputs.over_time == [] and outputs.clip.over_time == []  # a 5.4 s example: one window
    assert outputs.keep == len(outputs.clip.sfc.kept.positions)


def test_a_cached_analysis_is_each_sessions_own_and_says_when_it_was_measured(served, tmp_path: Path,
                                                                            monkeypatch) -> None:
    copy = shutil.copy(EXAMPLE, tmp_path / "student.mp4")
    second = ui.run_analysis(str(copy), "tiny", 32, 1, 2, 1)  # the same bytes and settings as `served`
    assert served.report["cache"] == "miss" and second.report["cache"] == "hit"
    assert second.report["video"]["file"] == "student.mp4" and served.report["video"]["file"] == EXAMPLE.name
    assert "served from cache" in second.summary and "served from cache" not in served.summary
    assert second.report["sfc"] == served.report["sfc"]  # the measurement of the run that produced it
    assert second.clip is not served.clip and second.clip.features is served.clip.features
    # the figures were encoded once, when computed: a hit sends them as they are (Gradio draws a Figure anew)
    assert isinstance(served.measurements, PlotData) and second.measurements is served.measurements
    ui.run_explore("uniform", 4, "", None, second.clip)
    assert second.clip.tried and not served.clip.tried  # each session's explorer is its own
    computed = []  # another setting is computed, never served from the cache: here it stops at the computation

    def stop(video, settings, progress):
        computed.append(settings)
        raise ConfigError("stopped")

    monkeypatch.setattr(ui, "_analyze_on_gpu", stop)
    for length, clips in ((32, 3), (48, 2)):  # another run option; another SFC setting
        with pytest.raises(gr.Error, match="stopped"):
            ui.run_analysis(str(copy), "tiny", length, 1, clips, 1)
    assert computed == [Settings("tiny", 32, 1, RunOptions(clips=3, crops=1)),
                        Settings("tiny", 48, 1, RunOptions(clips=2, crops=1))]


def test_model_choices_put_the_embedded_default_first() -> None:
    label, name = analysis.model_choices()[0]
    assert name == "tiny" and "trained, embedded" in label
    choices = dict((n, label) for label, n in analysis.model_choices())
    assert choices.keys() == {"tiny", "r2plus1d_18", "r3d_18", "slowonly_r50", "x3d_s", "x3d_m"}
    assert "downloads 130 MB once" in choices["slowonly_r50"] or "downloaded" in choices["slowonly_r50"]


def _register_download_model(monkeypatch, name: str, url: str) -> None:
    config = replace(models.get_config("tiny"), name=name, shipped_weights=None, shipped_sfc=None,
                     weights=WeightsSpec(url=url, download_mb=4))
    monkeypatch.setitem(registry._REGISTRY, name, config)


@pytest.mark.slow
def test_published_model_downloads_with_progress_then_runs_training_free_sfc(tmp_path, monkeypatch) -> None:
    published = tmp_path / "published"
    published.mkdir()
    shipped = models.get_config("tiny").shipped("backbone")
    torch.save({"model_state": models.create("tiny", weights=shipped).state_dict()}, published / "TINY.pyth")
    monkeypatch.setenv("SFC_WEIGHTS_DIR", str(tmp_path / "cache"))
    steps = []
    with serve(published) as (url, requests):
        _register_download_model(monkeypatch, "tiny_download", f"{url}/TINY.pyth")
        assert "downloads 4 MB once" in dict((n, label) for label, n in analysis.model_choices())["tiny_download"]
        try:
            out = analyze(EXAMPLE, Settings(model="tiny_download"),
                          progress=lambda fraction, text: steps.append(text))
        finally:
            analysis.forget_models()
    assert requests == ["/TINY.pyth"]
    assert any(text.startswith("downloading tiny_download weights:") and "of" in text for text in steps)
    assert out.report["sfc_weights"].startswith("training-free") and "training-free" in out.summary
    assert "published weights (TINY.pyth; verified by" in out.summary
    assert len(out.heatmaps) == 8 and out.report["ratios"]["flops"] > 5  # weight-free SFC: cheaper still


def test_offline_download_is_a_clear_message_and_the_app_keeps_working(tmp_path, monkeypatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/TINY.pyth"
    monkeypatch.setenv("SFC_WEIGHTS_DIR", str(tmp_path / "cache"))
    _register_download_model(monkeypatch, "tiny_offline", dead)
    with pytest.raises(gr.Error, match="you seem to be offline.*The embedded model works offline"):
        ui.run_analysis(str(EXAMPLE), "tiny_offline", 32, 1, 2, 1)
    summary, sfc_top5, *_ = ui.run_analysis(str(EXAMPLE), "tiny", 32, 1, 2, 1)
    assert len(sfc_top5) == 5 and "embedded" in summary


def test_every_api_output_and_parameter_has_a_meaningful_name() -> None:
    info = ui.build_demo().get_api_info()["named_endpoints"]
    assert {"/analyze", "/explore"} <= set(info)
    for endpoint in ("/analyze", "/explore"):
        labels = [part["label"] for part in info[endpoint]["returns"] + info[endpoint]["parameters"]]
        assert all(label and not label.startswith("value_") for label in labels), (endpoint, labels)
    backend = info["/analyze"]["parameters"][-1]  # a client that leaves it out gets PyTorch, as before
    assert (backend["parameter_name"], backend["parameter_default"]) == ("backend", "torch")
    assert set(analysis.BACKEND_NAMES) == set(BACKENDS)  # every backend has a name on the page


@pytest.mark.slow  # three analyses and a streamed pass
def test_a_long_video_shows_each_windows_answer_and_a_window_can_be_analysed_alone(tmp_path: Path) -> None:
    video = write_frames(tmp_path / "long.mp4", moving_frames(300, 128, 96), fps=25)  # 12 s
    outputs = ui.run_analysis(str(video), "tiny", 64, 1, 2, 1)
    windows = outputs.clip.over_time
    assert [w.window_s for w in windows] == [(0.0, 8.0), (4.0, 12.0)]  # each 8 s window; the last ends the video
    assert [caption.split(":")[0] for _, caption in outputs.over_time] == ["0-8 s", "4-12 s"]
    assert all(imread(path).ndim == 3 for path, _ in outputs.over_time)
    picked = ui.run_window(outputs.clip, gr.SelectData(None, {"index": 0, "value": None}))
    assert picked.clip.sfc.video.duration_s == pytest.approx(8.0)
    assert picked.clip.over_time == windows and picked.clip.over_time_video.path == str(video)
    assert isinstance(picked.over_time, type(gr.skip()))  # the strip stays on the page
    again = ui.run_window(picked.clip, gr.SelectData(None, {"index": 1, "value": None}))  # from the window's page
    assert again.clip.sfc.video.duration_s == pytest.approx(8.0) and again.clip.over_time == windows


def test_export_zips_every_figure_for_slides_with_a_readme(result) -> None:
    with zipfile.ZipFile(ui.run_export(result.clip)) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
        width = imread(io.BytesIO(archive.read("measurements.png"))).shape[1]
        report = json.loads(archive.read("report.json"))
    figures = {"measurements", "timeline", "heatmaps_vs_gradcam", "attention_matrix"}
    assert {f"{name}.{form}" for name in figures for form in ("png", "svg")} <= names
    assert {f"kept_{n}.png" for n in range(1, 9)} <= names and {"report.json", "README.txt"} <= names
    assert all(name.split(".")[0] in readme for name in names if name != "README.txt")
    assert width >= 1600  # projector resolution
    assert report["sfc"]["kept_frames"] == result.report["sfc"]["kept_frames"]
    with pytest.raises(gr.Error, match="Run an analysis first"):
        ui.run_export(None)
