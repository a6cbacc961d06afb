"""Every rule of the table, on floats, numpy arrays and Values.

The test is parametrised over ``RULES`` itself, so a rule added without a case here
fails. Each case gives points (inside the op's domain, away from kinks), the op's
constant attributes and the forward value at each point worked out by hand.
"""

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest

from autograd_core import RULES, Value, apply_op, grad


@dataclass(frozen=True)
class Case:
    points: tuple  # each point is a tuple of inputs
    expected: tuple  # the forward value at each point, by hand
    attrs: tuple = ()


E = math.e
CASES = {
    "add": Case(((1.5, -0.5), (0.25, 2.0)), (1.0, 2.25)),
    "sub": Case(((1.5, -0.5), (0.25, 2.0)), (2.0, -1.75)),
    "mul": Case(((1.5, -0.5), (0.25, 2.0)), (-0.75, 0.5)),
    "div": Case(((1.5, -0.5), (2.0, 4.0)), (-3.0, 0.5)),
    "max": Case(((1.5, -0.5), (-2.0, 3.0)), (1.5, 3.0)),
    "powv": Case(((2.0, 3.0), (4.0, -0.5)), (8.0, 0.5)),
    "neg": Case(((1.5,), (-0.25,)), (-1.5, 0.25)),
    "pow": Case(((1.5,), (-2.0,)), (3.375, -8.0), attrs=(3.0,)),
    "exp": Case(((1.0,), (-2.0,)), (E, 1 / E**2)),
    "log": Case(((E,), (0.25,)), (1.0, -2 * math.log(2))),
    "sqrt": Case(((2.25,), (0.04,)), (1.5, 0.2)),
    "tanh": Case(((0.5,), (-1.0,)), ((E - 1) / (E + 1), -(E**2 - 1) / (E**2 + 1))),
    "sigmoid": Case(((0.0,), (2.0,)), (0.5, E**2 / (E**2 + 1))),
    "relu": Case(((1.5,), (-0.5,)), (1.5, 0.0)),
    "leaky_relu": Case(((1.5,), (-2.0,)), (1.5, -0.2), attrs=(0.1,)),
    "abs": Case(((-1.5,), (0.5,)), (1.5, 0.5)),
    "sin": Case(((math.pi / 6,), (-math.pi / 2,)), (0.5, -1.0)),
    "cos": Case(((math.pi / 3,), (math.pi,)), (0.5, -1.0)),
    "softplus": Case(((0.0,), (1.0,)), (math.log(2), math.log(1 + E))),
    "sum": Case(((1.0, 2.0, -0.5), (0.25, 0.25, 0.5)), (2.5, 1.0)),
    "logsumexp": Case(((0.0, 0.0, 0.0), (1.0, -1.0, 0.5)),
                      (math.log(3), math.log(E + 1 / E + math.sqrt(E)))),
    "log_sigmoid": Case(((0.0,), (1.0,)), (-math.log(2), -math.log(1 + 1 / E))),
    "bce": Case(((0.8, 1.0), (0.25, 0.0), (0.5, 0.25)),
                (-math.log(0.8), -math.log(0.75), math.log(2))),
    "bce_logits": Case(((0.0, 1.0), (2.0, 0.0), (-1.0, 0.5)),
                       (math.log(2), math.log(1 + E**2),
                        0.5 * math.log(1 + E) + 0.5 * math.log(1 + 1 / E))),
}

EPS = 1e-6


def finite_difference(f, point, index, eps=EPS):
    plus, minus = list(point), list(point)
    plus[index] += eps
    minus[index] -= eps
    return (f(*plus) - f(*minus)) / (2 * eps)


def test_every_case_names_a_rule():
    assert sorted(CASES) == sorted(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_on_floats(name):
    assert name in CASES, f"rule {name!r} has no test case"
    rule, case = RULES[name], CASES[name]
    assert rule.name == name and rule.text and rule.symbol
    for point, expected in zip(case.points, case.expected):
        out = rule.forward(*point, *case.attrs)
        assert type(out) is float
        assert math.isclose(out, expected, rel_tol=1e-12, abs_tol=1e-15), (point, out)
        local = rule.local(*point, out, *case.attrs)
        assert len(local) == len(point)

        def forward(*xs):
            return rule.forward(*xs, *case.attrs)

        for index, derivative in enumerate(local):
            numerical = finite_difference(forward, point, index)
            assert math.isclose(derivative, numerical, rel_tol=1e-6, abs_tol=1e-8), (
                name, point, index, derivative, numerical)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_on_arrays_matches_floats_elementwise(name):
    assert name in CASES, f"rule {name!r} has no test case"
    rule, case = RULES[name], CASES[name]
    columns = [np.array(column) for column in zip(*case.points)]
    out = rule.forward_array(*columns, *case.attrs)
    floats = [rule.forward(*point, *case.attrs) for point in case.points]
    np.testing.assert_allclose(out, floats, rtol=1e-14, atol=1e-15)
    local = rule.local(*columns, out, *case.attrs)
    for index, derivative in enumerate(local):
        expected = [rule.local(*p, f, *case.attrs)[index] for p, f in zip(case.points, floats)]
        np.testing.assert_allclose(np.broadcast_to(derivative, out.shape), expected,
                                   rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_on_values_gives_second_derivatives(name):
    """grad of grad (the rule run on Values) against finite differences of grad."""
    assert name in CASES, f"rule {name!r} has no test case"
    case = CASES[name]

    def first_derivatives(*xs):
        inputs = [Value(x) for x in xs]
        return grad(apply_op(name, *inputs, attrs=case.attrs), inputs)

    for point in case.points:
        inputs = [Value(x) for x in point]
        out = apply_op(name, *inputs, attrs=case.attrs)
        firsts = grad(out, inputs, create_graph=True)
        assert all(isinstance(d, Value) for d in firsts)
        for j, first in enumerate(firsts):
            assert math.isclose(first.data, out.local_grads[j], rel_tol=1e-12, abs_tol=1e-15)
            seconds = grad(first, inputs)
            for i, second in enumerate(seconds):
                numerical = finite_difference(
                    lambda *xs, j=j: first_derivatives(*xs)[j], point, i)
                assert math.isclose(second, numerical, rel_tol=1e-5, abs_tol=1e-7), (
                    name, point, j, i, second, numerical)


@pytest.mark.parametrize(
    ("name", "point", "attrs", "local"),
    [
        ("relu", (0.0,), (), (0.0,)),
        ("abs", (0.0,), (), (0.0,)),
        ("leaky_relu", (0.0,), (0.1,), (0.1,)),
        ("max", (2.0, 2.0), (), (1.0, 0.0)),
    ],
)
def test_kink_conventions(name, point, attrs, local):
    """relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope, a max tie goes to the first."""
    node = apply_op(name, *point, attrs=attrs)
    assert node.local_grads == local
    rule = RULES[name]
    columns = [np.array([x]) for x in point]
    on_arrays = rule.local(*columns, rule.forward_array(*columns, *attrs), *attrs)
    assert tuple(float(np.asarray(d).ravel()[0]) for d in on_arrays) == local


def test_sigmoid_derivative_keeps_relative_precision_in_both_tails():
    for x in (-40.0, 40.0, 700.0):
        (local,) = Value(x).sigmoid().local_grads
        expected = math.exp(-abs(x)) / (1 + math.exp(-abs(x))) ** 2
        assert math.isclose(local, expected, rel_tol=1e-12)


def test_overflow_gives_inf():
    assert Value(1000.0).exp().data == math.inf
    assert (Value(1e200) ** 3).data == math.inf
    assert (Value(-1e200) ** 3).data == -math.inf
    assert (Value(1e200) ** 3).local_grads == (math.inf,)
    assert (Value(10.0) ** Value(400.0)).data == math.inf
    assert (Value(1e300) * 1e300).data == math.inf


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.constant_local))
def test_constant_local_rules_really_are_constant(name):
    # The engine shares one local-derivative tuple among all nodes of these rules.
    rule = RULES[name]
    points = [(0.5,) * rule.arity, tuple(float(i) - 2.5 for i in range(rule.arity))]
    results = [rule.local(*p, rule.forward(*p), *()) for p in points]
    assert results[0] == results[1]


EDGES = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-300, 1e300, -1e300, math.inf, -math.inf)


@pytest.mark.parametrize("name", sorted(RULES))
def test_local_derivatives_on_floats_are_a_tuple_of_floats(name):
    # The pure-Python store keeps these rules' local derivatives as they come (the
    # compiled store converts any rule's to doubles): they must be exact floats, at the
    # test points and at the edges (zeros of both signs, kinks, huge, infinite).
    rule, case = RULES[name], CASES[name]
    width = len(case.points[0])
    points = list(case.points) + [(edge,) * width for edge in EDGES] + [
        tuple(EDGES[(start + i) % len(EDGES)] for i in range(width))
        for start in range(len(EDGES))]
    checked = 0
    for point in points:
        try:
            out = rule.forward(*point, *case.attrs)
            local = rule.local(*point, out, *case.attrs)
        except (ValueError, ArithmeticError):  # outside the op's domain (a DomainError)
            continue
        assert type(local) is tuple and len(local) == width, (point, local)
        assert all(type(item) is float for item in local), (point, local)
        checked += 1
    assert checked >= len(case.points) + 3


def test_logsumexp_on_0d_arrays_gives_an_array_its_derivatives_accept():
    # 0-d inputs (a batch of one): forward_array returns an array, as for any shape, and
    # local takes it back; both agree with the float rule (numpy's log1p may differ
    # from the C library's in the last bit).
    rule = RULES["logsumexp"]
    xs = (np.array(0.5), np.array(-2.0), np.array(0.5))
    out = rule.forward_array(*xs)
    assert isinstance(out, np.ndarray) and out.shape == ()
    floats = tuple(float(x) for x in xs)
    assert float(out) == pytest.approx(rule.forward(*floats), rel=1e-15)
    assert float(out) == pytest.approx(math.log(2 * math.exp(0.5) + math.exp(-2.0)))
    shares = rule.local(*xs, out)
    assert [float(s) for s in shares] == pytest.approx(
        [math.exp(x - float(out)) for x in floats], rel=1e-15)
    assert [float(s) for s in shares] == pytest.approx(
        rule.local(*floats, rule.forward(*floats)), rel=1e-15)


def test_logsumexp_derivatives_on_arrays_of_huge_inputs_raise_no_numpy_warning():
    # x - logsumexp(the others) overflows when both are near the largest float: a share
    # of exactly 1 or 0, as on floats, without an overflow warning.
    rule = RULES["logsumexp"]
    a, b = np.array([1e308, -1e308]), np.array([-1e308, 1e308])
    out = np.array([1e308, 1e308])
    with np.errstate(all="raise"):
        shares = rule.local(a, b, out)
    assert [s.tolist() for s in shares] == [[1.0, 0.0], [0.0, 1.0]]
    assert [float(s) for s in rule.local(1e308, -1e308, 1e308)] == [1.0, 0.0]


@pytest.mark.parametrize("base", [0.5, 1.5])
@pytest.mark.parametrize("exponent", [math.inf, -math.inf])
def test_an_infinite_exponent_is_refused_on_floats_values_and_arrays(base, exponent):
    # 0.5 ** inf is 0 on a whole neighbourhood, yet its gradient came out NaN (inf * 0)
    message = f"pow: the exponent must be finite; got {exponent!r}"
    for power in (lambda: Value(base) ** exponent, lambda: Value(base) ** Value(exponent),
                  lambda: RULES["pow"].forward_array(np.array([base]), exponent),
                  lambda: RULES["powv"].forward_array(np.array([base, base]),
                                                      np.array([2.0, exponent]))):
        with pytest.raises(ValueError, match=re.escape(message)):
            power()
    assert (Value(base) ** 3.0).data == base**3  # a finite one still gives its power
