"""Measure model work: wall time, peak memory and FLOPs, the same way for every mode.

- Time: CUDA events around the call (with synchronisation) on GPU, `time.perf_counter` on CPU.
  The first call is a warm-up (lazy initialisation, kernel selection) and is never timed.
- FLOPs: counted on that warm-up call with `torch.utils.flop_counter.FlopCounterMode`
  (convolutions, matrix products and attention; element-wise work is not counted).
- Peak memory: what the call adds on top of what was allocated before it.
  GPU: the CUDA caching allocator's peak (`max_memory_allocated`) minus the allocation before.
  CPU: the process's resident-set high-water mark. Linux lets a process reset it
  (`echo 5 > /proc/self/clear_refs` sets VmHWM to the current RSS), so we trim free heap back to
  the OS (`malloc_trim`), reset the mark, run, and read VmHWM minus the RSS before. Where that
  reset is unavailable, a background thread samples RSS every millisecond instead.
"""

from __future__ import annotations

import ctypes
import gc
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

from .device import describe
from .errors import ConfigError

T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Measurement:
    model_time_s: float  # median over timed repeats
    model_times_s: tuple[float, ...]
    peak_memory_bytes: int
    flops: int
    device: str


def ratio(dense: float, sfc: float) -> float | None:
    """How many times more `dense` costs than `sfc` (None when SFC's cost is zero: nothing to divide)."""
    return dense / sfc if sfc > 0 else None


def format_ratio(value: float | None) -> str:
    """A ratio as tables show it: "7.08x", or "n/a" when there was nothing to divide by."""
    return f"{value:.2f}x" if value is not None else "n/a"


def count_flops(fn: Callable[[], T]) -> tuple[T, int]:
    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


def _read_status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from {_STATUS}")


def current_rss_bytes() -> int:
    return _read_status_kib("VmRSS") * 1024


def _trim_heap() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def release_memory(device: torch.device) -> None:
    """Hand freed memory back to the system after a request: glibc keeps freed blocks (one arena
    per thread that served a request) and CUDA's caching allocator keeps freed blocks, so a
    long-running server's footprint would otherwise stay at its busiest moment."""
    gc.collect()
    _trim_heap()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _can_reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """Context manager: `.peak_bytes` is the most memory in use during the block, above the start."""

    def __init__(self, device: torch.device, force_sampling: bool = False) -> None:
        self.device = device
        self.force_sampling = force_sampling
        self.peak_bytes = 0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._baseline = torch.cuda.memory_allocated(self.device)
            return self
        _trim_heap()
        self._baseline = current_rss_bytes()
        self._sampler = None
        if self.force_sampling or not _can_reset_peak():
            self._sampler = _RssSampler()
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self._sampler is not None:
            peak = self._sampler.stop()
        else:
            peak = _read_status_kib("VmHWM") * 1024
        self.peak_bytes = max(0, peak - self._baseline)


class _RssSampler(threading.Thread):
    def __init__(self, interval_s: float = 0.001) -> None:
        super().__init__(daemon=True)
        self.interval_s, self.peak = interval_s, current_rss_bytes()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, current_rss_bytes())
            time.sleep(self.interval_s)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, current_rss_bytes())


def _timed(fn: Callable[[], T], device: torch.device) -> tuple[T, float]:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        result = fn()
        end.record()
        torch.cuda.synchronize(device)
        return result, start.elapsed_time(end) / 1000.0
    begin = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - begin


# Held by code that touches process-wide torch state: FlopCounterMode's global module hooks and the
# memory high-water mark here, captum's hooks on shared modules in `explain`. Concurrent requests in
# the app would otherwise trip over each other's hooks and share each other's peaks.
EXCLUSIVE = threading.RLock()


def measure(fn: Callable[[], T], device: torch.device, repeats: int = 1) -> tuple[T, Measurement]:
    """Warm up once (counting FLOPs), then time `repeats` calls and record their peak memory.

    One measurement at a time per process (see EXCLUSIVE), so every number is the cost of one run
    alone, even when several app users are served at once."""
    if repeats < 1:
        raise ConfigError("repeats must be >= 1")
    with EXCLUSIVE:
        _, flops = count_flops(fn)
        times = []
        with PeakMemory(device) as memory:
            for _ in range(repeats):
                result, seconds = _timed(fn, device)
                times.append(seconds)
    measurement = Measurement(
        model_time_s=statistics.median(times),
        model_times_s=tuple(times),
        peak_memory_bytes=memory.peak_bytes,
        flops=flops,
        device=describe(device),
    )
    return result, measurement
