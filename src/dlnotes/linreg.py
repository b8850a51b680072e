"""Linear least squares: features, closed-form fits, losses and their gradients.

Conventions (whole book). Examples are the ROWS of the design matrix
``Phi`` (N x p); the constant feature comes first; ``theta`` has shape (p,);
gradients have the shape of their variable (denominator layout). Residuals
are ``r = y - Phi @ theta``. The fits compute in float64 and accept lists,
NumPy arrays and tensors (detached).

``lsq_loss``, ``lsq_grad`` and ``gaussian_nll`` are written with ``@`` and
``.sum()`` only, so they accept NumPy arrays and torch tensors alike (on any
device, in the tensors' own floating dtype); on tensors they are
differentiable by autograd.

The fits say when they cannot deliver what they promise. "Effective rank"
means the number of singular values above ``max(N, p) * eps * s_max`` (the
rule of ``np.linalg.matrix_rank`` and ``np.linalg.lstsq``). The fits first
scale every column of ``Phi`` to unit length (exactly, by powers of two),
which changes neither the fitted values nor the set of minimisers but keeps
raw features such as monomials of floor areas at their true rank. A design
that is still dependent gives a :class:`RankDeficientWarning`, a float64
answer with fewer than half its digits an :class:`IllConditionedWarning`, an
iteration that stops short a :class:`ConvergenceWarning`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dlnotes._checks import (
    all_finite,
    float_array,
    integer,
    is_torch,
    nonnegative,
    positive,
    real,
    same_kind,
)

_EPS = float(np.finfo(np.float64).eps)
_CURE = ("Cure: standardise the inputs before building features "
         "(dlnotes.data.standardize), or drop dependent features.")


class IllConditionedWarning(UserWarning):
    """A float64 result that keeps fewer than about half of its 16 digits."""


class RankDeficientWarning(IllConditionedWarning):
    """Dependent columns (to working precision): the least-squares minimiser is not unique."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped before it met its tolerance, or diverged."""


# --- input checks and exact power-of-two scaling --------------------------------------


def _phi_y(Phi, y, y_ndim=(1,)) -> tuple[np.ndarray, np.ndarray]:
    Phi = float_array(Phi, "Phi", (2,))
    y = float_array(y, "y", y_ndim)
    if y.shape[0] != Phi.shape[0]:
        raise ValueError(f"Phi and y must have the same number of rows (examples): "
                         f"Phi has {Phi.shape[0]} (shape {Phi.shape}), y has {y.shape[0]} "
                         f"(shape {y.shape})")
    return Phi, y


def _exponent(v):
    """Integer ``e`` with ``|v| / 2**e`` in [0.5, 1) (0 where v == 0)."""
    return np.frexp(v)[1].astype(np.int64)


def _col_exponents(A) -> np.ndarray:
    """``e`` (shape (p,)) such that ``A * 2.0**-e`` has columns of 2-norm in [1/2, 1).

    Powers of two make the scaling exact; the norms are taken after scaling
    by the largest entry, so they neither overflow nor underflow.
    """
    e = _exponent(np.abs(A).max(axis=0))
    e = e + _exponent(np.linalg.norm(np.ldexp(A, -e), axis=0))
    return np.clip(e, -1020, 1020)


def _scale_exponent(y) -> np.ndarray:
    """Exponent of the largest magnitude of ``y`` (per column for a matrix)."""
    return _exponent(np.abs(y).max(axis=0))


def _rank(s: np.ndarray, shape) -> int:
    """Effective rank from singular values ``s`` (descending) of a matrix of ``shape``."""
    return int(np.count_nonzero(s > max(shape) * _EPS * s[0])) if s.size else 0


def _svd_solve(A, b):
    """Minimum-norm least-squares solution of ``A x ~ b`` at the effective rank.

    Returns ``(x, rank, s)``: what ``np.linalg.lstsq(A, b, rcond=None)`` computes.
    """
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    rank = _rank(s, A.shape)
    c = U[:, :rank].T @ b
    c = c / (s[:rank, None] if c.ndim == 2 else s[:rank])
    return Vt[:rank].T @ c, rank, s


def _unscale(beta, e_cols, e_y, what: str) -> np.ndarray:
    """``theta = beta * 2**(e_y - e_cols)``, checked to be finite."""
    shift = -np.asarray(e_cols)
    shift = shift[:, None] + e_y if beta.ndim == 2 else shift + e_y
    with np.errstate(over="ignore"):
        theta = np.ldexp(beta, shift)
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"{what}: the solution overflows float64 (|theta| beyond 1.8e308); "
                         f"rescale y or the columns of Phi")
    return theta


def _lstsq(Phi, y) -> tuple[np.ndarray, str | None]:
    """The least-squares fit of :func:`fit_lstsq` and, if it is not unique, why."""
    N, p = Phi.shape
    e_y = _scale_exponent(y)
    b = np.ldexp(y, -e_y)
    e = _col_exponents(Phi)
    beta, rank_eq, _ = _svd_solve(np.ldexp(Phi, -e), b)
    if rank_eq == p:  # full column rank: the unique minimiser
        return _unscale(beta, e, e_y, "fit_lstsq"), None
    # Not unique: the minimum-norm minimiser is defined in theta's own coordinates.
    e_phi = int(_exponent(np.abs(Phi).max()))
    theta, rank, _ = _svd_solve(np.ldexp(Phi, -e_phi), b)
    theta = _unscale(theta, np.full(p, e_phi), e_y, "fit_lstsq")
    if rank >= min(N, p):
        return theta, None
    after = f" ({rank_eq} after scaling its columns to unit norm)" if rank_eq != rank else ""
    return theta, (
        f"Phi ({N} x {p}) has effective rank {rank}{after} < min(N, p) = {min(N, p)}: its "
        f"columns are dependent to working precision (singular values <= max(N, p) * eps "
        f"* largest count as zero), so the least-squares minimiser is not unique; returning "
        f"the minimum-norm one. {_CURE}")


# --- features -----------------------------------------------------------------------


def design_matrix(x) -> np.ndarray:
    """The affine design matrix ``[1, X]``.

    ``x``: shape (N,) for one input or (N, d). Returns shape (N, 1 + d), the
    ones column first.
    """
    x = float_array(x, "x", (1, 2))
    X = x.reshape(-1, 1) if x.ndim == 1 else x
    return np.hstack([np.ones((X.shape[0], 1)), X])


def polynomial_features(x, degree: int) -> np.ndarray:
    """Monomials ``[1, x, x^2, ..., x^M]`` of a scalar input.

    ``x``: shape (N,) or (N, 1); ``degree`` M >= 0. Returns the Vandermonde
    matrix, shape (N, M + 1), constant column first.
    """
    degree = integer(degree, "degree", 0)
    x = float_array(x, "x", (1, 2))
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(f"x must have shape (N,) or (N, 1), got {x.shape}")
        x = x[:, 0]
    with np.errstate(over="ignore"):
        P = np.vander(x, degree + 1, increasing=True)
    if not np.all(np.isfinite(P)):
        raise ValueError(f"x**{degree} overflows float64 (max |x| = {np.abs(x).max():.3g}); "
                         f"standardise x first")
    return P


# --- closed-form fits ---------------------------------------------------------------


def fit_normal_equations(Phi, y) -> np.ndarray:
    """Solve the normal equations ``Phi^T Phi theta = Phi^T y``.

    ``Phi``: (N, p) with full column rank; ``y``: (N,) or (N, K).
    Returns theta, shape (p,) or (p, K). Uses a linear solve, never an explicit
    inverse, on columns scaled to unit norm (exact powers of two; ``y`` too)
    so that nothing overflows. Raises ``LinAlgError`` (a ValueError) for an
    effective rank below p and warns (:class:`IllConditionedWarning`) when the
    scaled Gram matrix has condition number above ``1/sqrt(eps)``, i.e. when
    fewer than half of float64's digits survive: forming ``Phi^T Phi`` squares
    the condition number, so prefer :func:`fit_lstsq` for ill-conditioned features.
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    p = Phi.shape[1]
    e, e_y = _col_exponents(Phi), _scale_exponent(y)
    A, b = np.ldexp(Phi, -e), np.ldexp(y, -e_y)
    s = np.linalg.svd(A, compute_uv=False)  # only to diagnose the Gram matrix
    rank = _rank(s, A.shape)
    if rank < p:
        raise np.linalg.LinAlgError(
            f"Phi^T Phi is singular: Phi {Phi.shape} has effective rank {rank} < p = {p}; "
            f"use fit_lstsq for the minimum-norm solution")
    kappa = float((s[0] / s[-1]) ** 2)
    if kappa > _EPS**-0.5:
        warnings.warn(f"Phi^T Phi is ill-conditioned: condition number {kappa:.1e} even with "
                      f"unit-norm columns, so about {math.log10(kappa):.0f} of float64's 16 "
                      f"digits are lost in the normal equations; use fit_lstsq, or "
                      f"standardise the inputs", IllConditionedWarning, stacklevel=2)
    return _unscale(np.linalg.solve(A.T @ A, A.T @ b), e, e_y, "fit_normal_equations")


def fit_lstsq(Phi, y) -> np.ndarray:
    """Least squares by SVD: the minimiser of ``||y - Phi theta||``, minimum-norm if not unique.

    ``Phi``: (N, p) of any rank; ``y``: (N,) or (N, K). Returns theta, shape
    (p,) or (p, K). The columns of ``Phi`` are first scaled to unit norm
    (``theta = D beta``, exact powers of two): this leaves the minimisers
    unchanged but rescues raw features such as monomials of floor areas. With
    full effective column rank the result is the unique minimiser. Otherwise it
    is ``pinv(Phi) @ y`` computed on ``Phi`` itself, and when the effective rank
    is below ``min(N, p)`` (dependence beyond having fewer examples than
    features) a :class:`RankDeficientWarning` names the rank and the cure.
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    theta, note = _lstsq(Phi, y)
    if note:
        warnings.warn(note, RankDeficientWarning, stacklevel=2)
    return theta


def fit_ridge(Phi, y, lam: float) -> np.ndarray:
    """Ridge regression: minimiser of ``1/2 ||y - Phi theta||^2 + lam/2 ||theta||^2``.

    ``Phi``: (N, p); ``y``: (N,) or (N, K); ``lam`` >= 0 (every coefficient,
    the constant included, is penalised). Returns theta, shape (p,) or (p, K),
    the solution of ``(Phi^T Phi + lam I) theta = Phi^T y``. ``lam = 0`` is
    :func:`fit_lstsq`. For ``lam > 0`` the exact reformulation with unit-norm
    columns, ``theta = D beta`` and ``[Phi D; sqrt(lam) D] beta ~ [y; 0]``, is
    solved by SVD; a :class:`RankDeficientWarning` says when even that system
    has effective rank below p (``lam`` too small to matter in float64).
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    lam = nonnegative(lam, "lam")
    if lam == 0:
        theta, note = _lstsq(Phi, y)
        if note:
            warnings.warn(note, RankDeficientWarning, stacklevel=2)
        return theta
    N, p = Phi.shape
    e, e_y = _col_exponents(Phi), _scale_exponent(y)
    with np.errstate(over="ignore"):
        penalty = np.ldexp(math.sqrt(lam), -e)  # sqrt(lam) D
    if not np.all(np.isfinite(penalty)):
        raise ValueError(f"lam = {lam:.3g} overflows float64 against columns of Phi of norm "
                         f"down to {np.ldexp(1.0, int(e.min())):.1e}; rescale Phi")
    A = np.vstack([np.ldexp(Phi, -e), np.diag(penalty)])
    b = np.concatenate([np.ldexp(y, -e_y), np.zeros((p,) + y.shape[1:])])
    beta, rank, _ = _svd_solve(A, b)
    if rank < p:
        warnings.warn(f"the ridge system [Phi D; sqrt(lam) D] ({N + p} x {p}, unit-norm "
                      f"columns) has effective rank {rank} < p = {p}: lam = {lam:.3g} is too "
                      f"small to make the dependent columns of Phi well-posed in float64; "
                      f"returning its minimum-norm solution. Increase lam. {_CURE}",
                      RankDeficientWarning, stacklevel=2)
    return _unscale(beta, e, e_y, "fit_ridge")


def fit_tls(x, y) -> tuple[float, float]:
    """Total least squares (orthogonal regression) line ``y = a x + b``.

    Minimises the sum of squared PERPENDICULAR distances. ``x``, ``y``: shape
    (N,), N >= 2. The line passes through the centroid with the direction of
    the leading right singular vector of the centred data. Returns
    ``(slope, intercept)``. Raises ValueError when the best line is vertical
    or not unique (all points equal, or a cloud with no preferred direction:
    two singular values equal to working precision); warns
    (:class:`IllConditionedWarning`) when their gap leaves the direction with
    fewer than half its digits.
    """
    x = float_array(x, "x", (1,))
    y = float_array(y, "y", (1,))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError(f"fit_tls needs at least 2 points, got {x.size}")
    with np.errstate(over="ignore", invalid="ignore"):
        Z = np.column_stack([x - x.mean(), y - y.mean()])
    if not np.all(np.isfinite(Z)):
        raise ValueError("x and y are too large for float64 sums (beyond about 1e300); "
                         "rescale them")
    _, s, Vt = np.linalg.svd(Z, full_matrices=False)
    gap = s[0] - s[1]
    if s[0] == 0:
        raise ValueError("the total-least-squares line is undefined: all points are equal")
    if gap <= x.size * _EPS * s[0]:
        raise ValueError("the total-least-squares line is not unique: the centred points "
                         "have two equal singular values (no preferred direction), so every "
                         "line through the centroid fits equally well")
    if gap < _EPS**0.5 * s[0]:
        warnings.warn(f"the total-least-squares direction is ill-determined: the singular "
                      f"values of the centred data differ by only {gap / s[0]:.1e} relative",
                      IllConditionedWarning, stacklevel=2)
    vx, vy = Vt[0]
    if abs(vx) <= 1e-15 * abs(vy):
        raise ValueError("the total-least-squares line is vertical (all x equal?); "
                         "its slope is undefined")
    slope = vy / vx
    intercept = y.mean() - slope * x.mean()
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        raise ValueError(f"the total-least-squares line overflows float64 (slope {slope}); "
                         f"rescale x or y")
    return float(slope), float(intercept)


def _lad_vertex(A, b, r, rank: int):
    """The fit through the ``rank`` rows of smallest ``|r|``, its ``sum |b - A beta|``,
    and a lower bound on the minimum of that sum from LP duality.

    Any ``u`` with ``|u_i| <= 1`` and ``A^T u = 0`` gives ``min sum |b - A beta| >= b @ u``.
    At a vertex the candidate is ``u_i = sign(r_i)`` off the rows with zero residual and,
    on them, whatever makes ``A^T u = 0``; at the minimiser the bound is tight.
    """
    n = len(b)
    order = np.argsort(np.abs(r), kind="stable")
    beta, _ = _lstsq(A[order[:rank]], b[order[:rank]])
    r = b - A @ beta
    zero = np.abs(r) <= 64 * n * _EPS
    zero[order[:rank]] = True
    u = np.where(zero, 0.0, np.sign(r))
    uz, _ = _lstsq(A[zero].T, -(A.T @ u))
    if np.abs(uz).max() > 1 and zero.sum() > rank:  # ties: look for a bounded solution
        from scipy.optimize import lsq_linear

        uz = lsq_linear(A[zero].T, -(A.T @ u), bounds=(-1, 1), tol=1e-14).x
    u[zero] = uz
    u /= max(1.0, np.abs(u).max())
    feasible = np.abs(A.T @ u).max() <= 64 * n * _EPS
    return beta, float(np.abs(r).sum()), float(b @ u) if feasible else -math.inf


def fit_lad(Phi, y, *, iters: int = 500, tol: float = 1e-10, delta: float = 1e-8) -> np.ndarray:
    """Least absolute deviations, ``min sum_i |y_i - phi_i^T theta|``, by IRLS.

    Iteratively reweighted least squares: weight ``1 / max(|r_i|, floor)`` turns
    ``|r_i|`` into ``r_i^2 / |r_i|``. Starts at the least-squares fit; the floor
    starts at ``0.1 s`` (``s = max |y|``) and halves each step down to
    ``delta * s``. After each step the fit through the p rows with the smallest
    residuals (a vertex of the linear program) is tried too, and LP duality gives
    a lower bound on the minimum. Stops when the best fit's ``sum |r|`` is
    certified within ``tol * N * s`` of the minimum (exact up to rounding at a
    vertex); otherwise, after ``iters`` steps, returns it with a
    :class:`ConvergenceWarning` that states the certified gap. Everything scales
    with ``y``: ``fit_lad(Phi, c * y) = c * fit_lad(Phi, y)``. ``Phi``: (N, p);
    ``y``: (N,); ``iters`` >= 1; ``tol`` >= 0; ``0 < delta < 1``. Returns theta,
    shape (p,); when the minimiser is not unique, one of them.
    """
    Phi, y = _phi_y(Phi, y)
    iters = integer(iters, "iters", 1)
    tol = nonnegative(tol, "tol")
    delta = positive(delta, "delta")
    if delta >= 1:
        raise ValueError(f"delta must be < 1 (a floor relative to max |y|), got {delta!r}")
    N, p = Phi.shape
    s = float(np.abs(y).max())
    e = _col_exponents(Phi)
    A = np.ldexp(Phi, -e)  # unit-norm columns
    rank = _rank(np.linalg.svd(A, compute_uv=False), A.shape)
    if s == 0 or rank == 0:  # y = 0 or Phi = 0: theta = 0 is a minimiser
        return np.zeros(p)
    b, k = y / s, int(_exponent(s))  # max |b| = 1
    beta, _ = _lstsq(A, b)
    best, f_best, bound = beta, float(np.abs(b - A @ beta).sum()), -math.inf
    floor = max(0.1, delta)
    for _ in range(iters):
        sw = 1.0 / np.sqrt(np.maximum(np.abs(b - A @ beta), floor))
        beta, _ = _lstsq(A * sw[:, None], b * sw)
        f = float(np.abs(b - A @ beta).sum())
        vertex, f_vertex, lower = _lad_vertex(A, b, b - A @ beta, rank)
        for cand, fc in ((beta, f), (vertex, f_vertex)):
            if fc < f_best:
                best, f_best = cand, fc
        bound = max(bound, lower)
        if f_best - bound <= tol * N:
            return _unscale(best * np.ldexp(s, -k), e, k, "fit_lad")
        floor = max(delta, floor / 2)
    warnings.warn(f"fit_lad: not certified after {iters} iterations: sum |r| may exceed its "
                  f"minimum by up to {(f_best - bound) * s:.3g} ({(f_best - bound) / N:.1e} "
                  f"* N * max|y|, tol = {tol:.1e}); raise iters", ConvergenceWarning,
                  stacklevel=2)
    return _unscale(best * np.ldexp(s, -k), e, k, "fit_lad")


def fit_gd(Phi, y, eta: float, steps: int, theta0=None) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent on :func:`lsq_loss`, ``theta <- theta - eta * lsq_grad``.

    ``Phi``: (N, p); ``y``: (N,); ``eta`` > 0; ``steps`` >= 0; ``theta0``: (p,)
    (default zeros). Returns ``(theta, losses)`` with ``losses`` of shape
    (steps + 1,), the loss before each step and after the last. Converges iff
    ``0 < eta < 2 / lambda_max(Phi^T Phi / N)``; otherwise the loss grows. If
    it overflows float64, iteration stops: the remaining entries of ``losses``
    are inf, ``theta`` is the last iterate with a finite loss, and a
    :class:`ConvergenceWarning` says so.
    """
    Phi, y = _phi_y(Phi, y)
    eta = positive(eta, "eta")
    steps = integer(steps, "steps", 0)
    p = Phi.shape[1]
    theta = np.zeros(p) if theta0 is None else float_array(theta0, "theta0", (1,)).copy()
    if theta.shape != (p,):
        raise ValueError(f"theta0 must have shape ({p},) to match Phi {Phi.shape}, "
                         f"got {theta.shape}")
    losses = np.full(steps + 1, np.inf)
    last = theta
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            r = y - Phi @ theta
            loss = (r @ r) / (2 * len(y))
            if not np.isfinite(loss):
                warnings.warn(f"fit_gd diverged: the loss overflowed float64 at step {t} "
                              f"(eta = {eta:.3g} is above 2 / lambda_max(Phi^T Phi / N)); "
                              f"returning the last iterate with a finite loss",
                              ConvergenceWarning, stacklevel=2)
                break
            losses[t], last = loss, theta
            if t < steps:
                grad = -(Phi.T @ r) / len(y)  # lsq_grad, reusing the residual
                theta = theta - eta * grad
    return last, losses


# --- losses (NumPy or torch) -----------------------------------------------------------


def _duck(theta, Phi, y):
    """``theta``, ``Phi``, ``y`` checked together: all NumPy (lists, integer arrays: as
    float64) or all torch tensors of one floating dtype on one device; finite; shapes."""
    theta, Phi, y = same_kind("theta, Phi, y", theta, Phi, y)
    if Phi.ndim != 2:
        raise ValueError(f"Phi must be 2-D (N x p), got shape {tuple(Phi.shape)}")
    N, p = Phi.shape
    if N == 0 or p == 0:
        raise ValueError(f"Phi must have at least one row and one column, got shape "
                         f"{tuple(Phi.shape)}")
    if tuple(theta.shape) != (p,):
        raise ValueError(f"theta must have shape ({p},) to match Phi {tuple(Phi.shape)}, "
                         f"got {tuple(theta.shape)}")
    if tuple(y.shape) != (N,):
        raise ValueError(f"y must have shape ({N},) to match Phi {tuple(Phi.shape)}, "
                         f"got {tuple(y.shape)}")
    return theta, Phi, y


def _finite(value, what: str):
    if not all_finite(value):
        raise ValueError(f"{what} overflows {getattr(value, 'dtype', 'float64')}: the "
                         f"residuals y - Phi theta are too large to square; rescale y and Phi")
    return value


def lsq_loss(theta, Phi, y):
    """Mean least-squares loss ``L = 1/(2N) ||y - Phi theta||^2``.

    ``theta``: (p,); ``Phi``: (N, p); ``y``: (N,). NumPy arrays or torch
    tensors (differentiable). Returns a scalar of the same kind.
    """
    theta, Phi, y = _duck(theta, Phi, y)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        r = y - Phi @ theta
        loss = (r * r).sum() / (2 * Phi.shape[0])
    return _finite(loss, "lsq_loss")


def lsq_grad(theta, Phi, y):
    """Gradient of :func:`lsq_loss`, ``(1/N) Phi^T (Phi theta - y)``, shape (p,).

    NumPy arrays or torch tensors, like :func:`lsq_loss`.
    """
    theta, Phi, y = _duck(theta, Phi, y)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        grad = Phi.T @ (Phi @ theta - y) / Phi.shape[0]
    return _finite(grad, "lsq_grad")


def _log_sigma(log_sigma, theta):
    """``log_sigma`` as a float, or as a 0-d tensor matching ``theta``'s dtype and device."""
    if not is_torch(log_sigma):
        return real(log_sigma, "log_sigma")
    if not is_torch(theta):
        raise TypeError("log_sigma is a torch tensor but theta, Phi, y are NumPy arrays; "
                        "pass a float or all tensors")
    if log_sigma.ndim != 0:
        raise ValueError(f"log_sigma must be a scalar (0-d), got shape {tuple(log_sigma.shape)}")
    import torch

    if log_sigma.dtype.is_complex or log_sigma.dtype == torch.bool:
        raise TypeError(f"log_sigma must be a real number, got dtype {log_sigma.dtype}")
    if log_sigma.is_floating_point() and log_sigma.dtype != theta.dtype:
        raise TypeError(f"log_sigma and theta must share one floating dtype, got "
                        f"{log_sigma.dtype} and {theta.dtype}")
    if log_sigma.device != theta.device:
        raise ValueError(f"log_sigma must be on theta's device {theta.device}, got "
                         f"{log_sigma.device}")
    if not all_finite(log_sigma):
        raise ValueError(f"log_sigma must be finite, got {log_sigma.item()}")
    return log_sigma.to(theta.dtype)


def gaussian_nll(theta, log_sigma, Phi, y):
    """Negative log-likelihood of ``y_i ~ N(phi_i^T theta, sigma^2)``, i.i.d.

    ``-log p(y | Phi, theta, sigma) = N/2 log(2 pi) + N log sigma
    + ||y - Phi theta||^2 / (2 sigma^2)``, a SUM over the N examples.
    The noise scale enters as ``log_sigma`` (a scalar: float, 0-d array or
    0-d tensor) so that it can be optimised without a positivity constraint.
    ``theta``: (p,); ``Phi``: (N, p); ``y``: (N,). NumPy or torch.
    """
    theta, Phi, y = _duck(theta, Phi, y)
    log_sigma = _log_sigma(log_sigma, theta)
    N = Phi.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        inv_sigma = (-log_sigma).exp() if is_torch(log_sigma) else np.exp(-log_sigma)
        z = (y - Phi @ theta) * inv_sigma
        nll = 0.5 * N * math.log(2 * math.pi) + N * log_sigma + 0.5 * (z * z).sum()
    if not all_finite(nll):
        raise ValueError(f"gaussian_nll overflows: residuals up to "
                         f"{float(abs(y - Phi @ theta).max()):.1e} against sigma = "
                         f"exp({float(log_sigma):.4g}); the noise scale is far too small")
    return nll


# --- geometry and conditioning ---------------------------------------------------------


def hat_matrix(Phi, rtol: float = 1e-12) -> np.ndarray:
    """Orthogonal projection onto the column space of ``Phi``: ``Pi = Phi Phi^+``.

    ``Phi``: (N, p) of any rank; ``0 < rtol < 1``. Returns Pi, shape (N, N),
    symmetric and idempotent; equals ``Phi (Phi^T Phi)^{-1} Phi^T`` for full
    column rank. Built as ``U_r U_r^T`` from the SVD (``U_r``: left singular
    vectors whose singular values exceed ``rtol * s_max``), so ``Phi^T Phi`` is
    never inverted.
    """
    Phi = float_array(Phi, "Phi", (2,))
    rtol = real(rtol, "rtol")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    e = int(_exponent(np.abs(Phi).max()))  # the projection does not depend on the scale
    U, s, _ = np.linalg.svd(np.ldexp(Phi, -e), full_matrices=False)
    U = U[:, s > rtol * s[0]]
    return U @ U.T


def gram_condition(Phi, digits: int | None = None) -> float:
    """Condition number of ``Phi^T Phi`` (2-norm), computed as ``cond(Phi)^2``.

    ``Phi``: (N, p). ``np.linalg.cond(Phi.T @ Phi)`` cannot report values
    beyond about 1e16-1e18 in float64; squaring the condition number of ``Phi``
    reaches further. Returns inf when ``Phi^T Phi`` is singular to working
    precision: p > N, or the smallest singular value of ``Phi`` at most
    ``max(N, p) * u`` times the largest, with ``u = eps`` (2.2e-16) in float64,
    so that the largest finite value is ``(max(N, p) * eps)**-2``, about
    ``2e31 / max(N, p)**2``. For worse matrices pass ``digits`` (16 to 150) to
    compute the singular values with mpmath in that many decimal digits: then
    ``u = 10**-digits`` and the largest finite value is ``(10**digits /
    max(N, p))**2`` (below float64's 1.8e308 for digits <= 150).
    """
    Phi = float_array(Phi, "Phi", (2,))
    if digits is not None:
        digits = integer(digits, "digits", 16, 150)
    N, p = Phi.shape
    if p > N:
        return math.inf
    A = np.ldexp(Phi, -int(_exponent(np.abs(Phi).max())))  # scale-free, exact
    if digits is None:
        s = np.linalg.svd(A, compute_uv=False)
        singular = s[-1] <= max(N, p) * _EPS * s[0]
        return math.inf if singular else float((s[0] / s[-1]) ** 2)
    import mpmath

    with mpmath.workdps(digits):
        s = sorted((abs(v) for v in mpmath.svd_r(mpmath.matrix(A.tolist()), compute_uv=False)),
                   reverse=True)
        singular = s[-1] <= max(N, p) * mpmath.mpf(10) ** -digits * s[0]
        return math.inf if singular else float((s[0] / s[-1]) ** 2)
