"""A view of a computation graph: what gets drawn, independent of Graphviz.

:func:`viz.graph.build_view` makes one from a root ``Value`` (every node, or with
neurons collapsed by :mod:`viz.collapse`); :mod:`viz.graph` and the step-through draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograd_core import RULES, Value

from ._render import format_number

__all__ = ["ViewNode", "ViewEdge", "GraphView", "rule_text", "symbol_of"]


@dataclass
class ViewNode:
    """One drawn node (a graph node, or a collapsed neuron)."""

    key: str
    name: str
    symbol: str
    value: float
    delta: float
    tooltip: str
    fan_out: int
    is_leaf: bool
    value_node: Value


@dataclass
class ViewEdge:
    """One drawn edge, from an input (tail) to the node that uses it (head)."""

    key: str
    tail: str
    head: str
    parent_index: int
    local_grad: float | None
    message: float | None
    tooltip: str


@dataclass
class GraphView:
    """The nodes and edges to draw, with stable keys (``n<i>`` from topological order)."""

    nodes: list[ViewNode]
    edges: list[ViewEdge]
    key_of: dict[Value, str]
    edge_key_of: dict[tuple[str, int], str] = field(default_factory=dict)
    collapsed: bool = False


def rule_text(node: Value) -> str:
    """The tooltip of a node: its rule's text from the table (and its attrs), or "leaf"."""
    if not node.op:
        return "leaf: an input, a parameter or a constant"
    rule = RULES.get(node.op)
    text = rule.text if rule is not None else f"op {node.op!r} (no rule)"
    if node.attrs:
        text += f"  [attrs {', '.join(format_number(a, 4) for a in node.attrs)}]"
    return text


def symbol_of(node: Value) -> str:
    """The short name drawn in a node: its rule's symbol, ``leaf`` for a leaf."""
    if not node.op:
        return "leaf"
    rule = RULES.get(node.op)
    symbol = rule.symbol if rule is not None else node.op
    if rule is not None and rule.operator is not None and rule.params and node.attrs:
        symbol = f"{rule.symbol} {node.attrs[0]:g}"  # x ** 2: the operator and its number
    return symbol
