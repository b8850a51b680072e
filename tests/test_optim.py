"""Tests of dlnotes.optim: every optimizer against torch.optim step by step (NumPy and
torch, hypothesis-drawn hyperparameters), the places where conventions differ, the facts
of chapters 04-05, schedules against torch.optim.lr_scheduler, clipping against
torch.nn.utils, and bad input."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import optim
from dlnotes.linreg import ConvergenceWarning
from tools import assert_refused

# --- the test problems, written out here (gradients by hand; torch uses autograd) --------

_Q = np.linalg.qr(np.random.default_rng(7).standard_normal((3, 3)))[0]
BOWL_H = _Q @ np.diag([1.0, 10.0, 50.0]) @ _Q.T  # rotated, kappa = 50
BOWL_C = np.array([1.0, -2.0, 0.5])


def bowl_loss(x):  # torch, for autograd
    d = x - torch.as_tensor(BOWL_C, dtype=x.dtype)
    return 0.5 * d @ torch.as_tensor(BOWL_H, dtype=x.dtype) @ d


def bowl_grad(x):  # NumPy or torch
    if torch.is_tensor(x):
        return torch.as_tensor(BOWL_H, dtype=x.dtype) @ (x - torch.as_tensor(BOWL_C,
                                                                             dtype=x.dtype))
    return BOWL_H @ (x - BOWL_C)


def rosen_loss(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosen_grad(x):  # NumPy or torch
    a, b = x[0], x[1]
    parts = [-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]
    return torch.stack(parts) if torch.is_tensor(x) else np.array(parts)


PROBLEMS = {
    "bowl": (bowl_loss, bowl_grad, np.array([-3.0, 2.0, 4.0])),
    "rosenbrock": (rosen_loss, rosen_grad, np.array([-1.2, 1.0])),
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_hand_written_gradients_match_autograd(problem, rng):
    loss, grad, x0 = PROBLEMS[problem]
    for x in [x0, x0 + rng.standard_normal(x0.shape)]:
        t = torch.tensor(x, requires_grad=True)
        loss(t).backward()
        np.testing.assert_allclose(grad(x), t.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(grad(torch.tensor(x)).numpy(), t.grad.numpy(), rtol=1e-12)


def torch_run(torch_cls, kwargs, grad, x0, n):
    """The reference: torch.optim on an nn.Parameter whose .grad is set to ``grad``."""
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = torch_cls([p], **kwargs)
    out = [p.detach().clone()]
    for _ in range(n):
        p.grad = grad(p.detach())
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out).numpy()


def our_run(cls, kwargs, grad, x0, n, kind):
    """Our optimizer, stepping one array in place with the hand-written gradient."""
    x = torch.tensor(x0, dtype=torch.float64) if kind == "torch" else x0.copy()
    opt = cls(**kwargs)
    out = [x.clone() if kind == "torch" else x.copy()]
    for _ in range(n):
        opt.step(x, grad(x))
        out.append(x.clone() if kind == "torch" else x.copy())
    if kind == "torch":
        return torch.stack(out).numpy()
    return np.array(out)


def log_uniform(lo, hi):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


DECAY = st.one_of(st.just(0.0), st.floats(0.0, 0.1))
EPS = log_uniform(1e-10, 1e-3)
# Learning rates that keep 100 steps finite on each problem: the bowl has L = 50, the
# Rosenbrock valley's curvature near the start is about 1000-2500. RMSProp and Adam get
# smaller ones: with a large lr their step is almost lr * sign(g) once the iterate rattles
# around the bowl's minimum or in Rosenbrock's valley, and such a run is chaotic: rounding
# differences of 1e-16 between two correct implementations grow to order 1 within 100
# steps, so no tolerance could separate right from wrong there.
SGD_LR = {"bowl": log_uniform(1e-3, 0.035), "rosenbrock": log_uniform(1e-5, 4e-4)}
ADAGRAD_LR = {"bowl": log_uniform(1e-4, 0.2), "rosenbrock": log_uniform(1e-4, 0.01)}
MOMENT_LR = {"bowl": log_uniform(1e-4, 0.03), "rosenbrock": log_uniform(1e-4, 3e-3)}
DECAY2 = st.floats(0.0, 0.9999)  # beta2 and RMSProp's alpha


def family(name, problem):
    """(our class, torch class, strategy of keyword arguments both accept)."""
    lr = (SGD_LR if name in ("SGD", "momentum", "nesterov") else
          ADAGRAD_LR if name == "AdaGrad" else MOMENT_LR)[problem]
    betas = st.tuples(st.floats(0.0, 0.99), DECAY2)
    return {
        "SGD": (optim.SGD, torch.optim.SGD, st.fixed_dictionaries(
            dict(lr=lr, weight_decay=DECAY))),
        "momentum": (optim.SGD, torch.optim.SGD, st.fixed_dictionaries(
            dict(lr=lr, momentum=st.floats(0.0, 0.95), weight_decay=DECAY))),
        "nesterov": (optim.SGD, torch.optim.SGD, st.fixed_dictionaries(
            dict(lr=lr, momentum=st.floats(0.05, 0.95), nesterov=st.just(True),
                 weight_decay=DECAY))),
        "AdaGrad": (optim.AdaGrad, torch.optim.Adagrad, st.fixed_dictionaries(
            dict(lr=lr, eps=EPS, weight_decay=DECAY))),
        "RMSProp": (optim.RMSProp, torch.optim.RMSprop, st.fixed_dictionaries(
            dict(lr=lr, alpha=DECAY2, eps=EPS, weight_decay=DECAY))),
        "Adam": (optim.Adam, torch.optim.Adam, st.fixed_dictionaries(
            dict(lr=lr, betas=betas, eps=EPS, weight_decay=DECAY))),
        "AdamW": (optim.AdamW, torch.optim.AdamW, st.fixed_dictionaries(
            dict(lr=lr, betas=betas, eps=EPS, weight_decay=st.floats(0.0, 0.5)))),
    }[name]


FAMILIES = ["SGD", "momentum", "nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"]


# --- every optimizer follows torch.optim step by step (fact T15 of chapter 05) -----------


@given(name=st.sampled_from(FAMILIES), problem=st.sampled_from(sorted(PROBLEMS)),
       data=st.data())
def test_follows_torch_optim_for_100_steps(name, problem, data):
    """One torch.optim run against ours on NumPy and on torch, 100 steps in float64.
    The families take turns in one test, to keep the file fast; each is also compared
    with torch in the fixed tests below."""
    ours, theirs, kwargs = family(name, problem)
    kwargs = data.draw(kwargs, label="hyperparameters")
    _, grad, x0 = PROBLEMS[problem]
    want = torch_run(theirs, kwargs, grad, x0, 100)
    assert np.all(np.isfinite(want))
    for kind in ("numpy", "torch"):
        got = our_run(ours, kwargs, grad, x0, 100, kind)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12, err_msg=kind)


# One fixed, non-default setting per family and problem, so that every family meets torch
# on both problems whatever the draws above.
FIXED = {
    "SGD": ({"bowl": 0.03, "rosenbrock": 3e-4}, dict(weight_decay=0.01)),
    "momentum": ({"bowl": 0.01, "rosenbrock": 1e-4}, dict(momentum=0.9)),
    "nesterov": ({"bowl": 0.01, "rosenbrock": 1e-4}, dict(momentum=0.9, nesterov=True,
                                                            weight_decay=0.01)),
    "AdaGrad": ({"bowl": 0.5, "rosenbrock": 0.05}, dict(eps=1e-6, weight_decay=0.01)),
    "RMSProp": ({"bowl": 0.01, "rosenbrock": 1e-3}, dict(alpha=0.9, eps=1e-6,
                                                         weight_decay=0.01)),
    "Adam": ({"bowl": 0.05, "rosenbrock": 0.01}, dict(betas=(0.8, 0.99), weight_decay=0.01)),
    "AdamW": ({"bowl": 0.05, "rosenbrock": 0.01}, dict(betas=(0.8, 0.99), weight_decay=0.1)),
}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", FAMILIES)
def test_follows_torch_optim_at_fixed_settings(name, problem):
    ours, theirs, _ = family(name, problem)
    lrs, extra = FIXED[name]
    kwargs = dict(extra, lr=lrs[problem])
    _, grad, x0 = PROBLEMS[problem]
    want = torch_run(theirs, kwargs, grad, x0, 100)
    assert np.max(np.abs(want[-1] - x0)) > 0.05  # it moved
    for kind in ("numpy", "torch"):
        np.testing.assert_allclose(our_run(ours, kwargs, grad, x0, 100, kind), want, rtol=1e-6,
                                   atol=1e-12, err_msg=kind)


def test_the_reference_can_fail():
    """The trajectory comparison separates neighbouring settings: a 1% change of lr."""
    _, grad, x0 = PROBLEMS["bowl"]
    want = torch_run(torch.optim.Adam, dict(lr=0.05), grad, x0, 100)
    got = our_run(optim.Adam, dict(lr=0.0505), grad, x0, 100, "numpy")
    assert not np.allclose(got, want, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_several_parameters_and_nn_parameter_grads(name, rng):
    """A list of parameters (a weight matrix and a bias) with autograd's .grad, on a
    least-squares loss, against torch.optim on the same tensors."""
    ours, theirs, _ = family(name, "bowl")
    kwargs = {"SGD": dict(lr=0.05, weight_decay=0.01), "momentum": dict(lr=0.02, momentum=0.9),
              "nesterov": dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.01),
              "AdaGrad": dict(lr=0.1, weight_decay=0.01), "RMSProp": dict(lr=0.01),
              "Adam": dict(lr=0.01, weight_decay=0.01), "AdamW": dict(lr=0.01)}[name]
    X, Y = torch.tensor(rng.standard_normal((20, 4))), torch.tensor(rng.standard_normal((20, 3)))
    W0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)

    def params():
        return [torch.nn.Parameter(torch.tensor(W0)), torch.nn.Parameter(torch.tensor(b0))]

    def backward(ps):
        for p in ps:
            p.grad = None
        ((X @ ps[0].T + ps[1] - Y) ** 2).mean().backward()

    mine, ref = params(), params()
    opt, ref_opt = ours(**kwargs), theirs(ref, **kwargs)
    numpy_params = [W0.copy(), b0.copy()]
    numpy_opt = ours(**kwargs)
    for _ in range(20):
        backward(mine)
        backward(ref)
        # the NumPy run takes the gradients of the torch run, whose iterates it matches
        numpy_grads = [p.grad.numpy().copy() for p in mine]
        opt.step(mine, [p.grad for p in mine])
        ref_opt.step()
        numpy_opt.step(numpy_params, numpy_grads)
        for a, b, c in zip(mine, ref, numpy_params):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6,
                                       atol=1e-12)
            np.testing.assert_allclose(c, a.detach().numpy(), rtol=1e-6, atol=1e-12)
    assert mine[0].requires_grad and mine[0].shape == (3, 4)
    assert [s["step"] for s in opt.state] == [20, 20]


def test_single_array_and_one_element_list_agree():
    a, b = np.array([1.0, -2.0]), [np.array([1.0, -2.0])]
    opt_a, opt_b = optim.Adam(0.1), optim.Adam(0.1)
    for _ in range(5):
        opt_a.step(a, 2 * a)
        opt_b.step(b, [2 * b[0]])
    np.testing.assert_array_equal(a, b[0])


def _small_steps(name: str) -> dict:
    """Hyperparameters for ten small steps of the family ``name`` on the bowl."""
    if name in ("momentum", "nesterov"):
        return dict(lr=0.01, momentum=0.9, nesterov=name == "nesterov")
    return dict(lr=0.01)


def _ten_steps_beside_torch(ours, theirs, kwargs, dtype, device):
    """Ten steps of our optimizer and of torch's on the bowl, from the same start, on
    tensors of ``dtype`` on ``device``: ``(our x, torch's parameter, our optimizer)``."""
    H = torch.tensor(BOWL_H, dtype=dtype, device=device)
    x = torch.tensor([-3.0, 2.0, 4.0], dtype=dtype, device=device)
    p = torch.nn.Parameter(x.clone())
    opt, ref = ours(**kwargs), theirs([p], **kwargs)
    for _ in range(10):
        p.grad = H @ p.detach()
        ref.step()
        opt.step(x, H @ x)
    return x, p, opt


@pytest.mark.parametrize("name", FAMILIES)
def test_float32_tensors_stay_float32_and_follow_torch(name):
    """Fact T15 in float32 over 10 steps, and the dtype and kind of params and state."""
    ours, theirs, _ = family(name, "bowl")
    kwargs = _small_steps(name)
    x, p, opt = _ten_steps_beside_torch(ours, theirs, kwargs, torch.float32, "cpu")
    assert x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-7)
    for value in opt.state[0].values():
        if torch.is_tensor(value):
            assert value.dtype == torch.float32
    a = np.array([-3.0, 2.0, 4.0], dtype=np.float32)
    ours(**kwargs).step(a, BOWL_H @ a)  # a float64 gradient is cast to the param's dtype
    assert a.dtype == np.float32


# --- where the conventions differ ----------------------------------------------------------


def adam_eps_inside(grad, x0, n, lr, betas=(0.9, 0.999), eps=1e-8):
    """Adam with eps under the square root (as some texts and Keras' epsilon_hat write it)."""
    x, m, s = x0.copy(), 0.0, 0.0
    out = [x.copy()]
    for t in range(1, n + 1):
        g = grad(x)
        m = betas[0] * m + (1 - betas[0]) * g
        s = betas[1] * s + (1 - betas[1]) * g * g
        x = x - lr * (m / (1 - betas[0] ** t)) / np.sqrt(s / (1 - betas[1] ** t) + eps)
        out.append(x.copy())
    return np.array(out)


def test_adam_eps_placement_changes_the_trajectory():
    """With gradients of size 1e-5, eps = 1e-8 under the root adds about 1e-4 to sqrt(s):
    a different algorithm. Ours is torch's (eps outside)."""
    scale = 1e-5

    def grad(x):
        return scale * bowl_grad(x)

    x0 = PROBLEMS["bowl"][2]
    ours = our_run(optim.Adam, dict(lr=0.05), grad, x0, 100, "numpy")
    np.testing.assert_allclose(ours, torch_run(torch.optim.Adam, dict(lr=0.05), grad, x0, 100),
                               rtol=1e-6, atol=1e-12)
    inside = adam_eps_inside(grad, x0, 100, lr=0.05)
    assert np.max(np.abs(inside - ours)) > 0.5
    # with gradients of size 1 eps is negligible either way
    big = adam_eps_inside(bowl_grad, x0, 100, lr=0.05)
    np.testing.assert_allclose(big, our_run(optim.Adam, dict(lr=0.05), bowl_grad, x0, 100,
                                            "numpy"), rtol=1e-6, atol=1e-7)


def test_adamw_is_not_adam_with_l2_and_equals_adam_without_decay():
    _, grad, x0 = PROBLEMS["bowl"]
    l2 = our_run(optim.Adam, dict(lr=0.05, weight_decay=0.1), grad, x0, 100, "numpy")
    decoupled = our_run(optim.AdamW, dict(lr=0.05, weight_decay=0.1), grad, x0, 100, "numpy")
    assert np.max(np.abs(l2 - decoupled)) > 1e-2
    np.testing.assert_allclose(l2, torch_run(torch.optim.Adam, dict(lr=0.05, weight_decay=0.1),
                                             grad, x0, 100), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(decoupled, torch_run(torch.optim.AdamW, dict(
        lr=0.05, weight_decay=0.1), grad, x0, 100), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(
        our_run(optim.AdamW, dict(lr=0.05, weight_decay=0.0), grad, x0, 100, "numpy"),
        our_run(optim.Adam, dict(lr=0.05), grad, x0, 100, "numpy"))


def test_full_batch_adam_l2_reaches_ridge_and_adamw_does_not():
    """Fact T14 (chapter 05, section 2.7): least squares with features of very different
    scales, lambda = 0.1. Adam+L2's fixed points minimise the penalised loss; AdamW's do
    not, and full batch it ends near ordinary least squares."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5)) * np.array([0.1, 0.5, 1.0, 3.0, 10.0])
    y = X @ rng.standard_normal(5) + 0.5 * rng.standard_normal(200)
    ridge = np.linalg.solve(X.T @ X / 200 + 0.1 * np.eye(5), X.T @ y / 200)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]

    def grad(w):
        return X.T @ (X @ w - y) / 200

    l2 = optim.trajectory(optim.Adam(0.01, weight_decay=0.1), grad, np.zeros(5), 2000)[-1]
    decoupled = optim.trajectory(optim.AdamW(0.01, weight_decay=0.1), grad, np.zeros(5),
                                 2000)[-1]
    np.testing.assert_allclose(l2, ridge, atol=1e-4)
    assert np.max(np.abs(decoupled - ridge)) > 0.1
    assert np.max(np.abs(decoupled - ols)) < 0.1 * np.max(np.abs(ridge - ols))


def test_nesterov_torch_form_is_the_look_ahead_form_shifted():
    """Fact T4: torch's iterate p is the look-ahead point phi = theta + mu v of
    v = mu v - lr grad(theta + mu v), theta += v; and v = -lr * momentum_buffer."""
    lr, mu = 0.02, 0.9
    theta, v = PROBLEMS["bowl"][2].copy(), np.zeros(3)
    p = theta.copy()
    opt = optim.SGD(lr, momentum=mu, nesterov=True)
    for _ in range(50):
        v = mu * v - lr * bowl_grad(theta + mu * v)
        theta = theta + v
        opt.step(p, bowl_grad(p))
        np.testing.assert_allclose(p, theta + mu * v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(-lr * opt.state[0]["momentum_buffer"], v, rtol=1e-12,
                                   atol=1e-14)
    assert np.max(np.abs(theta - p)) > 1e-3  # the two sequences are different points


def test_momentum_buffer_is_the_book_velocity_unrolled(rng):
    """Facts T1 and T2: v = -lr * b = -lr sum_k mu^(t-k) g_k, and under a constant
    gradient b -> g / (1 - mu)."""
    lr, mu = 0.1, 0.7
    gs = rng.standard_normal((50, 4))
    p, opt = np.zeros(4), optim.SGD(lr, momentum=mu)
    for t in range(1, 51):
        before = p.copy()
        opt.step(p, gs[t - 1])
        unrolled = sum(mu ** (t - k) * gs[k - 1] for k in range(1, t + 1))
        np.testing.assert_allclose(opt.state[0]["momentum_buffer"], unrolled, rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(p - before, -lr * unrolled, rtol=1e-12, atol=1e-12)
    g = np.array([1.0, -3.0])
    q, opt = np.zeros(2), optim.SGD(0.01, momentum=0.9)
    for _ in range(500):
        opt.step(q, g)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], g / 0.1, rtol=1e-9)


# --- facts of chapter 04 and 05 on quadratics ---------------------------------------------


def diag_quadratic(*curvatures):
    h = np.array(curvatures, dtype=float)
    return (lambda x: h * x), (lambda xs: 0.5 * np.sum(h * np.asarray(xs) ** 2, axis=-1))


def first_below(losses, tol):
    return int(np.nonzero(losses < tol)[0][0])


@pytest.mark.parametrize("lr, steps", [(0.01, 1112), (0.1, 106), (0.19, 117)])
def test_gd_step_counts_chapter_04(lr, steps):
    """Fact T6 of chapter 04: diag(1, 10) from (1, 1) to L < 1e-10."""
    grad, loss = diag_quadratic(1, 10)
    path = optim.trajectory(optim.SGD(lr), grad, np.array([1.0, 1.0]), 1200)
    assert first_below(loss(path), 1e-10) == steps


def test_gd_converges_below_2_over_L_and_diverges_above():
    """Fact T5 of chapter 04: the threshold 2 / lambda_max, at 0.95 and 1.05 times it."""
    grad, loss = diag_quadratic(1, 10)
    below = optim.trajectory(optim.SGD(0.95 * 0.2), grad, np.array([1.0, 1.0]), 2000)
    above = optim.trajectory(optim.SGD(1.05 * 0.2), grad, np.array([1.0, 1.0]), 2000)
    assert loss(below[-1]) < 1e-10
    assert loss(above[-1]) > 1e6


def test_step_counts_on_the_running_example():
    """Fact T5 of chapter 05: 1/2 (x^2 + 50 y^2) from (-10, 1) to L < 1e-6. GD 439,
    momentum 153, tuned heavy ball 46; Nesterov 110 counted on theta = p + lr mu b (the
    textbook iterate), 109 on torch's stored look-ahead point p."""
    grad, loss = diag_quadratic(1, 50)
    x0 = np.array([-10.0, 1.0])

    def count(opt):
        return first_below(loss(optim.trajectory(opt, grad, x0, 600)), 1e-6)

    assert count(optim.SGD(1 / 50)) == 439
    assert count(optim.SGD(1 / 50, momentum=0.9)) == 153
    mu, lr = ((math.sqrt(50) - 1) / (math.sqrt(50) + 1)) ** 2, 4 / (math.sqrt(50) + 1) ** 2
    assert count(optim.SGD(lr, momentum=mu)) == 46
    assert count(optim.SGD(1 / 50, momentum=0.9, nesterov=True)) == 109
    p, opt = x0.copy(), optim.SGD(1 / 50, momentum=0.9, nesterov=True)
    for t in range(1, 200):
        opt.step(p, grad(p))
        if loss(p + (1 / 50) * 0.9 * opt.state[0]["momentum_buffer"]) < 1e-6:
            break
    assert t == 110


def test_tuned_momentum_beats_tuned_gd_at_kappa_100():
    """sqrt(kappa) versus kappa: diag(1, 100), error reduced by 1e-6. GD at its best step
    2/(1 + 100) needs about ln(1e6) / ln(101/99) = 691 steps; the tuned heavy ball
    (mu = (9/11)^2, lr = 4/121, rate 9/11) under a hundred."""
    grad, _ = diag_quadratic(1, 100)
    x0 = np.array([1.0, 1.0])

    def count(opt):
        path = optim.trajectory(opt, grad, x0, 1000)
        return first_below(np.linalg.norm(path, axis=1) / np.linalg.norm(x0), 1e-6)

    gd, heavy = count(optim.SGD(2 / 101)), count(optim.SGD(4 / 121, momentum=(9 / 11) ** 2))
    assert gd == pytest.approx(math.log(1e6) / math.log(101 / 99), abs=2)
    assert heavy < 100 and heavy * 5 < gd


@pytest.mark.parametrize("eta_lambda, converges", [(3.7, True), (3.9, False)])
def test_heavy_ball_stability_boundary(eta_lambda, converges):
    """Fact T3: with mu = 0.9 momentum is stable iff eta lambda < 2 (1 + mu) = 3.8."""
    path = optim.trajectory(optim.SGD(eta_lambda, momentum=0.9), lambda x: x, np.ones(1), 2000)
    assert (abs(path[-1, 0]) < 1e-20) if converges else (abs(path[-1, 0]) > 1e20)


@given(g=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3)),
                  min_size=1, max_size=6),
       lr=log_uniform(1e-4, 1.0), b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.9999))
def test_adam_first_step_moves_each_coordinate_by_lr(g, lr, b1, b2):
    """Bias correction: the first step is -lr * sign(g) per coordinate (eps negligible),
    whatever the betas; coordinates with zero gradient do not move."""
    g = np.array(g)
    p = np.zeros_like(g)
    optim.Adam(lr, betas=(b1, b2), eps=1e-14).step(p, g)
    np.testing.assert_allclose(p, -lr * np.sign(g), rtol=1e-9, atol=0)


def test_adam_constant_gradient_steps_are_lr_with_correction():
    """Fact T8: every corrected step has size lr; fact T9: uncorrected, the first is
    lr (1 - b1) / sqrt(1 - b2) (3.16228 at 0.999, 1.41421 at 0.995) and the largest
    about 6.57 lr, at t = 12."""
    lr = 1e-3

    def steps(n, **kwargs):
        p, opt, out = np.zeros(1), optim.Adam(lr, **kwargs), []
        for _ in range(n):
            before = p[0]
            opt.step(p, np.ones(1))
            out.append((before - p[0]) / lr)
        return np.array(out)

    np.testing.assert_allclose(steps(100), 1.0, rtol=1e-6)
    raw = steps(100, bias_correction=False)
    assert raw[0] == pytest.approx(3.16228, rel=1e-5)
    assert int(np.argmax(raw)) + 1 == 12 and raw.max() == pytest.approx(6.57, abs=0.01)
    assert steps(1, betas=(0.9, 0.995), bias_correction=False)[0] == \
        pytest.approx(1.41421, rel=1e-5)


def test_adam_without_beta1_and_correction_is_rmsprop(rng):
    """Fact T10: 200 steps, to 1e-12."""
    gs = rng.standard_normal((200, 3))
    a, b = np.zeros(3), np.zeros(3)
    adam = optim.Adam(0.01, betas=(0.0, 0.99), bias_correction=False)
    rms = optim.RMSProp(0.01, alpha=0.99)
    for g in gs:
        adam.step(a, g)
        rms.step(b, g)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(a)) > 0.1


def test_adagrad_decays_as_one_over_sqrt_t_and_its_sum_never_decreases(rng):
    """Fact T6 of chapter 05: constant gradient, step lr / sqrt(t) at t = 1, 100, 10^4."""
    p, opt, sizes = np.zeros(1), optim.AdaGrad(0.1), {}
    for t in range(1, 10_001):
        before = p[0]
        opt.step(p, np.ones(1))
        if t in (1, 100, 10_000):
            sizes[t] = before - p[0]
    for t, size in sizes.items():
        assert size == pytest.approx(0.1 / math.sqrt(t), rel=1e-6)
    q, opt, last = np.zeros(3), optim.AdaGrad(0.1), np.zeros(3)
    for g in rng.standard_normal((100, 3)) * np.array([1.0, 0.0, 1e-3]):
        opt.step(q, g)
        assert np.all(opt.state[0]["sum"] >= last)
        last = opt.state[0]["sum"].copy()


def test_rmsprop_first_step_and_leaky_average():
    """Fact T7: first step lr / sqrt(1 - rho) = 10 lr at rho = 0.99; s = 0.99 * 10 + 0 = 9.9."""
    p, opt = np.zeros(1), optim.RMSProp(0.01, alpha=0.99, eps=1e-12)
    opt.step(p, np.array([math.sqrt(1000.0)]))
    assert -p[0] == pytest.approx(0.1, rel=1e-6)
    assert opt.state[0]["square_avg"][0] == pytest.approx(10.0, rel=1e-12)
    opt.step(p, np.zeros(1))
    assert opt.state[0]["square_avg"][0] == pytest.approx(9.9, rel=1e-12)


@pytest.mark.parametrize("cls, kwargs, invariant", [
    (optim.Adam, dict(lr=0.05), True), (optim.RMSProp, dict(lr=0.01), True),
    (optim.AdaGrad, dict(lr=0.1), True), (optim.SGD, dict(lr=1e-5), False)])
def test_scale_invariance_of_adaptive_methods(cls, kwargs, invariant):
    """Fact T11: multiplying the loss by 1000 leaves the adaptive trajectories unchanged
    (up to eps); SGD's change."""
    x0 = PROBLEMS["bowl"][2]
    base = our_run(cls, kwargs, bowl_grad, x0, 200, "numpy")
    scaled = our_run(cls, kwargs, lambda x: 1000 * bowl_grad(x), x0, 200, "numpy")
    assert np.allclose(scaled, base, rtol=1e-6, atol=1e-6) == invariant


def test_sgd_weight_decay_is_multiplicative_shrink(rng):
    """Fact T13: with plain SGD the L2 term is the decay (1 - lr lam) theta - lr g."""
    lr, lam = 0.05, 0.3
    p, opt = rng.standard_normal(3), optim.SGD(lr, weight_decay=lam)
    q = p.copy()
    for _ in range(100):
        gq = bowl_grad(q)
        opt.step(p, bowl_grad(p))
        q = (1 - lr * lam) * q - lr * gq
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_extreme_magnitudes_stay_finite():
    """Gradients from 1e-150 to 1e150 in float64: squares still fit, steps are right."""
    g = np.array([1e150, -1e-150, 3.0])
    p = np.zeros(3)
    optim.Adam(0.1, eps=1e-300).step(p, g)
    np.testing.assert_allclose(p, [-0.1, 0.1, -0.1], rtol=1e-12)
    q = np.array([1e150, 1e-150])
    optim.SGD(1e-150, momentum=0.9).step(q, np.array([1e150, 1e-150]))
    np.testing.assert_allclose(q, [1e150 - 1.0, 1e-150 - 1e-300], rtol=1e-12)
    r = np.zeros(2)
    optim.RMSProp(0.01, eps=1e-300).step(r, np.array([1e150, 1e-150]))
    np.testing.assert_allclose(r, [-0.1, -0.1], rtol=1e-12)


# --- the step: all or nothing, and its refusals --------------------------------------------


def test_overflow_is_refused_and_nothing_moves():
    p = [np.ones(2, dtype=np.float32), np.ones(2, dtype=np.float32)]
    opt = optim.Adam(0.1)
    opt.step(p, [np.ones(2, dtype=np.float32)] * 2)
    before = [a.copy() for a in p]
    with pytest.raises(ValueError, match=r"Adam.step overflows float32 at step 2 in its "
                                         r"exp_avg_sq .*nothing was updated"):
        opt.step(p, [np.ones(2, dtype=np.float32), np.full(2, 1e30, dtype=np.float32)])
    for a, b in zip(p, before):
        np.testing.assert_array_equal(a, b)
    assert [s["step"] for s in opt.state] == [1, 1]


def test_nan_gradient_is_refused_and_nothing_moves():
    p = torch.ones(3, dtype=torch.float64)
    opt = optim.SGD(0.1, momentum=0.9)
    opt.step(p, torch.ones(3, dtype=torch.float64))
    buffer = opt.state[0]["momentum_buffer"].clone()
    with pytest.raises(ValueError, match="grads must be finite, got 1 NaN/inf entries; a NaN "
                                         "gradient is refused"):
        opt.step(p, torch.tensor([1.0, math.nan, 0.0], dtype=torch.float64))
    torch.testing.assert_close(p, torch.full((3,), 0.9, dtype=torch.float64))
    torch.testing.assert_close(opt.state[0]["momentum_buffer"], buffer)


def test_state_serves_one_list_of_parameters_and_reset_forgets_it():
    opt = optim.Adam(0.1)
    opt.step([np.zeros(2), np.zeros(3)], [np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match=r"params must be the 2 arrays of the earlier steps "
                                         r"\(same shapes, dtypes and devices: \(2,\) float64, "
                                         r"\(3,\) float64\), got 1 of shapes \[\(2,\)\]"):
        opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="params must be the 2 arrays"):
        opt.step([np.zeros(2), np.zeros(4)], [np.ones(2), np.ones(4)])
    opt.reset()
    p = np.zeros(2)
    opt.step(p, np.ones(2))
    np.testing.assert_allclose(p, [-0.1, -0.1])
    assert opt.state == [{"step": 1, "exp_avg": pytest.approx([0.1, 0.1]),
                          "exp_avg_sq": pytest.approx([0.001, 0.001])}]


def test_momentum_buffer_does_not_alias_the_gradient():
    """backward() accumulates into .grad in place; the first buffer must be a copy."""
    p, g = np.zeros(2), np.ones(2)
    opt = optim.SGD(0.1, momentum=0.9)
    opt.step(p, g)
    g += 100.0
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], [1.0, 1.0])


def test_lr_can_be_changed_between_steps():
    p, opt = np.zeros(1), optim.SGD(0.1)
    opt.step(p, np.ones(1))
    opt.lr = 0.0  # the first rate of a warm-up
    opt.step(p, np.ones(1))
    opt.lr = 0.5
    opt.step(p, np.ones(1))
    np.testing.assert_allclose(p, [-0.6])
    for bad, error, match in [(-0.1, ValueError, "lr must be >= 0, got -0.1"),
                              (math.nan, ValueError, "lr must be finite"),
                              ("fast", TypeError, "lr must be a real number")]:
        with pytest.raises(error, match=match):
            opt.lr = bad
    assert opt.lr == 0.5


def test_repr_shows_the_hyperparameters():
    assert repr(optim.SGD(0.1, momentum=0.9)) == \
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    assert repr(optim.AdamW()) == ("AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, "
                                   "weight_decay=0.01, bias_correction=True)")


_NO_FACTORY = object()


def _step(cls=optim.SGD, **hyper):
    def step(params, grads):
        return cls(**(hyper or dict(lr=0.1))).step(params, grads)
    return step


RO = np.ones(2)
RO.flags.writeable = False

BAD_CONSTRUCTORS = [
    (optim.SGD, dict(lr=0.0), ValueError, "lr must be > 0, got 0.0"),
    (optim.SGD, dict(lr=-1.0), ValueError, "lr must be > 0, got -1.0"),
    (optim.SGD, dict(lr=math.inf), ValueError, "lr must be finite, got inf"),
    (optim.SGD, dict(lr="0.1"), TypeError, "lr must be a real number, got str"),
    (optim.SGD, dict(lr=True), TypeError, "lr must be a real number, got bool"),
    (optim.SGD, dict(lr=None), TypeError, "lr must be a real number, got NoneType"),
    (optim.SGD, dict(lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    (optim.SGD, dict(lr=0.1, momentum=-0.1), ValueError, r"momentum must be in \[0, 1\)"),
    (optim.SGD, dict(lr=0.1, momentum=math.nan), ValueError, "momentum must be finite"),
    (optim.SGD, dict(lr=0.1, momentum=1j), TypeError, "momentum must be a real number"),
    (optim.SGD, dict(lr=0.1, nesterov=True), ValueError,
     "nesterov=True needs momentum > 0, got momentum = 0.0"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov="yes"), TypeError,
     "nesterov must be True or False, got str"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=1), TypeError,
     "nesterov must be True or False, got int"),
    (optim.SGD, dict(lr=0.1, weight_decay=-0.01), ValueError, "weight_decay must be >= 0"),
    (optim.SGD, dict(lr=0.1, weight_decay=math.nan), ValueError, "weight_decay must be finite"),
    (optim.AdaGrad, dict(eps=0.0), ValueError, "eps must be > 0, got 0.0"),
    (optim.AdaGrad, dict(lr=object()), TypeError, "lr must be a real number, got object"),
    (optim.AdaGrad, dict(weight_decay="none"), TypeError, "weight_decay must be a real number"),
    (optim.RMSProp, dict(alpha=1.0), ValueError, r"alpha must be in \[0, 1\), got 1.0"),
    (optim.RMSProp, dict(alpha=None), TypeError, "alpha must be a real number"),
    (optim.RMSProp, dict(eps=-1e-8), ValueError, "eps must be > 0"),
    (optim.Adam, dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] \(beta2\) must be in \[0, 1\)"),
    (optim.Adam, dict(betas=(-0.1, 0.999)), ValueError, r"betas\[0\] \(beta1\) must be in"),
    (optim.Adam, dict(betas=(math.nan, 0.999)), ValueError, r"betas\[0\] \(beta1\) must be "
                                                             r"finite"),
    (optim.Adam, dict(betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\), got float"),
    (optim.Adam, dict(betas=(0.9, 0.99, 0.999)), TypeError, "betas must be a pair"),
    (optim.Adam, dict(betas=("a", 0.999)), TypeError, r"betas\[0\] \(beta1\) must be a real"),
    (optim.Adam, dict(eps=math.inf), ValueError, "eps must be finite"),
    (optim.Adam, dict(weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    (optim.Adam, dict(bias_correction="no"), TypeError,
     "bias_correction must be True or False, got str"),
    (optim.AdamW, dict(weight_decay=-0.01), ValueError, "weight_decay must be >= 0"),
    (optim.AdamW, dict(lr=0), ValueError, "lr must be > 0, got 0.0"),
    (optim.AdamW, dict(bias_correction=None), TypeError, "bias_correction must be True or False"),
    (optim.Optimizer, dict(lr=0.1), TypeError, "Optimizer is the base class, with no update "
                                              "rule: use SGD, AdaGrad, RMSProp, Adam or AdamW"),
]

BAD_STEPS = [
    (_step(), dict(params=[1.0, 2.0], grads=[1.0, 2.0]), TypeError,
     r"params\[0\] must be a NumPy float array or a torch tensor \(updated in place\), got "
     r"float"),
    (_step(), dict(params=np.array([1, 2]), grads=np.ones(2)), TypeError,
     r"params must be a float array \(it is updated in place\), got dtype int64"),
    (_step(), dict(params=torch.tensor([1, 2]), grads=torch.ones(2)), TypeError,
     "params must be a floating tensor"),
    (_step(), dict(params=RO, grads=np.ones(2)), ValueError, "params is read-only"),
    (_step(), dict(params=np.array([1.0, np.inf]), grads=np.ones(2)), ValueError,
     "params must be finite"),
    (_step(), dict(params=np.ones(2), grads=np.ones(3)), ValueError,
     r"grads must have the shape of params, \(2,\), got \(3,\)"),
    (_step(), dict(params=np.ones((2, 3)), grads=np.ones((3, 2))), ValueError,
     r"grads must have the shape of params, \(2, 3\), got \(3, 2\)"),
    (_step(), dict(params=np.ones(2), grads=[1.0, 1.0]), TypeError,
     "params is a single array, so grads must be one array too, got a list of 2"),
    (_step(), dict(params=[np.ones(2)], grads=np.ones(2)), TypeError,
     "params is a list of arrays, so grads must be a list of the same length, got ndarray"),
    (_step(), dict(params=[np.ones(2), np.ones(3)], grads=[np.ones(2)]), ValueError,
     "grads must hold one gradient per parameter, 2, got 1"),
    (_step(), dict(params=[], grads=[]), ValueError, "params must hold at least one array"),
    (_step(), dict(params=[np.ones(2), np.ones(3)], grads=[np.ones(2), np.ones(2)]), ValueError,
     r"grads\[1\] must have the shape of params\[1\], \(3,\), got \(2,\)"),
    (_step(), dict(params=np.ones(2), grads=torch.ones(2)), TypeError,
     "grads must be a NumPy array like params, got Tensor"),
    (_step(), dict(params=torch.ones(2), grads=np.ones(2)), TypeError,
     "grads must be a torch tensor like params, got ndarray"),
    (_step(), dict(params=torch.ones(2), grads=None), TypeError,
     r"grads must be a torch tensor like params, got NoneType \(did backward\(\) run\?\)"),
    (_step(), dict(params=torch.ones(2), grads=torch.ones(2, dtype=torch.float64)), TypeError,
     "grads must have the dtype of params, torch.float32, got torch.float64"),
    (_step(), dict(params=[np.ones(2), torch.ones(2)], grads=[np.ones(2), torch.ones(2)]),
     TypeError, r"params must be all NumPy arrays or all torch tensors, got a mix"),
    (_step(), dict(params=np.ones(2), grads=np.array(["a", "b"])), TypeError,
     "grads must hold real numbers, got dtype <U1"),
    (_step(), dict(params=np.ones(2), grads=np.array([1.0, np.nan])), ValueError,
     "grads must be finite, got 1 NaN/inf entries"),
    (_step(optim.Adam), dict(params=np.ones(2, dtype=np.float32),
                             grads=np.array([1e300, 1.0])), ValueError,
     "grads overflows float32, the dtype of params, when cast"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD_CONSTRUCTORS + BAD_STEPS)
def test_bad_input_is_refused_with_a_clear_message(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_NO_FACTORY)


def test_integer_numpy_gradients_are_converted():
    p = np.zeros(2)
    optim.SGD(0.5).step(p, np.array([1, -2]))
    np.testing.assert_array_equal(p, [-0.5, 1.0])


# --- trajectory ------------------------------------------------------------------------------


def test_trajectory_shape_start_and_independence():
    opt = optim.SGD(0.1, momentum=0.5)
    x0 = np.array([1.0, -2.0])
    path = optim.trajectory(opt, lambda x: 2 * x, x0, 5)
    assert path.shape == (6, 2)
    np.testing.assert_array_equal(path[0], x0)
    np.testing.assert_array_equal(x0, [1.0, -2.0])  # not modified
    assert opt.state == []  # the optimizer passed in is not stepped
    again = optim.trajectory(opt, lambda x: 2 * x, x0, 5)
    np.testing.assert_array_equal(path, again)  # a fresh state each time
    manual, p = [x0.copy()], x0.copy()
    other = optim.SGD(0.1, momentum=0.5)
    for _ in range(5):
        other.step(p, 2 * p)
        manual.append(p.copy())
    np.testing.assert_array_equal(path, manual)


def test_trajectory_keeps_kind_and_dtype():
    x0 = torch.tensor([1.0, 2.0])
    path = optim.trajectory(optim.Adam(0.1), lambda x: 2 * x, x0, 3)
    assert torch.is_tensor(path) and path.dtype == torch.float32 and path.shape == (4, 2)
    path32 = optim.trajectory(optim.Adam(0.1), lambda x: 2 * x, np.ones(2, np.float32), 3)
    assert path32.dtype == np.float32
    path_list = optim.trajectory(optim.SGD(0.1), lambda x: [2 * v for v in x], [1, 2], 2)
    np.testing.assert_allclose(path_list[-1], [0.64, 1.28])


def test_trajectory_divergence_warns_and_leaves_nan_rows():
    # one ConvergenceWarning, no RuntimeWarning from NumPy's overflow inside grad_fn
    with pytest.warns(ConvergenceWarning, match=r"trajectory diverged at step \d+ of 50"):
        path = optim.trajectory(optim.SGD(1.0), lambda x: x**3, np.array([10.0]), 50)
    last = int(np.nonzero(np.isfinite(path[:, 0]))[0][-1])
    assert 0 < last < 50 and np.all(np.isnan(path[last + 1:]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.trajectory(optim.SGD(0.1), lambda x: x**3, np.array([1.0]), 50)


TRAJECTORY_BAD = [
    (dict(optimizer=torch.optim.SGD), TypeError,
     r"optimizer must be a dlnotes.optim optimizer \(SGD, AdaGrad, RMSProp, Adam, AdamW\)"),
    (dict(grad_fn=np.ones(2)), TypeError, "grad_fn must be callable, got ndarray"),
    (dict(grad_fn=lambda x: np.ones(3)), ValueError,
     r"grad_fn must return the gradient with the shape of x, \(2,\), got shape \(3,\)"),
    (dict(grad_fn=lambda x: "g"), TypeError, "grad_fn must return real numbers"),
    (dict(grad_fn=lambda x: torch.ones(2)), TypeError,
     "grad_fn must return a NumPy array for a NumPy x0"),
    (dict(x0=np.ones((2, 2))), ValueError, r"x0 must be 1-D, got shape \(2, 2\)"),
    (dict(x0=np.array([])), ValueError, "x0 must not be empty"),
    (dict(x0=[1.0, math.nan]), ValueError, "x0 must be finite"),
    (dict(x0=torch.ones(2, 2)), ValueError, "x0 must be a non-empty 1-D vector"),
    (dict(n_steps=-1), ValueError, "n_steps must be >= 0, got -1"),
    (dict(n_steps=2.0), TypeError, "n_steps must be an int, got float"),
]


@pytest.mark.parametrize("change, error, match", TRAJECTORY_BAD)
def test_trajectory_bad_input(change, error, match):
    kwargs = dict(optimizer=optim.SGD(0.1), grad_fn=lambda x: 2 * x, x0=np.ones(2), n_steps=3)
    assert_refused(optim.trajectory, dict(kwargs, **change), error, match, lazy=_NO_FACTORY)


def test_trajectory_torch_grad_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="grad_fn must return a torch tensor for a tensor x0"):
        optim.trajectory(optim.SGD(0.1), lambda x: np.ones(2), torch.ones(2), 2)


# --- schedules --------------------------------------------------------------------------------


def torch_lrs(make_scheduler, lr, n):
    """The rates a torch scheduler gives at steps 0 .. n-1."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(out)


S = torch.optim.lr_scheduler


@given(lr=log_uniform(1e-4, 1.0), step_size=st.integers(1, 20), gamma=st.floats(0.05, 1.0))
def test_step_decay_matches_steplr(lr, step_size, gamma):
    ours = [optim.step_decay(lr, step_size, gamma)(t) for t in range(60)]
    np.testing.assert_allclose(ours, torch_lrs(lambda o: S.StepLR(o, step_size, gamma), lr, 60),
                               rtol=1e-12)


@given(lr=log_uniform(1e-4, 1.0), gamma=st.floats(0.5, 1.0))
def test_exp_decay_matches_exponentiallr(lr, gamma):
    ours = [optim.exp_decay(lr, gamma)(t) for t in range(60)]
    np.testing.assert_allclose(ours, torch_lrs(lambda o: S.ExponentialLR(o, gamma), lr, 60),
                               rtol=1e-12)


@given(lr=log_uniform(1e-4, 1.0), T=st.integers(1, 60), frac=st.floats(0.0, 1.0))
def test_cosine_matches_cosineannealinglr(lr, T, frac):
    lr_min = frac * lr
    ours = [optim.cosine(lr, T, lr_min)(t) for t in range(T + 1)]
    want = torch_lrs(lambda o: S.CosineAnnealingLR(o, T_max=T, eta_min=lr_min), lr, T + 1)
    np.testing.assert_allclose(ours, want, rtol=1e-10, atol=1e-12 * lr)
    assert optim.cosine(lr, T, lr_min)(T + 7) == lr_min  # holds after T (torch's rises again)


@given(lr=log_uniform(1e-4, 1.0), warm=st.integers(1, 20), T=st.integers(1, 40),
       start=st.floats(0.01, 0.99))
def test_warmup_then_cosine_matches_sequentiallr(lr, warm, T, start):
    ours = optim.warmup(optim.cosine(lr, T), warm, start=start)
    want = torch_lrs(lambda o: S.SequentialLR(o, [
        S.LinearLR(o, start_factor=start, end_factor=1.0, total_iters=warm),
        S.CosineAnnealingLR(o, T_max=T)], milestones=[warm]), lr, warm + T + 1)
    np.testing.assert_allclose([ours(t) for t in range(warm + T + 1)], want, rtol=1e-10,
                               atol=1e-12 * lr)


def test_warmup_then_constant_matches_sequentiallr():
    ours = optim.warmup(optim.constant(0.1), 10, start=0.25)
    want = torch_lrs(lambda o: S.SequentialLR(o, [
        S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=10),
        S.LambdaLR(o, lambda t: 1.0)], milestones=[10]), 0.1, 30)
    np.testing.assert_allclose([ours(t) for t in range(30)], want, rtol=1e-12)


def test_schedule_spot_values():
    """Fact T16 of chapter 05, to 1e-12."""
    step = optim.step_decay(0.1, step_size=30, gamma=0.1)
    assert [step(t) for t in (0, 29, 30, 59, 60)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001], rel=1e-12)
    exp = optim.exp_decay(0.1, gamma=math.exp(-0.01))
    assert exp(100) == pytest.approx(0.1 * math.exp(-1.0), rel=1e-12)
    inv = optim.inv_time(0.1, k=0.01)
    assert [inv(0), inv(100), inv(300)] == pytest.approx([0.1, 0.05, 0.025], rel=1e-12)
    cos = optim.cosine(0.1, T=100, lr_min=0.001)
    assert [cos(0), cos(50), cos(100), cos(1000)] == pytest.approx(
        [0.1, 0.0505, 0.001, 0.001], rel=1e-12)
    warm = optim.warmup(optim.cosine(0.1, T=100), warmup_steps=10)
    assert [warm(0), warm(5), warm(10), warm(60)] == pytest.approx(
        [0.0, 0.05, 0.1, 0.05], rel=1e-12, abs=1e-15)
    assert optim.constant(0.3)(12345) == 0.3
    assert repr(warm) == "warmup(cosine(lr=0.1, T=100, lr_min=0.0), warmup_steps=10, start=0.0)"


def test_schedule_drives_an_optimizer():
    """A schedule is applied by setting opt.lr before each step (warm-up starts at 0)."""
    schedule, p, opt = optim.warmup(optim.constant(0.1), 4), np.zeros(1), optim.SGD(0.1)
    for t in range(8):
        opt.lr = schedule(t)
        opt.step(p, np.ones(1))
    assert -p[0] == pytest.approx(0.0 + 0.025 + 0.05 + 0.075 + 4 * 0.1, rel=1e-12)


BAD_SCHEDULES = [
    (optim.step_decay, dict(lr=0.1, step_size=0), ValueError, "step_size must be >= 1, got 0"),
    (optim.step_decay, dict(lr=0.1, step_size=2.5), TypeError, "step_size must be an int"),
    (optim.step_decay, dict(lr=0.1, step_size=10, gamma=1.5), ValueError,
     r"gamma must be in \(0, 1\] \(a decay factor\), got 1.5"),
    (optim.step_decay, dict(lr=0.1, step_size=10, gamma=0.0), ValueError, "gamma must be > 0"),
    (optim.step_decay, dict(lr=-0.1, step_size=10), ValueError, "lr must be > 0"),
    (optim.exp_decay, dict(lr=0.1, gamma=math.nan), ValueError, "gamma must be finite"),
    (optim.inv_time, dict(lr=0.1, k=0.0), ValueError, "k must be > 0, got 0.0"),
    (optim.cosine, dict(lr=0.1, T=0), ValueError, "T must be >= 1, got 0"),
    (optim.cosine, dict(lr=0.1, T=10, lr_min=0.2), ValueError,
     "lr_min must be <= lr = 0.1, got 0.2"),
    (optim.cosine, dict(lr=0.1, T=10, lr_min=-0.01), ValueError, "lr_min must be >= 0"),
    (optim.constant, dict(lr=0.0), ValueError, "lr must be > 0"),
    (optim.warmup, dict(after=0.1, warmup_steps=5), TypeError, "after must be callable"),
    (optim.warmup, dict(after=lambda t: 0.0, warmup_steps=5), ValueError,
     r"after must be a schedule whose rate at t = 0 is > 0: after\(0\) must be > 0, got 0.0"),
    (optim.warmup, dict(after=lambda t: "x", warmup_steps=5), TypeError,
     "after must be a schedule whose rate at t = 0 is > 0"),
    (optim.warmup, dict(after=optim.constant(0.1), warmup_steps=0), ValueError,
     "warmup_steps must be >= 1"),
    (optim.warmup, dict(after=optim.constant(0.1), warmup_steps=5, start=1.0), ValueError,
     r"start must be in \[0, 1\), got 1.0"),
    (optim.constant(0.1), dict(t=-1), ValueError, "t must be >= 0, got -1"),
    (optim.cosine(0.1, 10), dict(t=1.5), TypeError, "t must be an int, got float"),
    (optim.step_decay(0.1, 10), dict(t="3"), TypeError, "t must be an int, got str"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD_SCHEDULES)
def test_bad_schedule_input(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_NO_FACTORY)


# --- clipping ---------------------------------------------------------------------------------

SHAPES = st.lists(st.sampled_from([(3,), (2, 2), (1,), (4, 1)]), min_size=1, max_size=3)


@given(shapes=SHAPES, scale=log_uniform(1e-3, 1e3), max_norm=log_uniform(1e-2, 1e2),
       seed=st.integers(0, 2**16), kind=st.sampled_from(["numpy", "torch"]))
def test_clip_grad_norm_matches_torch(shapes, scale, max_norm, seed, kind):
    rng = np.random.default_rng(seed)
    raw = [scale * rng.standard_normal(s) for s in shapes]
    tensors = [torch.nn.Parameter(torch.zeros(s, dtype=torch.float64)) for s in shapes]
    for p, g in zip(tensors, raw):
        p.grad = torch.tensor(g)
    want_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    grads = [torch.tensor(g) for g in raw] if kind == "torch" else [g.copy() for g in raw]
    clipped, norm = optim.clip_grad_norm(grads, max_norm)
    assert norm == pytest.approx(float(want_norm), rel=1e-12)
    for got, p, g, given_g in zip(clipped, tensors, raw, grads):
        assert torch.is_tensor(got) == (kind == "torch")
        np.testing.assert_allclose(np.asarray(got), p.grad.numpy(), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(np.asarray(given_g), g)  # the input is not changed
    flat = np.concatenate([np.asarray(c).ravel() for c in clipped])
    exact, _ = optim.clip_grad_norm(grads, max_norm, eps=0.0)
    flat_exact = np.concatenate([np.asarray(c).ravel() for c in exact])
    assert np.linalg.norm(flat_exact) == pytest.approx(min(norm, max_norm), rel=1e-12)
    whole = np.concatenate([g.ravel() for g in raw])
    cosine = flat @ whole / (np.linalg.norm(flat) * np.linalg.norm(whole))
    assert cosine == pytest.approx(1.0, abs=1e-12)


def test_clip_grad_norm_worked_example_and_small_gradients_unchanged():
    """Fact T19: (30, 40) -> (6, 8) at c = 10; a gradient inside the ball is returned as is."""
    clipped, norm = optim.clip_grad_norm(np.array([30.0, 40.0]), 10.0, eps=0.0)
    assert norm == 50.0
    np.testing.assert_allclose(clipped, [6.0, 8.0], rtol=1e-12)
    small = [np.array([0.3, -0.4]), np.array([[0.1]])]
    same, norm = optim.clip_grad_norm(small, 1.0)
    assert norm == pytest.approx(math.sqrt(0.26), rel=1e-12)
    for a, b in zip(same, small):
        np.testing.assert_array_equal(a, b)
        assert a is not b
    zero, norm = optim.clip_grad_norm(np.zeros(3), 1.0, eps=0.0)
    assert norm == 0.0 and np.all(zero == 0)


def test_clip_grad_norm_extreme_magnitudes_and_dtypes():
    clipped, norm = optim.clip_grad_norm(np.array([3e150, 4e150]), 1.0)
    assert norm == pytest.approx(5e150, rel=1e-12)
    np.testing.assert_allclose(clipped, [0.6, 0.8], rtol=1e-12)
    _, tiny = optim.clip_grad_norm(np.array([3e-200, 4e-200]), 1.0)
    assert tiny == pytest.approx(5e-200, rel=1e-12)
    c32, _ = optim.clip_grad_norm(torch.tensor([30.0, 40.0]), 10.0)
    assert c32.dtype == torch.float32
    torch.testing.assert_close(c32, torch.tensor([6.0, 8.0]), rtol=1e-6, atol=0)
    n32, _ = optim.clip_grad_norm(np.array([30.0, 40.0], dtype=np.float32), 10.0)
    assert n32.dtype == np.float32
    ints, _ = optim.clip_grad_norm(np.array([3, 4]), 1.0, eps=0.0)
    np.testing.assert_allclose(ints, [0.6, 0.8], rtol=1e-12)


@given(shapes=SHAPES, clip=log_uniform(1e-2, 10.0), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["numpy", "torch"]))
def test_clip_grad_value_matches_torch(shapes, clip, seed, kind):
    rng = np.random.default_rng(seed)
    raw = [3 * rng.standard_normal(s) for s in shapes]
    tensors = [torch.nn.Parameter(torch.zeros(s, dtype=torch.float64)) for s in shapes]
    for p, g in zip(tensors, raw):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, clip)
    grads = [torch.tensor(g) for g in raw] if kind == "torch" else [g.copy() for g in raw]
    for got, p in zip(optim.clip_grad_value(grads, clip), tensors):
        assert torch.is_tensor(got) == (kind == "torch")
        np.testing.assert_array_equal(np.asarray(got), p.grad.numpy())


def test_clip_by_value_changes_the_direction():
    """Exercise 8 of chapter 05: (30, 40) at c = 10 -> (10, 10), now at 45 degrees."""
    np.testing.assert_array_equal(optim.clip_grad_value(np.array([30.0, 40.0]), 10.0),
                                  [10.0, 10.0])


BAD_CLIPS = [
    (optim.clip_grad_norm, dict(grads=[1.0, 2.0], max_norm=1.0), TypeError,
     r"grads\[0\] must be a NumPy array or a torch tensor, got float"),
    (optim.clip_grad_norm, dict(grads=[], max_norm=1.0), ValueError,
     "grads must hold at least one array"),
    (optim.clip_grad_norm, dict(grads=[np.ones(2), torch.ones(2)], max_norm=1.0), TypeError,
     "grads must be all NumPy arrays or all torch tensors, got a mix"),
    (optim.clip_grad_norm, dict(grads=[np.ones(2), np.array([np.nan])], max_norm=1.0),
     ValueError, r"grads\[1\] must be finite"),
    (optim.clip_grad_norm, dict(grads=np.array(["a"]), max_norm=1.0), TypeError,
     "grads must hold real numbers"),
    (optim.clip_grad_norm, dict(grads=torch.ones(2, dtype=torch.int64), max_norm=1.0),
     TypeError, "grads must be a floating tensor"),
    (optim.clip_grad_norm, dict(grads=np.ones(2), max_norm=0.0), ValueError,
     "max_norm must be > 0, got 0.0"),
    (optim.clip_grad_norm, dict(grads=np.ones(2), max_norm=1.0, eps=-1.0), ValueError,
     "eps must be >= 0"),
    (optim.clip_grad_value, dict(grads=np.ones(2), clip_value=-1.0), ValueError,
     "clip_value must be > 0"),
    (optim.clip_grad_value, dict(grads=np.array([np.inf]), clip_value=1.0), ValueError,
     "grads must be finite"),
    (optim.clip_grad_value, dict(grads="g", clip_value=1.0), TypeError,
     "grads must be a NumPy array or a torch tensor, got str"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD_CLIPS)
def test_bad_clip_input(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_NO_FACTORY)


# --- CUDA -------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("name", FAMILIES)
def test_cuda_matches_torch_optim_on_cuda_and_cpu(name):
    ours, theirs, _ = family(name, "bowl")
    kwargs = _small_steps(name)
    x, p, opt = _ten_steps_beside_torch(ours, theirs, kwargs, torch.float64, "cuda")
    assert x.device.type == "cuda"
    torch.testing.assert_close(x, p.detach(), rtol=1e-6, atol=1e-12)
    cpu = our_run(ours, kwargs, bowl_grad, np.array([-3.0, 2.0, 4.0]), 10, "numpy")
    np.testing.assert_allclose(x.cpu().numpy(), cpu[-1], rtol=1e-10, atol=1e-12)


@pytest.mark.cuda
def test_cuda_trajectory_clipping_and_device_mix():
    dev = torch.device("cuda")
    path = optim.trajectory(optim.Adam(0.1), lambda x: 2 * x, torch.ones(2, device=dev), 3)
    assert path.device.type == "cuda" and path.shape == (4, 2)
    clipped, norm = optim.clip_grad_norm([torch.tensor([30.0, 40.0], device=dev)], 10.0)
    assert clipped[0].device.type == "cuda" and norm == pytest.approx(50.0)
    assert optim.clip_grad_value(torch.ones(2, device=dev), 0.5).device.type == "cuda"
    with pytest.raises(ValueError, match="grads must be on the device of params"):
        optim.SGD(0.1).step(torch.ones(2, device=dev), torch.ones(2))
