"""The "How SFC works" tab: a diagram that follows the page's theme and reads on a phone, and a
step-by-step walk through the clip the session analysed last (Next / Back)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

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


def _strip(frames: np.ndarray, captions: list[str], title: str) -> Figure:
    figure = figures.blank_figure(1.7 * len(frames) + 0.4, 2.6)
    axes = figure.subplots(1, len(frames), squeeze=False)[0]
    for ax, frame, caption in zip(axes, frames, captions):
        ax.imshow(frame)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(caption, fontsize=9)
    figure.suptitle(title)
    return figure


def walkthrough_step(clip: Clip | None, step: int) -> tuple[str, Figure | None]:
    """The text and picture of step `step` (0..len(STEPS)-1) for the session's clip, worded for its SFC
    (a trained one attends; a training-free one only scores)."""
    if clip is None:
        return "Run an analysis on the **Analyze** tab first: the walk-through follows your clip.", None
    step = max(0, min(step, len(STEPS) - 1))
    sfc, dense = clip.sfc, clip.dense
    words = WORDS[sfc.heatmap_kind]
    heading = f"### Step {step + 1} of {len(STEPS)}: {STEPS[step]}\n"
    stamps = sfc.timestamps_s[0]
    if step == 0:
        text = (f"Dense sampling cuts the video into **{len(dense.timestamps_s)} clips** (the coloured rows), takes "
                f"**{dense.plan.num_views // max(1, len(dense.timestamps_s))} crops** of each and runs the whole "
                f"network on all **{dense.plan.num_views} views**: {dense.measurement.flops / 1e9:.1f} GFLOPs. "
                f"Its answer: **{dense.top(1)[0][0]}**.")
        return heading + text, figures.timeline(sfc, dense, clip.window)
    if step == 1:
        picks = np.linspace(0, len(sfc.display_frames) - 1, 8).round().astype(int)
        text = (f"SFC instead decodes **{len(stamps)} frames** spread over the whole "
                f"{sfc.video.duration_s:.1f} s and runs only the network's **head** on them, once.")
        return heading + text, _strip(sfc.display_frames[picks], [f"{stamps[i]:.1f} s" for i in picks],
                                      "8 of the long clip's frames")
    if step == 2:
        text = f"The head's output has **{len(sfc.scores)} moments** (temporal positions). {words.scoring}"
        return heading + text, figures.timeline(sfc, None, clip.window)
    if step == 3:
        slots = [sfc.position_centres[p] for p in sfc.kept.positions]
        text = f"SFC keeps the **{len(slots)} best-scored moments** (green), {words.tail}"
        return heading + text, _strip(sfc.display_frames[slots], [f"{t:.1f} s" for t in sfc.kept.timestamps_s],
                                      "the kept moments")
    ratio = dense.measurement.flops / sfc.measurement.flops if sfc.measurement.flops else float("nan")
    text = (f"The network's **tail** runs once, on exactly the input size it was trained for. SFC's answer: "
            f"**{sfc.top(1)[0][0]}** ({sfc.top(1)[0][1]:.0%}), with {ratio:.1f}x fewer FLOPs than dense sampling.")
    return heading + text, figures.measurements(dense, sfc)
