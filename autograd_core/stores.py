"""The node stores: where a ``Value``'s fields live and how its hot operators run.

Two stores compute the same numbers in the same order (a test compares them bit for
bit): the compiled one (``_fastnode.c``: grads and local derivatives as C doubles,
parents inline, nodes kept out of the cycle collector's walks, operators that call the
rule table's functions without a Python frame of their own) when it was built, else
the pure-Python one below (``PythonNode``), which is also the readable reference.
``CORE`` says which one runs; ``AUTOGRAD_CORE_PURE=1`` picks the Python one.

:mod:`autograd_core.engine` subclasses the store's node class as ``Value`` and
connects it here with :func:`bind`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .rules import RULES, Rule

# The compiled node store (autograd_core/_fastnode.c) when it was built, unless
# AUTOGRAD_CORE_PURE is set; otherwise the pure-Python store below.
_fastnode: Any
if os.environ.get("AUTOGRAD_CORE_PURE"):
    _fastnode = None
else:
    try:
        from . import _fastnode
    except ImportError:
        _fastnode = None

CORE = "python" if _fastnode is None else "compiled"
"""Which node store this process uses: ``"compiled"`` or ``"python"``."""

# How many no_grad/detect_anomaly blocks are active in any thread: the hot path
# checks this one number (see autograd_core.modes).
_special_modes = 0


def set_special_modes(count: int) -> None:
    """Tell both stores how many mode blocks are active (called by the modes)."""
    global _special_modes
    _special_modes = count
    if _fastnode is not None:
        _fastnode.set_special_modes(count)


# What engine.py connects (see bind): the class every node is made as, the function
# that lifts numbers to leaves, and the path of an op while a mode is active.
_value_class: Any = None
_lift: Callable[[Any], Any]
_in_mode: Callable[..., Any]

_new_value = object.__new__

_ADD, _SUB, _MUL, _DIV = (RULES[n] for n in ("add", "sub", "mul", "div"))
_NEG, _EXP, _LOG, _SQRT = (RULES[n] for n in ("neg", "exp", "log", "sqrt"))
_TANH, _SIGMOID, _RELU = (RULES[n] for n in ("tanh", "sigmoid", "relu"))
_ABS, _SIN, _COS, _SOFTPLUS = (RULES[n] for n in ("abs", "sin", "cos", "softplus"))


# The hot path. Each operator below is made by one of these two factories: the
# returned function is the operator itself (no intermediate call), with the rule's
# forward and local functions bound in its closure (no attribute look-ups per op).


def hot_functions(rule: Rule) -> tuple[Callable, Callable, tuple | None]:
    """The rule's forward and local functions for the hot path, and its shared locals."""
    forward = rule.forward
    # A rule whose local derivatives are constants gives them once, to be shared by
    # every node it makes (no call, no allocation per node).
    shared = rule.local(*(0.5,) * rule.arity, 0.5) if rule.constant_local else None
    return forward, rule.local, shared


def _binary_method(rule: Rule, *, reflected: bool = False) -> Callable[[Any, Any], Any]:
    """The ``Value`` operator for a two-input rule (``reflected``: ``other op self``)."""
    forward, local, shared = hot_functions(rule)
    name = rule.name

    def method(x: Any, y: Any) -> Any:
        if type(y) is not _value_class:
            y = _lift(y)
        a = x.data
        b = y.data
        out = forward(a, b)
        if _special_modes:
            return _in_mode(rule, out, (x, y), ())
        node = _new_value(_value_class)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node.op = name
        node.parents = (x, y)
        node.local_grads = shared if shared is not None else local(a, b, out)
        node.attrs = ()
        return node

    if not reflected:
        return method

    def reflected_method(y: Any, x: Any) -> Any:
        return method(_lift(x), y)

    return reflected_method


def _unary_method(rule: Rule, doc: str | None = None) -> Callable[[Any], Any]:
    """The ``Value`` method for a one-input rule without attributes."""
    forward, local, shared = hot_functions(rule)
    name = rule.name

    def method(x: Any) -> Any:
        data = x.data
        out = forward(data)
        if _special_modes:
            return _in_mode(rule, out, (x,), ())
        node = _new_value(_value_class)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node.op = name
        node.parents = (x,)
        node.local_grads = shared if shared is not None else local(data, out)
        node.attrs = ()
        return node

    method.__doc__ = doc
    return method


class PythonNode:
    """The pure-Python node store: seven slots per node and the hot operators.

    Used when the compiled store (``_fastnode.Node``) is not built or
    ``AUTOGRAD_CORE_PURE`` is set; ``Value`` adds everything else.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "local_grads", "attrs")

    def __new__(cls, *args: Any, **kwargs: Any) -> PythonNode:
        node = _new_value(cls)
        node.op = ""
        node.parents = ()
        node.local_grads = ()
        node.attrs = ()
        return node

    __add__ = _binary_method(_ADD)

    __radd__ = _binary_method(_ADD, reflected=True)

    __sub__ = _binary_method(_SUB)

    __rsub__ = _binary_method(_SUB, reflected=True)

    __mul__ = _binary_method(_MUL)

    __rmul__ = _binary_method(_MUL, reflected=True)

    __truediv__ = _binary_method(_DIV)

    __rtruediv__ = _binary_method(_DIV, reflected=True)

    __neg__ = _unary_method(_NEG)

    __abs__ = _unary_method(_ABS)

    exp = _unary_method(_EXP, "e ** self; overflows to inf rather than raising.")

    log = _unary_method(_LOG, "Natural logarithm; ``ValueError`` for inputs <= 0.")

    sqrt = _unary_method(_SQRT, "Square root; ``ValueError`` for negative inputs.")

    tanh = _unary_method(_TANH, "Hyperbolic tangent.")

    sigmoid = _unary_method(_SIGMOID, "Logistic sigmoid 1 / (1 + e^-x), stable in both tails.")

    relu = _unary_method(_RELU, "max(x, 0); its derivative at 0 is taken to be 0.")

    abs = _unary_method(_ABS, "|x|; its derivative at 0 is taken to be 0.")

    sin = _unary_method(_SIN, "Sine.")

    cos = _unary_method(_COS, "Cosine.")

    softplus = _unary_method(_SOFTPLUS, "log(1 + e^x), stable in both tails.")


# The operators above are made by factories; named as the class attributes they are, they
# pickle by reference (a module holding Value.tanh as its activation pickles on both stores).
for _name, _method in list(vars(PythonNode).items()):
    if callable(_method) and getattr(_method, "__qualname__", "").startswith(
            ("_binary_method.", "_unary_method.")):
        _method.__name__, _method.__qualname__ = _name, f"PythonNode.{_name}"

NodeStore: Any = PythonNode if _fastnode is None else _fastnode.Node
"""The class ``Value`` extends: the compiled node, or :class:`PythonNode`."""


def _python_make(data: float, op: str, parents: tuple, local_grads: tuple, attrs: tuple) -> Any:
    """Make a recorded node without re-validating (the engine's own constructor)."""
    node = _new_value(_value_class)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op = op
    node.parents = parents
    node.local_grads = local_grads
    node.attrs = attrs
    return node


make_node: Callable[..., Any] = _python_make if _fastnode is None else _fastnode.make
"""``make_node(data, op, parents, local_grads, attrs)``: a recorded node of the store."""


def bind(value_class: type, lift: Callable[[Any], Any], in_mode: Callable[..., Any]) -> None:
    """Connect the store to the engine: its ``Value`` class, ``_lift`` and mode path."""
    global _value_class, _lift, _in_mode
    _value_class, _lift, _in_mode = value_class, lift, in_mode
    if _fastnode is not None:
        _fastnode.bind(value_class, lift, in_mode, {
            name: (RULES[name], *hot_functions(RULES[name])) for name in _fastnode.HOT_RULES
        })
