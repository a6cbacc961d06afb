"""Depth and size: nn and viz never recurse, and viz refuses huge graphs quickly.

The engine's own tests cover forward, backward and ``topological_order`` on long
chains; here the million-deep chain goes through viz, and deep module trees and deep
networks through nn, all at the interpreter's default recursion limit.
"""

import gc
import sys
import time

import numpy as np
import pytest

import nn
from autograd_core import Value, topological_order
from viz import StepThrough, draw_graph, draw_network, graph_stats, to_svg

DEPTH = 1_000_000


@pytest.fixture(scope="module")
def chain():
    """x -> -x -> -(-x) -> ... : a chain one million ops deep (1,000,001 nodes)."""
    assert sys.getrecursionlimit() <= 10_000  # far below the depth
    x = Value(0.5, "x")
    node = x
    # Building a million nodes with the cycle collector on mostly rescans the graph
    # (nothing here is cyclic); it is paused for speed, not for correctness.
    gc.disable()
    try:
        for _ in range(DEPTH):
            node = -node
    finally:
        gc.enable()
    return x, node


def test_graph_stats_on_a_million_deep_chain(chain):
    x, root = chain
    stats = graph_stats(root)
    assert stats.nodes == DEPTH + 1
    assert stats.edges == DEPTH
    assert stats.depth == DEPTH
    assert stats.max_fan_out == 1 and stats.leaves == 1
    assert root.data == 0.5  # an even number of negations


@pytest.mark.parametrize(
    ("draw", "fragment"),
    [
        (draw_graph, "more than max_nodes=250; pass collapse='neurons'"),
        (to_svg, "more than max_nodes=250; pass collapse='neurons'"),
        (lambda root: draw_graph(root, mode="backward", max_nodes=10_000), "max_nodes=10000"),
        (StepThrough, "more than 5000; laying it out would take minutes"),
    ],
    ids=["draw_graph", "to_svg", "draw_graph-backward", "StepThrough"],
)
def test_viz_refuses_a_million_node_graph_quickly(chain, draw, fragment):
    _, root = chain
    start = time.perf_counter()
    topological_order(root)
    traversal = time.perf_counter() - start
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        draw(root)
    refusal = time.perf_counter() - start
    message = str(info.value)
    assert f"the graph has {DEPTH + 1} nodes" in message
    assert fragment in message
    # Refusing costs about one traversal (building the view first took over a minute).
    assert refusal < 3 * traversal + 1.0, (refusal, traversal)


def test_module_trees_of_any_depth_are_walked_iteratively(tmp_path):
    """Parameters, state, save/load, zero_grad and repr of a module nested 5,000 deep."""
    depth = 5_000
    inner = nn.Layer(1, 1, "linear", seed=0)
    module = inner
    for _ in range(depth):
        module = nn.Residual(module)
    named = module.named_parameters()
    assert [name for name, _ in named] == [
        "module." * depth + "weight[0, 0]", "module." * depth + "bias[0]"]
    assert module.parameters() == [inner.neurons[0].w[0], inner.neurons[0].b]
    state = module.state_dict()
    assert list(state) == ["module." * depth + "weight", "module." * depth + "bias"]
    inner.neurons[0].w[0].grad = 3.0
    module.zero_grad()
    assert inner.neurons[0].w[0].grad == 0.0
    path = tmp_path / "deep.npz"
    module.save(path)
    original = inner.neurons[0].w[0].data
    inner.neurons[0].w[0].data = 42.0
    module.load(path)
    assert inner.neurons[0].w[0].data == original
    lines = repr(module).splitlines()
    assert len(lines) == depth + 1 and lines[-1].strip().startswith("module: Layer(")


def test_long_sequential_and_deep_networks_train_at_the_default_limit():
    """3,000 layers in a Sequential: forward, backward and one fit step, no recursion."""
    layers = 3_000
    model = nn.Sequential(*[nn.Layer(1, 1, "linear", seed=i) for i in range(layers)])
    for layer in model:  # w = 1, b = 0.001: the output is x + 3 after 3,000 layers
        layer.neurons[0].w[0].data = 1.0
        layer.neurons[0].b.data = 0.001
    out = model([2.0])[0]
    assert out.data == pytest.approx(2.0 + layers * 0.001, rel=1e-12)
    assert graph_stats(out).depth >= 2 * layers
    out.backward()
    assert model[0].neurons[0].w[0].grad == pytest.approx(2.0, rel=1e-12)
    history = nn.fit(model, np.array([[1.0]]), np.array([0.0]), loss=nn.mse_loss,
                     optimizer=nn.SGD(model, lr=1e-6), epochs=1, progress=False)
    assert history.loss == [pytest.approx((1.0 + layers * 0.001) ** 2, rel=1e-12)]


def test_draw_network_walks_nested_containers_and_refuses_big_networks():
    inner = nn.Layer(2, 2, "tanh", seed=0)
    module = nn.Sequential(inner)
    for _ in range(3_000):
        module = nn.Sequential(module)
    source = draw_network(module).source
    weights = [w.data for neuron in inner.neurons for w in neuron.w]
    for index, weight in enumerate(weights):
        assert f'id=w0_{index // 2}_{index % 2} ' in source
        assert f'tooltip="w = {weight:.2f}"' in source
    big = nn.MLP(100, [60, 1], seed=0)
    with pytest.raises(ValueError, match="6060 connections, more than 5000; draw one layer"):
        draw_network(big)
