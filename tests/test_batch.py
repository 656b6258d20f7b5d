"""sfc-batch over small collections: one row per file, errors as rows, resumable without recomputing,
both table formats, both engines giving the same predictions, a killed run resuming to the same table."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sfc_core
from sfc_core.cli import batch as batch_cli
from sfc_core.corpus.collection import classify_collection
from sfc_core.corpus.inputs import expand_inputs
from sfc_core.corpus.local import run_local
from sfc_core.corpus.tables import COLUMNS, JsonlTable, ParquetTable, open_table
from sfc_core.corpus.work import Job
from sfc_core.errors import ConfigError
from sfc_core.inputs import decode_ahead
from sfc_core.options import RunOptions
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.streaming import over_time
from tests.marks import slow_cases

CLIPS = ("bounce.mp4", "grow.mp4")
ROOT = Path(__file__).resolve().parents[1]


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


JOB = Job(load={"name": "tiny", "device": "cpu"}, options=RunOptions(mode="sfc", measure="time"))


def _counting(tiny, calls: list[Path], decoders: int = 0, job: Job = JOB):
    """The local engine, recording which files it was given."""
    def engine(files: list[Path]):
        calls.extend(files)
        return run_local(files, tiny, job, decoders=decoders)
    return engine


@pytest.mark.parametrize("suffix", slow_cases([".jsonl", ".parquet"], {".jsonl"}))  # fast lane: one format each
def test_one_row_per_file_with_errors_as_rows_and_a_rerun_computes_nothing(tiny, collection: Path, tmp_path: Path,
                                                                            suffix: str) -> None:
    out, calls = tmp_path / f"table{suffix}", []
    files = expand_inputs([str(collection)])
    assert sorted(p.name for p in files) == ["bounce.mp4", "broken.mp4", "grow.mp4"]
    counts = classify_collection(files, open_table(out), _counting(tiny, calls, decoders=1))
    assert counts == {"done": 3, "skipped": 0, "failed": 1}
    table = open_table(out).rows()
    assert len(table) == 3
    broken = table[str(collection / "broken.mp4")]
    assert broken["status"] == "error" and broken["result"] is None
    assert "could not be read as a video" in broken["error"]
    bounce = table[str(collection / "bounce.mp4")]
    expected = tiny.predict(collection / "bounce.mp4", mode="sfc", measure="time").to_dict()
    assert bounce["status"] == "ok" and bounce["sfc_top1"] == expected["sfc"]["top5"][0][0]
    assert bounce["sfc_top1_prob"] == pytest.approx(expected["sfc"]["top5"][0][1], abs=1e-6)
    result = json.loads(bounce["result"])
    assert result["sfc"]["kept_frames"] == expected["sfc"]["kept_frames"] and result["settings"]["measure"] == "time"
    assert result["sfc"]["flops"] is None and result["sfc"]["peak_memory_bytes"] is None
    assert bounce["duration_s"] == pytest.approx(expected["video"]["duration_s"]) and bounce["dense_top1"] is None
    assert bounce["size"] == (collection / "bounce.mp4").stat().st_size and len(bounce["sha256"]) == 64
    assert list(bounce) == list(COLUMNS)

    calls.clear()
    assert classify_collection(files, open_table(out), _counting(tiny, calls)) == {
        "done": 0, "skipped": 3, "failed": 0}
    assert calls == []
    assert classify_collection(files, open_table(out), _counting(tiny, calls), retry_errors=True)["done"] == 1
    assert calls == [collection / "broken.mp4"]
    if suffix == ".parquet":  # retried rows are compacted away: a plain Parquet read sees one row per file
        assert sorted(pq.read_table(out).column("file").to_pylist()) == sorted(map(str, files))
    else:
        assert len(out.read_text().splitlines()) == 3


@pytest.mark.slow
def test_decoding_ahead_gives_exactly_what_reading_the_file_gives(tiny, collection: Path) -> None:
    models = tiny.recognizers(mode="both")
    clip = collection / CLIPS[0]
    decoded = decode_ahead(clip, [r.plan for r in models.values()], tiny.config.input_spec)
    assert decoded.decode_time_s > 0
    for name, recognize in models.items():
        from_file, ahead = recognize(clip), recognize(decoded)
        assert (from_file.probabilities == ahead.probabilities).all(), name
        assert from_file.frame_indices == ahead.frame_indices and from_file.timestamps_s == ahead.timestamps_s
        assert ahead.measurement.input_time_s >= decoded.decode_time_s  # charged to the request
    with pytest.raises(ValueError, match="not decoded ahead"):
        tiny.replace(length=96).sfc_recognizer()(decoded)


def test_a_truncated_jsonl_row_and_a_stray_parquet_part_are_recovered(tiny, collection: Path, tmp_path: Path) -> None:
    files = expand_inputs([str(collection)])
    whole = tmp_path / "whole.jsonl"
    classify_collection(files, JsonlTable(whole), _counting(tiny, []))
    interrupted = tmp_path / "interrupted.jsonl"
    first, second, _ = whole.read_text().splitlines()
    interrupted.write_text(first + "\n" + second[: len(second) // 2])  # killed while writing the second row
    calls: list[Path] = []
    assert classify_collection(files, JsonlTable(interrupted), _counting(tiny, calls))["done"] == 2
    assert len(calls) == 2  # the torn row's file and the one never reached
    resumed, expected = JsonlTable(interrupted).rows(), JsonlTable(whole).rows()
    assert {f: r["sfc_top1"] for f, r in resumed.items()} == {f: r["sfc_top1"] for f, r in expected.items()}
    assert len(interrupted.read_text().splitlines()) == 3  # compacted: the torn line is gone

    parquet = tmp_path / "table.parquet"
    classify_collection(files[:1], ParquetTable(parquet), _counting(tiny, []))
    (parquet / ".part-000001.parquet.tmp").write_bytes(b"PAR1 half a part")  # killed while writing a part
    classify_collection(files, ParquetTable(parquet), _counting(tiny, calls := []))
    assert calls == files[1:] and pq.read_table(parquet).num_rows == 3


def test_an_engine_that_fails_midway_keeps_the_rows_it_finished(tiny, collection: Path, tmp_path: Path) -> None:
    files, out = expand_inputs([str(collection)]), tmp_path / "table.parquet"

    def crashing(todo: list[Path]):
        rows = run_local(todo, tiny, JOB, decoders=0)
        yield next(rows)
        raise KeyboardInterrupt  # Ctrl-C after the first row

    with pytest.raises(KeyboardInterrupt):
        classify_collection(files, ParquetTable(out), crashing)
    assert list(ParquetTable(out).rows()) == [str(files[0])]
    calls: list[Path] = []
    classify_collection(files, ParquetTable(out), _counting(tiny, calls))
    assert calls == files[1:] and len(ParquetTable(out).rows()) == 3


def test_verify_recognises_files_by_content(tiny, collection: Path, tmp_path: Path) -> None:
    out, calls = tmp_path / "table.jsonl", []
    clip = collection / CLIPS[0]
    classify_collection([clip], JsonlTable(out), _counting(tiny, calls))
    os.utime(clip, (1_000_000_000, 1_000_000_000))  # touched: same content, other mtime
    classify_collection([clip], JsonlTable(out), _counting(tiny, calls), verify=True)
    assert calls == [clip]  # not run again
    classify_collection([clip], JsonlTable(out), _counting(tiny, calls))
    assert calls == [clip, clip]  # without --verify, the new mtime means a changed file
    stat = clip.stat()
    shutil.copy(EXAMPLES_DIR / "move_left.mp4", clip)  # other content, then the old mtime put back
    os.utime(clip, (stat.st_atime, stat.st_mtime))
    classify_collection([clip], JsonlTable(out), _counting(tiny, calls), verify=True)
    assert calls == [clip] * 3 and JsonlTable(out).rows()[str(clip)]["sfc_top1"] == "move left"


def test_inputs_from_globs_and_manifests(collection: Path, tmp_path: Path) -> None:
    (collection / "list.txt").write_text("# clips\nbounce.mp4\nnested/grow.mp4\n")
    (tmp_path / "list.csv").write_text("file,label\nvideos/bounce.mp4,3\n")
    assert [p.name for p in expand_inputs([str(collection / "list.txt")])] == ["bounce.mp4", "grow.mp4"]
    assert [p.name for p in expand_inputs([str(tmp_path / "list.csv")])] == ["bounce.mp4"]
    assert [p.name for p in expand_inputs([str(collection / "**" / "*.mp4")])] == [
        "bounce.mp4", "broken.mp4", "grow.mp4"]
    with pytest.raises(ConfigError, match="no such file"):
        expand_inputs([str(collection / "missing*.mp4")])


def test_the_command_writes_the_table_and_refuses_bad_settings(collection: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "table.parquet"
    assert batch_cli.main([str(collection / CLIPS[0]), "--out", str(out), "--mode", "both"]) == 0
    row = ParquetTable(out).rows()[str(collection / CLIPS[0])]
    assert row["status"] == "ok" and json.loads(row["result"])["settings"]["clips"] == 10 and row["dense_top1"]
    assert "1 classified (0 failed)" in capsys.readouterr().err
    assert batch_cli.main([str(collection), "--out", str(tmp_path / "table.csv")]) == 2
    assert "name a .jsonl or .parquet table" in capsys.readouterr().err
    assert batch_cli.main([str(collection), "--out", str(tmp_path / "t.jsonl"), "--workers", "0"]) == 2
    assert batch_cli.main([str(collection), "--out", str(tmp_path / "t.jsonl"), "--over-time", "0"]) == 2
    assert "--over-time must be a number of seconds > 0" in capsys.readouterr().err


@pytest.mark.slow  # streams every file (the streaming itself: tests/test_streaming.py)
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_over_time_stores_each_windows_answer_and_a_rerun_adds_it_to_rows_without(tiny, collection: Path,
                                                                                 tmp_path: Path, suffix: str) -> None:
    out, calls = tmp_path / f"table{suffix}", []
    files = [collection / CLIPS[0]]  # 6.4 s
    classify_collection(files, open_table(out), _counting(tiny, calls))
    assert open_table(out).rows()[str(files[0])]["over_time"] is None
    job = replace(JOB, over_time_s=3.0)
    counts = classify_collection(files, open_table(out), _counting(tiny, calls, job=job), over_time_s=3.0)
    assert counts["done"] == 1  # the row had no per-window answers: computed again, with them
    stored = json.loads(open_table(out).rows()[str(files[0])]["over_time"])
    assert stored["window_s"] == 3.0
    windows = stored["windows"]
    expected = over_time(tiny, files[0], 3.0)
    assert [w["window_s"] for w in windows] == [list(e.window_s) for e in expected] == [[0, 3], [3, 6], [3.4, 6.4]]
    assert [w["top1"] for w in windows] == [e.top5[0][0] for e in expected]
    assert [w["kept_frames"] for w in windows] == [e.kept_frames for e in expected]
    assert classify_collection(files, open_table(out), _counting(tiny, calls, job=job),
                                     over_time_s=3.0)["done"] == 0
    other = replace(JOB, over_time_s=4.0)  # other windows: computed again
    assert classify_collection(files, open_table(out), _counting(tiny, calls, job=other),
                                     over_time_s=4.0)["done"] == 1


def _corpus(folder: Path, copies: int) -> list[Path]:
    folder.mkdir()
    examples = sorted(EXAMPLES_DIR.glob("*.mp4"))
    for number in range(copies):
        shutil.copy(examples[number % len(examples)], folder / f"clip_{number:02d}.mp4")
    (folder / "clip_zz_broken.mp4").write_bytes(b"\x00" * 4096)
    return expand_inputs([str(folder)])


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_table_with_nothing_computed_twice(tmp_path: Path) -> None:
    files = _corpus(tmp_path / "corpus", 10)
    out = tmp_path / "table.jsonl"
    command = [sys.executable, "-m", "sfc_core.cli.batch", str(tmp_path / "corpus"), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = JsonlTable(out).rows()
    assert 3 <= len(before) < len(files), "the run was not killed midway"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(files) - len(before)} classified" in resumed.stderr  # only the files not finished
    after = JsonlTable(out).rows()
    assert sorted(after) == sorted(map(str, files)) and len(out.read_text().splitlines()) == len(files)
    assert all(after[file] == row for file, row in before.items())  # finished rows untouched
    uninterrupted = tmp_path / "whole.jsonl"
    assert batch_cli.main([str(tmp_path / "corpus"), "--out", str(uninterrupted)]) == 0
    expected = JsonlTable(uninterrupted).rows()
    assert {f: (r["status"], r["sfc_top1"]) for f, r in after.items()} == {
        f: (r["status"], r["sfc_top1"]) for f, r in expected.items()}


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_the_ray_engine_gives_the_local_engines_rows(tiny, local_ray, tmp_path: Path) -> None:
    """Two actors (one actor is the same path, with every video on it)."""
    workers = 2
    from sfc_core.corpus.ray_engine import run_ray

    files = _corpus(tmp_path / "corpus", 5)
    job = Job(load={"name": "tiny", "device": "cpu"}, options=RunOptions(mode="both", measure="time"))
    local, distributed = tmp_path / "local.jsonl", tmp_path / "ray.parquet"
    classify_collection(files, open_table(local), lambda todo: run_local(todo, tiny, job))
    counts = classify_collection(files, open_table(distributed),
                                       lambda todo: run_ray(todo, tiny, job, workers=workers))
    assert counts == {"done": 6, "skipped": 0, "failed": 1}
    assert pq.read_table(distributed).num_rows == 6
    expected, got = open_table(local).rows(), open_table(distributed).rows()
    assert got.keys() == expected.keys()
    for file, row in expected.items():
        assert {k: got[file][k] for k in ("status", "error", "sfc_top1", "dense_top1", "sha256", "size")} == {
            k: row[k] for k in ("status", "error", "sfc_top1", "dense_top1", "sha256", "size")}
        if row["status"] == "ok":  # one torch thread per actor: the same sums in another order
            assert got[file]["sfc_top1_prob"] == pytest.approx(row["sfc_top1_prob"], abs=1e-5)
            assert json.loads(got[file]["result"])["sfc"]["kept_frames"] == json.loads(
                row["result"])["sfc"]["kept_frames"]
    assert classify_collection(files, open_table(distributed),
                                     lambda todo: run_ray(todo, tiny, job, workers=workers))["done"] == 0
