"""One full-batch gradient step of the softmax classifier, three ways (chapter 03).

The step computes the mean cross-entropy, its gradient with respect to W and b,
and the update, written out as chapter 03 derives them (a stable softmax, then
the analytic gradient (P - Y) / N at the logits and two matrix products):
  * NumPy arrays,
  * torch tensors without autograd (the same formulas),
  * torch autograd (F.cross_entropy, then backward).
All three start from the same parameters and must agree to 1e-10 (float64).
Prints the median of many timings of each and the ratios, measured side by side
in one run. Not a test: timings depend on the machine and its load.
"""

import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from threadpoolctl import threadpool_limits

from dlnotes import data, losses

LR = 0.5


def step_numpy(W, b, X, y):
    Z = X @ W.T + b
    Z = Z - Z.max(axis=1, keepdims=True)          # stable: exp of numbers <= 0
    E = np.exp(Z)
    s = E.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.mean(np.log(s[:, 0]) - Z[rows, y])  # mean of LSE(z) - z_y
    G = E / s                                      # P
    G[rows, y] -= 1                                # P - Y
    G /= len(y)
    return W - LR * (G.T @ X), b - LR * G.sum(axis=0), loss


def step_torch(W, b, X, y):
    Z = X @ W.T + b
    Z = Z - Z.max(dim=1, keepdim=True).values
    E = torch.exp(Z)
    s = E.sum(dim=1, keepdim=True)
    rows = torch.arange(len(y))
    loss = torch.mean(torch.log(s[:, 0]) - Z[rows, y])
    G = E / s
    G[rows, y] -= 1
    G /= len(y)
    return W - LR * (G.T @ X), b - LR * G.sum(dim=0), loss


def step_autograd(W, b, X, y):
    W, b = W.detach().requires_grad_(), b.detach().requires_grad_()
    loss = F.cross_entropy(X @ W.T + b, y)
    loss.backward()
    with torch.no_grad():
        return W - LR * W.grad, b - LR * b.grad, loss.detach()


def median_time(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def problem(name, X, y, K, repeats):
    gen = np.random.default_rng(0)
    W, b = 0.01 * gen.standard_normal((K, X.shape[1])), np.zeros(K)
    t = {k: torch.from_numpy(v) for k, v in dict(W=W, b=b, X=X, y=y).items()}
    out = {"numpy": step_numpy(W, b, X, y), "torch": step_torch(t["W"], t["b"], t["X"], t["y"]),
           "autograd": step_autograd(t["W"], t["b"], t["X"], t["y"])}
    reference = losses.cross_entropy(X @ W.T + b, y)
    assert abs(out["numpy"][2] - reference) <= 1e-12 * reference, (out["numpy"][2], reference)
    for kind in ("torch", "autograd"):
        for got, want in zip(out[kind], out["numpy"]):
            err = np.linalg.norm(np.asarray(got) - want) / np.linalg.norm(want)
            assert err <= 1e-10, (kind, err)
    runs = {"numpy": lambda: step_numpy(W, b, X, y),
            "torch": lambda: step_torch(t["W"], t["b"], t["X"], t["y"]),
            "autograd": lambda: step_autograd(t["W"], t["b"], t["X"], t["y"])}
    med = {k: median_time(f, repeats) for k, f in runs.items()}
    print(f"{name}: N = {X.shape[0]:,}, d = {X.shape[1]}, K = {K}; median of {repeats} steps: "
          + ", ".join(f"{k} {1e3 * v:.3f} ms" for k, v in med.items()))
    print(f"  autograd / numpy {med['autograd'] / med['numpy']:.2f}x, "
          f"autograd / torch without autograd {med['autograd'] / med['torch']:.2f}x, "
          f"torch / numpy {med['torch'] / med['numpy']:.2f}x")


def main() -> None:
    torch.set_num_threads(1)  # both libraries on one thread: the comparison is of the code path
    threadpool_limits(1)
    X, y = data.digits(seed=0)["train"]
    problem("digits (train split)", X, y.astype(np.int64), 10, 300)
    gen = np.random.default_rng(1)
    X = gen.standard_normal((20_000, 256))
    problem("synthetic", X, gen.integers(0, 10, 20_000), 10, 30)


if __name__ == "__main__":
    main()
