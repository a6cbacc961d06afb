"""l1, l2, elastic net and max-norm: values and gradients by hand."""

import math

import numpy as np
import pytest

import nn
from autograd_core import Value, gradcheck


def test_l1_value_and_gradient_is_alpha_times_sign():
    weights = [Value(-2.0), Value(0.5), Value(3.0)]
    penalty = nn.l1(weights, alpha=0.1)
    penalty.backward()
    assert penalty.data == pytest.approx(0.55)
    assert [w.grad for w in weights] == pytest.approx([-0.1, 0.1, 0.1])


def test_l2_value_and_gradient_is_two_alpha_w():
    weights = [Value(-2.0), Value(0.5)]
    penalty = nn.l2(weights, alpha=0.1)
    penalty.backward()
    assert penalty.data == pytest.approx(0.425)
    assert [w.grad for w in weights] == pytest.approx([-0.4, 0.1])


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_elastic_net_interpolates(beta):
    weights = [Value(-2.0), Value(0.5)]
    expected = 0.1 * (beta * 2.5 + (1 - beta) * 4.25)
    assert nn.elastic_net(weights, alpha=0.1, beta=beta).data == pytest.approx(expected)
    assert gradcheck(lambda a, b: nn.elastic_net([a, b], 0.1, beta), [-2.0, 0.5])


def test_module_penalties_cover_all_parameters_and_weights_only_skips_biases():
    model = nn.MLP(2, [3, 1], seed=0)
    total = sum(p.data**2 for p in model.parameters())
    assert nn.l2(model, 1.0).data == pytest.approx(total)
    weights = nn.weight_parameters(model)
    assert len(weights) == 2 * 3 + 3 * 1
    assert all(w is not n.b for w in weights for n in model.layers[0].neurons)


def test_max_norm_projects_only_long_weight_vectors():
    layer = nn.Layer(2, 2, seed=0)
    layer.neurons[0].w[0].data, layer.neurons[0].w[1].data = 3.0, 4.0
    layer.neurons[1].w[0].data, layer.neurons[1].w[1].data = 0.3, 0.4
    layer.neurons[0].b.data = 7.0
    assert nn.max_norm_(layer, 2.0) == 1
    assert [w.data for w in layer.neurons[0].w] == pytest.approx([1.2, 1.6])
    assert [w.data for w in layer.neurons[1].w] == [0.3, 0.4]
    assert layer.neurons[0].b.data == 7.0
    norms = np.linalg.norm(layer.state_dict()["weight"], axis=1)
    assert norms.max() <= 2.0 + 1e-12


def test_bad_strengths_are_refused():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, inf\); got -1"):
        nn.l2([Value(1.0)], -1)
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\]; got 1.5"):
        nn.elastic_net([Value(1.0)], 1.0, 1.5)
    with pytest.raises(ValueError, match=r"max_norm must be in \(0, inf\)"):
        nn.max_norm_(nn.Layer(1, 1), 0)
    assert not math.isnan(nn.l1([Value(0.0)], 0.0).data)
