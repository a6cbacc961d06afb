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

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Rule", "RULES", "DomainError", "register"]


class DomainError(ValueError):
    """An op was applied outside its domain (``log(0)``, ``sqrt(-1)``, ``0 ** -1``)."""


@dataclass(frozen=True)
class Rule:
    """One primitive of the engine.

    Attributes:
        name: the op name recorded on nodes (``Value.op``).
        arity: number of inputs, or ``-1`` for a variadic op (``sum``).
        forward: ``forward(*inputs, *attrs)`` on Python floats; raises
            :class:`DomainError` outside the op's domain.
        forward_array: the same on numpy arrays, with the same domain checks (a
            replayed trace refuses what the eager pass refuses).
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


#: Every primitive the engine knows, by op name (filled by :func:`register`).
RULES: dict[str, Rule] = {}


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
) -> Rule:
    """Add a primitive to :data:`RULES`; the local function's docstring is its text."""
    if name in RULES:
        raise ValueError(f"rule {name!r} is already registered")
    text = (local.__doc__ or "").strip()
    if not text:
        raise ValueError(f"rule {name!r}: its local-derivative function needs a docstring")
    rule = Rule(name, arity, forward, forward_array, local, text, symbol or name, branch,
                constant_local)
    RULES[name] = rule
    return rule


# ---------------------------------------------------------------------------
# Backend helpers: one function, three backends (float, numpy array, Value).
# Floats take the first branch; numpy arrays the second; anything else is a Value.


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray)


def _step(x: Any) -> Any:
    """1 where x > 0, else 0 (relu's derivative; 0 at the kink)."""
    if type(x) is float:
        return 1.0 if x > 0.0 else 0.0
    if _is_array(x):
        return (x > 0.0).astype(float)
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


_sigmoid = _unary(_sigmoid_float, _sigmoid_array, "sigmoid")
_sin = _unary(math.sin, np.sin, "sin")
_cos = _unary(math.cos, np.cos, "cos")


def _positive(x: float, *attrs: float) -> bool:
    return x > 0.0


# ---------------------------------------------------------------------------
# Binary arithmetic.


def _add_local(x, y, out):
    """d(x + y)/dx = 1, d(x + y)/dy = 1"""
    return (1.0, 1.0)


register("add", 2, operator.add, np.add, _add_local, symbol="+", constant_local=True)


def _sub_local(x, y, out):
    """d(x - y)/dx = 1, d(x - y)/dy = -1"""
    return (1.0, -1.0)


register("sub", 2, operator.sub, np.subtract, _sub_local, symbol="-", constant_local=True)


def _mul_local(x, y, out):
    """d(x * y)/dx = y, d(x * y)/dy = x"""
    return (y, x)


register("mul", 2, operator.mul, np.multiply, _mul_local, symbol="*")


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


register("div", 2, _div_forward, _div_array, _div_local, symbol="/")


def _max_forward(x: float, y: float) -> float:
    return x if x >= y else y


def _max_local(x, y, out):
    """d max(x, y)/dx = 1 if x >= y else 0; d/dy = the rest (ties go to x)"""
    return _winner(x, y)


def _max_branch(x: float, y: float) -> bool:
    return x >= y


register("max", 2, _max_forward, np.maximum, _max_local, branch=_max_branch)


def _powv_forward(x: float, y: float) -> float:
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
    _refuse(np.asarray(x) <= 0.0, x, "pow: the base must be positive when the exponent is a "
                                     "Value (got base {value!r})")
    with np.errstate(over="ignore"):
        return np.power(x, y)


register("powv", 2, _powv_forward, _powv_array, _powv_local, symbol="**")


# ---------------------------------------------------------------------------
# Unary ops (some with constant attributes recorded on the node as ``attrs``).


def _neg_local(x, out):
    """d(-x)/dx = -1"""
    return (-1.0,)


register("neg", 1, operator.neg, np.negative, _neg_local, symbol="-", constant_local=True)


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
    if x == 0.0 and exponent < 0.0 and float(exponent).is_integer():
        raise DomainError(f"pow: 0 cannot be raised to a negative power "
                          f"({x!r} ** {exponent!r})")
    if x < 0.0 and not float(exponent).is_integer():
        raise DomainError(
            f"pow: a negative base needs an integer exponent ({x!r} ** {exponent!r} is not real)"
        )
    return _float_pow(x, exponent)


def _pow_array(x: np.ndarray, exponent: float) -> np.ndarray:
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


register("pow", 1, _pow_forward, _pow_array, _pow_local, symbol="**")


def _exp_local(x, out):
    """d exp(x)/dx = exp(x)"""
    return (out,)


register("exp", 1, _exp_float, np.exp, _exp_local)


def _log_local(x, out):
    """d log(x)/dx = 1 / x"""
    return (1.0 / x,)


register("log", 1, _log_float, _log_array, _log_local)


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


register("sqrt", 1, _sqrt_forward, _sqrt_array, _sqrt_local)


def _tanh_local(x, out):
    """d tanh(x)/dx = 1 - tanh(x)^2"""
    return (1.0 - out * out,)


register("tanh", 1, math.tanh, np.tanh, _tanh_local)


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


register("sigmoid", 1, _sigmoid_float, _sigmoid_array, _sigmoid_local, symbol="σ")


def _relu_forward(x: float) -> float:
    return x if x > 0.0 else 0.0


def _relu_array(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0, x, 0.0)


def _relu_local(x, out):
    """d relu(x)/dx = 1 if x > 0 else 0 (0 at x = 0)"""
    return (_step(x),)


register("relu", 1, _relu_forward, _relu_array, _relu_local, branch=_positive)


def _leaky_forward(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _leaky_array(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0.0, x, slope * x)


def _leaky_local(x, out, slope):
    """d leaky_relu(x)/dx = 1 if x > 0 else slope"""
    return (_leaky_step(x, slope),)


register("leaky_relu", 1, _leaky_forward, _leaky_array, _leaky_local, branch=_positive)


def _abs_local(x, out):
    """d |x|/dx = sign(x) (0 at x = 0)"""
    return (_sign(x),)


register("abs", 1, abs, np.abs, _abs_local, symbol="|x|", branch=_sign)


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


register("sin", 1, _periodic(math.sin, "sin"), _periodic_array(np.sin, "sin"), _sin_local)


def _cos_local(x, out):
    """d cos(x)/dx = -sin(x)"""
    return (-_sin(x),)


register("cos", 1, _periodic(math.cos, "cos"), _periodic_array(np.cos, "cos"), _cos_local)


def _softplus_local(x, out):
    """d softplus(x)/dx = sigmoid(x)"""
    return (_sigmoid(x),)


register("softplus", 1, _softplus_float, _softplus_array, _softplus_local)


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


def _logsumexp_array(*xs: np.ndarray) -> np.ndarray:
    stacked = np.stack(np.broadcast_arrays(*xs)).astype(float)
    top = stacked.max(axis=0)
    finite = np.isfinite(top)
    with np.errstate(invalid="ignore"):
        exps = np.exp(stacked - np.where(finite, top, 0.0))
    np.put_along_axis(exps, stacked.argmax(axis=0)[None], 0.0, axis=0)
    rest = exps[0]
    for row in exps[1:]:  # in argument order, as on floats
        rest = rest + row
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
        return tuple(_sigmoid_float(x - _others(xs, i, _logsumexp_forward))
                     for i, x in enumerate(xs))
    if _is_array(out):
        finite = np.isfinite(out)
        ties = [np.asarray(x == out, dtype=float) for x in xs]
        count = sum(ties[1:], ties[0])
        locals_ = []
        with np.errstate(invalid="ignore", over="ignore"):
            for i, (x, tie) in enumerate(zip(xs, ties)):
                share = _sigmoid_array(x - _others(xs, i, _logsumexp_array))
                locals_.append(np.where(finite, share, tie / np.maximum(count, 1.0)))
        return tuple(locals_)
    if math.isinf(out.data):
        return _tied_share([float(x.data) for x in xs], out.data)
    return tuple((x - _others(xs, i, _logsumexp_value)).sigmoid() for i, x in enumerate(xs))


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
         symbol="log σ")


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


register("bce", 2, _bce_forward, _bce_array, _bce_local, symbol="BCE", branch=_bce_branch)


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
         symbol="BCE(logit)")
