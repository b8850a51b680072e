"""Tests of dlnotes.matcalc: the analytic rules of chapter 02 against finite
differences and torch autograd, on NumPy and torch input, plus bad input."""

import numpy as np
import pytest
import torch
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
    with pytest.raises(ValueError, match="'reverse' or 'forward', got 'sideways'"):
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
