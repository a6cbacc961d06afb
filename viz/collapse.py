"""Neuron collapse: draw each neuron of an MLP (``w . x + b`` and its activation) as one node.

Used by :func:`viz.graph.draw_graph` with ``collapse="neurons"``.
"""

from __future__ import annotations

from typing import NamedTuple

from autograd_core import RULES, Rule, Value

from ._render import shown_name
from .view import GraphView, ViewEdge, ViewNode, rule_text, symbol_of

__all__ = ["collapsed_view"]


class _Kinds(NamedTuple):
    """The op names of sums, products and activations, read from the rule table."""

    sums: frozenset[str]
    products: frozenset[str]
    activations: frozenset[str]


def _adds_up(rule: Rule) -> bool:
    """Whether every local derivative of a rule is 1 (``add``, ``sum``): a sum."""
    count = 2 if rule.arity == -1 else rule.arity
    if count < 2 or rule.params:
        return False
    try:
        return all(
            all(float(local) == 1.0 for local in rule.local(*point, rule.forward(*point)))
            for point in ((0.5,) * count, (-1.25,) * count)
        )
    except (ArithmeticError, ValueError, TypeError):
        return False


def _kinds() -> _Kinds:
    """Sums add up (every local derivative 1), products fill the ``*`` operator, and an
    activation is any one-input rule with a ``Value`` method (``x.tanh()``)."""
    return _Kinds(
        frozenset(name for name, rule in RULES.items() if _adds_up(rule)),
        frozenset(name for name, rule in RULES.items() if rule.operator == "mul"),
        frozenset(name for name, rule in RULES.items()
                  if rule.arity == 1 and rule.method is not None),
    )


def _weighted_sums(order: list[Value], uses: dict[Value, int], kinds: _Kinds
                   ) -> dict[Value, None]:
    """The nodes that are the top of a neuron's weighted sum.

    A weighted sum is a ``sum`` node or a chain of ``add``/``sum`` nodes (the links, each
    inner one used only by the chain), whose terms are products ``weight * input`` (a
    ``mul`` used only here, with a leaf factor) plus exactly one leaf, the bias. nn's
    Neuron builds one variadic ``sum``; micrograd's ``sum(w * x, b)`` builds an add chain.
    A loss's ``(y - t) ** 2`` or a penalty's ``sum(w * w)`` (no bias) is not one.
    """
    # Per link, counted once from its parents' counts (children first), so a long chain
    # costs linear time: (biases, products, every term a bias or a product).
    census: dict[Value, tuple[int, int, bool]] = {}
    for node in order:
        if node.op not in kinds.sums:
            continue
        biases, products, clean = 0, 0, True
        for parent in node.parents:
            if _is_link(parent, uses, kinds):
                inner = census[parent]
                biases, products, clean = biases + inner[0], products + inner[1], clean and inner[2]
            elif not parent.parents:
                biases += 1
            elif (parent.op in kinds.products and uses[parent] == 1
                  and any(not factor.parents for factor in parent.parents)):
                products += 1
            else:
                clean = False
        census[node] = (biases, products, clean)
    return {node: None for node, (b, p, clean) in census.items() if clean and b == 1 and p}


def _is_link(node: Value, uses: dict[Value, int], kinds: _Kinds) -> bool:
    """An inner link of an add chain: a sum used only by the next link."""
    return node.op in kinds.sums and uses[node] == 1


def _find_neurons(order: list[Value], uses: dict[Value, int], kinds: _Kinds
                  ) -> dict[Value, Value]:
    """Each node of a neuron mapped to the neuron's top node (its activation or its sum).

    A neuron's node set: its activation (a relu, tanh, ... applied to the sum alone),
    the sum's links and products, and the leaves used only there (the bias, a weight,
    a constant input). Inputs used elsewhere stay their own nodes.
    """
    consumers = _consumers(order)
    sums = _weighted_sums(order, uses, kinds)
    group: dict[Value, Value] = {}
    # From the root down, so the longest add chain claims its inner links first.
    for node in reversed(order):
        if node in group or node not in sums:
            continue
        head = node
        if uses[node] == 1:
            user = consumers[node][0]
            if user.op in kinds.activations and len(user.parents) == 1 and user not in group:
                head = user
        inside = [head, node]
        stack = [node]
        while stack:
            link = stack.pop()
            for term in link.parents:
                if _is_link(term, uses, kinds):
                    inside.append(term)
                    stack.append(term)
                elif term.parents:
                    inside.append(term)
                    inside.extend(f for f in term.parents if not f.parents and uses[f] == 1)
                elif uses[term] == 1:
                    inside.append(term)
        for member in inside:
            group.setdefault(member, head)
    return group


def _consumers(order: list[Value]) -> dict[Value, list[Value]]:
    consumers: dict[Value, list[Value]] = {node: [] for node in order}
    for node in order:
        for parent in node.parents:
            consumers[parent].append(node)
    return consumers


def _hidden_parameters(
    order: list[Value], neuron_of: dict[Value, Value]
) -> dict[Value, None]:
    """Parameters not to draw, and terms computed from them alone (a penalty's ``w * w``).

    An unnamed leaf that feeds neurons is a parameter (or a sample's input) shared
    between samples: a batch loss uses each weight once per sample. It is hidden when
    every use is inside a neuron or in a term of parameters only, so a batch of MLP
    evaluations plus a weight penalty stays one node per neuron and sample.
    """
    consumers = _consumers(order)
    hidden = {
        node: None
        for node in order
        if not node.parents and not node.label and node not in neuron_of
        and any(c in neuron_of for c in consumers[node])
    }
    while True:
        terms = {
            node: None
            for node in order
            if node.parents and node not in neuron_of and consumers[node]
            and all(p in hidden for p in node.parents)
        }
        kept = {
            node: None
            for node in hidden
            if all(c in neuron_of or c in terms for c in consumers[node])
        }
        if len(kept) == len(hidden):
            return {**hidden, **terms}
        hidden = kept


def collapsed_view(
    order: list[Value],
    key_of: dict[Value, str],
    uses: dict[Value, int],
    deltas: dict[Value, float],
) -> GraphView:
    """Draw each neuron (weighted sum and its activation) as one node.

    Only neurons merge (see :func:`_weighted_sums`); every other node (a loss's
    sub, pow, div, mean, a penalty's sum) is drawn as in the full view, with the
    same symbol and labelled edges. Shared parameters are hidden.
    """
    kinds = _kinds()
    neuron_of = _find_neurons(order, uses, kinds)
    hidden = _hidden_parameters(order, neuron_of)
    members: dict[Value, list[Value]] = {}
    for node in order:
        if node not in hidden:
            members.setdefault(neuron_of.get(node, node), []).append(node)
    nodes: list[ViewNode] = []
    edges: list[ViewEdge] = []
    edge_key_of: dict[tuple[str, int], str] = {}
    seen_edges: dict[tuple[str, str], None] = {}
    for head, inside in members.items():
        if head in neuron_of:
            hidden_leaves = sum(1 for n in inside if not n.parents and n is not head) + sum(
                1 for n in inside for p in n.parents if p in hidden
            )
            terms = sum(1 for n in inside if n.op in kinds.products)
            inner = f"Σ{terms}"
            symbol = inner if head.op in kinds.sums else f"{symbol_of(head)}({inner})"
            tooltip = (
                f"{len(inside)} nodes collapsed: a weighted sum of {terms} products"
                f" with {hidden_leaves} hidden weights/constants; top op {head.op!r}"
            )
        else:
            symbol, tooltip = symbol_of(head), rule_text(head)
            not_drawn = sum(1 for p in head.parents if p in hidden)
            if not_drawn:
                tooltip += f"  ({not_drawn} inputs from hidden parameters not drawn)"
        nodes.append(
            ViewNode(
                key=key_of[head],
                name=shown_name(head.label) or key_of[head],
                symbol=symbol,
                value=head.data,
                delta=deltas.get(head, 0.0),
                tooltip=tooltip,
                fan_out=uses[head],
                is_leaf=not head.parents,
                value_node=head,
            )
        )
        if head not in neuron_of:
            # An ordinary node: one labelled edge per input, as in the full view.
            delta = deltas.get(head, 0.0)
            for index, (parent, local) in enumerate(zip(head.parents, head.local_grads)):
                if parent in hidden:
                    continue
                key = f"e{len(edges)}"
                edge_key_of[(key_of[head], index)] = key
                tail = key_of[neuron_of.get(parent, parent)]
                edges.append(
                    ViewEdge(key, tail, key_of[head], index, float(local),
                             float(delta * local), tooltip)
                )
            continue
        for node in inside:
            for parent in node.parents:
                if neuron_of.get(parent) is head or parent in hidden:
                    continue
                pair = (key_of[neuron_of.get(parent, parent)], key_of[head])
                if pair in seen_edges:
                    continue
                seen_edges[pair] = None
                edges.append(
                    ViewEdge(f"e{len(edges)}", pair[0], pair[1], 0, None, None, tooltip)
                )
    return GraphView(nodes, edges, key_of, edge_key_of, collapsed=True)
