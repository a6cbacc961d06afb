"""One answer at every order: create_graph gives the first-order number, bit for bit.

Wherever an op's first derivative is defined (including inf and the far tails), the
derivative graph that ``grad(..., create_graph=True)`` builds has the same value as
the local derivative the forward pass recorded, because each rule's local function
runs the same stable form on Values as on floats. Second derivatives in the tails
are checked against mpmath; ``grad`` and ``hessian`` inside ``no_grad`` compute.
"""

import itertools
import math

import mpmath
import pytest

from autograd_core import RULES, Value, apply_op, grad, hessian, no_grad

mpmath.mp.dps = 50

SCALARS = [-1000.0, -745.5, -100.0, -40.0, -1.0, -0.5, -1e-300, 0.0, 1e-300, 0.25, 0.5,
           1.0, 2.0, 40.0, 100.0, 745.5, 1000.0]
PROBABILITIES = [0.0, 1e-300, math.exp(-100.0) * 2, 1e-20, 0.25, 0.5, 0.75, 1 - 1e-16, 1.0]
ATTRS = {"pow": [(0.0,), (0.5,), (1.0,), (2.0,), (3.0,), (-0.5,), (-2.0,), (1.5,)],
         "leaky_relu": [(0.1,)]}


def points(name):
    rule = RULES[name]
    if name == "bce":
        return list(itertools.product(PROBABILITIES, [0.0, 1.0, 0.5]))
    if name == "bce_logits":
        return list(itertools.product(SCALARS, [0.0, 1.0, 0.5]))
    if rule.arity == 1:
        return [(x,) for x in SCALARS]
    pairs = list(itertools.product(SCALARS[::2], SCALARS[1::2]))
    if rule.arity == 2:
        return pairs
    return [(a, b, c) for a, b in pairs for c in (0.0, 1000.0)]


def cases():
    for name in sorted(RULES):
        for attrs in ATTRS.get(name, [()]):
            yield name, attrs


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize(("name", "attrs"), list(cases()), ids=str)
def test_create_graph_gives_the_first_order_number(name, attrs):
    checked = 0
    for point in points(name):
        try:
            RULES[name].forward(*point, *attrs)
        except ValueError:
            continue  # outside the op's domain: no first order to agree with
        inputs = [Value(x) for x in point]
        node = apply_op(name, *inputs, attrs=attrs)
        firsts = grad(node, inputs, create_graph=True)
        for index, (first, local) in enumerate(zip(firsts, node.local_grads)):
            assert isinstance(first, Value)
            assert same(first.data, float(local)), (name, point, attrs, index, first, local)
        checked += 1
    assert checked >= 5


def test_sqrt_at_zero_is_inf_at_every_order_and_its_derivative_is_minus_inf():
    x = Value(0.0)
    (first,) = grad(x.sqrt(), [x], create_graph=True)
    assert first.data == math.inf == x.sqrt().local_grads[0]
    assert grad(first, [x]) == [-math.inf]
    x = Value(0.0)
    (first,) = grad(x ** 0.5, [x], create_graph=True)
    assert first.data == math.inf


def test_a_non_integer_negative_power_of_zero_is_its_one_sided_limit():
    assert (Value(0.0) ** -0.5).data == math.inf
    with pytest.raises(ValueError, match="negative power"):
        Value(0.0) ** -1


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


def close(actual, reference, rel=1e-12):
    expected = float(reference)
    assert math.isfinite(actual), actual
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-300), (actual, expected)


@pytest.mark.parametrize("x", [-1000.0, -40.0, -1.0, 0.5, 10.0, 40.0, 100.0, 700.0])
def test_sigmoid_tails_at_first_and_second_order(x):
    node = Value(x)
    (first,) = grad(node.sigmoid(), [node], create_graph=True)
    s, r = mp_sigmoid(x), mp_sigmoid(-x)
    close(first.data, s * r)
    (second,) = grad(first, [node])
    close(second, s * r * (r - s))


@pytest.mark.parametrize("z", [-1000.0, -40.0, -1.0, 0.0, 10.0, 40.0, 1000.0])
@pytest.mark.parametrize("t", [0.0, 1.0])
def test_bce_logits_tails_at_first_and_second_order(z, t):
    logit = Value(z)
    (first,) = grad(apply_op("bce_logits", logit, t), [logit], create_graph=True)
    s, r = mp_sigmoid(z), mp_sigmoid(-z)
    close(first.data, -r if t else s)
    (second,) = grad(first, [logit])
    close(second, s * r)


@pytest.mark.parametrize("p", [1e-300, 1e-20, 0.25, 0.5, 1 - 2**-40])
def test_bce_on_probabilities_against_mpmath(p):
    prob = Value(p)
    loss = apply_op("bce", prob, 0.0)
    close(loss.data, -mpmath.log1p(-mpmath.mpf(p)))
    (first,) = grad(loss, [prob], create_graph=True)
    close(first.data, 1 / (1 - mpmath.mpf(p)))
    (second,) = grad(first, [prob])
    close(second, 1 / (1 - mpmath.mpf(p)) ** 2)


def test_bce_clamps_its_log_and_the_clamp_is_flat():
    prob = Value(0.0)
    loss = apply_op("bce", prob, 1.0)
    assert loss.data == 100.0 and loss.local_grads[0] == 0.0
    assert apply_op("bce", 1.0, 1.0).data == 0.0


@pytest.mark.parametrize("xs", [[1000.0, -1000.0], [40.0, 0.0, -40.0], [-700.0, -701.0]])
def test_logsumexp_second_order_against_mpmath(xs):
    inputs = [Value(x) for x in xs]
    out = apply_op("logsumexp", *inputs)
    firsts = grad(out, inputs, create_graph=True)
    total = mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in xs)
    probabilities = [mpmath.exp(mpmath.mpf(x)) / total for x in xs]
    for first, p in zip(firsts, probabilities):
        close(first.data, p)
    # d softmax_0 / d x_0 = p_0 (1 - p_0) = p_0 * (sum of the others).
    (second,) = grad(firsts[0], inputs[:1])
    close(second, probabilities[0] * mpmath.fsum(probabilities[1:]), rel=1e-9)


def test_grad_and_hessian_inside_no_grad_compute():
    x, y = Value(2.0), Value(-1.0)
    out = x**3 * y + (x * y).sin()
    expected = hessian(out, [x, y])
    firsts = grad(out, [x, y], create_graph=True)
    with no_grad():
        assert hessian(out, [x, y]) == expected
        inside = grad(out, [x, y], create_graph=True)
        assert [g.data for g in inside] == [g.data for g in firsts]
        assert grad(inside[0], [x]) == grad(firsts[0], [x])
        plain = (x * 2.0)  # ordinary ops inside no_grad still record nothing
        assert plain.op == "" and plain.parents == ()
    assert expected[0][0] == pytest.approx(6 * 2.0 * -1.0 - math.sin(-2.0) * 1.0)
    assert x.grad == 0.0  # grad leaves .grad alone


def test_backward_with_create_graph_inside_no_grad_records_the_derivative():
    x = Value(3.0)
    with no_grad():
        y = x**3  # inside no_grad: a leaf
    assert y.parents == ()
    y = x**3
    with no_grad():
        y.backward(create_graph=True)
    assert x.grad.data == 27.0
    assert grad(x.grad, [x]) == [18.0]  # the derivative graph was recorded
