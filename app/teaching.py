"""The "How SFC works" tab: a diagram that follows the page's theme and reads on a phone, and a
step-by-step walk through the clip the session analysed last (Next / Back)."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from sfc_core.profiling import format_ratio, ratio
from sfc_core.report import Result

from . import figures
from .session import Clip
from .words import WORDS

_BOX = ("flex:1 1 150px;min-width:130px;padding:10px 12px;border-radius:10px;border:2px solid {colour};"
        "background:{colour}22;color:var(--body-text-color);font-size:1rem;line-height:1.35")
_ARROW = "align-self:center;font-size:1.4rem;color:var(--body-text-color-subdued)"


def _row(title: str, boxes: list[tuple[str, str]]) -> str:
    cells = f'<span style="{_ARROW}">&rarr;</span>'.join(
        f'<div style="{_BOX.format(colour=colour)}">{text}</div>' for text, colour in boxes)
    return (f'<div style="margin:10px 0"><div style="font-weight:700;font-size:1.15rem;'
            f'color:var(--body-text-color);margin-bottom:6px">{title}</div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:8px">{cells}</div></div>')


DIAGRAM_HTML = '<div id="sfc-diagram">' + _row("Dense sampling: the whole network, 30 times", [
    ("<b>30 short views</b><br>10 clips &times; 3 crops", figures.DENSE_COLOUR),
    ("<b>whole network</b><br>run on every view", figures.DENSE_COLOUR),
    ("<b>average</b><br>the 30 answers", figures.DENSE_COLOUR),
]) + _row("SFC: the head once, the tail once", [
    ("<b>1 long clip</b><br>e.g. 64 frames over the whole video", figures.SFC_COLOUR),
    ("<b>head</b><br>the network's first stages", figures.SFC_COLOUR),
    ("<b>SFC</b><br>score every moment, keep the top K; a trained SFC lets them attend to all moments",
     figures.KEPT_COLOUR),
    ("<b>tail</b><br>the last stages, on exactly the size they expect", figures.SFC_COLOUR),
    ("<b>one answer</b>", figures.SFC_COLOUR),
]) + "</div>"

STEPS = ("Dense sampling", "SFC's long clip", "Scoring every moment", "Keeping the top K", "The tail answers")
SIZE = (11, 4.4)  # inches, every step's figure: the page does not jump on Next / Back
TEXT, TITLE = 12, 15  # points: readable from the back of a lecture hall


def _frames(container: Figure | SubFigure, frames: np.ndarray, captions: list[str]) -> None:
    for ax, frame, caption in zip(container.subplots(1, len(frames), squeeze=False)[0], frames, captions):
        ax.imshow(frame)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(caption, fontsize=TEXT)


def _captions(sfc: Result, slots: list[int]) -> list[str]:
    return [f"{sfc.timestamps_s[0][i]:.1f} s\nframe {sfc.frame_indices[0][i]}" for i in slots]


def _time_axis(ax: Axes, end: float, ylabel: str) -> None:
    ax.set_xlim(0, end)
    ax.set_xlabel("time in the video (s)", fontsize=TEXT)
    ax.set_ylabel(ylabel, fontsize=TEXT)
    ax.tick_params(labelsize=TEXT)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=TEXT)


def _dense_figure(sfc: Result, dense: Result, window: tuple[int, int] | None) -> Figure:
    """Dense sampling's clips, one row each over the video's time axis, with their frames as ticks."""
    clips = dense.timestamps_s
    figure = figures.blank_figure(*SIZE)
    ax = figure.add_subplot()
    figures.truth_window(ax, sfc, window)
    for row, stamps in enumerate(clips):
        first = row == 0
        ax.plot([stamps[0], stamps[-1]], [row, row], color=figures.DENSE_COLOUR, linewidth=12, solid_capstyle="butt",
                label="a clip: the whole network runs on it" if first else None)
        ax.plot(stamps, [row] * len(stamps), "|", color="black", markersize=12, label="its frames" if first else None)
    ax.set_yticks(range(len(clips)), [f"{stamps[0]:.1f}-{stamps[-1]:.1f} s" for stamps in clips])
    ax.set_ylim(len(clips) - 0.5, -0.5)
    _time_axis(ax, sfc.video.duration_s, "dense clip")
    ax.set_title(f"Dense sampling: {len(clips)} clips x {dense.plan.num_views // max(1, len(clips))} crops = "
                 f"{dense.plan.num_views} views of the whole network", fontsize=TITLE)
    return figure


def _scores(ax: Axes, sfc: Result, window: tuple[int, int] | None, kept: bool) -> None:
    """SFC's scores over the video's time axis (`figures.scores_over_time`); the kept moments' bands only
    when `kept`."""
    step = figures.scores_over_time(ax, sfc, window, "SFC" if kept else None)
    ax.set_ylim(-0.2, 1.1)
    ax.set_yticks([0, 0.5, 1])
    _time_axis(ax, max(sfc.video.duration_s, sfc.timestamps_s[0][-1] + step), "normalised score")


def _scores_figure(sfc: Result, window: tuple[int, int] | None) -> Figure:
    figure = figures.blank_figure(*SIZE)
    ax = figure.add_subplot()
    _scores(ax, sfc, window, kept=False)
    ax.set_title(f"SFC scores all {len(sfc.scores)} moments of the long clip", fontsize=TITLE)
    return figure


def _kept_figure(sfc: Result, window: tuple[int, int] | None) -> Figure:
    """The score line with the kept moments as bands, above the kept frames."""
    slots = [sfc.position_centres[p] for p in sfc.kept.positions]
    figure = figures.blank_figure(*SIZE)
    timeline, strip = figure.subfigures(2, 1, height_ratios=(1.3, 1))
    _scores(timeline.add_subplot(), sfc, window, kept=True)
    _frames(strip, sfc.display_frames[slots], _captions(sfc, slots))
    figure.suptitle(f"SFC keeps the top {len(slots)} moments (green): their frames below", fontsize=TITLE)
    return figure


def _answers_figure(clip: Clip) -> Figure:
    """SFC's top 5 beside dense sampling's, the true class's bar marked; the FLOPs ratio in the title."""
    sfc, dense = clip.sfc, clip.dense
    truth = sfc.labels[clip.truth_class] if clip.truth_class is not None else None
    figure = figures.blank_figure(*SIZE)
    for ax, result, colour, name in zip(figure.subplots(1, 2), (sfc, dense), (figures.SFC_COLOUR, figures.DENSE_COLOUR),
                                        ("SFC: 1 long clip", f"dense sampling: {dense.plan.num_views} views")):
        labels, values = zip(*result.top(5))
        bars = ax.barh(range(len(labels)), values, 0.7,
                       color=[figures.TRUTH_COLOUR if label == truth else colour for label in labels])
        marks = [" ✓ true action" if label == truth else "" for label in labels]
        ax.bar_label(bars, [f"{v:.0%}{mark}" for v, mark in zip(values, marks)], padding=4, fontsize=TEXT)
        ax.set_yticks(range(len(labels)), [textwrap.fill(label, 22) for label in labels])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlim(0, 1.45)  # room for the values
        ax.set_xticks([0, 0.5, 1])
        ax.tick_params(labelsize=TEXT)
        ax.set_xlabel("probability", fontsize=TEXT)
        ax.set_title(name, fontsize=TITLE - 1)
    flops = format_ratio(ratio(dense.measurement.flops, sfc.measurement.flops))
    figure.suptitle(f"Top 5 answers: SFC used {flops} fewer FLOPs than dense sampling", fontsize=TITLE)
    return figure


def walkthrough_step(clip: Clip | None, step: int) -> tuple[str, Figure | None]:
    """The text and picture of step `step` (0..len(STEPS)-1) for the session's clip, worded for its SFC
    (a trained one attends; a training-free one only scores). Each picture shows only what its step
    explains (no kept moments before step 4), and all are `SIZE`, so the page keeps still."""
    if clip is None:
        return "Run an analysis on the **Analyze** tab first: the walk-through follows your clip.", None
    step = max(0, min(step, len(STEPS) - 1))
    sfc, dense = clip.sfc, clip.dense
    words = WORDS[sfc.heatmap_kind]
    heading = f"### Step {step + 1} of {len(STEPS)}: {STEPS[step]}\n"
    stamps = sfc.timestamps_s[0]
    if step == 0:
        text = (f"Dense sampling cuts the video into **{len(dense.timestamps_s)} clips** (the grey rows), takes "
                f"**{dense.plan.num_views // max(1, len(dense.timestamps_s))} crops** of each and runs the whole "
                f"network on all **{dense.plan.num_views} views**: {dense.measurement.flops / 1e9:.1f} GFLOPs. "
                f"Its answer: **{dense.top(1)[0][0]}**.")
        return heading + text, _dense_figure(sfc, dense, clip.window)
    if step == 1:
        picks = np.linspace(0, len(sfc.display_frames) - 1, 8).round().astype(int).tolist()
        text = (f"SFC instead decodes **{len(stamps)} frames** spread over the whole "
                f"{sfc.video.duration_s:.1f} s and runs only the network's **head** on them, once.")
        figure = figures.blank_figure(*SIZE)
        _frames(figure, sfc.display_frames[picks], _captions(sfc, picks))
        figure.suptitle(f"8 of the long clip's {len(stamps)} frames, spread over the whole "
                        f"{sfc.video.duration_s:.1f} s", fontsize=TITLE)
        return heading + text, figure
    if step == 2:
        text = f"The head's output has **{len(sfc.scores)} moments** (temporal positions). {words.scoring}"
        return heading + text, _scores_figure(sfc, clip.window)
    if step == 3:
        text = f"SFC keeps the **{len(sfc.kept.positions)} best-scored moments** (green), {words.tail}"
        return heading + text, _kept_figure(sfc, clip.window)
    flops = format_ratio(ratio(dense.measurement.flops, sfc.measurement.flops))
    text = (f"The network's **tail** runs once, on exactly the input size it was trained for. SFC's answer: "
            f"**{sfc.top(1)[0][0]}** ({sfc.top(1)[0][1]:.0%}), with {flops} fewer FLOPs than dense sampling.")
    return heading + text, _answers_figure(clip)
