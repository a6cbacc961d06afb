"""The boundary check of a number: what a ``Value`` (or an operand, a seed) may hold."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["as_float"]

_ALLOWED_NUMBERS = "an int, a float or a numpy real scalar"
_INT_LIMIT = 2**1023  # ints at least this large overflow a float (handled below)


def as_float(data: Any, what: str = "Value data") -> float:
    """Check and convert user data at the boundary: a real, finite-or-infinite float.

    Raises:
        TypeError: not an int, a float or a numpy real scalar (bools refused).
        ValueError: NaN, or an int too large for a float.
    """
    kind = type(data)
    if kind is float:
        value = data
    elif kind is int and -_INT_LIMIT < data < _INT_LIMIT:
        value = float(data)
    elif isinstance(data, (bool, np.bool_)) or not isinstance(data, (numbers.Real, np.number)):
        raise TypeError(f"{what} must be {_ALLOWED_NUMBERS}; got {data!r} ({kind.__name__})")
    elif isinstance(data, np.complexfloating):
        raise TypeError(f"{what} must be real; got {data!r} ({kind.__name__})")
    else:
        try:
            value = float(data)
        except OverflowError:
            raise ValueError(f"{what} is too large for a float: {data!r}") from None
    if value != value:
        raise ValueError(f"{what} is NaN; a Value holds a real number")
    return value
