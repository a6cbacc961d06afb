"""All or nothing: a backward pass or an optimiser step that fails changes nothing.

A backward that stops on a bad message (``detect_anomaly``), on a bad seed or while
adding the new deltas to the old ``.grad`` values leaves every node's ``grad`` as it
was; an optimiser step that would make a parameter NaN or infinite leaves every
parameter, and the optimiser's own state, as they were. Run on both node stores by
``make test``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd_core import (
    CORE,
    AnomalyError,
    DomainError,
    Value,
    detect_anomaly,
    stores,
    topological_order,
)


def _grads(root: Value) -> list:
    """Every node's grad, Values read as (their data,), in the graph's order."""
    return [(node.grad.data,) if isinstance(node.grad, Value) else node.grad
            for node in topological_order(root)]


def _graph_with_grads():
    """A small graph whose leaves and interior nodes all hold non-zero grads already."""
    a, b, x = Value(2.0, "a"), Value(-1.0, "b"), Value(0.0, "x")
    y = (a * b + x.sqrt() * a).tanh() + b * b
    y.label = "y"
    for index, node in enumerate(topological_order(y)):
        node.grad = 0.25 * (index + 1)
    return y


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_backward_stopped_by_a_non_finite_message_writes_no_grad(create_graph):
    y = _graph_with_grads()
    before = _grads(y)
    # sqrt's derivative at 0 is inf: refused as a message, or (recomputed as Values for
    # create_graph) by the rule itself; either way before any grad is written.
    with pytest.raises((AnomalyError, DomainError)), detect_anomaly():
        y.backward(create_graph=create_graph)
    assert _grads(y) == before


@pytest.mark.parametrize("seed", [math.nan, "1", 1j, None])
def test_a_backward_with_a_bad_seed_writes_no_grad(seed):
    y = _graph_with_grads()
    before = _grads(y)
    with pytest.raises((TypeError, ValueError)):
        y.backward(seed)
    assert _grads(y) == before


def test_a_backward_that_fails_while_adding_to_old_grads_writes_no_grad():
    # The messages are all finite; adding the leaf's new delta to its old Value grad
    # overflows, which detect_anomaly refuses. The root and the interior nodes, reached
    # first, must not have been given their new deltas either.
    a, b = Value(1.0, "a"), Value(1.0, "b")
    a.grad, b.grad = Value(1.0), Value(1e308)
    y = a * 1.5 + b * 1.5
    before = _grads(y)
    with pytest.raises(AnomalyError, match="produced inf"), detect_anomaly():
        y.backward(1e308, create_graph=True)
    assert _grads(y) == before
    y.backward(1.0, create_graph=True)  # the same graph still works afterwards
    assert (a.grad.data, b.grad.data) == (2.5, 1e308 + 1.5)


@pytest.mark.parametrize("anomaly", [False, True], ids=["plain", "detect_anomaly"])
def test_a_nan_message_to_a_value_grad_writes_no_grad(anomaly):
    # A leaf whose grad is a Value cannot take a NaN message (refused as an operand).
    # The pass sees that leaf before it writes anything and saves every grad first.
    y = _graph_with_grads()
    x = next(node for node in topological_order(y) if node.label == "x")
    x.grad = Value(0.5)
    z = y + x.sqrt() * 0.0  # sqrt's derivative at 0 is inf: inf * 0 sends NaN to x
    before = _grads(z)
    with pytest.raises(ValueError, match="NaN"), (
            detect_anomaly() if anomaly else contextlib.nullcontext()):
        z.backward()
    assert _grads(z) == before


def test_a_backward_that_reaches_a_value_grad_gives_the_same_numbers_as_before():
    # The careful path computes exactly what the plain pass does.
    def build():
        a, b = Value(0.75, label="a"), Value(-1.25, label="b")
        out = (a * b).tanh() * a + b.exp() * (a + b)
        out.backward()
        return a, b, out
    a, b, out = build()
    a2, b2, out2 = build()
    b2.grad = Value(b2.grad)  # as left by backward(create_graph=True)
    out.backward(0.5)
    out2.backward(0.5)
    assert a2.grad == a.grad and isinstance(b2.grad, Value) and b2.grad.data == b.grad


# A fresh process: backward() on the Python store looks for a leaf whose grad is a
# Value only once some grad has been set to one, so the first such grad must count.
_FIRST_VALUE_GRAD = textwrap.dedent("""
    import json
    from autograd_core import Value, topological_order

    def build():
        a, b, x = Value(2.0, "a"), Value(-1.0, "b"), Value(0.0, "x")
        y = (a * b + x.sqrt() * a).tanh() + b * b
        return y + x.sqrt() * 0.0, x

    z, x = build()
    z.backward(); z.backward()  # before any grad is a Value: the plain pass
    plain = [node.grad for node in topological_order(z)]
    z2, x2 = build()
    x2.grad = Value(0.5)  # the process's first Value grad; x2 gets a NaN message
    before = [repr(node.grad) for node in topological_order(z2)]  # -0.0 != 0.0
    try:
        z2.backward()
        refused = False
    except ValueError:
        refused = True
    after = [repr(node.grad) for node in topological_order(z2)]
    z3, _ = build()
    z3.backward(); z3.backward()  # the plain pass again, after the search looks
    print(json.dumps({"refused": refused, "unchanged": before == after,
                      "plain": [repr(g) for g in plain],
                      "again": [repr(node.grad) for node in topological_order(z3)]}))
""")


def test_the_first_value_grad_of_a_process_makes_backward_careful():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _FIRST_VALUE_GRAD], cwd=root,
                          env=dict(os.environ), capture_output=True, text=True,
                          timeout=120, check=True)
    report = json.loads(done.stdout)
    assert report["refused"] and report["unchanged"]
    assert report["plain"] == report["again"]
    assert report["plain"][-1] == "1.0" and "nan" in report["plain"]  # the root; x


def _graph_with_a_value_grad(value_leaf: bool = True):
    a, b = Value(0.5, "a"), Value(-1.5, "b")
    y = a * b
    for _ in range(6):
        y = (y * a).tanh() + y * b
    for index, node in enumerate(topological_order(y)):
        node.grad = 0.25 * (index + 1)
    if value_leaf:
        b.grad = Value(2.0)  # one leaf adds the Value way
    return y


def _backward_traced(root, stop_at=None, *, error: type = KeyboardInterrupt,
                     function: str | None = None, anomaly: bool = True) -> int:
    """backward() with a trace hook on the engine's lines (or only on ``function``'s);
    the hook raises ``error`` (Ctrl-C by default) at line ``stop_at``. Returns the
    lines counted."""
    lines = 0

    def hook(frame, event, arg):
        nonlocal lines
        code = frame.f_code
        watched = (code.co_name == function if function is not None
                   else "autograd_core" in code.co_filename)
        if watched and event == "line":
            lines += 1
            if lines == stop_at:
                raise error
        return hook

    with detect_anomaly() if anomaly else contextlib.nullcontext():
        sys.settrace(hook)
        try:
            root.backward()
        finally:
            sys.settrace(None)
    return lines


@pytest.mark.parametrize("when", [0.01, 0.3, 0.6, 0.8, 0.9, 0.99])
def test_a_backward_stopped_by_ctrl_c_under_detect_anomaly_writes_no_grad(when):
    # Ctrl-C arrives between two lines of the engine's Python code (a trace hook raises
    # it there), from saving the grads to the last message: every grad is put back.
    lines = _backward_traced(_graph_with_a_value_grad())
    y = _graph_with_a_value_grad()
    before = _grads(y)
    with pytest.raises(KeyboardInterrupt):
        _backward_traced(y, stop_at=max(1, round(when * lines)))
    assert _grads(y) == before


def test_the_same_backward_succeeds_afterwards_with_the_same_numbers():
    y, fresh = _graph_with_grads(), _graph_with_grads()
    with pytest.raises(AnomalyError), detect_anomaly():
        y.backward()
    # x = 0 under sqrt: the float path gives inf to x without anomaly mode, the same
    # on both graphs.
    y.backward()
    fresh.backward()
    assert _grads(y) == _grads(fresh)


# -- optimisers ------------------------------------------------------------------------------

def _model_with_grads(huge: float):
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    for index, param in enumerate(model.parameters()):
        param.grad = 0.5 - 0.1 * index
    model.parameters()[-1].grad = huge  # only the last parameter overflows
    return model


def _state(optimizer):
    # Buffers and moments are arrays (one array update serves both fit engines).
    return {key: (np.array(value).tolist() if isinstance(value, (list, np.ndarray)) else value)
            for key, value in vars(optimizer).items() if key != "params"}


OPTIMISERS = {
    "sgd": lambda m: nn.SGD(m, lr=1e300),
    "sgd-momentum": lambda m: nn.SGD(m, lr=1e300, momentum=0.9),
    "sgd-nesterov-decay": lambda m: nn.SGD(m, lr=1e300, momentum=0.9, nesterov=True,
                                           weight_decay=0.1),
    "adam": lambda m: nn.Adam(m, lr=1e300, eps=1e-300),
    "adamw": lambda m: nn.Adam(m, lr=1e300, eps=1e-300, weight_decay=0.5),
}


@pytest.mark.parametrize("make", OPTIMISERS.values(), ids=list(OPTIMISERS))
def test_an_optimiser_step_that_would_overflow_changes_no_parameter(make):
    model = _model_with_grads(huge=1e300)
    optimizer = make(model)
    optimizer.lr = 0.01
    optimizer.step()  # one good step first, so the moments and buffers hold something
    for index, param in enumerate(model.parameters()):
        param.grad = 0.5 - 0.1 * index
    model.parameters()[-1].grad = 1e300
    optimizer.lr = 1e300
    params = [p.data for p in model.parameters()]
    state = _state(optimizer)
    with pytest.raises(ValueError, match="no parameter was changed"):
        optimizer.step()
    assert [p.data for p in model.parameters()] == params
    assert _state(optimizer) == state
    # The optimiser carries on from where it was: the same step as an untouched twin.
    twin_model = _model_with_grads(huge=1e300)
    twin = make(twin_model)
    twin.lr = 0.01
    twin.step()
    for m in (model, twin_model):
        for index, param in enumerate(m.parameters()):
            param.grad = 0.5 - 0.1 * index
    optimizer.lr = twin.lr = 0.01
    optimizer.step()
    twin.step()
    assert [p.data for p in model.parameters()] == [p.data for p in twin_model.parameters()]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_an_optimiser_step_with_a_non_finite_gradient_changes_no_parameter(bad):
    model = _model_with_grads(huge=bad)
    optimizer = nn.Adam(model, lr=0.1)
    params = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match="non-finite gradient"):
        optimizer.step()
    assert [p.data for p in model.parameters()] == params
    assert optimizer.steps == 0 and optimizer.first_moments.tolist() == [0.0] * len(params)


@pytest.mark.skipif(CORE != "compiled", reason="the compiled store's pass (the Python "
                    "store's is stopped where it is, as the README says)")
def test_ctrl_c_never_lands_inside_the_compiled_stores_pass():
    # SIGALRM raising KeyboardInterrupt every 50 microseconds while a long chain's
    # backward runs: it is seen before or after the compiled pass, never inside it,
    # so the leaves hold either their old grads or the complete new ones.
    armed = []
    interrupted = []

    def interrupt(signum, frame):
        if armed:
            interrupted.append(1)
            raise KeyboardInterrupt

    def chain():
        x, w = Value(0.5), Value(0.999)
        y = x
        for _ in range(30_000):
            y = y * w
        x.grad, w.grad = 1.0, 2.0
        return x, w, y

    reference_x, reference_w, reference = chain()
    reference.backward()
    new = (reference_x.grad, reference_w.grad)
    outcomes = []
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for _ in range(20):
            x, w, y = chain()
            try:
                armed.append(1)
                signal.setitimer(signal.ITIMER_REAL, 5e-5, 5e-5)
                y.backward()
            except KeyboardInterrupt:
                pass
            finally:
                armed.clear()
                signal.setitimer(signal.ITIMER_REAL, 0)
            outcomes.append((x.grad, w.grad))
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert interrupted, "no interrupt arrived"
    assert set(outcomes) <= {(1.0, 2.0), new}
    assert new in outcomes and new != (1.0, 2.0)


@pytest.mark.skipif(CORE != "python", reason="the Python store's search (the compiled "
                    "store's runs in C, where no Python line can raise)")
@pytest.mark.parametrize("when", [0.01, 0.3, 0.6, 0.99])
def test_a_backward_whose_search_fails_puts_back_the_grads_it_marked(when, monkeypatch):
    # Once some grad has been set to a Value, the search keeps each grad it overwrites
    # with its visited mark; a failure during it (memory running out, raised here by a
    # trace hook between two of its lines) must put every one back, as reaching a leaf
    # whose grad is a Value does.
    monkeypatch.setattr(stores, "_value_grads", True)
    search = {"error": MemoryError, "function": "_depth_first", "anomaly": False}
    lines = _backward_traced(_graph_with_a_value_grad(False), **search)
    y = _graph_with_a_value_grad(False)
    before = _grads(y)
    with pytest.raises(MemoryError):
        _backward_traced(y, stop_at=max(1, round(when * lines)), **search)
    assert _grads(y) == before
    y.backward()  # the same graph still works afterwards, with the same numbers
    expected = _graph_with_a_value_grad(False)
    expected.backward()
    assert _grads(y) == _grads(expected)
