"""The C heap that memory figures are measured on, set up the same way in every process.

A CPU peak is read from the process's resident set, which means "memory in use" only if freed
memory leaves it. Three glibc habits break that, and all are dealt with here:

- Arenas. glibc gives each thread that allocates a heap (arena) of its own, and memory freed there
  stays with that arena, so a peak grows with whatever ran earlier in the same process.
  `configure()` limits the process to one arena (what the environment variable MALLOC_ARENA_MAX=1
  does) as `sfc_core` is imported, before torch or the decoder start their threads. A
  MALLOC_ARENA_MAX set by the user is respected.
- The mmap threshold. By default glibc raises it to the largest block freed so far, after which
  large tensors come from the heap and stay resident once freed. `mmap_threshold()` fixes it:
  `EXACT_MMAP_THRESHOLD` (every tensor its own mapping, returned when freed) for the call whose peak
  is measured, `FAST_MMAP_THRESHOLD` for timed calls (a mapping per tensor makes them 1.6x slower
  through page faults, measured on SlowOnly-R50).
- Free heap left by earlier work. glibc maps a block of its own only when no free heap chunk fits,
  so after a timed call (or a model load) has left free chunks in the heap, the measured call's
  tensors are carved from them, and a freed one stays resident while the next one faults in other
  pages: the peak then counts memory that was no longer in use, by as much as whatever ran before
  left behind (SlowOnly-R50's SFC on a 10 s clip: 68 MiB on a clean heap, 88-175 MiB after other
  calls).
  `reserve_free_heap()` holds every such chunk, untouched, for the length of the measured call, so
  its tensors get mappings of their own and the peak is the same whatever ran before.

Elsewhere than glibc every function here is a no-op; `reserve_free_heap` also needs glibc 2.33 or
later (`mallinfo2`), and without it the reserve is skipped, which every report records
(`free_heap_reserved_for_memory_call` in `settings()`).
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters (malloc.h)
ARENA_MAX = 1
EXACT_MMAP_THRESHOLD = 128 << 10  # glibc's initial value: what the memory call runs with
FAST_MMAP_THRESHOLD = 32 << 20  # glibc's largest: what timed calls run with


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 (glibc only)
    except (OSError, AttributeError):
        return None
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    if hasattr(libc, "mallinfo2"):  # glibc 2.33 and later
        libc.mallinfo2.restype = _MallInfo2
    return libc


def _heap() -> _MallInfo2 | None:
    """glibc's account of its heap now (None: no glibc 2.33 or later)."""
    libc = _libc()
    return libc.mallinfo2() if libc is not None and hasattr(libc, "mallinfo2") else None


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


def mapped_bytes() -> int | None:
    """Bytes the heap holds in blocks mapped one by one (None: not known here)."""
    heap = _heap()
    return heap.hblkhd if heap is not None else None


@contextmanager
def reserve_free_heap(smallest: int = EXACT_MMAP_THRESHOLD) -> Iterator[int]:
    """Allocate (without touching) every free heap chunk of `smallest` bytes or more for the block's
    length, largest first, halving the size when nothing that big is left; yields how many were held.

    Call it with the mmap threshold at `smallest`: a request no free chunk can serve then gets a
    mapping of its own, which is handed straight back."""
    libc, heap = _libc(), _heap()
    if heap is None:
        yield 0
        return
    held = []
    free = heap.fordblks
    size = 1 << max(free.bit_length() - 1, 0)
    try:
        while size >= smallest:
            block = libc.malloc(size)
            now_free = _heap().fordblks
            if block and now_free <= free - size:  # it came out of the free heap
                held.append(block)
                free = now_free
                continue
            libc.free(block)
            free = _heap().fordblks
            size //= 2
        yield len(held)
    finally:
        for block in held:
            libc.free(block)


def settings() -> dict:
    """How the heap is set up, for the record beside a measurement."""
    user = os.environ.get("MALLOC_ARENA_MAX")
    return {
        "glibc": _libc() is not None,
        "arena_max": int(user) if user and user.isdigit() else (ARENA_MAX if _libc() is not None else None),
        "arena_max_from": "environment" if user else "sfc_core (at import)",
        "mmap_threshold_memory_call_bytes": EXACT_MMAP_THRESHOLD,
        "mmap_threshold_timed_calls_bytes": FAST_MMAP_THRESHOLD,
        "free_heap_reserved_for_memory_call": _heap() is not None,
        "malloc_environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")},
    }
