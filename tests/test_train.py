"""Training entry points, small: they run, they save loadable checkpoints, the backbone stays frozen."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from sfc_core import models, synth
from sfc_core.cli import train
from sfc_core.sfc import load_sfc


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_backbone_then_sfc_training_save_loadable_checkpoints(tmp_path: Path) -> None:
    backbone = tmp_path / "tiny.pth"
    train.main(["backbone", "--clips", "8", "--val-clips", "4", "--epochs", "1", "--batch-size", "4",
                "--out", str(backbone)])
    model = models.create("tiny", weights=backbone)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    log = json.loads(backbone.with_suffix(".log.json").read_text())
    assert log["command"].startswith("sfc-train backbone") and len(log["log"]) == 1

    before = _sha256(backbone)
    sfc_path = tmp_path / "sfc.pth"
    train.main(["sfc", "--weights", str(backbone), "--clips", "6", "--epochs", "2", "--batch-size", "3",
                "--out", str(sfc_path)])
    assert _sha256(backbone) == before
    sfc, meta = load_sfc(sfc_path)
    assert (meta["backbone"], meta["split"], meta["length"], meta["num_videos"]) == ("tiny", "res3", 64, 6)
    assert sfc.keep == 8 and sfc.selection_noise == 0.0
    assert sfc.out.weight.abs().sum() > 0, "the zero-initialised output projection must have been trained"
    entry = json.loads(sfc_path.with_suffix(".log.json").read_text())["log"][-1]["train"]
    assert entry["top1"] is not None and 0.0 <= entry["hit_rate"] <= 1.0
    assert sfc.priors  # standardised with the training clips' statistics, not the defaults (0, 1)
    assert (sfc.prior_mean != 0).all() and (sfc.prior_std != 1).all()
    training = torch.load(sfc_path.with_suffix(".ckpt.pt"), weights_only=True)
    training["normalisation"] = "clip"  # a training state written before 0.6 is not resumed
    torch.save(training, sfc_path.with_suffix(".ckpt.pt"))
    assert train.main(["sfc", "--weights", str(backbone), "--clips", "6", "--epochs", "3", "--batch-size", "3",
                       "--resume", "--out", str(sfc_path)]) == 2


@pytest.mark.slow
def test_sfc_trains_on_an_unlabelled_folder_by_distillation(tmp_path: Path) -> None:
    backbone = tmp_path / "tiny.pth"
    torch.save(models.create("tiny").state_dict(), backbone)
    videos = tmp_path / "videos"
    synth.write_dataset(videos, 4, seed=3)
    (videos / "labels.csv").unlink()
    out = tmp_path / "sfc.pth"
    train.main(["sfc", "--weights", str(backbone), "--videos", str(videos), "--epochs", "1", "--batch-size", "2",
                "--out", str(out)])
    entry = json.loads(out.with_suffix(".log.json").read_text())["log"][0]["train"]
    assert entry["top1"] is None and entry["loss"] > 0
    assert load_sfc(out)[1]["trained_on"] == str(videos)


@pytest.mark.slow
def test_recompute_mode_keeps_only_targets_and_trains_from_the_videos(tmp_path: Path) -> None:
    """The Kinetics-scale mode: no head features cached, the same training otherwise."""
    videos = tmp_path / "videos"
    synth.write_dataset(videos, 4, seed=8)
    shipped = models.get_config("tiny").shipped("backbone")
    cache = tmp_path / "targets.pt"
    out = tmp_path / "sfc.pth"
    train.main(["sfc", "--weights", str(shipped), "--videos", str(videos), "--labels", str(videos / "labels.csv"),
                "--features", "recompute", "--epochs", "1", "--batch-size", "2", "--cache", str(cache),
                "--out", str(out)])
    stored = torch.load(cache, weights_only=True)
    assert len(stored) == 4 and all(item["features"] is None for item in stored)
    assert cache.stat().st_size < 100_000  # targets only: a few KB per video
    entry = json.loads(out.with_suffix(".log.json").read_text())["log"][0]["train"]
    assert entry["top1"] is not None and entry["loss"] > 0
    assert load_sfc(out)[0].out.weight.abs().sum() > 0
    in_memory = tmp_path / "sfc_memory.pth"
    train.main(["sfc", "--weights", str(shipped), "--videos", str(videos), "--labels", str(videos / "labels.csv"),
                "--epochs", "1", "--batch-size", "2", "--out", str(in_memory)])
    same = json.loads(in_memory.with_suffix(".log.json").read_text())["log"][0]["train"]
    assert same["loss"] == pytest.approx(entry["loss"], rel=1e-2)  # only float16 storage differs
    assert train.main(["sfc", "--features", "recompute", "--epochs", "1", "--out", str(tmp_path / "x.pth")]) == 2


def test_selection_target_mixes_in_the_known_action_window() -> None:
    """Hand-computed: the target is (1 - w) softmax(usefulness / T) + w uniform over the window, and a
    video whose window is unknown keeps the label-free target."""
    import torch.nn.functional as F

    from sfc_core.objective import ObjectiveWeights, sfc_objective

    torch.manual_seed(0)
    logits, teacher = torch.randn(2, 4), torch.softmax(torch.randn(2, 4), dim=1)
    scores, usefulness = torch.randn(2, 5), torch.randn(2, 5)
    in_window = torch.tensor([[False, True, True, False, False], [False] * 5])
    labels = torch.tensor([-1, -1])
    weights = ObjectiveWeights(distill=0.0, selection=1.0, window_target=0.25, usefulness_temperature=0.5)
    free = F.softmax(usefulness / 0.5, dim=1)
    target = free.clone()
    target[0] = 0.75 * free[0] + 0.25 * torch.tensor([0, 0.5, 0.5, 0, 0])
    expected = -(target * F.log_softmax(scores, dim=1)).sum(dim=1).mean()
    terms = sfc_objective(logits, scores, teacher, usefulness, labels, weights, in_window)
    assert terms.selection == pytest.approx(expected.item(), rel=1e-6)
    unknown = sfc_objective(logits, scores, teacher, usefulness, labels, weights, in_window & False)
    label_free = -(free * F.log_softmax(scores, dim=1)).sum(dim=1).mean()
    assert unknown.selection == pytest.approx(label_free.item(), rel=1e-6)
    assert ObjectiveWeights().window_target == 0.5  # the embedded model's setting
