"""Identical requests computed once (`app.cache`): single flight under real threads, a bounded cache,
failures never cached. (The app's per-session copies of a cached analysis: tests/test_app.py.)"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from app.cache import SingleFlightCache, content_hash
from sfc_core.resources import EXAMPLES_DIR


def test_concurrent_identical_requests_compute_once_and_share_the_result() -> None:
    cache, calls, results = SingleFlightCache(max_entries=4, max_age_s=60), [], []
    start = threading.Barrier(12)

    def slow() -> object:
        calls.append(1)
        time.sleep(0.3)
        return object()

    def request() -> None:
        start.wait()
        results.append(cache.get("same clip", slow))

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(value) for value, _ in results}) == 1
    assert sorted(hit for _, hit in results) == [False] + [True] * 11
    assert cache.get("same clip", slow)[1] is True and len(calls) == 1


def test_failures_are_not_cached_and_entries_are_bounded_and_expire() -> None:
    cache = SingleFlightCache(max_entries=2, max_age_s=0.2)

    def fail() -> None:
        raise ValueError("bad clip")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad clip"):
            cache.get("broken", fail)
    assert cache.get("a", lambda: 1) == (1, False) and cache.get("b", lambda: 2) == (2, False)
    assert cache.get("c", lambda: 3) == (3, False)
    assert cache.get("a", lambda: 10) == (10, False)  # pushed out by b and c
    time.sleep(0.25)
    assert cache.get("c", lambda: 30) == (30, False)  # older than max_age_s
    assert SingleFlightCache(max_entries=0, max_age_s=60).get("x", lambda: 1) == (1, False)


def test_content_hash_is_of_the_bytes_not_the_name(tmp_path: Path) -> None:
    copy = shutil.copy(EXAMPLES_DIR / "grow.mp4", tmp_path / "renamed.mp4")
    assert content_hash(copy) == content_hash(EXAMPLES_DIR / "grow.mp4") != content_hash(EXAMPLES_DIR / "bounce.mp4")

