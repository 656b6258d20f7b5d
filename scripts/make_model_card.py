"""Assemble assets/models/tiny_synth.json, the embedded model's card, from what was measured:
the two training logs and an evaluation JSON (`python -m sfc_core.evaluate --json ...`).

    python -m scripts.make_model_card assets/models/tiny_synth_eval.json
"""

import json
import sys
from dataclasses import asdict
from pathlib import Path

from sfc_core import models

MODELS = Path(__file__).resolve().parents[1] / "assets" / "models"


def main(evaluation_path: str) -> None:
    config = models.get_config("tiny")
    backbone_log = json.loads((MODELS / "tiny_synth.log.json").read_text())
    sfc_log = json.loads((MODELS / "tiny_synth_sfc.log.json").read_text())
    evaluation = json.loads(Path(evaluation_path).read_text())
    card = {
        "model": "tiny",
        "description": config.description,
        "classes": config.labels(),
        "input_spec": asdict(config.input_spec),
        "files": {"backbone": config.shipped_weights, "sfc": config.shipped_sfc},
        "data": "SynthActions (sfc_core/synth.py), generated on the fly from the seeds below",
        "training": {
            "backbone": {
                "command": backbone_log["command"],
                "minutes_on_2_cpu_cores": round(backbone_log["seconds"] / 60, 1),
                "final_epoch": backbone_log["log"][-1],
            },
            "sfc": {
                "command": sfc_log["command"],
                "minutes_on_2_cpu_cores_after_caching": round(sfc_log["seconds"] / 60, 1),
                "final_epoch": sfc_log["log"][-1],
            },
        },
        "evaluation": {"command": f"python -m sfc_core.evaluate --seed {evaluation['seed']} "
                                  f"--num-clips {evaluation['num_clips']}", **evaluation},
    }
    (MODELS / "tiny_synth.json").write_text(json.dumps(card, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
