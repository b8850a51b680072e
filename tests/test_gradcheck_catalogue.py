"""Checks of the checkers: a catalogue of right and wrong derivatives.

Every checker of ``dlnotes.gradcheck`` must accept every right gradient, Jacobian
and Hessian below and reject every wrong one (sign flipped, transposed, off by a
constant factor, one entry wrong, missing 1/N, zero, tiny or huge scale), at
magnitudes from 1e-150 to 1e150 in float64 and from 1e-3 to 1e3 with float32
input. A wrong derivative of the wrong shape is rejected with a ValueError.

The subtlest mistake is a factor ``1 + 2 tol`` (relative error twice the pass
mark ``tol``: 1e-7 in float64, 1.2e-5 in float32). The checkers catch it because
the finite differences are far more accurate than ``tol`` on every function of
the catalogue (``test_finite_differences_are_accurate``): a derivative is caught
when its relative error exceeds ``(tol + fd_error) / (1 - tol)``.

Test functions stay finite at every magnitude ``s``: they are homogeneous of
degree 1 or 2 (sums of squares, quadratic forms, least squares with data of size
``s``, traces), or scaled like ``s * F(x / s)`` (log-sum-exp, tanh, softmax). The
right derivative is computed in the dtype of the input (float32 arithmetic for
float32 input), as a reader's own code would.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import gradcheck as gc

MAGS64 = (1e-150, 1e-50, 1e-10, 1.0, 1e10, 1e50, 1e150)
MAGS32 = (1e-3, 1.0, 1e3)
SETTINGS = [(np.float64, s) for s in MAGS64] + [(np.float32, s) for s in MAGS32]
TOL = {np.float64: 1e-7, np.float32: 100 * float(np.finfo(np.float32).eps)}


@dataclass
class Problem:
    x: np.ndarray                     # the variable, in the setting's dtype
    f: Callable                       # scalar or array function, computes in float64
    right: np.ndarray                 # the right derivative, computed in the dtype
    f_torch: Callable | None = None   # the scalar function in torch (gradients only)
    extra: dict = field(default_factory=dict)   # mistakes particular to the function


def _softmax(u):
    e = np.exp(u - u.max())
    return e / e.sum()


def _consts(seed, dtype, *shapes):
    """Constants of size one, exactly representable in ``dtype``, as (dtype, float64) pairs."""
    gen = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        c = gen.standard_normal(shape).astype(dtype)
        out.append((c, c.astype(np.float64)))
    return out, gen


def _var(gen, s, dtype, shape):
    return (s * gen.standard_normal(shape)).astype(dtype)


# --- scalar functions and their gradients ------------------------------------------------

def sum_squares(dtype, s):
    _, gen = _consts(1, dtype)
    x = _var(gen, s, dtype, 6)
    return Problem(x, lambda v: np.sum(v**2), 2 * x, lambda t: (t**2).sum())


def quadratic_form(dtype, s):
    [(A, A64)], gen = _consts(2, dtype, (5, 5))
    x = _var(gen, s, dtype, 5)
    At = torch.tensor(A64)
    return Problem(x, lambda v: v @ A64 @ v, (A + A.T) @ x, lambda t: t @ At @ t,
                   {"forgot_transpose_term": 2 * A @ x})


def least_squares_mean(dtype, s):
    [(P, P64), (e, _)], gen = _consts(3, dtype, (8, 3), 8)
    theta_true = _var(gen, s, dtype, 3)
    y = (P @ theta_true + dtype(0.3 * s) * e).astype(dtype)
    y64, Pt, yt = y.astype(np.float64), torch.tensor(P64), torch.tensor(y.astype(np.float64))
    theta = _var(gen, s, dtype, 3)
    n = len(y)
    return Problem(theta, lambda t: np.sum((P64 @ t - y64) ** 2) / (2 * n),
                   P.T @ (P @ theta - y) / dtype(n),
                   lambda t: ((Pt @ t - yt) ** 2).sum() / (2 * n),
                   {"missing_1/N": P.T @ (P @ theta - y)})


def log_sum_exp(dtype, s):
    _, gen = _consts(4, dtype)
    x = _var(gen, s, dtype, 5)

    def f(v):
        u = v / s
        m = u.max()
        return s * (m + np.log(np.sum(np.exp(u - m))))

    return Problem(x, f, _softmax(x / dtype(s)), lambda t: s * torch.logsumexp(t / s, 0))


def trace_WB(dtype, s):
    [(B, B64)], gen = _consts(5, dtype, (4, 4))
    W = _var(gen, s, dtype, (4, 4))
    Bt = torch.tensor(B64)
    return Problem(W, lambda M: np.trace(M @ B64), B.T.copy(), lambda M: torch.trace(M @ Bt))


def bilinear_zWx(dtype, s):
    [(z, z64), (v, v64)], gen = _consts(6, dtype, 3, 5)
    W = _var(gen, s, dtype, (3, 5))
    zt, vt = torch.tensor(z64), torch.tensor(v64)
    return Problem(W, lambda M: z64 @ M @ v64, np.outer(z, v), lambda M: zt @ M @ vt)


def matrix_least_squares(dtype, s):
    [(X, X64), (E, _)], gen = _consts(7, dtype, (4, 6), (4, 6))
    Y = (dtype(s) * E).astype(dtype)
    Y64, Xt, Yt = Y.astype(np.float64), torch.tensor(X64), torch.tensor(Y.astype(np.float64))
    W = _var(gen, s, dtype, (4, 4))
    return Problem(W, lambda M: 0.5 * np.sum((M @ X64 - Y64) ** 2), (W @ X - Y) @ X.T,
                   lambda M: 0.5 * ((M @ Xt - Yt) ** 2).sum())


GRADIENTS = {f.__name__: f for f in (sum_squares, quadratic_form, least_squares_mean,
                                      log_sum_exp, trace_WB, bilinear_zWx,
                                      matrix_least_squares)}


# --- array functions and their Jacobians (numerator layout) ------------------------------

def tanh_square(dtype, s):
    [(A, A64)], gen = _consts(8, dtype, (4, 4))
    x = _var(gen, s, dtype, 4)
    y = np.tanh(A @ x / dtype(s))
    return Problem(x, lambda v: s * np.tanh(A64 @ v / s), (1 - y**2)[:, None] * A)


def tanh_wide(dtype, s):
    [(A, A64)], gen = _consts(9, dtype, (3, 5))
    x = _var(gen, s, dtype, 5)
    y = np.tanh(A @ x / dtype(s))
    return Problem(x, lambda v: s * np.tanh(A64 @ v / s), (1 - y**2)[:, None] * A)


def softmax_scaled(dtype, s):
    _, gen = _consts(10, dtype)
    x = _var(gen, s, dtype, 5)
    p = _softmax(x / dtype(s))
    return Problem(x, lambda v: _softmax(v / s), (np.diag(p) - np.outer(p, p)) / dtype(s))


def tanh_matrix_input(dtype, s):
    [(v, v64)], gen = _consts(11, dtype, 4)
    M = _var(gen, s, dtype, (3, 4))
    y = np.tanh(M @ v / dtype(s))
    J = np.einsum("ik,i,l->ikl", np.eye(3, dtype=dtype), 1 - y**2, v)   # out (3,) x in (3, 4)
    return Problem(M, lambda K: s * np.tanh(K @ v64 / s), J,
                   extra={"denominator_layout": np.moveaxis(J, 0, -1)})


JACOBIANS = {f.__name__: f for f in (tanh_square, tanh_wide, softmax_scaled, tanh_matrix_input)}


# --- gradients and their Hessians --------------------------------------------------------

def hess_quadratic_form(dtype, s):
    [(A, A64)], gen = _consts(12, dtype, (5, 5))
    x = _var(gen, s, dtype, 5)
    return Problem(x, lambda v: (A64 + A64.T) @ v, A + A.T, extra={"forgot_transpose_term": 2 * A})


def hess_least_squares_mean(dtype, s):
    [(P, P64), (y, y64)], gen = _consts(13, dtype, (8, 3), 8)
    theta = _var(gen, s, dtype, 3)
    y64 = s * y64
    return Problem(theta, lambda t: P64.T @ (P64 @ t - y64) / 8, P.T @ P / dtype(8),
                   extra={"missing_1/N": P.T @ P})


def hess_log_sum_exp(dtype, s):
    _, gen = _consts(14, dtype)
    x = _var(gen, s, dtype, 5)
    p = _softmax(x / dtype(s))
    return Problem(x, lambda v: _softmax(v / s), (np.diag(p) - np.outer(p, p)) / dtype(s))


HESSIANS = {f.__name__: f for f in (hess_quadratic_form, hess_least_squares_mean,
                                     hess_log_sum_exp)}


@functools.lru_cache(maxsize=None)
def problem(kind: str, name: str, dtype, s: float) -> Problem:
    return {"grad": GRADIENTS, "jac": JACOBIANS, "hess": HESSIANS}[kind][name](dtype, s)


# --- mistakes ----------------------------------------------------------------------------

GENERIC = ("right", "sign_flipped", "factor_2", "factor_0.5", "factor_1.01", "factor_1+2tol",
           "one_entry_wrong", "zero", "tiny_scale", "huge_scale")
TRANSPOSABLE = {"trace_WB", "bilinear_zWx", "matrix_least_squares", "tanh_square", "tanh_wide"}
WRONG_SHAPE = {("bilinear_zWx", "transposed"), ("tanh_wide", "transposed"),
               ("tanh_matrix_input", "denominator_layout")}
EXTRA = {"quadratic_form": ("forgot_transpose_term",), "least_squares_mean": ("missing_1/N",),
         "tanh_matrix_input": ("denominator_layout",),
         "hess_quadratic_form": ("forgot_transpose_term",),
         "hess_least_squares_mean": ("missing_1/N",)}


def candidate(prob: Problem, mistake: str, dtype) -> np.ndarray:
    g = prob.right
    if mistake in prob.extra:
        return prob.extra[mistake]
    factors = {"right": 1, "sign_flipped": -1, "factor_2": 2, "factor_0.5": 0.5,
               "factor_1.01": 1.01, "factor_1+2tol": 1 + 2 * TOL[dtype], "zero": 0,
               "tiny_scale": 1e-8, "huge_scale": 1e8}
    if mistake in factors:
        return (g * dtype(factors[mistake])).astype(dtype)
    if mistake == "transposed":
        return g.T.copy()
    assert mistake == "one_entry_wrong"
    wrong = g.copy()
    k = np.argmax(np.abs(g))
    wrong.flat[k] += dtype(0.01) * np.abs(g).max()
    return wrong


def _mistakes(name):
    extra = EXTRA.get(name, ())
    return GENERIC + (("transposed",) if name in TRANSPOSABLE else ()) + extra


def _cases(kind, names):
    out = []
    for name in names:
        for mistake in _mistakes(name):
            for dtype, s in SETTINGS:
                tag = f"{'f64' if dtype is np.float64 else 'f32'}-{s:.0e}"
                out.append(pytest.param(kind, name, mistake, dtype, s,
                                        id=f"{name}-{mistake}-{tag}"))
    return out


GRAD_CASES = _cases("grad", GRADIENTS)
JAC_CASES = _cases("jac", JACOBIANS)
HESS_CASES = _cases("hess", HESSIANS)


# --- checkers: each returns True (accepted) or False (rejected) ---------------------------

def _check_grad(p, g, tol):
    result = gc.check_grad(p.f, g, p.x)
    assert result.tol == pytest.approx(tol)
    return result.passed


def _check_grad_torch(p, g, tol):
    result = gc.check_grad(p.f, g, p.x, f_torch=p.f_torch)
    return result.passed


def _check_grad_callable(p, g, tol):
    return gc.check_grad(p.f, lambda v: g, torch.tensor(p.x), tol=tol).passed


GRAD_CHECKERS = {
    "check_grad": _check_grad,
    "check_grad+f_torch": _check_grad_torch,
    "check_grad(callable, tensor x)": _check_grad_callable,
    "directional_check": lambda p, g, tol: gc.directional_check(p.f, g, p.x) <= tol,
    "numerical_grad+rel_error": lambda p, g, tol: gc.rel_error(g, gc.numerical_grad(p.f, p.x))
    <= tol,
}
JAC_CHECKERS = {
    "numerical_jacobian+rel_error":
        lambda p, J, tol: gc.rel_error(J, gc.numerical_jacobian(p.f, p.x)) <= tol,
    "numerical_jacobian(denominator)+rel_error":
        lambda p, J, tol: gc.rel_error(gc.to_denominator(J, p.x.ndim),
                                       gc.numerical_jacobian(p.f, p.x, layout="denominator"))
        <= tol,
}
HESS_CHECKERS = {
    "numerical_hessian+rel_error":
        lambda p, H, tol: gc.rel_error(H, gc.numerical_hessian(p.f, p.x)) <= tol,
}


def _verdicts(checkers, kind, name, mistake, dtype, s):
    """Run every checker on one candidate; return the list of those that got it wrong."""
    prob = problem(kind, name, dtype, s)
    cand = candidate(prob, mistake, dtype)
    wrong = []
    for checker, check in checkers.items():
        if (name, mistake) in WRONG_SHAPE:
            with pytest.raises(ValueError, match="shape"):
                check(prob, cand, TOL[dtype])
        elif check(prob, cand, TOL[dtype]) != (mistake == "right"):
            wrong.append(checker)
    return wrong


# One test per (function, mistake, magnitude); each runs every checker of its kind.
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind, name, mistake, dtype, s", GRAD_CASES)
def test_gradient_catalogue(kind, name, mistake, dtype, s):
    wrong = _verdicts(GRAD_CHECKERS, kind, name, mistake, dtype, s)
    assert not wrong, f"{'rejected' if mistake == 'right' else 'accepted'} by {wrong}"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind, name, mistake, dtype, s", JAC_CASES)
def test_jacobian_catalogue(kind, name, mistake, dtype, s):
    wrong = _verdicts(JAC_CHECKERS, kind, name, mistake, dtype, s)
    assert not wrong, f"{'rejected' if mistake == 'right' else 'accepted'} by {wrong}"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind, name, mistake, dtype, s", HESS_CASES)
def test_hessian_catalogue(kind, name, mistake, dtype, s):
    wrong = _verdicts(HESS_CHECKERS, kind, name, mistake, dtype, s)
    assert not wrong, f"{'rejected' if mistake == 'right' else 'accepted'} by {wrong}"


# The guarantee behind the factor 1 + 2 tol: finite differences are accurate to far below tol,
# measured here against the exact derivative in float64 at every magnitude.
FD_ERROR = 1e-9


@pytest.mark.parametrize("s", MAGS64, ids=lambda s: f"{s:.0e}")
@pytest.mark.parametrize("kind, name", [("grad", n) for n in GRADIENTS]
                         + [("jac", n) for n in JACOBIANS] + [("hess", n) for n in HESSIANS])
def test_finite_differences_are_accurate(kind, name, s):
    prob = problem(kind, name, np.float64, s)
    numeric = {"grad": gc.numerical_grad, "jac": gc.numerical_jacobian,
               "hess": gc.numerical_hessian}[kind](prob.f, prob.x)
    assert gc.rel_error(numeric, prob.right) <= FD_ERROR
    if kind == "grad":
        assert gc.rel_error(gc.autograd_grad(prob.f_torch, prob.x), prob.right) <= 1e-14


def test_catalogue_size():
    """The counts quoted in the report; a shrinking catalogue is a failing test."""
    n_grad = len(GRAD_CASES) * len(GRAD_CHECKERS)
    n_jac = len(JAC_CASES) * len(JAC_CHECKERS)
    n_hess = len(HESS_CASES) * len(HESS_CHECKERS)
    wrong = sum(1 for c in GRAD_CASES + JAC_CASES + HESS_CASES if c.values[2] != "right")
    assert (n_grad, n_jac, n_hess) == (3750, 860, 320)
    assert wrong == 1360


# --- property tests ----------------------------------------------------------------------

# Smooth scalar functions F(u) whose gradient does not vanish where every |u_j| >= 0.1,
# written once for NumPy and torch; the function of x is s**2 * F(x / s).
def _F(kind, u, w, xp):
    if kind == "weighted_squares":
        return xp.sum(w * u**2)
    if kind == "log_sum_exp":
        return xp.log(xp.sum(xp.exp(u - xp.max(u)))) + xp.max(u)
    if kind == "log_cosh":
        return xp.sum(w * xp.log(xp.cosh(u)))
    return xp.sqrt(xp.sum(w * u**4))   # "quartic_norm", homogeneous of degree 2


KINDS = ("weighted_squares", "log_sum_exp", "log_cosh", "quartic_norm")
SHAPES = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
ENTRY = st.floats(0.1, 3.0).flatmap(lambda a: st.sampled_from([a, -a]))


@st.composite
def smooth_problems(draw):
    shape = draw(SHAPES)
    n = int(np.prod(shape))
    u = np.array(draw(st.lists(ENTRY, min_size=n, max_size=n))).reshape(shape)
    w = np.array(draw(st.lists(st.floats(0.5, 2.0), min_size=n, max_size=n))).reshape(shape)
    kind = draw(st.sampled_from(KINDS))
    form = draw(st.sampled_from(["float64", "float32", "tensor", "tensor_requires_grad",
                                 "list"]))
    low, high = (-150, 150) if form != "float32" else (-15, 15)
    s = 10.0 ** draw(st.integers(low, high))
    return kind, u, w, s, form


def _as_form(x, form):
    if form == "float32":
        return x.astype(np.float32)
    if form == "tensor":
        return torch.tensor(x)
    if form == "tensor_requires_grad":
        return torch.tensor(x, requires_grad=True)
    if form == "list":
        return x.tolist()
    return x


@given(smooth_problems())
def test_numerical_grad_matches_autograd(problem_):
    kind, u, w, s, form = problem_
    x = _as_form(s * u, form)
    wt = torch.tensor(w)

    def f(v):
        return s**2 * _F(kind, v / s, w, np)

    def f_torch(t):
        return s**2 * _F(kind, t / s, wt, torch)

    fd = gc.numerical_grad(f, x)
    ag = gc.autograd_grad(f_torch, x)
    assert fd.shape == ag.shape == u.shape
    assert gc.rel_error(fd, ag) <= 1e-8
    assert gc.check_grad(f, ag, x, f_torch=f_torch).passed


@given(smooth_problems(), st.floats(-7.5, -1.0), st.integers(0, 2**31))
def test_check_grad_catches_every_error_above_twice_tol(problem_, log_size, seed):
    """A random mistake of relative size r is caught when r >= 2 tol and passed when
    r <= tol / 2: the guaranteed detection threshold, at every magnitude."""
    kind, u, w, s, form = problem_
    x = s * u
    wt = torch.tensor(w)
    right = gc.autograd_grad(lambda t: s**2 * _F(kind, t / s, wt, torch), x)
    e = np.random.default_rng(seed).standard_normal(x.shape)
    r = 10.0**log_size

    def f(v):
        return s**2 * _F(kind, v / s, w, np)

    wrong = right + r * np.linalg.norm(right) / np.linalg.norm(e) * e
    caught = not gc.check_grad(f, wrong, x).passed
    if r >= 2e-7:
        assert caught
    elif r <= 5e-8:
        assert not caught


@given(smooth_problems(), st.integers(0, 2**31))
def test_directional_check_with_a_full_basis_is_the_full_check(problem_, seed):
    """With n_dirs >= x.size the directions span the space: the number it returns is the
    relative error of the whole gradient, in a rotated basis."""
    kind, u, w, s, _ = problem_
    x = s * u
    wt = torch.tensor(w)
    right = gc.autograd_grad(lambda t: s**2 * _F(kind, t / s, wt, torch), x)
    e = np.random.default_rng(seed).standard_normal(x.shape)
    wrong = right + 1e-3 * np.linalg.norm(right) / np.linalg.norm(e) * e

    def f(v):
        return s**2 * _F(kind, v / s, w, np)

    spot = gc.directional_check(f, wrong, x, n_dirs=x.size, seed=seed)
    assert spot == pytest.approx(gc.rel_error(wrong, right), rel=1e-4)
    assert gc.directional_check(f, right, x, n_dirs=x.size, seed=seed) <= 1e-8


@given(st.lists(ENTRY, min_size=1, max_size=12), st.floats(0.5, 2.0),
       st.sampled_from([-400, -1, 7, 400]))
def test_numerical_grad_scales_exactly_with_powers_of_two(entries, w, k):
    """Relative steps: for a homogeneous f of degree 2, scaling x by 2**k scales the
    numerical gradient by exactly 2**k (every step and every value scales exactly)."""
    u, c = np.array(entries), 2.0**k

    def f(v):
        return w * np.sum(v**2)

    np.testing.assert_array_equal(gc.numerical_grad(f, c * u), c * gc.numerical_grad(f, u))
