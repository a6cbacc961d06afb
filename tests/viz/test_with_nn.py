"""viz on the real nn package: its MLP, linear models and History, and the demo."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nn  # noqa: E402
from autograd_core import Value  # noqa: E402
from autograd_core.trace import TraceError  # noqa: E402
from viz import draw_network, model_scores, predict_classes, to_svg  # noqa: E402
from viz.demo import run_demo  # noqa: E402
from viz.network import batched_forward  # noqa: E402

from .helpers import edge_texts, node_symbols, node_texts, parse_svg, svg_groups  # noqa: E402


def test_nn_mlp_graph_collapses_to_one_node_per_neuron():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337
    score = model([Value(0.3, "x1"), Value(-0.4, "x2")])[0]
    svg = to_svg(score, collapse="neurons", mode="backward")
    assert len(svg_groups(svg, "node")) == 2 + 16 + 16 + 1
    assert len(svg_groups(svg, "edge")) == 2 * 16 + 16 * 16 + 16
    assert any(f"data {score.data:.4f}" in t for t in node_texts(svg).values())
    assert Counter(node_symbols(svg).values()) == {
        "leaf": 2, "relu(Σ2)": 16, "relu(Σ16)": 16, "Σ16": 1}


def test_nn_models_are_evaluated_in_one_batch():
    X, _ = nn.make_moons(30, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], activation="tanh", seed=3)
    expected = [model(list(x))[0].data for x in X]
    np.testing.assert_allclose(model_scores(model, X)[:, 0], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(batched_forward(model, X)[-1][:, 0], expected, rtol=1e-10,
                               atol=1e-12)


def test_nn_network_diagram_and_linear_model():
    model = nn.MLP(3, [4, 2], seed=0)
    svg = to_svg(draw_network(model))
    parse_svg(svg)
    assert len(svg_groups(svg, "edge")) == 3 * 4 + 4 * 2
    X, y = nn.make_blobs(40, centers=[[-2, 0], [2, 0]], cluster_std=0.3, seed=0)
    logistic = nn.LogisticRegression(2, seed=0)
    nn.fit(logistic, X, y, loss=nn.binary_cross_entropy_with_logits,
           optimizer=nn.SGD(logistic, lr=0.5), epochs=20, progress=False)
    assert np.mean(predict_classes(logistic, X) == y) >= 0.95
    plane = np.random.default_rng(0).uniform(-3, 3, size=(400, 2))
    np.testing.assert_array_equal(predict_classes(logistic, plane), logistic.predict(plane))


def test_demo_writes_every_picture(tmp_path, capsys):
    paths = run_demo(tmp_path / "out", steps=2)
    names = [p.name for p in paths]
    assert names == [
        "neuron_forward.svg", "neuron_backward.svg", "neuron_steps.html", "mlp_graph.svg",
        "network.svg", "decision_boundary.png", "loss.png",
    ]
    for path in paths:
        assert path.stat().st_size > 1000, path
        if path.suffix == ".svg":
            parse_svg(path.read_text())
    out = capsys.readouterr().out
    assert "337 parameters" in out and str(paths[2]) in out


def test_batch_loss_collapses_with_shared_weights_hidden():
    X, y = nn.make_moons(6, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.hinge_loss([model(list(x))[0] for x in X], list(2 * y - 1)) + nn.l2(model, 1e-4)
    svg = to_svg(loss, collapse="neurons", mode="backward")
    symbols = Counter(node_symbols(svg).values())
    n = len(X)
    # One node per neuron and sample; each sample's hinge relu(1 - y s) stays three
    # ops (y * s, 1 - ., relu) with its two constants; then the mean (sum, / and its
    # divisor), the penalty (its sum, * and the strength) and the final +. The 337
    # shared weights and the penalty's w * w terms are not drawn.
    assert symbols["relu(Σ2)"] == symbols["relu(Σ16)"] == 16 * n
    assert symbols["Σ16"] == n  # the linear output neuron
    assert symbols["relu"] == symbols["-"] == n
    assert symbols["*"] == n + 1 and symbols["Σ"] == 2 and symbols["/"] == symbols["+"] == 1
    assert symbols["leaf"] == 2 * n + 2
    assert len(svg_groups(svg, "node")) == sum(symbols.values()) == 38 * n + 7
    hinge_relus = [key for key, symbol in node_symbols(svg).items() if symbol == "relu"]
    # Each hinge relu receives one labelled edge: d relu / d(1 - y s) and the message.
    labelled = {pair: rows for pair, rows in edge_texts(svg).items() if pair[1] in hinge_relus}
    assert len(labelled) == n
    for rows in labelled.values():
        assert rows[0].startswith("∂ ") and rows[1].startswith("msg "), rows


def test_mlp_loss_keeps_sub_and_pow_when_collapsed():
    model = nn.MLP(2, [4, 1], seed=0)
    score = model([Value(0.3, "x1"), Value(-0.4, "x2")])[0]
    target = 0.25
    loss = (score - target) ** 2
    svg = to_svg(loss, collapse="neurons", mode="backward")
    symbols = node_symbols(svg)
    texts = node_texts(svg)
    # 2 inputs, 4 hidden neurons, the linear output neuron, the target, sub and pow.
    assert Counter(symbols.values()) == {
        "leaf": 3, "relu(Σ2)": 4, "Σ4": 1, "-": 1, "** 2": 1}
    sub = next(key for key, symbol in symbols.items() if symbol == "-")
    power = next(key for key, symbol in symbols.items() if symbol == "** 2")
    out = next(key for key, symbol in symbols.items() if symbol == "Σ4")
    target_leaf = next(key for key, text in texts.items() if "data 0.2500" in text)
    error = score.data - target
    assert f"data {error ** 2:.4f}" in texts[power] and "δ 1.0000" in texts[power]
    assert f"data {error:.4f}" in texts[sub] and f"δ {2 * error:.4f}" in texts[sub]
    assert f"δ {2 * error:.4f}" in texts[out]
    # The loss's edges carry their local derivative and message, as in the full view.
    edges = edge_texts(svg)
    assert edges[(sub, power)] == [f"∂ {2 * error:.4f}", f"msg {2 * error:.4f}"]
    assert edges[(out, sub)] == ["∂ 1.0000", f"msg {2 * error:.4f}"]
    assert edges[(target_leaf, sub)] == ["∂ -1.0000", f"msg {-2 * error:.4f}"]
    # Edges into a neuron stand for several links: no single derivative to print.
    assert all(edges[pair] == [] for pair in edges if pair[1] == out)
    assert sum(1 for pair in edges if pair[1] == out) == 4


def test_batched_forward_replays_the_neurons_own_activation():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=3)
    X = np.array([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]])
    layers = batched_forward(model, X)
    assert [layer.shape for layer in layers] == [(3, 3), (3, 1)]
    by_calls = np.array([[v.data for v in model(row.tolist())] for row in X])
    np.testing.assert_allclose(layers[-1], by_calls, rtol=1e-12)


def test_scores_fall_back_to_calls_when_a_neuron_branches_on_its_data():
    def bent(v):  # compares a Value: not replayable, so the plot must call the model
        return v if v > 0 else v * 0.1

    model = nn.MLP(2, [3, 1], activation=bent, seed=3)
    X = np.array([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0], [0.1, 0.2]])
    with pytest.raises(TraceError, match="decision on a Value"):
        batched_forward(model, X)
    by_calls = np.array([[v.data for v in model(row.tolist())] for row in X])
    np.testing.assert_allclose(model_scores(model, X), by_calls, rtol=1e-12)
