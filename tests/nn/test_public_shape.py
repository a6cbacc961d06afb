"""nn's public shape: weights and biases as arrays, activations by name, layers in order,
the output activation, a public forward on a list, predictions; names that follow
PyTorch (parameters named after the state, modules(), losses with their kind)."""

import pickle
import warnings

import numpy as np
import pytest

import nn
from autograd_core import Value


def test_layer_weight_and_bias_read_as_out_by_in_arrays():
    layer = nn.Layer(3, 2, "tanh", seed=0)
    expected = [[w.data for w in neuron.w] for neuron in layer.neurons]
    assert layer.weight.shape == (2, 3) and layer.weight.tolist() == expected
    assert layer.bias.tolist() == [0.0, 0.0]
    copy = layer.weight
    copy[0, 0] = 99.0  # a copy: the layer is unchanged
    assert layer.neurons[0].w[0].data == expected[0][0]
    neuron = nn.Neuron(2, seed=0)
    assert neuron.weight.shape == (1, 2) and neuron.bias.shape == (1,)


def test_assigning_arrays_writes_the_parameters():
    layer = nn.Layer(2, 2, "linear", seed=0)
    layer.weight = [[1.0, 2.0], [3.0, 4.0]]
    layer.bias = np.array([0.5, -0.5])
    assert [w.data for w in layer.neurons[1].w] == [3.0, 4.0]
    assert [n.b.data for n in layer.neurons] == [0.5, -0.5]
    assert [v.data for v in layer([1.0, 1.0])] == [3.5, 6.5]
    assert layer.state_dict()["weight"].tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("value, error", [
    ([[1.0, 2.0]], ValueError),  # wrong shape
    ([[1.0, float("nan")], [0.0, 0.0]], ValueError),
    ([[1.0, np.inf], [0.0, 0.0]], ValueError),
    ([["a", "b"], ["c", "d"]], TypeError),
    ([[1.0, 2.0], [3.0]], ValueError),  # ragged
    # finite in long double, beyond float64: not silently inf
    (np.array([[1.0, np.longdouble("1e400")], [0.0, 0.0]], dtype=np.longdouble), ValueError),
])
def test_bad_arrays_are_refused_and_nothing_is_written(value, error):
    layer = nn.Layer(2, 2, seed=0)
    before = layer.weight
    with pytest.raises(error, match="Layer.weight"):
        layer.weight = value
    assert layer.weight.tolist() == before.tolist()


def test_activation_names_and_output_activation():
    model = nn.MLP(2, [3, 3, 1], activation="relu", output_activation="sigmoid", seed=0)
    assert [layer.activation for layer in model.dense_layers()] == ["relu", "relu", "sigmoid"]
    assert model.output_activation == "sigmoid"
    assert nn.LogisticRegression(2).output_activation == "linear"
    chain = nn.Sequential(nn.Layer(2, 2, "tanh"), nn.Sequential(nn.Layer(2, 1, "relu")))
    assert chain.output_activation == "relu"
    assert nn.Residual(nn.Layer(2, 2)).output_activation is None
    assert nn.Sequential(nn.Layer(2, 2), nn.DenseBlock(2, 1, 1)).output_activation is None


def test_dense_layers_in_order_for_every_chain():
    first, second = nn.Layer(2, 3, seed=0), nn.Layer(3, 1, seed=1)
    assert nn.Sequential(first, nn.Sequential(second)).dense_layers() == [first, second]
    mlp = nn.MLP(2, [4, 1], seed=0)
    assert mlp.dense_layers() == mlp.layers
    neuron = nn.Neuron(2)
    assert neuron.dense_layers() == [neuron]
    softmax = nn.SoftmaxRegression(2, 3)
    assert [layer.weight.shape for layer in softmax.dense_layers()] == [(3, 2)]


def test_dense_layers_refuses_what_is_not_a_chain_and_names_it():
    with pytest.raises(TypeError, match="holds a Highway"):
        nn.Sequential(nn.Layer(2, 2), nn.Highway(2)).dense_layers()
    with pytest.raises(TypeError, match="holds a Residual"):
        nn.Residual(nn.Layer(2, 2)).dense_layers()


def test_forward_values_is_the_forward_on_a_list():
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0)
    x = [0.3, -0.2]
    values = x
    for layer in model.dense_layers():
        values = layer.forward_values(values)
    assert [v.data for v in values] == [v.data for v in model(x)]
    neuron = nn.Neuron(2, "tanh", seed=0)
    assert [v.data for v in neuron.forward_values(x)] == [neuron(x).data]
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        model.layers[1].forward_values(x)
    with pytest.raises(TypeError, match="forward_values takes a list"):
        model.layers[0].forward_values("ab")


def test_predict_proba_from_logits_and_from_a_sigmoid_output():
    model = nn.Layer(1, 1, "linear", seed=0)
    model.weight, model.bias = [[1.0]], [0.0]
    X = np.array([[0.0], [2.0], [-800.0]])
    proba = nn.predict_proba(model, X)
    assert proba[:, 1] == pytest.approx([0.5, 1 / (1 + np.exp(-2.0)), 0.0])
    assert proba[2, 0] == 1.0 and proba.sum(axis=1) == pytest.approx(1.0)
    sigmoid = nn.Layer(1, 1, "sigmoid", seed=0)
    sigmoid.weight, sigmoid.bias = [[1.0]], [0.0]
    assert nn.predict_proba(sigmoid, X)[:, 1] == pytest.approx(proba[:, 1])
    three = nn.Layer(2, 3, "linear", seed=0)
    three.weight, three.bias = np.zeros((3, 2)), [0.0, np.log(2.0), np.log(5.0)]
    assert nn.predict_proba(three, np.zeros((1, 2)))[0] == pytest.approx([1 / 8, 2 / 8, 5 / 8])
    with pytest.raises(ValueError, match="sigmoid outputs"):
        nn.predict_proba(nn.Layer(2, 3, "sigmoid"), np.zeros((1, 2)))


def test_linear_models_share_the_probability_maths():
    X, y = nn.make_blobs(20, centers=[[-1, 0], [1, 0]], seed=0)
    model = nn.LogisticRegression(2, seed=0)
    model.fit(X, y, epochs=3, lr=0.5)
    np.testing.assert_allclose(model.predict_proba(X),
                               nn.probabilities(model.decision_function(X)[:, None]))
    assert nn.predict_proba(model, X).tolist() == model.predict_proba(X).tolist()


def test_parameter_names_are_the_state_keys_with_an_index():
    model = nn.Sequential(nn.MLP(2, [3, 2], seed=0), nn.Highway(2, seed=1))
    state = model.state_dict()
    named = model.named_parameters()
    assert {name.partition("[")[0] for name, _ in named} == set(state)
    for name, param in named:
        key, _, index = name.partition("[")
        position = tuple(int(i) for i in index.rstrip("]").split(", "))
        assert state[key][position] == param.data
    assert [p for _, p in named] == model.parameters()
    assert len(named) == model.num_parameters() == sum(a.size for a in state.values())


def test_scalar_parameters_outside_any_array_keep_their_name():
    class Scale(nn.Module):
        def __init__(self):
            self.k = Value(2.0)

        def _own_parameters(self):
            return [("k", self.k)]

        def forward(self, x):
            return [self.k * v for v in x]

    model = nn.Sequential(nn.Layer(1, 1, seed=0), Scale())
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight[0, 0]", "0.bias[0]", "1.k"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.k"]


def test_old_parameter_names_still_work_with_a_warning():
    model = nn.MLP(2, [3, 1], seed=0)
    assert model.get_parameter("layers.1.weight[0, 2]") is model.layers[1].neurons[0].w[2]
    with pytest.warns(DeprecationWarning, match=r"now 'layers.0.bias\[1\]'"):
        assert model.get_parameter("layers.0.neurons.1.b") is model.layers[0].neurons[1].b
    with pytest.raises(KeyError, match="no parameter named"):
        model.get_parameter("layers.9.weight[0, 0]")


def test_modules_is_a_method_and_the_old_list_warns():
    first, second = nn.Layer(2, 2, seed=0), nn.Layer(2, 1, seed=1)
    chain = nn.Sequential(first, second)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # every module of the tree, depth first, the neurons too (as torch's modules())
        assert chain.modules() == [chain, first, *first.neurons, second, *second.neurons]
        assert chain.children() == [first, second]
        assert list(chain) == [first, second] and chain[1] is second and len(chain) == 2
    with pytest.warns(DeprecationWarning, match="Sequential.modules as a list"):
        assert chain.modules[0] is first
    with pytest.warns(DeprecationWarning):
        assert list(chain.modules) == [first, second]


@pytest.mark.parametrize("loss, kind", [
    (nn.mse_loss, "real"), (nn.binary_cross_entropy, "binary"),
    (nn.binary_cross_entropy_with_logits, "binary"), (nn.hinge_loss, "sign"),
    (nn.perceptron_loss, "sign"), (nn.cross_entropy, "index"), (nn.nll_loss, "index"),
    (nn.multiclass_hinge_loss, "index"),
])
def test_losses_are_objects_with_their_kind(loss, kind):
    assert isinstance(loss, nn.Loss)
    assert loss.target_kind == kind and kind in nn.TARGET_KINDS
    assert loss.__name__ == loss.name and loss.name in repr(loss)
    assert pickle.loads(pickle.dumps(loss)) is loss
    assert "Example" in loss.__doc__


class _Halved(nn.Loss):
    def _sample_losses(self, outputs, target):
        return [0.5 * nn.mse_loss(outputs, target, reduction="sum")]


def test_a_loss_of_ones_own_is_a_loss_and_pickles_by_value():
    halved = _Halved("halved", "real")
    assert halved([Value(3.0)], [1.0]).data == 2.0
    copy = pickle.loads(pickle.dumps(halved))
    assert copy is not halved and copy.name == "halved" and copy.target_kind == "real"


def test_a_loss_kind_must_be_known():
    with pytest.raises(ValueError, match="unknown target_kind 'ordinal'"):
        nn.Loss("mine", "ordinal")
