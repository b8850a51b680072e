"""Tests of the chapter 05 analysis helpers of dlnotes.optim (heavy_ball_rate,
tuned_heavy_ball, effective_step, ema) and of the chapter's facts that test_optim.py
does not already cover: the bias correction is unbiased (T12), the noise floor of SGD
(T17), parameter averaging (T18). References are independent: np.roots, simulation of
the recurrence, torch.optim, torch.optim.swa_utils."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import optim
from tools import assert_refused

_NOT_LAZY = object()

# --- heavy_ball_rate ------------------------------------------------------------------------


def rate_by_roots(a, mu):
    """The largest |root| of r^2 - (1 + mu - a) r + mu, by NumPy's companion matrix."""
    return float(np.max(np.abs(np.roots([1.0, -(1 + mu - a), mu]))))


def rate_by_simulation(a, mu, n=400):
    """The growth rate of x_t = (1 + mu - a) x_{t-1} - mu x_{t-2}, run as momentum."""
    path = optim.trajectory(optim.SGD(1.0, momentum=mu) if mu else optim.SGD(1.0),
                            lambda x: a * x, np.ones(1), n)
    x = np.abs(path[:, 0])
    # the geometric mean ratio over the last half (oscillation averages out)
    return float(np.exp((np.log(x[-1]) - np.log(x[n // 2])) / (n - n // 2)))


@given(a=st.floats(-3.0, 8.0), mu=st.floats(0.0, 0.99))
def test_rate_is_the_largest_root(a, mu):
    assert optim.heavy_ball_rate(a, mu) == pytest.approx(rate_by_roots(a, mu), rel=1e-6,
                                                         abs=1e-6)


@pytest.mark.parametrize("a, mu", [(0.05, 0.0), (1.5, 0.0), (0.02, 0.9), (1.0, 0.9),
                                   (3.7, 0.9), (3.9, 0.9), (0.3, 0.5), (3.0, 0.5)])
def test_rate_matches_a_run_of_momentum(a, mu):
    assert optim.heavy_ball_rate(a, mu) == pytest.approx(rate_by_simulation(a, mu), rel=2e-2)


@given(a=st.floats(-5.0, 10.0), mu=st.floats(0.0, 0.999))
def test_stable_exactly_inside_the_region(a, mu):
    """Fact T3 in general: rate < 1 iff 0 < eta lambda < 2 (1 + mu) (away from the edge)."""
    edge = min(abs(a), abs(a - 2 * (1 + mu)))
    if edge < 1e-6:
        return
    assert (optim.heavy_ball_rate(a, mu) < 1) == (0 < a < 2 * (1 + mu))


@given(mu=st.floats(0.01, 0.99), frac=st.floats(0.001, 0.999))
def test_complex_region_has_rate_sqrt_mu(mu, frac):
    lo, hi = (1 - math.sqrt(mu)) ** 2, (1 + math.sqrt(mu)) ** 2
    a = lo + frac * (hi - lo)
    assert optim.heavy_ball_rate(a, mu) == pytest.approx(math.sqrt(mu), rel=1e-12)


def test_no_momentum_is_gradient_descent_and_the_chapter_numbers():
    a = np.linspace(-1, 3, 41)
    np.testing.assert_allclose(optim.heavy_ball_rate(a, 0.0), np.abs(1 - a), rtol=1e-12,
                               atol=1e-15)
    assert optim.heavy_ball_rate(3.7, 0.9) < 1 < optim.heavy_ball_rate(3.9, 0.9)
    assert optim.heavy_ball_rate(3.8, 0.9) == pytest.approx(1.0, rel=1e-12)


def test_rate_broadcasts_and_keeps_kinds():
    a, mu = np.linspace(0, 4, 5)[None, :], np.array([[0.0], [0.5], [0.9]])
    out = optim.heavy_ball_rate(a, mu)
    assert out.shape == (3, 5) and out.dtype == np.float64
    assert isinstance(optim.heavy_ball_rate(1.0, 0.5), float)
    t = optim.heavy_ball_rate(torch.tensor([1.0, 3.9], dtype=torch.float32), 0.9)
    assert torch.is_tensor(t) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), [math.sqrt(0.9), rate_by_roots(3.9, 0.9)], rtol=1e-6)
    both = optim.heavy_ball_rate(torch.tensor(2.0, dtype=torch.float64),
                                 torch.tensor([0.0, 0.5], dtype=torch.float64))
    np.testing.assert_allclose(both.numpy(), [1.0, rate_by_roots(2.0, 0.5)], rtol=1e-12)
    assert optim.heavy_ball_rate(torch.tensor([1, 2]), 0.0).dtype == torch.float64
    assert optim.heavy_ball_rate([], 0.5).shape == (0,)


def test_rate_is_finite_at_extreme_inputs():
    out = optim.heavy_ball_rate(np.array([1e300, -1e300, 1e-300, 0.0]), 0.999)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:2], 1e300, rtol=1e-12)
    assert out[3] == pytest.approx(1.0, abs=1e-12)  # eta lambda = 0: the root 1, no pull
    big = optim.heavy_ball_rate(np.array([1.7e308]), 0.5)
    assert np.isfinite(big[0])


BAD_RATE = [
    (dict(lr_curvature=1.0, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (dict(lr_curvature=1.0, momentum=np.array([0.5, -0.1])), ValueError,
     r"momentum must be in \[0, 1\)"),
    (dict(lr_curvature=np.array([1.0, np.nan]), momentum=0.5), ValueError,
     "lr_curvature must be finite"),
    (dict(lr_curvature="a", momentum=0.5), TypeError, "lr_curvature must"),
    (dict(lr_curvature=1.0, momentum=1j), TypeError, "momentum must hold real numbers"),
    (dict(lr_curvature=np.ones(3), momentum=np.full(2, 0.5)), ValueError,
     "lr_curvature and momentum must broadcast together"),
    (dict(lr_curvature=torch.ones(2, dtype=torch.float32),
          momentum=torch.full((2,), 0.5, dtype=torch.float64)), TypeError,
     "must share one floating dtype"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_RATE)
def test_rate_bad_input(kwargs, error, match):
    assert_refused(optim.heavy_ball_rate, kwargs, error, match, lazy=_NOT_LAZY)


# --- tuned_heavy_ball -----------------------------------------------------------------------


def test_tuned_heavy_ball_numbers_of_the_chapter():
    """kappa = 50: lr 0.0614, mu 0.566, rate 0.752 (GD's best 0.961); kappa = 100
    (exercise 3): rate 9/11, lr 4/121."""
    lr, mu = optim.tuned_heavy_ball(1.0, 50.0)
    assert lr == pytest.approx(0.0614, abs=5e-5) and mu == pytest.approx(0.566, abs=5e-4)
    assert math.sqrt(mu) == pytest.approx(0.752, abs=5e-4)
    lr, mu = optim.tuned_heavy_ball(1.0, 100.0)
    assert lr == pytest.approx(4 / 121, rel=1e-12) and mu == pytest.approx((9 / 11) ** 2,
                                                                            rel=1e-12)


def test_tuned_heavy_ball_step_count_on_the_running_example():
    """Fact T5: 46 steps on 1/2 (x^2 + 50 y^2) from (-10, 1) to L < 1e-6."""
    lr, mu = optim.tuned_heavy_ball(1.0, 50.0)
    h = np.array([1.0, 50.0])
    path = optim.trajectory(optim.SGD(lr, momentum=mu), lambda x: h * x,
                            np.array([-10.0, 1.0]), 100)
    assert int(np.argmax(0.5 * (path**2 * h).sum(axis=1) < 1e-6)) == 46


@given(lo=st.floats(1e-3, 10.0), kappa=st.floats(1.5, 1e4))
def test_tuned_heavy_ball_is_optimal(lo, kappa):
    """Every curvature in [lo, hi] converges at rate sqrt(mu), and no other (lr, mu) on a
    grid does better on the worst curvature."""
    hi = lo * kappa
    lr, mu = optim.tuned_heavy_ball(lo, hi)
    lams = np.linspace(lo, hi, 201)
    worst = float(np.max(optim.heavy_ball_rate(lr * lams, mu)))
    assert worst == pytest.approx(math.sqrt(mu), rel=1e-7)  # a double root at the ends
    assert math.sqrt(mu) < (kappa - 1) / (kappa + 1)  # beats gradient descent's best
    for f_lr in (0.8, 0.95, 1.05, 1.2):
        for f_mu in (0.9, 1.0, 1.02):
            other = min(mu * f_mu, 0.9999)
            rates = optim.heavy_ball_rate(f_lr * lr * lams, other)
            assert float(np.max(rates)) >= worst * (1 - 1e-7)


def test_tuned_heavy_ball_extremes():
    lr, mu = optim.tuned_heavy_ball(1.7e308, 1.7e308)
    assert lr > 0 and math.isfinite(lr) and mu == 0.0
    lr, mu = optim.tuned_heavy_ball(1e-300, 1e-300)
    assert lr == pytest.approx(1e300, rel=1e-12) and mu == 0.0
    lr, mu = optim.tuned_heavy_ball(1e-150, 1e150)
    assert math.isfinite(lr) and 0 <= mu <= 1


BAD_TUNED = [
    (dict(lam_min=2.0, lam_max=1.0), ValueError, r"lam_min must be <= lam_max"),
    (dict(lam_min=0.0, lam_max=1.0), ValueError, "lam_min must be > 0"),
    (dict(lam_min=1.0, lam_max=math.inf), ValueError, "lam_max must be finite"),
    (dict(lam_min="1", lam_max=2.0), TypeError, "lam_min must be a real number"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_TUNED)
def test_tuned_heavy_ball_bad_input(kwargs, error, match):
    assert_refused(optim.tuned_heavy_ball, kwargs, error, match, lazy=_NOT_LAZY)


# --- effective_step -------------------------------------------------------------------------


def torch_steps(torch_cls, kwargs, grads):
    """|step| / lr of torch.optim, the parameter put back to 0 before every step."""
    p = torch.nn.Parameter(torch.zeros(grads.shape[1:], dtype=torch.float64))
    opt = torch_cls([p], **kwargs)
    out = []
    for g in grads:
        with torch.no_grad():
            p.zero_()
        p.grad = torch.tensor(g)
        opt.step()
        out.append(p.detach().abs().numpy() / kwargs["lr"])
    return np.array(out)


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    (optim.RMSProp, torch.optim.RMSprop, dict(lr=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.001)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.001, betas=(0.0, 0.9))),
])
def test_effective_step_matches_torch(ours, theirs, kwargs, rng):
    grads = rng.standard_normal((60, 3)) * np.array([1.0, 1e-3, 1e3])
    grads[10] *= 100  # a spike
    np.testing.assert_allclose(optim.effective_step(ours(**kwargs), grads),
                               torch_steps(theirs, kwargs, grads), rtol=1e-9, atol=1e-12)


def test_effective_step_formulas_of_the_chapter():
    """Facts T6-T9 as step sizes under a constant gradient of size 1."""
    t = np.arange(1, 10_001)
    g = np.ones(10_000)
    np.testing.assert_allclose(optim.effective_step(optim.SGD(0.3), g[:50]), 1.0, rtol=1e-15)
    np.testing.assert_allclose(optim.effective_step(optim.AdaGrad(0.1), g), 1 / np.sqrt(t),
                               rtol=1e-6)
    np.testing.assert_allclose(optim.effective_step(optim.RMSProp(0.1), g[:2000]),
                               1 / np.sqrt(1 - 0.99 ** t[:2000]), rtol=1e-6)
    np.testing.assert_allclose(optim.effective_step(optim.Adam(0.1), g[:100]), 1.0, rtol=1e-6)
    raw = optim.effective_step(optim.Adam(0.1, bias_correction=False), g)
    np.testing.assert_allclose(raw, (1 - 0.9**t) / np.sqrt(1 - 0.999**t), rtol=1e-6)
    assert raw[0] == pytest.approx(3.16228, rel=1e-5)
    assert int(np.argmax(raw)) + 1 == 12 and raw.max() == pytest.approx(6.57, abs=0.01)
    assert raw[999] == pytest.approx(1.26, abs=0.005)
    r995 = optim.effective_step(optim.Adam(0.1, betas=(0.9, 0.995), bias_correction=False),
                                g[:200])
    assert r995[0] == pytest.approx(1.41421, rel=1e-5)


def test_effective_step_kinds_and_the_optimizer_is_untouched():
    opt = optim.Adam(0.1)
    opt.step(np.zeros(2), np.ones(2))
    before = [dict(s) for s in opt.state]
    out = optim.effective_step(opt, torch.ones(4, 2, dtype=torch.float32))
    assert out.dtype == torch.float32 and out.shape == (4, 2)
    assert opt.state[0]["step"] == before[0]["step"] == 1
    assert optim.effective_step(opt, np.ones(3, dtype=np.float32)).dtype == np.float32
    assert optim.effective_step(opt, [1.0, 2.0]).shape == (2,)


BAD_EFFECTIVE = [
    (dict(optimizer="adam", grads=np.ones(3)), TypeError, "optimizer must be a dlnotes.optim"),
    (dict(optimizer=torch.optim.SGD, grads=np.ones(3)), TypeError, "optimizer must be"),
    (dict(optimizer=optim.SGD(0.1), grads=np.ones((2, 2, 2))), ValueError,
     r"grads must be a non-empty \(T,\) or \(T, d\)"),
    (dict(optimizer=optim.SGD(0.1), grads=np.ones((0, 2))), ValueError, "grads must be"),
    (dict(optimizer=optim.SGD(0.1), grads=np.array([1.0, np.nan])), ValueError,
     "grads must be finite"),
    (dict(optimizer=optim.SGD(0.1), grads=torch.tensor([1.0, math.inf])), ValueError,
     "grads must be finite"),
    (dict(optimizer=optim.SGD(0.1), grads=torch.ones(3, dtype=torch.int64)), TypeError,
     "grads must be a floating tensor"),
    (dict(optimizer=optim.SGD(0.1), grads="g"), TypeError, "grads must"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_EFFECTIVE)
def test_effective_step_bad_input(kwargs, error, match):
    assert_refused(optim.effective_step, kwargs, error, match, lazy=_NOT_LAZY)


def test_effective_step_refuses_a_zero_rate():
    opt = optim.SGD(0.1)
    opt.lr = 0.0
    with pytest.raises(ValueError, match="optimizer.lr must be > 0"):
        optim.effective_step(opt, np.ones(2))


# --- ema ------------------------------------------------------------------------------------


def ema_by_torch(xs, beta):
    """torch.optim.swa_utils.AveragedModel with the EMA rule, one update per iterate."""
    model = torch.nn.Linear(xs.shape[1], 1, bias=False).double()
    avg = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(beta))
    out = []
    for x in xs:
        with torch.no_grad():
            model.weight.copy_(torch.tensor(x)[None, :])
        avg.update_parameters(model)
        out.append(avg.module.weight.detach()[0].numpy().copy())
    return np.array(out)


@given(beta=st.floats(0.0, 0.999), seed=st.integers(0, 2**16))
def test_ema_matches_torch_averaged_model(beta, seed):
    xs = np.random.default_rng(seed).standard_normal((30, 3))
    np.testing.assert_allclose(optim.ema(xs, beta), ema_by_torch(xs, beta), rtol=1e-12,
                               atol=1e-14)


@given(beta=st.floats(0.0, 0.99), seed=st.integers(0, 2**16))
def test_ema_closed_form(beta, seed):
    """avg_t = beta^t x_0 + (1 - beta) sum_{k=1}^t beta^(t-k) x_k."""
    xs = np.random.default_rng(seed).standard_normal(25)
    t = len(xs) - 1
    closed = beta**t * xs[0] + (1 - beta) * sum(beta ** (t - k) * xs[k] for k in range(1, t + 1))
    assert optim.ema(xs, beta)[-1] == pytest.approx(closed, rel=1e-10, abs=1e-12)


def test_ema_constant_identity_and_kinds():
    """Fact T18 (first half): a constant sequence is its own average; beta = 0 is the
    identity."""
    const = np.full((100, 2), 3.7)
    np.testing.assert_allclose(optim.ema(const, 0.99), const, rtol=1e-12)
    xs = np.random.default_rng(0).standard_normal((5, 2, 2))
    np.testing.assert_array_equal(optim.ema(xs, 0.0), xs)
    t = optim.ema(torch.arange(6, dtype=torch.float32), 0.5)
    assert t.dtype == torch.float32
    assert optim.ema(np.arange(4, dtype=np.float32), 0.5).dtype == np.float32
    assert optim.ema([1, 2, 3], 0.5).dtype == np.float64
    ext = optim.ema(np.array([1e308, -1e308, 1e308]), 0.9)
    assert np.all(np.isfinite(ext))


def test_ema_beats_the_raw_iterate_on_noisy_regression():
    """Fact T18 (second half): minibatch SGD at a constant rate rattles around the
    least-squares solution; the average of its iterates sits closer."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = X @ rng.standard_normal(20) + 0.5 * rng.standard_normal(2000)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    w, opt, path = np.zeros(20), optim.SGD(0.05), []
    for _ in range(3000):
        idx = rng.integers(0, 2000, 16)
        opt.step(w, X[idx].T @ (X[idx] @ w - y[idx]) / 16)
        path.append(w.copy())
    path = np.array(path)
    raw = np.linalg.norm(path[-1] - w_star)
    avg = np.linalg.norm(optim.ema(path, 0.995)[-1] - w_star)
    assert avg < 0.5 * raw


BAD_EMA = [
    (dict(iterates=np.ones(3), beta=1.0), ValueError, r"beta must be in \[0, 1\)"),
    (dict(iterates=np.ones(3), beta=-0.1), ValueError, r"beta must be in \[0, 1\)"),
    (dict(iterates=np.array(1.0), beta=0.5), ValueError, "iterates must be a non-empty"),
    (dict(iterates=np.ones((0, 2)), beta=0.5), ValueError, "iterates must"),
    (dict(iterates=np.array([1.0, np.inf]), beta=0.5), ValueError, "iterates must be finite"),
    (dict(iterates=torch.tensor([1.0, math.nan]), beta=0.5), ValueError,
     "iterates must be finite"),
    (dict(iterates=torch.ones(3, dtype=torch.int32), beta=0.5), TypeError,
     "iterates must be a floating tensor"),
    (dict(iterates=["a"], beta=0.5), TypeError, "iterates must"),
    (dict(iterates=np.ones(3), beta="0.9"), TypeError, "beta must be a real number"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_EMA)
def test_ema_bad_input(kwargs, error, match):
    assert_refused(optim.ema, kwargs, error, match, lazy=_NOT_LAZY)


# --- facts of chapter 05 about the stochastic setting --------------------------------------


def test_bias_correction_makes_the_first_moment_unbiased():
    """Fact T12: 2,000 runs (one coordinate each) with stationary noisy gradients of mean
    0.7 and standard deviation 2: the corrected m_hat has mean 0.7 within 5 standard errors
    at every step; the raw m at step 1 is off by far more."""
    rng = np.random.default_rng(0)
    runs, b1, g_bar = 2000, 0.9, 0.7
    p, opt = np.zeros(runs), optim.Adam(1e-3, betas=(b1, 0.999))
    for t in range(1, 31):
        opt.step(p, g_bar + 2.0 * rng.standard_normal(runs))
        m = opt.state[0]["exp_avg"]
        m_hat = m / (1 - b1**t)
        se = m_hat.std(ddof=1) / math.sqrt(runs)
        assert abs(m_hat.mean() - g_bar) < 5 * se, t
        if t == 1:
            assert abs(m.mean() - g_bar) > 50 * m.std(ddof=1) / math.sqrt(runs)


@pytest.mark.parametrize("lr, lam", [(0.1, 1.0), (0.5, 1.0), (0.02, 10.0)])
def test_noise_floor_of_constant_step_sgd(lr, lam):
    """Fact T17: theta <- (1 - lr lam) theta - lr xi has stationary variance
    lr sigma^2 / (lam (2 - lr lam)); 20,000 independent chains, relative 3%."""
    rng = np.random.default_rng(1)
    sigma, chains = 2.0, 20_000
    theta, opt = np.zeros(chains), optim.SGD(lr)
    for _ in range(int(20 / (lr * lam)) + 100):
        opt.step(theta, lam * theta + sigma * rng.standard_normal(chains))
    want = lr * sigma**2 / (lam * (2 - lr * lam))
    assert theta.var() == pytest.approx(want, rel=0.03)


# --- CUDA -------------------------------------------------------------------------------------


@pytest.mark.cuda
def test_cuda_kinds_and_agreement_with_cpu():
    dev = torch.device("cuda")
    rate = optim.heavy_ball_rate(torch.tensor([1.0, 3.9], device=dev, dtype=torch.float64), 0.9)
    assert rate.device.type == "cuda"
    np.testing.assert_allclose(rate.cpu().numpy(), optim.heavy_ball_rate(np.array([1.0, 3.9]),
                                                                         0.9), rtol=1e-12)
    grads = torch.randn(50, 3, dtype=torch.float64, device=dev)
    steps = optim.effective_step(optim.Adam(1e-3), grads)
    assert steps.device.type == "cuda"
    np.testing.assert_allclose(steps.cpu().numpy(),
                               optim.effective_step(optim.Adam(1e-3), grads.cpu().numpy()),
                               rtol=1e-10)
    xs = torch.randn(30, 4, dtype=torch.float32, device=dev)
    avg = optim.ema(xs, 0.9)
    assert avg.device.type == "cuda" and avg.dtype == torch.float32
    np.testing.assert_allclose(avg.cpu().numpy(), optim.ema(xs.cpu().numpy(), 0.9), rtol=1e-5)
