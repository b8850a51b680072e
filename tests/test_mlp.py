"""The from-scratch MLP of dlnotes.layers trains exactly like torch.nn with autograd and
torch.optim (same initial weights, same minibatches, same losses step by step), on NumPy,
on torch tensors and on CUDA, and it learns the bundled digits."""

import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlnotes import data, device, optim
from dlnotes import layers as L
from tools import one_thread  # noqa: F401 (an autouse fixture)

STEPS = 50


@pytest.fixture(scope="module")
def digits():
    """The training and test splits, standardised with the training statistics (pixels
    that never vary are only centred, chapter 07, section 2.12)."""
    split = data.digits(seed=0)
    (X, y), (Xt, yt) = split["train"], split["test"]
    mean, std = X.mean(0), X.std(0)
    std[std == 0] = 1.0
    return (X - mean) / std, y, (Xt - mean) / std, yt


def _batches(N: int, batch_size: int, n: int) -> list[np.ndarray]:
    """The first ``n`` minibatches of epochs 0, 1, 2, ... (seed = epoch number)."""
    out, epoch = [], 0
    while len(out) < n:
        out += data.minibatches(N, batch_size, seed=epoch)
        epoch += 1
    return out[:n]


def _scratch_losses(model, opt, X, y, batches) -> np.ndarray:
    """One loss per step: forward, loss, backward, dlnotes.optim step."""
    ce, out = L.SoftmaxCrossEntropy(), []
    for idx in batches:
        if torch.is_tensor(X):
            idx = torch.as_tensor(idx, device=X.device)
        out.append(float(ce(model(X[idx]), y[idx])))
        model.backward(ce.backward())
        opt.step(model.parameters(), model.gradients())
    return np.array(out)


def _torch_losses(net, opt, X, y, batches) -> np.ndarray:
    """The same with torch.nn, autograd and torch.optim."""
    out = []
    for idx in batches:
        idx = torch.as_tensor(idx, device=X.device)
        opt.zero_grad()
        loss = F.cross_entropy(net(X[idx]), y[idx])
        loss.backward()
        opt.step()
        out.append(loss.item())
    return np.array(out)


OPTIMIZERS = {
    "sgd": (lambda: optim.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (lambda: optim.SGD(0.05, momentum=0.9),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "nesterov": (lambda: optim.SGD(0.05, momentum=0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (lambda: optim.Adam(1e-3), lambda p: torch.optim.Adam(p, lr=1e-3)),
}


def _race(X, y, sizes, activation, opt_name, like, tensor_device=None):
    """Losses of both implementations over STEPS steps, and both final parameter lists."""
    model = L.mlp(sizes, activation, seed=0, like=like)
    net = L.to_torch(model)
    dtype = net[0].weight.dtype
    make_ours, make_theirs = OPTIMIZERS[opt_name]
    batches = _batches(len(y), 32, STEPS)
    Xt = torch.tensor(X, dtype=dtype, device=tensor_device)
    yt = torch.tensor(y, device=tensor_device)
    Xk, yk = (X, y) if like is None else (Xt, yt)
    ours = _scratch_losses(model, make_ours(), Xk, yk, batches)
    theirs = _torch_losses(net, make_theirs(net.parameters()), Xt, yt, batches)
    return ours, theirs, model.parameters(), [p.detach() for p in net.parameters()]


def _as_numpy(a):
    return a.detach().cpu().numpy() if torch.is_tensor(a) else a


@pytest.mark.parametrize("opt_name, activation, sizes", [
    ("sgd", "relu", [64, 32, 10]),
    ("momentum", "relu", [64, 32, 10]),
    ("momentum", "tanh", [64, 32, 16, 10]),
    ("nesterov", "gelu", [64, 32, 10]),
    ("adam", "relu", [64, 32, 10]),
    ("adam", "silu", [64, 32, 16, 10]),
])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_first_50_steps_match_torch_nn_and_torch_optim(digits, opt_name, activation, sizes,
                                                       kind):
    X, y, _, _ = digits
    like = None if kind == "numpy" else torch.zeros(0, dtype=torch.float64)
    ours, theirs, p_ours, p_theirs = _race(X, y, sizes, activation, opt_name, like)
    assert len(ours) == STEPS and theirs[-1] < theirs[0]  # it trains
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    for a, b in zip(p_ours, p_theirs):
        np.testing.assert_allclose(_as_numpy(a), b.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("opt_name", ["momentum", "adam"])
def test_first_50_steps_match_in_float32(digits, opt_name):
    X, y, _, _ = digits
    ours, theirs, _, _ = _race(X, y, [64, 32, 10], "relu", opt_name, torch.zeros(0))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)  # measured: below 1e-6


def test_the_comparison_can_fail(digits):
    """A deliberately different run (another learning rate) is far outside the tolerance."""
    X, y, _, _ = digits
    model = L.mlp([64, 32, 10], seed=0)
    net = L.to_torch(model)
    batches = _batches(len(y), 32, 10)
    ours = _scratch_losses(model, optim.SGD(0.1), X, y, batches)
    theirs = _torch_losses(net, torch.optim.SGD(net.parameters(), lr=0.11), torch.tensor(X),
                           torch.tensor(y), batches)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)  # same start
    assert np.max(np.abs(ours - theirs) / theirs) > 1e-6


@pytest.mark.cuda
@pytest.mark.parametrize("opt_name", ["momentum", "adam"])
def test_first_50_steps_on_cuda_match_torch_nn_and_the_cpu(digits, opt_name):
    X, y, _, _ = digits
    cuda = device.device("cuda")
    like = torch.zeros(0, dtype=torch.float64, device=cuda)
    ours, theirs, p_ours, p_theirs = _race(X, y, [64, 32, 10], "relu", opt_name, like,
                                           tensor_device=cuda)
    assert all(p.device.type == "cuda" for p in p_ours)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    cpu, _, _, _ = _race(X, y, [64, 32, 10], "relu", opt_name, None)
    np.testing.assert_allclose(ours, cpu, rtol=1e-9, atol=0)
    for a, b in zip(p_ours, p_theirs):
        np.testing.assert_allclose(_as_numpy(a), _as_numpy(b), rtol=1e-9, atol=1e-12)


@pytest.mark.cuda
def test_train_epoch_on_cuda_float32_learns_the_digits(digits):
    X, y, Xt, yt = digits
    cuda = device.device("cuda")
    model = L.mlp([64, 128, 10], seed=0, like=torch.zeros(0, device=cuda))
    X, y = torch.tensor(X, dtype=torch.float32, device=cuda), torch.tensor(y, device=cuda)
    opt = optim.SGD(0.05, momentum=0.9)
    for epoch in range(20):
        L.train_epoch(model, L.SoftmaxCrossEntropy(), opt, X, y, 32, seed=epoch)
    pred = L.predict(model, torch.tensor(Xt, dtype=torch.float32, device=cuda))
    assert pred.device.type == "cuda"
    assert L.accuracy(model, torch.tensor(Xt, dtype=torch.float32, device=cuda),
                      torch.tensor(yt, device=cuda)) >= 0.97


# --- learning the digits -----------------------------------------------------------------------

EPOCHS = 20


@pytest.mark.parametrize("like", [None, torch.zeros(0)], ids=["numpy-float64", "torch-float32"])
def test_from_scratch_mlp_reaches_97_percent_test_accuracy_on_the_digits(digits, like):
    """64-128-10 ReLU, He initialisation, SGD with momentum 0.9 at lr 0.05, batches of 32,
    20 epochs; standardised pixels. About half a second on one core."""
    X, y, Xt, yt = digits
    if like is not None:
        X, y, Xt, yt = (torch.tensor(a, dtype=torch.float32) if a.dtype == np.float64 else
                        torch.tensor(a) for a in (X, y, Xt, yt))
    model = L.mlp([64, 128, 10], "relu", seed=0, init="he", like=like)
    ce, opt = L.SoftmaxCrossEntropy(), optim.SGD(0.05, momentum=0.9)
    start = time.perf_counter()
    history = [L.train_epoch(model, ce, opt, X, y, 32, seed=epoch) for epoch in range(EPOCHS)]
    elapsed = time.perf_counter() - start
    test_acc = L.accuracy(model, Xt, yt)
    print(f"\n{EPOCHS} epochs in {elapsed:.2f} s: training loss {history[0]:.3f} -> "
          f"{history[-1]:.4f}, training accuracy {L.accuracy(model, X, y):.4f}, "
          f"test accuracy {test_acc:.4f}")
    assert test_acc >= 0.97
    assert history[-1] < 0.05 * history[0]
    assert elapsed < 15


def test_overfits_twenty_examples(digits):
    """Chapter 07's sanity check: full-batch steps drive the loss on 20 examples to ~0."""
    X, y, _, _ = digits
    X, y = X[:20], y[:20]
    model = L.mlp([64, 64, 10], seed=0)
    ce, opt = L.SoftmaxCrossEntropy(), optim.SGD(0.1)
    first = None
    for _ in range(300):
        loss = ce(model(X), y)
        first = loss if first is None else first
        model.backward(ce.backward())
        opt.step(model.parameters(), model.gradients())
    assert first > 1.0 and ce(model(X), y) < 0.02
    assert L.accuracy(model, X, y) == 1.0


def test_untrained_network_is_at_chance(digits):
    X, y, _, _ = digits
    model = L.Sequential(L.Linear(64, 128), L.ReLU(), L.Linear(128, 10, init="zeros"))
    assert float(L.SoftmaxCrossEntropy()(model(X), y)) == pytest.approx(math.log(10), abs=1e-12)
