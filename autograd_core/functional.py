"""Functions over lists of Values (or plain numbers), built from the engine's primitives.

Everything here composes rules from the table, so each result is an ordinary graph
that ``backward()``, the pictures and the checkers understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from .engine import Value, _as_float, _data, apply_op

__all__ = ["softmax", "log_softmax", "logsumexp", "wta", "maximum", "dot", "vsum", "mean"]

Scalar = Union[Value, int, float]


def _as_list(xs: Any, name: str) -> list:
    if isinstance(xs, (Value, str, bytes)) or not hasattr(xs, "__len__"):
        raise TypeError(f"{name} takes a list of Values or numbers; got {xs!r}")
    items = list(xs)
    if not items:
        raise ValueError(f"{name} needs at least one element; got an empty list")
    for item in items:
        if not isinstance(item, Value):
            _as_float(item, f"{name}: each element")  # raises, naming the bad element
    return items


def _values(xs: Any, name: str) -> list[Value]:
    return [x if isinstance(x, Value) else Value(x) for x in _as_list(xs, name)]


def vsum(xs: Sequence[Scalar]) -> Value:
    """The sum of a list as one variadic ``sum`` node (each local derivative is 1).

    Example:
        >>> vsum([1, 2, Value(3.0)]).data
        6.0
    """
    return apply_op("sum", *_as_list(xs, "vsum"))


def mean(xs: Sequence[Scalar]) -> Value:
    """The arithmetic mean of a list."""
    items = _as_list(xs, "mean")
    return vsum(items) / len(items)


def dot(a: Sequence[Scalar], b: Sequence[Scalar]) -> Value:
    """The inner product sum_i a_i b_i; the lists must have the same length.

    Example:
        >>> dot([1, 2], [3, 4]).data
        11.0
    """
    left, right = _as_list(a, "dot"), _as_list(b, "dot")
    if len(left) != len(right):
        raise ValueError(f"dot: lengths differ ({len(left)} and {len(right)})")
    return vsum([x * y for x, y in zip(left, right)])


def logsumexp(xs: Sequence[Scalar]) -> Value:
    """log(sum_i e^{x_i}), stable for large inputs.

    The largest input's data is subtracted as a constant shift before ``exp``;
    the result is invariant to it, so the gradient (the softmax) is unchanged.
    """
    items = _values(xs, "logsumexp")
    shift = max(x.data for x in items)
    if shift in (float("inf"), float("-inf")):
        shift = 0.0
    return vsum([(x - shift).exp() for x in items]).log() + shift


def log_softmax(xs: Sequence[Scalar]) -> list[Value]:
    """log(softmax(x))_k = x_k - logsumexp(x), stable for large inputs."""
    items = _values(xs, "log_softmax")
    total = logsumexp(items)
    return [x - total for x in items]


def softmax(xs: Sequence[Scalar]) -> list[Value]:
    """softmax(x)_k = e^{x_k} / sum_j e^{x_j}, computed with the max shifted out.

    Example:
        >>> [round(p.data, 2) for p in softmax([3.2, 5.1, -1.7])]
        [0.13, 0.87, 0.0]
    """
    items = _values(xs, "softmax")
    shift = max(x.data for x in items)
    exps = [(x - shift).exp() for x in items]
    total = vsum(exps)
    return [e / total for e in exps]


def wta(xs: Sequence[Scalar]) -> list[float]:
    """Winner-take-all: the one-hot vector of the argmax (ties go to the first).

    It is piecewise constant, so it returns plain floats, not Values.

    Example:
        >>> wta([3.2, 5.1, -1.7])
        [0.0, 1.0, 0.0]
    """
    values = [_data(x) for x in _as_list(xs, "wta")]
    winner = values.index(max(values))
    return [1.0 if i == winner else 0.0 for i in range(len(values))]


def maximum(xs: Sequence[Scalar]) -> Value:
    """The largest element, as a chain of ``max`` nodes.

    The gradient goes to the winner only (the max node's pattern in the backward
    flow); on a tie, the earliest of the tied elements wins.

    Example:
        >>> a, b = Value(1.0), Value(4.0)
        >>> m = maximum([a, b]); m.backward()
        >>> (m.data, a.grad, b.grad)
        (4.0, 0.0, 1.0)
    """
    items = _values(xs, "maximum")
    best = items[0]
    for x in items[1:]:
        best = apply_op("max", best, x)
    return best
