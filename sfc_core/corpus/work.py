"""One video's work in two stages, so that an engine can run them apart: `prepare` (probe, hash and
decode the planned frames: CPU and I/O) and `finish` (the model: SFC and/or dense, then the row).

A `Job` says what runs on every video; it is plain data, so it travels to Ray workers, which load
their own copy of the model with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import hub
from ..errors import SFCError, one_line
from ..inputs import DecodedVideo, Planner, decode_ahead
from ..models.registry import InputSpec
from ..options import RunOptions
from ..streaming import over_time
from .inputs import fingerprint
from .tables import COLUMNS


@dataclass(frozen=True)
class Job:
    load: dict  # hub.load's keyword arguments: name, backbone, sfc, device and the SFC settings
    options: RunOptions = RunOptions()  # how each video runs
    over_time_s: float | None = None  # also each window of this many seconds, from one streamed pass

    def load_model(self) -> hub.SFCModel:
        return hub.load(**self.load)

    def planners(self, model: hub.SFCModel) -> list[Planner]:
        """The sampling plans of the modes that run (picklable): what `prepare` decodes."""
        return [recognizer.plan for recognizer in model.recognizers(self.options).values()]

    @property
    def decodes_ahead(self) -> bool:
        """Frames are decoded ahead of the model unless memory is measured: then each video is read the
        way predict reads it, so its peak memory counts decoding as predict's does."""
        return self.options.measure == "time"


@dataclass
class Prepared:
    """A video ready for the model: its identity, its decoded frames (None: the model reads the file)
    or the error that stopped it."""

    file: str
    identity: dict  # size, mtime, sha256
    video: DecodedVideo | None = None
    error: str | None = None


def prepare(file: str, planners: list[Planner] | None, spec: InputSpec) -> Prepared:
    """Hash `file` and, with `planners`, decode the frames their plans need."""
    path = Path(file)
    prepared = Prepared(file, fingerprint(path, content=True))
    if planners is not None:
        try:
            prepared.video = decode_ahead(path, planners, spec)
        except Exception as error:  # one bad file is one error row, never the end of a corpus run
            prepared.error = error_message(error)
    return prepared


def finish(model: hub.SFCModel, job: Job, prepared: Prepared) -> dict:
    """The table row of a prepared video (see sfc_core.cli.batch for the columns)."""
    row = dict.fromkeys(COLUMNS) | {"file": prepared.file, **prepared.identity, "status": "error"}
    if prepared.error is not None:
        return row | {"error": prepared.error}
    try:
        report = model.predict(prepared.video or prepared.file, job.options).to_dict()
        windows = over_time(model, prepared.file, job.over_time_s) if job.over_time_s else None
    except Exception as error:  # as above
        return row | {"error": error_message(error)}
    sfc, dense = report["sfc"], report["dense"]
    if windows is not None:
        answers = [{"window_s": list(w.window_s), "top1": w.top5[0][0], "top1_prob": w.top5[0][1],
                    "kept_frames": w.kept_frames} for w in windows]
        row["over_time"] = json.dumps({"window_s": job.over_time_s, "windows": answers})
    return row | {
        "status": "ok", "result": json.dumps(report), "duration_s": report["video"]["duration_s"],
        "sfc_top1": sfc["top5"][0][0] if sfc else None, "sfc_top1_prob": sfc["top5"][0][1] if sfc else None,
        "dense_top1": dense["top5"][0][0] if dense else None, "model_time_s": (sfc or dense)["model_time_s"],
    }


def error_message(error: Exception) -> str:
    """The one line predict prints for a user's error; any other exception is named, as a traceback would."""
    return one_line(error) if isinstance(error, SFCError) else f"{type(error).__name__}: {one_line(error)}"
