"""Labs of chapter 04: the step-size limits of gradient descent on a quadratic bowl,
and the minibatches of one epoch of stochastic gradient descent."""

from __future__ import annotations

import numpy as np

from dlnotes._checks import callable_, is_torch, rng, to_numpy
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_tuple, _kind, _run,
                                 _sizes)

# --- chapter 04: step sizes on a quadratic bowl -----------------------------------------


def _spd(gen: np.random.Generator, eigenvalues: np.ndarray, rotate: bool) -> np.ndarray:
    """``Q diag(eigenvalues) Q^T``, exactly symmetric; ``Q = I`` unless ``rotate``."""
    P = eigenvalues.size
    if not rotate:
        return np.diag(eigenvalues)
    Q, _ = np.linalg.qr(gen.standard_normal((P, P)))
    H = (Q * eigenvalues) @ Q.T
    return (H + H.T) / 2


def _step_sizes(H: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference: ``(2 / l_max, 2 / (l_min + l_max), (l_max - l_min) / (l_max + l_min))``."""
    lam = np.linalg.eigvalsh(H)
    lo, hi = lam[0], lam[-1]
    return np.float64(2 / hi), np.float64(2 / (lo + hi)), np.float64((hi - lo) / (hi + lo))


def _step_size_cases(gen: np.random.Generator) -> list[Case]:
    P = int(gen.integers(3, 6))
    specs = [(np.array([1.0, float(gen.integers(5, 20))]), False, "a diagonal 2 x 2 bowl"),
             (np.concatenate([[1.0], np.sort(gen.uniform(2, 10, P - 1))]), True,
              "a rotated bowl with P > 2, not diagonal"),
             (np.array([1.0, float(gen.uniform(3, 8))]), True, "a rotated 2 x 2 bowl"),
             (np.array([float(gen.uniform(0.5, 4))]), False, "one parameter, P = 1 (kappa = 1)"),
             (np.array([1.0, 1e6]), True, "kappa = 1e+06"),
             (1e3 * np.array([1.0, 2.0, 5.0]), True, "eigenvalues of size about 1e+03"),
             (1e-3 * np.array([1.0, 3.0]), True, "eigenvalues of size about 1e-03")]
    cases = []
    for lam, rotate, label in specs:
        H = _spd(gen, lam, rotate)
        cases.append(Case({"H": H}, _step_sizes(H), {"P": lam.size}, label))
    return cases


def _eig(H):
    lam = np.linalg.eigvalsh(H)
    return lam[0], lam[-1]


def _diag(H):
    d = np.diag(H)
    return d.min(), d.max()


_PER_EIGENVALUE = {("P",): "one number per eigenvalue of H, but the answer is a single number "
                           "for the whole bowl: only lambda_min and lambda_max matter."}

_EIGENVALUES = ("the diagonal entries of H are its eigenvalues only when H is diagonal, and "
                "this H is rotated. Use the eigenvalues (np.linalg.eigvalsh).")

_STEP_SIZES = (
    Output("eta_max",
           mistakes=(Mistake(lambda H: 2 / _diag(H)[1],
                             "eta_max equals 2 / max(diag H): " + _EIGENVALUES),
                     Mistake(lambda H: 2 / _eig(H)[0],
                             "eta_max equals 2 / lambda_min. The step must be stable in EVERY "
                             "eigendirection, |1 - eta lambda_i| < 1 for all i, and the "
                             "steepest direction, lambda_max, is the first to fail.")),
           shape_hints=_PER_EIGENVALUE,
           factor_hints={"1/2": "1 / lambda_max solves the steepest direction in one step, but "
                                "it is not the limit: |1 - eta lambda| < 1 holds up to "
                                "eta = 2 / lambda."}),
    Output("eta_best",
           mistakes=(Mistake(lambda H: 2 / sum(_diag(H)),
                             "eta_best equals 2 / (min + max of diag H): " + _EIGENVALUES),
                     Mistake(lambda H: 1 / _eig(H)[1],
                             "eta_best equals 1 / lambda_max. That solves the steepest "
                             "direction in one step but leaves the shallow one the factor "
                             "1 - 1/kappa; the best fixed step makes the two factors "
                             "|1 - eta lambda_min| and |1 - eta lambda_max| equal."),
                     Mistake(lambda H: sum(_eig(H)) / 2,
                             "eta_best equals (lambda_min + lambda_max) / 2: the best step is "
                             "the reciprocal of that, 2 / (lambda_min + lambda_max).")),
           shape_hints=_PER_EIGENVALUE,
           factor_hints={"2": "Solve 1 - eta lambda_min = eta lambda_max - 1 for eta again."}),
    Output("rate",
           mistakes=(Mistake(lambda H: (_diag(H)[1] - _diag(H)[0]) / sum(_diag(H)),
                             "rate is computed from the diagonal of H: " + _EIGENVALUES),
                     Mistake(lambda H: 1 - _eig(H)[0] / _eig(H)[1],
                             "rate equals 1 - 1/kappa, the rate at eta = 1 / lambda_max. At "
                             "eta_best the factor is |1 - eta_best lambda_min| = "
                             "(kappa - 1) / (kappa + 1)."),
                     Mistake(lambda H: ((_eig(H)[1] - _eig(H)[0]) / sum(_eig(H))) ** 2,
                             "rate equals ((kappa - 1) / (kappa + 1))^2, the factor by which "
                             "the LOSS shrinks per step. The rate asked for is that of the "
                             "error theta_t - theta*, (kappa - 1) / (kappa + 1)."),
                     Mistake(lambda H: sum(_eig(H)) / (_eig(H)[1] - _eig(H)[0]),
                             "rate equals (kappa + 1) / (kappa - 1), the reciprocal: a "
                             "convergence factor is below 1."),
                     Mistake(lambda H: _eig(H)[0] / _eig(H)[1],
                             "rate equals 1 / kappa = lambda_min / lambda_max. The factor at "
                             "eta_best is |1 - eta_best lambda_min| = (kappa - 1) / "
                             "(kappa + 1).")),
           shape_hints=_PER_EIGENVALUE,
           factor_hints={"2": "The rate is |1 - eta_best lambda_min| = (lambda_max - "
                              "lambda_min) / (lambda_max + lambda_min)."}),
)


def _absolute_rate(judge):
    """``judge``, but a rate within 1e-12 of an expected 0 (kappa = 1) counts as 0: a
    factor in [0, 1) is judged absolutely there, where rounding leaves about 1e-16."""
    def wrapped(got, case: Case) -> str | None:
        if (case.expected[2] == 0 and isinstance(got, (tuple, list)) and len(got) == 3
                and np.ndim(to_numpy(got[2])) == 0):
            try:
                small = abs(float(to_numpy(got[2]))) <= 1e-12
            except (TypeError, ValueError):
                small = False
            if small:
                got = (got[0], got[1], 0.0)
        return judge(got, case)
    return wrapped


def check_step_sizes(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(H) -> (eta_max, eta_best, rate)`` for gradient descent on the
    bowl ``L(theta) = 1/2 (theta - theta*)^T H (theta - theta*)``.

    ``H (P, P)``: symmetric positive definite. ``eta_max = 2 / lambda_max``
    (GD converges from every start iff ``0 < eta < eta_max``);
    ``eta_best = 2 / (lambda_min + lambda_max)``, the fixed step with the best
    worst-case rate; ``rate = (kappa - 1) / (kappa + 1)``, the factor by which
    the error ``theta_t - theta*`` shrinks per step at ``eta_best`` in its
    slowest direction. Three numbers. Cases: diagonal and rotated bowls (where
    the diagonal of H is not its spectrum), P = 1, kappa = 1e6, eigenvalues of
    size 1e-3 and 1e3. ``seed``: int >= 0 (the same cases every time) or None.
    """
    callable_(fn, "fn")
    cases = _step_size_cases(rng(seed))
    return _run("check_step_sizes", fn, cases, _absolute_rate(_judge_tuple(_STEP_SIZES)),
                batch=False)


# --- chapter 04: the minibatches of one epoch --------------------------------------------

_SHUFFLE_MIN = 20  # below this many examples the identity order is too likely to judge


def _epoch_cases(gen: np.random.Generator) -> list[Case]:
    while True:
        n, B = _sizes(gen, (41, 97), (5, 12))
        if n % B:
            break
    m = int(gen.integers(4, 9))
    specs = [(n, B, "n not divisible by batch_size"),
             (n, B, "the next epoch (same n and batch_size)"),
             (m * B, B, "n divisible by batch_size"),
             (int(gen.integers(20, 31)), 1, "batch_size = 1 (pure SGD)"),
             (int(gen.integers(25, 40)), None, "batch_size = n, one full batch"),
             (int(gen.integers(20, 30)), 50, "batch_size larger than n"),
             (3, 2, "three examples, batch_size = 2"),
             (1797, 64, "the digits, n = 1797 and batch_size = 64")]
    return [Case({"n": n, "batch_size": n if B is None else B}, None, {}, label)
            for n, B, label in specs]


def _batch_array(b, j: int, n: int) -> tuple[np.ndarray | None, str | None]:
    """Batch ``j`` as a 1-D int64 array of indices into range(n), or a message."""
    what = f"batches[{j}]"
    if b is None or isinstance(b, (str, bytes, dict, set)) or np.isscalar(b):
        return None, f"{what} is {_kind(b)}, but should be a 1-D array of example indices."
    arr = np.asarray(to_numpy(b))
    if arr.dtype == bool:
        return None, (f"{what} is a boolean mask; return the integer indices of the examples "
                      f"instead (np.flatnonzero turns a mask into indices).")
    if arr.dtype.kind not in "iu":
        return None, f"{what} has dtype {arr.dtype}, but indices must be integers."
    if arr.ndim != 1:
        return None, f"{what} has shape {arr.shape}, but a batch is a 1-D array of indices."
    if arr.size == 0:
        return None, f"{what} is empty: every batch must hold at least one example."
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        return None, (f"{what} holds the index {bad[0]}, outside range(n) = 0 .. {n - 1} "
                      f"(examples are counted from 0).")
    return arr.astype(np.int64), None


def _batch_list(got, n: int) -> tuple[list | None, str | None]:
    if isinstance(got, np.ndarray) or is_torch(got):
        return None, (f"Your function returned {_kind(got)}. Return a list of 1-D index "
                      f"arrays instead: the last batch may be shorter than the others, so the "
                      f"batches do not form a rectangular array.")
    if not isinstance(got, (list, tuple)):
        hint = " (wrap it in list(...))" if hasattr(got, "__next__") else ""
        return None, (f"Your function returned {_kind(got)}{hint}, but should return a list of "
                      f"1-D index arrays, one per batch.")
    batches = []
    for j, b in enumerate(got):
        arr, problem = _batch_array(b, j, n)
        if problem:
            return None, problem
        batches.append(arr)
    if not batches:
        return None, "Your function returned no batches: an epoch visits every example."
    return batches, None


def _count_problem(batches: list, n: int, B: int) -> str | None:
    want = -(-n // B)
    if len(batches) == want:
        return None
    if n % B and len(batches) == n // B and all(b.size == B for b in batches):
        return (f"Your function returned {len(batches)} full batches and dropped the last "
                f"{n % B} example(s). With n = {n} and batch_size = {B} an epoch has "
                f"ceil(n / batch_size) = {want} batches; the last holds the n mod batch_size "
                f"= {n % B} left-over examples (leave them out only when asked to, as "
                f"drop_last=True does).")
    return (f"Your function returned {len(batches)} batches, but n = {n} examples in batches of "
            f"{B} make ceil(n / batch_size) = {want}.")


def _coverage_problem(batches: list, n: int) -> str | None:
    counts = np.bincount(np.concatenate(batches), minlength=n)
    twice, never = int(np.count_nonzero(counts > 1)), int(np.count_nonzero(counts == 0))
    if not twice and not never:
        return None
    parts = []
    if twice:
        parts.append(f"{twice} example(s) appear more than once")
    if never:
        parts.append(f"{never} never appear")
    return (f"In one epoch {' and '.join(parts)}. An epoch visits every example exactly "
            f"once: draw ONE random permutation of range(n) and cut it into consecutive "
            f"batches (sampling without replacement), rather than drawing each batch at "
            f"random.")


def _size_problem(batches: list, n: int, B: int) -> str | None:
    want = [min(B, n - j * B) for j in range(len(batches))]
    got = [b.size for b in batches]
    if got == want:
        return None
    shown = ", ".join(map(str, got[:8])) + (", ..." if len(got) > 8 else "")
    return (f"The batches hold {shown} examples. Every batch must hold batch_size = {B} "
            f"examples except the last, which holds the rest ({want[-1]} here); "
            f"np.array_split makes batches of nearly equal size instead.")


def _order_problem(batches: list, n: int, B: int, label: str, seen: dict) -> str | None:
    order = np.concatenate(batches)
    if n >= _SHUFFLE_MIN:
        if np.array_equal(order, np.arange(n)):
            return ("The examples come in their stored order: nothing was shuffled. Data are "
                    "often stored sorted (by class, by date), and then every batch is "
                    "unrepresentative; shuffle the indices at the start of every epoch.")
        if B >= 2 and len(batches) >= 2 and all(
                np.array_equal(np.sort(b), np.arange(b.min(), b.min() + b.size))
                for b in batches):
            return ("Each batch holds consecutive examples: you shuffled the order of the "
                    "batches, not the examples. Shuffle the indices themselves, then cut them "
                    "into batches, so that every batch is a random sample.")
    if label.startswith("the next epoch"):
        if np.array_equal(order, seen.get((n, B), np.array([]))):
            return ("Two calls gave exactly the same order: the next epoch repeats the last "
                    "one. A generator with a fixed seed inside the function (such as "
                    "np.random.default_rng(0)) does that; draw a fresh permutation at every "
                    "call, for example from np.random.default_rng() without a seed.")
    seen[(n, B)] = order
    return None


def _epoch_judge():
    seen: dict = {}

    def judge(got, case: Case) -> str | None:
        n, B = case.args["n"], case.args["batch_size"]
        batches, problem = _batch_list(got, n)
        if problem:
            return problem
        return (_count_problem(batches, n, B) or _coverage_problem(batches, n)
                or _order_problem(batches, n, B, case.label, seen)
                or _size_problem(batches, n, B))

    return judge


def check_epoch_batches(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(n, batch_size)``, the minibatches of one epoch of SGD over ``n``
    examples: a list of 1-D integer index arrays.

    Checked by properties, since any shuffle is allowed (compare
    :func:`dlnotes.data.minibatches`): ``ceil(n / batch_size)`` batches; every
    index of range(n) exactly once (no replacement); every batch of size
    ``batch_size`` except the last, which holds the rest; the examples shuffled
    (not in stored order, not consecutive runs) when ``n >= 20``; and a new
    order on the next call (the next epoch). Cases include batch_size = 1,
    batch_size = n and larger, n divisible and not, and the digits' 1797 / 64.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _epoch_cases(rng(seed))
    return _run("check_epoch_batches", fn, cases, _epoch_judge(), batch=False)
