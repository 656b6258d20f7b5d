"""README's Python and command-line snippets, run as a new user runs them after the set-up command: from
a folder outside the checkout, with the environment's own `python` and `sfc-*` commands (the set-up
command installs the project into it), offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from sfc_core.resources import EXAMPLES_DIR

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BIN = Path(sys.executable).parent
# outside the checkout, as a user: nothing on the path but what the environment installed
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"SFC_DEVICE": "cpu"}


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-3000:])
    return done


def _python_block(after_heading: str) -> str:
    section = README.split(after_heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow  # a fresh interpreter outside the checkout
def test_the_python_api_snippet_runs_from_any_folder(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES_DIR / "grow.mp4", tmp_path / "clip.mp4")
    code = _python_block("## Use it from Python")
    # tests are offline: the Kinetics line runs the same architecture with random weights
    kinetics = 'sfc_core.load("x3d_s")'
    assert kinetics in code
    code = code.replace(kinetics, 'sfc_core.load("x3d_s", backbone="random")')
    where = f"'checkout' if sfc_core.__file__.startswith({str(REPO)!r}) else 'elsewhere'"
    code += f"\nprint({where}, energy.settings.length)\n"
    out = _run(sys.executable, "-c", code, cwd=tmp_path).stdout
    assert out.startswith("Report: tiny; backbone: embedded") and "top-1" in out and "dense / SFC: time" in out
    assert "note:" not in out  # a bundled example: nothing to warn about
    assert out.split()[-2:] == ["checkout", "96"]  # imported from the editable install of this checkout


@pytest.mark.slow  # seven commands start torch
def test_the_commands_run_from_any_folder(tmp_path: Path) -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for name in scripts:
        assert f"usage: {name}" in _run(BIN / name, "--help", cwd=tmp_path).stdout
    shutil.copy(EXAMPLES_DIR / "grow.mp4", tmp_path / "clip.mp4")
    out = _run(BIN / "sfc-predict", "clip.mp4", "--mode", "sfc", "--json", "out.json", cwd=tmp_path).stdout
    assert "grow" in out and json.loads((tmp_path / "out.json").read_text())["sfc"]["top5"][0][0] == "grow"
    _run(BIN / "sfc-batch", "clip.mp4", "--out", "results.jsonl", cwd=tmp_path)
    [row] = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert (row["status"], row["sfc_top1"]) == ("ok", "grow")
