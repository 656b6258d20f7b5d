"""Explanations a class can read: every kept frame's attention (and Grad-CAM) is clearly visible."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sfc_core
from sfc_core import explain
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.video import decode_frames, probe
from tests.marks import slow_cases

EXAMPLES = [item["file"] for item in json.loads((EXAMPLES_DIR / "examples.json").read_text())]


def test_maps_are_ranked_per_frame_or_on_one_scale() -> None:
    maps = np.array([[[0.0, 1.0], [4.0, 2.0]], [[0.5, 0.5], [0.5, 0.25]]], dtype=np.float32)
    ranks = explain.upsample_maps(maps, 2) ** (1 / explain.RANK_POWER)  # 2x2 -> 2x2: bilinear changes nothing
    np.testing.assert_allclose(ranks[0], [[0, 1 / 3], [1, 2 / 3]], rtol=1e-6)  # 0 stays 0; rank / (pixels - 1)
    np.testing.assert_allclose(ranks[1], [[1 / 3, 1 / 3], [1 / 3, 0]], rtol=1e-6)  # ties share the lower rank
    np.testing.assert_allclose(explain.upsample_maps(maps, 2, "shared"), maps / 4.0)
    rng = np.random.default_rng(0)
    peaky = np.exp(rng.normal(0, 3, (3, 4, 4))).astype(np.float32)  # a softmax-like map: one cell holds most
    ranked = explain.upsample_maps(peaky, 16) ** (1 / explain.RANK_POWER)
    assert ranked.max(axis=(1, 2)).min() >= 0.95 and (ranked >= 0.85).mean(axis=(1, 2)).min() >= 0.1
    assert not explain.upsample_maps(np.zeros((1, 2, 2)), 4).any()  # no attention at all: no colour, no NaN
    with pytest.raises(ValueError, match="scale"):
        explain.upsample_maps(maps, 2, "log")


def test_overlay_is_the_colour_map_at_one_opacity_over_the_grey_frame() -> None:
    frames = np.random.default_rng(1).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    maps = np.linspace(0, 1, 50, dtype=np.float32).reshape(2, 5, 5)
    from matplotlib import colormaps

    grey = (0.299 * frames[..., :1] + 0.587 * frames[..., 1:2] + 0.114 * frames[..., 2:]).astype(float)
    expected = grey * (1 - explain.OPACITY) + colormaps[explain.COLOUR_MAP](maps)[..., :3] * 255 * explain.OPACITY
    assert np.abs(explain.overlay(frames, maps).astype(float) - expected).max() <= 0.51


@pytest.fixture(scope="module")
def tiny() -> sfc_core.hub.SFCModel:
    return sfc_core.load("tiny", device="cpu")


@pytest.mark.parametrize("example", slow_cases(EXAMPLES, set(EXAMPLES[1:])))
def test_every_kept_overlay_is_legible(tiny: sfc_core.hub.SFCModel, example: str) -> None:
    """Under the top 10% of each kept frame's map (its highest-valued pixels, where it is above 0) the
    overlay differs from the raw frame by >= 40 of 255 on average, for SFC attention and for Grad-CAM,
    and those pixels' colour differs from the lower half's just as clearly; shares of attention add up
    to at most 1."""
    recognizer = tiny.sfc_recognizer(measure="time")  # its answer; what it costs is tested elsewhere
    result = recognizer(EXAMPLES_DIR / example)
    raw = explain.enlarge(result.display_frames[explain.kept_slots(result)]).astype(float)
    cams = explain.gradcam(recognizer.tail, result)
    kept_maps = result.attention[result.kept.positions]
    for overlays, maps in ((explain.kept_overlays(result), kept_maps), (explain.gradcam_overlays(result, cams), cams)):
        values = explain.upsample_maps(maps, explain.SHOWN_SIZE, "shared")  # the maps' own values, enlarged
        assert len(overlays) == len(result.kept.positions)
        for shown, frame, heat in zip(overlays, raw, values):
            assert shown.shape == (explain.SHOWN_SIZE, explain.SHOWN_SIZE, 3) and explain.SHOWN_SIZE >= 224
            if not heat.any():
                continue  # Grad-CAM is 0 everywhere on a frame that did not count for the class: no colour
            top, low = (heat >= np.quantile(heat, 0.9)) & (heat > 0), heat <= np.quantile(heat, 0.5)
            shown = shown.astype(float)
            assert np.abs(shown - frame)[top].mean() >= 40
            assert np.abs(shown[top].mean(axis=0) - shown[low].mean(axis=0)).mean() >= 40
    assert result.attention[result.kept.positions].min() > 0  # attention is a softmax: never 0 anywhere
    shares = explain.attention_shares(result)
    assert all(s > 0 for s in shares) and sum(shares) <= 1 + 1e-6
    per_position = result.attention.sum(axis=(1, 2))
    assert shares[0] == pytest.approx(per_position[result.kept.positions[0]] / per_position.sum())


def test_heatmap_video_shows_each_frame_crisp_beside_its_overlay(tiny: sfc_core.hub.SFCModel, tmp_path) -> None:
    """Each video frame: the frame itself, enlarged pixel for pixel, beside the same frame under its
    heatmap, each half SHOWN_SIZE square; the kept frames framed in green, the others not."""
    result = tiny.sfc_recognizer(measure="time")(EXAMPLES_DIR / EXAMPLES[0])
    path = explain.attention_video(result, tmp_path / "heatmap.mp4")
    info, size = probe(path), explain.SHOWN_SIZE
    assert info.codec == "h264" and info.num_frames == len(result.display_frames)
    assert info.width % 2 == 0 and info.height % 2 == 0 and abs(info.width / info.height - 2) < 0.1
    decoded = np.stack(decode_frames(path, list(range(info.num_frames))).frames).astype(float)
    border = (info.height - size) // 2
    left = decoded[:, border:border + size, border:border + size]
    right = decoded[:, border:border + size, -border - size:-border]
    crisp = explain.enlarge(result.display_frames, size, "nearest-exact").astype(float)
    assert np.abs(left - crisp).mean() <= 4 and np.abs(left - right).mean() >= 20  # codec loss; the overlay differs
    edges = np.pad(np.abs(np.diff(crisp, axis=2)).sum(axis=-1) > 30, ((0, 0), (0, 0), (0, 1)))  # the pixels' sides
    blurred = explain.enlarge(result.display_frames, size).astype(float)
    assert 2 * np.abs(left - crisp)[edges].mean() < np.abs(left - blurred)[edges].mean()  # sharp, not bilinear
    kept = {i for p in result.kept.positions for i in result.position_windows[p]}
    green = np.array(explain.KEPT_GREEN, dtype=float)
    for i, frame in enumerate(decoded):  # the margin all round and the gap between the halves (inset: codec bleed)
        margin = np.concatenate([frame[:border - 1].reshape(-1, 3), frame[:, :border - 1].reshape(-1, 3),
                                 frame[:, size + border + 1:size + 2 * border - 1].reshape(-1, 3)])
        assert (np.abs(margin - green).mean() < 20) == (i in kept), i
