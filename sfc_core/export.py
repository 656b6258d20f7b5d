"""Export a loaded model for inference outside PyTorch (`sfc-export`): ONNX files, or OpenVINO IR made
from them, of dense sampling's network and of SFC's three parts, with a manifest that says how to feed
them.

    dense     views (N, 3, F, S, S) -> logits (N, classes); dense sampling averages the views' softmax
    sfc_head  the long clip (1, 3, L, S, S) -> head features (1, C, T, h, w)
    sfc       head features -> the tail's input (1, C, K, h', w'), kept positions (1, K), scores (1, T),
              attention or score map (1, T, ., .)
    sfc_tail  the tail's input -> logits (1, classes)

The head is exported as one pass over the long clip: PyTorch runs it in exact temporal chunks to bound
its memory, with the same result. The SFC part is the module's one-pass forward (the learned module's
is its training pass, exact at inference; a training-free score's is its reference pass), which the
streamed `compress` is tested equal to. Convolutions export as the standard operator
(`layers.standard_convolution`). Sampling and preprocessing (frames, resize, crop, normalisation) stay
with the caller: the manifest's `input` gives them.

Needs the `export` extra (onnx; openvino for IR).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .errors import ConfigError
from .hub import SFCModel
from .models.layers import standard_convolution
from .options import DEFAULT_CLIPS, DEFAULT_CROPS
from .sampling import CROP_NAMES
from .sfc import Compressor

FORMATS = ("onnx", "openvino")
OPSET = 18
MANIFEST = "manifest.json"
INSTALL_HINT = 'pip install ".[export]" (from a checkout of SFC Studio)'


class _SFCOutputs(nn.Module):
    """The compressor's one-pass forward as a tuple of tensors (what an exported graph returns)."""

    def __init__(self, compressor: Compressor) -> None:
        super().__init__()
        self.compressor = compressor

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.compressor(features)
        return out.features, out.kept, out.scores, out.attention


def _require(module: str, extra_hint: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(f"exporting needs the {module} package: {extra_hint}") from None


def _parts(model: SFCModel) -> dict[str, tuple[nn.Module, torch.Tensor, list[str], list[str], dict]]:
    """Each artifact: (module, example input, input names, output names, dynamic axes)."""
    spec, settings = model.config.input_spec, model.settings
    head, tail = model.backbone.split(settings.split)
    generator = torch.Generator().manual_seed(0)
    view = torch.randn(1, 3, spec.frames, spec.crop, spec.crop, generator=generator)
    clip = torch.randn(1, 3, settings.length, spec.crop, spec.crop, generator=generator)
    with torch.inference_mode():
        features = head(clip)
        compressed = model.sfc(features).features
    return {
        "dense": (model.backbone, view, ["views"], ["logits"], {"views": {0: "views"}, "logits": {0: "views"}}),
        "sfc_head": (head, clip, ["clip"], ["features"], {}),
        "sfc": (_SFCOutputs(model.sfc), features.clone(), ["features"], ["compressed", "kept", "scores", "attention"],
                {}),
        "sfc_tail": (tail, compressed.clone(), ["compressed"], ["logits"], {}),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(model: SFCModel, out: Path, fmt: str = "onnx") -> dict:
    """Write `model`'s four artifacts in `fmt` ("onnx" or "openvino") and `manifest.json` to `out`;
    returns the manifest."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _require("onnx", INSTALL_HINT)
    if fmt == "openvino":
        _require("openvino", INSTALL_HINT)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot write the export to {out}: {error.strerror or error}") from None
    model.backbone.cpu()  # exported from the CPU, whichever device the model ran on
    model.sfc.cpu()
    artifacts = {}
    try:
        with tempfile.TemporaryDirectory() as scratch, standard_convolution():
            for name, (module, example, inputs, outputs, dynamic) in _parts(model).items():
                onnx_path = (out if fmt == "onnx" else Path(scratch)) / f"{name}.onnx"
                # The TorchScript exporter (deprecated since torch 2.9, still in 2.13): the torch.export-based
                # one fails to translate SFC's top-K and gathers. Its tracer notes the shapes it fixes; every
                # shape here is fixed.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    torch.onnx.export(module.eval(), (example,), str(onnx_path), dynamo=False, opset_version=OPSET,
                                      input_names=inputs, output_names=outputs, dynamic_axes=dynamic or None)
                files = [onnx_path] if fmt == "onnx" else _to_openvino(onnx_path, out / f"{name}.xml")
                artifacts[name] = {
                    "files": {path.name: _sha256(path) for path in files},
                    "inputs": {inputs[0]: ["views", *example.shape[1:]] if dynamic else list(example.shape)},
                    "outputs": outputs,
                }
    finally:
        model.backbone.to(model.device)
        model.sfc.to(model.device)
    manifest = {
        "exported_by": f"SFC Studio {__version__}",
        "format": fmt,
        "opset": OPSET,
        "model": model.name,
        "labels": model.labels,
        "input": asdict(model.config.input_spec),
        "dense": {"clips": DEFAULT_CLIPS, "crops": list(CROP_NAMES[DEFAULT_CROPS]),
                  "views": "`clips` clips of `input.frames` frames `input.stride` source frames apart, evenly spaced "
                           "over the video, each cut to "
                           "`input.crop` squares at the first, centre and last place along the frame's long side "
                           "(after resizing its short side to `input.short_side`); the answer is the mean of the "
                           "views' softmax"},
        "sfc": {**{key: value for key, value in asdict(model.settings).items() if key != "head_chunk_frames"},
                "kind": model.provenance["sfc"].kind,
                "long_clip": "`length` frames sampled uniformly over the whole video, centre crop; the exported "
                             "head runs it in one pass"},
        "provenance": {part: {"kind": p.kind, "source": p.source and Path(p.source).name, "verified": p.verified,
                              "describe": p.describe()} for part, p in model.provenance.items()},
        "artifacts": artifacts,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def _to_openvino(onnx_path: Path, xml_path: Path) -> list[Path]:
    """OpenVINO IR (.xml and .bin) of an ONNX file, weights kept in float32."""
    import openvino

    openvino.save_model(openvino.convert_model(str(onnx_path)), str(xml_path), compress_to_fp16=False)
    return [xml_path, xml_path.with_suffix(".bin")]
