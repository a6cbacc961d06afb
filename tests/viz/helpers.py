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
