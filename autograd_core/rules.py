"""The rule table: every primitive the engine knows, in one place.

Each primitive is a :class:`Rule`: its name (recorded as ``Value.op``), a forward
function on Python floats, the same forward on numpy arrays, and a local-derivative
function that returns ``d out / d input`` for each input, in argument order.

A local-derivative function is called as ``local(*inputs, out, *attrs)`` and is
written once so that it runs on three backends:

* Python floats (the eager pass records these numbers on each node),
* numpy arrays (the batched replay of a traced graph),
* ``Value`` nodes (building a graph of the derivative, for higher-order gradients).

Rules that must branch (relu, abs, max) call small helpers below that pick the
backend by type. Each rule's docstring is the human-readable text of its maths;
``Rule.text`` carries it to pictures and docs.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = ["Rule", "RULES", "DomainError", "register", "replace_rule", "UNARY_OPERATORS",
           "BINARY_OPERATORS"]

#: Python's one-operand operator slots a rule may claim (``"neg"`` is ``-x``).
UNARY_OPERATORS = ("neg", "pos", "abs", "invert")
#: Python's two-operand operator slots a rule may claim (``"add"`` is ``x + y`` and,
#: reflected, ``2 + x``; ``"truediv"`` is ``x / y``).
BINARY_OPERATORS = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
                    "lshift", "rshift", "and", "xor", "or")


class DomainError(ValueError):
    """An op was applied outside its domain (``log(0)``, ``sqrt(-1)``, ``0 ** -1``)."""


@dataclass(frozen=True)
class Rule:
    """One primitive of the engine, and everything that builds its ``Value`` method.

    Attributes:
        name: the op name recorded on nodes (``Value.op``).
        arity: number of inputs, or ``-1`` for a variadic op (``sum``).
        forward: ``forward(*inputs, *attrs)`` on Python floats; raises
            :class:`DomainError` outside the op's domain.
        forward_array: the same on numpy arrays, with the same domain checks (a
            replayed trace refuses what the eager pass refuses). If it takes a
            keyword ``out`` (numpy's ufuncs do), ``forward_array(*inputs, *attrs,
            out=array)`` must write the same numbers into ``array`` (the shape of the
            result) and return it: the replay then fills its rows in place.
        local: ``local(*inputs, out, *attrs)`` -> tuple of local derivatives, one per
            input; runs on floats, numpy arrays and ``Value`` nodes.
        text: the rule in words and symbols, e.g. ``d tanh(x)/dx = 1 - tanh(x)^2``.
        symbol: a short display name (``+``, ``*``, ``tanh``).
        branch: for ops with kinks (relu, abs, max), ``branch(*inputs, *attrs)``
            names the smooth piece the inputs lie on; where it changes between
            nearby points, the op is not differentiable there. ``None`` for smooth
            ops.
        constant_local: the local derivatives do not depend on the inputs (add,
            sub, neg), so the engine may compute them once and share them.
        method: the ``Value`` method that applies the rule (``x.tanh()``,
            ``x.leaky_relu(0.1)``, ``x.name(y)`` for two inputs), or ``None`` (an
            operator or :func:`~autograd_core.apply_op` only).
        operator: the Python operator slot the rule fills (one of
            :data:`UNARY_OPERATORS` or :data:`BINARY_OPERATORS`), or ``None``. A
            two-operand slot may be shared by a two-input rule (taken when the other
            operand is a ``Value``) and a one-input rule with one attribute (taken
            for a number, as ``x ** 2``).
        params: the names of the constant attributes passed after the inputs
            (``("slope",)``); they are recorded on the node as ``attrs``.
        defaults: default values of the last ``params``.
        samples: attribute tuples the random-expression strategies draw from
            (default: the defaults, when every param has one).
        positive: the inputs that must be positive for the op and its derivative to
            be defined (``log``'s input, the divisor); strategies keep them so.
        doc: the docstring of the generated method (default: made from ``text``).
    """

    name: str
    arity: int
    forward: Callable[..., float]
    forward_array: Callable[..., Any]
    local: Callable[..., tuple]
    text: str
    symbol: str
    branch: Callable[..., Any] | None = None
    constant_local: bool = False
    method: str | None = None
    operator: str | None = None
    params: tuple[str, ...] = ()
    defaults: tuple[float, ...] = ()
    samples: tuple[tuple[float, ...], ...] = ()
    positive: tuple[int, ...] = ()
    doc: str = ""


#: Every primitive the engine knows, by op name, in registration order. Change it only
#: through :func:`register` and :func:`replace_rule`, which rebind every path.
RULES: dict[str, Rule] = {}

# Those that apply rules (the engine's methods and operators on both node stores)
# register here: ``check(table)`` refuses a candidate table before anything changes,
# ``apply(table)`` rebinds to it once it is in place.
_binders: list[Any] = []

_AUTO: Any = object()


def _check_rule(rule: Rule) -> None:
    """Refuse a malformed rule with a clear message (nothing is changed yet)."""
    name = rule.name
    if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"a rule name must be an identifier that is not a Python keyword; "
                         f"got {name!r}")
    if type(rule.arity) is not int or rule.arity == 0 or rule.arity < -1:
        raise ValueError(f"rule {name!r}: arity must be a positive int or -1; got {rule.arity!r}")
    for field in ("forward", "forward_array", "local"):
        if not callable(getattr(rule, field)):
            raise TypeError(f"rule {name!r}: {field} must be callable; got "
                            f"{getattr(rule, field)!r}")
    if not rule.text:
        raise ValueError(f"rule {name!r}: its local-derivative function needs a docstring")
    if rule.method is not None and (type(rule.method) is not str
                                    or not rule.method.isidentifier()
                                    or keyword.iskeyword(rule.method)
                                    or rule.method.startswith("_")):
        raise ValueError(f"rule {name!r}: method must be a public identifier (not a "
                         f"keyword) or None; "
                         f"got {rule.method!r}")
    if rule.operator is not None:
        if rule.operator in UNARY_OPERATORS:
            if rule.arity != 1 or rule.params:
                raise ValueError(f"rule {name!r}: the operator {rule.operator!r} takes one "
                                 "input and no attributes")
        elif rule.operator in BINARY_OPERATORS:
            if not (rule.arity == 2 and not rule.params
                    or rule.arity == 1 and len(rule.params) == 1):
                raise ValueError(f"rule {name!r}: the operator {rule.operator!r} needs two "
                                 "inputs, or one input and one attribute")
        else:
            raise ValueError(f"rule {name!r}: operator must be one of "
                             f"{list(UNARY_OPERATORS + BINARY_OPERATORS)} or None; "
                             f"got {rule.operator!r}")
    if rule.arity == -1 and (rule.params or rule.method is not None):
        raise ValueError(f"rule {name!r}: a variadic rule takes no attributes and has no "
                         "method (apply it with apply_op)")
    if any(type(p) is not str or not p.isidentifier() for p in rule.params):
        raise ValueError(f"rule {name!r}: params must be identifiers; got {rule.params!r}")
    if len(rule.defaults) > len(rule.params):
        raise ValueError(f"rule {name!r}: {len(rule.defaults)} defaults for "
                         f"{len(rule.params)} params")
    for sample in rule.samples:
        if len(sample) != len(rule.params):
            raise ValueError(f"rule {name!r}: the sample {sample!r} does not give one value "
                             f"per param {rule.params!r}")
    for index in rule.positive:
        if type(index) is not int or not 0 <= index < max(rule.arity, 1):
            raise ValueError(f"rule {name!r}: positive names inputs by index; got {index!r}")
    if rule.constant_local and rule.arity < 1:
        raise ValueError(f"rule {name!r}: constant_local needs a fixed arity")


def _install(table: dict[str, Rule]) -> None:
    """Make ``table`` the rule table: every binder checks it first, then all rebind.

    The table is changed in place, one entry at a time (each a single dict store), never
    cleared: other threads applying rules meanwhile always find every rule.
    """
    for binder in _binders:
        binder.check(table)
    RULES.update(table)
    for name in [name for name in RULES if name not in table]:
        del RULES[name]
    for binder in _binders:
        binder.apply(RULES)


def register(
    name: str,
    arity: int,
    forward: Callable[..., float],
    forward_array: Callable[..., Any],
    local: Callable[..., tuple],
    *,
    symbol: str | None = None,
    branch: Callable[..., Any] | None = None,
    constant_local: bool = False,
    method: str | None = _AUTO,
    operator: str | None = None,
    params: tuple[str, ...] = (),
    defaults: tuple[float, ...] = (),
    samples: tuple[tuple[float, ...], ...] = (),
    positive: tuple[int, ...] = (),
    doc: str = "",
) -> Rule:
    """Add a primitive to :data:`RULES`; the local function's docstring is its text.

    The new rule is bound at once: its ``Value`` method (by default its name, for a
    rule of one or two inputs without an operator), its operator if it claims one,
    both node stores, higher-order gradients, the trace replay, the random-expression
    strategies, the formula language and the pictures all use it. Refused with a
    ``ValueError`` (before anything changes) if the name is taken, the method name
    is already a ``Value`` attribute, or the fields do not fit together.

    """
    if type(name) is str and name in RULES:
        raise ValueError(f"rule {name!r} is already registered (replace it with replace_rule)")
    if method is _AUTO:
        method = name if arity in (1, 2) and operator is None else None
    text = (local.__doc__ or "").strip()
    rule = Rule(name, arity, forward, forward_array, local, text, symbol or name, branch,
                constant_local, method, operator, tuple(params), tuple(defaults),
                tuple(tuple(s) for s in samples), tuple(positive), doc)
    _check_rule(rule)
    _install({**RULES, name: rule})
    return rule


def replace_rule(rule_or_name: Rule | str, **changes: Any) -> Rule:
    """Replace a registered rule everywhere at once; return the rule it replaced.

    Give a whole :class:`Rule` (the one this call returned, to put it back), or a
    name and the fields to change (``local=...``, ``forward=...``; a new ``local``
    brings its docstring as the new ``text``). Every path is rebound: the ``Value``
    method and operator, the compiled store's fast paths, ``create_graph``, the trace.
    Nodes recorded before keep the numbers they recorded; differentiating them again
    (``create_graph``) with a rule whose derivative differs is refused with a
    ``ValueError`` (rebuild the graph). A rule that does not fit
    (another arity, an unknown field, a method name taken) is refused with a
    ``ValueError`` or ``TypeError`` before anything changes.

    Example:
        >>> from autograd_core import Value
        >>> def _wrong_local(x, out):
        ...     \"\"\"d tanh(x)/dx = 1 (wrong on purpose)\"\"\"
        ...     return (1.0,)
        >>> original = replace_rule("tanh", local=_wrong_local)
        >>> Value(0.5).tanh().local_grads
        (1.0,)
        >>> _ = replace_rule(original)
        >>> Value(0.0).tanh().local_grads
        (1.0,)
    """
    if isinstance(rule_or_name, Rule):
        if changes:
            raise TypeError("replace_rule: give a Rule or a name with changes, not both")
        new = rule_or_name
    elif type(rule_or_name) is str:
        if rule_or_name not in RULES:
            raise ValueError(f"replace_rule: no rule {rule_or_name!r} (known: {sorted(RULES)})")
        unknown = set(changes) - {f.name for f in fields(Rule)} | ({"name"} & set(changes))
        if unknown:
            raise TypeError(f"replace_rule: cannot change {sorted(unknown)}")
        if "local" in changes and "text" not in changes:
            changes["text"] = (getattr(changes["local"], "__doc__", None) or "").strip()
        new = dataclasses.replace(RULES[rule_or_name], **changes)
    else:
        raise TypeError(f"replace_rule takes a Rule or a rule name; got {rule_or_name!r}")
    old = RULES.get(new.name)
    if old is None:
        raise ValueError(f"replace_rule: no rule {new.name!r} to replace (add it with register)")
    if new.arity != old.arity or new.params != old.params:
        raise ValueError(f"replace_rule: rule {new.name!r} must keep its arity {old.arity} "
                         f"and params {old.params!r} (recorded nodes depend on them)")
    _check_rule(new)
    _install({**RULES, new.name: new})
    return old


# ---------------------------------------------------------------------------
# Backend helpers: one function, three backends (float, numpy array, Value).
# Floats take the first branch; numpy arrays the second; anything else is a Value.


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def _step(x: Any) -> Any:
    """1 where x > 0, else 0 (relu's derivative; 0 at the kink)."""
    if type(x) is float:
        return 1.0 if x > 0.0 else 0.0
    if isinstance(x, np.ndarray):
        return x > 0.0  # booleans multiply as 1 and 0: one numpy call, no float copy
    return 1.0 if x.data > 0.0 else 0.0


def _leaky_step(x: Any, slope: float) -> Any:
    """1 where x > 0, else slope."""
    if type(x) is float:
        return 1.0 if x > 0.0 else slope
    if _is_array(x):
        return np.where(x > 0.0, 1.0, slope)
    return 1.0 if x.data > 0.0 else slope


def _sign(x: Any) -> Any:
    """-1, 0 or 1 (abs's derivative; 0 at the kink)."""
    if _is_array(x):
        return np.sign(x).astype(float)
    value = x if type(x) is float else x.data
    return 1.0 if value > 0.0 else (-1.0 if value < 0.0 else 0.0)


def _winner(x: Any, y: Any) -> tuple:
    """(1, 0) where x >= y, else (0, 1): ties go to the first argument."""
    if type(x) is float and type(y) is float:
        return (1.0, 0.0) if x >= y else (0.0, 1.0)
    if _is_array(x) or _is_array(y):
        first = np.asarray(x >= y, dtype=float)
        return first, 1.0 - first
    # Values (or a Value and a number): the winner's indicator is a constant.
    xd = float(x.data if hasattr(x, "grad") else x)
    yd = float(y.data if hasattr(y, "grad") else y)
    return (1.0, 0.0) if xd >= yd else (0.0, 1.0)


def _refuse(bad: Any, x: np.ndarray, message: str) -> None:
    """Raise the float forward's DomainError if any element of an array input is bad.

    The array forms check the same domains as the float forms, so a replayed trace
    refuses exactly the samples the eager pass refuses, instead of returning NaN or
    inf. ``message`` may contain ``{value!r}``, filled with the first bad element.
    """
    if bad.any():
        value = float(np.broadcast_to(x, bad.shape)[bad].flat[0])
        raise DomainError(message.format(value=value))


def _unary(float_fn: Callable, array_fn: Callable, method: str) -> Callable:
    def apply(x: Any) -> Any:
        if type(x) is float:
            return float_fn(x)
        if _is_array(x):
            return array_fn(x)
        return getattr(x, method)()

    return apply


def _exp_float(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sigmoid_float(x: float) -> float:
    # Two branches so that neither tail overflows or loses precision.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus_float(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite in both tails.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _softplus_array(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _periodic_accurate(array_fn: Callable, float_fn: Callable) -> Callable:
    """numpy's sin or cos, with Python's for |x| > 1e3: numpy's loses accuracy on large
    arguments (sin(e^40) off by 10%), and a replay must give the eager number."""

    def apply(x: np.ndarray) -> np.ndarray:
        out = array_fn(x)
        big = np.abs(x) > 1e3
        if big.any():
            out = np.array(out, dtype=float)
            out[big] = [float_fn(v) for v in np.broadcast_to(x, out.shape)[big].tolist()]
        return out

    return apply


_sin_array = _periodic_accurate(np.sin, math.sin)
_cos_array = _periodic_accurate(np.cos, math.cos)
_sigmoid = _unary(_sigmoid_float, _sigmoid_array, "sigmoid")
_sin = _unary(math.sin, _sin_array, "sin")
_cos = _unary(math.cos, _cos_array, "cos")


def _positive(x: float, *attrs: float) -> bool:
    return x > 0.0


# ---------------------------------------------------------------------------
# Binary arithmetic.


def _add_local(x, y, out):
    """d(x + y)/dx = 1, d(x + y)/dy = 1"""
    return (1.0, 1.0)


register("add", 2, operator.add, np.add, _add_local, symbol="+", constant_local=True,
         operator="add")


def _sub_local(x, y, out):
    """d(x - y)/dx = 1, d(x - y)/dy = -1"""
    return (1.0, -1.0)


register("sub", 2, operator.sub, np.subtract, _sub_local, symbol="-", constant_local=True,
         operator="sub")


def _mul_local(x, y, out):
    """d(x * y)/dx = y, d(x * y)/dy = x"""
    return (y, x)


register("mul", 2, operator.mul, np.multiply, _mul_local, symbol="*", operator="mul")


def _div_forward(x: float, y: float) -> float:
    if y == 0.0:
        raise DomainError(f"div: division by zero ({x!r} / {y!r})")
    return x / y


def _div_local(x, y, out):
    """d(x / y)/dx = 1 / y, d(x / y)/dy = -x / y^2"""
    return (1.0 / y, -out / y)


def _div_array(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _refuse(np.asarray(y) == 0.0, y, "div: division by zero (x / {value!r})")
    return np.divide(x, y)


register("div", 2, _div_forward, _div_array, _div_local, symbol="/", operator="truediv",
         positive=(1,))


def _max_forward(x: float, y: float) -> float:
    return x if x >= y else y


def _max_local(x, y, out):
    """d max(x, y)/dx = 1 if x >= y else 0; d/dy = the rest (ties go to x)"""
    return _winner(x, y)


def _max_branch(x: float, y: float) -> bool:
    return x >= y


register("max", 2, _max_forward, np.maximum, _max_local, branch=_max_branch, method=None)


# x ** inf is 0, 1 or inf, a step rather than a power: its derivative came out NaN
# (inf * 0) where the value is flat, so an infinite exponent is outside pow's domain.
_INFINITE_EXPONENT = "pow: the exponent must be finite; got {value!r}"


def _powv_forward(x: float, y: float) -> float:
    if y in (math.inf, -math.inf):
        raise DomainError(_INFINITE_EXPONENT.format(value=y))
    if x <= 0.0:
        raise DomainError(
            f"pow: the base must be positive when the exponent is a Value (got base {x!r}); "
            "d(x^y)/dy = x^y log(x) is undefined otherwise"
        )
    try:
        return x**y
    except OverflowError:
        return math.inf


def _powv_local(x, y, out):
    """d(x^y)/dx = y x^(y-1), d(x^y)/dy = x^y log(x)"""
    return (y * out / x, out * _log(x))


def _log_float(x: float) -> float:
    if x <= 0.0:
        raise DomainError(f"log: input must be positive, got {x!r}")
    return math.log(x)


def _log_array(x: np.ndarray) -> np.ndarray:
    _refuse(x <= 0.0, x, "log: input must be positive, got {value!r}")
    return np.log(x)


_log = _unary(_log_float, _log_array, "log")


def _powv_array(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _refuse(np.isinf(y), y, _INFINITE_EXPONENT)
    _refuse(np.asarray(x) <= 0.0, x, "pow: the base must be positive when the exponent is a "
                                     "Value (got base {value!r})")
    with np.errstate(over="ignore"):
        return np.power(x, y)


register("powv", 2, _powv_forward, _powv_array, _powv_local, symbol="**", operator="pow",
         positive=(0,))


# ---------------------------------------------------------------------------
# Unary ops (some with constant attributes recorded on the node as ``attrs``).


def _neg_local(x, out):
    """d(-x)/dx = -1"""
    return (-1.0,)


register("neg", 1, operator.neg, np.negative, _neg_local, symbol="-", constant_local=True,
         operator="neg")


def _float_pow(x: float, exponent: float) -> float:
    """x ** exponent on floats, where overflow gives a signed inf instead of raising."""
    try:
        return x**exponent
    except OverflowError:
        return math.copysign(math.inf, x) if float(exponent) % 2.0 == 1.0 else math.inf
    except ZeroDivisionError:
        # 0 ** a for a non-integer a < 0 (the forward refuses integer ones): a base
        # with a non-integer power lies in [0, inf), so 0 is reached from one side
        # only and the power's limit there is +inf.
        return math.inf


def _pow_forward(x: float, exponent: float) -> float:
    if exponent in (math.inf, -math.inf):
        raise DomainError(_INFINITE_EXPONENT.format(value=exponent))
    if x == 0.0 and exponent < 0.0 and float(exponent).is_integer():
        raise DomainError(f"pow: 0 cannot be raised to a negative power "
                          f"({x!r} ** {exponent!r})")
    if x < 0.0 and not float(exponent).is_integer():
        raise DomainError(
            f"pow: a negative base needs an integer exponent ({x!r} ** {exponent!r} is not real)"
        )
    return _float_pow(x, exponent)


def _pow_array(x: np.ndarray, exponent: float) -> np.ndarray:
    if exponent in (math.inf, -math.inf):
        raise DomainError(_INFINITE_EXPONENT.format(value=exponent))
    if float(exponent).is_integer():
        if exponent < 0.0:
            _refuse(x == 0.0, x, "pow: 0 cannot be raised to a negative power "
                                 f"(0.0 ** {exponent!r})")
    else:
        _refuse(x < 0.0, x, f"pow: a negative base needs an integer exponent "
                            f"(** {exponent!r}); got base {{value!r}}")
    with np.errstate(divide="ignore", over="ignore"):
        return np.power(x, exponent)


def _pow_local(x, out, exponent):
    """d(x^n)/dx = n x^(n-1) (0 for n = 0, also at x = 0)"""
    if exponent == 0.0:
        return (0.0,)  # x^0 = 1 everywhere: no 0 * inf at x = 0 on any backend
    if type(x) is float:
        if x == 0.0 and exponent < 1.0:
            return (math.copysign(math.inf, exponent),)
        return (exponent * _float_pow(x, exponent - 1.0),)
    if _is_array(x):
        with np.errstate(divide="ignore", over="ignore"):
            return (exponent * np.power(x, exponent - 1.0),)
    return (exponent * x ** (exponent - 1.0),)


register("pow", 1, _pow_forward, _pow_array, _pow_local, symbol="**", operator="pow",
         params=("exponent",), samples=((2.0,), (3.0,)))


def _exp_local(x, out):
    """d exp(x)/dx = exp(x)"""
    return (out,)


register("exp", 1, _exp_float, np.exp, _exp_local,
         doc="``e ** self``; overflows to inf rather than raising.")


def _log_local(x, out):
    """d log(x)/dx = 1 / x"""
    return (1.0 / x,)


register("log", 1, _log_float, _log_array, _log_local, positive=(0,),
         doc="Natural logarithm; ``ValueError`` for inputs <= 0.")


def _sqrt_forward(x: float) -> float:
    if x < 0.0:
        raise DomainError(f"sqrt: input must be non-negative, got {x!r}")
    return math.sqrt(x)


def _sqrt_local(x, out):
    """d sqrt(x)/dx = 1 / (2 sqrt(x)) (inf at x = 0)"""
    if type(out) is float:
        return (math.inf if out == 0.0 else 0.5 / out,)
    if _is_array(out):
        with np.errstate(divide="ignore"):
            return (0.5 / out,)
    if out.data == 0.0:
        # The same inf as on floats, as a node whose own derivative is -inf
        # (0.5 / out would divide by zero).
        return (0.5 * x**-0.5,)
    return (0.5 / out,)


def _sqrt_array(x: np.ndarray) -> np.ndarray:
    _refuse(x < 0.0, x, "sqrt: input must be non-negative, got {value!r}")
    return np.sqrt(x)


register("sqrt", 1, _sqrt_forward, _sqrt_array, _sqrt_local, positive=(0,),
         doc="Square root; ``ValueError`` for negative inputs.")


def _tanh_local(x, out):
    """d tanh(x)/dx = 1 - tanh(x)^2"""
    return (1.0 - out * out,)


register("tanh", 1, math.tanh, np.tanh, _tanh_local, doc="Hyperbolic tangent.")


def _sigmoid_local(x, out):
    """d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x))"""
    # 1 - sigmoid(x) = sigmoid(-x); computing it that way keeps full relative
    # precision in the right tail, where 1 - out would round to 0 (x > ~37).
    return (out * _sigmoid_complement(x, out),)


def _sigmoid_complement(x: Any, out: Any) -> Any:
    """1 - sigmoid(x), accurate in both tails."""
    if type(x) is float:
        return _sigmoid_float(-x) if x > 0.0 else 1.0 - out
    if _is_array(x):
        return np.where(x > 0.0, _sigmoid_array(-x), 1.0 - out)
    # A Value: the same form as on floats, so create_graph gives the same number.
    return (-x).sigmoid() if x.data > 0.0 else 1.0 - out


register("sigmoid", 1, _sigmoid_float, _sigmoid_array, _sigmoid_local, symbol="σ",
         doc="Logistic sigmoid ``1 / (1 + e^-x)``, stable in both tails.")


def _relu_forward(x: float) -> float:
    return x if x > 0.0 else 0.0


def _relu_array(x: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        return np.where(x > 0.0, x, 0.0)
    # The same numbers written in place: fmax takes 0 for NaN as the comparison does,
    # and adding 0 turns the -0.0 that fmax keeps for -0.0 into the comparison's 0.0.
    np.fmax(x, 0.0, out=out)
    return np.add(out, 0.0, out=out)


def _relu_local(x, out):
    """d relu(x)/dx = 1 if x > 0 else 0 (0 at x = 0)"""
    return (_step(x),)


register("relu", 1, _relu_forward, _relu_array, _relu_local, branch=_positive,
         doc="``max(x, 0)``; its derivative at 0 is taken to be 0.")


def _leaky_forward(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _leaky_array(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0.0, x, slope * x)


def _leaky_local(x, out, slope):
    """d leaky_relu(x)/dx = 1 if x > 0 else slope"""
    return (_leaky_step(x, slope),)


register("leaky_relu", 1, _leaky_forward, _leaky_array, _leaky_local, branch=_positive,
         params=("slope",), defaults=(0.01,), samples=((0.1,),),
         doc="``x`` for ``x > 0``, else ``slope * x``; the derivative at 0 is the slope.")


def _abs_local(x, out):
    """d |x|/dx = sign(x) (0 at x = 0)"""
    return (_sign(x),)


register("abs", 1, abs, np.abs, _abs_local, symbol="|x|", branch=_sign, operator="abs",
         method="abs",
         doc="Absolute value ``|x|``; its derivative at 0 is taken to be 0.")


def _sin_local(x, out):
    """d sin(x)/dx = cos(x)"""
    return (_cos(x),)


def _periodic(fn: Callable[[float], float], name: str) -> Callable[[float], float]:
    """sin or cos on floats, with a DomainError naming the op for an infinite input."""

    def forward(x: float) -> float:
        try:
            return fn(x)
        except ValueError:
            raise DomainError(f"{name}: input must be finite, got {x!r}") from None

    forward.__name__ = f"_{name}_forward"
    return forward


def _periodic_array(fn: Callable, name: str) -> Callable:
    def forward(x: np.ndarray) -> np.ndarray:
        _refuse(np.isinf(x), x, f"{name}: input must be finite, got {{value!r}}")
        return fn(x)

    forward.__name__ = f"_{name}_array"
    return forward


register("sin", 1, _periodic(math.sin, "sin"), _periodic_array(_sin_array, "sin"), _sin_local,
         doc="Sine.")


def _cos_local(x, out):
    """d cos(x)/dx = -sin(x)"""
    return (-_sin(x),)


register("cos", 1, _periodic(math.cos, "cos"), _periodic_array(_cos_array, "cos"), _cos_local,
         doc="Cosine.")


def _softplus_local(x, out):
    """d softplus(x)/dx = sigmoid(x)"""
    return (_sigmoid(x),)


register("softplus", 1, _softplus_float, _softplus_array, _softplus_local,
         doc="``log(1 + e^x)``, stable in both tails.")


# ---------------------------------------------------------------------------
# Variadic sum: one node for a whole weighted sum keeps graphs small and readable.


def _sum_forward(*xs: float) -> float:
    return sum(xs, 0.0)


def _sum_array(*xs: np.ndarray) -> np.ndarray:
    return sum(xs[1:], xs[0]) if xs else 0.0


_ONES: dict[int, tuple] = {}


def _sum_local(*xs_and_out):
    """d(x_1 + ... + x_n)/dx_i = 1"""
    n = len(xs_and_out) - 1
    ones = _ONES.get(n)
    if ones is None:
        ones = _ONES[n] = (1.0,) * n
    return ones


register("sum", -1, _sum_forward, _sum_array, _sum_local, symbol="Σ")


# ---------------------------------------------------------------------------
# Stable composites. Each is one primitive, so its numerically careful form (a max
# shifted out, a clamped log, a softplus instead of a log of a sigmoid) is chosen per
# sample by the rule itself, on every backend: the eager pass, the replay of a trace
# and the derivative graph of create_graph compute the same thing. Library code that
# needs them never reads ``.data`` to pick a shift or a branch.


def _apply_value(name: str, *inputs: Any) -> Any:
    """Apply rule ``name`` to Values (a rule's Value backend calling another rule)."""
    from .engine import apply_op  # the engine imports this module first

    return apply_op(name, *inputs)


def _logsumexp_forward(*xs: float) -> float:
    top = max(xs)
    if top in (math.inf, -math.inf):
        return top
    # log(sum e^x) = top + log1p(the other terms, shifted): the largest term is
    # exactly 1 and is left out of the sum, so a dominant input keeps full precision.
    rest = 0.0
    skipped = False
    for x in xs:
        if x == top and not skipped:
            skipped = True
            continue
        rest += math.exp(x - top)
    return top + math.log1p(rest)


def _stacked(xs: tuple) -> np.ndarray:
    """The inputs as the rows of one float array (broadcast if their shapes differ)."""
    try:
        return np.array(xs, dtype=float)
    except ValueError:
        return np.stack(np.broadcast_arrays(*xs)).astype(float)


def _logsumexp_array(*xs: np.ndarray) -> np.ndarray:
    stacked = _stacked(xs)
    top = stacked.max(axis=0)
    finite = np.isfinite(top)
    all_finite = finite.all()  # the usual case: no where and no error state to set
    if all_finite:
        exps = np.exp(stacked - top)
    else:
        with np.errstate(invalid="ignore"):
            exps = np.exp(stacked - np.where(finite, top, 0.0))
    columns = exps.reshape(len(xs), -1)  # the largest term of each column is left out
    columns[stacked.reshape(len(xs), -1).argmax(axis=0), np.arange(columns.shape[1])] = 0.0
    # Added row after row, in argument order as on floats. sum(axis=0) does so over two
    # columns or more, but on one column (a batch of one, 0-d inputs) it goes pairwise
    # and a sample's bits would depend on its batch: an accumulation is sequential.
    if columns.shape[1] > 1:
        rest = columns.sum(axis=0).reshape(top.shape)
    else:
        rest = np.add.accumulate(columns[:, 0])[-1:].reshape(top.shape)
    if all_finite:  # into rest: an array even for 0-d inputs (top is then a scalar)
        return np.add(top, np.log1p(rest, out=rest), out=rest)
    return np.where(finite, top + np.log1p(rest), top)


def _logsumexp_local(*xs_and_out):
    """d logsumexp(x)/dx_i = softmax(x)_i = sigmoid(x_i - logsumexp(x_j for j != i))"""
    # The sigmoid form, not exp(x_i - logsumexp(x)): both are accurate at first
    # order, but differentiated again the latter cancels (1 - softmax_i where
    # softmax_i ~ 1), while sigmoid's derivative keeps its tail.
    *xs, out = xs_and_out
    if type(out) is float:
        if math.isinf(out):
            return _tied_share(xs, out)
        return tuple(_sigmoid_float(x - others)
                     for x, others in zip(xs, _all_others(xs)))
    if _is_array(out):
        # All inputs at once, one row each: the running sums are ufunc accumulations.
        stacked = _stacked(tuple(xs))
        others = np.full_like(stacked, -np.inf)
        if len(xs) > 1:
            left = np.logaddexp.accumulate(stacked[:-1], axis=0)
            right = np.logaddexp.accumulate(stacked[:0:-1], axis=0)[::-1]
            others[0], others[-1] = right[0], left[-1]
            np.logaddexp(left[:-1], right[1:], out=others[1:-1])
        finite = np.isfinite(out)
        if finite.all():  # the usual case: no infinite output to share out
            # x - others overflows to +-inf (a share of 1 or 0) when both are huge.
            with np.errstate(over="ignore"):
                return tuple(_sigmoid_array(stacked - others))
        ties = (stacked == out).astype(float)
        with np.errstate(invalid="ignore", over="ignore"):
            shares = np.where(finite, _sigmoid_array(stacked - others),
                              ties / np.maximum(ties.sum(axis=0), 1.0))
        return tuple(shares)
    if math.isinf(out.data):
        return _tied_share([float(x.data) for x in xs], out.data)
    return tuple((x - _others(xs, i, _logsumexp_value)).sigmoid() for i, x in enumerate(xs))


def _all_others(xs: list[float]) -> list[float]:
    """For each i, the logsumexp of every input but the i-th (-inf for a single input).

    From running sums from the left and from the right, joined pairwise: 3n
    operations, not n logsumexps of n - 1 inputs each (the array form does the same
    with ufunc accumulations).
    """
    n = len(xs)
    if n == 1:
        return [-math.inf]
    left = [xs[0]]  # left[k]: the first k + 1 inputs
    for x in xs[1:n - 1]:
        left.append(_logaddexp_float(left[-1], x))
    right = [xs[n - 1]]  # right[k]: the last k + 1 inputs
    for x in reversed(xs[1:n - 1]):
        right.append(_logaddexp_float(right[-1], x))
    middle = [_logaddexp_float(left[i - 1], right[n - 2 - i]) for i in range(1, n - 1)]
    return [right[n - 2], *middle, left[n - 2]]


def _logaddexp_float(a: float, b: float) -> float:
    """log(e^a + e^b) without overflow: the larger plus log1p of the smaller's share."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = a if a > b else b
    return top + math.log1p(math.exp(-abs(a - b)))


def _others(xs: Any, i: int, logsumexp: Callable) -> Any:
    """logsumexp of every input but the i-th (-inf for a single input)."""
    others = [x for j, x in enumerate(xs) if j != i]
    if not others:
        return -math.inf
    return others[0] if len(others) == 1 else logsumexp(*others)


def _logsumexp_value(*xs: Any) -> Any:
    return _apply_value("logsumexp", *xs)


def _tied_share(xs: Any, out: float) -> tuple:
    """An infinite logsumexp: its gradient is shared by the inputs equal to it."""
    ties = [1.0 if x == out else 0.0 for x in xs]
    count = sum(ties)
    return tuple(tie / count for tie in ties)


register("logsumexp", -1, _logsumexp_forward, _logsumexp_array, _logsumexp_local,
         symbol="logΣexp")


def _log_sigmoid_float(x: float) -> float:
    return -_softplus_float(-x)


def _log_sigmoid_array(x: np.ndarray) -> np.ndarray:
    return -_softplus_array(-x)


def _log_sigmoid_local(x, out):
    """d log sigmoid(x)/dx = sigmoid(-x) = 1 - sigmoid(x)"""
    return (_sigmoid(-x),)


register("log_sigmoid", 1, _log_sigmoid_float, _log_sigmoid_array, _log_sigmoid_local,
         symbol="log σ", doc="log(sigmoid(x)) = -softplus(-x), stable in both tails.")


# Binary cross-entropy on a probability: log p is clamped at -100 (as PyTorch does),
# so p = 0 or 1 gives a large finite loss; the clamp is a kink at p = e^-100.
_LOG_FLOOR = -100.0
_P_FLOOR = math.exp(_LOG_FLOOR)


def _bce_forward(p: float, t: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise DomainError(f"bce: input {p!r} is not a probability in [0, 1] (for raw "
                          "scores use bce_logits, binary cross-entropy with logits)")
    log_p = math.log(p) if p > _P_FLOOR else _LOG_FLOOR
    log_q = math.log1p(-p) if 1.0 - p > _P_FLOOR else _LOG_FLOOR  # log(1 - p), accurate
    return 0.0 - (t * log_p + (1.0 - t) * log_q)  # 0 - x: a loss of 0 is +0.0


def _bce_array(p: np.ndarray, t: Any) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    _refuse((p < 0.0) | (p > 1.0), p, "bce: input {value!r} is not a probability in [0, 1] "
                                      "(for raw scores use bce_logits, binary cross-entropy "
                                      "with logits)")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(p > _P_FLOOR, np.log(p), _LOG_FLOOR)
        log_q = np.where(1.0 - p > _P_FLOOR, np.log1p(-p), _LOG_FLOOR)
    return 0.0 - (t * log_p + (1.0 - t) * log_q)


def _bce_local(p, t, out):
    """d bce(p, t)/dp = -t / p + (1 - t) / (1 - p); d/dt = log(1 - p) - log(p); a term whose log is clamped at -100 contributes 0"""  # noqa: E501
    return (_bce_dp(p, t), _bce_dt(p))


def _bce_dp(p: Any, t: Any) -> Any:
    if _is_array(p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.where(p > _P_FLOOR, -t / p, 0.0)
                    + np.where(1.0 - p > _P_FLOOR, (1.0 - t) / (1.0 - p), 0.0))
    value = p if type(p) is float else p.data
    # A Value takes the same branches as its float, so create_graph gives the same
    # number; each branch is the derivative of the piece the point lies on.
    first = -t / p if value > _P_FLOOR else 0.0
    second = (1.0 - t) / (1.0 - p) if 1.0 - value > _P_FLOOR else 0.0
    return first + second


def _bce_dt(p: Any) -> Any:
    # The loss is linear in t: d/dt = bce(p, 1) - bce(p, 0), the same clamped logs.
    if type(p) is float:
        return _bce_forward(p, 1.0) - _bce_forward(p, 0.0)
    if _is_array(p):
        return _bce_array(p, 1.0) - _bce_array(p, 0.0)
    return _apply_value("bce", p, 1.0) - _apply_value("bce", p, 0.0)


def _bce_branch(p: float, t: float) -> tuple:
    return (p > _P_FLOOR, 1.0 - p > _P_FLOOR)


register("bce", 2, _bce_forward, _bce_array, _bce_local, symbol="BCE", branch=_bce_branch,
         method=None)


# Binary cross-entropy of sigmoid(z): t softplus(-z) + (1 - t) softplus(z). Both terms
# are >= 0, so nothing cancels (softplus(z) - t z would lose everything for t = 1 and
# z = 40); a term whose weight is exactly 0 is left out, so z = inf gives no 0 * inf.


def _bce_logits_forward(z: float, t: float) -> float:
    positive = t * _softplus_float(-z) if t != 0.0 else 0.0
    negative = (1.0 - t) * _softplus_float(z) if t != 1.0 else 0.0
    return positive + negative


def _bce_logits_array(z: np.ndarray, t: Any) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        positive = np.where(t != 0.0, t * _softplus_array(-z), 0.0)
        negative = np.where(t != 1.0, (1.0 - t) * _softplus_array(z), 0.0)
    return positive + negative


def _bce_logits_local(z, t, out):
    """d bce_logits(z, t)/dz = (1 - t) sigmoid(z) - t sigmoid(-z) (= sigmoid(z) - t); d/dt = -z"""  # noqa: E501
    return (-t * _sigmoid(-z) + (1.0 - t) * _sigmoid(z), -z)


register("bce_logits", 2, _bce_logits_forward, _bce_logits_array, _bce_logits_local,
         symbol="BCE(logit)", method=None)
