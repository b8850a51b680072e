"""Labs of chapter 07 (the backward pass of u = max(x y, z) + x, and of a two-layer
ReLU network with a softmax cross-entropy loss): right answers pass, catalogued wrong
answers are named, no answer leaks.

Every reference solution is written independently of the package: plain NumPy, Python
loops over entries or examples, einsum and torch autograd, so a wrong reference inside
a lab would fail these tests. RIGHT, CASES and WRONG are tested under the common
contract of every lab in test_labs.py.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from dlnotes._checks import rng
from dlnotes.gradcheck import rel_error
from dlnotes.labs import backprop as L
from tools import assert_mistakes_are_wrong, SEEDS, stub
from tools import lenient  # noqa: F401 (autouse fixtures)

# --- independent reference solutions: the graph u = max(x y, z) + x ------------------------


def graph_numpy(x, y, z, g):
    prod_wins = x * y > z
    return g * np.where(prod_wins, y, 0.0) + g, g * np.where(prod_wins, x, 0.0), \
        np.where(prod_wins, 0.0, g)


def graph_autograd(x, y, z, g):
    xt, yt, zt = (torch.tensor(a, requires_grad=True) for a in (x, y, z))
    (torch.maximum(xt * yt, zt) + xt).backward(torch.tensor(g))
    return xt.grad, yt.grad, zt.grad


def graph_loops(x, y, z, g):
    """Entry by entry, node by node: q = x y, m = max(q, z), u = m + x."""
    dx, dy, dz = (np.zeros_like(x) for _ in range(3))
    for j in np.ndindex(x.shape):
        du = float(g[j])
        dm, dx_direct = du, du                       # add: both inputs get du
        dq, dzj = (dm, 0.0) if x[j] * y[j] > z[j] else (0.0, dm)  # max: route
        dx[j] = dq * y[j] + dx_direct                # multiply: swap; branches add
        dy[j], dz[j] = dq * x[j], dzj
    return dx, dy, dz


def graph_lists(x, y, z, g):
    """Lists of tensors are accepted as well as tuples of arrays."""
    q = torch.tensor(x * y)
    m = (q > torch.tensor(z)).double()
    gt = torch.tensor(g)
    return [gt * m * torch.tensor(y) + gt, gt * m * torch.tensor(x), gt * (1 - m)]


# --- independent reference solutions: the two-layer network ---------------------------------


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def mlp_numpy(X, y, W1, b1, W2, b2):
    S1 = X @ W1.T + b1
    H1 = np.maximum(S1, 0)
    G2 = _softmax(H1 @ W2.T + b2)
    G2[np.arange(len(y)), y] -= 1
    G2 /= len(y)
    G1 = (G2 @ W2) * (S1 > 0)
    return G1.T @ X, G1.sum(axis=0), G2.T @ H1, G2.sum(axis=0)


def mlp_autograd(X, y, W1, b1, W2, b2):
    ps = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    Z = torch.relu(torch.tensor(X) @ ps[0].T + ps[1]) @ ps[2].T + ps[3]
    F.cross_entropy(Z, torch.tensor(y)).backward()
    return tuple(p.grad for p in ps)


def mlp_einsum(X, y, W1, b1, W2, b2):
    S1 = np.einsum("nd,hd->nh", X, W1) + b1
    H1 = np.where(S1 > 0, S1, 0.0)
    G2 = (_softmax(np.einsum("nh,kh->nk", H1, W2) + b2) - np.eye(W2.shape[0])[y]) / len(y)
    G1 = np.einsum("nk,kh->nh", G2, W2) * (S1 > 0)
    return (np.einsum("nh,nd->hd", G1, X), np.einsum("nh->h", G1),
            np.einsum("nk,nh->kh", G2, H1), np.einsum("nk->k", G2))


def mlp_loops(X, y, W1, b1, W2, b2):
    """One example at a time (single-example rules), then the mean."""
    grads = [np.zeros_like(a) for a in (W1, b1, W2, b2)]
    for x, c in zip(X, y):
        s1 = W1 @ x + b1
        h1 = np.maximum(s1, 0)
        z = W2 @ h1 + b2
        p = np.exp(z - z.max())
        p /= p.sum()
        p[c] -= 1                                    # delta at the logits
        d1 = (W2.T @ p) * (s1 > 0)                   # W^T g, then the mask
        for acc, part in zip(grads, (np.outer(d1, x), d1, np.outer(p, h1), p)):
            acc += part / len(y)
    return tuple(grads)


RIGHT = {
    L.check_graph_backward: [graph_numpy, graph_autograd, graph_loops, graph_lists],
    L.check_mlp_backward: [mlp_numpy, mlp_autograd, mlp_einsum, mlp_loops],
}
CASES = {
    L.check_graph_backward: L._graph_cases,
    L.check_mlp_backward: L._mlp_cases,
}


@pytest.mark.parametrize("check", list(RIGHT))
@pytest.mark.parametrize("seed", [3, 11])
def test_the_cases_hold_the_reference_values(check, seed):
    """Each case's expected output is what torch autograd computes from its inputs (to
    well within the labs' pass mark: near-saturated softmax rows leave gradients of 1e-8
    whose last digits are rounding)."""
    ref = {L.check_graph_backward: graph_autograd, L.check_mlp_backward: mlp_autograd}[check]
    for case in CASES[check](rng(seed)):
        for a, b in zip(ref(*case.args.values()), case.expected):
            assert a.shape == b.shape and rel_error(a.numpy(), b) < 1e-9


def test_graph_cases_cover_the_edges():
    cases = L._graph_cases(rng(0))
    wins = [(c.args["x"] * c.args["y"] > c.args["z"]) for c in cases]
    assert any(w.all() for w in wins) and any(not w.any() for w in wins)
    assert any(w.any() and not w.all() for w in wins)
    assert any(c.args["x"].ndim == 2 for c in cases) and any(c.args["x"].size == 1 for c in cases)
    assert any(np.all(c.args["g"] == 1) for c in cases)
    sizes = [np.max(np.abs(c.args["x"])) for c in cases]
    assert max(sizes) > 100 and min(sizes) < 0.1
    for c in cases:  # never a tie, where the max has no derivative
        x, y, z = c.args["x"], c.args["y"], c.args["z"]
        assert np.all(np.abs(x * y - z) > 0.04 * np.max(np.abs(x)) ** 2)
        assert np.any(x < 0) or x.size == 1


def test_mlp_cases_cover_the_edges():
    cases = L._mlp_cases(rng(0))
    assert any(c.N == 1 for c in cases) and any(c.dims["K"] == 2 for c in cases)
    assert any(c.dims["d"] == c.dims["H"] == c.dims["K"] for c in cases)
    assert any(c.dims["d"] > c.N for c in cases)
    logits = [np.maximum(c.args["X"] @ c.args["W1"].T + c.args["b1"], 0) @ c.args["W2"].T
              + c.args["b2"] for c in cases]
    with np.errstate(over="ignore"):
        assert any(not np.all(np.isfinite(np.exp(z))) for z in logits)
    assert min(np.max(np.abs(c.args["X"])) for c in cases) < 0.1
    zeros = [c for c in cases if np.any(c.args["X"] @ c.args["W1"].T + c.args["b1"] == 0)]
    assert zeros  # where ReLU'(0) = 0 and the mask S1 >= 0 differ
    case = zeros[0]
    assert L._b1(gate="ge0")(*case.args.values()).tolist() != case.expected[1].tolist()
    for c in cases:
        y = c.args["y"]
        assert y.dtype.kind == "i" and y.min() >= 0 and y.max() < c.dims["K"]


def test_fresh_cases_without_a_seed_and_the_same_with_one():
    for cases in (L._graph_cases, L._mlp_cases):
        a, b = cases(rng(None)), cases(rng(None))
        assert not np.array_equal(a[0].args["x" if "x" in a[0].args else "X"],
                                  b[0].args["x" if "x" in b[0].args else "X"])
        c, d = cases(rng(5)), cases(rng(5))
        assert all(np.array_equal(p, q) for x, z in zip(c, d)
                   for p, q in zip(x.expected, z.expected))


def test_the_catalogued_mistakes_differ_from_the_right_answer():
    """Each formula in the catalogues is wrong on some case (else it could never be named)."""
    for check, outs in [(L.check_graph_backward, L._GRAPH), (L.check_mlp_backward, L._MLP)]:
        assert_mistakes_are_wrong(outs, CASES[check](rng(0)))


# --- the catalogue of wrong answers ---------------------------------------------------


def _graph(dx=None, dy=None, dz=None):
    """The right gradients of the graph with some replaced by wrong ones."""
    def fn(x, y, z, g):
        right = graph_numpy(x, y, z, g)
        return tuple(r if f is None else f(x, y, z, g) for r, f in zip(right, (dx, dy, dz)))
    return fn


def _wins(x, y, z):
    return (x * y > z).astype(float)


def graph_in_place(x, y, z, g):
    g *= _wins(x, y, z)  # reuses the caller's g as the product's gradient
    return g * y + 1, g * x, np.zeros_like(z)


WRONG_GRAPH = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("one path", _graph(dx=lambda x, y, z, g: g * y * _wins(x, y, z)),
     r"dx has only the path through the product.*ADD.*\(dy, dz are right"),
    ("direct only", _graph(dx=lambda x, y, z, g: g), r"dx has only the direct path"),
    ("no swap", _graph(dx=lambda x, y, z, g: g * (x * _wins(x, y, z) + 1),
                       dy=lambda x, y, z, g: g * y * _wins(x, y, z)),
     r"(?s)dx uses x where y belongs.*swaps.*\ndy uses y where x belongs"),
    ("routed back", lambda x, y, z, g: (g * (y * (1 - _wins(x, y, z)) + 1),
                                        g * x * (1 - _wins(x, y, z)), g * _wins(x, y, z)),
     r"(?s)dx sends the gradient to the SMALLER.*\ndy sends.*\ndz sends"),
    ("split", lambda x, y, z, g: (g * (0.5 * y + 1), 0.5 * g * x, 0.5 * g),
     r"splits the max's upstream gradient equally"),
    ("dz unrouted", _graph(dz=lambda x, y, z, g: g), r"dz equals g everywhere.*\(dx, dy are right"),
    ("dy unmasked", _graph(dy=lambda x, y, z, g: g * x), r"dy ignores the max"),
    ("dy direct", _graph(dy=lambda x, y, z, g: g * x * _wins(x, y, z) + g),
     r"dy adds a direct path"),
    ("relu mask", _graph(dx=lambda x, y, z, g: g * (y * (x * y > 0) + 1)), r"1\[x\*y > 0\]"),
    ("no upstream", lambda x, y, z, g: (y * _wins(x, y, z) + 1, x * _wins(x, y, z),
                                        1 - _wins(x, y, z)),
     r"leaves out the upstream gradient g"),
    ("sums", lambda x, y, z, g: tuple(np.sum(a) for a in graph_numpy(x, y, z, g)),
     r"dx has shape \(\).*shape of its variable, here x"),
    ("two outputs", lambda x, y, z, g: graph_numpy(x, y, z, g)[:2], r"tuple of 2 items.*3 arrays"),
    ("in place", graph_in_place, r"changed its argument g in place"),
    ("float32", lambda x, y, z, g: tuple(a.astype(np.float32) for a in graph_numpy(x, y, z, g)),
     r"low precision \(float32"),
    ("double", _graph(dy=lambda x, y, z, g: 2 * g * x * _wins(x, y, z)),
     r"dy is off by a factor of 2"),
]


def _mlp(dW1=None, db1=None, dW2=None, db2=None):
    """The right gradients of the network with some replaced by wrong ones."""
    def fn(*args):
        right = mlp_numpy(*args)
        return tuple(r if f is None else f(*args) for r, f in zip(right, (dW1, db1, dW2, db2)))
    return fn


def _parts(X, y, W1, b1, W2, b2, mean=True):
    S1 = X @ W1.T + b1
    H1 = np.maximum(S1, 0)
    G2 = _softmax(H1 @ W2.T + b2) - np.eye(W2.shape[0])[y]
    return S1, H1, G2 / len(y) if mean else G2


def mlp_naive_softmax(X, y, W1, b1, W2, b2):
    S1 = X @ W1.T + b1
    H1 = np.maximum(S1, 0)
    E = np.exp(H1 @ W2.T + b2)
    G2 = (E / E.sum(axis=1, keepdims=True) - np.eye(W2.shape[0])[y]) / len(y)
    G1 = (G2 @ W2) * (S1 > 0)
    return G1.T @ X, G1.sum(axis=0), G2.T @ H1, G2.sum(axis=0)


def mlp_in_place(X, y, W1, b1, W2, b2):
    S1 = X @ W1.T + b1
    H1 = np.maximum(S1, 0)
    G2 = _softmax(H1 @ W2.T + b2) - np.eye(W2.shape[0])[y]
    G2 /= len(y)
    W2 *= 1.0  # harmless, but an in-place write on the caller's W2 all the same
    W2 -= 0.0 * W2 + 1e-3 * W2  # a "weight update" inside the backward pass
    G1 = (G2 @ W2) * (S1 > 0)
    return G1.T @ X, G1.sum(axis=0), G2.T @ H1, G2.sum(axis=0)


WRONG_MLP = [
    ("stub", stub, r"not written yet"),
    ("no mask", lambda *a: (L._w1(gate="none")(*a), L._b1(gate="none")(*a), *mlp_numpy(*a)[2:]),
     r"(?s)dW1 leaves out the ReLU.*\ndb1 leaves out the ReLU.*\(dW2, db2 are right"),
    ("times H", lambda *a: (L._w1(gate="value")(*a), L._b1(gate="value")(*a), *mlp_numpy(*a)[2:]),
     r"multiplies by ReLU\(S1\), the activation's value"),
    (">= 0", _mlp(db1=L._b1(gate="ge0")), r"db1 uses the mask S1 >= 0.*\(dW1, dW2, db2 are right"),
    ("W2^T", lambda *a: (L._w1(through="W2T")(*a), L._b1(through="W2T")(*a), *mlp_numpy(*a)[2:]),
     r"raised ValueError|through W2\^T"),
    ("S1 for H1", _mlp(dW2=lambda X, y, W1, b1, W2, b2: _parts(X, y, W1, b1, W2, b2)[2].T
                       @ _parts(X, y, W1, b1, W2, b2)[0]),
     r"dW2 is built from S1, the pre-activations"),
    ("dW2 transposed", _mlp(dW2=lambda *a: _parts(*a)[1].T @ _parts(*a)[2]),
     r"dW2 (has shape .*the transpose|equals H1\^T G2, the transpose)"),
    ("dW1 transposed", _mlp(dW1=lambda *a: mlp_numpy(*a)[0].T),
     r"dW1 equals X\^T G1, the transpose.*shape of W1"),
    ("no 1/N", lambda *a: tuple(len(a[1]) * g for g in mlp_numpy(*a)),
     r"(?s)dW1 is off by a factor of N = \d+.*MEAN"),
    ("db1 mean", _mlp(db1=lambda *a: mlp_numpy(*a)[1] / len(a[1])),
     r"db1 is off by a factor of 1/N.*SUMS G1"),
    ("sign", lambda *a: tuple(-g for g in mlp_numpy(*a)),
     r"(?s)dW1 has the wrong sign.*P - Y.*\ndb2 has the wrong sign"),
    ("no targets", lambda *a: (L._w1(targets=False)(*a), L._b1(targets=False)(*a),
                               L._MLP[2].mistakes[2].formula(*a),
                               L._MLP[3].mistakes[0].formula(*a)),
     r"dW1 is built on P / N: the targets are missing"),
    ("db2 per example", _mlp(db2=lambda *a: _parts(*a)[2]), r"db2 has shape.*\(N, K\).*axis 0"),
    ("db1 axis 1", _mlp(db1=lambda *a: ((_parts(*a)[2] @ a[4]) * (_parts(*a)[0] > 0)).sum(axis=1)),
     r"db1 has shape.*\(N,\).*axis 1"),
    ("overflow", mlp_naive_softmax, r"(?s)NaN or inf.*overflows.*largest logit"),
    ("wrong order", lambda *a: (mlp_numpy(*a)[2], mlp_numpy(*a)[3], *mlp_numpy(*a)[:2]),
     r"wrong order|has shape"),
    ("three outputs", lambda *a: mlp_numpy(*a)[:3], r"tuple of 3 items.*4 arrays"),
    ("in place", mlp_in_place, r"changed its argument W2 in place"),
]

WRONG = [(check, name, fn, pattern)
         for check, table in [(L.check_graph_backward, WRONG_GRAPH),
                              (L.check_mlp_backward, WRONG_MLP)]
         for name, fn, pattern in table]


@pytest.mark.parametrize("check, name, fn, pattern", WRONG,
                         ids=[f"{c.__name__}-{n}" for c, n, *_ in WRONG])
def test_wrong_answers_fail_here_too(check, name, fn, pattern):
    """A quick pass over the catalogue (test_labs.py adds the leak and message checks)."""
    import re

    result = check(fn, seed=0)
    assert not result.passed and re.search(pattern, result.message, re.S), result.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("check, fn", [(c, f) for c, fs in RIGHT.items() for f in fs],
                         ids=[f"{c.__name__}-{f.__name__}" for c, fs in RIGHT.items() for f in fs])
def test_right_answers_pass_here_too(check, fn, seed):
    result = check(fn, seed=seed)
    assert result.passed and result.cases >= 6, result.message


def test_an_overflow_gets_the_stability_hint_only_for_large_logits():
    result = L.check_mlp_backward(mlp_naive_softmax, seed=0)
    assert "large logits" in result.message and "subtract each row's largest" in result.message
    assert "batch of one" not in result.message.split("\n", 1)[1]


# --- properties -----------------------------------------------------------------------

FACTORS = st.floats(-1e3, 1e3).filter(lambda c: abs(c) > 1e-6 and abs(c - 1) > 1e-4)


@given(c=FACTORS, which=st.integers(0, 3), seed=st.integers(0, 2**32))
def test_any_constant_factor_is_detected(c, which, seed):
    def graph_scaled(*args):
        out = list(graph_numpy(*args))
        out[which % 3] = c * out[which % 3]
        return tuple(out)

    def mlp_scaled(*args):
        out = list(mlp_numpy(*args))
        out[which] = c * out[which]
        return tuple(out)

    for check, fn in ((L.check_graph_backward, graph_scaled), (L.check_mlp_backward, mlp_scaled)):
        result = check(fn, seed=seed)
        assert not result.passed
        assert ("wrong sign" in result.message) == (c < 0) or "all zeros" in result.message


@given(seed=st.integers(0, 2**32), i=st.integers(0, 100), delta=st.floats(1e-6, 1e3),
       which=st.integers(0, 3))
def test_one_wrong_entry_is_detected(seed, i, delta, which):
    """An entry off by 1e-6 of the gradient's norm or more never passes."""
    def graph_one_off(*args):
        out = [np.array(a) for a in graph_numpy(*args)]
        k = which % 3
        out[k].flat[i % out[k].size] += delta * max(np.linalg.norm(out[k]), 1e-300)
        return tuple(out)

    def mlp_one_off(*args):
        out = [np.array(a) for a in mlp_numpy(*args)]
        out[which].flat[i % out[which].size] += delta * max(np.linalg.norm(out[which]), 1e-300)
        return tuple(out)

    assert not L.check_graph_backward(graph_one_off, seed=seed).passed
    assert not L.check_mlp_backward(mlp_one_off, seed=seed).passed
