"""The scalar engine: ``Value`` nodes, the graph they record, and the backward pass.

A node is data, not code: its value, its parents (argument order), the name of its
op and the local derivative ``d self / d parent`` for each parent, all computed in
the forward pass from the rule table (:mod:`autograd_core.rules`). The backward pass
is the lecture's algorithm: for a topological order ``v_1 .. v_N``, set
``delta(v_N) = 1`` and, from ``N`` down to 1, send ``delta(child) * local`` to every
parent, where the messages a node receives add up to its own delta.

Nodes live in one of two stores that compute the same numbers in the same order (a
test compares them bit for bit): the compiled one (``_fastnode.c``: grads and local
derivatives as C doubles, parents inline, nodes kept out of the cycle collector's walks,
operators that call this table's rules without a Python frame of their own) when it
was built, else the pure-Python one below (``_PythonNode``), which is also the readable
reference. ``CORE`` says which one runs; ``AUTOGRAD_CORE_PURE=1`` picks the Python one.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ContextDecorator
from typing import Any, NamedTuple, Union

import numpy as np

from . import watch
from .rules import RULES, Rule

# The compiled node store (autograd_core/_fastnode.c) when it was built, unless
# AUTOGRAD_CORE_PURE is set; otherwise the pure-Python store below. Both compute the
# same numbers in the same order: only storage and speed differ.
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

__all__ = [
    "CORE",
    "Value",
    "Message",
    "topological_order",
    "backward_steps",
    "grad",
    "hessian",
    "no_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
]

Number = Union[int, float]
_ALLOWED_NUMBERS = "an int, a float or a numpy real scalar"
_INT_LIMIT = 2**1023  # ints at least this large overflow a float (handled below)


def _as_float(data: Any, what: str = "Value data") -> float:
    """Check and convert user data at the boundary."""
    kind = type(data)
    if kind is float:
        value = data
    elif kind is int and -_INT_LIMIT < data < _INT_LIMIT:
        value = float(data)
    elif isinstance(data, (bool, np.bool_)) or not isinstance(data, (numbers.Real, np.number)):
        raise TypeError(f"{what} must be {_ALLOWED_NUMBERS}; got {data!r} ({kind.__name__})")
    elif isinstance(data, np.complexfloating):
        raise TypeError(f"{what} must be real; got {data!r} ({kind.__name__})")
    else:
        try:
            value = float(data)
        except OverflowError:
            raise ValueError(f"{what} is too large for a float: {data!r}") from None
    if value != value:
        raise ValueError(f"{what} is NaN; a Value holds a real number")
    return value


# ---------------------------------------------------------------------------
# Modes: no_grad and detect_anomaly. Each is a per-thread depth; one global count of
# active mode blocks (in any thread) keeps the hot path of node creation to a single
# check of one global number.

_thread_state = threading.local()
_count_lock = threading.Lock()
_special_modes = 0


def _change_modes(step: int) -> None:
    global _special_modes
    with _count_lock:
        _special_modes += step
        if _fastnode is not None:
            _fastnode.set_special_modes(_special_modes)


def _enter_mode() -> None:
    _change_modes(1)


def _exit_mode() -> None:
    _change_modes(-1)


def is_grad_enabled() -> bool:
    """Whether ops in this thread record the graph (False inside ``no_grad``)."""
    return not getattr(_thread_state, "depth", 0)


class no_grad(ContextDecorator):
    """Context manager and decorator: ops inside build no graph; results are leaves.

    It affects only the thread that enters it.

    Example:
        >>> with no_grad():
        ...     y = Value(2.0) * 3
        >>> y.op, y.parents
        ('', ())
    """

    def __enter__(self) -> no_grad:
        _thread_state.depth = getattr(_thread_state, "depth", 0) + 1
        _enter_mode()
        return self

    def __exit__(self, *exc: object) -> None:
        _thread_state.depth -= 1
        _exit_mode()


class AnomalyError(FloatingPointError):
    """Inside ``detect_anomaly()``, an op produced NaN or inf.

    A subclass of ``FloatingPointError`` (hence of ``ArithmeticError``).

    Attributes:
        op: the op name (``Value.op``) whose forward or backward went wrong.
        phase: ``"forward"`` or ``"backward"``.
        inputs: the data of the op's inputs.
        location: ``"file:line"`` of the user code that created the node (for
            ``"backward"``, ``None`` if the node was made outside anomaly mode).
        node: for ``"backward"``, the node whose message went wrong (else ``None``).
    """

    def __init__(self, message: str, *, op: str, phase: str, inputs: tuple,
                 location: str | None, node: Value | None = None) -> None:
        super().__init__(message)
        self.op = op
        self.phase = phase
        self.inputs = inputs
        self.location = location
        self.node = node


def is_anomaly_enabled() -> bool:
    """Whether this thread is inside ``detect_anomaly()``."""
    return bool(getattr(_thread_state, "anomaly", 0))


class detect_anomaly(ContextDecorator):
    """Context manager and decorator: stop at the first op that produces NaN or inf.

    Inside it, every op checks its result, and every backward pass (``backward``,
    ``grad``, ``backward_steps``) checks each message it sends; the first non-finite
    number raises :class:`AnomalyError` naming the op, its inputs and the file and
    line of the user code that created the node. It affects only the thread that
    enters it. It is for debugging: nodes created inside it are kept alive (with
    their creation site) until the outermost block ends, and ops run slower.

    Example:
        >>> x = Value(0.0)
        >>> with detect_anomaly():
        ...     y = x.sqrt() * 2.0
        ...     y.backward()  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        AnomalyError: backward of op 'sqrt' ... produced inf ...
    """

    def __enter__(self) -> detect_anomaly:
        depth = getattr(_thread_state, "anomaly", 0)
        if not depth:
            _thread_state.origins = {}
        _thread_state.anomaly = depth + 1
        _enter_mode()
        return self

    def __exit__(self, *exc: object) -> None:
        _thread_state.anomaly -= 1
        if not _thread_state.anomaly:
            _thread_state.origins = {}
        _exit_mode()


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_location() -> str:
    """``file:line`` of the innermost caller outside this package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _node_in_mode(rule: Rule, out: float, parents: tuple, attrs: tuple) -> Value:
    """Node creation while some thread is in ``no_grad`` or ``detect_anomaly``."""
    state = _thread_state
    anomaly = getattr(state, "anomaly", 0)
    if anomaly and not math.isfinite(out):
        inputs = tuple(parent.data for parent in parents)
        location = _user_location()
        raise AnomalyError(
            f"forward of op {rule.name!r} produced {out!r} from inputs {inputs!r} "
            f"(at {location})", op=rule.name, phase="forward", inputs=inputs,
            location=location)
    if getattr(state, "depth", 0):
        return _node(out, "", (), (), ())
    local_grads = rule.local(*(parent.data for parent in parents), out, *attrs)
    node = _node(out, rule.name, parents, local_grads, attrs)
    if anomaly:
        state.origins[node] = _user_location()
    return node


def _check_message(node: Value, local: Any, delta: Any, total: Any) -> None:
    """In anomaly mode: raise if a backward message made a non-finite delta."""
    value = total.data if isinstance(total, Value) else total
    if math.isfinite(value):
        return
    inputs = tuple(parent.data for parent in node.parents)
    location = getattr(_thread_state, "origins", {}).get(node)
    where = f"created at {location}" if location else "created outside detect_anomaly()"
    raise AnomalyError(
        f"backward of op {node.op!r} ({where}) produced {value!r}: "
        f"delta {_fmt(delta)} x local derivative {_fmt(local)}; inputs {inputs!r}",
        op=node.op, phase="backward", inputs=inputs, location=location, node=node)


# ---------------------------------------------------------------------------
# Value

_ADD, _SUB, _MUL, _DIV, _POWV = (RULES[n] for n in ("add", "sub", "mul", "div", "powv"))
_NEG, _POW, _EXP, _LOG, _SQRT = (RULES[n] for n in ("neg", "pow", "exp", "log", "sqrt"))
_TANH, _SIGMOID, _RELU, _LEAKY = (RULES[n] for n in ("tanh", "sigmoid", "relu", "leaky_relu"))
_ABS, _SIN, _COS, _SOFTPLUS = (RULES[n] for n in ("abs", "sin", "cos", "softplus"))

_new_value = object.__new__


# The hot path. Each operator below is made by one of these two factories: the
# returned function is the operator itself (no intermediate call), with the rule's
# forward and local functions bound in its closure (no attribute look-ups per op).


def _hot_functions(rule: Rule) -> tuple[Callable, Callable, tuple | None]:
    """The rule's forward and local functions for the hot path, and its shared locals."""
    forward = rule.forward
    # A rule whose local derivatives are constants gives them once, to be shared by
    # every node it makes (no call, no allocation per node).
    shared = rule.local(*(0.5,) * rule.arity, 0.5) if rule.constant_local else None
    return forward, rule.local, shared


def _binary_method(rule: Rule, *, reflected: bool = False) -> Callable[[Any, Any], Value]:
    """The ``Value`` operator for a two-input rule (``reflected``: ``other op self``)."""
    forward, local, shared = _hot_functions(rule)
    name = rule.name

    def method(x: Value, y: Any) -> Value:
        if type(y) is not Value:
            y = _lift(y)
        a = x.data
        b = y.data
        out = forward(a, b)
        if _special_modes:
            return _node_in_mode(rule, out, (x, y), ())
        node = _new_value(Value)
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

    def reflected_method(y: Value, x: Any) -> Value:
        return method(_lift(x), y)

    return reflected_method


def _unary_method(rule: Rule, doc: str | None = None) -> Callable[[Value], Value]:
    """The ``Value`` method for a one-input rule without attributes."""
    forward, local, shared = _hot_functions(rule)
    name = rule.name

    def method(x: Value) -> Value:
        data = x.data
        out = forward(data)
        if _special_modes:
            return _node_in_mode(rule, out, (x,), ())
        node = _new_value(Value)
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


class _PythonNode:
    """The pure-Python node store: seven slots per node and the hot operators.

    Used when the compiled store (``_fastnode.Node``) is not built or
    ``AUTOGRAD_CORE_PURE`` is set; :class:`Value` adds everything else.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "local_grads", "attrs")

    def __new__(cls, *args: Any, **kwargs: Any) -> _PythonNode:
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


_NodeStore: Any = _PythonNode if _fastnode is None else _fastnode.Node


class Value(_NodeStore):
    """One real number in a computation graph.

    Args:
        data: an int, a float or a numpy real scalar (stored as a float; NaN is refused).
        label: a name shown in reprs and pictures.

    Attributes:
        data: the value (float).
        grad: the delta d(root)/d(self) after ``backward()``; leaves accumulate.
        label: the name given, or ``""``.
        op: the name of the rule that made this node (``""`` for a leaf).
        parents: the inputs of that op, in argument order (a tuple).
        local_grads: d self / d parent for each parent, computed in the forward pass.
        attrs: the op's constant attributes (the exponent of ``x ** 2``, a slope).

    The arithmetic operators and the methods ``exp log sqrt tanh sigmoid relu abs
    sin cos softplus`` each look up their rule in :data:`~autograd_core.rules.RULES`,
    compute, and record; they live on the node store this class extends.

    Example:
        >>> x = Value(2.0, label="x")
        >>> y = x * x + 1
        >>> y.backward()
        >>> y.data, x.grad
        (5.0, 4.0)
    """

    __slots__ = ()

    def __init__(self, data: Number, label: str = "") -> None:
        if type(label) is not str:
            raise TypeError(f"label must be a str; got {label!r} ({type(label).__name__})")
        self.data = _as_float(data)
        self.grad: Any = 0.0
        self.label = label

    # -- display and conversion ------------------------------------------------

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        return f"Value({label}data={self.data:.6g}, grad={_fmt(self.grad)})"

    # float() and the comparisons make a Value concrete: a trace recording in this
    # thread hears of it (autograd_core.watch) and refuses if it depends on its inputs.
    def __float__(self) -> float:
        if watch.active:
            watch.report("float()", (self,))
        return self.data

    # Comparisons look at the data; equality stays identity so nodes can key dicts.
    def __lt__(self, other: Any) -> bool:
        if watch.active:
            watch.report("<", (self, other))
        return self.data < _data(other)

    def __le__(self, other: Any) -> bool:
        if watch.active:
            watch.report("<=", (self, other))
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> bool:
        if watch.active:
            watch.report(">", (self, other))
        return self.data > _data(other)

    def __ge__(self, other: Any) -> bool:
        if watch.active:
            watch.report(">=", (self, other))
        return self.data >= _data(other)

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __reduce__(self) -> tuple:
        # pickle and copy.deepcopy rebuild the node from its public fields (its parents
        # are copied first, shared ones once), the same way on both node stores.
        return (_restore, (self.data, self.op, self.parents, self.local_grads, self.attrs,
                           self.grad, self.label))

    # -- gradients -------------------------------------------------------------

    def backward(self, gradient: Any = 1.0, *, create_graph: bool = False) -> None:
        """Run the backward pass from this node.

        Every node reached gets its delta recomputed (an intermediate ``grad`` never
        silently doubles); leaves add the new delta to what they had, as in PyTorch,
        so call ``zero_grad`` between optimisation steps.

        Args:
            gradient: the delta of this node (1 for a loss).
            create_graph: record the backward pass itself, so that the resulting
                ``grad`` attributes are ``Value`` s that can be differentiated again.
        """
        if create_graph or (_special_modes and is_anomaly_enabled()):
            # The message path: records the backward graph, or checks every message.
            if not create_graph:
                seed = _as_float(gradient, "gradient")
            else:
                seed = gradient if isinstance(gradient, Value) else Value(gradient)
            deltas: dict[Value, Any] = {}
            with _recording(create_graph):
                for _ in _messages(self, seed, deltas, create_graph):
                    pass
            for node, delta in deltas.items():
                if node.parents or (type(node.grad) is float and node.grad == 0.0):
                    node.grad = delta
                else:
                    node.grad = node.grad + delta
            return
        _float_backward(self, _as_float(gradient, "gradient"))

    # -- the ops that take an attribute or a Value exponent (the non-hot path) --

    def __pow__(self, exponent: Any) -> Value:
        if isinstance(exponent, Value):
            return _apply(_POWV, (self, exponent), ())
        if isinstance(exponent, np.ndarray):
            return NotImplemented
        return _apply(_POW, (self,), (_as_float(exponent, "exponent"),))

    def __rpow__(self, base: Any) -> Value:
        return _apply(_POWV, (_lift(base), self), ())

    def __pos__(self) -> Value:
        return self

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x for x > 0, else slope * x; the derivative at 0 is the slope."""
        return _apply(_LEAKY, (self,), (_as_float(slope, "slope"),))


def _python_node(
    data: float, op: str, parents: tuple, local_grads: tuple, attrs: tuple
) -> Value:
    """Make a recorded node without re-validating (the engine's own constructor)."""
    node = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op = op
    node.parents = parents
    node.local_grads = local_grads
    node.attrs = attrs
    return node


def _python_backward(root: Value, seed: float) -> None:
    """``backward()``'s float path in Python: one loop, children before parents."""
    if not root.parents:
        root.grad += seed
        return
    order = _interior_order(root)
    root.grad = seed
    for node in reversed(order):
        delta = node.grad
        parents = node.parents
        if len(parents) == 1:  # most nodes: skip building a zip
            parents[0].grad += delta * node.local_grads[0]
        else:
            for parent, local in zip(parents, node.local_grads):
                parent.grad += delta * local


_node: Callable[..., Value] = _python_node if _fastnode is None else _fastnode.make
_float_backward: Callable[[Value, float], None] = (
    _python_backward if _fastnode is None else _fastnode.backward
)


def _restore(data: float, op: str, parents: tuple, local_grads: tuple, attrs: tuple,
             grad: Any, label: str) -> Value:
    """Rebuild a pickled or copied node (see ``Value.__reduce__``)."""
    node = _node(data, op, parents, local_grads, attrs)
    node.grad = grad
    node.label = label
    return node


def _lift(x: Any) -> Value:
    """Turn a number into a constant leaf; refuse anything else with a clear message."""
    if isinstance(x, Value):
        return x
    if isinstance(x, np.ndarray):
        raise TypeError(
            f"cannot combine a Value with a numpy array of shape {x.shape}; "
            "put the array on the left to apply the op element-wise"
        )
    return _node(_as_float(x, "operand"), "", (), (), ())


def _apply(rule: Rule, nodes: tuple, attrs: tuple) -> Value:
    """Apply a rule to nodes: forward, local derivatives, record (the non-hot path)."""
    data = [node.data for node in nodes]
    out = rule.forward(*data, *attrs)
    if _special_modes:
        return _node_in_mode(rule, out, nodes, attrs)
    return _node(out, rule.name, nodes, rule.local(*data, out, *attrs), attrs)


def apply_op(name: str, *inputs: Any, attrs: tuple = ()) -> Value:
    """Apply the rule ``name`` from the table to ``inputs`` (numbers or Values).

    This is how variadic ops such as ``sum`` are built; operators and methods on
    ``Value`` are shorthands for the fixed-arity ones.
    """
    if type(name) is not str:
        raise TypeError(f"apply_op: the op name must be a str; got {name!r}")
    rule = RULES.get(name)
    if rule is None:
        raise NotImplementedError(f"no rule for op {name!r} (known: {sorted(RULES)})")
    if rule.arity >= 0 and len(inputs) != rule.arity:
        raise ValueError(f"op {name!r} takes {rule.arity} inputs, got {len(inputs)}")
    if not inputs:
        raise ValueError(f"op {name!r} needs at least one input")
    return _apply(rule, tuple(_lift(x) for x in inputs), tuple(attrs))


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else _as_float(x, "operand")


def _fmt(g: Any) -> str:
    return f"{g:.6g}" if type(g) is float else repr(g)


# ---------------------------------------------------------------------------
# Graph traversal and gradients


# Pushed above a node on the traversal stack: "its parents are done, emit it now".
# A marker instead of (node, expanded) pairs saves a tuple per node.
_EMIT = object()


def topological_order(*roots: Value) -> list[Value]:
    """All nodes the roots depend on, parents before children.

    Iterative (no recursion limit) and deterministic: a depth-first search that
    visits parents in argument order, roots in the order given.
    """
    for root in roots:
        if not isinstance(root, Value):
            raise TypeError(f"topological_order takes Values; got {root!r}")
    order: list[Value] = []
    seen: dict[Value, None] = {}
    emit = order.append
    for root in roots:
        stack: list[Any] = [root]
        pop = stack.pop
        push = stack.append
        while stack:
            node = pop()
            if node is _EMIT:
                emit(pop())
                continue
            if node in seen:
                continue
            seen[node] = None
            parents = node.parents
            if not parents:
                emit(node)
                continue
            push(node)
            push(_EMIT)
            for parent in reversed(parents):
                if parent not in seen:
                    push(parent)
    return order


def _interior_order(root: Value) -> list[Value]:
    """``topological_order(root)`` without its leaves, with every listed node's grad at 0.

    The same search as :func:`topological_order`, so ``backward()`` adds messages in
    the same order as :func:`backward_steps`. Instead of a ``seen`` dict (a third of
    the backward pass's time and memory on long chains) it marks a visited node by
    setting its grad to ``visited``: a zero float object made for this call only, so
    no stale grad can be mistaken for it. The grad had to be reset to zero anyway.
    """
    visited = float("-0.0") + 0.0  # a fresh +0.0 object, not the shared constant
    order: list[Value] = []
    emit = order.append
    stack: list[Any] = [root]
    pop = stack.pop
    push = stack.append
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
            continue
        if node.grad is visited:
            continue
        node.grad = visited
        push(node)
        push(_EMIT)
        for parent in reversed(node.parents):
            if parent.parents and parent.grad is not visited:
                push(parent)
    return order


class Message(NamedTuple):
    """One message of the backward pass, sent along one edge from child to parent.

    Attributes:
        sender: the child node whose delta is being passed back.
        receiver: the parent that receives it.
        parent_index: which input of the sender the receiver is (edge identity when
            a node uses the same parent twice, as in ``a + a``).
        local_grad: d sender / d receiver, recorded in the forward pass.
        sender_delta: the sender's delta, complete when it sends.
        contribution: ``sender_delta * local_grad``, the message itself.
        receiver_delta: the receiver's running sum after adding the message.
    """

    sender: Value
    receiver: Value
    parent_index: int
    local_grad: Any
    sender_delta: Any
    contribution: Any
    receiver_delta: Any


def _value_local_grads(node: Value) -> tuple:
    """Recompute a node's local derivatives as Values (for higher-order gradients)."""
    rule = RULES[node.op]
    return rule.local(*node.parents, node, *node.attrs)


def _messages(
    root: Value, seed: Any, deltas: dict[Value, Any], create_graph: bool
) -> Iterator[Message]:
    """The backward pass as messages; fills ``deltas`` and leaves ``.grad`` alone."""
    order = topological_order(root)
    check = is_anomaly_enabled()
    deltas[root] = seed
    for node in reversed(order):
        if not node.parents:
            continue
        delta = deltas.get(node)
        if delta is None:
            continue
        local_grads = _value_local_grads(node) if create_graph else node.local_grads
        for index, (parent, local) in enumerate(zip(node.parents, local_grads)):
            contribution = delta * local
            previous = deltas.get(parent)
            total = contribution if previous is None else previous + contribution
            if check:
                _check_message(node, local, delta, total)
            deltas[parent] = total
            yield Message(node, parent, index, local, delta, contribution, total)


def backward_steps(root: Value, gradient: Number = 1.0) -> Iterator[Message]:
    """The backward pass from ``root``, one :class:`Message` per edge, in sending order.

    The order is the engine's own: children before parents in reverse topological
    order, each node's parents in argument order. Nothing is written to ``.grad``;
    the final ``receiver_delta`` of each node equals what ``backward()`` computes.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps takes a Value; got {root!r}")
    return _messages(root, _as_float(gradient, "gradient"), {}, False)


class _recording:
    """Record the derivative graph of ``create_graph`` even inside ``no_grad()``.

    ``create_graph=True`` asks for that graph explicitly; built as leaves (as
    ``no_grad`` makes every op), its derivatives would silently be zero.
    """

    def __init__(self, create_graph: bool) -> None:
        self.active = create_graph and not is_grad_enabled()

    def __enter__(self) -> None:
        if self.active:
            self.depth = _thread_state.depth
            _thread_state.depth = 0

    def __exit__(self, *exc: object) -> None:
        if self.active:
            _thread_state.depth = self.depth


def grad(
    output: Value, inputs: Sequence[Value] | Value, *, create_graph: bool = False
) -> list[Any]:
    """Derivatives of ``output`` with respect to each of ``inputs``, as a list.

    ``.grad`` attributes are not touched. With ``create_graph=True`` the results
    are Values that can be differentiated again (inputs that ``output`` does not
    depend on get a constant ``Value(0.0)``); otherwise floats. The derivative graph
    is recorded even inside ``no_grad()``, which ``create_graph=True`` overrides.

    Example:
        >>> x = Value(3.0)
        >>> (dy,) = grad(x ** 3, [x], create_graph=True)
        >>> dy.data, grad(dy, [x])[0]
        (27.0, 18.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value; got {output!r}")
    single = isinstance(inputs, Value)
    targets = [inputs] if single else list(inputs)
    for target in targets:
        if not isinstance(target, Value):
            raise TypeError(f"grad: inputs must be Values; got {target!r}")
    deltas: dict[Value, Any] = {}
    seed = Value(1.0) if create_graph else 1.0
    with _recording(create_graph):
        for _ in _messages(output, seed, deltas, create_graph):
            pass
    zero = (lambda: Value(0.0)) if create_graph else (lambda: 0.0)
    results = []
    for target in targets:
        delta = deltas.get(target)
        if delta is None:
            results.append(zero())
        elif create_graph and not isinstance(delta, Value):
            results.append(Value(delta))
        else:
            results.append(delta)
    return results


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """The matrix of second derivatives d^2 output / d inputs[i] d inputs[j].

    Built by differentiating each first derivative (computed with
    ``create_graph=True``) once more; inside ``no_grad()`` too.
    """
    first = grad(output, inputs, create_graph=True)
    return [[float(d) for d in grad(g, inputs)] for g in first]


if _fastnode is not None:
    _fastnode.bind(Value, _lift, _node_in_mode, {
        name: (RULES[name], *_hot_functions(RULES[name])) for name in _fastnode.HOT_RULES
    })
