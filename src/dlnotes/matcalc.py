"""The analytic rules of matrix calculus, in the book's denominator layout.

Every gradient returned here has the shape of its variable. Layers follow
``torch.nn.Linear``: ``W`` is ``(d_out, d_in)``, one example is ``z = W x + b``
and a batch with examples as rows is ``Z = X W^T + 1 b^T``.

Input. Lists and NumPy arrays are computed in float64 (integers and bools
converted); torch tensors in their own floating dtype on their own device,
which all tensors of one call must share (integer and bool tensors take that
dtype; tensors that require grad stay differentiable). A mix of NumPy and
torch, complex numbers, NaN or infinity, a wrong number of axes and empty
arrays are a TypeError or ValueError that names the argument.

Range. Products are computed directly. With float64 entries between 1e-150
and 1e150 no product of two entries overflows or underflows; a result whose
entries exceed the largest float of its dtype (about 1.8e308 in float64,
3.4e38 in float32) raises ValueError rather than returning infinity: rescale
the input. :func:`chain_grad` carries a power-of-two scale through the
chain, so a long chain overflows only when its result does. Results smaller
than the smallest float round to zero, as in any float arithmetic.
Numerical derivatives live in :mod:`dlnotes.gradcheck`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import torch

from dlnotes._checks import all_finite, choice, is_torch, nonnegative, same_kind, to_numpy


class MatmulGrads(NamedTuple):
    """Gradients of ``L`` for ``Y = W X``: ``W`` (shape of W) and ``X`` (shape of X)."""

    W: object
    X: object


class LinearGrads(NamedTuple):
    """Gradients of ``L`` for a linear layer, in the order (W, X, b)."""

    W: object
    X: object
    b: object


# --- input checks -----------------------------------------------------------------------


def _inputs(*specs):
    """Arrays checked together: ``specs`` are ``(name, array, ndim, meaning)``.

    Same kind (all NumPy or all torch, one dtype and device, finite; see
    :func:`dlnotes._checks.same_kind`), the right number of axes, not empty.
    """
    arrays = same_kind(", ".join(s[0] for s in specs), *(s[1] for s in specs))
    for (name, _, ndim, meaning), a in zip(specs, arrays):
        _ndim(a, ndim, name, meaning)
        if 0 in tuple(a.shape):
            raise ValueError(f"{name} must not be empty ({meaning}), got shape {tuple(a.shape)}")
    return arrays


def _ndim(a, want: int, name: str, meaning: str) -> None:
    if a.ndim != want:
        raise ValueError(f"{name} must be {want}-D ({meaning}), got shape {tuple(a.shape)}")


def _ns(a):
    """The array namespace of ``a``: torch for tensors, NumPy otherwise."""
    return torch if is_torch(a) else np


def _max_abs(a) -> float:
    return float(np.max(np.abs(to_numpy(a)))) if not is_torch(a) else \
        float(a.detach().abs().max())


def _finite(out, what: str, **inputs):
    """``out`` (an array or a tuple of arrays) if every entry is finite; else the
    ValueError that says the result overflows and how large the inputs are."""
    for a in out if isinstance(out, tuple) else (out,):
        if not all_finite(a):
            dtype = str(a.dtype).replace("torch.", "")
            big = (torch.finfo(a.dtype) if is_torch(a) else np.finfo(a.dtype)).max
            sizes = ", ".join(f"max |{n}| = {_max_abs(v):.1e}" for n, v in inputs.items())
            raise ValueError(f"{what} overflows {dtype} (largest finite {big:.1e}): {sizes}; "
                             f"rescale the input (e.g. change its units) first")
    return out


#: Decorator: NumPy's overflow warnings are silenced, because :func:`_finite` turns an
#: overflowing result into a ValueError that says what to do.
_overflow_reported = np.errstate(over="ignore", invalid="ignore")


# --- exact power-of-two scaling (chain_grad) ---------------------------------------------


def _times_pow2(a, e: int):
    """``a * 2**e`` in two exact steps, so no factor over- or underflows on its own."""
    h = max(min(e // 2, 1023), -1074)
    rest = max(min(e - h, 1023), -1074)
    return a * 2.0**h * 2.0**rest


def _split(a, e: int = 0):
    """``(v, e')`` with ``a * 2**e == v * 2**e'`` and ``max |v|`` in [0.5, 1)
    (unchanged when ``a`` is zero or not finite)."""
    big = _max_abs(a)
    if big == 0 or not math.isfinite(big):
        return a, e
    k = math.frexp(big)[1]
    return _times_pow2(a, -k), e + k


# --- the rules ---------------------------------------------------------------------------


@_overflow_reported
def matvec_grads(W, x, g) -> MatmulGrads:
    """Vector rule for ``y = W x``: returns ``(dL/dW, dL/dx) = (g x^T, W^T g)``.

    Shapes: ``W (m, n)``, ``x (n,)``, upstream gradient ``g = dL/dy (m,)``;
    results ``(m, n)`` and ``(n,)``.
    """
    W, x, g = _inputs(("W", W, 2, "m x n"), ("x", x, 1, "a vector of length n"),
                      ("g", g, 1, "a vector of length m"))
    m, n = W.shape
    if x.shape[0] != n or g.shape[0] != m:
        raise ValueError(f"for W of shape {tuple(W.shape)} expected x of shape ({n},) and g of "
                         f"shape ({m},), got {tuple(x.shape)} and {tuple(g.shape)}")
    return _finite(MatmulGrads(g[:, None] * x[None, :], W.T @ g), "matvec_grads", W=W, x=x, g=g)


@_overflow_reported
def matmul_grads(W, X, G) -> MatmulGrads:
    """Matrix rule for ``Y = W X``: returns ``(dL/dW, dL/dX) = (G X^T, W^T G)``.

    Shapes: ``W (m, n)``, ``X (n, q)``, upstream gradient ``G = dL/dY (m, q)``;
    results ``(m, n)`` and ``(n, q)``. Each factor receives the upstream
    gradient times the *other* factor, transposed, on the side where it sat.
    """
    W, X, G = _inputs(("W", W, 2, "a matrix"), ("X", X, 2, "a matrix"), ("G", G, 2, "a matrix"))
    (m, n), q = W.shape, X.shape[1]
    if X.shape[0] != n:
        raise ValueError(f"W X does not conform: W has shape {tuple(W.shape)}, so X needs {n} "
                         f"rows, got shape {tuple(X.shape)}")
    if tuple(G.shape) != (m, q):
        raise ValueError(f"G must have the shape of Y = W X, ({m}, {q}), got {tuple(G.shape)}")
    return _finite(MatmulGrads(G @ X.T, W.T @ G), "matmul_grads", W=W, X=X, G=G)


@_overflow_reported
def linear_rows(X, W, b):
    """Forward pass of the book's layer, ``Z = X W^T + 1 b^T``.

    Shapes: ``X (N, d_in)`` (examples as rows), ``W (d_out, d_in)``,
    ``b (d_out,)``; returns ``Z (N, d_out)``.
    """
    X, W, b = _check_layer(X, W, b, "b", "d_out")
    return _finite(X @ W.T + b[None, :], "linear_rows", X=X, W=W, b=b)


@_overflow_reported
def linear_rows_grads(X, W, G) -> LinearGrads:
    """Backward pass of ``Z = X W^T + 1 b^T`` with ``G = dL/dZ``.

    Shapes: ``X (N, d_in)``, ``W (d_out, d_in)``, ``G (N, d_out)``.
    Returns, in this order, ``(dL/dW, dL/dX, dL/db) = (G^T X, G W, G^T 1)``
    with shapes ``(d_out, d_in)``, ``(N, d_in)`` and ``(d_out,)``. The weight
    gradient is the sum over examples of the outer products ``g_i x_i^T``;
    the bias gradient sums ``G`` over the batch because ``b`` is broadcast
    to every row.
    """
    X, W, G = _check_layer(X, W, G, "G", "(N, d_out)")
    grads = LinearGrads(G.T @ X, G @ W, G.sum(axis=0))
    return _finite(grads, "linear_rows_grads", X=X, W=W, G=G)


def _check_layer(X, W, third, name: str, meaning: str, wname: str = "W"):
    """X (N, d_in), the weights (``W (d_out, d_in)``, or ``K (d_in, d_out)`` when
    ``wname == "K"``) and ``b (d_out,)`` or ``G (N, d_out)``."""
    layout = "d_in x d_out, the kernel form" if wname == "K" else \
        "d_out x d_in, as in torch.nn.Linear"
    X, W, third = _inputs(("X", X, 2, "N x d_in, examples as rows"), (wname, W, 2, layout),
                          (name, third, 1 if name == "b" else 2, meaning))
    d_out, d_in = W.shape[::-1] if wname == "K" else W.shape
    if X.shape[1] != d_in:
        raise ValueError(f"X must have d_in = {d_in} columns to match {wname} of shape "
                         f"{tuple(W.shape)}, got X of shape {tuple(X.shape)}")
    if third.shape[-1] != d_out:
        raise ValueError(f"{name} must have d_out = {d_out} entries in its last axis to match "
                         f"{wname} of shape {tuple(W.shape)}, got shape {tuple(third.shape)}")
    if name == "G" and third.shape[0] != X.shape[0]:
        raise ValueError(f"G must have one row per example, {X.shape[0]}, got shape "
                         f"{tuple(third.shape)}")
    return X, W, third


@_overflow_reported
def kernel_grads(X, K, G) -> LinearGrads:
    """Backward pass of the kernel form ``Z = X K + 1 b^T`` (Keras), ``K = W^T``.

    Shapes: ``X (N, d_in)``, ``K (d_in, d_out)``, ``G (N, d_out)``. Returns
    ``(dL/dK, dL/dX, dL/db) = (X^T G, G K^T, G^T 1)``, the book's rule with
    ``W = K^T`` substituted. The field named ``W`` holds ``dL/dK`` here.
    """
    X, K, G = _check_layer(X, K, G, "G", "(N, d_out)", wname="K")
    grads = LinearGrads(X.T @ G, G @ K.T, G.sum(axis=0))
    return _finite(grads, "kernel_grads", X=X, K=K, G=G)


@_overflow_reported
def sum_outer_products(G, X):
    """``sum_i g_i x_i^T`` by an explicit loop over the rows of ``G (N, d_out)``
    and ``X (N, d_in)``, ``N >= 1``; returns ``(d_out, d_in)``. Equal to ``G^T X``,
    and written as a loop only to show (and time) what that product computes."""
    G, X = _inputs(("G", G, 2, "N x d_out"), ("X", X, 2, "N x d_in"))
    if G.shape[0] != X.shape[0]:
        raise ValueError(f"G and X need the same number of rows (examples), got shapes "
                         f"{tuple(G.shape)} and {tuple(X.shape)}")
    total = G[0][:, None] * X[0][None, :]
    for g, x in zip(G[1:], X[1:]):
        total = total + g[:, None] * x[None, :]
    return _finite(total, "sum_outer_products", G=G, X=X)


def dz_dW_tensor(W, x):
    """The third-order tensor ``dz/dW`` for ``z = y - W x``, in denominator layout.

    Shapes: ``W (m, n)``, ``x (n,)``; returns ``T (m, n, m)`` with
    ``T[i, p, k] = dz_k / dW_ip = -delta_ik x_p``. Slice ``T[:, :, k]`` is
    ``-e_k x^T``; contracting the last axis with ``dL/dz`` gives ``dL/dW``.
    (``y`` does not enter: it does not depend on ``W``.)
    """
    W, x = _inputs(("W", W, 2, "m x n"), ("x", x, 1, "a vector of length n"))
    m, n = W.shape
    if x.shape[0] != n:
        raise ValueError(f"x must have length n = {n} to match W of shape {tuple(W.shape)}, "
                         f"got shape {tuple(x.shape)}")
    xp = _ns(W)
    eye = xp.eye(m, dtype=W.dtype) if xp is np else torch.eye(m, dtype=W.dtype, device=W.device)
    return -xp.einsum("ik,p->ipk", eye, x)


def softmax_jacobian(z):
    """Jacobian of the softmax ``p = exp(z) / sum(exp(z))`` at ``z (n,)``.

    Returns ``diag(p) - p p^T`` (n x n). It is symmetric, so numerator and
    denominator layouts coincide. Stable for logits of any finite size: the
    maximum is subtracted before exponentiating, and the diagonal
    ``p_i (1 - p_i)`` takes ``1 - p_i`` as the sum of the other
    probabilities, so it keeps its digits when ``p_i`` is close to 1.
    """
    (z,) = _inputs(("z", z, 1, "a vector of logits"))
    xp = _ns(z)
    e = xp.exp(z - z.max())  # the largest term is exp(0) = 1: nothing overflows
    total = e.sum()
    p = e / total
    index = np.arange(len(e)) if xp is np else torch.arange(len(e), device=e.device)
    top = index == int(xp.argmax(e))
    rest_top = xp.where(top, 0 * e, e).sum()  # the others' sum, without cancellation
    one_minus_p = xp.where(top, rest_top, total - e) / total
    diagonal = index[:, None] == index[None, :]
    return xp.where(diagonal, (p * one_minus_p)[:, None], -p[:, None] * p[None, :])


@_overflow_reported
def chain_grad(jacobians, g, order: str = "reverse"):
    """Gradient ``J_1^T J_2^T ... J_k^T g`` of a scalar at the end of a chain.

    ``jacobians`` is a list (or tuple) of the numerator-layout Jacobians
    ``J_1, ..., J_k`` of the maps in the order they are applied (``J_i`` is
    ``(n_i, n_{i-1})``), ``g`` is the gradient at the output ``(n_k,)``.
    ``order="reverse"`` multiplies right to left (matrix-vector products only,
    backpropagation's order); ``order="forward"`` first multiplies the
    matrices left to right, then applies the product to ``g``. Same result,
    very different cost.
    """
    order = choice(order, "order", ("reverse", "forward"))
    Js, g = _chain_inputs(jacobians, g)
    # Each step divides out a power of two (exactly) and counts it in e, so a long
    # chain neither overflows nor underflows on the way, only if its result does.
    if order == "reverse":
        v, e = _split(g)
        for J in reversed(Js):
            v, e = _split(J.T @ v, e)
    else:
        P, e = _split(Js[0].T)
        for J in Js[1:]:
            P, e = _split(P @ J.T, e)
        v, e = _split(g, e)
        v, e = _split(P @ v, e)
    return _finite(_times_pow2(v, e), "chain_grad's result",
                   **{f"J{i + 1}": J for i, J in enumerate(Js)}, g=g)


def _chain_inputs(jacobians, g):
    """The Jacobians and ``g`` of :func:`chain_grad`, checked: they must chain."""
    if isinstance(jacobians, (str, bytes, np.ndarray)) or is_torch(jacobians) \
            or not isinstance(jacobians, Sequence):
        if isinstance(jacobians, np.ndarray) or is_torch(jacobians):
            hint = "; wrap a single Jacobian J as [J]"
        elif isinstance(jacobians, Iterable) and not isinstance(jacobians, (str, bytes)):
            hint = "; pass list(...) of the matrices"
        else:
            hint = ""
        raise TypeError(f"jacobians must be a list or tuple of matrices J_1, ..., J_k, got "
                        f"{type(jacobians).__name__}{hint}")
    if len(jacobians) == 0:
        raise ValueError("jacobians must hold at least one matrix, got none")
    specs = [(f"J{i + 1}", J, 2, "a Jacobian matrix") for i, J in enumerate(jacobians)]
    *Js, g = _inputs(*specs, ("g", g, 1, "the output gradient"))
    rows = g.shape[0]
    for i in range(len(Js) - 1, -1, -1):
        if Js[i].shape[0] != rows:
            raise ValueError(f"J{i + 1} must have {rows} rows to chain, got shape "
                             f"{tuple(Js[i].shape)}")
        rows = Js[i].shape[1]
    return Js, g


def classify_stationary(H, tol: float = 1e-10) -> str:
    """Classify a stationary point from its (symmetric) Hessian ``H (n, n)``.

    With ``lam`` the eigenvalues of ``H`` and ``big = max |lam|``, an
    eigenvalue counts as zero when ``|lam| <= tol * big`` (``tol`` in [0, 1) is
    relative, so the answer does not depend on the units). Returns
    ``"minimum"`` (all eigenvalues positive), ``"maximum"`` (all negative),
    ``"saddle"`` (both signs) or ``"undecided"`` (some eigenvalue zero and no
    sign change, or ``H = 0``: second order cannot tell). ``H`` may be a
    numerical Hessian: an asymmetry up to ``1e-6 * max |H|`` is accepted and
    the symmetric part ``(H + H^T) / 2`` is used.
    """
    tol = nonnegative(tol, "tol")
    if tol >= 1:
        raise ValueError(f"tol must be < 1 (it is relative to the largest |eigenvalue|), "
                         f"got {tol!r}")
    (H,) = _inputs(("H", H, 2, "a square Hessian"))
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {tuple(H.shape)}")
    H, _ = _split(np.asarray(to_numpy(H), dtype=np.float64))  # max |H| in [0.5, 1): no overflow
    asymmetry = float(np.max(np.abs(H - H.T))) / max(float(np.max(np.abs(H))), 1e-300)
    if asymmetry > 1e-6:
        raise ValueError(f"H must be symmetric (a Hessian), got max |H - H^T| = {asymmetry:.1e} "
                         f"times max |H|")
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    zero = tol * float(np.max(np.abs(lam)))
    positive, negative = lam > zero, lam < -zero
    if positive.any() and negative.any():
        return "saddle"
    if positive.all():
        return "minimum"
    if negative.all():
        return "maximum"
    return "undecided"
