"""Neuron, Layer, MLP and the blocks: outputs, gradients, names, init and bad input."""

import math

import numpy as np
import pytest

import nn
from autograd_core import Value


def test_neuron_output_and_gradients_by_hand():
    neuron = nn.Neuron(2, "tanh", seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.0, 0.25
    out = neuron([2.0, 0.5])
    expected = math.tanh(0.5 * 2.0 - 1.0 * 0.5 + 0.25)
    assert out.data == pytest.approx(expected, abs=1e-15)
    out.backward()
    local = 1 - expected**2
    assert neuron.w[0].grad == pytest.approx(local * 2.0)
    assert neuron.w[1].grad == pytest.approx(local * 0.5)
    assert neuron.b.grad == pytest.approx(local)


def test_weighted_sum_is_one_variadic_sum_node():
    neuron = nn.Neuron(5, "linear", seed=0)
    out = neuron([1.0, 2.0, 3.0, 4.0, 5.0])
    assert out.op == "sum"
    assert len(out.parents) == 6  # five products and the bias


@pytest.mark.parametrize(
    "name, x, expected",
    [
        ("relu", -0.5, 0.0),
        ("relu", 0.7, 0.7),
        ("tanh", 0.7, math.tanh(0.7)),
        ("sigmoid", 0.7, 1 / (1 + math.exp(-0.7))),
        ("leaky_relu", -0.5, -0.005),
        ("linear", -0.5, -0.5),
    ],
)
def test_each_named_activation(name, x, expected):
    neuron = nn.Neuron(1, name, seed=0)
    neuron.w[0].data = 1.0
    assert neuron([x]).data == pytest.approx(expected)
    assert neuron.activation == name


def test_callable_activation():
    def cube(v):
        return v**3

    neuron = nn.Neuron(1, cube, seed=0)
    neuron.w[0].data = 2.0
    assert neuron([1.5]).data == pytest.approx(27.0)
    assert neuron.activation == "cube"


def test_unknown_activation_lists_known_names():
    with pytest.raises(ValueError, match="'swish'") as caught:
        nn.Layer(2, 3, "swish")
    for name in ("relu", "tanh", "sigmoid", "leaky_relu", "linear"):
        assert f"'{name}'" in str(caught.value)
    with pytest.raises(ValueError, match="'gelu'"):
        nn.MLP(2, [3, 1], activation="gelu")


def test_input_length_is_checked_before_any_work():
    model = nn.MLP(3, [4, 1], seed=0)
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        model([1.0, 2.0])
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        nn.Neuron(2)([1.0, 2.0, 3.0])


def test_one_output_layer_returns_a_list():
    layer = nn.Layer(3, 1, "linear", seed=0)
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    model = nn.MLP(2, [4, 1], seed=0)
    score = model(np.array([0.5, -0.5]))
    assert isinstance(score, list) and len(score) == 1


def test_mlp_matches_numpy_forward():
    model = nn.MLP(3, [4, 2], activation="tanh", seed=3)
    state = model.state_dict()
    x = np.array([0.3, -1.2, 2.0])
    hidden = np.tanh(state["layers.0.weight"] @ x + state["layers.0.bias"])
    expected = state["layers.1.weight"] @ hidden + state["layers.1.bias"]
    got = [v.data for v in model(x)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_micrograd_demo_model_has_337_parameters_with_stable_names():
    model = nn.MLP(2, [16, 16, 1], seed=1)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == 337 == len(set(names))
    assert names[:3] == ["layers.0.weight[0, 0]", "layers.0.weight[0, 1]",
                         "layers.0.weight[1, 0]"]
    assert names[32:34] == ["layers.0.bias[0]", "layers.0.bias[1]"]
    assert names[-1] == "layers.2.bias[0]"
    assert names == [name for name, _ in nn.MLP(2, [16, 16, 1], seed=1).named_parameters()]


def test_seeded_init_is_reproducible_and_rng_is_shared():
    a = nn.MLP(2, [3, 1], seed=7).state_dict()
    b = nn.MLP(2, [3, 1], seed=7).state_dict()
    c = nn.MLP(2, [3, 1], seed=8).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["layers.0.weight"], c["layers.0.weight"])
    rng = np.random.default_rng(0)
    first, second = nn.Layer(2, 2, rng=rng), nn.Layer(2, 2, rng=rng)
    assert not np.array_equal(first.state_dict()["weight"], second.state_dict()["weight"])
    with pytest.raises(ValueError, match="not both"):
        nn.Layer(2, 2, seed=1, rng=np.random.default_rng(1))


def test_init_schemes_have_the_documented_spread():
    rng = np.random.default_rng(0)
    uniform = np.array(nn.init_weights("uniform", 20000, 1, rng))
    assert uniform.min() >= -1 and uniform.max() <= 1
    assert uniform.var() == pytest.approx(1 / 3, rel=0.03)
    xavier = np.array(nn.init_weights("xavier", 20000, 10000, rng))
    bound = math.sqrt(6 / 30000)
    assert np.abs(xavier).max() <= bound
    assert xavier.var() == pytest.approx(bound**2 / 3, rel=0.03)
    he = np.array(nn.init_weights("he", 20000, 1, rng))
    assert he.var() == pytest.approx(2 / 20000, rel=0.03)
    assert nn.Layer(3, 2, init="zeros").state_dict()["weight"].tolist() == [[0.0] * 3] * 2
    with pytest.raises(ValueError, match="'glorot'.*uniform.*xavier.*he"):
        nn.Layer(2, 2, init="glorot")


def test_zero_grad_resets_every_parameter():
    model = nn.MLP(2, [3, 1], seed=0)
    model([1.0, 2.0])[0].backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_repr_is_deterministic_and_has_no_addresses():
    model = nn.Sequential(nn.Residual(nn.Layer(2, 2, seed=0)), nn.MLP(2, [3, 1], seed=0))
    text = repr(model)
    assert "0x" not in text
    assert text == repr(nn.Sequential(nn.Residual(nn.Layer(2, 2, seed=5)),
                                      nn.MLP(2, [3, 1], seed=9)))
    assert text.splitlines()[:3] == [
        "Sequential()",
        "  0: Residual()",
        "    module: Layer(nin=2, nout=2, activation='relu')",
    ]


def test_residual_adds_the_input():
    inner = nn.Layer(2, 2, "linear", seed=0)
    block = nn.Residual(inner)
    x = [0.5, -2.0]
    plain = [v.data for v in inner(x)]
    assert [v.data for v in block(x)] == pytest.approx([p + xi for p, xi in zip(plain, x)])
    with pytest.raises(ValueError, match="nin=2, nout=3"):
        nn.Residual(nn.Layer(2, 3))


def test_highway_gate_mixes_transform_and_carry():
    block = nn.Highway(2, "tanh", seed=0)
    x = [0.3, -0.8]
    t = [v.data for v in block.gate(x)]
    h = [v.data for v in block.transform(x)]
    expected = [ti * hi + (1 - ti) * xi for ti, hi, xi in zip(t, h, x)]
    assert [v.data for v in block(x)] == pytest.approx(expected)
    # A very negative gate bias makes the block carry its input unchanged.
    carry = nn.Highway(2, gate_bias=-50.0, seed=0)
    assert [v.data for v in carry(x)] == pytest.approx(x, abs=1e-12)


def test_dense_block_concatenates_all_earlier_outputs():
    block = nn.DenseBlock(2, growth=3, num_layers=2, activation="tanh", seed=0)
    assert [layer.nin for layer in block.layers] == [2, 5]
    x = [0.1, 0.2]
    out = block(x)
    first = [v.data for v in block.layers[0](x)]
    second = [v.data for v in block.layers[1](x + first)]
    assert [v if isinstance(v, float) else v.data for v in out] == pytest.approx(
        x + first + second)
    assert block.nout == len(out) == 8


def test_positional_encoding_features():
    encoding = nn.PositionalEncoding(3)
    p = 0.3
    expected = [p]
    for k in range(3):
        expected += [math.sin(2**k * math.pi * p), math.cos(2**k * math.pi * p)]
    assert encoding([p]) == pytest.approx(expected)
    assert encoding.output_size(2) == len(encoding([0.1, 0.2])) == 14
    x = Value(0.3)
    features = encoding([x])
    features[-2].backward()  # d sin(4 pi x)/dx = 4 pi cos(4 pi x)
    assert x.grad == pytest.approx(4 * math.pi * math.cos(4 * math.pi * 0.3))
