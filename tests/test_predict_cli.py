"""The predict CLI as a user runs it: a real subprocess, its JSON, its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfc_core import models

REPO = Path(__file__).resolve().parents[1]


def _predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sfc_core.predict", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


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


def test_sfc_only_mode_leaves_dense_and_ratios_null(ramp_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "sfc.json"
    run = _predict(str(ramp_clip), "--random-weights", "--mode", "sfc", "--length", "32", "--json", str(out))
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["dense"] is None and data["ratios"] is None and data["settings"]["length"] == 32


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
        (None, ["--model", "r3d_18"], "no weights for 'r3d_18': pass --weights PATH, or --random-weights"),
        (None, ["--weights", "missing.pth"], "checkpoint not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(ramp_clip: Path, tmp_path: Path, content, args, message) -> None:
    video = ramp_clip
    if content is not None:
        video = tmp_path / "bad.mp4"
        video.write_bytes(content)
    run = _predict(str(video), *args)
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_corrupt_checkpoint_is_a_clear_error(ramp_clip: Path, tmp_path: Path) -> None:
    weights = tmp_path / "broken.pth"
    weights.write_bytes(b"PK\x03\x04 not really a zip")
    run = _predict(str(ramp_clip), "--weights", str(weights))
    assert run.returncode == 2 and "is not a readable PyTorch checkpoint" in run.stderr
