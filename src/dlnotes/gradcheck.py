"""Numerical derivatives by central differences, and gradient checks.

Layouts. A *gradient* here is always in denominator layout: it has the shape
of the variable. A *Jacobian* of ``f: R^(in shape) -> R^(out shape)`` is
returned in numerator layout by default, shape ``out.shape + in.shape``, the
same order as ``torch.autograd.functional.jacobian``; pass
``layout="denominator"`` for ``in.shape + out.shape``.

All differences are taken in float64: in float32 the best achievable accuracy
of a central difference is only about 1e-5 (see chapter 02).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlnotes._checks import integer, positive

ArrayFn = Callable[[np.ndarray], "np.ndarray | float"]


def _as_float64(x, name: str = "x") -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    arr = np.array(x, dtype=np.float64, copy=True)
    if arr.ndim == 0:
        arr = arr.reshape(())
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {np.count_nonzero(~np.isfinite(arr))} "
                         f"non-finite entries")
    return arr


def _numpy(value) -> np.ndarray:
    return np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)


def _scalar(value, where: str) -> float:
    out = _numpy(value)
    if out.size != 1:
        raise ValueError(f"{where} must return a scalar (one number), got an array of shape "
                         f"{out.shape}")
    try:
        number = float(out.reshape(()))
    except (TypeError, ValueError):
        raise TypeError(f"{where} must return a number, got {type(value).__name__}") from None
    if not np.isfinite(number):
        raise ValueError(f"{where} must return a finite number, got {number}")
    return number


def numerical_grad(f: ArrayFn, x, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function, shape of ``x``.

    ``(f(x + h e_j) - f(x - h e_j)) / 2h`` for every entry ``j`` of ``x``
    (vector, matrix or any-order array). Truncation error is O(h^2): exact for
    quadratics up to rounding. Costs ``2 * x.size`` evaluations of ``f``.
    """
    h = positive(h, "step h")
    x = _as_float64(x)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        up = _scalar(f(x), "f")
        flat[j] = old - h
        down = _scalar(f(x), "f")
        flat[j] = old
        gflat[j] = (up - down) / (2 * h)
    return grad


def numerical_jacobian(f: ArrayFn, x, h: float = 1e-6, layout: str = "numerator") -> np.ndarray:
    """Central-difference derivative of an array-valued function.

    Returns shape ``out.shape + x.shape`` (``layout="numerator"``, the Jacobian
    ``J[i, j] = d out_i / d x_j``) or ``x.shape + out.shape``
    (``layout="denominator"``, the book's convention, ``J`` transposed).
    """
    if layout not in ("numerator", "denominator"):
        raise ValueError(f"layout must be 'numerator' or 'denominator', got {layout!r}")
    h = positive(h, "step h")
    x = _as_float64(x)
    out_shape = tuple(np.shape(_numpy(f(x))))
    columns = []
    flat = x.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        up = np.asarray(_numpy(f(x)), dtype=np.float64)
        flat[j] = old - h
        down = np.asarray(_numpy(f(x)), dtype=np.float64)
        if up.shape != out_shape or down.shape != out_shape:
            raise ValueError(f"f must return the same shape at every point: {out_shape} at x, "
                             f"{up.shape} and {down.shape} at the shifted points")
        if not (np.all(np.isfinite(up)) and np.all(np.isfinite(down))):
            raise ValueError(f"f must return finite values; got NaN or inf when moving entry {j}")
        flat[j] = old
        columns.append(((up - down) / (2 * h)).reshape(-1))
    # columns[j] holds d out / d x_j: stacking them on the last axis gives out x in.
    jac = np.stack(columns, axis=-1).reshape(out_shape + x.shape)
    if layout == "numerator":
        return jac
    return np.moveaxis(jac, tuple(range(len(out_shape))), tuple(range(x.ndim, jac.ndim)))


def numerical_hessian(grad_f: ArrayFn, x, h: float = 1e-5) -> np.ndarray:
    """Hessian of a scalar function from central differences of its gradient.

    ``grad_f`` returns the (denominator-layout) gradient, shape of ``x``, for a
    vector ``x`` of length n. Returns the n x n matrix ``H[i, j] = d^2 f / dx_i dx_j``.
    It is not symmetrised, so its asymmetry measures the numerical error.
    """
    x = _as_float64(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a vector (1-D), got shape {x.shape}")
    return numerical_jacobian(grad_f, x, h=h, layout="numerator")


def to_denominator(jacobian, in_ndim: int) -> np.ndarray:
    """Numerator layout to denominator layout; the inverse of :func:`to_numerator`.

    ``in_ndim`` is the number of axes of the variable. An array-valued function's
    derivative goes from ``out + in`` axes to ``in + out`` axes; a scalar's
    numerator-layout derivative (the transposed gradient) is transposed back.
    """
    jac = np.asarray(jacobian)
    out_ndim = _check_ndim(jac, in_ndim)
    if out_ndim == 0:
        return jac.T
    return np.moveaxis(jac, tuple(range(out_ndim)), tuple(range(in_ndim, jac.ndim)))


def to_numerator(derivative, in_ndim: int) -> np.ndarray:
    """Denominator layout to numerator layout.

    For an array-valued function, ``in + out`` axes become ``out + in`` (the
    order of ``torch.autograd.functional.jacobian``). For a scalar function the
    numerator layout is the transpose of the gradient: a row for a vector
    variable (indistinguishable in 1-D NumPy), ``n x m`` for an ``m x n`` matrix.
    """
    d = np.asarray(derivative)
    out_ndim = _check_ndim(d, in_ndim)
    if out_ndim == 0:
        return d.T
    return np.moveaxis(d, tuple(range(in_ndim)), tuple(range(out_ndim, d.ndim)))


def _check_ndim(arr: np.ndarray, in_ndim: int) -> int:
    integer(in_ndim, "in_ndim")
    if not 0 <= in_ndim <= arr.ndim:
        raise ValueError(f"in_ndim must be between 0 and {arr.ndim} for an array of shape "
                         f"{arr.shape}, got {in_ndim}")
    return arr.ndim - in_ndim


def rel_error(a, b) -> float:
    """Relative error ``||a - b|| / max(||a||, ||b||)``, 0 when both are zero.

    Symmetric in its arguments. For gradient checks in float64: below 1e-7 is
    good for smooth functions, above 1e-2 the gradient is almost surely wrong.
    """
    a = np.asarray(_numpy(a), dtype=np.float64)
    b = np.asarray(_numpy(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs equal shapes, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("rel_error needs finite inputs, got NaN or inf")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def directional_check(f: ArrayFn, grad, x, n_dirs: int = 5, h: float = 1e-6,
                      seed: int = 0) -> float:
    """Spot-check a gradient along random directions: the largest relative gap
    between ``(f(x + h v) - f(x - h v)) / 2h`` and ``<grad, v>`` over ``n_dirs``
    unit directions ``v``. Costs 2 evaluations a direction instead of 2 an entry."""
    x = _as_float64(x)
    g = _as_float64(grad, "grad")
    if g.shape != x.shape:
        raise ValueError(f"grad must have the shape of x {x.shape} (denominator layout), "
                         f"got {g.shape}")
    h = positive(h, "step h")
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n_dirs):
        v = rng.standard_normal(x.shape)
        v /= np.linalg.norm(v)
        fd = (_scalar(f(x + h * v), "f") - _scalar(f(x - h * v), "f")) / (2 * h)
        an = float(np.sum(g * v))
        worst = max(worst, rel_error(np.array(fd), np.array(an)))
    return worst


@dataclass(frozen=True)
class GradCheck:
    """The outcome of :func:`check_grad`: relative errors against finite
    differences and (when a torch version of ``f`` was given) autograd."""

    fd_error: float
    autograd_error: float | None
    tol: float

    @property
    def passed(self) -> bool:
        errors = [self.fd_error] + ([self.autograd_error] if self.autograd_error is not None
                                    else [])
        return all(e <= self.tol for e in errors)

    def __str__(self) -> str:
        parts = [f"vs finite differences {self.fd_error:.1e}"]
        if self.autograd_error is not None:
            parts.append(f"vs torch autograd {self.autograd_error:.1e}")
        return f"{'PASS' if self.passed else 'FAIL'}: relative error " + ", ".join(parts)


def autograd_grad(f_torch: Callable, x) -> np.ndarray:
    """Gradient of a scalar torch function at ``x`` by reverse-mode autograd, in
    float64 on the CPU, returned as a NumPy array with the shape of ``x``."""
    import torch

    t = torch.tensor(_as_float64(x), dtype=torch.float64, requires_grad=True)
    out = f_torch(t)
    if not (torch.is_tensor(out) and out.numel() == 1):
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(f"f_torch must return a scalar tensor, got {shape}")
    (g,) = torch.autograd.grad(out.reshape(()), t)
    return g.numpy()


def check_grad(f: ArrayFn, grad, x, *, f_torch: Callable | None = None, h: float = 1e-6,
               tol: float = 1e-7) -> GradCheck:
    """Compare an analytic gradient with central differences and, if ``f_torch``
    (the same function written with torch operations) is given, with autograd.

    ``grad`` is either the gradient array at ``x`` or a callable returning it;
    it must have the shape of ``x`` (denominator layout).
    """
    x = _as_float64(x)
    g = _as_float64(grad(x) if callable(grad) else grad, "grad")
    if g.shape != x.shape:
        raise ValueError(f"analytic gradient must have the shape of x {x.shape} "
                         f"(denominator layout), got {g.shape}")
    fd = rel_error(g, numerical_grad(f, x, h=h))
    ag = rel_error(g, autograd_grad(f_torch, x)) if f_torch is not None else None
    return GradCheck(fd, ag, tol)


def taylor_error(f: ArrayFn, grad, x, d, ts) -> np.ndarray:
    """Remainder of the first-order approximation along a direction.

    Returns ``|f(x + t d) - f(x) - t <grad, d>|`` for every step ``t`` in ``ts``
    (1-D, positive). For a twice-differentiable ``f`` it shrinks like ``t**2``
    until rounding error (about ``eps * |f|``) takes over. ``grad`` and ``d``
    have the shape of ``x``.
    """
    x = _as_float64(x)
    g = _as_float64(grad, "grad")
    d = _as_float64(d, "d")
    for name, arr in (("grad", g), ("d", d)):
        if arr.shape != x.shape:
            raise ValueError(f"{name} must have the shape of x {x.shape}, got {arr.shape}")
    ts = _as_float64(ts, "ts")
    if ts.ndim != 1 or ts.size == 0 or np.any(ts <= 0):
        raise ValueError(f"ts must be a non-empty 1-D array of positive steps, got shape "
                         f"{ts.shape} with minimum {ts.min() if ts.size else None}")
    f0, slope = _scalar(f(x), "f"), float(np.sum(g * d))
    return np.array([abs(_scalar(f(x + t * d), "f") - f0 - t * slope) for t in ts])


def step_size_errors(f: Callable, df: Callable, x: float, hs, dtype=np.float64) -> np.ndarray:
    """Relative error of the central difference of a scalar function of one
    variable, for every step in ``hs``, with the arithmetic done in ``dtype``.

    ``f`` must compute in the dtype of its argument (NumPy ufuncs such as
    ``np.sin`` do); ``df`` is the exact derivative, evaluated in float64.
    Shows the trade-off between truncation (``~h**2``) and rounding
    (``~eps / h``) errors; the best ``h`` is near ``eps ** (1/3)``.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    hs = _as_float64(hs, "hs")
    if hs.ndim != 1 or np.any(hs <= 0):
        raise ValueError(f"hs must be a 1-D array of positive steps, got shape {hs.shape}")
    exact = float(df(float(x)))
    if exact == 0:
        raise ValueError(f"df(x) is 0 at x = {x}; a relative error is undefined there")
    xd = dtype.type(x)
    errors = []
    for h in hs:
        hd = dtype.type(h)
        quotient = (f(xd + hd) - f(xd - hd)) / (dtype.type(2) * hd)
        errors.append(abs(float(quotient) - exact) / abs(exact))
    return np.array(errors)
