"""Matplotlib figures for the app. Each returns a `matplotlib.figure.Figure` (no pyplot state, safe
across concurrent requests) with a title, axis labels and a legend, readable in light and dark
themes (white figure background) and on a projector (large fonts)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sfc_core.pipeline import Result
from sfc_core.profiling import format_ratio, ratio

DENSE_COLOUR, SFC_COLOUR, KEPT_COLOUR, TRUTH_COLOUR = "#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e"


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), facecolor="white")
    figure.set_layout_engine("constrained")
    return figure


def _normalised(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def timeline(sfc: Result, dense: Result | None = None, truth: tuple[int, int] | None = None) -> Figure:
    """The whole video on a time axis: SFC's score per position, where its attention went, the
    positions it kept, the frames it sampled, dense's clips, and the ground-truth window."""
    fps = sfc.video.fps
    sampled_times = np.array(sfc.timestamps_s[0])
    windows, centres = sfc.position_windows, sfc.position_centres
    position_times = sampled_times[centres]
    scores = _normalised(np.array(sfc.scores))
    attention = _normalised(sfc.attention.sum(axis=(1, 2)))
    figure = _figure(11, 4.2)
    ax = figure.add_subplot()
    if truth is not None:
        ax.axvspan(truth[0] / fps, (truth[1] + 1) / fps, color=TRUTH_COLOUR, alpha=0.25, label="ground-truth action")
    step = np.median(np.diff(sampled_times)) if len(sampled_times) > 1 else 1 / fps
    for i, position in enumerate(sfc.kept.positions):
        window = windows[position]
        start, end = sampled_times[window[0]] - step / 2, sampled_times[window[-1]] + step / 2
        ax.axvspan(start, end, color=KEPT_COLOUR, alpha=0.3, label="kept by SFC" if i == 0 else None)
    ax.plot(position_times, scores, "-o", color=SFC_COLOUR, markersize=3, label="SFC selection score")
    ax.plot(position_times, attention, "--", color="#9467bd", label="attention received")
    ax.plot(sampled_times, np.full_like(sampled_times, -0.08), "|", color="black", markersize=8,
            label=f"{len(sampled_times)} frames SFC decoded")
    if dense is not None:
        for i, clip in enumerate(dense.timestamps_s):
            row = -0.17 - 0.06 * (i % 2)  # alternate rows: overlapping clips stay distinguishable
            ax.plot([clip[0], clip[-1]], [row, row], color=DENSE_COLOUR, linewidth=4, solid_capstyle="butt",
                    label=f"{len(dense.timestamps_s)} dense clips" if i == 0 else None)
    ax.set_xlim(0, max(sfc.video.duration_s, sampled_times[-1] + step))
    ax.set_ylim(-0.3, 1.12)
    ax.set_xlabel("time in the video (s)")
    ax.set_ylabel("normalised score / attention")
    ax.set_title("Which moments SFC kept")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return figure


def measurements(dense: Result, sfc: Result) -> Figure:
    """Model time, peak memory and FLOPs, dense beside SFC, with the ratio on each panel."""
    panels = (
        ("model time (s)", dense.measurement.model_time_s, sfc.measurement.model_time_s),
        ("peak memory (MiB)", dense.measurement.peak_memory_bytes / 2**20, sfc.measurement.peak_memory_bytes / 2**20),
        ("GFLOPs", dense.measurement.flops / 1e9, sfc.measurement.flops / 1e9),
    )
    figure = _figure(11, 3.6)
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


def explanations(attention: list[np.ndarray], gradcam: list[np.ndarray], captions: list[str]) -> Figure:
    """Two rows over the kept frames: where SFC's attention went, and captum Grad-CAM."""
    columns = len(attention)
    figure = _figure(1.6 * columns + 1.0, 3.9)
    axes = figure.subplots(2, columns, squeeze=False)
    for column in range(columns):
        for row, (images, name) in enumerate(((attention, "SFC attention"), (gradcam, "Grad-CAM (captum)"))):
            ax = axes[row, column]
            ax.imshow(images[column])
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(name)
            if row == 0:
                ax.set_title(captions[column], fontsize=8)
    figure.suptitle("Where SFC looked vs what the classifier used (brighter = more)")
    return figure


def diagram() -> Figure:
    """Dense sampling and SFC as block diagrams, drawn (not an image from elsewhere)."""
    figure = _figure(11, 4.4)
    ax = figure.add_subplot()
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.4)
    ax.axis("off")
    rows = (
        (3.3, "Dense sampling", [("30 short views\n10 clips x 3 crops", DENSE_COLOUR),
                                 ("whole network\nrun 30 times", DENSE_COLOUR), ("average the\n30 predictions", DENSE_COLOUR)]),
        (1.1, "SFC", [("1 long clip\n(e.g. 64 frames)", SFC_COLOUR), ("head\n(first stages)", SFC_COLOUR),
                      ("SFC: score moments,\nkeep top-K, attend\nto all positions", KEPT_COLOUR),
                      ("tail\n(last stages)", SFC_COLOUR), ("one prediction", SFC_COLOUR)]),
    )
    for y, title, boxes in rows:
        ax.text(0.05, y + 0.75, title, fontsize=13, fontweight="bold")
        width = 10.6 / len(boxes)
        for i, (text, colour) in enumerate(boxes):
            x = 0.1 + i * width
            ax.add_patch(FancyBboxPatch((x, y - 0.45), width - 0.45, 0.9, boxstyle="round,pad=0.05",
                                        facecolor=colour, alpha=0.25, edgecolor=colour))
            ax.text(x + (width - 0.45) / 2, y, text, ha="center", va="center", fontsize=10)
            if i < len(boxes) - 1:
                ax.add_patch(FancyArrowPatch((x + width - 0.42, y), (x + width + 0.08, y), arrowstyle="-|>",
                                             mutation_scale=14, color="black"))
    ax.set_title("Dense: whole network on 30 views.  SFC: head once, tail once.")
    return figure
