"""The trace's fusion: a layer's sums of products replayed as matrix products.

Without it (``trace(..., fuse=False)``) the replay applies every rule to a group of
nodes, one numpy call per group (:mod:`autograd_core.trace`). With it, a ``sum``
whose terms include products that nothing else uses becomes one :class:`DotGroup`:

* dense: every ``w_ki`` is a parameter and ``x_ki = x_i`` for every k (a dense layer):
  a matrix product, whose weight gradient is summed over the batch by the product;
* constant: both factors of every product are parameters (an L2 penalty): the sum is
  the same for every sample, so it is computed once and broadcast;
* general: factors read from the value rows, contracted per sample.

The fusion knows the derivatives of a product and a sum, so it is used only if the
rule table agrees: :func:`agrees_with_rules` probes the live ``mul`` and ``sum`` rules
on arrays each time a function is traced (a replaced rule turns the fusion off).
The tests compare fused and unfused replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Value
from .rows import Scatter, index_of
from .rules import RULES

__all__: list[str] = []


def agrees_with_rules() -> bool:
    """Whether ``mul`` and ``sum`` in the table have the derivatives the fusion assumes."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3), rng.normal(size=3)
    mul, total = RULES.get("mul"), RULES.get("sum")
    if mul is None or total is None:
        return False
    product = mul.forward_array(a, b)
    d_a, d_b = mul.local(a, b, product)
    ones = total.local(a, b, a + b)
    return (
        np.array_equal(product, a * b)
        and np.array_equal(np.broadcast_to(d_a, a.shape), b)
        and np.array_equal(np.broadcast_to(d_b, b.shape), a)
        and all(np.all(np.asarray(one) == 1.0) for one in ones)
        and np.array_equal(total.forward_array(a, b), a + b)
    )


_VECDOT = getattr(np, "vecdot", None)  # numpy >= 2


def _row_dots(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``sum_m first[k, m] * second[k, m]`` for every k (numpy >= 2 has a ufunc for it)."""
    if _VECDOT is not None:
        return _VECDOT(first, second)
    return np.einsum("km,km->k", first, second)


class ParamView:
    """Some parameters as an array of a fixed shape: read from ``theta``, added into grads.

    A dense layer's weights are evenly spaced runs of consecutive parameters (a neuron's
    weights, then its bias), so they are usually a view of ``theta`` (no copy, and the
    gradient is added in place); other index patterns are gathered and scattered.

    ``exclusive`` (set once the whole trace is compiled) says that these parameters
    get their gradient from this view alone: the gradient is then written straight
    into the zeroed gradient array (``out=``) instead of computed, then added.
    """

    def __init__(self, ids: Any, num_params: int) -> None:
        ids = np.asarray(ids, dtype=np.intp)
        self.ids = ids
        self.window: tuple | None = None  # (slice, reshaped shape, columns kept) of a view
        self.exclusive = False
        # The last parameter array read and its view: the same array is usually passed
        # on every call (a training loop updating theta in place), and a view follows
        # in-place updates. Holding the array keeps its id from being reused.
        self.last_read: tuple = (None, None)
        if ids.ndim == 1:
            steps = np.diff(ids)
            if len(ids) and np.all(steps == (steps[0] if len(steps) else 1)) and ids[0] >= 0:
                step = int(steps[0]) if len(steps) else 1
                if step > 0:
                    self.window = (slice(ids[0], ids[-1] + 1, step), None, None)
        elif ids.ndim == 2 and ids.size:
            k, m = ids.shape
            start = int(ids[0, 0])
            stride = int(ids[1, 0]) - start if k > 1 else m
            regular = start + stride * np.arange(k)[:, None] + np.arange(m)[None, :]
            if stride >= m and start + k * stride <= num_params and np.array_equal(ids, regular):
                self.window = (slice(start, start + k * stride), (k, stride), m)
        if self.window is None:
            self.scatter = Scatter(ids.ravel().tolist())
        self.unique = len(np.unique(ids)) == ids.size

    def read(self, theta: np.ndarray) -> np.ndarray:
        """The parameters from ``theta`` (a view when the pattern allows; do not write it)."""
        if self.window is None:
            return theta[self.ids]
        last_theta, last_view = self.last_read
        if last_theta is theta:
            return last_view
        view = self.view_of(theta)  # a view whatever theta's stride: theta is 1-D
        self.last_read = (theta, view)
        return view

    def view_of(self, array: np.ndarray) -> np.ndarray:
        """The view of ``array`` at the ids (``window`` must be set)."""
        part, shape, columns = self.window
        if shape is None:
            return array[part]
        return array[part].reshape(shape)[:, :columns]

    def add(self, grads: np.ndarray, contribution: np.ndarray) -> None:
        """Add ``contribution`` (shaped like the ids) into ``grads`` at the ids."""
        if self.window is None:
            self.scatter.add(grads, contribution.ravel())
        else:
            target = self.view_of(grads)
            target += contribution


class DotGroup:
    """Sums of products ``sum_i w_ki x_ki (+ other terms)``, as batched contractions.

    Three forms, chosen at trace time:

    * dense: every ``w_ki`` is a parameter and ``x_ki = x_i`` for every k (a dense
      layer): a matrix product, whose weight gradient is summed over the batch by the
      product itself;
    * constant: both factors of every product are parameters (an L2 penalty): the sum
      is the same for every sample, so it is computed once and broadcast;
    * general: factors read from the value rows, contracted per sample.

    An "other term" that is a parameter for every sum of the group is read from
    ``theta`` directly.
    """

    def __init__(
        self,
        out_rows: slice,
        form: str,
        left: Any,
        right: Any,
        others: list,
        wanted: dict[str, Any],
    ) -> None:
        # left/right: ParamView or row indices, by form; others: ParamView or rows.
        self.out_rows = out_rows
        self.form = form
        self.left = left
        self.right = right
        self.others = others
        self.left_scatter = self.right_scatter = None
        if form == "dense":
            self.right_index = index_of(right)
            if wanted["right"]:
                self.right_scatter = Scatter(right)
        elif form == "general":
            self.left_index = np.asarray(left, dtype=np.intp)
            self.right_index = np.asarray(right, dtype=np.intp)
            if wanted["left"]:
                self.left_scatter = Scatter(self.left_index.ravel().tolist())
            if wanted["right"]:
                self.right_scatter = Scatter(self.right_index.ravel().tolist())
        self.other_reads = []
        self.other_scatters = []
        for source, want in zip(others, wanted["others"]):
            if isinstance(source, ParamView):
                self.other_reads.append((source, None))
                self.other_scatters.append(source)
            else:
                self.other_reads.append((None, index_of(source)))
                self.other_scatters.append(Scatter(source) if want else None)
        self.needs_backward = form != "general" or any(
            s is not None for s in (self.left_scatter, self.right_scatter, *self.other_scatters)
        )

    def forward(self, values: np.ndarray, theta: np.ndarray, cache: list) -> None:
        out = values[self.out_rows]  # a view: the sums are written in place
        if self.form == "dense":
            first = self.left.read(theta)
            second = values[self.right_index]
            np.matmul(first, second, out=out)
        elif self.form == "constant":
            first = self.left.read(theta)
            second = self.right.read(theta)
            out[...] = _row_dots(first, second)[:, None]
        else:
            first = values[self.left_index]
            second = values[self.right_index]
            np.einsum("kmb,kmb->kb", first, second, out=out)
        cache.append((first, second))
        for view, rows in self.other_reads:
            if view is None:
                out += values[rows]
            else:
                out += view.read(theta)[:, None]

    def backward(self, deltas: np.ndarray, param_grads: np.ndarray, cached: tuple) -> None:
        delta = deltas[self.out_rows]
        first, second = cached
        if self.form == "dense":
            if self.left.exclusive:
                np.matmul(delta, second.T, out=self.left.view_of(param_grads))
            else:
                self.left.add(param_grads, delta @ second.T)
            if self.right_scatter is not None:
                into = self.right_scatter.destination(deltas)
                if into is None:
                    self.right_scatter.add(deltas, first.T @ delta)
                elif len(first) == 1:
                    # One sum: an outer product, which matmul does slowly for a
                    # contraction of length 1 (same numbers: one product per entry).
                    np.multiply(first.T, delta, out=into)
                else:
                    np.matmul(first.T, delta, out=into)
        elif self.form == "constant":
            batch_delta = delta.sum(axis=1)[:, None]
            self.left.add(param_grads, batch_delta * second)
            self.right.add(param_grads, batch_delta * first)
        else:
            k, m, batch = first.shape
            spread = delta[:, None, :]
            if self.left_scatter is not None:
                self.left_scatter.add(deltas, (spread * second).reshape(k * m, batch))
            if self.right_scatter is not None:
                self.right_scatter.add(deltas, (spread * first).reshape(k * m, batch))
        for source, scatter in zip(self.others, self.other_scatters):
            if isinstance(source, ParamView):
                if source.exclusive:
                    np.add.reduce(delta, axis=1, out=source.view_of(param_grads))
                else:
                    source.add(param_grads, delta.sum(axis=1))
            elif scatter is not None:
                scatter.add(deltas, delta)


def absorbed_products(order: list[Value], outputs: Sequence[Value]) -> dict[Value, list[Value]]:
    """For each ``sum`` node, the products it absorbs (used by nothing else, not outputs).

    Empty when the rule table's ``mul`` and ``sum`` are not the ones the fusion assumes.
    """
    if not agrees_with_rules():
        return {}
    consumers: dict[Value, int] = {}
    for node in order:
        for parent in node.parents:
            consumers[parent] = consumers.get(parent, 0) + 1
    output_ids = {id(node) for node in outputs}

    def fusable(node: Value) -> bool:
        return node.op == "mul" and consumers[node] == 1 and id(node) not in output_ids

    absorbed: dict[Value, list[Value]] = {}
    for node in order:
        if node.op == "sum":
            products = [p for p in node.parents if fusable(p)]
            if products:
                absorbed[node] = products
    return absorbed


def dot_group(
    members: list[Value],
    absorbed: dict[Value, list[Value]],
    out_rows: slice,
    param_pos: dict[Value, int],
    live: set[Value],
    row_of: Callable[[Value], int],
    num_params: int,
    param_views: list[ParamView],
) -> DotGroup:
    """The fused sums of products ``members``, in the cheapest form that fits them.

    Every parameter view it makes is appended to ``param_views``.
    """

    def view(ids: Any) -> ParamView:
        made = ParamView(ids, num_params)
        param_views.append(made)
        return made

    factors = [[_weight_first(p, param_pos) for p in absorbed[n]] for n in members]
    pairs = [pair for node_pairs in factors for pair in node_pairs]
    shared = [x for _, x in factors[0]]
    wanted: dict[str, Any] = {"left": False, "right": False}
    if all(w in param_pos and x in param_pos for w, x in pairs):
        form = "constant"
        left = view([[param_pos[w] for w, _ in fp] for fp in factors])
        right = view([[param_pos[x] for _, x in fp] for fp in factors])
    elif all(w in param_pos for w, _ in pairs) and all(
        [x for _, x in fp] == shared for fp in factors
    ):
        form = "dense"
        left = view([[param_pos[w] for w, _ in fp] for fp in factors])
        right = [row_of(x) for x in shared]
        wanted["right"] = any(x in live for x in shared)
    else:
        form = "general"
        left = [[row_of(w) for w, _ in fp] for fp in factors]
        right = [[row_of(x) for _, x in fp] for fp in factors]
        wanted["left"] = any(w in live for w, _ in pairs)
        wanted["right"] = any(x in live for _, x in pairs)
    columns = list(zip(*([p for p in n.parents if p not in absorbed[n]] for n in members)))
    others: list[Any] = []
    for column in columns:
        if all(p in param_pos for p in column):
            others.append(view([param_pos[p] for p in column]))
        else:
            others.append([row_of(p) for p in column])
    wanted["others"] = [any(p in live for p in column) for column in columns]
    return DotGroup(out_rows, form, left, right, others, wanted)


def _weight_first(product: Value, param_pos: dict[Value, int]) -> tuple[Value, Value]:
    """The factors of a product, the parameter first if there is one."""
    x, y = product.parents
    return (y, x) if y in param_pos and x not in param_pos else (x, y)
