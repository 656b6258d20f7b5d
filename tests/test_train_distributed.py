"""SFC training under torchrun: 2 gloo processes on CPU, identical weights on both ranks, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfc_core import synth
from sfc_core.sfc import load_sfc

pytestmark = pytest.mark.slow  # a 2-process torchrun


def _torchrun(args: list[str], cwd: Path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "sfc_core.cli.train", "sfc", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SFC_DEVICE": "cpu"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_two_process_training_keeps_ranks_identical_and_resumes(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    synth.write_dataset(videos, 8, seed=21)
    out = tmp_path / "sfc.pth"
    common = ["--videos", str(videos), "--labels", str(videos / "labels.csv"), "--batch-size", "2",
              "--out", str(out), "--seed", "5"]
    root = Path(__file__).resolve().parents[1]

    _torchrun([*common, "--epochs", "1"], root)
    first = json.loads(out.with_suffix(".log.json").read_text())
    assert first["world_size"] == 2 and first["max_weight_difference_between_ranks"] == 0.0
    steps_per_epoch = first["steps"]
    assert steps_per_epoch == 2  # 4 videos per rank: 3 train (2 batches of 2), 1 validation
    sfc, meta = load_sfc(out)
    assert meta["num_videos"] == 8
    assert sfc.out.weight.abs().sum() > 0  # trained away from its zero initialisation
    weights_after_one = sfc.out.weight.clone()

    _torchrun([*common, "--epochs", "2", "--resume"], root)
    second = json.loads(out.with_suffix(".log.json").read_text())
    assert second["resumed_from_epoch"] == 1 and second["steps"] == 2 * steps_per_epoch
    assert [entry["epoch"] for entry in second["log"]] == [1, 2]
    assert second["log"][0] == first["log"][0]  # the resumed run carries the earlier history
    assert second["max_weight_difference_between_ranks"] == 0.0
    assert not torch.equal(load_sfc(out)[0].out.weight, weights_after_one)  # and trained further
