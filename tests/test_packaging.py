"""`pip install .` as a user does it: build the wheel, install it into a fresh venv, and use the library
and the CLI from outside the checkout, offline. Also: the pins in requirements files and pyproject agree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib

from sfc_core.resources import EXAMPLES_DIR

pytestmark = pytest.mark.slow  # builds the wheel and installs it into a fresh venv

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "test-artifacts", "__pycache__",
                              ".pytest_cache", "latest")


def _run(*command: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "SFC_DEVICE": "cpu",
                               **{k: v for k, v in os.environ.items() if k == "OMP_NUM_THREADS"}})
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed. Its dependencies are this test environment's own (a .pth
    line puts them on its path), so pip installs the wheel offline and must find every declared
    dependency already satisfied."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=SKIP)  # build from a copy: the checkout stays clean
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", root / "dist", ".",
         cwd=source)
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root)
    site = Path(purelib.stdout.strip())
    (site / "dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next((root / "dist").glob("sfc_studio-*.whl"))
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", f"{wheel}[app,cluster]",
         cwd=root)
    return venv


def test_the_wheel_runs_the_embedded_model_offline_from_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    video = shutil.copy(EXAMPLES_DIR / "grow.mp4", tmp_path / "clip.mp4")
    python = installed / "bin" / "python"
    code = ("import json, sfc_core; report = sfc_core.load('tiny').predict('clip.mp4', mode='sfc'); "
            "print(json.dumps({'file': sfc_core.__file__, 'report': report.to_dict()}))")
    out = json.loads(_run(python, "-c", code, cwd=tmp_path).stdout.splitlines()[-1])
    assert out["file"].startswith(str(installed)), "imported the checkout, not the installed package"
    report = out["report"]
    assert report["sfc"]["top5"][0][0] == "grow"
    assert report["weights"].startswith(str(installed)) and report["provenance"]["sfc"]["kind"] == "trained"

    _run(installed / "bin" / "sfc-predict", video, "--json", "out.json", cwd=tmp_path)
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["sfc"]["top5"][0][0] == "grow" and data["dense"]["num_views"] == 30
    assert data["sfc_weights"].startswith(str(installed))

    _run(installed / "bin" / "sfc-batch", video, "--out", "table.parquet", cwd=tmp_path)
    rows = json.loads(_run(python, "-c", "import json, pyarrow.parquet as pq; "
                           "print(json.dumps(pq.read_table('table.parquet').to_pylist()))", cwd=tmp_path).stdout)
    assert [(row["status"], row["sfc_top1"]) for row in rows] == [("ok", "grow")]


def test_every_console_script_starts(installed: Path, tmp_path: Path) -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"sfc-studio", "sfc-predict", "sfc-batch", "sfc-stream", "sfc-bench", "sfc-evaluate",
                            "sfc-train", "sfc-weights", "sfc-export"}
    for name in scripts:
        assert "usage:" in _run(installed / "bin" / name, "--help", cwd=tmp_path).stdout


def test_the_installed_app_finds_its_examples_and_benchmark_reports(installed: Path, tmp_path: Path) -> None:
    code = ("from sfc_core import resources; from sfc_studio import ui; "
            "print(len(ui._examples()), len(list(resources.BENCHMARKS_DIR.glob('*/bench.md'))), "
            "resources.ASSETS_DIR)")
    examples, reports, assets = _run(installed / "bin" / "python", "-c", code, cwd=tmp_path).stdout.split()
    assert int(examples) == 4 and int(reports) >= 2 and assets.startswith(str(installed))


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


def test_requirement_files_and_pyproject_pin_the_same_versions() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"] + project["optional-dependencies"]["app"])
    assert declared == _pins((REPO / "requirements.txt").read_text().splitlines())
    dev = _pins(project["optional-dependencies"]["dev"])
    assert dev == {**_pins((REPO / "requirements-dev.txt").read_text().splitlines()), "gradio": declared["gradio"]}
    assert declared["torch"] == "2.13.0"
    cluster = _pins(project["optional-dependencies"]["cluster"])
    assert cluster == {"ray": dev["ray"], "pyarrow": dev["pyarrow"]} and not cluster.keys() & declared.keys()
