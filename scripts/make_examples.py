"""Write the bundled example clips under assets/examples/ (reproducible:
`python -m scripts.make_examples` from the repo root).

SynthActions clips from a seed used neither for training nor for evaluation, one per chosen
class, with short action windows so that dense sampling's clips mostly miss the action.
"""

import hashlib
import json
from pathlib import Path

from sfc_core import synth
from sfc_core.video import write_h264

OUT = Path(__file__).resolve().parents[1] / "assets" / "examples"
SEED = 31337
WANTED = ("move left", "rotate clockwise", "grow", "bounce")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest, index = [], 0
    for name in WANTED:
        while True:
            spec = synth.clip_spec(SEED, index)
            index += 1
            coverage = (spec.window_end - spec.window_start + 1) / spec.num_frames
            if spec.label_name == name and coverage < 0.2 and spec.num_frames >= 128:
                break
        path = OUT / f"{name.replace(' ', '_')}.mp4"
        write_h264(path, synth.render(spec, SEED), fps=synth.FPS)
        manifest.append({
            "file": path.name,
            "label_name": spec.label_name,
            "window_start": spec.window_start,
            "window_end": spec.window_end,
            "num_frames": spec.num_frames,
            "seed": SEED,
            "index": spec.index,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        })
    (OUT / "examples.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
