"""The two node stores: the compiled one and the pure-Python one give the same numbers.

``make test`` runs the whole suite on the compiled store and this package's tests again
with ``AUTOGRAD_CORE_PURE=1``; the subprocess test below compares the two bit for bit
in one run.
"""

import array
import copy
import gc
import math
import operator
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograd_core import CORE, Value, grad, topological_order
from autograd_core.rules import RULES
from autograd_core.stores import read_data

ROOT = Path(__file__).resolve().parents[2]
PURE = bool(os.environ.get("AUTOGRAD_CORE_PURE"))
COMPILED_ONLY = pytest.mark.skipif(
    CORE != "compiled", reason="checks the compiled store (this run uses the Python one)"
)


def test_the_store_in_use_is_the_one_asked_for():
    if PURE:
        assert CORE == "python"
    else:
        assert CORE == "compiled", (
            "the compiled node store (autograd_core/_fastnode.c) was not built: it needs a "
            "C compiler and the Python headers; set AUTOGRAD_CORE_PURE=1 to run without it"
        )


# A program that touches every rule, fan-out, variadic sums, attributes, grads that
# accumulate over two backward calls and second derivatives; it prints every number
# exactly (float.hex), in graph order.
PROGRAM = """
import random
from autograd_core import CORE, Value, apply_op, detect_anomaly, grad, topological_order
rng = random.Random(7)
print(CORE)
leaves = [Value(rng.uniform(0.2, 1.5), label=f"x{i}") for i in range(6)]
pool = list(leaves)
unary = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos", "softplus"]
for step in range(3000):
    a, b = rng.choice(pool[-12:]), rng.choice(pool)
    kind = step % 9
    if kind == 0: node = a * b
    elif kind == 1: node = a + 0.5 * b
    elif kind == 2: node = (a - b) / (1.0 + b * b)
    elif kind == 3: node = getattr(abs(a) + 0.1, unary[step % len(unary)])()
    elif kind == 4: node = -a + 2 - b
    elif kind == 5: node = (a * a + 0.01) ** 0.5 + a.leaky_relu(0.1)
    elif kind == 6: node = apply_op("sum", a, b, leaves[step % 6], 1.5)
    elif kind == 7: node = (abs(a) + 0.5) ** (b.tanh() * 0.1) + apply_op("max", a, b)
    else: node = 1.0 / (1.0 + a * a)
    if abs(node.data) > 1e3:
        node = node.tanh()
    pool.append(node)
root = pool[-1] * 0.5 + pool[-2] * 0.25 + pool[len(pool) // 2]
root.backward()
root.backward(2.0)
leaves[5].grad = Value(0.25)  # a leaf whose grad is a Value adds messages the Value way
try:  # each message checked (the compiled store's checked path) until one is refused
    with detect_anomaly():
        root.backward(-0.5)
except ArithmeticError as error:  # every grad is left as it was
    print("refused", error.op)
for node in topological_order(root):
    print(node.op, node.data.hex(), float(node.grad).hex(), [g.hex() for g in node.local_grads])
first = grad(root, leaves[:2], create_graph=True)
print([float(g).hex() for g in first], [float(d).hex() for d in grad(first[0], leaves[:3])])
"""


# Extreme floats through shared parents (a + a, a * a), a diamond, a variadic sum with
# -0.0, odd seeds, leaf roots and repeated calls: every grad's bits (NaN's sign too).
# With VALUE_GRADS (set by a line put before it), some grad is a Value first: the
# Python store's search then keeps the grads it overwrites, and leaf b's grad is a
# Value, so a NaN message to it is refused and every grad must be put back exactly.
EXTREMES = """
import math, struct
from autograd_core import CORE, Value, apply_op, backward_steps, grad
print(CORE)
bits = lambda x: ("V" if isinstance(x, Value) else "") + struct.pack("<d", float(x)).hex()
if VALUE_GRADS:
    Value(1.0).grad = Value(2.0)
inf = math.inf
specials = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308, -1e308, inf, -inf,
            1.0, -1.5]
seeds = [1.0, -0.0, 0.0, 5e-324, -1e308, inf, -inf, 3.0]
for i, a0 in enumerate(specials):
    for b0 in specials[::2]:
        a, b = Value(a0), Value(b0)
        c, d, e = a * b, a + a, a * a
        f = c + d * e - b
        if VALUE_GRADS and math.isfinite(b0):
            b.grad = Value(b0)
        g = apply_op("sum", f, c, e, -0.0)
        for seed in seeds[i % 3::3]:
            try:
                g.backward(seed)
            except ValueError:
                print("refused")
            print([bits(n.grad) for n in (a, b, c, d, e, f, g)])
        last = {m.receiver: m.receiver_delta for m in backward_steps(g, 0.5)}
        print([bits(last[n]) for n in (f, e, d, c, b, a)], [bits(x) for x in grad(g, [a, b])])
        a.backward(-0.0)
        a.backward(5e-324)
        print(bits(a.grad))
"""


def run_program(pure, program=PROGRAM):
    env = dict(os.environ)
    env.pop("AUTOGRAD_CORE_PURE", None)
    if pure:
        env["AUTOGRAD_CORE_PURE"] = "1"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True, cwd=ROOT, env=env)
    return result.stdout.splitlines()


@COMPILED_ONLY
def test_both_stores_give_the_same_numbers_bit_for_bit():
    compiled, pure = run_program(pure=False), run_program(pure=True)
    assert compiled[0] == "compiled" and pure[0] == "python"
    assert len(compiled) > 3000
    assert compiled[1:] == pure[1:]


@COMPILED_ONLY
@pytest.mark.parametrize("value_grads", [False, True],
                         ids=["no-value-grad-yet", "after-a-value-grad"])
def test_both_stores_give_the_same_bits_on_extreme_floats(value_grads):
    program = f"VALUE_GRADS = {value_grads}\n" + EXTREMES
    compiled, pure = run_program(False, program), run_program(True, program)
    assert compiled[0] == "compiled" and pure[0] == "python"
    assert len(compiled) > 200 and any("f8ff" in line for line in compiled)  # NaNs met
    # Refused passes (NaN messages to a Value grad) only when some grad is a Value.
    assert ("refused" in compiled) == value_grads
    assert value_grads == any("'V" in line for line in compiled)
    assert compiled[1:] == pure[1:]


def test_every_operator_of_the_store_records_its_rule():
    x, y = Value(0.8), Value(-1.7)
    cases = {
        "add": x + y, "sub": x - y, "mul": x * y, "div": x / y, "neg": -x, "abs": abs(y),
        "exp": x.exp(), "log": x.log(), "sqrt": x.sqrt(), "tanh": y.tanh(),
        "sigmoid": y.sigmoid(), "relu": y.relu(), "sin": y.sin(), "cos": y.cos(),
        "softplus": y.softplus(),
    }
    for name, node in cases.items():
        rule = RULES[name]
        inputs = [p.data for p in node.parents]
        assert node.op == name
        assert node.data == rule.forward(*inputs)
        assert node.local_grads == rule.local(*inputs, node.data)
    reflected = {"add": 2 + x, "sub": 2 - x, "mul": 2 * x, "div": 2 / x}
    for name, node in reflected.items():
        assert node.op == name and node.parents[0].data == 2.0 and node.parents[1] is x


def test_a_node_cannot_lose_its_data():
    x = Value(1.0)
    with pytest.raises(AttributeError, match="cannot delete a Value's data"):
        del x.data
    for op in (lambda: x * 2.0, lambda: x.tanh(), lambda: -x, lambda: 2.0 - x):
        assert x in op().parents


def graph_on(w):
    """A graph that uses the leaf ``w`` three times: ``w``'s reference count shows it alive."""
    x = Value(3.0)
    y = ((x * w).tanh() * x * w).exp() * w
    return x, y


def test_a_create_graph_cycle_is_found_by_the_cycle_collector():
    """``x.grad`` becomes a Value whose graph refers back to ``x``: a reference cycle."""
    gc.collect()
    w = Value(1.5)
    alone = sys.getrefcount(w)
    x, y = graph_on(w)
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x in topological_order(x.grad)
    w.grad = 0.0  # w's own grad refers back to w as well; keep w, drop that one
    del x, y
    assert sys.getrefcount(w) > alone  # the graph is kept alive by its cycles
    gc.collect()
    assert sys.getrefcount(w) == alone  # every node that used w is gone


def test_a_value_assigned_as_grad_later_still_has_its_cycle_collected():
    gc.collect()
    w = Value(1.5)
    alone = sys.getrefcount(w)
    x, y = graph_on(w)
    x.grad = y  # x now holds its own descendant: a cycle through x
    x.grad = y * 2.0 + x  # another, through nodes made after the first assignment
    del y
    gc.collect()
    assert sys.getrefcount(w) == alone + 3  # not garbage: x still holds the graph
    del x
    gc.collect()
    assert sys.getrefcount(w) == alone


@COMPILED_ONLY
def test_ordinary_nodes_are_not_walked_by_the_cycle_collector():
    w = Value(1.5)
    x, y = graph_on(w)
    assert not any(gc.is_tracked(node) for node in topological_order(y))
    y.backward()
    assert not any(gc.is_tracked(node) for node in topological_order(y))
    (dx,) = grad(y, [x], create_graph=True)
    assert not gc.is_tracked(dx)
    x.grad = dx  # a possible cycle: x and everything reachable from it get tracked
    assert w in topological_order(dx)
    assert all(gc.is_tracked(node) for node in topological_order(dx))
    assert gc.is_tracked(x)
    assert not gc.is_tracked(y)  # not reachable from x


@COMPILED_ONLY
def test_the_compiled_store_checks_what_is_assigned_to_a_node():
    x = Value(1.0)
    cases = [
        ("label", 5, "label must be a str"),
        ("op", None, "op must be a str"),
        ("grad", [1.0], "Value.grad must be a real number or a Value"),
        ("attrs", ([1.0],), "attrs must be numbers or strings"),
        ("attrs", 2.0, "attrs must be a tuple"),
    ]
    for name, value, message in cases:
        with pytest.raises(TypeError, match=message):
            setattr(x, name, value)
    for name in ("grad", "label", "parents"):
        with pytest.raises(AttributeError):
            delattr(x, name)
    x.grad = 3  # a real number is kept as a float
    assert x.grad == 3.0 and type(x.grad) is float
    assert (x.data, x.label, x.op, x.attrs) == (1.0, "", "", ())


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))],
                         ids=["deepcopy", "pickle"])
def test_a_graph_survives_copy_and_pickle_with_its_shape_grads_and_labels(clone):
    x = Value(2.0, label="x")
    shared = x * x
    y = (shared + shared.tanh()) ** 2
    y.label = "y"
    y.backward()
    z = clone(y)
    assert (z.data, z.grad, z.label, z.op, z.attrs) == (y.data, y.grad, "y", "pow", (2.0,))
    copied_sum, original_sum = z.parents[0], y.parents[0]
    assert copied_sum.local_grads == original_sum.local_grads
    a, b = copied_sum.parents
    assert b.parents[0] is a  # the shared node is copied once
    cx = a.parents[0]
    assert a.parents == (cx, cx) and cx.label == "x" and cx.grad == x.grad
    assert cx is not x
    z.backward()  # the copy is a working graph of its own
    assert cx.grad == 2 * x.grad and x.grad == cx.grad / 2


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy,
                                   lambda v: pickle.loads(pickle.dumps(v))],
                         ids=["copy", "deepcopy", "pickle"])
def test_a_copy_keeps_the_bits_of_every_grad_and_value(clone):
    x = Value(-0.0)
    y = x * Value(2.0)
    tiny, huge = Value(5e-324), Value(-1.7976931348623157e308)
    x.grad, y.grad, tiny.grad, huge.grad = -0.0, -0.0, -5e-324, math.inf
    for node in (x, y, tiny, huge):
        twin = clone(node)
        assert (twin.data.hex(), twin.grad.hex()) == (node.data.hex(), node.grad.hex())
    assert clone(y).parents[0].grad.hex() == "-0x0.0p+0"  # a parent's, too


class _Sub(Value):
    __slots__ = ()


def test_read_data_copies_each_nodes_value_bit_for_bit():
    values = [1.5, -0.0, 0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, -2.0]
    nodes = tuple(Value(v) if i % 2 else _Sub(v) for i, v in enumerate(values))
    nodes += ((nodes[0] * nodes[-1]).tanh(),)  # an interior node, its data the op's result
    out = np.full(len(nodes), 123.0)
    read_data(nodes, out)
    assert [v.hex() for v in out.tolist()] == [n.data.hex() for n in nodes]
    empty = np.empty(0)
    read_data((), empty)  # nothing to read, nothing refused


def test_read_data_refuses_a_wrong_buffer_or_nodes_that_are_not_a_tuple():
    nodes = (Value(1.0), Value(2.0))
    read_only = np.zeros(2)
    read_only.setflags(write=False)
    for out in (np.zeros(3), np.zeros(1), np.zeros(2, dtype=np.float32),
                np.zeros(4)[::2], read_only):
        with pytest.raises(ValueError):
            read_data(nodes, out)
        assert not out.any()  # nothing written
    with pytest.raises(TypeError):
        read_data(list(nodes), np.zeros(2))
    with pytest.raises(AttributeError):
        read_data((Value(1.0), 2.0), np.zeros(2))


class _Nodes(tuple):
    pass


def test_read_data_takes_the_same_buffers_and_node_tuples_on_both_stores():
    # The compiled read_data takes any writable C-contiguous buffer of native doubles
    # and a tuple subclass; the Python store's read_data accepts and refuses the same.
    nodes = _Nodes((Value(1.5), _Sub(-0.0), Value(math.inf)))
    bits = [n.data.hex() for n in nodes]
    for out in (np.zeros(3), np.zeros((1, 3)), np.zeros((3, 1), order="F"),
                array.array("d", [0.0] * 3), memoryview(np.zeros(3))):
        read_data(nodes, out)
        assert [v.hex() for v in memoryview(out).cast("B").cast("d").tolist()] == bits
    for out in (bytearray(24), np.zeros(3, dtype=">f8"), np.zeros(3, dtype=np.int64)):
        with pytest.raises(ValueError, match="must hold 3 float64 values"):
            read_data(nodes, out)
    with pytest.raises(TypeError):
        read_data(nodes, [0.0, 0.0, 0.0])
    with pytest.raises(TypeError):
        read_data((Value(1.0), type("NoFloat", (), {"data": "1.5"})()), np.zeros(2))


_SLOTTED = [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
            ("truediv", operator.truediv)]
_OPERANDS = [
    ("value", lambda: Value(1.5)),
    ("subclass", lambda: _Sub(-2.5)),
    ("float", lambda: 4.0),
    ("int", lambda: 3),
    ("bool", lambda: True),
    ("huge int", lambda: 10**400),
    ("nan", lambda: math.nan),
    ("zero", lambda: 0.0),
    ("numpy float", lambda: np.float64(0.75)),
    ("array", lambda: np.array([1.0, 2.0])),
    ("str", lambda: "x"),
    ("none", lambda: None),
]


def _outcome(call):
    """A call's result as something comparable: its value's fields, or the error."""
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - the error is the outcome compared
        return ("raised", type(error), str(error))
    if not isinstance(result, Value):
        return ("returned", type(result), repr(result))
    return ("value", type(result), repr(result.data), result.op, result.local_grads,
            tuple(p.data if p.op == "" and p.label == "" else id(p) for p in result.parents))


_PAIRS = [(f"{a}-{b}", make_a, make_b) for a, make_a in _OPERANDS for b, make_b in _OPERANDS
          if "value" in (a, b) or "subclass" in (a, b)]  # one of ours among them


@pytest.mark.parametrize(("slot", "apply"), _SLOTTED, ids=[s for s, _ in _SLOTTED])
@pytest.mark.parametrize(("pair", "make_left", "make_right"), _PAIRS, ids=[p for p, *_ in _PAIRS])
def test_an_operator_gives_what_its_bound_method_gives_for_any_operands(
        slot, apply, pair, make_left, make_right):
    """x op y runs through the store's number slot; it must answer exactly as Python's
    own dispatch to Value.__op__ / Value.__rop__ would (the rule table's methods)."""
    left, right = make_left(), make_right()
    forward, reflected = Value.__dict__[f"__{slot}__"], Value.__dict__[f"__r{slot}__"]

    def by_method():
        if isinstance(left, Value):
            answer = forward(left, right)
        else:  # Python's numbers decline a Value; a str or None has no number slot
            answer = NotImplemented
            if isinstance(left, (np.ndarray, np.generic)):  # numpy's slot answers first
                answer = getattr(type(left), f"__{slot}__")(left, right)
            if answer is NotImplemented:
                answer = reflected(right, left)
        if answer is NotImplemented:
            raise TypeError("unsupported")
        return answer

    with np.errstate(all="ignore"):
        expected = _outcome(by_method)
        got = _outcome(lambda: apply(left, right))
    assert got == expected


class _Reflects(Value):
    __slots__ = ()

    def __radd__(self, other):
        return "reflected by the subclass"

    def __rmul__(self, other):
        return NotImplemented


class _Adds(Value):
    __slots__ = ()

    def __add__(self, other):
        return "added by the subclass"


def test_a_subclass_on_the_right_still_gets_the_first_word():
    x = Value(2.0)
    assert x + _Reflects(1.0) == "reflected by the subclass"
    product = x * _Reflects(3.0)  # the subclass declines: Value's own operator runs
    assert (product.data, product.op, product.local_grads) == (6.0, "mul", (3.0, 2.0))
    assert _Adds(1.0) + x == "added by the subclass"
    total = x + _Adds(1.0)  # _Adds inherits Value's __radd__: the rule runs
    assert (total.data, total.op) == (3.0, "add")
    assert (1.0 + _Adds(1.0)).op == "add"  # float declines, the inherited __radd__ runs


class _Declines(Value):
    __slots__ = ()

    def __sub__(self, other):
        return NotImplemented

    def __rsub__(self, other):
        return NotImplemented

    def __truediv__(self, other):
        return NotImplemented

    def __rtruediv__(self, other):
        return NotImplemented


def test_a_subclass_that_declines_on_either_side_gets_the_rule_with_operands_in_order():
    """A subclass on the left that declines leaves the call to Value's slot with the
    subclass first: the rule must still see (left, right), not the reverse."""
    left, right = _Declines(2.0), Value(0.5)
    for result, data, local_grads in [
        (left - right, 1.5, (1.0, -1.0)),
        (right - left, -1.5, (1.0, -1.0)),
        (left / right, 4.0, (2.0, -8.0)),
        (right / left, 0.25, (0.5, -0.125)),
    ]:
        assert type(result) is Value and (result.data, result.local_grads) == (data, local_grads)
    assert (left - right).parents == (left, right) and (right / left).parents == (right, left)
    with pytest.raises(TypeError, match="unsupported operand"):
        left - _Declines(1.0)  # both decline: Value's slot is never asked


def test_a_patched_operator_wins_and_the_next_binding_brings_the_rule_back():
    from autograd_core.rules import replace_rule

    original = Value.__dict__["__mul__"]
    calls = []

    def counting(x, y):
        calls.append((x, y))
        return original(x, y)

    x, y = Value(2.0), Value(5.0)
    Value.__mul__ = counting
    try:
        assert (x * y).data == 10.0 and len(calls) == 1
        assert (x * 3.0).data == 6.0 and len(calls) == 2
        assert (3.0 * x).data == 6.0 and len(calls) == 2  # __rmul__ is not patched
    finally:
        Value.__mul__ = original
        replace_rule(RULES["mul"])  # what any rebinding does: the table's operators again
    assert Value.__dict__["__mul__"] is not counting
    assert (x * y).data == 10.0 and len(calls) == 2


@COMPILED_ONLY
def test_set_operator_refuses_what_is_not_the_bound_pair():
    from autograd_core import _fastnode

    add, radd = Value.__dict__["__add__"], Value.__dict__["__radd__"]
    mul = Value.__dict__["__mul__"]
    assert _fastnode.set_operator("matmul", add, radd) is False  # no direct slot: untouched
    with pytest.raises(TypeError, match="reflected"):
        _fastnode.set_operator("add", add, add)
    with pytest.raises(TypeError, match="plain"):
        _fastnode.set_operator("add", radd, radd)
    with pytest.raises(TypeError, match="RuleOp"):
        _fastnode.set_operator("add", lambda x, y: 0, radd)
    assert _fastnode.set_operator("add", mul, radd) is False  # not Value.__add__: untouched
    assert (Value(1.0) + 2.0).data == 3.0 and (Value(1.0) * 2.0).op == "mul"


def _add_twice_local(x, y, out):
    """d(x + 2y)/dx = 1, d(x + 2y)/dy = 2"""
    return (1.0, 2.0)


@COMPILED_ONLY
def test_set_operator_changes_nothing_for_a_pair_another_binding_replaced():
    """A binding assigns Value's operators, then points the slots at them: another
    thread's binding may replace them in between. That late call must not raise (it
    made replace_rule fail) nor point the slot at the replaced RuleOps."""
    from autograd_core import _fastnode
    from autograd_core.rules import replace_rule

    stale = Value.__dict__["__add__"], Value.__dict__["__radd__"]
    original = replace_rule("add", forward=lambda x, y: x + 2.0 * y, local=_add_twice_local,
                            constant_local=False)
    try:
        assert _fastnode.set_operator("add", *stale) is False
        x, y = Value(1.0), Value(10.0)
        assert ((x + y).data, (x + y).local_grads) == (21.0, (1.0, 2.0))
        assert (1.0 + y).data == 21.0 and (y + 1.0).data == 12.0
    finally:
        replace_rule(original)
    assert (Value(1.0) + Value(10.0)).data == 11.0


REBIND = """
from autograd_core import Value, engine, stores
from autograd_core.modes import node_in_mode
from autograd_core.rules import replace_rule

def twice(x, y, out):
    \"\"\"d(x + 2y)/dx = 1, d(x + 2y)/dy = 2\"\"\"
    return (1.0, 2.0)

class Other(stores.NodeStore):
    __slots__ = ()

stores.bind(Other, engine._lift, node_in_mode, engine._apply, engine._as_float)
replace_rule("add", forward=lambda x, y: x + 2.0 * y, local=twice, constant_local=False)
x, y = Value(1.0), Value(10.0)
print((x + y).data, Value.__add__(x, y).data, (2.0 + y).data, Value.__radd__(y, 2.0).data,
      Other.__add__(x, y).data)
"""


@COMPILED_ONLY
def test_a_class_bound_before_keeps_its_own_operators_after_another_is_bound():
    """The number slots' table serves one class: once another class is bound (and its
    rule replaced), the first class's x + y runs what its __add__ says, not the table."""
    result = subprocess.run([sys.executable, "-c", REBIND], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.split() == ["11.0", "11.0", "12.0", "12.0", "21.0"]


class _HasData:
    """Not a Value, with the attribute the Python store's operators read."""

    _data = 1.0


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Value.__add__(1.0, Value(2.0)),
     "__add__() applies rule 'add' to a Value and one operand"),
    (lambda: Value.__add__(1.0, "x"), "__add__() applies rule 'add' to a Value and one operand"),
    (lambda: Value.__radd__(1.0, 2.0), "__radd__() applies rule 'add' to a Value and one operand"),
    (lambda: Value.__rtruediv__(None, Value(2.0)),
     "__rtruediv__() applies rule 'div' to a Value and one operand"),
    (lambda: Value.__rpow__(2.0, 3.0), "__rpow__() applies rule 'powv' to a Value and one operand"),
    (lambda: Value.__rmul__(_HasData(), 2.0),
     "__rmul__() applies rule 'mul' to a Value and one operand"),
    (lambda: Value.tanh(0.5), "tanh() applies rule 'tanh' to a Value"),
    (lambda: Value.__neg__("x"), "__neg__() applies rule 'neg' to a Value"),
    (lambda: Value.__add__(Value(1.0), "x"),
     "operand must be an int, a float or a numpy real scalar; got 'x' (str)"),
])
def test_an_operator_called_unbound_on_no_value_is_refused_alike_on_both_stores(call, message):
    """The compiled store's operators refuse a first argument that is not a Value; the
    Python store's read its ``_data`` (AttributeError) or, reflected, lifted it."""
    with pytest.raises(TypeError) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize(("call", "method"), [
    (lambda: Value.__add__(Value(1.0), y=2.0), "__add__"),
    (lambda: Value.__radd__(Value(1.0), x=2.0), "__radd__"),
    (lambda: Value(1.0).__mul__(y=3.0), "__mul__"),
    (lambda: Value.tanh(x=Value(1.0)), "tanh"),
    (lambda: Value.__neg__(x=Value(1.0)), "__neg__"),
])
def test_an_operator_takes_its_operands_by_position_only_on_both_stores(call, method):
    """The compiled store's operators take no keywords; the Python store's took their
    parameter names (x, y) as keywords and computed."""
    with pytest.raises(TypeError, match=rf"{method}\(\)"):
        call()


def test_an_operator_shows_the_same_signature_on_both_stores():
    """inspect.signature (help(), the API pages) found none for the compiled store's
    operators and methods; both stores now name their operands alike."""
    import inspect

    def shape(function):
        return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]

    only = inspect.Parameter.POSITIONAL_ONLY
    assert shape(Value.__add__) == [("x", only), ("y", only)]
    assert shape(Value.__rtruediv__) == [("y", only), ("x", only)]
    assert shape(Value.tanh) == shape(Value.__neg__) == [("x", only)]
    assert shape(Value(1.0).__mul__) == [("y", only)]  # bound: the other operand
    assert shape(Value(1.0).__rsub__) == [("x", only)]
    assert shape(Value(1.0).exp) == []
