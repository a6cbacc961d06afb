"""The results the lecture (and micrograd's demo) promise, reproduced with nn.

These train real models in the scalar engine, so each is sized to run in seconds. The
micrograd demo runs with both fit engines; the slower experiments use the trace
engine, which test_training checks against the eager one.
"""

import numpy as np
import pytest

import nn
from autograd_core.functional import vsum


@pytest.mark.parametrize("engine", ["eager", "trace"])
def test_micrograd_demo_reaches_full_accuracy_within_100_steps(engine):
    # micrograd's demo.ipynb: MLP(2, [16, 16, 1]), 100 moons with noise 0.1, labels -1/+1,
    # max-margin loss + 1e-4 * sum p^2, full batch, lr = 1.0 - 0.9 k / 100.
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    targets = 2 * y - 1
    model = nn.MLP(2, [16, 16, 1], seed=0)
    assert model.num_parameters() == 337
    optimizer = nn.SGD(model, lr=1.0)
    schedule = nn.LinearDecay(optimizer, start=1.0, end=0.1, total_steps=100)

    def stop_when_all_correct(epoch, history):
        return history.accuracy[-1] == 1.0

    history = nn.fit(model, X, targets, loss=nn.hinge_loss, optimizer=optimizer, epochs=100,
                     regularizer=lambda m: nn.l2(m, 1e-4), scheduler=schedule,
                     callback=stop_when_all_correct, progress=False, engine=engine)
    # The accuracy at step k is measured on the scores of step k, as in micrograd.
    assert history.accuracy[-1] == 1.0
    assert history.epochs <= 100
    assert history.lr == pytest.approx([1.0 - 0.9 * k / 100 for k in range(history.epochs)])
    assert history.accuracy[0] < 0.9  # it did have to learn
    assert history.loss[-1] < history.loss[0]


def test_xor_perceptron_fails_one_hidden_layer_succeeds():
    X, y = nn.make_xor()
    perceptron = nn.Perceptron(2)
    result = perceptron.fit(X, y, epochs=100)
    assert not result.converged
    assert min(result.mistakes) > 0  # every epoch still makes a mistake
    assert nn.accuracy(perceptron, X, y) < 1.0

    network = nn.MLP(2, [4, 1], activation="tanh", init="xavier", seed=0)
    nn.fit(network, X, y, loss=nn.binary_cross_entropy_with_logits,
           optimizer=nn.Adam(network, lr=0.1), epochs=150, progress=False)
    assert nn.predict(network, X).tolist() == y.tolist()


def test_logistic_regression_cannot_fit_xor_either():
    X, y = nn.make_xor()
    model = nn.LogisticRegression(2)
    model.fit(X, y, epochs=100, lr=0.5)
    assert nn.accuracy(model, X, y) <= 0.75


def test_l1_gives_more_near_zero_weights_than_l2_at_matched_strength():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10))
    y = 2.0 * X[:, 0] - 3.0 * X[:, 1] + 0.1 * rng.normal(size=60)  # 8 irrelevant inputs
    near_zero = {}
    for name, penalty in (("l1", nn.l1), ("l2", nn.l2)):
        model = nn.Layer(10, 1, "linear", init="zeros")
        nn.fit(model, X, y, loss=nn.mse_loss, optimizer=nn.SGD(model, lr=0.05), epochs=200,
               regularizer=lambda m, penalty=penalty: penalty(nn.weight_parameters(m), 0.1),
               progress=False, engine="trace")
        weights = model.state_dict()["weight"][0]
        assert abs(weights[0]) > 1.5 and abs(weights[1]) > 2.5  # the signal survives
        near_zero[name] = int(np.sum(np.abs(weights) < 0.01))
    assert near_zero["l1"] >= 7
    assert near_zero["l1"] >= near_zero["l2"] + 4


def _first_layer_gradient_norm(residual: bool) -> float:
    layers = [nn.Layer(8, 8, "tanh", seed=i) for i in range(20)]
    blocks = [nn.Residual(layer) if residual else layer for layer in layers]
    model = nn.Sequential(*blocks)
    vsum(model([0.5] * 8)).backward()
    return float(np.sqrt(sum(p.grad**2 for p in layers[0].parameters())))


def test_residual_connections_keep_the_gradient_alive_in_20_tanh_layers():
    plain = _first_layer_gradient_norm(residual=False)
    with_skips = _first_layer_gradient_norm(residual=True)
    assert plain > 0
    assert with_skips >= 10 * plain


def test_positional_encoding_fits_sin_20x_better_on_the_same_budget():
    x = np.linspace(0.0, 1.0, 32).reshape(-1, 1)
    y = np.sin(20.0 * x[:, 0])
    results = {}
    for frequencies in (0, 4):
        head = nn.MLP(1 + 2 * frequencies, [8, 1], activation="tanh", init="xavier", seed=0)
        model = nn.Sequential(nn.PositionalEncoding(frequencies), head) if frequencies else head
        history = nn.fit(model, x, y, loss=nn.mse_loss, optimizer=nn.Adam(model, lr=0.05),
                         epochs=100, progress=False, engine="trace")
        results[frequencies] = history.loss[-1]
    assert results[4] < 0.01
    assert results[4] < 0.1 * results[0]
