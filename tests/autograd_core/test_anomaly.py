"""detect_anomaly(): the first op whose forward or backward gives NaN or inf is named."""

import inspect
import math
import threading

import pytest

from autograd_core import (
    AnomalyError,
    Value,
    backward_steps,
    detect_anomaly,
    grad,
    is_anomaly_enabled,
    topological_order,
)


def here(offset=1):
    """'file:line' of the caller's line plus ``offset``."""
    caller = inspect.currentframe().f_back
    return f"{caller.f_code.co_filename}:{caller.f_lineno + offset}"


def test_forward_overflow_names_op_inputs_and_line():
    a, b = Value(1e300), Value(1e200)
    with detect_anomaly():
        where = here(2)
        with pytest.raises(AnomalyError) as caught:
            a * b
    error = caught.value
    assert (error.op, error.phase, error.inputs) == ("mul", "forward", (1e300, 1e200))
    assert error.location == where
    assert "'mul'" in str(error) and "1e+300" in str(error) and error.location in str(error)


def test_forward_nan_is_caught_at_the_first_op():
    a = Value(math.inf)
    with detect_anomaly():
        # A leaf holding inf is allowed; the first op that makes NaN is named.
        with pytest.raises(AnomalyError, match="op 'sub' produced nan") as caught:
            a - a
        with pytest.raises(AnomalyError, match="op 'exp'"):
            Value(800.0).exp().tanh()  # exp overflows first; tanh would be finite
    assert caught.value.inputs == (math.inf, math.inf)


def test_backward_inf_names_the_op_and_where_its_node_was_made():
    x = Value(0.0)
    with detect_anomaly():
        where = here()
        root = x.sqrt()
        y = root * 2.0
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    error = caught.value
    assert (error.op, error.phase, error.node) == ("sqrt", "backward", root)
    assert error.inputs == (0.0,)
    assert error.location == where
    assert "local derivative inf" in str(error) and where in str(error)


def test_outside_anomaly_mode_the_same_graph_gives_inf_quietly():
    x = Value(0.0)
    y = x.sqrt() * 2.0
    y.backward()
    assert x.grad == math.inf


def test_grad_backward_steps_and_create_graph_are_checked_too():
    # Forward finite (1e-160 * 1e200 = 1e40); the message to x is 1e200 * 5e159 = inf.
    x = Value(1e-320)
    with detect_anomaly():
        y = x.sqrt() * 1e200
        with pytest.raises(AnomalyError, match="backward of op 'sqrt'"):
            grad(y, [x])
        with pytest.raises(AnomalyError, match="backward of op 'sqrt'"):
            list(backward_steps(y))
        # Recording the backward pass, the overflowing product is itself an op.
        with pytest.raises(AnomalyError, match="forward of op 'mul' produced inf"):
            y.backward(create_graph=True)
    assert x.grad == 0.0


def test_nodes_made_outside_the_block_are_reported_as_such():
    x = Value(0.0)
    y = x.sqrt()
    with detect_anomaly():
        with pytest.raises(AnomalyError, match=r"created outside detect_anomaly\(\)") as caught:
            y.backward()
    assert caught.value.location is None


def test_anomaly_mode_gives_the_same_gradients_when_all_is_finite():
    def build():
        a, b = Value(0.3), Value(-1.7)
        h = (a * b).tanh() + (a - b).relu() * a
        return (a, b), h * h + b.exp()

    (a, b), out = build()
    out.backward()
    out.backward()
    (a2, b2), out2 = build()
    with detect_anomaly():
        out2.backward()
        out2.backward()
    # The same loop in the same order: bit for bit, leaves accumulating over calls.
    assert (a2.grad, b2.grad) == (a.grad, b.grad)
    (a3, _), once = build()
    once.backward()
    assert math.isclose(a2.grad, 2 * a3.grad) and a3.grad != 0.0
    intermediates = [n.grad for n in topological_order(out) if n.parents]
    assert [n.grad for n in topological_order(out2) if n.parents] == intermediates


def test_anomaly_mode_adds_to_a_grad_that_is_a_value_as_backward_does():
    results = []
    for anomaly in (False, True):
        a, b = Value(2.0), Value(3.0)
        out = a * b + b * b
        b.grad = Value(0.25)  # left by an earlier backward(create_graph=True)
        if anomaly:
            with detect_anomaly():
                out.backward()
        else:
            out.backward()
        assert isinstance(b.grad, Value)
        results.append((a.grad, b.grad.data))
    assert results[0] == results[1] == (3.0, 0.25 + 2.0 + 6.0)


def test_a_leaf_whose_running_sum_overflows_is_caught_and_nothing_changes():
    # Each message is finite; the leaf's total (what it had plus the message) is not.
    x, big = Value(1.0), Value(1e308)
    y = (x * 0.5).tanh() + x * big
    x.grad = 1e308
    inner = [n for n in topological_order(y) if n.parents]
    before = [n.grad for n in inner]
    with detect_anomaly(), pytest.raises(AnomalyError, match="produced inf"):
        y.backward()
    assert x.grad == 1e308 and [n.grad for n in inner] == before
    y.backward()  # outside the block the same sum overflows quietly
    assert x.grad == math.inf


def test_detect_anomaly_as_decorator_and_nesting():
    @detect_anomaly()
    def overflow():
        assert is_anomaly_enabled()
        return Value(1e308) * 10

    with pytest.raises(AnomalyError):
        overflow()
    assert not is_anomaly_enabled()
    with detect_anomaly():
        with detect_anomaly():
            pass
        assert is_anomaly_enabled()
        with pytest.raises(AnomalyError):
            Value(1e308) * 10
    assert not is_anomaly_enabled()
    assert (Value(1e308) * 10).data == math.inf


def test_anomaly_mode_is_per_thread():
    entered, release = threading.Event(), threading.Event()

    def hold():
        with detect_anomaly():
            entered.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        assert not is_anomaly_enabled()
        assert (Value(1e308) * 10).data == math.inf  # no error in this thread
    finally:
        release.set()
        thread.join()


def test_anomaly_error_is_an_arithmetic_error():
    assert issubclass(AnomalyError, FloatingPointError)
    assert issubclass(AnomalyError, ArithmeticError)
