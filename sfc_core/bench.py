"""Side-by-side benchmark: dense sampling vs SFC on the same videos, same backbone (`sfc-bench` runs it).

For every model it runs two dense variants (all 30 views in one batch: what the paper compares
against; one view at a time: lowest memory, and on a CPU the fastest), a sweep of SFC configurations
(long-clip length, kept temporal positions, spatial compression; the learned module's cost) and the
training-free SFC at the defaults. Per configuration: model time (median, min, max over repeats;
warm-up excluded), decode time and frames decoded per second, end-to-end time, peak memory of the
whole request (decoding included), FLOPs, the dense/SFC ratios against both dense variants, how often
SFC agrees with dense (top-1, and rank correlation of the top-5), and top-1 accuracy where labels
exist. Writes bench.json, bench.md and bench.png to --out.

Every configuration runs in a fresh process (as a user's `sfc-predict` call does), where
`profiling.PeakMemory` resets the high-water mark before its memory call, so no configuration's peak
depends on what ran before it. With `processes` > 1, every configuration runs that many times, each in
a fresh process, in rounds (every configuration once per round, so a machine that slows down slows
them all), and its figures are the medians over the processes: a small model's time varies by up
to 1.5x from one process to the next. Without videos, the bench generates SynthActions clips
(deterministic, labelled).
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from . import hub, models, synth
from .device import check_precision, describe, pick_device
from .environment import environment
from .errors import ConfigError
from .options import DEFAULT_LENGTH
from .profiling import format_ratio, ratio
from .report import Provenance, Result
from .sfc import DEFAULT_TRAINING_FREE

BASELINES = ("dense batched", "dense chunked")


@dataclass(frozen=True)
class BenchConfig:
    name: str
    kind: str  # "dense" or "sfc"
    batch_size: int | None = None  # dense
    length: int = DEFAULT_LENGTH  # sfc
    keep: int | None = None
    spatial_stride: int = 1
    training_free: str | None = None  # sfc: this parameter-free score instead of the learned module


def configurations(native_keep: int, temporal_stride: int, quick: bool) -> list[BenchConfig]:
    """The two dense baselines, the SFC sweep (lengths x kept positions x spatial stride) and the
    training-free SFC at the defaults (what runs for a backbone without a trained SFC: it streams)."""
    configs = [BenchConfig("dense batched", "dense"), BenchConfig("dense chunked", "dense", batch_size=1)]
    lengths = (32, 64) if quick else (16, 32, 64)
    keeps = (native_keep,) if quick else (native_keep, max(1, native_keep // 2))
    strides = (1,) if quick else (1, 2)
    for length in lengths:
        for keep in keeps:
            if length // temporal_stride < keep:
                continue
            for stride in strides:
                name = f"sfc L={length} keep={keep} s={stride}"
                configs.append(BenchConfig(name, "sfc", length=length, keep=keep, spatial_stride=stride))
    configs.append(BenchConfig(f"sfc L={DEFAULT_LENGTH} keep={native_keep} s=1 training-free", "sfc",
                               keep=native_keep, training_free=DEFAULT_TRAINING_FREE))
    return configs


def _spearman_top5(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two probability vectors over the union of their top-5 classes."""
    union = np.union1d(np.argsort(-a)[:5], np.argsort(-b)[:5])
    ranks_a, ranks_b = np.argsort(np.argsort(-a[union])), np.argsort(np.argsort(-b[union]))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _row(config: BenchConfig, video: Path, result: Result, label: int | None) -> dict:
    m = result.measurement
    frames = len(result.plan.unique_indices())
    return {
        "config": config.name,
        "video": video.name,
        "model_time_s": m.model_time_s,
        "model_time_min_s": min(m.model_times_s),
        "model_time_max_s": max(m.model_times_s),
        "decode_time_s": result.decode_time_s,
        "end_to_end_s": result.decode_time_s + m.model_time_s,
        "frames_decoded": frames,
        "decode_fps": frames / result.decode_time_s,
        "peak_memory_bytes": m.peak_memory_bytes,
        "flops": m.flops,
        "top1": int(np.argmax(result.probabilities)),
        "correct": None if label is None else bool(np.argmax(result.probabilities) == label),
        "probabilities": result.probabilities.tolist(),
    }


def _summarise(config: BenchConfig, rows: list[dict], baselines: dict[str, list[dict]], sfc: str | None,
               predictions_mean: bool) -> dict:
    """Medians and ratios of one configuration. `sfc`: which SFC ran ("trained", "untrained" or
    "training-free:<score>"; None for dense); accuracy and agreement are reported only where the
    predictions mean something (`predictions_mean`: real backbone weights; and never for an untrained SFC)."""
    def median(key: str, of: list[dict]) -> float:
        return statistics.median(r[key] for r in of)

    meaningful = predictions_mean and sfc != "untrained"
    summary = {
        "config": config.name,
        "kind": config.kind,
        "sfc": sfc,
        "length": config.length if config.kind == "sfc" else None,
        "keep": config.keep,
        "spatial_stride": config.spatial_stride if config.kind == "sfc" else None,
        **{k: median(k, rows) for k in ("model_time_s", "decode_time_s", "end_to_end_s", "decode_fps")},
        "model_time_spread_s": [min(r["model_time_min_s"] for r in rows), max(r["model_time_max_s"] for r in rows)],
        "peak_memory_bytes": median("peak_memory_bytes", rows),
        "flops": median("flops", rows),
        "accuracy": None,
    }
    if meaningful and all(r["correct"] is not None for r in rows):
        summary["accuracy"] = sum(r["correct"] for r in rows) / len(rows)
    for base, base_rows in baselines.items():
        key = base.replace("dense ", "vs_")
        summary[key] = {
            key: ratio(median(field, base_rows), summary[field])
            for key, field in (("time", "model_time_s"), ("end_to_end", "end_to_end_s"),
                               ("memory", "peak_memory_bytes"), ("flops", "flops"))
        }
    dense_rows = baselines["dense batched"]
    summary["top1_agreement"] = summary["top5_rank_correlation"] = None
    if meaningful:
        summary["top1_agreement"] = float(np.mean([r["top1"] == d["top1"] for r, d in zip(rows, dense_rows)]))
        summary["top5_rank_correlation"] = float(np.mean([
            _spearman_top5(np.array(r["probabilities"]), np.array(d["probabilities"]))
            for r, d in zip(rows, dense_rows)]))
    return summary


def _run_configuration(name: str, bench_config: BenchConfig, videos: list[Path], labels: list[int | None], *,
                       repeats: int, backbone: str | Path, device: str | torch.device | None,
                       precision: str) -> tuple[list[dict], str | None]:
    """One configuration on every video: its rows, and which SFC it ran ("trained", "untrained",
    "training-free:<score>"; None for dense)."""
    base = hub.load(name, backbone, hub.AUTO, device)
    if bench_config.kind == "dense":
        recognizer = base.dense_recognizer(batch_size=bench_config.batch_size, repeats=repeats, precision=precision)
        ran = None
    elif bench_config.training_free:
        ran = f"{hub.TRAINING_FREE}{bench_config.training_free}"
        recognizer = base.replace(sfc=ran, length=bench_config.length, keep=bench_config.keep).sfc_recognizer(
            repeats=repeats, precision=precision)
    else:
        trained = base.provenance["sfc"].kind == "trained"
        fits_trained = trained and (bench_config.keep, bench_config.spatial_stride) == (
            base.settings.keep, base.settings.spatial_stride)
        ran = "trained" if fits_trained else "untrained"  # untrained: the learned module's cost, not its accuracy
        model = base if fits_trained else base.replace(sfc=hub.UNTRAINED)
        recognizer = model.replace(length=bench_config.length, keep=bench_config.keep,
                                   spatial_stride=bench_config.spatial_stride).sfc_recognizer(repeats=repeats,
                                                                                                precision=precision)
    return [_row(bench_config, video, recognizer(video), label) for video, label in zip(videos, labels)], ran


def _median_over_processes(per_process: list[list[dict]]) -> list[dict]:
    """One row per video from the rows of several processes: each measurement's median, the time spread
    over all of them (the predictions are the same in every process)."""
    merged = []
    for runs in zip(*per_process):
        row = dict(runs[0])
        for key in ("model_time_s", "decode_time_s", "end_to_end_s", "decode_fps", "peak_memory_bytes"):
            row[key] = statistics.median(run[key] for run in runs)
        row["model_time_min_s"] = min(run["model_time_min_s"] for run in runs)
        row["model_time_max_s"] = max(run["model_time_max_s"] for run in runs)
        merged.append(row)
    return merged


def bench_model(name: str, videos: list[Path], labels: list[int | None], *, quick: bool = False, repeats: int = 3,
                backbone: str | Path = hub.AUTO, device: str | torch.device | None = None,
                precision: str = "fp32", processes: int = 1) -> dict:
    """Every configuration of `configurations` on every video, with this backbone (as `hub.load`), each
    configuration in a fresh process: a process's peaks depend on what ran in it before (dense one view
    at a time measured 45% more after the batched 30 views than in a fresh process), and a user's
    `sfc-predict` call is a fresh process too."""
    shipped = hub.load(name, backbone, hub.AUTO, device)
    native_keep = shipped.replace(sfc=hub.UNTRAINED).settings.keep  # the tail's size, whatever SFC ships
    temporal_stride = shipped.config.input_spec.frames // native_keep
    configs = configurations(native_keep, temporal_stride, quick)
    runs: dict[str, list[list[dict]]] = {c.name: [] for c in configs}  # per configuration, one row list a process
    ran: dict[str, str | None] = {}  # which SFC each configuration ran
    for round_ in range(processes):
        for bench_config in configs:
            with multiprocessing.get_context("spawn").Pool(1) as worker:
                rows, ran[bench_config.name] = worker.apply(
                    _run_configuration, (name, bench_config, videos, labels),
                    {"repeats": repeats, "backbone": backbone, "device": device, "precision": precision})
            runs[bench_config.name].append(rows)
            print(f"  {name}: {bench_config.name} done (process {round_ + 1} of {processes})", flush=True)
    rows = {config_name: _median_over_processes(per_process) for config_name, per_process in runs.items()}
    baselines = {base_name: rows[base_name] for base_name in BASELINES}
    trained = shipped.provenance["sfc"].kind == "trained"
    return {
        "weights": shipped.provenance["backbone"].describe(),
        "sfc_weights": shipped.provenance["sfc"].describe() if trained else Provenance("untrained").describe(),
        "sfc_training": shipped.sfc_training if trained else None,
        "summary": [_summarise(c, rows[c.name], baselines, ran[c.name], shipped.provenance["backbone"].kind != "random")
                    for c in configs],
        "rows": rows,
    }


def _ratio_cells(summary: dict) -> list[str]:
    """speed-up, vs chunk, mem save, mem vs chunk, FLOPs ratio: the columns both tables share."""
    pairs = (("vs_batched", "time"), ("vs_chunked", "time"), ("vs_batched", "memory"), ("vs_chunked", "memory"),
             ("vs_batched", "flops"))
    return [format_ratio(summary[base][key]) for base, key in pairs]


def _cell(value: float | None, form: str = "{:.2f}") -> str:
    return "-" if value is None else form.format(value)


def format_table(model: str, result: dict) -> str:
    header = ("config", "SFC", "model s", "e2e s", "peak MiB", "GFLOPs", "speed-up", "vs chunk", "mem save",
              "mem vs chunk", "FLOPs ratio", "agree", "acc")
    lines = [header]
    for s in result["summary"]:
        lines.append((
            s["config"], s["sfc"] or "-", f"{s['model_time_s']:.3f}", f"{s['end_to_end_s']:.3f}",
            f"{s['peak_memory_bytes'] / 2**20:.0f}", f"{s['flops'] / 1e9:.1f}", *_ratio_cells(s),
            _cell(s["top1_agreement"]), _cell(s["accuracy"]),
        ))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    title = f"{model} (backbone: {result['weights']}; SFC: {result['sfc_weights']})"
    videos = max(len(rows) for rows in result["rows"].values())
    footer = (f"agree: share of videos where SFC's top-1 is dense's; acc: top-1 accuracy where labels exist; both over "
              f"{videos} video(s): a sanity check, not an accuracy measure (that is sfc-evaluate)")
    return "\n".join([title] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in lines] + [footer])


def missing_models(report: dict) -> list[str]:
    """Models the run was asked for but did not finish (it writes its report after every model)."""
    return [name for name in report.get("models_requested", []) if name not in report["models"]]


def markdown(report: dict) -> str:
    env = report["environment"]
    out = [
        "# SFC vs dense sampling benchmark",
        "",
        f"Device: **{report['device']}** ({env['cpu']}; {', '.join(env['cpu_flags']) or 'no AVX'}; "
        f"{env['torch_threads']} threads; torch {env['torch']}). Date: {env['date']}. Repeats: {report['repeats']} "
        f"timed after one warm-up, in each of {report.get('processes', 1)} fresh process(es) per configuration "
        f"(medians over them). Videos: {', '.join(report['videos'])}.",
        "",
        f"Regenerate: `{report['command']}`.",
        "",
        "Ratios are dense / SFC, measured in the same run. *speed-up* and *mem save* compare with all "
        "30 views in one batch; *vs chunk* and *mem vs chunk* with one view at a time (dense's lowest memory, "
        "and on a CPU often its fastest too). *SFC* says which SFC each row ran: the trained one, a "
        "training-free score, or the learned module with untrained weights (its cost only: those rows have "
        "no accuracy). *agree*: fraction of videos where SFC's top-1 equals dense's; *rho5*: rank correlation "
        "of their top-5; both, and *top-1 acc*, only where the backbone's weights are real. Accuracy on a "
        "handful of clips is a sanity check; the held-out evaluation (`sfc-evaluate`) is the "
        "accuracy measure.",
        "",
    ]
    missing = missing_models(report)
    if missing:
        out += [f"**Incomplete:** the run stopped before measuring {', '.join(missing)}.", ""]
    for model, result in report["models"].items():
        out += [f"## {model}", "", f"Backbone weights: {result['weights']}. SFC: {result['sfc_weights']}.", ""]
        out.append("| config | SFC | model time (s) | end-to-end (s) | decode fps | peak memory (MiB) | GFLOPs | "
                   "speed-up | vs chunk | mem save | mem vs chunk | FLOPs ratio | agree | rho5 | top-1 acc |")
        out.append("|" + "---|" * 15)
        for s in result["summary"]:
            out.append(
                f"| {s['config']} | {s['sfc'] or '-'} | {s['model_time_s']:.3f} ({s['model_time_spread_s'][0]:.3f}-"
                f"{s['model_time_spread_s'][1]:.3f}) | {s['end_to_end_s']:.3f} | {s['decode_fps']:.0f} | "
                f"{s['peak_memory_bytes'] / 2**20:.0f} | {s['flops'] / 1e9:.1f} | {' | '.join(_ratio_cells(s))} | "
                f"{_cell(s['top1_agreement'])} | {_cell(s['top5_rank_correlation'])} | {_cell(s['accuracy'])} |"
            )
        out.append("")
    return "\n".join(out)


_MARKERS = {  # which SFC a row ran -> (marker, legend)
    "trained": ("o", "trained SFC"),
    "untrained": ("x", "learned module, untrained weights (cost only)"),
    "training-free": ("s", "training-free score"),
}


def figure(report: dict, path: Path) -> None:
    """Cost only, which every row measures: time and memory ratios against dense one view at a time."""
    names = list(report["models"])
    fig = Figure(figsize=(6.5 * len(names), 4.8))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, model in zip(axes[0], names):
        sfc_rows = [s for s in report["models"][model]["summary"] if s["kind"] == "sfc"]
        for kind, (marker, legend) in _MARKERS.items():
            chosen = [s for s in sfc_rows if (s["sfc"] or "").startswith(kind)]
            if chosen:
                ax.scatter([s["vs_chunked"]["time"] for s in chosen], [s["vs_chunked"]["memory"] for s in chosen],
                           marker=marker, label=legend)
        for s in sfc_rows:
            ax.annotate(s["config"].replace("sfc ", "").replace(" training-free", ""),
                        (s["vs_chunked"]["time"], s["vs_chunked"]["memory"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("time: dense one view at a time / SFC (higher is better)")
        ax.set_ylabel("peak memory: dense one view at a time / SFC")
        ax.set_title(f"{model} on {report['device']}")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def benchmark(model_names: list[str], videos: list[Path], *, quick: bool = False, clips: int = 3, repeats: int = 3,
              backbone: str = hub.AUTO, device: str | None = None, out: Path = Path("benchmarks") / "latest",
              precision: str = "fp32", command: str | None = None, processes: int = 1) -> dict:
    """Benchmark each model on `videos` (none: `clips` generated SynthActions clips); writes
    bench.json, bench.md and bench.png to `out` and returns the report. `command`: what regenerates it;
    `processes`: fresh processes per configuration (medians over them)."""
    if processes < 1:
        raise ConfigError("processes must be >= 1")
    if quick:
        clips, repeats, processes = 1, 1, 1
    chosen = pick_device(device)
    check_precision(precision, chosen)  # an unavailable device or precision fails here, before any work
    device_name = describe(chosen)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        labels = [None] * len(videos)
        described = [v.name for v in videos]
        if not videos:
            specs = synth.write_dataset(Path(scratch), clips, seed=2024)
            videos = [synth.clip_path(scratch, s) for s in specs]
            labels = [s.label for s in specs]
            described = [f"SynthActions seed 2024 ({len(videos)} clips)"]
        report = {
            "command": command,
            "environment": environment(chosen),
            "device": device_name,
            "repeats": repeats,
            "processes": processes,
            "precision": precision,
            "videos": described,
            "models_requested": list(model_names),
            "models": {},
        }
        for name in model_names:
            model_labels = labels if models.get_config(name).label_set == "synth_actions" else [None] * len(videos)
            report["models"][name] = bench_model(name, videos, model_labels, quick=quick, repeats=repeats,
                                                 backbone=backbone, device=device, precision=precision,
                                                 processes=processes)
            print(format_table(name, report["models"][name]), flush=True)
            _write(report, out)  # after every model: an interrupted run keeps the models it finished
    print(f"wrote {out}/bench.json, bench.md, bench.png")
    return report


def _write(report: dict, out: Path) -> None:
    (out / "bench.json").write_text(json.dumps(report, indent=1))
    (out / "bench.md").write_text(markdown(report))
    figure(report, out / "bench.png")
