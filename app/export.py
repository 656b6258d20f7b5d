"""`/export`: every figure of the session's analysis as files for slides, in one zip.

Each figure is drawn afresh from the session's clip and saved as PNG (1920 px wide: a projector's
full width) and as SVG; the kept frames' heatmaps as PNG; the report as JSON; and README.txt says what
each file shows.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from matplotlib import image
from matplotlib.figure import Figure

from sfc_core.hub import SFCModel

from . import figures
from .analysis import attention_matrix, heatmaps, public_report
from .explorer import comparison_figure
from .session import Clip

PROJECTOR_WIDTH_PX = 1920


def _figures(clip: Clip, versus: Figure) -> dict[str, tuple[Figure, str]]:
    shown = {
        "measurements": (figures.measurements(clip.dense, clip.sfc),
                         "model time, peak memory and FLOPs of dense sampling and SFC, measured in the same run"),
        "timeline": (figures.timeline(clip.sfc, clip.dense, clip.window),
                     "the whole video: the frames SFC sampled, the moments it kept, its scores, and dense's clips"),
        "heatmaps_vs_gradcam": (versus, f"SFC's {clip.sfc.heatmap_kind} map on each kept frame beside captum's "
                                        "Grad-CAM"),
    }
    matrix = attention_matrix(clip.sfc, clip.attention)
    if matrix is not None:
        shown["attention_matrix"] = (matrix, "where each kept moment gathered its evidence (kept x all moments)")
    if clip.tried:
        shown["strategies_tried"] = (comparison_figure(clip), "the explorer's answers for this clip, side by side")
    return shown


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    image.imsave(buffer, array, format="png")
    return buffer.getvalue()


def export_zip(clip: Clip, model: SFCModel, out: Path) -> Path:
    """Write the zip of `clip`'s analysis (made by `model`) to `out`."""
    readme = [f"SFC Studio: {clip.name}, model {clip.settings.model}", ""]
    overlays, versus = heatmaps(clip)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (figure, text) in _figures(clip, versus).items():
            for form in ("png", "svg"):  # constrained layout already fits the figure: no "tight" bbox (a second draw)
                buffer = io.BytesIO()
                figure.savefig(buffer, format=form, dpi=PROJECTOR_WIDTH_PX / figure.get_figwidth())
                archive.writestr(f"{name}.{form}", buffer.getvalue())
            readme.append(f"{name}.png / .svg: {text}")
        for number, (overlay, caption) in enumerate(overlays, 1):
            archive.writestr(f"kept_{number}.png", _png(overlay))
            readme.append(f"kept_{number}.png: kept moment {number}, {caption}")
        report = public_report(model.report(clip.dense, clip.sfc, clip.settings.run))
        report["video"]["file"] = clip.name
        archive.writestr("report.json", json.dumps(report, indent=2))
        readme.append("report.json: the analysis as `sfc-predict --json` writes it")
        archive.writestr("README.txt", "\n".join(readme) + "\n")
    return out
