"""One training epoch of the from-scratch MLP on the digits, three ways, on CPU and GPU
(chapters 06-07).

The model is 64-128-10 with ReLU and He initialisation, trained for one epoch of
minibatches of 32 (standardised digits, training split, float64) with SGD,
momentum 0.9:
  * dlnotes.layers on NumPy arrays (layers.train_epoch with dlnotes.optim.SGD),
  * the same code on torch tensors, without autograd,
  * the same network in torch.nn (layers.to_torch) with autograd and torch.optim.SGD,
on the CPU, and the last two again on CUDA when dlnotes.device finds a GPU.
All start from the same weights and visit the same batches; their epoch losses and
final weights must agree to 1e-10 (asserted before anything is timed). Prints the
median of many epochs of each, timed side by side (round robin) in one run, and the
ratios. Not a test: timings depend on the machine and its load. The from-scratch
variants check their inputs in every call (kinds, shapes, finiteness), and so does
dlnotes.optim; on a GPU each such check waits for the device.
"""

import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from threadpoolctl import threadpool_limits

from dlnotes import data, layers, optim
from dlnotes.device import device

SIZES = [64, 128, 10]
BATCH = 32
LR = 0.05
MOMENTUM = 0.9


def digits():
    """The standardised training split (pixels that never vary are only centred)."""
    X, y = data.digits(seed=0)["train"]
    std = X.std(0)
    return (X - X.mean(0)) / np.where(std > 0, std, 1.0), y


def epoch_scratch(model, opt, X, y, seed):
    """One epoch of dlnotes.layers (NumPy or torch tensors); the mean loss."""
    return layers.train_epoch(model, layers.SoftmaxCrossEntropy(), opt, X, y, BATCH, seed=seed)


def epoch_autograd(net, opt, X, y, seed):
    """One epoch of torch.nn with autograd and torch.optim over the same batches."""
    total = 0.0
    for idx in data.minibatches(len(y), BATCH, seed):
        idx = torch.as_tensor(idx, device=X.device)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(X[idx]), y[idx])
        loss.backward()
        opt.step()
        total = total + loss.detach() * len(idx)
    return float(total) / len(y)


def variants(X, y, dev=None, sizes=SIZES):
    """name -> (run(seed) -> mean loss, parameters() -> list of NumPy arrays), all starting
    from the same weights. ``dev`` None: NumPy, torch and torch.nn on the CPU; a torch
    device: torch and torch.nn there."""
    out = {}
    on = torch.device("cpu") if dev is None else dev
    Xt, yt = torch.tensor(X, device=on), torch.tensor(y, device=on)
    if dev is None:
        model, opt = layers.mlp(sizes, seed=0), optim.SGD(LR, momentum=MOMENTUM)
        out["numpy"] = (lambda s, m=model, o=opt: epoch_scratch(m, o, X, y, s),
                        model.parameters)
    like = torch.zeros(0, dtype=torch.float64, device=on)
    model, opt = layers.mlp(sizes, seed=0, like=like), optim.SGD(LR, momentum=MOMENTUM)
    out[f"torch ({on.type})"] = (lambda s, m=model, o=opt: epoch_scratch(m, o, Xt, yt, s),
                                 lambda m=model: [p.cpu().numpy() for p in m.parameters()])
    net = layers.to_torch(layers.mlp(sizes, seed=0, like=like))
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    out[f"torch.nn autograd ({on.type})"] = (
        lambda s, n=net, o=opt: epoch_autograd(n, o, Xt, yt, s),
        lambda n=net: [p.detach().cpu().numpy() for p in n.parameters()])
    return out


def agree(results, rtol=1e-10):
    """Assert that the (loss, parameters) of every variant match the first one's."""
    (first, (loss0, params0)), *rest = results.items()
    for name, (loss, params) in rest:
        assert abs(loss - loss0) <= rtol * abs(loss0), (name, first, loss, loss0)
        for a, b in zip(params, params0):
            err = np.linalg.norm(a - b) / np.linalg.norm(b)
            assert err <= rtol, (name, first, err)


def one_epoch_each(runs, seed=0):
    """name -> (mean loss, copies of the parameters) after one epoch of each variant."""
    return {name: (run(seed), [np.array(p, copy=True) for p in params()])
            for name, (run, params) in runs.items()}


def timed(runs, repeats, sync=None):
    """Median seconds per epoch of each variant, measured round robin."""
    times = {name: [] for name in runs}
    for r in range(repeats):
        for name, (run, _) in runs.items():
            t0 = time.perf_counter()
            run(r + 1)
            if sync is not None:
                sync()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def report(title, med):
    names = list(med)
    print(f"{title}: median of one epoch: "
          + ", ".join(f"{n} {1e3 * v:.1f} ms" for n, v in med.items()))
    base = names[-1]
    print("  " + ", ".join(f"{n} / {base} {med[n] / med[base]:.2f}x" for n in names[:-1]))


def main(repeats: int = 15) -> None:
    torch.set_num_threads(1)  # both libraries on one thread: the comparison is of code paths
    threadpool_limits(1)
    X, y = digits()
    print(f"digits: N = {len(y):,}, model {'-'.join(map(str, SIZES))} ReLU, batches of "
          f"{BATCH} ({-(-len(y) // BATCH)} steps an epoch), SGD momentum {MOMENTUM}, float64")
    cpu = variants(X, y)
    results = one_epoch_each(cpu)
    agree(results)
    print(f"  all CPU variants agree after one epoch: loss {results['numpy'][0]:.10f}")
    report("CPU", timed(cpu, repeats))
    dev = device()
    if dev.type != "cuda":
        print(f"no CUDA device (dlnotes.device chose {dev}): GPU part skipped")
        return
    gpu = variants(X, y, dev)
    gpu_results = one_epoch_each(gpu)
    agree(dict(gpu_results, numpy=results["numpy"]), rtol=1e-9)
    print(f"  the {dev} variants agree with each other and with NumPy")
    report(f"CUDA ({torch.cuda.get_device_name(dev)})",
           timed(gpu, repeats, sync=lambda: torch.cuda.synchronize(dev)))


if __name__ == "__main__":
    main()
