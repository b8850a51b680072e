"""Tests of dlnotes.cv: splits, k-fold partitions and cross-validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes import cv
from dlnotes.linreg import fit_lstsq, polynomial_features


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), data=st.data(), seed=st.integers(0, 2**31))
def test_kfold_is_a_partition_with_balanced_folds(n, data, seed):
    k = data.draw(st.integers(2, n))
    folds = cv.kfold_indices(n, k, seed=seed)
    assert len(folds) == k
    vals = [v for _, v in folds]
    assert np.array_equal(np.sort(np.concatenate(vals)), np.arange(n))  # disjoint, complete
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert len(np.intersect1d(train, val)) == 0
        assert len(train) + len(val) == n


def test_kfold_is_deterministic_under_a_seed_and_changes_with_it():
    a, b = cv.kfold_indices(50, 5, seed=3), cv.kfold_indices(50, 5, seed=3)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    c = cv.kfold_indices(50, 5, seed=4)
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))
    assert np.array_equal(cv.kfold_indices(6, 3, seed=None)[0][1], [0, 1])


def test_lecture_split_sizes():
    train, val, test = cv.train_val_test_split(1000, test=200, seed=0)
    assert (len(train), len(val), len(test)) == (800, 0, 200)
    assert [len(v) for _, v in cv.kfold_indices(len(train), 4)] == [200] * 4
    train, _, test = cv.train_val_test_split(60_000, test=10_000, seed=0)
    assert len(test) == 10_000
    assert [len(v) for _, v in cv.kfold_indices(len(train), 5)] == [10_000] * 5


def test_train_val_test_split_partitions_and_accepts_fractions():
    train, val, test = cv.train_val_test_split(100, val=0.2, test=0.1, seed=1)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(100))


def test_cross_validate_counts_fits_and_matches_a_manual_loop():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    y = x + 0.3 * rng.standard_normal(40)
    calls = []

    def fit(xt, yt):
        calls.append(len(xt))
        return fit_lstsq(polynomial_features(xt, 2), yt)

    def predict(theta, xv):
        return polynomial_features(xv, 2) @ theta

    errs = cv.cross_validate(fit, predict, x, y, k=5, seed=7)
    assert errs.shape == (5,) and calls == [32] * 5
    manual = [np.mean((y[v] - predict(fit(x[t], y[t]), x[v])) ** 2)
              for t, v in cv.kfold_indices(40, 5, seed=7)]
    np.testing.assert_allclose(errs, manual, rtol=1e-14)


def test_selection_inside_the_fit_callable_sees_only_training_rows():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 200)), rng.standard_normal(50)
    seen = []

    def fit(Xt, yt):
        seen.append(len(yt))
        score = np.abs((Xt - Xt.mean(0)).T @ (yt - yt.mean()))
        cols = np.argsort(score)[-5:]
        return cols, fit_lstsq(Xt[:, cols], yt)

    errs = cv.cross_validate(fit, lambda m, Xv: Xv[:, m[0]] @ m[1], X, y, k=5, seed=0)
    assert seen == [40] * 5 and np.all(errs > 0)


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"k must be <= n.*k = 11 > n = 10"):
        cv.kfold_indices(10, 11)
    with pytest.raises(ValueError, match=r"k must be >= 2.*got k = 1"):
        cv.kfold_indices(10, 1)
    with pytest.raises(TypeError, match=r"k must be an int, got float"):
        cv.kfold_indices(10, 2.0)
    with pytest.raises(ValueError, match=r"leave at least one training example: n = 10, val = 5"):
        cv.train_val_test_split(10, val=5, test=5)
    with pytest.raises(ValueError, match=r"test as a fraction must lie in \[0, 1\), got 1.5"):
        cv.train_val_test_split(10, test=1.5)
    with pytest.raises(ValueError, match=r"same number of rows.*X has 4.*y has 3"):
        cv.cross_validate(lambda a, b: 0, lambda m, a: a, np.ones(4), np.ones(3), k=2)
    with pytest.raises(ValueError, match=r"y must be finite, got 1 NaN"):
        cv.cross_validate(lambda a, b: 0, lambda m, a: a, np.ones(4), np.array([1, np.nan, 2, 3]))
    with pytest.raises(TypeError, match=r"fit and predict must be callables, got int"):
        cv.cross_validate(3, lambda m, a: a, np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(2,\)"):
        cv.mse(np.ones(3), np.ones(2))
