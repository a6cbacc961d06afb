"""The gradient checkers catch a wrong rule, and report kinks as kinks."""

import dataclasses
import math
import warnings

import pytest

from autograd_core import (
    RULES,
    GradcheckError,
    Value,
    apply_op,
    check_rules,
    gradcheck,
    no_grad,
    numerical_grad,
    topological_order,
)
from autograd_core.gradcheck import NonDifferentiableWarning


def _wrong_tanh_local(x, out):
    """d tanh(x)/dx = 1 - tanh(x) (deliberately wrong: the square is missing)"""
    return (1.0 - out,)


@pytest.fixture
def broken_tanh(monkeypatch):
    """RULES["tanh"] with a wrong local derivative; monkeypatch restores it afterwards."""
    original = RULES["tanh"]
    monkeypatch.setitem(RULES, "tanh", dataclasses.replace(original, local=_wrong_tanh_local))


def model(x, w):
    h = apply_op("tanh", x * w)  # apply_op looks the rule up in RULES
    h.label = "h"
    return h * x


def test_gradcheck_passes_the_correct_rule():
    assert gradcheck(model, [0.7, -1.3])


def test_gradcheck_catches_a_wrong_rule(broken_tanh):
    with pytest.raises(GradcheckError, match=r"input 0 \(= 0\.7\)") as caught:
        gradcheck(model, [0.7, -1.3])
    error = caught.value
    assert error.index == 0
    # The analytical number is the broken one; the numerical one is the truth.
    t = math.tanh(-0.91)
    assert math.isclose(error.numerical, t + 0.7 * -1.3 * (1 - t * t), rel_tol=1e-6)
    assert math.isclose(error.analytical, t + 0.7 * -1.3 * (1 - t), rel_tol=1e-12)
    assert gradcheck(model, [0.7, -1.3], raise_exception=False) is False


def test_check_rules_names_the_op_and_label_of_the_wrong_rule(broken_tanh):
    out = model(Value(0.7), Value(-1.3))
    with pytest.raises(GradcheckError, match=r"node 'tanh' \(label 'h'\), input 0") as caught:
        check_rules(out)
    assert caught.value.node.op == "tanh" and caught.value.node.label == "h"
    report = check_rules(out, raise_exception=False)
    assert not report.ok
    assert [(f.node.op, f.parent_index) for f in report.failures] == [("tanh", 0)]
    t = math.tanh(-0.91)
    assert math.isclose(report.failures[0].recorded, 1 - t, rel_tol=1e-12)
    assert math.isclose(report.failures[0].numerical, 1 - t * t, rel_tol=1e-6)


def test_the_broken_rule_is_restored_after_the_test():
    assert RULES["tanh"].local.__name__ == "_tanh_local"
    assert check_rules(model(Value(0.7), Value(-1.3))).ok


def test_check_rules_passes_a_healthy_graph_and_counts_edges():
    x, y = Value(0.4), Value(1.7)
    out = (x * y).sigmoid() + (x / y).log() + (y ** x).softplus() + abs(x - y)
    report = check_rules(out)
    edges = sum(len(node.parents) for node in topological_order(out))
    assert report.ok and not report.kinks and report.checked == edges


@pytest.mark.parametrize(
    ("fn", "point", "kinked_inputs"),
    [
        (lambda x: x.relu(), [0.0], [0]),
        (lambda x: abs(x) * 2.0, [0.0], [0]),
        (lambda a, b: apply_op("max", a, b), [1.25, 1.25], [0, 1]),
        (lambda x, y: (x - y).relu() + x * y, [0.5, 0.5], [0, 1]),
    ],
)
def test_gradcheck_reports_kinks_as_non_differentiable_points(fn, point, kinked_inputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert gradcheck(fn, point)
    kink_warnings = [w for w in caught if issubclass(w.category, NonDifferentiableWarning)]
    assert [int(str(w.message).split()[2]) for w in kink_warnings] == kinked_inputs


def test_gradcheck_away_from_kinks_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda x, y: (x - y).relu() + abs(x) + apply_op("max", x, y),
                         [0.5, -0.25])


def test_check_rules_reports_kinks_not_failures():
    a, b = Value(0.0), Value(2.0)
    relu = a.relu()
    absolute = a.abs()
    tie = apply_op("max", b, Value(2.0))
    smooth = b.tanh()
    out = relu + absolute + tie + smooth
    report = check_rules(out)
    assert report.ok
    assert [(node.op, index) for node, index in report.kinks] == [
        ("relu", 0), ("abs", 0), ("max", 0), ("max", 1)]
    # The three add nodes (two edges each) and tanh were compared.
    assert report.checked == 3 * 2 + 1


def test_check_rules_skips_edges_whose_stencil_leaves_the_domain():
    x = Value(0.0)
    out = x.sqrt()
    report = check_rules(out)
    assert [(node.op, index) for node, index in report.skipped] == [("sqrt", 0)]
    assert report.checked == 0 and report.ok


def test_numerical_grad_by_hand():
    values = numerical_grad(lambda x, y: x * y + y.exp(), [2.0, 0.5])
    assert math.isclose(values[0], 0.5, rel_tol=1e-8)
    assert math.isclose(values[1], 2.0 + math.exp(0.5), rel_tol=1e-8)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gradcheck(lambda x: x, [1.0], eps=0.0), ValueError, "eps"),
        (lambda: gradcheck(lambda x: x, ["a"]), TypeError, "'a'"),
        (lambda: gradcheck(lambda x: x, None), TypeError, "None"),
        (lambda: gradcheck(lambda x: 3.0, [1.0]), TypeError, "3.0"),
        (lambda: numerical_grad(lambda x: x, [1.0], eps=2.0), ValueError, "eps"),
        (lambda: check_rules(3.0), TypeError, "3.0"),
        (lambda: check_rules(Value(1.0) + 1, eps=-1.0), ValueError, "eps"),
    ],
)
def test_checker_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_gradcheck_refuses_to_run_inside_no_grad():
    with no_grad():
        with pytest.raises(RuntimeError, match="no_grad"):
            gradcheck(lambda x: x * x, [1.0])
