"""First checks of the engine: the reused-node case and the lecture's first example."""

import math

from autograd_core import Value


def test_reused_node_sums_messages():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0


def test_logistic_least_squares_by_hand():
    w, x, b, t = Value(0.5), Value(2.0), Value(-0.3), 1.0
    s = w * x + b
    y = s.sigmoid()
    loss = (y - t) ** 2 / 2
    loss.backward()
    y_hand = 1 / (1 + math.exp(-0.7))
    delta_s = (y_hand - t) * y_hand * (1 - y_hand)
    assert math.isclose(w.grad, delta_s * 2.0, rel_tol=1e-12)
    assert math.isclose(b.grad, delta_s, rel_tol=1e-12)
