"""Tests of dlnotes.losses: the facts of chapter 03, section 7, properties against
torch.nn.functional, torch autograd, finite differences and 40-digit arithmetic
(mpmath), extreme and degenerate input, and bad input."""

import math
import warnings

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import gradcheck as gc
from dlnotes import losses as L
from dlnotes.matcalc import softmax_jacobian

KINDS = ("numpy64", "numpy32", "torch64", "torch32")
RTOL = {"64": 1e-12, "32": 1e-6}  # the agreement asked of every kind against torch


def floats(kind, a):
    a = np.asarray(a, dtype=np.float32 if kind.endswith("32") else np.float64)
    return torch.from_numpy(a.copy()) if kind.startswith("torch") else a


def ints(kind, a):
    a = np.asarray(a, dtype=np.int64)
    return torch.from_numpy(a.copy()) if kind.startswith("torch") else a


def to_np(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def tensor(a):
    """A torch copy of ``a`` (NumPy or torch) in its own dtype: the reference's input."""
    return a.detach().clone() if isinstance(a, torch.Tensor) else torch.from_numpy(np.array(a))


def assert_kind(out, kind, shape):
    """``out`` has the kind and dtype that ``kind`` input must give, and ``shape``."""
    if kind.startswith("torch"):
        assert isinstance(out, torch.Tensor)
        assert out.dtype == (torch.float32 if kind.endswith("32") else torch.float64)
    else:
        assert isinstance(out, (np.ndarray, np.floating))
        assert out.dtype == (np.float32 if kind.endswith("32") else np.float64)
    assert tuple(np.shape(to_np(out))) == shape


def rtol(kind):
    return RTOL[kind[-2:]]


def close(got, want, tol, atol=None):
    """|got - want| <= tol |want| + atol entrywise (atol may be an array; default tol)."""
    got, want = to_np(got).astype(np.float64), to_np(want).astype(np.float64)
    assert got.shape == want.shape
    atol = tol if atol is None else atol
    bad = ~(np.abs(got - want) <= tol * np.abs(want) + atol)
    assert not bad.any(), f"got {got[bad]}, want {want[bad]} (rtol {tol}, atol {atol})"


@st.composite
def logit_cases(draw, max_n=6, max_k=6, scales=(1e-3, 1.0, 10.0, 100.0, 1e4)):
    """(z as float64 (N, K), kind, seed); float32 kinds get float32-representable values."""
    n, k = draw(st.integers(1, max_n)), draw(st.integers(1, max_k))
    kind = draw(st.sampled_from(KINDS))
    seed = draw(st.integers(0, 2**32 - 1))
    z = np.random.default_rng(seed).standard_normal((n, k)) * draw(st.sampled_from(scales))
    if kind.endswith("32"):
        z = z.astype(np.float32).astype(np.float64)
    return z, kind, seed


def dirichlet(rng, n, k, zeros=True):
    """n random distributions over k classes, some entries exactly 0."""
    q = rng.dirichlet(np.full(k, 0.7), size=n)
    if zeros and k > 1:
        q[rng.random((n, k)) < 0.3] = 0.0
        q[np.arange(n), rng.integers(0, k, n)] += 0.5
        q /= q.sum(axis=1, keepdims=True)
    return q


# --- chapter 03, section 7: facts 1-7 --------------------------------------------------------


# Fact 1.
@given(case=logit_cases(scales=(1e-3, 1.0, 10.0)))
def test_softmax_sums_to_one_shift_invariant_permutation_equivariant(case):
    z, _, seed = case
    c = np.random.default_rng(seed + 1).uniform(-100, 100, (len(z), 1))  # one shift a row
    p = L.softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    moderate = np.ptp(z, axis=1) < 30  # then every p_k lies between e^-30 / K and 1 - e^-30
    if z.shape[1] > 1:
        assert np.all((p[moderate] > 0) & (p[moderate] < 1))
    np.testing.assert_allclose(L.softmax(z + c), p, rtol=0, atol=1e-12)
    perm = np.random.default_rng(seed).permutation(z.shape[1])
    np.testing.assert_allclose(L.softmax(z[:, perm]), p[:, perm], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(np.argmax(p, axis=1), np.argmax(z, axis=1))


# Fact 2.
def test_sigmoid_is_the_two_class_softmax_and_symmetric():
    x = np.linspace(-30, 30, 601)
    two = L.softmax(np.column_stack([np.zeros_like(x), x]))[:, 1]
    np.testing.assert_allclose(L.sigmoid(x), two, rtol=1e-12)
    np.testing.assert_allclose(L.sigmoid(-x), 1 - L.sigmoid(x), rtol=0, atol=1e-15)


# Fact 3.
def test_stable_softmax_where_the_naive_one_overflows():
    np.testing.assert_allclose(L.softmax(np.array([1000.0, 999.0])),
                               [1 / (1 + math.exp(-1)), 1 / (1 + math.e)], rtol=1e-12)
    z32 = np.array([500, 400, 450], dtype=np.float32)
    with np.errstate(all="ignore"):
        naive = np.exp(z32) / np.exp(z32).sum()
    assert np.isnan(naive).any()
    p = L.softmax(z32)
    assert p.dtype == np.float32 and np.all(np.isfinite(p))
    assert abs(float(p.sum()) - 1) <= 1e-6
    np.testing.assert_allclose(p, [1, math.exp(-100), math.exp(-50)], rtol=1e-6,
                               atol=3e-45)  # exp(-100) is subnormal in float32: steps of 1.4e-45


# Fact 4.
@given(case=logit_cases())
def test_logsumexp_bounds(case):
    z, kind, _ = case
    lse = to_np(L.logsumexp(floats(kind, z))).astype(np.float64)
    m = z.max(axis=1)
    slack = rtol(kind) * np.abs(m)  # float32 rounds the result to its own precision
    assert np.all(m - slack <= lse)
    assert np.all(lse <= m + math.log(z.shape[1]) + slack + rtol(kind))


def test_logsumexp_worked_values():
    assert L.logsumexp(np.array([0.0, 800.0])) == 800.0
    assert L.logsumexp(np.array([100.0, 20.0, -1.0])) - 100 < 1e-30


# Fact 5.
@given(case=logit_cases(scales=(1e-3, 1.0, 10.0)))
def test_log_probabilities_differ_from_logits_by_minus_lse(case):
    z, _, _ = case
    logp, lse = L.log_softmax(z), L.logsumexp(z)
    gap = logp - z
    assert np.all(gap.max(axis=1) - gap.min(axis=1) < 1e-12)
    np.testing.assert_allclose(gap[:, 0], -lse, rtol=1e-12, atol=1e-12)
    p = L.softmax(z)
    np.testing.assert_allclose(p[:, :, None] / p[:, None, :],
                               np.exp(z[:, :, None] - z[:, None, :]), rtol=1e-12)


# Fact 6.
@given(case=logit_cases())
def test_cross_entropy_is_mean_nll_equals_torch_and_is_nonnegative(case):
    z, _, seed = case
    y = np.random.default_rng(seed).integers(0, z.shape[1], z.shape[0])
    loss = L.cross_entropy(z, y)
    nll = -np.mean(np.log(L.softmax(z))[np.arange(len(y)), y]) if np.all(np.abs(z) < 100) \
        else -np.mean(L.log_softmax(z)[np.arange(len(y)), y])
    np.testing.assert_allclose(loss, nll, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss, F.cross_entropy(tensor(z), torch.tensor(y)).item(),
                               rtol=1e-12, atol=1e-15)
    assert loss >= 0 and np.all(L.cross_entropy(z, y, reduction="none") >= 0)


def test_cross_entropy_at_zero_weights_is_log_k():
    assert abs(L.cross_entropy(np.zeros((7, 10)), np.arange(7)) - 2.302585092994046) <= 1e-12
    assert abs(L.cross_entropy(np.zeros((3, 4)), np.full((3, 4), 0.25)) - math.log(4)) <= 1e-12


def test_worked_numbers_of_section_2_8():
    z = np.array([2.0, 1.0, 0.1])
    np.testing.assert_allclose(L.softmax(z), [0.659, 0.242, 0.099], atol=5e-4)
    assert abs(L.cross_entropy(z, 0) - 0.417) < 5e-4
    assert abs(L.cross_entropy(z, 2) - 2.317) < 5e-4
    assert abs((L.cross_entropy(z, 2) - L.cross_entropy(z, 0)) - 1.9) < 1e-12
    np.testing.assert_allclose(L.cross_entropy_grad(z, 0), [-0.341, 0.242, 0.099], atol=5e-4)


# Fact 7.
@given(case=logit_cases(scales=(1.0, 10.0, 100.0)))  # FD steps are relative to |z|
def test_gradient_is_p_minus_onehot_bounded_summing_to_zero(case):
    z, _, seed = case
    y = np.random.default_rng(seed).integers(0, z.shape[1], z.shape[0])
    g = L.cross_entropy_grad(z, y, reduction="sum")
    np.testing.assert_allclose(g, L.softmax(z) - L.one_hot(y, z.shape[1]), rtol=0, atol=1e-15)
    assert np.all(np.abs(g) <= 1)
    np.testing.assert_allclose(g.sum(axis=1), 0, atol=1e-12)
    fd = gc.numerical_grad(lambda v: L.cross_entropy(v, y, reduction="sum"), z)
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7)


# --- facts 8-12 and 14: soft targets, batch gradients, the binary case, label smoothing ----


# Fact 8 (the multi-hot half: refused here, see test_bad_input).
@given(case=logit_cases(scales=(1.0, 10.0)))
def test_soft_target_gradient_is_p_minus_q(case):
    z, _, seed = case
    q = dirichlet(np.random.default_rng(seed), *z.shape)
    g = L.cross_entropy_grad(z, q, reduction="sum")
    np.testing.assert_allclose(g, L.softmax(z) - q, rtol=0, atol=1e-15)
    fd = gc.numerical_grad(lambda v: L.cross_entropy(v, q, reduction="sum"), z)
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7)


# Fact 9 (the logits half; the W and b half is dlnotes.matcalc's rule G^T X, G^T 1).
def test_batch_gradient_mean_and_sum(rng):
    N, d, K = 20, 7, 5
    X, W, b = rng.standard_normal((N, d)), rng.standard_normal((K, d)), rng.standard_normal(K)
    y = rng.integers(0, K, N)
    Z = X @ W.T + b
    P, Y = L.softmax(Z), L.one_hot(y, K)
    np.testing.assert_allclose(L.cross_entropy_grad(Z, y), (P - Y) / N, rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(L.cross_entropy_grad(Z, y, reduction="sum"), P - Y, atol=1e-16)
    G = L.cross_entropy_grad(Z, y)
    fd_W = gc.numerical_grad(lambda M: L.cross_entropy(X @ M.T + b, y), W)
    fd_b = gc.numerical_grad(lambda v: L.cross_entropy(X @ W.T + v, y), b)
    assert gc.rel_error(G.T @ X, fd_W) < 1e-7
    assert gc.rel_error(G.sum(axis=0), fd_b) < 1e-7


# Fact 10.
@given(case=logit_cases(scales=(1.0, 10.0, 30.0)), labels=st.booleans())
def test_bce_with_logits_equals_probability_form_and_its_gradient_is_sigmoid_minus_y(case,
                                                                                    labels):
    z, _, seed = case
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, z.shape).astype(float) if labels else rng.uniform(0, 1, z.shape)
    ours = L.binary_cross_entropy_with_logits(z, y, reduction="none")
    with np.errstate(divide="ignore", invalid="ignore"):  # the naive form's own trouble
        s = 1 / (1 + np.exp(-z))
        prob_form = -(y * np.log(s) + (1 - y) * np.log1p(-s))
    # log(1 - s) keeps its digits only while 1 - s is not tiny: |z| < 12 leaves 1e-10
    accurate = np.isfinite(prob_form) & (np.abs(z) < 12)
    np.testing.assert_allclose(ours[accurate], prob_form[accurate], rtol=1e-10)
    with mpmath.workdps(40):
        exact = np.array([float(mpmath.mpf(b) * mpmath.log1p(mpmath.exp(-mpmath.mpf(a)))
                                + (1 - mpmath.mpf(b)) * mpmath.log1p(mpmath.exp(mpmath.mpf(a))))
                          for a, b in zip(z.ravel(), y.ravel())]).reshape(z.shape)
    close(ours, exact, 1e-13, atol=4e-16 * (1 + np.abs(z)))  # max(z, 0) - z y may cancel
    fd = gc.numerical_grad(lambda v: L.binary_cross_entropy_with_logits(v, y, reduction="sum"),
                           z)
    np.testing.assert_allclose(fd, L.sigmoid(z) - y, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_finite_for_logits_up_to_1e4(dtype):
    z = np.array([-1e4, -50, 0, 50, 1e4], dtype=dtype)
    for y in (np.zeros(5), np.ones(5), np.full(5, 0.3)):
        out = L.binary_cross_entropy_with_logits(z, y.astype(dtype), reduction="none")
        assert out.dtype == dtype and np.all(np.isfinite(out)) and np.all(out >= 0)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(z, np.ones(5, dtype),
                                                                  reduction="none"),
                               [1e4, 50, math.log(2), math.exp(-50), 0], rtol=1e-6, atol=0)
    # a confident right answer keeps its small loss log1p(exp(-40)) (log(1 + x) gives 0)
    assert abs(L.binary_cross_entropy_with_logits(np.array([40.0]), np.array([1.0]))
               / 4.248354255291589e-18 - 1) < 1e-14


# Fact 11.
def test_sigmoid_slope_and_logit_round_trip():
    x = torch.linspace(-10, 10, 20001, dtype=torch.float64, requires_grad=True)
    L.sigmoid(x).sum().backward()
    assert abs(x.grad[10000].item() - 0.25) <= 1e-15  # x = 0
    assert abs(x.grad.max().item() - 0.25) <= 1e-9
    z = np.linspace(-15, 15, 301)
    s = L.sigmoid(z)
    np.testing.assert_allclose(np.log(s / (1 - s)), z, rtol=0, atol=1e-6)


# Fact 12.
def test_squared_error_vanishes_where_cross_entropy_does_not():
    def grads(z0):
        z = torch.tensor([z0], dtype=torch.float64, requires_grad=True)
        (g_mse,) = torch.autograd.grad(L.mse(L.sigmoid(z), torch.ones(1, dtype=z.dtype)), z)
        (g_ce,) = torch.autograd.grad(
            L.binary_cross_entropy_with_logits(z, torch.ones(1, dtype=z.dtype)), z)
        return g_mse.item(), g_ce.item()

    g_mse, g_ce = grads(-50.0)
    assert abs(g_mse) < 1e-20 and abs(g_ce + 1) <= 1e-12
    g_mse, _ = grads(-10.0)
    assert abs(g_mse / -9.0787e-5 - 1) <= 1e-4


# Fact 14.
def test_label_smoothing_target_and_optimum():
    K, eps = 10, 0.1
    z = np.random.default_rng(3).standard_normal(K)
    q = L.softmax(z) - L.cross_entropy_grad(z, 0, label_smoothing=eps)  # p - (p - q)
    np.testing.assert_allclose(q, [0.91] + [0.01] * 9, rtol=0, atol=1e-12)
    assert abs(q.sum() - 1) <= 1e-12
    z = np.zeros(K)
    for _ in range(1500):  # gradient descent on the logits of one example
        z = z - 1.5 * L.cross_entropy_grad(z, 0, label_smoothing=eps)
    np.testing.assert_allclose(L.softmax(z), q, rtol=0, atol=1e-5)
    assert abs(L.cross_entropy(z, 0, label_smoothing=eps) - 0.5002880350577577) <= 1e-5
    assert abs(z[0] - z[1] - math.log(91)) <= 1e-5
    # exercise 6: the minimum over p of H(q, p) is H(q), reached at p = q
    assert abs(L.cross_entropy(np.log(q), 0, label_smoothing=eps) - 0.5002880350577577) < 1e-12


# --- agreement with torch.nn.functional, every kind --------------------------------------------


@given(case=logit_cases(), axis=st.integers(-3, 2),
       layout=st.sampled_from(["matrix", "vector", "stack"]))
def test_softmax_family_matches_torch(case, axis, layout):
    z, kind, _ = case
    z = {"matrix": z, "vector": z.ravel(), "stack": z.reshape(len(z), 1, -1)}[layout]
    axis = axis % z.ndim - (z.ndim if axis < 0 else 0)  # an axis of z, counted either way
    arg, ref = floats(kind, z), tensor(floats(kind, z))
    tol = rtol(kind)
    tiny = 1e-36 if kind.endswith("32") else 1e-300
    p = L.softmax(arg, axis=axis)
    assert_kind(p, kind, z.shape)
    close(p, torch.softmax(ref, dim=axis), tol, atol=tiny)
    logp = L.log_softmax(arg, axis=axis)
    assert_kind(logp, kind, z.shape)
    close(logp, torch.log_softmax(ref, dim=axis), tol)
    lse = L.logsumexp(arg, axis=axis)
    assert_kind(lse, kind, tuple(n for i, n in enumerate(z.shape) if i != axis % z.ndim))
    close(lse, torch.logsumexp(ref, dim=axis), tol)
    s = L.sigmoid(arg)
    assert_kind(s, kind, z.shape)
    close(s, torch.sigmoid(ref), tol, atol=tiny)


@given(case=logit_cases(), eps=st.sampled_from([0.0, 0.05, 0.3, 0.9]),
       reduction=st.sampled_from(["mean", "sum", "none"]), soft=st.booleans())
def test_cross_entropy_matches_torch_with_indices_soft_targets_and_smoothing(case, eps,
                                                                            reduction, soft):
    z, kind, seed = case
    rng = np.random.default_rng(seed)
    N, K = z.shape
    t = floats(kind, dirichlet(rng, N, K)) if soft else ints(kind, rng.integers(0, K, N))
    out = L.cross_entropy(floats(kind, z), t, label_smoothing=eps, reduction=reduction)
    assert_kind(out, kind, (N,) if reduction == "none" else ())
    ref = F.cross_entropy(tensor(floats(kind, z)), tensor(t), label_smoothing=eps,
                          reduction=reduction)
    close(out, ref, rtol(kind))


@given(case=logit_cases(), eps=st.sampled_from([0.0, 0.1, 0.5]),
       reduction=st.sampled_from(["mean", "sum"]), soft=st.booleans())
def test_cross_entropy_grad_matches_autograd(case, eps, reduction, soft):
    z, kind, seed = case
    rng = np.random.default_rng(seed)
    N, K = z.shape
    t = floats(kind, dirichlet(rng, N, K)) if soft else ints(kind, rng.integers(0, K, N))
    g = L.cross_entropy_grad(floats(kind, z), t, label_smoothing=eps, reduction=reduction)
    assert_kind(g, kind, z.shape)
    zt = tensor(floats(kind, z)).requires_grad_()
    F.cross_entropy(zt, tensor(t), label_smoothing=eps, reduction=reduction).backward()
    # entries p - q cancel: their error is relative to the size of p and q, not of p - q
    scale = 1.0 / N if reduction == "mean" else 1.0
    close(g, zt.grad, rtol(kind), atol=4 * rtol(kind) * scale)
    if kind.startswith("torch"):  # our loss on tensors is differentiable, to the same result
        zo = floats(kind, z).requires_grad_()
        L.cross_entropy(zo, t, label_smoothing=eps, reduction=reduction).backward()
        close(zo.grad, g, rtol(kind), atol=4 * rtol(kind) * scale)


@given(case=logit_cases(), reduction=st.sampled_from(["mean", "sum", "none"]),
       labels=st.booleans())
def test_bce_and_mse_match_torch(case, reduction, labels):
    z, kind, seed = case
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, z.shape) if labels else rng.uniform(0, 1, z.shape)
    out = L.binary_cross_entropy_with_logits(floats(kind, z), floats(kind, y),
                                             reduction=reduction)
    assert_kind(out, kind, z.shape if reduction == "none" else ())
    ref = F.binary_cross_entropy_with_logits(tensor(floats(kind, z)), tensor(floats(kind, y)),
                                             reduction=reduction)
    # max(z, 0) - z y cancels where y is close to 1: error relative to |z|
    size = 1 + np.abs(z)
    slack = size if reduction == "none" else size.sum() if reduction == "sum" else size.mean()
    close(out, ref, rtol(kind), atol=rtol(kind) * slack)
    m = L.mse(floats(kind, z), floats(kind, y), reduction=reduction)
    assert_kind(m, kind, z.shape if reduction == "none" else ())
    close(m, F.mse_loss(tensor(floats(kind, z)), tensor(floats(kind, y)), reduction=reduction),
          rtol(kind))


# --- properties: label smoothing, log_softmax, exact values ----------------------------------


@given(case=logit_cases(), eps=st.floats(0, 0.99), soft=st.booleans())
def test_smoothed_loss_mixes_the_target_and_the_uniform_loss(case, eps, soft):
    z, _, seed = case
    rng = np.random.default_rng(seed)
    N, K = z.shape
    t = dirichlet(rng, N, K) if soft else rng.integers(0, K, N)
    mixed = L.cross_entropy(z, t, label_smoothing=eps, reduction="none")
    parts = (1 - eps) * L.cross_entropy(z, t, reduction="none") \
        + eps * L.cross_entropy(z, np.full((N, K), 1 / K), reduction="none")
    np.testing.assert_allclose(mixed, parts, rtol=1e-12, atol=1e-12)


@given(case=logit_cases(scales=(1e-3, 1.0, 10.0, 100.0, 1e4)))
def test_log_softmax_is_log_of_softmax_where_softmax_does_not_underflow(case):
    z, _, _ = case
    p, logp = L.softmax(z), L.log_softmax(z)
    normal = p > 1e-300
    assert normal.any(axis=1).all()
    np.testing.assert_allclose(np.log(p[normal]), logp[normal], rtol=1e-12, atol=1e-15)
    assert np.all(logp[~normal] < math.log(1e-300) + 1)


def _exact_log_softmax(z):
    with mpmath.workdps(40):
        out = np.empty(z.shape)
        for i, row in enumerate(z):
            row = [mpmath.mpf(float(v)) for v in row]
            lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in row))
            out[i] = [float(v - lse) for v in row]
        return out


@given(n=st.integers(1, 4), k=st.integers(1, 6), e=st.integers(-150, 150),
       seed=st.integers(0, 2**32 - 1))
def test_log_softmax_and_loss_exact_at_magnitudes_1e_150_to_1e150(n, k, e, seed):
    rng = np.random.default_rng(seed)
    z = rng.uniform(-3, 3, (n, k)) * 10.0**e
    exact = _exact_log_softmax(z)
    np.testing.assert_allclose(L.log_softmax(z), exact, rtol=1e-13, atol=1e-15)
    # exp turns a rounding of z_k - m (relative eps) into a relative error eps |log p_k|
    p_exact = np.exp(exact)
    close(L.softmax(z), p_exact, 1e-13, atol=4e-16 * np.abs(exact) * p_exact + 1e-300)
    y = rng.integers(0, k, n)
    loss = L.cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(loss, -exact[np.arange(n), y], rtol=1e-13, atol=1e-15)


def test_gradient_by_the_softmax_jacobian_route():
    # route 2 of section 2.9: (diag p - p p^T)(-e_y / p_y) = p - e_y
    z, y = np.array([0.3, -1.2, 2.0, 0.5]), 1
    p = L.softmax(z)
    route2 = softmax_jacobian(z) @ (-L.one_hot(y, 4) / p[y])
    np.testing.assert_allclose(L.cross_entropy_grad(z, y), route2, rtol=1e-13, atol=1e-16)


def test_check_grad_refuses_planted_mistakes(rng):
    z, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss = lambda v: L.cross_entropy(v, y, label_smoothing=0.2)  # noqa: E731
    right = L.cross_entropy_grad(z, y, label_smoothing=0.2)
    assert gc.check_grad(loss, right, z).passed
    for wrong in (right * 6,                                        # sum instead of mean
                  L.cross_entropy_grad(z, y),                       # smoothing forgotten
                  -right,                                           # sign
                  (L.softmax(z) - L.one_hot((y + 1) % 4, 4)) / 6):  # wrong class
        assert not gc.check_grad(loss, wrong, z).passed


# --- extreme and degenerate input -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_logits_of_1e4_give_finite_exact_results_without_warnings(kind):
    z = floats(kind, [[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    y = ints(kind, [1, 0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        results = [L.softmax(z), L.log_softmax(z), L.logsumexp(z), L.sigmoid(z),
                   L.cross_entropy(z, y, reduction="none"), L.cross_entropy_grad(z, y),
                   L.binary_cross_entropy_with_logits(z, floats(kind, np.zeros((2, 3))),
                                                      reduction="none")]
    for r in results:
        assert np.all(np.isfinite(to_np(r)))
    if kind.startswith("torch"):  # and so are the derivatives by autograd
        zg = z.clone().requires_grad_()
        (L.sigmoid(zg).sum() + L.cross_entropy(zg, y) + L.logsumexp(zg).sum()
         + L.binary_cross_entropy_with_logits(zg, torch.zeros_like(zg))).backward()
        assert torch.isfinite(zg.grad).all()
    close(results[0], [[1, 0, 0], [0, 0.5, 0.5]], 1e-7, atol=0)
    close(results[2], [1e4, 1e4 + math.log(2)], 1e-7)
    close(results[4], [2e4, 2e4 + math.log(2)], 1e-7)
    close(results[3], [[1, 0, 0.5], [0, 1, 1]], 1e-7, atol=0)


def test_logits_of_1e300_in_float64():
    z = np.array([1e300, -1e300])
    np.testing.assert_array_equal(L.softmax(z), [1.0, 0.0])
    np.testing.assert_array_equal(L.log_softmax(z), [0.0, -2e300])
    assert L.logsumexp(z) == 1e300
    assert L.cross_entropy(z, 0) == 0.0 and L.cross_entropy(z, 1) == 2e300
    np.testing.assert_array_equal(L.cross_entropy_grad(z, 1), [1.0, -1.0])
    np.testing.assert_array_equal(L.sigmoid(z), [1.0, 0.0])
    assert L.binary_cross_entropy_with_logits(z, np.array([0.0, 1.0]), reduction="sum") == 2e300


def test_batch_of_one_and_single_example_agree():
    z, y = np.array([[0.5, -1.0, 2.0]]), np.array([2])
    assert L.cross_entropy(z, y) == L.cross_entropy(z[0], 2) \
        == L.cross_entropy(z, y, reduction="sum")
    np.testing.assert_array_equal(L.cross_entropy_grad(z, y)[0], L.cross_entropy_grad(z[0], 2))
    np.testing.assert_array_equal(L.cross_entropy(z, y, reduction="none"),
                                  [L.cross_entropy(z[0], 2)])
    ref = F.cross_entropy(torch.tensor(z[0]), torch.tensor(2)).item()
    assert abs(L.cross_entropy(z[0], 2) - ref) <= 1e-15
    t = L.cross_entropy(torch.tensor(z[0]), 2)  # a Python label joins a tensor
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64


@pytest.mark.parametrize("kind", KINDS)
def test_one_class_softmax_is_one_and_the_loss_zero(kind):
    z = floats(kind, [[3.0], [-1e4], [0.0]])
    close(L.softmax(z), np.ones((3, 1)), 0, atol=0)
    close(L.log_softmax(z), np.zeros((3, 1)), 0, atol=0)
    close(L.logsumexp(z), [3.0, -1e4, 0.0], 0, atol=0)
    y = ints(kind, [0, 0, 0])
    assert float(L.cross_entropy(z, y, label_smoothing=0.3)) == 0.0
    close(L.cross_entropy_grad(z, y), np.zeros((3, 1)), 0, atol=0)


def test_minus_infinity_masks_a_class():
    z = np.array([[1.0, -np.inf, 2.0], [-np.inf, 0.0, -np.inf]])
    p = L.softmax(z)
    np.testing.assert_array_equal(p[:, 1], [0.0, 1.0])
    np.testing.assert_array_equal(p[1], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(p[0], L.softmax(np.array([1.0, 2.0]))[[0, 0, 1]] * [1, 0, 1])
    logp = L.log_softmax(z)
    assert logp[0, 1] == -np.inf and logp[1, 1] == 0.0
    np.testing.assert_allclose(L.logsumexp(z), [L.logsumexp(np.array([1.0, 2.0])), 0.0])
    y = np.array([2, 1])
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y)).item()
    assert abs(L.cross_entropy(z, y) - ref) <= 1e-15
    zt = torch.tensor(z, requires_grad=True)
    F.cross_entropy(zt, torch.tensor(y)).backward()
    np.testing.assert_allclose(L.cross_entropy_grad(z, y), zt.grad.numpy(), rtol=1e-12)
    # zero target mass on a masked class contributes 0 log 0 = 0 (torch gives NaN here)
    q = np.array([[0.25, 0.0, 0.75], [0.0, 1.0, 0.0]])
    assert math.isnan(F.cross_entropy(torch.tensor(z), torch.tensor(q)).item())
    expected = np.mean([L.cross_entropy(np.array([1.0, 2.0]), np.array([0.25, 0.75])), 0.0])
    np.testing.assert_allclose(L.cross_entropy(z, q), expected, rtol=1e-14)
    np.testing.assert_allclose(L.cross_entropy_grad(z, q, reduction="sum"), p - q, atol=1e-16)
    # sigmoid: exactly 1 and 0 at +-inf
    np.testing.assert_array_equal(L.sigmoid(np.array([np.inf, -np.inf])), [1.0, 0.0])


# --- kinds, dtypes, devices -----------------------------------------------------------------


def test_integer_logits_and_lists_become_float64():
    for z in ([[1, 2, 3]], np.array([[1, 2, 3]], dtype=np.int32)):
        for fn in (L.softmax, L.log_softmax):
            assert fn(z).dtype == np.float64
        assert L.logsumexp(z).dtype == np.float64
        assert isinstance(L.cross_entropy(z, [2]), np.float64)
    assert L.softmax(torch.tensor([[1, 2, 3]])).dtype == torch.float64
    assert L.sigmoid(3) == L.sigmoid(3.0) and isinstance(L.sigmoid(3), np.float64)
    np.testing.assert_allclose(L.cross_entropy([[1, 2, 3]], [2]),
                               L.cross_entropy(np.array([[1.0, 2.0, 3.0]]), np.array([2])))
    assert L.mse([1, 2], [1, 4]) == 2.0
    np.testing.assert_array_equal(L.one_hot([[0], [2]], 3), [[[1, 0, 0]], [[0, 0, 1]]])
    assert L.one_hot(torch.tensor([1, 0]), 2).dtype == torch.float64
    # targets of a floating kind follow the logits' dtype in NumPy
    assert L.cross_entropy(np.zeros((2, 2), np.float32), np.full((2, 2), 0.5)).dtype == \
        np.float32
    assert L.mse(np.zeros(2, np.float32), np.ones(2)).dtype == np.float32


def test_tensors_that_require_grad_stay_differentiable():
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    for out in (L.softmax(z), L.log_softmax(z), L.logsumexp(z), L.sigmoid(z),
                L.cross_entropy(z, torch.tensor([0, 1, 2, 0])),
                L.binary_cross_entropy_with_logits(z, torch.ones(4, 3, dtype=torch.float64)),
                L.mse(z, torch.zeros(4, 3, dtype=torch.float64))):
        assert out.requires_grad
    (g,) = torch.autograd.grad(L.logsumexp(z).sum(), z)
    np.testing.assert_allclose(g.numpy(), L.softmax(z.detach()).numpy(), rtol=1e-14)


@pytest.mark.cuda
def test_cuda_matches_cpu_and_refuses_a_device_mix(rng):
    dev = torch.device("cuda")
    z, y = rng.standard_normal((16, 5)) * 30, rng.integers(0, 5, 16)
    q = dirichlet(rng, 16, 5)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        zc = torch.tensor(z, dtype=dtype, device=dev)
        calls = [(L.softmax, (zc,), (z,)), (L.log_softmax, (zc,), (z,)),
                 (L.logsumexp, (zc,), (z,)), (L.sigmoid, (zc,), (z,)),
                 (L.cross_entropy, (zc, torch.tensor(y, device=dev)), (z, y)),
                 (L.cross_entropy, (zc, torch.tensor(q, dtype=dtype, device=dev)), (z, q)),
                 (L.cross_entropy_grad, (zc, torch.tensor(y, device=dev)), (z, y))]
        for fn, gpu_args, cpu_args in calls:
            out = fn(*gpu_args)
            assert out.device.type == "cuda" and out.dtype == dtype
            np.testing.assert_allclose(out.cpu().double().numpy(), fn(*cpu_args), rtol=tol,
                                       atol=tol)
    with pytest.raises(ValueError, match="targets must be on the device of logits"):
        L.cross_entropy(torch.zeros(2, 3, device=dev), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="y must be on the device of y_hat"):
        L.mse(torch.zeros(2, device=dev), torch.zeros(2))


# --- bad input ---------------------------------------------------------------------------------

Z = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]])
Y = np.array([2, 0])
Q = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
CE, GRAD, BCE = L.cross_entropy, L.cross_entropy_grad, L.binary_cross_entropy_with_logits

BAD = [
    # labels: range, kind, shape
    (CE, dict(logits=Z, targets=np.array([2, 3])), ValueError,
     r"targets must be class indices in \[0, 3\) for 3 classes, got values from 2 to 3"),
    (GRAD, dict(logits=Z, targets=np.array([-1, 0])), ValueError, r"got values from -1 to 0"),
    (CE, dict(logits=Z, targets=np.array([1.5, 0.0])), TypeError,
     r"targets must be integer class indices .* got dtype float64 such as 1.5"),
    (CE, dict(logits=Z, targets=np.array([1.0, 0.0])), TypeError, r"\.astype\(int\)"),
    (CE, dict(logits=Z[0], targets=1.5), TypeError, "targets must be integer class indices"),
    (CE, dict(logits=Z, targets=np.array([True, False])), TypeError,
     "targets must be integer class indices in \\[0, 3\\), got dtype bool"),
    (CE, dict(logits=Z, targets=np.array([[2], [0]])), ValueError,
     r"targets must be class indices of shape \(2,\) or probabilities of shape \(2, 3\) to "
     r"match logits of shape \(2, 3\), got shape \(2, 1\)"),
    (CE, dict(logits=Z, targets=np.array([0, 1, 2])), ValueError, r"got shape \(3,\)"),
    (CE, dict(logits=Z, targets="cat"), TypeError, "targets must be an array of numbers"),
    (CE, dict(logits=Z, targets=None), TypeError, "targets must be an array of numbers"),
    # soft targets
    (CE, dict(logits=Z, targets=np.array([[1.2, -0.2, 0.0], [1.0, 0.0, 0.0]])), ValueError,
     r"targets of shape \(2, 3\) are probabilities and must be >= 0, got minimum -0.2"),
    (CE, dict(logits=Z, targets=np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])), ValueError,
     r"summing to 1 within 1.5e-08 \(float64\); row 0 sums to 2.0. Normalise multi-hot"),
    (GRAD, dict(logits=Z, targets=Q + [[1e-7, 0, 0], [0, 0, 0]]), ValueError,
     "row 0 sums to 1.0000001"),
    (CE, dict(logits=Z, targets=np.array([[np.nan, 0.5, 0.5], [1.0, 0.0, 0.0]])), ValueError,
     r"targets must not contain NaN, got NaN in 1 of 6 entries"),
    (CE, dict(logits=Z, targets=np.array([[True, False, False]] * 2)), TypeError,
     "targets must hold probabilities, got dtype bool"),
    # logits
    (CE, dict(logits=np.array([[np.nan, 0.0, 0.0], [0.0, 1.0, 0.0]]), targets=Y), ValueError,
     r"logits must not contain NaN, got NaN in 1 of 6 entries"),
    (CE, dict(logits=np.array([[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]]), targets=Y), ValueError,
     r"logits must be finite, got \+inf in 1 of 6 entries"),
    (CE, dict(logits=np.array([[-np.inf] * 3, [0.0, 1.0, 0.0]]), targets=Y), ValueError,
     r"logits must have a finite entry in every slice .* got 1 slices that are all -inf"),
    (CE, dict(logits=np.array([[-np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]]), targets=np.array([0, 1])),
     ValueError, r"the cross-entropy is infinite: targets .* entry \(0, 0\) of logits"),
    (CE, dict(logits=np.array([[-np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]]), targets=Y,
              label_smoothing=0.1), ValueError, "label_smoothing=0.1"),
    (CE, dict(logits=np.zeros((0, 3)), targets=np.zeros(0, int)), ValueError,
     r"logits must not be empty, got shape \(0, 3\)"),
    (CE, dict(logits=np.zeros((2, 0)), targets=np.zeros(2, int)), ValueError,
     "logits must not be empty"),
    (CE, dict(logits=np.zeros((2, 3, 4)), targets=np.zeros((2, 3), int)), ValueError,
     r"logits must be \(N, K\) with one example a row, or \(K,\) for one example"),
    (CE, dict(logits=np.array(1.0), targets=0), ValueError,
     r"logits must have at least 1 axis, got shape \(\)"),
    (CE, dict(logits=np.array([[True, False]]), targets=[0]), TypeError,
     "logits must hold real numbers, got dtype bool"),
    (CE, dict(logits=Z * 1j, targets=Y), TypeError, "logits must hold real numbers, got dtype"),
    (CE, dict(logits=[[1.0, 2.0], [3.0]], targets=Y), TypeError,
     "logits must be an array of numbers, got list"),
    # options
    (CE, dict(logits=Z, targets=Y, reduction="avg"), ValueError,
     "reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (GRAD, dict(logits=Z, targets=Y, reduction=None), ValueError, "reduction must be one of"),
    (CE, dict(logits=Z, targets=Y, label_smoothing=1.0), ValueError,
     r"label_smoothing must lie in \[0, 1\), got 1.0"),
    (GRAD, dict(logits=Z, targets=Y, label_smoothing=-0.1), ValueError,
     r"label_smoothing must lie in \[0, 1\), got -0.1"),
    (CE, dict(logits=Z, targets=Y, label_smoothing=True), TypeError,
     "label_smoothing must be a real number, got bool"),
    (CE, dict(logits=Z, targets=Y, label_smoothing=math.nan), ValueError,
     "label_smoothing must be finite"),
    # kinds and dtypes
    (CE, dict(logits=torch.tensor(Z), targets=Y), TypeError,
     "targets must be a torch tensor like logits, got ndarray"),
    (CE, dict(logits=Z, targets=torch.tensor(Y)), TypeError,
     "targets must be a NumPy array or a list like logits, got a torch tensor"),
    (CE, dict(logits=torch.tensor(Z), targets=torch.tensor(Q, dtype=torch.float32)), TypeError,
     "targets and logits must share one floating dtype, got targets torch.float32 and logits "
     "torch.float64"),
    (CE, dict(logits=torch.tensor(Z), targets=torch.tensor([0.0, 1.0])), TypeError,
     "targets must be integer class indices"),
    # softmax family
    (L.softmax, dict(z=Z, axis=2), ValueError,
     r"axis must lie in \[-2, 2\) for z of shape \(2, 3\), got 2"),
    (L.log_softmax, dict(z=Z, axis=1.0), TypeError, "axis must be an int, got float"),
    (L.logsumexp, dict(z=np.array(3.0)), ValueError, r"z must have at least 1 axis"),
    (L.softmax, dict(z=np.zeros((2, 0))), ValueError, r"z must not be empty"),
    (L.logsumexp, dict(z=np.array([-np.inf, -np.inf])), ValueError,
     "z must have a finite entry in every slice along axis -1"),
    (L.softmax, dict(z=[np.nan, 1.0]), ValueError, "z must not contain NaN"),
    (L.log_softmax, dict(z=torch.tensor([np.inf, 1.0])), ValueError,
     r"z must be finite, got \+inf in 1 of 2 entries"),
    (L.sigmoid, dict(z="1.0"), TypeError, "z must be an array of numbers, got str"),
    (L.sigmoid, dict(z=np.array([np.nan])), ValueError, "z must not contain NaN"),
    (L.sigmoid, dict(z=np.array([True])), TypeError, "z must hold real numbers, got dtype bool"),
    # one_hot
    (L.one_hot, dict(labels=[0, 3], n_classes=3), ValueError,
     r"labels must be class indices in \[0, 3\) for 3 classes, got values from 0 to 3"),
    (L.one_hot, dict(labels=[0.5], n_classes=3), TypeError, "labels must be integer class"),
    (L.one_hot, dict(labels=[0], n_classes=0), ValueError, "n_classes must be >= 1, got 0"),
    (L.one_hot, dict(labels=[0], n_classes=2.0), TypeError, "n_classes must be an int"),
    (L.one_hot, dict(labels=[0], n_classes=True), TypeError, "n_classes must be an int"),
    # binary cross-entropy and mse
    (BCE, dict(logits=np.zeros((3, 1)), targets=np.zeros(3)), ValueError,
     r"targets must have the shape of logits, \(3, 1\), got \(3,\) \(no broadcasting"),
    (BCE, dict(logits=np.zeros(3), targets=np.array([0.0, 1.0, 2.0])), ValueError,
     r"targets must lie in \[0, 1\] \(labels or probabilities\), got values from 0.0 to 2.0"),
    (BCE, dict(logits=np.zeros(2), targets=np.array([True, False])), TypeError,
     "targets must hold labels in \\[0, 1\\], got dtype bool"),
    (BCE, dict(logits=np.array([np.inf, 0.0]), targets=np.zeros(2)), ValueError,
     r"logits must be finite, got \+inf in 1 of 2 entries"),
    (BCE, dict(logits=np.array([-np.inf, 0.0]), targets=np.zeros(2)), ValueError,
     r"logits must be finite, got -inf in 1 of 2 entries"),
    (BCE, dict(logits=np.zeros(2), targets=np.array([np.nan, 0.0])), ValueError,
     "targets must not contain NaN"),
    (BCE, dict(logits=np.zeros(0), targets=np.zeros(0)), ValueError, "logits must not be empty"),
    (BCE, dict(logits=np.zeros(2), targets=np.zeros(2), reduction="batchmean"), ValueError,
     "reduction must be one of"),
    (L.mse, dict(y_hat=np.zeros((4, 1)), y=np.zeros(4)), ValueError,
     r"y must have the shape of y_hat, \(4, 1\), got \(4,\)"),
    (L.mse, dict(y_hat=np.array([1e200]), y=np.array([-1e200])), ValueError,
     "mse \\(reduction='mean'\\) overflows float64: the errors are too large to square"),
    (L.mse, dict(y_hat=torch.zeros(2), y=torch.zeros(2, dtype=torch.float64)), TypeError,
     "y and y_hat must share one floating dtype"),
    (L.mse, dict(y_hat=np.zeros(2), y=np.array([np.inf, 0.0])), ValueError,
     r"y must be finite, got \+inf in 1 of 2 entries"),
    (L.mse, dict(y_hat=np.zeros(2), y=np.zeros(2), reduction=3), ValueError,
     "reduction must be one of 'mean', 'sum', 'none', got 3"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)


def test_soft_target_tolerance_follows_the_dtype():
    q = Q + np.array([[1e-5, 0, 0], [0, 0, 0]])  # a row summing to 1 + 1e-5
    with pytest.raises(ValueError, match=r"within 1.5e-08 \(float64\)"):
        L.cross_entropy(Z, q)
    L.cross_entropy(Z.astype(np.float32), q.astype(np.float32))  # within 3.5e-4 in float32
    L.cross_entropy(torch.tensor(Z, dtype=torch.float32), torch.tensor(q, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"within 3.5e-04 \(float32\)"):
        L.cross_entropy(Z.astype(np.float32), (Q * 1.001).astype(np.float32))
