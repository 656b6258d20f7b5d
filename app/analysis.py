"""What one press of "Run" does: check the upload, dense sampling, SFC, explanations, figures.

Plain Python, so the UI only wires components to `analyze` and tests call it directly. Models
are loaded once per name and shared by all users (eval mode, inference only: no shared state
changes); everything a request produces flows back through its return value.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib import image
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from sfc_core import explain, hub, models, weights
from sfc_core.device import describe, pick_device
from sfc_core.errors import InputRejected
from sfc_core.examples import bundled_example
from sfc_core.options import available_backends
from sfc_core.profiling import format_ratio, ratio
from sfc_core.report import Report, Result
from sfc_core.sfc import DEFAULT_TRAINING_FREE, Compressor
from sfc_core.streaming import DEFAULT_WINDOW_S as OVER_TIME_WINDOW_S
from sfc_core.streaming import Update, over_time
from sfc_core.video import cut, decode_frames, probe

from . import figures
from .config import LIMITS, Limits
from .session import DEFAULT_MODEL, Clip, Settings
from .words import WORDS

if TYPE_CHECKING:
    from gradio.components.plot import PlotData  # a figure once the page has encoded it (`app.ui._drawn`)

OUTPUT_DIR = Path(tempfile.gettempdir()) / f"sfc-studio-outputs-{os.getpid()}"
MAX_DROPPED_THUMBNAILS = 12
RUN_FIGURES = ("measurements", "timeline", "explanations", "attention_matrix")  # a session restyles these
MAX_LOADED_MODELS = 4  # models kept in memory at once; the least recently used goes first

Progress = Callable[[float, str], None]


@dataclass
class Analysis:
    sfc_top5: dict[str, float]
    dense_top5: dict[str, float]
    table: list[list[str]]
    measurements: Figure | PlotData
    timeline: Figure | PlotData
    thumbnails: list[tuple[np.ndarray, str]]
    heatmaps: list[tuple[np.ndarray, str]]
    heatmap_video: str
    explanations: Figure | PlotData
    attention_matrix: Figure | PlotData | None  # None for a training-free SFC (no attention)
    moments: list[tuple[np.ndarray, str]]  # every head position's frame, for picking moments by hand
    report: dict
    summary: str
    model_note: str  # what the model knows, when the video may be outside it ("" otherwise)
    clip: Clip  # kept for this session's explorer
    notes: list[str] = field(default_factory=list)
    over_time: list[tuple[np.ndarray, str]] = field(default_factory=list)  # a video longer than one window
    measured_at: float = field(default_factory=time.time)  # when the run that measured it ended

    def for_session(self, video: str | Path, cached: bool) -> Analysis:
        """This request's own copy: its own explorer state (the clip's tried answers), the request's file
        name, and whether it was served from the cache, with when it was measured."""
        report = {**self.report, "video": {**self.report["video"], "file": Path(video).name},
                  "cache": "hit" if cached else "miss"}
        summary = self.summary
        if cached:
            summary += (f" · **measured at {time.strftime('%H:%M', time.localtime(self.measured_at))} on this "
                        "machine; served from cache** (the same video and settings were analysed already)")
        return replace(self, report=report, summary=summary,
                       clip=replace(self.clip, tried={}, explored={}, name=Path(video).name))


def device() -> torch.device:
    return pick_device()


DATASET_NAMES = {"kinetics400": "Kinetics-400", "synth_actions": "SynthActions"}  # label set -> its dataset


BACKEND_NAMES = {"torch": "PyTorch", "openvino": "OpenVINO"}  # one for each of `options.BACKENDS`
BACKEND_INFO = ("What runs the networks of Run (the explorer and Live run PyTorch). On a 2-core CPU, OpenVINO "
                "(CPU only) ran dense sampling faster than PyTorch on every model, and SFC, its head in chunks, "
                "about as fast or slower (README's OpenVINO table). A model's first request waits while its graphs "
                "compile, and they stay in memory. Answers agree up to rounding, which can tip a near tie.")


def backend_choices() -> list[tuple[str, str]]:
    """(label, backend) for the Backend setting: those that can run on this machine's device."""
    return [(BACKEND_NAMES[name], name) for name in available_backends(device())]


def model_choices() -> list[tuple[str, str]]:
    """(label, name) for the model dropdown: the embedded default first, then the models that
    download their published weights (with the size, so nobody starts 130 MB by surprise; SFC runs
    training-free on them, which the run's summary says)."""
    choices = []
    for name in [DEFAULT_MODEL] + [n for n in models.list_models() if n != DEFAULT_MODEL]:
        config = models.get_config(name)
        source = hub.backbone_source(name)
        if source == "embedded":
            status = "trained, embedded"
        elif source is None:
            continue  # no weights anywhere: nothing a user could learn from it here
        elif weights.is_cached(config.weights):
            status = "downloaded"
        else:
            status = f"downloads {config.weights.download_mb:.0f} MB once"
        dataset = DATASET_NAMES.get(config.label_set, config.label_set)
        choices.append((f"{name} · {dataset} · {status}", name))  # short: it must fit the dropdown
    return choices


_LOADED: OrderedDict[tuple[str, bool], hub.SFCModel] = OrderedDict()
_LOADING = threading.Lock()


def load_model(name: str, progress: Progress | None = None, cpu: bool = False) -> hub.SFCModel:
    """Model `name` as `hub.load` gives it (downloading its weights on first use, with progress), on this
    machine's device (`cpu`: on the CPU), loaded once and shared by all users: inference only, nothing a
    request changes."""
    def report(done: int, total: int | None) -> None:
        if progress is not None:
            size = f" of {total / 1e6:.0f} MB" if total else " MB"
            fraction = 0.02 + 0.06 * (done / total if total else 0.0)
            progress(fraction, f"downloading {name} weights: {done / 1e6:.0f}{size}")

    key = (name, cpu)
    with _LOADING:  # one load per model, however many users ask for it at once
        if key not in _LOADED:
            _LOADED[key] = hub.load(name, device="cpu" if cpu else device(), progress=report)
            while len(_LOADED) > MAX_LOADED_MODELS:
                _LOADED.popitem(last=False)
        _LOADED.move_to_end(key)
        return _LOADED[key]


def forget_models() -> None:
    """Drop every loaded model (tests; a deployment that swaps weights)."""
    with _LOADING:
        _LOADED.clear()


def model_for(settings: Settings, progress: Progress | None = None) -> hub.SFCModel:
    """The loaded model with this request's SFC settings. A trained SFC runs at the spatial stride it
    was trained with; another stride runs the training-free SFC, and the summary says so."""
    base = load_model(settings.model, progress)
    trained = base.provenance["sfc"].kind == "trained"
    if trained and settings.spatial_stride != base.settings.spatial_stride:
        return base.replace(sfc=f"{hub.TRAINING_FREE}{DEFAULT_TRAINING_FREE}", length=settings.length,
                            spatial_stride=settings.spatial_stride)
    return base.replace(length=settings.length, spatial_stride=settings.spatial_stride)


def check_upload(path: Path, limits: Limits = LIMITS) -> None:
    """Refuse what we will not run, before any decoding work, with a message that says why."""
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise InputRejected(
            f"{path.name} is {size / 2**20:.0f} MB; this app accepts up to {limits.max_upload_bytes / 2**20:.0f} MB."
        )
    info = probe(path)
    if info.duration_s > limits.max_duration_s:
        raise InputRejected(
            f"{path.name} lasts {info.duration_s / 60:.1f} minutes; this app accepts up to "
            f"{limits.max_duration_s / 60:.0f} minutes. Trim it and upload the part with the action."
        )
    if info.num_frames > limits.max_frames:
        raise InputRejected(
            f"{path.name} has {info.num_frames} frames; this app accepts up to {limits.max_frames} frames "
            f"({info.fps:.0f} frames per second). Trim it, or lower its frame rate."
        )
    if info.width * info.height > limits.max_pixels:
        raise InputRejected(
            f"{path.name} is {info.width}x{info.height}; this app accepts up to {limits.max_pixels / 1e6:.1f} "
            "megapixels per frame."
        )


def _output_path(suffix: str, directory: Path | None) -> Path:
    """A fresh file name for one request's output. The app passes Gradio's own cache folder, so
    the file is served without a second copy and Gradio deletes it (`delete_cache`, and on
    shutdown); other callers get this process's OUTPUT_DIR, pruned here and removed at exit."""
    pruned = directory is None
    directory = directory or OUTPUT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    if pruned:
        cutoff = time.time() - LIMITS.output_max_age_s
        for old in directory.iterdir():
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
    return directory / f"sfc-studio-{uuid.uuid4().hex}{suffix}"


def as_files(items: list[tuple[np.ndarray, str]], output_dir: Path | None) -> list[tuple[str, str]]:
    """A gallery's images written once as PNG files (see `_output_path`). An analysis served to many
    users at once (the cache) then hands them the same files: from arrays, Gradio would encode and
    rewrite the same cache file for each user while others download it, and some downloads break."""
    files = []
    for array, caption in items:
        path = _output_path(".png", output_dir)
        image.imsave(path, array)
        files.append((str(path), caption))
    return files


@atexit.register
def _remove_outputs() -> None:
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)


def _top5(result: Result) -> dict[str, float]:
    return {label: p for label, p in result.top(5)}


def _table(dense: Result, sfc: Result) -> list[list[str]]:
    d, s = dense.measurement, sfc.measurement
    rows = [
        ("views run", dense.plan.num_views, 1, "{:d}"),
        ("model time", d.model_time_s, s.model_time_s, "{:.3f} s"),
        ("decode + preprocess", dense.decode_time_s, sfc.decode_time_s, "{:.3f} s"),
        ("end to end", dense.decode_time_s + d.model_time_s, sfc.decode_time_s + s.model_time_s, "{:.3f} s"),
        ("peak memory (whole request)", d.peak_memory_bytes / 2**20, s.peak_memory_bytes / 2**20, "{:.0f} MiB"),
        ("FLOPs", d.flops / 1e9, s.flops / 1e9, "{:.1f} G"),
        ("frames decoded", len(dense.plan.unique_indices()), len(sfc.plan.unique_indices()), "{:d}"),
    ]
    return [[name, fmt.format(a), fmt.format(b), format_ratio(ratio(a, b))] for name, a, b, fmt in rows]


def public_report(report: Report) -> dict:
    """The CLI's JSON, less the server's paths: the video and checkpoints are named by file name only
    (the video under "file": a "path" key would also make Gradio treat the object as a file)."""
    data = report.to_dict()
    data["video"]["file"] = Path(data["video"].pop("path")).name
    for part in data["provenance"].values():
        if part["kind"] in ("embedded", "published", "file", "trained"):
            part["source"] = Path(part["source"]).name
    for key in ("weights", "sfc_weights"):
        if data[key] and Path(data[key]).is_file():
            data[key] = Path(data[key]).name
    return data


def model_note(report: Report, sfc_training: dict | None = None) -> str:
    """What a visitor should know about the model that answered: what its answer means on this video
    (the embedded model on anything but a bundled example; the library's note), and for any trained SFC,
    when its training used action-window annotations, which the paper does not use."""
    notes = [f"**About this model:** {note[0].upper()}{note[1:]}" for note in report.model_notes]
    if sfc_training and sfc_training.get("annotations_used"):
        notes.append(
            "**How this SFC was trained:** with action-window annotations (where in each training clip the action "
            "happens) as part of what it learned to keep, which the paper does not use. An SFC trained the paper's "
            "way, without them, is compared with it in the project's README.")
    return "\n\n".join(notes)


def over_time_strip(path: Path, windows: list[Update]) -> list[tuple[np.ndarray, str]]:
    """One tile per window: the middle one of the frames SFC kept there, captioned with the window's
    time span and its top-1."""
    if not windows:
        return []
    middles = [window.kept_frames[len(window.kept_frames) // 2] for window in windows]
    frames = decode_frames(path, middles, max_short_side=160).frames
    return [(frame, f"{_seconds(w.window_s[0])}-{_seconds(w.window_s[1])} s: {w.top5[0][0]} {w.top5[0][1]:.0%}")
            for frame, w in zip(frames, windows)]


def _seconds(value: float) -> str:
    """8 for 8.0, 8.4 for 8.4: whole seconds without a decimal, the rest with one."""
    return f"{value:.1f}".removesuffix(".0")


def cut_window(clip: Clip, index: int, output_dir: Path | None = None) -> Path:
    """Window `index` of the analysed video as a file of its own, to analyse on its own."""
    window = clip.over_time[index]
    video = clip.over_time_video or clip.sfc.video
    first, last = (min(video.num_frames, round(t * video.fps)) for t in window.window_s)
    spec = models.get_config(clip.settings.model).input_spec
    return cut(video.path, first, max(first + 1, last), _output_path(".mp4", output_dir),
               max_short_side=2 * spec.short_side)


def position_attention(compressor: Compressor, features: torch.Tensor, sfc: Result) -> np.ndarray | None:
    """Where each kept moment gathered its evidence, (K, T) (a learned SFC; None for a training-free one)."""
    matrix = compressor.position_attention(features, torch.tensor([sfc.kept.positions], device=features.device))
    return None if matrix is None else matrix[0].float().cpu().numpy()


def attention_matrix(sfc: Result, matrix: np.ndarray | None) -> Figure | None:
    return None if matrix is None else figures.attention_matrix(sfc, matrix)


def run_figures(clip: Clip, explanations: Figure | None = None) -> dict[str, Figure | None]:
    """The run's figures (`RUN_FIGURES`), drawn from the clip's data (`explanations`: already drawn)."""
    return {"measurements": figures.measurements(clip.dense, clip.sfc),
            "timeline": figures.timeline(clip.sfc, clip.dense, clip.window),
            "explanations": explanations or heatmaps(clip)[1],
            "attention_matrix": attention_matrix(clip.sfc, clip.attention)}


def dark_figures(clip: Clip) -> dict[str, Figure | None]:
    """The run's figures in the dark theme, drawn the first time a dark page asks."""
    return clip.dark.get(lambda: {name: figures.themed(figure, "dark", fresh=True)
                                  for name, figure in run_figures(clip).items()})


def heatmap_captions(sfc: Result) -> list[str]:
    """Each kept frame's time and its share of the whole heatmap: of all the attention a trained SFC
    paid, or of a training-free score's map (no attention runs there)."""
    shares = explain.attention_shares(sfc)
    share_of = WORDS[sfc.heatmap_kind].share_of
    return [f"frame {f}, {t:.1f} s: {share:.0%} of {share_of}"
            for f, t, share in zip(sfc.kept.frame_indices, sfc.kept.timestamps_s, shares)]


def heatmaps(clip: Clip, scale: str = "frame") -> tuple[list[tuple[np.ndarray, str]], Figure]:
    """The kept frames' heatmap overlays (a gallery) and the heatmap vs Grad-CAM figure, on `scale`."""
    captions = heatmap_captions(clip.sfc)
    overlays = explain.kept_overlays(clip.sfc, scale)
    gradcam = explain.gradcam_overlays(clip.sfc, clip.cams, scale)
    return list(zip(overlays, captions)), figures.explanations(overlays, gradcam, captions, clip.sfc.heatmap_kind,
                                                                scale)


KEPT_RGB, PICKED_RGB = (tuple(round(255 * c) for c in to_rgb(colour)) for colour in (figures.KEPT_COLOUR,
                                                                                      figures.TRUTH_COLOUR))


def framed(frame: np.ndarray, colour: tuple[int, int, int] | None = None, dimmed: bool = False) -> np.ndarray:
    """A thumbnail marked so it reads at a glance: a coloured frame (kept, picked) or dimmed (dropped)."""
    frame = frame.copy()
    if dimmed:
        grey = frame.mean(axis=2, keepdims=True)
        frame = (0.35 * frame + 0.25 * grey + 0.2 * 255).astype(np.uint8)
    if colour is not None:
        width = max(3, frame.shape[0] // 12)
        frame[:width], frame[-width:], frame[:, :width], frame[:, -width:] = colour, colour, colour, colour
    return frame


def moments(sfc: Result, kept: list[int] | None = None, picked: list[int] = ()) -> list[tuple[np.ndarray, str]]:
    """Every head position's frame, captioned with its source frame and time (for manual picking); framed
    green where kept (SFC's choice, or `kept` positions of the explorer's answer), orange where `picked`."""
    kept = set(sfc.kept.positions if kept is None else kept)
    items = []
    for p, c in enumerate(sfc.position_centres):
        colour = PICKED_RGB if p in picked else KEPT_RGB if p in kept else None
        items.append((framed(sfc.display_frames[c], colour),
                      f"frame {sfc.frame_indices[0][c]}, {sfc.timestamps_s[0][c]:.1f} s"))
    return items


def kept_thumbnails(sfc: Result) -> list[tuple[np.ndarray, str]]:
    """The kept moments' frames (framed green), then a sample of the dropped ones (dimmed)."""
    centres = sfc.position_centres
    kept = set(sfc.kept.positions)
    dropped = [p for p in range(len(centres)) if p not in kept]
    if len(dropped) > MAX_DROPPED_THUMBNAILS:
        dropped = [dropped[i] for i in np.linspace(0, len(dropped) - 1, MAX_DROPPED_THUMBNAILS).round().astype(int)]
    items = []
    for is_kept, positions in ((True, sorted(kept)), (False, dropped)):
        for p in positions:
            centre = centres[p]
            frame, stamp = sfc.frame_indices[0][centre], sfc.timestamps_s[0][centre]
            image = framed(sfc.display_frames[centre], KEPT_RGB if is_kept else None, dimmed=not is_kept)
            items.append((image, f"frame {frame}, {stamp:.1f} s"))  # kept or dropped: the picture says
    return items


def analyze(
    path: str | Path, settings: Settings = Settings(), progress: Progress | None = None, output_dir: Path | None = None
) -> Analysis:
    """Run dense and SFC on one video and build everything the page shows; files it writes go to
    `output_dir` (see `_output_path`)."""
    progress = progress or (lambda fraction, description: None)
    path = Path(path)
    progress(0.02, "checking the video")
    check_upload(path)
    model = model_for(settings, progress)
    progress(0.08, f"dense sampling: {settings.run.clips * settings.run.crops} views")
    dense_recognizer = model.dense_recognizer(settings.run)
    dense = dense_recognizer(path)
    progress(0.45, "SFC: head on one long clip, compress, tail once")
    sfc_recognizer = model.sfc_recognizer(settings.run)
    sfc = sfc_recognizer(path)
    windows = []
    if sfc.video.duration_s > OVER_TIME_WINDOW_S:
        progress(0.6, f"over time: SFC on each {OVER_TIME_WINDOW_S:.0f}-second window, one streamed pass")
        windows = over_time(model, path, OVER_TIME_WINDOW_S, settings.run.backend)
    progress(0.65, "explanations: SFC's heatmaps and captum Grad-CAM")
    features = sfc_recognizer.head_features(path)  # for the explorer: other selections without the head
    matrix = position_attention(sfc_recognizer.sfc, features, sfc)
    cams = explain.gradcam(sfc_recognizer.tail, sfc)
    video_path = explain.attention_video(sfc, _output_path(".mp4", output_dir))
    progress(0.85, "plots")
    truth = bundled_example(path)
    clip = Clip(settings, features.cpu(), sfc, dense, cams, truth, over_time=windows, name=path.name,
                attention=matrix)
    gallery, explanations = heatmaps(clip)
    report = model.report(dense, sfc, settings.run)
    protocol = "one view at a time" if dense_recognizer.batch_size == 1 else "all views in one batch"
    chunk = model.settings.head_chunk_frames
    head = f"streamed in chunks of {chunk} frame(s)" if chunk else "one pass"
    summary = (
        f"**Device:** {describe(model.device)} · **backend:** {BACKEND_NAMES[settings.run.backend]} "
        f"{settings.run.precision} · **backbone:** {settings.model} "
        f"({model.provenance['backbone'].describe()}) · **SFC:** {model.provenance['sfc'].describe()}, "
        f"head {head} · **dense:** {dense.plan.num_views} views, {protocol} (the fastest way on this device)"
        + (f" · **ground truth:** {truth['label_name']}, frames {clip.window[0]}-{clip.window[1]}" if truth else "")
    )
    analysis = Analysis(
        sfc_top5=_top5(sfc),
        dense_top5=_top5(dense),
        table=_table(dense, sfc),
        thumbnails=as_files(kept_thumbnails(sfc), output_dir),
        heatmaps=as_files(gallery, output_dir),
        heatmap_video=str(video_path),
        moments=as_files(moments(sfc), output_dir),
        report=public_report(report),
        summary=summary,
        model_note=model_note(report, model.sfc_training),
        clip=clip,
        notes=report.video_notes,
        over_time=as_files(over_time_strip(path, windows), output_dir),
        **run_figures(clip, explanations),
    )
    progress(1.0, "done")
    return analysis

