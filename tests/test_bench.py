"""The benchmark's quick mode end to end: its files, and ratios consistent with its own rows."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from sfc_core import bench


def test_quick_bench_writes_consistent_reports(tmp_path: Path) -> None:
    assert bench.main(["--quick", "--random-weights", "--out", str(tmp_path)]) == 0
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
        assert 0 <= summary["top1_agreement"] <= 1
    dense_chunked = next(s for s in result["summary"] if s["config"] == "dense chunked")
    dense_batched = next(s for s in result["summary"] if s["config"] == "dense batched")
    assert dense_chunked["flops"] == dense_batched["flops"]
    assert dense_chunked["peak_memory_bytes"] < dense_batched["peak_memory_bytes"]


def test_sweep_skips_configurations_the_head_cannot_fill() -> None:
    configs = bench.configurations(native_keep=8, temporal_stride=2, quick=False)
    names = [c.name for c in configs]
    assert "sfc L=16 keep=8 s=1" in names and "sfc L=16 keep=4 s=2" in names
    assert len(names) == 2 + 3 * 2 * 2 + 1 and names[-1] == "sfc L=64 keep=8 s=1 training-free"
    assert all(c.length // 2 >= c.keep for c in configs if c.kind == "sfc")
    scores = np.arange(10.0)
    assert bench._spearman_top5(scores, scores) == pytest.approx(1.0)
    assert bench._spearman_top5(scores, -scores) < 0
