"""Where the shipped files are, from a source checkout or from an installed wheel.

In a checkout they are the repository's `assets/` and `benchmarks/` folders; the wheel installs
the same folders as `sfc_core/assets` and `sfc_studio/benchmarks` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path:
    return next((path for path in candidates if path.is_dir()), candidates[-1])


ASSETS_DIR = _first_existing(_PACKAGE / "assets", _CHECKOUT / "assets")
LABELS_DIR = ASSETS_DIR / "labels"
SHIPPED_MODELS_DIR = ASSETS_DIR / "models"
EXAMPLES_DIR = ASSETS_DIR / "examples"
BENCHMARKS_DIR = _first_existing(_CHECKOUT / "sfc_studio" / "benchmarks", _CHECKOUT / "benchmarks")
