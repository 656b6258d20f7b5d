"""Every CUDA branch, on a CUDA device: the allocator's peak, mixed precision, pinned copies, the
synchronised stopwatch, cuDNN autotuning, dense's all-views batch and parity with the CPU.

Marked `cuda` and skipped (and listed as skipped) where no CUDA device exists; run them on a GPU
machine with `python -m pytest -m cuda -rs`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfc_core import device as devices
from sfc_core import hub, models, profiling
from sfc_core.options import RunOptions
from sfc_core.resources import EXAMPLES_DIR
from tests.references import randomize_

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
CUDA = torch.device("cuda") if torch.cuda.is_available() else None
CLIP = EXAMPLES_DIR / "grow.mp4"


@pytest.fixture(scope="module")
def models_on_both() -> tuple[hub.SFCModel, hub.SFCModel]:
    # float32 on both sides: TF32 convolutions and matrix products would round to 10-bit mantissas
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    backbone = randomize_(models.create("tiny"), seed=31)
    on_cpu = hub.from_backbone("tiny", backbone, device="cpu")
    on_gpu = hub.from_backbone("tiny", randomize_(models.create("tiny"), seed=31), device="cuda")
    return on_cpu, on_gpu


def test_the_device_is_picked_and_named() -> None:
    assert devices.pick_device().type == "cuda" and devices.pick_device("cuda").type == "cuda"
    assert devices.describe(CUDA) == torch.cuda.get_device_name(CUDA)
    for precision in devices.PRECISIONS:
        devices.check_precision(precision, CUDA)  # every precision runs on CUDA
    devices.prepare(CUDA)
    assert torch.backends.cudnn.benchmark


def test_peak_memory_is_the_allocators_peak_above_the_start() -> None:
    kept = torch.empty(16 << 20, dtype=torch.uint8, device=CUDA)  # allocated before: not counted
    with profiling.PeakMemory(CUDA) as memory:
        block = torch.empty(64 << 20, dtype=torch.uint8, device=CUDA)
        del block
    assert 64 << 20 <= memory.peak_bytes < (64 << 20) + (2 << 20)
    del kept
    profiling.release_memory(CUDA)
    assert torch.cuda.memory_reserved(CUDA) <= torch.cuda.memory_allocated(CUDA) + (2 << 20)


def test_the_stopwatch_charges_queued_gpu_work_to_its_part() -> None:
    a = torch.randn(4096, 4096, device=CUDA)
    watch = profiling.Stopwatch(CUDA)
    with watch.part("model"):
        for _ in range(20):
            a = a @ a / 64  # queued asynchronously: only the synchronisation makes it model time
    with watch.part("input"):
        pass
    assert watch.seconds["model"] > 10 * watch.seconds["input"]


def test_views_are_copied_from_pinned_memory_and_arrive_intact(models_on_both) -> None:
    _, on_gpu = models_on_both
    recognizer = on_gpu.dense_recognizer()
    views = torch.randn(2, 3, 16, 64, 64)
    copied = recognizer.to_device(views)
    torch.cuda.synchronize(CUDA)
    assert copied.device.type == "cuda" and torch.equal(copied.cpu(), views)


def test_dense_runs_all_views_in_one_batch_on_a_gpu(models_on_both) -> None:
    _, on_gpu = models_on_both
    assert RunOptions().dense_batch_size(CUDA) is None and on_gpu.dense_recognizer().batch_size is None


def test_cuda_gives_the_cpus_answers(models_on_both) -> None:
    on_cpu, on_gpu = models_on_both
    for mode in ("dense", "sfc"):
        cpu, gpu = on_cpu.predict(CLIP, mode=mode), on_gpu.predict(CLIP, mode=mode)
        result_cpu, result_gpu = getattr(cpu, mode), getattr(gpu, mode)
        np.testing.assert_allclose(result_gpu.probabilities, result_cpu.probabilities, atol=1e-4)
        assert result_gpu.measurement.device == torch.cuda.get_device_name(CUDA)
        assert result_gpu.measurement.peak_memory_bytes > 0
        assert result_gpu.measurement.flops == result_cpu.measurement.flops
    assert gpu.sfc.kept.positions == cpu.sfc.kept.positions


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_stays_close_to_float32(models_on_both, precision: str) -> None:
    _, on_gpu = models_on_both
    exact = on_gpu.predict(CLIP, mode="both")
    mixed = on_gpu.predict(CLIP, mode="both", precision=precision)
    for mode in ("dense", "sfc"):
        np.testing.assert_allclose(getattr(mixed, mode).probabilities, getattr(exact, mode).probabilities, atol=2e-2)
    assert mixed.settings["precision"] == precision
