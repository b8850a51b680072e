"""Tests of dlnotes.cv: splits, k-fold partitions and cross-validation."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import KFold, cross_val_score

from dlnotes import cv
from dlnotes.linreg import fit_lstsq, polynomial_features

SEEDS = st.integers(0, 2**63)


# --- kfold_indices ---------------------------------------------------------------------------

@given(n=st.integers(2, 300), data=st.data(), seed=SEEDS)
def test_kfold_is_a_reproducible_partition_with_balanced_folds(n, data, seed):
    k = data.draw(st.one_of(st.just(n), st.integers(2, n)), label="k")  # n = k included
    folds = cv.kfold_indices(n, k, seed=seed)
    assert len(folds) == k
    vals = [v for _, v in folds]
    assert np.array_equal(np.sort(np.concatenate(vals)), np.arange(n))  # disjoint, complete
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    again = cv.kfold_indices(n, k, seed=seed)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
               for a, b in zip(folds, again))


@given(n=st.integers(2, 300), data=st.data(), seed=st.one_of(st.none(), SEEDS))
def test_kfold_without_shuffle_gives_contiguous_blocks_like_array_split(n, data, seed):
    k = data.draw(st.integers(2, n), label="k")
    folds = cv.kfold_indices(n, k, seed=seed, shuffle=False)
    expected = np.array_split(np.arange(n), k)  # independent reference: the original order
    for (train, val), block in zip(folds, expected):
        assert np.array_equal(val, block)
        assert np.array_equal(train, np.setdiff1d(np.arange(n), block))


def test_kfold_is_deterministic_under_a_seed_and_fresh_without_one():
    a, b = cv.kfold_indices(50, 5, seed=3), cv.kfold_indices(50, 5, seed=3)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    c = cv.kfold_indices(50, 5, seed=4)
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))
    # seed=None is fresh randomness (two equal shuffles of 50 have chance 1/50!), never "no shuffle"
    f, g = cv.kfold_indices(50, 5, seed=None), cv.kfold_indices(50, 5, seed=None)
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(f, g))
    assert not np.array_equal(f[0][1], np.arange(10))
    assert np.array_equal(cv.kfold_indices(6, 3, shuffle=False)[0][1], [0, 1])


def test_kfold_accepts_numpy_scalars_0d_arrays_and_0d_tensors():
    ref = cv.kfold_indices(12, 4, seed=5)
    for n, k, seed in ((np.int64(12), np.int32(4), np.uint8(5)),
                       (np.array(12), torch.tensor(4), np.array(5))):
        got = cv.kfold_indices(n, k, seed=seed, shuffle=np.bool_(True))
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(ref, got))


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(n=10, k=11), ValueError, r"k must be <= n.*k = 11 > n = 10"),
    (dict(n=10, k=1), ValueError, r"k must be >= 2.*got k = 1"),
    (dict(n=10, k=2.0), TypeError, r"k must be an int, got float"),
    (dict(n=10, k=True), TypeError, r"k must be an int, got bool"),
    (dict(n=0, k=2), ValueError, r"n must be >= 1, got 0"),
    (dict(n=10.0, k=2), TypeError, r"n must be an int, got float"),
    (dict(n=10, k=2, seed=-1), ValueError, r"seed must be >= 0, got -1"),
    (dict(n=10, k=2, seed=1.0), TypeError, r"seed must be an int, got float"),
    (dict(n=10, k=2, seed=True), TypeError, r"seed must be an int, got bool"),
    (dict(n=10, k=2, seed="0"), TypeError, r"seed must be an int, got str"),
    (dict(n=10, k=2, seed=-1, shuffle=False), ValueError, r"seed must be >= 0"),
    (dict(n=10, k=2, shuffle=0), TypeError, r"shuffle must be True or False, got int 0"),
    (dict(n=10, k=2, shuffle="no"), TypeError, r"shuffle must be True or False, got str"),
])
def test_kfold_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        cv.kfold_indices(**kwargs)


# --- train_val_test_split ------------------------------------------------------------------

def _part(draw, n):
    """A val/test size as a count or a fraction, and the count it stands for."""
    if draw(st.booleans()):
        count = draw(st.integers(0, n))
        return count, count
    fraction = draw(st.floats(0.0, 0.99))
    return fraction, int(round(fraction * n))


@given(n=st.integers(1, 500), data=st.data(), seed=SEEDS)
def test_train_val_test_split_is_a_reproducible_partition(n, data, seed):
    val, n_val = _part(data.draw, n)
    test, n_test = _part(data.draw, n)
    assume(n_val + n_test < n)
    train, v, t = cv.train_val_test_split(n, val=val, test=test, seed=seed)
    assert (len(train), len(v), len(t)) == (n - n_val - n_test, n_val, n_test)
    assert np.array_equal(np.sort(np.concatenate([train, v, t])), np.arange(n))
    for part in (train, v, t):
        assert part.dtype.kind == "i" and np.all(np.diff(part) > 0)  # sorted, no repeats
    again = cv.train_val_test_split(n, val=val, test=test, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip((train, v, t), again))


def test_lecture_split_sizes():
    train, val, test = cv.train_val_test_split(1000, test=200, seed=0)
    assert (len(train), len(val), len(test)) == (800, 0, 200)
    assert [len(v) for _, v in cv.kfold_indices(len(train), 4)] == [200] * 4
    train, _, test = cv.train_val_test_split(60_000, test=10_000, seed=0)
    assert len(test) == 10_000
    assert [len(v) for _, v in cv.kfold_indices(len(train), 5)] == [10_000] * 5


def test_train_val_test_split_accepts_fractions_numpy_scalars_and_0d_arrays():
    train, val, test = cv.train_val_test_split(100, val=0.2, test=0.1, seed=1)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    same = cv.train_val_test_split(np.array(100), val=np.float32(0.2), test=np.array(10),
                                   seed=np.int64(1))
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), same))
    a, b = cv.train_val_test_split(100, test=10, seed=None), cv.train_val_test_split(100, test=10,
                                                                                      seed=None)
    assert not np.array_equal(a[2], b[2])  # fresh randomness


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(n=10, val=5, test=5), ValueError,
     r"leave at least one training example: n = 10, val = 5"),
    (dict(n=10, test=1.5), ValueError, r"test as a fraction must lie in \[0, 1\), got 1.5"),
    (dict(n=10, test=1.0), ValueError, r"test as a fraction must lie in \[0, 1\), got 1.0"),
    (dict(n=10, val=-0.1), ValueError, r"val as a fraction must lie in \[0, 1\), got -0.1"),
    (dict(n=10, val=11), ValueError, r"val as a count must lie between 0 and n = 10, got 11"),
    (dict(n=10, val=-1), ValueError, r"val as a count must lie between 0 and n = 10, got -1"),
    (dict(n=10, val=True), TypeError, r"val must be an int count or a float fraction.*bool"),
    (dict(n=10, test="2"), TypeError, r"test must be an int count or a float fraction.*str"),
    (dict(n=10, test=float("nan")), ValueError, r"test must be finite, got nan"),
    (dict(n=0), ValueError, r"n must be >= 1, got 0"),
    (dict(n=True), TypeError, r"n must be an int, got bool"),
    (dict(n=10, seed=-3), ValueError, r"seed must be >= 0, got -3"),
    (dict(n=10, seed=2.5), TypeError, r"seed must be an int, got float"),
    (dict(n=10, seed=False), TypeError, r"seed must be an int, got bool"),
])
def test_train_val_test_split_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        cv.train_val_test_split(**kwargs)


# --- mse -------------------------------------------------------------------------------------

@given(shape=st.one_of(st.tuples(st.integers(1, 30)), st.tuples(st.integers(1, 8),
                                                                 st.integers(1, 4))),
       exponent=st.integers(-150, 150), dtype=st.sampled_from(["float64", "float32", "int64"]),
       kind=st.sampled_from(["numpy", "list", "torch", "torch-grad"]), seed=SEEDS)
def test_mse_matches_sklearn_over_magnitudes_dtypes_and_kinds(shape, exponent, dtype, kind, seed):
    gen = np.random.default_rng(seed)
    if dtype == "int64":
        y, y_hat = (gen.integers(-10**6, 10**6, shape) for _ in range(2))
    else:
        exponent = exponent if dtype == "float64" else exponent // 5  # float32: up to 1e30
        y, y_hat = (gen.standard_normal(shape).astype(dtype) * np.asarray(10.0**exponent, dtype)
                    for _ in range(2))
    expected = mean_squared_error(np.asarray(y, np.float64), np.asarray(y_hat, np.float64))
    if kind == "list":
        y, y_hat = y.tolist(), y_hat.tolist()
    elif kind.startswith("torch"):
        y, y_hat = torch.from_numpy(y), torch.from_numpy(y_hat)
        if kind == "torch-grad" and dtype != "int64":
            y.requires_grad_(True)
    got = cv.mse(y, y_hat)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_mse_does_not_overflow_where_the_answer_is_representable():
    y = np.full(10, 1.2e154)
    with np.errstate(over="ignore"):
        assert np.mean(y**2) == np.inf  # the naive sum of squares overflows ...
    assert cv.mse(y, np.zeros(10)) == pytest.approx(1.44e308, rel=1e-14)  # ... the MSE does not
    assert cv.mse([1e-160, 3e-160], [2e-160, 1e-160]) == pytest.approx(2.5e-320, rel=1e-3)
    assert cv.mse([5.0], [5.0]) == 0.0


def test_mse_raises_when_the_mse_itself_overflows():
    with pytest.raises(ValueError, match=r"mse overflows float64.*about 1e401"):
        cv.mse([1e200], [-1e200])


@pytest.mark.parametrize("y, y_hat, err, match", [
    (np.ones(3), np.ones(2), ValueError, r"same shape, got \(3,\) and \(2,\)"),
    (np.ones(3), np.ones((3, 1)), ValueError, r"same shape, got \(3,\) and \(3, 1\)"),
    ([], [], ValueError, r"y must not be empty"),
    ([1.0, np.nan], [1.0, 2.0], ValueError, r"y must be finite, got 1 NaN/inf"),
    ([1.0, 2.0], [np.inf, 2.0], ValueError, r"y_hat must be finite, got 1 NaN/inf"),
    ("abc", [1.0], TypeError, r"y must be an array of numbers, got str"),
    ([1.0], None, TypeError, r"y_hat must be an array of numbers, got NoneType"),
    ([1 + 2j], [1.0], TypeError, r"y must hold real numbers, got dtype complex"),
])
def test_mse_bad_input(y, y_hat, err, match):
    with pytest.raises(err, match=match):
        cv.mse(y, y_hat)


# --- cross_validate --------------------------------------------------------------------------

def _sk_fit(X, y):
    return LinearRegression().fit(X, y)


def _sk_predict(model, X):
    return model.predict(X)


@given(n=st.integers(2, 25), d=st.integers(1, 30), data=st.data(),
       exponent=st.integers(-100, 100), seed=SEEDS)
def test_cross_validate_matches_sklearn_cross_val_score(n, d, data, exponent, seed):
    k = data.draw(st.integers(2, min(n, 8)), label="k")
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, d))
    y = (X @ gen.standard_normal(d) + gen.standard_normal(n)) * 10.0**exponent
    splitter = KFold(k, shuffle=True, random_state=seed % 2**32)
    reference = -cross_val_score(LinearRegression(), X, y, cv=splitter,
                                 scoring="neg_mean_squared_error")
    got = cv.cross_validate(_sk_fit, _sk_predict, X, y, folds=splitter.split(X))
    np.testing.assert_allclose(got, reference, rtol=1e-9)


@given(n=st.integers(2, 40), d=st.integers(1, 45), data=st.data(), seed=SEEDS)
def test_cross_validate_equals_a_hand_written_loop_on_its_own_folds(n, d, data, seed):
    k = data.draw(st.integers(2, n), label="k")
    gen = np.random.default_rng(seed)
    X, y = gen.standard_normal((n, d)), gen.standard_normal(n)

    def fit(Xt, yt):
        return np.linalg.lstsq(Xt, yt)[0]

    got = cv.cross_validate(fit, lambda theta, Xv: Xv @ theta, X, y, k=k, seed=seed)
    loop = [np.mean((y[v] - X[v] @ fit(X[t], y[t])) ** 2)
            for t, v in cv.kfold_indices(n, k, seed=seed)]
    np.testing.assert_allclose(got, loop, rtol=1e-12)


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
    blocks = cv.cross_validate(fit, predict, x, y, k=5, seed=7, shuffle=False)
    manual = [np.mean((y[v] - predict(fit(x[t], y[t]), x[v])) ** 2)
              for t, v in cv.kfold_indices(40, 5, shuffle=False)]
    np.testing.assert_allclose(blocks, manual, rtol=1e-14)


def test_cross_validate_keeps_tensors_as_tensors():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(12, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(12, generator=gen, dtype=torch.float64)
    seen = []

    def fit(Xt, yt):
        seen.append(type(Xt))
        return torch.linalg.lstsq(Xt.detach(), yt.unsqueeze(1)).solution

    got = cv.cross_validate(fit, lambda theta, Xv: (Xv @ theta).squeeze(1), X, y, k=3, seed=1)
    assert seen == [torch.Tensor] * 3
    Xn, yn = X.detach().numpy(), y.numpy()
    ref = cv.cross_validate(lambda Xt, yt: np.linalg.lstsq(Xt, yt)[0], lambda t, Xv: Xv @ t,
                            Xn, yn, k=3, seed=1)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


@pytest.mark.cuda
def test_cross_validate_on_cuda_tensors_matches_the_cpu():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(20, 3, generator=gen), torch.randn(20, generator=gen)

    def fit(Xt, yt):
        return torch.linalg.pinv(Xt) @ yt

    def run(d):
        return cv.cross_validate(fit, lambda theta, Xv: Xv @ theta, X.to(d), y.to(d), k=4)

    np.testing.assert_allclose(run("cuda"), run("cpu"), rtol=1e-4)


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


def test_folds_need_not_cover_every_row_but_are_used_as_given():
    X, y = np.arange(10.0), np.arange(10.0) ** 2
    folds = [([0, 1, 2], [3, 4]), (np.array([5, 6]), torch.tensor([9]))]
    got = cv.cross_validate(lambda Xt, yt: yt.mean(), lambda m, Xv: np.full(len(Xv), m),
                            X, y, folds=folds)
    np.testing.assert_allclose(got, [np.mean((y[[3, 4]] - 5 / 3) ** 2), (81 - 30.5) ** 2])


_FIT, _PREDICT = (lambda Xt, yt: 0.0), (lambda m, Xv: np.zeros(len(Xv)))


@given(n=st.integers(3, 60), data=st.data())
def test_overlapping_folds_are_rejected_naming_fold_and_count(n, data):
    """Leakage: any row in both parts of any fold is refused, with the fold and the count."""
    k = data.draw(st.integers(2, n), label="k")
    folds = cv.kfold_indices(n, k, seed=0)
    j = data.draw(st.integers(0, k - 1), label="fold")
    train, val = folds[j]
    shared = data.draw(st.integers(1, len(val)), label="overlap")
    folds[j] = (np.concatenate([train, val[:shared]]), val)
    with pytest.raises(ValueError, match=rf"folds\[{j}\]: train and val must be disjoint, got "
                                         rf"{shared} row\(s\) in both"):
        cv.cross_validate(_FIT, _PREDICT, np.zeros(n), np.zeros(n), folds=folds)


@pytest.mark.parametrize("folds, err, match", [
    ([([0, 1], [1, 2])], ValueError, r"folds\[0\]: train and val must be disjoint, got 1 row"),
    ([([0, 1], [2]), ([0, 1], [10])], ValueError,
     r"folds\[1\] val must hold indices in \[0, 10\), got values from 10 to 10"),
    ([([-1, 1], [2])], ValueError, r"folds\[0\] train must hold indices in \[0, 10\)"),
    ([([0, 0, 1], [2])], ValueError, r"folds\[0\] train must not repeat an index, got 1 "),
    ([([0, 1], [])], ValueError, r"folds\[0\] val must not be empty"),
    ([([], [1])], ValueError, r"folds\[0\] train must not be empty"),
    ([([0.0, 1.0], [2])], TypeError, r"folds\[0\] train must be an array of integer indices"),
    ([(np.ones(10, bool), [2])], TypeError, r"folds\[0\] train must be an array of integer"),
    ([([[0, 1]], [2])], ValueError, r"folds\[0\] train must be 1-D, got shape \(1, 2\)"),
    ([([0, 1], [2], [3])], TypeError, r"folds\[0\] must be a \(train, val\) pair.*length 3"),
    ([np.array([[0, 1], [2, 3]])], TypeError, r"folds\[0\] must be a \(train, val\) pair"),
    ([], ValueError, r"folds must hold at least one \(train, val\) pair"),
    (5, TypeError, r"folds must be a sequence of \(train, val\) index pairs, got int"),
    (np.zeros((2, 2, 2), int), TypeError, r"folds must be a sequence.*got ndarray"),
])
def test_bad_folds_are_rejected(folds, err, match):
    with pytest.raises(err, match=match):
        cv.cross_validate(_FIT, _PREDICT, np.zeros(10), np.zeros(10), folds=folds)


@pytest.mark.parametrize("value, err", [(float("nan"), ValueError), (np.inf, ValueError),
                                        ("0.5", TypeError), (np.array([0.5, 1.0]), TypeError),
                                        (None, TypeError)])
def test_an_error_function_that_returns_no_finite_number_is_named_with_its_fold(value, err):
    calls = []

    def error(y, y_hat):
        calls.append(1)
        return 1.0 if len(calls) < 2 else value

    with pytest.raises(err, match=r"error\(y\[val\], predict\(model, X\[val\]\)\) must return a "
                                  r"finite number, got .* on fold 1"):
        cv.cross_validate(_FIT, _PREDICT, np.zeros(10), np.zeros(10), k=3, error=error)


def test_errors_raised_inside_the_loop_say_which_fold():
    with pytest.raises(ValueError, match=r"same shape") as info:
        cv.cross_validate(_FIT, lambda m, Xv: np.zeros(1), np.zeros(10), np.zeros(10), k=2)
    assert "(in cross_validate, fold 0)" in info.value.__notes__


@pytest.mark.parametrize("args, kwargs, err, match", [
    ((_FIT, _PREDICT, np.ones(4), np.ones(3)), dict(k=2), ValueError,
     r"same number of rows.*X has 4.*y has 3"),
    ((_FIT, _PREDICT, np.ones(4), np.array([1, np.nan, 2, 3])), {}, ValueError,
     r"y must be finite, got 1 NaN"),
    ((_FIT, _PREDICT, torch.tensor([1.0, np.inf]), torch.ones(2)), {}, ValueError,
     r"X must be finite, got 1 NaN"),
    ((_FIT, _PREDICT, np.ones(1), np.ones(1)), {}, ValueError, r"N >= 2 examples, got N = 1"),
    ((_FIT, _PREDICT, np.float64(3.0), np.ones(3)), {}, ValueError,
     r"X needs a leading example axis"),
    ((_FIT, _PREDICT, [[1.0, 2.0], [3.0]], np.ones(2)), {}, TypeError,
     r"X must be an array with one example a row"),
    ((3, _PREDICT, np.ones(4), np.ones(4)), {}, TypeError, r"fit must be callable, got int"),
    ((_FIT, "f", np.ones(4), np.ones(4)), {}, TypeError, r"predict must be callable, got str"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(error=None), TypeError,
     r"error must be callable, got NoneType"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=5), ValueError, r"k = 5 > n = 4"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=1), ValueError, r"k must be >= 2"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=2.0), TypeError, r"k must be an int"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=2, seed=-1), ValueError,
     r"seed must be >= 0"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=2, shuffle=None), TypeError,
     r"shuffle must be True or False"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(k=1.5, folds=[([0], [1])]), TypeError,
     r"k must be an int"),
    ((_FIT, _PREDICT, np.ones(4), np.ones(4)), dict(seed=True, folds=[([0], [1])]), TypeError,
     r"seed must be an int, got bool"),
])
def test_cross_validate_bad_input(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        cv.cross_validate(*args, **kwargs)
