"""The rule table is the one authority: a new rule works everywhere, a replaced rule
is used everywhere (or refused before anything changes).

``atan`` is registered in one place (``atan_rule.py``) and then found working on both
node stores, in ``grad``, ``hessian``, ``backward_steps``, ``check_rules``, the shipped
strategies' property test, trace replay, the formula command line and its ``--help``,
nn's activations and the pictures' tooltips.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

import nn
from autograd_core import (
    CORE,
    RULES,
    Value,
    apply_op,
    backward_steps,
    check_rules,
    grad,
    gradcheck,
    hessian,
    register,
    replace_rule,
)
from autograd_core import rules as rules_module
from autograd_core.strategies import expressions, expressions_and_points
from autograd_core.trace import trace
from viz.cli import main as viz_main

from .atan_rule import atan_rule

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def atan():
    """atan for this module's tests; the shipped table is put back afterwards, so the
    other tests (which list cases per shipped rule) see the table they expect."""
    shipped = dict(RULES)
    yield atan_rule()
    rules_module._install(shipped)
    assert not hasattr(Value, "atan")


def d_atan(x):
    return 1.0 / (1.0 + x * x)


# -- a new primitive --------------------------------------------------------------


def test_atan_is_a_method_with_its_rule_on_this_store():
    x = Value(0.5, "x")
    y = x.atan()
    assert (y.op, y.parents, y.data) == ("atan", (x,), math.atan(0.5))
    y.backward()
    assert x.grad == pytest.approx(1.0 / 1.25, rel=1e-15)
    assert "atan" in Value.atan.__doc__ and "1 / (1 + x^2)" in Value.atan.__doc__


def test_atan_gives_bit_for_bit_the_same_numbers_on_both_stores():
    outputs = {}
    for pure in ("", "1"):
        env = {**os.environ, "AUTOGRAD_CORE_PURE": pure, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-m", "tests.autograd_core.atan_rule"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        outputs[pure] = run.stdout
    assert outputs[""] == outputs["1"]
    # And both are the numbers of the maths: d/dx [atan(xw) atan(x) + atan(x + 2)].
    numbers = [float.fromhex(h) for h in ast.literal_eval(outputs["1"])]
    x, w = 0.7, -1.3
    assert numbers[0] == pytest.approx(math.atan(x * w) * math.atan(x) + math.atan(x + 2))
    expected_dx = (w * d_atan(x * w) * math.atan(x) + math.atan(x * w) * d_atan(x)
                   + d_atan(x + 2))
    assert numbers[1] == pytest.approx(expected_dx, rel=1e-12)
    assert numbers[2] == pytest.approx(x * d_atan(x * w) * math.atan(x), rel=1e-12)


def test_grad_hessian_and_the_message_log_use_atan():
    x = Value(0.8)
    y = x.atan() * 3.0
    (first,) = grad(y, [x])
    assert first == pytest.approx(3.0 * d_atan(0.8), rel=1e-15)
    # d^2/dx^2 atan(x) = -2x / (1 + x^2)^2: the local rule differentiated as Values.
    assert hessian(y, [x])[0][0] == pytest.approx(3.0 * -1.6 / (1.64 ** 2), rel=1e-12)
    messages = list(backward_steps(y))
    into_x = [m for m in messages if m.receiver is x]
    assert [m.sender.op for m in into_x] == ["atan"]
    assert into_x[0].local_grad == pytest.approx(d_atan(0.8), rel=1e-15)
    assert into_x[0].receiver_delta == first


def test_check_rules_differences_atan():
    x = Value(-2.5)
    report = check_rules((x * x).atan() + x.atan())
    assert report.ok and report.checked == 6 and not report.failures  # mul 2, atan 1+1, add 2


def test_the_strategies_draw_atan_by_default():
    seen = []

    @settings(max_examples=200, database=None)
    @given(expressions(num_inputs=1, max_depth=2, max_ops=3))
    def collect(expression):
        seen.extend(step.op for step in expression.steps)

    collect()
    assert "atan" in seen


def test_shipped_property_backward_matches_finite_differences_with_atan():
    drawn = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(expressions_and_points(num_inputs=2, max_depth=3,
                                  ops=["atan", "mul", "add", "log"]))
    def backward_matches_finite_differences(case):
        expression, point = case
        drawn.extend(step.op for step in expression.steps)
        assert gradcheck(expression, point)

    backward_matches_finite_differences()
    assert "atan" in drawn


def test_trace_replays_atan_like_the_eager_engine():
    w, b = Value(0.7), Value(-0.2)
    batch = np.array([[0.5, 1.0], [-1.5, 2.0], [3.0, -0.25]])
    for fuse in (True, False):
        traced = trace(lambda v: (w * v[0] + b).atan() * v[1], batch[0], params=[w, b],
                       fuse=fuse)
        out = traced.forward(batch).ravel()
        assert np.allclose(out, np.arctan(0.7 * batch[:, 0] - 0.2) * batch[:, 1], rtol=1e-14)
        loss, grads = traced.value_and_grad(batch, reduction="sum")
        u = 0.7 * batch[:, 0] - 0.2
        assert np.allclose(grads, [np.sum(batch[:, 1] * batch[:, 0] / (1 + u * u)),
                                   np.sum(batch[:, 1] / (1 + u * u))], rtol=1e-12)


def test_the_formula_command_line_draws_atan_with_its_rule_as_tooltip(tmp_path, capsys):
    out = tmp_path / "atan.svg"
    assert viz_main(["graph", "atan(x)", "--at", "x=0.5", "--backward", "--out", str(out)]) == 0
    titles = [element.get("{http://www.w3.org/1999/xlink}title")
              for element in ET.parse(out).iter()]
    assert RULES["atan"].text == "d atan(x)/dx = 1 / (1 + x^2)"
    assert RULES["atan"].text in titles
    capsys.readouterr()
    assert viz_main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert "atan(x)" in help_text and RULES["atan"].text in help_text


def test_nn_accepts_atan_as_an_activation():
    layer = nn.Layer(1, 1, "atan", seed=0)
    (neuron,) = layer.neurons
    out = layer([0.5])[0]
    assert out.op == "atan"
    weighted = neuron.w[0].data * 0.5 + neuron.b.data
    assert out.data == pytest.approx(math.atan(weighted), rel=1e-15)


# -- replacing a rule -------------------------------------------------------------


def _planted_mul_local(x, y, out):
    """d(x * y)/dx = 2y (planted bug), d(x * y)/dy = x"""
    return (2.0 * y, x)


def _planted_tanh_local(x, out):
    """d tanh(x)/dx = 3 - tanh(x)^2 (planted bug)"""
    return (3.0 - out * out,)


def test_a_replaced_rule_is_used_by_every_path_and_put_back_by_the_same_call():
    original_mul, original_tanh = RULES["mul"], RULES["tanh"]
    before = (Value.__mul__, Value.__rmul__, Value.tanh)
    old_mul = replace_rule("mul", local=_planted_mul_local)
    old_tanh = replace_rule("tanh", local=_planted_tanh_local)
    try:
        assert (old_mul, old_tanh) == (original_mul, original_tanh)
        assert RULES["mul"].text.endswith("(planted bug), d(x * y)/dy = x")
        x, w = Value(1.5), Value(-2.0)
        # The operator, its reflected form and the method, on this process's store.
        assert (x * w).local_grads == (-4.0, 1.5)
        assert (3.0 * x).local_grads == (3.0, 3.0)  # 2 * 1.5 for the lifted 3.0, then 3.0
        t = x.tanh()
        assert t.local_grads == (3.0 - math.tanh(1.5) ** 2,)
        # backward, grad and create_graph (which recomputes the rule as Values).
        y = x * w
        y.backward()
        assert (x.grad, w.grad) == (-4.0, 1.5)
        (dx,) = grad(x * w, [x], create_graph=True)
        assert dx.data == -4.0
        (ddx,) = grad(x.tanh(), [x], create_graph=True)
        assert ddx.data == pytest.approx(3.0 - math.tanh(1.5) ** 2)
        # The trace replays the replaced rules (and the fusion, which assumes the real
        # product rule, turns itself off).
        batch = np.array([[0.5], [2.0]])
        traced = trace(lambda v: (w * v[0]).tanh(), batch[0], params=[w])
        assert not any(type(g).__name__ == "DotGroup" for g in traced._groups)
        _, (g,) = traced.value_and_grad(batch, reduction="sum")
        u = -2.0 * batch[:, 0]
        assert g == pytest.approx(np.sum((3.0 - np.tanh(u) ** 2) * 2.0 * batch[:, 0]))
        # And check_rules finds the planted bug.
        report = check_rules(x * w, raise_exception=False)
        assert [f.parent_index for f in report.failures] == [0]
    finally:
        replace_rule(old_mul)
        replace_rule(old_tanh)
    assert RULES["mul"] is original_mul and RULES["tanh"] is original_tanh
    x, w = Value(1.5), Value(-2.0)
    assert (x * w).local_grads == (-2.0, 1.5)
    assert (3.0 * x).local_grads == (1.5, 3.0)
    assert type(Value.__mul__) is type(before[0])


def _undocumented_local(x, out):
    return (1.0,)


def _wrong_arity_local(x, y, out):
    """d f(x, y)/dx = 1, d f(x, y)/dy = 1"""
    return (1.0, 1.0)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: replace_rule("tanh", local=_undocumented_local), ValueError),
        (lambda: replace_rule("tanh", arity=2, local=_wrong_arity_local), ValueError),
        (lambda: replace_rule("tanh", method="backward"), ValueError),
        (lambda: replace_rule("tanh", method="exp"), ValueError),
        (lambda: replace_rule("tanh", operator="mul"), ValueError),
        (lambda: replace_rule("tanh", name="tanh2"), TypeError),
        (lambda: replace_rule("tanh", colour="red"), TypeError),
        (lambda: replace_rule("no_such_rule", local=_planted_tanh_local), ValueError),
        (lambda: replace_rule(42), TypeError),
        (lambda: register("tanh", 1, math.tanh, np.tanh, _planted_tanh_local), ValueError),
        (lambda: register("grad", 1, math.tanh, np.tanh, _planted_tanh_local), ValueError),
        (lambda: register("bad name", 1, math.tanh, np.tanh, _planted_tanh_local), ValueError),
        (lambda: register("twice", 1, math.tanh, np.tanh, _planted_tanh_local,
                          operator="neg"), ValueError),
        # a keyword is an identifier, but x.lambda or x.None cannot be written
        (lambda: register("lambda", 1, math.tanh, np.tanh, _planted_tanh_local), ValueError),
        (lambda: register("None", 1, math.tanh, np.tanh, _planted_tanh_local), ValueError),
        (lambda: register("cube3", 1, math.tanh, np.tanh, _planted_tanh_local,
                          method="class"), ValueError),
        (lambda: replace_rule("tanh", method="if"), ValueError),
    ],
)
def test_a_rule_that_does_not_fit_is_refused_before_anything_changes(call, error):
    table = dict(RULES)
    attributes = {name: Value.__dict__.get(name) for name in
                  ("tanh", "exp", "__mul__", "__rmul__", "__neg__", "grad", "backward")}
    with pytest.raises(error):
        call()
    assert RULES == table and list(RULES) == list(table)
    assert all(RULES[name] is rule for name, rule in table.items())
    assert attributes == {name: Value.__dict__.get(name) for name in attributes}
    x = Value(0.5)
    assert x.tanh().local_grads == (1.0 - math.tanh(0.5) ** 2,)
    assert (-x).op == "neg"


def test_this_run_uses_a_node_store_the_table_bound():
    kind = "RuleOp" if CORE == "compiled" else "function"
    assert type(Value.__dict__["tanh"]).__name__ == kind
    assert type(Value.__dict__["__add__"]).__name__ == kind


def _tanh_local_again(x, out):
    """d tanh(x)/dx = 1 - tanh(x)^2"""
    return (1.0 - out * out,)


def _in_threads(target, count, meanwhile=lambda: None, stop=None):
    """Run ``count`` threads of ``target`` at a tiny switch interval while ``meanwhile``
    runs here; then set ``stop`` (an Event) and join them all."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    workers = [threading.Thread(target=target) for _ in range(count)]
    try:
        for worker in workers:
            worker.start()
        meanwhile()
    finally:
        if stop is not None:
            stop.set()
        for worker in workers:
            worker.join()
        sys.setswitchinterval(interval)


def test_other_threads_never_see_the_table_without_a_rule_while_one_is_replaced():
    errors: list[str] = []
    done = threading.Event()

    def compute() -> None:
        x = Value(0.5)
        while not done.is_set() and len(errors) < 3:
            try:
                apply_op("tanh", x)
                x.tanh()
                # every rebinding makes new operators and drops the old ones
                if (x + 1.0).data != 1.5 or (2.0 * x).data != 1.0:
                    errors.append("an operator gave a wrong value")
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(error))

    def replace() -> None:
        for _ in range(2000):
            replace_rule(replace_rule("tanh", local=_tanh_local_again))

    _in_threads(compute, 2, meanwhile=replace, stop=done)
    assert errors == []


def test_threads_that_replace_rules_at_once_all_succeed():
    """Each binding assigns Value's operators and then points the number slots at them;
    another thread's binding in between must not make either replace_rule fail."""
    errors: list[str] = []

    def rebind() -> None:
        for _ in range(150):
            try:
                replace_rule(RULES["add"])
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(error))

    _in_threads(rebind, 3)
    assert errors == []
    x = Value(0.5)
    assert ((x + 2.0).data, (2.0 + x).data, (x + x).local_grads) == (2.5, 2.5, (1.0, 1.0))


def _tanh_local_wrong(x, out):
    """d tanh(x)/dx = 1 (wrong on purpose)"""
    return (1.0,)


def test_a_graph_recorded_before_a_replacement_is_not_differentiated_again_with_the_new_rule():
    x = Value(0.5)
    y = x.tanh()
    original = replace_rule("tanh", local=_tanh_local_wrong)
    try:
        (first,) = grad(y, [x])  # the recorded derivative, as the docs promise
        assert first == pytest.approx(1.0 - math.tanh(0.5) ** 2, abs=1e-15)
        with pytest.raises(ValueError, match="recorded with a rule that has been replaced"):
            grad(y, [x], create_graph=True)  # the new rule's 1.0 would be a silent mix
        z = x.tanh()  # recorded with the replacement: both orders agree with it
        assert [d.data for d in grad(z, [x], create_graph=True)] == [1.0]
    finally:
        replace_rule(original)
    assert [d.data for d in grad(y, [x], create_graph=True)] == [first]
