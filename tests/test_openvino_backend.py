"""The OpenVINO backend gives the PyTorch backend's answers in f32: the same sampled and kept frames,
probabilities within 1e-4, the same FLOPs; on every backbone (random weights) and on the embedded one
(shipped weights), both modes. What it cannot run is refused in one line."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from sfc_core import hub, openvino_backend
from sfc_core.cli import predict as predict_cli
from sfc_core.device import pick_device
from sfc_core.errors import ConfigError
from sfc_core.models.layers import Conv3d
from sfc_core.profiling import count_flops
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.streaming import Streamer, open_source

pytest.importorskip("openvino")
if pick_device().type != "cpu":
    pytest.skip("the OpenVINO backend runs on a CPU; the models here load on this machine's device",
                allow_module_level=True)
VIDEO = EXAMPLES_DIR / "rotate_clockwise.mp4"
MODELS = ["tiny", "x3d_s"]  # tiny streams its head (temporal convolutions carry state); x3d_s's gates hold the clip


@pytest.fixture(scope="module")
def tiny() -> hub.SFCModel:
    """The embedded model as the app loads it (`hub.load("tiny")`, kept by `app.analysis.load_model`), shared:
    its compiled parts (about 10 s to compile) serve every test that uses it, the page's request included."""
    from app.analysis import load_model

    return load_model("tiny")


def _close(actual: np.ndarray, expected: np.ndarray, relative: float = 1e-4) -> None:
    scale = max(float(np.abs(expected).max()), 1e-6)
    assert float(np.abs(actual - expected).max()) <= relative * scale, (actual, expected)


def test_a_compiled_part_gives_the_modules_answers_and_flops_for_any_length_along_its_free_axis() -> None:
    module = nn.Sequential(Conv3d(3, 8, (1, 3, 3), padding=(0, 1, 1)), nn.BatchNorm3d(8), nn.ReLU(),
                           Conv3d(8, 4, (1, 3, 3), stride=(1, 2, 2))).eval()
    module[1].running_mean.normal_(), module[1].running_var.uniform_(0.5, 2)  # not the identity
    part = openvino_backend.CompiledPart(module, free_axes=(2,), precision="fp32")
    for frames in (5, 1, 7):  # one compiled model for every length
        x = torch.randn(1, 3, frames, 20, 24)
        with torch.inference_mode():
            expected, flops = count_flops(partial(module, x))
            actual, counted = count_flops(partial(part, x))
        _close(actual.numpy(), expected.numpy())
        assert counted == flops > 0
    assert len(part._compiled) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_openvino_gives_pytorchs_answers_in_both_modes(name: str, request: pytest.FixtureRequest) -> None:
    torch.manual_seed(0)
    model = request.getfixturevalue("tiny") if name == "tiny" else hub.load(name, backbone=hub.RANDOM)
    measure = "full" if name == "tiny" else "time"  # FLOPs counted on one model: the same code for all
    torch_run = model.predict(VIDEO, mode="both", measure=measure)
    openvino_run = model.predict(VIDEO, mode="both", measure=measure, backend="openvino")
    for mode in ("dense", "sfc"):
        expected, actual = getattr(torch_run, mode), getattr(openvino_run, mode)
        assert actual.frame_indices == expected.frame_indices
        _close(actual.probabilities, expected.probabilities)
        assert actual.measurement.flops == expected.measurement.flops  # the same network, counted the same way
    assert openvino_run.sfc.kept.positions == torch_run.sfc.kept.positions
    _close(openvino_run.sfc.tail_input.numpy(), torch_run.sfc.tail_input.numpy())
    assert openvino_run.settings["backend"] == "openvino" and torch_run.settings["backend"] == "torch"


@pytest.mark.slow
def test_the_head_streamed_through_openvino_equals_one_pass(tiny: hub.SFCModel) -> None:
    """The embedded head in chunks (each step one compiled graph of the chunk and what the stream carries)
    against the PyTorch head over the whole clip."""
    model = tiny
    recognizer = model.sfc_recognizer(backend="openvino")
    assert isinstance(recognizer.head_stream(), openvino_backend.CompiledStream)
    clip = torch.randn(1, 3, 64, 64, 64)
    with torch.inference_mode():
        expected = model.backbone.split(model.settings.split)[0](clip)
        blocks = list(recognizer._blocks(lambda first, last: clip[:, :, first:last].contiguous(), 64))
    assert len(blocks) > 1 or not recognizer.geometry.chunkable
    _close(torch.cat(blocks, dim=2).numpy(), expected.numpy())


@pytest.mark.slow
def test_a_stream_on_openvino_gives_pytorchs_updates(tiny: hub.SFCModel) -> None:
    """`sfc-stream --backend openvino`: the head fed a few frames at a time and the tail, compiled; the same
    kept frames and top-5 at every update as on PyTorch."""
    model = tiny

    def updates(backend: str) -> list:
        streamer = Streamer(model, window_s=3, every_s=1, flops=False, backend=backend)
        return list(streamer.run(open_source(VIDEO, model, 3)))

    expected, actual = updates("torch"), updates("openvino")
    assert len(actual) == len(expected) >= 3
    for update, reference in zip(actual, expected, strict=True):
        assert (update.t_s, update.kept_frames) == (reference.t_s, reference.kept_frames)
        assert [label for label, _ in update.top5] == [label for label, _ in reference.top5]
        _close(np.array([p for _, p in update.top5]), np.array([p for _, p in reference.top5]))


def test_a_module_is_compiled_once_for_every_request() -> None:
    """Converting and compiling takes seconds per part (the embedded model's SFC: about 10 s), so each
    module has one compiled part per precision and free axes, and a cut returns the same head and tail
    modules every time (a new set of run options builds a new recognizer over them)."""
    backbone = hub.load("tiny").backbone
    head, tail = backbone.split("res3")
    assert backbone.split("res3") == (head, tail) and backbone.split("res2")[0] is not head
    part = openvino_backend.compiled(tail, (), "fp32")
    assert openvino_backend.compiled(tail, (), "fp32") is part
    assert openvino_backend.compiled(tail, (2,), "fp32") is not part
    assert openvino_backend.compiled(head, (), "fp32") is not part


@pytest.mark.slow
def test_a_second_request_with_other_run_options_compiles_nothing() -> None:
    model = hub.load("tiny")
    compiles = []
    real_compile = openvino_backend.CompiledPart._compile

    def compile_(part, shape, example_shape):
        compiles.append(shape)
        return real_compile(part, shape, example_shape)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino_backend.CompiledPart, "_compile", compile_)
        model.predict(VIDEO, mode="both", backend="openvino", measure="time")
        first = len(compiles)
        model.predict(VIDEO, mode="both", backend="openvino", measure="time", repeats=2, clips=2)
    assert first > 1 and len(compiles) == first


def test_what_openvino_cannot_run_is_refused_in_one_line(capsys) -> None:
    model = hub.load("tiny")
    with pytest.raises(ConfigError, match="runs fp32 or bf16, not fp16"):
        model.predict(VIDEO, backend="openvino", precision="fp16")
    with pytest.raises(ConfigError, match="backend must be one of torch, openvino"):
        model.predict(VIDEO, backend="tensorrt")
    if not openvino_backend.bf16_native():
        assert predict_cli.main([str(VIDEO), "--model", "tiny", "--backend", "openvino", "--precision", "bf16"]) == 2
        assert "no native bf16" in capsys.readouterr().err


@pytest.mark.slow
def test_bf16_runs_where_the_cpu_has_it_and_agrees_with_f32() -> None:
    if not openvino_backend.bf16_native():
        pytest.skip("this CPU has no native bf16")
    model = hub.load("tiny")
    f32 = model.predict(VIDEO, backend="openvino", measure="time")
    bf16 = model.predict(VIDEO, backend="openvino", precision="bf16", measure="time")
    assert bf16.settings["precision"] == "bf16"
    for mode in ("dense", "sfc"):  # bf16 keeps 8 bits of mantissa: close, not equal
        assert np.abs(getattr(bf16, mode).probabilities - getattr(f32, mode).probabilities).max() < 0.05


@pytest.mark.slow  # a whole analysis
def test_the_pages_backend_setting_runs_the_analysis_on_openvino(tiny: hub.SFCModel, rotate_analysis) -> None:
    import gradio as gr

    from app import ui

    assert ui.backend_choices() == [("PyTorch", "torch"), ("OpenVINO", "openvino")]
    outputs = ui.run_analysis(str(VIDEO), "tiny", 64, 1, 2, 1, "openvino")
    ran, on_torch = outputs.report, rotate_analysis.report  # the same clip and SFC settings, on PyTorch
    assert ran["settings"]["backend"] == "openvino" and "**backend:** OpenVINO fp32" in outputs.summary
    assert on_torch["settings"]["backend"] == "torch" and "**backend:** PyTorch fp32" in rotate_analysis.summary
    assert ran["sfc"]["kept_frames"] == on_torch["sfc"]["kept_frames"]
    assert [label for label, _ in ran["sfc"]["top5"]] == [label for label, _ in on_torch["sfc"]["top5"]]
    _close(np.array([p for _, p in ran["sfc"]["top5"]]), np.array([p for _, p in on_torch["sfc"]["top5"]]))
    with pytest.raises(gr.Error, match="the 'tensorrt' backend cannot run here; this machine offers torch, openvino"):
        ui.run_analysis(str(VIDEO), "tiny", 64, 1, 2, 1, "tensorrt")
