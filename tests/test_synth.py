"""SynthActions: determinism, ground-truth windows, motion only inside the window, real MP4s."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sfc_core import synth
from sfc_core.synth_classes import SYNTH_ACTION_CLASSES
from sfc_core.video import decode_frames, probe


def test_same_seed_same_pixels_other_seed_other_pixels() -> None:
    spec = synth.clip_spec(5, 2)
    assert spec == synth.clip_spec(5, 2)
    assert np.array_equal(synth.render(spec, 5), synth.render(spec, 5))
    assert not np.array_equal(synth.render(spec, 5), synth.render(synth.clip_spec(6, 2), 6)[: spec.num_frames])


def test_windows_cover_10_to_35_percent_and_every_class_appears() -> None:
    specs = [synth.clip_spec(0, i) for i in range(400)]
    for spec in specs:
        length = spec.window_end - spec.window_start + 1
        assert 96 <= spec.num_frames <= 160
        assert 0 <= spec.window_start <= spec.window_end < spec.num_frames
        assert 0.10 * spec.num_frames - 1 <= length <= 0.35 * spec.num_frames + 1
    assert {s.label for s in specs} == set(range(len(SYNTH_ACTION_CLASSES)))


def _spec_with_label(label: int) -> synth.ClipSpec:
    return next(s for s in (synth.clip_spec(3, i) for i in range(500)) if s.label == label and s.window_start > 0)


@pytest.mark.parametrize("label", range(len(SYNTH_ACTION_CLASSES)))
def test_actor_is_idle_outside_the_window_and_moves_inside(label: int) -> None:
    spec = _spec_with_label(label)
    x, y, angle, scale = np.stack(synth.actor_track(spec, 3))
    before, after = slice(0, spec.window_start), slice(spec.window_end + 1, None)
    for track in (x, y, angle, scale):
        assert np.ptp(track[before]) == 0 and np.ptp(track[after]) == 0
    inside = slice(spec.window_start, spec.window_end + 1)
    assert sum(np.ptp(track[inside]) for track in (x, y, angle, scale)) > 0.3
    start, end = spec.window_start - 1, spec.window_end
    name = SYNTH_ACTION_CLASSES[label]
    change = {"x": x[end] - x[start], "y": y[end] - y[start], "angle": angle[end] - angle[start],
              "scale": scale[end] / scale[start]}
    expected = {
        "move left": change["x"] < -25, "move right": change["x"] > 25,
        "move up": change["y"] < -18, "move down": change["y"] > 18,
        "rotate clockwise": change["angle"] > 6, "rotate counter-clockwise": change["angle"] < -6,
        "grow": change["scale"] > 1.6, "shrink": change["scale"] < 0.6,
        "zig-zag": np.ptp(x[inside]) > 20 and abs(change["x"]) < 2,
        "bounce": np.ptp(y[inside]) > 15 and abs(change["y"]) < 2,
    }
    assert expected[name], (name, change)


def test_actor_stays_inside_the_frame() -> None:
    for i in range(200):
        spec = synth.clip_spec(1, i)
        x, y, _, scale = synth.actor_track(spec, 1)
        reach = synth.ACTOR_RADIUS * scale * 1.3
        assert np.all(x - reach >= 0) and np.all(x + reach <= synth.WIDTH), spec
        assert np.all(y - reach >= 0) and np.all(y + reach <= synth.HEIGHT), spec


def test_dataset_is_real_h264_mp4_with_labels_and_ground_truth(tmp_path: Path) -> None:
    specs = synth.write_dataset(tmp_path, 3, seed=9)
    with open(tmp_path / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert [r["label"] for r in rows] == [s.label_name for s in specs]
    assert truth["seed"] == 9 and [c["window_start"] for c in truth["clips"]] == [s.window_start for s in specs]
    for spec in specs:
        path = tmp_path / f"clip_{spec.index:05d}.mp4"
        info = probe(path)
        assert (info.codec, info.num_frames, info.width, info.height) == ("h264", spec.num_frames, 128, 96)
        frame = spec.window_start
        decoded = decode_frames(path, [frame]).frames[0].astype(float)
        rendered = synth.render(spec, 9).astype(float)
        error = [np.abs(_blocks(decoded) - _blocks(image)).mean() for image in rendered]
        assert int(np.argmin(error)) == frame and error[frame] < 4  # the file holds that very frame


def _blocks(image: np.ndarray) -> np.ndarray:
    """4x4 block means: removes sensor noise and chroma subsampling, keeps content and jitter."""
    height, width = image.shape[:2]
    return image.reshape(height // 4, 4, width // 4, 4, 3).mean(axis=(1, 3))


@pytest.mark.slow  # renders two datasets
def test_version_2_adds_distractors_outside_the_window_and_nothing_else() -> None:
    specs = [synth.clip_spec(0, i, version=2) for i in range(300)]
    kinds = [kind for spec in specs for kind, _, _ in spec.distractors]
    assert set(kinds) == set(synth.DISTRACTORS) and all(1 <= len(s.distractors) <= 2 for s in specs[:50])
    for spec in specs:
        v1 = synth.clip_spec(0, spec.index, version=1)
        assert (v1.label, v1.num_frames, v1.window_start, v1.window_end) == (
            spec.label, spec.num_frames, spec.window_start, spec.window_end) and v1.distractors == ()
        spans = sorted((first, last) for _, first, last in spec.distractors)
        for first, last in spans:
            assert 0 <= first <= last < spec.num_frames
            margin = synth.DISTRACTOR_MARGIN
            assert last < spec.window_start - margin or first > spec.window_end + margin
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # never overlapping
    for spec in specs[:8]:  # the pixels: version 1's outside the events, changed inside every event
        with_events, without = synth.render(spec, 0), synth.render(synth.clip_spec(0, spec.index, version=1), 0)
        outside = np.ones(spec.num_frames, dtype=bool)
        for kind, first, last in spec.distractors:
            outside[first : last + 1] = False
            difference = np.abs(with_events[first : last + 1].astype(int) - without[first : last + 1]).sum(-1)
            changed_pixels = (difference > 60).sum(axis=(1, 2)).max()  # in the frame it changes most
            assert changed_pixels >= 80, (kind, changed_pixels)  # at least a 9x9 patch, clearly
        assert np.array_equal(with_events[outside], without[outside])
