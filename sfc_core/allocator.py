"""The C heap that memory figures are measured on, set up the same way in every process.

A CPU peak is read from the process's resident set, which means "memory in use" only if freed
memory leaves it. Two glibc habits break that, and both are fixed here:

- Arenas. glibc gives each thread that allocates a heap (arena) of its own, and memory freed there
  stays with that arena, so a peak grows with whatever ran earlier in the same process. `configure()` limits the process to one
  arena (what the environment variable MALLOC_ARENA_MAX=1 does) as `sfc_core` is imported, before
  torch or the decoder start their threads. (It does not make a peak independent of history: a
  peak measured after another request in the same process is still higher than in a fresh one,
  which is why `sfc-bench` measures every configuration in a fresh process.)
  A MALLOC_ARENA_MAX set by the user is respected.
- The mmap threshold. By default glibc raises it to the largest block freed so far, after which
  large tensors come from the heap and stay resident once freed. `mmap_threshold()` fixes it:
  `EXACT_MMAP_THRESHOLD` (every tensor its own mapping, returned when freed) for the call whose peak
  is measured, `FAST_MMAP_THRESHOLD` for timed calls (a mapping per tensor makes them slower
  through page faults).

Elsewhere than glibc every function here is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import os

_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters (malloc.h)
ARENA_MAX = 1
EXACT_MMAP_THRESHOLD = 128 << 10  # glibc's initial value: what the memory call runs with
FAST_MMAP_THRESHOLD = 32 << 20  # glibc's largest: what timed calls run with


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 (glibc only)
        return libc
    except (OSError, AttributeError):
        return None


def configure() -> None:
    """One arena for the whole process, unless the user chose otherwise with MALLOC_ARENA_MAX."""
    libc = _libc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(_M_ARENA_MAX, ARENA_MAX)


def mmap_threshold(size: int) -> None:
    """Fix glibc's mmap threshold at `size` bytes."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, size)


def trim() -> None:
    """Return free heap memory to the system."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def settings() -> dict:
    """How the heap is set up, for the record beside a measurement."""
    user = os.environ.get("MALLOC_ARENA_MAX")
    return {
        "glibc": _libc() is not None,
        "arena_max": int(user) if user and user.isdigit() else (ARENA_MAX if _libc() is not None else None),
        "arena_max_from": "environment" if user else "sfc_core (at import)",
        "mmap_threshold_memory_call_bytes": EXACT_MMAP_THRESHOLD,
        "mmap_threshold_timed_calls_bytes": FAST_MMAP_THRESHOLD,
        "malloc_environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")},
    }
