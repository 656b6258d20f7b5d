"""Matplotlib figures for the app. Each returns a `matplotlib.figure.Figure` (no pyplot state, safe
across concurrent requests) with a title, axis labels and a legend, drawn for the light theme and
readable on a projector (large fonts); `themed` makes a dark-theme copy."""

from __future__ import annotations

import pickle

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from matplotlib.spines import Spine
from matplotlib.text import Text

from sfc_core import explain
from sfc_core.memory_breakdown import STAGES
from sfc_core.profiling import format_ratio, ratio
from sfc_core.report import Result

from .session import Answer
from .words import WORDS

DENSE_COLOUR, SFC_COLOUR, KEPT_COLOUR, TRUTH_COLOUR = "#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e"
RIGHT_COLOUR, WRONG_COLOUR = "#2ca02c", "#d62728"  # an answer against the known truth
DENSE_ROW = 0.09  # height of one dense clip's row on the timeline


def blank_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), facecolor="white")
    figure.set_layout_engine("constrained")
    return figure


MIN_POINTS = 12  # the smallest type a projector shows legibly at 1280x720


def legible(figure: Figure) -> Figure:
    """Raise every text of `figure` (labels, ticks, legends, values) to at least MIN_POINTS."""
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = axis.get_ticklabels()
            if not labels or labels[0].get_fontsize() < MIN_POINTS:
                axis.set_tick_params(labelsize=MIN_POINTS)
    for text in figure.findobj(Text):
        text.set_fontsize(max(MIN_POINTS, text.get_fontsize()))
    return figure


def normalised(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def scores_over_time(ax, sfc: Result, truth: tuple[int, int] | None, kept_by: str | None = "SFC") -> float:
    """On `ax`, over the video's time axis: the ground-truth window, the positions kept as bands (labelled
    "kept by `kept_by`"; None: no bands), SFC's score per position, where a trained SFC's attention went
    (when the kept positions are its own; a training-free map's total per position is the score line
    itself), and the frames SFC decoded as ticks. Returns the time between decoded frames."""
    sampled_times = np.array(sfc.timestamps_s[0])
    truth_window(ax, sfc, truth)
    step = np.median(np.diff(sampled_times)) if len(sampled_times) > 1 else 1 / sfc.video.fps
    for i, position in enumerate(sfc.kept.positions if kept_by else []):
        window = sfc.position_windows[position]
        start, end = sampled_times[window[0]] - step / 2, sampled_times[window[-1]] + step / 2
        ax.axvspan(start, end, color=KEPT_COLOUR, alpha=0.3, label=f"kept by {kept_by}" if i == 0 else None)
    position_times = sampled_times[sfc.position_centres]
    ax.plot(position_times, normalised(np.array(sfc.scores)), "-o", color=SFC_COLOUR, markersize=3,
            label="SFC selection score")
    received = attention_received(sfc)
    if received:
        ax.plot(position_times, normalised(sfc.attention.sum(axis=(1, 2))), "--", color="#9467bd", label=received)
    ax.plot(sampled_times, np.full_like(sampled_times, -0.08), "|", color="black", markersize=8,
            label=f"{len(sampled_times)} frames SFC decoded")
    return step


def truth_window(ax, sfc: Result, truth: tuple[int, int] | None) -> None:
    """The ground-truth action's frames (first, last) as a band over the video's time axis."""
    if truth is not None:
        fps = sfc.video.fps
        ax.axvspan(truth[0] / fps, (truth[1] + 1) / fps, color=TRUTH_COLOUR, alpha=0.25, label="ground-truth action")


def attention_received(sfc: Result) -> str | None:
    """The name of the line of where the attention went, or None where there is none to draw."""
    return WORDS[sfc.heatmap_kind].received if sfc.attention is not None else None


def timeline(sfc: Result, dense: Result | None = None, truth: tuple[int, int] | None = None,
             chooser: str = "SFC") -> Figure:
    """The whole video on a time axis (`scores_over_time`, the positions `chooser` kept) and each of dense's
    clips on its own row."""
    clips = dense.timestamps_s if dense is not None else []
    figure = blank_figure(11, 4.2 + 0.18 * len(clips))
    ax = figure.add_subplot()
    step = scores_over_time(ax, sfc, truth, chooser)
    shades = colormaps["cividis"](np.linspace(0.0, 0.55, len(clips)))  # dark blue to grey: not the bands' colours
    for i, clip in enumerate(clips):  # one row per clip: overlapping clips stay apart
        row = -0.2 - DENSE_ROW * i
        ax.plot([clip[0], clip[-1]], [row, row], color=shades[i], linewidth=5, solid_capstyle="butt",
                label=f"{len(clips)} dense clips (one row each)" if i == 0 else None)
        ax.text(clip[-1], row, f" {i + 1}: {clip[0]:.1f}-{clip[-1]:.1f} s", va="center", fontsize=9)
    ax.set_xlim(0, max(sfc.video.duration_s, sfc.timestamps_s[0][-1] + step) * (1.12 if clips else 1.0))
    ax.set_ylim(-0.3 - DENSE_ROW * len(clips), 1.12)
    ax.set_yticks([0, 0.5, 1])
    ax.set_xlabel("time in the video (s)")
    received = attention_received(sfc)
    ax.set_ylabel(f"normalised score / {received}" if received else "normalised score")
    ax.set_title(f"Which moments {chooser} kept")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return legible(figure)


# short names and colours of where the peak memory goes (`memory_breakdown.STAGES`, drawn in its order)
MEMORY_PARTS = {
    "other": ("decoder, Python, slack", "#d9d9d9"),
    "input": ("decoded frames", "#bcbd22"),
    "network": ("whole network (dense)", DENSE_COLOUR),
    "head": ("head", SFC_COLOUR),
    "sfc_module": ("SFC module", KEPT_COLOUR),
    "tail": ("tail", "#9467bd"),
    "model": ("other model work", "#8c564b"),
}


def measurements(dense: Result, sfc: Result) -> Figure:
    """Model time, peak memory (and, measured in the same run, where each peak goes, stage by stage) and
    FLOPs, dense beside SFC, with the ratio on each panel."""
    panels = (
        ("model time (s)", dense.measurement.model_time_s, sfc.measurement.model_time_s),
        ("peak memory (MiB)", dense.measurement.peak_memory_bytes / 2**20, sfc.measurement.peak_memory_bytes / 2**20),
        ("GFLOPs", dense.measurement.flops / 1e9, sfc.measurement.flops / 1e9),
    )
    parts = [result.measurement.memory_breakdown for result in (dense, sfc)]
    split = all(parts)
    figure = blank_figure(14 if split else 11, 3.8)
    axes = list(figure.subplots(1, 4 if split else 3, width_ratios=[1, 1, 1.5, 1] if split else None))
    where = axes.pop(2) if split else None
    methods = [f"dense\n{dense.plan.num_views} views", "SFC\n1 long clip"]
    for ax, (title, dense_value, sfc_value) in zip(axes, panels):
        bars = ax.bar(methods, [dense_value, sfc_value], color=[DENSE_COLOUR, SFC_COLOUR])
        ax.set_title(f"{title}\ndense / SFC = {format_ratio(ratio(dense_value, sfc_value))}")
        ax.set_ylabel(title)
        ax.bar_label(bars, fmt="%.3g", fontsize=9)
        ax.margins(y=0.15)
    if split:
        _memory_parts(where, ["dense", "SFC"], parts)
    figure.suptitle(f"Measured in this run on {sfc.measurement.device}")
    return legible(figure)


def _memory_parts(ax, methods: list[str], parts: list[dict[str, int]]) -> None:
    """Each method's peak memory as stacked stages: what was held when the memory peaked (parts under
    1% of the larger peak are drawn but not named)."""
    bottom = np.zeros(2)
    named = 0.01 * max(sum(part.values()) for part in parts) / 2**20
    for key in STAGES:
        label, colour = MEMORY_PARTS[key]
        heights = np.array([part.get(key, 0) / 2**20 for part in parts])
        if heights.any():
            ax.bar(methods, heights, 0.6, bottom=bottom, color=colour, label=label if heights.max() >= named else None)
            bottom += heights
    ax.set_title("where each peak goes\n(held at the peak)")
    ax.set_ylabel("MiB")
    ax.set_xlim(-0.5, 3.9)  # the legend sits right of the bars
    ax.set_ylim(0, bottom.max() * 1.1)
    ax.legend(loc="upper left", bbox_to_anchor=(0.42, 1.0), fontsize=12, reverse=True)


def explanations(heatmaps: list[np.ndarray], gradcam: list[np.ndarray], captions: list[str], kind: str,
                 scale: str = "frame") -> Figure:
    """Two rows over the kept frames: SFC's heatmap (named by its `Result.heatmap_kind`) and captum
    Grad-CAM, drawn the same way (`sfc_core.explain.overlay`) and read with one colour bar."""
    name = WORDS[kind].name
    columns = len(heatmaps)
    figure = blank_figure(2.0 * columns + 1.6, 5.0)
    axes = figure.subplots(2, columns, squeeze=False)
    for column in range(columns):
        for row, (images, title) in enumerate(((heatmaps, name), (gradcam, "Grad-CAM (captum)"))):
            ax = axes[row, column]
            ax.imshow(images[column])
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(title)
            if row == 0:
                ax.set_title(captions[column].replace(": ", "\n"), fontsize=12)
    colour_bar = figure.colorbar(ScalarMappable(cmap=explain.COLOUR_MAP), ax=axes, fraction=0.03, pad=0.02)
    colour_bar.set_label(explain.SCALES[scale], fontsize=9)
    if scale == "frame":  # name the ranks where they sit on the bar
        ticks = [rank**explain.RANK_POWER for rank in explain.RANK_TICKS.values()]
        colour_bar.set_ticks(ticks, labels=list(explain.RANK_TICKS))
    figure.suptitle(f"{name} vs what the classifier used (kept frames, in grey under the colour)")
    return legible(figure)


def attention_matrix(sfc: Result, matrix: np.ndarray) -> Figure:
    """Where each kept moment gathered its evidence: rows are the kept positions (their frames at the
    left), columns every position of the long clip on the video's time axis."""
    stamps = np.array(sfc.timestamps_s[0])[sfc.position_centres]
    step = np.median(np.diff(stamps)) if len(stamps) > 1 else 1.0
    rows = len(sfc.kept.positions)
    figure = blank_figure(11, 1.0 + 0.62 * rows)
    ax = figure.add_subplot()
    image = ax.imshow(matrix, aspect="auto", cmap=explain.COLOUR_MAP, interpolation="nearest",
                      extent=(stamps[0] - step / 2, stamps[-1] + step / 2, rows - 0.5, -0.5))
    ax.set_yticks(range(rows), [f"{t:.1f} s" for t in sfc.kept.timestamps_s])
    ax.tick_params(axis="y", pad=44)  # room for the thumbnails
    for row, slot in enumerate(explain.kept_slots(sfc)):
        thumbnail = OffsetImage(sfc.display_frames[slot], zoom=min(1.0, 40 / sfc.display_frames.shape[1]))
        ax.add_artist(AnnotationBbox(thumbnail, (0, row), xycoords=("axes fraction", "data"), box_alignment=(1.05, 0.5),
                                     frameon=False, annotation_clip=False))
    ax.plot(stamps[sfc.kept.positions], range(rows), "s", markerfacecolor="none", markeredgecolor=KEPT_COLOUR,
            markersize=9, label="the kept moment itself")
    ax.set_xlabel("time in the video (s): every position of the long clip")
    ax.set_ylabel("kept moment")
    ax.set_title("Where each kept moment gathered its evidence (each row sums to 1)")
    ax.legend(loc="upper right", fontsize=8)
    figure.colorbar(image, ax=ax, fraction=0.03, pad=0.01).set_label("share of the row's attention", fontsize=9)
    return legible(figure)


def comparison(answers: dict[str, Answer], truth: str | None) -> Figure:
    """One row per answer (dense sampling, SFC's run, every strategy tried): which class it named, ✓/✗
    against the truth when known, and a bar with the true class's probability (its own answer's
    probability when the truth is unknown); type a projector shows (12 pt and up)."""
    names = list(answers)
    figure = blank_figure(12, 1.7 + 0.55 * len(names))
    ax = figure.add_subplot()
    y = np.arange(len(names))
    values, colours, texts = [], [], []
    for answer in answers.values():
        if truth is None:
            values.append(answer.probability)
            colours.append(SFC_COLOUR)
            texts.append(f"says {answer.label} ({answer.probability:.0%})")
        else:
            right = answer.label == truth
            values.append(answer.truth_probability)
            colours.append(RIGHT_COLOUR if right else WRONG_COLOUR)
            texts.append(f"{answer.truth_probability:.2f}  {'✓ right' if right else '✗ says ' + answer.label}")
    bars = ax.barh(y, values, 0.7, color=colours)
    ax.bar_label(bars, labels=texts, padding=4, fontsize=13)
    ax.set_yticks(y, names, fontsize=13)
    ax.tick_params(axis="x", labelsize=12)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.75)  # room for the answers
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel(f"probability of the true action, {truth}" if truth else "probability of its answer", fontsize=13)
    ax.set_title("Every answer on this clip" + (f": is it {truth}?" if truth else ""), fontsize=15)
    return figure


DARK_BACKGROUND, DARK_TEXT, DARK_LINES = "#1f2937", "#e5e7eb", "#9ca3af"  # the page's dark theme


def themed(figure: Figure | None, theme: str, fresh: bool = False) -> Figure | None:
    """`figure` for the page's theme: itself for "light"; for "dark", a copy with a dark background and light
    text, axes and near-black lines (the data's colours and any pictures stay as they are). `fresh`: the
    figure is this caller's alone (just drawn for one session), so it is recoloured in place."""
    if figure is None or theme != "dark":
        return figure
    copy = figure if fresh else pickle.loads(pickle.dumps(figure))
    copy.patch.set_facecolor(DARK_BACKGROUND)
    for artist in copy.findobj():
        if isinstance(artist, Text) and _dark(artist.get_color()):
            artist.set_color(DARK_TEXT)
        elif isinstance(artist, Axes):
            artist.set_facecolor(DARK_BACKGROUND)
            artist.tick_params(color=DARK_LINES, labelcolor=DARK_TEXT, which="both")
        elif isinstance(artist, Spine):
            artist.set_edgecolor(DARK_LINES)
        elif isinstance(artist, Legend):
            artist.get_frame().set_facecolor(DARK_BACKGROUND)
            artist.get_frame().set_edgecolor(DARK_LINES)
        elif isinstance(artist, Line2D) and _dark(artist.get_color()):  # lightened, keeping their order of shade
            artist.set_color(0.45 * np.array(to_rgba(artist.get_color())[:3]) + 0.55)
    return copy


def _dark(colour) -> bool:
    red, green, blue, _ = to_rgba(colour)
    return 0.299 * red + 0.587 * green + 0.114 * blue < 0.25
