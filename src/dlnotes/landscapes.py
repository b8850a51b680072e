"""Test functions for optimizers: loss landscapes with value, gradient and Hessian.

Chapters 04 and 05 run gradient descent and its variants on small surfaces
whose shape is known exactly: a quadratic bowl of chosen condition number
``kappa`` (the ratio of its largest to its smallest Hessian eigenvalue) and
rotation, Rosenbrock's curved valley, Beale's flat plateaus, Himmelblau's four
minima, saddles, and a double well whose trap becomes a detour in two
dimensions. Each is a :class:`Landscape` built by a constructor
(:func:`quadratic`, :func:`rosenbrock`, :func:`beale`, :func:`himmelblau`,
:func:`saddle`, :func:`double_well`) and answers three questions at a point
``x``: the value ``f(x)``, the gradient (denominator layout: the shape of
``x``) and the Hessian. It also carries its known minimizers and a suggested
plotting window. Two helpers serve the theory of chapter 04:
:func:`condition_number` of a symmetric positive definite matrix, and
:func:`random_unit_vectors` (uniform directions, for steepest-descent checks).

Points. ``x`` is one point, shape ``(d,)``, or a batch of points with the
coordinates in the last axis, shape ``(..., d)`` (a grid for a contour plot is
``(rows, cols, d)``). ``value`` returns shape ``(...)`` (a NumPy float or a 0-d
tensor for one point), ``grad`` shape ``(..., d)``, ``hessian`` shape
``(..., d, d)``. Lists and NumPy arrays are computed in float64; torch tensors
in their own floating dtype on their own device, with torch operations, so a
tensor that requires grad gets a differentiable result (an optimizer from
``torch.optim`` can minimize ``L.value(theta)``). NaN or infinity, complex
numbers, strings and a last axis of the wrong length are a TypeError or
ValueError that names ``x``.

Range. The formulas are arranged so that no intermediate overflows before the
result does where that is cheap: the bowl sums ``((lambda_i / 2) z_i) z_i``
and Rosenbrock's second term is ``(b r) r`` (products that overflow only when
the result does, unlike ``z_i^2`` or ``r^2`` alone), and the quadratic saddle
is factored into a difference times a sum. A value, gradient or Hessian whose
entries exceed the largest float of the dtype (about 1.8e308 in float64,
3.4e38 in float32) raises ValueError, never inf or NaN. For the
higher-degree polynomials (Beale, Himmelblau, the monkey saddle, the
two-layer saddle) this also happens when an intermediate power overflows
although cancellation would have left a representable result (Beale's
``y^3`` overflows for ``|y|`` beyond about 5e102 even where ``x`` is small
enough to keep ``f`` finite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from dlnotes._checks import (all_finite, choice, float_array, integer, is_torch, positive,
                             real, rng, same_kind, to_numpy)

_FMAX = float(np.finfo(np.float64).max)


@dataclass(frozen=True, eq=False)
class Landscape:
    """A test function with its gradient and Hessian (built by the constructors).

    ``name``: a label for plot titles. ``dim``: the number of coordinates d.
    ``bounds``: a suggested plotting window, one ``(low, high)`` pair per
    coordinate. ``minimizers``: the known strict minimizers, a read-only
    ``(k, d)`` float64 array (``k = 0`` for a saddle, which has none).
    Calling the landscape, ``L(x)``, is ``L.value(x)``, so it can be passed
    wherever a function is expected (``dlnotes.gradcheck.check_grad``).
    """

    name: str
    dim: int
    bounds: tuple[tuple[float, float], ...]
    minimizers: np.ndarray
    _value: Callable = field(repr=False)
    _grad: Callable = field(repr=False)
    _hessian: Callable = field(repr=False)

    def value(self, x):
        """``f(x)``: shape ``(...)`` for ``x`` of shape ``(..., d)``."""
        out = self._evaluate(self._value, x, "value")
        return out[()] if isinstance(out, np.ndarray) else out

    def grad(self, x):
        """The gradient of ``f`` at ``x``, shape of ``x`` ``(..., d)``."""
        return self._evaluate(self._grad, x, "gradient")

    def hessian(self, x):
        """The Hessian of ``f`` at ``x``, shape ``(..., d, d)``, symmetric."""
        return self._evaluate(self._hessian, x, "Hessian")

    def __call__(self, x):
        return self.value(x)

    def _evaluate(self, fn: Callable, x, what: str):
        (x,) = same_kind("x", x)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape ({self.dim},) (one point) or (..., {self.dim}) "
                             f"(points, coordinates in the last axis) for the {self.dim}-D "
                             f"landscape {self.name!r}, got shape {tuple(x.shape)}")
        with np.errstate(over="ignore", invalid="ignore"):
            out = fn(x)
        if not all_finite(out):
            dtype = str(out.dtype).replace("torch.", "")
            big = (torch.finfo(out.dtype) if is_torch(out) else np.finfo(out.dtype)).max
            size = float(np.max(np.abs(to_numpy(x))))
            raise ValueError(f"the {what} of {self.name!r} overflows {dtype} (largest finite "
                             f"{big:.1e}) at x with max |x| = {size:.1e}: x lies too far out for "
                             f"this function in {dtype}")
        return out


# --- array plumbing shared by NumPy and torch ---------------------------------------------


def _const(a, like):
    """The NumPy constant ``a`` in the kind, dtype and device of ``like``."""
    if is_torch(like):
        return torch.as_tensor(a, dtype=like.dtype, device=like.device)
    return np.asarray(a, dtype=np.float64)


def _stack(parts, axis: int):
    if is_torch(parts[0]):
        return torch.stack(parts, dim=axis)
    return np.stack(parts, axis=axis)


def _full(like, c):
    """The number ``c`` broadcast to the shape (kind, dtype, device) of ``like``."""
    return like * 0 + c


def _matrix(h11, h12, h22):
    """The symmetric 2 x 2 Hessians ``[[h11, h12], [h12, h22]]``, shape ``(..., 2, 2)``."""
    return _stack([_stack([h11, h12], -1), _stack([h12, h22], -1)], -2)


def _points(points) -> np.ndarray:
    out = np.array(points, dtype=np.float64).reshape(len(points), -1) if points else \
        np.empty((0, 2))
    out.setflags(write=False)
    return out


def _two_d(name, bounds, minimizers, value, grad, hessian) -> Landscape:
    return Landscape(name, 2, bounds, _points(minimizers), value, grad, hessian)


def _xy(x):
    return x[..., 0], x[..., 1]


# --- quadratic bowls ------------------------------------------------------------------------


def _cos_sin(degrees: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees, exact at multiples of 90."""
    r = math.fmod(degrees, 360.0)
    if r % 90.0 == 0.0:
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(r // 90.0) % 4]
    t = math.radians(r)
    return math.cos(t), math.sin(t)


def _eigenvalues(kappa, eigenvalues) -> np.ndarray:
    if eigenvalues is not None:
        if kappa is not None:
            raise ValueError(f"pass kappa or eigenvalues, not both: got kappa = {kappa!r} and "
                             f"eigenvalues (kappa = 10 means eigenvalues (1, 10))")
        lam = float_array(eigenvalues, "eigenvalues", ndim=(1,))
        if np.any(lam <= 0):
            raise ValueError(f"eigenvalues must all be > 0 (a bowl curves up in every "
                             f"direction; saddle() has both signs), got smallest "
                             f"{float(lam.min())!r}")
        return lam.copy()
    kappa = 10.0 if kappa is None else real(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1 (the largest eigenvalue over the smallest), "
                         f"got {kappa!r}")
    return np.array([1.0, kappa])


def quadratic(kappa: float | None = None, angle: float = 0.0, *, eigenvalues=None,
              center=None) -> Landscape:
    """The bowl ``f(x) = 1/2 (x - c)^T A (x - c)`` with ``A = Q diag(lambda) Q^T``.

    ``kappa``: the condition number of the 2-D bowl with eigenvalues
    ``(1, kappa)``, a number >= 1 (default 10). ``eigenvalues``: instead, the
    eigenvalues ``lambda`` of ``A`` themselves, any number d >= 1 of positive
    values (then ``kappa`` must not be given). ``angle``: in degrees; ``Q``
    rotates the plane of the first two coordinates counter-clockwise by
    ``angle``, so in 2-D the eigenvector of the first eigenvalue (the shallow
    direction for ``kappa``) is ``(cos angle, sin angle)`` (``angle`` must be 0
    when d = 1). ``center``: the minimizer ``c``, shape ``(d,)``, default 0.

    Gradient ``A (x - c)``, Hessian ``A`` everywhere, minimum 0 at ``c``.
    ``quadratic(50)`` is chapter 05's running example ``1/2 (x^2 + 50 y^2)``.
    The suggested window is ``c`` plus or minus ``2 / sqrt(min lambda)`` in
    every coordinate, where the level ``f = 2`` touches it.
    """
    lam = _eigenvalues(kappa, eigenvalues)
    theta = real(angle, "angle")
    d = lam.size
    if d == 1 and math.fmod(theta, 360.0) != 0:
        raise ValueError(f"angle must be 0 for a 1-D bowl (there is no plane to rotate), got "
                         f"{theta!r}")
    c = np.zeros(d) if center is None else float_array(center, "center", ndim=(1,)).copy()
    if c.shape != (d,):
        raise ValueError(f"center must have shape ({d},), one entry per eigenvalue, got shape "
                         f"{c.shape}")
    Q = np.eye(d)
    if d >= 2:
        cos, sin = _cos_sin(theta)
        Q[:2, :2] = [[cos, -sin], [sin, cos]]
    A = (Q * lam) @ Q.T  # entries at most max(lambda): no overflow
    A = A / 2 + A.T / 2  # exactly symmetric; halves first so the sum cannot overflow
    half = 2.0 / math.sqrt(lam.min())
    with np.errstate(over="ignore"):
        bounds = tuple((float(max(ci - half, -_FMAX)), float(min(ci + half, _FMAX))) for ci in c)

    def coordinates(x):  # z = Q^T (x - c) for each point: one coordinate per eigenvector
        return (x - _const(c, x)) @ _const(Q, x)

    def value(x):
        z = coordinates(x)
        return ((_const(lam / 2, x) * z) * z).sum(-1)  # not z * z: it may overflow alone

    def grad(x):
        return (coordinates(x) * _const(lam, x)) @ _const(Q.T, x)

    def hessian(x):
        H = _const(A, x)
        shape = tuple(x.shape) + (d,)
        return H.expand(shape).clone() if is_torch(x) else np.broadcast_to(H, shape).copy()

    shown = f"kappa = {lam[1] / lam[0]:g}" if kappa is not None or eigenvalues is None else \
        f"eigenvalues {', '.join(f'{v:g}' for v in lam)}"
    name = f"quadratic bowl ({shown}, angle {theta:g}°)" if d >= 2 else \
        f"quadratic ({shown})"
    return Landscape(name, d, bounds, _points([c]), value, grad, hessian)


# --- Rosenbrock, Beale, Himmelblau ----------------------------------------------------------


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    """Rosenbrock's banana valley ``f(x, y) = (a - x)^2 + b (y - x^2)^2``.

    ``a``: any real number with ``a^2`` representable (``|a| <= 1.3e154``);
    ``b`` > 0 sets the steepness of the valley walls. One minimizer,
    ``(a, a^2)`` with ``f = 0``, at the bottom of a long curved valley
    ``y = x^2``; the Hessian there, ``[[2 + 8 b a^2, -4 b a], [-4 b a, 2 b]]``,
    has condition number about ``(2 + 2 b + 8 b a^2)^2 / (4 b)`` (2508 at the
    defaults).
    """
    a = real(a, "a")
    b = positive(b, "b")
    if abs(a) > math.sqrt(_FMAX):
        raise ValueError(f"a must satisfy |a| <= {math.sqrt(_FMAX):.2e} so that the minimizer "
                         f"(a, a^2) is a float64 number, got {a!r}")
    s = max(1.0, abs(a))

    def value(x):
        u, v = _xy(x)
        r = v - u * u
        return (a - u) ** 2 + (b * r) * r  # b r first: b r^2 may be representable, r^2 not

    def grad(x):
        u, v = _xy(x)
        br = b * (v - u * u)
        return _stack([2 * (u - a) - 4 * u * br, 2 * br], -1)

    def hessian(x):
        u, v = _xy(x)
        br = b * (v - u * u)
        return _matrix(2 - 4 * br + 8 * (b * u) * u, -4 * b * u, _full(u, 2 * b))

    return _two_d(f"Rosenbrock (a = {a:g}, b = {b:g})", ((-2 * s, 2 * s), (-s * s, 3 * s * s)),
                  [(a, a * a)], value, grad, hessian)


_BEALE = (1.5, 2.25, 2.625)


def _beale_terms(x):
    """``u_k = y^k - 1`` (factored, so exact near y = 1) and ``t_k = c_k + x u_k``."""
    u, v = _xy(x)
    u1 = v - 1
    us = (u1, u1 * (v + 1), u1 * (v * v + v + 1))
    ts = tuple(c + u * uk for c, uk in zip(_BEALE, us))
    return u, v, us, ts


def beale() -> Landscape:
    """Beale's function ``f(x, y) = sum_k (c_k - x + x y^k)^2``, ``k = 1, 2, 3``,
    with ``c = (1.5, 2.25, 2.625)``.

    One minimizer ``(3, 0.5)`` with ``f = 0`` exactly; flat plateaus and steep
    ridges elsewhere (the surface of the UCLA optimizer race in chapter 05).
    Window ``[-4.5, 4.5]^2``.
    """

    def value(x):
        _, _, _, (t1, t2, t3) = _beale_terms(x)
        return t1 * t1 + t2 * t2 + t3 * t3

    def grad(x):
        u, v, (u1, u2, u3), (t1, t2, t3) = _beale_terms(x)
        return _stack([2 * (t1 * u1 + t2 * u2 + t3 * u3),
                       2 * u * (t1 + 2 * v * t2 + 3 * v * v * t3)], -1)

    def hessian(x):
        u, v, (u1, u2, u3), (t1, t2, t3) = _beale_terms(x)
        c1, c2, c3 = _BEALE
        h11 = 2 * (u1 * u1 + u2 * u2 + u3 * u3)
        h12 = 2 * (2 * t1 - c1) + 4 * v * (2 * t2 - c2) + 6 * v * v * (2 * t3 - c3)
        h22 = 2 * u * u * (1 + 4 * v * v + 9 * v ** 4) + 4 * u * (t2 + 3 * v * t3)
        return _matrix(h11, h12, h22)

    return _two_d("Beale", ((-4.5, 4.5), (-4.5, 4.5)), [(3.0, 0.5)], value, grad, hessian)


# The four minimizers, refined by Newton's method in 50-digit arithmetic (mpmath).
_HIMMELBLAU_MINIMA = [(3.0, 2.0), (-2.805118086952745, 3.131312518250573),
                      (-3.779310253377747, -3.2831859912861696),
                      (3.5844283403304917, -1.8481265269644036)]


def himmelblau() -> Landscape:
    """Himmelblau's function ``f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2``.

    Four minimizers with ``f = 0``: ``(3, 2)`` exactly and three irrational
    ones, given to float64 precision (there ``f`` is below 1e-30, the
    gradient below 1e-13). It also has a local maximum near
    ``(-0.27, -0.92)`` and four saddles: a surface where the start decides
    which minimum an optimizer finds. Window ``[-5, 5]^2``.
    """

    def pq(x):
        u, v = _xy(x)
        return u, v, u * u + v - 11, u + v * v - 7

    def value(x):
        _, _, p, q = pq(x)
        return p * p + q * q

    def grad(x):
        u, v, p, q = pq(x)
        return _stack([4 * u * p + 2 * q, 2 * p + 4 * v * q], -1)

    def hessian(x):
        u, v, p, q = pq(x)
        return _matrix(4 * p + 8 * u * u + 2, 4 * (u + v), 4 * q + 8 * v * v + 2)

    return _two_d("Himmelblau", ((-5.0, 5.0), (-5.0, 5.0)), _HIMMELBLAU_MINIMA, value, grad,
                  hessian)


# --- saddles --------------------------------------------------------------------------------


def _saddle_quadratic():
    def value(x):
        u, v = _xy(x)
        # (x^2 - y^2) / 2 without forming x^2 or x + y; the factor 2 last, so that
        # (1e308, -1e308) gives 0 rather than inf * 0
        return ((u / 2 - v / 2) * (u / 2 + v / 2)) * 2

    def grad(x):
        u, v = _xy(x)
        return _stack([u, -v], -1)

    def hessian(x):
        u, _ = _xy(x)
        return _matrix(_full(u, 1.0), _full(u, 0.0), _full(u, -1.0))

    return "saddle 1/2 (x^2 - y^2)", ((-1.0, 1.0), (-1.0, 1.0)), value, grad, hessian


def _saddle_monkey():
    def value(x):
        u, v = _xy(x)
        return u * (u * u - 3 * v * v)

    def grad(x):
        u, v = _xy(x)
        return _stack([3 * (u * u - v * v), -6 * u * v], -1)

    def hessian(x):
        u, v = _xy(x)
        return _matrix(6 * u, -6 * v, -6 * u)

    return "monkey saddle x^3 - 3 x y^2", ((-1.0, 1.0), (-1.0, 1.0)), value, grad, hessian


def _saddle_linear_net():
    def value(x):
        u, v = _xy(x)
        r = 1 - u * v
        return r * r

    def grad(x):
        u, v = _xy(x)
        r = 1 - u * v
        return _stack([-2 * v * r, -2 * u * r], -1)

    def hessian(x):
        u, v = _xy(x)
        return _matrix(2 * v * v, 4 * u * v - 2, 2 * u * u)

    return "two-layer linear net (1 - a b)^2", ((-2.0, 2.0), (-2.0, 2.0)), value, grad, hessian


_SADDLES = {"quadratic": _saddle_quadratic, "monkey": _saddle_monkey,
            "linear_net": _saddle_linear_net}


def saddle(kind: str = "quadratic") -> Landscape:
    """A surface with a saddle point at the origin, where the gradient is zero.

    ``kind``:
    ``"quadratic"``: ``f = 1/2 (x^2 - y^2)``, Hessian ``diag(1, -1)``, the
    standard picture: up along x, down along y; unbounded below.
    ``"monkey"``: ``f = x^3 - 3 x y^2``, three valleys; the Hessian at the
    origin is zero, so second order cannot classify it (degenerate).
    ``"linear_net"``: ``f(a, b) = (1 - a b)^2``, the loss of the scalar
    two-layer linear network ``y = a b x`` on the example ``(1, 1)``
    (chapter 04); Hessian ``[[0, -2], [-2, 0]]`` at the origin, eigenvalues
    +2 and -2. Its minima form the hyperbola ``a b = 1``: not isolated, so
    ``minimizers`` lists none for any kind.
    """
    kind = choice(kind, "kind", tuple(_SADDLES))
    name, bounds, value, grad, hessian = _SADDLES[kind]()
    return _two_d(name, bounds, [], value, grad, hessian)


# --- going around the hill ------------------------------------------------------------------

_WELL_WIDTH = 0.98  # the Gaussian bump's e^(-w1^2 / 0.98)
# The one minimizer, refined by Newton's method in 50-digit arithmetic (mpmath).
_DOUBLE_WELL_MINIMUM = (-0.9456395393319063, 0.6022885036482106)


def _exp(a):
    return torch.exp(a) if is_torch(a) else np.exp(a)


def double_well() -> Landscape:
    """A double well whose trap disappears in two dimensions (chapter 04).

    ``f(w1, w2) = (w1^2 - 1)^2 + 0.3 w1 - 1.5 w2 exp(-w1^2 / 0.98) + w2^2 / 2``.
    The slice ``w2 = 0`` is a tilted one-dimensional double well with a local
    minimum near ``w1 = 0.960`` (``f`` about 0.294) and a lower one near
    ``w1 = -1.04``. In the plane the point ``(0.960, 0)`` is not critical (its
    gradient along ``w2`` is about -0.586), and the function has a single
    minimizer, about ``(-0.946, 0.602)`` with ``f`` about -0.4539: the extra
    dimension turns the trap into a detour. Window ``[-2, 2] x [-1.5, 2]``.
    """
    s = _WELL_WIDTH

    def parts(x):
        u, v = _xy(x)
        return u, v, _exp(-(u * u) / s)

    def value(x):
        u, v, e = parts(x)
        q = u * u - 1
        return q * q + 0.3 * u - 1.5 * v * e + 0.5 * v * v

    def grad(x):
        u, v, e = parts(x)
        return _stack([4 * u * (u * u - 1) + 0.3 + (3 / s) * u * v * e, v - 1.5 * e], -1)

    def hessian(x):
        u, v, e = parts(x)
        h11 = 12 * u * u - 4 + (3 / s) * v * e * (1 - 2 * u * u / s)
        return _matrix(h11, (3 / s) * u * e, _full(u, 1.0))

    return _two_d("double well with a detour", ((-2.0, 2.0), (-1.5, 2.0)),
                  [_DOUBLE_WELL_MINIMUM], value, grad, hessian)


# --- helpers for the theory of chapter 04 ---------------------------------------------------


def condition_number(H) -> float:
    """The condition number ``kappa = lambda_max / lambda_min`` of a symmetric positive
    definite matrix, such as the Hessian of a quadratic bowl or ``X^T X / N``.

    ``H``: (P, P), real, finite, symmetric (to a relative 1e-10 of its largest entry;
    a NumPy array, a list or a tensor). Returns a float >= 1. The eigenvalues are
    computed after scaling ``H`` by a power of two, so entries from 1e-150 to 1e150
    give the same answer. Raises ValueError when ``H`` is not positive definite to
    working precision: when its smallest eigenvalue is at most ``P * eps`` (2.2e-16)
    times its largest, and gradient descent on ``1/2 x^T H x`` has no finite rate.
    """
    A = float_array(H, "H", ndim=(2,))
    P = A.shape[0]
    if A.shape != (P, P):
        raise ValueError(f"H must be a square matrix (P, P), got shape {A.shape}")
    top = float(np.max(np.abs(A)))
    if top == 0:
        raise ValueError("H must be positive definite, got the zero matrix")
    A = np.ldexp(A, -math.frexp(top)[1])  # exact scaling: entries now below 1 in size
    asym = float(np.max(np.abs(A - A.T)))
    if asym > 1e-10 * float(np.max(np.abs(A))):
        raise ValueError(f"H must be symmetric (a Hessian is), got entries that differ from "
                         f"their transposes by up to {asym * 2.0 ** math.frexp(top)[1]:.2e}")
    lam = np.linalg.eigvalsh((A + A.T) / 2)
    if lam[0] <= P * np.finfo(np.float64).eps * lam[-1]:
        raise ValueError(f"H must be positive definite, got smallest eigenvalue "
                         f"{lam[0] * 2.0 ** math.frexp(top)[1]:.3e} against largest "
                         f"{lam[-1] * 2.0 ** math.frexp(top)[1]:.3e} (indefinite, singular "
                         f"or singular to working precision): its condition number is "
                         f"infinite or undefined")
    return float(lam[-1] / lam[0])


def random_unit_vectors(n: int, dim: int, seed: int | None = 0) -> np.ndarray:
    """``n`` directions drawn uniformly from the unit sphere in ``R^dim``, one a row.

    Each row is a standard normal vector divided by its length (the normal
    distribution is rotation invariant, so the direction is uniform). ``n`` >= 1,
    ``dim`` >= 1; ``seed``: int >= 0 (the same directions every call) or None
    (fresh ones). Returns a float64 array of shape (n, dim) whose rows have norm 1.
    """
    n, dim = integer(n, "n", 1), integer(dim, "dim", 1)
    gen = rng(seed)
    u = gen.standard_normal((n, dim))
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    while np.any(norms == 0):  # probability zero, but a zero row has no direction
        bad = norms[:, 0] == 0
        u[bad] = gen.standard_normal((int(bad.sum()), dim))
        norms = np.linalg.norm(u, axis=1, keepdims=True)
    return u / norms
