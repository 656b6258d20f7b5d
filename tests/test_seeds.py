"""Held-out SynthActions seeds stay held out: training and choosing refuse them, reports use only them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sfc_core import seeds
from sfc_core.cli import train
from sfc_core.errors import ConfigError
from sfc_core.training.backbone import BackboneTrainingConfig, train_backbone
from sfc_core.training.sfc_trainer import SFCTrainingConfig, train_sfc


def test_the_splits_are_disjoint_and_named() -> None:
    assert not (set(seeds.TRAINING) & set(seeds.VALIDATION) or set(seeds.TRAINING) & set(seeds.HELD_OUT)
                or set(seeds.VALIDATION) & set(seeds.HELD_OUT))
    assert seeds.split_of(1) == "training" and seeds.split_of(5000) == "validation"
    assert seeds.split_of(8001) == "held-out" and seeds.split_of(123456) == "other"
    # every seed that trained or validated the embedded model is declared
    assert train.config_from_args(train.build_parser().parse_args(["sfc", "--out", "x"])).seed in seeds.TRAINING
    backbone = BackboneTrainingConfig(out=Path("x"))
    assert backbone.seed in seeds.TRAINING and backbone.seed + seeds.BACKBONE_VALIDATION_OFFSET in seeds.VALIDATION


@pytest.mark.parametrize("held_out", sorted(seeds.HELD_OUT))
def test_training_refuses_held_out_seeds(tmp_path: Path, held_out: int) -> None:
    with pytest.raises(ConfigError, match=f"seed {held_out} is held out"):
        train_sfc(SFCTrainingConfig(out=tmp_path / "sfc.pth", seed=held_out))
    with pytest.raises(ConfigError, match=f"seed {held_out} is held out"):
        train_backbone(BackboneTrainingConfig(out=tmp_path / "b.pth", seed=held_out))
    # the backbone validates on its seed + 1000: that seed must not be held out either
    with pytest.raises(ConfigError, match=f"seed {held_out} is held out"):
        train_backbone(BackboneTrainingConfig(out=tmp_path / "b.pth", seed=held_out - seeds.BACKBONE_VALIDATION_OFFSET))
    assert not (tmp_path / "sfc.pth").exists() and not (tmp_path / "b.pth").exists()


def test_the_cli_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert train.main(["sfc", "--seed", "8002", "--out", str(tmp_path / "sfc.pth")]) == 2
    assert "seed 8002 is held out for evaluation and must not be used for training" in capsys.readouterr().err


def test_choosing_refuses_held_out_seeds_and_reporting_takes_only_them(monkeypatch) -> None:
    from scripts import choose_sfc, selection_report

    monkeypatch.setattr(sys, "argv", ["choose_sfc", "--seeds", "5000", "8001"])
    with pytest.raises(ConfigError, match="must not be used for choosing which SFC ships"):
        choose_sfc.main()
    monkeypatch.setattr(sys, "argv", ["choose_sfc", "--seeds", "1"])  # a training seed is no validation either
    with pytest.raises(SystemExit):
        choose_sfc.main()
    monkeypatch.setattr(sys, "argv", ["selection_report", "--seeds", "5000"])
    with pytest.raises(SystemExit):
        selection_report.main()
