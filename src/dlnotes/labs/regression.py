"""Labs of chapter 01: the least-squares gradient, the normal equations and
k-fold indices."""

from __future__ import annotations

import numpy as np

from dlnotes import linreg
from dlnotes._checks import callable_, is_torch, rng, to_numpy
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_array, _kind, _run,
                                 _sizes, _well_conditioned)

# --- chapter 01: the least-squares gradient ---------------------------------------------


def _lsq_gradient_cases(gen: np.random.Generator) -> list[Case]:
    N, p = _sizes(gen, (6, 12), (3, 5))
    shapes = [(N, p, 1.0, "a typical batch, N > p"),
              (*_sizes(gen, (3, 4), (6, 8)), 1.0, "more features than examples, p > N"),
              (4, 4, 1.0, "N = p"),
              (*_sizes(gen, (5, 9), (1, 1)), 1.0, "one feature, p = 1"),
              (N, p, 1e3, "entries of size about 1e+03"),
              (N, p, 1e-3, "entries of size about 1e-03"),
              (1, int(gen.integers(2, 5)), 1.0, "a batch of one, N = 1")]
    cases = []
    for N, p, s, label in shapes:
        Phi, theta = s * gen.standard_normal((N, p)), s * gen.standard_normal(p)
        y = s * s * gen.standard_normal(N)
        cases.append(Case({"theta": theta, "Phi": Phi, "y": y},
                          linreg.lsq_grad(theta, Phi, y), {"N": N, "p": p}, label))
    return cases


_LSQ_GRADIENT = Output(
    "Your gradient", "theta",
    mistakes=(
        Mistake(lambda theta, Phi, y: Phi.T @ Phi @ theta / len(y),
                "Your gradient equals (1/N) Phi^T Phi theta: the term that comes from y is "
                "missing."),
    ),
    shape_hints={
        ("N",): "one entry per example. The gradient has one entry per parameter, the shape "
                "of theta: by the chain rule the residuals are multiplied by Phi^T.",
        ("N", "p"): "one row per example, like per-example gradients stacked. The gradient of "
                    "the mean loss is the mean of those over the batch, one entry per "
                    "parameter.",
    },
    factor_hints={"2": "The 1/2 in the loss cancels the 2 from differentiating the square."},
    sign_hint="Check the sign: the derivative of y - Phi theta with respect to theta is -Phi, "
              "and that minus sign must survive.",
)


def check_lsq_gradient(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(theta, Phi, y)``, the gradient of ``L = 1/(2N) ||y - Phi theta||^2``.

    Shapes: ``theta (p,)``, ``Phi (N, p)``, ``y (N,)``; the gradient has shape
    (p,). Compared with :func:`dlnotes.linreg.lsq_grad` on fresh random inputs
    (a batch of one, p > N, N = p, p = 1, entries of size 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _lsq_gradient_cases(rng(seed))
    return _run("check_lsq_gradient", fn, cases, _judge_array(_LSQ_GRADIENT))


# --- chapter 01: the normal equations ---------------------------------------------------


def _normal_equations_cases(gen: np.random.Generator) -> list[Case]:
    N, p = _sizes(gen, (7, 12), (3, 5))
    shapes = [(N, p, 1.0, 1.0, "a typical design, N > p"),
              (*[int(gen.integers(3, 6))] * 2, 1.0, 1.0, "a square design, N = p"),
              (*_sizes(gen, (4, 8), (1, 1)), 1.0, 1.0, "one feature, p = 1"),
              (p + 1, p, 1.0, 1.0, "one more example than features, N = p + 1"),
              (N, p, 1e3, 1e-3, "Phi of size about 1e+03, y about 1e-03"),
              (N, p, 1e-3, 1e3, "Phi of size about 1e-03, y about 1e+03"),
              (1, 1, 1.0, 1.0, "one example and one feature, N = p = 1")]
    cases = []
    for N, p, s, t, label in shapes:
        Phi, y = s * _well_conditioned(gen, N, p), t * gen.standard_normal(N)
        cases.append(Case({"Phi": Phi, "y": y}, linreg.fit_lstsq(Phi, y),
                          {"N": N, "p": p}, label))
    return cases


_NORMAL_EQUATIONS = Output(
    "Your theta", None,
    mistakes=(
        Mistake(lambda Phi, y: Phi.T @ y,
                "Your theta equals Phi^T y, the right-hand side of the normal equations. "
                "theta is the solution of Phi^T Phi theta = Phi^T y: solve that linear system "
                "(np.linalg.solve)."),
        Mistake(lambda Phi, y: Phi.T @ Phi @ Phi.T @ y,
                "Your theta equals Phi^T Phi Phi^T y: you multiplied by Phi^T Phi where the "
                "normal equations need its inverse (solve the system instead)."),
        Mistake(lambda Phi, y: np.linalg.solve(Phi @ Phi.T, y),
                "Your theta equals (Phi Phi^T)^-1 y: the matrix of the normal equations is "
                "Phi^T Phi (p x p), not Phi Phi^T (N x N)."),
    ),
    shape_hints={
        ("N",): "one entry per example, but theta has one entry per feature. Did you use "
                "Phi Phi^T (N x N) where the normal equations have Phi^T Phi (p x p)?",
    },
)


def check_normal_equations(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(Phi, y)``, the least-squares theta of a full-column-rank design.

    Shapes: ``Phi (N, p)`` with N >= p, ``y (N,)``; theta has shape (p,).
    Compared with :func:`dlnotes.linreg.fit_lstsq` on fresh, well-conditioned
    random designs (N = p, p = 1, N = p = 1, sizes from 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _normal_equations_cases(rng(seed))
    return _run("check_normal_equations", fn, cases, _judge_array(_NORMAL_EQUATIONS),
                batch=False)


# --- chapter 01: k-fold indices ---------------------------------------------------------


def _kfold_cases(gen: np.random.Generator) -> list[Case]:
    k = int(gen.integers(3, 6))
    pairs = [(k * int(gen.integers(3, 7)) + int(gen.integers(1, k)), k,
              "n not divisible by k"),
             (k * int(gen.integers(3, 7)), k, "n divisible by k"),
             (2 * int(gen.integers(2, 7)) + 1, 2, "k = 2, n odd"),
             (k, k, "n = k, one row per fold"),
             (k + 1, k, "n = k + 1"),
             (int(gen.integers(50, 121)), 10, "k = 10, larger n")]
    return [Case({"n": n, "k": k}, None, {}, label) for n, k, label in pairs]


def _index_set(a, what: str, n: int) -> tuple[np.ndarray | None, str | None]:
    """``a`` as a 1-D int array of distinct indices into range(n), or a message."""
    if a is None or isinstance(a, (str, bytes, dict, set)):
        return None, f"{what} is {_kind(a)}, but should be an array of integer indices."
    arr = np.asarray(to_numpy(a))
    if arr.dtype == bool:
        return None, (f"{what} is a boolean mask; return integer indices instead "
                      f"(np.flatnonzero turns a mask into indices).")
    if arr.dtype.kind not in "iu" and arr.size:
        return None, f"{what} has dtype {arr.dtype}, but indices must be integers."
    if arr.ndim != 1:
        return None, f"{what} has shape {arr.shape}, but should be 1-D."
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        return None, (f"{what} holds the index {bad[0]}, outside range(n) = 0 .. {n - 1} "
                      f"(rows are counted from 0).")
    if np.unique(arr).size < arr.size:
        return None, f"{what} lists some rows more than once."
    return arr, None


def _fold_sets(got, n: int, k: int) -> tuple[list | None, str | None]:
    """The pairs as ``[(train, val), ...]`` of index arrays, or a message about their form."""
    if isinstance(got, np.ndarray) or is_torch(got) or not isinstance(got, (list, tuple)):
        hint = " (wrap it in list(...))" if hasattr(got, "__next__") else ""
        return None, (f"Your function returned {_kind(got)}{hint}, but should return a list "
                      f"of k = {k} pairs (train_idx, val_idx).")
    if len(got) != k:
        return None, (f"Your function returned {len(got)} pairs for k = {k}: there must be "
                      f"one (train_idx, val_idx) pair per fold.")
    folds = []
    for j, pair in enumerate(got):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            return None, (f"folds[{j}] is {_kind(pair)}, but each item must be a pair "
                          f"(train_idx, val_idx).")
        train, problem = _index_set(pair[0], f"folds[{j}] train_idx", n)
        if problem:
            return None, problem
        val, problem = _index_set(pair[1], f"folds[{j}] val_idx", n)
        if problem:
            return None, problem
        folds.append((train, val))
    return folds, None


def _fold_problem(j: int, train: np.ndarray, val: np.ndarray, n: int) -> str | None:
    """What is wrong with pair ``j`` on its own: empty, leaking or incomplete."""
    if val.size == 0:
        return f"folds[{j}] val_idx is empty: every fold must validate at least one row."
    both = np.intersect1d(train, val).size
    if both:
        return (f"folds[{j}]: {both} row(s) are in both train_idx and val_idx. That is "
                f"leakage: the model would be validated on rows it was trained on, so the "
                f"validation error would look too good. Train on every row NOT in the "
                f"validation fold.")
    missing = n - train.size - val.size
    if missing:
        return (f"folds[{j}]: {missing} row(s) are in neither train_idx nor val_idx, so they "
                f"are missing from training. The training set of a fold is every row that is "
                f"not in its validation fold.")
    return None


def _partition_problem(folds: list, n: int, k: int) -> str | None:
    """What is wrong with the validation folds together: overlap, gaps, uneven sizes."""
    trained = np.bincount(np.concatenate([t for t, _ in folds]), minlength=n)
    validated = np.bincount(np.concatenate([v for _, v in folds]), minlength=n)
    if np.all(trained == 1) and k > 2:
        return ("The training sets partition the rows and the validation sets overlap: are "
                "train_idx and val_idx swapped? Each pair is (train_idx, val_idx).")
    twice, never = int(np.count_nonzero(validated > 1)), int(np.count_nonzero(validated == 0))
    if twice:
        return (f"{twice} row(s) are validated in more than one fold. The validation folds "
                f"must partition range(n): every row is validated exactly once.")
    if never:
        return (f"{never} row(s) are never validated. The validation folds must partition "
                f"range(n): every row is validated exactly once.")
    sizes = [v.size for _, v in folds]
    if max(sizes) - min(sizes) > 1:
        return (f"The validation folds have sizes from {min(sizes)} to {max(sizes)}; with "
                f"n = {n} and k = {k} their sizes must differ by at most 1 (each holds "
                f"n // k = {n // k} or n // k + 1 = {n // k + 1} rows).")
    return None


def _judge_folds(got, case: Case) -> str | None:
    n, k = case.args["n"], case.args["k"]
    folds, problem = _fold_sets(got, n, k)
    if problem:
        return problem
    for j, (train, val) in enumerate(folds):
        problem = _fold_problem(j, train, val, n)
        if problem:
            return problem
    return _partition_problem(folds, n, k)


def check_kfold(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(n, k)``, k-fold splits of ``range(n)`` as a list of k pairs
    ``(train_idx, val_idx)`` of integer index arrays.

    Checked by properties, since any shuffle is allowed (compare
    :func:`dlnotes.cv.kfold_indices`): k pairs; every validation fold non-empty;
    the validation folds partition range(n); each training set is the
    complement of its validation fold (no leakage, no row left out); fold sizes
    differ by at most 1. Cases include n = k and n not divisible by k.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _kfold_cases(rng(seed))
    return _run("check_kfold", fn, cases, _judge_folds)
