"""Train/validation/test splits, k-fold indices and cross-validation.

Splits are index arrays into the rows of the data, so one split serves X and
y alike. Everything is seeded: the same seed gives the same split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlnotes._checks import integer


def _size(part, n: int, name: str) -> int:
    """A part given as a count (int) or a fraction of n (float in [0, 1))."""
    if isinstance(part, bool):
        raise TypeError(f"{name} must be an int count or a float fraction, got bool")
    if isinstance(part, (int, np.integer)):
        if not 0 <= part <= n:
            raise ValueError(f"{name} must be a count between 0 and n = {n}, got {part}")
        return int(part)
    if isinstance(part, (float, np.floating)):
        if not 0.0 <= part < 1.0:
            raise ValueError(f"{name} as a fraction must lie in [0, 1), got {part}")
        return int(round(part * n))
    raise TypeError(f"{name} must be an int count or a float fraction, got {type(part).__name__}")


def train_val_test_split(n: int, val=0, test=0, seed: int = 0):
    """Shuffle ``range(n)`` once and cut it into train, validation and test.

    ``val`` and ``test`` are counts (int) or fractions of ``n`` (float);
    the rest is training data, which must not be empty. Returns three sorted
    int index arrays ``(train, val, test)`` that partition ``range(n)``.
    """
    n = integer(n, "n", 1)
    n_val, n_test = _size(val, n, "val"), _size(test, n, "test")
    if n_val + n_test >= n:
        raise ValueError(f"val + test must leave at least one training example: "
                         f"n = {n}, val = {n_val}, test = {n_test}")
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, val_idx = perm[:n_test], perm[n_test:n_test + n_val]
    train_idx = perm[n_test + n_val:]
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def kfold_indices(n: int, k: int, seed: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold cross-validation splits of ``range(n)``.

    The indices are shuffled ONCE (with ``seed``; ``seed=None`` keeps the
    original order) and cut into ``k`` folds whose sizes differ by at most 1.
    Returns a list of ``k`` pairs ``(train_idx, val_idx)``: fold ``j`` is the
    validation set of pair ``j``, the other ``k - 1`` folds its training set.
    Needs ``2 <= k <= n``.
    """
    n = integer(n, "n", 1)
    k = integer(k, "k", 1)
    if k < 2:
        raise ValueError(f"k must be >= 2 (one fold trains, one validates), got k = {k}")
    if k > n:
        raise ValueError(f"k must be <= n so that no fold is empty, got k = {k} > n = {n}")
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    folds = np.array_split(order, k)
    return [(np.sort(np.concatenate(folds[:j] + folds[j + 1:])), np.sort(folds[j]))
            for j in range(k)]


def mse(y, y_hat) -> float:
    """Mean squared error ``mean((y - y_hat)^2)`` of equal-shaped arrays."""
    y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)
    if y.shape != y_hat.shape:
        raise ValueError(f"y and y_hat must have the same shape, got {y.shape} and {y_hat.shape}")
    return float(np.mean((y - y_hat) ** 2))


def cross_validate(fit: Callable, predict: Callable, X, y, k: int = 5, seed: int | None = 0, *,
                   folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
                   error: Callable = mse) -> np.ndarray:
    """Validation error of a learning procedure on each of k folds.

    For each fold: ``model = fit(X[train], y[train])``, then
    ``error(y[val], predict(model, X[val]))``. ``fit`` may be any procedure,
    including preprocessing or feature selection (it must see only its
    arguments, which is what keeps such steps inside the loop). ``X``: (N, ...)
    with examples as rows; ``y``: (N,) or (N, K). ``folds`` overrides
    ``kfold_indices(N, k, seed)``, e.g. to compare candidates on the same folds.
    Returns the k errors, shape (k,).
    """
    if not callable(fit) or not callable(predict):
        raise TypeError(f"fit and predict must be callables, got {type(fit).__name__} and "
                        f"{type(predict).__name__}")
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y need a leading example axis, got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows (examples): X has "
                         f"{X.shape[0]} (shape {X.shape}), y has {y.shape[0]} (shape {y.shape})")
    for name, a in (("X", X), ("y", y)):
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite, got "
                             f"{int(np.count_nonzero(~np.isfinite(a)))} NaN/inf entries")
    if folds is None:
        folds = kfold_indices(X.shape[0], k, seed)
    errors = []
    for train, val in folds:
        model = fit(X[train], y[train])
        errors.append(error(y[val], predict(model, X[val])))
    return np.asarray(errors, dtype=np.float64)
