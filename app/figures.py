"""Matplotlib figures for the app. Each returns a `matplotlib.figure.Figure` (no pyplot state, safe
across concurrent requests) with a title, axis labels and a legend, readable in light and dark
themes (white figure background) and on a projector (large fonts)."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox, OffsetImage

from sfc_core import explain
from sfc_core.profiling import format_ratio, ratio
from sfc_core.report import Result

from .words import WORDS

DENSE_COLOUR, SFC_COLOUR, KEPT_COLOUR, TRUTH_COLOUR = "#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e"
DENSE_ROW = 0.09  # height of one dense clip's row on the timeline


def blank_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), facecolor="white")
    figure.set_layout_engine("constrained")
    return figure


def _normalised(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def timeline(sfc: Result, dense: Result | None = None, truth: tuple[int, int] | None = None,
             chooser: str = "SFC") -> Figure:
    """The whole video on a time axis: SFC's score per position, where a trained SFC's attention went
    (when the kept positions are its own; a training-free map's total per position is the score line
    itself), the positions `chooser` kept, the frames SFC sampled, each of dense's clips on its own
    row, and the ground-truth window."""
    fps = sfc.video.fps
    sampled_times = np.array(sfc.timestamps_s[0])
    windows, centres = sfc.position_windows, sfc.position_centres
    position_times = sampled_times[centres]
    scores = _normalised(np.array(sfc.scores))
    clips = dense.timestamps_s if dense is not None else []
    figure = blank_figure(11, 4.2 + 0.18 * len(clips))
    ax = figure.add_subplot()
    if truth is not None:
        ax.axvspan(truth[0] / fps, (truth[1] + 1) / fps, color=TRUTH_COLOUR, alpha=0.25, label="ground-truth action")
    step = np.median(np.diff(sampled_times)) if len(sampled_times) > 1 else 1 / fps
    for i, position in enumerate(sfc.kept.positions):
        window = windows[position]
        start, end = sampled_times[window[0]] - step / 2, sampled_times[window[-1]] + step / 2
        ax.axvspan(start, end, color=KEPT_COLOUR, alpha=0.3, label=f"kept by {chooser}" if i == 0 else None)
    ax.plot(position_times, scores, "-o", color=SFC_COLOUR, markersize=3, label="SFC selection score")
    received = WORDS[sfc.heatmap_kind].received if sfc.attention is not None else None
    if received:
        ax.plot(position_times, _normalised(sfc.attention.sum(axis=(1, 2))), "--", color="#9467bd", label=received)
    ax.plot(sampled_times, np.full_like(sampled_times, -0.08), "|", color="black", markersize=8,
            label=f"{len(sampled_times)} frames SFC decoded")
    shades = colormaps["cividis"](np.linspace(0.0, 0.55, len(clips)))  # dark blue to grey: not the bands' colours
    for i, clip in enumerate(clips):  # one row per clip: overlapping clips stay apart
        row = -0.2 - DENSE_ROW * i
        ax.plot([clip[0], clip[-1]], [row, row], color=shades[i], linewidth=5, solid_capstyle="butt",
                label=f"{len(clips)} dense clips (one row each)" if i == 0 else None)
        ax.text(clip[-1], row, f" {i + 1}: {clip[0]:.1f}-{clip[-1]:.1f} s", va="center", fontsize=7)
    ax.set_xlim(0, max(sfc.video.duration_s, sampled_times[-1] + step) * (1.12 if clips else 1.0))
    ax.set_ylim(-0.3 - DENSE_ROW * len(clips), 1.12)
    ax.set_yticks([0, 0.5, 1])
    ax.set_xlabel("time in the video (s)")
    ax.set_ylabel(f"normalised score / {received}" if received else "normalised score")
    ax.set_title(f"Which moments {chooser} kept")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return figure


def measurements(dense: Result, sfc: Result) -> Figure:
    """Model time, peak memory and FLOPs, dense beside SFC, with the ratio on each panel."""
    panels = (
        ("model time (s)", dense.measurement.model_time_s, sfc.measurement.model_time_s),
        ("peak memory (MiB)", dense.measurement.peak_memory_bytes / 2**20, sfc.measurement.peak_memory_bytes / 2**20),
        ("GFLOPs", dense.measurement.flops / 1e9, sfc.measurement.flops / 1e9),
    )
    figure = blank_figure(11, 3.6)
    axes = figure.subplots(1, 3)
    for ax, (title, dense_value, sfc_value) in zip(axes, panels):
        bars = ax.bar(["dense", "SFC"], [dense_value, sfc_value], color=[DENSE_COLOUR, SFC_COLOUR])
        bars[0].set_label(f"dense ({dense.plan.num_views} views)")
        bars[1].set_label("SFC (1 long clip)")
        ax.set_title(f"{title}\ndense / SFC = {format_ratio(ratio(dense_value, sfc_value))}")
        ax.set_ylabel(title)
        ax.bar_label(bars, fmt="%.3g", fontsize=9)
        ax.margins(y=0.15)
    axes[0].legend(fontsize=8, loc="upper right")
    figure.suptitle(f"Measured in this run on {sfc.measurement.device}")
    return figure


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
                ax.set_title(captions[column].replace(" · ", "\n"), fontsize=8)
    colour_bar = figure.colorbar(ScalarMappable(cmap=explain.COLOUR_MAP), ax=axes, fraction=0.03, pad=0.02)
    colour_bar.set_label(explain.SCALES[scale], fontsize=9)
    if scale == "frame":  # name the ranks where they sit on the bar
        ticks = [rank**explain.RANK_POWER for rank in explain.RANK_TICKS.values()]
        colour_bar.set_ticks(ticks, labels=list(explain.RANK_TICKS))
    figure.suptitle(f"{name} vs what the classifier used (kept frames, in grey under the colour)")
    return figure


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
    return figure


def comparison(tried: dict[str, tuple[float, float | None]], reference: str, truth: str | None) -> Figure:
    """The strategies tried on this clip: the probability each gave to SFC's answer (and to the true
    class, when known), one labelled bar each with its value, in type a projector shows (12 pt and up)."""
    names = list(tried)
    figure = blank_figure(9, 1.8 + 0.6 * len(names))
    ax = figure.add_subplot()
    y = np.arange(len(names))
    height = 0.38 if truth else 0.7
    series = [(-(height / 2) if truth else 0, 0, SFC_COLOUR, f"p({reference}): SFC's answer")]
    if truth:
        series.append((height / 2, 1, TRUTH_COLOUR, f"p({truth}): truth"))
    for offset, index, colour, label in series:
        values = [tried[n][index] for n in names]
        bars = ax.barh(y + offset, values, height, color=colour, label=label)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize=12)
    ax.set_yticks(y, names, fontsize=13)
    ax.tick_params(axis="x", labelsize=12)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)  # room for the values
    ax.set_xlabel("probability", fontsize=13)
    ax.set_title("Strategies tried on this clip", fontsize=15)
    ax.legend(loc="lower right", fontsize=12)
    return figure
