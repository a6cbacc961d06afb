"""pickle, copy.deepcopy and copy.copy of graphs: any depth, create_graph grads, sharing.

All at the interpreter's default recursion limit, on both node stores (``make test``
runs tests/hardening on each).
"""

from __future__ import annotations

import copy
import gc
import pickle
import sys

import pytest

import nn
from autograd_core import Value, grad, topological_order

DEPTH = 1_000_000


def round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


DEEP_CLONES = {"pickle": round_trip, "deepcopy": copy.deepcopy}


def _fields(node):
    grad_value = node.grad.data if isinstance(node.grad, Value) else node.grad
    return (node.data, grad_value, node.op, node.label, node.attrs, node.local_grads)


def assert_same_graph(copied, original):
    """Same shape, fields and sharing, and no node of the copy is an original."""
    new, old = topological_order(copied), topological_order(original)
    assert len(new) == len(old)
    position = {node: index for index, node in enumerate(new)}
    old_position = {node: index for index, node in enumerate(old)}
    for a, b in zip(new, old):
        assert _fields(a) == _fields(b)
        assert [position[p] for p in a.parents] == [old_position[p] for p in b.parents]
    assert not set(map(id, new)) & set(map(id, old))


def test_a_million_deep_graph_pickles_and_copies_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5, "x")
    node = x
    gc.disable()  # a million acyclic nodes: the collector would only rescan them
    try:
        for index in range(DEPTH):
            node = node.sin() if index % 1000 == 0 else -node
        node.label = "root"
        node.backward()
        for name, clone in {**DEEP_CLONES, "copy": copy.copy}.items():
            copied = clone(node)
            assert (copied.data, copied.label, copied.grad) == (node.data, "root", 1.0), name
            leaf = topological_order(copied)[0]
            assert (leaf.label, leaf.data, leaf.grad) == ("x", 0.5, x.grad), name
            assert (leaf is x) == (name == "copy"), name
            del copied, leaf
    finally:
        gc.enable()


def _create_graph_world():
    a, b = Value(1.5, "a"), Value(-0.5, "b")
    shared = (a * b).tanh()
    f = shared * a + b.exp() * shared
    f.label = "f"
    f.backward(create_graph=True)  # every grad is a Value whose graph leads back to a, b
    return a, b, shared, f


@pytest.mark.parametrize("clone", DEEP_CLONES.values(), ids=list(DEEP_CLONES))
def test_create_graph_grads_survive_with_their_graphs_and_sharing(clone):
    a, b, shared, f = _create_graph_world()
    a2, b2, shared2, f2 = clone([a, b, shared, f])
    assert_same_graph(f2, f)
    assert_same_graph(a2.grad, a.grad)
    # Objects pickled together stay one graph: the leaves, the shared interior node and
    # the grads' graphs all point at the same copies.
    nodes = topological_order(f2)
    assert a2 in nodes and b2 in nodes and shared2 in nodes
    assert a2 in topological_order(a2.grad) and b2 in topological_order(a2.grad)
    # The copy differentiates again to the same numbers, without touching the original.
    assert grad(a2.grad, [a2, b2]) == grad(a.grad, [a, b])
    f2.backward()
    assert isinstance(a.grad, Value)


@pytest.mark.parametrize("clone", [*DEEP_CLONES.values(), copy.copy],
                         ids=[*DEEP_CLONES, "copy"])
def test_a_grad_that_refers_to_its_own_node(clone):
    x = Value(2.0, "x")
    x.grad = 3 * x + 1  # a cycle: x -> grad -> x
    x2 = clone(x)
    assert x2.grad.data == 7.0 and x2.label == "x"
    inner = topological_order(x2.grad)
    if clone is copy.copy:
        assert x2.grad is x.grad  # shallow: the same grad
    else:
        assert x2 in inner and x not in inner


def test_a_failed_pickle_leaves_nothing_behind():
    a, b, shared, f = _create_graph_world()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("not today")

    with pytest.raises(RuntimeError, match="not today"):
        pickle.dumps([f, Unpicklable()])
    with pytest.raises(RuntimeError, match="not today"):
        pickle.dumps([shared, Unpicklable(), f])
    # Pickled afresh, every node again carries its grad and its place in the graph.
    copied = round_trip(shared)
    assert_same_graph(copied, shared)
    assert isinstance(copied.grad, Value) and copied.grad.data == shared.grad.data
    assert_same_graph(round_trip(f), f)


def test_a_model_and_its_loss_graph_pickle_together():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    loss = nn.mse_loss(model([0.5, -1.0]), 0.25)
    loss.backward()
    model2, loss2 = round_trip((model, loss))
    params = model2.parameters()
    assert set(params) <= set(topological_order(loss2))
    assert [p.grad for p in params] == [p.grad for p in model.parameters()]
    model2.zero_grad()
    loss2.backward()
    assert [p.grad for p in params] == [p.grad for p in model.parameters()]


class _EarlierPickle:
    """Pickles as the previous version wrote a node: engine._restore with its fields."""

    def __init__(self, *fields):
        self.fields = fields

    def __reduce__(self):
        from autograd_core import engine

        return (engine._restore, self.fields)


def test_pickles_written_by_the_previous_version_still_load():
    leaf = _EarlierPickle(2.0, "", (), (), (), 0.5, "x")
    data = pickle.dumps(_EarlierPickle(4.0, "mul", (leaf, leaf), (2.0, 2.0), (), 1.0, "y"))
    y = pickle.loads(data)
    (x, x_again) = y.parents
    assert x is x_again  # a shared parent stays shared
    assert (y.data, y.grad, y.label, y.op, y.local_grads) == (4.0, 1.0, "y", "mul", (2.0, 2.0))
    assert (x.data, x.grad, x.label) == (2.0, 0.5, "x")
