"""Identical requests computed once: a bounded cache of results with single flight.

A class of 30 pressing Run on the same clip within seconds asks for one computation, 30 times. The
first request computes; the others wait for it and share its result (single flight), and later ones
find it in the cache, until it is older than `max_age_s` or pushed out by newer entries. The key is
the caller's: for an analysis, the video's content hash, the model and every setting, so different
bytes under the same name never share an entry. A failure is not cached: every waiter gets it, and the
next request tries again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
_HASH_BLOCK = 2**20


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class SingleFlightCache(Generic[T]):
    """At most `max_entries` results, each served for `max_age_s` seconds after it was computed."""

    def __init__(self, max_entries: int, max_age_s: float) -> None:
        self.max_entries, self.max_age_s = max_entries, max_age_s
        self._done: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._running: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, bool]:
        """The result for `key` and whether it was served from the cache (or from another request's
        computation, waited for) rather than computed by this call."""
        with self._lock:
            entry = self._done.get(key)
            if entry is not None and time.monotonic() - entry[0] <= self.max_age_s:
                self._done.move_to_end(key)
                return entry[1], True
            self._done.pop(key, None)
            running = self._running.get(key)
            if running is None:
                running = self._running[key] = Future()
                owner = True
            else:
                owner = False
        if not owner:
            return running.result(), True
        try:
            result = compute()
        except BaseException as error:
            with self._lock:
                del self._running[key]
            running.set_exception(error)
            raise
        with self._lock:
            del self._running[key]
            if self.max_entries > 0:
                self._done[key] = (time.monotonic(), result)
                while len(self._done) > self.max_entries:
                    self._done.popitem(last=False)
        running.set_result(result)
        return result, False

    def clear(self) -> None:
        with self._lock:
            self._done.clear()
