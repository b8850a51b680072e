"""Train/validation/test splits, k-fold indices and cross-validation.

Splits are index arrays into the rows of the data, so one split serves X and
y alike. ``seed`` means the same everywhere in dlnotes: an int >= 0 gives the
same split on every call, ``None`` fresh randomness from the operating system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from dlnotes._checks import (all_finite, callable_, float_array, index_array, integer, is_torch,
                             real, rng)


def _size(part, n: int, name: str) -> int:
    """A part given as a count (int in [0, n]) or a fraction of n (float in [0, 1)),
    rounded to the nearest count. Bools are neither."""
    try:
        count = integer(part, name)
    except TypeError:
        pass
    else:
        if not 0 <= count <= n:
            raise ValueError(f"{name} as a count must lie between 0 and n = {n}, got {count}")
        return count
    try:
        fraction = real(part, name)
    except TypeError:
        raise TypeError(f"{name} must be an int count or a float fraction in [0, 1), got "
                        f"{type(part).__name__} {part!r}") from None
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"{name} as a fraction must lie in [0, 1), got {fraction}")
    return int(round(fraction * n))


def _shuffle_flag(shuffle) -> bool:
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {type(shuffle).__name__} "
                        f"{shuffle!r}")
    return bool(shuffle)


def train_val_test_split(n: int, val=0, test=0, seed: int | None = 0):
    """Shuffle ``range(n)`` once and cut it into train, validation and test.

    ``val`` and ``test`` are counts (int) or fractions of ``n`` (float in
    [0, 1), rounded to the nearest count); the rest is training data, which
    must not be empty. ``seed``: int >= 0 (reproducible) or None (fresh).
    Returns three sorted int index arrays ``(train, val, test)`` that
    partition ``range(n)``.
    """
    n = integer(n, "n", 1)
    n_val, n_test = _size(val, n, "val"), _size(test, n, "test")
    generator = rng(seed)
    if n_val + n_test >= n:
        raise ValueError(f"val + test must leave at least one training example: "
                         f"n = {n}, val = {n_val}, test = {n_test}")
    perm = generator.permutation(n)
    test_idx, val_idx = perm[:n_test], perm[n_test:n_test + n_val]
    train_idx = perm[n_test + n_val:]
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def kfold_indices(n: int, k: int, seed: int | None = 0, *, shuffle: bool = True
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold cross-validation splits of ``range(n)``.

    The indices are shuffled ONCE (``seed``: int >= 0 reproducible, None
    fresh) and cut into ``k`` folds whose sizes differ by at most 1;
    ``shuffle=False`` keeps the original order, so each fold is a contiguous
    block (``seed`` is then checked but unused). Returns a list of ``k`` pairs
    ``(train_idx, val_idx)``: fold ``j`` is the validation set of pair ``j``,
    the other ``k - 1`` folds its training set. Needs ``2 <= k <= n``.
    """
    n = integer(n, "n", 1)
    k = integer(k, "k")
    if k < 2:
        raise ValueError(f"k must be >= 2 (one fold trains, one validates), got k = {k}")
    if k > n:
        raise ValueError(f"k must be <= n so that no fold is empty, got k = {k} > n = {n}")
    generator = rng(seed)
    order = generator.permutation(n) if _shuffle_flag(shuffle) else np.arange(n)
    folds = np.array_split(order, k)
    return [(np.sort(np.concatenate(folds[:j] + folds[j + 1:])), np.sort(folds[j]))
            for j in range(k)]


def mse(y, y_hat) -> float:
    """Mean squared error ``mean((y - y_hat)^2)`` of equal-shaped, non-empty arrays.

    Lists, NumPy arrays and tensors (also ones that require grad) of real
    numbers; computed in float64 with a power-of-two rescaling, so no
    intermediate overflows. Raises ValueError when the MSE itself exceeds the
    largest float64 (about 1.8e308); an MSE below the smallest one (about
    5e-324) rounds to 0.
    """
    y, y_hat = float_array(y, "y"), float_array(y_hat, "y_hat")
    if y.shape != y_hat.shape:
        raise ValueError(f"y and y_hat must have the same shape, got {y.shape} and {y_hat.shape}")
    big = max(np.max(np.abs(y)), np.max(np.abs(y_hat)))
    _, e = np.frexp(big)  # big < 2**e: dividing by 2**e is exact and leaves |r| <= 2
    r = np.ldexp(y, -e) - np.ldexp(y_hat, -e)
    with np.errstate(over="ignore"):
        out = float(np.ldexp(np.mean(r * r), 2 * int(e)))
    if not np.isfinite(out):
        exponent = np.log10(np.mean(r * r)) + 2 * int(e) * np.log10(2.0)
        raise ValueError(f"mse overflows float64: the mean squared error of y and y_hat is about "
                         f"1e{exponent:.0f}; rescale y and y_hat (e.g. change units) first")
    return out


def _examples(a, name: str):
    """``a`` with a leading example axis, finite if floating; tensors stay tensors."""
    if not is_torch(a):
        try:
            a = np.asarray(a)
        except (TypeError, ValueError) as err:  # ragged lists
            raise TypeError(f"{name} must be an array with one example a row, got "
                            f"{type(a).__name__} ({err})") from None
    if a.ndim == 0:
        raise ValueError(f"{name} needs a leading example axis (one example a row), got a "
                         f"0-d array")
    floating = a.is_floating_point() if is_torch(a) else a.dtype.kind in "fc"
    if floating and not all_finite(a):
        if is_torch(a):
            import torch

            bad = int((~torch.isfinite(a.detach())).sum())
        else:
            bad = int(np.count_nonzero(~np.isfinite(a)))
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf entries")
    return a


def _rows(a, idx: np.ndarray):
    """Rows ``idx`` of a NumPy array or a tensor (indexed on its own device)."""
    if is_torch(a):
        import torch

        return a[torch.as_tensor(idx, device=a.device)]
    return a[idx]


def _check_folds(folds, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` as a list of (train, val) int64 index pairs into ``range(n)``, each part
    non-empty and free of repeats, train and val disjoint. Folds may overlap each other and
    need not cover every row."""
    if isinstance(folds, (str, bytes, dict, np.ndarray)) or not isinstance(folds, Iterable):
        raise TypeError(f"folds must be a sequence of (train, val) index pairs, got "
                        f"{type(folds).__name__}")
    folds = list(folds)  # also takes a generator such as sklearn's KFold().split(X)
    if not folds:
        raise ValueError("folds must hold at least one (train, val) pair, got none")
    checked = []
    for j, pair in enumerate(folds):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            got = f"{type(pair).__name__} of length {len(pair)}" if isinstance(
                pair, (tuple, list)) else type(pair).__name__
            raise TypeError(f"folds[{j}] must be a (train, val) pair of index arrays, got {got}")
        parts = []
        for part, label in zip(pair, ("train", "val")):
            name = f"folds[{j}] {label}"
            idx = index_array(part, name, n)
            if idx.size == 0:
                raise ValueError(f"{name} must not be empty, got 0 indices")
            repeats = idx.size - np.unique(idx).size
            if repeats:
                raise ValueError(f"{name} must not repeat an index, got {repeats} repeated "
                                 f"(of {idx.size})")
            parts.append(idx)
        shared = np.intersect1d(*parts)
        if shared.size:
            raise ValueError(f"folds[{j}]: train and val must be disjoint, got {shared.size} "
                             f"row(s) in both (e.g. {shared[:5].tolist()}): the validation error "
                             f"would be measured on training rows (leakage)")
        checked.append(tuple(parts))
    return checked


def _fold_error(value, j: int) -> float:
    """The value ``error`` returned on fold ``j`` as a float, or an error naming the fold."""
    what = "error(y[val], predict(model, X[val])) must return a finite number"
    try:
        return real(value, "error")
    except TypeError:
        raise TypeError(f"{what}, got {type(value).__name__} {value!r} on fold {j}") from None
    except ValueError:
        raise ValueError(f"{what}, got {value!r} on fold {j}") from None


def _check_xy(X, y):
    """``X`` and ``y`` with one example a row, as many rows in each, at least two."""
    X, y = _examples(X, "X"), _examples(y, "y")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows (examples): X has "
                         f"{X.shape[0]} (shape {tuple(X.shape)}), y has {y.shape[0]} "
                         f"(shape {tuple(y.shape)})")
    if X.shape[0] < 2:
        raise ValueError(f"cross-validation needs N >= 2 examples, got N = {X.shape[0]}")
    return X, y


def _folds(folds, n: int, k, seed, shuffle) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds given, checked, or else ``kfold_indices(n, k, seed, shuffle=shuffle)``."""
    if folds is None:
        return kfold_indices(n, k, seed, shuffle=shuffle)
    integer(k, "k", 2)  # not used with folds given, but still checked
    rng(seed)
    _shuffle_flag(shuffle)
    return _check_folds(folds, n)


def cross_validate(fit: Callable, predict: Callable, X, y, k: int = 5, seed: int | None = 0, *,
                   folds=None, error: Callable = mse, shuffle: bool = True) -> np.ndarray:
    """Validation error of a learning procedure on each of k folds.

    For each fold: ``model = fit(X[train], y[train])``, then
    ``error(y[val], predict(model, X[val]))``, which must be a finite number.
    ``fit`` may be any procedure, including preprocessing or feature selection
    (it must see only its arguments, which is what keeps such steps inside the
    loop). ``X``: (N, ...) with examples as rows; ``y``: (N,) or (N, K); N >= 2;
    NumPy arrays or tensors (which stay tensors).

    The folds are ``kfold_indices(N, k, seed, shuffle=shuffle)`` unless
    ``folds`` gives (train, val) pairs of int index arrays, e.g. to compare
    candidates on the same folds (then ``k`` is not used). Within a pair the
    parts must be non-empty, without repeats and disjoint (a row in both would
    leak); the pairs need not cover every row (rows held out for testing).
    Returns the errors, one a fold, shape (number of folds,).
    """
    for f, name in ((fit, "fit"), (predict, "predict"), (error, "error")):
        callable_(f, name)
    X, y = _check_xy(X, y)
    errors = []
    for j, (train, val) in enumerate(_folds(folds, X.shape[0], k, seed, shuffle)):
        try:
            model = fit(_rows(X, train), _rows(y, train))
            value = error(_rows(y, val), predict(model, _rows(X, val)))
        except Exception as err:
            err.add_note(f"(in cross_validate, fold {j})")
            raise
        errors.append(_fold_error(value, j))
    return np.asarray(errors, dtype=np.float64)
