"""Every row of README's input table, through the CLI and through the app's callback; memory on a
20-minute video stays bounded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from app import ui
from sfc_core.cli import EXIT_USER_ERROR, predict
from tests.clips import write_frames
from tests.input_cases import CASES, Error, moving_frames

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    made = {}
    for i, (name, case) in enumerate(CASES.items()):
        (folder / str(i)).mkdir()
        made[name] = case.make(folder / str(i))
    return made


def _has_note(notes: list[str], pattern: str) -> bool:
    return any(re.search(pattern, note) for note in notes)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_cli(name: str, inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    expected = CASES[name].cli
    out = tmp_path / "result.json"
    code = predict.main([str(inputs[name]), "--clips", "2", "--crops", "1", "--json", str(out)])
    captured = capsys.readouterr()
    if isinstance(expected, Error):
        assert code == EXIT_USER_ERROR
        assert captured.err.startswith("error: ") and len(captured.err.strip().splitlines()) == 1
        assert re.search(expected.pattern, captured.err), captured.err
        return
    assert code == 0, captured.err
    data = json.loads(out.read_text())
    assert len(data["sfc"]["top5"]) == 5 and len(data["dense"]["top5"]) == 5
    assert len(data["sfc"]["kept_frames"]) == 8
    if expected.note:
        assert _has_note(data["sfc"]["notes"] + data["dense"]["notes"], expected.note)
        assert "note: " in captured.out


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.app is not None])
def test_app(name: str, inputs: dict[str, Path]) -> None:
    expected = CASES[name].app
    if isinstance(expected, Error):
        with pytest.raises(gr.Error, match=expected.pattern):
            ui.run_analysis(str(inputs[name]), "tiny", 64, 1, 2, 1)
        return
    outputs = ui.run_analysis(str(inputs[name]), "tiny", 64, 1, 2, 1)
    heatmap_video, report = outputs.heatmap_video, outputs.report
    assert len(report["sfc"]["top5"]) == 5 and Path(heatmap_video).stat().st_size > 0
    if expected.note:
        assert _has_note(report["sfc"]["notes"] + report["dense"]["notes"], expected.note)


def test_readme_table_lists_exactly_these_inputs() -> None:
    text = (REPO / "README.md").read_text()
    section = text.split("## What happens to each input", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")]
    assert rows[0] == "input" and rows[1:] == list(CASES)


_PEAK_MEMORY = """
import sys
from sfc_core.cli import predict
from sfc_core.cli import EXIT_USER_ERROR
assert predict.main([sys.argv[1], "--clips", "2", "--crops", "1"]) == 0
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
"""


def _peak_rss(video: Path) -> int:
    done = subprocess.run([sys.executable, "-c", _PEAK_MEMORY, str(video)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_on_a_20_minute_video_stays_that_of_a_short_one(tmp_path: Path, twenty_minutes: Path) -> None:
    """Decoding seeks to the planned frames and never holds the video: the process peak on 20
    minutes (12,000 frames) matches the peak on 10 seconds of the same stream."""
    long = twenty_minutes
    short = write_frames(tmp_path / "short.mp4", moving_frames(100, 160, 120), fps=10,
                         options={"crf": "30", "g": "250"})
    peak_long, peak_short = _peak_rss(long), _peak_rss(short)
    whole_video_rgb = 12_000 * 160 * 120 * 3  # 691 MB if it were ever decoded at once
    print(f"peak RSS: 20-minute video {peak_long / 2**20:.0f} MiB, 10-second video {peak_short / 2**20:.0f} MiB")
    assert peak_long < peak_short + 64 * 2**20
    assert peak_long - peak_short < whole_video_rgb / 10
