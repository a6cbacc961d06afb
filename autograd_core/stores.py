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

import array
import inspect
import os
import sys
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np

from . import rules as rules_module
from .rules import BINARY_OPERATORS, RULES, UNARY_OPERATORS, Rule

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
# that lifts numbers to leaves, the path of an op while a mode is active, the non-hot
# apply (rules with attributes) and the boundary check of a number.
_value_class: Any = None
_lift: Callable[[Any], Any]
_in_mode: Callable[..., Any]
_apply: Callable[..., Any]
_as_float: Callable[..., float]
# The engine's checks of what is assigned to data and grad (see set_checkers).
_as_data: Callable[[Any], float]
_as_grad: Callable[[Any], float]

_new_value = object.__new__


# ---------------------------------------------------------------------------
# The Python store's hot path. Each method is made from its rule by one of these two
# factories when the rule is bound: the returned function is the method itself (no
# intermediate call), with the rule's forward and local functions in its closure.


def _shared_locals(rule: Rule) -> tuple | None:
    """A rule whose local derivatives are constants gives them once, to be shared by
    every node it makes (no call, no allocation per node)."""
    if not rule.constant_local:
        return None
    return _read_locals(rule.local(*(0.5,) * rule.arity, 0.5), rule.arity, rule.name)


# The local functions of the rules this package defines give a tuple of floats for
# float inputs (tests/autograd_core/test_rules.py checks each on its samples and
# edges), so the hot path stores their result as it is. Any other rule's local
# derivatives are read as the compiled store reads them: floats, or the same errors.
_FLOAT_LOCALS = frozenset(rule.local for rule in RULES.values())
# The ops whose rule in the table has one of those local functions (kept by the binder).
_float_ops: frozenset = frozenset()


def _read_locals(result: Any, count: int, name: str) -> tuple:
    """A rule's local derivatives as a tuple of ``count`` floats, with the compiled
    store's errors (it keeps them as C doubles)."""
    if not isinstance(result, tuple) or len(result) != count:
        raise TypeError(f"the local function of rule {name!r} must return a tuple of "
                        f"{count} derivatives; got {result!r}")
    return tuple(item if type(item) is float else _as_double(item) for item in result)


def _as_double(item: Any) -> float:
    kind = type(item)
    if not (isinstance(item, float) or hasattr(kind, "__float__") or hasattr(kind, "__index__")):
        raise TypeError(f"must be real number, not {kind.__name__}")
    return float(item)


def _local_of(rule: Rule) -> Callable[..., tuple]:
    """The rule's local function as the Python store's hot path calls it."""
    local, count, name = rule.local, rule.arity, rule.name
    if local in _FLOAT_LOCALS:
        return local

    def read(*inputs: float) -> tuple:
        return _read_locals(local(*inputs), count, name)
    return read


def _not_a_value(attribute: str, rule: Rule) -> TypeError:
    """The compiled store's refusal of a method called unbound on something that is not a
    Value (``Value.__add__(1.0, x)``, ``Value.tanh(2.0)``)."""
    operand = " and one operand" if rule.arity == 2 else ""
    return TypeError(f"{attribute}() applies rule {rule.name!r} to a Value{operand}")


def _python_binary(rule: Rule, attribute: str, reflected: bool) -> Callable[[Any, Any], Any]:
    """The method of a two-input rule (``reflected``: ``other op self``)."""
    forward, local, shared = rule.forward, _local_of(rule), _shared_locals(rule)
    name = rule.name

    def method(x: Any, y: Any, /) -> Any:  # positional, as the compiled store's
        try:
            a = x._data
        except AttributeError:  # costs nothing until it is raised
            raise _not_a_value(attribute, rule) from None
        if type(y) is not _value_class:
            y = _lift(y)
        b = y._data
        out = forward(a, b)
        if _special_modes:
            return _in_mode(rule, out, (x, y), ())
        node = _new_value(_value_class)
        node._data = out
        node._grad = 0.0
        node._label = ""
        node._op = name
        node._parents = (x, y)
        if shared is not None:
            node._local_grads = shared
        elif type(a) is float and type(b) is float:
            node._local_grads = local(a, b, out)
        else:  # numpy data (a registered rule's forward): read as the compiled store does
            node._local_grads = _read_locals(local(a, b, out), 2, name)
        node._attrs = ()
        return node

    if not reflected:
        return method

    def reflected_method(y: Any, x: Any, /) -> Any:
        if not isinstance(y, PythonNode):
            raise _not_a_value(attribute, rule)
        return method(_lift(x), y)

    return reflected_method


def _python_unary(rule: Rule, attribute: str) -> Callable[[Any], Any]:
    """The method of a one-input rule without attributes."""
    forward, local, shared = rule.forward, _local_of(rule), _shared_locals(rule)
    name = rule.name

    def method(x: Any, /) -> Any:
        try:
            data = x._data
        except AttributeError:  # costs nothing until it is raised
            raise _not_a_value(attribute, rule) from None
        out = forward(data)
        if _special_modes:
            return _in_mode(rule, out, (x,), ())
        node = _new_value(_value_class)
        node._data = out
        node._grad = 0.0
        node._label = ""
        node._op = name
        node._parents = (x,)
        if shared is not None:
            node._local_grads = shared
        elif type(data) is float:
            node._local_grads = local(data, out)
        else:  # numpy data (a registered rule's forward): read as the compiled store does
            node._local_grads = _read_locals(local(data, out), 1, name)
        node._attrs = ()
        return node

    return method


def _hot(rule: Rule, attribute: str, reflected: bool = False) -> Callable:
    """The fast path of a rule without attributes, on the store that runs."""
    doc = _doc(rule)
    if _fastnode is not None:
        return _fastnode.RuleOp(rule, rule.name, attribute, rule.arity, rule.forward,
                                rule.local, _shared_locals(rule), reflected, doc)
    made = (_python_binary(rule, attribute, reflected) if rule.arity == 2
            else _python_unary(rule, attribute))
    return _named(made, attribute, doc)


def _named(function: Callable, attribute: str, doc: str) -> Callable:
    """Name a made method ``Value.<attribute>`` (pickle and copy find it there)."""
    function.__name__ = attribute
    function.__qualname__ = f"{_value_class.__name__}.{attribute}"
    function.__module__ = _value_class.__module__
    function.__doc__ = doc
    return function


def _doc(rule: Rule) -> str:
    return rule.doc or f"Apply the rule ``{rule.name}``: ``{rule.text}``."


def _with_attributes(rule: Rule, attribute: str) -> Callable:
    """The method of a rule with constant attributes: ``x.leaky_relu(slope=0.1)``."""
    inputs = [inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY)
              for i in range(rule.arity)]
    first_default = len(rule.params) - len(rule.defaults)
    params = [
        inspect.Parameter(param, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          **({} if i < first_default
                             else {"default": rule.defaults[i - first_default]}))
        for i, param in enumerate(rule.params)
    ]
    signature = inspect.Signature([*inputs, *params])

    def method(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{attribute}(): {error}") from None
        bound.apply_defaults()
        values = list(bound.arguments.values())
        nodes = tuple(_lift(x) for x in values[:rule.arity])
        attrs = tuple(_as_float(a, param) for a, param in zip(values[rule.arity:], rule.params))
        return _apply(rule, nodes, attrs)

    method.__signature__ = signature  # type: ignore[attr-defined]
    return _named(method, attribute, _doc(rule))


def _shared_slot(value_rule: Rule | None, constant_rule: Rule | None, slot: str) -> Callable:
    """``x ** y`` (a Value: the two-input rule) and ``x ** 2`` (a number: the one-input
    rule with that number as its attribute) on one operator slot."""
    by_value = _hot(value_rule, f"__{slot}__") if value_rule is not None else None
    constant_param = constant_rule.params[0] if constant_rule is not None else ""

    def method(x: Any, other: Any) -> Any:
        if isinstance(other, _value_class):
            if by_value is None:
                return NotImplemented
            return by_value(x, other)
        if isinstance(other, np.ndarray) or constant_rule is None:
            return NotImplemented
        return _apply(constant_rule, (x,), (_as_float(other, constant_param),))

    return _named(method, f"__{slot}__",
                  " / ".join(_doc(r) for r in (value_rule, constant_rule) if r is not None))


def value_attributes(table: dict[str, Rule]) -> dict[str, tuple]:
    """What the table puts on ``Value``: attribute name -> (kind, rules...).

    Raises:
        ValueError: two rules claim one method name or one operator slot.
    """
    wanted: dict[str, tuple] = {}

    def claim(attribute: str, entry: tuple) -> None:
        if attribute in wanted:
            raise ValueError(f"rules {wanted[attribute][1].name!r} and {entry[1].name!r} "
                             f"both claim Value.{attribute}")
        wanted[attribute] = entry

    slots: dict[str, list[Rule]] = {}
    for rule in table.values():
        if rule.method is not None:
            claim(rule.method, ("params" if rule.params else "hot", rule))
        if rule.operator is not None:
            slots.setdefault(rule.operator, []).append(rule)
    for slot, rules in slots.items():
        if slot in UNARY_OPERATORS:
            if len(rules) > 1:
                raise ValueError(f"rules {[r.name for r in rules]} all claim the operator "
                                 f"{slot!r}")
            claim(f"__{slot}__", ("hot", rules[0]))
            continue
        by_value = [r for r in rules if r.arity == 2]
        by_constant = [r for r in rules if r.arity == 1]
        if len(by_value) > 1 or len(by_constant) > 1:
            raise ValueError(f"rules {[r.name for r in rules]} all claim the operator {slot!r}")
        value_rule = by_value[0] if by_value else None
        constant_rule = by_constant[0] if by_constant else None
        if constant_rule is None:
            claim(f"__{slot}__", ("hot", value_rule))
        else:
            claim(f"__{slot}__", ("shared", value_rule or constant_rule, value_rule,
                                  constant_rule))
        if value_rule is not None:
            claim(f"__r{slot}__", ("reflected", value_rule))
    return wanted


def _make(attribute: str, entry: tuple) -> Callable:
    kind, rule = entry[0], entry[1]
    if kind == "hot":
        return _hot(rule, attribute)
    if kind == "reflected":
        return _hot(rule, attribute, reflected=True)
    if kind == "params":
        return _with_attributes(rule, attribute)
    return _shared_slot(entry[2], entry[3], attribute.strip("_"))


class _Binder:
    """Keeps ``Value``'s methods and operators equal to what the rule table says.

    :func:`autograd_core.rules.register` and :func:`~autograd_core.rules.replace_rule`
    call ``check`` with the candidate table (it refuses before anything changes), then
    ``apply`` once the table is in place.
    """

    def __init__(self) -> None:
        self.installed: dict[str, Callable] = {}

    def plan(self, table: dict[str, Rule]) -> dict[str, Callable]:
        wanted = value_attributes(table)
        for attribute in wanted:
            if attribute not in self.installed and hasattr(_value_class, attribute):
                raise ValueError(f"Value.{attribute} already exists; a rule cannot take it "
                                 "(give the rule another method name, or method=None)")
        return {attribute: _make(attribute, entry) for attribute, entry in wanted.items()}

    def check(self, table: dict[str, Rule]) -> None:
        self.plan(table)

    def apply(self, table: dict[str, Rule]) -> None:
        global _float_ops
        made = self.plan(table)
        _float_ops = frozenset(name for name, rule in table.items()
                               if rule.local in _FLOAT_LOCALS)
        for attribute in self.installed:
            if attribute not in made:
                delattr(_value_class, attribute)
        for attribute, function in made.items():
            setattr(_value_class, attribute, function)
        self.installed = made
        if _fastnode is not None:
            _direct_operators(made)


def _direct_operators(made: dict[str, Callable]) -> None:
    """Let the compiled store run x op y without the interpreter's generic lookup of
    ``__op__`` and ``__rop__`` on every call, for each operator bound to RuleOps both ways
    that Value's number slots can take directly. A pair another thread's binding has
    replaced since is left alone (that binding sets the slot for its own pair)."""
    for name in BINARY_OPERATORS:
        pair = made.get(f"__{name}__"), made.get(f"__r{name}__")
        if all(type(op) is _fastnode.RuleOp for op in pair):
            _fastnode.set_operator(name, *pair)


_binder = _Binder()


def _no_delete(name: str) -> Callable[[Any], None]:
    def refuse(node: Any) -> None:
        raise AttributeError(f"cannot delete a Value's {name}")
    return refuse


def _set_data(node: Any, value: Any) -> None:
    node._data = value if type(value) is float and value == value else _as_data(value)


# Whether a Python-store node's grad has ever been set to a Value (create_graph, or
# by hand). Until then no leaf's grad can be one, and backward() skips looking.
_value_grads = False


def _set_grad(node: Any, value: Any) -> None:
    global _value_grads
    if type(value) is float:
        node._grad = value
    elif isinstance(value, _value_class):
        _value_grads = True
        node._grad = value
    else:
        node._grad = _as_grad(value)


def _str_setter(name: str) -> Callable[[Any, Any], None]:
    slot = f"_{name}"

    def store(node: Any, value: Any) -> None:
        if type(value) is not str:  # a str subclass could hold the node: a cycle
            raise TypeError(f"{name} must be a str; got {value!r} ({type(value).__name__})")
        setattr(node, slot, value)
    return store


_ATOMS = (int, float, str)


def _set_attrs(node: Any, value: Any) -> None:
    if type(value) is not tuple:
        raise TypeError(f"attrs must be a tuple; got {value!r}")
    for item in value:
        if type(item) not in _ATOMS:  # exact types: no container can close a cycle
            raise TypeError(f"an op's attrs must be numbers or strings; got {item!r} "
                            f"({type(item).__name__})")
    node._attrs = value


RAW_FIELDS = ("_grad", "_parents", "_local_grads")
"""The fields the backward loop reads and writes without the public properties' checks.

It writes only floats there: local derivatives are recorded as floats on both stores
(numpy data included), so every message and sum is one, unless a reached leaf's grad
is a Value; such a pass runs in ``careful`` mode and writes through the checking
``grad`` property, as the compiled store's loop does.
"""


class PythonNode:
    """The pure-Python node store: seven slots per node.

    Used when the compiled store (``_fastnode.Node``) is not built or
    ``AUTOGRAD_CORE_PURE`` is set; ``Value`` adds everything else, and :func:`bind`
    gives it the methods and operators of the rule table. The fields are properties
    that check what is assigned exactly as the compiled store does (one contract on
    both stores); the store's own hot path uses the slots.
    """

    __slots__ = ("_data", "_grad", "_label", "_op", "_parents", "_local_grads", "_attrs")

    def __new__(cls, *args: Any, **kwargs: Any) -> PythonNode:
        node = _new_value(cls)
        node._data = 0.0
        node._grad = 0.0
        node._label = ""
        node._op = ""
        node._parents = ()
        node._local_grads = ()
        node._attrs = ()
        return node

    data = property(attrgetter("_data"), _set_data, _no_delete("data"), "The value (a float).")

    grad = property(attrgetter("_grad"), _set_grad, _no_delete("grad"),
                    "The delta d(root)/d(self) after backward(); a Value under create_graph.")

    label = property(attrgetter("_label"), _str_setter("label"), _no_delete("label"),
                     "A name shown in reprs and pictures.")

    op = property(attrgetter("_op"), _str_setter("op"), _no_delete("op"),
                  "The name of the rule that made this node ('' for a leaf).")

    attrs = property(attrgetter("_attrs"), _set_attrs, _no_delete("attrs"),
                     "The op's constant attributes (the exponent of x ** 2, a slope).")

    parents = property(attrgetter("_parents"), None, None,
                       "The inputs of the op that made this node, in argument order.")

    local_grads = property(attrgetter("_local_grads"), None, None,
                           "d self / d parent for each parent, computed in the forward pass.")


NodeStore: Any = PythonNode if _fastnode is None else _fastnode.Node
"""The class ``Value`` extends: the compiled node, or :class:`PythonNode`."""


# The buffer formats of one native-order C double, as the compiled read_data accepts.
_NATIVE_DOUBLE = frozenset(("d", "@d", "=d", "<d" if sys.byteorder == "little" else ">d"))


def _read_data_python(nodes: tuple, out: Any) -> None:
    # The compiled read_data's contract: a tuple (or subclass) of nodes, any writable
    # C-contiguous buffer of len(nodes) native doubles, each value as float() reads it.
    if not isinstance(nodes, tuple):
        raise TypeError("read_data(nodes: tuple, out: float64 buffer)")
    with memoryview(out) as view:  # TypeError for an object that is no buffer
        if view.readonly or not view.c_contiguous:
            raise ValueError(f"read_data(): out must be a writable C-contiguous buffer; "
                             f"got {out!r}")
        if view.format not in _NATIVE_DOUBLE or view.nbytes != 8 * len(nodes):
            raise ValueError(f"read_data(): out must hold {len(nodes)} float64 values")
        values = array.array("d", [node.data for node in nodes])
        view.cast("B")[:] = memoryview(values).cast("B")


read_data: Callable[[tuple, np.ndarray], None] = (
    _read_data_python if _fastnode is None else _fastnode.read_data)
"""``out[i] = nodes[i].data`` for a tuple of Values, into a C-contiguous float64 array
of as many elements (the trace reads its parameters so; the compiled store reads
its nodes' fields without making a float object each)."""


def _made_locals(parents: Any, local_grads: Any, op: str) -> tuple:
    """``make``'s local derivatives when they are not a tuple as long as ``parents``: a
    tuple subclass as a tuple, else the compiled store's errors."""
    if not isinstance(parents, tuple) or not isinstance(local_grads, tuple):
        raise TypeError("make(): parents and local_grads must be tuples")
    if len(local_grads) != len(parents):
        raise ValueError(f"make(): {len(parents)} parents but {len(local_grads)} local "
                         "derivatives")
    return tuple(local_grads)


def _python_make(data: float, op: str, parents: tuple, local_grads: tuple, attrs: tuple) -> Any:
    """Make a recorded node (the engine's own constructor): its fields are not checked
    again, but its local derivatives are read as floats, as the compiled store does."""
    if parents and (op not in _float_ops or type(data) is not float):
        if type(local_grads) is not tuple or len(local_grads) != len(parents):
            local_grads = _made_locals(parents, local_grads, op)
        for item in local_grads:
            if type(item) is not float:
                local_grads = _read_locals(local_grads, len(parents), op)
                break
    node = _new_value(_value_class)
    node._data = data
    node._grad = 0.0
    node._label = ""
    node._op = op
    node._parents = parents
    node._local_grads = local_grads
    node._attrs = attrs
    return node


make_node: Callable[..., Any] = _python_make if _fastnode is None else _fastnode.make
"""``make_node(data, op, parents, local_grads, attrs)``: a recorded node of the store."""


def set_checkers(as_data: Callable[[Any], float], as_grad: Callable[[Any], float]) -> None:
    """The engine's checks of a number assigned to ``data`` and ``grad``, for both stores.

    Each returns the float to store or raises; both stores call them for anything but a
    plain float (and a Value, for grad), so both accept and refuse the same things.
    """
    global _as_data, _as_grad
    _as_data, _as_grad = as_data, as_grad
    if _fastnode is not None:
        _fastnode.set_checkers(as_data, as_grad)


def bind(value_class: type, lift: Callable[[Any], Any], in_mode: Callable[..., Any],
         apply: Callable[..., Any], as_float: Callable[..., float]) -> None:
    """Connect the store to the engine and give ``Value`` the table's methods.

    Args:
        value_class: ``Value``, the class every node is made as.
        lift: numbers to constant leaves (and clear errors for anything else).
        in_mode: the path of an op while ``no_grad`` or ``detect_anomaly`` is active.
        apply: ``apply(rule, nodes, attrs)``, the non-hot path (rules with attributes).
        as_float: the boundary check of a number (``as_float(value, what)``).
    """
    global _value_class, _lift, _in_mode, _apply, _as_float
    _value_class, _lift, _in_mode, _apply, _as_float = value_class, lift, in_mode, apply, as_float
    if _fastnode is not None:
        _fastnode.bind(value_class, lift, in_mode)
        # The engine's backward loop reads the raw fields (on the Python store, the
        # slots behind the checking properties); the compiled node's fields are raw.
        for raw in RAW_FIELDS:
            setattr(value_class, raw, _fastnode.Node.__dict__[raw[1:]])
    _binder.apply(RULES)
    if _binder not in rules_module._binders:
        rules_module._binders.append(_binder)
