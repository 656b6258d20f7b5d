"""Choose which trained SFC ships for the embedded backbone, on validation clips only.

    python -m scripts.choose_sfc [--seeds 5000] [--versions 2] [--num-clips 200]

Evaluates the shipped SFC (`assets/models/tiny_synth_sfc.pth`) and every other SFC shipped for the
same backbone (`tiny_synth_sfc_NAME.pth`) on the same validation clips, and names the one with the
highest top-1 (mean over the seeds and versions; ties: the higher hit rate). Only validation seeds
are accepted (`sfc_core.seeds`); held-out seeds are only ever reported, never an input to a choice. Writes
benchmarks/sfc-choice/report.json (with `command` and `environment`) and report.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

from scripts.selection_report import COMPARED, strategy_label
from sfc_core import seeds
from sfc_core.environment import environment
from sfc_core.evaluate import evaluate

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "sfc-choice"


def choose(runs: list[dict]) -> str:
    """The strategy name ("sfc" or "sfc:NAME") with the best mean top-1, then hit rate."""
    names = [name for name in runs[0]["strategies"] if name.startswith("sfc")]

    def merit(name: str) -> tuple[float, float]:
        return (statistics.mean(r["strategies"][name]["top1"] for r in runs),
                statistics.mean(r["strategies"][name]["hit_rate"] for r in runs))

    return max(names, key=merit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[5000])
    parser.add_argument("--versions", type=int, nargs="+", default=[2])
    parser.add_argument("--num-clips", type=int, default=200)
    args = parser.parse_args()
    for seed in args.seeds:
        seeds.refuse_held_out(seed, "choosing which SFC ships")
        if seeds.split_of(seed) != "validation":
            parser.error(f"seed {seed} is not a validation seed ({seeds.split_of(seed)}); validation seeds: "
                         f"{sorted(seeds.VALIDATION)}")
    runs = [evaluate(seed=seed, num_clips=args.num_clips, profile_clips=0, synth_version=version, compare=COMPARED)
            for version in args.versions for seed in args.seeds]
    chosen = choose(runs)

    def file_of(name: str) -> str:
        return "tiny_synth_sfc.pth" if name == "sfc" else COMPARED[name.removeprefix("sfc:")].name

    report = {
        "command": shlex.join(["python", "-m", "scripts.choose_sfc", *sys.argv[1:]]),
        "environment": environment(),
        "rule": "highest mean validation top-1, then hit rate",
        "chosen": chosen,
        "chosen_file": file_of(chosen),
        "candidates": {name: {"file": file_of(name), "training": runs[0]["sfc_training"][name]}
                       for name in runs[0]["sfc_training"]},
        "runs": [{key: run[key] for key in ("seed", "seed_split", "synth_version", "num_clips", "strategies",
                                            "dense_top1")} for run in runs],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1))
    (OUT / "report.md").write_text(to_markdown(report))
    print((OUT / "report.md").read_text())


def to_markdown(report: dict) -> str:
    lines = ["# Which trained SFC ships for the embedded backbone", "",
             f"Chosen on validation clips only ({report['rule']}): **{strategy_label(report['chosen'])}** "
             f"(`{report['chosen_file']}`). Reproduce: `{report['command']}`.", "",
             "| SFC | file | annotations used | " + " | ".join(
                 f"v{r['synth_version']} seed {r['seed']} top-1 / hit rate" for r in report["runs"]) + " |",
             "|---|---|---|" + "---|" * len(report["runs"])]
    for name, candidate in report["candidates"].items():
        used = candidate["training"]["annotations_used"] if candidate["training"] else None
        cells = [f"{r['strategies'][name]['top1']:.3f} / {r['strategies'][name]['hit_rate']:.3f}"
                 for r in report["runs"]]
        lines.append(f"| {strategy_label(name)} | {candidate['file']} | "
                     f"{'unknown' if used is None else 'yes' if used else 'no'} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
