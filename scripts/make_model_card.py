"""Assemble assets/models/tiny_synth.json, the embedded model's card, from what was measured:
the training logs, how each shipped SFC was trained (recorded in its checkpoint), which SFC was
chosen on validation clips (benchmarks/sfc-choice) and an evaluation JSON
(`sfc-evaluate --json ...`).

    python -m scripts.make_model_card assets/models/tiny_synth_eval.json
"""

import json
import sys
from dataclasses import asdict
from pathlib import Path

from sfc_core import models, seeds
from sfc_core.sfc import load_sfc

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "assets" / "models"


def _sfc_entry(name: str) -> dict:
    """A shipped SFC's training: its command, time, last epoch and the record in its checkpoint."""
    log = json.loads((MODELS / f"{name}.log.json").read_text())
    return {
        "file": f"{name}.pth",
        "command": log["command"],
        "wall_minutes_after_caching": round(log["seconds"] / 60, 1),  # as run: shared CPU, pauses included
        "final_epoch": log["log"][-1],
        "training": load_sfc(MODELS / f"{name}.pth")[1].get("training"),
    }


def main(evaluation_path: str) -> None:
    config = models.get_config("tiny")
    backbone_log = json.loads((MODELS / "tiny_synth.log.json").read_text())
    choice = json.loads((ROOT / "benchmarks" / "sfc-choice" / "report.json").read_text())
    evaluation = json.loads(Path(evaluation_path).read_text())
    card = {
        "model": "tiny",
        "description": config.description,
        "classes": config.labels(),
        "input_spec": asdict(config.input_spec),
        "files": {"backbone": config.shipped_weights, "sfc": config.shipped_sfc},
        "data": "SynthActions (sfc_core/synth.py), generated on the fly from the seeds below",
        "seeds": {"training": seeds.TRAINING, "validation": seeds.VALIDATION, "held_out": seeds.HELD_OUT},
        "training": {
            "backbone": {
                "command": backbone_log["command"],
                "minutes_on_2_cpu_cores": round(backbone_log["seconds"] / 60, 1),
                "final_epoch": backbone_log["log"][-1],
            },
            "sfc": _sfc_entry("tiny_synth_sfc"),
            "sfc_alternatives": {path.stem.removeprefix("tiny_synth_sfc_"): _sfc_entry(path.stem)
                                 for path in sorted(MODELS.glob("tiny_synth_sfc_*.pth"))},
        },
        "choice": {key: choice[key] for key in ("rule", "chosen", "chosen_file", "command")},
        "evaluation": evaluation,
    }
    (MODELS / "tiny_synth.json").write_text(json.dumps(card, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
