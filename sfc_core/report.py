"""One prediction's report: the stable JSON of `predict --json`, `SFCModel.predict` and the app.
Its parts: a `Result` per mode that ran (with SFC's `KeptFrames`), and each part's `Provenance`.

Top level: `model`, `weights` (the backbone checkpoint, or "random"), `sfc_weights` (the trained SFC
file, or how the untrained SFC chose), `provenance` (`backbone` and `sfc`: kind, source, verified),
`video`, `settings` (what ran), `dense` and `sfc` (null when that mode did not run), each with `top5`
(`[label, probability]` pairs), `model_time_s`, `decode_time_s`, `peak_memory_bytes`, `flops` (null
when run with `measure="time"`), `device`; `sfc` also has `kept_frames`, `kept_timestamps_s`,
`kept_positions`, `scores` and `position_frames`; `ratios` (dense / SFC) with `time`, `memory`, `flops`;
and `notes`: what the user should read beside the answer (e.g. that the embedded model knows only
SynthActions), then what the runs noticed about the video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .profiling import Measurement, format_ratio, ratio
from .sampling import SamplingPlan
from .sfc import DEFAULT_TRAINING_FREE
from .video import VideoInfo

TOP_K = 5


@dataclass(frozen=True)
class Provenance:
    """Where a part came from and how it was checked.

    kind: for the backbone "embedded", "published", "file", "random" or "given" (a module passed in);
    for the SFC "trained", "training-free" or "untrained". source: the file, URL or training-free
    method. verified: how the file was checked, when it was."""

    kind: str
    source: str | None = None
    verified: str | None = None

    def describe(self) -> str:
        """One line for people (the CLI, the app)."""
        name = Path(self.source).name if self.source else ""
        return {
            "embedded": f"embedded ({name})",
            "published": f"published weights ({name}; verified by {self.verified})",
            "file": f"checkpoint {self.source}",
            "random": "random weights (timing only: labels are noise)",
            "given": "weights given in memory",
            "trained": f"trained ({name})",
            "training-free": training_free_label(self.source or DEFAULT_TRAINING_FREE),
            "untrained": "untrained (TopK by a random scorer: cost only)",
        }[self.kind]


def training_free_label(method: str) -> str:
    return f"training-free, untrained weights (TopK by feature {method}; no trained SFC for this backbone)"


@dataclass
class KeptFrames:
    positions: list[int]  # kept temporal positions of the head's output
    frame_indices: list[int]  # representative source frame of each kept position
    timestamps_s: list[float]
    scores: list[float]

    @classmethod
    def at(cls, positions: list[int], result: Result, scores: Sequence[float]) -> KeptFrames:
        """`positions` of `result`'s SFC clip, each with the sampled frame (and its time) at its centre."""
        centres, stamps, frames = result.position_centres, result.timestamps_s[0], result.position_frames
        return cls(positions=list(positions), frame_indices=[frames[p] for p in positions],
                   timestamps_s=[stamps[centres[p]] for p in positions], scores=[float(scores[p]) for p in positions])


@dataclass(repr=False)
class Result:
    mode: str  # "dense" or "sfc"
    model: str
    labels: list[str]
    probabilities: np.ndarray  # (num_classes,)
    video: VideoInfo
    plan: SamplingPlan
    frame_indices: list[list[int]]  # source frame actually decoded, per clip and sample
    timestamps_s: list[list[float]]
    measurement: Measurement
    notes: list[str] = field(default_factory=list)
    # SFC only
    kept: KeptFrames | None = None
    scores: list[float] | None = None  # every head temporal position
    attention: np.ndarray | None = None  # (T_head, Hk, Wk) mean attention per key position, or the score map
    heatmap_kind: str | None = None  # "attention" (a learned SFC's attention ran) or "score" (training-free)
    display_frames: np.ndarray | None = None  # (T, crop, crop, 3) uint8: the SFC clip as the model saw it
    tail_input: torch.Tensor | None = None  # SFC's output, kept for attributions (explain.gradcam)
    position_centres: list[int] | None = None  # per head position: the sampled frame at its field's centre
    position_windows: list[list[int]] | None = None  # per head position: the sampled frames it stands for

    @property
    def decode_time_s(self) -> float:
        """Probe + decode + preprocess (median over repeats), measured inside the same request."""
        return self.measurement.input_time_s

    def __repr__(self) -> str:
        label, probability = self.top(1)[0]
        kept = f", kept frames {self.kept.frame_indices}" if self.kept is not None else ""
        return (f"Result({self.mode}: {label} {probability:.3f}, {self.plan.num_views} view(s), "
                f"model {self.measurement.model_time_s:.3f} s{kept})")

    @property
    def position_frames(self) -> list[int]:
        """The source frame that stands for each head position (SFC only)."""
        return [self.frame_indices[0][c] for c in self.position_centres]

    def top(self, k: int = TOP_K) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict:
        """The stable JSON shape read by the app, the bench and outside tools."""
        data = {
            "top5": [[label, p] for label, p in self.top(TOP_K)],
            "model_time_s": self.measurement.model_time_s,
            "decode_time_s": self.decode_time_s,
            "peak_memory_bytes": self.measurement.peak_memory_bytes,
            "memory_breakdown": self.measurement.memory_breakdown,
            "flops": self.measurement.flops,
            "device": self.measurement.device,
            "num_views": self.plan.num_views,
            "frames_decoded": len(self.plan.unique_indices()),
            "notes": list(self.notes),
        }
        if self.kept is not None:
            data.update(
                kept_frames=self.kept.frame_indices,
                kept_timestamps_s=self.kept.timestamps_s,
                kept_positions=self.kept.positions,
                scores=self.scores,
                position_frames=self.position_frames,
                sampled_frames=self.frame_indices[0],
                heatmap_kind=self.heatmap_kind,
            )
        return data


@dataclass(repr=False)
class Report:
    model: str
    provenance: dict[str, Provenance]  # "backbone" and "sfc"
    settings: dict
    dense: Result | None
    sfc: Result | None
    model_notes: list[str] = field(default_factory=list)  # what the answer means for this model on this video

    @property
    def ratios(self) -> dict[str, float | None] | None:
        """Dense / SFC for time, memory and FLOPs, when both ran."""
        if self.dense is None or self.sfc is None:
            return None
        d, s = self.dense.measurement, self.sfc.measurement
        return {
            "time": ratio(d.model_time_s, s.model_time_s),
            "memory": ratio(d.peak_memory_bytes, s.peak_memory_bytes),
            "flops": ratio(d.flops, s.flops),
        }

    @property
    def video_notes(self) -> list[str]:
        """What the runs noticed about the video (too few frames, a truncated file), once each."""
        return list(dict.fromkeys((self.dense.notes if self.dense else []) + (self.sfc.notes if self.sfc else [])))

    @property
    def notes(self) -> list[str]:
        """Everything the user should read beside the answer: the model's notes, then the video's."""
        return self.model_notes + self.video_notes

    def __repr__(self) -> str:
        """What `print(report)` shows: the models and the table the CLI prints (`to_dict()`: everything)."""
        backbone, sfc = self.provenance["backbone"].describe(), self.provenance["sfc"].describe()
        notes = "".join(f"note: {note}\n" for note in self.notes)
        return f"Report: {self.model}; backbone: {backbone}; SFC: {sfc}\n{notes}{format_table(self.to_dict())}"

    def to_dict(self) -> dict:
        backbone, sfc = self.provenance["backbone"], self.provenance["sfc"]
        return {
            "model": self.model,
            "weights": backbone.source if backbone.kind in ("embedded", "published", "file") else backbone.kind,
            "sfc_weights": sfc.source if sfc.kind == "trained" else sfc.describe(),
            "provenance": {part: asdict(p) for part, p in self.provenance.items()},
            "video": asdict((self.dense or self.sfc).video),
            "settings": dict(self.settings),
            "dense": self.dense.to_dict() if self.dense else None,
            "sfc": self.sfc.to_dict() if self.sfc else None,
            "ratios": self.ratios,
            "notes": self.notes,
        }


def _amount(value: float | None, unit: float, form: str) -> str:
    return form.format(value / unit) if value is not None else "not measured"


def format_table(data: dict) -> str:
    """The report as the predict CLI prints it: top-5 and costs side by side, then the ratios."""
    modes = [m for m in ("dense", "sfc") if data[m]]
    rows = [("", *[m.upper() for m in modes])]
    for rank in range(5):
        rows.append(
            (f"top-{rank + 1}", *[f"{data[m]['top5'][rank][0][:28]} {data[m]['top5'][rank][1]:.3f}" for m in modes])
        )
    rows += [
        ("views", *[str(data[m]["num_views"]) for m in modes]),
        ("model time", *[f"{data[m]['model_time_s']:.3f} s" for m in modes]),
        ("decode time", *[f"{data[m]['decode_time_s']:.3f} s" for m in modes]),
        ("peak memory", *[_amount(data[m]["peak_memory_bytes"], 2**20, "{:.0f} MiB") for m in modes]),
        ("FLOPs", *[_amount(data[m]["flops"], 1e9, "{:.1f} G") for m in modes]),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    if data["ratios"]:
        lines.append("dense / SFC: " + ", ".join(f"{k} {format_ratio(v)}" for k, v in data["ratios"].items()))
    if data["sfc"]:
        lines.append(f"SFC kept frames: {data['sfc']['kept_frames']}")
    return "\n".join(lines)
