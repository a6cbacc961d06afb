"""The boundary check of a number: what a ``Value`` (or an operand, a seed) may hold."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["as_float", "as_data", "as_grad"]

_ALLOWED_NUMBERS = "an int, a float or a numpy real scalar"
_INT_LIMIT = 2**1023  # ints at least this large overflow a float (handled below)


def as_float(data: Any, what: str = "Value data") -> float:
    """Check and convert user data at the boundary: a real, finite-or-infinite float.

    Raises:
        TypeError: not an int, a float or a numpy real scalar (bools refused).
        ValueError: NaN, or a finite number too large for a float (a huge int, a
            numpy longdouble beyond float64).
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
            value = None
        # float() of a finite numpy longdouble beyond float64 gives inf without a word:
        # that is a different number, refused like the int that is too large
        if value is None or (value in (math.inf, -math.inf) and _finite(data)):
            raise ValueError(f"{what} is too large for a float: {data!r}")
    if value != value:
        raise ValueError(f"{what} is NaN; a Value holds a real number")
    return value


def _finite(number: Any) -> bool:
    """Whether a numpy or other real number is finite in its own precision."""
    try:
        return bool(np.isfinite(number))
    except TypeError:
        return False


def as_data(value: Any) -> float:
    """What ``node.data = value`` stores, on both node stores: the constructor's check."""
    return as_float(value, "Value.data")


def as_grad(value: Any) -> float:
    """What ``node.grad = value`` stores for a value that is neither a float nor a Value.

    Any real number (NaN and inf included: a backward pass can produce them), as a float;
    bools, complex numbers, strings and containers are refused.

    Raises:
        TypeError: not a real number.
        ValueError: an int too large for a float.
    """
    if (isinstance(value, (bool, np.bool_, np.complexfloating))
            or not isinstance(value, (numbers.Real, np.number))):
        raise TypeError(f"Value.grad must be a real number or a Value; got {value!r} "
                        f"({type(value).__name__})")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"Value.grad is too large for a float: {value!r}") from None
