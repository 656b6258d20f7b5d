"""sfc-batch over a small collection: one row per file, errors as rows, resumable without recomputing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import sfc_core
from sfc_core import batch
from sfc_core.errors import ConfigError
from sfc_core.resources import EXAMPLES_DIR

CLIPS = ("bounce.mp4", "grow.mp4")


@pytest.fixture(scope="module")
def tiny():
    return sfc_core.load("tiny", device="cpu")


@pytest.fixture()
def collection(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(EXAMPLES_DIR / CLIPS[0], folder / CLIPS[0])
    shutil.copy(EXAMPLES_DIR / CLIPS[1], folder / "nested" / CLIPS[1])
    (folder / "broken.mp4").write_bytes(b"\x00\x01not a video" * 50)
    (folder / "notes.txt").write_text("not a video and not named as one")
    return folder


def _counting(tiny, calls: list[Path]):
    def classify(path: Path) -> dict:
        calls.append(path)
        return tiny.predict(path, mode="sfc").to_dict()
    return classify


def test_one_row_per_file_with_errors_as_rows_and_a_rerun_computes_nothing(tiny, collection: Path,
                                                                            tmp_path: Path) -> None:
    out, calls = tmp_path / "table.jsonl", []
    files = batch.expand_inputs([str(collection)])
    assert sorted(p.name for p in files) == ["bounce.mp4", "broken.mp4", "grow.mp4"]
    counts = batch.classify_collection(files, out, _counting(tiny, calls))
    assert counts == {"done": 3, "skipped": 0, "failed": 1}
    table = batch.read_table(out)
    assert len(table) == 3 and len(out.read_text().splitlines()) == 3
    broken = table[str(collection / "broken.mp4")]
    assert broken["status"] == "error" and broken["result"] is None
    assert "could not be read as a video" in broken["error"]
    bounce = table[str(collection / "bounce.mp4")]
    expected = tiny.predict(collection / "bounce.mp4", mode="sfc").to_dict()
    assert bounce["status"] == "ok" and bounce["sfc_top1"] == expected["sfc"]["top5"][0][0]
    assert json.loads(bounce["result"])["sfc"]["kept_frames"] == expected["sfc"]["kept_frames"]
    assert bounce["duration_s"] == pytest.approx(expected["video"]["duration_s"]) and bounce["dense_top1"] is None

    calls.clear()
    assert batch.classify_collection(files, out, _counting(tiny, calls)) == {"done": 0, "skipped": 3, "failed": 0}
    assert calls == [] and len(out.read_text().splitlines()) == 3
    assert batch.classify_collection(files, out, _counting(tiny, calls), retry_errors=True)["done"] == 1
    assert calls == [collection / "broken.mp4"] and len(batch.read_table(out)) == 3


def test_an_interrupted_run_resumes_to_the_same_table(tiny, collection: Path, tmp_path: Path) -> None:
    files = batch.expand_inputs([str(collection)])
    whole = tmp_path / "whole.jsonl"
    batch.classify_collection(files, whole, _counting(tiny, []))
    interrupted = tmp_path / "interrupted.jsonl"
    first, second, _ = whole.read_text().splitlines()
    interrupted.write_text(first + "\n" + second[: len(second) // 2])  # killed while writing the second row
    calls: list[Path] = []
    counts = batch.classify_collection(files, interrupted, _counting(tiny, calls))
    assert counts["done"] == 2 and len(calls) == 2  # the torn row's file and the one never reached
    resumed, expected = batch.read_table(interrupted), batch.read_table(whole)
    assert resumed.keys() == expected.keys()
    assert {f: r["sfc_top1"] for f, r in resumed.items()} == {f: r["sfc_top1"] for f, r in expected.items()}


def test_a_changed_file_is_classified_again(tiny, collection: Path, tmp_path: Path) -> None:
    out, calls = tmp_path / "table.jsonl", []
    clip = collection / CLIPS[0]
    batch.classify_collection([clip], out, _counting(tiny, calls))
    shutil.copy(EXAMPLES_DIR / "move_left.mp4", clip)  # same path, other content and size
    batch.classify_collection([clip], out, _counting(tiny, calls))
    assert calls == [clip, clip] and batch.read_table(out)[str(clip)]["sfc_top1"] == "move left"


def test_inputs_from_globs_and_manifests(collection: Path, tmp_path: Path) -> None:
    (collection / "list.txt").write_text("# clips\nbounce.mp4\nnested/grow.mp4\n")
    (tmp_path / "list.csv").write_text("file,label\nvideos/bounce.mp4,3\n")
    assert [p.name for p in batch.expand_inputs([str(collection / "list.txt")])] == ["bounce.mp4", "grow.mp4"]
    assert [p.name for p in batch.expand_inputs([str(tmp_path / "list.csv")])] == ["bounce.mp4"]
    assert [p.name for p in batch.expand_inputs([str(collection / "**" / "*.mp4")])] == [
        "bounce.mp4", "broken.mp4", "grow.mp4"]
    with pytest.raises(ConfigError, match="no such file"):
        batch.expand_inputs([str(collection / "missing*.mp4")])


def test_the_command_writes_the_table_and_refuses_other_formats(collection: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "table.jsonl"
    assert batch.main([str(collection / CLIPS[0]), "--out", str(out)]) == 0
    row = batch.read_table(out)[str(collection / CLIPS[0])]
    assert row["status"] == "ok" and json.loads(row["result"])["settings"]["clips"] == 10
    assert "1 classified (0 failed)" in capsys.readouterr().err
    assert batch.main([str(collection), "--out", str(tmp_path / "table.parquet")]) == 2
