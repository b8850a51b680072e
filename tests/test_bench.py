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
