"""Tests of dlnotes.gradcheck: the facts of chapter 02, section 7, that concern
numerical derivatives, plus relative steps, layout conversion and bad input
(every parameter of every public function). The catalogue of wrong derivatives
is in test_gradcheck_catalogue.py."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlnotes import gradcheck as gc

FINITE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


# Fact 1: gradient of a linear function.
def test_linear_gradient_is_a(rng):
    a, x = rng.standard_normal(7), rng.standard_normal(7)
    np.testing.assert_allclose(gc.numerical_grad(lambda v: a @ v, x), a, atol=1e-8)


# Fact 2: quadratic form, and the wrong candidates rejected.
def test_quadratic_form_gradient_and_wrong_candidates(rng):
    A, x = rng.standard_normal((5, 5)), rng.standard_normal(5)
    fd = gc.numerical_grad(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(fd, (A + A.T) @ x, atol=1e-7)
    assert np.linalg.norm(A @ x - fd) > 1e-2
    assert np.linalg.norm(A.T @ x - fd) > 1e-2


# Fact 3: scalar by matrix, and to_numerator as an exact transpose.
def test_bilinear_gradient_and_numerator_layout(rng):
    z, x, A = rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal((3, 4))
    fd = gc.numerical_grad(lambda M: z @ M @ x, A)
    assert fd.shape == (3, 4)
    np.testing.assert_allclose(fd, np.outer(z, x), atol=1e-7)
    num = gc.to_numerator(fd, in_ndim=2)
    assert num.shape == (4, 3)
    np.testing.assert_array_equal(num, fd.T)


# Fact 4: denominator layout means the shape of the variable.
@pytest.mark.parametrize("shape", [(4,), (3, 2), (2, 3, 2)])
def test_numerical_grad_has_shape_of_variable(rng, shape):
    x = rng.standard_normal(shape)
    g = gc.numerical_grad(lambda v: np.sum(np.sin(v)), x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, np.cos(x), atol=1e-8)


@pytest.mark.parametrize("shape", [(4,), (3, 2), (2, 3, 2)])
def test_torch_grad_has_shape_of_parameter(shape):
    p = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0),
                    requires_grad=True)
    (p**2).sum().backward()
    assert p.grad.shape == p.shape
    np.testing.assert_allclose(gc.autograd_grad(lambda t: (t**2).sum(), p), 2 * p.detach())


# Fact 5: the first-order remainder is second order.
def test_taylor_error_is_second_order(rng):
    x, d = rng.standard_normal(4), rng.standard_normal(4)

    def f(v):
        return np.sum(np.sin(v)) + v[0] * v[1] ** 2

    def grad(v):
        g = np.cos(v)
        g[0] += v[1] ** 2
        g[1] += 2 * v[0] * v[1]
        return g

    ts = np.logspace(-4, -1, 7)
    ratio = gc.taylor_error(f, grad(x), x, d, ts) / ts**2
    assert ratio.max() / ratio.min() < 10
    # A wrong gradient leaves a first-order remainder: the ratio blows up.
    bad = gc.taylor_error(f, grad(x) + 0.1, x, d, ts) / ts**2
    assert bad.max() / bad.min() > 100


# Fact 6: finite-difference Jacobians in both layouts, against torch.
def test_jacobian_of_linear_map_is_W(rng):
    W, x = rng.standard_normal((3, 5)), rng.standard_normal(5)
    J = gc.numerical_jacobian(lambda v: W @ v, x)
    assert J.shape == (3, 5)
    np.testing.assert_allclose(J, W, atol=1e-8)
    D = gc.numerical_jacobian(lambda v: W @ v, x, layout="denominator")
    np.testing.assert_allclose(D, W.T, atol=1e-8)


def test_jacobian_matches_torch_for_matrix_input(rng):
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    fd = gc.numerical_jacobian(lambda M: np.tanh(M @ x), W)
    ag = torch.autograd.functional.jacobian(lambda M: torch.tanh(M @ torch.tensor(x)),
                                            torch.tensor(W))
    assert fd.shape == tuple(ag.shape) == (3, 3, 4)
    np.testing.assert_allclose(fd, ag.numpy(), atol=1e-8)
    den = gc.numerical_jacobian(lambda M: np.tanh(M @ x), W, layout="denominator")
    assert den.shape == (3, 4, 3)
    np.testing.assert_array_equal(den, gc.to_denominator(fd, in_ndim=2))


# Fact 7: chain rule in denominator layout, factor nearest the output on the right.
def test_chain_rule_denominator_order(rng):
    A, B, x = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), rng.standard_normal(4)
    y = np.tanh(A @ x)
    dy_dx = gc.numerical_jacobian(lambda v: np.tanh(A @ v), x, layout="denominator")  # 4x3
    dz_dy = gc.numerical_jacobian(lambda u: B @ u, y, layout="denominator")  # 3x2
    dz_dx = gc.numerical_jacobian(lambda v: B @ np.tanh(A @ v), x, layout="denominator")
    np.testing.assert_allclose(dy_dx @ dz_dy, dz_dx, atol=1e-7)


# Fact 13: Hessians by differences of the gradient.
def test_hessian_of_quadratic_form_and_least_squares(rng):
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    H = gc.numerical_hessian(lambda v: (A + A.T) @ v, x)
    np.testing.assert_allclose(H, A + A.T, atol=1e-5)
    np.testing.assert_allclose(H, H.T, atol=1e-6)
    Phi, y = rng.standard_normal((10, 3)), rng.standard_normal(10)
    H2 = gc.numerical_hessian(lambda t: Phi.T @ (Phi @ t - y), rng.standard_normal(3))
    np.testing.assert_allclose(H2, Phi.T @ Phi, atol=1e-5)


# Fact 14: central differences are exact for quadratics, whatever h.
@pytest.mark.parametrize("h", [1e-4, 1e-3, 1e-2, 1e-1])
def test_central_difference_exact_on_quadratics(rng, h):
    A, b, x = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    fd = gc.numerical_grad(lambda v: v @ A @ v + b @ v, x, h=h)
    exact = (A + A.T) @ x + b
    assert np.max(np.abs(fd - exact)) < 1e-9 * max(1.0, np.abs(exact).max()) / h


def test_one_sided_would_not_be_exact(rng):
    # Guard for the test above: a step that large does move a cubic's derivative.
    x = rng.standard_normal(3)
    fd = gc.numerical_grad(lambda v: np.sum(v**3), x, h=1e-1)
    assert np.max(np.abs(fd - 3 * x**2)) > 1e-3


# Fact 15: rel_error.
@given(arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=FINITE),
       arrays(np.float64, array_shapes(max_dims=3, max_side=4), elements=FINITE))
@settings(max_examples=60, deadline=None)
def test_rel_error_symmetric(a, b):
    if a.shape == b.shape:
        assert gc.rel_error(a, b) == gc.rel_error(b, a)
        assert 0 <= gc.rel_error(a, b) <= 2


@given(arrays(np.float64, st.integers(1, 6), elements=FINITE))
def test_rel_error_zero_for_identical(a):
    assert gc.rel_error(a, a.copy()) == 0.0


def test_rel_error_values():
    assert gc.rel_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(np.sqrt(2))
    assert gc.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gc.rel_error(torch.ones(2), np.ones(2)) == 0.0


# Layout conversion round trips.
@given(st.data())
@settings(max_examples=40, deadline=None)
def test_layout_round_trip(data):
    shape = data.draw(array_shapes(min_dims=1, max_dims=4, max_side=3))
    in_ndim = data.draw(st.integers(0, len(shape)))
    J = np.arange(np.prod(shape), dtype=float).reshape(shape)
    np.testing.assert_array_equal(gc.to_numerator(gc.to_denominator(J, in_ndim), in_ndim), J)
    np.testing.assert_array_equal(gc.to_denominator(gc.to_numerator(J, in_ndim), in_ndim), J)


def test_to_denominator_moves_output_axes_last():
    J = np.zeros((2, 3, 4, 5))  # out (2, 3), in (4, 5)
    assert gc.to_denominator(J, in_ndim=2).shape == (4, 5, 2, 3)
    assert gc.to_numerator(np.zeros((4, 5, 2, 3)), in_ndim=2).shape == (2, 3, 4, 5)


# check_grad and directional_check: pass on right gradients, fail on wrong ones.
def test_check_grad_passes_and_fails(rng):
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)

    def f(v):
        return v @ A @ v

    def f_t(v):
        return v @ torch.tensor(A) @ v

    good = gc.check_grad(f, lambda v: (A + A.T) @ v, x, f_torch=f_t)
    assert good.passed and good.fd_error < 1e-8 and good.autograd_error < 1e-12
    assert str(good).startswith("PASS")
    bad = gc.check_grad(f, A @ x, x, f_torch=f_t)
    assert not bad.passed and bad.fd_error > 1e-2 and str(bad).startswith("FAIL")


def test_directional_check(rng):
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    assert gc.directional_check(lambda v: v @ A @ v, (A + A.T) @ x, x) < 1e-7
    assert gc.directional_check(lambda v: v @ A @ v, A @ x, x) > 1e-2


def test_step_size_study():
    hs = np.logspace(-1, -12, 23)
    e64 = gc.step_size_errors(np.sin, np.cos, 1.0, hs, np.float64)
    e32 = gc.step_size_errors(np.sin, np.cos, 1.0, hs, np.float32)
    assert 1e-7 <= hs[e64.argmin()] <= 1e-4 and e64.min() < 1e-10
    assert 1e-3 <= hs[e32.argmin()] <= 1e-1 and 1e-7 < e32.min() < 1e-4
    assert e64[0] > 1e-4 and e64[-1] > 1e-6  # both arms of the V


# Bad input: clear errors naming what was expected and what was received.
def test_numerical_grad_rejects_vector_valued_f():
    with pytest.raises(ValueError, match=r"must return a scalar.*shape \(3,\)"):
        gc.numerical_grad(lambda v: 2 * v, np.ones(3))


@pytest.mark.parametrize("h", [0, -1e-3, float("nan"), float("inf")])
def test_non_positive_step_rejected(h):
    with pytest.raises(ValueError, match=r"h must be (> 0|finite), got"):
        gc.numerical_grad(np.sum, np.ones(2), h=h)


def test_nan_input_rejected():
    with pytest.raises(ValueError, match=r"x must be finite, got 1 NaN/inf"):
        gc.numerical_grad(np.sum, np.array([1.0, np.nan]))


def test_nan_output_rejected():
    with pytest.raises(ValueError, match=r"f must return finite values, got nan at x \+ step "
                                         r"in entry 0"):
        gc.numerical_grad(lambda v: v[0] * float("nan"), np.array([0.0]))


def test_wrong_layout_string():
    with pytest.raises(ValueError,
                       match=r"layout must be one of 'numerator', 'denominator', got 'rows'"):
        gc.numerical_jacobian(np.sin, np.ones(2), layout="rows")


def test_hessian_needs_vector():
    with pytest.raises(ValueError,
                       match=r"vector \(1-D\) for a Hessian matrix, got shape \(2, 2\)"):
        gc.numerical_hessian(lambda v: v, np.ones((2, 2)))


def test_check_grad_wrong_shape():
    with pytest.raises(ValueError, match=r"shape of x \(3,\).*got \(3, 1\)"):
        gc.check_grad(np.sum, np.ones((3, 1)), np.ones(3))


def test_autograd_grad_needs_scalar():
    with pytest.raises(ValueError, match=r"scalar tensor, got \(2,\)"):
        gc.autograd_grad(lambda t: 2 * t, np.ones(2))


def test_rel_error_bad_input():
    with pytest.raises(ValueError, match=r"same shape, got a \(2,\) and b \(3,\)"):
        gc.rel_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="a must be finite"):
        gc.rel_error(np.array([np.nan]), np.ones(1))


def test_layout_conversion_bad_ndim():
    with pytest.raises(ValueError, match=r"between 0 and 2 .*shape \(2, 3\), got 3"):
        gc.to_numerator(np.zeros((2, 3)), in_ndim=3)
    with pytest.raises(TypeError, match="in_ndim must be an int, got float"):
        gc.to_denominator(np.zeros((2, 3)), in_ndim=1.0)


def test_taylor_error_bad_input():
    with pytest.raises(ValueError, match=r"d must have the shape of x \(2,\), got \(3,\)"):
        gc.taylor_error(np.sum, np.ones(2), np.ones(2), np.ones(3), [0.1])
    with pytest.raises(ValueError, match="positive steps"):
        gc.taylor_error(np.sum, np.ones(2), np.ones(2), np.ones(2), [0.1, -0.1])


def test_step_size_bad_input():
    with pytest.raises(ValueError, match="float32 or float64, got float16"):
        gc.step_size_errors(np.sin, np.cos, 1.0, [1e-3], np.float16)
    with pytest.raises(ValueError, match="relative error is undefined"):
        gc.step_size_errors(np.cos, lambda x: -np.sin(x), 0.0, [1e-3])


def test_jacobian_inconsistent_output_shape():
    with pytest.raises(ValueError, match=r"same shape at every point: \(\) at x"):
        gc.numerical_jacobian(lambda v: v if v[0] != 1 else 1.0, np.ones(2))


def test_directional_check_shape():
    with pytest.raises(ValueError, match=r"grad must have the shape of x \(2,\).*got \(3,\)"):
        gc.directional_check(np.sum, np.ones(3), np.ones(2))


# --- Relative steps: the same verdict at every magnitude (issue 6) -------------------------

def _sq(v):
    return np.sum(v**2)


def _sq_t(t):
    return (t**2).sum()


@pytest.mark.parametrize("scale", [1e-150, 1e-10, 1.0, 1e3, 1e10, 1e150])
def test_check_grad_right_and_wrong_at_every_magnitude(rng, scale):
    x = scale * rng.uniform(0.5, 2, 6)   # at scale 1e3: the floor areas of chapter 01
    right = gc.check_grad(_sq, 2 * x, x, f_torch=_sq_t)
    assert right.passed and right.fd_error < 1e-9, right
    wrong = gc.check_grad(_sq, 2.001 * x, x)
    assert not wrong.passed and wrong.fd_error == pytest.approx(5e-4, rel=1e-3)


def test_steps_are_relative_to_each_entry_and_to_the_size_of_x():
    # A mixed vector: the tiny entry steps by h times the typical size of x, so rounding
    # cannot swamp it, and f sees a change; the huge entry steps by h times itself.
    x = np.array([1e-150, 1.0, 3.0])
    g = gc.numerical_grad(_sq, x)
    assert gc.rel_error(g, 2 * x) < 1e-9
    up, down = gc._shifted(x, 1e-6)
    rms = np.sqrt(np.mean(x**2))
    np.testing.assert_allclose((up - down) / 2, 1e-6 * np.maximum(np.abs(x), rms), rtol=1e-9)


def test_step_is_exactly_representable():
    # The quotient divides by the distance float64 actually moved: with h = 0.3 at x = 1000
    # the points are 1300 and 700 exactly, so f(x) = x gives exactly 1.
    assert gc.numerical_grad(lambda v: v[0], np.array([1000.0]), h=0.3)[0] == 1.0
    g = gc.numerical_grad(lambda v: v[0], np.array([1000.0 + 1e-13]), h=1e-9)
    assert g[0] == 1.0


def test_issue_examples_for_rel_error():
    assert gc.rel_error([1e-170], [3e-170]) == pytest.approx(2 / 3)
    assert gc.rel_error([1e200], [2e200]) == pytest.approx(0.5)
    assert gc.rel_error([1e308, -1e308], [-1e308, 1e308]) == pytest.approx(2.0)
    assert gc.rel_error([1.0, 1e-300], [1.0, 0.0]) > 0


@pytest.mark.parametrize("form", ["list", "int", "0-d", "python float", "tensor",
                                  "tensor requires grad", "float32"])
def test_numerical_grad_accepts_natural_inputs(form):
    base = np.array([1.0, -2.0, 3.0])
    x = {"list": base.tolist(), "int": base.astype(int), "0-d": np.array(2.0),
         "python float": 2.0, "tensor": torch.tensor(base),
         "tensor requires grad": torch.tensor(base, requires_grad=True),
         "float32": base.astype(np.float32)}[form]
    expected = 2 * np.asarray(torch.as_tensor(x).detach(), dtype=np.float64)
    g = gc.numerical_grad(_sq, x)
    assert g.dtype == np.float64 and g.shape == expected.shape
    np.testing.assert_allclose(g, expected, rtol=1e-9)


def test_f_gets_a_fresh_copy():
    # An f that scribbles on its argument must not corrupt later evaluations.
    def f(v):
        out = np.sum(v**2)
        v[...] = 1e6
        return out

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(gc.numerical_grad(f, x), [2.0, 4.0], rtol=1e-9)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_float32_gradient_gets_float32_tolerance(rng):
    x = rng.uniform(0.5, 2, 5).astype(np.float32)
    A = rng.standard_normal((5, 5)).astype(np.float32)
    A64 = A.astype(np.float64)
    result = gc.check_grad(lambda v: v @ A64 @ v, (A + A.T) @ x, x)
    assert result.tol == pytest.approx(100 * np.finfo(np.float32).eps) and result.passed
    assert 1e-9 < result.fd_error < result.tol   # float32 rounding shows, below the mark
    # The same float32 gradient against float64's mark would fail a right answer.
    assert not gc.check_grad(lambda v: v @ A64 @ v, (A + A.T) @ x, x, tol=1e-9).passed
    assert not gc.check_grad(lambda v: v @ A64 @ v, 1.001 * (A + A.T) @ x, x).passed
    t32 = torch.tensor((A + A.T) @ x)
    assert gc.check_grad(lambda v: v @ A64 @ v, t32, x).tol == result.tol


def test_half_precision_gradient_needs_explicit_tol():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=r"grad has machine epsilon .*pass tol explicitly"):
        gc.check_grad(_sq, (2 * x).astype(np.float16), x)
    assert gc.check_grad(_sq, (2 * x).astype(np.float16), x, tol=1e-2).passed


def test_noise_warning_when_f_is_a_large_constant_plus_small_changes():
    x = np.ones(3)
    with pytest.warns(RuntimeWarning, match=r"rounding noise .* \|f\(x\)\| = 1\.000e\+12"):
        result = gc.check_grad(lambda v: 1e12 + np.sum(v**2), 2 * x, x)
    assert not result.passed
    with pytest.warns(RuntimeWarning, match="gradient is \\(nearly\\) zero"):
        gc.check_grad(lambda v: 1 + np.sum((v - 1) ** 4), np.zeros(3), 1 + 1e-7 * x)


def test_no_noise_warning_on_ordinary_checks(rng):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scale in (1e-150, 1.0, 1e150):
            x = scale * rng.standard_normal(20)
            assert gc.check_grad(_sq, 2 * x, x).passed


# --- directional_check ----------------------------------------------------------------------

def test_directional_check_needs_a_direction():
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="n_dirs must be >= 1, got 0"):
        gc.directional_check(_sq, 3 * x, x, n_dirs=0)   # once a perfect score for a wrong one
    with pytest.raises(TypeError, match="n_dirs must be an int, got float"):
        gc.directional_check(_sq, 2 * x, x, n_dirs=2.0)


def test_directional_check_seed_has_one_meaning(rng):
    A, x = rng.standard_normal((6, 6)), rng.standard_normal(6)
    wrong = A @ x

    def f(v):
        return v @ A @ v

    assert gc.directional_check(f, wrong, x, seed=3) == gc.directional_check(f, wrong, x, seed=3)
    assert gc.directional_check(f, wrong, x, seed=3) != gc.directional_check(f, wrong, x, seed=4)
    fresh = [gc.directional_check(f, wrong, x, seed=None) for _ in range(3)]
    assert len(set(fresh)) == 3 and min(fresh) > 1e-2
    assert gc.directional_check(f, (A + A.T) @ x, x, seed=None) < 1e-8
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        gc.directional_check(f, wrong, x, seed=-1)
    with pytest.raises(TypeError, match="seed must be an int, got str"):
        gc.directional_check(f, wrong, x, seed="0")


def test_directional_check_no_false_failure_on_nearly_orthogonal_directions():
    # In 2-D a random direction is often nearly orthogonal to the gradient: its directional
    # derivative is then tiny and its own relative error is mostly rounding noise. Compared
    # as one vector, the directional derivatives pass the right gradient for every seed.
    x = np.array([1.0, 0.5])

    def f(v):
        return 100.0 + np.sum(v**2)   # the constant adds rounding noise

    g = 2 * x
    nearly_orthogonal = 0
    for seed in range(40):
        assert gc.directional_check(f, g, x, seed=seed) < 1e-7
        V = gc._directions(np.random.default_rng(seed), 5, 2)
        nearly_orthogonal += np.sum(np.abs(V @ g) < 0.02 * np.linalg.norm(g))
    assert nearly_orthogonal > 0   # the hard case did occur


def test_directional_check_accepts_callable_grad_and_matrix_variable(rng):
    z, v, W = rng.standard_normal(3), rng.standard_normal(4), 1e100 * rng.standard_normal((3, 4))
    assert gc.directional_check(lambda M: z @ M @ v, lambda M: np.outer(z, v), W) < 1e-8
    assert gc.directional_check(lambda M: z @ M @ v, np.outer(v, z).T * 1.01, W) > 1e-3


# --- taylor_error ---------------------------------------------------------------------------

@pytest.mark.parametrize("k", [-480, 0, 480])
def test_taylor_error_scales_with_x(rng, k):
    # ts are relative steps: for a degree-2 f the remainders scale like |x|**2, exactly so
    # for powers of two, and stay second order at every magnitude.
    x, d, c = rng.standard_normal(4), rng.standard_normal(4), 2.0**k
    ts = np.logspace(-4, -1, 7)
    base = gc.taylor_error(_sq, 2 * x, x, d, ts)
    np.testing.assert_array_equal(gc.taylor_error(_sq, 2 * c * x, c * x, d, ts), c**2 * base)
    # For sum(x**2) the remainder is exactly |dx|**2 = (t |x|)**2.
    np.testing.assert_allclose(base, (ts * np.linalg.norm(x)) ** 2, rtol=1e-6)
    bad = gc.taylor_error(_sq, 2.01 * c * x, c * x, d, ts) / (c**2 * ts**2)
    assert bad.max() / bad.min() > 100


# --- bad input, parameter by parameter ------------------------------------------------------

X2 = np.array([1.0, 2.0])
NAN2 = np.array([1.0, np.nan])
BAD = [
    # numerical_grad
    (gc.numerical_grad, dict(f="abc", x=X2), TypeError, r"f must be callable, got str"),
    (gc.numerical_grad, dict(f=_sq, x="abc"), TypeError, r"x must be an array of numbers"),
    (gc.numerical_grad, dict(f=_sq, x=[]), ValueError, r"x must not be empty"),
    (gc.numerical_grad, dict(f=_sq, x=[1j, 2]), TypeError, r"x must hold real numbers"),
    (gc.numerical_grad, dict(f=_sq, x=[[1.0], [2.0, 3.0]]), TypeError, r"x must be an array"),
    (gc.numerical_grad, dict(f=_sq, x=X2, h="1e-6"), TypeError, r"h must be a real number"),
    (gc.numerical_grad, dict(f=_sq, x=X2, h=True), TypeError, r"h must be a real number"),
    (gc.numerical_grad, dict(f=_sq, x=X2, h=1.5), ValueError, r"h is a relative step .* 1"),
    (gc.numerical_grad, dict(f=_sq, x=X2, h=1e-17), ValueError, r"h is a relative step"),
    (gc.numerical_grad, dict(f=_sq, x=[np.finfo(float).max, 1.0]), ValueError,
     r"x\[0\] = 1\.798e\+308 is too close to the largest float64"),
    (gc.numerical_grad, dict(f=_sq, x=[1e-320, 0.0]), ValueError, r"x is too small"),
    (gc.numerical_grad, dict(f=lambda v: np.float32(v.sum()), x=X2), TypeError,
     r"f must compute in float64, got float32 at x \+ step in entry 0"),
    (gc.numerical_grad, dict(f=lambda v: "one", x=X2), TypeError, r"f must return real numbers"),
    (gc.numerical_grad, dict(f=lambda v: None, x=X2), TypeError, r"f must return real numbers"),
    (gc.numerical_grad, dict(f=lambda v: np.log(v[1] - 2 + 1e-7), x=X2), ValueError,
     r"f must return finite values, got nan at x - step in entry 1"),
    (gc.numerical_grad, dict(f=lambda v: v, x=np.ones((2, 2))), ValueError,
     r"f must return a scalar .*shape \(2, 2\) at x \+ step in entry \(0, 0\)"),
    # numerical_jacobian
    (gc.numerical_jacobian, dict(f=3, x=X2), TypeError, r"f must be callable, got int"),
    (gc.numerical_jacobian, dict(f=np.tanh, x=NAN2), ValueError, r"x must be finite"),
    (gc.numerical_jacobian, dict(f=np.tanh, x=X2, h=-1.0), ValueError, r"h must be > 0"),
    (gc.numerical_jacobian, dict(f=np.tanh, x=X2, layout=None), ValueError,
     r"layout must be one of"),
    (gc.numerical_jacobian, dict(f=lambda v: np.log(v - 1.0), x=[1 + 1e-7, 2.0]), ValueError,
     r"f must return finite values, got nan in output entry \(0,\) at x - step in entry 0"),
    (gc.numerical_jacobian, dict(f=lambda v: torch.tensor(v).float(), x=X2), TypeError,
     r"f must compute in float64, got float32 at x"),
    # numerical_hessian
    (gc.numerical_hessian, dict(grad_f="abc", x=X2), TypeError, r"grad_f must be callable"),
    (gc.numerical_hessian, dict(grad_f=lambda v: v[:1], x=X2), ValueError,
     r"grad_f must return a gradient of the shape of x \(2,\), got \(1,\)"),
    (gc.numerical_hessian, dict(grad_f=lambda v: v, x=X2, h=0.0), ValueError, r"h must be > 0"),
    (gc.numerical_hessian, dict(grad_f=lambda v: v, x=np.array(1.0)), ValueError,
     r"x must be a vector \(1-D\)"),
    # layouts
    (gc.to_denominator, dict(jacobian="abc", in_ndim=1), TypeError, r"jacobian must be"),
    (gc.to_denominator, dict(jacobian=NAN2, in_ndim=1), ValueError, r"jacobian must be finite"),
    (gc.to_denominator, dict(jacobian=X2, in_ndim=-1), ValueError,
     r"in_ndim must be between 0 and 1"),
    (gc.to_numerator, dict(derivative=object(), in_ndim=1), TypeError,
     r"derivative must hold real numbers"),
    (gc.to_numerator, dict(derivative=X2, in_ndim=True), TypeError, r"in_ndim must be an int"),
    # rel_error
    (gc.rel_error, dict(a="abc", b=X2), TypeError, r"a must be an array of numbers"),
    (gc.rel_error, dict(a=X2, b=NAN2), ValueError, r"b must be finite"),
    (gc.rel_error, dict(a=[], b=[]), ValueError, r"a must not be empty"),
    (gc.rel_error, dict(a=X2, b=X2[:, None]), ValueError,
     r"same shape, got a \(2,\) and b \(2, 1\)"),
    # directional_check
    (gc.directional_check, dict(f=None, grad=X2, x=X2), TypeError, r"f must be callable"),
    (gc.directional_check, dict(f=_sq, grad=NAN2, x=X2), ValueError, r"grad must be finite"),
    (gc.directional_check, dict(f=_sq, grad=X2, x=X2, h=2.0), ValueError, r"h is a relative"),
    (gc.directional_check, dict(f=_sq, grad=X2, x=X2, seed=1.5), TypeError, r"seed must be an"),
    (gc.directional_check, dict(f=lambda v: np.nan, grad=X2, x=X2), ValueError,
     r"f must return finite values, got nan at x \+ step along random direction 0"),
    # autograd_grad
    (gc.autograd_grad, dict(f_torch="abc", x=X2), TypeError, r"f_torch must be callable"),
    (gc.autograd_grad, dict(f_torch=_sq_t, x=NAN2), ValueError, r"x must be finite"),
    (gc.autograd_grad, dict(f_torch=lambda t: t.sum().item(), x=X2), TypeError,
     r"f_torch must return a torch tensor, got float"),
    (gc.autograd_grad, dict(f_torch=lambda t: t.sum().float(), x=X2), TypeError,
     r"f_torch must compute in float64, got torch.float32"),
    (gc.autograd_grad, dict(f_torch=lambda t: t.detach().sum(), x=X2), ValueError,
     r"does not depend on its argument"),
    (gc.autograd_grad, dict(f_torch=lambda t: torch.log(t - 5).sum(), x=X2), ValueError,
     r"f_torch must return a finite value, got nan"),
    (gc.autograd_grad, dict(f_torch=lambda t: torch.sqrt(t - 1).sum(), x=X2), ValueError,
     r"gradient by autograd has NaN or inf"),
    (gc.autograd_grad, dict(f_torch=lambda t: t @ torch.ones(2), x=X2), RuntimeError,
     r"f_torch failed on a float64 CPU tensor of shape \(2,\) \(make its constants float64"),
    # check_grad
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, tol=0), ValueError, r"tol must be > 0, got 0"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, tol=-1e-7), ValueError, r"tol must be > 0"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, tol=float("inf")), ValueError,
     r"tol must be finite"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, tol=1.0), ValueError, r"tol must be < 1"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, tol="1e-7"), TypeError, r"tol must be a real"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, f_torch=3), TypeError,
     r"f_torch must be callable"),
    (gc.check_grad, dict(f=_sq, grad=lambda v: v[:1], x=X2), ValueError,
     r"grad must have the shape of x \(2,\) \(denominator layout\), got \(1,\)"),
    (gc.check_grad, dict(f=_sq, grad="abc", x=X2), TypeError, r"grad must be an array"),
    (gc.check_grad, dict(f=_sq, grad=X2, x=X2, h=float("nan")), ValueError, r"h must be finite"),
    # taylor_error
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=np.zeros(2), ts=[0.1]), ValueError,
     r"d must be a direction, got all zeros"),
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=NAN2, ts=[0.1]), ValueError,
     r"d must be finite"),
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=X2, ts=[[0.1]]), ValueError,
     r"ts must be 1-D, got shape \(1, 1\)"),
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=X2, ts=[]), ValueError, r"ts must not be"),
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=X2, ts=[0.1, 0.0]), ValueError,
     r"ts must hold positive steps, got minimum 0.0"),
    (gc.taylor_error, dict(f=_sq, grad=X2, x=X2, d=X2, ts=[1e308]), ValueError,
     r"ts holds a step t = 1e\+308 that leaves the float64 range"),
    (gc.taylor_error, dict(f=_sq, grad=np.ones(3), x=X2, d=X2, ts=[0.1]), ValueError,
     r"grad must have the shape of x"),
    # step_size_errors
    (gc.step_size_errors, dict(f="sin", df=np.cos, x=1.0, hs=[1e-3]), TypeError,
     r"f must be callable"),
    (gc.step_size_errors, dict(f=np.sin, df=None, x=1.0, hs=[1e-3]), TypeError,
     r"df must be callable"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x=float("nan"), hs=[1e-3]), ValueError,
     r"x must be finite"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x="1", hs=[1e-3]), TypeError,
     r"x must be a real number"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x=1.0, hs=[1e-3, 0.0]), ValueError,
     r"hs must hold positive steps"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x=1.0, hs=[1e-3], dtype="abc"), TypeError,
     r"dtype must be a NumPy floating dtype"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x=1.0, hs=[1e-3], dtype=3), TypeError,
     r"dtype must be a NumPy floating dtype"),
    (gc.step_size_errors, dict(f=np.sin, df=np.cos, x=1.0, hs=[1e-50], dtype=np.float32),
     ValueError, r"hs holds a step 1e-50 that is 0 in float32"),
    (gc.step_size_errors, dict(f=np.log, df=lambda x: 1 / x, x=1.0, hs=[2.0]), ValueError,
     r"f must return finite values"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the bad f's own NumPy warnings
@pytest.mark.parametrize("fn, kwargs, error, match", BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_named(fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)


def test_accepted_forms_of_every_argument(rng):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert gc.check_grad(_sq, [2.0, 4.0], x, f_torch=_sq_t, h=np.float64(1e-6),
                         tol=np.array(1e-7)).passed
    assert gc.directional_check(_sq, torch.tensor([2.0, 4.0]), [1, 2], n_dirs=np.int64(3),
                                seed=torch.tensor(1)) < 1e-8
    np.testing.assert_allclose(gc.autograd_grad(_sq_t, x), [2.0, 4.0])
    assert gc.to_numerator(torch.ones(2, 3), in_ndim=np.array(1)).shape == (3, 2)
    assert gc.step_size_errors(np.sin, np.cos, np.array(1.0), [1e-3], "float32").shape == (1,)
    H = gc.numerical_hessian(lambda v: 2 * v, [1, 2, 3], h=torch.tensor(1e-5))
    np.testing.assert_allclose(H, 2 * np.eye(3), atol=1e-8)
    np.testing.assert_allclose(gc.taylor_error(_sq, lambda v: 2 * v, [1.0, 2.0], [1, 0], [0.1]),
                               [(0.1 * np.sqrt(5)) ** 2], rtol=1e-9)


# --- properties of rel_error and of layout conversion ---------------------------------------

ENTRIES = st.one_of(st.just(0.0), st.floats(1e-3, 1e3)).flatmap(
    lambda a: st.sampled_from([a, -a]))
PAIRS = array_shapes(max_dims=3, max_side=4).flatmap(
    lambda shape: st.tuples(arrays(np.float64, shape, elements=ENTRIES),
                            arrays(np.float64, shape, elements=ENTRIES)))


@given(PAIRS, st.integers(-150, 150))
def test_rel_error_scale_invariant_and_matches_numpy(pair, k):
    a, b = pair
    ref = gc.rel_error(a, b)
    norms = max(np.linalg.norm(a), np.linalg.norm(b))
    expected = 0.0 if norms == 0 else np.linalg.norm(a - b) / norms   # NumPy, unscaled
    assert ref == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert gc.rel_error(b, a) == ref and 0 <= ref <= 2
    c = 10.0**k
    assert gc.rel_error(c * a, c * b) == pytest.approx(ref, rel=1e-12, abs=1e-14)
    p = 2.0 ** (3 * k)   # powers of two scale every float exactly: the same number
    assert gc.rel_error(p * a, p * b) == ref


@given(PAIRS, st.integers(-150, 150))
def test_rel_error_is_zero_exactly_when_equal(pair, k):
    a = pair[0] * 10.0**k
    assert gc.rel_error(a, a.copy()) == 0.0
    j = int(np.argmax(np.abs(a)))   # (a change far below the largest entry can round away)
    b = a.copy()
    b.flat[j] = np.nextafter(b.flat[j], np.inf)   # one ulp away
    assert gc.rel_error(a, b) > 0


@given(st.data())
def test_layouts_agree_with_torch_jacobian(data):
    in_shape = data.draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    out_shape = data.draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    seed = data.draw(st.integers(0, 2**31))
    W = np.random.default_rng(seed).standard_normal(out_shape + in_shape)
    axes = len(in_shape)
    x = np.random.default_rng(seed + 1).standard_normal(in_shape)

    def f(v):
        return np.tensordot(W, v, axes=axes)

    ref = torch.autograd.functional.jacobian(
        lambda t: torch.tensordot(torch.tensor(W), t, dims=axes), torch.tensor(x)).numpy()
    num = gc.numerical_jacobian(f, x)
    assert num.shape == ref.shape == out_shape + in_shape
    np.testing.assert_allclose(num, ref, rtol=1e-8, atol=1e-8 * np.abs(W).max())
    den = gc.numerical_jacobian(f, x, layout="denominator")
    assert den.shape == in_shape + out_shape
    if out_shape:
        np.testing.assert_array_equal(den, gc.to_denominator(num, axes))
        np.testing.assert_array_equal(gc.to_numerator(den, axes), num)
    else:   # a scalar's derivative in either layout from numerical_jacobian: shape of x
        np.testing.assert_array_equal(den, num)
