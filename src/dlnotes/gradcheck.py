"""Numerical derivatives by central differences, and gradient checks.

Layouts. A *gradient* here is always in denominator layout: it has the shape
of the variable. A *Jacobian* of ``f: R^(in shape) -> R^(out shape)`` is
returned in numerator layout by default, shape ``out.shape + in.shape``, the
same order as ``torch.autograd.functional.jacobian``; pass
``layout="denominator"`` for ``in.shape + out.shape``.

Steps. The step ``h`` of every difference is *relative*: entry ``j`` of ``x``
moves by ``h_j = h * max(|x_j|, s)``, where ``s`` is the root-mean-square size
of ``x`` (1 when ``x`` is all zeros). One absolute step cannot serve every
magnitude: rounding error of a central difference is about ``eps * |f| / h``
and truncation error about ``h**2`` times a third derivative, and both scale
with ``x``. With a relative step the checks give the same verdict at
``|x| = 1e-150``, ``1`` and ``1e150`` (chapter 02).

All differences are taken in float64: in float32 the best achievable accuracy
of a central difference is only about 1e-5 (see chapter 02). ``f`` receives a
float64 NumPy array of the shape of ``x`` and must return a number computed in
float64 (a float32 result is refused).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlnotes._checks import (callable_, choice, float_array, integer, is_torch, positive, real,
                             rng, to_numpy)

ArrayFn = Callable[[np.ndarray], "np.ndarray | float"]

EPS = float(np.finfo(np.float64).eps)
# Default pass mark of check_grad for a float64 gradient; lower-precision gradients get
# 100 times their own machine epsilon (1.2e-5 for float32), see _default_tol.
TOL64 = 1e-7


# --- arguments ----------------------------------------------------------------------------

def _variable(x, name: str = "x") -> np.ndarray:
    """``x`` (number, list, array or tensor) as float64, finite, not empty (never written to)."""
    return float_array(x, name)


def _relative_step(h, name: str = "h") -> float:
    h = positive(h, name)
    if not EPS < h < 1:
        raise ValueError(f"{name} is a relative step and must lie between {EPS:.1e} (float64 "
                         f"rounding) and 1, got {h!r}")
    return h


def _entry(j: tuple) -> str:
    return str(j[0]) if len(j) == 1 else str(j)


def _gradient(grad, x: np.ndarray, name: str = "grad") -> np.ndarray:
    """The candidate gradient (an array, or a callable evaluated at ``x``) as float64."""
    raw = grad(x.copy()) if callable(grad) else grad
    g = float_array(raw, name)
    if g.shape != x.shape:
        raise ValueError(f"{name} must have the shape of x {x.shape} (denominator layout), "
                         f"got {g.shape}")
    return g


def _precision(a) -> float:
    """Machine epsilon of the floating dtype of ``a``; float64's for anything else."""
    if is_torch(a):
        import torch

        return float(torch.finfo(a.dtype).eps) if a.is_floating_point() else EPS
    dtype = np.asarray(a).dtype
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else EPS


def _default_tol(raw_grad) -> float:
    eps = _precision(raw_grad)
    if eps > 1e-5:   # float16, bfloat16
        raise TypeError(f"grad has machine epsilon {eps:.1e} (half precision): its rounding "
                         f"alone hides all but gross errors; compute it in float32 or float64, "
                         f"or pass tol explicitly")
    return max(TOL64, 100 * eps)


def _tolerance(tol, raw_grad) -> float:
    if tol is None:
        return _default_tol(raw_grad)
    tol = positive(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be < 1 (rel_error of a zero gradient is 1, so tol >= 1 "
                         f"would pass it), got {tol!r}")
    return tol


# --- values that f returns ---------------------------------------------------------------

def _values(value, fname: str, at: str) -> np.ndarray:
    """What ``f`` returned, as a float64 array: real, computed in float64, finite."""
    arr = np.asarray(to_numpy(value))
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{fname} must return real numbers, got {type(value).__name__} "
                        f"of dtype {arr.dtype} {at}")
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
        raise TypeError(f"{fname} must compute in float64, got {arr.dtype} {at}: in float32 a "
                        f"central difference is accurate to about 1e-5 at best (chapter 02)")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        where = f" in output entry {tuple(int(i) for i in bad[0])}" if arr.ndim else ""
        raise ValueError(f"{fname} must return finite values, got {arr[~np.isfinite(arr)][0]}"
                         f"{where} {at}")
    return arr


def _scalar(value, fname: str, at: str) -> float:
    arr = _values(value, fname, at)
    if arr.size != 1:
        raise ValueError(f"{fname} must return a scalar (one number), got an array of shape "
                         f"{arr.shape} {at}")
    return float(arr.reshape(()))


# --- steps -------------------------------------------------------------------------------

def _norm(v: np.ndarray) -> float:
    """Euclidean norm without overflow or underflow: scaled by the largest entry first."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    return 0.0 if m == 0 else m * float(np.sqrt(np.sum((v / m) ** 2)))


def _scale(x: np.ndarray) -> float:
    """Root-mean-square size of ``x``; 1 when ``x`` is all zeros."""
    return _norm(x) / np.sqrt(x.size) or 1.0


def _shifted(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """The points ``x_j + h_j`` and ``x_j - h_j``, entry by entry, as float64 rounds them.

    ``h_j = h * max(|x_j|, rms(x))``: relative to the entry, and never smaller than
    ``h`` times the typical size of ``x``, so that a zero or tiny entry still gets a step
    large enough for ``f`` to notice (a tiny step would drown in the rounding error
    ``eps * |f| / h_j``).
    """
    step = h * np.maximum(np.abs(x), _scale(x))
    with np.errstate(over="ignore"):
        up, down = x + step, x - step
    bad = ~(np.isfinite(up) & np.isfinite(down))
    if bad.any():
        j = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"x{list(j)} = {x[j]:.3e} is too close to the largest float64 to take "
                         f"a step from it; rescale the variable")
    if np.any(up - down <= 0):
        raise ValueError(f"x is too small to take a step from (largest |x| is "
                         f"{np.max(np.abs(x)):.1e}, below the smallest normal float64); "
                         f"rescale the variable")
    return up, down


def _moved(x: np.ndarray, j: tuple, points: np.ndarray) -> np.ndarray:
    y = x.copy()
    y[j] = points[j]
    return y


# --- numerical derivatives ---------------------------------------------------------------

def numerical_grad(f: ArrayFn, x, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function, shape of ``x``.

    For every entry ``j`` of ``x`` (vector, matrix or any-order array)
    ``(f(x + h_j e_j) - f(x - h_j e_j)) / 2h_j`` with the *relative* step
    ``h_j = h * max(|x_j|, s)``, ``s`` the root-mean-square size of ``x`` (1 when
    ``x = 0``). The division is by the distance between the two points actually
    evaluated, as float64 rounded them. Truncation error is O(h^2): exact for
    quadratics up to rounding. Costs ``2 * x.size`` evaluations of ``f``.
    """
    f, x, h = callable_(f, "f"), _variable(x), _relative_step(h)
    up, down = _shifted(x, h)
    grad = np.empty_like(x)
    for j in np.ndindex(x.shape):
        f_up = _scalar(f(_moved(x, j, up)), "f", f"at x + step in entry {_entry(j)}")
        f_down = _scalar(f(_moved(x, j, down)), "f", f"at x - step in entry {_entry(j)}")
        grad[j] = (f_up - f_down) / (up[j] - down[j])
    return grad


def _jacobian(f, x: np.ndarray, h: float, fname: str) -> np.ndarray:
    """Numerator-layout Jacobian, shape ``out.shape + x.shape``."""
    up, down = _shifted(x, h)
    out_shape = _values(f(x.copy()), fname, "at x").shape
    jac = np.empty(out_shape + x.shape)
    for j in np.ndindex(x.shape):
        pair = []
        for sign, points in (("+", up), ("-", down)):
            at = f"at x {sign} step in entry {_entry(j)}"
            value = _values(f(_moved(x, j, points)), fname, at)
            if value.shape != out_shape:
                raise ValueError(f"{fname} must return the same shape at every point: "
                                 f"{out_shape} at x, {value.shape} {at}")
            pair.append(value)
        jac[(Ellipsis, *j)] = (pair[0] - pair[1]) / (up[j] - down[j])
    return jac


def numerical_jacobian(f: ArrayFn, x, h: float = 1e-6, layout: str = "numerator") -> np.ndarray:
    """Central-difference derivative of an array-valued function.

    Returns shape ``out.shape + x.shape`` (``layout="numerator"``, the Jacobian
    ``J[i, j] = d out_i / d x_j``) or ``x.shape + out.shape``
    (``layout="denominator"``, the book's convention, ``J`` transposed). For a
    scalar ``f`` both are the gradient, shape of ``x``. ``h`` is the relative
    step of :func:`numerical_grad`.
    """
    f, x, h = callable_(f, "f"), _variable(x), _relative_step(h)
    layout = choice(layout, "layout", ("numerator", "denominator"))
    jac = _jacobian(f, x, h, "f")
    out_ndim = jac.ndim - x.ndim
    if layout == "numerator" or out_ndim == 0:   # a scalar's derivative: the shape of x
        return jac
    return np.moveaxis(jac, tuple(range(out_ndim)), tuple(range(x.ndim, jac.ndim)))


def numerical_hessian(grad_f: ArrayFn, x, h: float = 1e-5) -> np.ndarray:
    """Hessian of a scalar function from central differences of its gradient.

    ``grad_f`` returns the (denominator-layout) gradient, shape of ``x``, for a
    vector ``x`` of length n. Returns the n x n matrix ``H[i, j] = d^2 f / dx_i dx_j``.
    ``h`` is the relative step of :func:`numerical_grad`. The result is not
    symmetrised, so its asymmetry measures the numerical error.
    """
    grad_f, x, h = callable_(grad_f, "grad_f"), _variable(x), _relative_step(h)
    if x.ndim != 1:
        raise ValueError(f"x must be a vector (1-D) for a Hessian matrix, got shape {x.shape}")
    g = _values(grad_f(x.copy()), "grad_f", "at x")
    if g.shape != x.shape:
        raise ValueError(f"grad_f must return a gradient of the shape of x {x.shape}, "
                         f"got {g.shape}")
    return _jacobian(grad_f, x, h, "grad_f")


# --- layouts -----------------------------------------------------------------------------

def to_denominator(jacobian, in_ndim: int) -> np.ndarray:
    """Numerator layout to denominator layout; the inverse of :func:`to_numerator`.

    ``in_ndim`` is the number of axes of the variable. An array-valued function's
    derivative goes from ``out + in`` axes to ``in + out`` axes; a scalar's
    numerator-layout derivative (the transposed gradient) is transposed back.
    """
    jac = float_array(jacobian, "jacobian", allow_empty=True)
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
    d = float_array(derivative, "derivative", allow_empty=True)
    out_ndim = _check_ndim(d, in_ndim)
    if out_ndim == 0:
        return d.T
    return np.moveaxis(d, tuple(range(in_ndim)), tuple(range(out_ndim, d.ndim)))


def _check_ndim(arr: np.ndarray, in_ndim: int) -> int:
    in_ndim = integer(in_ndim, "in_ndim")
    if not 0 <= in_ndim <= arr.ndim:
        raise ValueError(f"in_ndim must be between 0 and {arr.ndim} for an array of shape "
                         f"{arr.shape}, got {in_ndim}")
    return arr.ndim - in_ndim


# --- comparisons -------------------------------------------------------------------------

def rel_error(a, b) -> float:
    """Relative error ``||a - b|| / max(||a||, ||b||)``, 0 when both are zero.

    Symmetric in its arguments, between 0 and 2, 0 only when ``a == b``, and
    unchanged when both are multiplied by the same number: the norms are taken
    after dividing by the largest absolute entry, so nothing overflows or
    underflows (``rel_error([1e-170], [3e-170])`` is 2/3). For gradient checks
    in float64: below 1e-7 is good for smooth functions, above 1e-2 the
    gradient is almost surely wrong.
    """
    a, b = float_array(a, "a"), float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got a {a.shape} and b {b.shape}")
    m = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    if m == 0:
        return 0.0
    a, b = a / m, b / m
    return _norm(a - b) / max(_norm(a), _norm(b))


def _directions(gen: np.random.Generator, k: int, n: int) -> np.ndarray:
    """``k`` random unit vectors in R^n, orthonormal in blocks of up to ``n``."""
    blocks, done = [], 0
    while done < k:
        q, _ = np.linalg.qr(gen.standard_normal((n, min(n, k - done))))
        blocks.append(q.T)
        done += q.shape[1]
    return np.concatenate(blocks)


def directional_check(f: ArrayFn, grad, x, n_dirs: int = 5, h: float = 1e-6,
                      seed: int | None = 0) -> float:
    """Spot-check a gradient along random directions; returns a relative error.

    Draws ``n_dirs`` random unit directions ``v_k`` (orthonormal while
    ``n_dirs <= x.size``) and compares the vector of directional derivatives
    ``<grad, v_k>`` with the vector of central differences
    ``(f(x + r v_k) - f(x - r v_k)) / 2r`` by :func:`rel_error`. The step length
    is relative, ``r = h * ||x||`` (``h`` when ``x = 0``), and the differences use
    the displacement float64 actually made. Comparing the whole vector, not each
    direction alone, keeps a direction nearly orthogonal to the gradient from
    failing a right one. The number reads like :func:`check_grad`'s: for a
    mistake ``e`` in the gradient it is about ``||e|| / ||grad||``, exactly so in a
    rotated basis when ``n_dirs >= x.size``; with fewer directions a mistake is
    seen through its projection on them. Costs 2 evaluations of ``f`` a
    direction instead of 2 an entry. ``grad`` is an array of the shape of ``x``
    or a callable returning one. ``seed``: an int >= 0 draws the same directions
    every call, ``None`` fresh ones.
    """
    f, x = callable_(f, "f"), _variable(x)
    g = _gradient(grad, x)
    n_dirs, h = integer(n_dirs, "n_dirs", 1), _relative_step(h)
    gen = rng(seed)
    r = h * (_norm(x) or 1.0)
    analytic, numeric = np.empty(n_dirs), np.empty(n_dirs)
    for k, v in enumerate(_directions(gen, n_dirs, x.size)):
        with np.errstate(over="ignore"):
            up, down = x + r * v.reshape(x.shape), x - r * v.reshape(x.shape)
        if not (np.all(np.isfinite(up)) and np.all(np.isfinite(down))):
            raise ValueError(f"x is too close to the largest float64 to take a step from it "
                             f"(largest |x| is {np.max(np.abs(x)):.1e}); rescale the variable")
        step = up - down
        length = _norm(step)
        at = f"at x {{}} step along random direction {k}"
        numeric[k] = (_scalar(f(up), "f", at.format("+")) - _scalar(f(down), "f", at.format("-"))
                      ) / length
        analytic[k] = float(np.sum(g * (step / length)))
    return rel_error(analytic, numeric)


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
    float64 on the CPU, returned as a NumPy array with the shape of ``x``.

    ``f_torch`` receives a float64 CPU tensor that requires grad; constants it
    uses must be float64 CPU tensors too.
    """
    import torch

    f_torch, x = callable_(f_torch, "f_torch"), _variable(x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    try:
        out = f_torch(t)
    except RuntimeError as err:
        raise RuntimeError(f"f_torch failed on a float64 CPU tensor of shape {tuple(x.shape)} "
                           f"(make its constants float64 CPU tensors too): {err}") from err
    if not torch.is_tensor(out):
        raise TypeError(f"f_torch must return a torch tensor, got {type(out).__name__}")
    if out.numel() != 1:
        raise ValueError(f"f_torch must return a scalar tensor, got {tuple(out.shape)}")
    if out.dtype != torch.float64:
        raise TypeError(f"f_torch must compute in float64, got {out.dtype}")
    if not torch.isfinite(out.detach()).all():
        raise ValueError(f"f_torch must return a finite value, got {out.item()}")
    (g,) = (torch.autograd.grad(out.reshape(()), t, allow_unused=True) if out.requires_grad
            else (None,))
    if g is None:
        raise ValueError("f_torch's value does not depend on its argument through torch "
                         "operations (no grad_fn): did it call .item(), .detach() or NumPy?")
    if not torch.isfinite(g).all():
        raise ValueError("f_torch's gradient by autograd has NaN or inf entries")
    return g.numpy()


def _noise_warning(f, x: np.ndarray, h: float, fd: np.ndarray, tol: float) -> None:
    """Warn when rounding in f, about eps * |f| per value, is comparable to tol."""
    f0 = abs(_scalar(f(x.copy()), "f", "at x"))
    up, down = _shifted(x, h)
    noise = _norm(EPS * f0 / (up - down))
    size = _norm(fd)
    if noise > 0.5 * tol * size:
        seen = (f"is about {noise / size:.1e} of the gradient's size" if size
                else "hides every change of f: the differences are all zero")
        warnings.warn(f"check_grad: rounding noise of the finite differences {seen}, not "
                      f"small against tol = {tol:.1e}, so the verdict is unreliable. "
                      f"|f(x)| = {f0:.3e} is large compared with its changes over a step: a "
                      f"point where the gradient is (nearly) zero, or a large constant in f. "
                      f"Check at another point, or subtract the constant.", RuntimeWarning,
                      stacklevel=3)


def check_grad(f: ArrayFn, grad, x, *, f_torch: Callable | None = None, h: float = 1e-6,
               tol: float | None = None) -> GradCheck:
    """Compare an analytic gradient with central differences and, if ``f_torch``
    (the same function written with torch operations) is given, with autograd.

    ``grad`` is either the gradient array at ``x`` or a callable returning it;
    it must have the shape of ``x`` (denominator layout). ``h`` is the relative
    step of :func:`numerical_grad`. The check passes when every relative error
    is at most ``tol``, which must lie in (0, 1); by default 1e-7 for a float64
    (or integer) gradient and 100 machine epsilons of its dtype otherwise
    (1.2e-5 for float32; a half-precision gradient needs an explicit ``tol``).
    It then fails every gradient whose relative error is above ``tol`` plus the
    error of the finite differences (about 1e-9 for smooth functions, so twice
    ``tol`` is always caught). A RuntimeWarning says when rounding in ``f`` is
    too large for a verdict at ``tol`` (a large constant in ``f``, or a point
    where the gradient is nearly zero).
    """
    f, x, h = callable_(f, "f"), _variable(x), _relative_step(h)
    if f_torch is not None:
        callable_(f_torch, "f_torch")
    raw = grad(x.copy()) if callable(grad) else grad
    g = _gradient(raw, x)
    tol = _tolerance(tol, raw)
    fd = numerical_grad(f, x, h)
    _noise_warning(f, x, h, fd, tol)
    ag = rel_error(g, autograd_grad(f_torch, x)) if f_torch is not None else None
    return GradCheck(rel_error(g, fd), ag, tol)


def taylor_error(f: ArrayFn, grad, x, d, ts) -> np.ndarray:
    """Remainder of the first-order approximation along a direction.

    Returns ``|f(x + dx) - f(x) - <grad, dx>|`` for the step
    ``dx = t * ||x|| * d / ||d||`` (``||x||`` read as 1 when ``x = 0``) for every
    ``t`` in ``ts`` (1-D, positive): ``t`` is the length of the step relative
    to the length of ``x``, and ``dx`` is the displacement float64 actually
    made. For a twice-differentiable ``f`` the remainder shrinks like ``t**2``
    until rounding error (about ``eps * |f|``) takes over; a wrong gradient
    leaves a remainder that shrinks like ``t``. ``grad`` (an array or a callable
    returning one) and ``d`` (not zero) have the shape of ``x``.
    """
    f, x = callable_(f, "f"), _variable(x)
    g = _gradient(grad, x)
    d = float_array(d, "d")
    if d.shape != x.shape:
        raise ValueError(f"d must have the shape of x {x.shape}, got {d.shape}")
    if not np.any(d):
        raise ValueError("d must be a direction, got all zeros")
    ts = float_array(ts, "ts", (1,))
    if np.any(ts <= 0):
        raise ValueError(f"ts must hold positive steps, got minimum {float(ts.min())!r}")
    unit = d / _norm(d)
    f0 = _scalar(f(x.copy()), "f", "at x")
    out = []
    for t in ts:
        with np.errstate(over="ignore", invalid="ignore"):
            moved = x + (t * (_norm(x) or 1.0)) * unit
        if not np.all(np.isfinite(moved)):
            raise ValueError(f"ts holds a step t = {float(t)!r} that leaves the float64 range "
                             f"from x")
        dx = moved - x
        value = _scalar(f(moved), "f", f"at x + t d for t = {float(t)!r}")
        out.append(abs(value - f0 - float(np.sum(g * dx))))
    return np.array(out)


def _float_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy floating dtype (np.float32 or np.float64), "
                        f"got {type(dtype).__name__} {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def step_size_errors(f: Callable, df: Callable, x: float, hs, dtype=np.float64) -> np.ndarray:
    """Relative error of the central difference of a scalar function of one
    variable, for every (absolute) step in ``hs``, with the arithmetic done in
    ``dtype``.

    ``f`` must compute in the dtype of its argument (NumPy ufuncs such as
    ``np.sin`` do); ``df`` is the exact derivative, evaluated in float64.
    Shows the trade-off between truncation (``~h**2``) and rounding
    (``~eps |f| / h``) errors; for ``x`` and ``f`` of order one the best ``h`` is
    near ``eps ** (1/3)`` (and scales with ``|x|`` beyond, which is why the
    other functions of this module take relative steps).
    """
    f, df = callable_(f, "f"), callable_(df, "df")
    x = real(x, "x")
    hs = float_array(hs, "hs", (1,))
    if np.any(hs <= 0):
        raise ValueError(f"hs must hold positive steps, got minimum {float(hs.min())!r}")
    dtype = _float_dtype(dtype)
    exact = _scalar(df(x), "df", f"at x = {x}")
    if exact == 0:
        raise ValueError(f"df(x) is 0 at x = {x}; a relative error is undefined there")
    xd = dtype.type(x)
    errors = []
    for h in hs:
        hd = dtype.type(h)
        if hd == 0:
            raise ValueError(f"hs holds a step {float(h)!r} that is 0 in {dtype}")
        with np.errstate(all="ignore"):   # a NaN or inf is reported just below
            up, down = f(xd + hd), f(xd - hd)
        if not (np.isfinite(up) and np.isfinite(down)):
            raise ValueError(f"f must return finite values, got {up} and {down} at x +- "
                             f"{float(h)!r}")
        quotient = (up - down) / (dtype.type(2) * hd)
        errors.append(abs(float(quotient) - exact) / abs(exact))
    return np.array(errors)
