"""The benchmark's quick mode end to end: its files, and ratios consistent with its own rows."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from sfc_core import bench
from sfc_core.cli import bench as bench_cli


@pytest.mark.slow  # a quick sfc-bench run, a process per configuration
def test_quick_bench_writes_consistent_reports(tmp_path: Path) -> None:
    assert bench_cli.main(["--quick", "--random-weights", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["models"].keys() == {"tiny"} and (tmp_path / "bench.png").stat().st_size > 10_000
    assert "| dense batched |" in (tmp_path / "bench.md").read_text()
    result = report["models"]["tiny"]
    names = [s["config"] for s in result["summary"]]
    assert names == ["dense batched", "dense chunked", "sfc L=32 keep=8 s=1", "sfc L=64 keep=8 s=1",
                     "sfc L=64 keep=8 s=1 training-free"]
    rows = result["rows"]
    for summary in result["summary"]:
        if summary["kind"] != "sfc":
            continue
        own = rows[summary["config"]]
        time_ratio = statistics.median(r["model_time_s"] for r in rows["dense batched"]) / statistics.median(
            r["model_time_s"] for r in own
        )
        assert summary["vs_batched"]["time"] == pytest.approx(time_ratio)
        assert summary["vs_batched"]["flops"] > 3
        assert own[0]["frames_decoded"] == summary["length"]
        # random weights: predictions are noise, so no agreement or accuracy is reported for any row
        assert summary["top1_agreement"] is None and summary["accuracy"] is None
        expected = "training-free:change" if summary["config"].endswith("training-free") else "untrained"
        assert summary["sfc"] == expected
    assert report["command"].startswith("sfc-bench --quick")
    recorded = {"python", "torch", "cpu", "cpu_flags", "torch_threads", "allocator", "device"}
    assert recorded <= report["environment"].keys()
    assert "| untrained |" in (tmp_path / "bench.md").read_text()
    dense_chunked = next(s for s in result["summary"] if s["config"] == "dense chunked")
    dense_batched = next(s for s in result["summary"] if s["config"] == "dense batched")
    assert dense_chunked["flops"] == dense_batched["flops"]
    assert dense_chunked["peak_memory_bytes"] < dense_batched["peak_memory_bytes"]


def test_accuracy_and_agreement_only_where_predictions_mean_something() -> None:
    """An untrained SFC's row, or any row on random weights, is cost only; a trained SFC's row is scored."""
    config = bench.BenchConfig("sfc L=64 keep=8 s=1", "sfc", keep=8)
    rng = np.random.default_rng(0)

    def row(top1: int, correct: bool) -> dict:
        return {"model_time_s": 1.0, "model_time_min_s": 0.9, "model_time_max_s": 1.1, "decode_time_s": 0.1,
                "end_to_end_s": 1.1, "decode_fps": 100.0, "peak_memory_bytes": 10, "flops": 5, "top1": top1,
                "correct": correct, "probabilities": rng.dirichlet(np.ones(10)).tolist()}

    rows = [row(3, True), row(4, False)]
    baselines = {"dense batched": [row(3, True), row(5, False)], "dense chunked": [row(3, True), row(5, False)]}
    trained = bench._summarise(config, rows, baselines, "trained", predictions_mean=True)
    assert trained["accuracy"] == 0.5 and trained["top1_agreement"] == 0.5 and trained["sfc"] == "trained"
    for sfc, real in (("untrained", True), ("trained", False)):
        cost_only = bench._summarise(config, rows, baselines, sfc, predictions_mean=real)
        assert cost_only["accuracy"] is None and cost_only["top1_agreement"] is None
        assert cost_only["vs_chunked"]["time"] == 1.0


def test_sweep_skips_configurations_the_head_cannot_fill() -> None:
    configs = bench.configurations(native_keep=8, temporal_stride=2, quick=False)
    names = [c.name for c in configs]
    assert "sfc L=16 keep=8 s=1" in names and "sfc L=16 keep=4 s=2" in names
    assert len(names) == 2 + 3 * 2 * 2 + 1 and names[-1] == "sfc L=64 keep=8 s=1 training-free"
    assert all(c.length // 2 >= c.keep for c in configs if c.kind == "sfc")
    scores = np.arange(10.0)
    assert bench._spearman_top5(scores, scores) == pytest.approx(1.0)
    assert bench._spearman_top5(scores, -scores) < 0


def test_the_terminal_table_says_what_agree_and_acc_are_and_over_how_many_videos() -> None:
    committed = json.loads((Path(__file__).parents[1] / "benchmarks" / "cpu-2core-tiny" / "bench.json").read_text())
    table = bench.format_table("tiny", committed["models"]["tiny"])
    videos = len(committed["models"]["tiny"]["rows"]["dense batched"])
    assert f"both over {videos} video(s): a sanity check" in table.splitlines()[-1]


def test_several_processes_give_each_measurement_its_median_and_the_whole_spread() -> None:
    """Three processes' rows for two videos: medians per video, spread over all, predictions kept."""
    rng = np.random.default_rng(1)
    keys = ("model_time_s", "decode_time_s", "end_to_end_s", "decode_fps", "peak_memory_bytes")
    per_process = [[{**{key: float(rng.uniform(1, 2)) for key in keys}, "model_time_min_s": float(rng.uniform(0, 1)),
                     "model_time_max_s": float(rng.uniform(2, 3)), "top1": video, "flops": 7}
                    for video in range(2)] for _ in range(3)]
    merged = bench._median_over_processes(per_process)
    assert [row["top1"] for row in merged] == [0, 1] and all(row["flops"] == 7 for row in merged)
    for video, row in enumerate(merged):
        runs = [rows[video] for rows in per_process]
        for key in keys:
            assert row[key] == sorted(run[key] for run in runs)[1]
        assert row["model_time_min_s"] == min(run["model_time_min_s"] for run in runs)
        assert row["model_time_max_s"] == max(run["model_time_max_s"] for run in runs)


def test_a_report_missing_a_requested_model_says_so() -> None:
    from sfc_core.resources import BENCHMARKS_DIR

    report = json.loads((BENCHMARKS_DIR / "gpu-kinetics" / "bench.json").read_text())
    assert set(report["models"]) < set(report["models_requested"])  # the GPU run stopped after SlowOnly-R50
    assert "**Incomplete:** the run stopped before measuring r2plus1d_18." in bench.markdown(report)
    complete = {**report, "models_requested": list(report["models"])}
    assert "Incomplete" not in bench.markdown(complete)
