"""The Gradio Blocks layout and its callbacks. Work happens in `app.analysis`; this file wires it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from sfc_core.device import describe
from sfc_core.errors import SFCError
from sfc_core.profiling import release_memory
from sfc_core.resources import BENCHMARKS_DIR, EXAMPLES_DIR

from . import figures
from .analysis import DEFAULT_MODEL, Settings, analyze, device, model_choices
from .config import LIMITS, Limits

try:  # ZeroGPU on Hugging Face Spaces; a no-op decorator everywhere else
    import spaces

    on_gpu = spaces.GPU(duration=120)
except ImportError:

    def on_gpu(function):
        return function


DEFAULTS = Settings()
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
  learned weights: it keeps the moments whose features change most between neighbouring moments and hands
  those real features to the tail. The page says "training-free" whenever that is what ran.

### The plots
- **Top-5**: the five most likely actions for each method, with their probabilities.
- **Side by side**: time, memory and FLOPs of both methods, measured in the same run on this machine;
  *dense / SFC* says how many times cheaper SFC was.
- **Timeline**: the whole video from left to right. Green bands are the moments SFC kept; the blue line is its
  score for every moment; the dashed line is how much attention each moment received; ticks are the frames SFC
  decoded; grey bars are dense sampling's 10 clips; an orange band (bundled examples) is where the action really is.
- **Kept vs dropped**: the frames behind the kept and the dropped moments.
- **Attention**: bright where SFC's attention went, overlaid on the kept frames; the video plays the whole long
  clip with kept frames framed in green.
- **SFC attention vs Grad-CAM**: Grad-CAM (from captum) shows which parts of the kept frames the *classifier*
  relied on; compare it with where the *SFC module* looked.
"""


def _examples() -> list[str]:
    manifest = EXAMPLES_DIR / "examples.json"
    if not manifest.exists():
        return []
    return [str(EXAMPLES_DIR / item["file"]) for item in json.loads(manifest.read_text())]


def _benchmark_markdown() -> str:
    reports = sorted(BENCHMARKS_DIR.glob("*/bench.md"))
    if not reports:
        return "No benchmark report is committed yet: run `python -m sfc_core.bench` to make one."
    return "\n\n".join(f"*From `{p.relative_to(BENCHMARKS_DIR.parent)}`*\n\n{p.read_text()}" for p in reports)


@on_gpu
def run_analysis(video, model, length, spatial_stride, clips, crops, progress=gr.Progress()):
    """The `/analyze` endpoint: every output the page shows, plus the CLI's JSON."""
    if not video:
        raise gr.Error("Upload a video, record one with the webcam, or pick an example first.")
    settings = Settings(model or DEFAULT_MODEL, int(length), int(spatial_stride), int(clips), int(crops))
    try:
        result = analyze(video, settings, progress=lambda fraction, text: progress(fraction, desc=text),
                         output_dir=Path(get_upload_folder()) / "sfc-studio")
    except SFCError as error:  # the user's file, weights or settings: the message says what to do
        raise gr.Error(str(error)) from None
    except Exception:
        log.exception("analysis failed for %s", video)
        raise gr.Error("Something went wrong while analysing this video; the details are in the server log.") from None
    finally:
        release_memory(device())
    for note in result.notes:
        gr.Warning(note)
    return (
        result.summary,
        result.sfc_top5,
        result.dense_top5,
        result.table,
        result.measurements,
        result.timeline,
        result.thumbnails,
        result.heatmaps,
        result.heatmap_video,
        result.explanations,
        result.report,
    )


def build_demo(limits: Limits = LIMITS) -> gr.Blocks:
    age = int(limits.output_max_age_s)
    with gr.Blocks(title="SFC Studio", delete_cache=(max(60, age // 4), age)) as demo:
        gr.Markdown(
            "# SFC Studio\nSelective Feature Compression (ICCV 2021): classify an action by running a video "
            "network's head once on one long clip, keeping only the informative moments, instead of running the "
            f"whole network on 30 views. Running on **{describe(device())}**."
        )
        with gr.Tabs():
            with gr.Tab("Analyze"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=320):
                        video = gr.Video(
                            label="Video", sources=["upload", "webcam"], format=None, elem_id="input-video",
                            webcam_options=gr.WebcamOptions(mirror=False),  # mirroring swaps left and right
                        )
                        model = gr.Dropdown(model_choices(), value=DEFAULT_MODEL, label="Model")
                        with gr.Accordion("Settings", open=False):
                            length = gr.Slider(16, 128, value=DEFAULTS.length, step=8,
                                               label="SFC: long-clip length (frames)")
                            spatial = gr.Radio([1, 2], value=DEFAULTS.spatial_stride,
                                               label="SFC: spatial compression (1 = none)",
                                               info="A trained SFC runs at the stride it was trained with; "
                                                    "another stride runs the training-free SFC.")
                            clips = gr.Slider(1, 10, value=DEFAULTS.clips, step=1, label="Dense: clips along time")
                            crops = gr.Radio([1, 3], value=DEFAULTS.crops, label="Dense: crops per clip")
                            reset = gr.Button("Reset settings")
                        run = gr.Button("Run", variant="primary", elem_id="run")
                        examples = _examples()
                        if examples:
                            gr.Examples(examples, inputs=[video], label="Examples (SynthActions, ground truth known)")
                    with gr.Column(scale=2):
                        summary = gr.Markdown(elem_id="summary")
                        with gr.Row():
                            sfc_top5 = gr.Label(num_top_classes=5, label="SFC top-5", elem_id="sfc-top5")
                            dense_top5 = gr.Label(num_top_classes=5, label="Dense sampling top-5", elem_id="dense-top5")
                        table = gr.Dataframe(headers=["", "dense", "SFC", "dense / SFC"], label="Side by side",
                                             interactive=False, elem_id="metrics-table")
                        measurements = gr.Plot(label="Measurements")
                        timeline = gr.Plot(label="Timeline: what SFC kept", elem_id="timeline")
                        thumbnails = gr.Gallery(label="Kept vs dropped frames", columns=6, height="auto")
                        with gr.Row():
                            heatmaps = gr.Gallery(label="SFC attention on the kept frames", columns=4, height="auto")
                            heatmap_video = gr.Video(label="Attention over the whole long clip", autoplay=True,
                                                     loop=True, interactive=False, elem_id="heatmap-video")
                        explanations = gr.Plot(label="SFC attention vs captum Grad-CAM")
                        report = gr.JSON(label="Result JSON (the same as the CLI's --json)")
            with gr.Tab("How SFC works"):
                gr.Plot(figures.diagram(), label="Dense sampling vs SFC")
                gr.Markdown(HOW_IT_WORKS)
            with gr.Tab("Benchmark"):
                gr.Markdown(_benchmark_markdown())
                for image in sorted(BENCHMARKS_DIR.glob("*/bench.png")):
                    gr.Image(str(image), label=str(image.relative_to(BENCHMARKS_DIR.parent)), interactive=False)
        run.click(
            run_analysis,
            inputs=[video, model, length, spatial, clips, crops],
            outputs=[summary, sfc_top5, dense_top5, table, measurements, timeline, thumbnails, heatmaps,
                     heatmap_video, explanations, report],
            api_name="analyze",
            concurrency_limit=limits.concurrency,
            concurrency_id="model",
        )
        reset.click(
            lambda: (DEFAULTS.length, DEFAULTS.spatial_stride, DEFAULTS.clips, DEFAULTS.crops),
            outputs=[length, spatial, clips, crops],
            api_visibility="private",
        )
    demo.queue(max_size=limits.queue_size)
    return demo
