"""Run options: one type, one parser helper, used the same way by the API, the CLIs and the app."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest
import torch

from sfc_core.errors import ConfigError
from sfc_core.options import AUTO, RunOptions, SFCSettings, add_run_arguments


def _parse(*argv: str) -> RunOptions:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return RunOptions.from_args(parser.parse_args(list(argv)))


def test_the_parser_helper_has_a_flag_for_every_option_with_the_same_defaults() -> None:
    assert _parse() == RunOptions()
    parsed = _parse("--mode", "sfc", "--clips", "2", "--crops", "1", "--batch-size", "all", "--repeats", "3",
                    "--measure", "time")
    assert parsed == RunOptions(mode="sfc", clips=2, crops=1, batch_size=None, repeats=3, measure="time")
    assert _parse("--batch-size", "7").batch_size == 7 and _parse("--batch-size", "auto").batch_size == AUTO


def test_options_change_by_name_and_refuse_what_they_do_not_know() -> None:
    options = RunOptions().changed(mode="dense", clips=4)
    assert (options.mode, options.clips, options.crops) == ("dense", 4, 3)
    with pytest.raises(ConfigError, match="unknown run option"):
        RunOptions().changed(clip=4)
    with pytest.raises(ConfigError, match="mode must be one of"):
        RunOptions(mode="fast")
    with pytest.raises(ConfigError, match="measure must be one of"):
        RunOptions().changed(measure="memory")


def test_auto_batches_one_view_at_a_time_on_a_cpu_and_all_at_once_on_a_gpu() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert RunOptions().dense_batch_size(cpu) == 1 and RunOptions().dense_batch_size(gpu) is None
    assert RunOptions(batch_size=None).dense_batch_size(cpu) is None
    assert RunOptions(batch_size=5).dense_batch_size(gpu) == 5


def test_report_settings_are_the_sfc_settings_and_the_run_options_with_the_batch_resolved() -> None:
    sfc = SFCSettings(length=64, split="res3", keep=8, spatial_stride=1, head_chunk_frames=16)
    settings = RunOptions(mode="sfc", clips=2).report_settings(sfc, torch.device("cpu"))
    run_fields = {f.name for f in fields(RunOptions)} - {"mode"}
    assert settings.keys() == {f.name for f in fields(SFCSettings)} | run_fields
    assert settings["batch_size"] == 1 and settings["clips"] == 2 and settings["length"] == 64


def test_options_given_in_place_of_a_run_options_are_refused_with_the_way_to_say_them() -> None:
    assert RunOptions.given(None, {"mode": "sfc"}) == RunOptions(mode="sfc")
    assert RunOptions.given(RunOptions(clips=2), {"crops": 1}) == RunOptions(clips=2, crops=1)
    with pytest.raises(ConfigError, match="options must be a RunOptions, not 'sfc'.*mode='sfc'"):
        RunOptions.given("sfc", {})
