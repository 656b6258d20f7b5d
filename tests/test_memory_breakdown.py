"""Where a request's peak memory goes: hand-counted tensors by stage, then real requests whose breakdown
must add up to their measured peak."""

from __future__ import annotations

import pytest
import torch

import sfc_core
from sfc_core.memory_breakdown import OTHER, STAGES, TensorBytes, breakdown, stage, staged
from sfc_core.profiling import Stopwatch, measure
from sfc_core.resources import EXAMPLES_DIR

MIB = 2**20
CPU = torch.device("cpu")


def _mib(count: int) -> torch.Tensor:
    """`count` MiB of float32 made by an operator (so the tracker sees it), with fresh random values."""
    return torch.rand(count * MIB // 4)


def test_the_peak_is_split_by_the_stage_that_made_each_live_tensor() -> None:
    with TensorBytes(CPU) as tensors:
        with stage("input"):
            frames = _mib(3)
            scratch = _mib(2)
        del scratch  # freed before the peak: not part of it
        with stage("head"):
            features = _mib(4)
            view = features.view(2, -1)[0]  # a view shares its storage: counted once
            with stage("input"):  # an inner stage owns what is made inside it
                more_frames = _mib(1)
        peak = dict(tensors.at_peak)
        del frames, features, view, more_frames
        with stage("tail"):
            _mib(1)  # made after the peak, and smaller: the peak stays as it was
    assert peak == {"input": 4 * MIB, "head": 4 * MIB}
    assert tensors.at_peak == peak and tensors.peak_bytes == 8 * MIB


def test_a_storage_lives_until_its_last_view_goes() -> None:
    with TensorBytes(CPU) as tensors:
        with stage("head"):
            base = _mib(2)
            view = base[: MIB // 4]
        del base  # the view keeps the storage alive
        with stage("tail"):
            _mib(1)  # 2 MiB (the view's storage) + 1 MiB: a new peak, with the head's storage still in it
        assert tensors.at_peak == {"head": 2 * MIB, "tail": MIB}
        del view
        with stage("tail"):
            _mib(4)  # the head's storage is gone: 4 MiB alone is the new peak
    assert tensors.at_peak == {"tail": 4 * MIB}


def test_staged_charges_a_generators_work_to_its_stage_and_the_consumers_to_the_consumer() -> None:
    def chunks():
        for _ in range(3):
            yield _mib(1)

    with TensorBytes(CPU) as tensors, stage("sfc_module"):
        held = [chunk * 1 for chunk in staged(chunks(), "head")]  # each product is the consumer's
    # at the peak: two chunks (the one being consumed, the next one just made) and two products
    assert tensors.at_peak == {"head": 2 * MIB, "sfc_module": 2 * MIB} and len(held) == 3


def test_breakdown_adds_what_is_not_a_tensor_and_never_goes_below_zero() -> None:
    assert breakdown({"head": 5}, 12) == {"head": 5, OTHER: 7}
    assert breakdown({"head": 15}, 12) == {"head": 15, OTHER: 0}


def test_measure_reports_the_breakdown_of_its_own_peak() -> None:
    def request(watch: Stopwatch) -> float:
        with watch.part("input"):
            frames = _mib(8)
        with watch.part("model"), stage("head"):
            return (frames * 2).sum().item()

    _, measurement = measure(request, CPU)
    parts = measurement.memory_breakdown
    assert parts["input"] == 8 * MIB and 0 <= parts["head"] - 8 * MIB < 64  # and the 4-byte sum
    assert sum(parts.values()) == pytest.approx(measurement.peak_memory_bytes, rel=0.1)


@pytest.mark.slow  # two real requests with every measurement: the fast lane keeps the hand-counted cases
@pytest.mark.parametrize("sfc", ["auto", "training-free:change"])
def test_a_real_requests_breakdown_adds_up_to_its_peak(sfc: str) -> None:
    report = sfc_core.load("tiny", sfc=sfc).predict(EXAMPLES_DIR / "grow.mp4", mode="both", clips=2)
    for mode, where in (("dense", {"input"}), ("sfc", {"head"})):
        data = report.to_dict()[mode]
        parts = data["memory_breakdown"]
        assert set(parts) <= set(STAGES) and min(parts.values()) >= 0 and all(parts[name] > 0 for name in where)
        tensors = sum(size for name, size in parts.items() if name != OTHER)
        assert tensors <= 1.1 * data["peak_memory_bytes"]  # the tensors fit in the measured peak
        assert sum(parts.values()) == pytest.approx(data["peak_memory_bytes"], rel=0.1)


def test_the_app_names_and_colours_every_stage_in_the_breakdowns_order() -> None:
    from app.figures import MEMORY_PARTS

    assert list(MEMORY_PARTS) == list(STAGES)
