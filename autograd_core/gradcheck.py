"""Checking gradients against finite differences, for a whole function or node by node.

``gradcheck`` compares the engine's gradient of a function with central differences,
as PyTorch's does. Two things go further:

* ``check_rules(root)`` checks every node's recorded local derivatives against
  finite differences of its own primitive, so a wrong rule is named by op and label
  rather than discovered as a wrong number at the end;
* both are kink-aware: an input whose finite difference straddles a kink (relu or
  abs at 0, a tie in max) is reported as a non-differentiable point, not a failure.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import Value, grad, is_grad_enabled, no_grad, topological_order
from .rules import RULES, DomainError

__all__ = [
    "GradcheckError",
    "NonDifferentiableWarning",
    "numerical_grad",
    "gradcheck",
    "check_rules",
    "RuleCheckReport",
    "RuleFailure",
]


class GradcheckError(RuntimeError):
    """A gradient disagrees with finite differences.

    Attributes:
        index: which input (for ``gradcheck``) or which parent of the node
            (for ``check_rules``).
        analytical: the engine's number.
        numerical: the finite-difference number.
        node: for ``check_rules``, the node whose rule is wrong (else ``None``).
    """

    def __init__(self, message: str, *, index: int, analytical: float, numerical: float,
                 node: Value | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.analytical = analytical
        self.numerical = numerical
        self.node = node


class NonDifferentiableWarning(UserWarning):
    """An input sits (within eps) at a point where the function has a kink."""


def _check_inputs(inputs: Any, name: str) -> list[float]:
    if isinstance(inputs, (Value, int, float)):
        inputs = [inputs]
    try:
        items = list(inputs)
    except TypeError:
        message = f"{name}: inputs must be a list of numbers or Values; got {inputs!r}"
        raise TypeError(message) from None
    points = []
    for item in items:
        value = item.data if isinstance(item, Value) else item
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"{name}: inputs must be numbers or Values; got {item!r}") from None
        points.append(float(value))
    return points


def _check_eps(eps: float, name: str) -> None:
    if not isinstance(eps, (int, float)) or not 0.0 < eps < 1.0:
        raise ValueError(f"{name}: eps must be a number in (0, 1); got {eps!r}")


def _evaluate(fn: Callable[..., Any], point: Sequence[float], detect_kinks: bool
              ) -> tuple[float, tuple]:
    """fn at a point, with the branch signature of its kinks when asked for.

    The signature needs the recorded graph, so it is only available with gradients
    enabled; without ``detect_kinks`` the signature is empty.
    """
    args = [Value(x) for x in point]
    out = fn(*args)
    if not isinstance(out, Value):
        raise TypeError(f"the function must return a Value; got {out!r}")
    return out.data, (_branches(out) if detect_kinks else ())


def _branches(root: Value) -> tuple:
    """Which smooth piece every kinked op of the graph is on, in graph order."""
    signature = []
    for node in topological_order(root):
        rule = RULES.get(node.op) if node.op else None
        if rule is not None and rule.branch is not None:
            signature.append(rule.branch(*(p.data for p in node.parents), *node.attrs))
        elif node.op:
            signature.append(node.op)
    return tuple(signature)


def _central_difference(fn: Callable[..., Any], point: list[float], index: int, eps: float,
                        signature_here: tuple | None = None) -> tuple[float, bool]:
    """(numerical derivative along one input, whether the stencil crosses a kink).

    Kinks are detected only when ``signature_here`` (the branch signature at the
    point itself) is given; the stencil's graphs are then recorded and compared.
    """
    detect_kinks = signature_here is not None
    plus, minus = list(point), list(point)
    plus[index] += eps
    minus[index] -= eps
    f_plus, sig_plus = _evaluate(fn, plus, detect_kinks)
    f_minus, sig_minus = _evaluate(fn, minus, detect_kinks)
    crosses = detect_kinks and not (sig_plus == signature_here == sig_minus)
    return (f_plus - f_minus) / (2.0 * eps), crosses


def numerical_grad(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6
                   ) -> list[float]:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / 2 eps for each input.

    Args:
        fn: takes one Value per input and returns a Value.
        inputs: the point, as numbers or Values (their data is used).
        eps: the step.
    """
    _check_eps(eps, "numerical_grad")
    point = _check_inputs(inputs, "numerical_grad")
    with no_grad():
        return [_central_difference(fn, point, i, eps)[0] for i in range(len(point))]


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the engine's gradient of ``fn`` at ``inputs`` with central differences.

    An input passes when ``|analytical - numerical| <= atol + rtol * |numerical|``.
    Inputs whose finite difference straddles a kink are not compared: a
    :class:`NonDifferentiableWarning` names them instead.

    Returns:
        True when every comparable input passes; False on a mismatch when
        ``raise_exception`` is False.

    Raises:
        GradcheckError: naming the first failing input with both numbers.

    Example:
        >>> gradcheck(lambda x, y: (x * y).tanh(), [0.3, -0.7])
        True
    """
    _check_eps(eps, "gradcheck")
    point = _check_inputs(inputs, "gradcheck")
    if not is_grad_enabled():
        raise RuntimeError("gradcheck needs gradients enabled; it was called inside no_grad()")
    args = [Value(x) for x in point]
    out = fn(*args)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: the function must return a Value; got {out!r}")
    analytical = grad(out, args)
    # The stencil's graphs are recorded (not under no_grad): kink detection reads
    # the branch of every kinked op in them.
    signature_here = _branches(out)
    for index in range(len(point)):
        numerical, crosses = _central_difference(fn, point, index, eps, signature_here)
        if crosses:
            warnings.warn(
                f"gradcheck: input {index} (= {point[index]!r}) is within eps of a kink; "
                "the function is not differentiable there, so it was not compared",
                NonDifferentiableWarning, stacklevel=2)
            continue
        if not _close(analytical[index], numerical, atol, rtol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"gradcheck: gradient of input {index} (= {point[index]!r}) is wrong: "
                f"analytical {analytical[index]!r}, numerical {numerical!r}",
                index=index, analytical=analytical[index], numerical=numerical)
    return True


def _close(analytical: float, numerical: float, atol: float, rtol: float) -> bool:
    if abs(analytical - numerical) <= atol + rtol * abs(numerical):
        return True  # the common case; any NaN makes the comparison False
    # Equal infinities pass (their difference is NaN); NaN never does.
    return math.isinf(analytical) and analytical == numerical


@dataclass
class RuleFailure:
    """A node whose recorded local derivative disagrees with its primitive."""

    node: Value
    parent_index: int
    recorded: float
    numerical: float

    def __str__(self) -> str:
        label = f" (label {self.node.label!r})" if self.node.label else ""
        return (f"node {self.node.op!r}{label}, input {self.parent_index}: recorded local "
                f"derivative {self.recorded!r}, finite differences give {self.numerical!r}")


@dataclass
class RuleCheckReport:
    """What ``check_rules`` found.

    Attributes:
        checked: how many edges (node, input) were compared.
        kinks: (node, input index) pairs at a non-differentiable point, not compared.
        skipped: (node, input index) pairs whose stencil left the op's domain.
        failures: the edges whose rule is wrong, in graph order.
    """

    checked: int = 0
    kinks: list[tuple[Value, int]] = field(default_factory=list)
    skipped: list[tuple[Value, int]] = field(default_factory=list)
    failures: list[RuleFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no edge failed."""
        return not self.failures


def check_rules(root: Value, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                raise_exception: bool = True) -> RuleCheckReport:
    """Check every node's recorded local derivatives against its own primitive.

    For each node and each parent, the op's forward function is differenced around
    the parent's value (the other inputs held fixed) and compared with the number the
    node recorded. The first wrong rule is named by op and label.

    Raises:
        GradcheckError: for the first failing node, when ``raise_exception``.
    """
    if not isinstance(root, Value):
        raise TypeError(f"check_rules takes a Value; got {root!r}")
    _check_eps(eps, "check_rules")
    report = RuleCheckReport()
    for node in topological_order(root):
        if not node.op:
            continue
        rule = RULES.get(node.op)
        if rule is None:
            raise NotImplementedError(f"check_rules: no rule for op {node.op!r}")
        inputs = [parent.data for parent in node.parents]
        for index, recorded in enumerate(node.local_grads):
            outcome = _difference_rule(rule, inputs, node.attrs, index, eps)
            if outcome is None:
                report.skipped.append((node, index))
                continue
            numerical, crosses = outcome
            if crosses:
                report.kinks.append((node, index))
                continue
            report.checked += 1
            recorded_value = float(recorded)
            if not _close(recorded_value, numerical, atol, rtol):
                failure = RuleFailure(node, index, recorded_value, numerical)
                report.failures.append(failure)
                if raise_exception:
                    raise GradcheckError(f"check_rules: {failure}", index=index,
                                         analytical=recorded_value, numerical=numerical,
                                         node=node)
    return report


def _difference_rule(rule: Any, inputs: list[float], attrs: tuple, index: int, eps: float
                     ) -> tuple[float, bool] | None:
    plus, minus = list(inputs), list(inputs)
    plus[index] += eps
    minus[index] -= eps
    try:
        f_plus = rule.forward(*plus, *attrs)
        f_minus = rule.forward(*minus, *attrs)
    except DomainError:
        return None
    crosses = False
    if rule.branch is not None:
        here = rule.branch(*inputs, *attrs)
        crosses = not (rule.branch(*plus, *attrs) == here == rule.branch(*minus, *attrs))
    return (f_plus - f_minus) / (2.0 * eps), crosses
