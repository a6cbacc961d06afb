"""Pickling and copying graphs without recursion, the same on both node stores.

``pickle`` and ``copy.deepcopy`` rebuild an object from its parts, parts first. For a
node whose parts are its parents, that is one nested call per level of the graph: a few
hundred levels exhaust Python's recursion limit, and a ``create_graph`` grad (a Value
whose graph leads back to the node itself) recurses for ever. So:

- ``copy.deepcopy`` copies every node reachable from the root (through parents and
  Value grads) in one loop, parents first, then sets the grads (:func:`deepcopy_node`);
- ``copy.copy`` makes one new node with the same parents and grad (:func:`copy_node`);
- ``pickle`` writes the same order: the first node it meets (the *top*) lists its
  ancestors before its own fields, and every node it lists is then written with its
  parents already in the pickle (so each is a flat record the pickler keeps as itself:
  shared nodes stay shared, also across several objects pickled together). The grads of
  all these nodes are written last, as the top's state (:func:`reduce_node`).

Which nodes a top has listed is kept per thread, tied to an object that lives exactly as
long as the pickler holds that top's record; a pickling that fails half-way leaves
nothing behind.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

from . import stores


class _Listing:
    """Stands for one top's list of nodes; the pickle holds it while writing them."""

    __slots__ = ("__weakref__",)

    def __reduce__(self) -> tuple:
        return (_no_listing, ())


def _no_listing() -> None:
    """What a pickled :class:`_Listing` becomes when loaded: nothing."""
    return None


_listed = threading.local()  # .open: [(weakref to a _Listing, {node: None}), ...]


def _claim(node: Any) -> bool:
    """Whether a live top listed ``node`` (and so wrote its parents first); unlists it."""
    open_lists = getattr(_listed, "open", None)
    if not open_lists:
        return False
    for index in range(len(open_lists) - 1, -1, -1):
        listing, nodes = open_lists[index]
        if listing() is None:
            del open_lists[index]  # that pickling has ended (or failed): forget its list
        elif node in nodes:
            del nodes[node]
            return True
    return False


def _reachable(root: Any) -> tuple[list, list]:
    """The root's ancestors and root (parents first), and every node it leads to through
    parents and Value grads (parents first)."""
    from .engine import topological_order  # engine imports this module

    value_class = stores._value_class
    lineage = topological_order(root)
    if not any(isinstance(node.grad, value_class) for node in lineage):
        return lineage, lineage
    seen: dict[Any, None] = dict.fromkeys(lineage)
    stack = [node.grad for node in lineage if isinstance(node.grad, value_class)]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen[node] = None
        stack.extend(parent for parent in node.parents if parent not in seen)
        if isinstance(node.grad, value_class) and node.grad not in seen:
            stack.append(node.grad)
    return lineage, topological_order(*seen)


def _fields(node: Any) -> tuple:
    return (type(node), node.data, node.op, node.parents, node.local_grads, node.attrs,
            node.label)


def _rebuild(cls: type, data: float, op: str, parents: tuple, local_grads: tuple,
             attrs: tuple, label: str) -> Any:
    """A node from its fields (its grad is set separately)."""
    if cls is stores._value_class:
        node = stores.make_node(data, op, parents, local_grads, attrs)
    else:  # a leaf of a Value subclass (ops only make Values)
        node = cls.__new__(cls)
        node.data = data
    node.label = label
    return node


def _rebuild_top(listing: None, listed: tuple, *fields: Any) -> Any:
    """The top node, once the nodes it listed (``listed``) have been rebuilt."""
    return _rebuild(*fields)


def _grads(nodes: list) -> tuple:
    """(node, grad) of each node whose grad a new node would not have (+0.0); a -0.0
    grad is kept, its sign a fact of the pass that wrote it."""
    return tuple((node, node.grad) for node in nodes
                 if not (type(node.grad) is float and node.grad == 0.0
                         and math.copysign(1.0, node.grad) > 0.0))


def reduce_node(node: Any) -> tuple:
    """``Value.__reduce__``: a flat record, or (for a top) its listed nodes first."""
    if _claim(node):
        return (_rebuild, _fields(node))
    lineage, order = _reachable(node)
    before = lineage[:-1]
    ancestors = dict.fromkeys(lineage)
    after = [n for n in order if n not in ancestors]
    listing = _Listing()
    if before or after:
        nodes = dict.fromkeys(before)
        nodes.update(dict.fromkeys(after))
        open_lists = getattr(_listed, "open", [])
        open_lists.append((weakref.ref(listing), nodes))
        _listed.open = open_lists
    return (_rebuild_top, (listing, tuple(before), *_fields(node)),
            (tuple(after), _grads(order)))


def set_grads(state: tuple) -> None:
    """``Value.__setstate__``: the grads of every node a top wrote, once all exist."""
    _after, grads = state
    for node, grad in grads:
        node.grad = grad


def copy_node(node: Any) -> Any:
    """``copy.copy``: a new node with the same fields, the same parents and grad."""
    clone = _rebuild(*_fields(node))
    clone.grad = node.grad
    return clone


def deepcopy_node(node: Any, memo: dict) -> Any:
    """``copy.deepcopy``: copies of every node reachable from ``node``, in one loop."""
    value_class = stores._value_class
    _lineage, order = _reachable(node)
    made = []
    for original in order:
        if id(original) in memo:
            continue
        cls, data, op, parents, local_grads, attrs, label = _fields(original)
        parents = tuple(memo[id(parent)] for parent in parents)
        memo[id(original)] = _rebuild(cls, data, op, parents, local_grads, attrs, label)
        made.append(original)
    keep_alive = memo.setdefault(id(memo), [])
    keep_alive.extend(made)  # as copy.deepcopy does: ids stay unique while it runs
    for original in made:
        grad = original.grad
        memo[id(original)].grad = memo[id(grad)] if isinstance(grad, value_class) else grad
    return memo[id(node)]
