"""``fit(engine="trace")``: a whole training run on one parameter array.

The model's per-sample loss (and its outputs) is recorded once with
``autograd_core.trace`` and replayed on each minibatch with numpy. During the run the
parameters live in one float64 array, ``theta``: the replay reads it, the optimiser's
array update (:meth:`nn.Optimizer.update`) changes it in place, and the model's
``Value`` leaves are not touched. They are written back (values and gradients) only
when the user can look at them: before each callback, at the end of ``fit``, and when
it stops early on an exception or Ctrl-C. After a callback they are read again, in
case it changed them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from autograd_core import Value, apply_op, no_grad
from autograd_core.trace import Trace, trace

from ._values import read_data, read_grads, uninterrupted, write_data, write_grads
from .losses import Loss as LossBase
from .module import Module
from .optim import Optimizer

Loss = Callable[..., Value]


def output_list(output: Any) -> list:
    """A model's output as a list (a one-output model may return the Value itself)."""
    return output if isinstance(output, list) else [output]


class TracedLoss(NamedTuple):
    """A model's per-sample loss recorded once.

    ``trace`` maps one row ``[features..., target columns...]`` to the outputs
    ``[loss, model output 0, model output 1, ...]``; ``target_columns`` turns labels
    into the target columns.
    """

    params: tuple[Value, ...]
    trace: Trace
    target_columns: Callable[[np.ndarray], np.ndarray]


def _record(model: Module, params: tuple[Value, ...], X: np.ndarray, y: np.ndarray,
            loss: Loss) -> TracedLoss:
    kind = getattr(loss, "target_kind", None)
    if kind is None:
        raise ValueError(f"engine 'trace' needs one of nn's losses (with a target_kind); "
                         f"got {loss!r}")
    nin = X.shape[1]
    if kind == "index":
        with no_grad():
            classes = len(output_list(model(X[0].tolist())))

        def per_sample(xs: list[Value]) -> list[Value]:
            # The class index chooses a term, which a replay cannot do per sample, so
            # the loss of every class is weighted by the one-hot target instead.
            outputs = output_list(model(xs[:nin]))
            terms = [xs[nin + k] * _sample_loss(loss, outputs, k) for k in range(classes)]
            return [apply_op("sum", *terms), *outputs]

        def columns(labels: np.ndarray) -> np.ndarray:
            return np.eye(classes)[labels.astype(int)]
    else:
        width = 1 if y.ndim == 1 else y.shape[1]

        def per_sample(xs: list[Value]) -> list[Value]:
            targets = xs[nin] if y.ndim == 1 else xs[nin:nin + width]
            outputs = output_list(model(xs[:nin]))
            return [_sample_loss(loss, outputs, targets), *outputs]

        def columns(labels: np.ndarray) -> np.ndarray:
            return labels.reshape(len(labels), width).astype(float)
    example = np.concatenate([X[0], columns(y[:1])[0]]).tolist()
    return TracedLoss(params, trace(per_sample, example, params), columns)


def _sample_loss(loss: Loss, outputs: list, target: Any) -> Value:
    """``loss(outputs, target)`` of one sample, without the mean's division by one.

    ``x / 1`` is ``x`` (and its derivative 1), so the numbers are the same; the replay
    is spared a division and its check for a zero divisor on every batch.
    """
    if isinstance(loss, LossBase):
        losses = loss(outputs, target, reduction="none")
        if len(losses) == 1:
            return losses[0]
    return loss(outputs, target)


# Each model's recorded losses, kept while the model lives (outside its state, so
# that saving, pickling or copying the model is unaffected).
_RECORDED: weakref.WeakKeyDictionary[Module, dict] = weakref.WeakKeyDictionary()


def traced_loss(model: Module, params: tuple[Value, ...], X: np.ndarray, y: np.ndarray,
                loss: Loss) -> TracedLoss:
    """The model's recorded loss, made once and kept for later runs.

    It is keyed by the loss and the targets' shape, and made again when the parameters
    are no longer the same Values.
    """
    per_model = _RECORDED.setdefault(model, {})
    key = (loss, y.ndim, y.shape[1:])
    recorded = per_model.get(key)
    if recorded is None or not same_params(recorded.params, params):
        recorded = per_model[key] = _record(model, params, X, y, loss)
    return recorded


def recorded_losses(model: Module) -> dict:
    """The losses recorded for ``model`` so far (for tests and introspection)."""
    return dict(_RECORDED.get(model, {}))


def _array_update(optimizer: Optimizer) -> Callable[[np.ndarray, np.ndarray], None] | None:
    """The optimiser's array update, unless a subclass changed what ``step`` does."""
    if type(optimizer).step is not Optimizer.step:
        return None
    if type(optimizer)._update is Optimizer._update and type(optimizer).update is Optimizer.update:
        return None
    return optimizer.update


class TracedRun:
    """The state of one ``fit(engine="trace")`` run: parameters and gradients as arrays.

    ``theta`` holds the model's parameters, then any of the optimiser's parameters the
    model does not have. ``grads`` is what each parameter's ``.grad`` would hold in an
    eager run: the last batch's gradient for the optimiser's parameters (it zeroes
    them before each batch), the sum over all batches so far for the others.
    """

    def __init__(self, model: Module, features: np.ndarray, labels: np.ndarray, loss: Loss,
                 regularizer: Callable[[Module], Any] | None, optimizer: Optimizer) -> None:
        model_params = model.parameters()
        known = set(model_params)
        self.params = (*model_params, *(p for p in optimizer.params if p not in known))
        self.optimizer = optimizer
        self.recorded = traced_loss(model, self.params, features, labels, loss)
        self.penalty: Trace | None = None
        if regularizer is not None:
            self.penalty = trace(lambda _: _as_value(regularizer(model)), [], self.params)
        # The replay's input rows as columns, one per sample: a batch is gathered from
        # them straight into the replay. fit has refused non-finite features and labels.
        self.columns = np.ascontiguousarray(self.batch_rows(features, labels).T)
        self.no_columns = np.empty((0, 1))
        self.no_index = np.zeros(1, dtype=np.intp)
        self.theta = read_data(self.params)
        self.theta_checked = False
        self.grads = read_grads(self.params)
        position = {param: i for i, param in enumerate(self.params)}
        chosen = np.array([position[p] for p in optimizer.params], dtype=np.intp)
        # The usual case: the optimiser owns every parameter, in the same order.
        self.whole = len(chosen) == len(self.params) and bool(
            np.array_equal(chosen, np.arange(len(chosen))))
        self.chosen = chosen
        self.others = np.setdiff1d(np.arange(len(self.params)), chosen)
        self.update = _array_update(optimizer)

    def batch_rows(self, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """The replay's input rows: features then target columns."""
        return np.hstack([features, self.recorded.target_columns(labels)])

    def batch(self, index: np.ndarray) -> tuple[float, np.ndarray]:
        """One training step on the samples ``index``: the batch loss and model outputs."""
        # theta changes only through the optimiser's update (which refuses a non-finite
        # value) and refresh(), after which it is checked once, here: the replays need
        # not check it on every batch.
        if not self.theta_checked:
            self.recorded.trace._param_values(self.theta)  # ValueError on a NaN
            self.theta_checked = True
        # Both replays' gradients live in their plans: one new array holds the sum.
        outputs, grads = self.recorded.trace._gathered_outputs_and_grad(
            self.columns, index, self.theta, "mean")
        value = float(np.add.reduce(outputs[:, 0])) / len(index)
        if self.penalty is None:
            grads = grads.copy()
        else:
            penalty, penalty_grads = self.penalty._gathered_outputs_and_grad(
                self.no_columns, self.no_index, self.theta, "sum")
            value += float(penalty[0, 0])
            grads = grads + penalty_grads
        if self.whole:
            self.grads = grads
        else:
            self.grads[self.chosen] = grads[self.chosen]
            self.grads[self.others] += grads[self.others]
        self._step(grads)
        return value, outputs[:, 1:]

    def _step(self, grads: np.ndarray) -> None:
        if self.update is None:
            # An optimiser with its own step(): run it on the Values.
            self.publish()
            self.optimizer.step()
            self.refresh()
        elif self.whole:
            self.update(self.theta, grads)
        else:
            part = self.theta[self.chosen]
            self.update(part, grads[self.chosen])

            def put() -> None:
                self.theta[self.chosen] = part

            uninterrupted(put)

    def scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses and model outputs for input rows, at the current ``theta``."""
        outputs = self.recorded.trace.forward(rows, param_values=self.theta)
        return outputs[:, 0], outputs[:, 1:]

    def publish(self) -> None:
        """Write the arrays into the parameters' ``data`` and ``grad``."""
        write_data(self.params, self.theta)
        write_grads(self.params, self.grads)

    def refresh(self) -> None:
        """Read the parameters again (user code may have changed them)."""
        self.theta[...] = read_data(self.params)
        self.grads = read_grads(self.params)
        self.theta_checked = False


def _as_value(penalty: Any) -> Value:
    return penalty if isinstance(penalty, Value) else Value(float(penalty))


def same_params(first: Sequence[Value], second: Sequence[Value]) -> bool:
    """Whether two parameter lists hold the same Values in the same order."""
    return len(first) == len(second) and all(a is b for a, b in zip(first, second))
