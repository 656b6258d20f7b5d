"""The Ray engine: a Ray Data pipeline over the files to do.

    paths (from_items) -> decode tasks (map_batches, CPU: probe, hash, decode the planned frames with
    the project's decoder) -> a fixed pool of model actors (map_batches with a class, one GPU each
    when the cluster has GPUs) -> rows, streamed back to the driver, which commits them to the table.

Ray Data streams with backpressure, so decoded videos never pile up faster than the actors take
them. `ray.data.read_videos` is not used: it makes a row of every decoded frame, which is the very
cost SFC exists to avoid. Ray needs the `cluster` extra (`pip install 'sfc-studio[cluster]'`).

Resources: on GPUs each actor takes one GPU and one CPU, and decode tasks one CPU each. On CPUs the
model actors and the decoders share the cluster's CPUs: each actor gets a share of CPUs / (workers +
1) and runs torch with that many threads (at least one); decode tasks ask for half a share, so two
overlap in the share left over (a decode also waits on the file). Stages with different resources
stay separate operators, each running while the other works (Ray fuses stages that ask for the same).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import hub
from ..errors import ConfigError, one_line
from .work import Job, finish, prepare


def _decode(batch: dict, planners, spec) -> dict:
    prepared = [prepare(str(file), planners, spec) for file in batch["file"]]
    return {"prepared": np.array([pickle.dumps(p, protocol=5) for p in prepared], dtype=object)}


class _ModelWorker:
    """One model per actor, loaded once; turns prepared videos into rows."""

    def __init__(self, job: Job, threads: int | None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.job, self.model = job, job.load_model()

    def __call__(self, batch: dict) -> dict:
        rows = [finish(self.model, self.job, pickle.loads(item)) for item in batch["prepared"]]
        return {"row": np.array([json.dumps(row) for row in rows], dtype=object)}


def run_ray(files: list[Path], model: hub.SFCModel, job: Job, *, workers: int = 1,
            address: str | None = None) -> Iterator[dict]:
    """The rows of `files`, in the order they finish. Joins the cluster at `address`, or the Ray
    instance this process already runs, or starts one on this machine (shut down at the end)."""
    # The driver shows its own progress bar and every error as a row. Quiet Ray Data's progress logs, and
    # the core worker's warning that Ray Data keeps actor constructor arguments in the object store
    # (ray-project/ray#53727: it is logged at ERROR level for every actor pool).
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray engine needs Ray: pip install 'sfc-studio[cluster]'") from None
    started = not ray.is_initialized()
    if started:
        source_root = str(Path(__file__).resolve().parents[2])  # workers import sfc_core as this process does
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                     runtime_env={"env_vars": {"PYTHONPATH": source_root}} if address is None else None)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigError(f"could not {'join the Ray cluster at ' + address if address else 'start Ray'}: "
                              f"{one_line(error)}") from None
    try:
        yield from _pipeline(ray, files, model, job, workers)
    finally:
        if started:
            ray.shutdown()


def _pipeline(ray, files: list[Path], model: hub.SFCModel, job: Job, workers: int) -> Iterator[dict]:
    resources = ray.cluster_resources()
    cpus, gpus = resources.get("CPU", 1.0), resources.get("GPU", 0.0)
    device = job.load.get("device") or ("cuda" if gpus else "cpu")
    if device.startswith("cuda"):
        if workers > gpus:
            raise ConfigError(f"--workers {workers}: the Ray cluster has {gpus:g} GPU(s), and each worker needs one")
        actor = {"num_cpus": 1, "num_gpus": 1}
        decode_cpus, threads = 1, None
    else:
        share = cpus / (workers + 1)
        actor = {"num_cpus": share}
        decode_cpus, threads = share / 2, max(1, int(share))
    ray.data.DataContext.get_current().enable_progress_bars = False
    planners = job.planners(model) if job.decodes_ahead else None
    dataset = (
        ray.data.from_items([{"file": str(file)} for file in files], override_num_blocks=max(1, len(files)))
        .map_batches(_decode, batch_size=1, num_cpus=decode_cpus,
                     fn_kwargs={"planners": planners, "spec": model.config.input_spec})
        .map_batches(_ModelWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
                     fn_constructor_kwargs={"job": replace(job, load={**job.load, "device": device}),
                                            "threads": threads}, **actor)
    )
    for record in dataset.iter_rows():
        yield json.loads(record["row"])
