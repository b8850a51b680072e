"""The benchmarks time the right thing: each variant they race computes the same result.

Timings are not tested (they depend on the machine); what is tested is that the code a
benchmark times is correct, on small inputs, so that a ratio it prints compares equals.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("N, d, K, scale", [(7, 5, 3, 1.0), (1, 4, 2, 1.0), (6, 3, 4, 1e3)])
def test_softmax_steps_agree_with_an_independent_reference(N, d, K, scale):
    bench = _load("softmax_step")
    gen = np.random.default_rng(N)
    W, b = scale * gen.standard_normal((K, d)), gen.standard_normal(K)
    X, y = gen.standard_normal((N, d)), gen.integers(0, K, N)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    loss = F.cross_entropy(torch.tensor(X) @ Wt.T + bt, torch.tensor(y))
    loss.backward()
    want = (W - bench.LR * Wt.grad.numpy(), b - bench.LR * bt.grad.numpy(), loss.item())
    t = [torch.tensor(v) for v in (W, b, X, y)]
    for step, args in [(bench.step_numpy, (W, b, X, y)), (bench.step_torch, t),
                       (bench.step_autograd, t)]:
        got = step(*args)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-10, atol=1e-12)
    assert np.isfinite(bench.step_numpy(W, b, X, y)[2])


def test_softmax_step_leaves_its_arguments_alone():
    bench = _load("softmax_step")
    gen = np.random.default_rng(0)
    W, b, X, y = gen.standard_normal((3, 4)), np.zeros(3), gen.standard_normal((5, 4)), \
        gen.integers(0, 3, 5)
    before = [a.copy() for a in (W, b, X, y)]
    bench.step_numpy(W, b, X, y)
    assert all(np.array_equal(a, c) for a, c in zip((W, b, X, y), before))


def test_the_loop_and_the_vectorised_loss_agree():
    bench = _load("vectorize")
    gen = np.random.default_rng(3)
    x, y = gen.uniform(0, 5, 40), gen.standard_normal(40)
    Phi, theta = np.column_stack([np.ones(40), x]), np.array([0.3, -1.2])
    want = np.sum((y - Phi @ theta) ** 2) / (2 * len(y))
    assert bench.loss_loop(theta, Phi, y) == pytest.approx(want, rel=1e-12)


def _reference_epoch(W1, b1, W2, b2, X, y, bench, seed):
    """One epoch of a ReLU MLP with torch autograd and torch.optim, written out here."""
    from dlnotes import data

    params = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    opt = torch.optim.SGD(params, lr=bench.LR, momentum=bench.MOMENTUM)
    X, y, total = torch.tensor(X), torch.tensor(y), 0.0
    for idx in data.minibatches(len(y), bench.BATCH, seed):
        opt.zero_grad()
        h = torch.relu(X[idx] @ params[0].T + params[1])
        loss = F.cross_entropy(h @ params[2].T + params[3], y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(y), [p.detach().numpy() for p in params]


def test_mlp_epoch_variants_agree_with_an_independent_reference():
    from dlnotes import layers

    bench = _load("mlp_epoch")
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((70, 4)), gen.integers(0, 3, 70)  # batches of 32, 32 and 6
    start = [p.copy() for p in layers.mlp([4, 5, 3], seed=0).parameters()]
    want_loss, want_params = _reference_epoch(*start, X, y, bench, seed=2)
    results = bench.one_epoch_each(bench.variants(X, y, sizes=[4, 5, 3]), seed=2)
    assert set(results) == {"numpy", "torch (cpu)", "torch.nn autograd (cpu)"}
    for name, (loss, params) in results.items():
        assert loss == pytest.approx(want_loss, rel=1e-12), name
        for got, want in zip(params, want_params):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    bench.agree(results)
    (name, (loss, params)), *_ = results.items()
    with pytest.raises(AssertionError):  # the benchmark's own check can fail
        bench.agree(dict(results, other=(loss * (1 + 1e-8), params)))


def test_mlp_epoch_data_are_standardised_digits():
    bench = _load("mlp_epoch")
    X, y = bench.digits()
    assert X.shape == (len(y), 64) and np.all(np.abs(X.mean(0)) < 1e-12)
    assert np.all((np.abs(X.std(0) - 1) < 1e-12) | (X.std(0) == 0))


@pytest.mark.cuda
def test_mlp_epoch_variants_agree_on_cuda():
    from dlnotes.device import device

    bench = _load("mlp_epoch")
    gen = np.random.default_rng(1)
    X, y = gen.standard_normal((70, 4)), gen.integers(0, 3, 70)
    cpu = bench.one_epoch_each(bench.variants(X, y, sizes=[4, 5, 3]), seed=0)
    gpu = bench.one_epoch_each(bench.variants(X, y, device("cuda"), sizes=[4, 5, 3]), seed=0)
    assert set(gpu) == {"torch (cuda)", "torch.nn autograd (cuda)"}
    bench.agree(dict(cpu, **gpu), rtol=1e-9)
