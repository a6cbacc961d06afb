"""Shared helpers for the viz tests: SVG parsing and small graphs built by hand."""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET

from autograd_core import Value

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str) -> ET.Element:
    """Parse SVG text (fails the test if it is not XML)."""
    return ET.fromstring(svg.encode("utf-8"))


def svg_groups(svg: str, kind: str) -> dict[str, ET.Element]:
    """The ``<g class=kind>`` groups (``node`` or ``edge``) of a Graphviz SVG, by id."""
    root = parse_svg(svg)
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == kind}


def node_texts(svg: str) -> dict[str, str]:
    """All text of each node group, joined by newlines, by node id."""
    return {
        key: "\n".join("".join(t.itertext()) for t in group.iter(f"{SVG}text")).replace("\xa0", " ")
        for key, group in svg_groups(svg, "node").items()
    }


def node_symbols(svg: str) -> dict[str, str]:
    """The op symbol in each node's title row (``name · symbol``), by node id."""
    # The name is bold, so its own <text>: the symbol row starts with " · ".
    return {
        key: next(row for row in text.split("\n") if row.startswith(" · "))[3:]
        for key, text in node_texts(svg).items()
    }


def edge_texts(svg: str) -> dict[tuple[str, str], list[str]]:
    """The label rows of each edge, by (tail id, head id), from the edge's title."""
    texts: dict[tuple[str, str], list[str]] = {}
    for group in svg_groups(svg, "edge").values():
        tail, head = group.find(f"{SVG}title").text.split("->")
        rows = [
            "".join(t.itertext()).replace("\xa0", " ").strip() for t in group.iter(f"{SVG}text")
        ]
        texts.setdefault((tail, head), []).extend(r for r in rows if r)
    return texts


def node_boxes(svg: str) -> dict[str, tuple[float, ...]]:
    """The bounding box (min x, min y, max x, max y) of each node's shapes, by node id."""
    boxes = {}
    for key, group in svg_groups(svg, "node").items():
        xs, ys = [], []
        for polygon in group.iter(f"{SVG}polygon"):
            for point in polygon.get("points").split():
                x, y = point.split(",")
                xs.append(float(x))
                ys.append(float(y))
        boxes[key] = (min(xs), min(ys), max(xs), max(ys))
    return boxes


def neuron_graph() -> tuple[Value, dict[str, Value]]:
    """o = tanh(w * x + b) at x = 0.5, w = -3, b = 2, with labels."""
    x, w, b = Value(0.5, "x"), Value(-3.0, "w"), Value(2.0, "b")
    wx = w * x
    wx.label = "wx"
    n = wx + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x": x, "w": w, "b": b, "wx": wx, "n": n, "o": o}


def neuron_hand_deltas() -> dict[str, float]:
    """Deltas of :func:`neuron_graph` derived by hand: do/dn = 1 - tanh(n)^2."""
    n = -3.0 * 0.5 + 2.0
    dn = 1.0 - math.tanh(n) ** 2
    return {"o": 1.0, "n": dn, "b": dn, "wx": dn, "w": dn * 0.5, "x": dn * -3.0}


def micrograd_mlp_output(seed: int = 0, inputs=(0.5, -0.2)) -> tuple[Value, list[Value]]:
    """One output of micrograd's demo MLP(2, [16, 16, 1]) built from Values by hand.

    Micrograd's neuron is ``sum(w_i * x_i, b)`` (a chain of adds) then relu; the last
    layer is linear. Returns the output and the 337 parameters.
    """
    rng = random.Random(seed)
    sizes = [2, 16, 16, 1]
    params: list[Value] = []
    activations: list = [Value(v, f"x{i}") for i, v in enumerate(inputs)]
    for layer in range(3):
        outputs = []
        for _ in range(sizes[layer + 1]):
            weights = [Value(rng.uniform(-1, 1)) for _ in range(sizes[layer])]
            bias = Value(0.0)
            params += [*weights, bias]
            act = sum((w * a for w, a in zip(weights, activations)), bias)
            outputs.append(act.relu() if layer < 2 else act)
        activations = outputs
    return activations[0], params


# -- contract-shaped models (nn's public shape: dense_layers(), weight, bias, ...) ---


class ContractLayer:
    """A dense layer of nn's public shape, not made by nn: ``weight`` [out, in], ``bias``,
    ``activation``, ``nin``, ``nout`` and ``forward_values``."""

    def __init__(self, weights, biases, activation):
        self._w = [[Value(float(w)) for w in row] for row in weights]
        self._b = [Value(float(b)) for b in biases]
        self.nin, self.nout, self.activation = len(weights[0]), len(weights), activation
        self.output_activation = activation

    def dense_layers(self):
        return [self]

    @property
    def weight(self):
        import numpy as np

        return np.array([[w.data for w in row] for row in self._w])

    @property
    def bias(self):
        import numpy as np

        return np.array([b.data for b in self._b])

    def forward_values(self, x):
        outputs = []
        for row, bias in zip(self._w, self._b):
            total = sum((w * xi for w, xi in zip(row, x)), bias)
            outputs.append(total if self.activation == "linear"
                           else getattr(total, self.activation)())
        return outputs

    def __call__(self, x):
        return self.forward_values(x)


class ContractMLP:
    """An MLP of nn's public shape, from numpy weight matrices [out, in]."""

    def __init__(self, weights, biases, activations):
        self.layers = [ContractLayer(w, b, a) for w, b, a in zip(weights, biases, activations)]
        self.output_activation = activations[-1]

    def dense_layers(self):
        return list(self.layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def moons(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles (labels 0 and 1), as micrograd's demo uses."""
    import numpy as np

    rng = np.random.default_rng(seed)
    half = n // 2
    outer = np.linspace(0, np.pi, half)
    inner = np.linspace(0, np.pi, n - half)
    X = np.concatenate([
        np.stack([np.cos(outer), np.sin(outer)], axis=1),
        np.stack([1 - np.cos(inner), 1 - np.sin(inner) - 0.5], axis=1),
    ])
    X += rng.normal(scale=noise, size=X.shape)
    y = np.concatenate([np.zeros(half, int), np.ones(n - half, int)])
    return X, y


def trained_moons_mlp(seed: int = 0):
    """MLP(2, [16, 16, 1]) (relu, linear output) trained on moons with numpy, full batch.

    The weights are then put into a contract-shaped model made of Values; the viz code
    under test only sees that model.
    """
    import numpy as np

    X, y = moons(100, 0.1, seed)
    t = 2.0 * y - 1.0
    rng = np.random.default_rng(seed)
    sizes = [2, 16, 16, 1]
    W = [rng.normal(scale=np.sqrt(2 / sizes[i]), size=(sizes[i + 1], sizes[i])) for i in range(3)]
    B = [np.zeros(sizes[i + 1]) for i in range(3)]
    for _ in range(1500):
        h1 = np.maximum(X @ W[0].T + B[0], 0)
        h2 = np.maximum(h1 @ W[1].T + B[1], 0)
        score = (h2 @ W[2].T + B[2])[:, 0]
        margin = 1 - t * score
        d_score = np.where(margin > 0, -t, 0.0)[:, None] / len(X)
        grads_W, grads_B = [None] * 3, [None] * 3
        grads_W[2], grads_B[2] = d_score.T @ h2, d_score.sum(0)
        d_h2 = (d_score @ W[2]) * (h2 > 0)
        grads_W[1], grads_B[1] = d_h2.T @ h1, d_h2.sum(0)
        d_h1 = (d_h2 @ W[1]) * (h1 > 0)
        grads_W[0], grads_B[0] = d_h1.T @ X, d_h1.sum(0)
        for i in range(3):
            W[i] -= 0.1 * (grads_W[i] + 1e-4 * W[i])
            B[i] -= 0.1 * grads_B[i]
    model = ContractMLP(W, B, ["relu", "relu", "linear"])
    return model, X, y


def moons_mlp_loss(seed: int = 0):
    """The loss of nn's MLP(2, [16, 16, 1]) on one moons sample: 711 nodes, 980 messages."""
    import nn

    model = nn.MLP(2, [16, 16, 1], seed=seed)
    X, y = nn.make_moons(10, noise=0.1, seed=seed)
    loss = nn.binary_cross_entropy_with_logits(model(X[0]), [int(y[0])])
    loss.label = "L"
    return loss, model
