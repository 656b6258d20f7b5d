"""Every selection strategy on held-out SynthActions, per seed and version: the embedded model's
shipped SFC and the SFC trained the paper's way (no action-window annotations), against the
training-free scores, uniform, random and the oracle, on the same clips. Reproducible from the repo
root (about 6 minutes per seed and version on 2 CPU cores):

    python -m scripts.selection_report [--seeds 8001 8002] [--versions 2 1] [--num-clips 200]

Only held-out seeds (`sfc_core.seeds.HELD_OUT`) are accepted: these clips are reported, never looked
at to choose anything. Writes benchmarks/selection-synth/v{version}-seed{seed}.json (sfc-evaluate's
JSON, with `command` and `environment`) and report.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from sfc_core import seeds
from sfc_core.evaluate import EVALUATED_STRATEGIES, evaluate
from sfc_core.resources import SHIPPED_MODELS_DIR

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "selection-synth"
# Every other SFC shipped for the embedded backbone (tiny_synth_sfc_NAME.pth) runs beside the shipped one.
COMPARED = {path.stem.removeprefix("tiny_synth_sfc_"): path
            for path in sorted(SHIPPED_MODELS_DIR.glob("tiny_synth_sfc_*.pth"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=sorted(seeds.HELD_OUT))
    parser.add_argument("--versions", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--num-clips", type=int, default=200)
    args = parser.parse_args()
    for seed in args.seeds:
        if seed not in seeds.HELD_OUT:
            parser.error(f"seed {seed} is not held out ({seeds.split_of(seed)}); "
                         f"held-out seeds: {sorted(seeds.HELD_OUT)}")
    command = shlex.join(["python", "-m", "scripts.selection_report", *sys.argv[1:]])
    OUT.mkdir(parents=True, exist_ok=True)
    for version in args.versions:
        for seed in args.seeds:
            result = evaluate(seed=seed, num_clips=args.num_clips, profile_clips=0, synth_version=version,
                              compare=COMPARED)
            result["command"] = command
            (OUT / f"v{version}-seed{seed}.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(sorted(OUT.glob("v*-seed*.json"))))
    print((OUT / "report.md").read_text())


LABELS = {"sfc": "trained SFC, shipped", "sfc:paper": "trained SFC, the paper's objective"}


def strategy_label(name: str) -> str:
    return LABELS.get(name, f"trained SFC ({name[4:]})" if name.startswith("sfc:") else name)


def to_markdown(paths: list[Path]) -> str:
    results = [json.loads(path.read_text()) for path in paths]
    first = results[0]
    lines = ["# Selection strategies on held-out SynthActions", "",
             "The embedded backbone with every way of choosing what its tail sees: each strategy keeps 8 of the",
             "head's 32 positions of a 64-frame clip and the same frozen tail classifies them. Hit rate: kept",
             "positions whose receptive field is centred inside the action window. Random: mean of 5 draws per",
             "clip. Dense and centre clip: the usual protocols on the same clips. Seeds held out: never used to",
             "train, tune or choose anything (`sfc_core/seeds.py`). Reproduce: `python -m scripts.selection_report`",
             "(each JSON records the command that wrote it).", "",
             "How each SFC was trained:", ""]
    for name, record in first["sfc_training"].items():
        if record:
            terms = ", ".join(f"{k} {v:g}" for k, v in record["objective"].items())
            lines.append(f"- {strategy_label(name)}: {terms}; action-window annotations used: "
                         f"{'yes' if record['annotations_used'] else 'no'}; `{record['command']}`")
    lines.append("")
    for version in sorted({r["synth_version"] for r in results}, reverse=True):
        chosen = [r for r in results if r["synth_version"] == version]
        seeds_text = " / ".join(f"seed {r['seed']}" for r in chosen)
        lines += [f"## SynthActions v{version}{' (with distractors)' if version == 2 else ''}: {seeds_text}, "
                  f"{chosen[0]['num_clips']} clips each", "",
                  "| strategy | top-1 | hit rate | GFLOPs |", "|---|---|---|---|"]
        names = [n for n in chosen[0]["strategies"] if n.startswith("sfc")] + list(EVALUATED_STRATEGIES[1:])
        for name in names:
            top1 = " / ".join(f"{r['strategies'][name]['top1']:.3f}" for r in chosen)
            hits = " / ".join(f"{r['strategies'][name]['hit_rate']:.3f}" for r in chosen)
            lines.append(f"| {strategy_label(name)} | {top1} | {hits} | "
                         f"{chosen[0]['strategies'][name]['flops'] / 1e9:.2f} |")
        for key, label in (("dense_top1", "dense 30-view"), ("center_top1", "centre clip")):
            lines.append(f"| {label} | {' / '.join(f'{r[key]:.3f}' for r in chosen)} | | |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
