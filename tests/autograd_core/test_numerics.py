"""Numerics at the extremes: values and gradients for |x| up to 1000, against mpmath.

The reference is computed with 50 significant digits and then rounded to a float,
so "accurate" means: equal to the correctly rounded answer up to a few ulps
(relative 1e-12), or, where the true value is below the float range, 0.
"""

import math

import mpmath
import numpy as np
import pytest

from autograd_core import RULES, Value, grad
from autograd_core.functional import log_softmax, logsumexp, softmax

mpmath.mp.dps = 50

POINTS = [-1000.0, -745.5, -100.0, -40.0, -10.0, -1.0, 0.0, 0.5, 10.0, 40.0, 100.0, 1000.0]


def close(actual, reference, *, rel=1e-12, abs_=1e-300):
    expected = float(reference)
    if expected == 0.0 and actual == 0.0:  # e^-inf's share
        return
    assert math.isfinite(actual), actual
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_), (actual, expected)


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(x)))


@pytest.mark.parametrize("x", POINTS)
def test_sigmoid_value_and_gradient(x):
    node = Value(x)
    out = node.sigmoid()
    out.backward()
    close(out.data, mp_sigmoid(x))
    close(node.grad, mp_sigmoid(x) * mp_sigmoid(-x))


@pytest.mark.parametrize("x", POINTS)
def test_softplus_value_and_gradient(x):
    node = Value(x)
    out = node.softplus()
    out.backward()
    close(out.data, mpmath.log1p(mpmath.exp(mpmath.mpf(x))))
    close(node.grad, mp_sigmoid(x))


def mp_logsumexp(xs):
    return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in xs))


def mp_softmax(xs):
    total = mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in xs)
    return [mpmath.exp(mpmath.mpf(x)) / total for x in xs]


VECTORS = [
    [1000.0, 1000.0],
    [-1000.0, -1000.0],
    [1000.0, -1000.0],
    [1000.0, 0.0, -1000.0],
    [-1000.0, 999.5, 1000.0],
    [0.5, -0.25, 3.0],
    [40.0, 0.0],
    [-700.0, -701.0, -702.5],
    [3.5, -2.0, 0.25, 7.0, -40.0, 1.5, 1.5, 12.0, -0.75, 6.5, -1000.0, 0.0],
]
# An input at -inf takes no share (a masked-out class).
WITH_MINUS_INF = [*VECTORS, [-math.inf, 2.0, -1.0]]


@pytest.mark.parametrize("xs", WITH_MINUS_INF)
def test_logsumexp_value_and_gradient(xs):
    inputs = [Value(x) for x in xs]
    out = logsumexp(inputs)
    close(out.data, mp_logsumexp(xs))
    for derivative, reference in zip(grad(out, inputs), mp_softmax(xs)):
        close(derivative, reference)


@pytest.mark.parametrize("xs", WITH_MINUS_INF)
def test_logsumexp_local_derivatives_on_arrays_are_the_softmax(xs):
    # The replay's form: each input a column of a batch (here the vector, reversed,
    # is a second sample).
    rule = RULES["logsumexp"]
    columns = [np.array([x, y]) for x, y in zip(xs, reversed(xs))]
    out = rule.forward_array(*columns)
    for sample, vector in enumerate((xs, xs[::-1])):
        close(out[sample], mp_logsumexp(vector))
        for local, reference in zip(rule.local(*columns, out), mp_softmax(vector)):
            close(float(local[sample]), reference)


def test_logsumexp_on_arrays_gives_a_sample_the_same_bits_alone_or_in_a_batch():
    # The terms are added in argument order whatever the batch's shape: a batch of one
    # (or 0-d inputs, as a replay's constants) must not be summed pairwise instead.
    rule = RULES["logsumexp"]
    columns = np.random.default_rng(0).uniform(-3.0, 3.0, (12, 200))  # 12 inputs
    batch = rule.forward_array(*columns)
    for sample in range(columns.shape[1]):
        alone = rule.forward_array(*columns[:, sample:sample + 1])
        zero_d = rule.forward_array(*(np.array(x) for x in columns[:, sample]))
        assert (alone[0], float(zero_d)) == (batch[sample], batch[sample]), sample


@pytest.mark.parametrize("xs", VECTORS)
def test_log_softmax_values_and_gradients(xs):
    inputs = [Value(x) for x in xs]
    outs = log_softmax(inputs)
    lse = mp_logsumexp(xs)
    probabilities = mp_softmax(xs)
    for k, out in enumerate(outs):
        # Absolute error for the values: x_k - lse cancels, so a relative bound of a
        # few ulps of |x_k| is the best a float can do.
        close(out.data, mpmath.mpf(xs[k]) - lse, rel=1e-12, abs_=1e-12)
        # d log_softmax_k / d x_j = [j == k] - p_j; the difference 1 - p_k is only
        # absolutely accurate when p_k is close to 1.
        for j, derivative in enumerate(grad(out, inputs)):
            reference = (1 if j == k else 0) - probabilities[j]
            close(derivative, reference, rel=1e-12, abs_=1e-15)


@pytest.mark.parametrize("xs", VECTORS)
def test_softmax_values_are_finite_and_accurate(xs):
    for out, reference in zip(softmax(xs), mp_softmax(xs)):
        close(out.data, reference)
