"""The Live tab: the browser's webcam streamed into SFC over time (`sfc_core.streaming`).

The page sends a frame every `frame_interval_s` (SFC's rate: the long clip's frames per window); each
frame is a sample of one stream per browser session, timed by the server's clock as it arrives. Every
second the page shows the update: the top-5, a strip of the window's frames with the kept moments
framed, the update's latency and how many times more dense sampling would have cost. Stop ends the
stream with a last update over what is left, and the page stays as it was until the webcam's recording is
stopped and started again (a pause of `RESTART_GAP_S` in the frames starts a new stream).

On a ZeroGPU Space the Live tab runs on the Space's CPU: a GPU slot per frame would cost more in
queueing than the embedded model's whole update (tens of milliseconds on a CPU).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from sfc_core import hub
from sfc_core.streaming import DEFAULT_EVERY_S, DEFAULT_WINDOW_S, Sample, Streamer, Update

THUMB_HEIGHT = 48
RESTART_GAP_S = 2.0  # no frame for this long: the webcam was stopped, and its next frames start a new stream
STRIP_COLUMNS = 16
KEPT, DROPPED_DIM = np.array([40, 200, 90], np.uint8), 0.45


class LiveSession:
    """One browser session's stream: its `Streamer`, the window's thumbnails and the last update."""

    def __init__(self, model: hub.SFCModel, model_name: str, window_s: float = DEFAULT_WINDOW_S,
                 every_s: float = DEFAULT_EVERY_S) -> None:
        self.model_name, self.window_s = model_name, window_s
        self.streamer = Streamer(model, window_s, every_s)
        self.streamer.start()
        self.begin: float | None = None
        self.frames = 0
        self.thumbnails: deque[tuple[int, float, np.ndarray]] = deque()  # (sample number, time, image)
        self.last: Update | None = None
        self.stopped = False
        self.last_frame_at = time.perf_counter()
        self._lock = threading.Lock()  # a frame and Stop may arrive together: one at a time

    def frame(self, rgb: np.ndarray, time_s: float | None = None) -> Update | None:
        """Take one webcam frame (H, W, 3) uint8 at `time_s` into the stream (None: now, by the server's
        clock); the update it completes, if any. A stopped stream takes none (it stays as it was)."""
        with self._lock:
            self.last_frame_at = time.perf_counter()
            return None if self.stopped else self._take(rgb, time_s)

    def _take(self, rgb: np.ndarray, time_s: float | None) -> Update | None:
        if time_s is None:
            now = self.last_frame_at
            self.begin = now if self.begin is None else self.begin
            time_s = now - self.begin
        sample = Sample(self.frames, time_s, np.ascontiguousarray(rgb[..., :3]))
        self.frames += 1
        self.thumbnails.append((sample.index, sample.time_s, thumbnail(sample.rgb)))
        while self.thumbnails and self.thumbnails[0][1] <= sample.time_s - self.window_s:
            self.thumbnails.popleft()
        update = self.streamer.push(sample)
        self.last = update or self.last
        return update

    def restarted(self) -> bool:
        """Whether the webcam stopped and started again since this stream's last frame."""
        return time.perf_counter() - self.last_frame_at > RESTART_GAP_S

    def stop(self) -> Update | None:
        """End the stream: the last update over what is left (None if no frame came)."""
        with self._lock:
            if self.stopped or not self.frames:
                return None
            self.stopped = True
            updates = self.streamer.finish()
            self.last = updates[-1] if updates else self.last
            return updates[-1] if updates else None

    def strip(self) -> np.ndarray | None:
        """The window's frames in rows, oldest first; the moments the last update kept framed in green,
        the others dimmed."""
        if not self.thumbnails:
            return None
        kept = set(self.last.kept_frames) if self.last else set()
        tiles = [_framed(image, number in kept) for number, _, image in self.thumbnails]
        width = max(tile.shape[1] for tile in tiles)
        tiles = [np.pad(tile, ((0, 0), (0, width - tile.shape[1]), (0, 0))) for tile in tiles]
        rows = [np.concatenate(tiles[i : i + STRIP_COLUMNS], axis=1) for i in range(0, len(tiles), STRIP_COLUMNS)]
        full = rows[0].shape[1]
        rows = [np.pad(row, ((0, 0), (0, full - row.shape[1]), (0, 0))) for row in rows]
        return np.concatenate(rows, axis=0)


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    step = max(1, rgb.shape[0] // THUMB_HEIGHT)
    return rgb[::step, ::step]


def _framed(image: np.ndarray, kept: bool) -> np.ndarray:
    tile = np.pad(image, ((3, 3), (3, 3), (0, 0)))
    if kept:
        tile[:3], tile[-3:], tile[:, :3], tile[:, -3:] = KEPT, KEPT, KEPT, KEPT
    else:
        tile = (tile * DROPPED_DIM).astype(np.uint8)
    return tile


def status(update: Update) -> str:
    """The update in one line for the page."""
    start, end = update.window_s
    return (f"**{update.top5[0][0]}** at {end:.1f} s (window {start:.1f}-{end:.1f} s) · update latency "
            f"{update.latency_s * 1000:.0f} ms · dense sampling over this window: "
            f"{update.dense_flops / update.flops:.0f}x the FLOPs of this update · kept frames: "
            f"{', '.join(f'{t:.1f} s' for t in update.kept_timestamps_s)}")
