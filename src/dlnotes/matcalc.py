"""The analytic rules of matrix calculus, in the book's denominator layout.

Every gradient returned here has the shape of its variable. Layers follow
``torch.nn.Linear``: ``W`` is ``(d_out, d_in)``, one example is ``z = W x + b``
and a batch with examples as rows is ``Z = X W^T + 1 b^T``.

The functions accept NumPy arrays (computed in float64) or torch tensors
(computed in the tensors' own dtype and device), but not a mix of the two.
Numerical derivatives live in :mod:`dlnotes.gradcheck`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from dlnotes._checks import all_finite, is_torch


class MatmulGrads(NamedTuple):
    """Gradients of ``L`` for ``Y = W X``: ``W`` (shape of W) and ``X`` (shape of X)."""

    W: object
    X: object


class LinearGrads(NamedTuple):
    """Gradients of ``L`` for a linear layer, in the order (W, X, b)."""

    W: object
    X: object
    b: object


def _arrays(names: str, *arrays):
    """Validate and convert: NumPy input to float64, torch tensors kept as they are."""
    kinds = {is_torch(a) for a in arrays}
    if len(kinds) > 1:
        raise TypeError(f"{names} must be all NumPy arrays or all torch tensors, got a mix: "
                        + ", ".join(type(a).__name__ for a in arrays))
    out = []
    for name, a in zip(names.split(", "), arrays):
        if not is_torch(a):
            try:
                a = np.asarray(a, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be an array of numbers, got "
                                f"{type(a).__name__}") from None
        if not all_finite(a):
            raise ValueError(f"{name} must be finite, got NaN or inf entries")
        out.append(a)
    return out


def _ndim(a, want: int, name: str, meaning: str) -> None:
    if a.ndim != want:
        raise ValueError(f"{name} must be {want}-D ({meaning}), got shape {tuple(a.shape)}")


def _ns(a):
    """The array namespace of ``a``: torch for tensors, NumPy otherwise."""
    return torch if is_torch(a) else np


def matvec_grads(W, x, g) -> MatmulGrads:
    """Vector rule for ``y = W x``: returns ``(dL/dW, dL/dx) = (g x^T, W^T g)``.

    Shapes: ``W (m, n)``, ``x (n,)``, upstream gradient ``g = dL/dy (m,)``;
    results ``(m, n)`` and ``(n,)``.
    """
    W, x, g = _arrays("W, x, g", W, x, g)
    _ndim(W, 2, "W", "m x n")
    _ndim(x, 1, "x", "a vector of length n")
    _ndim(g, 1, "g", "a vector of length m")
    m, n = W.shape
    if x.shape[0] != n or g.shape[0] != m:
        raise ValueError(f"for W of shape {tuple(W.shape)} expected x of shape ({n},) and g of "
                         f"shape ({m},), got {tuple(x.shape)} and {tuple(g.shape)}")
    return MatmulGrads(g[:, None] * x[None, :], W.T @ g)


def matmul_grads(W, X, G) -> MatmulGrads:
    """Matrix rule for ``Y = W X``: returns ``(dL/dW, dL/dX) = (G X^T, W^T G)``.

    Shapes: ``W (m, n)``, ``X (n, q)``, upstream gradient ``G = dL/dY (m, q)``;
    results ``(m, n)`` and ``(n, q)``. Each factor receives the upstream
    gradient times the *other* factor, transposed, on the side where it sat.
    """
    W, X, G = _arrays("W, X, G", W, X, G)
    for name, a in (("W", W), ("X", X), ("G", G)):
        _ndim(a, 2, name, "a matrix")
    (m, n), q = W.shape, X.shape[1]
    if X.shape[0] != n:
        raise ValueError(f"W X does not conform: W has shape {tuple(W.shape)}, so X needs {n} "
                         f"rows, got shape {tuple(X.shape)}")
    if tuple(G.shape) != (m, q):
        raise ValueError(f"G must have the shape of Y = W X, ({m}, {q}), got {tuple(G.shape)}")
    return MatmulGrads(G @ X.T, W.T @ G)


def linear_rows(X, W, b):
    """Forward pass of the book's layer, ``Z = X W^T + 1 b^T``.

    Shapes: ``X (N, d_in)`` (examples as rows), ``W (d_out, d_in)``,
    ``b (d_out,)``; returns ``Z (N, d_out)``.
    """
    X, W, b = _check_layer(X, W, b, "b", "d_out")
    return X @ W.T + b[None, :]


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
    if G.shape[0] != X.shape[0]:
        raise ValueError(f"G must have one row per example, {X.shape[0]}, got shape "
                         f"{tuple(G.shape)}")
    return LinearGrads(G.T @ X, G @ W, G.sum(axis=0))


def _check_layer(X, W, third, name: str, meaning: str):
    X, W, third = _arrays(f"X, W, {name}", X, W, third)
    _ndim(X, 2, "X", "N x d_in, examples as rows")
    _ndim(W, 2, "W", "d_out x d_in, as in torch.nn.Linear")
    _ndim(third, 1 if name == "b" else 2, name, meaning)
    d_out, d_in = W.shape
    if X.shape[1] != d_in:
        raise ValueError(f"X must have d_in = {d_in} columns to match W of shape "
                         f"{tuple(W.shape)}, got X of shape {tuple(X.shape)}")
    if third.shape[-1] != d_out:
        raise ValueError(f"{name} must have d_out = {d_out} entries in its last axis to match "
                         f"W of shape {tuple(W.shape)}, got shape {tuple(third.shape)}")
    return X, W, third


def kernel_grads(X, K, G) -> LinearGrads:
    """Backward pass of the kernel form ``Z = X K + 1 b^T`` (Keras), ``K = W^T``.

    Shapes: ``X (N, d_in)``, ``K (d_in, d_out)``, ``G (N, d_out)``. Returns
    ``(dL/dK, dL/dX, dL/db) = (X^T G, G K^T, G^T 1)``, the book's rule with
    ``W = K^T`` substituted. The field named ``W`` holds ``dL/dK`` here.
    """
    dW, dX, db = linear_rows_grads(X, K.T, G)
    return LinearGrads(dW.T, dX, db)


def sum_outer_products(G, X):
    """``sum_i g_i x_i^T`` by an explicit loop over the rows of ``G (N, d_out)``
    and ``X (N, d_in)``; returns ``(d_out, d_in)``. Equal to ``G^T X``, and
    written as a loop only to show (and time) what that product computes."""
    G, X = _arrays("G, X", G, X)
    _ndim(G, 2, "G", "N x d_out")
    _ndim(X, 2, "X", "N x d_in")
    if G.shape[0] != X.shape[0]:
        raise ValueError(f"G and X need the same number of rows (examples), got shapes "
                         f"{tuple(G.shape)} and {tuple(X.shape)}")
    total = G[0][:, None] * X[0][None, :]
    for g, x in zip(G[1:], X[1:]):
        total = total + g[:, None] * x[None, :]
    return total


def dz_dW_tensor(W, x):
    """The third-order tensor ``dz/dW`` for ``z = y - W x``, in denominator layout.

    Shapes: ``W (m, n)``, ``x (n,)``; returns ``T (m, n, m)`` with
    ``T[i, p, k] = dz_k / dW_ip = -delta_ik x_p``. Slice ``T[:, :, k]`` is
    ``-e_k x^T``; contracting the last axis with ``dL/dz`` gives ``dL/dW``.
    (``y`` does not enter: it does not depend on ``W``.)
    """
    W, x = _arrays("W, x", W, x)
    _ndim(W, 2, "W", "m x n")
    _ndim(x, 1, "x", "a vector of length n")
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
    denominator layouts coincide. Stable for logits as large as +-1e4: the
    maximum is subtracted before exponentiating.
    """
    (z,) = _arrays("z", z)
    _ndim(z, 1, "z", "a vector of logits")
    e = _ns(z).exp(z - z.max())
    p = e / e.sum()
    return _ns(z).diag(p) - p[:, None] * p[None, :]


def chain_grad(jacobians, g, order: str = "reverse"):
    """Gradient ``J_1^T J_2^T ... J_k^T g`` of a scalar at the end of a chain.

    ``jacobians`` are the numerator-layout Jacobians ``J_1, ..., J_k`` of the
    maps in the order they are applied (``J_i`` is ``(n_i, n_{i-1})``), ``g``
    is the gradient at the output ``(n_k,)``. ``order="reverse"`` multiplies
    right to left (matrix-vector products only, backpropagation's order);
    ``order="forward"`` first multiplies the matrices left to right, then
    applies the product to ``g``. Same result, very different cost.
    """
    if order not in ("reverse", "forward"):
        raise ValueError(f"order must be 'reverse' or 'forward', got {order!r}")
    if len(jacobians) == 0:
        raise ValueError("jacobians must hold at least one matrix, got none")
    names = ", ".join(f"J{i + 1}" for i in range(len(jacobians)))
    *Js, g = _arrays(names + ", g", *jacobians, g)
    _ndim(g, 1, "g", "the output gradient")
    rows = g.shape[0]
    for i in range(len(Js) - 1, -1, -1):
        _ndim(Js[i], 2, f"J{i + 1}", "a Jacobian matrix")
        if Js[i].shape[0] != rows:
            raise ValueError(f"J{i + 1} must have {rows} rows to chain, got shape "
                             f"{tuple(Js[i].shape)}")
        rows = Js[i].shape[1]
    if order == "reverse":
        for J in reversed(Js):
            g = J.T @ g
        return g
    product = Js[0].T
    for J in Js[1:]:
        product = product @ J.T
    return product @ g


def classify_stationary(H, tol: float = 1e-10) -> str:
    """Classify a stationary point from its (symmetric) Hessian ``H (n, n)``.

    Returns ``"minimum"`` (all eigenvalues > tol), ``"maximum"`` (all < -tol),
    ``"saddle"`` (both signs) or ``"undecided"`` (some eigenvalue within
    ``tol`` of zero and no sign change: second order cannot tell).
    """
    (H,) = _arrays("H", H)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {tuple(H.shape)}")
    H = np.asarray(H.detach().cpu() if is_torch(H) else H, dtype=np.float64)
    if not np.allclose(H, H.T, atol=1e-8 * max(1.0, np.abs(H).max())):
        raise ValueError("H must be symmetric, got an asymmetric matrix")
    eig = np.linalg.eigvalsh(H)
    if eig.min() < -tol and eig.max() > tol:
        return "saddle"
    if eig.min() > tol:
        return "minimum"
    if eig.max() < -tol:
        return "maximum"
    return "undecided"
