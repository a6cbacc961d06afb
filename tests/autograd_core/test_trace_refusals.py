"""What a trace refuses, where, and that its watching is per trace and per thread."""

import math
import threading

import numpy as np
import pytest

import autograd_core.engine as engine
from autograd_core import DomainError, Value, apply_op, grad
from autograd_core.functional import logsumexp, softmax, wta
from autograd_core.trace import TraceError, trace

HERE = __file__


def line_of(text):
    """The line number of the first line of this file that contains ``text``."""
    with open(HERE) as source:
        for number, line in enumerate(source, start=1):
            if text in line and "line_of(" not in line:
                return number
    raise AssertionError(text)


# ---------------------------------------------------------------------------
# Decisions on data: refused at trace time, at the user's line.


def compares(x):
    return x[0] * 2 if x[0] > 0 else x[0] * 3  # the comparison


def converts(x):
    return x[0] * math.exp(x[0])  # float() through math


def sorts(x):
    return max(x) * 2.0  # Python's max compares


def reads_data_for_a_constant(x):
    return x[0] - x[0].data  # a constant made from data


def branches_on_data(x):
    return x[0].relu() if x[0].data > 0 else -x[0]  # a branch on .data


@pytest.mark.parametrize(
    ("fn", "what", "marker"),
    [
        (compares, r"\(>: Value\('x\[0\]', data=1", "# the comparison"),
        (converts, r"\(float\(\): Value\('x\[0\]', data=1", "# float() through math"),
        (sorts, r"\(<|\(>", "# Python's max compares"),
        (reads_data_for_a_constant, "different graph.*point near the example",
         "# a constant made from data"),
        (branches_on_data, "different graph.*example negated", "# a branch on .data"),
    ],
)
def test_a_decision_on_data_is_refused_with_the_users_line(fn, what, marker):
    with pytest.raises(TraceError, match=what) as refused:
        trace(fn, [1.0, 2.0])
    assert f"test_trace_refusals.py:{line_of(marker)}" in str(refused.value)


def test_library_decisions_on_data_are_refused_too():
    with pytest.raises(TraceError, match="float"):
        trace(lambda x: x[0] * wta(x)[0], [1.0, 2.0])  # a one-hot is a decision


def test_stable_composites_decide_per_sample_and_are_not_refused():
    traced = trace(lambda x: logsumexp(x) + softmax(x)[0], [1.0, 2.0])
    batch = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [0.0, 0.0]])
    eager = [(logsumexp(row.tolist()) + softmax(row.tolist())[0]).data for row in batch]
    np.testing.assert_allclose(traced.forward(batch)[:, 0], eager, rtol=1e-15)


def test_a_power_of_zero_replays_an_exact_zero_gradient_at_zero():
    w = Value(2.0)
    traced = trace(lambda x: (w * x[0]) ** 0, [1.0], params=[w])
    loss, grads = traced.value_and_grad([[0.0], [1.0], [-3.0]], reduction="sum")
    assert (loss, grads.tolist()) == (3.0, [0.0])
    x = Value(0.0)
    assert grad((w * x) ** 0, [w]) == [0.0]
    (first,) = grad((w * x) ** 0, [w], create_graph=True)
    assert first.data == 0.0


def test_replay_refuses_a_domain_error_exactly_where_eager_raises():
    traced = trace(lambda x: (x[0] - 1.0).log() + 1.0 / x[1], [2.0, 1.0])
    assert traced.forward([[3.0, 2.0]])[0, 0] == pytest.approx(math.log(2) + 0.5)
    with pytest.raises(DomainError, match=r"log: input must be positive, got -1\.0"):
        traced.forward([[3.0, 2.0], [0.0, 1.0]])
    with pytest.raises(DomainError, match="division by zero"):
        traced.forward([[3.0, 0.0]])
    with pytest.raises(DomainError, match="division by zero"):
        Value(1.0) / Value(0.0)


def test_replay_refuses_nan_in_and_out():
    traced = trace(lambda x: x[0].exp() - x[1].exp(), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"batch holds NaN at index \[1, 0\]"):
        traced.forward([[0.0, 0.0], [math.nan, 0.0]])
    with pytest.raises(TraceError, match="NaN output for sample 1"):
        traced.forward([[0.0, 0.0], [1000.0, 1000.0]])  # inf - inf
    w = Value(1.0)
    traced = trace(lambda x: (w * x[0]).exp() - (w * x[1]).exp(), [0.0, 0.0], params=[w])
    with pytest.raises(TraceError, match="NaN"):
        traced.value_and_grad([[1000.0, 1000.0]])
    with pytest.raises(ValueError, match="param_values holds NaN"):
        traced.forward([[0.0, 0.0]], param_values=[math.nan])


def test_tracing_inside_no_grad_is_refused():
    from autograd_core import no_grad

    with no_grad(), pytest.raises(TraceError, match="no_grad"):
        trace(lambda x: x[0] * 2.0, [1.0])


def test_constants_and_parameters_may_be_compared_outside_the_function():
    w = Value(3.0)
    scale = 2.0 if w > 1 else 1.0  # before tracing: a constant of the trace
    traced = trace(lambda x: w * x[0] * scale, [1.0], params=[w])
    assert traced.forward([[1.0]])[0, 0] == 6.0


# ---------------------------------------------------------------------------
# Per trace, per thread: nothing is patched.


def test_nothing_on_value_is_patched_while_tracing():
    before = {name: Value.__dict__[name] for name in ("__lt__", "__gt__", "__float__")}

    def look(x):
        assert {name: Value.__dict__[name] for name in before} == before
        return x[0] * 2.0

    trace(look, [1.0])
    assert {name: Value.__dict__[name] for name in before} == before


def test_traces_in_threads_watch_only_their_own_thread():
    """Many threads trace at once: branching traces are refused, the others succeed,
    and a thread that compares Values outside any trace is never disturbed."""
    start = threading.Barrier(9)
    results: dict = {}

    def branching(index):
        start.wait()
        for _ in range(30):
            try:
                trace(compares, [1.0])
            except TraceError:
                results.setdefault(index, []).append("refused")
            else:
                results.setdefault(index, []).append("traced")

    def clean(index):
        start.wait()
        for _ in range(30):
            traced = trace(lambda x: (x[0] * 3.0).tanh(), [0.5])
            ok = math.isclose(traced.forward([[0.5]])[0, 0], math.tanh(1.5), rel_tol=1e-15)
            results.setdefault(index, []).append("traced" if ok else "wrong")

    def comparing(index):
        start.wait()
        for _ in range(3000):
            a, b = Value(1.0), Value(2.0)
            results.setdefault(index, []).append(a < b and float(b) == 2.0)

    threads = [threading.Thread(target=branching, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=clean, args=(i,)) for i in range(3, 6)]
    threads += [threading.Thread(target=comparing, args=(i,)) for i in range(6, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[i] == ["refused"] * 30 for i in range(3))
    assert all(results[i] == ["traced"] * 30 for i in range(3, 6))
    assert all(results[i] == [True] * 3000 for i in range(6, 9))
    from autograd_core import watch

    assert watch.active == 0  # every watcher left


def test_a_nested_trace_watches_its_own_inputs_and_the_outer_ones():
    inner_done = []

    def outer(x):
        inner = trace(lambda y: y[0] * 2.0, [1.0])
        inner_done.append(inner)
        return x[0] * 2.0

    trace(outer, [1.0])
    assert len(inner_done) == 3  # recorded at the example and the two probes

    def outer_compares_inside_inner(x):
        return trace(lambda y: y[0] * (2.0 if x[0] > 0 else 3.0), [1.0]).outputs[0]

    with pytest.raises(TraceError, match=">"):
        trace(outer_compares_inside_inner, [1.0])


def test_eager_comparisons_are_unchanged():
    a = Value(1.0)
    assert (a < 2, a <= 1, a > 0, a >= 1, float(a)) == (True, True, True, True, 1.0)
    assert engine.Value is Value
    assert apply_op("max", a, 2.0).data == 2.0


def test_a_nan_gradient_is_refused_when_every_output_is_finite():
    # w * x with w = 0 and x = inf is NaN; relu makes it 0 (a finite output), but the
    # gradient with respect to w is 0 * inf = NaN: only the gradient shows it.
    w = Value(0.0)
    traced = trace(lambda x: (w * x[0]).relu(), [1.0], params=[w])
    batch = [[1.0], [math.inf]]
    with np.errstate(invalid="ignore"):
        assert traced.forward(batch).tolist() == [[0.0], [0.0]]
        with pytest.raises(TraceError, match="gradient"):
            traced.value_and_grad(batch)
        with pytest.raises(TraceError, match="gradient"):
            traced.outputs_and_grad(batch)


def test_infinities_are_numbers_and_a_nan_beside_them_is_still_found():
    # The checks look for NaN with one reduction (the largest element): inf and -inf
    # are not NaN, and a NaN anywhere, even beside them, is.
    w = Value(2.0)
    traced = trace(lambda x: w * x[0], [1.0], params=[w])
    assert traced.forward([[math.inf], [-math.inf], [1.0]])[:, 0].tolist() == [
        math.inf, -math.inf, 2.0]
    with pytest.raises(ValueError, match=r"batch holds NaN at index \[2, 0\]"):
        traced.forward([[math.inf], [-math.inf], [math.nan]])
    with pytest.raises(ValueError, match="param_values holds NaN"):
        traced.forward([[1.0]], param_values=[math.nan])
    loss, grads = traced.value_and_grad([[math.inf], [1.0]], reduction="sum")
    assert loss == math.inf and grads.tolist() == [math.inf]
