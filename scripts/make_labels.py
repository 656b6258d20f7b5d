"""Write the label files under assets/labels/ (reproducible: `python -m scripts.make_labels` from the repo root).

Kinetics-400 names come from torchvision's metadata (a test-only dependency), in the
alphabetical order that both torchvision's and pytorchvideo's checkpoints use.
"""
import sys
import types
from pathlib import Path

from sfc_core.synth_classes import SYNTH_ACTION_CLASSES

LABEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "labels"


def main() -> None:
    # torchvision's compiled ops do not load on the CPU-only torch build; its metadata needs none.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    from torchvision.models._meta import _KINETICS400_CATEGORIES

    LABEL_DIR.mkdir(parents=True, exist_ok=True)
    (LABEL_DIR / "kinetics400.txt").write_text("\n".join(_KINETICS400_CATEGORIES) + "\n")
    (LABEL_DIR / "synth_actions.txt").write_text("\n".join(SYNTH_ACTION_CLASSES) + "\n")


if __name__ == "__main__":
    main()
