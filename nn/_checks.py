"""Validation of settings at the boundary, with messages that show the bad value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def check_int(value: Any, name: str, *, minimum: int = 1, owner: str = "") -> int:
    """``value`` as an int if it is one (not a bool) and at least ``minimum``."""
    message = f"{_prefix(owner)}{name} must be an int >= {minimum}; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(message)
    if value < minimum:
        raise ValueError(message)
    return int(value)


def check_real(value: Any, name: str, *, low: float = 0.0, high: float | None = None,
               low_open: bool = False, high_open: bool = True, owner: str = "") -> float:
    """``value`` as a float if it is a finite real number in the stated interval.

    The interval is ``[low, high)`` by default; ``low_open``/``high_open`` choose the
    ends and ``high=None`` means no upper bound.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{_prefix(owner)}{name} must be a finite number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{_prefix(owner)}{name} must be a finite number; got {value!r}")
    below = value <= low if low_open else value < low
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        left = f"{'(' if low_open else '['}{low:g}"
        right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{_prefix(owner)}{name} must be in {left}, {right}; got {value!r}")
    return float(value)
