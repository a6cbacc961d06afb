"""draw_network and the plots: diagrams parsed as SVG, figures checked as pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from viz import (  # noqa: E402
    decision_grid,
    draw_network,
    plot_activations,
    plot_decision_boundary,
    plot_history,
    plot_weights,
    predict_classes,
    to_svg,
)
from viz.network import NEGATIVE, POSITIVE, batched_forward  # noqa: E402

from .helpers import SVG, ContractMLP, moons, svg_groups, trained_moons_mlp  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    return trained_moons_mlp()


def _pixels(figure, path) -> np.ndarray:
    figure.savefig(path)
    assert path.stat().st_size > 1000
    return imread(path)


def test_network_diagram_has_a_circle_per_unit_and_weight_coloured_edges(trained):
    model, _, _ = trained
    svg = to_svg(draw_network(model))
    nodes = {k: g for k, g in svg_groups(svg, "node").items() if not k.startswith("title")}
    assert len(nodes) == 2 + 16 + 16 + 1
    assert all(len(list(g.iter(f"{SVG}ellipse"))) == 1 for g in nodes.values())
    edges = svg_groups(svg, "edge")
    assert len(edges) == 2 * 16 + 16 * 16 + 16
    widths = []
    for key, group in edges.items():
        layer, neuron, source = (int(v) for v in key[1:].split("_"))
        weight = model.layers[layer].weight[neuron, source]
        path = next(group.iter(f"{SVG}path"))
        assert path.get("stroke") == (POSITIVE if weight >= 0 else NEGATIVE)
        widths.append((abs(weight), float(path.get("stroke-width", "1"))))
    widths.sort()
    assert all(a[1] <= b[1] + 1e-9 for a, b in zip(widths, widths[1:]))  # wider when larger


def test_network_diagram_names_and_errors(trained):
    model, _, _ = trained
    source = draw_network(model, input_names=["a", "b"], output_names=["score"]).source
    assert "label=a" in source and "label=score" in source
    with pytest.raises(ValueError, match="input_names"):
        draw_network(model, input_names=["a"])
    with pytest.raises(TypeError, match="dense layers"):
        draw_network(object())


def test_batched_forward_matches_calling_the_model(trained):
    model, X, _ = trained
    fast = batched_forward(model, X[:10])[-1][:, 0]
    slow = [model(list(x))[0].data for x in X[:10]]
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_decision_boundary_of_trained_moons_model_separates_the_classes(trained, tmp_path):
    model, X, y = trained
    assert np.mean(predict_classes(model, X) == y) >= 0.97
    grid = decision_grid(model, X, resolution=120)
    # The class of the grid cell under each data point is that point's label.
    cols = np.abs(grid.xx[0][None, :] - X[:, :1]).argmin(axis=1)
    rows = np.abs(grid.yy[:, 0][None, :] - X[:, 1:]).argmin(axis=1)
    assert np.mean(grid.classes[rows, cols] == y) >= 0.95
    assert set(np.unique(grid.classes)) == {0, 1}
    image = _pixels(plot_decision_boundary(model, X, y), tmp_path / "boundary.png")
    assert image[..., :3].std() > 0.05


def test_untrained_model_does_not_separate_the_classes():
    X, y = moons(100, 0.1, 0)
    model = ContractMLP([np.array([[1.0, 0.0]])], [np.array([0.0])], ["linear"])
    assert np.mean(predict_classes(model, X) == y) < 0.9


def test_activation_heatmaps_are_not_blank(trained, tmp_path):
    model, X, y = trained
    figure = plot_activations(model, layer=0, X=X, y=y, resolution=40, max_neurons=4)
    assert len([a for a in figure.axes if a.get_title().startswith("layer 0")]) == 4
    image = _pixels(figure, tmp_path / "activations.png")
    assert image[..., :3].std() > 0.05


def test_history_curves(tmp_path):
    history = {"loss": [1.0, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.85, 0.9],
               "val_loss": [1.1, 0.7, 0.5, 0.45]}
    figure = plot_history(history)
    loss_axes, accuracy_axes = figure.axes
    np.testing.assert_allclose(loss_axes.lines[0].get_ydata(), history["loss"])
    np.testing.assert_allclose(loss_axes.lines[1].get_ydata(), history["val_loss"])
    np.testing.assert_allclose(accuracy_axes.lines[0].get_ydata(), history["accuracy"])
    assert _pixels(figure, tmp_path / "history.png")[..., :3].std() > 0.05
    with pytest.raises(ValueError, match="no loss"):
        plot_history({"loss": []})


def test_weights_as_images(trained, tmp_path):
    model, _, _ = trained
    matrix = plot_weights(model.layers[1])
    shown = matrix.axes[0].images[0].get_array()
    expected = model.layers[1].weight.tolist()
    np.testing.assert_allclose(shown, expected)
    assert _pixels(matrix, tmp_path / "weights.png")[..., :3].std() > 0.05
    rng = np.random.default_rng(0)
    digits = rng.normal(size=(6, 64))
    images = plot_weights(digits, image_shape=(8, 8))
    first = images.axes[0].images[0].get_array()
    np.testing.assert_allclose(first, digits[0].reshape(8, 8))
    assert _pixels(images, tmp_path / "digits.png")[..., :3].std() > 0.05
    with pytest.raises(ValueError, match="pixels"):
        plot_weights(digits, image_shape=(7, 7))
    with pytest.raises(ValueError, match="one layer"):
        plot_weights(model)
