"""Training loop, predictions and metrics.

``fit`` runs minibatch gradient descent on any ``Module`` whose call maps one sample
to a Value or a list of Values. How one batch's loss and gradients are computed is
delegated to an *engine*, looked up by name: ``"eager"`` (the default) builds the
scalar graph sample by sample; ``"trace"`` records one sample's graph once with
``autograd_core.trace`` and replays it on whole batches with numpy (same numbers,
much faster, for models whose graph does not depend on the data). Other engines can
be added with ``register_engine`` without touching ``fit``.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from autograd_core import CORE, RULES, Value, no_grad

from ._checks import check_bool, check_features, check_int, check_seed
from ._fit_trace import TracedRun, output_list, traced_loss
from ._values import read_data
from .data import _check_xy
from .losses import check_targets
from .module import Module
from .optim import LRScheduler, Optimizer

__all__ = [
    "History",
    "BatchResult",
    "fit",
    "evaluate",
    "accuracy",
    "predict",
    "predict_proba",
    "predict_scores",
    "probabilities",
    "register_engine",
    "ENGINES",
]

Loss = Callable[..., Value]
Regularizer = Callable[[Module], Value]


@dataclass
class History:
    """Per-epoch records of a ``fit`` run.

    Attributes:
        loss: mean training loss of each epoch (data loss plus the regulariser, the
            quantity that was minimised), averaged over the epoch's batches by size.
        accuracy: training accuracy of each epoch, measured on the outputs computed
            during the epoch (before each batch's update); NaN for regression.
        val_loss, val_accuracy: the same on the validation set after each epoch
            (empty without ``validation``).
        lr: the learning rate used in each epoch.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """How many epochs were run."""
        return len(self.loss)

    def __repr__(self) -> str:
        if not self.loss:
            return "History(epochs=0)"
        parts = [f"epochs={self.epochs}", f"loss={self.loss[-1]:.4g}"]
        if not math.isnan(self.accuracy[-1]):
            parts.append(f"accuracy={self.accuracy[-1]:.4g}")
        if self.val_loss:
            parts.append(f"val_loss={self.val_loss[-1]:.4g}")
            if not math.isnan(self.val_accuracy[-1]):
                parts.append(f"val_accuracy={self.val_accuracy[-1]:.4g}")
        return f"History({', '.join(parts)})"


class BatchResult(NamedTuple):
    """What an engine returns for one batch: the loss and the outputs it computed."""

    loss: float
    scores: np.ndarray  # [batch, n_outputs] output data, used for running accuracy


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


def _in_notebook_kernel() -> bool:
    """True under a Jupyter kernel (checked without importing IPython)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return getattr(shell, "kernel", None) is not None


def _progress_bar(count: int, progress: bool) -> Any:
    """The epoch bar of :func:`fit`: where a person can see it, and nowhere else.

    tqdm turns itself off when its output is not a terminal, which a notebook's output
    is not: under a Jupyter kernel the bar is tqdm's widget when ipywidgets is
    installed, else its text bar (the front end redraws it in place).
    """
    options = {"unit": "epoch", "leave": False}
    if not progress:
        return tqdm(range(count), disable=True, **options)
    if _in_notebook_kernel():
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(range(count), **options)
        return tqdm(range(count), disable=False, file=sys.stderr, **options)
    return tqdm(range(count), disable=None, **options)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """On the pure-Python node store, pause Python's cyclic garbage collector.

    A batch's graph holds no reference cycles, so reference counting frees it; but
    while it grows, the collector walks every live node again and again without
    finding anything, which is over half of an eager training step on that store.
    The compiled store keeps nodes out of the collector's walks, so there the
    collector is left alone.
    """
    if CORE == "compiled":
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _eager_batch(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss,
                 regularizer: Regularizer | None) -> BatchResult:
    """Build the scalar graph for the batch, call ``backward`` on its loss."""
    with _cyclic_gc_paused():
        outputs = [model(row) for row in X]
        total = loss(outputs, y)
        if regularizer is not None:
            total = total + regularizer(model)
        total.backward()
        scores = np.array([[_data(v) for v in output_list(out)] for out in outputs])
        value = total.data
        # Drop the graph while the collector is still paused, or its first run walks it.
        del outputs, total
    return BatchResult(value, scores)


def _traced_batch(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss,
                  regularizer: Regularizer | None) -> BatchResult:
    """Replay a graph recorded once on the whole batch (``autograd_core.trace``).

    This is the per-batch form of the "trace" engine, for code that calls an engine
    itself; ``fit(engine="trace")`` runs the whole training on one parameter array
    instead (:mod:`nn._fit_trace`). The per-sample graph must not depend on the data:
    the model's forward may not branch on values (kinked ops such as relu are fine),
    and the constant shift inside ``logsumexp`` is frozen at trace time.
    """
    params = tuple(model.parameters())
    recorded = traced_loss(model, params, X, y, loss)
    rows = np.hstack([X, recorded.target_columns(y)])
    outputs, grads = recorded.trace.outputs_and_grad(rows, param_values=read_data(params))
    for param, g in zip(params, grads.tolist()):
        param.grad += g
    total = float(outputs[:, 0].sum()) / len(y)
    if regularizer is not None:
        penalty = regularizer(model)
        penalty.backward()
        total += penalty.data
    return BatchResult(total, outputs[:, 1:])


EngineFn = Callable[[Module, np.ndarray, np.ndarray, Loss, "Regularizer | None"], BatchResult]
#: The engines :func:`fit` and :func:`evaluate` run a batch with, by name (see
#: :func:`register_engine`).
ENGINES: dict[str, EngineFn] = {"eager": _eager_batch, "trace": _traced_batch}


def register_engine(name: str, run_batch: EngineFn) -> None:
    """Make ``fit(..., engine=name)`` use ``run_batch`` for each batch.

    ``run_batch(model, X_batch, y_batch, loss, regularizer)`` must leave the batch
    loss's gradient in every parameter's ``.grad`` (added to what is there, as
    ``backward`` does) and return a :class:`BatchResult`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"engine name must be a non-empty str; got {name!r}")
    if not callable(run_batch):
        raise TypeError(f"run_batch must be callable; got {run_batch!r}")
    ENGINES[name] = run_batch


def _output_activation(model: Any) -> str | None:
    """The model's ``output_activation`` (None for callables that are not Modules)."""
    name = model.output_activation if isinstance(model, Module) else None
    return name if isinstance(name, str) else None


def predict_scores(model: Module, X: Any) -> np.ndarray:
    """The model's outputs for every row of ``X`` as an array ``[n, n_outputs]``.

    No graph is recorded (this runs under ``no_grad``).
    """
    features = np.asarray(X, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"predict_scores: X must be 2-D [n_samples, n_features]; "
                         f"got shape {features.shape}")
    with no_grad():
        rows = [[_data(v) for v in output_list(model(row))] for row in features]
    return np.array(rows, dtype=float).reshape(len(features), -1)


def probabilities(scores: Any, output_activation: str | None = "linear") -> np.ndarray:
    """Class probabilities from a model's outputs ``[n, k]`` (the maths of ``predict_proba``).

    One output is a logit ``z`` (``[n, 2]``: ``sigmoid(-z), sigmoid(z)``), or, after a
    sigmoid output layer, already ``P(y = 1)`` (``[n, 2]``: ``1 - p, p``). Several
    outputs are logits: ``softmax`` of each row (the largest shifted out first).

    Raises:
        ValueError: ``scores`` is not 2-D, or several outputs come from a sigmoid layer
            (independent probabilities, not one distribution over classes).

    Example:
        >>> probabilities(np.array([[0.0], [2.0]])).round(3).tolist()
        [[0.5, 0.5], [0.119, 0.881]]
    """
    values = np.asarray(scores, dtype=float)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"probabilities: scores must be [n, k] with k >= 1; got shape "
                         f"{values.shape}")
    if values.shape[1] == 1:
        column = values[:, 0]
        if output_activation == "sigmoid":
            return np.column_stack([1.0 - column, column])
        sigmoid = RULES["sigmoid"].forward_array
        return np.column_stack([sigmoid(-column), sigmoid(column)])
    if output_activation == "sigmoid":
        raise ValueError("probabilities: several sigmoid outputs are independent "
                         "probabilities, not one distribution over classes")
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predict_proba(model: Module, X: Any) -> np.ndarray:
    """Class probabilities ``[n, k]`` for the rows of ``X`` (``k = 2`` for one output).

    Models with their own ``predict_proba`` use it; otherwise the outputs of
    :func:`predict_scores` are read as :func:`probabilities` says (logits, or
    probabilities after a sigmoid output layer).

    Example:
        >>> import nn
        >>> model = nn.Layer(1, 1, "sigmoid", seed=0)
        >>> model.weight, model.bias = [[0.0]], [0.0]
        >>> predict_proba(model, np.array([[3.0]])).tolist()
        [[0.5, 0.5]]
    """
    own = getattr(model, "predict_proba", None)
    if callable(own):
        return np.asarray(own(X), dtype=float)
    return probabilities(predict_scores(model, X), _output_activation(model))


def _labels_from_scores(scores: np.ndarray, threshold: float, signs: bool) -> np.ndarray:
    if scores.shape[1] > 1:
        return scores.argmax(axis=1)
    positive = scores[:, 0] > threshold
    if signs:
        return np.where(positive, 1, -1)
    return positive.astype(int)


def _threshold(model: Any) -> float:
    return 0.5 if _output_activation(model) == "sigmoid" else 0.0


def predict(model: Module, X: Any, *, signs: bool = False) -> np.ndarray:
    """Class labels for the rows of ``X``.

    Models with their own ``predict`` (Perceptron, LogisticRegression,
    SoftmaxRegression) use it. Otherwise: the argmax for several outputs; for one
    output, 1 when the score is above 0 (above 0.5 after a sigmoid output layer),
    else 0 (or -1 with ``signs=True``).
    """
    own = getattr(model, "predict", None)
    if callable(own):
        labels = np.asarray(own(X))
        return np.where(labels > 0, 1, -1) if signs else labels
    return _labels_from_scores(predict_scores(model, X), _threshold(model), signs)


def _uses_signs(y: np.ndarray) -> bool:
    return bool(np.any(y < 0))


def accuracy(model: Module, X: Any, y: Any) -> float:
    """The fraction of rows of ``X`` whose predicted label equals ``y``.

    Labels may be 0..k-1, or -1/+1 for a one-output model trained with a hinge or
    perceptron loss (detected from negative labels in ``y``).

    Example:
        >>> import nn
        >>> model = nn.Layer(1, 1, "linear", seed=0)
        >>> model.neurons[0].w[0].data = 1.0
        >>> accuracy(model, np.array([[-2.0], [3.0]]), np.array([-1, 1]))
        1.0
    """
    features, labels = _check_xy(X, y, "accuracy")
    predicted = predict(model, features, signs=_uses_signs(labels))
    return float(np.mean(predicted == labels))


def _is_classification(loss: Loss, y: np.ndarray) -> bool:
    kind = getattr(loss, "target_kind", None)
    if kind is not None:
        return kind != "real"
    return y.dtype.kind in "iub"


def evaluate(model: Module, X: Any, y: Any, *, loss: Loss | None = None) -> dict[str, float]:
    """Loss (if ``loss`` is given) and accuracy on ``(X, y)``, without recording a graph.

    Returns:
        ``{"loss": ..., "accuracy": ...}``; accuracy is NaN for a regression loss.
    """
    features, labels = _check_xy(X, y, "evaluate")
    with no_grad():
        outputs = [model(row) for row in features]
        value = None if loss is None else float(_data(loss(outputs, labels)))
    scores = np.array([[_data(v) for v in output_list(out)] for out in outputs])
    return _metrics(model, scores, labels, loss, value)


def _metrics(model: Module, scores: np.ndarray, labels: np.ndarray, loss: Loss | None,
             value: float | None) -> dict[str, float]:
    """``evaluate``'s result from the outputs ``scores`` and the loss ``value``."""
    result: dict[str, float] = {}
    if value is not None:
        result["loss"] = value
    if loss is None or _is_classification(loss, labels):
        predicted = _labels_from_scores(scores, _threshold(model), _uses_signs(labels))
        result["accuracy"] = float(np.mean(predicted == labels))
    else:
        result["accuracy"] = float("nan")
    return result


def _check_training_data(model: Module, loss: Loss, X: Any, y: Any, where: str
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The one check of a data set for ``fit``, before any batch and for every engine.

    X must be a non-empty 2-D array of finite numbers as wide as the model's ``nin``; y
    must have one label per row, of the kind the loss takes (``check_targets``). Found
    mid-training instead, a bad row would fail after earlier batches had already moved
    the model, and each engine would fail in its own words.
    """
    features = check_features(X, where)
    labels = np.asarray(y)
    if labels.ndim < 1 or len(labels) != len(features):
        raise ValueError(f"{where}: X has {len(features)} rows but y has shape {labels.shape}")
    nin = getattr(model, "nin", None)
    if nin is not None and features.shape[1] != nin:
        raise ValueError(f"{where}: X has {features.shape[1]} features per sample but the "
                         f"model takes nin={nin} inputs")
    check_targets(loss, labels, getattr(model, "nout", None))
    return features, labels


def fit(model: Module, X: Any, y: Any, *, loss: Loss, optimizer: Optimizer, epochs: int,
        batch_size: int | None = None, regularizer: Regularizer | None = None,
        validation: tuple[Any, Any] | None = None, scheduler: LRScheduler | None = None,
        progress: bool = True, seed: int | None = None, engine: str = "eager",
        callback: Callable[[int, History], Any] | None = None) -> History:
    """Train ``model`` by minibatch gradient descent and return its :class:`History`.

    Each batch: zero the gradients, compute ``loss(outputs, y_batch)`` (plus
    ``regularizer(model)``), backpropagate, ``optimizer.step()``. After each epoch the
    ``scheduler`` (if any) steps and the validation set (if any) is evaluated.

    Args:
        model: any Module mapping one sample to a Value or a list of Values.
        X, y: inputs ``[n, nin]`` and targets ``[n]`` (labels as the loss expects:
            0..k-1 for cross_entropy, 0/1 for BCE, -1/+1 for hinge and perceptron).
        loss: a loss from :mod:`nn.losses` (or any ``loss(outputs, targets) -> Value``).
        optimizer: an :class:`~nn.optim.Optimizer` over the model's parameters.
        epochs: passes over the data.
        batch_size: samples per step; ``None`` for the full batch.
        regularizer: ``model -> Value`` added to every batch loss, e.g.
            ``lambda m: nn.l2(m, 1e-4)``.
        validation: ``(X_val, y_val)`` evaluated after every epoch.
        scheduler: a learning-rate schedule stepped once per epoch.
        progress: show a progress bar with the running loss: on a terminal, in a notebook
            (a text bar; the widget bar when ipywidgets is installed); silent when the
            output goes to a file or pipe.
        seed: seeds the minibatch shuffling.
        engine: how a batch's loss and gradients are computed: ``"eager"`` (a graph per
            sample), ``"trace"`` (one recorded graph replayed on the batch with numpy;
            same numbers, much faster; nn's losses only) or one added with
            ``register_engine``. With ``"trace"`` the parameters live in one array for
            the whole run (the optimiser's :meth:`~nn.Optimizer.update` works on it);
            the model's Values are written back before each callback, at the end, and
            when an exception or Ctrl-C stops the run, and read again after each
            callback.
        callback: called as ``callback(epoch, history)`` after each epoch (epoch counts
            from 0); returning True stops training (early stopping, live plots).

    Raises:
        ValueError: before any training, for a feature count other than the model's
            ``nin``, features that are NaN or infinite, labels the loss does not accept
            or outside the model's classes, a batch size < 1, epochs < 1 or an unknown
            engine.

    Example:
        >>> import nn
        >>> X, y = nn.make_blobs(20, centers=[[-2, 0], [2, 0]], cluster_std=0.3, seed=0)
        >>> model = nn.LogisticRegression(2, seed=0)
        >>> history = fit(model, X, y, loss=nn.binary_cross_entropy_with_logits,
        ...               optimizer=nn.SGD(model, lr=0.5), epochs=5, progress=False)
        >>> history.accuracy[-1]
        1.0
    """
    if not callable(loss):
        raise TypeError(f"fit: loss must be callable, loss(outputs, targets) -> Value; "
                        f"got {loss!r}")
    features, labels = _check_training_data(model, loss, X, y, "fit")
    run_batch = ENGINES.get(engine) if isinstance(engine, str) else None
    if run_batch is None:
        raise ValueError(f"fit: unknown engine {engine!r}; known: {list(ENGINES)}")
    count = check_int(epochs, "epochs", owner="fit")
    size = len(labels) if batch_size is None else check_int(batch_size, "batch_size", owner="fit")
    seed = check_seed(seed, owner="fit")
    progress = check_bool(progress, "progress", owner="fit")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be an nn Optimizer; got {optimizer!r}")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError("fit: validation must be a pair (X_val, y_val)")
        val_features, val_labels = _check_training_data(model, loss, validation[0],
                                                        validation[1], "fit validation")
    classification = _is_classification(loss, labels)
    hits = _hit_counter(labels, _threshold(model), _uses_signs(labels))
    if run_batch is _traced_batch:
        run: _EagerRun | _ArrayRun = _ArrayRun(
            TracedRun(model, features, labels, loss, regularizer, optimizer), model, loss)
    else:
        run = _EagerRun(model, features, labels, loss, regularizer, optimizer, run_batch)
    val_rows = None if validation is None else run.prepare(val_features, val_labels)
    rng = np.random.default_rng(seed)
    history = History()
    bar = _progress_bar(count, progress)
    n = len(labels)
    try:
        for epoch in bar:
            history.lr.append(optimizer.lr)
            loss_sum, correct = 0.0, 0
            # The same draws as nn.minibatches(..., rng=rng): batches by index.
            order = rng.permutation(n)
            for start in range(0, n, size):
                index = order[start:start + size]
                batch_loss, scores = run.batch(index)
                loss_sum += batch_loss * len(index)
                if classification:
                    correct += hits(scores, index)
            history.loss.append(loss_sum / n)
            history.accuracy.append(correct / n if classification else float("nan"))
            if validation is not None:
                scores = run.validate(val_rows, val_features, val_labels)
                history.val_loss.append(scores["loss"])
                history.val_accuracy.append(scores["accuracy"])
            if scheduler is not None:
                scheduler.step()
            if not bar.disable:
                postfix = {"loss": f"{history.loss[-1]:.4g}"}
                if classification:
                    postfix["acc"] = f"{history.accuracy[-1]:.3f}"
                bar.set_postfix(postfix)
            if callback is not None:
                run.publish()
                stop = callback(epoch, history) is True
                run.refresh()
                if stop:
                    break
    finally:
        # At the end, and on an exception or Ctrl-C: the model holds the last step.
        run.publish()
        bar.close()
    return history


def _hit_counter(labels: np.ndarray, threshold: float, signs: bool
                 ) -> Callable[[np.ndarray, np.ndarray], int]:
    """``hits(scores, index)``: how many of the samples ``index`` the scores label right.

    The labels of ``_labels_from_scores``; with one output and labels that are all 1
    or the negative label (-1 or 0), a score is right when "above the threshold" and
    "label is 1" agree, which is one comparison per batch.
    """
    negative = -1 if signs else 0
    is_positive = labels == 1
    binary = bool(np.all(is_positive | (labels == negative)))

    def hits(scores: np.ndarray, index: np.ndarray) -> int:
        if binary and scores.shape[1] == 1:
            return int(np.count_nonzero((scores[:, 0] > threshold) == is_positive[index]))
        predicted = _labels_from_scores(scores, threshold, signs)
        return int(np.count_nonzero(predicted == labels[index]))

    return hits


class _EagerRun:
    """Batches through an engine that works on the model's Values (eager or registered)."""

    def __init__(self, model: Module, features: np.ndarray, labels: np.ndarray, loss: Loss,
                 regularizer: Regularizer | None, optimizer: Optimizer,
                 run_batch: EngineFn) -> None:
        self.model, self.loss, self.regularizer = model, loss, regularizer
        self.features, self.labels = features, labels
        self.optimizer, self.run_batch = optimizer, run_batch

    def batch(self, index: np.ndarray) -> tuple[float, np.ndarray]:
        self.optimizer.zero_grad()
        result = self.run_batch(self.model, self.features[index], self.labels[index],
                                self.loss, self.regularizer)
        self.optimizer.step()
        return result.loss, result.scores

    def prepare(self, features: np.ndarray, labels: np.ndarray) -> None:
        return None

    def validate(self, rows: Any, features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        return evaluate(self.model, features, labels, loss=self.loss)

    def publish(self) -> None:
        """Nothing to do: the Values are the state."""

    def refresh(self) -> None:
        """Nothing to do: the Values are the state."""


class _ArrayRun:
    """``fit``'s view of a :class:`~nn._fit_trace.TracedRun` (parameters in one array)."""

    def __init__(self, traced: TracedRun, model: Module, loss: Loss) -> None:
        self.traced, self.model, self.loss = traced, model, loss
        self.batch = traced.batch
        self.publish = traced.publish
        self.refresh = traced.refresh

    def prepare(self, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return self.traced.batch_rows(features, labels)

    def validate(self, rows: Any, features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        # The same numbers as evaluate() on the model, from the replay at theta.
        losses, scores = self.traced.scores(rows)
        return _metrics(self.model, scores, labels, self.loss, float(losses.sum()) / len(labels))
