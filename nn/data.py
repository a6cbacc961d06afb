"""Toy data sets, two small real ones, and the helpers to split, scale and batch them.

Every generator is seeded (``seed=``) and returns ``(X, y)``: ``X`` a float array of
shape ``[n, d]`` and ``y`` int labels ``0 .. k-1``. For the hinge or perceptron
losses, which expect labels -1/+1, use ``2 * y - 1``.

The real data sets ship with the package (see ``nn/datasets/README.txt`` for sources
and licences) and load offline.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import numpy as np

from ._checks import (
    check_bool,
    check_int,
    check_real,
    check_real_array,
    check_real_pair,
    check_seed,
)

__all__ = [
    "make_xor",
    "make_moons",
    "make_circles",
    "make_spirals",
    "make_blobs",
    "load_iris",
    "load_longley",
    "IRIS_FEATURES",
    "IRIS_CLASSES",
    "LONGLEY_FEATURES",
    "train_test_split",
    "standardize",
    "minibatches",
]

#: The four columns of :func:`load_iris`'s inputs, in order.
IRIS_FEATURES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
#: The iris species, by class index.
IRIS_CLASSES = ("setosa", "versicolor", "virginica")
#: The six columns of :func:`load_longley`'s inputs, in order.
LONGLEY_FEATURES = ("gnp_deflator", "gnp", "unemployed", "armed_forces", "population", "year")


def _check_noise(noise: Any) -> float:
    return check_real(noise, "noise")


def _generator(seed: Any) -> np.random.Generator:
    return np.random.default_rng(check_seed(seed))


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return X[order], y[order]


def _split_count(n_samples: int, parts: int) -> list[int]:
    """n_samples shared out as evenly as possible, earlier parts getting the remainder."""
    return [n_samples // parts + (1 if i < n_samples % parts else 0) for i in range(parts)]


def make_xor(n_samples: int = 4, *, noise: float = 0.0, seed: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: label 1 when exactly one coordinate is 1.

    With ``n_samples=4`` and no noise, the four corners of the unit square in the
    order (0,0), (0,1), (1,0), (1,1). Otherwise corners are cycled and jittered with
    Gaussian noise of standard deviation ``noise``.

    Example:
        >>> X, y = make_xor()
        >>> X.tolist(), y.tolist()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    count = check_int(n_samples, "n_samples")
    spread = _check_noise(noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    index = np.arange(count) % 4
    X, y = corners[index], labels[index]
    if spread:
        X = X + _generator(seed).normal(0.0, spread, size=X.shape)
    return X, y


def make_moons(n_samples: int = 100, *, noise: float = 0.0, seed: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (label 0 on top, label 1 below), shuffled.

    The upper moon is ``(cos t, sin t)`` and the lower ``(1 - cos t, 0.5 - sin t)`` for
    ``t`` in ``[0, pi]``, plus Gaussian noise of standard deviation ``noise``.

    Example:
        >>> X, y = make_moons(10, noise=0.1, seed=0)
        >>> X.shape, sorted(y.tolist())
        ((10, 2), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    """
    count = check_int(n_samples, "n_samples", minimum=2)
    spread = _check_noise(noise)
    rng = _generator(seed)
    n_upper, n_lower = _split_count(count, 2)
    t_upper = np.linspace(0.0, math.pi, n_upper)
    t_lower = np.linspace(0.0, math.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.vstack([upper, lower]) + rng.normal(0.0, spread, size=(count, 2))
    y = np.repeat([0, 1], [n_upper, n_lower])
    return _shuffled(X, y, rng)


def make_circles(n_samples: int = 100, *, noise: float = 0.0, factor: float = 0.5,
                 seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (label 0) around a circle of radius ``factor`` (label 1).

    Example:
        >>> X, y = make_circles(8, factor=0.5, seed=0)
        >>> sorted(np.round(np.hypot(X[:, 0], X[:, 1]), 6).tolist())
        [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    """
    count = check_int(n_samples, "n_samples", minimum=2)
    spread = _check_noise(noise)
    scale = check_real(factor, "factor", low_open=True, high=1.0)
    rng = _generator(seed)
    n_outer, n_inner = _split_count(count, 2)
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = scale * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.vstack([outer, inner]) + rng.normal(0.0, spread, size=(count, 2))
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _shuffled(X, y, rng)


def make_spirals(n_samples: int = 100, *, n_classes: int = 2, noise: float = 0.0,
                 turns: float = 1.0, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms from the origin (as in CS231n's demo).

    Arm ``c`` has radius ``r`` in ``[0, 1]`` and angle ``2 pi (turns r + c / n_classes)``;
    ``noise`` jitters the angle (in radians, scaled by r so the centre stays tidy).

    Example:
        >>> X, y = make_spirals(9, n_classes=3, seed=0)
        >>> X.shape, np.bincount(y).tolist()
        ((9, 2), [3, 3, 3])
    """
    count = check_int(n_samples, "n_samples", minimum=2)
    classes = check_int(n_classes, "n_classes", minimum=2)
    spread = _check_noise(noise)
    arms = check_real(turns, "turns", low=None)
    rng = _generator(seed)
    points, labels = [], []
    for label, size in enumerate(_split_count(count, classes)):
        radius = np.linspace(0.05, 1.0, size)
        angle = 2 * math.pi * (arms * radius + label / classes)
        angle = angle + rng.normal(0.0, spread, size=size) * radius
        points.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        labels.append(np.full(size, label))
    return _shuffled(np.vstack(points), np.concatenate(labels), rng)


def make_blobs(n_samples: int = 100, *, centers: int | Sequence[Sequence[float]] = 3,
               n_features: int = 2, cluster_std: float = 1.0,
               center_box: tuple[float, float] = (-10.0, 10.0), seed: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters; label ``k`` for the points around centre ``k``.

    Args:
        centers: how many centres to draw uniformly in ``center_box``, or the centres.
        cluster_std: standard deviation of each cluster.

    Example:
        >>> X, y = make_blobs(6, centers=[[0, 0], [5, 5]], cluster_std=0.0, seed=0)
        >>> sorted(map(tuple, X.tolist()))
        [(0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (5.0, 5.0), (5.0, 5.0), (5.0, 5.0)]
    """
    count = check_int(n_samples, "n_samples")
    spread = check_real(cluster_std, "cluster_std")
    box = check_real_pair(center_box, "center_box", low=None)
    rng = _generator(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = check_int(centers, "centers")
        dims = check_int(n_features, "n_features")
        centre_array = rng.uniform(box[0], box[1], size=(k, dims))
    else:
        if isinstance(centers, (bool, np.bool_, str, bytes)):
            raise TypeError(f"centers must be a count or a [k, d] list; got {centers!r}")
        try:
            centre_array = check_real_array(centers, "centers")
        except ValueError as error:
            raise ValueError(f"centers must be a count or a [k, d] list of finite numbers; "
                             f"got {centers!r} ({error})") from error
        if centre_array.ndim != 2 or len(centre_array) == 0:
            raise ValueError(f"centers must be a count or a [k, d] list; got {centers!r}")
    sizes = _split_count(count, len(centre_array))
    y = np.repeat(np.arange(len(centre_array)), sizes)
    X = centre_array[y] + rng.normal(0.0, spread, size=(count, centre_array.shape[1]))
    return _shuffled(X, y, rng)


def _read_csv(name: str) -> list[list[str]]:
    text = resources.files("nn").joinpath("datasets", name).read_text(encoding="utf-8")
    return list(csv.reader(text.splitlines()))


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's Iris data (public domain): X [150, 4] in cm, y in 0..2.

    Columns are ``IRIS_FEATURES``; labels index ``IRIS_CLASSES`` (setosa,
    versicolor, virginica). Shipped with the package; no download.

    Example:
        >>> X, y = load_iris()
        >>> X.shape, np.bincount(y).tolist()
        ((150, 4), [50, 50, 50])
    """
    header, *rows = _read_csv("iris.csv")
    X = np.array([[float(v) for v in row[:4]] for row in rows])
    y = np.array([IRIS_CLASSES.index(row[4]) for row in rows])
    return X, y


def load_longley() -> tuple[np.ndarray, np.ndarray]:
    """The Longley regression data (public domain): X [16, 6], y = total employment.

    US macroeconomic figures for 1947-1962; columns are ``LONGLEY_FEATURES``. The
    predictors are strongly collinear and on very different scales, so standardise
    them (``standardize``) before gradient descent.

    Example:
        >>> X, y = load_longley()
        >>> X.shape, float(y[0])
        ((16, 6), 60323.0)
    """
    header, *rows = _read_csv("longley.csv")
    table = np.array([[float(v) for v in row] for row in rows])
    return table[:, :6], table[:, 6]


def _check_xy(X: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    features, labels = np.asarray(X), np.asarray(y)
    if features.ndim != 2:
        raise ValueError(f"{where}: X must be 2-D [n_samples, n_features]; got shape "
                         f"{features.shape}")
    if labels.ndim < 1 or len(labels) != len(features):
        raise ValueError(f"{where}: X has {len(features)} rows but y has shape {labels.shape}")
    return features, labels


def train_test_split(X: Any, y: Any, *, test_size: float = 0.25, seed: int | None = None,
                     shuffle: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """Split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    Args:
        test_size: a fraction in (0, 1) or a count of test samples.

    Example:
        >>> X, y = make_blobs(20, seed=0)
        >>> [a.shape[0] for a in train_test_split(X, y, test_size=0.25, seed=0)]
        [15, 5, 15, 5]
    """
    features, labels = _check_xy(X, y, "train_test_split")
    n = len(labels)
    if isinstance(test_size, (float, np.floating)):
        n_test = int(math.ceil(check_real(test_size, "test_size", low_open=True, high=1.0) * n))
    else:
        n_test = check_int(test_size, "test_size (a fraction in (0, 1) or a count)")
    if not 0 < n_test < n:
        raise ValueError(f"test_size {test_size!r} leaves {n_test} of {n} samples for testing; "
                         "both parts need at least one")
    order = _generator(seed).permutation(n) if check_bool(shuffle, "shuffle") else np.arange(n)
    test, train = order[:n_test], order[n_test:]
    return features[train], features[test], labels[train], labels[test]


def standardize(X: Any, *, mean: Any = None, std: Any = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each column to mean 0 and standard deviation 1.

    Pass the training set's ``mean`` and ``std`` to scale a test set the same way.
    A constant column keeps std 1 (it becomes all zeros rather than NaN).

    Returns:
        ``(X_scaled, mean, std)``.

    Example:
        >>> Z, mu, sd = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
        >>> Z.tolist(), mu.tolist(), sd.tolist()
        ([[-1.0, 0.0], [1.0, 0.0]], [2.0, 5.0], [1.0, 1.0])
    """
    features = np.asarray(X, dtype=float)
    if features.ndim != 2:
        raise ValueError(f"standardize: X must be 2-D; got shape {features.shape}")
    centre = features.mean(axis=0) if mean is None else np.asarray(mean, dtype=float)
    scale = features.std(axis=0) if std is None else np.asarray(std, dtype=float)
    scale = np.where(scale > 0, scale, 1.0)
    return (features - centre) / scale, centre, scale


def minibatches(X: Any, y: Any, batch_size: int, *, shuffle: bool = True,
                seed: int | None = None, rng: np.random.Generator | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` pairs covering every sample once.

    The last batch is smaller when ``batch_size`` does not divide the data. With
    ``shuffle`` the order is drawn from ``rng`` (or a generator seeded by ``seed``).

    Raises:
        ValueError: ``batch_size`` < 1 (checked before anything is yielded).

    Example:
        >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> [b.tolist() for _, b in minibatches(X, y, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
    """
    size = check_int(batch_size, "batch_size")
    features, labels = _check_xy(X, y, "minibatches")
    n = len(labels)
    if check_bool(shuffle, "shuffle"):
        generator = rng if rng is not None else _generator(seed)
        order = generator.permutation(n)
    else:
        order = np.arange(n)
    return ((features[order[i:i + size]], labels[order[i:i + size]]) for i in range(0, n, size))
