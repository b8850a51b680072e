"""Tests of dlnotes.matcalc: the analytic rules of chapter 02 against finite
differences and torch autograd, on NumPy and torch input, plus bad input."""

import math

import mpmath
import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch.autograd.functional import jacobian

from dlnotes import gradcheck as gc
from dlnotes import matcalc as mc


def t64(a):
    return torch.tensor(a, dtype=torch.float64)


# Fact 6 (second half): softmax Jacobian.
def test_softmax_jacobian_closed_form_symmetric_and_torch(rng):
    z = rng.standard_normal(5)
    p = np.exp(z) / np.exp(z).sum()
    J = mc.softmax_jacobian(z)
    np.testing.assert_allclose(J, np.diag(p) - np.outer(p, p), atol=1e-8)
    np.testing.assert_allclose(J, J.T, atol=1e-8)
    ag = jacobian(lambda v: torch.softmax(v, dim=0), t64(z)).numpy()
    np.testing.assert_allclose(J, ag, atol=1e-12)
    fd = gc.numerical_jacobian(lambda v: np.exp(v) / np.exp(v).sum(), z)
    np.testing.assert_allclose(J, fd, atol=1e-8)


def test_softmax_jacobian_stays_finite_at_extreme_logits():
    J = mc.softmax_jacobian(np.array([1e4, -1e4, 0.0]))
    assert np.all(np.isfinite(J))
    np.testing.assert_allclose(J, np.zeros((3, 3)), atol=1e-300)
    J2 = mc.softmax_jacobian(np.array([1e4, 1e4]))
    np.testing.assert_allclose(J2, [[0.25, -0.25], [-0.25, 0.25]])


# Fact 8: the worked chain of section 2.7.
def test_worked_chain_exact():
    x, A = np.array([1.0, -1.0]), np.array([[1.0, 2.0], [0.0, 1.0]])
    y = A @ x
    grad_y = np.diag(2 * y) @ np.ones(2)
    grad_x = mc.chain_grad([A], grad_y)
    np.testing.assert_array_equal(grad_y, [-2.0, -2.0])
    np.testing.assert_array_equal(grad_x, [-2.0, -6.0])
    xt = t64(x).requires_grad_()
    ((t64(A) @ xt) ** 2).sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), [-2.0, -6.0])


def test_chain_grad_orders_agree_with_autograd(rng):
    Js = [rng.standard_normal((6, 6)) for _ in range(4)]
    g = rng.standard_normal(6)
    rev, fwd = mc.chain_grad(Js, g), mc.chain_grad(Js, g, order="forward")
    np.testing.assert_allclose(rev, fwd, rtol=1e-10)
    x = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    out = x
    for J in Js:
        out = t64(J) @ out
    (out @ t64(g)).backward()
    np.testing.assert_allclose(rev, x.grad.numpy(), rtol=1e-10)


def test_chain_grad_non_square(rng):
    Js = [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))]
    g = rng.standard_normal(2)
    np.testing.assert_allclose(mc.chain_grad(Js, g), Js[0].T @ Js[1].T @ g, rtol=1e-12)
    np.testing.assert_allclose(mc.chain_grad(Js, g, "forward"), Js[0].T @ Js[1].T @ g,
                               rtol=1e-12)


# Fact 9: the third-order tensor.
def test_dz_dW_tensor_slices_contraction_and_fd(rng):
    m, n = 3, 4
    W, x, y = rng.standard_normal((m, n)), rng.standard_normal(n), rng.standard_normal(m)
    T = mc.dz_dW_tensor(W, x)
    assert T.shape == (m, n, m)
    for k in range(m):
        np.testing.assert_array_equal(T[:, :, k], -np.outer(np.eye(m)[k], x))
    z = y - W @ x
    contracted = np.einsum("ipk,k->ip", T, z)
    np.testing.assert_allclose(contracted, -np.outer(z, x), atol=1e-8)
    fd = gc.numerical_grad(lambda M: 0.5 * np.sum((y - M @ x) ** 2), W)
    np.testing.assert_allclose(contracted, fd, atol=1e-8)
    # torch's jacobian is the same tensor in numerator order (m, m, n).
    ag = jacobian(lambda M: t64(y) - M @ t64(x), t64(W)).numpy()
    np.testing.assert_array_equal(gc.to_denominator(ag, in_ndim=2), T)


# Fact 10: the matrix rules, against autograd.
def test_matmul_grads_match_autograd(rng):
    W, X, C = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    dW, dX = mc.matmul_grads(W, X, C)
    np.testing.assert_array_equal(dW, C @ X.T)
    np.testing.assert_array_equal(dX, W.T @ C)
    Wt, Xt = t64(W).requires_grad_(), t64(X).requires_grad_()
    torch.sum(torch.tanh(Wt @ Xt)).backward()
    G = 1 - np.tanh(W @ X) ** 2
    dW, dX = mc.matmul_grads(W, X, G)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=1e-10)


def test_matvec_grads(rng):
    W, x, g = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    dW, dx = mc.matvec_grads(W, x, g)
    assert dW.shape == W.shape and dx.shape == x.shape
    np.testing.assert_allclose(dW, gc.numerical_grad(lambda M: g @ (M @ x), W), atol=1e-8)
    np.testing.assert_allclose(dx, gc.numerical_grad(lambda v: g @ (W @ v), x), atol=1e-8)


def test_linear_rows_grads_match_autograd_and_nn_linear(rng):
    N, d_in, d_out = 6, 4, 3
    X, W, b = rng.standard_normal((N, d_in)), rng.standard_normal((d_out, d_in)), \
        rng.standard_normal(d_out)
    layer = torch.nn.Linear(d_in, d_out, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(t64(W))
        layer.bias.copy_(t64(b))
    Xt = t64(X).requires_grad_()
    Z = layer(Xt)
    np.testing.assert_allclose(mc.linear_rows(X, W, b), Z.detach().numpy(), rtol=1e-12)
    (Z**2).mean().backward()
    G = 2 * Z.detach().numpy() / Z.numel()
    grads = mc.linear_rows_grads(X, W, G)
    assert [a.shape for a in grads] == [(d_out, d_in), (N, d_in), (d_out,)]
    np.testing.assert_allclose(grads.W, layer.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads.X, Xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads.b, layer.bias.grad.numpy(), rtol=1e-10)
    dW, dX, db = grads  # documented order (W, X, b)
    np.testing.assert_array_equal(dW, G.T @ X)
    np.testing.assert_array_equal(dX, G @ W)
    np.testing.assert_array_equal(db, G.T @ np.ones(N))


def test_planted_transpose_bug_is_caught(rng):
    n = 4  # square shapes: X^T G has the shape of W but is wrong
    X, W = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    G = rng.standard_normal((n, n))
    fd = gc.numerical_grad(lambda M: np.sum(G * (X @ M.T)), W)
    assert gc.rel_error(mc.linear_rows_grads(X, W, G).W, fd) < 1e-8
    assert (X.T @ G).shape == W.shape and gc.rel_error(X.T @ G, fd) > 1e-2


def test_kernel_grads(rng):
    X, K, G = rng.standard_normal((5, 3)), rng.standard_normal((3, 2)), rng.standard_normal((5, 2))
    dK, dX, db = mc.kernel_grads(X, K, G)
    np.testing.assert_allclose(dK, X.T @ G, rtol=1e-12)
    np.testing.assert_allclose(dX, G @ K.T, rtol=1e-12)
    np.testing.assert_allclose(dK, gc.numerical_grad(lambda M: np.sum(G * (X @ M)), K),
                               atol=1e-8)
    np.testing.assert_allclose(db, G.sum(axis=0), rtol=1e-12)


# Fact 11: the worked layer of section 2.10.
def test_worked_layer_exact():
    X = np.array([[1.0, 2.0], [0.0, 1.0]])
    W = np.array([[1.0, -1.0], [2.0, 0.0], [0.0, 1.0]])
    Z = mc.linear_rows(X, W, np.zeros(3))
    np.testing.assert_array_equal(Z, [[-1, 2, 2], [-1, 0, 1]])
    assert Z.sum() == 3
    dW, dX, db = mc.linear_rows_grads(X, W, np.ones_like(Z))
    np.testing.assert_array_equal(dW, [[1, 3]] * 3)
    np.testing.assert_array_equal(dX, [[3, 0]] * 2)
    np.testing.assert_array_equal(db, [2, 2, 2])


# Fact 12: the batch gradient is a sum of outer products.
def test_sum_outer_products_equals_GT_X(rng):
    G, X = rng.standard_normal((50, 3)), rng.standard_normal((50, 4))
    np.testing.assert_allclose(mc.sum_outer_products(G, X), G.T @ X, atol=1e-10)


# Hessians and stationary points.
@pytest.mark.parametrize("H, kind", [(np.diag([2.0, 3.0]), "minimum"),
                                     (np.diag([-2.0, -1.0]), "maximum"),
                                     (np.diag([2.0, -2.0]), "saddle"),
                                     (np.diag([2.0, 0.0]), "undecided")])
def test_classify_stationary(H, kind):
    assert mc.classify_stationary(H) == kind


def test_saddle_from_numerical_hessian():
    H = gc.numerical_hessian(lambda v: np.array([2 * v[0], -2 * v[1]]), np.zeros(2))
    np.testing.assert_allclose(H, np.diag([2.0, -2.0]), atol=1e-8)
    assert mc.classify_stationary(H) == "saddle"


# NumPy and torch alike.
@pytest.mark.parametrize("fn, shapes", [
    (mc.matmul_grads, [(3, 4), (4, 5), (3, 5)]),
    (mc.matvec_grads, [(3, 4), (4,), (3,)]),
    (mc.linear_rows_grads, [(6, 4), (3, 4), (6, 3)]),
    (mc.kernel_grads, [(6, 4), (4, 3), (6, 3)]),
    (mc.linear_rows, [(6, 4), (3, 4), (3,)]),
    (mc.sum_outer_products, [(6, 3), (6, 4)]),
    (mc.dz_dW_tensor, [(3, 4), (4,)]),
    (mc.softmax_jacobian, [(5,)]),
])
def test_numpy_and_torch_agree(rng, fn, shapes):
    args = [rng.standard_normal(s) for s in shapes]
    out_np, out_t = fn(*args), fn(*[t64(a) for a in args])
    if not isinstance(out_np, tuple):
        out_np, out_t = (out_np,), (out_t,)
    for a, b in zip(out_np, out_t):
        assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-15)


def test_chain_grad_torch(rng):
    Js = [rng.standard_normal((4, 4)) for _ in range(3)]
    g = rng.standard_normal(4)
    out = mc.chain_grad([t64(J) for J in Js], t64(g))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), mc.chain_grad(Js, g), rtol=1e-12)


@pytest.mark.cuda
def test_cuda_matches_cpu(rng):
    X, W, G = rng.standard_normal((64, 8)), rng.standard_normal((5, 8)), \
        rng.standard_normal((64, 5))
    cpu = mc.linear_rows_grads(X, W, G)
    dev = torch.device("cuda")
    gpu = mc.linear_rows_grads(*[torch.tensor(a, device=dev) for a in (X, W, G)])
    for a, b in zip(cpu, gpu):
        assert b.device.type == "cuda"
        np.testing.assert_allclose(a, b.cpu().numpy(), rtol=1e-10)
    T = mc.dz_dW_tensor(torch.tensor(W, device=dev), torch.tensor(X[0], device=dev))
    np.testing.assert_array_equal(T.cpu().numpy(), mc.dz_dW_tensor(W, X[0]))
    J = mc.softmax_jacobian(torch.tensor(G[0], device=dev))
    np.testing.assert_allclose(J.cpu().numpy(), mc.softmax_jacobian(G[0]), rtol=1e-10)


@pytest.mark.cuda
def test_cuda_chain_softmax_classify_and_device_mix(rng):
    dev = torch.device("cuda")
    Js = [rng.standard_normal((4, 4)) * s for s in (1e-150, 1e-150, 1e-150, 1e-150,
                                                    1e150, 1e150, 1e150, 1e150)]
    g = rng.standard_normal(4)
    for order in ("reverse", "forward"):
        out = mc.chain_grad([torch.tensor(J, device=dev) for J in Js],
                            torch.tensor(g, device=dev), order)
        assert out.device.type == "cuda"
        ref = mc.chain_grad(Js, g, order)
        np.testing.assert_allclose(out.cpu().numpy(), ref, atol=1e-10 * np.abs(ref).max())
    z = torch.tensor([1e4, -1e4, 40.0, 0.0], device=dev, dtype=torch.float64,
                     requires_grad=True)
    J = mc.softmax_jacobian(z)
    assert J.device.type == "cuda" and J.requires_grad
    np.testing.assert_allclose(J.detach().cpu().numpy(),
                               mc.softmax_jacobian(z.detach().cpu().numpy()), rtol=1e-12,
                               atol=1e-300)
    H = torch.diag(torch.tensor([1.0, -2.0], device=dev))
    assert mc.classify_stationary(H) == "saddle"
    with pytest.raises(ValueError, match="W, X, G must be on one device"):
        mc.matmul_grads(torch.ones(2, 2, device=dev), torch.ones(2, 2), torch.ones(2, 2))


# Bad input.
def test_matmul_grads_non_conforming():
    with pytest.raises(ValueError, match=r"W has shape \(3, 4\), so X needs 4 rows, got "
                                         r"shape \(5, 2\)"):
        mc.matmul_grads(np.ones((3, 4)), np.ones((5, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"shape of Y = W X, \(3, 2\), got \(2, 3\)"):
        mc.matmul_grads(np.ones((3, 4)), np.ones((4, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"W must be 2-D .*got shape \(3,\)"):
        mc.matmul_grads(np.ones(3), np.ones((3, 2)), np.ones((1, 2)))


def test_matvec_grads_bad_shapes():
    with pytest.raises(ValueError, match=r"expected x of shape \(4,\) and g of shape \(3,\), "
                                         r"got \(4,\) and \(2,\)"):
        mc.matvec_grads(np.ones((3, 4)), np.ones(4), np.ones(2))


def test_linear_rows_grads_bad_shapes():
    with pytest.raises(ValueError, match=r"d_in = 4 columns .*got X of shape \(6, 3\)"):
        mc.linear_rows_grads(np.ones((6, 3)), np.ones((2, 4)), np.ones((6, 2)))
    with pytest.raises(ValueError, match=r"G must have d_out = 2 .*got shape \(6, 3\)"):
        mc.linear_rows_grads(np.ones((6, 4)), np.ones((2, 4)), np.ones((6, 3)))
    with pytest.raises(ValueError, match=r"one row per example, 6, got shape \(5, 2\)"):
        mc.linear_rows_grads(np.ones((6, 4)), np.ones((2, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"b must be 1-D .*got shape \(1, 2\)"):
        mc.linear_rows(np.ones((6, 4)), np.ones((2, 4)), np.ones((1, 2)))


def test_mixed_and_non_numeric_input():
    with pytest.raises(TypeError, match="all NumPy arrays or all torch tensors, got a mix"):
        mc.matmul_grads(np.ones((2, 2)), torch.ones(2, 2), np.ones((2, 2)))
    with pytest.raises(TypeError, match="z must be an array of numbers, got str"):
        mc.softmax_jacobian("abc")


def test_nan_input_rejected():
    with pytest.raises(ValueError, match="W must be finite"):
        mc.dz_dW_tensor(np.array([[np.nan, 1.0]]), np.ones(2))
    with pytest.raises(ValueError, match="z must be finite"):
        mc.softmax_jacobian(torch.tensor([0.0, float("inf")]))


def test_dz_dW_tensor_bad_shapes():
    with pytest.raises(ValueError, match=r"length n = 4 .*got shape \(3,\)"):
        mc.dz_dW_tensor(np.ones((2, 4)), np.ones(3))


def test_chain_grad_bad_input():
    with pytest.raises(ValueError, match="order must be one of 'reverse', 'forward', got "
                                         "'sideways'"):
        mc.chain_grad([np.eye(2)], np.ones(2), order="sideways")
    with pytest.raises(ValueError, match="at least one matrix, got none"):
        mc.chain_grad([], np.ones(2))
    with pytest.raises(ValueError, match=r"J1 must have 3 rows to chain, got shape \(2, 2\)"):
        mc.chain_grad([np.eye(2), np.ones((2, 3))], np.ones(2))


def test_sum_outer_products_bad_rows():
    with pytest.raises(ValueError, match=r"same number of rows .*\(3, 2\) and \(4, 2\)"):
        mc.sum_outer_products(np.ones((3, 2)), np.ones((4, 2)))


def test_classify_stationary_bad_input():
    with pytest.raises(ValueError, match=r"square matrix, got shape \(2, 3\)"):
        mc.classify_stationary(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        mc.classify_stationary(np.array([[1.0, 2.0], [0.0, 1.0]]))


# --- properties: every rule against torch autograd --------------------------------------
#
# Inputs come as NumPy float64, lists, NumPy ints, float64/float32/int tensors and an int
# tensor mixed with float32 ones; each array has its own magnitude 10**e, e in [-150, 150]
# for float64 (products stay within float64) and [-12, 12] for float32. The reference is
# torch autograd in float64 on the same values; the tolerance is relative to the same
# rule applied to |inputs|, a bound on the rounding error that cancellation cannot beat.

KINDS = ("numpy", "list", "int numpy", "torch64", "torch32", "int torch", "int+torch32")
FLOAT32 = ("torch32", "int+torch32")


def _values(rng, kind, shapes, exps):
    """float64 NumPy arrays holding exactly the values the call will see."""
    out = []
    for i, (shape, e) in enumerate(zip(shapes, exps)):
        if kind in ("int numpy", "int torch") or (kind == "int+torch32" and i == 0):
            out.append(rng.integers(-5, 6, size=shape).astype(np.float64))
        elif kind in FLOAT32:
            a = rng.uniform(-2, 2, size=shape) * 10.0 ** (e // 12)
            out.append(a.astype(np.float32).astype(np.float64))
        else:
            out.append(rng.uniform(-2, 2, size=shape) * 10.0**e)
    return out


def _as_kind(kind, arrays):
    if kind == "numpy":
        return list(arrays)
    if kind == "list":
        return [a.tolist() for a in arrays]
    if kind == "int numpy":
        return [a.astype(np.int64) for a in arrays]
    if kind == "torch64":
        return [torch.tensor(a) for a in arrays]
    if kind == "torch32":
        return [torch.tensor(a, dtype=torch.float32) for a in arrays]
    if kind == "int torch":
        return [torch.tensor(a, dtype=torch.int64) for a in arrays]
    return [torch.tensor(arrays[0], dtype=torch.int64)] + [
        torch.tensor(a, dtype=torch.float32) for a in arrays[1:]]


def _expected_type(kind):
    if kind in ("numpy", "list", "int numpy"):
        return np.ndarray, np.float64
    return torch.Tensor, (torch.float32 if kind in FLOAT32 else torch.float64)


def _autograd(loss, arrays, wrt):
    ts = [torch.tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    return tuple(g.numpy() for g in torch.autograd.grad(loss(*ts), [ts[i] for i in wrt]))


def _ref_linear_rows_grads(X, W, G):
    b, Gt = np.zeros(W.shape[0]), torch.tensor(G)
    return _autograd(lambda X, W, b: (Gt * torch.nn.functional.linear(X, W, b)).sum(),
                     [X, W, b], (1, 0, 2))


def _ref_kernel_grads(X, K, G):
    b = np.zeros(K.shape[1])
    Gt = torch.tensor(G)
    return _autograd(lambda X, K, b: (Gt * (X @ K + b)).sum(), [X, K, b], (1, 0, 2))


def _ref_dz_dW(W, x):
    y = torch.zeros(W.shape[0], dtype=torch.float64)
    J = jacobian(lambda M: y - M @ torch.tensor(x), torch.tensor(W))  # (m, m, n)
    return (J.permute(1, 2, 0).numpy(),)


# name: (function, shapes from (N, d_in, d_out), float64 reference on NumPy arrays)
RULES = {
    "matvec_grads": (mc.matvec_grads, lambda N, i, o: [(o, i), (i,), (o,)],
                     lambda W, x, g: _autograd(lambda W, x: torch.tensor(g) @ (W @ x), [W, x],
                                               (0, 1))),
    "matmul_grads": (mc.matmul_grads, lambda N, i, o: [(o, i), (i, N), (o, N)],
                     lambda W, X, G: _autograd(lambda W, X: (torch.tensor(G) * (W @ X)).sum(),
                                               [W, X], (0, 1))),
    "linear_rows": (mc.linear_rows, lambda N, i, o: [(N, i), (o, i), (o,)],
                    lambda X, W, b: (torch.nn.functional.linear(
                        *(torch.tensor(a) for a in (X, W, b))).numpy(),)),
    "linear_rows_grads": (mc.linear_rows_grads, lambda N, i, o: [(N, i), (o, i), (N, o)],
                          _ref_linear_rows_grads),
    "kernel_grads": (mc.kernel_grads, lambda N, i, o: [(N, i), (i, o), (N, o)],
                     _ref_kernel_grads),
    "sum_outer_products": (mc.sum_outer_products, lambda N, i, o: [(N, o), (N, i)],
                           lambda G, X: (torch.tensor(G).T @ torch.tensor(X)).numpy()[None]),
    "dz_dW_tensor": (mc.dz_dW_tensor, lambda N, i, o: [(o, i), (i,)], _ref_dz_dW),
}


@pytest.mark.parametrize("rule", list(RULES))
@given(N=st.integers(1, 5), d_in=st.integers(1, 6), d_out=st.integers(1, 4),
       exps=st.lists(st.integers(-150, 150), min_size=3, max_size=3),
       kind=st.sampled_from(KINDS), seed=st.integers(0, 2**32 - 1))
def test_rule_matches_autograd(rule, N, d_in, d_out, exps, kind, seed):
    fn, shapes, reference = RULES[rule]
    shapes = shapes(N, d_in, d_out)
    arrays = _values(np.random.default_rng(seed), kind, shapes, exps)
    out = fn(*_as_kind(kind, arrays))
    out = out if isinstance(out, tuple) else (out,)
    ref = [np.asarray(r) for r in reference(*arrays)]
    bound = [np.abs(np.asarray(r)) for r in reference(*[np.abs(a) for a in arrays])]
    cls, dtype = _expected_type(kind)
    rtol, atol = (1e-5, 1e-36) if kind in FLOAT32 else (1e-12, 1e-300)
    assert len(out) == len(ref)
    for got, want, b in zip(out, ref, bound):
        assert isinstance(got, cls) and got.dtype == dtype
        got = np.asarray(to_np(got), dtype=np.float64)
        assert got.shape == want.shape
        assert np.all(np.isfinite(got))
        assert np.all(np.abs(got - want) <= rtol * b + atol)


def to_np(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a


def _exact_softmax_jacobian(z):
    """diag(p) - p p^T in 40-digit arithmetic, its diagonal as p_i * (sum of the others)."""
    with mpmath.workdps(40):
        top = max(z)
        e = [mpmath.exp(mpmath.mpf(float(v)) - mpmath.mpf(float(top))) for v in z]
        total = mpmath.fsum(e)
        p = [v / total for v in e]
        n = len(z)
        return np.array([[float(p[i] * mpmath.fsum(p[j] for j in range(n) if j != i))
                          if i == j else float(-p[i] * p[j]) for j in range(n)]
                         for i in range(n)])


@given(n=st.integers(1, 8), e=st.integers(-150, 150), shift=st.sampled_from([0.0, 1e4, -1e4]),
       kind=st.sampled_from(["numpy", "list", "torch64", "torch32"]),
       seed=st.integers(0, 2**32 - 1))
def test_softmax_jacobian_matches_autograd_and_exact_values(n, e, shift, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "torch32":
        e = e // 10  # float32 logits up to about 1e15
    z = rng.uniform(-3, 3, n) * 10.0**e + shift
    if kind == "torch32":
        z = z.astype(np.float32).astype(np.float64)
    (arg,) = _as_kind(kind, [z])
    J = mc.softmax_jacobian(arg)
    got = np.asarray(to_np(J), dtype=np.float64)
    assert got.shape == (n, n) and np.all(np.isfinite(got))
    exact = _exact_softmax_jacobian(z)
    auto = jacobian(lambda v: torch.softmax(v, dim=0), torch.tensor(z)).numpy()
    if kind == "torch32":
        assert J.dtype == torch.float32
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-6)
    else:
        # torch's diagonal p (1 - p) loses digits when p is close to 1; ours does not
        np.testing.assert_allclose(got, auto, rtol=0, atol=1e-15)
        assert np.all(np.abs(got - exact) <= 1e-12 * np.abs(exact) + 1e-300)
    np.testing.assert_array_equal(got, got.T)


def test_softmax_jacobian_keeps_digits_of_a_dominant_probability():
    z = np.array([40.0, 0.0])  # p_1 = 1 - 4.2e-18: 1 - p_1 is not representable from p_1
    exact = _exact_softmax_jacobian(z)
    np.testing.assert_allclose(mc.softmax_jacobian(z), exact, rtol=1e-14)


def _normalized(a):
    """(a / 2**k, k) with max |a / 2**k| in [0.5, 1); exact."""
    big = np.max(np.abs(a))
    k = math.frexp(float(big))[1] if big > 0 else 0
    return np.ldexp(a, -k), k


@given(k=st.integers(1, 5), widths=st.lists(st.integers(1, 5), min_size=6, max_size=6),
       exps=st.lists(st.integers(-150, 150), min_size=6, max_size=6),
       kind=st.sampled_from(["numpy", "list", "int numpy", "torch64", "torch32", "int torch"]),
       seed=st.integers(0, 2**32 - 1))
def test_chain_grad_reverse_and_forward_match_autograd(k, widths, exps, kind, seed):
    dims = widths[:k + 1]
    shapes = [(dims[i + 1], dims[i]) for i in range(k)] + [(dims[k],)]
    arrays = _values(np.random.default_rng(seed), kind, shapes, exps)
    *Js, g = arrays
    # Reference: autograd through the composed chain x -> J_k ... J_1 x, g . h_k, on the
    # factors divided by powers of two (exact), so the reference itself cannot overflow.
    scaled = [_normalized(a) for a in arrays]
    E = sum(e for _, e in scaled)
    x = torch.zeros(dims[0], dtype=torch.float64, requires_grad=True)
    h = x
    for J, _ in scaled[:-1]:
        h = torch.tensor(J) @ h
    (torch.tensor(scaled[-1][0]) @ h).backward()
    ref = x.grad.numpy()
    bound = np.abs(scaled[-1][0])
    for J, _ in reversed(scaled[:-1]):
        bound = np.abs(J).T @ bound
    is32 = kind == "torch32"
    emax, emin, rtol = (128, -149, 1e-5) if is32 else (1024, -1074, 1e-12)
    big = float(np.max(np.abs(ref)))
    top = math.log2(big) + E if big > 0 else -math.inf
    assume(not emax - 1.5 < top < emax + 1.5)  # too close to the overflow threshold to call
    for order in ("reverse", "forward"):
        args = _as_kind(kind, arrays)
        if top > emax:
            with pytest.raises(ValueError, match="chain_grad's result overflows"):
                mc.chain_grad(args[:-1], args[-1], order=order)
            continue
        out = mc.chain_grad(args[:-1], args[-1], order=order)
        cls, dtype = _expected_type(kind)
        assert isinstance(out, cls) and out.dtype == dtype
        got = np.ldexp(np.asarray(to_np(out), dtype=np.float64), -E)
        # results below the float range are correct to the smallest subnormal only
        floor = math.ldexp(1.0, min(emin + 1 - E, 1000))
        assert np.all(np.abs(got - ref) <= rtol * bound + floor), order


def _classify(lam, tol):
    big = np.max(np.abs(lam))
    pos, neg = lam > tol * big, lam < -tol * big
    if pos.any() and neg.any():
        return "saddle"
    if big > 0 and pos.all():
        return "minimum"
    if big > 0 and neg.all():
        return "maximum"
    return "undecided"


@given(n=st.integers(1, 6), e=st.integers(-150, 150), zeros=st.integers(0, 6),
       signs=st.sampled_from(["any", "positive", "negative"]),
       tol=st.sampled_from([1e-10, 1e-6, 1e-2]),
       kind=st.sampled_from(["numpy", "list", "int numpy", "torch64", "torch32"]),
       seed=st.integers(0, 2**32 - 1))
def test_classify_stationary_matches_scipy_eigenvalues(n, e, zeros, signs, tol, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "int numpy":
        A = rng.integers(-3, 4, size=(n, n)).astype(np.float64)
        H = A + A.T
    else:
        lam = rng.uniform(0.1, 2, n) * rng.choice([-1.0, 1.0], n)
        lam = {"any": lam, "positive": np.abs(lam), "negative": -np.abs(lam)}[signs]
        lam[:min(zeros, n - 1)] = 0.0  # singular directions (rounding leaves ~1e-16)
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        H = (Q * lam) @ Q.T * 10.0 ** (e // 10 if kind == "torch32" else e)
        H = (H + H.T) / 2
        if kind == "torch32":
            H = H.astype(np.float32).astype(np.float64)
    eig = scipy.linalg.eigh(H, eigvals_only=True)
    big = np.max(np.abs(eig))
    near = (np.abs(eig) > tol * big / 100) & (np.abs(eig) < tol * big * 100)
    assume(not near.any())  # an eigenvalue near the threshold: two solvers may disagree
    (arg,) = _as_kind(kind, [H])
    assert mc.classify_stationary(arg, tol=tol) == _classify(eig, tol)


# --- tensors that require grad stay differentiable --------------------------------------


def _leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(
        sum(shape))).requires_grad_()


@pytest.mark.parametrize("fn, shapes", [
    (lambda W, X, G: tuple(mc.matmul_grads(W, X, G)), [(3, 4), (4, 2), (3, 2)]),
    (lambda W, x, g: tuple(mc.matvec_grads(W, x, g)), [(3, 4), (4,), (3,)]),
    (mc.linear_rows, [(2, 4), (3, 4), (3,)]),
    (lambda X, W, G: tuple(mc.linear_rows_grads(X, W, G)), [(2, 4), (3, 4), (2, 3)]),
    (lambda X, K, G: tuple(mc.kernel_grads(X, K, G)), [(2, 4), (4, 3), (2, 3)]),
    (mc.sum_outer_products, [(5, 2), (5, 3)]),
    (mc.softmax_jacobian, [(4,)]),
    (lambda J1, J2, g: mc.chain_grad([J1, J2], g), [(3, 2), (4, 3), (4,)]),
    (lambda J1, J2, g: mc.chain_grad((J1, J2), g, "forward"), [(3, 2), (4, 3), (4,)]),
])
def test_tensors_that_require_grad_stay_differentiable(fn, shapes):
    args = [_leaf(*s) for s in shapes]
    out = fn(*args)
    assert all(o.requires_grad for o in (out if isinstance(out, tuple) else (out,)))
    assert torch.autograd.gradcheck(fn, args)


def test_classify_stationary_takes_a_tensor_that_requires_grad():
    H = torch.diag(torch.tensor([2.0, -1.0], dtype=torch.float64)).requires_grad_()
    assert mc.classify_stationary(H) == "saddle"


def test_lists_and_int_arrays_give_float64_numpy():
    dW, dX = mc.matmul_grads([[1, 2]], [[3], [4]], [[5]])
    assert dW.dtype == np.float64 and dW.tolist() == [[15.0, 20.0]] and dX.tolist() == [[5.0],
                                                                                     [10.0]]
    big = np.full((2, 2), 2**62, dtype=np.int64)  # int64 arithmetic would overflow
    np.testing.assert_array_equal(mc.sum_outer_products(big, big), np.full((2, 2), 2.0**125))


def test_float32_tensors_stay_float32_and_int_tensors_follow_them():
    grads = mc.linear_rows_grads(torch.ones(2, 3, dtype=torch.int64), torch.ones(4, 3),
                                 torch.ones(2, 4))
    assert all(g.dtype == torch.float32 for g in grads)


# --- range: magnitudes 1e-150 .. 1e150 are fine; beyond the float range is an error -----


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_extreme_magnitudes_are_exact_enough(scale):
    G, X = np.array([[1.0, -2.0], [3.0, 0.5]]) * scale, np.array([[2.0], [-1.0]]) * scale
    np.testing.assert_allclose(mc.linear_rows_grads(X, np.ones((2, 1)), G).W,
                               (G.T @ X), rtol=1e-15)
    np.testing.assert_allclose(mc.sum_outer_products(G, X), G.T @ X, rtol=1e-15)


@pytest.mark.parametrize("scales", [(1e-150,) * 4 + (1e150,) * 4, (1e150,) * 4 + (1e-150,) * 4])
@pytest.mark.parametrize("order", ["reverse", "forward"])
def test_chain_whose_partial_products_leave_the_float_range(scales, order):
    # either order passes through 1e450 or 1e-450 on the way; the result is g itself
    rng = np.random.default_rng(1)
    Q = [np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in scales]
    Js = [q * s for q, s in zip(Q, scales)]
    g = np.array([1.0, -2.0, 0.5]) * 1e150
    want = g
    for q in reversed(Q):
        want = q.T @ want
    np.testing.assert_allclose(mc.chain_grad(Js, g, order), want, rtol=1e-13)


def test_overflowing_results_are_an_error_not_inf():
    big = np.full((2, 2), 1e200)
    with pytest.raises(ValueError, match=r"matmul_grads overflows float64 \(largest finite "
                                         r"1.8e\+308\): max \|W\| = 1.0e\+200, max \|X\| = "
                                         r"1.0e\+200, max \|G\| = 1.0e\+200; rescale"):
        mc.matmul_grads(big, big, big)
    with pytest.raises(ValueError, match="linear_rows_grads overflows float32"):
        t = torch.full((2, 2), 1e20)
        mc.linear_rows_grads(t, t, t)
    with pytest.raises(ValueError, match="sum_outer_products overflows float64"):
        mc.sum_outer_products(big, big)
    with pytest.raises(ValueError, match="chain_grad's result overflows float64"):
        mc.chain_grad([np.eye(2) * 1e150] * 3, np.ones(2))


def test_results_below_the_float_range_round_to_zero():
    out = mc.chain_grad([np.eye(2) * 1e-150] * 3, np.ones(2))
    np.testing.assert_array_equal(out, 0.0)


# --- bad input: every argument, the promised error and its message ----------------------

t32, t64_ = torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64)


def _gen():
    yield np.eye(2)


BAD = [
    # kinds
    (mc.matmul_grads, (np.ones((2, 2)), torch.ones(2, 2), np.ones((2, 2))), TypeError,
     r"W, X, G must be all NumPy arrays or all torch tensors, got a mix: W ndarray, X Tensor"),
    (mc.matmul_grads, (t32, t64_, t32), TypeError,
     r"W, X, G must share one floating dtype, got W torch.float32, X torch.float64"),
    (mc.matmul_grads, ("abc", np.ones((2, 2)), np.ones((2, 2))), TypeError,
     "W must be an array of numbers, got str"),
    (mc.matmul_grads, (None, np.ones((2, 2)), np.ones((2, 2))), TypeError,
     "W must be an array of numbers, got NoneType"),
    (mc.matmul_grads, (np.ones((2, 2)), [[1, 2], [3]], np.ones((2, 2))), TypeError,
     "X must be an array of numbers, got list"),
    (mc.matvec_grads, (np.ones((2, 2)), np.ones(2) * 1j, np.ones(2)), TypeError,
     "x must hold real numbers, got dtype complex128"),
    (mc.softmax_jacobian, (torch.ones(3, dtype=torch.complex64),), TypeError,
     "z must hold real numbers, got dtype torch.complex64"),
    (mc.softmax_jacobian, (np.array(["a", "b"]),), TypeError, "z must hold real numbers"),
    # NaN and infinity
    (mc.matvec_grads, (np.ones((2, 2)), np.array([1.0, np.nan]), np.ones(2)), ValueError,
     "x must be finite, got 1 NaN/inf entries"),
    (mc.linear_rows, (np.ones((2, 2)), np.ones((2, 2)), torch.tensor([1.0, np.inf])),
     TypeError, "must be all NumPy arrays or all torch tensors"),
    (mc.linear_rows, (torch.ones(2, 2), torch.ones(2, 2), torch.tensor([1.0, np.inf])),
     ValueError, "b must be finite"),
    # number of axes, 0-d input, empty input
    (mc.matvec_grads, (np.ones((2, 2)), np.array(1.0), np.ones(2)), ValueError,
     r"x must be 1-D \(a vector of length n\), got shape \(\)"),
    (mc.softmax_jacobian, (torch.tensor(1.0),), ValueError, r"z must be 1-D .*got shape \(\)"),
    (mc.softmax_jacobian, (np.ones((2, 2)),), ValueError, r"z must be 1-D .*got shape \(2, 2\)"),
    (mc.softmax_jacobian, ([],), ValueError, r"z must not be empty .*got shape \(0,\)"),
    (mc.sum_outer_products, (np.ones((0, 2)), np.ones((0, 3))), ValueError,
     r"G must not be empty \(N x d_out\), got shape \(0, 2\)"),
    (mc.sum_outer_products, (np.ones(3), np.ones((3, 2))), ValueError, "G must be 2-D"),
    (mc.matvec_grads, (np.ones((2, 0)), np.ones(0), np.ones(2)), ValueError,
     r"W must not be empty \(m x n\), got shape \(2, 0\)"),
    (mc.linear_rows_grads, (np.ones((0, 3)), np.ones((2, 3)), np.ones((0, 2))), ValueError,
     r"X must not be empty"),
    (mc.linear_rows, (np.ones((6, 4)), np.ones((2, 4)), np.array(1.0)), ValueError,
     r"b must be 1-D \(d_out\), got shape \(\)"),
    (mc.dz_dW_tensor, (np.ones((2, 3)), np.ones((3, 1))), ValueError,
     r"x must be 1-D .*got shape \(3, 1\)"),
    (mc.dz_dW_tensor, (np.array([[np.inf, 1.0]]), np.ones(2)), ValueError, "W must be finite"),
    # shapes that do not fit
    (mc.kernel_grads, (np.ones((6, 3)), np.ones((4, 2)), np.ones((6, 2))), ValueError,
     r"X must have d_in = 4 columns to match K of shape \(4, 2\), got X of shape \(6, 3\)"),
    (mc.kernel_grads, (np.ones((6, 4)), np.ones((4, 2)), np.ones((6, 3))), ValueError,
     r"G must have d_out = 2 entries .* K of shape \(4, 2\), got shape \(6, 3\)"),
    (mc.kernel_grads, (np.ones((6, 4)), np.ones((4, 2)), np.ones((5, 2))), ValueError,
     r"G must have one row per example, 6, got shape \(5, 2\)"),
    (mc.kernel_grads, (np.ones((6, 4)), "K", np.ones((6, 2))), TypeError,
     "K must be an array of numbers, got str"),
    (mc.kernel_grads, (np.ones((6, 4)), np.ones(4), np.ones((6, 2))), ValueError,
     r"K must be 2-D \(d_in x d_out, the kernel form\)"),
    # chain_grad's jacobians, g and order
    (mc.chain_grad, ((J for J in [np.eye(2)]), np.ones(2)), TypeError,
     r"jacobians must be a list or tuple of matrices J_1, ..., J_k, got generator; pass "
     r"list\(...\)"),
    (mc.chain_grad, (np.eye(2), np.ones(2)), TypeError,
     r"jacobians must be a list or tuple .* got ndarray; wrap a single Jacobian J as \[J\]"),
    (mc.chain_grad, (torch.eye(2), torch.ones(2)), TypeError, "got Tensor; wrap a single"),
    (mc.chain_grad, (None, np.ones(2)), TypeError, "jacobians must be a list or tuple"),
    (mc.chain_grad, ("J", np.ones(2)), TypeError, "jacobians must be a list or tuple"),
    (mc.chain_grad, ([], np.ones(2)), ValueError, "jacobians must hold at least one matrix"),
    (mc.chain_grad, ([np.eye(2), np.ones(2)], np.ones(2)), ValueError,
     r"J2 must be 2-D \(a Jacobian matrix\), got shape \(2,\)"),
    (mc.chain_grad, ([np.eye(2)], np.ones((2, 1))), ValueError, r"g must be 1-D"),
    (mc.chain_grad, ([np.eye(2), torch.eye(2)], np.ones(2)), TypeError,
     r"J1, J2, g must be all NumPy arrays or all torch tensors"),
    (mc.chain_grad, ([np.eye(2) * np.nan], np.ones(2)), ValueError, "J1 must be finite"),
    (mc.chain_grad, ([np.eye(2)], np.ones(2), 3), ValueError,
     "order must be one of 'reverse', 'forward', got 3"),
    # classify_stationary's H and tol
    (mc.classify_stationary, (np.eye(2), -1.0), ValueError, "tol must be >= 0, got -1.0"),
    (mc.classify_stationary, (np.eye(2), np.nan), ValueError, "tol must be finite, got nan"),
    (mc.classify_stationary, (np.eye(2), "small"), TypeError, "tol must be a real number"),
    (mc.classify_stationary, (np.eye(2), True), TypeError, "tol must be a real number"),
    (mc.classify_stationary, (np.eye(2), 1.0), ValueError, "tol must be < 1"),
    (mc.classify_stationary, (np.ones(3),), ValueError, r"H must be 2-D"),
    (mc.classify_stationary, (np.ones((0, 0)),), ValueError, "H must not be empty"),
    (mc.classify_stationary, (np.eye(2) * 1j,), TypeError, "H must hold real numbers"),
    (mc.classify_stationary, (torch.eye(2, dtype=torch.complex64),), TypeError,
     "H must hold real numbers"),
    (mc.classify_stationary, (np.array([[1.0, np.nan], [np.nan, 1.0]]),), ValueError,
     "H must be finite"),
    (mc.classify_stationary, (np.array([[1e-150, 2e-150], [0.0, 1e-150]]),), ValueError,
     r"H must be symmetric \(a Hessian\), got max \|H - H\^T\| = 1.0e\+00 times max \|H\|"),
]


@pytest.mark.parametrize("fn, args, error, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(fn, args, error, match):
    with pytest.raises(error, match=match):
        fn(*args)


def test_numerical_hessians_pass_the_symmetry_test_and_zero_H_is_undecided():
    H = np.array([[2.0, 1.0 + 1e-9], [1.0, -3.0]]) * 1e-120  # asymmetry 5e-10 of max |H|
    assert mc.classify_stationary(H) == "saddle"
    assert mc.classify_stationary(np.zeros((3, 3))) == "undecided"
    assert mc.classify_stationary(np.diag([1e-200, 2e-200])) == "minimum"  # tol is relative
    assert mc.classify_stationary(np.diag([1.0, 1e-12])) == "undecided"
    assert mc.classify_stationary(np.diag([1.0, 1e-12]), tol=0) == "minimum"
