"""Trace once, replay on a batch: the scalar graph of a function run on numpy arrays.

The eager engine builds one graph per sample. For a function that is the same graph
for every sample (an MLP and its loss, say), :func:`trace` records that graph once,
from one example, and the returned :class:`Trace` replays it on numpy arrays that
hold a whole batch, one sample per row:

* ``forward`` runs each node's ``Rule.forward_array`` on a row of the batch;
* ``backward`` / ``value_and_grad`` run each ``Rule.local`` on arrays (the same rule
  code the eager pass runs on floats) and send the delta messages backward, then sum
  or average each parameter's gradient over the batch.

The replay is not node at a time. Nodes at the same depth that apply the same op are
one numpy call on stacked rows, and a ``sum`` of products in which one factor is a
parameter and the other factors are shared by every such sum of its depth (a dense
layer of neurons) is one matrix product (:mod:`autograd_core.fusion`; ``fuse=False``
turns it off). That fusion knows the derivatives of a product and a sum, so it is
used only if the rule table agrees (it is probed on arrays at trace time); otherwise
the replay falls back to the rules.

Everything that does not depend on the batch is planned once, at trace time, so a
call spends its time in numpy rather than in Python:

* deltas go only to nodes that lead to a parameter (an input's or a constant's delta
  is never computed);
* a dense layer's weights and biases are read as views of the parameter array, and
  a sum of products of parameters (an L2 penalty) is computed once per call, not
  once per sample;
* a delta row or parameter that receives its gradient from one place only is
  written there directly (numpy's ``out=``) instead of computed and then added;
* a call runs on a plan: for each batch size (and thread) the trace keeps buffers
  for its value rows, delta rows and gradient, with every group's forward and
  backward step bound to views of them once, so a call is the numpy work and little
  Python (a few sizes are kept; a huge one-off batch is not).

Arrays returned to the caller are fresh on every call: later calls do not change
them.

What is frozen at trace time:

* Python control flow on data. ``if x.data > 0:`` inside ``fn`` takes the branch of
  the example, and the replay follows that branch for every sample. Comparisons of
  Values (``x > 0``) made while tracing are detected and raise a
  :class:`TraceError`. Reading ``.data`` directly cannot be detected: do not branch
  on it. Ops with kinks (``relu``, ``abs``, ``max``, ``leaky_relu``) are fine: their
  array forms choose the branch per sample.
* Leaves that are neither inputs nor parameters, such as the ``1`` of ``1 - x`` or a
  ``Value(x.data)`` made from data, keep the value they had in the example.
* Domain checks: the array forms do not raise for ``log(-1)``; they give NaN.

Example:
    >>> from autograd_core import Value
    >>> w, b = Value(0.5), Value(-1.0)
    >>> t = trace(lambda x: (w * x[0] + b).tanh(), [0.0], params=[w, b])
    >>> import numpy as np
    >>> t.forward(np.array([[0.0], [2.0]])).ravel().round(4).tolist()
    [-0.7616, 0.0]
    >>> loss, grads = t.value_and_grad(np.array([[0.0], [2.0]]))
    >>> [round(float(g), 4) for g in grads]
    [1.0, 0.71]
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import fusion
from .engine import Value, topological_order
from .rows import Scatter, index_of
from .rules import RULES, Rule

__all__ = ["trace", "Trace", "TraceError", "TraceWarning"]

_REDUCTIONS = ("mean", "sum")
# Plans (buffers for one batch size, per thread) kept per trace, and the largest
# value array kept (in cells): a one-off replay of a huge batch does not hold memory.
_PLANS_KEPT = 8
_PLAN_CELLS = 1 << 22


class TraceError(ValueError):
    """The function cannot be traced faithfully (for example, it branches on data)."""


class TraceWarning(UserWarning):
    """The traced function compared a Value that depends on the inputs."""




class _OpGroup:
    """Nodes of one depth with one op and the same attrs: one numpy call per pass.

    ``wanted[i]`` says whether the ``i``-th parents lead to a parameter: deltas are sent
    back only to those (an input's or a constant's delta is never read).
    """

    def __init__(
        self, rule: Rule, attrs: tuple, out_rows: slice, parent_rows: list, wanted: list
    ) -> None:
        self.rule = rule
        self.attrs = attrs
        self.out_rows = out_rows
        self.gathers = [index_of(rows) for rows in parent_rows]
        self.scatters = [
            Scatter(rows) if want else None for rows, want in zip(parent_rows, wanted)
        ]
        self.needs_backward = any(wanted)

    def bind(self, values: np.ndarray, deltas: np.ndarray, grads: np.ndarray) -> tuple:
        """This group's forward and backward steps on a plan's buffers (see ``_Plan``)."""
        rule_forward, rule_local, attrs = self.rule.forward_array, self.rule.local, self.attrs
        out = values[self.out_rows]
        views = [values[rows] if type(rows) is slice else None for rows in self.gathers]
        gathers = self.gathers
        saved: list = [views]

        if all(view is not None for view in views):

            def forward(theta: np.ndarray) -> None:
                out[...] = rule_forward(*views, *attrs)

        else:

            def forward(theta: np.ndarray) -> None:
                args = saved[0] = [
                    view if view is not None else values[rows]
                    for view, rows in zip(views, gathers)
                ]
                out[...] = rule_forward(*args, *attrs)

        if not self.needs_backward:
            return forward, None
        delta = deltas[self.out_rows]
        # Per parent: None (no delta wanted), or the scatter and, when it may assign
        # its rows directly, the view it writes into.
        sends = [
            None if scatter is None else (scatter, scatter.destination(deltas))
            for scatter in self.scatters
        ]

        def backward(theta: np.ndarray) -> None:
            for send, local in zip(sends, rule_local(*saved[0], out, *attrs)):
                if send is None:
                    continue
                scatter, into = send
                if into is None:
                    scatter.add(deltas, delta * local)
                else:
                    np.multiply(delta, local, out=into)

        return forward, backward


class _Plan:
    """Buffers for replays of one batch size, and every group's steps bound to them.

    Binding once (views of the value and delta rows, of the gradient array) leaves a
    replay with the numpy calls and little else. A plan belongs to one thread, so
    replays in several threads never share buffers.
    """

    def __init__(self, trace: Trace, size: int) -> None:
        self.values = np.empty((trace._num_rows, size))
        if trace._has_constant_rows:
            self.values[trace._constant_rows] = trace._constant_values
        self.deltas = np.zeros((trace._num_rows, size))
        self.grads = np.zeros(len(trace.params))
        self.forward: list[Callable[[np.ndarray], None]] = []
        self.backward: list[Callable[[np.ndarray], None]] = []
        for group in trace._groups:
            forward, backward = group.bind(self.values, self.deltas, self.grads)
            self.forward.append(forward)
            if backward is not None:
                self.backward.append(backward)
        self.backward.reverse()


class Trace:
    """A recorded scalar graph, replayed on batches (made by :func:`trace`).

    Attributes:
        inputs: the placeholder Values the function was traced with (one per column
            of a batch).
        params: the parameters, in the order gradients are returned.
        outputs: the traced output Values (from the example).
        num_nodes: nodes in the recorded graph.
        fused: whether sums of products are replayed as matrix products
            (:mod:`autograd_core.fusion`).
    """

    def __init__(
        self, inputs: Sequence[Value], params: Sequence[Value], outputs: Sequence[Value],
        *, fuse: bool = True,
    ) -> None:
        if type(fuse) is not bool:
            raise TypeError(f"fuse must be True or False; got {fuse!r}")
        self.fused = fuse
        self.inputs = tuple(inputs)
        self.params = tuple(params)
        self.outputs = tuple(outputs)
        order = topological_order(*self.outputs)
        self.num_nodes = len(order)
        self._compile(order)
        self._plans: dict[tuple[int, int], _Plan] = {}

    # -- compilation -----------------------------------------------------------

    def _compile(self, order: list[Value]) -> None:
        param_pos = {node: i for i, node in enumerate(self.params)}
        # Nodes that lead to a parameter: only they need deltas in the backward pass.
        live: set[Value] = set()
        for node in order:
            if node in param_pos or any(p in live for p in node.parents):
                live.add(node)
        # Which products each sum absorbs (the fusion), and the depth of every node.
        absorbed = fusion.absorbed_products(order, self.outputs) if self.fused else {}
        skipped = {id(p) for products in absorbed.values() for p in products}
        depth: dict[Value, int] = {}
        groups: dict[tuple, list[Value]] = {}
        for node in order:
            if not node.parents:
                depth[node] = 0
                continue
            if id(node) in skipped:
                continue
            if node in absorbed:
                products = absorbed[node]
                others = fusion.other_terms(node, products)
                sources = [*others, *(q for p in products for q in p.parents)]
                key = (_depth_of(depth, sources), "dot", len(products), len(others))
            else:
                key = (_depth_of(depth, node.parents), node.op, node.attrs, len(node.parents))
            depth[node] = key[0]
            groups.setdefault(key, []).append(node)

        # Rows of the value array: inputs first, then each group's nodes together;
        # a parameter or constant gets a row only if some group reads it from there.
        row: dict[Value, int] = {node: i for i, node in enumerate(self.inputs)}

        def row_of(node: Value) -> int:
            if node not in row:
                row[node] = len(row)
            return row[node]

        self._groups: list[_OpGroup | fusion.DotGroup] = []
        self._param_views: list[fusion.ParamView] = []
        for key in sorted(groups, key=lambda k: k[0]):  # stable: first appearance per depth
            members = groups[key]
            start = len(row)
            for node in members:
                row[node] = len(row)
            out_rows = slice(start, len(row))
            if key[1] == "dot":
                self._groups.append(
                    fusion.dot_group(members, absorbed, out_rows, param_pos, live, row_of,
                                     len(self.params), self._param_views)
                )
            else:
                rule = RULES[key[1]]
                parents = [[n.parents[i] for n in members] for i in range(key[3])]
                parent_rows = [[row_of(p) for p in column] for column in parents]
                wanted = [any(p in live for p in column) for column in parents]
                self._groups.append(_OpGroup(rule, key[2], out_rows, parent_rows, wanted))
        self._output_rows = np.array([row_of(node) for node in self.outputs], dtype=np.intp)
        self._num_rows = len(row)
        self._num_inputs = len(self.inputs)
        read_params = [p for p in self.params if p in row]
        self._param_rows = index_of([row[p] for p in read_params])
        self._param_ids = index_of([param_pos[p] for p in read_params])
        inputs = {id(node) for node in self.inputs}
        constants = [n for n in row if not n.parents and n not in param_pos and id(n) not in inputs]
        self._constant_rows = index_of([row[n] for n in constants])
        self._constant_values = np.array([n.data for n in constants], dtype=float)[:, None]
        self._has_param_rows = bool(read_params)
        self._mark_exclusive_scatters()
        # A parameter reached by one view only can have its gradient written, not added.
        sources = np.zeros(len(self.params), dtype=np.intp)
        for param_view in self._param_views:
            np.add.at(sources, param_view.ids.ravel(), 1)
        sources[[param_pos[p] for p in read_params]] += 1
        for param_view in self._param_views:
            param_view.exclusive = (
                param_view.window is not None
                and param_view.unique
                and bool(np.all(sources[param_view.ids] == 1))
            )
        self._has_constant_rows = bool(constants)

    def _mark_exclusive_scatters(self) -> None:
        """Let a scatter assign its delta rows when it is the only writer of them."""
        scatters = []
        for group in self._groups:
            if isinstance(group, _OpGroup):
                scatters += group.scatters
            else:
                scatters += [group.left_scatter, group.right_scatter, *group.other_scatters]
        scatters = [s for s in scatters if isinstance(s, Scatter)]
        writers = np.zeros(self._num_rows, dtype=np.intp)
        writers[self._output_rows] += 1  # value_and_grad seeds the output's delta
        for scatter in scatters:
            np.add.at(writers, scatter.targets, 1)
        for scatter in scatters:
            scatter.exclusive = scatter.order is None and bool(
                np.all(writers[scatter.targets] == 1)
            )

    # -- replay ----------------------------------------------------------------

    def _check_batch(self, batch: Any) -> np.ndarray:
        array = np.asarray(batch, dtype=float)
        if array.ndim == 1 and self._num_inputs == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != self._num_inputs:
            raise ValueError(
                f"batch must have shape [batch_size, {self._num_inputs}] (one row per "
                f"sample, one column per traced input); got shape {array.shape}"
            )
        if array.shape[0] == 0 and self._num_inputs:
            raise ValueError("batch is empty; give at least one sample")
        return array

    def _param_values(self, param_values: Any) -> np.ndarray:
        if param_values is None:
            return np.array([p.data for p in self.params], dtype=float)
        theta = np.asarray(param_values, dtype=float)
        if theta.shape != (len(self.params),):
            raise ValueError(
                f"param_values must have shape ({len(self.params)},); got {theta.shape}"
            )
        return theta

    def _plan(self, size: int) -> _Plan:
        """This thread's plan for batches of ``size`` rows (made on first use)."""
        key = (threading.get_ident(), size)
        plan = self._plans.get(key)
        if plan is None:
            plan = _Plan(self, size)
            if self._num_rows * size <= _PLAN_CELLS:
                if len(self._plans) >= _PLANS_KEPT:
                    self._plans.clear()  # one atomic call: safe while other threads look up
                self._plans[key] = plan
        return plan

    def _run_forward(self, batch: Any, param_values: Any) -> tuple[_Plan, np.ndarray]:
        samples = self._check_batch(batch)
        theta = self._param_values(param_values)
        plan = self._plan(max(samples.shape[0], 1))
        values = plan.values
        if self._num_inputs:
            values[: self._num_inputs] = samples.T
        if self._has_param_rows:
            values[self._param_rows] = theta[self._param_ids, None]
        for step in plan.forward:
            step(theta)
        return plan, theta

    def forward(self, batch: Any, *, param_values: Any = None) -> np.ndarray:
        """Every sample's outputs.

        Args:
            batch: array-like of shape ``[batch_size, num_inputs]``.
            param_values: the parameters as an array (default: their current ``.data``).

        Returns:
            An array of shape ``[batch_size, num_outputs]``.
        """
        plan, _ = self._run_forward(batch, param_values)
        return plan.values[self._output_rows].T.copy()

    def value_and_grad(
        self, batch: Any, *, reduction: str = "mean", param_values: Any = None
    ) -> tuple[float, np.ndarray]:
        """The reduced output and its gradient with respect to every parameter.

        The traced function must have one output. ``reduction="mean"`` averages it
        over the batch (and the gradients with it); ``"sum"`` adds.

        Returns:
            ``(loss, grads)``: a float and an array aligned with ``params``.
        """
        if len(self.outputs) != 1:
            raise ValueError(
                f"value_and_grad needs a traced function with one output; it has "
                f"{len(self.outputs)} (reduce them to one Value inside the function, or "
                "use outputs_and_grad)"
            )
        self._check_reduction(reduction)
        plan, param_grads = self._value_and_grad(batch, param_values, 0, reduction)
        outputs = plan.values[self._output_rows[0]]
        total = float(outputs.sum())
        return (total / len(outputs) if reduction == "mean" else total), param_grads

    def outputs_and_grad(
        self,
        batch: Any,
        *,
        differentiate: int = 0,
        reduction: str = "mean",
        param_values: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's outputs, and the gradient of one output reduced over the batch.

        One pass: a training loop gets the loss's gradient and the model's outputs
        (for its accuracy, say) from the same replay.

        Args:
            batch: array-like of shape ``[batch_size, num_inputs]``.
            differentiate: which output to differentiate (its index in ``outputs``).
            reduction: ``"mean"`` averages that output's gradient over the batch,
                ``"sum"`` adds.
            param_values: the parameters as an array (default: their current ``.data``).

        Returns:
            ``(outputs, grads)``: an array ``[batch_size, num_outputs]`` and an array
            aligned with ``params``.
        """
        self._check_reduction(reduction)
        if (
            isinstance(differentiate, bool)
            or not isinstance(differentiate, (int, np.integer))
            or not 0 <= differentiate < len(self.outputs)
        ):
            raise ValueError(
                f"differentiate must be an output index in 0..{len(self.outputs) - 1}; "
                f"got {differentiate!r}"
            )
        plan, param_grads = self._value_and_grad(batch, param_values, differentiate, reduction)
        return plan.values[self._output_rows].T.copy(), param_grads

    @staticmethod
    def _check_reduction(reduction: str) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}; got {reduction!r}")

    def _value_and_grad(
        self, batch: Any, param_values: Any, differentiate: int, reduction: str
    ) -> tuple[_Plan, np.ndarray]:
        """Forward and backward on this thread's plan; the gradients as a new array."""
        plan, theta = self._run_forward(batch, param_values)
        deltas, param_grads = plan.deltas, plan.grads
        deltas.fill(0.0)
        param_grads.fill(0.0)
        deltas[self._output_rows[differentiate]] = (
            1.0 / deltas.shape[1] if reduction == "mean" else 1.0
        )
        for step in plan.backward:
            step(theta)
        if self._has_param_rows:
            param_grads[self._param_ids] += deltas[self._param_rows].sum(axis=1)
        return plan, param_grads.copy()

    def backward(self, batch: Any, *, reduction: str = "mean") -> float:
        """Like ``value_and_grad``, but adds the gradients to each parameter's ``.grad``.

        Leaves accumulate as in the eager ``backward()``, so zero them between steps.
        Returns the reduced loss.
        """
        loss, grads = self.value_and_grad(batch, reduction=reduction)
        for param, g in zip(self.params, grads.tolist()):
            param.grad += g
        return loss

    def __getstate__(self) -> dict:
        # Plans are buffers and bound functions: made again after a copy or unpickling.
        return {**vars(self), "_plans": {}}

    def __repr__(self) -> str:
        return (
            f"Trace(inputs={len(self.inputs)}, params={len(self.params)}, "
            f"outputs={len(self.outputs)}, nodes={self.num_nodes}, "
            f"numpy_groups={len(self._groups)})"
        )


def _depth_of(depth: dict[Value, int], sources: Sequence[Value]) -> int:
    """One more than the deepest source: nodes of equal depth never feed each other."""
    return 1 + max(depth[s] for s in sources)


_COMPARISONS = ("__lt__", "__le__", "__gt__", "__ge__")


class _ComparisonWatch:
    """While tracing, notice comparisons of Values that depend on the inputs.

    Such a comparison usually steers Python control flow (``if x > 0:``), which the
    replay cannot follow: it is frozen at the example's branch. The watch swaps the
    comparison operators of ``Value`` for the duration of the trace (so tracing is
    not thread-safe with other code comparing Values).
    """

    def __init__(self, inputs: Sequence[Value], strict: bool) -> None:
        self.inputs = {id(v) for v in inputs}
        self.strict = strict
        self.saved: dict[str, Callable] = {}

    def depends_on_inputs(self, value: Any) -> bool:
        if not isinstance(value, Value):
            return False
        return any(id(node) in self.inputs for node in topological_order(value))

    def __enter__(self) -> _ComparisonWatch:
        for name in _COMPARISONS:
            original = getattr(Value, name)
            self.saved[name] = original
            setattr(Value, name, self._watched(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self.saved.items():
            setattr(Value, name, original)

    def _watched(self, name: str, original: Callable) -> Callable:
        def compare(left: Value, right: Any) -> bool:
            if self.depends_on_inputs(left) or self.depends_on_inputs(right):
                message = (
                    f"the traced function compares {left!r} with {right!r} ({name}); "
                    "a branch taken on data is frozen at the example's branch when the "
                    "trace is replayed. Use an op with a kink (relu, abs, max) instead"
                )
                if self.strict:
                    raise TraceError(message)
                warnings.warn(message, TraceWarning, stacklevel=3)
            return original(left, right)

        return compare


def trace(
    fn: Callable[[list[Value]], Any],
    example: Sequence[float],
    params: Sequence[Value] = (),
    *,
    strict: bool = False,
    fuse: bool = True,
) -> Trace:
    """Record the scalar graph of ``fn`` once, for replay on batches.

    Args:
        fn: called once with a list of input Values (one per feature of a sample,
            made from ``example``); returns a Value or a sequence of Values.
        example: one sample (a sequence of numbers) to trace with. The branches of
            Python control flow taken for it are the ones every sample replays.
        params: the Values to differentiate with respect to (a model's
            ``parameters()``); the replay reads their current ``.data`` on every call.
            Any other leaf is a constant.
        strict: raise :class:`TraceError` instead of warning (:class:`TraceWarning`)
            when ``fn`` compares a Value that depends on the inputs.
        fuse: replay a layer's sums of products as matrix products
            (:mod:`autograd_core.fusion`); ``False`` applies every rule to its group of
            nodes (the same numbers up to rounding, slower).

    Returns:
        A :class:`Trace`.

    Example:
        >>> from autograd_core import Value
        >>> a = Value(2.0)
        >>> t = trace(lambda x: a * x[0] * x[1], [1.0, 1.0], params=[a])
        >>> t.forward([[1.0, 2.0], [3.0, 4.0]]).ravel().tolist()
        [4.0, 24.0]
    """
    if not callable(fn):
        raise TypeError(f"trace: fn must be callable; got {fn!r}")
    if isinstance(example, (str, bytes)) or not hasattr(example, "__len__"):
        raise TypeError(f"trace: example must be a sequence of numbers; got {example!r}")
    params = list(params)
    for param in params:
        if not isinstance(param, Value):
            raise TypeError(f"trace: params must be Values; got {param!r}")
    if len(set(map(id, params))) != len(params):
        raise ValueError("trace: params lists the same Value twice")
    inputs = [Value(x, label=f"x[{i}]") for i, x in enumerate(example)]
    with _ComparisonWatch(inputs, strict):
        result = fn(inputs)
    outputs = [result] if isinstance(result, Value) else result
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__len__"):
        raise TypeError(f"trace: fn must return a Value or a list of Values; got {result!r}")
    outputs = list(outputs)
    for out in outputs:
        if not isinstance(out, Value):
            raise TypeError(f"trace: fn must return Values; got {out!r} among its outputs")
    return Trace(inputs, params, outputs, fuse=fuse)
