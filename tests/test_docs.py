"""What README, the model card and the code say about each other stays true."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import tomllib

from sfc_core.cli import train
from sfc_core.models import get_config
from sfc_core.resources import SHIPPED_MODELS_DIR
from sfc_core.training.backbone import BackboneTrainingConfig
from sfc_core.training.sfc_trainer import SFCTrainingConfig

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
CARD = json.loads((SHIPPED_MODELS_DIR / "tiny_synth.json").read_text())


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " "))


# the training command's module before 0.5.0, as the shipped checkpoints' logs recorded it: `sfc-train` now
RECORDED_BEFORE = {"python -m sfc_core.train ": "sfc-train ", "python -m sfc_core.evaluate ": "sfc-evaluate "}


def _today(command: str) -> str:
    """A recorded command as it is typed today."""
    for before, now in RECORDED_BEFORE.items():
        command = command.replace(before, now) if command.startswith(before) else command
    return command


def _recorded(which: str) -> str:
    return _today(CARD["training"][which]["command"])


def test_readme_docstring_and_card_give_the_same_reproduce_commands() -> None:
    for which in ("backbone", "sfc"):
        command = _recorded(which)
        assert command in _one_line(README), f"README lacks the card's {which} command: {command}"
        assert command in _one_line(train.__doc__), f"sfc_core.cli.train's docstring lacks: {command}"
    for name, alternative in CARD["training"]["sfc_alternatives"].items():
        assert _today(alternative["command"]) in _one_line(README), f"README lacks how the {name} SFC was trained"
        assert alternative["training"]["command"] == alternative["command"]
    assert _today(CARD["evaluation"]["command"]) in _one_line(README)
    assert CARD["choice"]["command"] in _one_line(README)
    assert CARD["choice"]["chosen_file"] == get_config("tiny").shipped_sfc  # what the choice named is what ships


def test_the_recorded_commands_are_the_cli_defaults() -> None:
    """Re-running with the defaults reproduces the shipped model: only paths differ from them."""
    parser = train.build_parser()
    backbone = train.config_from_args(parser.parse_args(_recorded("backbone").split()[1:]))
    assert backbone == BackboneTrainingConfig(out=backbone.out)
    sfc = train.config_from_args(parser.parse_args(_recorded("sfc").split()[1:]))
    assert Path(sfc.backbone).name == get_config("tiny").shipped_weights  # what backbone="auto" loads
    assert replace(sfc, backbone="auto", cache=None) == SFCTrainingConfig(out=sfc.out)


def test_readme_speaks_to_users_only() -> None:
    for phrase in ("../shared", "DESIGN.md", "GRADIO-NOTES", "this project's sessions", "lies on this machine",
                   "could not be measured here"):
        assert phrase not in README, phrase
    for source in [*(REPO / "sfc_core").rglob("*.py"), *(REPO / "app").rglob("*.py")]:
        assert "DESIGN.md" not in source.read_text() and "../shared" not in source.read_text(), source


def test_readme_names_every_console_script_and_the_python_api() -> None:
    for script in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]:
        assert f"`{script}" in README or f"{script} " in README, script
    assert 'sfc_core.load("tiny")' in README and "pip install ." in README


def test_the_package_docstrings_module_map_names_every_module() -> None:
    import sfc_core

    package = Path(sfc_core.__file__).parent
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    module_map = sfc_core.__doc__[sfc_core.__doc__.index("Modules:"):]
    names = [re.split(r"\s{2,}", line.strip())[0] for line in module_map.splitlines()[1:]]
    named = set(re.findall(r"[\w/]+", " ".join(names)))
    assert modules <= named, f"missing from sfc_core's module map: {sorted(modules - named)}"


def test_the_readme_layout_names_every_app_module() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `app/` | `ui.py`"))
    named = set(re.findall(r"`(\w+\.py)`", row))
    modules = {path.name for path in (REPO / "app").glob("*.py") if path.name != "__init__.py"}
    assert modules <= named, f"missing from README's app row: {sorted(modules - named)}"


def test_every_command_module_is_a_console_script_and_named_where_the_tools_are_listed() -> None:
    import sfc_core.cli

    commands = {p.stem for p in Path(sfc_core.cli.__file__).parent.glob("*.py")} - {"__init__", "model_args"}
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {f"sfc-{name}": f"sfc_core.cli.{name}:main" for name in commands} == {
        script: target for script, target in scripts.items() if script != "sfc-studio"}
    row = next(line for line in README.splitlines()
               if line.startswith("| `sfc_core/cli/` | the command-line tools, one"))
    for name in commands:
        assert re.search(rf"^    {name}\s+sfc-{name}:", sfc_core.cli.__doc__, re.M), name
        assert f"`{name}.py`" in row, name
