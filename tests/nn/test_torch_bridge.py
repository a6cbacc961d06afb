"""nn.to_torch and nn.from_torch: the same numbers on both sides, in float64.

For every kind of module that has a PyTorch form, Hypothesis draws the shapes,
activations, weights and inputs; the model moved to PyTorch and the model moved back
must give the original's outputs and every parameter's gradient to 1e-12.
PyTorch comes with the project's set-up (the torch extra), so these tests never skip.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd_core import Value

from .torch_helpers import as_outputs, grad_arrays, torch_grads

TOL = dict(rtol=1e-12, atol=1e-12)
# The activations torch has a module for (nn.ACTIVATIONS has every one-input rule).
ACTIVATIONS = ["leaky_relu", "linear", "relu", "sigmoid", "tanh"]


def _build(kind: str, nin: int, draw) -> nn.Module:
    """One model of ``kind`` taking ``nin`` inputs, shapes and activations drawn."""
    act = draw(st.sampled_from(ACTIVATIONS))
    act2 = draw(st.sampled_from(ACTIVATIONS))
    width = draw(st.integers(1, 4))
    nout = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    if kind == "neuron":
        return nn.Neuron(nin, act, seed=seed)
    if kind == "layer":
        return nn.Layer(nin, nout, act, seed=seed)
    if kind == "mlp":
        widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
        return nn.MLP(nin, widths, act, act2, seed=seed)
    if kind == "sequential":
        return nn.Sequential(nn.Layer(nin, width, act, seed=seed),
                             nn.Layer(width, nout, act2, seed=seed + 1))
    if kind == "residual":
        return nn.Residual(nn.MLP(nin, [width, nin], act, act2, seed=seed))
    if kind == "highway":
        return nn.Highway(nin, act, gate_bias=draw(st.floats(-2, 2)), seed=seed)
    if kind == "dense_block":
        return nn.DenseBlock(nin, width, draw(st.integers(1, 3)), act, seed=seed)
    if kind == "positional_encoding":
        encoding = nn.PositionalEncoding(draw(st.integers(1, 3)),
                                         include_input=draw(st.booleans()))
        return nn.Sequential(encoding, nn.Layer(encoding.output_size(nin), nout, act,
                                                seed=seed))
    if kind == "perceptron":
        return nn.Perceptron(nin, init="uniform", seed=seed)
    if kind == "logistic_regression":
        return nn.LogisticRegression(nin, init="uniform", seed=seed)
    if kind == "softmax_regression":
        return nn.SoftmaxRegression(nin, nout + 1, init="uniform", seed=seed)
    if kind == "nested":
        return nn.Sequential(nn.Residual(nn.Layer(nin, nin, act, seed=seed)),
                             nn.Highway(nin, act2, seed=seed + 1),
                             nn.DenseBlock(nin, width, 2, act, seed=seed + 2),
                             nn.MLP(nin + 2 * width, [width, nout], act2, act, seed=seed + 3))
    raise AssertionError(kind)


KINDS = ["neuron", "layer", "mlp", "sequential", "residual", "highway", "dense_block",
         "positional_encoding", "perceptron", "logistic_regression", "softmax_regression",
         "nested"]


def _random_state(model: nn.Module, rng: np.random.Generator) -> None:
    """Every parameter drawn afresh (biases too, which start at 0)."""
    model.load_state_dict({key: rng.normal(scale=0.8, size=value.shape)
                           for key, value in model.state_dict().items()})


def _nn_run(model, X, weights):
    """Outputs [n, k] and the gradients of sum(weights * outputs), on nn's engine."""
    model.zero_grad()
    outputs = [model(row.tolist()) for row in X]
    rows = [output if isinstance(output, list) else [output] for output in outputs]
    total = sum((float(c) * v for row, cs in zip(rows, weights) for v, c in zip(row, cs)),
                Value(0.0))
    total.backward()
    return np.array([as_outputs(row) for row in rows]), grad_arrays(model)


def _torch_run(module, X, weights):
    module.zero_grad()
    out = module(torch.tensor(X, dtype=torch.float64))
    (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), torch_grads(module)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15)
@given(data=st.data())
def test_round_trip_keeps_outputs_and_gradients(kind, data):
    nin = data.draw(st.integers(1, 4))
    model = _build(kind, nin, data.draw)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    _random_state(model, rng)
    samples = data.draw(st.integers(1, 3))
    X = np.array(data.draw(st.lists(st.lists(st.floats(-3, 3), min_size=nin, max_size=nin),
                                    min_size=samples, max_size=samples)))
    nout = len(as_outputs(model(X[0].tolist())))
    weights = rng.normal(size=(samples, nout))
    expected, expected_grads = _nn_run(model, X, weights)

    module = nn.to_torch(model)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert [p.detach().numpy().tolist() for p in module.parameters()] == [
        value.tolist() for value in model.state_dict().values()]
    outputs, grads = _torch_run(module, X, weights)
    np.testing.assert_allclose(outputs, expected, **TOL)
    assert len(grads) == len(expected_grads)
    for got, want in zip(grads, expected_grads):
        np.testing.assert_allclose(got, want, **TOL)

    back = nn.from_torch(module)
    outputs, grads = _nn_run(back, X, weights)
    np.testing.assert_allclose(outputs, expected, **TOL)
    for got, want in zip(grads, expected_grads):
        np.testing.assert_allclose(got, want, **TOL)
    assert [value.tolist() for value in back.state_dict().values()] == [
        value.tolist() for value in model.state_dict().values()]


def test_positional_encoding_alone():
    encoding = nn.PositionalEncoding(3, include_input=False)
    module = nn.to_torch(encoding)
    x = [0.3, -1.7]
    np.testing.assert_allclose(module(torch.tensor(x, dtype=torch.float64)).numpy(),
                               encoding(x), **TOL)
    back = nn.from_torch(module)
    assert isinstance(back, nn.PositionalEncoding)
    assert (back.num_frequencies, back.include_input) == (3, False)


def test_dense_models_become_plain_torch_modules_and_come_back_as_their_shape():
    mlp = nn.MLP(3, [4, 2], "tanh", "sigmoid", seed=0)
    module = nn.to_torch(mlp)
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    back = nn.from_torch(module)
    assert type(back) is nn.MLP and back.nouts == [4, 2]
    assert [layer.activation for layer in back.layers] == ["tanh", "sigmoid"]
    assert type(nn.to_torch(nn.LogisticRegression(3))) is torch.nn.Linear
    assert type(nn.from_torch(torch.nn.Linear(3, 2))) is nn.Layer
    leaky = nn.to_torch(nn.Layer(2, 2, "leaky_relu", seed=0))
    assert leaky[1].negative_slope == 0.01
    mixed = nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                              torch.nn.Linear(3, 3), torch.nn.Tanh(),
                                              torch.nn.Linear(3, 1)))
    assert type(mixed) is nn.Sequential  # hidden activations differ: not one MLP


@pytest.mark.parametrize("activation, name", [
    (torch.nn.ReLU(inplace=True), "relu"),
    (torch.nn.LeakyReLU(0.01, inplace=True), "leaky_relu"),
])
def test_in_place_activations_convert_like_the_others(activation, name):
    # inplace only says where torch writes the result; the maths is the same
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 3).double(), activation)
    back = nn.from_torch(module)
    assert back.activation == name
    x = np.array([[0.3, -1.2], [-0.7, 2.0]])
    want = module(torch.tensor(x)).detach().numpy()
    got = np.array([[v.data for v in back(list(row))] for row in x])
    np.testing.assert_allclose(got, want, **TOL)


def test_float32_modules_convert_both_ways():
    model = nn.MLP(2, [3, 1], seed=0)
    module = nn.to_torch(model, dtype=torch.float32)
    assert module[0].weight.dtype == torch.float32
    back = nn.from_torch(module)
    np.testing.assert_allclose(back.state_dict()["layers.0.weight"],
                               model.state_dict()["layers.0.weight"], rtol=1e-7)


def test_a_shared_layer_stays_shared():
    shared = nn.Layer(2, 2, "tanh", seed=0)
    module = nn.to_torch(nn.Sequential(shared, shared))
    assert module[0] is module[2]
    assert len(list(module.parameters())) == 2


class _Twice(nn.Module):
    def forward(self, x):
        return [2 * v for v in x]


class _MyMLP(nn.MLP):
    def forward(self, x):
        return [v * 2 for v in super().forward(x)]


@pytest.mark.parametrize("model, named", [
    (nn.Sequential(nn.Layer(2, 2, seed=0), nn.Layer(2, 1, lambda v: v * 3, seed=0)),
     r"'1' \(Layer\): its activation '<lambda>'"),
    (nn.Sequential(nn.Layer(2, 2, seed=0), _Twice()), r"'1' \(_Twice\)"),
    (nn.MLP(2, [2, 1], activation="exp", seed=0), r"'layers.0' \(Layer\): its activation 'exp'"),
    (nn.Layer(2, 1, nn.ACTIVATIONS["tanh"].__class__("tanh"), seed=0), r"its activation"),
    (nn.Residual(nn.Sequential(nn.Layer(2, 2, seed=0), _Twice())), r"'module.1' \(_Twice\)"),
    (_MyMLP(2, [2], seed=0), r"the model \(_MyMLP\)"),
])
def test_to_torch_names_the_first_part_it_cannot_convert(model, named):
    with pytest.raises(TypeError, match=named):
        nn.to_torch(model)


@pytest.mark.parametrize("module, named", [
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv1d(1, 1, 1)), r"'1' \(Conv1d\)"),
    (torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 2)),
     r"'0' \(ReLU\): an activation must follow a Linear"),
    (torch.nn.Linear(2, 2, bias=False), r"the model \(Linear\): nn's layers always have"),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LeakyReLU(0.2)),
     r"'1' \(LeakyReLU\)"),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()), r"'1' \(GELU\)"),
    (torch.nn.ReLU(), r"the model \(ReLU\)"),
])
def test_from_torch_names_the_first_part_it_cannot_convert(module, named):
    with pytest.raises(TypeError, match=named):
        nn.from_torch(module)


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="to_torch takes an nn Module"):
        nn.to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="from_torch takes a torch.nn.Module"):
        nn.from_torch(nn.Layer(2, 2))
