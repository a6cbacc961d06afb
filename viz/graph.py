"""Computation graphs as pictures: values going forward, deltas coming back.

:func:`draw_graph` returns a :class:`graphviz.Digraph`; :func:`to_svg` renders one.
Every node is a fixed-size table (label and op, value, delta) and every edge label is a
fixed-size table (local derivative, message), whatever the mode, so the forward and the
backward picture of one graph have exactly the same layout and can be flipped between
on a slide. Node ids come from the topological order (``n0``, ``n1``, ...), so the
same graph always gives the same picture.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import graphviz

from autograd_core import Value, backward_steps, topological_order

from ._display import GraphPicture
from ._render import format_number, shown_name
from .collapse import collapsed_view
from .frames import FrameState, compute_layout  # noqa: F401 (viz.steps imports it here)
from .style import THEMES, Style, get_style, resolve_style
from .view import GraphView, ViewEdge, ViewNode, rule_text, symbol_of

__all__ = [
    "draw_graph",
    "to_svg",
    "graph_stats",
    "GraphStats",
    "MAX_NODES",
    "MODES",
    "DIRECTIONS",
    "COLLAPSE_MODES",
]

#: Largest number of nodes drawn without ``collapse``; beyond it dot gets slow and the
#: picture unreadable, so :func:`draw_graph` refuses and says what to do instead.
MAX_NODES = 250
#: What a picture shows: values (forward) or deltas and messages (backward).
MODES = ("forward", "backward")
#: Graphviz rank directions: left to right, top to bottom, and their reverses.
DIRECTIONS = ("LR", "TB", "RL", "BT")
#: ``None`` draws every scalar op; ``"neurons"`` draws one node per neuron.
COLLAPSE_MODES = (None, "neurons")

# Average advance of a character at 10 pt and 9 pt (points); generous so text fits. Boxes
# grow with the style's font size (Style.scale).
_NODE_CHAR_WIDTH = 6.3
_EDGE_CHAR_WIDTH = 5.6
_ROW_HEIGHT = 14

# The default theme's colours (fills for node roles, strokes for edge roles); a picture
# takes its colours from its style's palette (see viz.style).
COLOURS = dict(THEMES["default"].palette)


class GraphStats(NamedTuple):
    """Size of a computation graph.

    Attributes:
        nodes: number of distinct nodes.
        edges: number of parent links (``a + a`` counts two).
        depth: the longest path from a leaf to the root, in edges.
        max_fan_out: the most uses of one node (messages summed into its delta).
        leaves: number of leaves (inputs, parameters, constants).
    """

    nodes: int
    edges: int
    depth: int
    max_fan_out: int
    leaves: int


def graph_stats(root: Value) -> GraphStats:
    """Count nodes, edges, depth and largest fan-out of the graph below ``root``.

    Iterative, so it works on graphs of any depth.

    Example:
        >>> a = Value(3.0)
        >>> graph_stats((a + a) * a)
        GraphStats(nodes=3, edges=4, depth=2, max_fan_out=3, leaves=1)
    """
    _check_root(root)
    order = topological_order(root)
    depth: dict[Value, int] = {}
    uses: dict[Value, int] = {node: 0 for node in order}
    edges = 0
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
        edges += len(node.parents)
        for parent in node.parents:
            uses[parent] += 1
    return GraphStats(
        nodes=len(order),
        edges=edges,
        depth=depth[root],
        max_fan_out=max(uses.values()),
        leaves=sum(1 for node in order if not node.parents),
    )


# ---------------------------------------------------------------------------
# A view of the graph: what gets drawn, independent of Graphviz.


def _check_root(root: object) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"expected the graph's root Value; got {root!r} ({type(root).__name__})")


def final_deltas(root: Value) -> dict[Value, float]:
    """delta(node) = d root / d node for every node, from the engine's backward messages.

    ``.grad`` is left alone, so drawing never changes the graph.
    """
    deltas: dict[Value, float] = {root: 1.0}
    for message in backward_steps(root):
        deltas[message.receiver] = message.receiver_delta
    return deltas


def node_names(root: Value) -> dict[Value, str]:
    """The display name of every node: its label, else its key ``n<i>`` (topological index)."""
    return {node: shown_name(node.label) or f"n{i}"
            for i, node in enumerate(topological_order(root))}


def build_view(
    root: Value, *, collapse: str | None = None, deltas: dict[Value, float] | None = None
) -> GraphView:
    """The drawable view of the graph below ``root`` (optionally with neurons collapsed)."""
    _check_root(root)
    order = topological_order(root)
    if deltas is None:
        deltas = final_deltas(root)
    key_of = {node: f"n{i}" for i, node in enumerate(order)}
    uses: dict[Value, int] = {node: 0 for node in order}
    for node in order:
        for parent in node.parents:
            uses[parent] += 1
    if collapse == "neurons":
        return collapsed_view(order, key_of, uses, deltas)
    nodes = [
        ViewNode(
            key=key_of[node],
            name=shown_name(node.label) or key_of[node],
            symbol=symbol_of(node),
            value=node.data,
            delta=deltas.get(node, 0.0),
            tooltip=rule_text(node),
            fan_out=uses[node],
            is_leaf=not node.parents,
            value_node=node,
        )
        for node in order
    ]
    edges: list[ViewEdge] = []
    edge_key_of: dict[tuple[str, int], str] = {}
    for node in order:
        delta = deltas.get(node, 0.0)
        for index, (parent, local) in enumerate(zip(node.parents, node.local_grads)):
            key = f"e{len(edges)}"
            edge_key_of[(key_of[node], index)] = key
            edges.append(
                ViewEdge(
                    key=key,
                    tail=key_of[parent],
                    head=key_of[node],
                    parent_index=index,
                    local_grad=float(local),
                    message=float(delta * local),
                    tooltip=rule_text(node),
                )
            )
    return GraphView(nodes, edges, key_of, edge_key_of)


# ---------------------------------------------------------------------------
# Labels: fixed-size HTML tables, so geometry does not depend on the mode.


@dataclass(frozen=True)
class DrawOptions:
    """Validated drawing options shared by :func:`draw_graph` and the step-through."""

    precision: int = 4
    direction: str = "LR"
    show_values: bool = True
    highlight: tuple[str, ...] = ()
    style: Style = field(default_factory=get_style)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _title_text(node: ViewNode, options: DrawOptions) -> str:
    return f"{options.style.label(node.name)} · {node.symbol}"


def _value_text(node: ViewNode, options: DrawOptions) -> str:
    if not options.show_values:
        return "data ?"
    return f"data {format_number(node.value, options.precision)}"


def _delta_text(node: ViewNode, delta: float | None, options: DrawOptions) -> str:
    badge = f"  Σ{node.fan_out}" if node.fan_out > 1 else ""
    if delta is None:
        return f"δ ?{badge}"
    if not options.show_values:
        return f"δ ?{badge}"
    return f"δ {format_number(delta, options.precision)}{badge}"


def _node_size(node: ViewNode, options: DrawOptions, extra: Iterable[str] = ()) -> tuple[int, int]:
    texts = [
        _title_text(node, options),
        _value_text(node, options),
        _delta_text(node, node.delta, options),
        *extra,
    ]
    scale = options.style.scale
    width = int((max(len(t) for t in texts) * _NODE_CHAR_WIDTH + 14) * scale)
    return max(width, int(60 * scale)), int((3 * _ROW_HEIGHT + 6) * scale)


def _node_label(
    node: ViewNode,
    size: tuple[int, int],
    *,
    delta_row: str,
    fill: str,
    options: DrawOptions,
) -> str:
    width, height = size
    palette = options.style.palette
    border_colour = palette["fan_out"] if node.fan_out > 1 else palette["border"]
    border = max(1, round((2 if node.fan_out > 1 else 1) * options.style.line_width))
    delta_font = " "
    if delta_row:
        delta_font = f'<FONT COLOR="{palette["delta"]}">{_escape(delta_row)}</FONT>'
    return (
        f'<<TABLE FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}" BORDER="{border}" '
        f'CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="{fill}" '
        f'COLOR="{border_colour}">'
        f"<TR><TD><B>{_escape(options.style.label(node.name))}</B> · "
        f"{_escape(node.symbol)}</TD></TR>"
        f"<TR><TD>{_escape(_value_text(node, options))}</TD></TR>"
        f"<TR><TD>{delta_font}</TD></TR></TABLE>>"
    )


def _edge_texts(edge: ViewEdge, options: DrawOptions) -> tuple[str, str]:
    if edge.local_grad is None:
        return "", ""
    if not options.show_values:
        return "∂ ?", "msg ?"
    local = f"∂ {format_number(edge.local_grad, options.precision)}"
    message = f"msg {format_number(edge.message or 0.0, options.precision)}"
    return local, message


def _edge_size(edge: ViewEdge, options: DrawOptions, extra: Iterable[str] = ()) -> tuple[int, int]:
    texts = [*_edge_texts(edge, options), *extra]
    scale = options.style.scale
    width = int((max(len(t) for t in texts) * _EDGE_CHAR_WIDTH + 8) * scale)
    return max(width, int(30 * scale)), int((2 * (_ROW_HEIGHT - 2) + 4) * scale)


def _edge_label(size: tuple[int, int], rows: tuple[str, str], colour: str) -> str:
    width, height = size
    cells = "".join(
        f'<TR><TD><FONT COLOR="{colour}">{_escape(row) if row else " "}</FONT></TD></TR>'
        for row in rows
    )
    return (
        f'<<TABLE FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}" BORDER="0" '
        f'CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">{cells}</TABLE>>'
    )


def _new_digraph(
    direction: str, style: Style, name: str = "computation_graph"
) -> graphviz.Digraph:
    digraph = GraphPicture(name)
    palette = style.palette
    digraph.attr(
        rankdir=direction, nodesep="0.25", ranksep="0.45", bgcolor=palette["background"]
    )
    digraph.attr(
        "node", shape="plain", fontname=style.font, fontsize=f"{style.font_size:g}",
        fontcolor=palette["text"],
    )
    digraph.attr(
        "edge", fontname=style.font, fontsize=f"{style.edge_font_size:g}",
        fontcolor=palette["text"], arrowsize="0.7", penwidth=style.width(1.0),
    )
    return digraph


def layout_digraph(
    view: GraphView,
    *,
    mode: str,
    options: DrawOptions,
    sizes: dict[str, tuple[int, int]] | None = None,
    frame: FrameState | None = None,
    pinned: dict[str, dict[str, str]] | None = None,
) -> graphviz.Digraph:
    """The Digraph of a view in one mode (or one step-through frame).

    ``sizes`` fixes the geometry of every node and edge label (keys ``n<i>`` and
    ``e<j>``); pictures made with the same sizes have the same layout. ``pinned``
    holds positions from an earlier layout (see :func:`compute_layout`), keyed like
    ``sizes`` plus ``"graph"``; render such a graph with ``neato -n2``.
    """
    if sizes is None:
        sizes = view_sizes(view, options)
    pinned = pinned or {}
    style = options.style
    colours = style.palette
    digraph = _new_digraph(options.direction, style)
    if "graph" in pinned:
        digraph.attr(**pinned["graph"])
    if view.collapsed:
        # Many edges between layers: more room between ranks, thin arrows.
        digraph.attr(ranksep="2.2")
        digraph.attr("edge", penwidth=style.width(0.6), arrowsize="0.4")
    backward = mode == "backward"
    for node in view.nodes:
        if frame is not None:
            delta = frame.deltas.get(node.key)
            delta_row = _delta_text(node, delta, options)
        else:
            delta_row = _delta_text(node, node.delta, options) if backward else ""
        fill = colours["leaf"] if node.is_leaf else colours["op"]
        if node.key in options.highlight:
            fill = colours["highlight"]
        if frame is not None and node.key == frame.receiver:
            fill = colours["receiver"]
        if frame is not None and node.key == frame.sender:
            fill = colours["sender"]
        tooltip = node.tooltip
        if style.label(node.name) != node.name:
            tooltip = f"{node.name}: {tooltip}"  # the plain name, for screen readers
        digraph.node(
            node.key,
            label=_node_label(
                node, sizes[node.key], delta_row=delta_row, fill=fill, options=options
            ),
            id=node.key,
            tooltip=tooltip,
            **pinned.get(node.key, {}),
        )
    for edge in view.edges:
        attrs = {"id": edge.key, "tooltip": edge.tooltip}
        if edge.local_grad is None:
            # An edge into a collapsed neuron stands for several links: no one derivative.
            attrs["color"] = colours["edge_backward"] if backward else colours["edge"]
        elif frame is not None:
            local, _ = _edge_texts(edge, options)
            if edge.key in frame.sent:
                message = f"msg {format_number(frame.sent[edge.key], options.precision)}"
                if not options.show_values:
                    message = "msg ?"
            else:
                message = "msg ?"
            if edge.key == frame.active_edge:
                colour, width = colours["edge_active"], 2.5
            elif edge.key in frame.sent:
                colour, width = colours["edge_sent"], 1.2
            else:
                colour, width = colours["edge_waiting"], 1.0
                if style.dashes:
                    attrs["style"] = "dashed"
            attrs.update(
                label=_edge_label(sizes[edge.key], (local, message), colour),
                color=colour,
                penwidth=style.width(width),
                dir="back",
            )
        else:
            rows = _edge_texts(edge, options) if backward else ("", "")
            colour = colours["edge_backward"] if backward else colours["edge"]
            attrs.update(label=_edge_label(sizes[edge.key], rows, colour), color=colour)
            if backward:
                attrs["dir"] = "back"
        attrs.update(pinned.get(edge.key, {}))
        digraph.edge(edge.tail, edge.head, **attrs)
    return digraph


def view_sizes(
    view: GraphView,
    options: DrawOptions,
    extra_node_text: dict[str, list[str]] | None = None,
    extra_edge_text: dict[str, list[str]] | None = None,
) -> dict[str, tuple[int, int]]:
    """Fixed sizes of node tables and edge labels, big enough for every mode's text."""
    extra_node_text = extra_node_text or {}
    extra_edge_text = extra_edge_text or {}
    sizes = {n.key: _node_size(n, options, extra_node_text.get(n.key, ())) for n in view.nodes}
    for edge in view.edges:
        if edge.local_grad is not None:
            sizes[edge.key] = _edge_size(edge, options, extra_edge_text.get(edge.key, ()))
    return sizes


def validate_options(
    *, precision: int, direction: str, show_values: bool
) -> None:
    """Refuse bad drawing options with a message that lists what is allowed."""
    if type(precision) is not int or not 0 <= precision <= 12:
        raise ValueError(f"precision must be an int from 0 to 12; got {precision!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}; got {direction!r}")
    if type(show_values) is not bool:
        raise TypeError(f"show_values must be True or False; got {show_values!r}")


def _highlight_keys(highlight: Iterable[Value], key_of: dict[Value, str]) -> tuple[str, ...]:
    keys = []
    for node in highlight:
        if not isinstance(node, Value):
            raise TypeError(f"highlight takes Values from the graph; got {node!r}")
        if node not in key_of:
            raise ValueError(f"highlight: {node!r} is not in the graph being drawn")
        keys.append(key_of[node])
    return tuple(keys)


def draw_graph(
    root: Value,
    *,
    mode: str = "forward",
    precision: int = 4,
    direction: str = "LR",
    show_values: bool = True,
    highlight: Iterable[Value] = (),
    collapse: str | None = None,
    max_nodes: int = MAX_NODES,
    style: str | Style | None = None,
) -> graphviz.Digraph:
    """Draw the computation graph below ``root``.

    Forward mode shows, in each node, its label (or key ``n<i>``), its op and its
    value. Backward mode shows the same nodes with their deltas ``d root / d node``
    (computed from the engine's backward messages; ``.grad`` is not touched), and
    labels each edge with its local derivative ``∂`` and the message ``δ x ∂`` sent
    back along it. Nodes used more than once (fan-out) get a purple border and a
    ``Σk`` badge: their delta is the sum of ``k`` messages. Hovering a node or edge
    shows its op's rule. Both modes have the same layout.

    Args:
        root: the output node.
        mode: ``"forward"`` or ``"backward"``.
        precision: digits after the decimal point.
        direction: ``"LR"`` (left to right), ``"TB"``, ``"RL"`` or ``"BT"``.
        show_values: ``False`` prints ``?`` instead of numbers (for exercises).
        highlight: nodes to fill in yellow.
        collapse: ``None`` draws every node; ``"neurons"`` draws each neuron (a weighted
            sum ``w . x + b`` and the activation on it) as one node and hides shared
            parameters; every other op (a loss's ``-``, ``** 2``, ``/``, a penalty's
            ``Σ``) stays its own node with labelled edges (for MLPs).
        max_nodes: refuse to draw more nodes than this.
        style: a theme name (``"print"``, ``"dark"``, ...), a :class:`viz.Style`, or
            ``None`` for the current style (see :func:`viz.set_style`).

    Returns:
        A ``graphviz.Digraph`` (render it with :func:`to_svg` or ``.pipe()``).

    Example:
        >>> x, w = Value(0.5, "x"), Value(-3.0, "w")
        >>> dot = draw_graph((w * x).tanh(), mode="backward", precision=2)
        >>> "δ 1.00" in dot.source
        True
    """
    _check_root(root)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}; got {mode!r}")
    if collapse not in COLLAPSE_MODES:
        raise ValueError(f"collapse must be one of {list(COLLAPSE_MODES)}; got {collapse!r}")
    validate_options(precision=precision, direction=direction, show_values=show_values)
    chosen_style = resolve_style(style)
    if type(max_nodes) is not int or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int; got {max_nodes!r}")
    # Count before building the view: building it for a million-node graph takes minutes,
    # only to be refused (a plain traversal takes about a second).
    if collapse is None:
        _refuse_too_many(len(topological_order(root)), max_nodes, collapse)
    view = build_view(root, collapse=collapse)
    _refuse_too_many(len(view.nodes), max_nodes, collapse)
    highlight_keys = _highlight_keys(highlight, view.key_of)
    options = DrawOptions(precision, direction, show_values, highlight_keys, chosen_style)
    return layout_digraph(view, mode=mode, options=options)


def _refuse_too_many(count: int, max_nodes: int, collapse: str | None) -> None:
    if count > max_nodes:
        hint = (
            "pass collapse='neurons' to draw one node per neuron"
            if collapse is None
            else "draw a smaller part of the graph"
        )
        raise ValueError(
            f"the graph has {count} nodes to draw, more than max_nodes={max_nodes}; "
            f"{hint}, or raise max_nodes (dot gets slow and the picture unreadable)"
        )


def to_svg(root_or_digraph: Value | graphviz.Digraph, **draw_options) -> str:
    """Render a graph (a root ``Value``, drawn with ``draw_options``) or a Digraph as SVG.

    Example:
        >>> svg = to_svg(Value(2.0, "x") * 3, mode="backward")
        >>> svg.lstrip().startswith("<?xml")
        True
    """
    if isinstance(root_or_digraph, Value):
        digraph = draw_graph(root_or_digraph, **draw_options)
    elif isinstance(root_or_digraph, graphviz.Digraph):
        if draw_options:
            raise TypeError(
                f"drawing options {sorted(draw_options)} apply to a root Value, not a Digraph"
            )
        digraph = root_or_digraph
    else:
        raise TypeError(
            f"to_svg takes a root Value or a graphviz.Digraph; got {root_or_digraph!r}"
        )
    from .export import render  # a pinned frame is drawn at its positions (neato -n2)

    return render(digraph, "svg").decode("utf-8")
