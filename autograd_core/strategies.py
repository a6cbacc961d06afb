"""Hypothesis strategies that draw random differentiable expressions.

For property tests of gradients: draw an expression and a point, then compare the
engine's gradient with finite differences (or with your own implementation).

* **Domain-safe by construction**: ``log``, ``sqrt``, the divisor of ``/`` and the
  base of a ``Value`` exponent are always applied to ``u ** 2 + c`` with a constant
  ``c > 0``, so an expression never leaves its domain, at any point.
* **Shared subexpressions**: an operand may be any earlier subexpression, so graphs
  have fan-out (a node with several children), the case where messages add up.
* **Kink-avoiding**: :func:`expressions_and_points` only returns points where every
  ``relu``, ``leaky_relu`` and ``abs`` input, and the two inputs of every ``max``,
  are at least ``margin`` away from the kink, and where no intermediate value
  exceeds ``max_magnitude`` (so finite differences are well conditioned).
* **Readable**: the repr of an expression is its formula, such as
  ``tanh(x0 * x1) + log(x0 ** 2 + 0.5)``, so a shrunk failure reads as maths.

An :class:`Expression` is a straight-line program (a tuple of steps, each naming
earlier slots), evaluated by one loop, never by recursion. It evaluates on Python
floats with :mod:`math` (a reference independent of the engine's rule table) and
on :class:`~autograd_core.Value` nodes (building the engine's graph).

Hypothesis is imported by this module only; ``import autograd_core`` does not need it.

Example:
    >>> from hypothesis import given
    >>> from autograd_core import gradcheck
    >>> from autograd_core.strategies import expressions_and_points
    >>> @given(expressions_and_points(num_inputs=2, max_depth=3))
    ... def test_backward_matches_finite_differences(case):
    ...     expression, point = case
    ...     assert gradcheck(expression, point)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from .engine import Value, apply_op

__all__ = ["Expression", "Step", "OPS", "expressions", "expressions_and_points"]

#: Every op the strategies can draw, in the order examples shrink towards (the first
#: ones are the simplest). Each name is the engine op it exercises.
OPS: tuple[str, ...] = (
    "add", "mul", "sub", "neg", "pow", "div", "exp", "log", "sqrt", "tanh", "sigmoid",
    "sin", "cos", "softplus", "relu", "leaky_relu", "abs", "max", "powv", "sum",
    "log_sigmoid", "logsumexp", "bce_logits",
)

# How many operands each op takes ("sum" and "logsumexp" take 2 or 3).
_VARIADIC = ("sum", "logsumexp")
_ARITY = {
    "add": 2, "mul": 2, "sub": 2, "div": 2, "max": 2, "powv": 2, "sum": 3, "logsumexp": 3,
    "bce_logits": 2, "log_sigmoid": 1,
    "neg": 1, "pow": 1, "exp": 1, "log": 1, "sqrt": 1, "tanh": 1, "sigmoid": 1,
    "sin": 1, "cos": 1, "softplus": 1, "relu": 1, "leaky_relu": 1, "abs": 1,
}
# Ops whose guarded operand is u ** 2 + c (the operand index that is guarded).
_GUARDED = {"div": 1, "log": 0, "sqrt": 0, "powv": 0}
_GUARD_CONSTANTS = (0.5, 1.0, 2.0)
_POWERS = (2, 3)
_LEAKY_SLOPE = 0.1
_KINKED = ("relu", "leaky_relu", "abs", "max")

# Precedence for printing: higher binds tighter.
_ATOM, _POWER, _UNARY_MINUS, _PRODUCT, _SUMMATION = 5, 4, 3, 2, 1


@dataclass(frozen=True)
class Step:
    """One operation of an :class:`Expression`.

    Attributes:
        op: the op name (one of :data:`OPS`).
        operands: indices of earlier slots (inputs come first, then steps).
        constant: the guard constant ``c`` of ``div``, ``log``, ``sqrt`` and
            ``powv`` (their guarded operand is ``u ** 2 + c``), or the integer
            power of ``pow``; ``0.0`` otherwise.
    """

    op: str
    operands: tuple[int, ...]
    constant: float = 0.0


class Expression:
    """A differentiable expression over inputs ``x0 .. x{n-1}``, as a straight-line program.

    Slot ``i < num_inputs`` is input ``x{i}``; slot ``num_inputs + k`` is the
    result of ``steps[k]``; the last slot is the output. Calling an expression on
    Values builds the engine's graph; :meth:`evaluate` computes it on floats.

    Args:
        num_inputs: how many inputs the expression takes.
        steps: the operations, each naming earlier slots only.

    Example:
        >>> e = Expression(1, [Step("mul", (0, 0)), Step("log", (1,), 0.5)])
        >>> e
        log((x0 * x0) ** 2 + 0.5)
        >>> round(e.evaluate([1.0]), 6)
        0.405465
    """

    __slots__ = ("num_inputs", "steps", "formula", "depth")

    def __init__(self, num_inputs: int, steps: Iterable[Step]) -> None:
        _check_int(num_inputs, "num_inputs", 1)
        steps = tuple(steps)
        if not steps:
            raise ValueError("an Expression needs at least one step")
        for index, step in enumerate(steps):
            if not isinstance(step, Step):
                raise TypeError(f"steps must be Step objects; got {step!r}")
            if step.op not in _ARITY:
                raise ValueError(f"unknown op {step.op!r} (allowed: {list(OPS)})")
            arity = _ARITY[step.op]
            if len(step.operands) != arity and not (step.op in _VARIADIC
                                                    and len(step.operands) >= 2):
                raise ValueError(f"op {step.op!r} takes {arity} operands; got {step.operands!r}")
            for operand in step.operands:
                if type(operand) is not int or not 0 <= operand < num_inputs + index:
                    raise ValueError(
                        f"step {index} ({step.op}) refers to slot {operand!r}; "
                        f"only slots 0..{num_inputs + index - 1} exist before it"
                    )
            if step.op in _GUARDED and not step.constant > 0.0:
                raise ValueError(
                    f"op {step.op!r} needs a guard constant > 0; got {step.constant!r}"
                )
        self.num_inputs = num_inputs
        self.steps = steps
        self.formula = _format(num_inputs, steps)
        self.depth = _depth(num_inputs, steps)

    def __repr__(self) -> str:
        return self.formula

    __str__ = __repr__

    def __call__(self, *inputs: Any) -> Any:
        """Evaluate on Values (building a graph) or, if every input is a number, on floats."""
        if len(inputs) != self.num_inputs:
            raise ValueError(f"{self.formula} takes {self.num_inputs} inputs; got {len(inputs)}")
        if not any(isinstance(x, Value) for x in inputs):
            return self.evaluate(inputs)
        values = [x if isinstance(x, Value) else Value(x) for x in inputs]
        return self._run(values, _value_step)[-1]

    def evaluate(self, point: Sequence[float]) -> float:
        """The value at ``point`` on Python floats, with :mod:`math` (NaN if undefined)."""
        return self.intermediates(point)[-1]

    def intermediates(self, point: Sequence[float]) -> list[float]:
        """Every slot's float value at ``point``: the inputs, then each step's result.

        Overflow gives inf; an undefined result (such as ``sin(inf)``) gives NaN.
        """
        if len(point) != self.num_inputs:
            raise ValueError(f"{self.formula} takes {self.num_inputs} inputs; got {len(point)}")
        return self._run([float(x) for x in point], _float_step)

    def is_safe_at(self, point: Sequence[float], *, margin: float = 1e-3,
                   max_magnitude: float = 1e3) -> bool:
        """Whether finite differences at ``point`` are meaningful.

        True when every intermediate value is finite with ``|v| <= max_magnitude``,
        and every kinked op's input is at least ``margin`` from its kink
        (``|u| >= margin`` for relu, leaky_relu and abs; ``|a - b| >= margin`` for max).
        """
        slots = self.intermediates(point)
        for value in slots:
            if not abs(value) <= max_magnitude:  # also catches NaN
                return False
        for step in self.steps:
            if step.op in _KINKED:
                distance = (abs(slots[step.operands[0]] - slots[step.operands[1]])
                            if step.op == "max" else abs(slots[step.operands[0]]))
                if distance < margin:
                    return False
        return True

    def _run(self, slots: list, apply_step: Any) -> list:
        for step in self.steps:
            slots.append(apply_step(step, [slots[i] for i in step.operands]))
        return slots


# ---------------------------------------------------------------------------
# Evaluation, one step at a time.


def _float_step(step: Step, args: list[float]) -> float:
    try:
        return _FLOAT_OPS[step.op](step, *args)
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan


def _guard_float(u: float, c: float) -> float:
    return u * u + c


def _float_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _float_softplus(a: float) -> float:
    return max(a, 0.0) + math.log1p(_float_exp(-abs(a)))


def _float_logsumexp(*xs: float) -> float:
    top = max(xs)
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def _float_powv(step: Step, u: float, v: float) -> float:
    try:
        return _guard_float(u, step.constant) ** v
    except OverflowError:
        return math.inf


_FLOAT_OPS = {
    "add": lambda s, a, b: a + b,
    "sub": lambda s, a, b: a - b,
    "mul": lambda s, a, b: a * b,
    "div": lambda s, a, b: a / _guard_float(b, s.constant),
    "max": lambda s, a, b: a if a >= b else b,
    "powv": _float_powv,
    "sum": lambda s, *xs: math.fsum(xs),
    "neg": lambda s, a: -a,
    "pow": lambda s, a: a ** int(s.constant),
    "exp": lambda s, a: _float_exp(a),
    "log": lambda s, a: math.log(_guard_float(a, s.constant)),
    "sqrt": lambda s, a: math.sqrt(_guard_float(a, s.constant)),
    "tanh": lambda s, a: math.tanh(a),
    "sigmoid": lambda s, a: 0.5 * (1.0 + math.tanh(0.5 * a)),
    "sin": lambda s, a: math.sin(a),
    "cos": lambda s, a: math.cos(a),
    "softplus": lambda s, a: _float_softplus(a),
    "log_sigmoid": lambda s, a: -_float_softplus(-a),
    "logsumexp": lambda s, *xs: _float_logsumexp(*xs),
    "bce_logits": lambda s, z, t: t * _float_softplus(-z) + (1.0 - t) * _float_softplus(z),
    "relu": lambda s, a: a if a > 0.0 else 0.0,
    "leaky_relu": lambda s, a: a if a > 0.0 else _LEAKY_SLOPE * a,
    "abs": lambda s, a: abs(a),
}


def _value_step(step: Step, args: list[Value]) -> Value:
    return _VALUE_OPS[step.op](step, *args)


def _guard_value(u: Value, c: float) -> Value:
    return u**2 + c


_VALUE_OPS = {
    "add": lambda s, a, b: a + b,
    "sub": lambda s, a, b: a - b,
    "mul": lambda s, a, b: a * b,
    "div": lambda s, a, b: a / _guard_value(b, s.constant),
    "max": lambda s, a, b: apply_op("max", a, b),
    "powv": lambda s, a, b: _guard_value(a, s.constant) ** b,
    "sum": lambda s, *xs: apply_op("sum", *xs),
    "neg": lambda s, a: -a,
    "pow": lambda s, a: a ** int(s.constant),
    "exp": lambda s, a: a.exp(),
    "log": lambda s, a: _guard_value(a, s.constant).log(),
    "sqrt": lambda s, a: _guard_value(a, s.constant).sqrt(),
    "tanh": lambda s, a: a.tanh(),
    "sigmoid": lambda s, a: a.sigmoid(),
    "sin": lambda s, a: a.sin(),
    "cos": lambda s, a: a.cos(),
    "softplus": lambda s, a: a.softplus(),
    "log_sigmoid": lambda s, a: apply_op("log_sigmoid", a),
    "logsumexp": lambda s, *xs: apply_op("logsumexp", *xs),
    "bce_logits": lambda s, z, t: apply_op("bce_logits", z, t),
    "relu": lambda s, a: a.relu(),
    "leaky_relu": lambda s, a: a.leaky_relu(_LEAKY_SLOPE),
    "abs": lambda s, a: a.abs(),
}


# ---------------------------------------------------------------------------
# Printing and measuring, one step at a time.


def _wrap(text_and_precedence: tuple[str, int], needed: int) -> str:
    text, precedence = text_and_precedence
    return text if precedence >= needed else f"({text})"


def _number(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() else repr(x)


def _format(num_inputs: int, steps: tuple[Step, ...]) -> str:
    """The output's formula; shared subexpressions are written out where used."""
    slots: list[tuple[str, int]] = [(f"x{i}", _ATOM) for i in range(num_inputs)]
    for step in steps:
        args = [slots[i] for i in step.operands]
        slots.append(_format_step(step, args))
    return slots[-1][0]


def _format_step(step: Step, args: list[tuple[str, int]]) -> tuple[str, int]:
    op, c = step.op, _number(step.constant)

    def guard(arg: tuple[str, int]) -> str:
        return f"{_wrap(arg, _ATOM)} ** 2 + {c}"

    if op in ("add", "sub", "mul"):
        symbol, level = {"add": ("+", _SUMMATION), "sub": ("-", _SUMMATION),
                         "mul": ("*", _PRODUCT)}[op]
        # Left-associative: the right operand needs brackets at equal precedence.
        return f"{_wrap(args[0], level)} {symbol} {_wrap(args[1], level + 1)}", level
    if op == "div":
        return f"{_wrap(args[0], _PRODUCT)} / ({guard(args[1])})", _PRODUCT
    if op == "powv":
        return f"({guard(args[0])}) ** {_wrap(args[1], _ATOM)}", _POWER
    if op == "pow":
        return f"{_wrap(args[0], _ATOM)} ** {c}", _POWER
    if op == "neg":
        # Brackets also around a negation: "-(-x0)" reads better than "--x0".
        return f"-{_wrap(args[0], _UNARY_MINUS + 1)}", _UNARY_MINUS
    if op in ("log", "sqrt"):
        return f"{op}({guard(args[0])})", _ATOM
    if op == "leaky_relu":
        return f"leaky_relu({args[0][0]}, {_LEAKY_SLOPE})", _ATOM
    return f"{op}({', '.join(text for text, _ in args)})", _ATOM


def _depth(num_inputs: int, steps: tuple[Step, ...]) -> int:
    depths = [0] * num_inputs
    for step in steps:
        depths.append(1 + max(depths[i] for i in step.operands))
    return depths[-1]


# ---------------------------------------------------------------------------
# Strategies.


def _check_int(value: Any, name: str, minimum: int) -> None:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}")


def _check_ops(ops: Any) -> tuple[str, ...]:
    if ops is None:
        return OPS
    if isinstance(ops, str) or not isinstance(ops, Iterable):
        raise TypeError(f"ops must be a list of op names; got {ops!r}")
    chosen = tuple(ops)
    if not chosen:
        raise ValueError(f"ops must name at least one op (allowed: {list(OPS)})")
    for op in chosen:
        if op not in _ARITY:
            raise ValueError(f"unknown op {op!r} in ops (allowed: {list(OPS)})")
    # Keep the shrinking order of OPS, whatever order the caller gave.
    return tuple(op for op in OPS if op in chosen)


def _prune(num_inputs: int, steps: list[Step]) -> list[Step]:
    """Drop the steps the output does not use, renumbering the slots."""
    used = [False] * (num_inputs + len(steps))
    used[-1] = True
    for index in range(len(steps) - 1, -1, -1):
        if used[num_inputs + index]:
            for operand in steps[index].operands:
                used[operand] = True
    new_index = list(range(num_inputs))
    kept: list[Step] = []
    for index, step in enumerate(steps):
        if used[num_inputs + index]:
            operands = tuple(new_index[i] for i in step.operands)
            kept.append(Step(step.op, operands, step.constant))
            new_index.append(num_inputs + len(kept) - 1)
        else:
            new_index.append(-1)
    return kept


def expressions(*, num_inputs: int = 2, max_depth: int = 4, max_ops: int = 8,
                ops: Iterable[str] | None = None) -> st.SearchStrategy[Expression]:
    """A strategy for random differentiable :class:`Expression` s.

    Args:
        num_inputs: the number of inputs ``x0 .. x{num_inputs-1}`` (each may or may
            not be used).
        max_depth: the most ops on any path from an input to the output (the guard
            ``u ** 2 + c`` of log, sqrt, ``/`` and a Value exponent counts as part of
            its op).
        max_ops: the most steps drawn before unused ones are dropped.
        ops: the op names to draw from (default: all of :data:`OPS`).

    Examples shrink towards fewer steps, earlier ops of :data:`OPS` (``add`` first),
    operands that are inputs rather than subexpressions, and lower-numbered inputs:
    the simplest expression is ``x0 + x0``.

    Raises:
        TypeError, ValueError: at once, for a bad argument.
    """
    _check_int(num_inputs, "num_inputs", 1)
    _check_int(max_depth, "max_depth", 1)
    _check_int(max_ops, "max_ops", 1)
    allowed = _check_ops(ops)
    return _expressions(num_inputs, max_depth, max_ops, allowed)


@st.composite
def _expressions(draw: Any, num_inputs: int, max_depth: int, max_ops: int,
                 allowed: tuple[str, ...]) -> Expression:
    count = draw(st.integers(1, max_ops))
    depths = [0] * num_inputs
    steps: list[Step] = []
    for _ in range(count):
        op = draw(st.sampled_from(allowed))
        usable = [i for i, depth in enumerate(depths) if depth < max_depth]
        arity = draw(st.integers(2, 3)) if op in _VARIADIC else _ARITY[op]
        operands = []
        for position in range(arity):
            # Building on the newest result makes deep expressions likely; shrinking
            # turns this off (booleans shrink to False), towards shallower ones.
            if position == 0 and usable[-1] >= num_inputs and draw(st.booleans()):
                operands.append(usable[-1])
            else:
                operands.append(draw(st.sampled_from(usable)))
        if op in _GUARDED:
            constant = draw(st.sampled_from(_GUARD_CONSTANTS))
        elif op == "pow":
            constant = float(draw(st.sampled_from(_POWERS)))
        else:
            constant = 0.0
        steps.append(Step(op, tuple(operands), constant))
        depths.append(1 + max(depths[i] for i in operands))
    return Expression(num_inputs, _prune(num_inputs, steps))


def expressions_and_points(
    *, num_inputs: int = 2, max_depth: int = 4, max_ops: int = 8,
    ops: Iterable[str] | None = None, min_value: float = -2.0, max_value: float = 2.0,
    margin: float = 1e-3, max_magnitude: float = 1e3,
) -> st.SearchStrategy[tuple[Expression, tuple[float, ...]]]:
    """A strategy for ``(expression, point)`` pairs where gradients can be checked.

    The expression is drawn as by :func:`expressions`; the point (a tuple of one
    float per input, in ``[min_value, max_value]``) satisfies
    :meth:`Expression.is_safe_at` with the given ``margin`` and ``max_magnitude``:
    away from every kink and with moderate intermediate values. A few points are
    tried per expression; if none is safe, the example is rejected.

    Points shrink towards 0 (and then towards simple floats) as far as staying
    safe allows; expressions shrink as described in :func:`expressions`.

    Raises:
        TypeError, ValueError: at once, for a bad argument.
    """
    expression_strategy = expressions(num_inputs=num_inputs, max_depth=max_depth,
                                      max_ops=max_ops, ops=ops)
    for name, bound in (("min_value", min_value), ("max_value", max_value),
                        ("margin", margin), ("max_magnitude", max_magnitude)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise TypeError(f"{name} must be a number; got {bound!r}")
        if not math.isfinite(bound):
            raise ValueError(f"{name} must be finite; got {bound!r}")
    if not min_value < max_value:
        raise ValueError(f"min_value must be below max_value; got {min_value!r}, {max_value!r}")
    if not margin > 0.0 or not max_magnitude > 0.0:
        raise ValueError(f"margin and max_magnitude must be > 0; got {margin!r}, "
                         f"{max_magnitude!r}")
    coordinate = st.floats(float(min_value), float(max_value), allow_nan=False,
                           allow_infinity=False)
    return _expressions_and_points(expression_strategy, coordinate, margin, max_magnitude)


_POINT_TRIES = 5


@st.composite
def _expressions_and_points(draw: Any, expression_strategy: Any, coordinate: Any,
                            margin: float, max_magnitude: float
                            ) -> tuple[Expression, tuple[float, ...]]:
    expression = draw(expression_strategy)
    points = st.tuples(*[coordinate] * expression.num_inputs)
    for _ in range(_POINT_TRIES):
        point = draw(points)
        if expression.is_safe_at(point, margin=margin, max_magnitude=max_magnitude):
            return expression, point
    reject()
