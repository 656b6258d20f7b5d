"""What the page calls SFC's heatmap, in one place, by `Result.heatmap_kind`.

A trained SFC's heatmap is where its attention went; a training-free SFC runs no attention, and
its heatmap is the score's own map (where the evidence for keeping a moment is). Every caption,
label, title and walk-through sentence that names the heatmap reads it from here, so no page
calls a score "attention".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeatmapWords:
    name: str  # e.g. a figure row's title, "<name> on the kept frames"
    share_of: str  # a kept frame's caption: "30% of <share_of>"
    least: str  # the colour bar's ends
    most: str
    received: str | None  # the timeline's per-moment total; None: it is the score line itself, not drawn again
    scoring: str  # walk-through: how the moments were scored
    tail: str  # walk-through: what the tail gets from the kept moments


WORDS = {  # by `Result.heatmap_kind`
    "attention": HeatmapWords(
        name="SFC attention",
        share_of="attention",
        least="least attention",
        most="most attention",
        received="attention received",
        scoring="SFC's small trained module gives each a score: how useful it looks for recognising the action "
                "(the blue line).",
        tail="then lets each attend to every moment of the clip, so evidence from the dropped ones still reaches "
             "the tail.",
    ),
    "score": HeatmapWords(
        name="SFC score map",
        share_of="the score",
        least="lowest score",
        most="highest score",
        received=None,
        scoring="SFC scores each without learned weights, straight from the head's features (the blue line): a "
                "training-free guess at how useful it is for recognising the action.",
        tail="and hands their features to the tail as they are: no attention runs, so the dropped moments do not "
             "reach the tail.",
    ),
}

