"""Loss functions over one sample or a batch, built from engine ops.

Conventions (as PyTorch where it has the same loss):

* The **target decides** whether a call is one sample or a batch: a number (or an
  int class index) is one sample; a sequence or numpy array is a batch.
* Scores may be Values or numbers; a model's one-element output list (``model(x)``)
  is accepted wherever one score is expected.
* Targets of the one-score losses (mse, binary cross-entropy, hinge, perceptron) may
  also be Values: they then stay in the graph as inputs, so a traced loss can be
  replayed on other labels.
* ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"`` (a list of
  per-sample losses).

Each loss is a small :class:`Loss` object, called like a function, with its
``name`` and its ``target_kind`` as attributes; ``fit`` uses the kind to check labels
before training: "real" (any number), "binary" (0/1), "sign" (-1/+1) or "index"
(a class index 0..k-1). The maths of each loss is one per-sample function below; the
objects only pair samples with targets, check them and reduce.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd_core import Value, apply_op
from autograd_core.functional import logsumexp, vsum

__all__ = [
    "REDUCTIONS",
    "TARGET_KINDS",
    "Loss",
    "mse_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge_loss",
    "multiclass_hinge_loss",
    "perceptron_loss",
]

#: How a loss combines its per-sample terms: their mean, their sum, or a list of them.
REDUCTIONS = ("mean", "sum", "none")
#: What a loss's targets are (its ``target_kind``): any real number, 0/1, -1/+1, or a
#: class index 0..k-1.
TARGET_KINDS = ("real", "binary", "sign", "index")

# log(p) for p below this is clamped (PyTorch clamps log outputs at -100 the same way).
_LOG_FLOOR = -100.0


def _is_batch(target: Any) -> bool:
    if isinstance(target, np.ndarray):
        return target.ndim >= 1
    return isinstance(target, (list, tuple))


def _reduce(losses: list[Value], reduction: str, name: str) -> Any:
    if reduction == "none":
        return losses
    total = losses[0] if len(losses) == 1 else apply_op("sum", *losses)
    return total if reduction == "sum" else total / len(losses)


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: unknown reduction {reduction!r}; allowed: {list(REDUCTIONS)}")


def _one_score(output: Any, name: str) -> Any:
    """A single score from a Value, a number or a one-element list."""
    if isinstance(output, (list, tuple)):
        if len(output) != 1:
            raise ValueError(f"{name}: expected one score per sample; got {len(output)} "
                             "(use a one-output model or pick the score)")
        output = output[0]
    if isinstance(output, Value):
        return output
    if isinstance(output, (int, float, np.number)) and not isinstance(output, bool):
        return float(output)
    raise TypeError(f"{name}: a score must be a Value or a number; got {output!r}")


def _pairs(outputs: Any, target: Any, name: str) -> list[tuple[Any, Any]]:
    """Pair each sample's output with its target, checking the batch sizes agree."""
    if not _is_batch(target):
        return [(outputs, target)]
    targets = target.tolist() if isinstance(target, np.ndarray) else list(target)
    if isinstance(outputs, Value) or not hasattr(outputs, "__len__"):
        raise ValueError(f"{name}: a batch of {len(targets)} targets needs a list of outputs; "
                         f"got {outputs!r}")
    if len(outputs) != len(targets):
        raise ValueError(f"{name}: {len(outputs)} outputs but {len(targets)} targets")
    if not targets:
        raise ValueError(f"{name}: the batch is empty")
    return list(zip(outputs, targets))


class Loss:
    """A loss: ``loss(outputs, target, *, reduction="mean")``, with its kind of target.

    ``reduction`` is "mean", "sum" or "none" (a list of per-sample losses). nn's losses
    are instances (``nn.cross_entropy``, ``nn.mse_loss``, ...); ``fit`` also takes any
    callable ``loss(outputs, targets) -> Value``.

    Attributes:
        name: the loss's name, as it appears in messages.
        target_kind: what its targets are: "real", "binary" (0/1), "sign" (-1/+1) or
            "index" (a class index).
    """

    def __init__(self, name: str, target_kind: str, doc: str = "") -> None:
        if target_kind not in TARGET_KINDS:
            raise ValueError(f"Loss: unknown target_kind {target_kind!r}; allowed: "
                             f"{list(TARGET_KINDS)}")
        self.name = name
        self.target_kind = target_kind
        self.__doc__ = doc or type(self).__doc__

    @property
    def __name__(self) -> str:
        """The loss's name, so it reads like the function it replaces."""
        return self.name

    def __call__(self, outputs: Any, target: Any, *, reduction: str = "mean") -> Any:
        """The loss of ``outputs`` against ``target``, reduced as ``reduction`` says."""
        _check_reduction(reduction, self.name)
        return _reduce(self._sample_losses(outputs, target), reduction, self.name)

    def _sample_losses(self, outputs: Any, target: Any) -> list[Value]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<loss {self.name} (targets: {self.target_kind})>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        if globals().get(self.name) is self:
            return self.name  # one of nn's losses: pickled by reference, nn.losses.<name>
        return super().__reduce_ex__(protocol)


class _ScoreLoss(Loss):
    """One score per sample against one target: ``per_sample(score, target)``."""

    def __init__(self, name: str, target_kind: str, per_sample: Callable[[Any, Any], Any],
                 doc: str) -> None:
        super().__init__(name, target_kind, doc)
        self.per_sample = per_sample

    def _sample_losses(self, outputs: Any, target: Any) -> list[Value]:
        allowed = {"binary": (0.0, 1.0), "sign": (-1.0, 1.0)}.get(self.target_kind)
        losses = []
        for output, label in _pairs(outputs, target, self.name):
            score = _one_score(output, self.name)
            value = _target(label, self.name)
            check = value.data if isinstance(value, Value) else value
            if allowed is not None and check not in allowed:
                raise ValueError(f"{self.name}: target {label!r} is not one of "
                                 f"{list(allowed)}")
            losses.append(_as_value(self.per_sample(score, value)))
        return losses


class _ClassLoss(Loss):
    """k class scores and a class index per sample: ``per_sample(scores, k)``."""

    def __init__(self, name: str, per_sample: Callable[[list, int], Any], doc: str) -> None:
        super().__init__(name, "index", doc)
        self.per_sample = per_sample

    def _sample_losses(self, outputs: Any, target: Any) -> list[Value]:
        losses = []
        for output, label in _pairs(outputs, target, self.name):
            scores = _scores(output, self.name)
            index = _class_index(label, len(scores), self.name)
            losses.append(_as_value(self.per_sample(scores, index)))
        return losses


class _ElementLoss(Loss):
    """Every element of equally nested outputs and targets: ``per_element(y, t)``."""

    def __init__(self, name: str, per_element: Callable[[Any, Any], Any], doc: str) -> None:
        super().__init__(name, "real", doc)
        self.per_element = per_element

    def _sample_losses(self, outputs: Any, target: Any) -> list[Value]:
        return [_as_value(self.per_element(p, t))
                for p, t in _flatten_pairs(outputs, target, self.name)]


def _target(label: Any, name: str) -> Any:
    """A target as a float, or kept as a Value (so a traced graph reads it as an input)."""
    if isinstance(label, Value):
        return label
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, float, np.number)):
        raise TypeError(f"{name}: a target must be a number; got {label!r}")
    return float(label)


def _as_value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _scores(output: Any, name: str) -> list:
    if isinstance(output, np.ndarray):
        output = output.tolist()
    if isinstance(output, Value) or not isinstance(output, (list, tuple)) or not output:
        raise TypeError(f"{name}: expected a non-empty list of class scores per sample; "
                        f"got {output!r}")
    return list(output)


def _class_index(label: Any, classes: int, name: str) -> int:
    if isinstance(label, (bool, np.bool_)) or not float(label).is_integer():
        raise ValueError(f"{name}: target {label!r} is not a class index")
    index = int(label)
    if not 0 <= index < classes:
        raise ValueError(f"{name}: target {label!r} is outside the classes 0..{classes - 1}")
    return index


# ---------------------------------------------------------------------------
# Per-sample formulas (one line of maths each).


def _clamped_log(p: Any) -> Any:
    """log(p), floored at -100 so p = 0 gives a large finite loss instead of an error."""
    data = p.data if isinstance(p, Value) else p
    if data <= math.exp(_LOG_FLOOR):
        return _LOG_FLOOR
    return p.log() if isinstance(p, Value) else math.log(p)


def _bce(p: Any, t: float) -> Any:
    """-(t log p + (1 - t) log(1 - p)), with p a probability."""
    if not 0.0 <= (p.data if isinstance(p, Value) else p) <= 1.0:
        raise ValueError(f"binary_cross_entropy: input {p!r} is not a probability in [0, 1]; "
                         "use binary_cross_entropy_with_logits for raw scores")
    return -(t * _clamped_log(p) + (1.0 - t) * _clamped_log(1.0 - p))


def _bce_logits(z: Any, t: Any) -> Any:
    """-log sigmoid(z) = softplus(-z) for t = 1, -log(1 - sigmoid(z)) = softplus(z) for t = 0."""
    # Not softplus(z) - t z: for t = 1 and large z that difference cancels (z = 40 gives
    # 0 instead of 4.2e-18, z = 10 loses 5 digits); one softplus keeps full precision.
    z = _as_value(z)
    if isinstance(t, Value):  # a target in the graph: the same sum, differentiable in t
        return t * (-z).softplus() + (1.0 - t) * z.softplus()
    return (-z).softplus() if t == 1.0 else z.softplus()


def _hinge(s: Any, y: float) -> Any:
    """max(0, 1 - y s), the max-margin loss of micrograd's demo."""
    return (1.0 - y * _as_value(s)).relu()


def _perceptron(s: Any, y: float) -> Any:
    """max(0, -y s): zero when classified correctly, no margin."""
    return (-y * _as_value(s)).relu()


def _squared_error(p: Any, t: float) -> Any:
    return (_as_value(p) - t) ** 2


def _cross_entropy(logits: list, k: int) -> Value:
    """-log softmax(z)_k = log(1 + sum_{j != k} e^(z_j - z_k)) = softplus(logsumexp(z_j - z_k))."""
    # Not logsumexp(z) - z_k: when class k wins by a wide margin that difference cancels
    # (logits [40, 0] give 0 instead of 4.2e-18); softplus keeps full relative precision.
    if len(logits) == 1:
        return logsumexp(logits) - logits[0]
    target = _as_value(logits[k])
    return logsumexp([z - target for j, z in enumerate(logits) if j != k]).softplus()


def _nll(log_probs: list, k: int) -> Any:
    """-log p_k, given log-probabilities (as ``log_softmax`` returns)."""
    return -_as_value(log_probs[k])


def _multiclass_hinge(scores: list, k: int) -> Value:
    """sum over j != k of max(0, s_j - s_k + 1) (the multiclass SVM of Weston & Watkins)."""
    correct = _as_value(scores[k])
    margins = [(_as_value(s) - correct + 1.0).relu() for j, s in enumerate(scores) if j != k]
    return vsum(margins) if margins else Value(0.0)


# ---------------------------------------------------------------------------
# Public losses


def _flatten_pairs(outputs: Any, target: Any, name: str) -> list[tuple[Any, Any]]:
    """Element pairs of two equally nested structures (number, list, list of lists)."""
    pairs: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, Any]] = [(outputs, target)]
    while stack:
        out, tgt = stack.pop()
        if isinstance(tgt, np.ndarray):
            tgt = tgt.tolist()
        if isinstance(tgt, (list, tuple)):
            if isinstance(out, np.ndarray):
                out = out.tolist()
            if not isinstance(out, (list, tuple)) or len(out) != len(tgt):
                size = len(out) if isinstance(out, (list, tuple)) else "a scalar"
                raise ValueError(f"{name}: outputs ({size}) and targets ({len(tgt)}) "
                                 "have different shapes")
            if not tgt:
                raise ValueError(f"{name}: empty targets")
            stack.extend(reversed(list(zip(out, tgt))))
        else:
            if isinstance(out, (list, tuple)) and len(out) == 1:
                out = out[0]
            pairs.append((_one_score(out, name), _target(tgt, name)))
    return pairs


mse_loss = _ElementLoss(
    "mse_loss", _squared_error,
    doc="""Squared error ``(y - t)^2``, averaged (or summed) over every element.

``outputs`` and ``target`` may be one number, a list (one sample's outputs or a
batch of single outputs) or a list of lists (a batch of vectors).

Example:
    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    2.5
""")

binary_cross_entropy = _ScoreLoss(
    "binary_cross_entropy", "binary", _bce,
    doc="""Binary cross-entropy of a probability p and a 0/1 target.

``-(t log p + (1 - t) log(1 - p))``; log is floored at -100 (so p = 0 or 1 gives a
finite loss). For raw scores use ``binary_cross_entropy_with_logits``.

Example:
    >>> round(binary_cross_entropy(Value(0.8), 1).data, 4)
    0.2231
""")

binary_cross_entropy_with_logits = _ScoreLoss(
    "binary_cross_entropy_with_logits", "binary", _bce_logits,
    doc="""BCE of sigmoid(z) and a 0/1 target, from the logit z.

Computed as ``softplus(-z)`` for t = 1 and ``softplus(z)`` for t = 0, which never
overflows and keeps full relative precision; its gradient is ``sigmoid(z) - t``.
This is the negative log-likelihood of logistic regression.

Example:
    >>> round(binary_cross_entropy_with_logits(Value(0.0), 1).data, 4)
    0.6931
""")

hinge_loss = _ScoreLoss(
    "hinge_loss", "sign", _hinge,
    doc="""Max-margin (hinge) loss ``max(0, 1 - y s)`` for labels y in {-1, +1}.

Example:
    >>> hinge_loss([Value(2.0), Value(0.5)], [1, -1], reduction="sum").data
    1.5
""")

perceptron_loss = _ScoreLoss(
    "perceptron_loss", "sign", _perceptron,
    doc="""Perceptron criterion ``max(0, -y s)`` for labels y in {-1, +1}.

Zero for a correctly classified sample (no margin); its gradient step on a mistake
is the perceptron learning rule.

Example:
    >>> perceptron_loss(Value(-0.5), 1).data
    0.5
""")

cross_entropy = _ClassLoss(
    "cross_entropy", _cross_entropy,
    doc="""Cross-entropy of class scores (logits) and a class index.

``-log softmax(z)_k = logsumexp(z) - z_k``, computed as
``softplus(logsumexp(z_j - z_k for j != k))``: stable for large scores (no softmax is
formed) and accurate to full relative precision even when class k wins by far.
Pass one sample's logits and an int, or a batch (list of logit lists) and a sequence
of ints.

Example:
    >>> round(cross_entropy([3.2, 5.1, -1.7], 1).data, 4)
    0.1404
""")

nll_loss = _ClassLoss(
    "nll_loss", _nll,
    doc="""Negative log-likelihood ``-log p_k`` from log-probabilities (as PyTorch).

Feed it ``functional.log_softmax(logits)``; ``cross_entropy`` does both at once.

Example:
    >>> import math
    >>> round(nll_loss([math.log(0.25), math.log(0.75)], 1).data, 4)
    0.2877
""")

multiclass_hinge_loss = _ClassLoss(
    "multiclass_hinge_loss", _multiclass_hinge,
    doc="""Multiclass SVM loss ``sum_{j != k} max(0, s_j - s_k + 1)``.

Example:
    >>> round(multiclass_hinge_loss([3.2, 5.1, -1.7], 0).data, 6)
    2.9
""")

# doctest does not look inside instances; their examples are listed here.
__test__ = {name: globals()[name].__doc__ for name in __all__[3:]}


def check_targets(loss: Callable[..., Any], y: Sequence[Any], num_outputs: int | None) -> None:
    """Raise ValueError if labels ``y`` do not suit ``loss`` (used by ``fit``).

    Labels must be real numbers (bool labels are refused: pass ``y.astype(int)``); class
    labels (index, binary, sign) one per sample (``y`` 1-D); real targets ``[n]`` or
    ``[n, k]`` with one column per model output.
    """
    kind = getattr(loss, "target_kind", None)
    values = np.asarray(y)
    if kind is None or values.size == 0:
        return
    name = getattr(loss, "__name__", repr(loss))
    if values.dtype.kind not in "iuf":
        hint = " (pass y.astype(int))" if values.dtype.kind == "b" else ""
        raise ValueError(f"{name}: labels must be numbers; got dtype {values.dtype}{hint}")
    if kind == "real":
        if values.ndim > 2:
            raise ValueError(f"{name}: targets must be [n] or [n, outputs]; got shape "
                             f"{values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: targets hold NaN or infinite values")
        width = 1 if values.ndim == 1 else values.shape[1]
        if num_outputs is not None and width != num_outputs:
            raise ValueError(f"{name}: targets have {width} column(s) per sample but the model "
                             f"has {num_outputs} outputs (targets of shape {values.shape})")
        return
    if values.ndim != 1:
        raise ValueError(f"{name}: labels must be 1-D, one per sample; got shape {values.shape}")
    allowed = {"binary": (0, 1), "sign": (-1, 1)}.get(kind)
    if allowed is not None:
        bad = values[~np.isin(values, allowed)]
        if bad.size:
            raise ValueError(f"{name}: label {bad.ravel()[0].item()!r} is outside the allowed "
                             f"labels {list(allowed)}")
        return
    bad = values[(values != np.round(values)) | (values < 0)]
    if num_outputs is not None:
        bad = np.concatenate([bad, values[values >= num_outputs]])
    if bad.size:
        limit = f"0..{num_outputs - 1}" if num_outputs is not None else "0, 1, 2, ..."
        raise ValueError(f"{name}: label {bad.ravel()[0].item()!r} is outside the classes {limit}")
