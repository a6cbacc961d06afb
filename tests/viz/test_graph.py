"""draw_graph / to_svg / graph_stats: pictures checked by parsing the SVG."""

from __future__ import annotations

import time
from collections import Counter

import graphviz
import pytest

from autograd_core import RULES, Value, apply_op, topological_order
from viz import draw_graph, graph_stats, to_svg
from viz.graph import build_view

from .helpers import (
    micrograd_mlp_output,
    neuron_graph,
    neuron_hand_deltas,
    node_boxes,
    node_symbols,
    node_texts,
    parse_svg,
    svg_groups,
)


def _keys(root: Value) -> dict[str, Value]:
    return {f"n{i}": node for i, node in enumerate(topological_order(root))}


def test_svg_is_xml_with_one_group_per_node_and_edge():
    root, _ = neuron_graph()
    for mode in ("forward", "backward"):
        svg = to_svg(root, mode=mode)
        parse_svg(svg)
        stats = graph_stats(root)
        assert len(svg_groups(svg, "node")) == stats.nodes == 6
        assert len(svg_groups(svg, "edge")) == stats.edges == 5


@pytest.mark.parametrize("precision", [2, 3, 5])
def test_values_and_deltas_appear_with_the_chosen_precision(precision):
    root, named = neuron_graph()
    hand = neuron_hand_deltas()
    svg = to_svg(root, mode="backward", precision=precision)
    texts = node_texts(svg)
    key_of = {node: key for key, node in _keys(root).items()}
    for name, node in named.items():
        text = texts[key_of[node]]
        assert f"data {node.data:.{precision}f}" in text
        assert f"δ {hand[name]:.{precision}f}" in text
    forward_texts = node_texts(to_svg(root, precision=precision))
    assert all("δ" not in text for text in forward_texts.values())


def test_forward_and_backward_have_the_same_node_coordinates():
    x, w = Value(0.5, "x"), Value(-3.0, "w")
    root = ((w * x + x).tanh() * x + w.exp()).sigmoid()
    forward, backward = to_svg(root, precision=3), to_svg(root, mode="backward", precision=3)
    assert node_boxes(forward) == node_boxes(backward)
    assert len(node_boxes(forward)) == graph_stats(root).nodes
    assert parse_svg(forward).get("viewBox") == parse_svg(backward).get("viewBox")


def test_edges_carry_local_derivative_and_message():
    root, named = neuron_graph()
    hand = neuron_hand_deltas()
    svg = to_svg(root, mode="backward", precision=4)
    edge_text = {k: " ".join(g.itertext()) for k, g in svg_groups(svg, "edge").items()}
    # The edge n -> o carries d tanh/dn = 1 - tanh(n)^2 and the message 1 x that.
    local = 1 - named["o"].data ** 2
    assert any(f"∂ {local:.4f}" in t and f"msg {hand['n']:.4f}" in t for t in edge_text.values())
    # w -> wx: local derivative x = 0.5, message delta(wx) * 0.5.
    assert any("∂ 0.5000" in t and f"msg {hand['w']:.4f}" in t for t in edge_text.values())


def test_fan_out_node_is_marked_and_sums_its_messages():
    a = Value(3.0, "a")
    b = a + a
    c = b + b
    svg = to_svg(c, mode="backward", precision=1)
    texts = node_texts(svg)
    assert "Σ2" in texts["n0"] and "δ 4.0" in texts["n0"]
    assert "Σ2" in texts["n1"] and "δ 2.0" in texts["n1"]
    assert "Σ" not in texts["n2"].replace("·", "")


def test_rule_text_is_the_tooltip():
    root, _ = neuron_graph()
    svg = to_svg(root)
    titles = [a.get("{http://www.w3.org/1999/xlink}title") for a in parse_svg(svg).iter()]
    assert RULES["tanh"].text in titles
    assert RULES["mul"].text in titles


def test_output_is_deterministic_across_rebuilds():
    first = to_svg(neuron_graph()[0], mode="backward")
    second = to_svg(neuron_graph()[0], mode="backward")
    assert first == second


def test_hidden_values_and_highlight():
    root, named = neuron_graph()
    source = draw_graph(root, mode="backward", show_values=False, highlight=[named["n"]]).source
    assert "0.5000" not in source and "-3.0000" not in source
    assert "data ?" in source and "δ ?" in source
    svg = to_svg(root, highlight=[named["n"]])
    fills = {
        key: [p.get("fill") for p in group.iter("{http://www.w3.org/2000/svg}polygon")]
        for key, group in svg_groups(svg, "node").items()
    }
    highlighted = [key for key, colours in fills.items() if "#fff2a8" in colours]
    key_of = {node: key for key, node in _keys(root).items()}
    assert highlighted == [key_of[named["n"]]]


def test_direction_changes_the_layout():
    root, _ = neuron_graph()
    assert "rankdir=TB" in draw_graph(root, direction="TB").source
    assert node_boxes(to_svg(root, direction="TB")) != node_boxes(to_svg(root))


def test_draw_graph_returns_a_digraph():
    root, _ = neuron_graph()
    digraph = draw_graph(root)
    assert isinstance(digraph, graphviz.Digraph)
    assert to_svg(digraph) == to_svg(root)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"mode": "sideways"}, ValueError, "'sideways'"),
        ({"precision": -1}, ValueError, "precision"),
        ({"precision": 2.5}, ValueError, "precision"),
        ({"direction": "up"}, ValueError, "'up'"),
        ({"collapse": "layers"}, ValueError, "'neurons'"),
        ({"highlight": [Value(1.0)]}, ValueError, "not in the graph"),
        ({"highlight": ["x"]}, TypeError, "'x'"),
    ],
)
def test_bad_options_are_refused_with_the_value(kwargs, error, fragment):
    root, _ = neuron_graph()
    with pytest.raises(error, match=fragment):
        draw_graph(root, **kwargs)


def test_non_value_root_is_a_type_error():
    with pytest.raises(TypeError, match="3.0"):
        draw_graph(3.0)
    with pytest.raises(TypeError, match="'x'"):
        to_svg("x")


def test_graph_stats_by_hand():
    a = Value(3.0)
    root = (a + a) * a
    assert graph_stats(root) == (3, 4, 2, 3, 1)
    root, _ = neuron_graph()
    stats = graph_stats(root)
    assert (stats.nodes, stats.edges, stats.depth, stats.max_fan_out, stats.leaves) == (
        6, 5, 3, 1, 3)


def test_graph_stats_is_iterative_on_a_long_chain():
    x = Value(1.0)
    node = x
    for _ in range(20_000):
        node = node * 1.0
    stats = graph_stats(node)
    assert stats.depth == 20_000 and stats.nodes == 40_001 and stats.max_fan_out == 1


def test_big_graph_without_collapse_is_a_clear_error():
    root, params = micrograd_mlp_output()
    assert len(params) == 337
    with pytest.raises(ValueError, match="collapse='neurons'") as info:
        draw_graph(root)
    assert str(graph_stats(root).nodes) in str(info.value)


def test_micrograd_mlp_renders_one_node_per_neuron():
    root, _ = micrograd_mlp_output()
    start = time.perf_counter()
    svg = to_svg(root, collapse="neurons", mode="backward")
    elapsed = time.perf_counter() - start
    nodes = svg_groups(svg, "node")
    # 2 inputs + 16 + 16 + 1 neurons; edges 2*16 + 16*16 + 16*1.
    assert len(nodes) == 35
    assert len(svg_groups(svg, "edge")) == 304
    texts = node_texts(svg)
    assert sum("relu(Σ" in t for t in texts.values()) == 32
    assert elapsed < 10
    # Collapsing keeps the output's value and delta.
    key = f"n{len(topological_order(root)) - 1}"
    assert f"data {root.data:.4f}" in texts[key] and "δ 1.0000" in texts[key]


def test_micrograd_add_chain_loss_keeps_its_ops_when_collapsed():
    # micrograd's neuron is an add chain (b + w0 x0 + w1 x1 + ...), not one sum node.
    score, _ = micrograd_mlp_output()
    target = Value(1.5, "t")
    loss = (score - target) ** 2
    loss.label = "L"
    svg = to_svg(loss, collapse="neurons", mode="backward")
    symbols = node_symbols(svg)
    assert Counter(symbols.values()) == {
        "leaf": 3, "relu(Σ2)": 16, "relu(Σ16)": 16, "Σ16": 1, "-": 1, "** 2": 1}
    key_of = {node: key for key, node in _keys(loss).items()}
    texts = node_texts(svg)
    assert symbols[key_of[loss]] == "** 2" and texts[key_of[loss]].startswith("L\n")
    assert symbols[key_of[target]] == "leaf" and symbols[key_of[loss.parents[0]]] == "-"
    assert symbols[key_of[score]] == "Σ16"  # the linear output neuron's add chain


def test_a_sum_without_bias_or_of_non_products_is_not_a_neuron():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    penalty = apply_op("sum", *[p * p for p in w])  # no bias: a penalty, not a neuron
    errors = apply_op("sum", *[(p - 1.0) ** 2 for p in w], Value(0.1))  # terms not products
    root = penalty + errors
    collapsed = {n.symbol for n in build_view(root, collapse="neurons").nodes}
    full = {n.symbol for n in build_view(root).nodes}
    assert collapsed == full and not any("Σ" in s and s != "Σ" for s in collapsed)
    assert len(build_view(root, collapse="neurons").nodes) == graph_stats(root).nodes


def test_collapsing_a_long_add_chain_that_is_no_neuron_takes_linear_time():
    # 20 000 links without a bias: each inner link is checked once, not re-walked
    # (re-walking made this quadratic, about a minute).
    chain = Value(1.0) * 2.0
    for i in range(20_000):
        chain = chain + Value(float(i)) * 3.0
    start = time.perf_counter()
    view = build_view(chain, collapse="neurons")
    assert time.perf_counter() - start < 10
    assert len(view.nodes) == graph_stats(chain).nodes  # nothing merged


@pytest.mark.parametrize(("label", "shown"), [
    ("\x01", "\\x01"),                      # a control character: Graphviz refused it
    ("\x1b[31mred", "\\x1b[31mred"),        # a terminal colour code
    ("\x00", "\\x00"),
    ("a\ud800b", "a\\ud800b"),              # a lone surrogate cannot be encoded
    ("w" * 100_000, "w" * 40 + "…"),        # Graphviz cannot lay out a label this long
])
def test_any_label_is_drawn_and_shown_readably(label, shown):
    root = Value(1.5, label) * 2.0
    svg = to_svg(draw_graph(root))
    texts = "".join(parse_svg(svg).itertext())
    assert shown in texts
    names = [node.name for node in build_view(root).nodes]
    assert any(name.startswith(shown[:2]) for name in names)
    assert max(map(len, names)) <= 80
