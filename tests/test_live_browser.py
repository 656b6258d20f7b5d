"""The Live tab in a real browser: chromium's fake camera plays a bundled example (as a .y4m file) into
the page's webcam, and the served app answers every second."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
from playwright.sync_api import expect, sync_playwright

from app.launch import launch_options
from app.ui import build_demo
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.video import decode_frames, probe
from tests.test_app_browser import ARTIFACTS, CHROMIUM, FLAGS, pytestmark  # noqa: F401  (slow; needs chromium)

EXAMPLE = EXAMPLES_DIR / "grow.mp4"


def write_y4m(video: Path, out: Path, scale: int = 2) -> Path:
    """`video`'s frames, `scale` times larger, as the raw YUV4MPEG2 file chromium's fake camera loops."""
    info = probe(video)
    with av.open(str(out), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=round(info.fps))
        stream.width, stream.height, stream.pix_fmt = info.width * scale, info.height * scale, "yuv420p"
        for rgb in decode_frames(video, list(range(info.num_frames))).frames:
            big = np.ascontiguousarray(rgb.repeat(scale, axis=0).repeat(scale, axis=1))
            frame = av.VideoFrame.from_ndarray(big, format="rgb24").reformat(format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out


def test_the_fake_camera_streams_and_updates_name_the_action(tmp_path: Path) -> None:
    camera = write_y4m(EXAMPLE, tmp_path / "grow.y4m")
    flags = [*FLAGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             f"--use-file-for-fake-video-capture={camera}"]
    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **launch_options())
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("tab", name="Live").click()
            page.locator("#live-camera").get_by_text("Click to Access Webcam").click()
            page.locator("#live-camera button", has_text="Record").click()
            status = page.locator("#live-status")
            expect(status).to_contain_text("update latency", timeout=60_000)
            # the example loops, so its restart reads as "shrink" in some windows: wait for one that sees it grow
            deadline, answers = time.monotonic() + 60, set()
            while time.monotonic() < deadline and "grow" not in answers:
                answers.add(status.locator("strong").first.inner_text())
                time.sleep(0.5)
            assert "grow" in answers, answers
            expect(page.locator("#live-strip img")).to_be_visible()
            page.locator("#live-stop").click()
            expect(status).to_contain_text("Stopped", timeout=30_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
