"""The one boundary checker: every number and array a user hands to ``nn`` passes here.

Hyperparameters (``lr``, ``momentum``, ``betas``, ``eps``, ``weight_decay``, ...),
counts (``epochs``, ``batch_size``, layer widths), seeds, a state file's format version,
weights read from files and the training data of ``fit`` are checked by the functions
below, so the same bad value gets the same answer everywhere:

- a bool, a complex number, a string, bytes or any other non-number is a ``TypeError``;
- NaN, an infinity, or a number beyond float64 (``10**400``, a ``longdouble`` 1e400,
  which would otherwise become ``inf`` silently) is a ``ValueError``;
- a number outside the setting's interval is a ``ValueError``.

Every message names the setting (and its owner, e.g. ``SGD: lr``), shows the value with
``!r`` and says what is allowed.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_real",
    "check_seed",
    "check_bool",
    "check_real_pair",
    "check_format_version",
    "check_real_array",
    "check_features",
]

_TEXT = (str, bytes, bytearray)


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def _shown(value: Any) -> str:
    """``repr(value)``, shortened in the middle when it is very long (``10**400``)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:40]}...{text[-20:]} ({len(text)} characters)"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int = sys.maxsize,
              owner: str = "") -> int:
    """``value`` as an int if it is an integer (not a bool) in ``[minimum, maximum]``.

    The default ``maximum`` is the largest count Python's ``range`` and ``len`` take.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(owner)}{name} must be an int >= {minimum}; "
                        f"got {_shown(value)} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{_prefix(owner)}{name} must be an int >= {minimum}; got {value!r}")
    if value > maximum:
        raise ValueError(f"{_prefix(owner)}{name} must be an int from {minimum} to {maximum}; "
                         f"got {_shown(value)}")
    return int(value)


def _finite_float(value: Any, name: str, owner: str) -> float:
    """A real number as a finite float, or the boundary's TypeError/ValueError."""
    if (_is_bool(value) or isinstance(value, _TEXT) or isinstance(value, complex)
            or isinstance(value, np.complexfloating) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{_prefix(owner)}{name} must be a finite number; "
                        f"got {_shown(value)} ({type(value).__name__})")
    try:
        # float() of a longdouble beyond float64 gives inf without a word; of a huge int or
        # Fraction it raises OverflowError. Both are "too large" here.
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isnan(number):
        raise ValueError(f"{_prefix(owner)}{name} must be a finite number; got {value!r}")
    if math.isinf(number):
        beyond = "" if isinstance(value, float) else " (beyond float64)"
        raise ValueError(f"{_prefix(owner)}{name} must be a finite number; "
                         f"got {_shown(value)}{beyond}")
    return number


def check_real(value: Any, name: str, *, low: float | None = 0.0, high: float | None = None,
               low_open: bool = False, high_open: bool = True, owner: str = "") -> float:
    """``value`` as a float if it is a finite real number in the stated interval.

    The interval is ``[low, high)`` by default; ``low_open``/``high_open`` choose the
    ends and ``None`` means no bound on that side.
    """
    number = _finite_float(value, name, owner)
    below = low is not None and (number <= low if low_open else number < low)
    above = high is not None and (number >= high if high_open else number > high)
    if below or above:
        left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{_prefix(owner)}{name} must be in {left}, {right}; got {value!r}")
    return number


def check_real_pair(value: Any, name: str, *, owner: str = "", **interval: Any
                    ) -> tuple[float, float]:
    """A pair (tuple or list of two) of real numbers, each checked as ``check_real``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{_prefix(owner)}{name} must be a pair ({name}[0], {name}[1]); "
                         f"got {_shown(value)}")
    return (check_real(value[0], f"{name}[0]", owner=owner, **interval),
            check_real(value[1], f"{name}[1]", owner=owner, **interval))


def check_seed(value: Any, name: str = "seed", *, owner: str = "") -> int | None:
    """A seed for ``numpy.random.default_rng``: ``None`` or an int >= 0 (any size)."""
    if value is None:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(owner)}{name} must be an int or None; got {_shown(value)}")
    if value < 0:
        raise ValueError(f"{_prefix(owner)}{name} must be an int >= 0 or None; got {value!r}")
    return int(value)


def check_bool(value: Any, name: str, *, owner: str = "") -> bool:
    """A flag: ``True`` or ``False`` (numpy's bool too), never a truthy stand-in."""
    if not _is_bool(value):
        raise TypeError(f"{_prefix(owner)}{name} must be True or False; got {_shown(value)}")
    return bool(value)


def check_format_version(stored: Any, expected: int, where: str) -> int:
    """A state file's format number: a 0-d array of an integer dtype equal to ``expected``.

    ``"1"``, ``b"1"``, ``1.0``, ``1.9``, ``True``, ``inf`` and arrays are all refused:
    only what ``Module.save`` writes is read.
    """
    array = np.asarray(stored)
    if array.shape != () or array.dtype.kind not in "iu":
        raise ValueError(f"{where}: unsupported state format {_shown(stored)} (the format "
                         f"must be the integer {expected}, as Module.save writes it)")
    version = int(array)
    if version != expected:
        raise ValueError(f"{where}: unsupported state format {version} "
                         f"(this version reads {expected})")
    return version


def check_real_array(values: Any, what: str) -> np.ndarray:
    """``values`` as a float64 array if it holds real numbers, all finite in float64.

    Integers, unsigned integers and floats of any width are accepted; bool, complex,
    object, string and other dtypes are refused. The finiteness check runs after the
    conversion, so a ``longdouble`` or a huge integer that overflows float64 is refused
    instead of turning into ``inf``.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{what}: expected real numbers, got an array of dtype {array.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(np.float64)
    finite = np.isfinite(converted)
    if not np.all(finite):
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        original = array[index].item() if array.ndim else array.item()
        kind = ("NaN" if math.isnan(converted[index]) else
                "an infinite value" if not np.isfinite(array[index]) else
                "a value beyond float64")
        where = f" at index {index}" if array.ndim else ""
        raise ValueError(f"{what}: holds NaN or infinite values ({kind}{where}: "
                         f"{_shown(original)})")
    return converted


def check_features(X: Any, where: str) -> np.ndarray:
    """Training inputs: a non-empty 2-D array of finite real numbers, as float64.

    Refused before training starts: found mid-training instead, a bad row would fail
    after earlier batches had already moved the model.
    """
    try:
        features = X if isinstance(X, np.ndarray) else np.asarray(X)
    except (ValueError, TypeError) as error:  # ragged rows, unconvertible objects
        raise ValueError(f"{where}: X must be a 2-D array [n_samples, n_features]; "
                         f"numpy cannot make one of it ({error})") from None
    if features.ndim != 2:
        raise ValueError(f"{where}: X must be 2-D [n_samples, n_features]; got shape "
                         f"{features.shape}")
    if features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"{where}: X is empty (shape {features.shape}); it needs at least one "
                         "sample with at least one feature")
    if features.dtype.kind not in "biuf":
        raise ValueError(f"{where}: X must hold numbers; got dtype {features.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        values = features.astype(np.float64)
    bad = np.flatnonzero(~np.all(np.isfinite(values), axis=1))
    if bad.size:
        raise ValueError(f"{where}: X holds NaN or infinite values (row {bad[0]}: "
                         f"{values[bad[0]].tolist()!r})")
    return values
