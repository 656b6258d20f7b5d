"""The Gradio Blocks layout and its callbacks. Work happens in `app.analysis`; this file wires it."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import gradio as gr
from gradio.components.plot import PlotData
from gradio.utils import get_upload_folder
from matplotlib import colormaps
from matplotlib.figure import Figure

from sfc_core import explain
from sfc_core.device import describe
from sfc_core.errors import ConfigError, SFCError
from sfc_core.examples import bundled_example
from sfc_core.options import DEFAULT_LENGTH, RunOptions, available_backends
from sfc_core.profiling import release_memory
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.streaming import DEFAULT_WINDOW_S

from . import benchmark_tab, figures, links, verdicts
from .analysis import (
    BACKEND_INFO,
    RUN_FIGURES,
    Analysis,
    analyze,
    backend_choices,
    cut_window,
    dark_figures,
    device,
    heatmaps,
    kept_thumbnails,
    load_model,
    model_choices,
    model_for,
    moments,
)
from .cache import SingleFlightCache, content_hash
from .config import LIMITS, Limits, gpu_seconds
from .explorer import STRATEGY_NAMES, explore, short_name
from .export import export_zip
from .live import LiveSession, status
from .session import DEFAULT_MODEL, Clip, Settings
from .teaching import DIAGRAM_HTML, STEPS, walkthrough_step
from .verdicts import KINETICS_FALLBACK
from .words import WORDS

try:  # ZeroGPU on Hugging Face Spaces; a no-op decorator everywhere else
    import spaces

    on_gpu, on_gpu_briefly = spaces.GPU(duration=gpu_seconds), spaces.GPU(duration=10)
    ZERO_GPU = True
except ImportError:

    def on_gpu(function):
        return function

    on_gpu_briefly = on_gpu
    ZERO_GPU = False


DEFAULTS = Settings()
# identical analyses computed once; an entry lives half as long as the files it shows (`delete_cache`)
ANALYSES = SingleFlightCache(LIMITS.cache_entries, LIMITS.output_max_age_s / 2)
MAX_KEEP = 64  # the explorer's slider; a head with fewer positions says so
log = logging.getLogger("sfc_studio")

HOW_IT_WORKS = """
### What you are looking at
- **Dense sampling** (the usual way) cuts the video into 10 short clips, takes 3 crops of each, runs the whole
  network on all 30 views and averages the answers. Most of those views may show nothing of the action.
- **SFC** runs only the network's first stages (the *head*) once, on one long clip that covers the whole video.
  A small module scores every moment, **keeps the top few**, and lets each kept position **attend** to the whole
  clip to gather evidence. The network's last stages (the *tail*) then run once, on exactly the input size they
  were trained on. The network itself is never changed; only the small module is trained.
- **Training-free SFC**: the Kinetics-400 models have no trained SFC module here, so they run SFC without
  learned weights: a score (by default, how much the features change between neighbouring moments) ranks the
  moments, and the top ones' real features go to the tail as they are. **No attention runs**: the heatmaps then
  show the score's own map, and the page calls them that. The page says "training-free" whenever that is what ran.

### The plots
- **Top-5**: the five most likely actions for each method, with their probabilities.
- **Side by side**: time, memory and FLOPs of both methods, measured in the same run on this machine;
  *dense / SFC* says how many times cheaper SFC was. *Where each peak goes* splits each peak memory into
  what was held at that moment: decoded frames, the head, the SFC module, the tail or dense's whole
  network, and the rest (the video decoder, Python objects, allocator slack).
- **Timeline**: the whole video from left to right. Green bands are the moments SFC kept; the blue line is its
  score for every moment; the dashed line (trained SFC only) is how much attention each moment received; ticks
  are the frames SFC decoded; the coloured rows below are dense sampling's 10 clips, one row each with its time
  span; an orange band (bundled examples) is where the action really is.
- **Verdicts**: on a bundled example the true action is known, and a green ✓ or red ✗ over each top-5 says
  whether that method got it right. On your own video with the embedded model, a warning says its labels
  mean nothing there (it knows only the synthetic motions it was trained on), with a button to try a
  Kinetics-400 model.
- **Kept vs dropped**: the frames behind the kept moments (framed green) and a sample of the dropped ones
  (dimmed), each with its frame number and time.
- **Heatmaps**: the kept frames in grey with SFC's heatmap in colour (the colour bar reads it): a trained SFC's
  attention, or a training-free SFC's score map. By default each frame is coloured by rank within that frame
  (bright: its strongest quarter), so you see where the map was strongest on every frame; each caption says the
  frame's share of the whole map. Tick *one colour scale for all frames* to compare frames instead. The video
  plays the whole long clip the same way, kept frames framed in green.
- **Where each kept moment gathered its evidence** (trained SFC only): one row per kept moment, one column per
  moment of the long clip; bright cells are where that kept moment's attention went.
- **SFC's heatmap vs Grad-CAM**: Grad-CAM (from captum) shows which parts of the kept frames the *classifier*
  relied on; compare it with what the *SFC module* singled out.
- **Explore**: after Run, try other ways of choosing the moments (SFC's own, training-free scores, evenly
  spaced, random, the oracle that knows where the action is, or your own picks by clicking frames) and how
  many to keep; only SFC's selection and the tail run again, so answers come back in about a second. A
  trained SFC asked for another number of moments only ranks them by its scores (no attention), and says so.
  The chart under it lists every answer on this clip (dense sampling's and SFC's first): which action each
  named, ✓ or ✗, and the probability it gave the true action.
"""


def _examples() -> dict[str, str]:
    """The bundled examples by the action they show (the name a class reads before pressing Run)."""
    manifest = EXAMPLES_DIR / "examples.json"
    if not manifest.exists():
        return {}
    return {item["label_name"]: str(EXAMPLES_DIR / item["file"]) for item in json.loads(manifest.read_text())}


class AnalysisOutputs(NamedTuple):
    """What `/analyze` returns, in the order of its outputs (`build` wires the page's components to it
    by these names, so the order is written down once)."""

    summary: str
    sfc_top5: dict[str, float]
    dense_top5: dict[str, float]
    table: list[list[str]]
    measurements: PlotData
    timeline: PlotData | Figure  # a link that opens the explorer shows the explorer's
    thumbnails: list
    heatmaps: list
    heatmap_video: str
    explanations: PlotData
    attention_matrix: PlotData | None
    moments: list
    keep: int  # the explorer starts from SFC's own number of moments
    explore_top5: None  # a new clip: the explorer's answer and comparison start again
    comparison: None
    model_note: str
    over_time: list  # each window's answer, for a video longer than one window (else empty)
    report: dict  # the CLI's JSON
    clip: Clip  # the session's clip for the explorer (a State, not part of the API)


def _refused(message: str, request: str) -> gr.Error:
    """The user's message for a request the user can fix (a bad file, an offline download, a setting):
    one line in the server log, no traceback, so the log's tracebacks are bugs only."""
    log.warning("refused %s: %s", request, message)
    return gr.Error(message, print_exception=False)


def _settings(model, length, spatial_stride, clips, crops, backend=None) -> Settings:
    """A run's settings from the page's inputs (numbers may arrive as floats or strings; no backend: the
    default one)."""
    run = RunOptions(clips=int(clips), crops=int(crops), backend=backend or DEFAULTS.run.backend)
    return Settings(model, int(length), int(spatial_stride), run)


@on_gpu
def _analyze_on_gpu(video: str, settings: Settings, progress) -> Analysis:
    """The computation of an analysis; on ZeroGPU only this holds a GPU slot (sized by `gpu_seconds`
    from the same arguments), so a request served from the cache never asks for one."""
    try:
        return analyze(video, settings, progress=lambda fraction, text: progress(fraction, desc=text),
                       output_dir=Path(get_upload_folder()) / "sfc-studio")
    finally:
        release_memory(device())


def run_analysis(video, model, length, spatial_stride, clips, crops, backend=DEFAULTS.run.backend,
                 progress=gr.Progress()) -> AnalysisOutputs:
    """The `/analyze` endpoint: every output the page shows."""
    if not video:
        raise _refused("Upload a video, record one with the webcam, or pick an example first.", "analysis")
    backend, offered = backend or DEFAULTS.run.backend, available_backends(device())
    if backend not in offered:  # a direct call (the page and the API offer only these)
        raise _refused(f"the {backend!r} backend cannot run here; this machine offers {', '.join(offered)}",
                       "analysis")
    return _serve(video, _settings(model or DEFAULT_MODEL, length, spatial_stride, clips, crops, backend), progress)


def _drawn(result: Analysis) -> Analysis:
    """`result` with its figures encoded once, as the page's plots send them. Gradio draws a figure again for
    every response that carries it: a request served from the cache spent 2.5 s of its 2.8 s drawing the same
    four figures (the embedded model, 2 cores). Encoded here, every response sends the same image."""
    plot = gr.Plot(render=False)
    return replace(result, **{name: plot.postprocess(getattr(result, name)) for name in RUN_FIGURES})


def _serve(video: str, settings: Settings, progress) -> AnalysisOutputs:
    """What the page shows for `video` analysed at `settings` (a Run, a link, a window of the strip)."""
    def compute() -> Analysis:
        return _drawn(_analyze_on_gpu(video, settings, progress))

    try:  # identical requests (same bytes, model and settings) are computed once: see app.cache
        result, cached = ANALYSES.get((content_hash(video) if Path(video).is_file() else video, settings), compute)
        result = result.for_session(video, cached)
    except SFCError as error:  # the user's file, weights or settings: the message says what to do
        raise _refused(str(error), f"analysis of {Path(video).name}") from None
    except Exception:
        log.exception("analysis failed for %s", video)
        raise gr.Error("Something went wrong while analysing this video; the details are in the server log.",
                       print_exception=False) from None
    for note in result.notes:
        gr.Warning(note)
    analysed = {name: getattr(result, name) for name in AnalysisOutputs._fields if hasattr(result, name)}
    # the explorer starts from SFC's own number of moments, with no answer or comparison yet
    return AnalysisOutputs(**analysed, keep=len(result.clip.sfc.kept.positions), explore_top5=None, comparison=None)


@on_gpu_briefly
def run_export(clip=None) -> str:
    """The `/export` endpoint: a zip of every figure of this session's analysis (PNG at projector width and
    SVG), the kept frames' heatmaps, the report JSON and a README saying what each file shows."""
    clip = _session_clip(clip)
    out = Path(get_upload_folder()) / "sfc-studio" / uuid.uuid4().hex / f"sfc-studio-{Path(clip.name).stem}.zip"
    out.parent.mkdir(parents=True)
    return str(export_zip(clip, model_for(clip.settings), out))


def open_link(request: gr.Request, progress=gr.Progress()):
    """On page load: a link's lesson state (`app.links`), analysed and explored; without parameters,
    nothing changes. Returns the /analyze outputs, then the inputs' values, then the note and the
    explorer's answer."""
    params = dict(request.query_params) if request is not None else {}
    unchanged = [gr.skip()] * (len(AnalysisOutputs._fields) + len(LINK_INPUTS) + 2)
    if not params:
        return unchanged
    lesson = links.parse(params)
    notes, answer = list(lesson.notes), gr.skip()
    if lesson.example is None:
        return unchanged[:-2] + [_link_note(notes), answer]
    settings = lesson.settings
    outputs = _serve(str(lesson.example), settings, progress)
    strategy, keep = lesson.strategy or "sfc", lesson.keep or outputs.keep
    if lesson.strategy:
        try:
            timeline, thumbnails, top5, comparison, answer = run_explore(strategy, keep, lesson.frames, lesson.seed,
                                                                         outputs.clip)
            outputs = outputs._replace(timeline=timeline, thumbnails=thumbnails, explore_top5=top5,
                                       comparison=comparison)
        except gr.Error as error:
            notes.append(f"the explorer could not open {strategy}: {error.message}")
    values = [str(lesson.example), settings.model, settings.length, settings.spatial_stride, settings.run.clips,
              settings.run.crops, strategy, keep, lesson.frames, lesson.seed]
    return [*outputs, *values, _link_note(notes), answer]


def _link_note(notes: list[str]) -> str:
    return ("**This link asked for things that were ignored:** " + "; ".join(notes) + ".") if notes else ""


def link_to_view(video, model, length, spatial_stride, clips, crops, strategy, keep, frames, seed,
                 request: gr.Request):
    """The address that opens this page as it is now (a bundled example only: a link never names a file). The
    backend is the server's business, not the lesson's: a link opens on the default one (PyTorch)."""
    example = bundled_example(video) if video else None
    if example is None:
        return "Links can open the bundled examples only: pick one, press Run, then ask for the link again."
    settings = _settings(model, length, spatial_stride, clips, crops)
    try:
        seed = parse_seed(seed)
    except ConfigError:  # not a seed: the link draws anew
        seed = None
    query = links.link_for(Path(example["file"]).stem, settings, strategy, int(keep), frames or "", seed)
    base = str(request.url).split("?")[0] if request is not None else ""
    return base + query


def run_window(clip, evt: gr.SelectData, progress=gr.Progress()) -> AnalysisOutputs:
    """A window of the over-time strip, clicked: that window cut out and analysed on its own, so the
    whole page and the explorer work on it; the strip stays, and another window can be picked."""
    clip = _session_clip(clip)
    source = clip.over_time_video or clip.sfc.video
    try:
        path = cut_window(clip, evt.index, Path(get_upload_folder()) / "sfc-studio")
    except SFCError as error:
        raise _refused(str(error), f"window {evt.index} of {clip.name}") from None
    outputs = _serve(str(path), clip.settings, progress)
    outputs.clip.over_time, outputs.clip.over_time_video = clip.over_time, source
    return outputs._replace(over_time=gr.skip())


def _session_clip(clip: Clip | None) -> Clip:
    if clip is None:
        raise _refused("Run an analysis first: the explorer re-uses the analysed clip's head output.", "explore")
    return clip


MAX_SEED = 2**31 - 1  # the draws' own range (`app.explorer`, links)


def parse_seed(seed: str | float | None) -> int | None:
    """The seed box (text: a number box cannot be empty on the page) or an API number: None when empty."""
    text = "" if seed is None else str(seed).strip()
    if not text:
        return None
    whole = text.removesuffix(".0")  # an API client's 1234.0
    if not (whole.isascii() and whole.isdigit() and int(whole) <= MAX_SEED):
        raise ConfigError(f"the random seed must be a whole number from 0 to {MAX_SEED} like 1234 (or empty for a "
                          f"new draw), not {text!r}")
    return int(whole)


@on_gpu_briefly
def run_explore(strategy, keep, frames, seed=None, clip=None):
    """The `/explore` endpoint: another selection of the analysed clip, with only selection + tail run;
    the last output is JSON with strategy, kept_frames, top5, time_s and (random) the seed drawn with.
    `seed` repeats a random draw; left out, every press draws anew."""
    clip = _session_clip(clip)
    try:
        found = explore(model_for(clip.settings), clip, strategy, int(keep or 1), frames or "", parse_seed(seed))
    except SFCError as error:
        raise _refused(str(error), f"explore {strategy} (keep {keep}, frames {frames!r}) on "
                                   f"{Path(clip.sfc.video.path).name}") from None
    except Exception:
        log.exception("explore failed (%s, keep %s, frames %r)", strategy, keep, frames)
        raise gr.Error("Something went wrong while trying this choice; the details are in the server log.",
                       print_exception=False) from None
    if found.report["note"]:
        gr.Info(found.report["note"])
    timeline = figures.timeline(found.result, clip.dense, clip.window, chooser=short_name(strategy))
    clip.explored = {"timeline": timeline, "comparison": found.comparison}
    return (
        timeline,
        kept_thumbnails(found.result),
        {label: p for label, p in found.result.top(5)},
        found.comparison,
        found.report,
    )


LINK_INPUTS = ("video", "model", "length", "spatial_stride", "clips", "crops", "strategy", "keep", "frames", "seed")
LIVE_INTERVAL_S = DEFAULT_WINDOW_S / DEFAULT_LENGTH  # SFC's rate: the long clip's frames per window
LIVE_WAITING = ("Collecting frames: the first answer comes once the window holds SFC's moments (a few seconds), "
                "then one every second.")


def run_live_frame(frame, model, session: LiveSession | None):
    """One webcam frame into this browser session's stream; the page changes only when an update comes."""
    if frame is None:
        return gr.skip(), gr.skip(), gr.skip(), session
    try:
        if session is None or session.model_name != model or session.restarted():
            session = LiveSession(load_model(model, cpu=ZERO_GPU), model)  # ZeroGPU: see app.live
        update = session.frame(frame)  # a stopped session stays frozen until the webcam restarts
    except SFCError as error:
        raise _refused(str(error), f"live stream on {model}") from None
    if update is None:
        return gr.skip(), gr.skip(), (LIVE_WAITING if session.frames == 1 and not session.stopped else gr.skip()), \
            session
    return dict(update.top5), session.strip(), status(update), session


def stop_live(session: LiveSession | None):
    """Stop: the last update over what is left; the strip and answer stay as they are."""
    if session is None or not session.frames:
        return gr.skip(), gr.skip(), "Start the webcam first: nothing was streamed.", session
    update = session.stop()
    again = " Stop and start the webcam's recording for a new stream."
    if update is None:
        return gr.skip(), session.strip(), "Stopped before the window held SFC's moments: no answer." + again, session
    return dict(update.top5), session.strip(), "Stopped. " + status(update) + again, session


def pick_moment(frames: str, clip, evt: gr.SelectData):
    """Clicking a moment adds its frame to the manual picks (or removes it) and switches to "manual"."""
    frame = _session_clip(clip).sfc.position_frames[evt.index]
    picked = [int(f) for f in (frames or "").replace(";", ",").split(",") if f.strip().isdigit()]
    picked = sorted(set(picked) ^ {frame})
    return ", ".join(str(f) for f in picked), "manual"


def redraw_heatmaps(one_scale: bool, clip, theme: str = "light"):
    """The kept frames' attention and Grad-CAM again, each frame on its own scale or one for all."""
    clip = _session_clip(clip)
    gallery, figure = heatmaps(clip, "shared" if one_scale else "frame")
    return gallery, figures.themed(figure, theme, fresh=True)


def walk(step: int, move: int, clip, theme: str = "light"):
    step = max(0, min(len(STEPS) - 1, step + move))
    text, figure = walkthrough_step(clip, step)
    return step, text, figures.themed(figure, theme, fresh=True)


THEME_JS = "() => document.querySelector('.dark') ? 'dark' : 'light'"  # gradio marks a dark page with .dark


def decorate_run(clip: Clip | None, theme: str):
    """After a Run (private): ✓/✗ against the truth (or the out-of-domain warning) over each top-5, the
    model switch where the labels do not fit, the over-time strip only when there is one, and the
    figures in the page's theme (the API's stay light)."""
    if clip is None:
        return [gr.skip()] * (7 + len(RUN_FIGURES))
    dark = theme == "dark"
    drawn = dark_figures(clip) if dark else {}
    shown = [drawn[name] if dark else gr.skip() for name in RUN_FIGURES]
    attention = clip.sfc.heatmap_kind == "attention"  # a training-free SFC has no attention matrix to show
    shown[-1] = gr.Plot(value=shown[-1], visible=attention) if dark else gr.Plot(visible=attention)
    meaningless = " (these labels mean nothing for this clip)" if verdicts.out_of_domain(clip) else ""
    return [verdicts.verdict("SFC", clip.sfc.top(5), clip), verdicts.verdict("Dense sampling", clip.dense.top(5), clip),
            "", gr.Button(visible=bool(meaningless)), gr.Gallery(visible=bool(clip.over_time)), *shown,
            gr.Label(label="SFC top-5" + meaningless), gr.Label(label="Dense sampling top-5" + meaningless)]


def decorate_explore(answer: dict | None, clip: Clip | None, theme: str):
    """After an explorer answer (private): its ✓/✗, the moments it kept and the hand-picked ones marked
    among every moment, and its figures in the page's theme."""
    if clip is None or not answer:
        return [gr.skip()] * 4
    picked = answer["kept_positions"] if answer["strategy"] == "manual" else []  # a manual answer keeps the picks
    verdict = verdicts.verdict(short_name(answer["strategy"]), [tuple(item) for item in answer["top5"]], clip)
    dark = theme == "dark"
    return [verdict, moments(clip.sfc, answer["kept_positions"], picked),
            figures.themed(clip.explored["timeline"], theme, fresh=True) if dark else gr.skip(),
            figures.themed(clip.explored["comparison"], theme, fresh=True) if dark else gr.skip()]


def explore_on_change(strategy, keep, frames, seed, clip):
    """A strategy or the number of moments changed on the page: explore, unless there is nothing to try
    yet (no Run; "manual" with no picks), which is said as a hint, never an error."""
    if clip is None:
        gr.Info("Press Run first: the explorer tries other choices on the analysed clip.")
        return [gr.skip()] * 5
    if strategy == "manual" and not (frames or "").strip():
        gr.Info("Manual: click moments below (or type frame numbers): each pick runs at once.")
        return [gr.skip()] * 5
    return run_explore(strategy, keep, frames, seed, clip)


def _colour_bar_html(least: str, most: str) -> str:
    """The heatmaps' colour map as a bar, with what its ends mean (HTML: it follows the page's theme)."""
    stops = ", ".join(f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})"
                      for r, g, b, _ in (colormaps[explain.COLOUR_MAP](x / 8) for x in range(9)))
    return (f'<div id="colour-bar" style="color:var(--body-text-color)">'
            f'<div style="height:16px;border-radius:4px;background:linear-gradient(to right, {stops})"></div>'
            '<div style="display:flex;justify-content:space-between;font-size:0.9rem">'
            f"<span>{least}</span><span>colour over the frame in grey</span><span>{most}</span>"
            "</div></div>")


def name_heatmaps(clip: Clip) -> tuple[gr.HTML, gr.Gallery, gr.Video]:
    """The heatmaps' colour bar and labels for the analysed clip's SFC: a trained SFC's attention or a
    training-free score's map."""
    words = WORDS[clip.sfc.heatmap_kind]
    return (gr.HTML(_colour_bar_html(words.least, words.most)),
            gr.Gallery(label=f"{words.name} on the kept frames (caption: its share of {words.share_of})"),
            gr.Video(label=f"{words.name} over the whole long clip: each frame beside its heatmap"))


def build_demo(limits: Limits = LIMITS) -> gr.Blocks:
    # a new page serves only the files it made itself: analyses cached for an earlier one are dropped
    ANALYSES.max_entries, ANALYSES.max_age_s = limits.cache_entries, limits.output_max_age_s / 2
    ANALYSES.clear()
    age = int(limits.output_max_age_s)
    with gr.Blocks(title="SFC Studio", delete_cache=(max(60, age // 4), age)) as demo:
        clip = gr.State(None)  # this session's analysed clip, for the explorer and the walk-through
        theme = gr.Textbox("light", visible=False)  # the page's theme, read in the browser on load (THEME_JS)
        gr.Markdown(
            "# SFC Studio\n**Recognise an action from one look at the whole video.** The usual way runs a video "
            "network on 30 short views and averages the answers; SFC (Selective Feature Compression, ICCV 2021) runs "
            "the network's first half once over one long clip, keeps the few moments that matter, and lets the "
            "second half answer once. Pick an example under the video and press **Run**. "
            f"Running on **{describe(device())}**.", elem_id="story")
        with gr.Tabs():
            with gr.Tab("Analyze"):
                link_note = gr.Markdown(elem_id="link-note")
                with gr.Row():
                    with gr.Column(scale=1, min_width=320):
                        video = gr.Video(
                            label="Video", sources=["upload", "webcam"], format=None, elem_id="input-video",
                            webcam_options=gr.WebcamOptions(mirror=False),  # mirroring swaps left and right
                            height=270,  # Run and the examples above the fold on a 1280x720 projector
                        )
                        run = gr.Button("Run", variant="primary", elem_id="run")
                        examples = _examples()
                        if examples:
                            gr.Examples(list(examples.values()), inputs=[video], example_labels=list(examples),
                                        label="Examples: pick one, then Run (SynthActions: the true action is known)",
                                        elem_id="examples")
                        model = gr.Dropdown(model_choices(), value=DEFAULT_MODEL, label="Model")
                        with gr.Accordion("Settings", open=False):
                            length = gr.Slider(16, 128, value=DEFAULTS.length, step=8,
                                               label="SFC: long-clip length (frames)")
                            spatial = gr.Radio([1, 2], value=DEFAULTS.spatial_stride,
                                               label="SFC: spatial compression (1 = none)",
                                               info="A trained SFC runs at the stride it was trained with; "
                                                    "another stride runs the training-free SFC.")
                            clips = gr.Slider(1, 10, value=DEFAULTS.run.clips, step=1, label="Dense: clips along time")
                            crops = gr.Radio([1, 3], value=DEFAULTS.run.crops, label="Dense: crops per clip")
                            backends = backend_choices()
                            backend = gr.Radio(backends, value=DEFAULTS.run.backend, label="Backend",
                                               info=BACKEND_INFO, visible=len(backends) > 1)
                            reset = gr.Button("Reset settings")
                    with gr.Column(scale=2):
                        summary = gr.Markdown(label="Run summary", show_label=False, elem_id="summary")
                        model_note = gr.Markdown(label="About this model", show_label=False, elem_id="model-note")
                        with gr.Row():
                            with gr.Column():
                                sfc_verdict = gr.HTML(elem_id="sfc-verdict")
                                sfc_top5 = gr.Label(num_top_classes=5, label="SFC top-5", elem_id="sfc-top5")
                            with gr.Column():
                                dense_verdict = gr.HTML(elem_id="dense-verdict")
                                dense_top5 = gr.Label(num_top_classes=5, label="Dense sampling top-5",
                                                      elem_id="dense-top5")
                        switch_model = gr.Button(f"These labels do not fit: analyse this clip with a Kinetics-400 "
                                                 f"model ({KINETICS_FALLBACK}) instead", visible=False,
                                                 elem_id="switch-model")
                        table = gr.Dataframe(headers=["", "dense", "SFC", "dense / SFC"], label="Side by side",
                                             interactive=False, elem_id="metrics-table")
                        # figures carry their own titles: a label badge would cover them
                        measurements = gr.Plot(label="Measurements", show_label=False, elem_id="measurements")
                        timeline = gr.Plot(label="Timeline: what was kept", show_label=False, elem_id="timeline")
                        thumbnails = gr.Gallery(label="Kept (framed green) vs dropped (dimmed): the timeline's "
                                                      "choice", columns=5, height="auto", elem_id="thumbnails")
                over_time = gr.Gallery(label="Over time: each 8-second window's answer, from one streamed pass "
                                             "(click a window to analyse it on its own)", visible=False,
                                       columns=8, height="auto", allow_preview=False, elem_id="over-time")
                with gr.Accordion("Explore: what if other moments were kept?", open=True, elem_id="explorer"):
                    gr.Markdown("After **Run**, pick another way of choosing moments or how many to keep, or click "
                                "frames below to choose them yourself: only the selection and the network's tail "
                                "run again. The timeline and the kept frames above switch to your choice (their "
                                "titles say whose); the two top-5 above stay the run's, and the chart below "
                                "compares every answer.")
                    with gr.Row():
                        strategy = gr.Radio([(name, key) for key, name in STRATEGY_NAMES.items()], value="sfc",
                                            label="Strategy", elem_id="strategy", scale=3)
                        with gr.Column(scale=1, min_width=220):
                            keep = gr.Slider(1, MAX_KEEP, value=8, step=1, label="Moments to keep", elem_id="keep")
                            frames = gr.Textbox(label="Manual picks (source frame numbers)", placeholder="e.g. 12, 40",
                                                elem_id="manual-frames")
                            seed = gr.Textbox(label="Random seed (empty: a new draw each press)",
                                              placeholder="e.g. 1234", elem_id="seed")
                            try_it = gr.Button("Try it", elem_id="try-it")
                    moment_gallery = gr.Gallery(label="Every moment of the long clip (green: kept, orange: your "
                                                      "picks): click one to pick it", columns=8, height="auto",
                                                allow_preview=False, elem_id="moments")
                    with gr.Row():
                        with gr.Column():
                            explore_verdict = gr.HTML(elem_id="explore-verdict")
                            explore_top5 = gr.Label(num_top_classes=5, label="Explorer top-5", elem_id="explore-top5")
                        explored = gr.JSON(label="Explorer answer (the /explore endpoint's JSON)",
                                           elem_id="explore-json")
                    comparison = gr.Plot(label="Every answer on this clip", show_label=False, elem_id="comparison")
                with gr.Accordion("SFC's heatmaps", open=True):  # named after each run by `name_heatmaps`
                    with gr.Row():
                        one_scale = gr.Checkbox(False, label="Compare frames: one colour scale for all frames",
                                                elem_id="one-scale")
                        colour_bar = gr.HTML(_colour_bar_html("low", "high"))
                    heatmap_gallery = gr.Gallery(label="SFC's heatmap on the kept frames", columns=4,
                                                 height="auto", elem_id="heatmaps")
                    heatmap_video = gr.Video(label="SFC's heatmap over the whole long clip", autoplay=True,
                                             loop=True, interactive=False, elem_id="heatmap-video")
                    matrix = gr.Plot(label="Where each kept moment gathered its evidence", show_label=False,
                                     elem_id="attention-matrix")
                    explanations = gr.Plot(label="SFC's heatmap vs captum Grad-CAM", show_label=False,
                                           elem_id="explanations")
                report = gr.JSON(label="Result JSON (the same as the CLI's --json)")
                with gr.Row():
                    link_button = gr.Button("Link to this view", elem_id="link-button")
                    view_link = gr.Textbox(label="Open this address to see this example, settings and explorer "
                                                 "choice again", buttons=["copy"], interactive=False,
                                           elem_id="view-link")
                with gr.Row():
                    export = gr.Button("Download every figure for slides (zip: PNG and SVG)", elem_id="export")
                    exported = gr.File(label="Figures for slides", elem_id="export-file")
            with gr.Tab("How SFC works"):
                step = gr.State(-1)  # Next shows step 0 first
                with gr.Row(equal_height=False):  # the buttons stay put while the steps change; all on one screen
                    with gr.Column(scale=1, min_width=280):
                        gr.Markdown("### Walk through your clip, step by step")
                        with gr.Row():
                            back = gr.Button("Back", elem_id="walk-back")
                            forward = gr.Button("Next", variant="primary", elem_id="walk-next")
                        walk_text = gr.Markdown("Run an analysis on the **Analyze** tab, then press **Next**.",
                                                elem_id="walk-text")
                    walk_figure = gr.Plot(label="This step", show_label=False, elem_id="walk-figure", scale=3)
                gr.HTML(DIAGRAM_HTML)
                gr.Markdown(HOW_IT_WORKS)
            with gr.Tab("Live"):
                gr.Markdown("Point the webcam at an action and press record: SFC runs over time on the stream, with "
                            "an answer every second from the last 8 seconds. Each frame goes through the first half "
                            "of the network once; every second SFC keeps the 8 most informative moments of the "
                            "window and the rest of the network runs once on them. Stop freezes the last window.")
                with gr.Row():
                    camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam",
                                      webcam_options=gr.WebcamOptions(mirror=False), elem_id="live-camera")
                    with gr.Column():
                        live_model = gr.Dropdown(model_choices(), value=DEFAULT_MODEL, label="Model",
                                                 elem_id="live-model")
                        live_top5 = gr.Label(num_top_classes=5, label="Live top-5", elem_id="live-top5")
                        live_status = gr.Markdown(elem_id="live-status")
                        live_stop = gr.Button("Stop", elem_id="live-stop")
                live_strip = gr.Image(label="The window's frames, oldest first: the kept moments framed in green",
                                      interactive=False, elem_id="live-strip")
                live_session = gr.State(None)
            with gr.Tab("Benchmark"):
                gr.Markdown("Dense sampling and SFC measured side by side on this project's reference machine "
                            "(the plots say which), from the committed reports: "
                            + ", ".join(f"`{source}`" for source in benchmark_tab.report_sources()) + ".")
                bench_figures = benchmark_tab.benchmark_figures()
                bench_plots = [gr.Plot(figure, show_label=False, elem_classes="bench-plot") for figure in bench_figures]
                with gr.Accordion("The tables behind the plots", open=False):
                    gr.Markdown(benchmark_tab.benchmark_tables_markdown(), elem_id="bench-tables")
        page = dict(summary=summary, sfc_top5=sfc_top5, dense_top5=dense_top5, table=table, measurements=measurements,
                    timeline=timeline, thumbnails=thumbnails, heatmaps=heatmap_gallery, heatmap_video=heatmap_video,
                    explanations=explanations, attention_matrix=matrix, moments=moment_gallery, keep=keep,
                    explore_top5=explore_top5, comparison=comparison, model_note=model_note, report=report,
                    over_time=over_time, clip=clip)
        assert page.keys() == set(AnalysisOutputs._fields), "every output of /analyze is wired to the page"
        analysed = run.click(
            run_analysis,
            inputs=[video, model, length, spatial, clips, crops, backend],
            outputs=[page[name] for name in AnalysisOutputs._fields],
            api_name="analyze",
            concurrency_limit=limits.concurrency,
            concurrency_id="model",
        )
        window_analysed = over_time.select(run_window, inputs=[clip], outputs=[page[name] for name in
                                                                              AnalysisOutputs._fields],
                                           api_visibility="private", concurrency_limit=limits.concurrency,
                                           concurrency_id="model")
        switched = switch_model.click(lambda: KINETICS_FALLBACK, outputs=[model], api_visibility="private").then(
            run_analysis, inputs=[video, model, length, spatial, clips, crops, backend],
            outputs=[page[name] for name in AnalysisOutputs._fields], api_visibility="private",
            concurrency_limit=limits.concurrency, concurrency_id="model")
        decorated = [sfc_verdict, dense_verdict, explore_verdict, switch_model, over_time,
                     *(page[name] for name in RUN_FIGURES), sfc_top5, dense_top5]
        for event in (analysed, window_analysed, switched):  # a new clip: the walk-through, verdicts and names follow
            event.then(lambda: (-1, "Press **Next** to walk through this clip.", "", "sfc"),
                       outputs=[step, walk_text, frames, strategy], api_visibility="private")
            event.success(name_heatmaps, inputs=[clip], outputs=[colour_bar, heatmap_gallery, heatmap_video],
                          api_visibility="private")
            event.success(decorate_run, inputs=[clip, theme], outputs=decorated, api_visibility="private")
        explore_outputs = [timeline, thumbnails, explore_top5, comparison, explored]
        explored_events = [try_it.click(run_explore, inputs=[strategy, keep, frames, seed, clip],
                                        outputs=explore_outputs, api_name="explore",
                                        concurrency_limit=limits.concurrency, concurrency_id="model")]
        for control in (strategy, keep):
            explored_events.append(control.input(
                explore_on_change, inputs=[strategy, keep, frames, seed, clip], outputs=explore_outputs,
                api_visibility="private", concurrency_limit=limits.concurrency, concurrency_id="model"))
        explored_events.append(moment_gallery.select(pick_moment, inputs=[frames, clip], outputs=[frames, strategy],
                                                     api_visibility="private").then(
            explore_on_change, inputs=[strategy, keep, frames, seed, clip], outputs=explore_outputs,
            api_visibility="private", concurrency_limit=limits.concurrency, concurrency_id="model"))
        for event in explored_events:
            event.success(decorate_explore, inputs=[explored, clip, theme],
                          outputs=[explore_verdict, moment_gallery, timeline, comparison], api_visibility="private")
        link_inputs = [video, model, length, spatial, clips, crops, strategy, keep, frames, seed]
        assert len(link_inputs) == len(LINK_INPUTS)
        link_button.click(link_to_view, inputs=link_inputs, outputs=[view_link], api_visibility="private")
        themed_page = demo.load(None, outputs=[theme], js=THEME_JS)  # in the browser: which theme the page shows
        if bench_plots:
            bench_dark = [figures.themed(figure, "dark") for figure in bench_figures]  # once, for every dark page
            themed_page.then(lambda page_theme: bench_dark if page_theme == "dark" else [gr.skip()] * len(bench_dark),
                             inputs=[theme], outputs=bench_plots, api_visibility="private")
        # not behind the model's queue: a page without a link returns at once, and a class opening the same
        # link shares one computation (the cache's single flight)
        linked = demo.load(open_link, outputs=[*(page[name] for name in AnalysisOutputs._fields), *link_inputs,
                                               link_note, explored], api_visibility="private", concurrency_limit=None)
        linked.success(decorate_run, inputs=[clip, theme], outputs=decorated, api_visibility="private").success(
            decorate_explore, inputs=[explored, clip, theme],  # after: the run's decoration clears the verdict
            outputs=[explore_verdict, moment_gallery, timeline, comparison], api_visibility="private")
        export.click(run_export, inputs=[clip], outputs=[exported], api_name="export",
                     concurrency_limit=limits.concurrency, concurrency_id="model")
        live_outputs = [live_top5, live_strip, live_status, live_session]
        camera.stream(run_live_frame, inputs=[camera, live_model, live_session], outputs=live_outputs,
                      stream_every=LIVE_INTERVAL_S, time_limit=limits.max_duration_s, concurrency_limit=4,
                      concurrency_id="live", api_visibility="private")
        live_stop.click(stop_live, inputs=[live_session], outputs=live_outputs, api_visibility="private")
        one_scale.change(redraw_heatmaps, inputs=[one_scale, clip, theme], outputs=[heatmap_gallery, explanations],
                         api_visibility="private")
        back.click(lambda s, c, t: walk(s, -1, c, t), inputs=[step, clip, theme],
                   outputs=[step, walk_text, walk_figure], api_visibility="private")
        forward.click(lambda s, c, t: walk(s, +1, c, t), inputs=[step, clip, theme],
                      outputs=[step, walk_text, walk_figure], api_visibility="private")
        reset.click(
            lambda: (DEFAULTS.length, DEFAULTS.spatial_stride, DEFAULTS.run.clips, DEFAULTS.run.crops,
                     DEFAULTS.run.backend),
            outputs=[length, spatial, clips, crops, backend],
            api_visibility="private",
        )
    demo.queue(max_size=limits.queue_size)
    return demo
