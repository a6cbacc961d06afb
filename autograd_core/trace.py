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
* a dense layer whose weights and bias are one block of the parameters (each
  neuron's weights, then its bias) is one matrix product ``[W | b] @ [x; 1]`` (a row
  of ones is laid out after its inputs), and its gradient ``[dW | db]`` another;
* a delta row or parameter that receives its gradient from one place only is
  written there directly (numpy's ``out=``) instead of computed and then added, and
  only rows and gradients that are added into are zeroed before a pass;
* a rule whose array form takes ``out=`` (numpy's ufuncs, ``relu``) writes its rows
  in place; derivatives that do not depend on the inputs (``add``, ``sub``, ``neg``)
  are taken once;
* a call runs on a plan: for each batch size (and thread) the trace keeps buffers
  for its value rows, delta rows and gradient, with every group's forward and
  backward step bound to views of them once, so a call is the numpy work and little
  Python (a few sizes are kept; a huge one-off batch is not).

Arrays returned to the caller are fresh on every call: later calls do not change
them.

What the trace refuses (it never replays a number the eager engine would not give):

* Python decisions on data, at trace time, with the user's line (as JAX refuses
  Python control flow on traced values): a comparison (``x > 0``, ``max(xs)``) or
  ``float()`` of a Value that depends on the inputs or the parameters raises
  :class:`TraceError`. Watching is per trace and per thread; nothing is patched.
  Ops with kinks (``relu``, ``abs``, ``max``, ``leaky_relu``) and the stable
  composites (``logsumexp``, ``bce``, ``bce_logits``, ``log_sigmoid``) decide per
  sample, so they are fine.
* A graph that depends on the data: ``.data`` reads cannot be watched, so ``fn`` is
  recorded again at two probe points (every input moved by a relative 2^-20, and
  every input negated) and the trace is refused if a graph differs from the
  example's (a constant made from ``.data``, a branch on ``.data`` that the probe
  flips), naming the first differing node and, where known, its line. A branch on
  ``.data`` that takes the same side at the example and both probes is not seen.
* At replay: a sample outside an op's domain raises the same ``DomainError`` as the
  eager pass (``log(-1)``, division by 0, ``sqrt(-1)``, ...), a batch holding NaN is
  refused, and a sample whose output or gradient is NaN (inf - inf after an
  overflow) raises :class:`TraceError` instead of returning it. Each of these checks
  is one reduction (the largest element is NaN exactly when some element is); only
  when it finds a NaN is the array searched for the first one, to name it.

Leaves that are neither inputs nor parameters (the ``1`` of ``1 - x``) are constants
of the trace. The replay agrees with the eager engine up to rounding: numpy's
elementary functions and summation order may differ from Python's in the last bits.

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

import inspect
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import fusion, modes, stores
from .engine import Value, detect_anomaly, is_grad_enabled, topological_order
from .modes import in_package, user_frame
from .rows import Scatter, index_of
from .rules import RULES, Rule
from .watch import watching

__all__ = ["trace", "Trace", "TraceError", "TraceWarning"]

_REDUCTIONS = ("mean", "sum")
# Plans (buffers for one batch size, per thread) kept per trace, and the largest
# value array kept (in cells): a one-off replay of a huge batch does not hold memory.
_PLANS_KEPT = 8
_PLAN_CELLS = 1 << 22


class TraceError(ValueError):
    """The function cannot be traced faithfully, or a replay cannot give the eager answer.

    Raised at trace time when the function takes a Python decision on data (compares
    or converts a Value that depends on the inputs or parameters, or builds a
    different graph at another point), and at replay time when a sample would give
    NaN.
    """


class TraceWarning(UserWarning):
    """Kept for compatibility: a trace now raises :class:`TraceError` instead."""




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
        self.writes_into = _writes_into(rule.forward_array)

    def bind(self, values: np.ndarray, deltas: np.ndarray, grads: np.ndarray) -> tuple:
        """This group's forward and backward steps on a plan's buffers (see ``_Plan``)."""
        rule_forward, rule_local, attrs = self.rule.forward_array, self.rule.local, self.attrs
        out = values[self.out_rows]
        views = [values[rows] if type(rows) is slice else None for rows in self.gathers]
        gathers = self.gathers
        saved: list = [views]
        into = self.writes_into

        if all(view is not None for view in views):
            arguments = (*views, *attrs)
            if into:

                def forward(theta: np.ndarray) -> None:
                    rule_forward(*arguments, out=out)

            else:

                def forward(theta: np.ndarray) -> None:
                    out[...] = rule_forward(*arguments)

        else:

            def forward(theta: np.ndarray) -> None:
                args = saved[0] = [
                    view if view is not None else values[rows]
                    for view, rows in zip(views, gathers)
                ]
                if into:
                    rule_forward(*args, *attrs, out=out)
                else:
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

        constants = None
        if self.rule.constant_local:  # the same derivatives for any inputs: taken once
            constants = rule_local(*(0.5,) * len(gathers), 0.5, *attrs)
        active = [(i, send) for i, send in enumerate(sends) if send is not None]
        if len(active) == 1 and active[0][1][1] is not None:
            # The usual case: one parent wants the delta, written straight into its rows.
            index, (_, target) = active[0]
            if constants is not None:
                local = constants[index]

                def backward(theta: np.ndarray) -> None:
                    np.multiply(delta, local, out=target)

            else:

                def backward(theta: np.ndarray) -> None:
                    np.multiply(delta, rule_local(*saved[0], out, *attrs)[index], out=target)

            return forward, backward

        def backward(theta: np.ndarray) -> None:
            locals_ = constants if constants is not None else rule_local(*saved[0], out, *attrs)
            for send, local in zip(sends, locals_):
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
        # A row of ones after the inputs of a dense layer with biases (a constant leaf
        # of its own): its matrix product then adds the biases too.
        wanting_ones = fusion.inputs_wanting_ones(absorbed, param_pos) if absorbed else set()
        ones_rows: set[int] = set()
        for key in sorted(groups, key=lambda k: k[0]):  # stable: first appearance per depth
            members = groups[key]
            start = len(row)
            for node in members:
                row[node] = len(row)
            out_rows = slice(start, len(row))
            if tuple(map(id, members)) in wanting_ones:
                ones_rows.add(row_of(Value(1.0)))
            if key[1] == "dot":
                self._groups.append(
                    fusion.dot_group(members, absorbed, out_rows, param_pos, live, row_of,
                                     len(self.params), self._param_views, ones_rows)
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
        self._mark_added_grads([param_pos[p] for p in read_params])

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
        # Rows added into (and the outputs, one of which is seeded) are zeroed before
        # each backward pass, but for the seeded one, which is assigned; the others are
        # assigned by their one writer, or never written. Per differentiated output:
        added = np.concatenate([s.targets for s in scatters if not s.exclusive]
                               + [self._output_rows])
        self._added_rows = [_indices_or_none(np.setdiff1d(added, [seeded]))
                            for seeded in self._output_rows]

    def _mark_added_grads(self, read_param_ids: list[int]) -> None:
        """The parameters whose gradients are added into (zeroed before each pass)."""
        added = [np.asarray(read_param_ids, dtype=np.intp)]
        for group in self._groups:
            if isinstance(group, fusion.DotGroup):
                added += [view.ids.ravel() for view, assigned in group.gradient_writes()
                          if not assigned]
        self._added_grads = _indices_or_none(np.concatenate(added))

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
        if array.size and _has_nan(array):
            _refuse_nan(array, "batch", "a Value never holds NaN")
        return array

    def _param_values(self, param_values: Any) -> np.ndarray:
        if param_values is None:
            theta = np.empty(len(self.params))
            stores.read_data(self.params, theta)
            return theta
        theta = np.asarray(param_values, dtype=float)
        if theta.shape != (len(self.params),):
            raise ValueError(
                f"param_values must have shape ({len(self.params)},); got {theta.shape}"
            )
        if theta.size and _has_nan(theta):
            _refuse_nan(theta, "param_values", "a Value never holds NaN")
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
        if self._num_inputs:
            plan.values[: self._num_inputs] = samples.T
        self._forward_pass(plan, theta)
        return plan, theta

    def _forward_pass(self, plan: _Plan, theta: np.ndarray) -> None:
        """Every group's forward step (the plan's input rows are filled)."""
        if self._has_param_rows:
            plan.values[self._param_rows] = theta[self._param_ids, None]
        for step in plan.forward:
            step(theta)

    def _backward_pass(self, plan: _Plan, theta: np.ndarray, differentiate: int,
                       reduction: str) -> np.ndarray:
        """Every group's backward step; the gradients in the plan's array (not checked)."""
        deltas, param_grads = plan.deltas, plan.grads
        # Only rows and gradients that are added into need zeros: the others are
        # assigned by their one writer on every call (see _mark_exclusive_scatters).
        added_rows = self._added_rows[differentiate]
        if added_rows is not None:
            deltas[added_rows] = 0.0
        if self._added_grads is not None:
            param_grads[self._added_grads] = 0.0
        deltas[self._output_rows[differentiate]] = (
            1.0 / deltas.shape[1] if reduction == "mean" else 1.0
        )
        for step in plan.backward:
            step(theta)
        if self._has_param_rows:
            param_grads[self._param_ids] += deltas[self._param_rows].sum(axis=1)
        return param_grads

    def _checked_results(self, plan: _Plan, param_grads: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's outputs and a copy of the gradients, refused if one is NaN."""
        outputs = plan.values[self._output_rows].T.copy()
        if _has_nan(outputs):
            _refuse_nan_result(outputs, "output")
        _refuse_nan_grads(param_grads)
        return outputs, param_grads.copy()

    def _gathered_outputs_and_grad(
        self, columns: np.ndarray, index: np.ndarray, theta: np.ndarray, reduction: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """``outputs_and_grad(columns.T[index], param_values=theta)`` (output 0), for a
        caller that refuses NaN in ``columns`` and ``theta`` itself (``nn.fit``'s traced
        run, where they change only through checked paths).

        ``columns`` is float64 ``[num_inputs, num_samples]`` and ``index`` valid sample
        indices: they are gathered straight into the plan's input rows. The outputs and
        gradients are checked as in ``outputs_and_grad``. The outputs are a new array
        (column-major); the gradients are the plan's own array, valid until the next
        replay in this thread: copy or consume them first.
        """
        plan = self._plan(max(len(index), 1))
        if self._num_inputs:
            columns.take(index, axis=1, out=plan.values[: self._num_inputs], mode="clip")
        self._forward_pass(plan, theta)
        param_grads = self._backward_pass(plan, theta, 0, reduction)
        outputs = plan.values[self._output_rows].T  # fancy indexing: already a copy
        if _has_nan(outputs):
            _refuse_nan_result(outputs, "output")
        _refuse_nan_grads(param_grads)
        return outputs, param_grads

    def forward(self, batch: Any, *, param_values: Any = None) -> np.ndarray:
        """Every sample's outputs.

        Args:
            batch: array-like of shape ``[batch_size, num_inputs]``.
            param_values: the parameters as an array (default: their current ``.data``).

        Returns:
            An array of shape ``[batch_size, num_outputs]``.
        """
        plan, _ = self._run_forward(batch, param_values)
        outputs = plan.values[self._output_rows].T.copy()
        if _has_nan(outputs):
            _refuse_nan_result(outputs, "output")
        return outputs

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
        total = float(np.add.reduce(outputs))
        if total != total:  # a NaN output, or outputs of inf and -inf
            _refuse_nan_result(outputs[:, None], "output")
        _refuse_nan_grads(param_grads)
        return (total / len(outputs) if reduction == "mean" else total), param_grads.copy()

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
        return self._checked_results(plan, param_grads)

    @staticmethod
    def _check_reduction(reduction: str) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}; got {reduction!r}")

    def _value_and_grad(
        self, batch: Any, param_values: Any, differentiate: int, reduction: str
    ) -> tuple[_Plan, np.ndarray]:
        """Forward and backward on this thread's plan; the gradients in the plan's array.

        The caller checks the outputs and gradients for NaN and copies the gradients.
        """
        plan, theta = self._run_forward(batch, param_values)
        return plan, self._backward_pass(plan, theta, differentiate, reduction)

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


def _writes_into(forward_array: Callable) -> bool:
    """Whether a rule's array form takes ``out=`` (a ufunc, or a keyword ``out``)."""
    if isinstance(forward_array, np.ufunc):
        return True
    try:
        parameter = inspect.signature(forward_array).parameters.get("out")
    except (TypeError, ValueError):  # no signature to read: the plain call
        return False
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _refuse_nan(array: np.ndarray, name: str, why: str) -> None:
    """ValueError naming the first NaN of an argument (rows are samples)."""
    bad = np.isnan(array)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise ValueError(f"{name} holds NaN at index {where}; {why}")


def _indices_or_none(indices: np.ndarray) -> slice | np.ndarray | None:
    """Distinct indices as a slice or an index array (``None`` when there are none)."""
    distinct = np.unique(indices)
    return index_of(distinct.tolist()) if len(distinct) else None


def _has_nan(array: np.ndarray) -> bool:
    """Whether a non-empty array holds a NaN: one reduction, which a NaN anywhere reaches.

    The largest element is NaN exactly when some element is (maximum propagates NaN,
    and inf, -inf or -0.0 never make one), and a reduction raises no floating-point
    warning, unlike a sum or a dot product that overflows.
    """
    top = _LARGEST(array, None)
    return top != top


_LARGEST = np.maximum.reduce


def _refuse_nan_grads(grads: np.ndarray) -> None:
    """TraceError instead of a NaN gradient."""
    if grads.size and _has_nan(grads):
        bad = int(np.flatnonzero(np.isnan(grads))[0])
        raise _nan_refusal(f"a non-finite gradient (NaN) for parameter {bad} on this batch")


def _refuse_nan_result(result: np.ndarray, what: str) -> None:
    """TraceError instead of a NaN in ``result[sample, k]``."""
    bad = np.isnan(result)
    if bad.any():
        raise _nan_refusal(f"a NaN {what} for sample {int(np.argwhere(bad)[0][0])} (and so "
                           "a non-finite gradient)")


def _nan_refusal(what: str) -> TraceError:
    return TraceError(
        f"replaying the trace gives {what}: an intermediate value overflowed to inf and "
        "met inf - inf, 0 * inf or inf / inf. The trace refuses rather than return NaN; "
        "run that sample eagerly inside detect_anomaly() to see the op"
    )


def _depth_of(depth: dict[Value, int], sources: Sequence[Value]) -> int:
    """One more than the deepest source: nodes of equal depth never feed each other."""
    return 1 + max(depth[s] for s in sources)


def _user_lines() -> str:
    """Where the user's code is: the innermost frame outside this package (and its caller)."""
    frame = user_frame()
    if frame is None:
        return "an unknown line"
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    caller = frame.f_back
    while caller is not None and caller.f_code.co_filename == frame.f_code.co_filename:
        caller = caller.f_back
    if caller is not None and not in_package(caller):
        where += f" (called from {caller.f_code.co_filename}:{caller.f_lineno})"
    return where


class _DataWatch:
    """Refuses a Python-level decision on a Value that depends on the inputs or params.

    Installed per trace and per thread (:mod:`autograd_core.watch`): comparisons and
    ``float()`` of Values report to it; one that depends on what the replay varies
    (the inputs, and the parameters, which change between calls) raises
    :class:`TraceError` naming the operation and the user's line, like JAX's
    ``ConcretizationTypeError``. Values that depend on neither are constants of the
    trace and may be compared freely.
    """

    def __init__(self, sources: Sequence[Value]) -> None:
        self.sources = {id(v) for v in sources}

    def depends(self, value: Value) -> bool:
        sources = self.sources
        return any(id(node) in sources for node in topological_order(value))

    def __call__(self, what: str, operands: tuple) -> None:
        for operand in operands:
            if isinstance(operand, Value) and self.depends(operand):
                shown = " ".join(repr(o) for o in operands) if what == "float()" else (
                    f" {what} ".join(repr(o) for o in operands))
                decision = ("the constant float() makes of it" if what == "float()"
                            else "the branch taken on it")
                raise TraceError(
                    f"the traced function made a Python decision on a Value that depends "
                    f"on the traced inputs or parameters ({what}: {shown}) at "
                    f"{_user_lines()}. A trace records one graph and replays it for every "
                    f"sample and parameter value: {decision} would stay the example's. "
                    "Use an op that decides per sample (relu, abs, apply_op('max', a, b), "
                    "the losses and functional.logsumexp), or run the function eagerly"
                )


def _probe_points(example: Sequence[float]) -> list[tuple[str, list[float]]]:
    """Points at which the function is recorded again, to see if its graph changes.

    Near: every coordinate moved by a relative 2^-20, which changes any constant made
    from ``.data`` but no branch (unless the example sits on its boundary). Far: every
    coordinate negated (0 goes to -1), which flips a branch on a sign.
    """
    near = [x + (abs(x) if x else 1.0) * 2.0**-20 for x in example]
    far = [-x if x else -1.0 for x in example]
    return [("a point near the example", near), ("the example negated", far)]


def _leaf_role(node: Value, inputs: dict[int, int], params: dict[int, int]) -> tuple:
    if id(node) in inputs:
        return ("input", inputs[id(node)])
    if id(node) in params:
        return ("param", params[id(node)])
    return ("constant", node.data)


def _first_difference(
    first: tuple[list[Value], list[Value]], second: tuple[list[Value], list[Value]],
    params: Sequence[Value],
) -> int | None:
    """The position (in topological order) where two recordings first differ, if any.

    Each recording is ``(inputs, outputs)``. Nodes are compared by op, attrs and the
    positions of their parents; leaves by role (which input, which parameter, or a
    constant and its value); and the outputs by position.
    """
    param_ids = {id(p): i for i, p in enumerate(params)}
    orders, positions, roles = [], [], []
    for inputs, outputs in (first, second):
        order = topological_order(*outputs)
        orders.append(order)
        positions.append({node: i for i, node in enumerate(order)})
        roles.append({id(node): i for i, node in enumerate(inputs)})
    for i, (a, b) in enumerate(zip(*orders)):
        signatures = []
        for node, position, role in ((a, positions[0], roles[0]), (b, positions[1], roles[1])):
            if node.parents:
                signatures.append((node.op, node.attrs, tuple(position[p] for p in node.parents)))
            else:
                signatures.append(_leaf_role(node, role, param_ids))
        if signatures[0] != signatures[1]:
            return i
    if len(orders[0]) != len(orders[1]):
        return min(len(orders[0]), len(orders[1]))
    outputs = [[positions[k][node] for node in recording[1]]
               for k, recording in enumerate((first, second))]
    return None if outputs[0] == outputs[1] else len(orders[0]) - 1


def _record(fn: Callable, inputs: list[Value], params: Sequence[Value]) -> list[Value]:
    """Run ``fn`` on ``inputs`` under a data watch; its outputs as a list of Values."""
    with watching(_DataWatch([*inputs, *params])):
        result = fn(inputs)
    outputs = [result] if isinstance(result, Value) else result
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__len__"):
        raise TypeError(f"trace: fn must return a Value or a list of Values; got {result!r}")
    outputs = list(outputs)
    for out in outputs:
        if not isinstance(out, Value):
            raise TypeError(f"trace: fn must return Values; got {out!r} among its outputs")
    return outputs


def _creation_site(fn: Callable, point: list[float], params: Sequence[Value],
                   position: int) -> str:
    """Where the node at ``position`` of ``fn``'s graph at ``point`` was created, if known."""
    inputs = [Value(x, label=f"x[{i}]") for i, x in enumerate(point)]
    try:
        with detect_anomaly():  # records each node's creation site
            outputs = _record(fn, inputs, params)
            order = topological_order(*outputs)
            origins = getattr(modes._thread_state, "origins", {})
            target = order[min(position, len(order) - 1)]
            # A constant leaf has no site of its own: its first consumer's is the line.
            for node in order[position:]:
                if node in origins and (node is target or target in node.parents):
                    return f" (at {origins[node]})"
    except Exception:  # the site is a courtesy; the refusal stands without it
        return ""
    return ""


def _check_graph_is_data_independent(
    fn: Callable, example: Sequence[float], inputs: list[Value], outputs: list[Value],
    params: Sequence[Value],
) -> None:
    """Record ``fn`` again at probe points; refuse if its graph is not the same.

    This catches what the data watch cannot see: a constant made from ``.data`` (it
    changes at any other point) and a branch on ``.data`` that the probe flips. A
    probe at which ``fn`` raises tells nothing and is skipped.
    """
    for name, point in _probe_points(example):
        probe_inputs = [Value(x, label=f"x[{i}]") for i, x in enumerate(point)]
        try:
            probe_outputs = _record(fn, probe_inputs, params)
        except TraceError:
            raise
        except Exception:
            continue
        position = _first_difference((inputs, outputs), (probe_inputs, probe_outputs), params)
        if position is None:
            continue
        order = topological_order(*outputs)
        node = order[min(position, len(order) - 1)]
        what = f"op {node.op!r}" if node.parents else f"leaf {node!r}"
        raise TraceError(
            f"the traced function builds a different graph at another point ({name}: "
            f"{point!r}): the graphs first differ at node {position} ({what} in the "
            f"example's graph){_creation_site(fn, point, params, position)}. It reads "
            "data in Python (.data, a constant made from a Value, a branch on .data), "
            "which a replay cannot follow. Build the computation from ops that decide per "
            "sample (relu, abs, apply_op('max', a, b), the losses, functional.logsumexp), "
            "or run the function eagerly"
        )


def trace(
    fn: Callable[[list[Value]], Any],
    example: Sequence[float],
    params: Sequence[Value] = (),
    *,
    strict: bool | None = None,
    fuse: bool = True,
) -> Trace:
    """Record the scalar graph of ``fn`` once, for replay on batches.

    Args:
        fn: called with a list of input Values (one per feature of a sample, made
            from ``example``); returns a Value or a sequence of Values. It is called
            up to three times: at the example and at two probe points (see the
            module's notes), so it should have no side effects.
        example: one sample (a sequence of numbers) to trace with.
        params: the Values to differentiate with respect to (a model's
            ``parameters()``); the replay reads their current ``.data`` on every call.
            Any other leaf is a constant.
        strict: deprecated and ignored: a decision on data always raises
            :class:`TraceError`.
        fuse: replay a layer's sums of products as matrix products
            (:mod:`autograd_core.fusion`); ``False`` applies every rule to its group of
            nodes (the same numbers up to rounding, slower).

    Returns:
        A :class:`Trace`.

    Raises:
        TraceError: ``fn`` compares or converts a Value that depends on the inputs or
            parameters, or builds a different graph at a probe point.

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
    if strict is not None:
        warnings.warn("trace(strict=...) is deprecated: a trace always refuses a decision "
                      "on data (TraceError)", DeprecationWarning, stacklevel=2)
    if not is_grad_enabled():
        raise TraceError("trace: inside no_grad() no graph is recorded, so there is nothing "
                         "to replay; call trace outside the no_grad() block")
    inputs = [Value(x, label=f"x[{i}]") for i, x in enumerate(example)]
    outputs = _record(fn, inputs, params)
    _check_graph_is_data_independent(fn, example, inputs, outputs, params)
    return Trace(inputs, params, outputs, fuse=fuse)
