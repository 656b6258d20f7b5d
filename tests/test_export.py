"""sfc-export: the exported ONNX files (run by onnxruntime) and OpenVINO IR (run by OpenVINO, in f32)
give PyTorch's answers: dense sampling's network on random views, and SFC's head -> module -> tail on
a real example's long clip, against the library's own SFC request on that video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sfc_core import hub
from sfc_core.cli import export as export_cli
from sfc_core.inputs import load_views
from sfc_core.resources import EXAMPLES_DIR
from tests.marks import slow_cases

onnxruntime = pytest.importorskip("onnxruntime")
VIDEO = EXAMPLES_DIR / "rotate_clockwise.mp4"


def _onnx_runner(out: Path, name: str):
    session = onnxruntime.InferenceSession(str(out / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {session.get_inputs()[0].name: x})


def _openvino_runner(out: Path, name: str):
    import openvino

    compiled = openvino.Core().compile_model(str(out / f"{name}.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda x: [compiled(x)[output] for output in compiled.outputs]


RUNNERS = {"onnx": _onnx_runner, "openvino": _openvino_runner}


def _close(actual: np.ndarray, expected: np.ndarray, relative: float = 1e-4) -> None:
    """Equal within `relative` of the expected values' scale."""
    scale = float(np.abs(expected).max())
    assert float(np.abs(actual - expected).max()) <= relative * max(scale, 1e-6), (actual, expected)


EXPORTS = [("onnx", hub.AUTO), ("onnx", "training-free:distinctiveness"), ("openvino", hub.AUTO)]


@pytest.mark.parametrize("fmt,sfc", slow_cases(EXPORTS, slow=set(EXPORTS[1:])))
def test_exported_model_gives_pytorchs_answers(tmp_path: Path, fmt: str, sfc: str) -> None:
    if fmt == "openvino":
        pytest.importorskip("openvino")
    sfc_args = ["--training-free", sfc.split(":")[1]] if sfc != hub.AUTO else []
    assert export_cli.main(["tiny", "--format", fmt, "--out", str(tmp_path), *sfc_args]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    model = hub.load("tiny", sfc=sfc)
    assert (manifest["model"], manifest["labels"], manifest["sfc"]["keep"]) == ("tiny", model.labels, 8)
    assert manifest["provenance"]["sfc"]["kind"] == ("trained" if sfc == hub.AUTO else "training-free")
    assert all((tmp_path / file).exists() for artifact in manifest["artifacts"].values() for file in artifact["files"])
    run = {name: RUNNERS[fmt](tmp_path, name) for name in ("dense", "sfc_head", "sfc", "sfc_tail")}

    views = torch.randn(3, 3, 16, 64, 64)  # three dense views in one batch (its axis is free)
    with torch.inference_mode():
        expected = model.backbone(views).numpy()
    _close(run["dense"](views.numpy())[0], expected)

    recognizer = model.sfc_recognizer()
    clip = load_views(VIDEO, model.config, recognizer.plan)[1].views.numpy()  # (1, 3, 64, 64, 64)
    features = run["sfc_head"](clip)[0]
    compressed, kept, _, _ = run["sfc"](features)
    logits = run["sfc_tail"](compressed)[0]
    probabilities = torch.from_numpy(logits).softmax(dim=1)[0].numpy()
    library = model.predict(VIDEO, mode="sfc", measure="time").sfc
    assert kept[0].tolist() == library.kept.positions
    _close(probabilities, library.probabilities)


def test_an_unknown_format_is_one_line_and_exit_2(capsys, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        export_cli.main(["tiny", "--format", "tflite", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "invalid choice: 'tflite'" in capsys.readouterr().err
