"""One prediction's report: the stable JSON of `predict --json`, `SFCModel.predict` and the app.

Top level: `model`, `weights` (the backbone checkpoint, or "random"), `sfc_weights` (the trained SFC
file, or how the untrained SFC chose), `provenance` (`backbone` and `sfc`: kind, source, verified),
`video`, `settings` (what ran), `dense` and `sfc` (null when that mode did not run), each with `top5`
(`[label, probability]` pairs), `model_time_s`, `decode_time_s`, `peak_memory_bytes`, `flops` (null
when run with `measure="time"`), `device`; `sfc` also has `kept_frames`, `kept_timestamps_s`,
`kept_positions`, `scores` and `position_frames`; and `ratios` (dense / SFC) with `time`, `memory`, `flops`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .pipeline import Result
from .profiling import format_ratio, ratio

if TYPE_CHECKING:
    from .hub import Provenance


@dataclass
class Report:
    model: str
    provenance: dict[str, "Provenance"]  # "backbone" and "sfc"
    settings: dict
    dense: Result | None
    sfc: Result | None

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
    def notes(self) -> list[str]:
        return list(dict.fromkeys((self.dense.notes if self.dense else []) + (self.sfc.notes if self.sfc else [])))

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
