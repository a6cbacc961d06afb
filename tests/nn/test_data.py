"""Data generators, shipped data sets and the split/scale/batch helpers."""

import numpy as np
import pytest

import nn


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: nn.make_moons(50, noise=0.1, seed=seed),
        lambda seed: nn.make_circles(50, noise=0.1, seed=seed),
        lambda seed: nn.make_spirals(51, n_classes=3, noise=0.1, seed=seed),
        lambda seed: nn.make_blobs(50, centers=4, seed=seed),
        lambda seed: nn.make_xor(40, noise=0.1, seed=seed),
    ],
)
def test_generators_are_seeded_and_well_formed(make):
    X, y = make(0)
    X2, y2 = make(0)
    X3, _ = make(1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, X3)
    assert X.dtype == float and X.ndim == 2 and X.shape[1] == 2
    assert y.dtype.kind == "i" and len(y) == len(X)
    assert set(y.tolist()) == set(range(y.max() + 1))


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = nn.make_moons(40, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)


def test_blobs_cluster_around_their_centres():
    centres = np.array([[0.0, 5.0], [5.0, 0.0]])
    X, y = nn.make_blobs(400, centers=centres, cluster_std=0.5, seed=0)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centres[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.15)


def test_spirals_have_the_requested_classes_and_radius():
    X, y = nn.make_spirals(90, n_classes=3, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.max() == pytest.approx(1.0) and radius.min() == pytest.approx(0.05)


def test_iris_loads_offline():
    X, y = nn.load_iris()
    assert X.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]
    assert X[0].tolist() == [5.1, 3.5, 1.4, 0.2]
    # Setosa's petals are much shorter than the others' (the classic separable class).
    assert X[y == 0, 2].max() < X[y != 0, 2].min()
    assert nn.IRIS_CLASSES == ("setosa", "versicolor", "virginica")


def test_longley_loads_offline_and_is_linear():
    X, y = nn.load_longley()
    assert X.shape == (16, 6) and y.shape == (16,)
    assert X[:, 5].tolist() == list(range(1947, 1963))
    # Least squares on it leaves a small residual (the data set's point).
    design = np.column_stack([np.ones(16), X])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    assert np.sqrt(np.mean(residual**2)) < 0.01 * y.mean()


def test_train_test_split_partitions_the_data():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_train, X_test, y_train, y_test = nn.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(y_test) == 5 and len(y_train) == 15
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))
    assert np.array_equal(X_train[:, 0], 2 * y_train)
    with pytest.raises(ValueError, match="test_size"):
        nn.train_test_split(X, y, test_size=1.5)


def test_standardize_uses_training_statistics():
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    Z, mean, std = nn.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, 0].std(), 1.0)
    assert Z[:, 1].tolist() == [0.0, 0.0, 0.0]
    Z_test, _, _ = nn.standardize(np.array([[3.0, 10.0]]), mean=mean, std=std)
    assert Z_test.tolist() == [[0.0, 0.0]]


def test_minibatches_cover_every_sample_once():
    X = np.arange(14.0).reshape(7, 2)
    y = np.arange(7)
    batches = list(nn.minibatches(X, y, 3, seed=0))
    assert [len(b) for _, b in batches] == [3, 3, 1]
    seen = np.concatenate([b for _, b in batches])
    assert sorted(seen.tolist()) == list(range(7))
    assert seen.tolist() != list(range(7))  # shuffled
    for X_batch, y_batch in batches:
        assert np.array_equal(X_batch[:, 0], 2 * y_batch)
    again = [b.tolist() for _, b in nn.minibatches(X, y, 3, seed=0)]
    assert again == [b.tolist() for _, b in batches]


@pytest.mark.parametrize(("size", "error"), [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_bad_batch_size_fails_before_any_batch(size, error):
    with pytest.raises(error, match="batch_size"):
        nn.minibatches(np.zeros((4, 2)), np.zeros(4), size)
