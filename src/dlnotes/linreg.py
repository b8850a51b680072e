"""Linear least squares: features, closed-form fits, losses and their gradients.

Conventions (whole book). Examples are the ROWS of the design matrix
``Phi`` (N x p); the constant feature comes first; ``theta`` has shape (p,);
gradients have the shape of their variable (denominator layout). Residuals
are ``r = y - Phi @ theta``. Everything is float64.

``lsq_loss``, ``lsq_grad`` and ``gaussian_nll`` are written with ``@`` and
``.sum()`` only, so they accept NumPy arrays and torch tensors alike (on any
device); on tensors they are differentiable by autograd.
"""

from __future__ import annotations

import math

import numpy as np

from dlnotes._checks import all_finite, integer, is_torch, nonnegative, positive

# --- input checks -------------------------------------------------------------------


def _array(a, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """``a`` as a float64 NumPy array with one of the allowed ``ndim``, all finite."""
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from err
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf entries")
    return arr


def _phi_y(Phi, y, y_ndim=(1,)) -> tuple[np.ndarray, np.ndarray]:
    Phi = _array(Phi, "Phi", (2,))
    y = _array(y, "y", y_ndim)
    if y.shape[0] != Phi.shape[0]:
        raise ValueError(f"Phi and y must have the same number of rows (examples): "
                         f"Phi has {Phi.shape[0]} (shape {Phi.shape}), y has {y.shape[0]} "
                         f"(shape {y.shape})")
    return Phi, y


def _check_duck(theta, Phi, y) -> None:
    """Shape and finiteness checks that work for NumPy arrays and torch tensors."""
    for name, a in (("theta", theta), ("Phi", Phi), ("y", y)):
        if not hasattr(a, "shape"):
            raise TypeError(f"{name} must be a NumPy array or torch tensor, "
                            f"got {type(a).__name__}")
    if len(Phi.shape) != 2:
        raise ValueError(f"Phi must be 2-D (N x p), got shape {tuple(Phi.shape)}")
    N, p = Phi.shape
    if tuple(theta.shape) != (p,):
        raise ValueError(f"theta must have shape ({p},) to match Phi {tuple(Phi.shape)}, "
                         f"got {tuple(theta.shape)}")
    if tuple(y.shape) != (N,):
        raise ValueError(f"y must have shape ({N},) to match Phi {tuple(Phi.shape)}, "
                         f"got {tuple(y.shape)}")
    if N == 0:
        raise ValueError("Phi must have at least one row, got 0")
    for name, a in (("Phi", Phi), ("y", y)):
        if not all_finite(a):
            raise ValueError(f"{name} must be finite, got NaN/inf entries")


# --- features -----------------------------------------------------------------------


def design_matrix(x) -> np.ndarray:
    """The affine design matrix ``[1, X]``.

    ``x``: shape (N,) for one input or (N, d). Returns shape (N, 1 + d), the
    ones column first.
    """
    x = _array(x, "x", (1, 2))
    X = x.reshape(-1, 1) if x.ndim == 1 else x
    return np.hstack([np.ones((X.shape[0], 1)), X])


def polynomial_features(x, degree: int) -> np.ndarray:
    """Monomials ``[1, x, x^2, ..., x^M]`` of a scalar input.

    ``x``: shape (N,) or (N, 1); ``degree`` M >= 0. Returns the Vandermonde
    matrix, shape (N, M + 1), constant column first.
    """
    degree = integer(degree, "degree", 0)
    x = _array(x, "x", (1, 2))
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(f"x must have shape (N,) or (N, 1), got {x.shape}")
        x = x[:, 0]
    return np.vander(x, degree + 1, increasing=True)


# --- closed-form fits ---------------------------------------------------------------


def fit_normal_equations(Phi, y) -> np.ndarray:
    """Solve the normal equations ``Phi^T Phi theta = Phi^T y``.

    ``Phi``: (N, p) with full column rank; ``y``: (N,) or (N, K).
    Returns theta, shape (p,) or (p, K). Uses a linear solve, never an explicit
    inverse; forming ``Phi^T Phi`` squares the condition number, so prefer
    :func:`fit_lstsq` for ill-conditioned features.
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    gram = Phi.T @ Phi
    if np.linalg.matrix_rank(Phi) < Phi.shape[1]:
        raise np.linalg.LinAlgError(
            f"Phi^T Phi is singular: Phi {Phi.shape} has rank {np.linalg.matrix_rank(Phi)} "
            f"< p = {Phi.shape[1]}; use fit_lstsq for the minimum-norm solution")
    return np.linalg.solve(gram, Phi.T @ y)


def fit_lstsq(Phi, y) -> np.ndarray:
    """Least squares by SVD (``np.linalg.lstsq``): the minimum-norm minimiser.

    ``Phi``: (N, p) of any rank; ``y``: (N,) or (N, K). Returns theta, shape
    (p,) or (p, K), equal to ``pinv(Phi) @ y``.
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    return np.linalg.lstsq(Phi, y, rcond=None)[0]


def fit_ridge(Phi, y, lam: float) -> np.ndarray:
    """Ridge regression: minimiser of ``1/2 ||y - Phi theta||^2 + lam/2 ||theta||^2``.

    ``Phi``: (N, p); ``y``: (N,) or (N, K); ``lam`` >= 0 (every coefficient,
    the constant included, is penalised). Returns theta, shape (p,) or (p, K),
    from ``(Phi^T Phi + lam I) theta = Phi^T y`` (solved via an augmented lstsq,
    so lam = 0 gives the minimum-norm least-squares fit).
    """
    Phi, y = _phi_y(Phi, y, (1, 2))
    lam = nonnegative(lam, "lam")
    p = Phi.shape[1]
    # [Phi; sqrt(lam) I] theta ~ [y; 0] has exactly the ridge normal equations.
    A = np.vstack([Phi, math.sqrt(lam) * np.eye(p)])
    b = np.concatenate([y, np.zeros((p,) + y.shape[1:])])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def fit_tls(x, y) -> tuple[float, float]:
    """Total least squares (orthogonal regression) line ``y = a x + b``.

    Minimises the sum of squared PERPENDICULAR distances. ``x``, ``y``: shape
    (N,), N >= 2. The line passes through the centroid with the direction of
    the leading right singular vector of the centred data. Returns
    ``(slope, intercept)``. Raises ValueError for a vertical best line.
    """
    x = _array(x, "x", (1,))
    y = _array(y, "y", (1,))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError(f"fit_tls needs at least 2 points, got {x.size}")
    Z = np.column_stack([x - x.mean(), y - y.mean()])
    _, _, Vt = np.linalg.svd(Z, full_matrices=False)
    vx, vy = Vt[0]
    if abs(vx) <= 1e-15 * abs(vy):
        raise ValueError("the total-least-squares line is vertical (all x equal?); "
                         "its slope is undefined")
    slope = vy / vx
    return float(slope), float(y.mean() - slope * x.mean())


def fit_lad(Phi, y, *, iters: int = 200, tol: float = 1e-10, delta: float = 1e-8) -> np.ndarray:
    """Least absolute deviations, ``min sum_i |y_i - phi_i^T theta|``, by IRLS.

    Iteratively reweighted least squares: weight ``1 / max(|r_i|, delta)``
    turns ``|r_i|`` into ``r_i^2 / |r_i|``. Starts at the least-squares fit.
    ``Phi``: (N, p); ``y``: (N,). Returns theta, shape (p,).
    """
    Phi, y = _phi_y(Phi, y)
    theta = fit_lstsq(Phi, y)
    for _ in range(iters):
        w = 1.0 / np.maximum(np.abs(y - Phi @ theta), delta)
        sw = np.sqrt(w)
        new = np.linalg.lstsq(Phi * sw[:, None], y * sw, rcond=None)[0]
        if np.linalg.norm(new - theta) <= tol * (1 + np.linalg.norm(theta)):
            return new
        theta = new
    return theta


def fit_gd(Phi, y, eta: float, steps: int, theta0=None) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent on :func:`lsq_loss`, ``theta <- theta - eta * lsq_grad``.

    ``Phi``: (N, p); ``y``: (N,); ``theta0``: (p,) (default zeros).
    Returns ``(theta, losses)`` with ``losses`` of shape (steps + 1,), the loss
    before each step and after the last. Converges iff
    ``0 < eta < 2 / lambda_max(Phi^T Phi / N)``; otherwise the loss grows
    (it stays finite until it overflows, where iteration stops with inf).
    """
    Phi, y = _phi_y(Phi, y)
    steps = integer(steps, "steps", 0)
    eta = positive(eta, "eta")
    theta = np.zeros(Phi.shape[1]) if theta0 is None else _array(theta0, "theta0", (1,)).copy()
    if theta.shape != (Phi.shape[1],):
        raise ValueError(f"theta0 must have shape ({Phi.shape[1]},), got {theta.shape}")
    losses = np.full(steps + 1, np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            losses[t] = lsq_loss(theta, Phi, y) if np.all(np.isfinite(theta)) else np.inf
            if t == steps or not np.isfinite(losses[t]):
                break
            theta = theta - eta * lsq_grad(theta, Phi, y)
    return theta, losses


# --- losses (NumPy or torch) -----------------------------------------------------------


def lsq_loss(theta, Phi, y):
    """Mean least-squares loss ``L = 1/(2N) ||y - Phi theta||^2``.

    ``theta``: (p,); ``Phi``: (N, p); ``y``: (N,). NumPy arrays or torch
    tensors (differentiable). Returns a scalar of the same kind.
    """
    _check_duck(theta, Phi, y)
    r = y - Phi @ theta
    return (r * r).sum() / (2 * Phi.shape[0])


def lsq_grad(theta, Phi, y):
    """Gradient of :func:`lsq_loss`, ``(1/N) Phi^T (Phi theta - y)``, shape (p,).

    NumPy arrays or torch tensors, like :func:`lsq_loss`.
    """
    _check_duck(theta, Phi, y)
    return Phi.T @ (Phi @ theta - y) / Phi.shape[0]


def gaussian_nll(theta, log_sigma, Phi, y):
    """Negative log-likelihood of ``y_i ~ N(phi_i^T theta, sigma^2)``, i.i.d.

    ``-log p(y | Phi, theta, sigma) = N/2 log(2 pi) + N log sigma
    + ||y - Phi theta||^2 / (2 sigma^2)``, a SUM over the N examples.
    The noise scale enters as ``log_sigma`` (a scalar: float, 0-d array or
    0-d tensor) so that it can be optimised without a positivity constraint.
    ``theta``: (p,); ``Phi``: (N, p); ``y``: (N,). NumPy or torch.
    """
    _check_duck(theta, Phi, y)
    if hasattr(log_sigma, "shape") and tuple(log_sigma.shape) not in ((), (1,)):
        raise ValueError(f"log_sigma must be a scalar, got shape {tuple(log_sigma.shape)}")
    if not all_finite(log_sigma):
        raise ValueError(f"log_sigma must be finite, got {log_sigma!r}")
    N = Phi.shape[0]
    r = y - Phi @ theta
    if is_torch(log_sigma):
        inv_var = (-2 * log_sigma).exp()
    else:
        inv_var = np.exp(-2 * np.asarray(log_sigma, dtype=np.float64))
    nll = 0.5 * N * math.log(2 * math.pi) + N * log_sigma + 0.5 * (r * r).sum() * inv_var
    return nll.reshape(()) if hasattr(nll, "reshape") else nll


# --- geometry and conditioning ---------------------------------------------------------


def hat_matrix(Phi, rtol: float = 1e-12) -> np.ndarray:
    """Orthogonal projection onto the column space of ``Phi``: ``Pi = Phi Phi^+``.

    ``Phi``: (N, p) of any rank. Returns Pi, shape (N, N), symmetric and
    idempotent; equals ``Phi (Phi^T Phi)^{-1} Phi^T`` for full column rank.
    Built as ``U_r U_r^T`` from the SVD (``U_r``: left singular vectors whose
    singular values exceed ``rtol * s_max``), so ``Phi^T Phi`` is never inverted.
    """
    Phi = _array(Phi, "Phi", (2,))
    U, s, _ = np.linalg.svd(Phi, full_matrices=False)
    U = U[:, s > rtol * s[0]]
    return U @ U.T


def gram_condition(Phi, digits: int | None = None) -> float:
    """Condition number of ``Phi^T Phi`` (2-norm), computed as ``cond(Phi)^2``.

    ``Phi``: (N, p). ``np.linalg.cond(Phi.T @ Phi)`` cannot report values
    beyond about 1e16-1e18 in float64; squaring the condition number of ``Phi``
    reaches further. For still worse matrices pass ``digits`` (e.g. 60) to
    compute the singular values in that many decimal digits with mpmath.
    Returns inf for a rank-deficient ``Phi``.
    """
    Phi = _array(Phi, "Phi", (2,))
    if digits is None:
        s = np.linalg.svd(Phi, compute_uv=False)
        return float(np.inf) if s[-1] == 0 else float((s[0] / s[-1]) ** 2)
    import mpmath

    with mpmath.workdps(int(digits)):
        A = mpmath.matrix(Phi.tolist())
        s = mpmath.svd_r(A, compute_uv=False)
        s = sorted((abs(v) for v in s), reverse=True)
        return float(np.inf) if s[-1] == 0 else float((s[0] / s[-1]) ** 2)
