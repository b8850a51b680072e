"""Tests of dlnotes.linreg: the facts of chapter 01, section 7, and bad input."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar

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


def test_gaussian_nll_matches_scipy_norm_logpdf():
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


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_messages():
    P = lr.design_matrix(X4)
    with pytest.raises(ValueError, match=r"same number of rows.*Phi has 4.*y has 3"):
        lr.fit_lstsq(P, Y4[:3])
    with pytest.raises(ValueError, match=r"Phi must be 2-D, got shape \(4,\)"):
        lr.fit_normal_equations(X4, Y4)
    with pytest.raises(ValueError, match=r"y must be finite, got 1 NaN"):
        lr.fit_lstsq(P, np.array([1.0, np.nan, 2.0, 3.0]))
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
    with pytest.raises(ValueError, match=r"lam must be a finite number >= 0, got -1"):
        lr.fit_ridge(P, Y4, -1.0)
    with pytest.raises(ValueError, match=r"x and y must have the same shape, got \(4,\) and"):
        lr.fit_tls(X4, Y4[:2])
    with pytest.raises(ValueError, match=r"vertical"):
        lr.fit_tls(np.ones(4), Y4)
    with pytest.raises(ValueError, match=r"log_sigma must be a scalar, got shape \(2,\)"):
        lr.gaussian_nll(np.zeros(2), np.zeros(2), P, Y4)
    with pytest.raises(TypeError, match=r"Phi must be a NumPy array or torch tensor, got list"):
        lr.lsq_loss(np.zeros(2), P.tolist(), Y4)
    with pytest.raises(ValueError, match=r"eta must be a positive finite number, got 0"):
        lr.fit_gd(P, Y4, 0.0, 10)
