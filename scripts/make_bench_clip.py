"""Write the clip the Kinetics-size benchmarks run on: 10 s of a street-like scene, H.264.

    python -m scripts.make_bench_clip OUT.mp4 [--width 640] [--height 272] [--seconds 10] [--fps 25]

A panning, textured background with a slow lighting change, a dozen figures of different sizes
and speeds walking across it, and sensor noise: content that costs a decoder what a real clip of
that size costs (a flat or static clip would decode far faster). Deterministic: the same arguments
give the same pixels on any machine (the encoder's bytes may differ between FFmpeg builds). With
random backbone weights only the cost is measured, so the content's meaning does not matter.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sfc_core.video import write_h264

SEED = 640272


def frames(width: int, height: int, seconds: float, fps: int) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of the scene."""
    rng = np.random.default_rng(SEED)
    count = round(seconds * fps)
    pan = 2 * count  # the camera moves 2 px per frame
    coarse = rng.uniform(30, 220, (height // 16 + 2, (width + pan) // 16 + 2, 3))
    texture = np.kron(coarse, np.ones((16, 16, 1)))[:height, : width + pan]
    texture += rng.normal(0, 12, texture.shape)  # fine detail, as in a real scene
    walkers = [(rng.uniform(0, width), rng.uniform(0.3, 0.9) * height, rng.uniform(-4, 4),
                rng.uniform(12, 40), rng.uniform(0, 255, 3)) for _ in range(12)]
    ys, xs = np.mgrid[0:height, 0:width]
    out = np.empty((count, height, width, 3), dtype=np.uint8)
    for t in range(count):
        image = texture[:, 2 * t : 2 * t + width].copy() * (0.85 + 0.15 * np.sin(t / fps))
        for x0, y0, speed, size, colour in walkers:
            x = (x0 + speed * t) % width
            body = ((xs - x) / (0.4 * size)) ** 2 + ((ys - y0) / size) ** 2 < 1
            image[body] = colour
        image += rng.normal(0, 4, image.shape)
        out[t] = image.clip(0, 255).astype(np.uint8)
    return out


def write_bench_clip(path: Path, width: int = 640, height: int = 272, seconds: float = 10, fps: int = 25) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_h264(path, frames(width, height, seconds, fps), fps=fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=272)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()
    print(write_bench_clip(args.out, args.width, args.height, args.seconds, args.fps))


if __name__ == "__main__":
    main()
