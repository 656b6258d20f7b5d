"""Every measured figure in README comes from a committed report, and README and the reports agree.

README's figures stand in generated blocks rendered by `scripts/render_readme.py` from the JSON
reports under benchmarks/ (and the model card's evaluation); each report records the command that
regenerates it and the machine it ran on. Prose outside the blocks carries settings, never figures.
"""

from __future__ import annotations

import json
import re

from scripts import render_readme
from sfc_core.resources import BENCHMARKS_DIR, SHIPPED_MODELS_DIR

README = render_readme.README.read_text()
# What a measured figure looks like: a ratio, a memory size, a time, a videos/s rate, a 3-decimal score.
MEASURED = re.compile(r"\b\d+\.\d+x\b|\b\d+(\.\d+)? ?(MiB|GiB|ms)\b|\b\d+\.\d+ s\b|\b0\.\d{3}\b|\d+(\.\d+)? videos/s")
SETTINGS = ("at 32 MiB", "within 100 MiB")  # configuration and a test's bound, not measurements


def test_readme_figures_are_rendered_from_the_committed_reports() -> None:
    assert set(render_readme.blocks(README)) == set(render_readme.RENDERERS)
    assert render_readme.render(README) == README, "README differs from the reports: python -m scripts.render_readme"


def test_no_measured_figure_outside_the_generated_blocks() -> None:
    outside = re.sub(r"```.*?```", "", render_readme.BLOCK.sub("", README), flags=re.DOTALL)  # commands are not figures
    for phrase in SETTINGS:
        outside = outside.replace(phrase, "")
    lines = [line for line in outside.splitlines() if MEASURED.search(line)]
    assert not lines, f"figures outside generated blocks (render them from a report): {lines}"


def test_every_committed_report_records_its_command_and_environment() -> None:
    reports = [*BENCHMARKS_DIR.rglob("*.json"), SHIPPED_MODELS_DIR / "tiny_synth_eval.json"]
    assert len(reports) >= 8
    for path in reports:
        report = json.loads(path.read_text())
        assert report.get("command", "").startswith(("python -m ", "sfc-")), path  # a script or a command
        environment = report.get("environment", {})
        recorded = {"python", "torch", "cpu", "cpu_flags", "torch_threads", "allocator", "device"}
        assert recorded <= environment.keys(), path


def test_selection_reports_say_how_each_sfc_was_trained() -> None:
    for path in (BENCHMARKS_DIR / "selection-synth").glob("*.json"):
        report = json.loads(path.read_text())
        assert report["seed_split"] == "held-out", path
        assert len(report["sfc_training"]) >= 2, path  # the shipped SFC and the one trained the paper's way
        for record in report["sfc_training"].values():
            assert {"objective", "annotations_used", "training_seed", "command"} <= record.keys()
        used = {name: record["annotations_used"] for name, record in report["sfc_training"].items()}
        assert False in used.values(), f"{path}: no SFC trained without annotations"


def test_the_contributors_section_says_how_every_committed_report_is_regenerated() -> None:
    section = README[README.index("## Working on SFC Studio"):]
    for path in [*BENCHMARKS_DIR.rglob("*.json"), SHIPPED_MODELS_DIR / "tiny_synth_eval.json"]:
        assert f"`{json.loads(path.read_text())['command']}`" in section, path


def test_the_attention_reports_required_rate_is_what_makes_the_request_reach_its_target() -> None:
    """`required_module_rate` against the request's time computed by hand (float64), and the committed
    report.md is its report.json rendered."""
    from scripts import attention_report

    module, head_tail, dense_rate = 94.4e9, 374.3e9, 87.5e9
    needed = attention_report.required_module_rate(module, head_tail, dense_rate, target=0.9)
    request_time = head_tail / dense_rate + module / needed
    assert abs((module + head_tail) / request_time - 0.9 * dense_rate) < 1e-6 * dense_rate
    report = BENCHMARKS_DIR / "attention-cpu-2core"
    assert (report / "report.md").read_text() == attention_report.to_markdown(json.loads((report / "report.json")
                                                                                         .read_text()))
