"""SFC Studio's library: Selective Feature Compression (ICCV 2021) for efficient action recognition.

    import sfc_core
    model = sfc_core.load("tiny")
    report = model.predict("clip.mp4", mode="both")   # report.to_dict(): the predict CLI's JSON

Modules:
  hub          load(): the one place that decides which backbone weights and which SFC run
  report       the prediction report (the stable JSON): each mode's Result, the provenance of its parts,
               its printed table
  errors       SFCError and its kinds: VideoError, WeightsError, ConfigError, InputRejected
  resources    where the shipped files are, from a checkout or an installed wheel
  examples     the bundled example clips (known by content) and the embedded model's note on other videos
  device       picks CUDA or CPU; mixed precision
  video        probe and decode only the planned frames (PyAV)
  sampling     dense (clips x crops) and SFC (one long clip) sampling plans
  transforms   resize, crop, normalise in plain torch
  models/      backbones, their registry (input spec, labels, published checkpoint), head/tail split
  chunked_head the head streamed over the long clip in exact chunks; head positions mapped to frames
  sfc          the SFC module, training-free scores, SFC checkpoints
  selection    every way of choosing the kept positions, through the same tail
  inputs       a video opened for a plan, or its frames decoded ahead; frames made into views
  options      RunOptions (how a request runs) and SFCSettings (what the model is), each declared once
  pipeline     DenseRecognizer and SFCRecognizer
  openvino_backend  a network's parts compiled by OpenVINO, for `--backend openvino` on a CPU
  streaming    SFC over time: a file or camera streamed once through the head, an update per second
  profiling    model time, peak memory, FLOPs; dense/SFC ratios
  memory_breakdown  where a peak goes: the tensors alive at their peak, by the stage that made them
  allocator    glibc's heap set up for honest CPU peaks (one arena, at import; mmap threshold per call;
               the free heap held during the memory call)
  environment  what a measurement ran on, recorded in every report
  weights      download, cache and verify checkpoints
  export       ONNX and OpenVINO files of a model's dense network and SFC parts, with a manifest
  bench        the side-by-side benchmark sweep and its reports (bench.json, bench.md, bench.png)
  evaluate     accuracy of SFC and of every selection strategy on generated SynthActions clips
  explain      attention heatmaps and video, captum Grad-CAM
  synth        SynthActions, the benchmark with ground-truth action windows
  synth_classes  SynthActions' class names
  seeds        which SynthActions seeds train, validate and are held out
  objective    the SFC training objective
  training/    SFC training (selection targets, loop, checkpoints, DDP) and the SynthActions backbone trainer
  corpus/      classifying a collection: inputs, a video's work, result tables, local and Ray engines, the
               collection into a table
  cli/         the command-line tools, one module each (predict, batch, stream, bench, evaluate, train,
               weights, export: sfc-predict, ...), what they share, and the model arguments of those that
               load a model
"""

from . import allocator

allocator.configure()  # before torch or the decoder start threads: see sfc_core.allocator

from .errors import ConfigError, InputRejected, SFCError, VideoError, WeightsError  # noqa: E402
from .hub import SFCModel, load  # noqa: E402
from .options import RunOptions  # noqa: E402
from .report import Report  # noqa: E402

__version__ = "0.6.0"
__all__ = [
    "ConfigError", "InputRejected", "Report", "RunOptions", "SFCError", "SFCModel", "VideoError", "WeightsError",
    "load",
]
