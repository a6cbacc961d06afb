"""Hypothesis strategies that draw random differentiable expressions.

For property tests of gradients: draw an expression and a point, then compare the
engine's gradient with finite differences (or with your own implementation).

* **Domain-safe by construction**: an input a rule needs positive (``log``, ``sqrt``,
  the divisor of ``/``, the base of a ``Value`` exponent) is always ``u ** 2 + c``
  with a constant ``c > 0``, so an expression never leaves its domain, at any point.
* **Shared subexpressions**: an operand may be any earlier subexpression, so graphs
  have fan-out (a node with several children), the case where messages add up.
* **Kink-avoiding**: :func:`expressions_and_points` only returns points where moving
  any input of a kinked op (``relu``, ``leaky_relu``, ``abs``, ``max``: a rule with a
  ``branch``) by ``margin`` keeps it on the same smooth piece, and where no
  intermediate value exceeds ``max_magnitude`` (so finite differences are well
  conditioned).
* **Readable**: the repr of an expression is its formula, such as
  ``tanh(x0 * x1) + log(x0 ** 2 + 0.5)``, so a shrunk failure reads as maths.

* **The rule table's ops**: every rule of :data:`~autograd_core.rules.RULES` with at
  most one attribute can be drawn, a rule registered later too: its arity, the inputs
  it needs positive (``Rule.positive``), its attribute values (``Rule.samples``), its
  kinks (``Rule.branch``) and how it is written (its operator, symbol or name) all
  come from the table.

An :class:`Expression` is a straight-line program (a tuple of steps, each naming
earlier slots), evaluated by one loop, never by recursion. It evaluates on Python
floats with each rule's forward (finite differences of which check the rule's local
derivatives) and on :class:`~autograd_core.Value` nodes through the methods and
operators the table binds (building the engine's graph).

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
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from .engine import Value, apply_op
from .rules import RULES, UNARY_OPERATORS, DomainError, Rule

__all__ = ["Expression", "Step", "OPS", "expressions", "expressions_and_points"]

_GUARD_CONSTANTS = (0.5, 1.0, 2.0)


def _drawable(rule: Rule) -> bool:
    """Whether the strategies can draw a rule: at most one attribute, with values to use,
    and a domain that its guard (``Rule.positive``) covers."""
    if len(rule.params) > 1 or (rule.params and rule.positive):
        return False
    if rule.params and not (rule.samples or rule.defaults):
        return False
    return _guard_covers_domain(rule)


def _guard_covers_domain(rule: Rule) -> bool:
    """Whether the forward accepts any value on the inputs it does not need positive.

    A rule with another domain (``bce`` takes a probability in [0, 1]) would leave it
    for most drawn values, so it is not drawn.
    """
    attrs = (rule.samples[0][:1] if rule.samples else rule.defaults[:1]) if rule.params else ()
    arity = rule.arity if rule.arity >= 0 else 2
    for value in (-1.5, 2.5):
        inputs = [value * value + 0.5 if i in rule.positive else value for i in range(arity)]
        try:
            rule.forward(*inputs, *attrs)
        except ValueError:
            return False
    return True


def _table_ops() -> tuple[str, ...]:
    """The op names the strategies can draw now, in table order (examples shrink to the
    first: ``add``)."""
    return tuple(name for name, rule in RULES.items() if _drawable(rule))


#: The ops the strategies could draw when this module was imported (a rule registered
#: later is drawn too: :func:`expressions` reads the table when called).
OPS: tuple[str, ...] = _table_ops()


def _attr_values(rule: Rule) -> tuple[float, ...]:
    """The values a one-attribute rule's attribute is drawn from."""
    return tuple(sample[0] for sample in rule.samples) or rule.defaults


# Precedence for printing: higher binds tighter.
_ATOM, _POWER, _UNARY_MINUS, _PRODUCT, _SUMMATION = 5, 4, 3, 2, 1


@dataclass(frozen=True)
class Step:
    """One operation of an :class:`Expression`.

    Attributes:
        op: the op name (a rule of the table, see :data:`OPS`).
        operands: indices of earlier slots (inputs come first, then steps).
        constant: the guard constant ``c`` of a rule with inputs that must be
            positive (``div``, ``log``, ``sqrt``, ``powv``: the guarded operand is
            ``u ** 2 + c``), or the attribute of a one-attribute rule (the power of
            ``pow``, the slope of ``leaky_relu``); ``0.0`` otherwise.
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
            rule = RULES.get(step.op) if isinstance(step.op, str) else None
            if rule is None or not _drawable(rule):
                raise ValueError(f"unknown op {step.op!r} (allowed: {list(_table_ops())})")
            arity = rule.arity
            if len(step.operands) != arity and not (arity == -1 and len(step.operands) >= 2):
                raise ValueError(f"op {step.op!r} takes {arity} operands; got {step.operands!r}")
            for operand in step.operands:
                if type(operand) is not int or not 0 <= operand < num_inputs + index:
                    raise ValueError(
                        f"step {index} ({step.op}) refers to slot {operand!r}; "
                        f"only slots 0..{num_inputs + index - 1} exist before it"
                    )
            if rule.positive and not step.constant > 0.0:
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
        and moving any input of a kinked op (a rule with a ``branch``) by ``margin``
        keeps it on the same smooth piece.
        """
        slots = self.intermediates(point)
        for value in slots:
            if not abs(value) <= max_magnitude:  # also catches NaN
                return False
        for step in self.steps:
            rule = RULES[step.op]
            if rule.branch is None:
                continue
            args = _operands(rule, step, [slots[i] for i in step.operands])
            attrs = _attrs(rule, step)
            here = rule.branch(*args, *attrs)
            for index in range(len(args)):
                for shift in (-margin, margin):
                    moved = list(args)
                    moved[index] += shift
                    if rule.branch(*moved, *attrs) != here:
                        return False
        return True

    def _run(self, slots: list, apply_step: Any) -> list:
        for step in self.steps:
            slots.append(apply_step(step, [slots[i] for i in step.operands]))
        return slots


# ---------------------------------------------------------------------------
# Evaluation, one step at a time.


def _operands(rule: Rule, step: Step, args: list) -> list:
    """The op's inputs: a guarded operand ``u`` becomes ``u ** 2 + c``."""
    return [u * u + step.constant if i in rule.positive else u for i, u in enumerate(args)]


def _attrs(rule: Rule, step: Step) -> tuple:
    return (step.constant,) if rule.params else ()


def _float_step(step: Step, args: list[float]) -> float:
    rule = RULES[step.op]
    try:
        return float(rule.forward(*_operands(rule, step, args), *_attrs(rule, step)))
    except (DomainError, OverflowError, ValueError, ZeroDivisionError):
        return math.nan


def _operator(slot: str) -> Any:
    """Python's function for an operator slot (``operator.add``, ``operator.and_``)."""
    return getattr(operator, slot, None) or getattr(operator, slot + "_")


def _value_step(step: Step, args: list[Value]) -> Value:
    """Apply a step through the path users call: the rule's method, operator or apply_op."""
    rule = RULES[step.op]
    inputs = _operands(rule, step, args)
    attrs = _attrs(rule, step)
    if rule.method is not None:
        return getattr(inputs[0], rule.method)(*inputs[1:], *attrs)
    if rule.operator is not None:
        return _operator(rule.operator)(*inputs, *attrs)
    return apply_op(rule.name, *inputs, attrs=attrs)


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


# How tightly Python's operators bind when printed (by special method; others: a product).
_SLOT_PRECEDENCE = {"__add__": _SUMMATION, "__sub__": _SUMMATION, "__pow__": _POWER}


def _format_step(step: Step, args: list[tuple[str, int]]) -> tuple[str, int]:
    rule = RULES[step.op]
    c = _number(step.constant)
    # A guarded operand reads u ** 2 + c: a sum, bracketed where that binds too loosely.
    args = [(f"{_wrap(arg, _ATOM)} ** 2 + {c}", _SUMMATION) if i in rule.positive else arg
            for i, arg in enumerate(args)]
    slot = rule.operator
    if rule.method is None and slot in UNARY_OPERATORS and slot != "abs":  # -x, +x, ~x
        # Brackets also around a negation: "-(-x0)" reads better than "--x0".
        return f"{rule.symbol}{_wrap(args[0], _UNARY_MINUS + 1)}", _UNARY_MINUS
    if rule.method is None and slot is not None and slot not in UNARY_OPERATORS:
        level = _SLOT_PRECEDENCE.get(f"__{slot}__", _PRODUCT)
        right = (c, _ATOM) if rule.params else args[1]
        if level == _POWER:  # right-associative, binding tighter than unary minus
            return f"{_wrap(args[0], _ATOM)} {rule.symbol} {_wrap(right, _ATOM)}", _POWER
        # Left-associative: the right operand needs brackets at equal precedence.
        return f"{_wrap(args[0], level)} {rule.symbol} {_wrap(right, level + 1)}", level
    texts = [text for text, _ in args] + ([c] if rule.params else [])
    return f"{rule.name}({', '.join(texts)})", _ATOM


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
    table_ops = _table_ops()
    if ops is None:
        return table_ops
    if isinstance(ops, str) or not isinstance(ops, Iterable):
        raise TypeError(f"ops must be a list of op names; got {ops!r}")
    chosen = tuple(ops)
    if not chosen:
        raise ValueError(f"ops must name at least one op (allowed: {list(table_ops)})")
    for op in chosen:
        if op not in table_ops:
            raise ValueError(f"unknown op {op!r} in ops (allowed: {list(table_ops)})")
    # Keep the shrinking order of the table, whatever order the caller gave.
    return tuple(op for op in table_ops if op in chosen)


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
        ops: the op names to draw from (default: every rule of the table that can be
            drawn, see :data:`OPS`).

    Examples shrink towards fewer steps, earlier ops of the table (``add`` first),
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
        rule = RULES[op]
        usable = [i for i, depth in enumerate(depths) if depth < max_depth]
        arity = draw(st.integers(2, 3)) if rule.arity == -1 else rule.arity
        operands = []
        for position in range(arity):
            # Building on the newest result makes deep expressions likely; shrinking
            # turns this off (booleans shrink to False), towards shallower ones.
            if position == 0 and usable[-1] >= num_inputs and draw(st.booleans()):
                operands.append(usable[-1])
            else:
                operands.append(draw(st.sampled_from(usable)))
        if rule.positive:
            constant = draw(st.sampled_from(_GUARD_CONSTANTS))
        elif rule.params:
            constant = float(draw(st.sampled_from(_attr_values(rule))))
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
