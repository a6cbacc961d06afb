"""Depth and memory of the eager engine (deterministic: no timings)."""

import gc
import math
import sys
import tracemalloc

import pytest

from autograd_core import CORE, Value, backward_steps, stores

OPS_PER_BLOCK = 4  # mul, add, tanh, exp: the benchmark's W1 chain


def chain(n_ops):
    x, w, b = Value(0.1), Value(0.9), Value(0.05)
    y = x
    for _ in range(n_ops // OPS_PER_BLOCK):
        y = (y * w + b).tanh().exp()
    return y, (x, w, b)


def test_million_deep_chain_backward_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 1000  # the interpreter's default, not raised
    x, b = Value(0.25), Value(1e-6)
    y = x
    for _ in range(1_000_000):
        y = y + b
    y.backward()
    assert x.grad == 1.0
    assert b.grad == 1_000_000.0
    assert abs(y.data - (0.25 + 1.0)) < 1e-9


# Peak bytes per op over forward and backward (measured: 170 and 241). The compiled
# store's nodes are about 144 bytes/op, the Python store's about 207; on both,
# backward marks visited nodes in place and sums deltas in .grad (no dict of the
# graph's size), so the peak adds little more than the list of nodes in order. Once
# some grad has been set to a Value, the Python store's search also keeps each
# interior node's old grad (to put back should a leaf's grad be a Value): 16 bytes
# more per node (measured: 258).
PEAK_BYTES_PER_OP = {"compiled": 200, "python": 250}
KEPT_GRADS_BYTES_PER_OP = 25


@pytest.mark.parametrize("value_grads", [False, True],
                         ids=["no-value-grad-yet", "after-a-value-grad"])
def test_peak_memory_per_op_over_forward_and_backward_is_bounded(value_grads, monkeypatch):
    # Whether a grad has been set to a Value in this process (the Python store's flag;
    # the compiled store has none, and both cases measure the same there).
    monkeypatch.setattr(stores, "_value_grads", value_grads)
    n_ops = 40_000
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y, _ = chain(n_ops)
        y.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    bound = PEAK_BYTES_PER_OP[CORE]
    if value_grads and CORE == "python":
        bound += KEPT_GRADS_BYTES_PER_OP
    assert peak / n_ops < bound, f"{peak / n_ops:.1f} bytes per op"


def test_a_dropped_graph_is_freed_by_reference_counting():
    n_ops = 40_000
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # only reference counting may free it
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y, leaves = chain(n_ops)
        y.backward()
        built = tracemalloc.get_traced_memory()[0] - base
        del y
        left = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
    assert built > 100 * n_ops  # the graph was really there
    # What stays is the interpreter's free lists (up to 2000 tuples of each size).
    assert left < 0.05 * built, f"{left} of {built} bytes still allocated"
    assert leaves[1].grad != 0.0


def test_backward_sums_messages_in_backward_steps_order():
    # A node with many children: the order in which messages are added shows in the
    # last bits; backward() must add them in the order backward_steps reports.
    x = Value(0.1)
    children = [(x * (1.0 + k / 7.0)).sin() for k in range(40)]
    total = children[0]
    for child in children[1:]:
        total = total * 0.5 + child
    deltas = {}
    for message in backward_steps(total):
        deltas[message.receiver] = message.receiver_delta
    total.backward()
    assert x.grad == deltas[x]
    assert all(child.grad == deltas[child] for child in children)


def test_second_backward_recomputes_intermediates_and_accumulates_leaves():
    y, (x, w, b) = chain(400)
    y.backward()
    first = (x.grad, w.grad, b.grad)
    inner = y.parents[0]
    inner_grad = inner.grad
    y.backward()
    assert x.grad == 2 * first[0]  # one message each time
    assert math.isclose(w.grad, 2 * first[1], rel_tol=1e-12)
    assert math.isclose(b.grad, 2 * first[2], rel_tol=1e-12)
    assert inner.grad == inner_grad  # recomputed, not doubled
