"""Perceptron, logistic and softmax regression: rules by hand and results on data."""

import math

import numpy as np
import pytest

import nn
from autograd_core.functional import softmax


def test_perceptron_rule_by_hand():
    # Epoch 1 from w = 0, b = 0: sample 1 (t = +1) scores 0, a mistake: w = [1, 0], b = 1;
    # sample 2 (t = -1) scores 1, a mistake: w = [1, -1], b = 0. Epoch 2: no mistakes.
    model = nn.Perceptron(2)
    result = model.fit(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 0]))
    assert result.mistakes == [2, 0] and result.epochs == 2 and result.converged
    assert model.state_dict()["linear.weight"].tolist() == [[1.0, -1.0]]
    assert model.state_dict()["linear.bias"].tolist() == [0.0]


def test_perceptron_updates_only_on_mistakes():
    model = nn.Perceptron(2)
    model.load_state_dict({"linear.weight": np.array([[1.0, -1.0]]),
                           "linear.bias": np.array([0.0])})
    result = model.fit(np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([1, 0]))
    assert result.mistakes == [0] and result.total_mistakes == 0
    assert model.state_dict()["linear.weight"].tolist() == [[1.0, -1.0]]


def test_perceptron_separates_separable_blobs_and_stops():
    X, y = nn.make_blobs(60, centers=[[-3, -3], [3, 3]], cluster_std=1.0, seed=0)
    y = 2 * y - 1  # the -1/+1 convention works too
    model = nn.Perceptron(2)
    result = model.fit(X, y, epochs=100)
    assert result.converged and result.epochs < 100
    assert result.mistakes[-1] == 0 and result.mistakes[0] > 0
    assert np.array_equal(model.predict(X), y)
    assert nn.accuracy(model, X, y) == 1.0


def test_perceptron_refuses_other_labels():
    with pytest.raises(ValueError, match=r"0/1 or -1/\+1; got \[0, 1, 2\]"):
        nn.Perceptron(2).fit(np.zeros((3, 2)), np.array([0, 1, 2]))


def test_logistic_gradient_is_p_minus_y_times_x():
    model = nn.LogisticRegression(2, init="uniform", seed=0)
    x, target = [0.5, -1.5], 1
    logit = model(x)[0]
    nn.binary_cross_entropy_with_logits(logit, target).backward()
    p = 1 / (1 + math.exp(-logit.data))
    neuron = model.linear.neurons[0]
    assert [w.grad for w in neuron.w] == pytest.approx([(p - 1) * 0.5, (p - 1) * -1.5])
    assert neuron.b.grad == pytest.approx(p - 1)


def test_logistic_regression_separates_separable_blobs():
    X, y = nn.make_blobs(80, centers=[[-2, 0], [2, 1]], cluster_std=0.6, seed=1)
    model = nn.LogisticRegression(2)
    history = model.fit(X, y, epochs=40, lr=0.5)
    assert history.loss[-1] < history.loss[0] / 4
    assert nn.accuracy(model, X, y) == 1.0
    proba = model.predict_proba(X)
    assert proba.shape == (80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    logits = model.decision_function(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)))
    assert np.array_equal(model.predict(X), (proba[:, 1] > 0.5).astype(int))


def test_predict_proba_is_stable_for_huge_logits():
    model = nn.LogisticRegression(1)
    model.linear.neurons[0].w[0].data = 1.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        proba = model.predict_proba(np.array([[-1000.0], [1000.0]]))
    assert proba.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_softmax_regression_on_iris_reaches_95_percent():
    X, y = nn.load_iris()
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_size=0.3, seed=0)
    Z_train, mean, std = nn.standardize(X_train)
    Z_test, _, _ = nn.standardize(X_test, mean=mean, std=std)
    model = nn.SoftmaxRegression(4, 3)
    model.fit(Z_train, y_train, epochs=30, batch_size=16, optimizer=nn.Adam(model, lr=0.05),
              seed=0)
    assert nn.accuracy(model, Z_train, y_train) >= 0.95
    assert nn.accuracy(model, Z_test, y_test) >= 0.95


def test_softmax_regression_on_three_blobs():
    X, y = nn.make_blobs(90, centers=[[0, 4], [4, -2], [-4, -2]], cluster_std=1.0, seed=3)
    model = nn.SoftmaxRegression(2, 3)
    model.fit(X, y, epochs=30, lr=0.2)
    assert nn.accuracy(model, X, y) >= 0.95
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expected = [[p.data for p in softmax(list(row))] for row in model.decision_function(X)]
    np.testing.assert_allclose(proba, expected)
    assert np.array_equal(model.predict(X), proba.argmax(axis=1))


def test_softmax_regression_refuses_labels_outside_the_classes():
    model = nn.SoftmaxRegression(2, 3)
    before = model.state_dict()["linear.weight"].copy()
    with pytest.raises(ValueError, match=r"label 3 is outside the classes 0..2"):
        model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 3]), epochs=1)
    assert np.array_equal(model.state_dict()["linear.weight"], before)
