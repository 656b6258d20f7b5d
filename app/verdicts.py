"""Right or wrong, said on the answer itself: a ✓/✗ line over each top-5 (SFC, dense sampling, the
explorer) when the clip's true action is known, and a warning there when the model's labels mean nothing
for the clip (the embedded SynthActions model on any other video). A class remembers the biggest text
on the page, so the verdict is large and the warning sits where the confident answer is."""

from __future__ import annotations

import html

from sfc_core import models
from sfc_core.examples import SYNTH_LABEL_SET

from .figures import RIGHT_COLOUR, TRUTH_COLOUR, WRONG_COLOUR
from .session import Clip

# the first Kinetics-400 model offered when the embedded model's labels do not fit: the smallest download
KINETICS_FALLBACK = "x3d_s"
_STYLE = ("padding:8px 12px;border-radius:8px;border:2px solid {colour};background:{colour}26;"
          "color:var(--body-text-color);font-size:1.25rem;line-height:1.35")
WARNING = TRUTH_COLOUR


def out_of_domain(clip: Clip) -> bool:
    """The embedded SynthActions model on a video that is not one of its bundled examples."""
    return models.get_config(clip.settings.model).label_set == SYNTH_LABEL_SET and clip.truth is None


def verdict(method: str, top5: list[tuple[str, float]], clip: Clip) -> str:
    """HTML for the line over `method`'s top-5: ✓ or ✗ against the known truth, the out-of-domain
    warning, or nothing (a real video on a Kinetics model: the truth is unknown)."""
    if out_of_domain(clip):
        return _box(WARNING, f"⚠ <b>These labels mean nothing for this clip.</b> The {clip.settings.model} model "
                             f"knows only {len(clip.sfc.labels)} synthetic motions, so it names the nearest one, "
                             "whatever the video shows.")
    truth = clip.truth["label_name"] if clip.truth else None
    if truth is None or truth not in clip.sfc.labels:
        return ""
    answer = top5[0][0]
    if answer == truth:
        return _box(RIGHT_COLOUR, f"✓ <b>{method} is right:</b> {html.escape(truth)}")
    rank = next((i + 1 for i, (label, _) in enumerate(top5) if label == truth), None)
    where = f"it is #{rank} here" if rank else "not in this top-5"
    return _box(WRONG_COLOUR, f"✗ <b>{method} is wrong:</b> the action is {html.escape(truth)} ({where})")


def _box(colour: str, text: str) -> str:
    return f'<div class="verdict" style="{_STYLE.format(colour=colour)}">{text}</div>'
