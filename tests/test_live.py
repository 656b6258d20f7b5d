"""The Live tab's stream, fed the frames of a bundled example at the webcam's pace (the browser test
feeds chromium's fake camera to the served page)."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from app import ui
from app.analysis import load_model
from app.live import LiveSession, status
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.video import decode_frames, probe

EXAMPLE = EXAMPLES_DIR / "grow.mp4"


def _webcam_frames(seconds: float, interval: float) -> list[tuple[float, np.ndarray]]:
    """The example played on a loop, one frame every `interval` seconds (as the page sends them)."""
    info = probe(EXAMPLE)
    times = np.arange(0, seconds, interval)
    indices = [int(t * info.fps) % info.num_frames for t in times]
    frames = decode_frames(EXAMPLE, indices).frames
    return list(zip(times.tolist(), frames))


def test_updates_every_second_name_the_action_and_mark_the_kept_moments() -> None:
    model = load_model("tiny")
    interval = ui.LIVE_INTERVAL_S
    assert interval == pytest.approx(8 / model.settings.length)
    session = LiveSession(model, "tiny")
    updates = [u for t, rgb in _webcam_frames(5.5, interval) if (u := session.frame(rgb, t)) is not None]
    assert len(updates) >= 2 and [u.t_s for u in updates] == sorted(u.t_s for u in updates)
    assert updates[-1].top5[0][0] == "grow"
    strip = session.strip()
    assert strip.ndim == 3 and strip.shape[2] == 3
    green = (strip[..., 1] > 190) & (strip[..., 0] < 60)  # the kept moments' frames
    assert green.any() and "grow" in status(updates[-1]) and "x the FLOPs" in status(updates[-1])
    last = session.stop()
    assert last is not None and session.stopped and session.stop() is None


def test_the_page_handlers_skip_until_an_update_and_start_afresh_after_stop() -> None:
    frames = _webcam_frames(0.5, 0.125)
    top5, strip, text, session = ui.run_live_frame(frames[0][1], "tiny", None)
    assert isinstance(session, LiveSession) and text == ui.LIVE_WAITING
    top5, strip, text, same = ui.run_live_frame(frames[1][1], "tiny", session)
    assert same is session and session.frames == 2
    top5, strip, text, session = ui.stop_live(session)
    assert "Stopped" in text and session.stopped
    for _ in range(2):  # frozen while the webcam keeps sending, however long
        *outputs, same = ui.run_live_frame(frames[2][1], "tiny", session)
        assert same is session and session.frames == 2 and all(isinstance(o, type(gr.skip())) for o in outputs)
        assert not session.restarted()
    session.last_frame_at -= 10  # the webcam was stopped and started again
    *_, fresh = ui.run_live_frame(frames[3][1], "tiny", session)
    assert fresh is not session and fresh.frames == 1
    assert "nothing was streamed" in ui.stop_live(None)[2]
