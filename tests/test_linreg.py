"""Tests of dlnotes.linreg: the facts of chapter 01, section 7, properties against
independent references (NumPy, SciPy, scikit-learn, mpmath, torch autograd), and bad input."""

import math
import re
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog, minimize_scalar
from scipy.stats import norm
from sklearn.linear_model import Ridge

from dlnotes import linreg as lr
from dlnotes.data import polynomial, rent, standardize
from dlnotes.gradcheck import numerical_grad, rel_error

X4 = np.array([1.0, 2.0, 3.0, 4.0])
Y4 = np.array([2.0, 3.0, 5.0, 6.0])


@pytest.fixture
def rent_std():
    x, y = rent(20, seed=0)
    (xs,) = standardize(x)
    return xs, y


# --- features ---------------------------------------------------------------------


def test_design_matrix_puts_constant_first():
    P = lr.design_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(P, [[1, 1, 2], [1, 3, 4]])
    assert P.dtype == np.float64


def test_polynomial_features_are_increasing_monomials():
    P = lr.polynomial_features(np.array([2.0, -1.0]), 3)
    np.testing.assert_array_equal(P, [[1, 2, 4, 8], [1, -1, 1, -1]])
    assert lr.polynomial_features(np.array([[0.5]]), 0).shape == (1, 1)


# --- fact 1, 2: closed forms --------------------------------------------------------


def test_normal_equations_match_lstsq_and_polyfit(rent_std):
    xs, y = rent_std
    P = lr.design_matrix(xs)
    theta = lr.fit_normal_equations(P, y)
    np.testing.assert_allclose(theta, lr.fit_lstsq(P, y), rtol=1e-8)
    np.testing.assert_allclose(theta, np.polyfit(xs, y, 1)[::-1], rtol=1e-8)


def test_four_point_table():
    P = lr.design_matrix(X4)
    theta = lr.fit_normal_equations(P, Y4)
    np.testing.assert_allclose(theta, [0.5, 1.4], atol=1e-12)
    r = Y4 - P @ theta
    np.testing.assert_allclose(r, [0.1, -0.3, 0.3, -0.1], atol=1e-12)
    assert abs(np.sum(r**2) - 0.2) <= 1e-12


def test_multi_output_decouples():
    rng = np.random.default_rng(1)
    P = lr.design_matrix(rng.standard_normal((30, 3)))
    Y = rng.standard_normal((30, 2))
    Theta = lr.fit_lstsq(P, Y)
    assert Theta.shape == (4, 2)
    for k in range(2):
        np.testing.assert_allclose(Theta[:, k], lr.fit_lstsq(P, Y[:, k]), rtol=1e-12)
    np.testing.assert_allclose(lr.fit_normal_equations(P, Y), Theta, rtol=1e-10)


# --- fact 3: gradient ---------------------------------------------------------------


def test_lsq_grad_matches_finite_differences(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 3)
    theta = np.array([100.0, -20.0, 3.0, 1.0])
    fd = numerical_grad(lambda t: lr.lsq_loss(t, P, y), theta, h=1e-6)
    assert rel_error(lr.lsq_grad(theta, P, y), fd) <= 1e-6


# --- fact 4, 5: orthogonality, Gram matrix --------------------------------------------


def test_residual_orthogonal_to_columns(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 2)
    r = y - P @ lr.fit_lstsq(P, y)
    assert np.linalg.norm(P.T @ r) <= 1e-8 * np.linalg.norm(P) * np.linalg.norm(y)
    assert abs(r.mean()) <= 1e-10 * np.abs(y).max()


def test_gram_matrix_symmetric_psd_and_rank_deficient_when_n_below_p():
    rng = np.random.default_rng(2)
    P = lr.polynomial_features(rng.uniform(-1, 1, 2), 9)
    G = P.T @ P
    np.testing.assert_array_equal(G, G.T)
    assert np.linalg.eigvalsh(G).min() >= -1e-10 * np.abs(G).max()
    assert np.linalg.matrix_rank(G) < P.shape[1]


def test_lstsq_returns_minimum_norm_solution_when_rank_deficient():
    P = lr.polynomial_features(np.array([0.3, -0.5]), 9)
    y = np.array([1.0, 2.0])
    theta = lr.fit_lstsq(P, y)
    np.testing.assert_allclose(theta, np.linalg.pinv(P) @ y, atol=1e-10)
    np.testing.assert_allclose(P @ theta, y, atol=1e-10)
    # Adding a null-space direction keeps the fit but lengthens theta.
    null = np.linalg.svd(P)[2][-1]
    assert np.allclose(P @ (theta + null), y)
    assert np.linalg.norm(theta + null) > np.linalg.norm(theta)


def test_normal_equations_refuse_singular_gram():
    P = lr.design_matrix(np.full(5, 3.0))
    with pytest.raises(np.linalg.LinAlgError, match=r"rank 1 < p = 2"):
        lr.fit_normal_equations(P, np.arange(5.0))


# --- fact 6, 7: scaling and the centroid ------------------------------------------------


@pytest.mark.parametrize("c", [0.5, 1 / 20, 7.0])
def test_argmin_unchanged_by_scaling_the_loss(rent_std, c):
    xs, y = rent_std
    P = lr.design_matrix(xs)
    # Minimise c * L by Newton's method (exact for a quadratic): theta = -H^{-1} g at 0.
    g0 = c * lr.lsq_grad(np.zeros(2), P, y)
    H = c * P.T @ P / len(y)
    np.testing.assert_allclose(-np.linalg.solve(H, g0), lr.fit_lstsq(P, y), rtol=1e-12)


@pytest.mark.parametrize("slope", [-100.0, 0.0, 1.5, 1000.0])
def test_any_line_through_centroid_has_zero_summed_residual(slope):
    x, y = rent(20, seed=3)
    b = y.mean() - slope * x.mean()
    r = y - (slope * x + b)
    scale = np.abs(y).max() + abs(slope) * np.abs(x).max()
    assert abs(r.sum()) <= 1e-9 * len(y) * scale


# --- fact 8: polynomial degree --------------------------------------------------------------


def test_training_mse_non_increasing_in_degree_and_interpolates():
    x, y = polynomial(12, (0.0, 1.0), noise=0.3, seed=0)
    (xs,) = standardize(x)
    mses = [np.mean((y - lr.polynomial_features(xs, M) @ lr.fit_lstsq(
        lr.polynomial_features(xs, M), y)) ** 2) for M in range(12)]
    for a, b in zip(mses, mses[1:]):
        assert b <= a * (1 + 1e-10)
    assert mses[-1] < 1e-12


# --- fact 9: total least squares ----------------------------------------------------------


def test_tls_four_point_slope():
    slope, intercept = lr.fit_tls(X4, Y4)
    assert abs(slope - (5 + math.sqrt(221)) / 14) <= 1e-10
    assert abs(intercept - (Y4.mean() - slope * X4.mean())) <= 1e-10


def test_tls_differs_from_ols_on_rent_but_not_on_collinear_data():
    x, y = rent(20, seed=0)
    ols = lr.fit_lstsq(lr.design_matrix(x), y)[1]
    assert abs(lr.fit_tls(x, y)[0] - ols) > 0.01
    slope, intercept = lr.fit_tls(X4, 2.5 * X4 - 1.0)
    assert abs(slope - 2.5) <= 1e-10 and abs(intercept + 1.0) <= 1e-10


def test_tls_is_not_unit_invariant_but_ols_is():
    x, y = rent(20, seed=0)
    m2 = 0.09290304  # square metres per square foot
    ols_ft = lr.fit_lstsq(lr.design_matrix(x), y)[1]
    ols_m = lr.fit_lstsq(lr.design_matrix(x * m2), y)[1]
    assert abs(ols_m * m2 - ols_ft) <= 1e-9 * abs(ols_ft)
    assert abs(lr.fit_tls(x * m2, y)[0] * m2 - lr.fit_tls(x, y)[0]) > 0.01


# --- fact 10: projection ----------------------------------------------------------------------


def test_hat_matrix_is_an_orthogonal_projection(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 3)
    Pi = lr.hat_matrix(P)
    np.testing.assert_allclose(Pi @ Pi, Pi, atol=1e-10)
    np.testing.assert_allclose(Pi.T, Pi, atol=1e-10)
    np.testing.assert_allclose(Pi @ P, P, atol=1e-10)
    np.testing.assert_allclose(Pi @ y, P @ lr.fit_lstsq(P, y), rtol=1e-10)


# --- fact 11: Gaussian likelihood ----------------------------------------------------------------


def test_gaussian_nll_minimised_by_lstsq(rent_std):
    xs, y = rent_std
    P = lr.design_matrix(xs)
    theta = lr.fit_lstsq(P, y)
    log_sigma = 0.5 * math.log(np.mean((y - P @ theta) ** 2))
    t = torch.tensor(theta, requires_grad=True)
    nll = lr.gaussian_nll(t, torch.tensor(log_sigma, dtype=torch.float64), torch.tensor(P),
                          torch.tensor(y))
    (g,) = torch.autograd.grad(nll, t)
    assert g.norm().item() < 1e-8


def test_gaussian_nll_sigma_minimiser_is_mean_squared_residual(rent_std):
    xs, y = rent_std
    P = lr.design_matrix(xs)
    theta = lr.fit_lstsq(P, y)
    res = minimize_scalar(lambda v: float(lr.gaussian_nll(theta, 0.5 * math.log(v), P, y)),
                          bounds=(1e3, 1e6), method="bounded", options={"xatol": 1e-12})
    target = np.mean((y - P @ theta) ** 2)
    # The NLL is flat at its minimum, so a bracketing search finds sigma^2 only to
    # about sqrt(machine epsilon); the stationarity condition is checked exactly below.
    assert abs(res.x - target) <= 1e-6 * target
    ls = torch.tensor(0.5 * math.log(target), dtype=torch.float64, requires_grad=True)
    nll = lr.gaussian_nll(torch.tensor(theta), ls, torch.tensor(P), torch.tensor(y))
    (g,) = torch.autograd.grad(nll, ls)
    assert abs(g.item()) <= 1e-10 * len(y)


def test_gaussian_nll_matches_scipy_norm_logpdf_on_one_example():
    from scipy.stats import norm

    P = lr.design_matrix(X4)
    theta, log_sigma = np.array([0.3, 1.2]), math.log(0.7)
    expected = -norm.logpdf(Y4, loc=P @ theta, scale=0.7).sum()
    assert abs(lr.gaussian_nll(theta, log_sigma, P, Y4) - expected) <= 1e-12 * abs(expected)


# --- fact 13: conditioning ------------------------------------------------------------------


def test_condition_numbers_raw_vs_standardised():
    x, _ = rent(20, seed=0)
    (xs,) = standardize(x)
    assert lr.gram_condition(lr.polynomial_features(xs, 5)) < 1e4
    assert lr.gram_condition(lr.polynomial_features(x, 2)) > 1e12
    P = lr.design_matrix(xs)
    assert abs(lr.gram_condition(P) - np.linalg.cond(P.T @ P)) <= 1e-8 * np.linalg.cond(P.T @ P)


def test_high_precision_condition_number_agrees_and_goes_further():
    x, _ = rent(20, seed=0)
    P2 = lr.polynomial_features(x, 2)
    assert abs(lr.gram_condition(P2, digits=50) / lr.gram_condition(P2) - 1) < 1e-6
    # Degree 5 on raw floor areas: float64 misreports the Gram matrix's condition.
    true5 = lr.gram_condition(lr.polynomial_features(x, 5), digits=80)
    assert true5 > 1e35
    assert np.linalg.cond(lr.polynomial_features(x, 5).T @ lr.polynomial_features(x, 5)) < true5


# --- fact 14: gradient descent -----------------------------------------------------------------


def test_gd_reaches_closed_form_and_diverges_above_two_over_lambda_max():
    P = lr.design_matrix(X4)
    lam_max = np.linalg.eigvalsh(P.T @ P / len(Y4)).max()
    theta, losses = lr.fit_gd(P, Y4, 1.0 / lam_max, 10_000)
    assert np.max(np.abs(theta - [0.5, 1.4])) <= 1e-8
    assert np.all(np.diff(losses) <= 1e-15)
    _, losses = lr.fit_gd(P, Y4, 2.1 / lam_max, 200)
    assert losses[-1] > 1e6


# --- ridge and LAD -----------------------------------------------------------------------------


def test_ridge_solves_its_normal_equations_and_reduces_to_lstsq(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 3)
    theta = lr.fit_ridge(P, y, 2.0)
    np.testing.assert_allclose((P.T @ P + 2.0 * np.eye(4)) @ theta, P.T @ y, rtol=1e-10)
    np.testing.assert_allclose(lr.fit_ridge(P, y, 0.0), lr.fit_lstsq(P, y), rtol=1e-10)


def test_lad_resists_outliers_and_fits_median():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    y = 2 * x + 1 + 0.1 * rng.standard_normal(40)
    y[:3] += 50.0
    P = lr.design_matrix(x)
    lad, ols = lr.fit_lad(P, y), lr.fit_lstsq(P, y)
    assert np.linalg.norm(lad - [1, 2]) < 0.1 < np.linalg.norm(ols - [1, 2])
    c = lr.fit_lad(np.ones((5, 1)), np.array([1.0, 2.0, 3.0, 10.0, 100.0]))
    assert abs(c[0] - 3.0) < 1e-6


# --- NumPy / torch agreement -----------------------------------------------------------------


def _torch(*arrays, device="cpu"):
    return [torch.tensor(a, dtype=torch.float64, device=device) for a in arrays]


def test_losses_agree_on_numpy_and_torch_and_autograd_matches_lsq_grad(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 2)
    theta = np.array([900.0, 200.0, -10.0])
    tt, tP, ty = _torch(theta, P, y)
    tt.requires_grad_(True)
    loss = lr.lsq_loss(tt, tP, ty)
    assert abs(loss.item() - lr.lsq_loss(theta, P, y)) <= 1e-12 * lr.lsq_loss(theta, P, y)
    (g,) = torch.autograd.grad(loss, tt)
    assert rel_error(g, lr.lsq_grad(theta, P, y)) <= 1e-12
    assert rel_error(lr.lsq_grad(tt.detach(), tP, ty), lr.lsq_grad(theta, P, y)) <= 1e-12
    nll_np = lr.gaussian_nll(theta, 5.0, P, y)
    nll_t = lr.gaussian_nll(tt, torch.tensor(5.0, dtype=torch.float64), tP, ty)
    assert abs(nll_t.item() - nll_np) <= 1e-12 * abs(nll_np)


@pytest.mark.cuda
def test_losses_on_cuda_match_cpu(rent_std):
    xs, y = rent_std
    P = lr.polynomial_features(xs, 2)
    theta = np.array([900.0, 200.0, -10.0])
    cpu = _torch(theta, P, y)
    gpu = _torch(theta, P, y, device="cuda")
    assert gpu[0].is_cuda
    assert abs(lr.lsq_loss(*gpu).item() - lr.lsq_loss(*cpu).item()) <= 1e-10 * \
        lr.lsq_loss(*cpu).item()
    assert rel_error(lr.lsq_grad(*gpu).cpu(), lr.lsq_grad(*cpu)) <= 1e-10
    with pytest.raises(ValueError, match=r"must be on one device"):
        lr.lsq_loss(gpu[0], *cpu[1:])


# === properties against independent references =================================================

SEEDS = st.integers(0, 2**32 - 1)
SHAPES = st.tuples(st.integers(1, 9), st.integers(1, 5))  # (N, p): N = 1 and p > N included


def _rel(a, b) -> float:
    """Relative distance of a from the reference b (absolute when b = 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def _gaussian(seed, N, p, k=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, p)), rng.standard_normal((N, k) if k else N)


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- fit_lstsq ------------------------------------------------------------------------------


@given(shape=SHAPES, seed=SEEDS, k=st.sampled_from([0, 2]), y_exp=st.integers(-130, 130),
       col_exp=st.lists(st.integers(-150, 150), min_size=5, max_size=5))
def test_fit_lstsq_matches_numpy_lstsq_at_any_magnitude(shape, seed, k, y_exp, col_exp):
    N, p = shape
    G, y = _gaussian(seed, N, p, k)
    if N < p:  # the minimum norm is scale-equivariant only under one common column scale
        col_exp = [col_exp[0]] * 5
    c, t = 10.0 ** np.array(col_exp[:p], dtype=float), 10.0**y_exp
    ref = np.linalg.lstsq(G, y, rcond=None)[0]  # the same problem at unit scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-conditioned design gives no warning
        theta = lr.fit_lstsq(G * c, y * t)
    back = theta * (c[:, None] if k else c) / t
    assert np.all(np.isfinite(theta))
    assert _rel(back, ref) <= 1e-13 * np.linalg.cond(G) ** 2 + 1e-12


@given(shape=st.tuples(st.integers(1, 8), st.integers(1, 6)), rank=st.integers(0, 5),
       seed=SEEDS, exp=st.integers(-100, 100))
def test_fit_lstsq_is_pinv_on_dependent_designs_and_warns_iff_rank_below_min(shape, rank, seed,
                                                                             exp):
    N, p = shape
    rank = min(rank, N, p)
    rng = np.random.default_rng(seed)
    Phi = 10.0**exp * rng.standard_normal((N, rank)) @ rng.standard_normal((rank, p))
    y = rng.standard_normal(N)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theta = lr.fit_lstsq(Phi, y)
    ref = scipy_lstsq(Phi, y)
    assert _rel(theta, ref) <= 1e-9
    warned = [w for w in caught if issubclass(w.category, lr.RankDeficientWarning)]
    assert bool(warned) == (rank < min(N, p))
    if warned:
        assert re.search(rf"effective rank {rank}\b.*< min\(N, p\) = {min(N, p)}",
                         str(warned[0].message))


def scipy_lstsq(Phi, y):
    """Minimum-norm least squares by SciPy (gelss: SVD) at the usual rank rule."""
    from scipy.linalg import lstsq

    cond = max(Phi.shape) * np.finfo(float).eps
    return lstsq(Phi, y, cond=cond, lapack_driver="gelss")[0]


RAW_AREAS = {"rent, 500-2000 sq ft": rent(20, seed=0)[0],
             "uniform, 500-3000 sq ft": np.random.default_rng(7).uniform(500, 3000, 30)}


@pytest.mark.parametrize("name", list(RAW_AREAS))
def test_raw_monomials_training_error_non_increasing_and_optimal(name, no_warnings):
    x = RAW_AREAS[name]
    y = 1.5 * x + 300 + 300 * np.random.default_rng(1).standard_normal(len(x))
    xs = (x - x.mean()) / x.std()  # the same polynomial space, well conditioned
    mse, mse_std, mse_np = [], [], []
    for M in range(1, 9):
        P = lr.polynomial_features(x, M)
        mse.append(np.mean((y - P @ lr.fit_lstsq(P, y)) ** 2))
        Ps = lr.polynomial_features(xs, M)
        mse_std.append(np.mean((y - Ps @ np.linalg.lstsq(Ps, y, rcond=None)[0]) ** 2))
        mse_np.append(np.mean((y - P @ np.linalg.lstsq(P, y, rcond=None)[0]) ** 2))
    assert all(b <= a * (1 + 1e-12) for a, b in zip(mse, mse[1:]))
    np.testing.assert_allclose(mse, mse_std, rtol=1e-9)
    # What the fix is for: plain lstsq on the raw matrix drops rank and its error rises.
    assert mse_np[-1] > 2 * mse_np[0] > 2 * mse[-1]


def test_raw_monomial_fit_equals_an_80_digit_optimum():
    x = RAW_AREAS["uniform, 500-3000 sq ft"]
    y = 1.5 * x + 300 + 300 * np.random.default_rng(1).standard_normal(len(x))
    for M in (5, 8):
        P = lr.polynomial_features(x, M)
        sse = np.sum((y - P @ lr.fit_lstsq(P, y)) ** 2)
        with mpmath.workdps(80):  # normal equations are fine with 80 digits
            A, b = mpmath.matrix(P.tolist()), mpmath.matrix(y.tolist())
            t = mpmath.lu_solve(A.T * A, A.T * b)
            ref = float(mpmath.norm(b - A * t) ** 2)
        assert abs(sse - ref) <= 1e-9 * ref


@pytest.mark.parametrize("P, rank, cure", [
    (lr.design_matrix(np.column_stack([X4, 2 * X4])), 2, "drop dependent features"),
    (lr.design_matrix(np.full(5, 3.0)), 1, "standardise the inputs"),
    (np.zeros((3, 2)), 0, "standardise"),
])
def test_rank_deficient_design_warns_with_rank_and_cure(P, rank, cure):
    N, p = P.shape
    y = np.arange(float(N))
    with pytest.warns(lr.RankDeficientWarning,
                      match=rf"\({N} x {p}\) has effective rank {rank} < min\(N, p\)") as rec:
        theta = lr.fit_lstsq(P, y)
    assert cure in str(rec[0].message)
    np.testing.assert_allclose(theta, np.linalg.pinv(P) @ y, atol=1e-12)
    with pytest.warns(lr.RankDeficientWarning):  # ridge with lam = 0 is lstsq
        np.testing.assert_array_equal(lr.fit_ridge(P, y, 0.0), theta)


def test_underdetermined_design_is_not_warned_about(no_warnings):
    P = lr.polynomial_features(np.array([0.3, -0.5]), 9)  # N = 2 < p = 10, rank 2
    lr.fit_lstsq(P, np.array([1.0, 2.0]))


# --- fit_ridge ------------------------------------------------------------------------------


@given(shape=SHAPES, seed=SEEDS, k=st.sampled_from([0, 2]), lam_exp=st.floats(-3, 3),
       c_exp=st.integers(-100, 100), t_exp=st.integers(-100, 100))
def test_ridge_matches_sklearn_at_any_magnitude(shape, seed, k, lam_exp, c_exp, t_exp):
    N, p = shape
    G, y = _gaussian(seed, N, p, k)
    lam = 10.0**lam_exp
    # sklearn minimises ||y - X w||^2 + alpha ||w||^2: the same minimiser as 1/2 (...) + lam/2 (...)
    ref = Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(G, y).coef_.T
    # Scaling Phi by c, y by t and lam by c^2 scales theta by t / c exactly.
    c, t = 10.0**c_exp, 10.0**t_exp
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theta = lr.fit_ridge(G * c, y * t, lam * c * c)
    assert _rel(theta * c / t, ref) <= 1e-10


def test_ridge_warns_when_lam_is_too_small_for_dependent_columns():
    P = lr.design_matrix(np.full(6, 1e5))
    with pytest.warns(lr.RankDeficientWarning, match=r"effective rank 1 < p = 2.*Increase lam"):
        lr.fit_ridge(P, np.arange(6.0), 1e-40)


# --- fit_normal_equations ----------------------------------------------------------------------


@given(N=st.integers(1, 9), seed=SEEDS, data=st.data(), y_exp=st.integers(-150, 150),
       col_exp=st.lists(st.integers(-150, 150), min_size=5, max_size=5))
def test_normal_equations_match_lstsq_from_1e_minus150_to_1e150(N, seed, data, y_exp, col_exp):
    p = data.draw(st.integers(1, min(N, 5)), label="p")
    G, y = _gaussian(seed, N + 2, p)  # N + 2 >= p + 2 rows: comfortably full rank
    c, t = 10.0 ** np.array(col_exp[:p], dtype=float), 10.0**y_exp
    ref = np.linalg.lstsq(G, y, rcond=None)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theta = lr.fit_normal_equations(G * c, y * t)
    # Unit-norm columns make the condition number at most sqrt(p) cond(G) (van der Sluis).
    assert not caught or p * np.linalg.cond(G) ** 2 > 1 / np.sqrt(np.finfo(float).eps)
    assert _rel(theta * c / t, ref) <= 1e-14 * np.linalg.cond(G) ** 2 + 1e-12


def test_normal_equations_stay_finite_at_1e200_and_warn_when_ill_conditioned():
    rng = np.random.default_rng(0)
    P, y = rng.standard_normal((10, 3)), rng.standard_normal(10)
    theta = lr.fit_normal_equations(P * 1e200, y * 1e200)
    np.testing.assert_allclose(theta, np.linalg.lstsq(P, y, rcond=None)[0], rtol=1e-12)
    x = rent(20, seed=0)[0]
    with pytest.warns(lr.IllConditionedWarning, match=r"condition number \d\.\de\+\d+.*fit_lstsq"):
        lr.fit_normal_equations(lr.polynomial_features(x, 5), x)
    with pytest.raises(np.linalg.LinAlgError, match=r"effective rank 1 < p = 2"):
        lr.fit_normal_equations(lr.design_matrix(np.full(4, 1e-150)), X4)
    with pytest.raises(ValueError, match=r"effective rank 1 < p = 3"):  # N < p
        lr.fit_normal_equations(lr.polynomial_features(np.array([2.0]), 2), [1.0])


# --- gram_condition -----------------------------------------------------------------------------


def _mp_gram_condition(Phi, dps=60):
    """Condition number of Phi^T Phi from its eigenvalues at `dps` digits (another route)."""
    with mpmath.workdps(dps):
        A = mpmath.matrix(Phi.tolist())
        ev = [abs(v) for v in mpmath.eigsy(A.T * A, eigvals_only=True)]
        return math.inf if min(ev) == 0 else float(max(ev) / min(ev))


@given(shape=SHAPES, seed=SEEDS, exp=st.integers(-150, 150),
       col_exp=st.lists(st.integers(-7, 7), min_size=5, max_size=5))
def test_gram_condition_matches_mpmath_eigenvalues(shape, seed, exp, col_exp):
    N, p = shape
    G, _ = _gaussian(seed, N, p)
    Phi = G * 10.0 ** (np.array(col_exp[:p], dtype=float) + exp)
    if p > N:
        assert lr.gram_condition(Phi) == lr.gram_condition(Phi, digits=30) == math.inf
        return
    ref = _mp_gram_condition(Phi)
    kappa = math.sqrt(ref)  # cond(Phi)
    eps = np.finfo(float).eps
    got = lr.gram_condition(Phi)
    if kappa < 1e-3 / (max(N, p) * eps):
        assert abs(got - ref) <= 100 * eps * kappa * ref
    elif kappa > 1e3 / (max(N, p) * eps):
        assert got == math.inf
    assert abs(lr.gram_condition(Phi, digits=30) - ref) <= 1e-12 * ref


def test_gram_condition_is_infinite_for_rank_deficient_designs():
    x = rent(20, seed=0)[0]
    P5 = lr.polynomial_features(x, 5)
    assert lr.gram_condition(P5) == math.inf  # beyond float64: (max(N, p) eps)^-2 ~ 5e28
    assert 1e35 < lr.gram_condition(P5, digits=80) < math.inf
    assert lr.gram_condition(lr.design_matrix(np.full(5, 3.0))) == math.inf
    assert lr.gram_condition(lr.design_matrix(np.full(5, 3.0)), digits=40) == math.inf
    assert lr.gram_condition(np.ones((2, 3))) == math.inf  # p > N
    assert lr.gram_condition(np.zeros((3, 2)), digits=20) == math.inf
    assert lr.gram_condition([[1.0, 0.0], [0.0, 1e-200]]) == math.inf
    assert lr.gram_condition([[1e-200, 0.0], [0.0, 3e-200]]) == pytest.approx(9.0, rel=1e-14)


# --- fit_lad --------------------------------------------------------------------------------------


def _lad_objective_by_linprog(Phi, y):
    """min sum |y - Phi theta| as a linear program (HiGHS), on unit-scale data; the objective
    is recomputed at the LP's theta, so the LP's own tolerances cannot flatter it."""
    N, p = Phi.shape
    s, d = np.abs(y).max(), np.linalg.norm(Phi, axis=0)
    d[d == 0] = 1.0
    A = np.hstack([Phi / d, np.eye(N), -np.eye(N)])
    c = np.r_[np.zeros(p), np.ones(2 * N)]
    res = linprog(c, A_eq=A, b_eq=y / s, bounds=[(None, None)] * p + [(0, None)] * (2 * N),
                  method="highs", options=dict(primal_feasibility_tolerance=1e-10,
                                               dual_feasibility_tolerance=1e-10))
    assert res.status == 0
    return np.abs(y - Phi @ (res.x[:p] / d * s)).sum()


def _fit_lad_with_gap(Phi, y):
    """fit_lad's theta and the bound on its objective's excess that it promises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theta = lr.fit_lad(Phi, y)
    promised = 1e-10 * len(y) * np.abs(y).max()
    for w in caught:
        assert issubclass(w.category, lr.ConvergenceWarning)
        promised = float(re.search(r"by up to (\S+) \(", str(w.message)).group(1))
    return theta, promised


@given(N=st.integers(1, 25), p=st.integers(1, 4), seed=SEEDS, y_exp=st.integers(-100, 100),
       col_exp=st.lists(st.integers(-50, 50), min_size=4, max_size=4),
       outliers=st.booleans(), integers=st.booleans())
def test_lad_objective_matches_linprog(N, p, seed, y_exp, col_exp, outliers, integers):
    rng = np.random.default_rng(seed)
    Phi = rng.standard_normal((N, p)) * 10.0 ** np.array(col_exp[:p], dtype=float)
    y = rng.standard_normal(N)
    if outliers:
        y[: max(1, N // 5)] += 50
    if integers:  # ties: a degenerate linear program
        y = np.round(3 * y)
    y = y * 10.0**y_exp
    theta, promised = _fit_lad_with_gap(Phi, y)
    f, ref = np.abs(y - Phi @ theta).sum(), _lad_objective_by_linprog(Phi, y)
    slack = 1e-9 * N * np.abs(y).max()  # the LP's own tolerance
    assert f - ref <= promised * (1 + 1e-6) + slack
    assert ref - f <= slack


@given(N=st.integers(1, 20), p=st.integers(1, 3), seed=SEEDS, c_exp=st.integers(-150, 150))
def test_lad_scales_with_y(N, p, seed, c_exp):
    G, y = _gaussian(seed, N, p)
    c = 10.0**c_exp
    t1, g1 = _fit_lad_with_gap(G, y)
    tc, gc = _fit_lad_with_gap(G, c * y)
    f1, fc = np.abs(y - G @ t1).sum(), np.abs(c * y - G @ tc).sum()
    assert abs(fc / c - f1) <= g1 + gc / c + 1e-12 * N * np.abs(y).max()


def test_lad_is_exact_on_the_median_and_validates_its_settings():
    y = np.array([1.0, 2.0, 3.0, 10.0, 100.0])
    assert lr.fit_lad(np.ones((5, 1)), y)[0] == pytest.approx(3.0, rel=1e-14)
    assert lr.fit_lad(np.ones((5, 1)), 1e-140 * y)[0] == pytest.approx(3e-140, rel=1e-14)
    np.testing.assert_array_equal(lr.fit_lad(np.ones((3, 2)), np.zeros(3)), [0.0, 0.0])
    with pytest.warns(lr.ConvergenceWarning, match=r"not certified after 1 iterations"):
        rng = np.random.default_rng(3)
        lr.fit_lad(rng.standard_normal((40, 3)), rng.standard_normal(40), iters=1)
    for kwargs, err, match in ((dict(iters=0), ValueError, r"iters must be >= 1, got 0"),
                               (dict(iters=2.0), TypeError, r"iters must be an int"),
                               (dict(tol=-1e-3), ValueError, r"tol must be >= 0"),
                               (dict(delta=0.0), ValueError, r"delta must be > 0"),
                               (dict(delta=1.0), ValueError, r"delta must be < 1"),
                               (dict(delta=True), TypeError, r"delta must be a real number")):
        with pytest.raises(err, match=match):
            lr.fit_lad(np.ones((5, 1)), y, **kwargs)


# --- losses: NumPy and torch ----------------------------------------------------------------------


def _problem(seed, N, p, a, b):
    """Phi ~ 10^a, theta ~ 10^(b - a), y ~ 10^b (so residuals ~ 10^b)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(p) * 10.0 ** (b - a), rng.standard_normal((N, p)) * 10.0**a,
            rng.standard_normal(N) * 10.0**b)


@given(shape=SHAPES, seed=SEEDS, dtype=st.sampled_from([torch.float64, torch.float32]),
       a=st.integers(-100, 100), b=st.integers(-100, 100))
def test_lsq_grad_matches_torch_autograd_and_numpy(shape, seed, dtype, a, b):
    N, p = shape
    if dtype == torch.float32:
        a, b = a % 11 - 5, b % 11 - 5  # float32's range
    theta, Phi, y = _problem(seed, N, p, a, b)
    tt, tP, ty = (torch.tensor(v, dtype=dtype) for v in (theta, Phi, y))
    tt.requires_grad_(True)
    loss = lr.lsq_loss(tt, tP, ty)
    (auto,) = torch.autograd.grad(loss, tt)
    grad = lr.lsq_grad(tt, tP, ty)
    assert grad.dtype == dtype and grad.requires_grad  # differentiable, in the tensors' dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    scale = np.abs(Phi).max() * np.abs(Phi @ theta - y).max() * N
    assert np.abs(grad.detach().numpy() - auto.numpy()).max() <= tol * scale
    P64, t64, y64 = (v.detach().double().numpy() for v in (tP, tt, ty))
    ref_grad = P64.T @ (P64 @ t64 - y64) / N
    assert np.abs(lr.lsq_grad(t64, P64, y64) - ref_grad).max() <= 1e-12 * scale
    assert np.abs(grad.detach().double().numpy() - ref_grad).max() <= 10 * tol * scale
    ref_loss = np.sum((y64 - P64 @ t64) ** 2) / (2 * N)
    assert abs(loss.item() - ref_loss) <= 10 * tol * ref_loss + 1e-300


@given(shape=SHAPES, seed=SEEDS, bits=st.integers(1, 40), torch_=st.booleans())
def test_integer_inputs_do_not_overflow(shape, seed, bits, torch_):
    N, p = shape
    rng = np.random.default_rng(seed)
    hi = 2**bits
    theta, Phi, y = (rng.integers(-hi, hi, size=s, dtype=np.int64) for s in (p, (N, p), N))
    # The exact loss in rational arithmetic: no rounding, no overflow.
    r = [int(y[i]) - sum(int(Phi[i, j]) * int(theta[j]) for j in range(p)) for i in range(N)]
    exact = float(Fraction(sum(v * v for v in r), 2 * N))
    args = [torch.tensor(v) for v in (theta, Phi, y)] if torch_ else (theta, Phi, y)
    loss = float(lr.lsq_loss(*args))
    assert loss >= 0 and abs(loss - exact) <= 1e-12 * exact


@given(shape=SHAPES, seed=SEEDS, u=st.floats(-5, 5), b=st.integers(-100, 100),
       kind=st.sampled_from(["float", "np.float32", "0-d array", "0-d tensor", "torch"]))
def test_gaussian_nll_matches_scipy_norm_logpdf(shape, seed, u, b, kind):
    N, p = shape
    theta, Phi, y = _problem(seed, N, p, 0, b)
    log_sigma = b * math.log(10) + u
    if kind == "np.float32":
        log_sigma = float(np.float32(log_sigma))
    expected = -norm.logpdf(y, loc=Phi @ theta, scale=math.exp(log_sigma)).sum()
    wrap = {"float": float, "np.float32": np.float32, "0-d array": np.array,
            "0-d tensor": lambda v: torch.tensor(v, dtype=torch.float64),
            "torch": lambda v: torch.tensor(v, dtype=torch.float64)}[kind]
    args = (theta, Phi, y)
    if kind in ("0-d tensor", "torch"):
        args = tuple(torch.tensor(v) for v in args)
    got = float(lr.gaussian_nll(args[0], wrap(log_sigma), *args[1:]))
    assert abs(got - expected) <= 1e-10 * (abs(expected) + N)


def test_gaussian_nll_gradients_match_closed_form_via_autograd():
    rng = np.random.default_rng(4)
    theta, Phi, y = rng.standard_normal(3), rng.standard_normal((7, 3)), rng.standard_normal(7)
    t = torch.tensor(theta, requires_grad=True)
    ls = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    nll = lr.gaussian_nll(t, ls, torch.tensor(Phi), torch.tensor(y))
    g_t, g_ls = torch.autograd.grad(nll, (t, ls))
    r, var = y - Phi @ theta, math.exp(0.6)
    np.testing.assert_allclose(g_t.numpy(), -Phi.T @ r / var, rtol=1e-12)
    assert abs(g_ls.item() - (7 - r @ r / var)) <= 1e-12 * 7


def test_losses_refuse_mixed_kinds_dtypes_devices_and_nan_theta():
    P = lr.design_matrix(X4)
    tP, ty = torch.tensor(P), torch.tensor(Y4)
    with pytest.raises(ValueError, match=r"theta must be finite"):
        lr.lsq_loss(np.array([np.nan, 1.0]), P, Y4)
    with pytest.raises(ValueError, match=r"theta must be finite"):
        lr.lsq_grad(torch.tensor([0.0, np.inf], dtype=torch.float64), tP, ty)
    with pytest.raises(TypeError, match=r"all NumPy arrays or all torch tensors.*theta Tensor"):
        lr.lsq_loss(torch.zeros(2, dtype=torch.float64), P, Y4)
    with pytest.raises(TypeError, match=r"share one floating dtype.*theta torch.float32"):
        lr.lsq_grad(torch.zeros(2), tP, ty)
    with pytest.raises(ValueError, match=r"must be on one device.*theta on meta"):
        lr.lsq_loss(torch.zeros(2, dtype=torch.float64, device="meta"), tP, ty)
    with pytest.raises(TypeError, match=r"log_sigma is a torch tensor but theta"):
        lr.gaussian_nll(np.zeros(2), torch.tensor(0.0), P, Y4)
    with pytest.raises(TypeError, match=r"log_sigma and theta must share one floating dtype"):
        lr.gaussian_nll(torch.zeros(2, dtype=torch.float64), torch.tensor(0.0), tP, ty)
    for bad, err, match in ((True, TypeError, r"log_sigma must be a real number, got bool"),
                            ("1", TypeError, r"log_sigma must be a real number, got str"),
                            (math.nan, ValueError, r"log_sigma must be finite"),
                            (np.zeros(2), TypeError, r"log_sigma must be a real number"),
                            (torch.tensor(True), TypeError, r"log_sigma must be a real number")):
        with pytest.raises(err, match=match):
            lr.gaussian_nll(np.zeros(2) if not isinstance(bad, torch.Tensor) else
                            torch.zeros(2, dtype=torch.float64), bad,
                            *((P, Y4) if not isinstance(bad, torch.Tensor) else (tP, ty)))
    with pytest.raises(ValueError, match=r"log_sigma must be a scalar \(0-d\), got shape \(1,\)"):
        lr.gaussian_nll(torch.zeros(2, dtype=torch.float64),
                        torch.zeros(1, dtype=torch.float64), tP, ty)
    with pytest.raises(ValueError, match=r"lsq_loss overflows"):
        lr.lsq_loss(np.zeros(2), P, Y4 * 1e160)
    with pytest.raises(ValueError, match=r"gaussian_nll overflows"):
        lr.gaussian_nll(np.zeros(2), -800.0, P, Y4)


def test_losses_accept_lists_integer_tensors_and_tensors_that_require_grad():
    P = lr.design_matrix(X4)
    ref = lr.lsq_loss(np.zeros(2), P, Y4)
    assert lr.lsq_loss([0, 0], P.tolist(), Y4.tolist()) == ref
    t = torch.zeros(2, dtype=torch.float32, requires_grad=True)
    loss = lr.lsq_loss(t, torch.tensor(P, dtype=torch.float32), torch.tensor([2, 3, 5, 6]))
    assert loss.dtype == torch.float32 and loss.requires_grad and abs(loss.item() - ref) < 1e-5
    assert lr.lsq_loss(*(torch.tensor(v).long() for v in (np.zeros(2), P, Y4))).item() == ref


# --- features, fit_tls, fit_gd, hat_matrix --------------------------------------------------------


def test_features_accept_lists_tensors_numpy_ints_and_0d_arrays():
    ref = lr.polynomial_features(X4, 3)
    for x, M in ((X4.tolist(), np.int64(3)), (torch.tensor(X4, requires_grad=True), np.array(3)),
                 (X4.astype(np.int32), torch.tensor(3))):
        np.testing.assert_array_equal(lr.polynomial_features(x, M), ref)
    np.testing.assert_array_equal(lr.design_matrix(torch.tensor(X4, requires_grad=True)),
                                  lr.design_matrix(X4))
    with pytest.raises(TypeError, match=r"degree must be an int, got bool"):
        lr.polynomial_features(X4, True)
    with pytest.raises(ValueError, match=r"x\*\*3 overflows float64.*standardise x"):
        lr.polynomial_features([1e150, 2.0], 3)
    with pytest.raises(TypeError, match=r"x must hold real numbers"):
        lr.design_matrix(np.array(["a", "b"]))


@given(N=st.integers(2, 30), seed=SEEDS, c_exp=st.integers(-100, 100))
def test_tls_matches_closed_form_and_scales_jointly(N, seed, c_exp):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(N)
    y = 0.7 * x + 0.5 * rng.standard_normal(N)
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy, sxy = dx @ dx, dy @ dy, dx @ dy
    slope = (syy - sxx + math.sqrt((syy - sxx) ** 2 + 4 * sxy**2)) / (2 * sxy)
    c = 10.0**c_exp
    with warnings.catch_warnings(record=True):  # a near-isotropic cloud may be warned about
        warnings.simplefilter("always")
        a, b = lr.fit_tls(c * x, c * y)
    gap = np.linalg.svd(np.column_stack([dx, dy]), compute_uv=False)
    tol = 1e-12 * gap[0] / (gap[0] - gap[1])
    assert abs(a - slope) <= tol * (1 + abs(slope))
    assert abs(b / c - (y.mean() - slope * x.mean())) <= tol * (1 + abs(slope)) * (
        1 + np.abs(x).max() + np.abs(y).max())


def test_tls_refuses_undefined_and_non_unique_lines():
    with pytest.raises(ValueError, match=r"undefined: all points are equal"):
        lr.fit_tls([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"not unique"):
        lr.fit_tls([1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0])
    with pytest.raises(ValueError, match=r"vertical"):
        lr.fit_tls(np.ones(4), Y4)
    with pytest.warns(lr.IllConditionedWarning, match=r"ill-determined"):
        lr.fit_tls([1.0 + 1e-12, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0])


def test_gd_divergence_stops_with_inf_and_a_warning():
    P = lr.design_matrix(X4)
    lam_max = np.linalg.eigvalsh(P.T @ P / 4).max()
    with pytest.warns(lr.ConvergenceWarning, match=r"diverged.*overflowed float64 at step"):
        theta, losses = lr.fit_gd(P, Y4, 10 / lam_max, 2000)
    t = int(np.argmax(np.isinf(losses)))
    assert 0 < t < 2000 and np.all(np.isinf(losses[t:])) and np.all(np.isfinite(losses[:t]))
    assert np.all(np.isfinite(theta))
    assert lr.lsq_loss(theta, P, Y4) == losses[t - 1]
    theta, losses = lr.fit_gd(P, Y4, 0.1, 5, theta0=torch.tensor([0.5, 1.4], requires_grad=True))
    assert losses.shape == (6,) and abs(losses[0] - 0.2 / 8) < 1e-12
    for kwargs, err, match in ((dict(theta0=[0.0]), ValueError, r"theta0 must have shape \(2,\)"),
                               (dict(theta0=[np.nan, 0]), ValueError, r"theta0 must be finite"),
                               (dict(steps=-1), ValueError, r"steps must be >= 0"),
                               (dict(steps=True), TypeError, r"steps must be an int"),
                               (dict(eta=math.inf), ValueError, r"eta must be finite")):
        with pytest.raises(err, match=match):
            lr.fit_gd(P, Y4, **dict(dict(eta=0.1, steps=5), **kwargs))


@pytest.mark.parametrize("exp", [-150, 0, 150])
def test_hat_matrix_is_scale_free_and_checks_rtol(exp):
    rng = np.random.default_rng(5)
    P = rng.standard_normal((6, 2)) * 10.0**exp
    Q = np.linalg.qr(P / 10.0**exp)[0]  # independent: QR of the unscaled matrix
    np.testing.assert_allclose(lr.hat_matrix(P), Q @ Q.T, atol=1e-13)
    np.testing.assert_allclose(lr.hat_matrix(torch.tensor(P)), Q @ Q.T, atol=1e-13)
    for rtol in (0.0, 1.0, -1e-3):
        with pytest.raises(ValueError, match=r"rtol must be in \(0, 1\)"):
            lr.hat_matrix(P, rtol)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_messages():
    P = lr.design_matrix(X4)
    with pytest.raises(ValueError, match=r"same number of rows.*Phi has 4.*y has 3"):
        lr.fit_lstsq(P, Y4[:3])
    with pytest.raises(ValueError, match=r"Phi must be 2-D, got shape \(4,\)"):
        lr.fit_normal_equations(X4, Y4)
    with pytest.raises(ValueError, match=r"y must be finite, got 1 NaN"):
        lr.fit_lstsq(P, np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"Phi must not be empty"):
        lr.fit_lstsq(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"degree must be >= 0, got -1"):
        lr.polynomial_features(X4, -1)
    with pytest.raises(TypeError, match=r"degree must be an int, got float"):
        lr.polynomial_features(X4, 2.0)
    with pytest.raises(ValueError, match=r"x must have shape \(N,\) or \(N, 1\), got \(2, 2\)"):
        lr.polynomial_features(np.ones((2, 2)), 2)
    with pytest.raises(ValueError, match=r"theta must have shape \(2,\).*got \(3,\)"):
        lr.lsq_loss(np.zeros(3), P, Y4)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\).*got \(4, 1\)"):
        lr.lsq_grad(np.zeros(2), P, Y4[:, None])
    with pytest.raises(ValueError, match=r"Phi must be finite"):
        lr.lsq_loss(*_torch(np.zeros(2), np.where(P > 3, np.nan, P), Y4))
    with pytest.raises(ValueError, match=r"lam must be >= 0, got -1"):
        lr.fit_ridge(P, Y4, -1.0)
    with pytest.raises(TypeError, match=r"lam must be a real number, got str"):
        lr.fit_ridge(P, Y4, "1")
    with pytest.raises(ValueError, match=r"x and y must have the same shape, got \(4,\) and"):
        lr.fit_tls(X4, Y4[:2])
    with pytest.raises(ValueError, match=r"fit_tls needs at least 2 points, got 1"):
        lr.fit_tls([1.0], [2.0])
    with pytest.raises(TypeError, match=r"log_sigma must be a real number, got ndarray"):
        lr.gaussian_nll(np.zeros(2), np.zeros(2), P, Y4)
    with pytest.raises(TypeError, match=r"Phi must hold real numbers, got dtype <U"):
        lr.lsq_loss(np.zeros(2), [[1, "a"], [2, 3], [3, 4], [4, 5]], Y4)
    with pytest.raises(ValueError, match=r"eta must be > 0, got 0"):
        lr.fit_gd(P, Y4, 0.0, 10)
    with pytest.raises(TypeError, match=r"digits must be an int, got float"):
        lr.gram_condition(P, digits=30.0)
    with pytest.raises(ValueError, match=r"digits must be <= 150, got 200"):
        lr.gram_condition(P, digits=200)
    with pytest.raises(ValueError, match=r"digits must be >= 16, got 8"):
        lr.gram_condition(P, digits=8)
    with pytest.raises(ValueError, match=r"fit_lstsq: the solution overflows float64"):
        lr.fit_lstsq(np.array([[1e-200]]), np.array([1e200]))
