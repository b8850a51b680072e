"""Tests of the classification sets of dlnotes.data (blobs, spirals, xor) and of
data.split: shapes, dtypes, balanced classes, seeds, the structure of each set
(checked by formulas and by scikit-learn classifiers), the split convention of
data.digits, and bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from dlnotes import data
from dlnotes.cv import train_val_test_split

GENERATORS = {
    "blobs": lambda n, k, seed: data.blobs(n, centers=k, seed=seed),
    "spirals": lambda n, k, seed: data.spirals(n, n_classes=k, seed=seed),
    "xor": lambda n, k, seed: data.xor(n, seed=seed),
}


def _classes(name, k):
    return 2 if name == "xor" else k


@given(name=st.sampled_from(list(GENERATORS)), n=st.integers(1, 300), k=st.integers(2, 7),
       seed=st.integers(0, 2**32 - 1))
def test_shapes_dtypes_and_balanced_classes(name, n, k, seed):
    k = _classes(name, k)
    if n < k:
        with pytest.raises(ValueError, match=rf"n must be >= the number of classes, {k}"):
            GENERATORS[name](n, k, seed)
        return
    X, y = GENERATORS[name](n, k, seed)
    assert X.shape == (n, 2) and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.min() >= 1 and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", list(GENERATORS))
def test_seeds_reproduce_and_none_is_fresh(name):
    make = GENERATORS[name]
    X, y = make(60, 3, 7)
    X2, y2 = make(60, 3, np.int64(7))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(60, 3, 8)[0])
    assert not np.array_equal(make(60, 3, None)[0], make(60, 3, None)[0])
    assert not np.all(np.diff(y) >= 0)  # rows come in random order, not sorted by class
    X3, _ = make(60, 3, torch.tensor(7))  # a 0-d tensor is a seed too
    np.testing.assert_array_equal(X, X3)


# --- the structure of each set ------------------------------------------------------------


def test_xor_without_noise_is_the_sign_rule_with_balanced_quadrants():
    X, y = data.xor(403, noise=0.0, seed=1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.all(np.abs(X) <= 1) and np.all(X != 0)
    quadrant = 2 * (X[:, 0] > 0) + (X[:, 1] > 0)
    counts = np.bincount(quadrant, minlength=4)
    assert counts.max() - counts.min() <= 1, counts
    # the magnitudes are uniform on (0, 1]: mean 1/2, variance 1/12
    assert abs(np.abs(X).mean() - 0.5) < 0.03 and abs(np.abs(X).var() - 1 / 12) < 0.01


def test_xor_noise_carries_points_across_the_axes_and_no_line_separates_it():
    X, y = data.xor(2000, noise=0.1, seed=2)
    agree = np.mean(y == (X[:, 0] * X[:, 1] < 0))
    assert 0.9 < agree < 1.0
    assert abs(np.std(X - np.sign(X) * np.abs(data.xor(2000, 0.0, seed=2)[0])) - 0.1) < 0.01
    linear = LogisticRegression().fit(X, y).score(X, y)
    with_product = np.c_[X, X[:, 0] * X[:, 1]]
    product = LogisticRegression().fit(with_product, y).score(with_product, y)
    assert linear < 0.65 and product > 0.9


def test_blobs_without_noise_sit_on_the_documented_circle():
    X, y = data.blobs(30, centers=5, std=0.0, seed=0)
    angles = 2 * np.pi * np.arange(5) / 5
    centres = 2 * np.c_[np.cos(angles), np.sin(angles)]
    np.testing.assert_allclose(X, centres[y], rtol=0, atol=1e-15)
    given_centres = np.array([[0.0, 0.0], [5.0, -1.0]])
    X, y = data.blobs(8, centers=given_centres, std=0.0, seed=0)
    np.testing.assert_array_equal(X, given_centres[y])


@pytest.mark.parametrize("centers", [3, 6, [[-3.0, 0.0], [3.0, 0.0]], np.eye(2) * 10])
def test_blobs_are_recovered_by_the_nearest_centre(centers):
    std = 0.2  # neighbouring centres are at least 2 apart: 5 standard deviations each side
    X, y = data.blobs(1200, centers=centers, std=std, seed=3)
    if isinstance(centers, int):
        angles = 2 * np.pi * np.arange(centers) / centers
        C = 2 * np.c_[np.cos(angles), np.sin(angles)]
    else:
        C = np.asarray(centers, dtype=float)
    nearest = np.argmin(((X[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, y)
    for c in range(len(C)):
        rows = X[y == c]
        assert np.all(np.abs(rows.mean(0) - C[c]) < 5 * std / np.sqrt(len(rows)))
        assert np.all(np.abs(rows.std(0) - std) < 0.15 * std)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_spirals_without_noise_lie_on_their_arms(k):
    X, y = data.spirals(600, n_classes=k, noise=0.0, seed=4)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() <= 1 and r.min() >= 0
    arm = np.arctan2(X[:, 1], X[:, 0]) - 2 * np.pi * (y / k + r)
    off = np.abs((arm + np.pi) % (2 * np.pi) - np.pi)  # distance to a multiple of 2 pi
    assert off.max() < 1e-9


def test_spirals_are_not_linear_but_nearest_neighbours_learn_them():
    X, y = data.spirals(1500, n_classes=3, noise=0.02, seed=5)
    Xt, yt = data.spirals(600, n_classes=3, noise=0.02, seed=6)
    assert LogisticRegression().fit(X, y).score(Xt, yt) < 0.6
    assert KNeighborsClassifier(5).fit(X, y).score(Xt, yt) > 0.9


def test_large_but_finite_settings_work_and_overflow_is_refused():
    X, _ = data.blobs(10, centers=[[1e300, -1e300], [0.0, 0.0]], std=1e290, seed=0)
    assert np.all(np.isfinite(X))
    with pytest.raises(ValueError, match=r"std = 1e\+308 or the centers are too large: X "
                                         r"overflows float64"):
        data.blobs(50, centers=[[1e308, 0.0], [0.0, 0.0]], std=1e308, seed=0)
    with pytest.raises(ValueError, match=r"noise = 1e\+308 is too large: X overflows"):
        data.xor(100, noise=1e308, seed=0)
    with pytest.raises(ValueError, match=r"noise = 1e\+308 is too large"):
        data.spirals(100, noise=1e308, seed=0)


# --- split ----------------------------------------------------------------------------------


def test_split_partitions_rows_like_train_val_test_split():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    parts = data.split(X, y, val=0.2, test=3, seed=9)
    assert list(parts) == ["train", "val", "test"]
    for (Xp, yp), idx in zip(parts.values(), train_val_test_split(20, val=0.2, test=3, seed=9)):
        np.testing.assert_array_equal(yp, idx)  # y holds the row numbers
        np.testing.assert_array_equal(Xp, X[idx])
        assert yp.dtype == np.int64
    assert [len(p[1]) for p in parts.values()] == [13, 4, 3]
    rows = np.concatenate([p[1] for p in parts.values()])
    np.testing.assert_array_equal(np.sort(rows), y)


def test_split_follows_the_convention_of_digits():
    bunch = load_digits()
    parts = data.split(bunch.data / 16.0, bunch.target.astype(np.int64), seed=0)
    for name, (X, y) in data.digits(seed=0).items():
        np.testing.assert_array_equal(parts[name][0], X)
        np.testing.assert_array_equal(parts[name][1], y)


def test_split_of_a_generated_set_is_reproducible_and_keeps_kinds():
    X, y = data.spirals(50, 3, seed=0)
    a, b = data.split(X, y, seed=1), data.split(X, y, seed=1)
    for name in a:
        np.testing.assert_array_equal(a[name][0], b[name][0])
    assert not np.array_equal(a["test"][1], data.split(X, y, seed=2)["test"][1])
    lists = data.split(X.tolist(), y.tolist(), val=0, test=0.5, seed=0)
    assert lists["val"][0].shape == (0, 2) and lists["train"][1].dtype == np.int64
    Xt, yt = torch.tensor(X, requires_grad=True), torch.tensor(y)
    t = data.split(Xt, yt, seed=1)
    assert isinstance(t["train"][0], torch.Tensor) and t["train"][0].requires_grad
    np.testing.assert_array_equal(t["test"][1].numpy(), a["test"][1])
    one = data.split(np.ones((1, 3)), np.zeros(1), val=0, test=0)
    assert one["train"][0].shape == (1, 3) and one["test"][0].shape == (0, 3)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("call, err, match", [
    (lambda: data.blobs(0), ValueError, r"n must be >= 1, got 0"),
    (lambda: data.blobs(2, centers=3), ValueError,
     r"n must be >= the number of classes, 3, so that every class has an example, got n = 2"),
    (lambda: data.blobs(10.0), TypeError, r"n must be an int, got float"),
    (lambda: data.blobs(10, centers=0), ValueError, r"centers must be >= 1, got 0"),
    (lambda: data.blobs(10, centers=2.0), TypeError,
     (r"centers must be an int \(how many centres\) or an array of centres of shape \(k, 2\), "
      r"got float 2.0")),
    (lambda: data.blobs(10, centers=True), TypeError, r"centers must be an int"),
    (lambda: data.blobs(10, centers="3"), TypeError, r"centers must be an int .* got str"),
    (lambda: data.blobs(10, centers=None), TypeError, r"centers must be an int .* NoneType"),
    (lambda: data.blobs(10, centers=[1.0, 2.0]), ValueError, r"centers must be 2-D"),
    (lambda: data.blobs(10, centers=np.ones((2, 3))), ValueError,
     r"centers as an array must have shape \(k, 2\), one centre a row, got shape \(2, 3\)"),
    (lambda: data.blobs(10, centers=np.empty((0, 2))), ValueError, r"centers must not be empty"),
    (lambda: data.blobs(10, centers=[[0.0, np.nan]]), ValueError, r"centers must be finite"),
    (lambda: data.blobs(10, centers=[["a", "b"]]), TypeError, r"centers must hold real numbers"),
    (lambda: data.blobs(10, std=-1.0), ValueError, r"std must be >= 0, got -1"),
    (lambda: data.blobs(10, std=np.inf), ValueError, r"std must be finite"),
    (lambda: data.blobs(10, seed=-1), ValueError, r"seed must be >= 0, got -1"),
    (lambda: data.blobs(10, seed=1.5), TypeError, r"seed must be an int, got float"),
    (lambda: data.spirals(10, n_classes=1), ValueError, r"n_classes must be >= 2, got 1"),
    (lambda: data.spirals(10, n_classes=2.0), TypeError, r"n_classes must be an int"),
    (lambda: data.spirals(2, n_classes=3), ValueError, r"n must be >= the number of classes, 3"),
    (lambda: data.spirals(10, noise=-0.1), ValueError, r"noise must be >= 0"),
    (lambda: data.spirals(10, noise="0.1"), TypeError, r"noise must be a real number"),
    (lambda: data.spirals(10, seed=True), TypeError, r"seed must be an int, got bool"),
    (lambda: data.xor(1), ValueError, r"n must be >= the number of classes, 2"),
    (lambda: data.xor(10, noise=np.nan), ValueError, r"noise must be finite"),
    (lambda: data.xor(10, noise=1j), TypeError, r"noise must be a real number"),
    (lambda: data.xor("10"), TypeError, r"n must be an int, got str"),
    (lambda: data.split("X", np.ones(3)), TypeError,
     r"X must be an array with one example a row, got str"),
    (lambda: data.split(None, np.ones(3)), TypeError, r"X must be an array .* got NoneType"),
    (lambda: data.split(np.ones(3), object()), TypeError,
     r"y must hold real numbers, got dtype object"),
    (lambda: data.split([[1.0], [2.0, 3.0]], np.ones(2)), TypeError,
     r"X must be an array with one example a row, got list"),
    (lambda: data.split(np.ones(3) * 1j, np.ones(3)), TypeError, r"X must hold real numbers"),
    (lambda: data.split(torch.ones(3, dtype=torch.complex64), np.ones(3)), TypeError,
     r"X must hold real numbers"),
    (lambda: data.split(np.array(1.0), np.ones(1)), ValueError,
     r"X needs a leading example axis"),
    (lambda: data.split(np.ones((4, 2)), np.ones(3)), ValueError,
     (r"X and y must have the same number of rows \(examples\), got X of shape \(4, 2\) and "
      r"y of shape \(3,\)")),
    (lambda: data.split(np.ones((0, 2)), np.ones(0)), ValueError,
     r"X and y must have at least one row"),
    (lambda: data.split(np.array([[1.0, np.nan]]), np.ones(1)), ValueError,
     r"X must be finite, got 1 NaN/inf entries"),
    (lambda: data.split(np.ones(3), torch.tensor([1.0, np.inf, 0.0])), ValueError,
     r"y must be finite"),
    (lambda: data.split(np.ones(5), np.ones(5), val=1.0), ValueError,
     r"val as a fraction must lie in \[0, 1\)"),
    (lambda: data.split(np.ones(5), np.ones(5), test=True), TypeError,
     r"test must be an int count or a float fraction"),
    (lambda: data.split(np.ones(5), np.ones(5), val=3, test=2), ValueError,
     r"val \+ test must leave at least one training example"),
    (lambda: data.split(np.ones(5), np.ones(5), seed="0"), TypeError,
     r"seed must be an int, got str"),
])
def test_bad_input_is_refused_by_name(call, err, match):
    with pytest.raises(err, match=match):
        call()
