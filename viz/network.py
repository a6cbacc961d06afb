"""Networks as the lecture draws them: inputs, hidden layers and outputs as circles.

:func:`draw_network` reads a model through nn's public shape only: its
``dense_layers()``, and of each layer ``weight`` ``[out, in]``, ``bias``,
``activation`` and ``forward_values``. It colours each connection by the sign of its
weight (blue positive, orange negative, as TensorFlow Playground does), with a width
that grows with the weight's magnitude. :func:`dense_layers` and
:func:`batched_forward` are shared with the plots.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from typing import Any

import graphviz
import numpy as np

from autograd_core import RULES, Value
from autograd_core.trace import TraceWarning, trace

from ._render import format_number
from .style import THEMES, Style, resolve_style

__all__ = ["draw_network", "dense_layers", "layer_weights", "batched_forward", "MAX_EDGES"]

#: Most connections :func:`draw_network` draws (beyond it, dot and readers both struggle).
MAX_EDGES = 5_000
# The default theme's weight colours; a picture takes its own from its style's palette.
POSITIVE = THEMES["default"].palette["positive"]
NEGATIVE = THEMES["default"].palette["negative"]
_IDENTITY = ("linear", "identity", "none", "")
_COLUMN_GAP = 2.2  # inches between layers
_ROW_GAP = 0.62  # inches between neurons of a layer


def dense_layers(module: Any) -> list[Any]:
    """The dense layers of ``module``, first to last (its ``dense_layers()``).

    Each has ``weight`` ``[out, in]``, ``bias`` ``[out]``, ``activation`` and
    ``forward_values`` (see ``nn.layers``): an ``nn`` Neuron, Layer, MLP, Sequential
    of those or linear model, or any object of that shape.

    Raises:
        TypeError: ``module`` has no ``dense_layers()``, or it is not a chain of dense
            layers.
    """
    method = getattr(module, "dense_layers", None)
    if not callable(method):
        raise TypeError(
            f"cannot find dense layers in {module!r}: expected an nn model (a Neuron, "
            "Layer, MLP, Sequential of Layers or linear model) or an object with "
            "dense_layers()")
    layers = list(method())
    if not layers:
        raise TypeError(f"{module!r} has no dense layers")
    return layers


def layer_weights(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """A layer's weights as a ``[out, in]`` array and its biases as ``[out]``."""
    weights = np.asarray(layer.weight, dtype=float)
    biases = np.asarray(layer.bias, dtype=float)
    if weights.ndim != 2 or biases.shape != (weights.shape[0],):
        raise ValueError(f"a layer's weight must be [out, in] and its bias [out]; got "
                         f"{weights.shape} and {biases.shape}")
    return weights, biases


def batched_forward(module: Any, X: np.ndarray) -> list[np.ndarray]:
    """Every layer's activations for all rows of ``X`` at once (numpy, no graph).

    Each layer's own ``forward_values`` is called once, on the first row, and that graph
    is replayed on the whole batch (``autograd_core.trace``): each neuron's own weighted
    sum and activation are used, and no second forward pass is written here. Returns
    one ``[n, width]`` array per layer.

    Raises:
        ValueError: ``X`` is not a non-empty 2-D array of the first layer's width.
        TraceWarning: a neuron compares its data, so its graph cannot be replayed
            (raised, not warned, so that callers can fall back to calling the model).
    """
    layers = dense_layers(module)
    values = np.asarray(X, dtype=float)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(
            f"X must be a non-empty 2-D array [n, features]; got shape {values.shape}")
    expected = layer_weights(layers[0])[0].shape[1]
    if expected != values.shape[1]:
        raise ValueError(f"a layer expects {expected} inputs but gets {values.shape[1]}")

    def every_layer(inputs: list[Value]) -> list[Value]:
        outputs: list[Value] = []
        current: list[Any] = inputs
        for layer in layers:
            current = list(layer.forward_values(current))
            outputs.extend(current)
        return outputs

    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceWarning)
        flat = trace(every_layer, values[0].tolist()).forward(values)
    bounds = np.cumsum([0, *(layer_weights(layer)[0].shape[0] for layer in layers)])
    return [flat[:, start:end] for start, end in zip(bounds[:-1], bounds[1:])]


def draw_network(
    module: Any,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    precision: int = 2,
    direction: str = "LR",
    style: str | Style | None = None,
) -> graphviz.Digraph:
    """The network diagram of ``module``: one circle per input and per neuron.

    Connections are blue for positive and orange for negative weights, wider for larger
    magnitudes; hover one to see its weight, hover a neuron to see its bias.

    Args:
        module: an ``nn`` Neuron, Layer, MLP, Sequential of Layers or linear model.
        input_names: names of the inputs (default ``x1, x2, ...``).
        output_names: names of the outputs (default ``y1, y2, ...``).
        precision: digits of the weights and biases in tooltips and labels.
        direction: ``"LR"`` or ``"TB"``.
        style: a theme name, a :class:`viz.Style`, or ``None`` for the current style
            (see :func:`viz.set_style`). Its palette's ``positive`` and ``negative``
            colour the weights; with ``dashes`` negative weights are also dashed.

    Returns:
        A ``graphviz.Digraph`` (edge ids ``w<layer>_<neuron>_<input>``).
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB'; got {direction!r}")
    style = resolve_style(style)
    colours = style.palette
    layers = dense_layers(module)
    matrices = [layer_weights(layer) for layer in layers]
    nin = matrices[0][0].shape[1]
    edges = sum(w.size for w, _ in matrices)
    if edges > MAX_EDGES:
        raise ValueError(
            f"the network has {edges} connections, more than {MAX_EDGES}; draw one layer "
            "(draw_network(model.layers[i])) or use plot_weights"
        )
    inputs = list(input_names) if input_names is not None else [f"x{i + 1}" for i in range(nin)]
    if len(inputs) != nin:
        raise ValueError(f"input_names has {len(inputs)} names for {nin} inputs: {inputs!r}")
    nout = matrices[-1][0].shape[0]
    outputs = (
        list(output_names) if output_names is not None else [f"y{i + 1}" for i in range(nout)]
    )
    if len(outputs) != nout:
        raise ValueError(
            f"output_names has {len(outputs)} names for {nout} outputs: {outputs!r}"
        )
    largest = max((float(np.abs(w).max()) for w, _ in matrices if w.size), default=1.0) or 1.0

    # A layered picture needs no layout search: place the columns ourselves and let
    # neato keep the pinned positions (dot would reorder the fully connected layers).
    columns = [inputs, *[[""] * w.shape[0] for w, _ in matrices]]
    tallest = max(len(column) for column in columns)
    scale = style.scale  # circles and gaps grow with the text
    column_gap, row_gap = _COLUMN_GAP * scale, _ROW_GAP * scale
    digraph = graphviz.Digraph("network", engine="neato")
    digraph.attr(splines="false", outputorder="edgesfirst", bgcolor=colours["background"])
    digraph.attr("node", shape="circle", fixedsize="true", width=f"{0.5 * scale:.3g}",
                 fontname=style.font, fontsize=f"{style.font_size - 1:g}", style="filled",
                 color=colours["border"], fontcolor=colours["text"],
                 penwidth=style.width(1.0))
    digraph.attr("edge", arrowhead="none")

    def place(layer: int, row: int, count: int) -> str:
        along = layer * column_gap
        across = (tallest - count) * row_gap / 2 + row * row_gap
        x, y = (along, -across) if direction == "LR" else (across, -along)
        return f"{x:.3f},{y:.3f}!"

    def title(layer: int, text: str) -> None:
        along, across = layer * column_gap, row_gap
        x, y = (along, across) if direction == "LR" else (-column_gap, -along)
        digraph.node(f"title{layer}", label=html.escape(text), shape="plaintext",
                     id=f"title{layer}", style="", width=f"{1.6 * scale:.3g}",
                     pos=f"{x:.3f},{y:.3f}!", fontsize=f"{style.font_size:g}")

    previous = [f"in{i}" for i in range(nin)]
    title(0, "inputs")
    for i, (key, name) in enumerate(zip(previous, inputs)):
        digraph.node(key, label=html.escape(style.label(name)), fillcolor=colours["input"],
                     id=key, pos=place(0, i, nin), tooltip=name)
    for index, (layer, (weights, biases)) in enumerate(zip(layers, matrices)):
        last = index == len(layers) - 1
        keys = [f"l{index}n{j}" for j in range(weights.shape[0])]
        activation = str(getattr(layer, "activation", "")) or "linear"
        title(index + 1, f"{'outputs' if last else f'hidden {index + 1}'} ({activation})")
        for j, key in enumerate(keys):
            name = outputs[j] if last else _short(activation)
            digraph.node(
                key, label=html.escape(style.label(name) if last else name), id=key,
                fillcolor=colours["output" if last else "hidden"],
                pos=place(index + 1, j, len(keys)),
                tooltip=f"{name + ': ' if last else ''}bias b = "
                f"{format_number(biases[j], precision)}",
            )
        for j, key in enumerate(keys):
            for i, source in enumerate(previous):
                weight = float(weights[j, i])
                negative = weight < 0
                digraph.edge(
                    source, key, id=f"w{index}_{j}_{i}",
                    color=colours["negative" if negative else "positive"],
                    penwidth=style.width(0.3 + 4.2 * abs(weight) / largest),
                    tooltip=f"w = {format_number(weight, precision)}",
                    **({"style": "dashed"} if negative and style.dashes else {}),
                )
        previous = keys
    return digraph


def _short(activation: str) -> str:
    name = activation or "Σ"
    rule = RULES.get(name)
    return rule.symbol if rule is not None else ("Σ" if name in _IDENTITY else name)
