"""``fit(engine="trace")`` trains where ``engine="eager"`` trains, with the same numbers.

The models are pushed into the regimes where a trace used to freeze a decision made
on the example's data: probabilities that saturate to 0 or 1 (bce's clamped log) and
logits far apart (cross-entropy's logsumexp shift). Each epoch's loss and the final
parameters of the two engines must agree to a relative 1e-9 (rounding: numpy's
elementary functions and summation order differ from Python's in the last bits).
"""

import math

import numpy as np
import pytest

import nn


def train(make_model, X, y, loss, engine, epochs=8, lr=0.5):
    model = make_model()
    history = nn.fit(model, X, y, loss=loss, optimizer=nn.SGD(model, lr=lr), epochs=epochs,
                     batch_size=8, progress=False, seed=0, engine=engine)
    return history, [p.data for p in model.parameters()]


def blow_up(model, factor):
    """Scale every parameter, so that outputs saturate on most samples."""
    for p in model.parameters():
        p.data *= factor


def bce_model():
    model = nn.MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=1)
    blow_up(model, 30.0)
    return model


def cross_entropy_model():
    model = nn.MLP(2, [5, 3], activation="tanh", seed=2)
    blow_up(model, 300.0)
    return model


def bce_logits_model():
    model = nn.LogisticRegression(2, seed=0)
    blow_up(model, 1.0)
    model.linear.neurons[0].w[0].data = 400.0
    return model


X2, y2 = nn.make_blobs(48, centers=[[-1.0, 0.0], [1.0, 0.5]], cluster_std=0.8, seed=3)
X3, y3 = nn.make_blobs(48, centers=[[-1.0, 0.0], [1.0, 0.5], [0.0, -1.5]],
                       cluster_std=0.6, seed=4)


@pytest.mark.parametrize(
    ("make_model", "X", "y", "loss"),
    [
        (bce_model, X2, y2, nn.binary_cross_entropy),
        (bce_logits_model, X2, y2, nn.binary_cross_entropy_with_logits),
        (cross_entropy_model, X3, y3, nn.cross_entropy),
    ],
    ids=["bce", "bce_with_logits", "cross_entropy"],
)
def test_trace_trains_like_eager_in_saturated_regimes(make_model, X, y, loss):
    eager, eager_params = train(make_model, X, y, loss, "eager")
    traced, traced_params = train(make_model, X, y, loss, "trace")
    assert all(math.isfinite(v) for v in eager.loss)
    np.testing.assert_allclose(traced.loss, eager.loss, rtol=1e-9, atol=0)
    np.testing.assert_allclose(traced_params, eager_params, rtol=1e-9, atol=1e-12)
    assert eager.loss[-1] < eager.loss[0]  # it trains


def test_the_saturated_regime_is_really_saturated():
    """The cases above reach the clamp and the far tails (else they would test little)."""
    model = bce_model()
    probabilities = [model(row.tolist())[0].data for row in X2]
    assert min(probabilities) < math.exp(-100) or max(probabilities) == 1.0
    model = cross_entropy_model()
    spreads = [max(v.data for v in model(row.tolist())) - min(v.data for v in model(row.tolist()))
               for row in X3]
    assert max(spreads) > 700.0  # e^700 overflows a shift taken from another sample
