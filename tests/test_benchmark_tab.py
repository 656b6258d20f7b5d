"""The Benchmark tab's plots and tables against the committed reports they are made from."""

from __future__ import annotations

import json
from statistics import mean

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation, Text

from app import benchmark_tab
from app.benchmark_tab import benchmark_figures, benchmark_tables_markdown, report_sources
from sfc_core.resources import BENCHMARKS_DIR

TINY = BENCHMARKS_DIR / "cpu-2core-tiny" / "bench.json"
KINETICS = BENCHMARKS_DIR / "cpu-2core-kinetics" / "bench.json"
GPU = BENCHMARKS_DIR / "gpu-kinetics" / "bench.json"
SEEDS = [BENCHMARKS_DIR / "selection-synth" / f"v2-seed{seed}.json" for seed in (8001, 8002)]
PLOTTED = {  # the SFC the app runs by default, per model
    "tiny": "sfc L=64 keep=8 s=1",
    "slowonly_r50": "sfc L=64 keep=8 s=1 training-free",
    "r2plus1d_18": "sfc L=64 keep=8 s=1 training-free",
}


def _rows(path, model: str) -> dict[str, dict]:
    return {row["config"]: row for row in json.loads(path.read_text())["models"][model]["summary"]}


@pytest.fixture(scope="module")
def figures():
    found = benchmark_figures()
    for figure in found:
        FigureCanvasAgg(figure).draw()  # tick labels and layout exist only once drawn
    return found


def _cost_axes(figure, model: str, quantity: str):
    """The panel of `model` whose x label names `quantity` ("time" or "memory")."""
    return next(ax for ax in figure.axes if ax.get_figure(root=False).get_suptitle().startswith(model + " ")
                and quantity in ax.get_xlabel())


@pytest.mark.parametrize(("path", "model"), [(TINY, "tiny"), (KINETICS, "slowonly_r50"), (KINETICS, "r2plus1d_18")])
def test_cost_bars_are_the_reports_rows(figures, path, model) -> None:
    rows = _rows(path, model)
    shown = [rows["dense batched"], rows["dense chunked"], rows[PLOTTED[model]]]
    time_ax, memory_ax = _cost_axes(figures[0], model, "time"), _cost_axes(figures[0], model, "memory")
    assert [bar.get_width() for bar in time_ax.patches] == pytest.approx([row["model_time_s"] for row in shown])
    assert [bar.get_width() for bar in memory_ax.patches] == pytest.approx(
        [row["peak_memory_bytes"] / 2**20 for row in shown])
    labels = [text.get_text() for text in time_ax.texts + memory_ax.texts]
    sfc = shown[2]["vs_chunked"]
    assert any(f"{sfc['time']:.2f}x faster" in label for label in labels)
    memory_words = f"{sfc['memory']:.2f}x less memory" if sfc["memory"] >= 1 else f"{1 / sfc['memory']:.2f}x more"
    assert any(memory_words in label for label in labels)


def test_cost_titles_name_device_date_and_random_weights(figures) -> None:
    figure = figures[0]
    environment = json.loads(TINY.read_text())["environment"]
    assert f"CPU, 2 cores ({environment['cpu']}), {environment['date'][:10]}" in figure.get_suptitle()
    titles = {ax.get_figure(root=False).get_suptitle() for ax in figure.axes}
    assert sum("random weights: timing only" in title for title in titles) == 3  # the CPU two, SlowOnly on a GPU
    assert any(title.startswith("tiny ") and "random" not in title and "trained SFC" in title for title in titles)


def test_tradeoff_points_are_the_held_out_seed_means(figures) -> None:
    seeds = [json.loads(path.read_text()) for path in SEEDS]
    ax = figures[1].axes[0]
    annotations = {text.get_text(): text.xy for text in ax.texts if isinstance(text, Annotation)}
    offsets = [tuple(point) for collection in ax.collections for point in collection.get_offsets()]
    for name, label in [("oracle", "oracle (knows where the action is)"), ("sfc", "SFC (trained)"),
                        ("sfc:paper", "SFC trained the paper's way"), ("change", "training-free: change")]:
        expected = (mean(s["strategies"][name]["flops"] for s in seeds) / 1e9,
                    mean(s["strategies"][name]["top1"] for s in seeds))
        assert annotations[label] == pytest.approx(expected)
        assert any(point == pytest.approx(expected) for point in offsets)
    dense = (_rows(TINY, "tiny")["dense chunked"]["flops"] / 1e9, mean(s["dense_top1"] for s in seeds))
    assert annotations["dense sampling (30 views)"] == pytest.approx(dense)
    assert "keep 8 of 32 positions, L=64" in ax.get_title()


def test_every_text_is_at_least_12_points_and_titles_14(figures) -> None:
    for figure, title in zip(figures, [figures[0].get_suptitle(), figures[1].axes[0].get_title()]):
        sizes = {text.get_text(): text.get_fontsize() for text in figure.findobj(Text)
                 if text.get_visible() and text.get_text().strip()}
        assert len(sizes) > 15  # tick labels included
        assert not {text: size for text, size in sizes.items() if size < 12}
        assert sizes[title] >= 14


def _section(markdown: str, model: str) -> str:
    return next(part for part in markdown.split("#### ") if part.startswith(model + "\n"))


def _table_rows(section: str) -> dict[str, list[str]]:
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
             if line.startswith("| ") and not line.startswith("| config")]
    return {row[0].strip("*"): row for row in cells}


def test_tables_hide_accuracy_for_random_weights_only() -> None:
    markdown = benchmark_tables_markdown()
    for model in ("slowonly_r50", "r2plus1d_18"):
        section = _section(markdown, model)
        assert benchmark_tab.RANDOM_SENTENCE in section
        assert "python -m scripts.bench_reports kinetics" in section and "cpu-2core-kinetics/bench.json" in section
        rows = _table_rows(section)
        assert len(rows) == len(_rows(KINETICS, model))
        assert all(row[-1] == "—" and len(row) <= 8 for row in rows.values())
    tiny = _section(markdown, "tiny")
    assert benchmark_tab.RANDOM_SENTENCE not in tiny and "python -m scripts.bench_reports tiny" in tiny
    rows, reported = _table_rows(tiny), _rows(TINY, "tiny")
    assert rows["dense chunked"][-1] == f"{reported['dense chunked']['accuracy']:.2f}"
    assert rows[PLOTTED["tiny"]][-1] == f"{reported[PLOTTED['tiny']]['accuracy']:.2f}"
    assert rows[PLOTTED["tiny"]][3] == f"{reported[PLOTTED['tiny']]['vs_chunked']['time']:.2f}x"


def test_a_gpu_reports_panel_names_its_gpu_and_shows_its_rows(figures) -> None:
    device = json.loads(GPU.read_text())["device"]
    titles = [panel.get_suptitle() for panel in figures[0].subfigs]
    assert sum(title.startswith(f"slowonly_r50 on {device} ") for title in titles) == 1
    assert not any(" on CPU" in title for title in titles)
    rows = _rows(GPU, "slowonly_r50")
    shown = [rows["dense batched"], rows["dense chunked"], rows[PLOTTED["slowonly_r50"]]]
    panel = next(p for p in figures[0].subfigs if p.get_suptitle().startswith(f"slowonly_r50 on {device} "))
    time_ax = next(ax for ax in figures[0].axes if ax.get_figure(root=False) is panel and "time" in ax.get_xlabel())
    assert [bar.get_width() for bar in time_ax.patches] == pytest.approx([row["model_time_s"] for row in shown])


def test_report_sources_are_the_files_plotted() -> None:
    assert sorted(report_sources()) == sorted(
        path.relative_to(BENCHMARKS_DIR.parent).as_posix() for path in [TINY, KINETICS, GPU, *SEEDS])


def test_an_empty_benchmarks_folder_says_how_to_make_a_report(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(benchmark_tab, "BENCHMARKS_DIR", tmp_path / "benchmarks")
    assert benchmark_figures() == []
    assert report_sources() == []
    assert "python -m scripts.bench_reports tiny" in benchmark_tables_markdown()
