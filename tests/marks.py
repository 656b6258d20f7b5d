"""Marks shared by the tests."""

from __future__ import annotations

import pytest


def slow_cases(values: list, slow: set) -> list:
    """Parametrize `values` (a tuple for several names), marking those in `slow` as slow: the fast lane
    (-m "not slow") keeps the cheap cases of a test and the full suite runs them all."""
    def case(value):
        return pytest.param(*value if isinstance(value, tuple) else (value,), marks=pytest.mark.slow)

    return [case(value) if value in slow else value for value in values]
