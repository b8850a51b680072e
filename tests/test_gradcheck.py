"""Tests of dlnotes.gradcheck: the facts of chapter 02, section 7, that concern
numerical derivatives, plus layout conversion and bad input."""

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
    with pytest.raises(ValueError, match=r"positive finite number, got"):
        gc.numerical_grad(np.sum, np.ones(2), h=h)


def test_nan_input_rejected():
    with pytest.raises(ValueError, match=r"x must be finite, got 1 non-finite"):
        gc.numerical_grad(np.sum, np.array([1.0, np.nan]))


def test_nan_output_rejected():
    with pytest.raises(ValueError, match=r"finite number, got nan"):
        gc.numerical_grad(lambda v: v[0] * float("nan"), np.array([0.0]))


def test_wrong_layout_string():
    with pytest.raises(ValueError, match=r"'numerator' or 'denominator', got 'rows'"):
        gc.numerical_jacobian(np.sin, np.ones(2), layout="rows")


def test_hessian_needs_vector():
    with pytest.raises(ValueError, match=r"vector \(1-D\), got shape \(2, 2\)"):
        gc.numerical_hessian(lambda v: v, np.ones((2, 2)))


def test_check_grad_wrong_shape():
    with pytest.raises(ValueError, match=r"shape of x \(3,\).*got \(3, 1\)"):
        gc.check_grad(np.sum, np.ones((3, 1)), np.ones(3))


def test_autograd_grad_needs_scalar():
    with pytest.raises(ValueError, match=r"scalar tensor, got \(2,\)"):
        gc.autograd_grad(lambda t: 2 * t, np.ones(2))


def test_rel_error_bad_input():
    with pytest.raises(ValueError, match=r"equal shapes, got \(2,\) and \(3,\)"):
        gc.rel_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="finite inputs"):
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
