"""Losses: values and gradients by hand, against gradcheck, batches and bad labels."""

import math

import numpy as np
import pytest

import nn
from autograd_core import Value, gradcheck
from autograd_core.functional import log_softmax, softmax


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_lecture_softmax_example():
    probs = [p.data for p in softmax([3.2, 5.1, -1.7])]
    assert [round(p, 2) for p in probs] == [0.13, 0.87, 0.0]
    assert nn.cross_entropy([3.2, 5.1, -1.7], 1).data == pytest.approx(-math.log(probs[1]))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    logits = [Value(3.2), Value(5.1), Value(-1.7)]
    nn.cross_entropy(logits, 0).backward()
    probs = np.exp([3.2, 5.1, -1.7]) / np.exp([3.2, 5.1, -1.7]).sum()
    assert [v.grad for v in logits] == pytest.approx(probs - np.array([1, 0, 0]))


def test_cross_entropy_is_stable_for_huge_logits():
    loss = nn.cross_entropy([Value(1000.0), Value(0.0)], 1)
    assert loss.data == pytest.approx(1000.0)


def test_nll_of_log_softmax_equals_cross_entropy():
    logits = [0.5, -1.0, 2.0]
    assert nn.nll_loss(log_softmax(logits), 2).data == pytest.approx(
        nn.cross_entropy(logits, 2).data)


def test_binary_cross_entropy_by_hand_and_with_logits():
    p = Value(0.8)
    loss = nn.binary_cross_entropy(p, 1)
    loss.backward()
    assert loss.data == pytest.approx(-math.log(0.8))
    assert p.grad == pytest.approx(-1 / 0.8)
    z = Value(0.4)
    loss = nn.binary_cross_entropy_with_logits(z, 0)
    loss.backward()
    assert loss.data == pytest.approx(-math.log(1 - _sigmoid(0.4)))
    assert z.grad == pytest.approx(_sigmoid(0.4) - 0)
    # Stable in both tails where log(sigmoid(z)) would underflow.
    assert nn.binary_cross_entropy_with_logits(Value(-800.0), 1).data == pytest.approx(800.0)
    assert nn.binary_cross_entropy_with_logits(Value(800.0), 1).data == pytest.approx(0.0)
    # p = 0 gives the floored log, not an error.
    assert nn.binary_cross_entropy(Value(0.0), 1).data == pytest.approx(100.0)


def test_hinge_and_perceptron_losses_by_hand():
    s = Value(0.3)
    loss = nn.hinge_loss(s, -1)
    loss.backward()
    assert loss.data == pytest.approx(1.3) and s.grad == pytest.approx(1.0)
    assert nn.hinge_loss(Value(2.0), 1).data == 0.0
    assert nn.perceptron_loss(Value(0.3), 1).data == 0.0
    s = Value(0.3)
    loss = nn.perceptron_loss(s, -1)
    loss.backward()
    assert loss.data == pytest.approx(0.3) and s.grad == pytest.approx(1.0)


def test_multiclass_hinge_by_hand():
    scores = [Value(3.2), Value(5.1), Value(-1.7)]
    loss = nn.multiclass_hinge_loss(scores, 0)
    loss.backward()
    assert loss.data == pytest.approx(2.9)
    assert [v.grad for v in scores] == [-1.0, 1.0, 0.0]


def test_mse_single_batch_and_vectors():
    assert nn.mse_loss(Value(3.0), 1.0).data == 4.0
    assert nn.mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0]).data == pytest.approx(2.5)
    assert nn.mse_loss([[1.0, 2.0], [3.0, 5.0]], [[0.0, 0.0], [3.0, 3.0]],
                       reduction="sum").data == pytest.approx(9.0)
    # Model outputs are one-element lists.
    assert nn.mse_loss([[Value(2.0)], [Value(0.0)]], np.array([1.0, 1.0])).data == 1.0


@pytest.mark.parametrize("reduction, expected", [("mean", 0.7), ("sum", 1.4)])
def test_reductions(reduction, expected):
    scores = [Value(0.7), Value(-0.1)]
    assert nn.hinge_loss(scores, [1, 1], reduction=reduction).data == pytest.approx(
        expected)
    losses = nn.hinge_loss(scores, [1, 1], reduction="none")
    assert [v.data for v in losses] == pytest.approx([0.3, 1.1])


@pytest.mark.parametrize(
    "fn, point",
    [
        (lambda a, b, c: nn.cross_entropy([a, b, c], 2), [0.3, -1.1, 0.8]),
        (lambda a, b, c: nn.cross_entropy([[a, b], [b, c]], [0, 1]), [0.3, -1.1, 0.8]),
        (lambda a, b, c: nn.nll_loss(log_softmax([a, b, c]), 1), [0.3, -1.1, 0.8]),
        (lambda a, b, c: nn.multiclass_hinge_loss([a, b, c], 1), [0.3, -1.1, 0.8]),
        (lambda a: nn.binary_cross_entropy(a.sigmoid(), 1), [0.4]),
        (lambda a, b: nn.binary_cross_entropy_with_logits([a, b], [1, 0]), [0.4, -2.0]),
        (lambda a, b: nn.hinge_loss([a, b], [1, -1], reduction="sum"), [0.4, -0.2]),
        (lambda a, b: nn.perceptron_loss([a, b], [-1, 1]), [0.4, -0.2]),
        (lambda a, b: nn.mse_loss([a, b], [1.0, -1.0]), [0.4, -0.2]),
    ],
)
def test_gradients_match_finite_differences(fn, point):
    assert gradcheck(fn, point)


def test_bad_labels_and_shapes_are_named():
    with pytest.raises(ValueError, match=r"target 3 is outside the classes 0..2"):
        nn.cross_entropy([1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match=r"target 0 is not one of \[-1.0, 1.0\]"):
        nn.hinge_loss(Value(1.0), 0)
    with pytest.raises(ValueError, match=r"target 2 is not one of \[0.0, 1.0\]"):
        nn.binary_cross_entropy_with_logits(Value(1.0), 2)
    with pytest.raises(ValueError, match="3 outputs but 2 targets"):
        nn.hinge_loss([1.0, 2.0, 3.0], [1, -1])
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        nn.mse_loss(1.0, 1.0, reduction="avg")
    with pytest.raises(ValueError, match="not a probability"):
        nn.binary_cross_entropy(Value(1.5), 1)


@pytest.mark.parametrize(
    "loss, score, label",
    [
        (nn.hinge_loss, 0.3, -1.0),
        (nn.perceptron_loss, 0.3, -1.0),
        (nn.binary_cross_entropy_with_logits, 0.3, 1.0),
        (nn.mse_loss, 0.3, 2.0),
    ],
)
def test_value_targets_stay_in_the_graph(loss, score, label):
    target = Value(label)
    as_value = loss(Value(score), target)
    as_number = loss(Value(score), label)
    assert as_value.data == pytest.approx(as_number.data)
    as_value.backward()
    assert target.grad != 0.0  # the target is an input of the graph, not a constant
