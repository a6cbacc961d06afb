"""A graph one million nodes deep, at the default recursion limit.

Forward, ``topological_order``, ``backward`` and ``check_rules`` are all iterative,
so depth is limited by memory, not by the interpreter's stack.

The cycle collector is paused while the test runs: the engine makes no reference
cycles (see test_engine), and with a million live nodes each full collection walks
them all, which would more than double the test's time without testing anything.
"""

import gc
import math
import sys

import pytest

from autograd_core import Value, check_rules, topological_order

DEPTH = 1_000_000


@pytest.fixture
def no_cycle_collector():
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


def test_million_deep_chain(no_cycle_collector):
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5, "x")
    y = x
    for step in range(DEPTH):
        y = -y if step % 2 else y.tanh()

    # The same chain by hand, on floats: values and the product of local derivatives.
    value, derivative = 0.5, 1.0
    for step in range(DEPTH):
        if step % 2:
            value, derivative = -value, -derivative
        else:
            value = math.tanh(value)
            derivative *= 1.0 - value * value
    assert y.data == value

    order = topological_order(y)
    assert len(order) == DEPTH + 1
    assert order[0] is x and order[-1] is y

    y.backward()
    assert math.isclose(x.grad, derivative, rel_tol=1e-9)

    report = check_rules(y)
    assert report.ok and report.checked == DEPTH and not report.kinks
