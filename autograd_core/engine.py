"""The scalar engine: ``Value`` nodes, the graph they record, and the backward pass.

A node is data, not code: its value, its parents (argument order), the name of its
op and the local derivative ``d self / d parent`` for each parent, all computed in
the forward pass from the rule table (:mod:`autograd_core.rules`). The backward pass
is the lecture's algorithm: for a topological order ``v_1 .. v_N``, set
``delta(v_N) = 1`` and, from ``N`` down to 1, send ``delta(child) * local`` to every
parent, where the messages a node receives add up to its own delta.

Where a node's fields live and how its hot operators run is the node store's business
(:mod:`autograd_core.stores`); ``no_grad`` and ``detect_anomaly`` are in
:mod:`autograd_core.modes`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Union

import numpy as np

from . import copying, stores, watch
from .checks import as_data, as_grad
from .checks import as_float as _as_float
from .modes import (
    AnomalyError,
    check_message,
    detect_anomaly,
    fmt,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    node_in_mode,
    record_derivatives,
)
from .rules import RULES, Rule
from .stores import CORE, NodeStore

__all__ = [
    "CORE",
    "Value",
    "Message",
    "apply_op",
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

# ---------------------------------------------------------------------------
# Value

class Value(NodeStore):
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

    The arithmetic operators (``+ - * / **``, unary ``-``, ``abs()``) and the methods
    (``exp log sqrt tanh sigmoid relu leaky_relu abs sin cos softplus``, and one for
    each rule registered later) are made from the rule table
    (:data:`~autograd_core.rules.RULES`) when a rule is bound, and rebuilt when it is
    replaced: each computes its rule's forward and local derivatives and records the
    node, on the node store this class extends (:mod:`autograd_core.stores`).

    Example:
        >>> x = Value(2.0, label="x")
        >>> y = x * x + 1
        >>> y.backward()
        >>> y.data, x.grad
        (5.0, 4.0)
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A node's references must stay where the compiled store's cycle collector can see
        # them (see _fastnode.c); a subclass may add methods, not per-node storage.
        super().__init_subclass__(**kwargs)
        slots = cls.__dict__.get("__slots__")
        if slots is None or tuple([slots] if isinstance(slots, str) else slots):
            raise TypeError(f"a subclass of Value may add methods but no per-node storage: "
                            f"give {cls.__name__} '__slots__ = ()' (got __slots__ = "
                            f"{slots!r})")

    def __init__(self, data: Number, label: str = "") -> None:
        if type(label) is not str:
            raise TypeError(f"label must be a str; got {label!r} ({type(label).__name__})")
        self.data = _as_float(data)
        self.grad: Any = 0.0
        self.label = label

    # -- display and conversion ------------------------------------------------

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        return f"Value({label}data={self.data:.6g}, grad={fmt(self.grad)})"

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

    # pickle, copy and deepcopy rebuild nodes from their public fields in one loop, parents
    # first (no recursion at any depth), the same way on both stores: see copying.py.
    def __reduce__(self) -> tuple:
        return copying.reduce_node(self)

    def __setstate__(self, state: tuple) -> None:
        copying.set_grads(state)

    def __copy__(self) -> Value:
        return copying.copy_node(self)

    def __deepcopy__(self, memo: dict) -> Value:
        return copying.deepcopy_node(self, memo)

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
        if not create_graph:
            seed = _as_float(gradient, "gradient")
            anomaly = stores._special_modes and is_anomaly_enabled()
            if not anomaly and _float_backward(self, seed):
                return
            # The careful path: under detect_anomaly (a message can be refused), or when
            # a reached leaf's grad is a Value (adding to it can fail), every grad is
            # saved first and put back if the pass does not finish.
            saved = [(node, node.grad) for node in topological_order(self)]
            try:
                _float_backward(self, seed, check_message if anomaly else None, True)
            except BaseException:
                for node, old in saved:
                    node.grad = old
                raise
            return
        seed = gradient if isinstance(gradient, Value) else Value(gradient)
        deltas: dict[Value, Any] = {}
        with record_derivatives(True):
            for _ in _backpropagate(self, seed, deltas, create_graph=True):
                pass
        # Every new grad is computed before any is written: an addition that fails
        # (an overflow under detect_anomaly) leaves every grad as it was.
        new_grads = [
            delta if node.parents or (type(node.grad) is float and node.grad == 0.0)
            else node.grad + delta
            for node, delta in deltas.items()
        ]
        for node, new_grad in zip(deltas, new_grads):
            node.grad = new_grad

    def __pos__(self) -> Value:
        return self


_node = stores.make_node


def _python_backward(root: Value, seed: float, check: Any = None,
                     careful: bool = False) -> bool:
    """``backward()``'s float path on the Python store: the loop, summing in ``.grad``.

    Returns whether it ran: as the compiled mirror does, it writes nothing and
    returns False, unless ``careful`` (every grad saved by the caller), when the pass
    would add to a leaf's grad that is a Value. ``check`` is for the compiled
    mirror; the loop consults ``detect_anomaly`` itself.
    """
    try:
        for _ in _backpropagate(root, seed, {}, accumulate=True, careful=careful):
            pass
    except _ValueGradLeaf:
        return False
    return True


_float_backward: Any = _python_backward if stores._fastnode is None else stores._fastnode.backward


def _restore(data: float, op: str, parents: tuple, local_grads: tuple, attrs: tuple,
             grad: Any, label: str) -> Value:
    """Rebuild a node pickled by an earlier version (today's: ``copying.reduce_node``)."""
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
    if stores._special_modes:
        return node_in_mode(rule, out, nodes, attrs)
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
    return _apply(rule, _lifted(inputs), _checked_attrs(rule, attrs))


def _checked_attrs(rule: Rule, attrs: Any) -> tuple:
    """``attrs`` as the rule's method records them: one float per param (NaN and bools
    refused, numpy scalars as floats), the defaults of those not given filled in."""
    if not attrs and not rule.params:
        return ()
    given = tuple(attrs)
    least = len(rule.params) - len(rule.defaults)
    if not least <= len(given) <= len(rule.params):
        raise ValueError(f"op {rule.name!r} takes the attributes {rule.params!r} "
                         f"({least} to {len(rule.params)} of them); got {given!r}")
    given += tuple(rule.defaults[len(given) - least:])
    return tuple(_as_float(a, param) for a, param in zip(given, rule.params))


def _lifted(inputs: tuple) -> tuple:
    """``inputs`` with numbers lifted to leaves: the tuple itself when all are Values
    (a neuron's sum of products), checked in one loop rather than a call per input."""
    for x in inputs:
        if type(x) is not Value:
            return tuple(map(_lift, inputs))
    return inputs


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else _as_float(x, "operand")


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
    return _depth_first(roots, None)


class _ValueGradLeaf(Exception):
    """``backward()`` would reach a leaf whose grad is a Value (see :func:`_backpropagate`)."""


def _depth_first(roots: Sequence[Value], mark: float | None,
                 saved: list | None = None) -> list[Value]:
    """The one depth-first search: the nodes the roots depend on, parents first.

    With ``mark=None`` it remembers visited nodes in a set of its own and touches
    nothing. ``backward()`` on the Python store passes a ``-0.0`` made for the call
    instead: then only interior nodes are listed, and each is marked visited by
    setting its grad to that object (identity is cheaper than a set of a graph's
    size). That grad is also where the node's delta is summed: -0.0 is the one float
    that adds exactly, so the first message becomes the delta bit for bit.

    Given a list ``saved``, the marking search also keeps each node and its old grad
    there (before marking it), and on meeting a leaf whose grad is a Value (adding to
    it can fail half way) raises :class:`_ValueGradLeaf`; the caller puts the saved
    grads back, on that as on any exception the search meets.
    """
    order: list[Value] = []
    emit = order.append
    seen: set[Value] = set()
    remember = seen.add
    marking = mark is not None
    saving = saved is not None
    for root in roots:
        stack: list[Any] = [root]
        pop = stack.pop
        push = stack.append
        while stack:
            node = pop()
            if node is _EMIT:
                emit(pop())
            elif marking:
                if node._grad is not mark:
                    if saving:
                        saved += (node, node._grad)
                    node._grad = mark
                    push(node)
                    push(_EMIT)
                    for parent in reversed(node._parents):
                        if parent._parents:
                            if parent._grad is not mark:
                                push(parent)
                        elif saving and type(parent._grad) is not float:
                            raise _ValueGradLeaf
            elif node not in seen:
                remember(node)
                push(node)
                push(_EMIT)
                for parent in reversed(node._parents):
                    if parent not in seen:
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
    values = rule.local(*node.parents, node, *node.attrs)
    for value, recorded in zip(values, node.local_grads):
        _check_same_rule(node, value.data if isinstance(value, Value) else value, recorded)
    return values


def _check_same_rule(node: Value, live: float, recorded: float) -> None:
    """Refuse to differentiate a node again with a rule other than the one that made it.

    A node keeps the local derivatives its rule gave when it was recorded; if the rule
    was replaced since (``replace_rule``), the live rule's derivative differs and the
    second order would not belong to the first. Equal up to rounding passes.
    """
    if live == recorded or (live != live and recorded != recorded):
        return
    if abs(live - recorded) <= 1e-12 + 1e-9 * max(abs(live), abs(recorded)):
        return
    raise ValueError(
        f"node {node!r} (op {node.op!r}) was recorded with a rule that has been replaced "
        f"since: its local derivative was {recorded!r}, the rule now gives {live!r}; "
        "rebuild the graph after replace_rule")


def _backpropagate(
    root: Value, seed: Any, deltas: dict[Value, Any], *, create_graph: bool = False,
    accumulate: bool = False, careful: bool = True, observe: bool = False,
) -> Iterator[Message]:
    """The backward pass: the one loop behind ``backward``, ``grad`` and ``backward_steps``.

    For the nodes of ``topological_order(root)`` from last to first, every node sends
    ``delta * local`` to each parent in argument order; a node's first message sets
    its delta, later ones add to it.

    Args:
        seed: the delta of ``root``.
        deltas: filled with every reached node's delta (``.grad`` is not touched).
        create_graph: recompute local derivatives as Values, so that the deltas are
            Values that can be differentiated again.
        accumulate: ``backward()`` on the Python store (the compiled store runs this
            loop's mirror in C): the deltas are summed in the nodes' ``.grad``
            instead of ``deltas``, so each interior node ends with its delta and each
            leaf adds its deltas to what it had, message by message. Adding to a
            leaf's grad that is a Value can fail half way, so unless ``careful``
            (every grad saved by the caller), a pass that would reach such a leaf
            is refused with :class:`_ValueGradLeaf`, every grad as it was.
        observe: yield each :class:`Message` as it is sent (else yield nothing).
    """
    check = stores._special_modes and is_anomaly_enabled()
    if accumulate:
        if not root._parents:  # a leaf adds the seed to what it had, like a message
            total = root._grad + seed
            if check:
                check_message(root, 1.0, seed, total)
            root.grad = total
            return
        # Unless every grad is saved (careful) or no grad has ever been set to a
        # Value (so no leaf's is one, and float sums cannot fail), the search keeps
        # the grads it overwrites, to put back if a leaf's grad is a Value. The mark
        # is a -0.0 made for this call (a fresh object).
        saved = None if careful or not stores._value_grads else []
        try:
            order = _depth_first((root,), float("-0.0"), saved)
        except BaseException:  # a Value grad met, memory run out, Ctrl-C: grads put back
            if saved is not None:
                for index in range(0, len(saved), 2):
                    saved[index]._grad = saved[index + 1]
            raise
        root._grad = seed
    else:
        order = _depth_first((root,), None)
        deltas[root] = seed
    unset = object()
    get = deltas.get
    # No leaf's grad is a Value and no message is checked: the sums are floats,
    # written raw, and a message is one line.
    raw = accumulate and not careful and not check and not observe
    for node in reversed(order):
        parents = node._parents
        if not parents:
            continue
        delta = node._grad if accumulate else deltas[node]
        local_grads = _value_local_grads(node) if create_graph else node._local_grads
        index = 0
        for parent in parents:
            local = local_grads[index]
            index += 1
            if raw:
                parent._grad = parent._grad + delta * local
                continue
            contribution = delta * local
            if accumulate:
                total = parent._grad + contribution
            else:
                previous = get(parent, unset)
                total = contribution if previous is unset else previous + contribution
            if check:
                check_message(node, local, delta, total)
            if accumulate:  # a leaf's grad may be a Value: stored through its checks
                parent.grad = total
            else:
                deltas[parent] = total
            if observe:
                yield Message(node, parent, index - 1, local, delta, contribution, total)


def backward_steps(root: Value, gradient: Number = 1.0) -> Iterator[Message]:
    """The backward pass from ``root``, one :class:`Message` per edge, in sending order.

    The order is the engine's own: children before parents in reverse topological
    order, each node's parents in argument order. Nothing is written to ``.grad``;
    the final ``receiver_delta`` of each node equals what ``backward()`` computes.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps takes a Value; got {root!r}")
    return _backpropagate(root, _as_float(gradient, "gradient"), {}, observe=True)


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
    with record_derivatives(create_graph):
        for _ in _backpropagate(output, seed, deltas, create_graph=create_graph):
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


stores.bind(Value, _lift, node_in_mode, _apply, _as_float)
stores.set_checkers(as_data, as_grad)
