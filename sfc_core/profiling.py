"""Measure one whole request (probe, decode, preprocess, model): wall time split into input and
model time, peak memory and FLOPs, the same way for every mode.

- Time: `time.perf_counter`, split by a `Stopwatch` into the request's parts even when they
  interleave (the head asks for its next chunk of frames mid-run); on GPU the device is
  synchronised at every switch, so GPU work is charged to the part that queued it.
  The first call is a warm-up (lazy initialisation, kernel selection) and is never timed.
- FLOPs: counted on that warm-up call by `FlopCount`, with `torch.utils.flop_counter`'s formulas
  (convolutions, matrix products and attention; element-wise work is not counted).
- Where the peak goes (`memory_breakdown`): on the same warm-up call, the tensors alive when their total
  peaked, by the stage that made them (`sfc_core.memory_breakdown`), and the rest of the measured peak
  beside them (the decoder, Python objects, allocator slack).
- Peak memory: what the request adds on top of what was allocated before it (decoded frames, input
  tensors, activations: everything after the model is loaded), in one more untimed call.
  GPU: the CUDA caching allocator's peak (`max_memory_allocated`) minus the allocation before.
  CPU: the process's resident-set high-water mark. Linux lets a process reset it
  (`echo 5 > /proc/self/clear_refs` sets VmHWM to the current RSS), so we trim free heap back to
  the OS (`malloc_trim`), reset the mark, run, and read VmHWM minus the RSS before. Where that
  reset is unavailable, a background thread samples RSS every millisecond instead.

  The resident set means "memory in use" only if freed memory leaves it: `sfc_core.allocator`
  sets glibc's heap up for that (one arena per process; a fixed mmap threshold, small for the
  memory call and large for the timed calls; the free heap that earlier calls left reserved for the
  memory call's length), so the peak is the same whatever ran before it in the process.

`measure(..., profile=False)` is for throughput (`sfc-batch`): the calls are timed as they run, with
no warm-up, FLOPs or memory call (those are None): a corpus pays for one pass per video, not three.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from . import allocator
from .device import describe
from .errors import ConfigError
from .memory_breakdown import TensorBytes, breakdown, stage

T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Measurement:
    model_time_s: float  # median over timed repeats
    model_times_s: tuple[float, ...]
    input_time_s: float  # median over the same repeats: probe, decode, preprocess
    peak_memory_bytes: int | None  # None: not measured (profile=False)
    flops: int | None
    device: str
    memory_breakdown: dict[str, int] | None = None  # the peak's bytes by stage (sfc_core.memory_breakdown)


def ratio(dense: float | None, sfc: float | None) -> float | None:
    """How many times more `dense` costs than `sfc` (None when SFC's cost is zero or either was not measured)."""
    return dense / sfc if dense is not None and sfc is not None and sfc > 0 else None


def format_ratio(value: float | None) -> str:
    """A ratio as tables show it: "7.08x", or "n/a" when there was nothing to divide by."""
    return f"{value:.2f}x" if value is not None else "n/a"


_KERNEL_KEYS = ("CPU", "CUDA", "CompositeExplicitAutograd")


class FlopCount(TorchDispatchMode):
    """The FLOPs of the ops run inside it, by `torch.utils.flop_counter`'s formulas: the total its
    `FlopCounterMode` counts, at less cost. That mode also tracks every module call, and it
    decomposes every op it has no formula for, so a batch norm ran as a dozen element-wise ops, each through
    Python: counting one dense view at a time took 2x as long as the plain call. Here an op with a kernel of
    its own runs as it is, and only a composite (e.g. `linear`) is taken apart, to reach the products it is
    made of."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self._composite: dict = {}  # op -> whether it is taken apart (no formula and no kernel of its own)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        composite = self._composite.get(func)
        if composite is None:
            composite = self._composite[func] = packet not in flop_registry and not any(
                torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), key) for key in _KERNEL_KEYS)
        if composite:
            with self:  # the parts go through this mode again
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        if packet in flop_registry:
            self.total += flop_registry[packet](*args, **kwargs, out_val=out)
        return out


def count_flops(fn: Callable[[], T]) -> tuple[T, int]:
    with FlopCount() as counter:
        result = fn()
    return result, int(counter.total)


def _read_status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from {_STATUS}")


def current_rss_bytes() -> int:
    return _read_status_kib("VmRSS") * 1024


def release_memory(device: torch.device) -> None:
    """Hand freed memory back to the system after a request: glibc keeps freed blocks (one arena
    per thread that served a request) and CUDA's caching allocator keeps freed blocks, so a
    long-running server's footprint would otherwise stay at its busiest moment."""
    gc.collect()
    allocator.trim()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def reset_rss_high_water() -> None:
    """Start the kernel's resident-memory high-water mark (VmHWM) again from the current RSS."""
    _CLEAR_REFS.write_text("5")


def rss_high_water_bytes() -> int:
    """The most resident memory since the process started or since `reset_rss_high_water`."""
    return _read_status_kib("VmHWM") * 1024


def _can_reset_peak() -> bool:
    try:
        reset_rss_high_water()
        return True
    except OSError:
        return False


class PeakMemory:
    """Context manager: `.peak_bytes` is the most memory in use during the block, above the start.
    On the CPU the block runs with the exact heap and the free heap reserved (see the module
    docstring), and the fast heap after."""

    def __init__(self, device: torch.device, force_sampling: bool = False) -> None:
        self.device = device
        self.force_sampling = force_sampling
        self.peak_bytes = 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._baseline = torch.cuda.memory_allocated(self.device)
            return self
        self._cpu_state = ExitStack()  # undone on exit, or here if anything below fails
        self._cpu_state.callback(allocator.mmap_threshold, allocator.FAST_MMAP_THRESHOLD)
        allocator.mmap_threshold(allocator.EXACT_MMAP_THRESHOLD)
        with self._cpu_state:
            self._cpu_state.enter_context(allocator.reserve_free_heap())
            allocator.trim()
            self._baseline = current_rss_bytes()
            self._sampler = None
            if self.force_sampling or not _can_reset_peak():
                self._sampler = _RssSampler()
                self._sampler.start()
            self._cpu_state = self._cpu_state.pop_all()  # success: keep it all until __exit__
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            with self._cpu_state:
                peak = self._sampler.stop() if self._sampler is not None else rss_high_water_bytes()
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


class Stopwatch:
    """Wall time of one request, charged to the innermost open part ("input", "model")."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)
        self._open: list[str] = []
        self._since = 0.0

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        self._switch()
        self._open.append(name)
        try:
            with stage(name):  # the part's tensors, for the memory breakdown
                yield
        finally:
            self._switch()
            self._open.pop()

    def add(self, name: str, seconds: float) -> None:
        """Charge time spent outside this request's thread (frames decoded ahead) to part `name`."""
        self.seconds[name] += seconds

    def _switch(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        if self._open:
            self.seconds[self._open[-1]] += now - self._since
        self._since = now


# Held by code that touches process-wide state: the memory high-water mark here, captum's hooks on shared
# modules in `explain`. Concurrent requests in the app would otherwise trip over each other's hooks and
# share each other's peaks.
EXCLUSIVE = threading.RLock()


def measure(fn: Callable[[Stopwatch], T], device: torch.device, repeats: int = 1,
            profile: bool = True) -> tuple[T, Measurement]:
    """Warm up once (counting FLOPs), record the peak memory of one call, then time `repeats` calls
    (`profile=False`: only the timed calls). `fn(watch)` runs one request, opening `watch.part("input")`
    and `watch.part("model")` around its parts.

    One measurement at a time per process (see EXCLUSIVE), so every number is the cost of one run
    alone, even when several app users are served at once."""
    if repeats < 1:
        raise ConfigError("repeats must be >= 1")
    flops = peak = parts = None
    with EXCLUSIVE:
        allocator.mmap_threshold(allocator.FAST_MMAP_THRESHOLD)
        if profile:
            with TensorBytes(device) as tensors:
                _, flops = count_flops(lambda: fn(Stopwatch(device)))
            with PeakMemory(device) as memory:
                fn(Stopwatch(device))
            peak = memory.peak_bytes
            parts = breakdown(tensors.at_peak, peak)
        watches = [Stopwatch(device) for _ in range(repeats)]
        for watch in watches:
            result = fn(watch)
    times = tuple(watch.seconds["model"] for watch in watches)
    measurement = Measurement(
        model_time_s=statistics.median(times),
        model_times_s=times,
        input_time_s=statistics.median(watch.seconds["input"] for watch in watches),
        peak_memory_bytes=peak,
        flops=flops,
        device=describe(device),
        memory_breakdown=parts,
    )
    return result, measurement
