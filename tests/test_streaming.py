"""SFC over time (`sfc_core.streaming`, `sfc-stream`): one streamed pass over a file, updates from a
sliding window, exactly `sfc-predict` when one window covers the file, memory bounded by the window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sfc_core
from sfc_core.cli import stream as stream_cli
from sfc_core.errors import ConfigError, VideoError
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.streaming import CameraSource, Sample, Streamer, open_source
from sfc_core.video import decode_frames
from tests.clips import write_frames
from tests.input_cases import moving_frames
from tests.marks import slow_cases

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = EXAMPLES_DIR / "bounce.mp4"  # 6.4 s


@pytest.fixture(scope="module")
def tiny() -> sfc_core.SFCModel:
    return sfc_core.load("tiny")


def _stream(model, video: Path, window_s: float, every_s: float) -> tuple[list, Streamer]:
    streamer = Streamer(model, window_s, every_s)
    return list(streamer.run(open_source(video, model, window_s))), streamer


@pytest.mark.parametrize(("sfc", "window_s"), slow_cases(
    [("auto", 60), ("auto", 6.4), ("training-free:change", 60), ("training-free:distinctiveness", 60),
     ("untrained", 60)],
    {("auto", 6.4), ("training-free:distinctiveness", 60), ("untrained", 60)}))
def test_one_window_over_the_whole_file_is_sfc_predict(tiny, sfc: str, window_s: float) -> None:
    """A window as long as the file (6.4 s) or longer: one update, the same as sfc-predict."""
    model = tiny if sfc == "auto" else tiny.replace(sfc=sfc)
    updates, streamer = _stream(model, EXAMPLE, window_s=window_s, every_s=window_s)
    expected = model.predict(EXAMPLE, mode="sfc", measure="time").sfc
    [update] = updates
    assert update.kept_frames == expected.kept.frame_indices
    assert [label for label, _ in update.top5] == [label for label, _ in expected.top(5)]
    assert [p for _, p in update.top5] == pytest.approx([p for _, p in expected.top(5)], abs=1e-4)
    assert update.window_s == (0.0, 6.4) and streamer.summary().frames == 64


@pytest.mark.slow
def test_a_head_that_cannot_stream_runs_over_each_window_as_a_request_does() -> None:
    """X3D-S's squeeze-excitation needs each window's whole clip: the head reruns over the window's samples
    at every update (in chunks), so one window over the file is still sfc-predict, and sliding windows
    keep only moments inside them."""
    model = sfc_core.load("x3d_s", backbone="random", device="cpu")
    assert not model.geometry.streams and model.settings.head_chunk_frames is not None
    [update], _ = _stream(model, EXAMPLE, window_s=60, every_s=60)
    expected = model.predict(EXAMPLE, mode="sfc", measure="time").sfc
    assert update.kept_frames == expected.kept.frame_indices
    assert [p for _, p in update.top5] == pytest.approx([p for _, p in expected.top(5)], abs=1e-4)
    updates, _ = _stream(model, EXAMPLE, window_s=3, every_s=2)
    assert len(updates) >= 2
    for update in updates:
        start, end = update.window_s
        assert all(start <= t <= end for t in update.kept_timestamps_s)


def test_updates_slide_over_the_window_and_the_summary_adds_them_up(tiny) -> None:
    updates, streamer = _stream(tiny, EXAMPLE, window_s=3, every_s=1)
    summary = streamer.summary()
    assert summary.updates == len(updates) >= 3 and summary.video_s == pytest.approx(6.4)
    times = [u.t_s for u in updates]
    assert times == sorted(times) and times[-1] == pytest.approx(6.4) and all(t == int(t) for t in times[:-1])
    for update in updates:
        start, end = update.window_s
        assert end - start <= 3 + 1e-9 and len(update.kept_frames) == 8
        assert all(start <= t <= end for t in update.kept_timestamps_s)  # kept moments are inside the window
        assert update.kept_frames == sorted(update.kept_frames)
        assert 0 < update.flops < update.dense_flops and update.latency_s > 0
    assert summary.flops_per_video_s == pytest.approx(sum(u.flops for u in updates) / 6.4)
    assert summary.dense_flops_per_video_s > 10 * summary.flops_per_video_s
    assert summary.p95_latency_s >= summary.mean_latency_s * 0.5 and summary.realtime_factor > 0


def test_consecutive_windows_leave_no_position_out(tiny, tmp_path: Path) -> None:
    """With an update at the end of every window, each position of the stream is in exactly one window
    but the last (which ends with the video): none is lost to the head's look-ahead at a window's end."""
    video = write_frames(tmp_path / "long.mp4", moving_frames(300, 96, 72), fps=25)  # 12 s
    streamer, counted = Streamer(tiny, 4, 4, flops=False), []
    compress = streamer.recognizer.sfc.compress
    streamer.recognizer.sfc.compress = lambda blocks, capacity: counted.append(capacity) or compress(blocks, capacity)
    try:
        updates = list(streamer.run(open_source(video, tiny, 4)))
    finally:
        del streamer.recognizer.sfc.compress
    assert [u.window_s for u in updates] == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)]
    positions = streamer._state.produced  # 12 s at 16 samples a second, 2 samples per position
    assert positions == 96 and sum(counted) >= positions and max(counted) <= positions // 3 + 1


def test_a_stream_too_short_for_the_window_says_so(tiny) -> None:
    frames = decode_frames(EXAMPLE, [0, 5, 10, 15])
    samples = [Sample(i, t, rgb) for i, t, rgb in zip(frames.source_indices, frames.timestamps_s, frames.frames)]
    streamer = Streamer(tiny)
    assert list(streamer.run(samples)) == []
    summary = streamer.summary()
    assert summary.updates == 0 and summary.frames == 4 and "no update" in summary.notes[0]
    with pytest.raises(VideoError, match="ended before its first frame"):
        list(streamer.run([]))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sfc_core.cli.stream", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "SFC_DEVICE": "cpu"})


@pytest.mark.slow  # a subprocess
def test_the_cli_prints_a_line_per_update_and_writes_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "updates.jsonl"
    run = _cli(str(EXAMPLE), "--window-s", "4", "--every-s", "2", "--jsonl", str(out))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    *updates, summary = lines
    assert set(summary) == {"summary"} and summary["summary"]["updates"] == len(updates) >= 2
    for update in updates:
        assert set(update) == {"t_s", "window_s", "top5", "kept_frames", "kept_timestamps_s", "latency_s", "flops",
                               "dense_flops"}
    assert run.stdout.count("window") == len(updates) and "real time" in run.stdout


@pytest.mark.parametrize(("source", "message"), [
    ("camera:zero", "unknown camera 'camera:zero'"),
    ("camera:97", "no camera camera:97"),
    ("missing.mp4", "File not found"),
])
def test_bad_sources_exit_2_with_one_line(source: str, message: str, capfd) -> None:
    assert stream_cli.main([source, "--device", "cpu"]) == 2
    stderr = capfd.readouterr().err  # the file descriptor: what the decoder's C code writes too
    assert message in stderr and len(stderr.strip().splitlines()) == 1


def test_window_and_interval_must_be_positive(tiny) -> None:
    with pytest.raises(ConfigError, match="must be > 0"):
        Streamer(tiny, window_s=0)
    with pytest.raises(ConfigError, match="write camera:N"):
        CameraSource("camera:", 8.0, 144)


@pytest.mark.slow  # 5 minutes of a 20-minute video: 2,400 sampled frames, 300 updates
def test_what_a_stream_holds_is_bounded_by_the_window(tiny, twenty_minutes: Path) -> None:
    """After every update the stream holds the window's positions and their frame numbers, no more, however
    long it has run (the stream report measures the peak memory over the whole 20-minute file)."""
    streamer = Streamer(tiny, window_s=8, every_s=1, flops=False)
    held = []
    for update in streamer.run(open_source(twenty_minutes, tiny, 8)):
        state = streamer._state
        held.append((len(state.positions), len(state.frames)))
        if update.t_s >= 300:
            break
    assert len(held) >= 295
    positions = 8 * 8 // 2  # 8 s at 8 samples a second, 2 samples per position
    ahead = streamer._chunk // 2 + 1  # positions the head made past the update's time, for the next window
    assert max(p for p, _ in held) <= positions + 1 + ahead and max(f for _, f in held) <= 2 * (positions + ahead) + 24
