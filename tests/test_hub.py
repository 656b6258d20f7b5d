"""The loading layer and the Python API: which weights and which SFC run, said truthfully, and
settings that cannot run refused with one clear message (in Python and through every CLI)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import sfc_core
from sfc_core import hub, models
from sfc_core.errors import ConfigError, SFCError, WeightsError
from sfc_core.options import RunOptions, SFCSettings
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.sfc import SFC, save_sfc

REPO = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")
EXAMPLE = EXAMPLES_DIR / "move_left.mp4"


@pytest.fixture(scope="module")
def tiny() -> hub.SFCModel:
    return sfc_core.load("tiny", device="cpu")


def test_auto_loads_the_embedded_backbone_and_its_trained_sfc_with_their_settings(tiny) -> None:
    backbone, sfc = tiny.provenance["backbone"], tiny.provenance["sfc"]
    assert (backbone.kind, Path(backbone.source).name) == ("embedded", "tiny_synth.pth")
    assert (sfc.kind, Path(sfc.source).name) == ("trained", "tiny_synth_sfc.pth")
    # the head holds at most half a dense view (16 frames): SFC never holds more activations than one view
    assert tiny.settings == SFCSettings(length=64, split="res3", keep=8, spatial_stride=1, head_chunk_frames=8)
    assert tiny.sfc.scoring == "learned" and tiny.sfc.out.weight.abs().sum() > 0  # the trained weights


@pytest.mark.slow
def test_predict_report_is_the_cli_json(tiny, tmp_path: Path) -> None:
    report = tiny.predict(EXAMPLE, mode="sfc")
    data = report.to_dict()
    assert data["sfc"]["top5"][0][0] == "move left" and data["dense"] is None and data["ratios"] is None
    out = tmp_path / "cli.json"
    run = subprocess.run([sys.executable, "-m", "sfc_core.cli.predict", str(EXAMPLE), "--mode", "sfc", "--json",
                          str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    cli = json.loads(out.read_text())
    assert cli.keys() == data.keys() and cli["sfc"].keys() == data["sfc"].keys()
    for key in ("model", "weights", "sfc_weights", "provenance", "settings", "video"):
        assert cli[key] == data[key], key
    assert cli["sfc"]["kept_frames"] == data["sfc"]["kept_frames"]
    np.testing.assert_allclose([p for _, p in cli["sfc"]["top5"]], [p for _, p in data["sfc"]["top5"]], atol=1e-6)


def test_a_model_builds_its_recognizers_once_per_run_options(tiny) -> None:
    options = RunOptions(clips=2, crops=1)
    assert tiny.sfc_recognizer(options) is tiny.sfc_recognizer(clips=2, crops=1)
    assert tiny.dense_recognizer(options) is tiny.recognizers(options)["dense"]
    assert tiny.dense_recognizer(options) is not tiny.dense_recognizer(options, clips=3)
    assert tiny.sfc_recognizer().geometry is tiny.geometry  # measured once, at load


@pytest.fixture(scope="module")
def both(tiny):
    """A report of both modes, measured in full (dense at 2 views)."""
    return tiny.predict(EXAMPLE, mode="both", clips=2, crops=1)


def test_a_report_prints_as_a_short_summary(both) -> None:
    report = both
    text = repr(report)
    assert len(text) < 2000 and text.startswith("Report: tiny; backbone: embedded")
    assert report.sfc.top(1)[0][0] in text and "dense / SFC:" in text and "SFC kept frames:" in text
    assert repr(report.sfc).startswith("Result(sfc: ") and len(repr(report.sfc)) < 300


def test_both_modes_give_ratios_from_the_same_run(both) -> None:
    data = both.to_dict()
    assert data["settings"]["clips"] == 2 and data["dense"]["num_views"] == 2
    assert data["ratios"]["flops"] == pytest.approx(data["dense"]["flops"] / data["sfc"]["flops"])


@pytest.mark.parametrize("override,label", [({"spatial_stride": 2}, "spatial stride"), ({"keep": 4}, "kept positions"),
                                            ({"split": "res2"}, "split")])
def test_an_override_a_trained_sfc_cannot_run_is_refused(tiny, override: dict, label: str) -> None:
    with pytest.raises(ConfigError, match=f"was trained with {label} .* cannot run with {label}.*training-free"):
        sfc_core.load("tiny", device="cpu", **override)
    with pytest.raises(ConfigError, match="cannot run with"):
        tiny.replace(**override)


def test_the_untrained_sfc_runs_at_any_stride_and_says_so(tiny) -> None:
    model = tiny.replace(sfc="training-free:energy", spatial_stride=2, length=32)
    assert model.settings == SFCSettings(length=32, split="res3", keep=8, spatial_stride=2, head_chunk_frames=8)
    assert model.provenance["sfc"].kind == "training-free" and model.sfc.scoring == "energy"
    assert model.backbone is tiny.backbone  # the backbone is shared, not reloaded
    data = model.predict(EXAMPLE, mode="sfc", measure="time").to_dict()
    assert data["settings"]["spatial_stride"] == 2 and data["sfc_weights"].startswith("training-free")
    assert "feature energy" in data["sfc_weights"]


def test_a_longer_or_shorter_clip_runs_the_trained_sfc(tiny) -> None:
    model = tiny.replace(length=48)
    assert model.sfc is tiny.sfc and model.settings.length == 48
    assert len(model.predict(EXAMPLE, mode="sfc", measure="time").to_dict()["sfc"]["scores"]) == 24


def test_a_clip_too_short_for_the_kept_positions_is_refused() -> None:
    with pytest.raises(ConfigError, match="gives tiny's head 4 temporal positions, fewer than the 8"):
        sfc_core.load("tiny", device="cpu", length=8)


def test_random_and_file_backbones_run_training_free(tmp_path: Path) -> None:
    model = sfc_core.load("tiny", backbone="random", device="cpu")
    assert model.provenance["backbone"].kind == "random" and model.provenance["sfc"].kind == "training-free"
    path = tmp_path / "mine.pth"
    torch.save(models.create("tiny").state_dict(), path)
    mine = sfc_core.load("tiny", backbone=path, device="cpu")
    assert (mine.provenance["backbone"].kind, mine.provenance["backbone"].source) == ("file", str(path))
    assert mine.provenance["sfc"].kind == "training-free"  # the shipped SFC belongs to the shipped backbone


def test_an_sfc_checkpoint_for_another_backbone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    save_sfc(path, SFC(64, 8), {"backbone": "r3d_18", "split": "res3", "length": 64})
    with pytest.raises(ConfigError, match="trained for r3d_18, not for tiny"):
        sfc_core.load("tiny", sfc=path, device="cpu")


def test_user_errors_share_one_base_class(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        sfc_core.load("nope")
    with pytest.raises(ConfigError, match="unknown training-free method 'magic'"):
        sfc_core.load("tiny", sfc="training-free:magic")
    with pytest.raises(WeightsError, match="checkpoint not found"):
        sfc_core.load("tiny", backbone=tmp_path / "missing.pth")
    with pytest.raises(ConfigError, match="mode must be one of"):
        sfc_core.load("tiny", device="cpu").predict(EXAMPLE, mode="fast")
    for error in (ConfigError, WeightsError, sfc_core.VideoError, sfc_core.InputRejected):
        assert issubclass(error, SFCError) and not issubclass(error, (ValueError, KeyError, RuntimeError))


def _cli(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("module,args,message", [
    ("sfc_core.cli.predict", ["--spatial-stride", "2"], "was trained with spatial stride 1"),
    ("sfc_core.cli.predict", ["--device", "cuda"], "no CUDA device"),
    ("sfc_core.cli.predict", ["--length", "8"], "fewer than the 8 that SFC keeps"),
    ("sfc_core.cli.predict", ["--clips", "0"], "need at least one clip"),
    ("sfc_core.cli.evaluate", ["--model", "nope"], "unknown model 'nope'"),
    ("sfc_core.cli.bench", ["--device", "cuda"], "no CUDA device"),
    ("sfc_core.cli.train", ["sfc", "--features", "recompute", "--out", "x.pth"], "give them with --videos"),
])
def test_every_cli_turns_a_user_error_into_one_line_and_exit_2(module: str, args: list[str], message: str, capfd,
                                                               monkeypatch) -> None:
    """Each CLI's `main` (its process exits with what `main` returns: test_predict_cli checks one)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without one
    video = [str(EXAMPLE)] if module == "sfc_core.cli.predict" else []
    assert importlib.import_module(module).main([*video, *args]) == 2
    stderr = capfd.readouterr().err  # the file descriptor: what the decoder's or torch's C code writes too
    assert stderr.startswith("error: ") and message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_untrained_stride_runs_from_the_cli_and_the_report_says_what_ran(tmp_path: Path) -> None:
    out = tmp_path / "s2.json"
    run = _cli("sfc_core.cli.predict", str(EXAMPLE), "--mode", "sfc", "--spatial-stride", "2", "--training-free",
               "change", "--json", str(out))
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["settings"]["spatial_stride"] == 2 and data["provenance"]["sfc"]["kind"] == "training-free"
    assert "training-free" in run.stdout


@pytest.mark.slow
def test_the_head_streams_in_exact_chunks_when_it_can_and_the_settings_say_so() -> None:
    from tests.references import randomize_

    backbone = randomize_(models.create("slowonly_r50"), seed=21)
    chunked = hub.from_backbone("slowonly_r50", backbone, device=CPU, head_budget_mb=hub.DEFAULT_BUDGET_MB)
    one_pass = chunked.replace(head_budget_mb=None)
    assert chunked.settings.head_chunk_frames is not None and one_pass.settings.head_chunk_frames is None
    assert chunked.geometry.stride == 1 and chunked.geometry.before == chunked.geometry.after == 0
    clip = torch.randn(1, 3, 64, 64, 64)
    a_probs, a_out = chunked.sfc_recognizer().classify(clip)
    b_probs, b_out = one_pass.sfc_recognizer().classify(clip)
    assert torch.equal(a_out.kept, b_out.kept)
    torch.testing.assert_close(a_probs, b_probs, atol=1e-6, rtol=1e-5)
    x3d = sfc_core.load("x3d_s", backbone="random", device="cpu")  # its gates hold one block's input over the clip
    assert x3d.settings.head_chunk_frames is not None and not x3d.geometry.streams
    # R(2+1)D streams with carried state: no overlap is recomputed, so small chunks cost nothing extra
    r2plus1d = sfc_core.load("r2plus1d_18", backbone="random", device="cpu")
    assert 1 <= r2plus1d.settings.head_chunk_frames <= models.get_config("r2plus1d_18").input_spec.frames


@pytest.mark.slow
def test_dense_runs_the_way_that_is_best_on_the_device(tiny, tmp_path: Path) -> None:
    assert RunOptions().dense_batch_size(CPU) == 1 and RunOptions().dense_batch_size(torch.device("cuda")) is None
    data = tiny.predict(EXAMPLE, mode="dense", clips=2, crops=1).to_dict()
    assert data["settings"]["batch_size"] == 1
    all_at_once = tiny.predict(EXAMPLE, mode="dense", clips=2, crops=1, batch_size=None).to_dict()
    assert all_at_once["settings"]["batch_size"] is None
    np.testing.assert_allclose([p for _, p in data["dense"]["top5"]], [p for _, p in all_at_once["dense"]["top5"]],
                               atol=1e-5)
    out = tmp_path / "all.json"
    run = _cli("sfc_core.cli.predict", str(EXAMPLE), "--mode", "dense", "--clips", "2", "--crops", "1",
               "--batch-size", "all", "--json", str(out))
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["settings"]["batch_size"] is None
    assert _cli("sfc_core.cli.predict", str(EXAMPLE), "--batch-size", "many").returncode == 2  # argparse's usage error
