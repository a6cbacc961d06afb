"""The lecture's linear models: the perceptron, logistic and softmax regression.

Each is a ``Module`` around one linear ``Layer`` (state ``linear.weight`` [k, nin] and
``linear.bias`` [k]) whose call returns the raw scores as a list, so it works with
``fit``, the losses, the pictures and ``state_dict`` like any network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd_core import Value

from ._checks import check_features, check_int, check_real
from .data import _check_xy
from .layers import Layer, as_inputs
from .losses import binary_cross_entropy_with_logits, cross_entropy
from .module import Module
from .optim import SGD, Optimizer
from .training import History, fit, predict_scores, probabilities

__all__ = ["Perceptron", "PerceptronResult", "LogisticRegression", "SoftmaxRegression"]


def _check_features(model: Module, X: Any, where: str) -> np.ndarray:
    features = check_features(X, where)
    if features.shape[1] != model.nin:
        raise ValueError(f"{where}: X must have shape [n, {model.nin}]; got {features.shape}")
    return features


class _LinearModel(Module):
    """Shared parts: one linear layer, raw scores as the output, state and repr."""

    def __init__(self, nin: int, nout: int, init: str, seed: int | None,
                 rng: np.random.Generator | None) -> None:
        self.linear = Layer(nin, nout, "linear", init=init, seed=seed, rng=rng)
        self.nin = self.linear.nin
        self.nout = nout

    def forward(self, x: Any) -> list[Value]:
        """The raw scores (logits) for one sample, as a list."""
        return self.linear.forward_values(as_inputs(x, self.nin, type(self).__name__))

    def _chain_parts(self) -> list[Module]:
        return [self.linear]

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores for every row of ``X``, shape [n] (one output) or [n, k]."""
        scores = predict_scores(self, _check_features(self, X, "decision_function"))
        return scores[:, 0] if self.nout == 1 else scores

    def extra_repr(self) -> str:
        return f"nin={self.nin}, nout={self.nout}"


@dataclass
class PerceptronResult:
    """What ``Perceptron.fit`` reports.

    Attributes:
        epochs: passes made over the data.
        mistakes: misclassified samples (= updates) in each epoch.
        converged: whether an epoch ended without a mistake (the data are separated).
    """

    epochs: int
    mistakes: list[int]
    converged: bool

    @property
    def total_mistakes(self) -> int:
        """Updates made in all."""
        return sum(self.mistakes)


class Perceptron(_LinearModel):
    """Rosenblatt's perceptron: ``y = step(w . x + b)``, trained by the perceptron rule.

    The rule visits the samples in order and, only on a mistake
    (``t (w . x + b) <= 0`` with ``t`` in {-1, +1}), updates ``w += lr t x`` and
    ``b += lr t``. On linearly separable data it stops after finitely many
    mistakes (Novikoff's theorem); on XOR it never does.

    Args:
        nin: number of inputs.
        init: weight scheme; the classic rule starts from zeros.

    Example:
        >>> import numpy as np
        >>> p = Perceptron(2)
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> result = p.fit(X, np.array([0, 0, 0, 1]))  # AND is separable
        >>> result.converged, p.predict(X).tolist()
        (True, [0, 0, 0, 1])
    """

    def __init__(self, nin: int, *, init: str = "zeros", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(nin, 1, init, seed, rng)
        self.classes = (0, 1)

    def fit(self, X: Any, y: Any, *, epochs: int = 100, lr: float = 1.0) -> PerceptronResult:
        """Run the perceptron rule until an epoch has no mistake or ``epochs`` run out.

        Labels may be 0/1 or -1/+1; ``predict`` answers in the same convention.
        """
        count = check_int(epochs, "epochs", owner="Perceptron.fit")
        rate = check_real(lr, "lr", low_open=True, owner="Perceptron.fit")
        features, labels = _check_xy(X, y, "Perceptron.fit")
        features = _check_features(self, features, "Perceptron.fit")
        if labels.ndim != 1 or labels.dtype.kind not in "iuf":
            raise ValueError(f"Perceptron.fit: labels must be a 1-D array of numbers; got "
                             f"shape {labels.shape} and dtype {labels.dtype}")
        values = set(np.unique(labels).tolist())
        if values <= {0, 1}:
            self.classes = (0, 1)
        elif values <= {-1, 1}:
            self.classes = (-1, 1)
        else:
            raise ValueError(f"Perceptron.fit: labels must be 0/1 or -1/+1; got "
                             f"{sorted(values)}")
        targets = np.where(labels == self.classes[1], 1.0, -1.0)
        weights = self.linear.weight[0]
        bias = float(self.linear.bias[0])
        mistakes: list[int] = []
        for _ in range(count):
            errors = 0
            for row, target in zip(features, targets):
                if target * (row @ weights + bias) <= 0:
                    weights += rate * target * row
                    bias += rate * target
                    errors += 1
            mistakes.append(errors)
            if errors == 0:
                break
        if not (np.all(np.isfinite(weights)) and np.isfinite(bias)):
            raise ValueError(f"Perceptron.fit: the weights overflowed float64 with lr={rate!r} "
                             "(the model is unchanged); use a smaller lr or scaled X")
        self.linear.weight = weights[None, :]
        self.linear.bias = [bias]
        return PerceptronResult(len(mistakes), mistakes, mistakes[-1] == 0)

    def predict(self, X: Any) -> np.ndarray:
        """Labels: the positive class where ``w . x + b > 0``."""
        positive = self.decision_function(X) > 0
        return np.where(positive, self.classes[1], self.classes[0])


def _default_optimizer(model: Module, optimizer: Optimizer | None, lr: float) -> Optimizer:
    return optimizer if optimizer is not None else SGD(model, lr=lr)


class LogisticRegression(_LinearModel):
    """Binary logistic regression: ``P(y = 1 | x) = sigmoid(w . x + b)``.

    Trained by minimising the negative log-likelihood (binary cross-entropy from
    the logit, which is stable). Labels are 0/1. The call returns ``[logit]``.

    Example:
        >>> import nn
        >>> X, y = nn.make_blobs(40, centers=[[-2, -2], [2, 2]], seed=0)
        >>> model = LogisticRegression(2)
        >>> _ = model.fit(X, y, epochs=20, lr=0.5)
        >>> float((model.predict(X) == y).mean())
        1.0
    """

    loss = staticmethod(binary_cross_entropy_with_logits)

    def __init__(self, nin: int, *, init: str = "zeros", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(nin, 1, init, seed, rng)

    def fit(self, X: Any, y: Any, *, epochs: int = 100, lr: float = 0.1,
            batch_size: int | None = None, optimizer: Optimizer | None = None,
            **fit_options: Any) -> History:
        """Gradient descent on the NLL (see ``nn.fit`` for the other options)."""
        return fit(self, X, y, loss=self.loss, optimizer=_default_optimizer(self, optimizer, lr),
                   epochs=epochs, batch_size=batch_size,
                   **{"progress": False, **fit_options})

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[n, 2]`` probabilities: columns P(y = 0 | x) and P(y = 1 | x)."""
        return probabilities(self.decision_function(X)[:, None])

    def predict(self, X: Any) -> np.ndarray:
        """Label 1 where P(y = 1 | x) > 0.5 (the logit is positive), else 0."""
        return (self.decision_function(X) > 0).astype(int)


class SoftmaxRegression(_LinearModel):
    """Multiclass logistic regression: ``P(y = k | x) = softmax(W x + b)_k``.

    Trained with cross-entropy on the logits (stable). Labels are ``0..k-1``.

    Example:
        >>> import nn
        >>> X, y = nn.make_blobs(30, centers=[[0, 4], [4, 0], [-4, -4]], seed=0)
        >>> model = SoftmaxRegression(2, 3)
        >>> _ = model.fit(X, y, epochs=30, lr=0.2)
        >>> model.predict_proba(X[:1]).shape
        (1, 3)
    """

    loss = staticmethod(cross_entropy)

    def __init__(self, nin: int, n_classes: int, *, init: str = "zeros",
                 seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        check_int(n_classes, "n_classes", minimum=2, owner="SoftmaxRegression")
        super().__init__(nin, n_classes, init, seed, rng)
        self.n_classes = n_classes

    fit = LogisticRegression.fit

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[n, k]`` class probabilities (each row sums to 1)."""
        return probabilities(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class for each row."""
        return self.decision_function(X).argmax(axis=1)
