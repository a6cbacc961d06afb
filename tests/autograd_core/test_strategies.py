"""The shipped Hypothesis strategies, and the engine checked against them.

The property tests compare the engine with finite differences of the expression's
own float evaluation (plain ``math``, independent of the rule table).
"""

import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_core import Value, grad, gradcheck, topological_order
from autograd_core.gradcheck import NonDifferentiableWarning
from autograd_core.strategies import (
    OPS,
    Expression,
    Step,
    expressions,
    expressions_and_points,
)

EPS = 1e-6


def central_difference(f, point, index, eps=EPS):
    plus, minus = list(point), list(point)
    plus[index] += eps
    minus[index] -= eps
    return (f(plus) - f(minus)) / (2 * eps)


def close(actual, expected, *, atol=1e-5, rtol=1e-4):
    return abs(actual - expected) <= atol + rtol * abs(expected)


# -- property tests of the engine -------------------------------------------------


@settings(max_examples=500)
@given(expressions_and_points(num_inputs=3, max_depth=4))
def test_backward_matches_finite_differences(case):
    expression, point = case
    inputs = [Value(x) for x in point]
    out = expression(*inputs)
    assert math.isclose(out.data, expression.evaluate(point), rel_tol=1e-9, abs_tol=1e-12)
    out.backward()
    for index, x in enumerate(inputs):
        numerical = central_difference(expression.evaluate, point, index)
        assert close(x.grad, numerical), (index, x.grad, numerical)


@settings(max_examples=200)
@given(expressions_and_points(num_inputs=2, max_depth=3))
def test_grad_of_grad_matches_finite_differences_of_grad(case):
    expression, point = case
    inputs = [Value(x) for x in point]
    first = grad(expression(*inputs), inputs, create_graph=True)

    def first_derivative(j):
        def at(p):
            xs = [Value(x) for x in p]
            return grad(expression(*xs), xs)[j]
        return at

    for j, derivative in enumerate(first):
        second = grad(derivative, inputs)
        for i in range(len(inputs)):
            numerical = central_difference(first_derivative(j), point, i, eps=1e-5)
            assert close(second[i], numerical, atol=1e-4, rtol=1e-3), (j, i, second[i], numerical)


@settings(max_examples=100)
@given(expressions_and_points(num_inputs=2, max_depth=3))
def test_expressions_plug_into_gradcheck_without_kink_warnings(case):
    expression, point = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonDifferentiableWarning)
        assert gradcheck(expression, point, atol=1e-5, rtol=1e-4)


# -- the strategies themselves ---------------------------------------------------------

PYTHON_NAMES = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
    "sin": math.sin, "cos": math.cos, "abs": abs, "max": max,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "softplus": lambda x: math.log1p(math.exp(x)),
    "relu": lambda x: max(x, 0.0),
    "leaky_relu": lambda x, slope: x if x > 0 else slope * x,
    "sum": lambda *xs: sum(xs),
    "log_sigmoid": lambda x: -math.log1p(math.exp(-x)),
    "logsumexp": lambda *xs: math.log(sum(math.exp(x) for x in xs)),
    "bce_logits": lambda z, t: t * math.log1p(math.exp(-z)) + (1 - t) * math.log1p(math.exp(z)),
}


@settings(max_examples=200)
@given(expressions_and_points(num_inputs=2, max_depth=4))
def test_formula_is_python_that_computes_the_same_number(case):
    expression, point = case
    namespace = dict(PYTHON_NAMES, x0=point[0], x1=point[1])
    value = eval(repr(expression), {"__builtins__": {}}, namespace)  # noqa: S307
    assert math.isclose(value, expression.evaluate(point), rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=200)
@given(expressions(num_inputs=2, max_depth=3, max_ops=6), st.data())
def test_drawn_expressions_respect_their_bounds(expression, data):
    assert 1 <= expression.depth <= 3
    assert 1 <= len(expression.steps) <= 6
    assert all(step.op in OPS for step in expression.steps)
    # Unused steps are dropped: every step feeds the output.
    used = {expression.num_inputs + len(expression.steps) - 1}
    for index in range(len(expression.steps) - 1, -1, -1):
        if expression.num_inputs + index in used:
            used.update(expression.steps[index].operands)
    assert all(expression.num_inputs + k in used for k in range(len(expression.steps)))
    # Domain-safe anywhere: wherever nothing overflows, the engine evaluates it
    # (no DomainError from log, sqrt, / or a Value exponent) to the reference value.
    point = data.draw(st.tuples(st.floats(-50, 50), st.floats(-50, 50)))
    reference = expression.intermediates(point)
    if all(math.isfinite(v) for v in reference):
        out = expression(*[Value(x) for x in point])
        assert math.isclose(out.data, reference[-1], rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=100)
@given(expressions_and_points(num_inputs=2, ops=["relu", "abs", "max", "leaky_relu", "sub"],
                              margin=0.25))
def test_points_keep_kink_inputs_beyond_the_margin(case):
    expression, point = case
    slots = expression.intermediates(point)
    for step in expression.steps:
        if step.op == "max":
            assert abs(slots[step.operands[0]] - slots[step.operands[1]]) >= 0.25
        elif step.op in ("relu", "abs", "leaky_relu"):
            assert abs(slots[step.operands[0]]) >= 0.25


@settings(max_examples=50)
@given(expressions(num_inputs=1, ops=["tanh"], max_depth=3))
def test_ops_restrict_what_is_drawn(expression):
    assert {step.op for step in expression.steps} == {"tanh"}
    assert repr(expression).startswith("tanh(")


def test_fan_out_is_drawn():
    def has_fan_out(expression):
        out = expression(Value(0.3), Value(0.7))
        uses: dict = {}
        for node in topological_order(out):
            for parent in node.parents:
                uses[parent] = uses.get(parent, 0) + 1
        return any(count > 1 and node.op for node, count in uses.items())

    found = []

    @settings(max_examples=100, database=None)
    @given(expressions(num_inputs=2, max_depth=4))
    def collect(expression):
        found.append(has_fan_out(expression))

    collect()
    assert sum(found) >= 5


def test_formula_of_a_hand_built_expression():
    steps = [Step("mul", (0, 1)), Step("tanh", (2,)), Step("log", (0,), 0.5), Step("add", (3, 4))]
    expression = Expression(2, steps)
    assert repr(expression) == "tanh(x0 * x1) + log(x0 ** 2 + 0.5)"
    assert expression.depth == 3
    expected = math.tanh(0.3 * -1.2) + math.log(0.09 + 0.5)
    assert math.isclose(expression.evaluate([0.3, -1.2]), expected, rel_tol=1e-15)
    out = expression(Value(0.3), Value(-1.2))
    assert math.isclose(out.data, expected, rel_tol=1e-15)


@pytest.mark.parametrize(
    ("steps", "text"),
    [
        ([Step("neg", (0,)), Step("neg", (1,))], "-(-x0)"),
        ([Step("neg", (0,)), Step("pow", (1,), 2.0)], "(-x0) ** 2"),
        ([Step("pow", (0,), 2.0), Step("neg", (1,))], "-x0 ** 2"),
        ([Step("add", (0, 0)), Step("sub", (0, 1))], "x0 - (x0 + x0)"),
        ([Step("sub", (0, 0)), Step("sub", (1, 0))], "x0 - x0 - x0"),
        ([Step("add", (0, 0)), Step("div", (1, 1), 2.0)], "(x0 + x0) / ((x0 + x0) ** 2 + 2)"),
        ([Step("powv", (0, 0), 1.0)], "(x0 ** 2 + 1) ** x0"),
        ([Step("sum", (0, 0, 0)), Step("max", (1, 0))], "max(sum(x0, x0, x0), x0)"),
    ],
)
def test_formulas_bracket_by_precedence(steps, text):
    assert repr(Expression(1, steps)) == text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"num_inputs": 0}, ValueError),
        ({"num_inputs": 1.5}, TypeError),
        ({"num_inputs": True}, TypeError),
        ({"max_depth": 0}, ValueError),
        ({"max_ops": "3"}, TypeError),
        ({"ops": []}, ValueError),
        ({"ops": "tanh"}, TypeError),
        ({"ops": ["tanh", "erf"]}, ValueError),
    ],
)
def test_expression_arguments_are_validated_up_front(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        expressions(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"min_value": 1.0, "max_value": 1.0}, ValueError),
        ({"margin": 0.0}, ValueError),
        ({"max_magnitude": float("inf")}, ValueError),
        ({"min_value": "0"}, TypeError),
    ],
)
def test_point_arguments_are_validated_up_front(kwargs, error):
    with pytest.raises(error):
        expressions_and_points(**kwargs)


@pytest.mark.parametrize(
    ("num_inputs", "steps", "error"),
    [
        (1, [], ValueError),
        (1, [Step("erf", (0,))], ValueError),
        (1, [Step("add", (0,))], ValueError),
        (1, [Step("add", (0, 1))], ValueError),
        (1, [Step("log", (0,))], ValueError),
        (1, ["tanh"], TypeError),
    ],
)
def test_bad_expressions_are_refused(num_inputs, steps, error):
    with pytest.raises(error):
        Expression(num_inputs, steps)


def test_is_safe_at_detects_kinks_and_overflow():
    relu = Expression(1, [Step("relu", (0,))])
    assert not relu.is_safe_at([0.0])
    assert not relu.is_safe_at([-5e-4])
    assert relu.is_safe_at([2e-3])
    exp = Expression(1, [Step("exp", (0,)), Step("exp", (1,))])
    assert exp.is_safe_at([1.0])
    assert not exp.is_safe_at([3.0])  # e^(e^3) > 1e3
    assert exp.evaluate([800.0]) == math.inf


def test_hypothesis_is_imported_only_with_the_strategies():
    code = ("import sys, autograd_core; "
            "print('hypothesis' in sys.modules); "
            "import autograd_core.strategies; print('hypothesis' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=root)
    assert result.stdout.split() == ["False", "True"]
