"""Functions over lists of Values (or plain numbers), built from the engine's primitives.

Everything here composes rules from the table, so each result is an ordinary graph
that ``backward()``, the pictures and the checkers understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from .engine import Value, _as_float, apply_op

__all__ = ["softmax", "log_softmax", "logsumexp", "log_sigmoid", "wta", "maximum", "dot",
           "vsum", "mean"]

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
    """log(sum_i e^{x_i}), stable for any inputs: one ``logsumexp`` node.

    The rule shifts the largest input out for every sample it is applied to (eager,
    replayed or differentiated again), so nothing overflows; its gradient is the
    softmax.

    Example:
        >>> round(logsumexp([1000.0, 1000.0]).data, 6)
        1000.693147
    """
    return apply_op("logsumexp", *_as_list(xs, "logsumexp"))


def log_softmax(xs: Sequence[Scalar]) -> list[Value]:
    """log(softmax(x))_k = x_k - logsumexp(x), stable for large inputs."""
    items = _values(xs, "log_softmax")
    total = logsumexp(items)
    return [x - total for x in items]


def softmax(xs: Sequence[Scalar]) -> list[Value]:
    """softmax(x)_k = e^{x_k - logsumexp(x)}: never overflows (the exponent is <= 0).

    Example:
        >>> [round(p.data, 2) for p in softmax([3.2, 5.1, -1.7])]
        [0.13, 0.87, 0.0]
    """
    items = _values(xs, "softmax")
    total = logsumexp(items)
    return [(x - total).exp() for x in items]


def log_sigmoid(x: Scalar) -> Value:
    """log(sigmoid(x)) = -softplus(-x), finite and accurate in both tails (one node).

    Example:
        >>> round(log_sigmoid(0.0).data, 6)
        -0.693147
    """
    return apply_op("log_sigmoid", x)


def wta(xs: Sequence[Scalar]) -> list[float]:
    """Winner-take-all: the one-hot vector of the argmax (ties go to the first).

    It is piecewise constant, so it returns plain floats, not Values.

    Example:
        >>> wta([3.2, 5.1, -1.7])
        [0.0, 1.0, 0.0]
    """
    # float() on a Value is watched by a trace (a one-hot is a decision on data that a
    # replay cannot follow), unlike a read of .data.
    values = [float(x) for x in _as_list(xs, "wta")]
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
