"""Sampling plans (hand-computed cases) and torch preprocessing."""

from __future__ import annotations

import pytest
import torch

from sfc_core import sampling, transforms
from sfc_core.errors import ConfigError
from sfc_core.models import InputSpec

SPEC = InputSpec(frames=8, stride=8, short_side=256, crop=256, mean=(0.45,) * 3, std=(0.225,) * 3)


def test_dense_plan_spreads_clips_from_first_to_last_frame() -> None:
    plan = sampling.dense_plan(300, SPEC)
    assert plan.num_views == 30 and plan.crops == ("first", "centre", "last")
    assert plan.clips[0] == tuple(range(0, 57, 8))
    assert plan.clips[-1] == tuple(range(243, 300, 8))  # 300 - 57 = 243: ends on the last frame
    starts = [clip[0] for clip in plan.clips]
    assert starts == [round(i * 243 / 9) for i in range(10)]
    assert plan.notes == ()


def test_dense_plan_on_a_short_video_repeats_the_last_frame_with_a_note() -> None:
    plan = sampling.dense_plan(20, SPEC, num_clips=2, num_crops=1)
    assert plan.clips == ((0, 8, 16, 19, 19, 19, 19, 19),) * 2
    assert "fewer than one 8x8 clip spans (57)" in plan.notes[0]


def test_sfc_plan_takes_segment_centres() -> None:
    assert sampling.sfc_plan(10, 4).clips == ((1, 3, 6, 8),)  # floor((i + .5) * 10 / 4)
    plan = sampling.sfc_plan(640, 64)
    assert plan.clips[0] == tuple(range(5, 640, 10)) and plan.num_views == 1


def test_sfc_plan_on_a_short_video_repeats_frames() -> None:
    plan = sampling.sfc_plan(3, 6)
    assert plan.clips == ((0, 0, 1, 1, 2, 2),) and "fewer than the 6 SFC samples" in plan.notes[0]


@pytest.mark.parametrize("bad", [0, -1])
def test_plans_reject_empty_videos(bad: int) -> None:
    with pytest.raises(ConfigError):
        sampling.sfc_plan(bad, 64)


def test_resize_short_side_keeps_aspect_and_constant_images() -> None:
    frames = torch.full((2, 3, 48, 64), 0.3)
    out = transforms.resize_short_side(frames, 24)
    assert out.shape == (2, 3, 24, 32)
    torch.testing.assert_close(out, torch.full_like(out, 0.3))
    portrait = transforms.resize_short_side(torch.rand(1, 3, 100, 50), 20)
    assert portrait.shape == (1, 3, 40, 20)


def test_crop_boxes_along_the_long_side() -> None:
    assert [transforms.crop_box(256, 340, 256, p) for p in ("first", "centre", "last")] == [(0, 0), (0, 42), (0, 84)]
    boxes = [transforms.crop_box(340, 256, 224, p) for p in ("first", "centre", "last")]
    assert boxes == [(0, 16), (58, 16), (116, 16)]
    with pytest.raises(ValueError):
        transforms.crop_box(100, 100, 128, "centre")


def test_make_views_crops_and_normalises_each_clip() -> None:
    frames = torch.rand(5, 3, 10, 12)
    spec = InputSpec(frames=2, stride=1, short_side=10, crop=10, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0))
    views, boxes = transforms.make_views(frames, [[0, 1], [3, 4]], ("first", "last"), spec)
    assert views.shape == (4, 3, 2, 10, 10) and boxes == [(0, 0, 10), (0, 2, 10)]
    expected = (frames[[3, 4], :, :, 2:12].permute(1, 0, 2, 3) - torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1, 1))
    expected = expected / torch.tensor([0.5, 0.25, 2.0]).view(3, 1, 1, 1)
    torch.testing.assert_close(views[3], expected)
