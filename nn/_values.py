"""Parameters' values and gradients to and from float64 arrays.

The optimisers do their maths on arrays; these helpers move the numbers between the
``Value`` leaves and those arrays. A write is finished even when Ctrl-C lands in the
middle of it, so the parameters never hold half of one step and half of another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from autograd_core import Value


def read_data(params: Sequence[Value]) -> np.ndarray:
    """Every parameter's ``data`` as a new float64 array."""
    return np.array([param.data for param in params], dtype=np.float64)


def read_grads(params: Sequence[Value]) -> np.ndarray:
    """Every parameter's ``grad`` as a new float64 array (a Value grad gives its data)."""
    grads = [param.grad for param in params]
    if not all(type(g) is float for g in grads):
        grads = [g.data if isinstance(g, Value) else float(g) for g in grads]
    return np.array(grads, dtype=np.float64)


def _write(params: Sequence[Value], numbers: list[float], field: str) -> None:
    if field == "data":
        for param, number in zip(params, numbers):
            param.data = number
    else:
        for param, number in zip(params, numbers):
            param.grad = number


def uninterrupted(assign: Callable[[], None]) -> None:
    """Run an idempotent ``assign()`` to its end even if Ctrl-C lands inside it.

    A ``KeyboardInterrupt`` raised part way through runs ``assign`` again from the
    start (it must give the same result when repeated), then goes on up.
    """
    try:
        assign()
    except KeyboardInterrupt:
        assign()
        raise


def _write_whole(params: Sequence[Value], array: np.ndarray, field: str) -> None:
    numbers = array.tolist()
    uninterrupted(lambda: _write(params, numbers, field))


def write_data(params: Sequence[Value], array: np.ndarray) -> None:
    """Set every parameter's ``data`` from ``array`` (aligned with ``params``)."""
    _write_whole(params, array, "data")


def write_grads(params: Sequence[Value], array: np.ndarray) -> None:
    """Set every parameter's ``grad`` from ``array`` (aligned with ``params``)."""
    _write_whole(params, array, "grad")

