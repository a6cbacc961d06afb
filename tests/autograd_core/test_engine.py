"""The engine against the lecture's worked examples, and its gradient semantics.

Every expected number here is derived by hand (the lecture's delta equations, written
out with math or numpy), never by the engine itself.
"""

import gc
import math
import sys
import threading

import numpy as np
import pytest

from autograd_core import (
    Value,
    apply_op,
    backward_steps,
    grad,
    hessian,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from autograd_core.functional import vsum


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- the lecture's worked examples ----------------------------------------------------


def logistic_least_squares(w, x, b, t):
    s = w * x + b
    y = s.sigmoid()
    loss = (y - t) ** 2 / 2
    return s, y, loss


def test_univariate_logistic_least_squares_in_delta_notation():
    w, x, b, t = Value(0.5), Value(2.0), Value(-0.3), Value(1.0)
    s, y, loss = logistic_least_squares(w, x, b, t)
    loss.backward()
    # Forward by hand: s = 0.5 * 2 - 0.3 = 0.7.
    y_hand = 1 / (1 + math.exp(-0.7))
    assert math.isclose(s.data, 0.7, rel_tol=1e-15)
    assert math.isclose(y.data, y_hand, rel_tol=1e-15)
    assert math.isclose(loss.data, (y_hand - 1) ** 2 / 2, rel_tol=1e-14)
    # Backward: delta_y = y - t, delta_s = delta_y sigma'(s),
    # delta_w = delta_s x, delta_b = delta_s.
    delta_y = y_hand - 1.0
    delta_s = delta_y * y_hand * (1 - y_hand)
    assert math.isclose(y.grad, delta_y, rel_tol=1e-14)
    assert math.isclose(s.grad, delta_s, rel_tol=1e-14)
    assert math.isclose(w.grad, delta_s * 2.0, rel_tol=1e-14)
    assert math.isclose(b.grad, delta_s, rel_tol=1e-14)
    assert math.isclose(x.grad, delta_s * 0.5, rel_tol=1e-14)
    assert math.isclose(t.grad, -delta_y, rel_tol=1e-14)


def test_l2_regularised_version_has_fan_out_on_w():
    lam = 0.1
    w, x, b, t = Value(0.5), Value(2.0), Value(-0.3), Value(1.0)
    _, _, loss = logistic_least_squares(w, x, b, t)
    regulariser = w**2 / 2
    total = loss + lam * regulariser
    total.backward()
    y_hand = 1 / (1 + math.exp(-0.7))
    delta_s = (y_hand - 1.0) * y_hand * (1 - y_hand)
    # delta_R = lambda, delta_L = 1; w has two children: z = wx + b and R = w^2 / 2,
    # so delta_w = delta_z x + delta_R w.
    assert math.isclose(regulariser.grad, lam, rel_tol=1e-15)
    assert math.isclose(loss.grad, 1.0, rel_tol=1e-15)
    assert math.isclose(w.grad, delta_s * 2.0 + lam * 0.5, rel_tol=1e-14)
    assert math.isclose(b.grad, delta_s, rel_tol=1e-14)


def test_one_hidden_layer_mlp_backward_equations():
    rng = np.random.default_rng(0)
    n_in, n_hidden, n_out = 3, 4, 2
    x = rng.normal(size=n_in)
    t = rng.normal(size=n_out)
    w1, b1 = rng.normal(size=(n_hidden, n_in)), rng.normal(size=n_hidden)
    w2, b2 = rng.normal(size=(n_out, n_hidden)), rng.normal(size=n_out)

    # By hand, with numpy: the lecture's forward and backward equations.
    z = w1 @ x + b1
    h = sigmoid(z)
    y = w2 @ h + b2
    loss = 0.5 * np.sum((y - t) ** 2)
    y_bar = y - t
    w2_bar = np.outer(y_bar, h)
    b2_bar = y_bar
    h_bar = w2.T @ y_bar
    z_bar = h_bar * h * (1 - h)
    w1_bar = np.outer(z_bar, x)
    b1_bar = z_bar

    # The engine.
    W1 = [[Value(v) for v in row] for row in w1]
    B1 = [Value(v) for v in b1]
    W2 = [[Value(v) for v in row] for row in w2]
    B2 = [Value(v) for v in b2]
    Z = [vsum([W1[i][j] * x[j] for j in range(n_in)] + [B1[i]]) for i in range(n_hidden)]
    H = [zi.sigmoid() for zi in Z]
    Y = [vsum([W2[k][i] * H[i] for i in range(n_hidden)] + [B2[k]]) for k in range(n_out)]
    L = vsum([(Y[k] - t[k]) ** 2 for k in range(n_out)]) * 0.5
    L.backward()

    assert math.isclose(L.data, loss, rel_tol=1e-13)
    np.testing.assert_allclose([yk.grad for yk in Y], y_bar, rtol=1e-12)
    np.testing.assert_allclose([hi.grad for hi in H], h_bar, rtol=1e-12)
    np.testing.assert_allclose([zi.grad for zi in Z], z_bar, rtol=1e-12)
    np.testing.assert_allclose([[v.grad for v in row] for row in W2], w2_bar, rtol=1e-12)
    np.testing.assert_allclose([v.grad for v in B2], b2_bar, rtol=1e-12)
    np.testing.assert_allclose([[v.grad for v in row] for row in W1], w1_bar, rtol=1e-12)
    np.testing.assert_allclose([v.grad for v in B1], b1_bar, rtol=1e-12)


# -- graph structure -----------------------------------------------------------------------


def test_reused_node_sums_its_messages():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0
    assert c.parents == (b, b) and b.parents == (a, a)


class _Leaf(Value):
    __slots__ = ()


def test_a_variadic_op_keeps_its_value_inputs_and_lifts_only_its_numbers():
    x, y, sub = Value(1.5), Value(-2.0), _Leaf(0.25)
    total = apply_op("sum", x, y, x)  # all Values: recorded as given, x twice
    assert total.parents == (x, y, x) and total.data == 1.0
    mixed = apply_op("sum", x, 2, np.float64(0.5), sub, -0.0)
    assert mixed.parents[0] is x and mixed.parents[3] is sub
    lifted = [mixed.parents[i] for i in (1, 2, 4)]
    assert [(p.op, p.parents, repr(p.data), type(p.data)) for p in lifted] == [
        ("", (), "2.0", float), ("", (), "0.5", float), ("", (), "-0.0", float)]
    assert mixed.data == 4.25
    for bad in (True, "1", None, np.array([1.0]), math.nan):
        with pytest.raises((TypeError, ValueError)):
            apply_op("sum", x, y, bad)


def test_topological_order_is_parents_first_and_deterministic():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order == [a, b, c, d, e]
    assert topological_order(e, a) == order
    assert topological_order(b, e) == [b, a, c, d, e]


def test_hundred_thousand_deep_chain_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y + x  # a chain 100,000 deep, every link also fanning out from x
    order = topological_order(y)
    assert len(order) == 100_001
    assert order[0] is x and order[-1] is y and order[1].parents == (x, x)
    assert all(node.parents[0] is previous for previous, node in zip(order[1:], order[2:]))
    y.backward()
    assert y.data == 0.5 * 100_001
    assert x.grad == 100_001.0


# -- gradient semantics ----------------------------------------------------------------------


def test_backward_twice_recomputes_intermediates_and_accumulates_leaves():
    x, w = Value(1.5), Value(-0.5)
    h = (x * w).tanh()
    out = h * h + x
    out.backward()
    first = {node: node.grad for node in topological_order(out)}
    out.backward()
    for node in topological_order(out):
        if node.parents:
            assert node.grad == first[node]
        else:
            assert node.grad == 2 * first[node]
    tanh_value = math.tanh(-0.75)
    assert math.isclose(first[h], 2 * tanh_value, rel_tol=1e-14)


def test_backward_steps_follow_the_engines_order_and_end_at_its_grads():
    x, w, b = Value(0.5, "x"), Value(-2.0, "w"), Value(0.25, "b")
    h = x * w
    out = (h + b).tanh() * h
    messages = list(backward_steps(out))
    order = topological_order(out)
    # Senders appear in reverse topological order, each node's parents in argument order.
    senders = [m.sender for m in messages]
    expected = [(n, i) for n in reversed(order) for i in range(len(n.parents))]
    assert [(m.sender, m.parent_index) for m in messages] == expected
    assert all(m.receiver is m.sender.parents[m.parent_index] for m in messages)
    assert senders[0] is out and messages[0].sender_delta == 1.0
    for m in messages:
        assert m.contribution == m.sender_delta * m.local_grad
    # Nothing written to .grad, yet the last running sums equal backward()'s grads.
    assert all(node.grad == 0.0 for node in order)
    final = {}
    for m in messages:
        final[m.receiver] = m.receiver_delta
    out.backward()
    for node, delta in final.items():
        assert delta == node.grad


def test_grad_leaves_grad_attributes_alone_and_matches_backward():
    x, y = Value(0.3), Value(-1.2)
    out = (x * y).sin() + x**3
    dx, dy = grad(out, [x, y])
    assert x.grad == 0.0 and y.grad == 0.0
    assert math.isclose(dx, -1.2 * math.cos(-0.36) + 3 * 0.09, rel_tol=1e-14)
    assert math.isclose(dy, 0.3 * math.cos(-0.36), rel_tol=1e-14)
    unused = Value(1.0)
    assert grad(out, [unused]) == [0.0]
    assert grad(out, x) == [dx]


def test_create_graph_gives_differentiable_derivatives():
    x = Value(2.0)
    y = x**3 + x.exp()
    (dy,) = grad(y, [x], create_graph=True)
    assert isinstance(dy, Value)
    assert math.isclose(dy.data, 12 + math.exp(2), rel_tol=1e-14)
    (d2y,) = grad(dy, [x], create_graph=True)
    assert math.isclose(d2y.data, 12 + math.exp(2), rel_tol=1e-14)  # 6x + e^x at 2
    (d3y,) = grad(d2y, [x])
    assert math.isclose(d3y, 6 + math.exp(2), rel_tol=1e-14)
    # backward(create_graph=True) stores Values in .grad.
    z = Value(0.5)
    (z.sin() * z).backward(create_graph=True)
    assert isinstance(z.grad, Value)
    assert math.isclose(z.grad.data, math.sin(0.5) + 0.5 * math.cos(0.5), rel_tol=1e-14)


def test_hessian_of_a_known_function():
    # f(x, y) = x^2 y + sin(y) x: f_xx = 2y, f_xy = 2x + cos(y), f_yy = -x sin(y).
    x, y = Value(0.7), Value(-1.3)
    f = x**2 * y + y.sin() * x
    h = hessian(f, [x, y])
    expected = [[2 * -1.3, 2 * 0.7 + math.cos(-1.3)],
                [2 * 0.7 + math.cos(-1.3), -0.7 * math.sin(-1.3)]]
    np.testing.assert_allclose(h, expected, rtol=1e-14)


# -- no_grad -------------------------------------------------------------------------------


def test_no_grad_as_context_manager():
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3 + 1
        z = apply_op("sum", x, y)
    assert is_grad_enabled()
    assert (y.data, y.op, y.parents, y.local_grads) == (7.0, "", (), ())
    assert (z.data, z.op, z.parents) == (9.0, "", ())
    assert (x * 3).parents[0] is x


def test_no_grad_as_decorator_and_nested():
    @no_grad()
    def predict(v):
        return (v * v).tanh()

    x = Value(0.5)
    out = predict(x)
    assert out.op == "" and out.data == math.tanh(0.25)
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_in_one_thread_does_not_affect_another():
    inside = threading.Event()
    done = threading.Event()
    seen = {}

    def hold_no_grad():
        with no_grad():
            seen["inside"] = Value(1.0) * 2
            inside.set()
            done.wait(timeout=10)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    try:
        assert inside.wait(timeout=10)
        x = Value(3.0)
        y = x * 2  # recorded here while the other thread sits in no_grad
        assert is_grad_enabled()
        assert y.op == "mul" and y.parents[0] is x
        y.backward()
        assert x.grad == 2.0
    finally:
        done.set()
        thread.join()
    assert seen["inside"].op == ""


def test_no_grad_exits_cleanly_on_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            raise ZeroDivisionError
    assert is_grad_enabled()
    assert (Value(1.0) + 1).op == "add"


# -- memory -------------------------------------------------------------------------------


def test_a_dropped_graph_is_freed_at_once_by_reference_counting():
    """No reference cycles: with the cycle collector off, dropping the root frees all.

    Every node of the graph holds a reference to the leaf ``x`` (it is used in each
    block), so ``x``'s reference count falls back exactly when every node is gone.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = Value(0.5)
        before = sys.getrefcount(x)
        out = x
        for _ in range(200):
            out = (out * x).tanh() + x
        out.backward()
        steps = list(backward_steps(out))
        assert sys.getrefcount(x) - before >= 400  # two edges per block, plus messages
        del out, steps
        assert sys.getrefcount(x) == before
        assert gc.collect() == 0  # nothing was left for the cycle collector
    finally:
        if was_enabled:
            gc.enable()


def test_apply_op_checks_an_ops_attributes_as_its_method_does():
    x = Value(1.5)
    # recorded as the method records them: floats, on both stores
    for attrs in ((2,), (np.float64(2.0),), [2.0]):
        node = apply_op("pow", x, attrs=attrs)
        assert node.attrs == (2.0,) and type(node.attrs[0]) is float and node.data == 2.25
    assert apply_op("leaky_relu", Value(-2.0)).attrs == Value(-2.0).leaky_relu().attrs == (0.01,)
    # NaN gave a NaN node (and grad) without a word; a bool ran on one store only
    with pytest.raises(ValueError, match="exponent is NaN"):
        apply_op("pow", x, attrs=(math.nan,))
    with pytest.raises(ValueError, match="slope is NaN"):
        apply_op("leaky_relu", x, attrs=(math.nan,))
    with pytest.raises(TypeError, match=r"exponent must be .* got True \(bool\)"):
        apply_op("pow", x, attrs=(True,))
    with pytest.raises(ValueError, match="exponent is too large for a float"):
        apply_op("pow", x, attrs=(10**400,))
    for wrong in ((), (2.0, 3.0)):
        with pytest.raises(ValueError, match=r"op 'pow' takes the attributes \('exponent',\)"):
            apply_op("pow", x, attrs=wrong)
    with pytest.raises(ValueError, match=r"op 'tanh' takes the attributes \(\)"):
        apply_op("tanh", x, attrs=(1.0,))
