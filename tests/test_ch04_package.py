"""Tests of what chapter 04 added to the package: ``data.minibatches`` (one epoch of
SGD), ``landscapes.double_well``, ``landscapes.condition_number`` and
``landscapes.random_unit_vectors``. References are independent: torch's DataLoader,
torch autograd, SciPy, mpmath, and formulas written out here."""

import math

import mpmath
import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.autograd.functional import hessian as autograd_hessian

from dlnotes import data
from dlnotes import gradcheck as gc
from dlnotes import landscapes as ls

# --- data.minibatches -------------------------------------------------------------------


@given(n=st.integers(1, 300), B=st.integers(1, 400), seed=st.integers(0, 2**31),
       shuffle=st.booleans())
def test_every_index_once_and_ceil_n_over_b_batches(n, B, seed, shuffle):
    batches = data.minibatches(n, B, seed, shuffle=shuffle)
    assert len(batches) == -(-n // B)
    assert all(b.dtype == np.int64 and b.ndim == 1 for b in batches)
    assert [b.size for b in batches] == [min(B, n - j * B) for j in range(len(batches))]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    if not shuffle:
        np.testing.assert_array_equal(np.concatenate(batches), np.arange(n))


@given(n=st.integers(1, 300), B=st.integers(1, 300), seed=st.integers(0, 2**31))
def test_drop_last_keeps_only_full_batches(n, B, seed):
    if B > n:
        with pytest.raises(ValueError, match=r"batch_size must be <= n.*drop_last"):
            data.minibatches(n, B, seed, drop_last=True)
        return
    full = data.minibatches(n, B, seed)
    kept = data.minibatches(n, B, seed, drop_last=True)
    assert len(kept) == n // B and all(b.size == B for b in kept)
    assert all(np.array_equal(a, b) for a, b in zip(kept, full))  # the same epoch, cut short


@pytest.mark.parametrize("n, B, drop_last", [(1797, 64, False), (1797, 64, True), (10, 3, False),
                                             (7, 7, False), (5, 9, False), (1, 1, True)])
def test_unshuffled_batches_match_torch_dataloader(n, B, drop_last):
    loader = torch.utils.data.DataLoader(torch.arange(n), batch_size=B, shuffle=False,
                                         drop_last=drop_last)
    ours = data.minibatches(n, B, shuffle=False, drop_last=drop_last)
    assert len(ours) == len(loader)
    for a, b in zip(ours, loader):
        np.testing.assert_array_equal(a, b.numpy())


def test_digits_epoch_and_the_numbers_of_chapter_04():
    batches = data.minibatches(1797, 64, seed=3)
    assert len(batches) == 29 and batches[-1].size == 1797 - 28 * 64 == 5
    assert len(data.minibatches(1000, 50)) == 20


def test_seed_reproduces_and_none_reshuffles():
    a, b = data.minibatches(100, 7, seed=5), data.minibatches(100, 7, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = data.minibatches(100, 7, seed=6)
    assert not np.array_equal(np.concatenate(a), np.concatenate(c))
    d, e = data.minibatches(100, 7, seed=None), data.minibatches(100, 7, seed=None)
    assert not np.array_equal(np.concatenate(d), np.concatenate(e))  # 1 / 100! chance
    assert not np.array_equal(np.concatenate(a), np.arange(100))


def test_batch_gradients_of_an_epoch_average_to_the_full_gradient():
    """Fact T12: weighted by their sizes, the batch gradients of one epoch average to the
    full gradient (linearity), for a batch size that does and one that does not divide N."""
    gen = np.random.default_rng(0)
    X, y, w = gen.standard_normal((120, 4)), gen.standard_normal(120), gen.standard_normal(4)

    def grad(idx):
        return X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)

    full = grad(np.arange(120))
    for B in (8, 7):
        batches = data.minibatches(120, B, seed=1)
        mean = sum(len(b) * grad(b) for b in batches) / 120
        np.testing.assert_allclose(mean, full, rtol=1e-12, atol=1e-14)
        if B == 8:  # equal batches: the plain mean
            np.testing.assert_allclose(np.mean([grad(b) for b in batches], axis=0), full,
                                       rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("B", [4, 16])
def test_minibatch_covariance_trace_is_sigma_over_b_times_the_finite_population_factor(B):
    """Fact T13: over many epochs' first batches (sampling without replacement), the
    covariance trace of the batch mean is tr(Sigma) / B * (N - B) / (N - 1)."""
    gen = np.random.default_rng(2)
    N = 200
    G = gen.standard_normal((N, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0] + 1.0  # per-example grads
    sigma_trace = np.trace(np.cov(G.T, bias=True))
    means = np.array([G[data.minibatches(N, B, seed=s)[0]].mean(axis=0) for s in range(4000)])
    empirical = np.trace(np.cov(means.T))
    theory = sigma_trace / B * (N - B) / (N - 1)
    assert empirical == pytest.approx(theory, rel=0.1)
    assert not empirical == pytest.approx(sigma_trace / B * 2, rel=0.1)  # the test can fail


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0, batch_size=3), ValueError, r"n must be >= 1"),
    (dict(n=10, batch_size=0), ValueError, r"batch_size must be >= 1"),
    (dict(n=10.0, batch_size=3), TypeError, r"n must be an int"),
    (dict(n=10, batch_size=2.5), TypeError, r"batch_size must be an int"),
    (dict(n=10, batch_size=True), TypeError, r"batch_size must be an int"),
    (dict(n=10, batch_size=3, seed=-1), ValueError, r"seed must be >= 0"),
    (dict(n=10, batch_size=3, seed="0", shuffle=False), TypeError, r"seed must be an int"),
    (dict(n=10, batch_size=3, shuffle="yes"), TypeError, r"shuffle must be True or False"),
    (dict(n=10, batch_size=3, drop_last=1), TypeError, r"drop_last must be True or False"),
    (dict(n=5, batch_size=6, drop_last=True), ValueError, r"batch_size must be <= n = 5"),
])
def test_minibatches_refuses_bad_arguments_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.minibatches(**kwargs)


def test_minibatches_accepts_numpy_and_0d_integers():
    out = data.minibatches(np.int64(10), np.array(4), seed=np.int32(1),
                           shuffle=np.bool_(True))
    assert [b.size for b in out] == [4, 4, 2]


# --- landscapes.double_well -------------------------------------------------------------


def _well_torch(v):
    w1, w2 = v[0], v[1]
    return (w1**2 - 1) ** 2 + 0.3 * w1 - 1.5 * w2 * torch.exp(-(w1**2) / 0.98) + 0.5 * w2**2


@given(w=st.lists(st.floats(-3, 3), min_size=2, max_size=2))
def test_double_well_matches_torch_autograd(w):
    L = ls.double_well()
    x = np.array(w)
    t = torch.tensor(x, requires_grad=True)
    value = _well_torch(t)
    (grad,) = torch.autograd.grad(value, t)
    np.testing.assert_allclose(L.value(x), value.item(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(L.grad(x), grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(L.hessian(x), autograd_hessian(_well_torch, t.detach()).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_double_well_gradcheck_passes_and_a_wrong_gradient_fails():
    L = ls.double_well()
    for x in ([0.3, -0.7], [1.2, 1.1], [-1.7, 0.2]):
        x = np.array(x)
        assert gc.check_grad(L, L.grad, x, f_torch=L).passed
        assert gc.rel_error(gc.numerical_hessian(L.grad, x), L.hessian(x)) < 1e-7
        assert not gc.check_grad(L, L.grad(x) * [1.0, -1.0], x).passed


def test_double_well_minimizer_matches_high_precision_newton():
    def grad(a, b):
        s, c = mpmath.mpf("0.98"), mpmath.mpf("1.5")
        e = mpmath.exp(-a * a / s)
        return [4 * a * (a * a - 1) + mpmath.mpf("0.3") + c * b * e * 2 * a / s, b - c * e]

    with mpmath.workdps(40):
        ref = mpmath.findroot(grad, (mpmath.mpf(-0.9), mpmath.mpf(0.6)))
    L = ls.double_well()
    np.testing.assert_allclose(L.minimizers, [[float(ref[0]), float(ref[1])]], rtol=1e-15)
    m = L.minimizers[0]
    assert np.linalg.norm(L.grad(m)) < 1e-14
    assert np.linalg.eigvalsh(L.hessian(m)).min() > 0.5
    assert L.value(m) == pytest.approx(-0.4538811651219526, rel=1e-14)
    for (lo, hi), mi in zip(L.bounds, m):
        assert lo < mi < hi


def test_double_well_detour_numbers_of_chapter_04():
    """Fact T17: 20,000 steps at eta = 0.02 from w1 = 1.5 stop at w1 = 0.960 on the slice
    w2 = 0, but reach the global minimizer in the plane from (1.5, 0)."""
    L = ls.double_well()
    w1 = 1.5
    for _ in range(20_000):
        w1 -= 0.02 * L.grad(np.array([w1, 0.0]))[0]
    assert w1 == pytest.approx(0.960, abs=1e-3)
    assert L.value([w1, 0.0]) == pytest.approx(0.294, abs=1e-3)
    g = L.grad(np.array([w1, 0.0]))
    assert abs(g[0]) < 1e-12 and g[1] == pytest.approx(-0.586, abs=1e-3)
    w = np.array([1.5, 0.0])
    for _ in range(20_000):
        w = w - 0.02 * L.grad(w)
    np.testing.assert_allclose(w, [-0.946, 0.602], atol=1e-3)
    assert L.value(w) == pytest.approx(-0.4539, abs=1e-4)


def test_double_well_torch_batches_and_overflow():
    L = ls.double_well()
    pts = np.random.default_rng(0).uniform(-2, 2, (4, 3, 2))
    assert L.value(pts).shape == (4, 3) and L.hessian(pts).shape == (4, 3, 2, 2)
    np.testing.assert_allclose(L.grad(pts)[2, 1], L.grad(pts[2, 1]), rtol=1e-15)
    t = torch.tensor(pts[0, 0], dtype=torch.float32)
    assert L.grad(t).dtype == torch.float32
    np.testing.assert_allclose(L.grad(t).numpy(), L.grad(pts[0, 0]), rtol=1e-5)
    with pytest.raises(ValueError, match=r"double well.*overflows float64"):
        L.value([1e100, 0.0])
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        L.grad([1.0, 2.0, 3.0])


# --- landscapes.condition_number --------------------------------------------------------


def _spd(gen, eigenvalues):
    Q, _ = np.linalg.qr(gen.standard_normal((len(eigenvalues),) * 2))
    H = (Q * eigenvalues) @ Q.T
    return (H + H.T) / 2


@given(log_kappa=st.floats(0, 10), P=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_condition_number_matches_scipy_and_numpy(log_kappa, P, seed):
    gen = np.random.default_rng(seed)
    lam = np.concatenate([[1.0], 10.0 ** (log_kappa * gen.uniform(0, 1, P - 1))])
    if P > 1:
        lam[-1] = 10.0**log_kappa
    H = _spd(gen, lam)
    w = scipy.linalg.eigh(H, eigvals_only=True)
    kappa = ls.condition_number(H)
    assert kappa == pytest.approx(w[-1] / w[0], rel=1e-6)
    assert kappa == pytest.approx(lam.max() / lam.min(), rel=1e-5)
    assert kappa == pytest.approx(np.linalg.cond(H), rel=1e-5)


@pytest.mark.parametrize("scale", [1e-150, 1e-20, 1.0, 1e20, 1e150])
def test_condition_number_is_scale_free(scale):
    H = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert ls.condition_number(scale * H) == pytest.approx(ls.condition_number(H), rel=1e-14)
    assert ls.condition_number(scale * np.diag([1.0, 50.0])) == pytest.approx(50.0, rel=1e-14)


def test_condition_number_of_an_offset_feature():
    """Fact T10: kappa of [[mu^2 + s^2, mu], [mu, 1]] is lambda_+ / lambda_- and is close to
    T^2 / s^2, T = 1 + mu^2 + s^2, for a large offset (mu = 100, s^2 = 1/3)."""
    mu, s2 = 100.0, 1.0 / 3.0
    T = 1 + mu**2 + s2
    with mpmath.workdps(50):
        Tm = 1 + mpmath.mpf(100) ** 2 + mpmath.mpf(1) / 3
        root = mpmath.sqrt(Tm**2 - 4 * mpmath.mpf(1) / 3)
        exact = float((Tm + root) / (Tm - root))
    kappa = ls.condition_number(np.array([[mu**2 + s2, mu], [mu, 1.0]]))
    assert kappa == pytest.approx(exact, rel=1e-6)
    assert kappa == pytest.approx(T**2 / s2, rel=1e-3)
    assert 2.9e8 < kappa < 3.1e8


def test_condition_number_of_torch_and_lists():
    H = torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float32)
    assert ls.condition_number(H) == 4.0
    assert ls.condition_number([[3.0]]) == 1.0


@pytest.mark.parametrize("H, error, match", [
    (np.ones(3), ValueError, r"H must be 2-D"),
    (np.ones((2, 3)), ValueError, r"H must be a square matrix"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), ValueError, r"H must be symmetric"),
    (np.diag([1.0, -1.0]), ValueError, r"H must be positive definite.*indefinite"),
    (np.diag([1.0, 0.0]), ValueError, r"H must be positive definite"),
    (np.diag([1.0, 1e-17]), ValueError, r"H must be positive definite.*working precision"),
    (np.zeros((2, 2)), ValueError, r"H must be positive definite, got the zero matrix"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), ValueError, r"H must be finite"),
    ("H", TypeError, r"H must be"),
    (np.array([[1 + 1j]]), TypeError, r"H must hold real numbers"),
])
def test_condition_number_refuses_bad_matrices_by_name(H, error, match):
    with pytest.raises(error, match=match):
        ls.condition_number(H)


# --- landscapes.random_unit_vectors -----------------------------------------------------


@given(n=st.integers(1, 50), dim=st.integers(1, 8), seed=st.integers(0, 2**31))
def test_unit_vectors_have_norm_one_and_are_reproducible(n, dim, seed):
    u = ls.random_unit_vectors(n, dim, seed)
    assert u.shape == (n, dim) and u.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(u, ls.random_unit_vectors(n, dim, seed))


def test_unit_vectors_are_uniform_on_the_sphere():
    u = ls.random_unit_vectors(20_000, 5, seed=0)
    np.testing.assert_allclose(u.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(u.T @ u / len(u), np.eye(5) / 5, atol=0.01)  # E[u u^T] = I/d
    # In 1-D the sphere is {-1, +1}, each half the time.
    v = ls.random_unit_vectors(10_000, 1, seed=1)
    assert set(np.unique(v)) == {-1.0, 1.0} and abs(v.mean()) < 0.05


def test_steepest_descent_bound_by_sampling():
    """Fact T3: min over unit u of u^T g is -||g||, attained only at -g / ||g||."""
    g = np.array([3.0, -1.0, 2.0, 0.5, -2.0])
    u = ls.random_unit_vectors(100_000, 5, seed=0)
    rates = u @ g
    norm = np.linalg.norm(g)
    assert rates.min() >= -norm * (1 + 1e-12)
    assert rates.min() < -0.9 * norm
    assert (-g / norm) @ g == pytest.approx(-norm, rel=1e-15)
    best = u[rates.argmin()]
    assert best @ (-g / norm) > 0.9


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0, dim=2), ValueError, r"n must be >= 1"),
    (dict(n=3, dim=0), ValueError, r"dim must be >= 1"),
    (dict(n=3.0, dim=2), TypeError, r"n must be an int"),
    (dict(n=3, dim=2, seed=-2), ValueError, r"seed must be >= 0"),
    (dict(n=3, dim=2, seed=1.5), TypeError, r"seed must be an int"),
])
def test_random_unit_vectors_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ls.random_unit_vectors(**kwargs)


def test_fresh_directions_without_a_seed():
    a, b = ls.random_unit_vectors(3, 4, None), ls.random_unit_vectors(3, 4, None)
    assert not np.array_equal(a, b)
    assert math.isclose(float(np.linalg.norm(a[0])), 1.0, rel_tol=1e-14)


@pytest.mark.cuda
def test_double_well_and_condition_number_on_cuda_match_cpu():
    L = ls.double_well()
    x = np.random.default_rng(4).uniform(-1.5, 1.5, (6, 2))
    t = torch.tensor(x, device="cuda", requires_grad=True)
    for method in (L.value, L.grad, L.hessian):
        out = method(t)
        assert out.device.type == "cuda"
        np.testing.assert_allclose(out.detach().cpu().numpy(), method(x), rtol=1e-12, atol=1e-12)
    (g,) = torch.autograd.grad(L.value(t).sum(), t)
    np.testing.assert_allclose(g.cpu().numpy(), L.grad(x), rtol=1e-12, atol=1e-12)
    H = torch.tensor([[2.0, 1.0], [1.0, 3.0]], device="cuda")
    assert ls.condition_number(H) == pytest.approx(ls.condition_number(H.cpu().numpy()), rel=1e-6)
