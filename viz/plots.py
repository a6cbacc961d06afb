"""Plots of models and training (matplotlib, headless): each function returns a Figure.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot state), so
they work without a display; save them with ``fig.savefig(path)``.

Models with the ``nn`` layer structure are evaluated on whole grids at once by
replaying their own recorded graph with numpy (:func:`viz.network.batched_forward`),
checked against the model's own output on a few points; other models are asked
through ``predict_proba`` / ``predict`` or, last, called point by point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from autograd_core import Value, no_grad
from autograd_core.trace import TraceWarning

from .network import batched_forward, dense_layers, layer_weights

__all__ = [
    "plot_decision_boundary",
    "plot_activations",
    "plot_history",
    "plot_weights",
    "decision_grid",
    "model_scores",
    "predict_classes",
    "DecisionGrid",
]

_CLASS_COLOURS = ["#e07b00", "#2b6cb0", "#2f9e44", "#c2255c", "#7048e8", "#868e96"]


def _as_points(X: Any, name: str = "X") -> np.ndarray:
    points = np.asarray(X, dtype=float)
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array [n, features]; got shape "
                         f"{points.shape}")
    return points


def _call_model(model: Any, points: np.ndarray) -> np.ndarray:
    """The model's raw outputs, one call per point, without recording a graph."""
    rows = []
    with no_grad():
        for point in points:
            output = model([float(v) for v in point])
            items = output if isinstance(output, (list, tuple)) else [output]
            rows.append([float(v.data) if isinstance(v, Value) else float(v) for v in items])
    return np.array(rows, dtype=float)


def _layered(model: Any) -> bool:
    try:
        dense_layers(model)
    except TypeError:
        return False
    return True


def model_scores(model: Any, X: Any) -> np.ndarray:
    """The model's outputs for every row of ``X`` as an ``[n, outputs]`` array.

    Uses a batched numpy forward for layered ``nn`` models (verified against calling
    the model on the first rows), else ``predict_proba``, else one call per row.
    """
    return _scores(model, _as_points(X))[0]


def _scores(model: Any, points: np.ndarray) -> tuple[np.ndarray, bool]:
    """Scores and whether they are probabilities (so the class threshold is 0.5)."""
    layered = callable(model) and _layered(model)
    sigmoid_output = layered and str(getattr(model, "output_activation", "")) == "sigmoid"
    if layered:
        try:
            fast = batched_forward(model, points)[-1]
        except (NotImplementedError, ValueError, TraceWarning):
            fast = None
        if fast is not None:
            check = _call_model(model, points[:3])
            if check.shape == fast[:3].shape and np.allclose(check, fast[:3], rtol=1e-6,
                                                             atol=1e-9):
                return fast, sigmoid_output
    if hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(points), dtype=float)
        return probabilities.reshape(len(points), -1), True
    if not callable(model):
        raise TypeError(f"cannot evaluate {model!r}: expected an nn model (callable) or an "
                        "object with predict_proba")
    return _call_model(model, points), sigmoid_output


def predict_classes(model: Any, X: Any, *, threshold: float | None = None) -> np.ndarray:
    """Class labels ``0..k-1`` for every row of ``X``.

    One output: class 1 where the score exceeds ``threshold`` (default 0.5 for a
    sigmoid output or probabilities, else 0, the hinge loss's boundary). Several
    outputs: the argmax. Objects that only have ``predict`` use it.
    """
    points = _as_points(X)
    if not callable(model) and not hasattr(model, "predict_proba") and hasattr(model, "predict"):
        return np.asarray(model.predict(points)).astype(int)
    scores, probabilities = _scores(model, points)
    if scores.shape[1] > 1:
        return scores.argmax(axis=1)
    if threshold is None:
        threshold = 0.5 if probabilities else 0.0
    return (scores[:, 0] > threshold).astype(int)


class DecisionGrid(NamedTuple):
    """A grid over the input plane and the predicted class at each grid point."""

    xx: np.ndarray
    yy: np.ndarray
    classes: np.ndarray


def decision_grid(
    model: Any, X: Any, *, resolution: int = 150, margin: float = 0.25,
    threshold: float | None = None,
) -> DecisionGrid:
    """Predicted classes on a ``resolution`` x ``resolution`` grid around the 2-D data ``X``."""
    points = _as_points(X)
    if points.shape[1] != 2:
        raise ValueError(f"decision boundaries need 2-D inputs; X has {points.shape[1]} columns")
    if type(resolution) is not int or not 2 <= resolution <= 2000:
        raise ValueError(f"resolution must be an int from 2 to 2000; got {resolution!r}")
    xx, yy = _plane(points, resolution, margin)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    classes = predict_classes(model, grid, threshold=threshold).reshape(xx.shape)
    return DecisionGrid(xx, yy, classes)


def _plane(points: np.ndarray, resolution: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * margin + 1e-9
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    return np.meshgrid(xs, ys)


def _check_labels(y: Any, n: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise ValueError(f"y must have one label per row of X ({n}); got shape {labels.shape}")
    return labels


def plot_decision_boundary(
    model: Any, X: Any, y: Any, *, resolution: int = 150, threshold: float | None = None,
    title: str = "Decision boundary",
) -> Figure:
    """The regions a 2-D classifier assigns to each class, with the data points on top.

    Args:
        model: an ``nn`` model (scores from its outputs) or an object with
            ``predict_proba`` / ``predict``.
        X: ``[n, 2]`` inputs; y: ``[n]`` labels (0..k-1, or -1/1).
        resolution: grid points per axis.
        threshold: score threshold for a one-output model (see :func:`predict_classes`).
    """
    points = _as_points(X)
    labels = _check_labels(y, len(points))
    grid = decision_grid(model, points, resolution=resolution, threshold=threshold)
    classes = np.unique(np.concatenate([np.unique(labels), np.unique(grid.classes)]))
    colours = ListedColormap(_CLASS_COLOURS[: max(len(classes), 2)])
    figure = Figure(figsize=(5.5, 4.5), dpi=100)
    axes = figure.add_subplot()
    index = {label: i for i, label in enumerate(classes)}
    region = np.vectorize(index.get)(grid.classes)
    axes.contourf(grid.xx, grid.yy, region, levels=np.arange(len(classes) + 1) - 0.5,
                  cmap=colours, alpha=0.25)
    axes.contour(grid.xx, grid.yy, region, levels=np.arange(len(classes)) + 0.5,
                 colors="#333333", linewidths=1.0)
    axes.scatter(points[:, 0], points[:, 1], c=[index[v] for v in labels], cmap=colours,
                 vmin=-0.5, vmax=len(classes) - 0.5, s=22, edgecolors="black", linewidths=0.5)
    accuracy = float(np.mean(predict_classes(model, points, threshold=threshold)
                             == _as_class_labels(labels)))
    axes.set_title(f"{title} (accuracy {accuracy:.0%})")
    axes.set_xlabel("$x_1$")
    axes.set_ylabel("$x_2$")
    figure.tight_layout()
    return figure


def _as_class_labels(labels: np.ndarray) -> np.ndarray:
    """-1/+1 labels (hinge loss) compare as 0/1 with predicted classes."""
    values = set(np.unique(labels).tolist())
    return (labels > 0).astype(int) if values <= {-1, 1} else labels


def plot_activations(
    model: Any, *, layer: int = 0, X: Any = None, y: Any = None, resolution: int = 80,
    extent: tuple[float, float, float, float] | None = None, max_neurons: int = 32,
) -> Figure:
    """One heatmap per neuron of ``layer``: its activation over the 2-D input plane.

    Args:
        model: a layered ``nn`` model with 2 inputs.
        layer: which layer (0 = first hidden layer; negative counts from the end).
        X, y: optional data points drawn on every panel (and used for the extent).
        extent: ``(x_min, x_max, y_min, y_max)``; default from ``X`` or [-2, 2]^2.
        max_neurons: draw at most this many panels.
    """
    layers = dense_layers(model)
    if type(layer) is not int or not -len(layers) <= layer < len(layers):
        raise ValueError(f"layer must be an int in [{-len(layers)}, {len(layers) - 1}]; "
                         f"got {layer!r}")
    if extent is None:
        if X is not None:
            xx, yy = _plane(_as_points(X), resolution, 0.25)
        else:
            xx, yy = np.meshgrid(np.linspace(-2, 2, resolution), np.linspace(-2, 2, resolution))
    else:
        x0, x1, y0, y1 = (float(v) for v in extent)
        xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    activations = batched_forward(model, grid)[layer]
    count = min(activations.shape[1], max_neurons)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(2.6 * columns, 2.4 * rows), dpi=100)
    points = None if X is None else _as_points(X)
    labels = None if y is None or points is None else _check_labels(y, len(points))
    for j in range(count):
        axes = figure.add_subplot(rows, columns, j + 1)
        image = activations[:, j].reshape(xx.shape)
        mesh = axes.pcolormesh(xx, yy, image, cmap="viridis", shading="auto")
        if points is not None:
            axes.scatter(points[:, 0], points[:, 1], s=4,
                         c="white" if labels is None else _as_class_labels(labels),
                         cmap=ListedColormap(["white", "black"]), linewidths=0)
        axes.set_title(f"layer {layer % len(layers)}, neuron {j}", fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
        figure.colorbar(mesh, ax=axes, fraction=0.046, pad=0.02)
    figure.tight_layout()
    return figure


def _series(history: Any, name: str) -> list[float]:
    if isinstance(history, Mapping):
        values = history.get(name)
    else:
        values = getattr(history, name, None)
    return [] if values is None else [float(v) for v in values]


def plot_history(history: Any, *, title: str = "Training") -> Figure:
    """Loss (and accuracy, if recorded) per epoch, training and validation.

    Args:
        history: ``nn``'s History (``.loss``, ``.accuracy``, ``.val_loss``,
            ``.val_accuracy``) or a dict with those keys.
    """
    loss = _series(history, "loss")
    if not loss:
        raise ValueError(f"history has no loss values to plot: {history!r}")
    accuracy = _series(history, "accuracy")
    val_loss, val_accuracy = _series(history, "val_loss"), _series(history, "val_accuracy")
    panels = 2 if accuracy or val_accuracy else 1
    figure = Figure(figsize=(5 * panels, 3.6), dpi=100)
    axes = figure.add_subplot(1, panels, 1)
    axes.plot(range(1, len(loss) + 1), loss, label="training", color="#2b6cb0")
    if val_loss:
        axes.plot(range(1, len(val_loss) + 1), val_loss, label="validation", color="#e07b00")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title(f"{title}: loss")
    axes.grid(alpha=0.3)
    axes.legend()
    if panels == 2:
        axes = figure.add_subplot(1, 2, 2)
        if accuracy:
            axes.plot(range(1, len(accuracy) + 1), accuracy, label="training", color="#2b6cb0")
        if val_accuracy:
            axes.plot(range(1, len(val_accuracy) + 1), val_accuracy, label="validation",
                      color="#e07b00")
        axes.set_xlabel("epoch")
        axes.set_ylabel("accuracy")
        axes.set_ylim(0, 1.02)
        axes.set_title(f"{title}: accuracy")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    return figure


def plot_weights(
    layer_or_weights: Any, *, image_shape: Sequence[int] | None = None, max_images: int = 64,
    title: str = "Weights",
) -> Figure:
    """A layer's weights as pictures (the lecture's "interpreting network weights").

    With ``image_shape`` (for example ``(8, 8)`` for 64 pixel inputs), each neuron's
    weights are drawn as an image of that shape: what the neuron responds to. Without
    it, the whole ``[out, in]`` matrix is one image. Blue is positive, orange negative,
    on one symmetric scale.

    Args:
        layer_or_weights: an ``nn`` Layer (or any module with one dense layer, or a
            Neuron) or an ``[out, in]`` array.
    """
    if isinstance(layer_or_weights, (np.ndarray, list)):
        weights = np.asarray(layer_or_weights, dtype=float)
        if weights.ndim == 1:
            weights = weights[None, :]
    else:
        layers = dense_layers(layer_or_weights)
        if len(layers) != 1:
            raise ValueError(f"plot_weights draws one layer; got a module with {len(layers)} "
                             "layers (pass model.layers[i])")
        weights, _ = layer_weights(layers[0])
    if weights.ndim != 2 or weights.size == 0:
        raise ValueError(f"weights must be a non-empty [out, in] matrix; got {weights.shape}")
    bound = float(np.abs(weights).max()) or 1.0
    colours = _DIVERGING
    if image_shape is None:
        figure = Figure(figsize=(min(12, 1 + 0.3 * weights.shape[1]) + 1,
                                 min(10, 1 + 0.3 * weights.shape[0]) + 0.6), dpi=100)
        axes = figure.add_subplot()
        mesh = axes.imshow(weights, cmap=colours, vmin=-bound, vmax=bound, aspect="auto")
        axes.set_xlabel("input")
        axes.set_ylabel("neuron")
        axes.set_title(title)
        figure.colorbar(mesh, ax=axes)
        figure.tight_layout()
        return figure
    shape = tuple(int(v) for v in image_shape)
    if int(np.prod(shape)) != weights.shape[1]:
        raise ValueError(f"image_shape {shape} has {int(np.prod(shape))} pixels but each "
                         f"neuron has {weights.shape[1]} weights")
    count = min(weights.shape[0], max_images)
    columns = min(count, 8)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(1.4 * columns + 0.8, 1.5 * rows + 0.4), dpi=100)
    mesh = None
    for j in range(count):
        axes = figure.add_subplot(rows, columns, j + 1)
        mesh = axes.imshow(weights[j].reshape(shape), cmap=colours, vmin=-bound, vmax=bound)
        axes.set_title(f"neuron {j}", fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.suptitle(title)
    figure.colorbar(mesh, ax=figure.axes, fraction=0.03)
    return figure


# Orange (negative) - white - blue (positive), matching draw_network's edge colours.
_DIVERGING = ListedColormap(
    np.vstack([
        np.linspace([0.878, 0.482, 0.0], [1.0, 1.0, 1.0], 128),
        np.linspace([1.0, 1.0, 1.0], [0.169, 0.424, 0.690], 128),
    ]),
    name="backprop_lab_weights",
)
