"""Tests of dlnotes.landscapes: values against independent formulas (SciPy's Rosenbrock,
the functions written out in torch, exact rational arithmetic), gradients and Hessians
against torch autograd and dlnotes.gradcheck, the known minimizers, the quadratic's
spectrum and rotation, saddles, the step counts of chapters 04 and 05, batches, torch
input, extreme magnitudes and bad input."""

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.optimize import rosen, rosen_der, rosen_hess
from torch.autograd.functional import hessian as autograd_hessian

from dlnotes import gradcheck as gc
from dlnotes import landscapes as ls
from dlnotes import matcalc as mc


def _rotation(degrees):
    t = math.radians(degrees)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


_A_QUAD = _rotation(30.0) @ np.diag([1.0, 7.0]) @ _rotation(30.0).T
_C_QUAD = np.array([0.5, -1.0])

# name -> (landscape, the same function written out with torch operations on x and y).
CASES = {
    "quadratic": (ls.quadratic(7.0, 30.0, center=_C_QUAD),
                  lambda x, y: 0.5 * (torch.stack([x - 0.5, y + 1.0])
                                      @ torch.tensor(_A_QUAD) @ torch.stack([x - 0.5, y + 1.0]))),
    "rosenbrock": (ls.rosenbrock(), lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    "rosenbrock-a-b": (ls.rosenbrock(-1.5, 3.0),
                       lambda x, y: (-1.5 - x) ** 2 + 3 * (y - x**2) ** 2),
    "beale": (ls.beale(), lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
              + (2.625 - x + x * y**3) ** 2),
    "himmelblau": (ls.himmelblau(), lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2),
    "saddle": (ls.saddle(), lambda x, y: 0.5 * (x**2 - y**2)),
    "monkey": (ls.saddle("monkey"), lambda x, y: x**3 - 3 * x * y**2),
    "linear_net": (ls.saddle("linear_net"), lambda x, y: (1 - x * y) ** 2),
}
ALL = [case[0] for case in CASES.values()] + [
    ls.quadratic(eigenvalues=[0.5, 2.0, 8.0], angle=-20.0, center=[1.0, 2.0, 3.0])]


def _reference(name):
    f = CASES[name][1]
    return lambda v: f(v[0], v[1])


def _close(got, want, rtol=1e-10):
    """Entries agree to ``rtol`` of the largest entry (cancellation makes small ones noisy)."""
    want = np.asarray(want, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * (1 + np.max(np.abs(want))))


def _in_window(L, fractions):
    """A point inside 1.2 times L's suggested window, at the given fractions (-1..1)."""
    return np.array([(lo + hi) / 2 + 0.6 * (hi - lo) * f for (lo, hi), f in zip(L.bounds,
                                                                                fractions)])


# --- values, gradients and Hessians against independent references ---------------------


@given(name=st.sampled_from(list(CASES)), fractions=st.lists(st.floats(-1, 1), min_size=2,
                                                             max_size=2))
def test_value_grad_hessian_match_torch_autograd(name, fractions):
    L, _ = CASES[name]
    x = _in_window(L, fractions)
    ref = _reference(name)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = ref(t)
    (grad,) = torch.autograd.grad(value, t)
    _close(L.value(x), value.item(), 1e-12)
    _close(L.grad(x), grad.numpy())
    _close(L.hessian(x), autograd_hessian(ref, t.detach()).numpy())
    # The torch version is differentiable, and autograd of it agrees with L.grad.
    (own,) = torch.autograd.grad(L.value(t), t)
    _close(own.numpy(), L.grad(x))


@given(points=st.lists(st.lists(st.floats(-3, 3), min_size=2, max_size=2), min_size=1,
                       max_size=5))
def test_rosenbrock_matches_scipy(points):
    L = ls.rosenbrock()
    for p in np.array(points):
        _close(L.value(p), rosen(p), 1e-13)
        _close(L.grad(p), rosen_der(p), 1e-12)
        _close(L.hessian(p), rosen_hess(p), 1e-12)


@pytest.mark.parametrize("L", ALL, ids=lambda L: L.name)
def test_gradcheck_passes_right_derivatives_and_fails_a_wrong_one(L):
    gen = np.random.default_rng(1)
    for _ in range(3):
        x = _in_window(L, gen.uniform(-1, 1, L.dim))
        size = np.linalg.norm(L.grad(x))
        assert size > 1e-3  # clear of critical points, where checks are noisy
        result = gc.check_grad(L, L.grad, x, f_torch=L)
        assert result.passed, (L.name, x, str(result))
        assert gc.rel_error(gc.numerical_hessian(L.grad, x), L.hessian(x)) < 1e-7
        flipped = L.grad(x) * np.where(np.arange(L.dim) == 0, -1.0, 1.0)
        if abs(L.grad(x)[0]) > 1e-3 * size:
            assert not gc.check_grad(L, flipped, x).passed


def test_known_values():
    assert ls.beale().value([0, 0]) == 1.5**2 + 2.25**2 + 2.625**2
    assert ls.himmelblau().value([0, 0]) == 11**2 + 7**2
    assert ls.rosenbrock().value([-1, 1]) == 4
    assert ls.saddle().value([3, 1]) == 4
    assert ls.saddle("monkey").value([1, 1]) == -2
    assert ls.saddle("linear_net").value([2, 2]) == 9
    assert ls.quadratic(50).value([-10, 1]) == 75  # 1/2 (100 + 50)


# --- minimizers and saddles -----------------------------------------------------------------


@pytest.mark.parametrize("L", [L for L in ALL if len(L.minimizers)], ids=lambda L: L.name)
def test_minimizers_are_strict_minima(L):
    assert L.minimizers.shape[1] == L.dim
    for m in L.minimizers:
        assert L.value(m) <= 1e-29
        assert np.linalg.norm(L.grad(m)) <= 1e-13
        H = L.hessian(m)
        assert mc.classify_stationary(H) == "minimum"
        assert np.linalg.eigvalsh(H).min() > 0.1
        for (lo, hi), mi in zip(L.bounds, m):
            assert lo < mi < hi  # the suggested window shows every minimizer


def test_exact_minimizers_have_exactly_zero_value_and_gradient():
    for L in (ls.quadratic(50, 30, center=[1.5, -2]), ls.rosenbrock(), ls.rosenbrock(0.3, 7),
              ls.beale(), ls.himmelblau()):
        m = L.minimizers[0]
        assert L.value(m) == 0 and np.all(L.grad(m) == 0), L.name
    assert len(ls.himmelblau().minimizers) == 4
    np.testing.assert_array_equal(ls.rosenbrock(-2, 5).minimizers, [[-2, 4]])


def test_minimizers_are_read_only_and_landscapes_frozen():
    L = ls.beale()
    with pytest.raises(ValueError, match="read-only"):
        L.minimizers[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        L.name = "other"


@pytest.mark.parametrize("kind, eigenvalues", [("quadratic", [-1.0, 1.0]),
                                               ("linear_net", [-2.0, 2.0])])
def test_saddles_have_zero_gradient_and_an_indefinite_hessian_at_the_origin(kind, eigenvalues):
    L = ls.saddle(kind)
    assert L.minimizers.shape == (0, 2)
    np.testing.assert_array_equal(L.grad([0.0, 0.0]), [0.0, 0.0])
    H = L.hessian([0.0, 0.0])
    np.testing.assert_array_equal(np.linalg.eigvalsh(H), eigenvalues)
    assert mc.classify_stationary(H) == "saddle"
    down, up = ([0.0, 3.0], [3.0, 0.0]) if kind == "quadratic" else ([1.0, 1.5], [1.0, -1.5])
    assert L.value(down) < L.value([0.0, 0.0]) < L.value(up)


def test_monkey_saddle_is_degenerate_and_the_linear_net_has_a_valley_of_minima():
    L = ls.saddle("monkey")
    np.testing.assert_array_equal(L.hessian([0.0, 0.0]), np.zeros((2, 2)))
    assert mc.classify_stationary(L.hessian([0.0, 0.0])) == "undecided"
    assert L.value([-1.0, 0.0]) < 0 < L.value([1.0, 0.0])
    net = ls.saddle("linear_net")
    for a in (0.5, 2.0, -4.0):  # ab = 1: zero loss, zero gradient, a flat direction
        assert net.value([a, 1 / a]) < 1e-30
        assert np.linalg.eigvalsh(net.hessian([a, 1 / a]))[0] == pytest.approx(0, abs=1e-12)


def test_gradient_descent_escapes_the_saddle_geometrically_and_newton_lands_on_it():
    L, eta = ls.saddle(), 0.1
    x = np.array([1.0, 1e-6])
    for t in range(1, 101):
        x = x - eta * L.grad(x)
        assert abs(x[1]) == pytest.approx(1.1**t * 1e-6, rel=1e-12)
        assert abs(x[0]) == pytest.approx(0.9**t, rel=1e-12)
    for start in ([0.3, -2.0], [5.0, 7.0]):
        start = np.array(start)
        newton = start - np.linalg.solve(L.hessian(start), L.grad(start))
        np.testing.assert_array_equal(newton, [0.0, 0.0])


# --- the quadratic bowl: spectrum, rotation, chapter numbers --------------------------------


@given(log_kappa=st.floats(0, 8), angle=st.floats(-720, 720),
       center=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2))
def test_quadratic_has_the_requested_condition_number_and_rotation(log_kappa, angle, center):
    kappa = 10.0**log_kappa
    L = ls.quadratic(kappa, angle, center=center)
    H = L.hessian(np.zeros(2))
    np.testing.assert_array_equal(H, H.T)
    lam, vec = np.linalg.eigh(H)
    slack = 8 * np.finfo(float).eps * kappa  # rounding of Q diag(lam) Q^T, relative to kappa
    assert abs(lam[0] - 1) <= slack and abs(lam[1] - kappa) <= slack
    if kappa > 1.01:  # the shallow eigenvector points along the angle
        direction = [math.cos(math.radians(angle)), math.sin(math.radians(angle))]
        assert abs(vec[:, 0] @ direction) == pytest.approx(1, abs=1e-9)
    np.testing.assert_array_equal(L.minimizers, [center])
    assert L.value(center) == 0


@pytest.mark.parametrize("angle, diagonal", [(0, [1, 9]), (90, [9, 1]), (-270, [9, 1]),
                                             (180, [1, 9]), (720, [1, 9])])
def test_quadratic_at_right_angles_is_exactly_diagonal(angle, diagonal):
    np.testing.assert_array_equal(ls.quadratic(9, angle).hessian([0.3, 0.1]), np.diag(diagonal))


def test_quadratic_in_n_dimensions_from_eigenvalues():
    lam = [0.5, 2.0, 8.0, 32.0]
    L = ls.quadratic(eigenvalues=lam, angle=30.0, center=[1, 2, 3, 4])
    assert L.dim == 4 and len(L.bounds) == 4
    H = L.hessian(np.zeros(4))
    np.testing.assert_allclose(np.linalg.eigvalsh(H), lam, rtol=1e-14)
    np.testing.assert_array_equal(H[2:, 2:], np.diag([8.0, 32.0]))  # rotation in the (1, 2)
    np.testing.assert_array_equal(H[:2, 2:], 0)                      # plane only
    np.testing.assert_allclose(H[:2, :2], _rotation(30) @ np.diag([0.5, 2]) @ _rotation(30).T,
                               rtol=1e-14)
    x = np.array([0.0, 1.0, -1.0, 2.0])
    d = x - [1, 2, 3, 4]
    assert L.value(x) == pytest.approx(0.5 * d @ H @ d, rel=1e-14)
    one = ls.quadratic(eigenvalues=[3.0])
    assert one.dim == 1 and one.value([2.0]) == 6 and one.grad([2.0]).tolist() == [6.0]
    assert ls.quadratic().hessian([0, 0]).tolist() == [[1, 0], [0, 10]]  # default kappa 10


def _gd_steps(L, x, eta, tol):
    for t in range(100_000):
        if L.value(x) < tol:
            return t
        x = x - eta * L.grad(x)
    return None


def test_gradient_descent_step_counts_of_chapters_04_and_05():
    bowl = ls.quadratic(10)
    assert [_gd_steps(bowl, np.ones(2), eta, 1e-10) for eta in (0.01, 0.1, 0.19)] == \
        [1112, 106, 117]
    with pytest.raises(ValueError, match="overflows float64"):  # 0.21 > 2 / 10 diverges
        _gd_steps(bowl, np.ones(2), 0.21, 1e-10)
    running = np.array([-10.0, 1.0])
    assert _gd_steps(ls.quadratic(50), running, 1 / 50, 1e-6) == 439
    assert _gd_steps(ls.quadratic(50), running, 2 / 51, 1e-6) == 227
    # Rotating the bowl by 45 degrees, keeping the start: 417 steps (counter-clockwise).
    assert _gd_steps(ls.quadratic(50, 45), running, 1 / 50, 1e-6) == 417
    # Rotating the start as well leaves gradient descent unchanged.
    assert _gd_steps(ls.quadratic(50, 45), _rotation(45) @ running, 1 / 50, 1e-6) == 439


# --- batches, kinds of input, torch ------------------------------------------------------


@pytest.mark.parametrize("L", ALL, ids=lambda L: L.name)
def test_batches_of_points_give_the_pointwise_results(L):
    grid = np.random.default_rng(2).uniform(-2, 2, (3, 4, L.dim))
    value, grad, hess = L.value(grid), L.grad(grid), L.hessian(grid)
    assert value.shape == (3, 4) and grad.shape == grid.shape
    assert hess.shape == (3, 4, L.dim, L.dim)
    for i in np.ndindex(3, 4):  # equal up to the rounding of batched matrix products
        np.testing.assert_allclose(value[i], L.value(grid[i]), rtol=1e-15)
        np.testing.assert_allclose(grad[i], L.grad(grid[i]), rtol=1e-15, atol=1e-15)
        np.testing.assert_array_equal(hess[i], L.hessian(grid[i]))
    hess[0, 0] = 0  # every call gives a fresh writeable array
    assert np.any(L.hessian(grid)[0, 0] != 0)
    empty = np.empty((0, L.dim))
    assert L.value(empty).shape == (0,) and L.hessian(empty).shape == (0, L.dim, L.dim)


def test_lists_ints_and_single_points():
    L = ls.himmelblau()
    v = L.value([3, 2])
    assert isinstance(v, np.float64) and v == 0
    assert L.grad([[3, 2], [0, 0]]).dtype == np.float64
    assert L(np.array([0, 0])) == L.value([0.0, 0.0]) == 170
    assert L.value(torch.tensor([0, 0])).dtype == torch.float64


@pytest.mark.parametrize("L", ALL, ids=lambda L: L.name)
def test_torch_input_keeps_dtype_and_agrees_with_numpy(L):
    x = np.random.default_rng(3).uniform(-1, 1, (5, L.dim))
    for dtype, rtol in ((torch.float64, 1e-13), (torch.float32, 1e-4)):
        t = torch.tensor(x, dtype=dtype)
        for method in (L.value, L.grad, L.hessian):
            out = method(t)
            assert isinstance(out, torch.Tensor) and out.dtype == dtype
            _close(out.double().numpy(), method(x), rtol)
    t = torch.tensor(x[0], requires_grad=True)
    H = autograd_hessian(L.value, t.detach())
    _close(L.hessian(t).detach().numpy(), H.numpy())


def test_torch_optimizers_can_minimize_a_landscape():
    L = ls.quadratic(10, 30)
    theta = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.05)
    x = np.array([1.0, 1.0])
    for _ in range(50):
        opt.zero_grad()
        L.value(theta).backward()
        opt.step()
        x = x - 0.05 * L.grad(x)
    np.testing.assert_allclose(theta.detach().numpy(), x, rtol=1e-12)
    beale = ls.beale()
    theta = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        beale(theta).backward()
        opt.step()
    np.testing.assert_allclose(theta.detach().numpy(), [3.0, 0.5], atol=1e-3)


@pytest.mark.cuda
def test_cuda_matches_cpu():
    dev = torch.device("cuda")
    for L in ALL:
        x = np.random.default_rng(4).uniform(-1, 1, (6, L.dim))
        t = torch.tensor(x, device=dev, requires_grad=True)
        for method in (L.value, L.grad, L.hessian):
            out = method(t)
            assert out.device.type == "cuda"
            _close(out.detach().cpu().numpy(), method(x), 1e-12)
        (g,) = torch.autograd.grad(L.value(t).sum(), t)
        _close(g.cpu().numpy(), L.grad(x), 1e-12)


# --- extreme magnitudes ------------------------------------------------------------------


def test_results_stay_finite_where_the_function_is_representable():
    bowl = ls.quadratic(eigenvalues=[1e-300, 1.0])
    assert bowl.value([1e200, 0.0]) == pytest.approx(0.5e100, rel=1e-15)  # z^2 alone: 1e400
    np.testing.assert_allclose(bowl.grad([1e200, 0.0]), [1e-100, 0.0], rtol=1e-15)
    assert ls.quadratic(1e300).value([0.0, 1e-150]) == pytest.approx(0.5, rel=1e-15)
    s = ls.saddle()
    assert s.value([1e200, 1e200]) == 0 and s.value([1e308, -1e308]) == 0
    assert s.value([1e154, 1e153]) == pytest.approx(0.5 * (1e308 - 1e306), rel=1e-15)
    r = ls.rosenbrock()
    assert r.value([1e100, 1e200]) == pytest.approx(1e200, rel=1e-15)  # on the valley floor
    assert np.all(np.isfinite(r.grad([1e100, 1e200])))
    np.testing.assert_allclose(r.hessian([1e100, 1e200]),
                               [[8e202, -4e102], [-4e102, 200]], rtol=1e-15)
    tiny = ls.rosenbrock(b=1e-300)
    assert tiny.value([1.0, 1e200]) == pytest.approx(1e100, rel=1e-14)  # b r^2, r^2 = 1e400
    for L in ALL:
        x = np.full(L.dim, 1e-150)
        assert np.all(np.isfinite(L.hessian(x))) and np.isfinite(L.value(x))


def _exact(L, x):
    """The value at the float point x in exact rational arithmetic, and a bound on the
    size of the terms (what rounding errors are relative to)."""
    u, v = (Fraction(float(c)) for c in x)
    if L.name.startswith("Rosenbrock"):
        size = (1 + abs(u)) ** 2 + 100 * (abs(v) + u * u) ** 2
        return (1 - u) ** 2 + 100 * (v - u * u) ** 2, size
    if L.name.startswith("saddle"):
        return (u * u - v * v) / 2, (u * u + v * v) / 2
    lam = (Fraction(1), Fraction(1e6))  # the axis-aligned bowl, exactly
    return (lam[0] * u * u + lam[1] * v * v) / 2, (lam[0] * u * u + lam[1] * v * v) / 2


@given(name=st.sampled_from(["rosenbrock", "saddle", "bowl"]),
       exponents=st.lists(st.integers(-160, 160), min_size=2, max_size=2),
       mantissas=st.lists(st.floats(-10, 10), min_size=2, max_size=2))
def test_values_at_every_magnitude_match_exact_arithmetic_or_refuse(name, exponents, mantissas):
    L = {"rosenbrock": ls.rosenbrock(), "saddle": ls.saddle(), "bowl": ls.quadratic(1e6)}[name]
    x = np.array(mantissas) * 10.0 ** np.array(exponents)
    exact, size = _exact(L, x)
    if size > Fraction(1e300):  # the terms overflow: an error that says so, never inf or NaN
        try:
            got = L.value(x)
        except ValueError as err:
            assert "overflows float64" in str(err)
            return
        assert np.isfinite(got)
        assert abs(Fraction(float(got)) - exact) <= Fraction(1e-13) * size
        return
    got = L.value(x)
    assert abs(Fraction(float(got)) - exact) <= Fraction(1e-13) * size + Fraction(1e-300)


@given(name=st.sampled_from(list(CASES)),
       exponents=st.lists(st.integers(-150, 150), min_size=2, max_size=2),
       signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=2, max_size=2))
def test_never_inf_or_nan_and_autograd_agrees_where_finite(name, exponents, signs):
    L, _ = CASES[name]
    x = np.array(signs) * 10.0 ** np.array(exponents) * np.array([1.3, 0.7])
    for method in (L.value, L.grad, L.hessian):
        try:
            out = method(x)
        except ValueError as err:
            assert "overflows float64" in str(err)
            continue
        assert np.all(np.isfinite(out))
    t = torch.tensor(x, requires_grad=True)
    value = _reference(name)(t)
    (grad,) = torch.autograd.grad(value, t)
    assume(torch.isfinite(grad).all() and torch.isfinite(value))
    # The written-out formula suffers cancellation at large |x|: compare to 1e-6 of the terms.
    _close(L.grad(x), grad.numpy(), 1e-6)


def test_overflow_is_an_error_naming_the_landscape_and_dtype():
    with pytest.raises(ValueError, match=r"the value of 'Rosenbrock \(a = 1, b = 100\)' "
                                         r"overflows float64 .* max \|x\| = 1.0e\+200"):
        ls.rosenbrock().value([1e200, 0.0])
    with pytest.raises(ValueError, match="the Hessian of 'Beale' overflows float64"):
        ls.beale().hessian([1e100, 1e100])
    with pytest.raises(ValueError, match="the gradient of 'Himmelblau' overflows float64"):
        ls.himmelblau().grad([1e200, -1e200])
    with pytest.raises(ValueError, match="overflows float32"):
        ls.quadratic(10).value(torch.tensor([1e20, 0.0]))  # 5e39 > 3.4e38


# --- bad input ---------------------------------------------------------------------------


BAD = [
    (ls.quadratic, dict(kappa=0.5), ValueError, r"kappa must be >= 1 \(the largest eigenvalue"),
    (ls.quadratic, dict(kappa=np.nan), ValueError, "kappa must be finite, got nan"),
    (ls.quadratic, dict(kappa=np.inf), ValueError, "kappa must be finite, got inf"),
    (ls.quadratic, dict(kappa="10"), TypeError, "kappa must be a real number, got str"),
    (ls.quadratic, dict(kappa=True), TypeError, "kappa must be a real number, got bool"),
    (ls.quadratic, dict(kappa=1j), TypeError, "kappa must be a real number, got complex"),
    (ls.quadratic, dict(kappa=10.0, eigenvalues=[1.0, 10.0]), ValueError,
     "pass kappa or eigenvalues, not both"),
    (ls.quadratic, dict(eigenvalues=[1.0, -1.0]), ValueError,
     r"eigenvalues must all be > 0 .* got smallest -1.0"),
    (ls.quadratic, dict(eigenvalues=[1.0, 0.0]), ValueError, "eigenvalues must all be > 0"),
    (ls.quadratic, dict(eigenvalues=[]), ValueError, "eigenvalues must not be empty"),
    (ls.quadratic, dict(eigenvalues=[[1.0, 2.0]]), ValueError, "eigenvalues must be 1-D"),
    (ls.quadratic, dict(eigenvalues=[1.0, np.nan]), ValueError, "eigenvalues must be finite"),
    (ls.quadratic, dict(eigenvalues="12"), TypeError, "eigenvalues must be an array"),
    (ls.quadratic, dict(eigenvalues=[2.0], angle=30.0), ValueError,
     r"angle must be 0 for a 1-D bowl"),
    (ls.quadratic, dict(angle=np.inf), ValueError, "angle must be finite"),
    (ls.quadratic, dict(angle="45"), TypeError, "angle must be a real number, got str"),
    (ls.quadratic, dict(angle=None), TypeError, "angle must be a real number, got NoneType"),
    (ls.quadratic, dict(center=[1.0, 2.0, 3.0]), ValueError,
     r"center must have shape \(2,\), one entry per eigenvalue, got shape \(3,\)"),
    (ls.quadratic, dict(center=1.0), ValueError, r"center must be 1-D, got shape \(\)"),
    (ls.quadratic, dict(center="ab"), TypeError, "center must be an array of numbers"),
    (ls.quadratic, dict(center=[0.0, np.nan]), ValueError, "center must be finite"),
    (ls.rosenbrock, dict(b=0.0), ValueError, "b must be > 0, got 0.0"),
    (ls.rosenbrock, dict(b=-100.0), ValueError, "b must be > 0"),
    (ls.rosenbrock, dict(b=None), TypeError, "b must be a real number"),
    (ls.rosenbrock, dict(a=1e200), ValueError, r"a must satisfy \|a\| <= 1.34e\+154"),
    (ls.rosenbrock, dict(a=np.nan), ValueError, "a must be finite"),
    (ls.rosenbrock, dict(a="1"), TypeError, "a must be a real number, got str"),
    (ls.saddle, dict(kind="hyperbolic"), ValueError,
     "kind must be one of 'quadratic', 'monkey', 'linear_net', got 'hyperbolic'"),
    (ls.saddle, dict(kind=None), ValueError, "kind must be one of"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_constructor_arguments_are_refused_by_name(fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)


BAD_X = [
    ([1.0, 2.0, 3.0], ValueError,
     r"x must have shape \(2,\) \(one point\) or \(\.\.\., 2\) .* got shape \(3,\)"),
    (np.ones((4, 3)), ValueError, r"x must have shape .* got shape \(4, 3\)"),
    (1.0, ValueError, r"x must have shape .* got shape \(\)"),
    (np.ones(0), ValueError, r"got shape \(0,\)"),
    ([1.0, np.nan], ValueError, "x must be finite, got 1 NaN/inf entries"),
    (np.array([np.inf, 0.0]), ValueError, "x must be finite"),
    (torch.tensor([1.0, np.nan]), ValueError, "x must be finite, got NaN or inf entries"),
    ("ab", TypeError, "x must be an array of numbers, got str"),
    (None, TypeError, "x must be an array of numbers, got NoneType"),
    ([[1.0, 2.0], [3.0]], TypeError, "x must be an array of numbers, got list"),
    (np.array([1.0, 2.0]) * 1j, TypeError, "x must hold real numbers, got dtype complex128"),
    (torch.ones(2, dtype=torch.complex64), TypeError, "x must hold real numbers"),
    (np.array(["a", "b"]), TypeError, "x must hold real numbers"),
]


@pytest.mark.parametrize("method", ["value", "grad", "hessian", "__call__"])
@pytest.mark.parametrize("x, error, match", BAD_X)
def test_bad_points_are_refused_by_name(method, x, error, match):
    with pytest.raises(error, match=match):
        getattr(ls.rosenbrock(), method)(x)


def test_wrong_dimension_names_the_landscape():
    with pytest.raises(ValueError, match=r"for the 3-D landscape 'quadratic bowl "
                                         r"\(eigenvalues 1, 2, 3, angle 0°\)', got shape \(2,\)"):
        ls.quadratic(eigenvalues=[1, 2, 3]).grad([1.0, 2.0])
