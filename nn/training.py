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
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from autograd_core import CORE, Value, apply_op, no_grad

from ._checks import check_features, check_int, check_seed
from .data import _check_xy, minibatches
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
    "predict_scores",
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


def _as_output_list(output: Any) -> list:
    return output if isinstance(output, list) else [output]


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


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
        scores = np.array([[_data(v) for v in _as_output_list(out)] for out in outputs])
        value = total.data
        # Drop the graph while the collector is still paused, or its first run walks it.
        del outputs, total
    return BatchResult(value, scores)


class _TracedModel(NamedTuple):
    params: tuple[Value, ...]
    loss_trace: Any
    score_trace: Any
    target_columns: Callable[[np.ndarray], np.ndarray]


def _trace_model(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss) -> _TracedModel:
    """Record the model's per-sample loss and outputs once (see ``_traced_batch``)."""
    from autograd_core.trace import trace

    kind = getattr(loss, "target_kind", None)
    if kind is None:
        raise ValueError(f"engine 'trace' needs one of nn's losses (with a target_kind); "
                         f"got {loss!r}")
    params = tuple(model.parameters())
    nin = X.shape[1]
    score_trace = trace(lambda xs: _as_output_list(model(xs)), X[0].tolist(), params)
    if kind == "index":
        classes = len(score_trace.outputs)

        def per_sample(xs: list[Value]) -> Value:
            # The class index chooses a term, which a replay cannot do per sample, so
            # the loss of every class is weighted by the one-hot target instead.
            outputs = model(xs[:nin])
            return apply_op("sum", *[xs[nin + k] * loss(outputs, k) for k in range(classes)])

        def columns(labels: np.ndarray) -> np.ndarray:
            return np.eye(classes)[labels.astype(int)]
    else:
        width = 1 if y.ndim == 1 else y.shape[1]

        def per_sample(xs: list[Value]) -> Value:
            targets = xs[nin] if y.ndim == 1 else xs[nin:nin + width]
            return loss(model(xs[:nin]), targets)

        def columns(labels: np.ndarray) -> np.ndarray:
            return labels.reshape(len(labels), width).astype(float)
    example = np.concatenate([X[0], columns(y[:1])[0]]).tolist()
    return _TracedModel(params, trace(per_sample, example, params), score_trace, columns)


def _traced_batch(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss,
                  regularizer: Regularizer | None) -> BatchResult:
    """Replay a graph recorded once on the whole batch (``autograd_core.trace``).

    The per-sample graph must not depend on the data: the model's forward may not
    branch on values (kinked ops such as relu are fine), and the constant shift inside
    ``logsumexp`` is frozen at trace time.
    """
    # Kept on the model (a private attribute, outside its state), so it goes with it.
    per_model = vars(model).setdefault("_fit_traces", {})
    key = (loss, y.ndim, y.shape[1:])
    traced = per_model.get(key)
    if traced is None or traced.params != tuple(model.parameters()):
        traced = per_model[key] = _trace_model(model, X, y, loss)
    scores = traced.score_trace.forward(X)
    batch = np.hstack([X, traced.target_columns(y)])
    total = traced.loss_trace.backward(batch, reduction="mean")
    if regularizer is not None:
        penalty = regularizer(model)
        penalty.backward()
        total += penalty.data
    return BatchResult(total, scores)


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
    """The activation of the model's last layer, when it has one."""
    node = model
    for _ in range(1000):  # a bounded walk down "last layer" links
        if hasattr(node, "layers") and node.layers:
            node = node.layers[-1]
        elif hasattr(node, "modules") and isinstance(node.modules, list) and node.modules:
            node = node.modules[-1]
        else:
            break
    name = getattr(node, "activation", None)
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
        rows = [[_data(v) for v in _as_output_list(model(row))] for row in features]
    return np.array(rows, dtype=float).reshape(len(features), -1)


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
    result: dict[str, float] = {}
    with no_grad():
        outputs = [model(row) for row in features]
        if loss is not None:
            result["loss"] = float(_data(loss(outputs, labels)))
    scores = np.array([[_data(v) for v in _as_output_list(out)] for out in outputs])
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
        progress: show a tqdm bar with the running loss (silent when not on a terminal).
        seed: seeds the minibatch shuffling.
        engine: how a batch's loss and gradients are computed: ``"eager"`` (a graph per
            sample), ``"trace"`` (one recorded graph replayed on the batch with numpy;
            same numbers, much faster; nn's losses only) or one added with
            ``register_engine``.
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
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: optimizer must be an nn Optimizer; got {optimizer!r}")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError("fit: validation must be a pair (X_val, y_val)")
        val_features, val_labels = _check_training_data(model, loss, validation[0],
                                                        validation[1], "fit validation")
    classification = _is_classification(loss, labels)
    signs = _uses_signs(labels)
    threshold = _threshold(model)
    rng = np.random.default_rng(seed)
    history = History()
    bar = tqdm(range(count), disable=True if not progress else None, unit="epoch",
               leave=False)
    for epoch in bar:
        history.lr.append(optimizer.lr)
        loss_sum, correct = 0.0, 0
        for X_batch, y_batch in minibatches(features, labels, int(size), rng=rng):
            optimizer.zero_grad()
            result = run_batch(model, X_batch, y_batch, loss, regularizer)
            optimizer.step()
            loss_sum += result.loss * len(y_batch)
            if classification:
                predicted = _labels_from_scores(result.scores, threshold, signs)
                correct += int(np.sum(predicted == y_batch))
        history.loss.append(loss_sum / len(labels))
        history.accuracy.append(correct / len(labels) if classification else float("nan"))
        if validation is not None:
            scores = evaluate(model, val_features, val_labels, loss=loss)
            history.val_loss.append(scores["loss"])
            history.val_accuracy.append(scores["accuracy"])
        if scheduler is not None:
            scheduler.step()
        postfix = {"loss": f"{history.loss[-1]:.4g}"}
        if classification:
            postfix["acc"] = f"{history.accuracy[-1]:.3f}"
        bar.set_postfix(postfix)
        if callback is not None and callback(epoch, history) is True:
            break
    bar.close()
    return history

