"""Tests of dlnotes.layers: every backward against finite differences and torch autograd
(NumPy, torch float64 and float32, random shapes down to a batch of one and d_in = 1),
every activation and derivative against torch.nn.functional, stability at extreme
inputs, the torch.nn twin, the worked numbers of chapter 07, and bad input."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from tools import assert_refused, one_thread  # noqa: F401 (one_thread: an autouse fixture)

from dlnotes import data, optim
from dlnotes import gradcheck as gc
from dlnotes import layers as L


# --- activations -----------------------------------------------------------------------------

# (name, module instance, independent torch reference). Softplus: torch.logaddexp(x, 0),
# because F.softplus switches to the identity beyond x = 20 (see test_torch_softplus_...).
ACTS = [
    ("relu", L.ReLU(), F.relu),
    ("leaky_relu", L.LeakyReLU(), lambda t: F.leaky_relu(t, 0.01)),
    ("leaky_relu(0.2)", L.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)),
    ("leaky_relu(-0.5)", L.LeakyReLU(-0.5), lambda t: F.leaky_relu(t, -0.5)),
    ("sigmoid", L.Sigmoid(), torch.sigmoid),
    ("tanh", L.Tanh(), torch.tanh),
    ("elu", L.ELU(), F.elu),
    ("elu(0.5)", L.ELU(0.5), lambda t: F.elu(t, 0.5)),
    ("gelu", L.GELU(), F.gelu),
    ("silu", L.SiLU(), F.silu),
    ("softplus", L.Softplus(), lambda t: torch.logaddexp(t, torch.zeros_like(t))),
    ("identity", L.Identity(), lambda t: t * 1),
]
KINKED = {"relu", "leaky_relu", "leaky_relu(0.2)", "leaky_relu(-0.5)", "elu(0.5)"}
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-15), torch.float32: dict(rtol=2e-6, atol=1e-7)}

#: Around 0, at the kinks, in the tails and at the extremes the brief names.
SPECIAL = np.array([0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5, -0.752, -1.278, 3.0,
                    -8.0, -30.0, 30.0, 19.9, 20.1, -40.0, 45.0, 1e4, -1e4])


def _f(act, x):
    return act.f(x, *act._args())


def _df(act, x):
    return act.df(x, *act._args())


def _reference(ref, x: np.ndarray, dtype=torch.float64):
    """f and f' by autograd through the torch reference (elementwise, so grad of the sum)."""
    t = torch.tensor(x, dtype=dtype, requires_grad=True)
    out = ref(t)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


finite = st.floats(-50, 50, allow_nan=False, width=64)


@pytest.mark.parametrize("name, act, ref", ACTS, ids=[a[0] for a in ACTS])
@given(xs=st.lists(finite, min_size=1, max_size=12))
def test_activation_and_derivative_match_torch_autograd(name, act, ref, xs):
    x = np.concatenate([np.array(xs), SPECIAL])
    f_ref, df_ref = _reference(ref, x)
    np.testing.assert_allclose(_f(act, x), f_ref, **TOL[torch.float64])
    np.testing.assert_allclose(_df(act, x), df_ref, **TOL[torch.float64])
    # the same code on tensors, float64 and float32, gives the same numbers
    for dtype in (torch.float64, torch.float32):
        t = torch.tensor(x, dtype=dtype)
        f_ref, df_ref = _reference(ref, x, dtype)
        got_f, got_df = _f(act, t), _df(act, t)
        assert got_f.dtype == got_df.dtype == dtype
        np.testing.assert_allclose(got_f.numpy(), f_ref, **TOL[dtype])
        np.testing.assert_allclose(got_df.numpy(), df_ref, **TOL[dtype])


@pytest.mark.parametrize("name, act, ref", ACTS, ids=[a[0] for a in ACTS])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_derivative_matches_finite_differences(name, act, ref, seed, n):
    x = np.random.default_rng(seed).uniform(-6, 6, n)
    if name in KINKED:
        assume(np.min(np.abs(x)) > 1e-3)  # a difference straddling the kink is meaningless
    r = np.random.default_rng(seed + 1).standard_normal(n)
    fd = gc.numerical_grad(lambda v: float(np.sum(r * _f(act, v))), x)
    np.testing.assert_allclose(r * _df(act, x), fd, rtol=1e-7, atol=1e-9)


def test_one_sided_derivatives_at_zero_are_torchs():
    zero = np.zeros(1)
    assert L.ReLU.df(zero)[0] == 0.0                     # the left value
    assert L.LeakyReLU.df(zero, 0.2)[0] == 0.2           # the left value
    assert L.ELU.df(zero, 0.5)[0] == 0.5                 # the left value alpha exp(0)
    for ref, want in [(F.relu, 0.0), (lambda t: F.leaky_relu(t, 0.2), 0.2),
                      (lambda t: F.elu(t, 0.5), 0.5)]:
        assert _reference(ref, zero)[1][0] == want


def test_known_values_of_the_summary_table():
    zero = np.zeros(1)
    assert L.Sigmoid.df(zero)[0] == 0.25 and L.Tanh.df(zero)[0] == 1.0
    assert L.GELU.df(zero)[0] == 0.5 and L.SiLU.df(zero)[0] == 0.5
    assert L.Softplus.f(zero)[0] == pytest.approx(math.log(2), rel=1e-15)
    grid = np.linspace(-3, 0, 300_001)
    g, s = L.GELU.f(grid), L.SiLU.f(grid)
    assert grid[g.argmin()] == pytest.approx(-0.752, abs=1e-3) and g.min() == pytest.approx(
        -0.170, abs=1e-3)
    assert grid[s.argmin()] == pytest.approx(-1.278, abs=1e-3) and s.min() == pytest.approx(
        -0.278, abs=1e-3)


def test_gelu_keeps_its_relative_accuracy_in_the_left_tail():
    from scipy.special import ndtr

    x = np.array([-10.0, -20.0, -37.0])
    np.testing.assert_allclose(L.GELU.f(x), x * ndtr(x), rtol=1e-13)
    assert np.all(L.GELU.f(x) < 0)  # torch's (1 + erf) / 2 form rounds these to -0


def test_sigmoid_derivative_keeps_its_accuracy_in_both_tails():
    x = np.array([-40.0, 40.0, -700.0, 700.0])
    np.testing.assert_allclose(L.Sigmoid.df(x), np.exp(-np.abs(x)), rtol=1e-12)  # e^-|x|/(1+..)^2


@pytest.mark.parametrize("name, act, ref", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize("make", [np.array, lambda v: np.array(v, np.float32),
                                  lambda v: torch.tensor(v),
                                  lambda v: torch.tensor(v, dtype=torch.float64)],
                         ids=["numpy64", "numpy32", "torch32", "torch64"])
def test_activations_are_finite_and_quiet_at_extreme_inputs(name, act, ref, make):
    big = [-1e4, -1e3, -100.0, 0.0, 100.0, 1e3, 1e4]
    if make(big).dtype in (np.float64, torch.float64):
        big += [-1e150, 1e150, -1e300, 1e300]
    x = make(big)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f, df = _f(act, x), _df(act, x)
        out = act(x)
        grad = act.backward(torch.ones_like(x) if torch.is_tensor(x) else np.ones_like(x))
    for a in (f, df, out, grad):
        assert type(a) is type(x) and a.dtype == x.dtype and tuple(a.shape) == tuple(x.shape)
        assert bool((a == a).all()) and bool((abs(a) < math.inf).all()), (name, a)


def test_limits_at_plus_minus_1e4():
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(L.Sigmoid.f(x), [0.0, 1.0])
    np.testing.assert_array_equal(L.Softplus.f(x), [0.0, 1e4])
    np.testing.assert_array_equal(L.SiLU.f(x), [0.0, 1e4])
    np.testing.assert_array_equal(L.GELU.f(x), [0.0, 1e4])
    np.testing.assert_array_equal(L.ELU.f(x), [-1.0, 1e4])
    for cls in (L.Sigmoid, L.Tanh, L.ELU, L.SiLU, L.GELU):
        assert cls.df(x)[0] == 0.0
    np.testing.assert_array_equal(L.Softplus.df(x), [0.0, 1.0])


def test_activation_module_backward_is_upstream_times_derivative(rng):
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for name, act, _ in ACTS:
        x_before = x.copy()
        np.testing.assert_array_equal(act(x), _f(act, x))
        np.testing.assert_array_equal(act.backward(g), g * _df(act, x))
        np.testing.assert_array_equal(x, x_before)


def test_mask_example_of_chapter_07():
    relu = L.ReLU()
    np.testing.assert_array_equal(relu(np.array([52.0, -1.0, 3.0])), [52.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu.backward(np.array([5.0, 6.0, 7.0])), [5.0, 0.0, 7.0])
    relu(np.array([0.0]))
    assert relu.backward(np.array([1.0]))[0] == 0.0


def test_activation_names():
    assert set(L.ACTIVATIONS) == {"relu", "leaky_relu", "sigmoid", "tanh", "elu", "gelu", "silu",
                                  "softplus", "identity"}
    assert all(issubclass(c, L.Module) for c in L.ACTIVATIONS.values())


def test_torch_softplus_differs_only_beyond_its_threshold():
    x = np.linspace(-30, 60, 1001)
    twin = L.to_torch(L.Softplus())(torch.tensor(x)).numpy()
    np.testing.assert_allclose(L.Softplus.f(x), twin, rtol=0, atol=2.1e-9)
    np.testing.assert_allclose(L.Softplus.f(x[x < 20]), twin[x < 20], rtol=1e-14, atol=1e-300)


# --- Linear ----------------------------------------------------------------------------------

shapes = dict(N=st.integers(1, 6), d_in=st.integers(1, 5), d_out=st.integers(1, 4),
              seed=st.integers(0, 2**32 - 1))


def _problem(N, d_in, d_out, seed):
    gen = np.random.default_rng(seed)
    return (gen.standard_normal((N, d_in)), gen.standard_normal((d_out, d_in)),
            gen.standard_normal(d_out), gen.standard_normal((N, d_out)))


def _autograd_linear(X, W, b, G, dtype):
    Xt, Wt, bt = (torch.tensor(a, dtype=dtype, requires_grad=True) for a in (X, W, b))
    out = F.linear(Xt, Wt, bt)
    (torch.tensor(G, dtype=dtype) * out).sum().backward()
    return out.detach().numpy(), Xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


@given(**shapes)
def test_linear_backward_matches_finite_differences_and_autograd(N, d_in, d_out, seed):
    X, W, b, G = _problem(N, d_in, d_out, seed)
    layer = L.Linear.from_arrays(W, b)
    out = layer(X)
    dX = layer.backward(G)
    dW, db = layer.gradients()
    assert (dX.shape, dW.shape, db.shape) == (X.shape, W.shape, b.shape)
    ref = _autograd_linear(X, W, b, G, torch.float64)
    for got, want in zip((out, dX, dW, db), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)

    def loss(X=X, W=W, b=b):
        return float(np.sum(G * L.Linear.from_arrays(W, b).forward(X)))

    for got, fd in [(dX, gc.numerical_grad(lambda v: loss(X=v), X)),
                    (dW, gc.numerical_grad(lambda v: loss(W=v), W)),
                    (db, gc.numerical_grad(lambda v: loss(b=v), b))]:
        assert gc.rel_error(got, fd) < 1e-8


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@given(**shapes)
def test_linear_on_tensors_matches_autograd(dtype, N, d_in, d_out, seed):
    X, W, b, G = _problem(N, d_in, d_out, seed)
    layer = L.Linear.from_arrays(torch.tensor(W, dtype=dtype), torch.tensor(b, dtype=dtype))
    out = layer(torch.tensor(X, dtype=dtype))
    dX = layer.backward(torch.tensor(G, dtype=dtype))
    got = (out, dX, *layer.gradients())
    assert all(torch.is_tensor(a) and a.dtype == dtype and not a.requires_grad for a in got)
    tol = TOL[dtype] if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    for g, want in zip(got, _autograd_linear(X, W, b, G, dtype)):
        np.testing.assert_allclose(g.numpy(), want, **tol)


def test_gradients_are_overwritten_not_accumulated_and_the_cache_is_untouched(rng):
    X, W, b, G = _problem(5, 3, 2, 1)
    layer = L.Linear.from_arrays(W, b)
    X_before = X.copy()
    layer(X)
    layer.backward(G)
    layer.backward(2 * G)
    np.testing.assert_allclose(layer.dW, 2 * G.T @ X)
    np.testing.assert_allclose(layer.db, 2 * G.sum(0))
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(layer.W, W)  # backward does not step


def test_from_arrays_copies():
    W, b = np.ones((2, 3)), np.zeros(2)
    layer = L.Linear.from_arrays(W, b)
    layer.W[0, 0] = 5.0
    assert W[0, 0] == 1.0
    assert L.Linear.from_arrays([[1, 2]], [3]).W.dtype == np.float64


@pytest.mark.parametrize("init, std", [("he", math.sqrt(2 / 400)),
                                       ("xavier", math.sqrt(2 / 700)),
                                       ("lecun", math.sqrt(1 / 400))])
def test_initialisation_scales(init, std):
    layer = L.Linear(400, 300, seed=3, init=init)
    assert layer.W.shape == (300, 400) and layer.b.shape == (300,)
    assert abs(layer.W.mean()) < 0.01 * std
    assert layer.W.std() == pytest.approx(std, rel=0.01)
    np.testing.assert_array_equal(layer.b, 0.0)
    zeros = L.Linear(4, 3, init="zeros")
    assert not zeros.W.any() and not zeros.b.any()


def test_seeds_and_kinds_give_the_same_weights():
    a, b = L.Linear(5, 4, seed=7), L.Linear(5, 4, seed=7)
    np.testing.assert_array_equal(a.W, b.W)
    assert not np.array_equal(a.W, L.Linear(5, 4, seed=8).W)
    assert not np.array_equal(L.Linear(5, 4, seed=None).W, L.Linear(5, 4, seed=None).W)
    t64 = L.Linear(5, 4, seed=7, like=torch.zeros(1, dtype=torch.float64))
    t32 = L.Linear(5, 4, seed=7, like=torch.zeros(1))
    n32 = L.Linear(5, 4, seed=7, like=np.zeros(1, np.float32))
    assert t64.W.dtype == torch.float64 and t32.W.dtype == torch.float32
    assert n32.W.dtype == np.float32 and n32.b.dtype == np.float32
    np.testing.assert_array_equal(t64.W.numpy(), a.W)
    np.testing.assert_array_equal(t32.W.numpy(), a.W.astype(np.float32))
    np.testing.assert_array_equal(n32.W, a.W.astype(np.float32))
    out = n32(np.ones((2, 5), np.float32))
    assert out.dtype == np.float32
    assert L.Linear(5, 4)(np.ones((2, 5), int)).dtype == np.float64  # integers are converted


# --- loss ------------------------------------------------------------------------------------

@given(N=st.integers(1, 6), K=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_softmax_cross_entropy_matches_torch(N, K, seed, scale):
    gen = np.random.default_rng(seed)
    Z, y = scale * gen.standard_normal((N, K)), gen.integers(0, K, N)
    ce = L.SoftmaxCrossEntropy()
    value = ce(Z, y)
    dZ = ce.backward()
    Zt = torch.tensor(Z, requires_grad=True)
    want = F.cross_entropy(Zt, torch.tensor(y))
    want.backward()
    assert np.isfinite(value) and np.all(np.isfinite(dZ))
    assert value == pytest.approx(want.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(dZ, Zt.grad.numpy(), rtol=1e-12, atol=1e-15)
    if scale == 1.0:  # away from saturation, where differences of the loss are informative
        fd = gc.numerical_grad(lambda v: float(L.SoftmaxCrossEntropy()(v, y)), Z)
        np.testing.assert_allclose(dZ, fd, rtol=1e-6, atol=1e-9)
    for dtype in (torch.float64, torch.float32):
        tv = ce(torch.tensor(Z, dtype=dtype), torch.tensor(y))
        assert tv.dtype == dtype and tv.ndim == 0
        assert ce.backward().dtype == dtype
        assert tv.item() == pytest.approx(want.item(), rel=1e-5, abs=1e-5)


# --- Sequential, mlp, the torch.nn twin --------------------------------------------------------

@pytest.mark.parametrize("sizes, count", [([3, 4, 2], 26), ([3, 4, 4, 2], 46),
                                          ([64, 32, 10], 2410), ([64, 64, 10], 4810),
                                          ([64, 128, 10], 9610), ([784, 100, 10], 79510),
                                          ([600, 60, 40, 10], 38910)])
def test_mlp_structure_and_parameter_count(sizes, count):
    model = L.mlp(sizes, "tanh")
    kinds = [type(m) for m in model]
    assert kinds == [L.Linear, L.Tanh] * (len(sizes) - 2) + [L.Linear]
    assert sum(p.size for p in model.parameters()) == count
    assert sum(p.numel() for p in L.to_torch(model).parameters()) == count


def _loss_fn(model, X, y):
    return float(L.SoftmaxCrossEntropy()(model(X), y))


@pytest.mark.parametrize("name", sorted(L.ACTIVATIONS))
@given(N=st.integers(1, 5), d_in=st.integers(1, 4), hidden=st.integers(1, 5),
       K=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_mlp_backward_matches_torch_nn_autograd(name, N, d_in, hidden, K, seed):
    gen = np.random.default_rng(seed)
    X, y = gen.standard_normal((N, d_in)), gen.integers(0, K, N)
    for like, tol in [(None, dict(rtol=1e-10, atol=1e-13)),
                      (torch.zeros(0, dtype=torch.float64), dict(rtol=1e-10, atol=1e-13)),
                      (torch.zeros(0), dict(rtol=1e-4, atol=1e-6))]:
        model = L.mlp([d_in, hidden, hidden, K], name, seed=seed, init="xavier", like=like)
        net = L.to_torch(model)
        Xk = X if like is None else torch.tensor(X, dtype=like.dtype)
        yk = y if like is None else torch.tensor(y)
        ce = L.SoftmaxCrossEntropy()
        value = ce(model(Xk), yk)
        dX = model.backward(ce.backward())
        Xt = torch.tensor(X, dtype=net[0].weight.dtype, requires_grad=True)
        want = F.cross_entropy(net(Xt), torch.tensor(y))
        want.backward()
        assert float(value) == pytest.approx(want.item(), rel=tol["rtol"], abs=tol["atol"])
        pairs = [(dX, Xt.grad)] + list(zip(model.gradients(),
                                           [p.grad for p in net.parameters()]))
        for got, ref in pairs:
            assert tuple(got.shape) == tuple(ref.shape)
            np.testing.assert_allclose(np.asarray(got), ref.numpy(), **tol)


def test_whole_tanh_mlp_against_finite_differences():
    """Chapter 07, fact 10: a 4-6-3 tanh MLP on five examples, h = 1e-5."""
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((5, 4)), gen.integers(0, 3, 5)
    model = L.mlp([4, 6, 3], "tanh", seed=1, init="xavier")
    model[0].b[:] = gen.standard_normal(6)  # a generic point: nonzero biases
    ce = L.SoftmaxCrossEntropy()
    ce(model(X), y)
    model.backward(ce.backward())
    for p, g in zip(model.parameters(), model.gradients()):
        original = p.copy()

        def loss(v, p=p, original=original):
            p[...] = v
            try:
                return _loss_fn(model, X, y)
            finally:
                p[...] = original

        assert gc.rel_error(g, gc.numerical_grad(loss, original, h=1e-5)) < 1e-8


def test_digits_batch_gradients_equal_autograd():
    """Chapter 07, fact 14: a 32-example digits batch, atol 1e-12."""
    X, y = data.digits(seed=0)["train"]
    X, y = X[:32], y[:32]
    model = L.mlp([64, 64, 10], seed=0)
    ce = L.SoftmaxCrossEntropy()
    ce(model(X), y)
    model.backward(ce.backward())
    net = L.to_torch(model)
    F.cross_entropy(net(torch.tensor(X)), torch.tensor(y)).backward()
    for g, p in zip(model.gradients(), net.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=0, atol=1e-12)


def test_worked_two_layer_example_of_chapter_07():
    first = L.Linear.from_arrays([[1.0, -1.0], [-1.0, 0.5]], [0.0, 0.0])
    second = L.Linear.from_arrays([[2.0, 1.0], [-1.0, 3.0]], [0.0, 0.0])
    relu, ce = L.ReLU(), L.SoftmaxCrossEntropy()
    x = np.array([[2.0, 1.0]])
    s1 = first(x)
    np.testing.assert_array_equal(s1, [[1.0, -1.5]])
    loss = ce(second(relu(s1)), np.array([1]))
    assert loss == pytest.approx(3.0485874, abs=1e-7)
    assert loss == pytest.approx(math.log1p(math.exp(3)), rel=1e-15)
    dz = ce.backward()
    np.testing.assert_allclose(dz, [[0.9525741, -0.9525741]], atol=1e-7)
    dh1 = second.backward(dz)
    np.testing.assert_allclose(dh1, [[2.8577224, -1.9051483]], atol=1e-7)
    np.testing.assert_array_equal(second.dW[:, 1], 0.0)  # the dead unit passes nothing on
    dx = first.backward(relu.backward(dh1))
    np.testing.assert_allclose(first.dW, [[5.7154448, 2.8577224], [0.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(dx, [[2.8577224, -2.8577224]], atol=1e-7)


def test_initial_loss_with_a_zero_output_layer_is_log_k():
    X, y = data.digits(seed=0)["train"]
    model = L.Sequential(L.Linear(64, 64, seed=0), L.ReLU(), L.Linear(64, 10, init="zeros"))
    assert _loss_fn(model, X, y) == pytest.approx(math.log(10), abs=1e-12)


@pytest.mark.parametrize("name", sorted(L.ACTIVATIONS))
def test_to_torch_computes_the_same_function(name, rng):
    model = L.mlp([3, 5, 4, 2], name, seed=2)
    X = 3 * rng.standard_normal((7, 3))
    net = L.to_torch(model)
    assert isinstance(net, torch.nn.Sequential) and len(net) == len(model)
    np.testing.assert_allclose(net(torch.tensor(X)).detach().numpy(), model(X), rtol=1e-12,
                               atol=1e-14)
    net[0].weight.data += 1  # a copy: training the twin leaves the model alone
    assert not np.allclose(net[0].weight.detach().numpy(), model[0].W)
    single = L.to_torch(L.Linear(3, 2))
    assert isinstance(single, torch.nn.Sequential) and single[0].weight.dtype == torch.float64
    t = L.to_torch(L.mlp([3, 2], like=torch.zeros(0)))
    assert t[0].weight.dtype == torch.float32


def test_sequential_backward_returns_the_input_gradient_and_concatenates():
    model = L.mlp([3, 4, 2], seed=0)
    assert len(model.parameters()) == 4
    assert [tuple(p.shape) for p in model.parameters()] == [(4, 3), (4,), (2, 4), (2,)]
    X = np.ones((2, 3))
    dX = model.backward(np.ones_like(model(X)))
    assert dX.shape == X.shape
    assert [g.shape for g in model.gradients()] == [p.shape for p in model.parameters()]


def test_model_on_torch_tensors_keeps_kind_dtype_and_device():
    for dtype in (torch.float32, torch.float64):
        model = L.mlp([4, 3, 2], "gelu", like=torch.zeros(0, dtype=dtype))
        out = model(torch.ones(5, 4, dtype=dtype))
        assert out.dtype == dtype and out.device.type == "cpu" and not out.requires_grad
        pred = L.predict(model, torch.ones(5, 4, dtype=dtype))
        assert pred.dtype == torch.int64 and pred.shape == (5,)


# --- training helpers --------------------------------------------------------------------------

def test_train_epoch_is_the_documented_loop(rng):
    X, y = rng.standard_normal((11, 3)), rng.integers(0, 3, 11)
    model, twin = L.mlp([3, 5, 3], seed=4), L.mlp([3, 5, 3], seed=4)
    mean = L.train_epoch(model, L.SoftmaxCrossEntropy(), optim.SGD(0.1, momentum=0.9), X, y, 4,
                         seed=9)
    ce, opt, total = L.SoftmaxCrossEntropy(), optim.SGD(0.1, momentum=0.9), 0.0
    for idx in data.minibatches(11, 4, seed=9):
        total += ce(twin(X[idx]), y[idx]) * len(idx)
        twin.backward(ce.backward())
        opt.step(twin.parameters(), twin.gradients())
    assert mean == pytest.approx(total / 11, rel=1e-14)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a, b)


def test_train_epoch_on_tensors_matches_numpy(rng):
    X, y = rng.standard_normal((13, 3)), rng.integers(0, 3, 13)
    model, twin = L.mlp([3, 5, 3], seed=4), L.mlp([3, 5, 3], seed=4, like=torch.zeros(0).double())
    for epoch in range(3):
        a = L.train_epoch(model, L.SoftmaxCrossEntropy(), optim.SGD(0.1), X, y, 5, seed=epoch)
        b = L.train_epoch(twin, L.SoftmaxCrossEntropy(), optim.SGD(0.1), torch.tensor(X),
                          torch.tensor(y), 5, seed=epoch)
        assert isinstance(b, float) and a == pytest.approx(b, rel=1e-12)


def test_predict_and_accuracy(rng):
    model = L.mlp([3, 4, 3], seed=1)
    X = rng.standard_normal((20, 3))
    pred = L.predict(model, X)
    np.testing.assert_array_equal(pred, model(X).argmax(1))
    y = pred.copy()
    y[:5] = (y[:5] + 1) % 3
    assert L.accuracy(model, X, y) == 0.75
    assert L.accuracy(model, X, list(y)) == 0.75
    twin = L.mlp([3, 4, 3], seed=1, like=torch.zeros(0, dtype=torch.float64))
    assert L.accuracy(twin, torch.tensor(X), torch.tensor(y)) == 0.75


# --- bad input -------------------------------------------------------------------------------

_NO_FACTORY = object()
NP = L.Linear(3, 2)
T64 = L.Linear(3, 2, like=torch.zeros(0, dtype=torch.float64))


def _backward_of(module, *forward_args):
    def run(grad_out):
        if forward_args:
            module(*forward_args)
        return module.backward(grad_out)
    return run


class _Custom(L.Module):
    def forward(self, x):
        return x


BAD = [
    (L.Linear, dict(d_in=0, d_out=2), ValueError, "d_in must be >= 1, got 0"),
    (L.Linear, dict(d_in=3, d_out=2.0), TypeError, "d_out must be an int"),
    (L.Linear, dict(d_in=3, d_out=2, init="glorot"), ValueError,
     "init must be one of 'he', 'xavier', 'lecun', 'zeros', got 'glorot'"),
    (L.Linear, dict(d_in=3, d_out=2, seed=-1), ValueError, "seed must be >= 0"),
    (L.Linear, dict(d_in=3, d_out=2, like="float32"), TypeError,
     "like must be a NumPy array, a torch tensor or None, got str"),
    (L.Linear, dict(d_in=3, d_out=2, like=np.zeros(1, int)), TypeError,
     "like must have dtype float32 or float64"),
    (L.Linear, dict(d_in=3, d_out=2, like=torch.zeros(1, dtype=torch.float16)), TypeError,
     r"like must have dtype float32 or float64 \(the parameters take it\), got torch.float16"),
    (NP.forward, dict(X=np.ones((4, 5))), ValueError,
     r"X must have 3 columns, \(N, d_in\) with d_in = 3 inputs, the columns of W \(2, 3\), got "
     r"shape \(4, 5\)"),
    (NP.forward, dict(X=np.ones(3)), ValueError, r"X must be 2-D.*one example\? pass it as a row"),
    (NP.forward, dict(X=np.ones((0, 3))), ValueError, "X must hold at least one example"),
    (NP.forward, dict(X=torch.ones(4, 3)), TypeError,
     "X must be a NumPy array like the layer's parameters.*got a torch tensor"),
    (T64.forward, dict(X=np.ones((4, 3))), TypeError,
     r"X must be a torch tensor like the layer's parameters \(torch.float64 on cpu\), got "
     r"ndarray"),
    (T64.forward, dict(X=torch.ones(4, 3)), TypeError,
     "X must have the dtype of the layer's parameters, torch.float64, got torch.float32"),
    (NP.forward, dict(X=np.ones((4, 3), np.float32)), TypeError,
     "X must have the dtype of the layer's parameters, float64, got float32"),
    (NP.forward, dict(X=np.array([[1.0, np.nan, 0.0]])), ValueError,
     "X must be finite, got 1 NaN/inf entries"),
    (NP.forward, dict(X=np.ones((2, 3), bool)), TypeError, "X must hold real numbers, got "
     "dtype bool"),
    (NP.forward, dict(X="abc"), TypeError, "X must be an array"),
    (NP.forward, dict(X=np.ones((2, 3), complex)), TypeError, "X must hold real numbers"),
    (_backward_of(L.Linear(3, 2)), dict(grad_out=np.ones((4, 2))), RuntimeError,
     "Linear.backward called before forward"),
    (_backward_of(L.Linear(3, 2), np.ones((4, 3))), dict(grad_out=np.ones((4, 3))), ValueError,
     r"grad_out must have the shape of the output, \(4, 2\) \(N, d_out\), got \(4, 3\)"),
    (_backward_of(L.Linear(3, 2), np.ones((4, 3))), dict(grad_out=torch.ones(4, 2)), TypeError,
     "grad_out must be a NumPy array like the cached input"),
    (L.Linear(3, 2).gradients, dict(), RuntimeError, "backward has not run yet"),
    (L.Linear.from_arrays, dict(W=np.ones(3), b=np.ones(1)), ValueError,
     r"W must be 2-D \(d_out, d_in\)"),
    (L.Linear.from_arrays, dict(W=np.ones((2, 3)), b=np.ones(3)), ValueError,
     r"b must have shape \(2,\), one bias per row of W, got shape \(3,\)"),
    (L.Linear.from_arrays, dict(W=np.ones((2, 3)), b=torch.ones(2)), TypeError,
     "b must be a NumPy array like W"),
    (L.Linear.from_arrays, dict(W=torch.ones(2, 3), b=torch.ones(2).double()), TypeError,
     "b must have the dtype of W, torch.float32, got torch.float64"),
    (L.LeakyReLU, dict(negative_slope="small"), TypeError, "negative_slope must be a real"),
    (L.LeakyReLU, dict(negative_slope=math.inf), ValueError, "negative_slope must be finite"),
    (L.ELU, dict(alpha=0.0), ValueError, "alpha must be > 0, got 0.0"),
    (L.ReLU.f, dict(x="abc"), TypeError, "x must be an array"),
    (L.Sigmoid.df, dict(x=np.array([True])), TypeError, "x must hold real numbers, got dtype "
     "bool"),
    (L.GELU.f, dict(x=np.array([1.0, np.inf])), ValueError, "x must be finite"),
    (L.Tanh.f, dict(x=np.ones(2, np.float16)), TypeError, "x must be float32 or float64, got "
     "dtype float16"),
    (L.ELU.f, dict(x=np.ones(2), alpha=-1.0), ValueError, "alpha must be > 0"),
    (_backward_of(L.ReLU()), dict(grad_out=np.ones(3)), RuntimeError,
     "ReLU.backward called before forward"),
    (_backward_of(L.Tanh(), np.ones((2, 3))), dict(grad_out=np.ones((3, 2))), ValueError,
     r"grad_out must have the shape of the output, \(2, 3\), got \(3, 2\)"),
    (_backward_of(L.Tanh(), torch.ones(2, 3)), dict(grad_out=torch.ones(2, 3).double()),
     TypeError, "grad_out must have the dtype of the cached input, torch.float32"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones((2, 3)), y=np.array([0, 3])), ValueError,
     r"y must be class indices in \[0, 3\) for 3 classes \(columns of Z\), got values from 0 "
     r"to 3"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones((2, 3)), y=np.array([0, -1])), ValueError,
     r"y must be class indices in \[0, 3\)"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones((2, 3)), y=np.array([0.0, 1.0])),
     TypeError, r"y must be integer class indices in \[0, 3\), got dtype float64"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones((2, 3)), y=np.array([0, 1, 2])),
     ValueError,
     r"y must hold one class index per row of the logits Z, shape \(2,\), got shape \(3,\)"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones(3), y=np.array([0])), ValueError,
     "Z must be 2-D"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=torch.ones(2, 3), y=np.array([0, 1])), TypeError,
     "y must be a torch tensor of class indices like the logits Z"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.ones((2, 3)), y=torch.tensor([0, 1])),
     TypeError, "y must be a NumPy array of class indices like the logits"),
    (L.SoftmaxCrossEntropy().forward, dict(Z=np.array([[0.0, np.nan]]), y=np.array([0])),
     ValueError, "Z must be finite"),
    (L.SoftmaxCrossEntropy().backward, dict(), RuntimeError,
     "SoftmaxCrossEntropy.backward called before forward"),
    (L.Sequential, dict(), ValueError, "Sequential needs at least one module"),
    (lambda: L.Sequential(L.Linear(3, 2), "relu"), dict(), TypeError,
     r"modules\[1\] must be a dlnotes.layers Module \(Linear, ReLU, ...\), got str"),
    (lambda: L.Sequential(L.Linear(3, 2), L.SoftmaxCrossEntropy()), dict(), TypeError,
     r"the loss stays outside the model"),
    (lambda: L.Sequential(L.Linear(3, 2), L.ReLU(), T64), dict(), TypeError,
     "the modules' parameters must share one kind, dtype and device, got a mix"),
    (lambda: L.Sequential(L.Linear(3, 2), L.Linear(2, 2, like=np.zeros(0, np.float32))), dict(),
     TypeError, "must share one kind, dtype and device"),
    (lambda: L.Sequential(L.Linear(3, 4), L.ReLU(), L.Linear(5, 2)), dict(), ValueError,
     "modules\\[2\\] takes 5 inputs but the layer before it outputs 4"),
    (lambda: L.Sequential(L.mlp([3, 4, 5]), L.Tanh(), L.Linear(4, 2)), dict(), ValueError,
     "modules\\[2\\] takes 4 inputs but the layer before it outputs 5"),
    (L.mlp([3, 4, 2]).forward, dict(x=np.array([[1.0, np.nan, 0.0]])), ValueError,
     "X must be finite"),
    (L.mlp([3, 4, 2]).forward, dict(x=np.ones((2, 4))), ValueError, "X must have 3 columns"),
    (L.Sequential(L.ReLU(), L.Linear(3, 2)).forward, dict(x=torch.ones(2, 3)), TypeError,
     "X must be a NumPy array like the layer's parameters"),
    (L.mlp([3, 4, 2]).backward, dict(grad_out=np.ones((2, 2))), RuntimeError,
     "Linear.backward called before forward"),
    (_backward_of(L.mlp([3, 4, 2]), np.ones((5, 3))), dict(grad_out=np.ones((5, 4))),
     ValueError, r"grad_out must have the shape of the output, \(5, 2\)"),
    (_backward_of(L.mlp([3, 4, 2]), np.ones((5, 3))), dict(grad_out=np.full((5, 2), np.inf)),
     ValueError, "grad_out must be finite"),
    (L.mlp, dict(sizes=[3]), ValueError, "sizes must hold at least two widths"),
    (L.mlp, dict(sizes="3, 2"), TypeError, "sizes must be a list of layer widths"),
    (L.mlp, dict(sizes=5), TypeError, "sizes must be a list of layer widths"),
    (L.mlp, dict(sizes=[3, 0, 2]), ValueError, r"sizes\[1\] must be >= 1, got 0"),
    (L.mlp, dict(sizes=[3, 2.5]), TypeError, r"sizes\[1\] must be an int"),
    (L.mlp, dict(sizes=[3, 2], activation="swish"), ValueError,
     "activation must be one of 'relu', 'leaky_relu', .*'identity', got 'swish'"),
    (L.mlp, dict(sizes=[3, 2], activation=L.ReLU), ValueError, "activation must be one of"),
    (L.mlp, dict(sizes=[3, 2], init="he_uniform"), ValueError, "init must be one of"),
    (L.mlp, dict(sizes=[3, 2], like=[0.0]), TypeError, "like must be a NumPy array, a torch"),
    (L.to_torch, dict(model="net"), TypeError, "model must be a dlnotes.layers Module"),
    (L.to_torch, dict(model=L.Sequential(L.Linear(2, 2), _Custom())), TypeError,
     "model holds a _Custom, which has no torch.nn twin"),
]

_X, _Y = np.ones((6, 3)), np.array([0, 1, 2, 0, 1, 2])
_GOOD = dict(model=L.mlp([3, 4, 3]), loss=L.SoftmaxCrossEntropy(), optimizer=optim.SGD(0.1),
             X=_X, y=_Y, batch_size=4, seed=0)
BAD_TRAINING = [
    (dict(model="net"), TypeError, "model must be a dlnotes.layers Module"),
    (dict(loss=F.cross_entropy), TypeError, "loss must be a dlnotes.layers.SoftmaxCrossEntropy"),
    (dict(optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)), TypeError,
     r"optimizer must be a dlnotes.optim optimizer \(SGD, Adam, ...\), got SGD"),
    (dict(X=np.ones((6, 4))), ValueError, r"X must have 3 columns, \(N, d\) with one example a "
     r"row and d = 3 inputs of the first Linear, got shape \(6, 4\)"),
    (dict(X=torch.ones(6, 3).double()), TypeError, "X must be a NumPy array like the model's "
     "parameters"),
    (dict(y=_Y[:5]), ValueError, r"y must hold one class index per row of X, shape \(6,\), got "
     r"shape \(5,\)"),
    (dict(y=np.array([0, 1, 2, 0, 1, 3])), ValueError,
     r"y must be class indices in \[0, 3\) for the 3 outputs of the model, got values from 0 "
     r"to 3"),
    (dict(y=_Y.astype(float)), TypeError,
     r"y must be integer class indices in \[0, 3\), got dtype float64"),
    (dict(y=torch.tensor(_Y)), TypeError, "y must be a NumPy array of class indices like X"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    (dict(seed=1.5), TypeError, "seed must be an int"),
    (dict(model=L.Sequential(L.ReLU())), ValueError, "model has no parameters to train"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_NO_FACTORY)


@pytest.mark.parametrize("change, error, match", BAD_TRAINING)
def test_bad_training_input_is_refused_before_anything_changes(change, error, match):
    before = [p.copy() for p in _GOOD["model"].parameters()]
    assert_refused(L.train_epoch, dict(_GOOD, **change), error, match, lazy=_NO_FACTORY)
    for a, b in zip(_GOOD["model"].parameters(), before):
        np.testing.assert_array_equal(a, b)


def _overflowing():
    model = L.mlp([3, 4, 2], seed=0)
    model[0].W[:] = 1e200
    model[2].W[:] = 1e200
    return model


def test_an_overflow_inside_a_model_is_refused_not_returned():
    X, y = np.ones((5, 3)), np.array([0, 1, 0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused with a message, not warned about
        with pytest.raises(ValueError, match="Z must be finite.*an overflow: rescale the inputs"):
            L.train_epoch(_overflowing(), L.SoftmaxCrossEntropy(), optim.SGD(0.1), X, y, 2,
                          seed=0)
        with pytest.raises(ValueError, match="the model's output must be finite.*an overflow"):
            L.predict(_overflowing(), X)
        model = _overflowing()
        model[2].W[:] = 1e-200
        out = model(X)  # large hidden values (1e200), finite output
        model.backward(np.full_like(out, 1e300))  # dW2 = G^T H overflows, quietly
        with pytest.raises(ValueError, match=r"grads\[2\] must be finite"):
            optim.SGD(0.1).step(model.parameters(), model.gradients())


def test_nested_sequentials_and_leading_activations():
    gen = np.random.default_rng(5)
    X = gen.standard_normal((4, 3))
    model = L.Sequential(L.Tanh(), L.mlp([3, 4, 4], "silu", seed=1), L.ReLU(), L.Linear(4, 2))
    assert model._io == (3, 2)
    net = L.to_torch(model)
    Xt = torch.tensor(X, requires_grad=True)
    out = net(Xt)
    np.testing.assert_allclose(model(X), out.detach().numpy(), rtol=1e-12)
    G = gen.standard_normal((4, 2))
    (out * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(model.backward(G), Xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    for g, p in zip(model.gradients(), net.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_bad_prediction_input_is_refused():
    model = L.mlp([3, 4, 3], like=torch.zeros(0))
    assert_refused(L.predict, dict(model=model, X=np.ones((2, 3), np.float32)), TypeError,
                   "X must be a torch tensor like the model's parameters", lazy=_NO_FACTORY)
    assert_refused(L.accuracy, dict(model=model, X=torch.ones(2, 3), y=torch.tensor([0, 5])),
                   ValueError, r"y must be class indices in \[0, 3\)", lazy=_NO_FACTORY)
    assert_refused(L.predict, dict(model=object(), X=np.ones((2, 3))), TypeError,
                   "model must be a dlnotes.layers Module", lazy=_NO_FACTORY)
