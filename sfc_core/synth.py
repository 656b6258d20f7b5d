"""SynthActions: deterministic labelled clips where the action fills only a short window.

An actor (a chiral "F" glyph, so rotation direction is visible) idles, performs one of ten
motion-only actions inside a window covering 10-35% of the clip, then idles again. Around it:
a textured background with camera jitter, drifting clutter, a slow lighting change and sensor
noise, so a single uniformly sampled short clip often sees only uninformative content. Ground
truth per clip: the label and the window's first and last frame.

Version 2 (the default) adds distractors: one or two events outside the action window (4 frames
apart from it) that change the picture a lot without being the action, so "keep where things change
most" is often wrong: a burst of camera shake, a flashing square, a fast-drifting disc, or a cut to
another background and back. They are ground truth too (`ClipSpec.distractors`). Version 1 clips are
those of version 2 without the distractors (the same pixels as before they existed).

Everything is drawn from `numpy.random.default_rng((seed, index))`: the same seed and index give
the same pixels, on any machine.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .synth_classes import SYNTH_ACTION_CLASSES
from .video import write_h264

WIDTH, HEIGHT, FPS = 128, 96, 25
VERSION = 2  # the default: with distractors (1: without)
DISTRACTORS = ("shake", "flash", "drift", "cut")
DISTRACTOR_MARGIN = 4  # frames between a distractor and the action window
ACTOR_RADIUS = 13.0  # pixels, at scale 1
_GLYPH = (  # the "F": rectangles (u0, u1, v0, v1) in the actor's local frame [-1, 1]^2
    (-0.7, -0.25, -1.0, 1.0),
    (-0.7, 0.8, -1.0, -0.55),
    (-0.7, 0.45, -0.2, 0.2),
)


@dataclass(frozen=True)
class ClipSpec:
    """Ground truth and the parameters that make a clip; everything else follows from the seed."""

    index: int
    label: int
    num_frames: int
    window_start: int  # first frame of the action
    window_end: int  # last frame of the action (inclusive)
    distractors: tuple[tuple[str, int, int], ...] = ()  # (kind, first frame, last frame), outside the window

    @property
    def label_name(self) -> str:
        return SYNTH_ACTION_CLASSES[self.label]

    def in_window(self, frame: int) -> bool:
        return self.window_start <= frame <= self.window_end


def clip_spec(seed: int, index: int, min_frames: int = 96, max_frames: int = 160,
              version: int = VERSION) -> ClipSpec:
    rng = np.random.default_rng((seed, index, 0))
    num_frames = int(rng.integers(min_frames, max_frames + 1))
    length = int(round(num_frames * rng.uniform(0.10, 0.35)))
    start = int(rng.integers(0, num_frames - length + 1))
    label = int(rng.integers(len(SYNTH_ACTION_CLASSES)))
    spec = ClipSpec(index, label, num_frames, start, start + length - 1)
    if version == 1:
        return spec
    if version != 2:
        raise ValueError(f"SynthActions has versions 1 and 2, not {version}")
    return ClipSpec(index, label, num_frames, start, start + length - 1, _distractors(spec, seed))


def _distractors(spec: ClipSpec, seed: int) -> tuple[tuple[str, int, int], ...]:
    """One or two events, each 10-25% of the clip, in the stretches before and after the window."""
    rng = np.random.default_rng((seed, spec.index, 3))
    free = [(0, spec.window_start - DISTRACTOR_MARGIN - 1),
            (spec.window_end + DISTRACTOR_MARGIN + 1, spec.num_frames - 1)]
    events = []
    for _ in range(int(rng.integers(1, 3))):
        length = int(round(spec.num_frames * rng.uniform(0.10, 0.25)))
        fitting = [(first, last) for first, last in free if last - first + 1 >= length]
        if not fitting:
            break
        first, last = fitting[int(rng.integers(len(fitting)))]
        start = int(rng.integers(first, last - length + 2))
        events.append((DISTRACTORS[int(rng.integers(len(DISTRACTORS)))], start, start + length - 1))
        free.remove((first, last))  # at most one event per stretch: they never overlap
        free += [(first, start - 1), (start + length, last)]
    return tuple(sorted(events, key=lambda event: event[1]))


def _trajectory(label: int, progress: np.ndarray, rng: np.random.Generator):
    """Offsets (dx, dy), rotation (radians) and scale for action `label` at progress in [0, 1]."""
    name = SYNTH_ACTION_CLASSES[label]
    zeros, ones = np.zeros_like(progress), np.ones_like(progress)
    distance = rng.uniform(30, 40)
    cycles = rng.integers(2, 4)
    wave = np.abs(np.sin(np.pi * cycles * progress))
    if name == "move left":
        return -distance * progress, zeros, zeros, ones
    if name == "move right":
        return distance * progress, zeros, zeros, ones
    if name == "move up":
        return zeros, -distance * 0.7 * progress, zeros, ones
    if name == "move down":
        return zeros, distance * 0.7 * progress, zeros, ones
    if name == "rotate clockwise":
        return zeros, zeros, 2 * np.pi * progress, ones
    if name == "rotate counter-clockwise":
        return zeros, zeros, -2 * np.pi * progress, ones
    if name == "grow":
        return zeros, zeros, zeros, 1 + 0.7 * progress
    if name == "shrink":
        return zeros, zeros, zeros, 1 - 0.45 * progress
    if name == "zig-zag":
        return 14 * np.sin(2 * np.pi * cycles * progress), zeros, zeros, ones
    if name == "bounce":
        return zeros, -22 * wave, zeros, ones
    raise ValueError(f"unknown action {name!r}")


def _actor_start(label: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """Where the actor idles before the window, leaving room for its motion inside the frame."""
    name = SYNTH_ACTION_CLASSES[label]
    x_lo, x_hi, y_lo, y_hi = 44.0, WIDTH - 44.0, 30.0, HEIGHT - 30.0
    if name == "move left":
        x_lo, x_hi = 72.0, 84.0
    elif name == "move right":
        x_lo, x_hi = 44.0, 56.0
    elif name == "move up":
        y_lo, y_hi = 62.0, 68.0
    elif name == "move down":
        y_lo, y_hi = 26.0, 32.0
    elif name == "bounce":
        y_lo, y_hi = 56.0, 66.0
    return rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi), rng.uniform(-0.3, 0.3)


def _glyph_mask(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, angle: float, scale: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    radius = ACTOR_RADIUS * scale
    u = (cos * (xs - cx) + sin * (ys - cy)) / radius
    v = (-sin * (xs - cx) + cos * (ys - cy)) / radius
    mask = np.zeros(xs.shape, dtype=bool)
    for u0, u1, v0, v1 in _GLYPH:
        mask |= (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)
    return mask


def actor_track(spec: ClipSpec, seed: int) -> tuple[np.ndarray, ...]:
    """Per-frame actor centre x, y, angle (radians) and scale; constant outside the window."""
    rng = np.random.default_rng((seed, spec.index, 1))
    length = spec.window_end - spec.window_start + 1
    progress = np.clip((np.arange(spec.num_frames) - spec.window_start + 1) / length, 0.0, 1.0)
    dx, dy, dangle, dscale = _trajectory(spec.label, progress, rng)
    x0, y0, angle0 = _actor_start(spec.label, rng)
    scale0 = rng.uniform(0.7, 1.25)  # idle sizes overlap across classes: size alone is no cue
    return x0 + dx, y0 + dy, angle0 + dangle, scale0 * dscale


def render(spec: ClipSpec, seed: int) -> np.ndarray:
    """All frames of a clip: (T, HEIGHT, WIDTH, 3) uint8."""
    xs_actor, ys_actor, angles, scales = actor_track(spec, seed)
    rng = np.random.default_rng((seed, spec.index, 2))
    frames_idx = np.arange(spec.num_frames)
    colour = rng.uniform(0.75, 1.0, 3) * 255
    colour[rng.integers(3)] *= 0.3  # saturated: one channel low

    # Background: smooth random texture, larger than the frame so the camera can jitter over it.
    pad = 6
    coarse = rng.uniform(40, 110, (HEIGHT // 8 + 3, WIDTH // 8 + 3, 3))
    texture = np.kron(coarse, np.ones((8, 8, 1)))[: HEIGHT + 2 * pad, : WIDTH + 2 * pad]
    jitter = np.cumsum(rng.integers(-1, 2, (spec.num_frames, 2)), axis=0).clip(-pad, pad)
    clutter_xy = rng.uniform([0, 0], [WIDTH, HEIGHT], (6, 2))
    clutter_v = rng.uniform(-1.2, 1.2, (6, 2))
    light = 1 + 0.15 * np.sin(2 * np.pi * (frames_idx / spec.num_frames * rng.uniform(0.5, 1.5) + rng.uniform()))
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    distractor = _Distractors(spec, seed, texture.shape, jitter)

    video = np.empty((spec.num_frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for t in range(spec.num_frames):
        jy, jx = distractor.camera(t) + pad
        frame = distractor.background(t, texture)[jy : jy + HEIGHT, jx : jx + WIDTH].copy()
        for (cx, cy) in (clutter_xy + clutter_v * t) % [WIDTH, HEIGHT]:
            frame[int(cy) : int(cy) + 4, int(cx) : int(cx) + 4] = 150
        mask = _glyph_mask(xs, ys, xs_actor[t] + jx - pad, ys_actor[t] + jy - pad, angles[t], float(scales[t]))
        frame[mask] = colour
        distractor.draw(t, frame, xs, ys)
        frame = frame * light[t] + rng.normal(0, 4, frame.shape)
        video[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return video


class _Distractors:
    """What the distractor events of a clip do to each frame (nothing outside them: version 1 pixels).
    Their randomness has its own stream, so the rest of the clip is drawn as in version 1."""

    def __init__(self, spec: ClipSpec, seed: int, texture_shape: tuple[int, ...], jitter: np.ndarray) -> None:
        rng = np.random.default_rng((seed, spec.index, 4))
        self.jitter, self.events = jitter, spec.distractors
        self.shake = rng.integers(-6, 7, (spec.num_frames, 2))  # a hand-held camera knocked about
        self.other = np.kron(rng.uniform(40, 200, (texture_shape[0] // 8 + 1, texture_shape[1] // 8 + 1, 3)),
                             np.ones((8, 8, 1)))[: texture_shape[0], : texture_shape[1]]
        self.square = (rng.uniform(10, WIDTH - 26), rng.uniform(10, HEIGHT - 26), rng.integers(10, 17),
                       rng.uniform(120, 255, 3), int(rng.integers(2, 4)))
        start = rng.uniform([10, 10], [WIDTH - 10, HEIGHT - 10])
        speed = rng.uniform(3, 5) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        self.disc = (start, speed, rng.uniform(6, 9), rng.uniform(120, 255, 3))

    def _active(self, t: int, kind: str) -> tuple[int, int] | None:
        return next(((first, last) for name, first, last in self.events if name == kind and first <= t <= last), None)

    def camera(self, t: int) -> np.ndarray:
        offset = self.jitter[t]
        if self._active(t, "shake"):
            offset = (offset + self.shake[t]).clip(-6, 6)
        return offset

    def background(self, t: int, texture: np.ndarray) -> np.ndarray:
        return self.other if self._active(t, "cut") else texture

    def draw(self, t: int, frame: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
        if self._active(t, "flash"):
            x, y, size, colour, period = self.square
            if (t // period) % 2 == 0:
                frame[int(y) : int(y) + size, int(x) : int(x) + size] = colour
        if span := self._active(t, "drift"):
            start, speed, radius, colour = self.disc
            travelled = start + speed * (t - span[0])
            x, y = _reflect(travelled[0], WIDTH), _reflect(travelled[1], HEIGHT)
            frame[(xs - x) ** 2 + (ys - y) ** 2 <= radius**2] = colour


def _reflect(position: float, size: float) -> float:
    """A position that bounces off the frame's edges."""
    position %= 2 * size
    return 2 * size - position if position > size else position


def clip_path(directory: str | Path, spec: ClipSpec) -> Path:
    """Where `write_dataset` puts the clip of `spec`."""
    return Path(directory) / f"clip_{spec.index:05d}.mp4"


def write_dataset(directory: str | Path, num_clips: int, seed: int, scale: int = 1,
                  version: int = VERSION) -> list[ClipSpec]:
    """Write clip_XXXXX.mp4 files (`clip_path`) plus labels.csv (file,label) and ground_truth.json.
    `scale` > 1 enlarges every frame that many times (nearest neighbour: the same content, at the size
    and decoding cost of ordinary videos, e.g. 5 -> 640x480)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs = [clip_spec(seed, i, version=version) for i in range(num_clips)]
    rows = []
    for spec in specs:
        frames = render(spec, seed)
        if scale > 1:
            frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
        path = write_h264(clip_path(directory, spec), frames, fps=FPS)
        name = path.name
        rows.append({"file": name, **asdict(spec), "label_name": spec.label_name})
    with open(directory / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label"])
        writer.writerows((row["file"], row["label_name"]) for row in rows)
    (directory / "ground_truth.json").write_text(json.dumps({"seed": seed, "clips": rows}, indent=1))
    return specs
