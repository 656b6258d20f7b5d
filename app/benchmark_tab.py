"""The Benchmark tab, made from the committed reports (`benchmarks/`): two plots that read at a
glance on a projector, then compact tables, instead of screens of 14-column tables.

Every number comes from a report's JSON, and every plot and table says which file, which device and
which command made it; backbones with random weights show cost only, never accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, NullFormatter, PercentFormatter, ScalarFormatter

from sfc_core.profiling import format_ratio
from sfc_core.resources import BENCHMARKS_DIR

from .figures import DENSE_COLOUR, KEPT_COLOUR, SFC_COLOUR, TRUTH_COLOUR, blank_figure

MAKE_ONE = "python -m scripts.bench_reports tiny"
SFC_ROW = "sfc L=64 keep=8 s=1"  # the app's default SFC: L=64, keep 8, no spatial stride
TRAINING_FREE_ROW = f"{SFC_ROW} training-free"  # what the app runs where no trained SFC ships
SELECTION_KEEP = "keep 8 of 32 positions"  # the only keep `scripts.selection_report` measures
RANDOM_SENTENCE = "Random weights: timing and memory only; the labels are noise, so accuracy is not shown."
MIB = 2**20
TEXT, TITLE = 12, 14  # points: readable on a 1280x720 projector

# open squares: a baseline that lands on another strategy's point (random on distinctiveness) stays visible
BASELINE = {"marker": "s", "s": 170, "facecolors": "none", "edgecolors": DENSE_COLOUR, "linewidths": 2}
STRATEGY_STYLES = {  # name in the selection report: (label, scatter style)
    "sfc": ("SFC (trained)", {"color": SFC_COLOUR}),
    "sfc:paper": ("SFC trained the paper's way", {"color": "#6baed6"}),
    "change": ("training-free: change", {"color": KEPT_COLOUR, "marker": "^"}),
    "distinctiveness": ("training-free: distinctiveness", {"color": KEPT_COLOUR, "marker": "^"}),
    "energy": ("training-free: energy", {"color": KEPT_COLOUR, "marker": "^"}),
    "uniform": ("uniform", BASELINE),
    "random": ("random", BASELINE),
    "oracle": ("oracle (knows where the action is)", {"color": TRUTH_COLOUR, "marker": "*", "s": 220}),
}


def _read(pattern: str) -> list[tuple[Path, dict]]:
    return [(path, json.loads(path.read_text())) for path in sorted(BENCHMARKS_DIR.glob(pattern))]


def _bench_reports() -> list[tuple[Path, dict]]:
    return _read("*/bench.json")


def _selection_reports() -> list[tuple[Path, dict]]:
    """The trade-off plot's data: SynthActions v2 (the shipped SFC's data) on seeds never used in training."""
    return _read("selection-synth/v2-seed*.json")


def _relative(path: Path) -> str:
    return path.relative_to(BENCHMARKS_DIR.parent).as_posix()


def report_sources() -> list[str]:
    """The reports the plots read, relative to the checkout (e.g. `benchmarks/cpu-2core-tiny/bench.json`),
    for the captions that say where each number comes from."""
    return [_relative(path) for path, _ in _bench_reports() + _selection_reports()]


def _is_random(model: dict) -> bool:
    return model["weights"].startswith("random")


def _models(reports: list[tuple[Path, dict]]) -> list[tuple[Path, dict, str, dict]]:
    """Every (report path, report, model name, model), those with real weights first: they lead the tab."""
    found = [(path, report, name, model) for path, report in reports for name, model in report["models"].items()]
    return sorted(found, key=lambda entry: _is_random(entry[3]))


def _plotted_sfc(rows: dict[str, dict]) -> dict:
    """The SFC the app runs by default: the trained one where it ships, else the training-free `change`."""
    trained = rows.get(SFC_ROW)
    return trained if trained is not None and trained["sfc"] == "trained" else rows[TRAINING_FREE_ROW]


def _sfc_name(row: dict) -> str:
    return row["sfc"].replace(":", ": ") if row["sfc"] else "—"


def _sfc_phrase(row: dict) -> str:
    """E.g. "the trained SFC", "the training-free SFC (change score)"."""
    kind, _, score = row["sfc"].partition(":")
    return f"the {kind} SFC ({score} score)" if score else f"the {kind} SFC"


def _setup(environment: dict) -> str:
    """Where and when a report was measured, e.g. "CPU, 2 cores (AMD EPYC), 2026-11-30"."""
    date = environment["date"].split()[0]
    if not environment["device"].startswith("CPU"):
        return f"{environment['device']}, {date}"
    threads, cores = environment["torch_threads"], environment["cpu_cores"]
    used = f"{cores} cores" if threads == cores else f"{threads} threads of {cores} cores"
    return f"CPU, {used} ({environment['cpu']}), {date}"


def _versus(value: float, better: str, worse: str) -> str:
    """A dense / SFC ratio said the right way round: "4.46x faster", "1.62x more memory"."""
    return f"{format_ratio(value)} {better}" if value >= 1 else f"{format_ratio(1 / value)} {worse}"


def _bars(ax, names: list[str], values: list[float], labels: list[str], xlabel: str) -> None:
    bars = ax.barh(names, values, color=["#c7c7c7", DENSE_COLOUR, SFC_COLOUR])
    ax.bar_label(bars, labels=labels, padding=4, fontsize=TEXT)
    ax.set_xlabel(xlabel, fontsize=TEXT)
    ax.tick_params(which="both", labelsize=TEXT)


def _cost_panels(panel: SubFigure, name: str, model: dict, device: str) -> None:
    """One model's row: model time (linear) and peak memory (log: batched dense needs 15-25x more)."""
    rows = {row["config"]: row for row in model["summary"]}
    sfc = _plotted_sfc(rows)
    shown = [rows["dense batched"], rows["dense chunked"], sfc]
    weights = "random weights: timing only" if _is_random(model) else "trained weights"
    where = "" if device.startswith("CPU") else f" on {device}"  # the figure's title names the CPU
    panel.suptitle(f"{name}{where} ({weights}) with {_sfc_phrase(sfc)}, L={sfc['length']}, keep {sfc['keep']}",
                   fontsize=TITLE)
    names = ["dense, all views\nin one batch", "dense, one view\nat a time", f"SFC\n({_sfc_name(sfc)})"]
    time_ax, memory_ax = panel.subplots(1, 2, sharey=True)
    times = [row["model_time_s"] for row in shown]
    _bars(time_ax, names, times, [f"{t:.3g} s" for t in times[:2]]
          + [f"{times[2]:.3g} s, {_versus(sfc['vs_chunked']['time'], 'faster', 'slower')}"],
          "model time per video (s)")
    time_ax.set_xlim(0, max(times) * 1.3)
    time_ax.invert_yaxis()
    memory = [row["peak_memory_bytes"] / MIB for row in shown]
    memory_ax.set_xscale("log")
    _bars(memory_ax, names, memory, [f"{m:.0f} MiB" for m in memory[:2]]
          + [f"{memory[2]:.0f} MiB, {_versus(sfc['vs_chunked']['memory'], 'less memory', 'more memory')}"],
          "peak memory (MiB, log scale)")
    memory_ax.set_xlim(min(memory) / 2, max(memory) * 5)
    memory_ax.xaxis.set_major_formatter(ScalarFormatter())
    memory_ax.xaxis.set_minor_formatter(NullFormatter())


def _cost_figure(reports: list[tuple[Path, dict]]) -> Figure:
    models = _models(reports)
    figure = blank_figure(11.5, 1.0 + 2.6 * len(models))
    setups = "; ".join(sorted({_setup(report["environment"]) for _, report, _, _ in models}))
    figure.suptitle(f"Model time and peak memory per video: dense sampling vs SFC\n{setups}. "
                    "SFC's ratios compare it with dense, one view at a time", fontsize=TITLE + 1)
    for panel, (_, report, name, model) in zip(figure.subfigures(len(models), 1, squeeze=False)[:, 0], models):
        _cost_panels(panel, name, model, report["device"])
    return figure


def _spread(heights: list[float], gap: float) -> list[float]:
    """Label heights for points sorted by height: at least `gap` apart, none below its point."""
    spread: list[float] = []
    for height in heights:
        spread.append(max(height, spread[-1] + gap) if spread else height)
    return spread


def _tradeoff_figure(seeds: list[dict], dense_flops: float | None) -> Figure:
    """Held-out top-1 against GFLOPs per video, one point per strategy (mean of the seeds), and dense."""
    points = {name: (mean(s["strategies"][name]["flops"] for s in seeds) / 1e9,
                     mean(s["strategies"][name]["top1"] for s in seeds)) for name in seeds[0]["strategies"]}
    figure = blank_figure(11.5, 6.8)
    ax = figure.add_subplot()
    cheapest = min(x for x, _ in points.values())
    for left in (True, False):  # labels left of the cheapest column of points, right of the others
        side = sorted((y, name) for name, (x, y) in points.items() if (x == cheapest) == left)
        for (y, name), label_y in zip(side, _spread([y for y, _ in side], 0.032)):
            label, style = STRATEGY_STYLES.get(name, (name, {"color": "black"}))
            x = points[name][0]
            ax.scatter([x], [y], **{"s": 90, **style}, zorder=3)
            ax.annotate(label, xy=(x, y), xytext=(x / 1.06 if left else x * 1.06, label_y), fontsize=TEXT,
                        ha="right" if left else "left", va="center",
                        arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.8})
    lowest = min(y for _, y in points.values())
    if dense_flops is not None:
        dense = (dense_flops / 1e9, mean(s["dense_top1"] for s in seeds))
        ax.scatter(*dense, s=90, color="black", marker="D", zorder=3)
        ax.annotate("dense sampling (30 views)", xy=dense, xytext=(0, 14), textcoords="offset points",
                    ha="center", va="bottom", fontsize=TEXT)
        lowest = min(lowest, dense[1])
    ax.set_xscale("log")
    ax.set_xlim(1, 150)
    ax.xaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(lowest - 0.06, 1.04)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.tick_params(which="both", labelsize=TEXT)
    ax.grid(alpha=0.3)
    ax.set_xlabel("GFLOPs per video (log scale)", fontsize=TEXT)
    ax.set_ylabel("top-1 accuracy", fontsize=TEXT)
    first = seeds[0]
    seed_list = " and ".join(str(s["seed"]) for s in seeds)
    ax.set_title(f"Accuracy vs compute on held-out SynthActions v{first['synth_version']}: {SELECTION_KEEP}, "
                 f"L={first['length']}\n{first['model']} backbone; mean of seeds {seed_list} "
                 f"({first['num_clips']} clips each); random: mean of {first['random_draws']} draws",
                 fontsize=TITLE)
    return figure


def benchmark_figures() -> list[Figure]:
    """The tab's plots, from the committed reports: each model's time and peak memory (dense vs the
    SFC the app runs), then held-out accuracy against compute per selection strategy. Empty when no
    report is committed."""
    reports, seeds = _bench_reports(), [report for _, report in _selection_reports()]
    figures = [_cost_figure(reports)] if reports else []
    if seeds:
        models = {name: model for _, report in reports for name, model in report["models"].items()}
        dense = models.get(seeds[0]["model"])
        dense_flops = {row["config"]: row for row in dense["summary"]}["dense chunked"]["flops"] if dense else None
        figures.append(_tradeoff_figure(seeds, dense_flops))
    return figures


def _model_table(path: Path, report: dict, name: str, model: dict) -> str:
    rows = model["summary"]
    plotted = _plotted_sfc({row["config"]: row for row in rows})["config"]
    hide_accuracy = _is_random(model)
    lines = [
        f"#### {name}",
        f"From `{_relative(path)}` ({_setup(report['environment'])}; {', '.join(report['videos'])}). "
        f"Regenerate: `{report['command']}`. Backbone: {model['weights']}; SFC: {model['sfc_weights']}.",
    ]
    if hide_accuracy:
        lines += ["", RANDOM_SENTENCE]
    lines += ["", "| config | SFC | time (s) | speed-up | memory (MiB) | memory saving | GFLOPs | top-1 |",
              "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        config = f"**{row['config']}**" if row["config"] == plotted else row["config"]
        accuracy = "—" if hide_accuracy or row["accuracy"] is None else f"{row['accuracy']:.2f}"
        lines.append(f"| {config} | {_sfc_name(row)} | {row['model_time_s']:.3f} | "
                     f"{format_ratio(row['vs_chunked']['time'])} | {row['peak_memory_bytes'] / MIB:.0f} | "
                     f"{format_ratio(row['vs_chunked']['memory'])} | {row['flops'] / 1e9:.1f} | {accuracy} |")
    return "\n".join(lines)


def benchmark_tables_markdown() -> str:
    """Compact per-model tables for below the plots: every configuration measured, each table with its
    source file and the command that regenerates it; accuracy only where the backbone's weights are real."""
    reports = _bench_reports()
    if not reports:
        return f"No benchmark report is committed yet: run `{MAKE_ONE}` to make one."
    parts = ["Times are the model's, per video (median). *speed-up* and *memory saving*: dense with one view at a "
             "time ÷ this row (below 1.00x: this row is slower or needs more memory). **Bold**: the SFC the plots "
             "show, the app's default. *top-1* on a report's few videos is a sanity check; the trade-off plot is the "
             "held-out accuracy."]
    parts += [_model_table(*entry) for entry in _models(reports)]
    seeds = _selection_reports()
    if seeds:
        parts.append(f"The trade-off plot reads {', '.join(f'`{_relative(path)}`' for path, _ in seeds)}. "
                     f"Regenerate: `{seeds[0][1]['command']}`.")
    return "\n\n".join(parts)
