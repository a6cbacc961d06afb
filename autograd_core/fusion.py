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


def _row_dots(first: np.ndarray, second: np.ndarray, out: np.ndarray) -> None:
    """``out[k] = sum_m first[k, m] * second[k, m]`` for every k (numpy >= 2 has a ufunc)."""
    if _VECDOT is not None:
        _VECDOT(first, second, out=out)
    else:
        np.einsum("km,km->k", first, second, out=out)


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
        self.last_column: tuple = (None, None)
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

    def column(self, theta: np.ndarray) -> np.ndarray:
        """``read(theta)`` as a column ``[k, 1]`` (kept while the same array is passed)."""
        last_theta, last_column = self.last_column
        if last_theta is theta and self.window is not None:
            return last_column
        column = self.read(theta)[:, None]
        self.last_column = (theta, column)
        return column

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
        fold: ParamView | None = None,
    ) -> None:
        # left/right: ParamView or row indices, by form; others: ParamView or rows.
        # fold (dense only): weights and biases as one view, the inputs' rows being
        # followed by a row of ones (see _bias_fold).
        self.fold = fold
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

    def gradient_writes(self) -> list[tuple[ParamView, bool]]:
        """Every parameter view whose gradient the backward step writes, and whether it
        assigns it (an exclusive view: ``out=``) rather than adds into it."""
        if self.form == "constant":
            views = [self.left] if self.left is self.right else [self.left, self.right]
        else:
            views = [self.left] if self.form == "dense" else []
        # A dense layer's weights and squares' parameters are assigned when exclusive.
        assigns = self.form == "dense" or self.left is self.right
        writes = [(view, assigns and view.exclusive) for view in views]
        return writes + [(view, view.exclusive) for view in self.others
                         if isinstance(view, ParamView)]

    def bind(self, values: np.ndarray, deltas: np.ndarray, grads: np.ndarray) -> tuple:
        """This group's forward and backward steps on a plan's buffers.

        Views of the value, delta and gradient rows are taken once here; the steps
        then only call numpy (see ``autograd_core.trace._Plan``).
        """
        out = values[self.out_rows]  # a view: the sums are written in place
        delta = deltas[self.out_rows]
        left, right, form = self.left, self.right, self.form
        rows_of = _rows_reader(values)
        saved: list = [None, None]
        read_others = [
            (view, None) if view is not None else (None, rows_of(rows))
            for view, rows in self.other_reads
        ]

        def add_others(theta: np.ndarray) -> None:
            for view, read in read_others:
                term = read() if view is None else view.column(theta)
                np.add(out, term, out=out)

        fold = self.fold
        if fold is not None:
            # [W | b] @ [x; 1]: one matrix product adds the bias as well.
            rows = self.right_index
            saved[1] = values[rows]
            extended = values[rows.start:rows.stop + 1]

            def forward(theta: np.ndarray) -> None:
                np.matmul(fold.read(theta), extended, out=out)

        elif form == "dense" and type(self.right_index) is slice and len(read_others) == 1 \
                and read_others[0][0] is not None:
            # The usual layer: its inputs' rows are a view, its biases a parameter view.
            second = saved[1] = values[self.right_index]
            bias = read_others[0][0]

            def forward(theta: np.ndarray) -> None:
                np.matmul(left.read(theta), second, out=out)
                np.add(out, bias.column(theta), out=out)

        elif form == "dense":
            read_second = rows_of(self.right_index)

            def forward(theta: np.ndarray) -> None:
                second = saved[1] = read_second()
                np.matmul(left.read(theta), second, out=out)
                add_others(theta)

        elif form == "constant":
            sums = out[:, 0]  # every column is the same sum: the first is computed
            rest = out[:, 1:]

            def forward(theta: np.ndarray) -> None:
                _row_dots(left.read(theta), right.read(theta), sums)
                if rest.size:
                    rest[...] = sums[:, None]
                add_others(theta)

        else:
            read_first, read_second = rows_of(self.left_index), rows_of(self.right_index)

            def forward(theta: np.ndarray) -> None:
                first, second = saved[0], saved[1] = read_first(), read_second()
                np.einsum("kmb,kmb->kb", first, second, out=out)
                add_others(theta)

        if not self.needs_backward:
            return forward, None
        send_others = []
        for source, scatter in zip(self.others, self.other_scatters):
            if isinstance(source, ParamView):
                into = source.view_of(grads) if source.exclusive else None
                send_others.append((source, None, into))
            elif scatter is not None:
                send_others.append((None, scatter, None))

        def backward_others() -> None:
            for source, scatter, into in send_others:
                if into is not None:
                    np.add.reduce(delta, axis=1, out=into)
                elif source is not None:
                    source.add(grads, delta.sum(axis=1))
                else:
                    scatter.add(deltas, delta)

        if form == "dense":
            left_grads = left.view_of(grads) if left.exclusive else None
            right_scatter = self.right_scatter
            right_into = None if right_scatter is None else right_scatter.destination(deltas)
            outer = left.ids.shape[0] == 1  # one sum: its input deltas are an outer product
            # Folded, and the only writer of those gradients: [dW | db] = delta @ [x; 1]^T.
            folded = None
            if fold is not None and left.exclusive and self.others[0].exclusive:
                folded = (fold.view_of(grads), extended.T)
            # One bias that is its parameters' only source: its gradient is written here.
            bias_into = send_others[0][2] if len(send_others) == 1 else None

            def backward(theta: np.ndarray) -> None:
                second = saved[1]
                if folded is not None:
                    np.matmul(delta, folded[1], out=folded[0])
                elif left_grads is not None:
                    np.matmul(delta, second.T, out=left_grads)
                else:
                    left.add(grads, delta @ second.T)
                if right_scatter is not None:
                    first = left.read(theta)
                    if right_into is None:
                        right_scatter.add(deltas, first.T @ delta)
                    elif outer:
                        # matmul is slow for a contraction of length 1; same numbers.
                        np.multiply(first.T, delta, out=right_into)
                    else:
                        np.matmul(first.T, delta, out=right_into)
                if folded is not None:
                    return
                if bias_into is not None:
                    np.add.reduce(delta, axis=1, out=bias_into)
                else:
                    backward_others()

        elif form == "constant" and left is right and left.window is not None:
            # Squares (an L2 penalty): both factors send delta * p, so p gets 2 * delta * p
            # (doubling is exact: the same number as adding the two messages).
            into = left.view_of(grads)
            doubled = np.empty((len(delta), 1))
            summed = doubled[:, 0]
            assign = left.exclusive

            one_column = delta.shape[1] == 1  # no inputs: a batch of one, nothing to add

            def backward(theta: np.ndarray) -> None:
                if one_column:
                    np.multiply(delta, 2.0, out=doubled)
                else:
                    np.add.reduce(delta, axis=1, out=summed)
                    np.multiply(doubled, 2.0, out=doubled)
                if assign:
                    np.multiply(doubled, left.read(theta), out=into)
                else:
                    np.add(into, doubled * left.read(theta), out=into)
                backward_others()

        elif form == "constant":

            def backward(theta: np.ndarray) -> None:
                batch_delta = delta.sum(axis=1)[:, None]
                left.add(grads, batch_delta * right.read(theta))
                right.add(grads, batch_delta * left.read(theta))
                backward_others()

        else:
            left_scatter, right_scatter = self.left_scatter, self.right_scatter

            def backward(theta: np.ndarray) -> None:
                first, second = saved
                k, m, batch = first.shape
                spread = delta[:, None, :]
                if left_scatter is not None:
                    left_scatter.add(deltas, (spread * second).reshape(k * m, batch))
                if right_scatter is not None:
                    right_scatter.add(deltas, (spread * first).reshape(k * m, batch))
                backward_others()

        return forward, backward


def _rows_reader(values: np.ndarray) -> Callable[[Any], Callable[[], np.ndarray]]:
    """For row indices, a function reading those rows of ``values``: a view taken once
    for a slice (it follows the array), a gather on each call for an index array."""

    def reader(rows: Any) -> Callable[[], np.ndarray]:
        if type(rows) is slice:
            view = values[rows]
            return lambda: view
        return lambda: values[rows]

    return reader


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
    ones_rows: set[int] = frozenset(),
) -> DotGroup:
    """The fused sums of products ``members``, in the cheapest form that fits them.

    Every parameter view it makes is appended to ``param_views``. ``ones_rows`` are
    the value rows that hold constant ones (see :func:`inputs_wanting_ones`).
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
        left_ids = [[param_pos[w] for w, _ in fp] for fp in factors]
        right_ids = [[param_pos[x] for _, x in fp] for fp in factors]
        left = view(left_ids)
        # Squares (w * w): one view for both factors, so that it may be exclusive.
        right = left if right_ids == left_ids else view(right_ids)
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
    columns = list(zip(*(other_terms(n, absorbed[n]) for n in members)))
    others: list[Any] = []
    for column in columns:
        if all(p in param_pos for p in column):
            others.append(view([param_pos[p] for p in column]))
        else:
            others.append([row_of(p) for p in column])
    wanted["others"] = [any(p in live for p in column) for column in columns]
    fold = _bias_fold(left, right, others, ones_rows, num_params) if form == "dense" else None
    return DotGroup(out_rows, form, left, right, others, wanted, fold)


def inputs_wanting_ones(absorbed: dict[Value, list[Value]],
                        param_pos: dict[Value, int]) -> set[tuple[int, ...]]:
    """The inputs (ids, in order) of dense sums with one more parameter term (a bias).

    The trace puts a row of ones after the rows of such inputs when it lays them out:
    the layer's matrix product then adds the bias too (:func:`_bias_fold`).
    """
    wanting = set()
    for node, products in absorbed.items():
        if len(node.parents) != len(products) + 1:
            continue  # not exactly one term besides the products
        others = other_terms(node, products)
        if len(others) != 1 or others[0] not in param_pos:
            continue
        pairs = [_weight_first(p, param_pos) for p in products]
        if all(w in param_pos and x not in param_pos for w, x in pairs):
            wanting.add(tuple(id(x) for _, x in pairs))
    return wanting


def _bias_fold(left: ParamView, right: list[int], others: list, ones_rows: set[int],
               num_params: int) -> ParamView | None:
    """A dense layer's weights and biases as one ``[k, m + 1]`` view of the parameters,
    if its inputs' rows are consecutive and followed by a row of ones (else None).

    ``[W | b] @ [x; 1]`` is ``W x + b`` in one matrix product, and
    ``delta @ [x; 1]^T`` is ``[dW | db]``: the same sums, added in another order
    (the replay agrees with the eager engine up to rounding either way).
    """
    if len(others) != 1 or not isinstance(others[0], ParamView) or not right:
        return None
    if right != list(range(right[0], right[0] + len(right))) or right[-1] + 1 not in ones_rows:
        return None
    combined = ParamView(np.column_stack([left.ids, others[0].ids]), num_params)
    return combined if combined.window is not None and combined.unique else None


def other_terms(node: Value, products: list[Value]) -> list[Value]:
    """The terms of a fused sum that are not among its absorbed products.

    By identity, through a set: a penalty's sum has thousands of terms, and a list
    lookup per term would make tracing quadratic.
    """
    taken = {id(p) for p in products}
    return [p for p in node.parents if id(p) not in taken]


def _weight_first(product: Value, param_pos: dict[Value, int]) -> tuple[Value, Value]:
    """The factors of a product, the parameter first if there is one."""
    x, y = product.parents
    return (y, x) if y in param_pos and x not in param_pos else (x, y)
