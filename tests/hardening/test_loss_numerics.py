"""nn's losses at the extremes: values and gradients for logits up to |x| = 1000, against mpmath.

The standard is the one the engine's own numerics tests use: the reference is computed
with 50 significant digits and rounded to a float; a result must be finite and equal to
it up to a relative 1e-12 (a few ulps), or be 0 where the true value is below the float
range. No absolute slack: a loss of 4e-18 reported as 0 is a wrong answer (a log-scale
loss curve would show -inf).
"""

import math

import mpmath
import pytest

import nn
from autograd_core import Value

mpmath.mp.dps = 50

EXTREMES = [-1000.0, -745.5, -100.0, -40.0, -30.0, -10.0, -1.0, 0.0, 0.5, 10.0, 30.0, 40.0,
            100.0, 745.5, 1000.0]


def close(actual, reference, *, rel=1e-12):
    expected = float(reference)
    assert math.isfinite(actual), actual
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-300), (actual, expected)


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


def mp_softplus(z):
    return mpmath.log1p(mpmath.exp(mpmath.mpf(z)))


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("z", EXTREMES)
def test_bce_with_logits_value_and_gradient(z, target):
    logit = Value(z)
    loss = nn.binary_cross_entropy_with_logits(logit, target)
    loss.backward()
    # -log sigmoid(z) for target 1 and -log(1 - sigmoid(z)) for target 0.
    close(loss.data, mp_softplus(-z if target else z))
    # sigmoid(z) - 1 written as -sigmoid(-z): the reference must not cancel either.
    close(logit.grad, -mp_sigmoid(-z) if target else mp_sigmoid(z))


def mp_cross_entropy(zs, k):
    """-log softmax(z)_k and its gradient, in forms where nothing cancels."""
    zs = [mpmath.mpf(z) for z in zs]
    others = [mpmath.exp(z - zs[k]) for j, z in enumerate(zs) if j != k]
    value = mpmath.log1p(mpmath.fsum(others))
    total = mpmath.fsum(mpmath.exp(z - zs[k]) for z in zs)
    probabilities = [mpmath.exp(z - zs[k]) / total for z in zs]
    # d/dz_k = p_k - 1 = -(sum of the other probabilities).
    gradient = [p if j != k else -mpmath.fsum(q for i, q in enumerate(probabilities) if i != k)
                for j, p in enumerate(probabilities)]
    return value, gradient


LOGITS = [
    [1000.0, -1000.0],
    [1000.0, 1000.0],
    [-1000.0, -1000.0, -1000.0],
    [1000.0, 0.0, -1000.0],
    [-1000.0, 999.5, 1000.0],
    [40.0, 0.0],
    [30.0, -5.0, 2.0],
    [745.5, -745.5, 0.0, 1.0],
    [0.5, -0.25, 3.0],
    [-700.0, -701.0, -702.5],
]


def cross_entropy_cases():
    return [(logits, k) for logits in LOGITS for k in range(len(logits))]


@pytest.mark.parametrize(("logits", "k"), cross_entropy_cases(), ids=str)
def test_cross_entropy_value_and_gradient(logits, k):
    inputs = [Value(z) for z in logits]
    loss = nn.cross_entropy(inputs, k)
    loss.backward()
    value, gradient = mp_cross_entropy(logits, k)
    close(loss.data, value)
    for node, reference in zip(inputs, gradient):
        close(node.grad, reference)


def test_batches_of_extreme_logits_average_exactly():
    logits = [[Value(1000.0), Value(-1000.0)], [Value(-1000.0), Value(1000.0)]]
    loss = nn.cross_entropy(logits, [0, 0])
    loss.backward()
    assert loss.data == 1000.0  # (0 + 2000) / 2
    assert [[v.grad for v in row] for row in logits] == [[0.0, 0.0], [-0.5, 0.5]]
    scores = [Value(-1000.0), Value(1000.0), Value(30.0)]
    loss = nn.binary_cross_entropy_with_logits(scores, [1, 0, 1], reduction="sum")
    loss.backward()
    close(loss.data, 2000 + mp_softplus(-30.0))
    close(scores[2].grad, -mp_sigmoid(-30.0))
    assert [s.grad for s in scores[:2]] == [-1.0, 1.0]


def test_training_on_huge_logits_stays_finite():
    """A logistic regression whose weights put every logit near +-1000 still trains."""
    import numpy as np

    X = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    y = np.array([1, 0, 0, 1])  # two of the four are badly misclassified
    model = nn.LogisticRegression(1, seed=0)
    model.linear.neurons[0].w[0].data = 500.0
    history = nn.fit(model, X, y, loss=nn.binary_cross_entropy_with_logits,
                     optimizer=nn.SGD(model, lr=1e-3), epochs=3, progress=False)
    assert all(math.isfinite(value) for value in history.loss)
    # Logits 500, -500, 1000, -1000: the first two are right (loss ~ e^-500), the last two
    # wrong by |z| = 1000 each; the first epoch's loss is measured before any update.
    assert history.loss[0] == pytest.approx((0.0 + 0.0 + 1000.0 + 1000.0) / 4, rel=1e-12)
    assert all(math.isfinite(p.data) for p in model.parameters())


@pytest.mark.parametrize("z", [-1000.0, -40.0, 10.0, 40.0, 1000.0])
def test_bce_with_logits_keeps_its_precision_with_a_value_target(z):
    logit, target = Value(z), Value(1.0)
    loss = nn.binary_cross_entropy_with_logits(logit, target)
    loss.backward()
    close(loss.data, mp_softplus(-z))
    close(logit.grad, -mp_sigmoid(-z))
    close(target.grad, -z)  # d/dt [softplus(z) - t z] = -z
