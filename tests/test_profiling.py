"""Measurement helpers: FLOPs by hand, warm-up excluded from timing, memory sees allocations."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import sfc_core
from sfc_core import allocator, profiling
from sfc_core.device import pick_device
from sfc_core.errors import ConfigError
from sfc_core.profiling import PeakMemory, Stopwatch, count_flops, measure

CPU = torch.device("cpu")


def test_flops_of_a_tiny_conv_net_match_a_hand_count() -> None:
    net = nn.Sequential(nn.Conv3d(3, 4, (1, 3, 3), bias=False), nn.Flatten(), nn.Linear(4 * 2 * 3 * 3, 5))
    x = torch.randn(2, 3, 2, 5, 5)
    _, flops = count_flops(lambda: net(x))
    with torch.inference_mode():  # here `linear` reaches the counter whole and is taken apart there
        _, inference_flops = count_flops(lambda: net(x))
    # conv: output 2x4x2x3x3 = 144 positions, each 3*1*3*3 = 27 multiply-adds; linear: 2 x 72 x 5.
    conv_macs = 2 * 4 * 2 * 3 * 3 * 27
    linear_macs = 2 * 72 * 5
    assert flops == inference_flops == 2 * (conv_macs + linear_macs)


def test_flops_are_what_pytorchs_flop_counter_counts() -> None:
    """`FlopCount` against `FlopCounterMode` on the embedded model's dense view and its whole SFC path (batch
    norms, the learned module's linear layers and attention, the streamed head), with fresh random inputs."""
    model = sfc_core.load("tiny")
    spec = model.config.input_spec
    recognizer = model.sfc_recognizer()
    view, clip = torch.randn(1, 3, spec.frames, spec.crop, spec.crop), torch.randn(1, 3, 64, spec.crop, spec.crop)
    for run in (lambda: model.backbone(view), lambda: recognizer.classify(clip)):
        with torch.inference_mode():
            with FlopCounterMode(display=False) as reference:
                run()
            _, flops = count_flops(run)
        assert flops == reference.get_total_flops() > 0


def test_timing_excludes_the_warm_up_call() -> None:
    calls = []

    def slow_first_call(watch: Stopwatch) -> int:
        with watch.part("input"):
            time.sleep(0.02)
            with watch.part("model"):  # a part inside another is charged to itself only
                time.sleep(0.5 if not calls else 0.01)
        calls.append(1)
        return len(calls)

    result, measurement = measure(slow_first_call, CPU, repeats=3)
    assert len(calls) == 5 and result == 5  # warm-up, memory, 3 timed
    assert measurement.model_time_s < 0.1 and len(measurement.model_times_s) == 3
    assert all(0.009 <= t < 0.1 for t in measurement.model_times_s)
    assert 0.019 <= measurement.input_time_s < 0.1


@pytest.mark.parametrize("force_sampling", [False, True])
def test_peak_memory_sees_a_deliberate_allocation(force_sampling: bool) -> None:
    size = 300 * 2**20
    with PeakMemory(CPU, force_sampling=force_sampling) as memory:
        block = np.ones(size, dtype=np.uint8)  # touched pages: really resident
        time.sleep(0.01)
        del block
    assert size * 0.95 < memory.peak_bytes < size * 1.3


def test_peak_memory_of_measure_reflects_the_model_work() -> None:
    def allocate(_watch: Stopwatch) -> float:
        return torch.ones(64 * 2**20 // 4).sum().item()  # 64 MiB float32

    _, measurement = measure(allocate, CPU)
    assert 60 * 2**20 < measurement.peak_memory_bytes < 100 * 2**20
    assert measurement.flops == 0 and measurement.device.startswith("CPU")


def _leave_holes_in_the_heap() -> list[torch.Tensor]:
    """What a timed call leaves: large tensors from the heap (fast threshold), every other one freed,
    the live ones between keeping the holes from merging or shrinking away. Returns the live ones."""
    allocator.mmap_threshold(allocator.FAST_MMAP_THRESHOLD)  # what measure() leaves between calls
    blocks = [torch.ones(24 * 2**20 // 4) for _ in range(8)]
    del blocks[::2]
    return blocks


GLIBC = pytest.mark.skipif(allocator.mapped_bytes() is None, reason="glibc only")


@GLIBC
def test_with_the_free_heap_reserved_a_large_tensor_gets_a_mapping_of_its_own() -> None:
    survivors = _leave_holes_in_the_heap()

    def mapped_for_a_new_tensor() -> int:
        before = allocator.mapped_bytes()
        block = torch.empty(8 * 2**20 // 4)
        mapped = allocator.mapped_bytes() - before
        del block
        return mapped

    allocator.mmap_threshold(allocator.EXACT_MMAP_THRESHOLD)  # as PeakMemory sets it
    try:
        assert mapped_for_a_new_tensor() == 0  # carved out of a hole: freed, it would stay resident
        with allocator.reserve_free_heap() as held:
            assert held >= 4 and mapped_for_a_new_tensor() >= 8 * 2**20
        assert mapped_for_a_new_tensor() == 0  # the holes are free again afterwards
    finally:
        allocator.mmap_threshold(allocator.FAST_MMAP_THRESHOLD)
    del survivors


@GLIBC
@pytest.mark.skipif(not profiling._can_reset_peak(), reason="reads the exact high-water mark (clear_refs)")
def test_peak_memory_does_not_count_what_earlier_calls_left_in_the_heap() -> None:
    survivors = _leave_holes_in_the_heap()
    mib = 2**20 // 4
    with PeakMemory(CPU) as memory:  # like a model's layers: each output made while its input is alive
        first = torch.ones(12 * mib)
        second = torch.ones(10 * mib)
        del first
        third = torch.ones(14 * mib)  # too large for first's hole: from the heap it would touch new pages
        del second, third
    # At most second + third (24 MiB) alive at once; carved out of the heap's holes it would read 36.
    assert 23 * 2**20 < memory.peak_bytes < 29 * 2**20
    del survivors


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFC_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("SFC_DEVICE", "cuda")
        with pytest.raises(ConfigError, match="no CUDA device"):
            pick_device()


@pytest.mark.slow
def test_a_requests_peak_does_not_depend_on_what_ran_before_it(tmp_path) -> None:
    """SFC measured alone, then again after dense sampling's calls in `--mode both`: the same peak.
    (Before the free heap was reserved, the second read 41 MiB against 25 on this clip.)"""
    import sfc_core
    from scripts.make_bench_clip import write_bench_clip

    clip = write_bench_clip(tmp_path / "street.mp4", seconds=6)
    tiny = sfc_core.load("tiny", device="cpu")
    alone = tiny.predict(clip, mode="sfc").sfc.measurement.peak_memory_bytes
    after_dense = tiny.predict(clip, mode="both").sfc.measurement.peak_memory_bytes
    assert after_dense == pytest.approx(alone, rel=0.1, abs=2**20)
