"""The local engine: this process runs the model; optionally a few threads decode the next videos
meanwhile (PyAV decodes and converts frames without holding the GIL), so the model need not wait.

That pays where the model runs on a GPU and the CPU is free to decode. Where the model runs on the
CPU it already uses every core: on 2 cores, decoding alongside slowed the model by as much as it
saved (R(2+1)D-18, 640x480 clips: 9.95 s for 6 videos without, 10.51 s with one decoder), so by
default the CPU decodes each video as predict does, a chunk at a time when the head asks for it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

from .. import hub
from .work import Job, finish, prepare


def default_decoders(model: hub.SFCModel) -> int:
    """Decoding threads worth running beside the model: 2 when it runs on a GPU, none on a CPU."""
    return 2 if model.device.type == "cuda" else 0


def run_local(files: list[Path], model: hub.SFCModel, job: Job, decoders: int | None = None) -> Iterator[dict]:
    """The row of each file, in order. `decoders` threads (None: `default_decoders`) decode up to
    `decoders + 1` videos ahead of the model; with none, the model reads each file as predict does."""
    decoders = default_decoders(model) if decoders is None else decoders
    spec = model.config.input_spec
    if decoders == 0 or not job.decodes_ahead:
        for file in files:
            yield finish(model, job, prepare(str(file), None, spec))
        return
    planners = job.planners(model)
    with ThreadPoolExecutor(decoders, thread_name_prefix="sfc-decode") as pool:
        waiting = iter(files)
        ahead = deque(pool.submit(prepare, str(file), planners, spec) for file in islice(waiting, decoders + 1))
        while ahead:
            prepared = ahead.popleft().result()
            ahead.extend(pool.submit(prepare, str(file), planners, spec) for file in islice(waiting, 1))
            yield finish(model, job, prepared)
