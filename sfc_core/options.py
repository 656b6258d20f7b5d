"""The two kinds of settings a prediction runs with, each declared once.

- `SFCSettings`: what the loaded model is (long-clip length, head split, kept positions, spatial
  stride, head chunking). A trained SFC fixes most of them; `hub.load` decides them once per model.
- `RunOptions`: how one request runs (which modes, dense sampling's views and batches, timed
  repeats, precision, what is measured). Every caller builds one: the Python API
  (`model.predict(video, mode="sfc")` changes the defaults by name), the commands that classify
  videos (`sfc-predict`, `sfc-batch`) from their flags (`add_run_arguments` +
  `RunOptions.from_args`), the app from its controls, a corpus job, the bench per configuration.
The report's `settings` are the two together (`RunOptions.report_settings`).
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import asdict, dataclass, fields, replace

import torch

from .device import PRECISIONS
from .errors import ConfigError

AUTO = "auto"
MODES = ("sfc", "dense", "both")
BACKENDS = ("torch", "openvino")  # what runs the networks (see `openvino_backend`)
MEASURES = ("full", "time")  # full: warm-up, FLOPs, peak memory, timed calls; time: the timed calls only
DEFAULT_LENGTH = 64  # frames in SFC's long clip
DEFAULT_CLIPS, DEFAULT_CROPS = 10, 3  # dense sampling's usual 30 views


@dataclass(frozen=True)
class SFCSettings:
    length: int  # frames in the long clip
    split: str  # stage after which the head ends
    keep: int  # temporal positions SFC keeps (the tail's input size)
    spatial_stride: int  # SFC's spatial compression
    head_chunk_frames: int | None = None  # the head runs in exact chunks of this many frames; None: one pass


@dataclass(frozen=True)
class RunOptions:
    mode: str = "both"  # "sfc", "dense" or "both"
    clips: int = DEFAULT_CLIPS  # dense: clips along time
    crops: int = DEFAULT_CROPS  # dense: crops per clip
    batch_size: int | str | None = AUTO  # dense: views per batch; None: all at once; "auto": `dense_batch_size`
    repeats: int = 1  # timed calls after the warm-up
    precision: str = "fp32"  # torch: "fp16"/"bf16" autocast (CUDA only); openvino: "bf16" where the CPU has it
    measure: str = "full"  # see MEASURES
    backend: str = "torch"  # see BACKENDS

    def __post_init__(self) -> None:  # precision and repeats are checked where they apply (device, profiling)
        for name, value, allowed in (("mode", self.mode, MODES), ("measure", self.measure, MEASURES),
                                     ("backend", self.backend, BACKENDS)):
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")

    @classmethod
    def given(cls, options: RunOptions | None, changes: dict) -> RunOptions:
        """`options` (default: the defaults) changed by `changes`: how every API call takes them."""
        if options is not None and not isinstance(options, RunOptions):
            raise ConfigError(f"options must be a RunOptions, not {options!r}; change one by name instead, "
                              f"e.g. mode={options!r}")
        return (options or cls()).changed(**changes)

    def changed(self, **changes: object) -> RunOptions:
        """These options with some changed by name (an unknown name is a ConfigError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown run option(s) {sorted(unknown)}; known: {[f.name for f in fields(self)]}")
        return replace(self, **changes)

    def dense_batch_size(self, device: torch.device) -> int | None:
        """Dense sampling's views per batch on `device`; "auto" is one view at a time on a CPU (measured on
        2 cores: faster than batching the 30 views for the Kinetics models, as fast within the spread for
        `tiny`, at a fraction of the memory) and all views at once on a GPU."""
        if self.batch_size != AUTO:
            return self.batch_size
        return 1 if device.type == "cpu" else None

    def report_settings(self, sfc: SFCSettings, device: torch.device) -> dict:
        """The report's `settings`: the model's SFC settings and how the request ran (mode aside: the
        report says which modes ran by which results it holds)."""
        run = {k: v for k, v in asdict(self).items() if k != "mode"} | {"batch_size": self.dense_batch_size(device)}
        return {**asdict(sfc), **run}

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        """The options `add_run_arguments` parsed."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def available_backends(device: torch.device) -> tuple[str, ...]:
    """The backends that can run on `device` here: PyTorch everywhere; OpenVINO on a CPU, where the package
    is installed."""
    openvino = device.type == "cpu" and importlib.util.find_spec("openvino") is not None
    return BACKENDS if openvino else ("torch",)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """A command's arguments for `RunOptions`, one per field."""
    parser.add_argument("--mode", choices=MODES, default="both", help="run SFC, dense sampling, or both side by side")
    parser.add_argument("--clips", type=int, default=DEFAULT_CLIPS, help="dense: clips along time")
    parser.add_argument("--crops", type=int, default=DEFAULT_CROPS, choices=(1, 3), help="dense: crops per clip")
    parser.add_argument("--batch-size", type=_batch_size, default=AUTO,
                        help="dense: views per batch, or all (default: auto: one at a time on a CPU, all on a GPU)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repeats after the warm-up")
    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="fp32",
                        help="fp16/bf16: mixed precision for both modes (CUDA only; bf16 also with --backend "
                        "openvino on a CPU that computes it natively)")
    parser.add_argument("--measure", choices=MEASURES, default="full",
                        help="full: warm-up, FLOPs, peak memory and timed repeats; time: the timed runs only "
                        "(no warm-up; FLOPs and memory not measured)")
    add_backend_argument(parser)


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    """--backend, for every command that runs a network (`sfc-stream` takes it without the other run options)."""
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="what runs the networks on a CPU: PyTorch, or OpenVINO (needs the openvino package)")


def _batch_size(text: str) -> int | str | None:
    """--batch-size: "auto" (the device's best), "all" (None: one batch) or a number of views."""
    if text == AUTO:
        return AUTO
    if text == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of views, 'all' or 'auto'") from None
