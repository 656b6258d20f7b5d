"""The predict CLI as a user runs it: a real subprocess, its JSON, its errors. The error cases call the
command's `main` in this process instead (what the entry point runs; a subprocess would spend its time
importing torch), so they stay in the fast lane."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfc_core import models
from sfc_core.cli import predict
from tests.weights_server import serve

REPO = Path(__file__).resolve().parents[1]


def _predict(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sfc_core.cli.predict", *args], cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_both_modes_print_the_table_and_write_the_stable_json(ramp_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run = _predict(str(ramp_clip), "--model", "tiny", "--random-weights", "--json", str(out))
    assert run.returncode == 0, run.stderr
    assert "RANDOM WEIGHTS" in run.stdout and "dense / SFC: time" in run.stdout
    data = json.loads(out.read_text())
    for mode in ("dense", "sfc"):
        for key in ("top5", "model_time_s", "decode_time_s", "peak_memory_bytes", "flops", "device"):
            assert key in data[mode], (mode, key)
        assert len(data[mode]["top5"]) == 5
        assert sum(p for _, p in data[mode]["top5"]) <= 1.0 + 1e-6
    sfc = data["sfc"]
    assert len(sfc["kept_frames"]) == len(sfc["kept_timestamps_s"]) == 8 and len(sfc["scores"]) == 32
    assert sfc["kept_timestamps_s"] == pytest.approx([i / 30 for i in sfc["kept_frames"]])
    assert data["ratios"]["flops"] == pytest.approx(data["dense"]["flops"] / sfc["flops"])
    assert data["ratios"]["flops"] > 1 and data["weights"] == "random"


@pytest.mark.slow
def test_sfc_only_mode_leaves_dense_and_ratios_null(ramp_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "sfc.json"
    run = _predict(str(ramp_clip), "--random-weights", "--mode", "sfc", "--length", "32", "--json", str(out))
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["dense"] is None and data["ratios"] is None and data["settings"]["length"] == 32
    # the embedded model on a video that is not one of its examples says what its answer means
    assert data["notes"][0].startswith("the tiny model knows only the 10 synthetic SynthActions motions")
    assert f"note: {data['notes'][0]}" in run.stdout


@pytest.mark.slow
def test_weights_file_is_loaded(ramp_clip: Path, tmp_path: Path) -> None:
    weights = tmp_path / "tiny.pth"
    torch.save(models.create("tiny").state_dict(), weights)
    run = _predict(str(ramp_clip), "--weights", str(weights), "--mode", "sfc")
    assert run.returncode == 0, run.stderr
    assert "RANDOM WEIGHTS" not in run.stdout


@pytest.mark.parametrize(
    "content,args,message",
    [
        (b"\x00\x01garbage" * 100, ["--random-weights"], "could not be read as a video"),
        (b"", ["--random-weights"], "is empty (0 bytes)"),
        (None, ["--weights", "{tmp}/missing.pth"], "checkpoint not found"),
        (None, ["--device", "cpu", "--precision", "fp16"], "precision fp16 runs on CUDA only"),
    ],
)
def test_bad_input_exits_2_with_one_line(ramp_clip: Path, tmp_path: Path, capfd: pytest.CaptureFixture, content,
                                        args, message) -> None:
    video = ramp_clip
    if content is not None:
        video = tmp_path / "bad.mp4"
        video.write_bytes(content)
    assert predict.main([str(video), *(arg.format(tmp=tmp_path) for arg in args)]) == 2
    out = capfd.readouterr()  # what the process writes, C++ libraries included
    assert out.err.startswith("error: ") and message in out.err
    assert len(out.err.strip().splitlines()) == 1 and "Traceback" not in out.err and not out.out


@pytest.mark.slow
def test_a_user_error_exits_the_process_with_2(tmp_path: Path) -> None:
    """The entry point as a user runs it: the status `main` returns is the process's."""
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    run = _predict(str(empty), "--random-weights")
    assert run.returncode == 2 and run.stderr.startswith("error: ") and len(run.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_a_clear_error(ramp_clip: Path, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    weights = tmp_path / "broken.pth"
    weights.write_bytes(b"PK\x03\x04 not really a zip")
    assert predict.main([str(ramp_clip), "--weights", str(weights)]) == 2
    assert "is not a readable PyTorch checkpoint" in capfd.readouterr().err


@pytest.mark.slow
def test_kinetics_model_downloads_its_checkpoint_and_runs_training_free_sfc(ramp_clip: Path, tmp_path: Path) -> None:
    """x3d_s from a mirror on 127.0.0.1 serving (random) weights in pytorchvideo's layout."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    torch.save({"model_state": models.create("x3d_s").state_dict()}, mirror / "X3D_S.pyth")
    out = tmp_path / "x3d.json"
    with serve(mirror) as (url, requests):
        env = {"SFC_WEIGHTS_MIRROR": url, "SFC_WEIGHTS_DIR": str(tmp_path / "cache")}
        run = _predict(str(ramp_clip), "--model", "x3d_s", "--mode", "sfc", "--json", str(out), env=env)
    assert run.returncode == 0, run.stderr
    assert requests == ["/X3D_S.pyth"] and (tmp_path / "cache" / "X3D_S.pyth").exists()
    data = json.loads(out.read_text())
    assert data["weights"].endswith("X3D_S.pyth") and data["sfc_weights"].startswith("training-free, untrained")
    assert "training-free" in run.stdout
    assert len(data["sfc"]["kept_frames"]) == 13  # X3D-S's tail takes 13 temporal positions


@pytest.mark.slow
def test_download_failures_exit_2_with_the_reason(ramp_clip: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {"SFC_WEIGHTS_MIRROR": dead, "SFC_WEIGHTS_DIR": str(tmp_path / "cache")}
    run = _predict(str(ramp_clip), "--model", "r3d_18", env=env)
    assert run.returncode == 2 and "you seem to be offline" in run.stderr and "Traceback" not in run.stderr

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    torch.save(models.create("r3d_18").state_dict(), mirror / "r3d_18-b3b3357e.pth")  # not the published bytes
    with serve(mirror) as (url, _):
        run = _predict(str(ramp_clip), "--model", "r3d_18", env={**env, "SFC_WEIGHTS_MIRROR": url})
    assert run.returncode == 2 and "did not verify and was deleted" in run.stderr
    assert not (tmp_path / "cache" / "r3d_18-b3b3357e.pth").exists()


@pytest.mark.slow
def test_sfc_weights_from_a_url_are_downloaded_and_used(ramp_clip: Path, tmp_path: Path) -> None:
    shipped_sfc = models.get_config("tiny").shipped("sfc")
    out = tmp_path / "url.json"
    with serve(shipped_sfc.parent) as (url, requests):
        env = {"SFC_WEIGHTS_DIR": str(tmp_path / "cache")}
        run = _predict(str(ramp_clip), "--sfc-weights", f"{url}/{shipped_sfc.name}", "--mode", "sfc",
                       "--json", str(out), env=env)
    assert run.returncode == 0, run.stderr
    assert requests == [f"/{shipped_sfc.name}"]
    assert json.loads(out.read_text())["sfc_weights"] == str(tmp_path / "cache" / "urls" / shipped_sfc.name)


@pytest.mark.parametrize(("module", "command", "argv", "shown"), [
    ("predict", "sfc-predict", [], ["--mode", "(default: both)", "(default: tiny)"]),
    ("batch", "sfc-batch", [], ["(default: sfc)", "(default: time)"]),
    ("bench", "sfc-bench", [], ["(default: 3)"]),
    ("evaluate", "sfc-evaluate", [], ["(default: tiny)"]),
    ("train", "sfc-train", ["sfc"], ["(default: 0.003)"]),
    ("weights", "sfc-weights", [], []),
])
def test_every_help_names_its_command_and_shows_the_defaults(module: str, command: str, argv: list[str],
                                                              shown: list[str], capsys: pytest.CaptureFixture) -> None:
    main = importlib.import_module(f"sfc_core.cli.{module}").main
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0 and text.startswith(f"usage: {command}")
    assert all(phrase in text for phrase in shown), text
    assert "(default: None)" not in text and "(default: False)" not in text
