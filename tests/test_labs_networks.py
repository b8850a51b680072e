"""Labs of chapter 06 (the forward pass of a two-layer network, counting parameters, the
backward pass of a ReLU layer): right answers pass, catalogued wrong answers are named,
no answer leaks.

Every reference solution is written independently of the package: plain NumPy, einsum,
Python loops, torch.nn modules and torch autograd, so a wrong reference inside a lab
would fail these tests. RIGHT, CASES and WRONG are also run by test_labs.py under the
contract every lab meets.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes._checks import rng
from dlnotes.labs import networks as L
from tools import assert_mistakes_are_wrong, SEEDS, stub
from tools import lenient, one_thread  # noqa: F401 (autouse fixtures)

# --- independent reference solutions: the forward pass ------------------------------------


def forward_numpy(X, W1, b1, W2, b2):
    return np.maximum(X @ W1.T + b1, 0) @ W2.T + b2


def forward_einsum(X, W1, b1, W2, b2):
    H = np.einsum("nd,hd->nh", X, W1) + b1
    return np.einsum("nh,kh->nk", H * (H > 0), W2) + b2


def forward_loops(X, W1, b1, W2, b2):
    """One example at a time, in the per-example form W x + b."""
    rows = []
    for x in X:
        h = [max(0.0, float(w @ x + b)) for w, b in zip(W1, b1)]
        rows.append([float(w @ np.array(h) + b) for w, b in zip(W2, b2)])
    return np.array(rows)


def forward_torch(X, W1, b1, W2, b2):
    net = torch.nn.Sequential(torch.nn.Linear(W1.shape[1], W1.shape[0]), torch.nn.ReLU(),
                              torch.nn.Linear(W2.shape[1], W2.shape[0])).double()
    with torch.no_grad():
        for layer, W, b in ((net[0], W1, b1), (net[2], W2, b2)):
            layer.weight.copy_(torch.tensor(W))
            layer.bias.copy_(torch.tensor(b))
        return net(torch.tensor(X))


# --- independent reference solutions: counting parameters --------------------------------


def count_formula(sizes):
    return sum(n * (m + 1) for m, n in zip(sizes[:-1], sizes[1:]))


def count_loop(sizes):
    total = 0
    for layer in range(1, len(sizes)):
        total += sizes[layer] * sizes[layer - 1]   # weights
        total += sizes[layer]                      # biases
    return total


def count_torch(sizes):
    mods = [torch.nn.Linear(m, n) for m, n in zip(sizes[:-1], sizes[1:])]
    return sum(p.numel() for m in mods for p in m.parameters())


def count_numpy(sizes):
    s = np.array(sizes)
    return np.int64(s[1:] @ s[:-1] + s[1:].sum())


# --- independent reference solutions: the ReLU layer's backward pass ---------------------


def relu_numpy(X, W, b, G):
    dS = G * (X @ W.T + b > 0)
    return dS.T @ X, dS @ W, dS.sum(axis=0)


def relu_einsum(X, W, b, G):
    S = np.einsum("nd,od->no", X, W) + b
    dS = np.where(S > 0, G, 0.0)
    return np.einsum("no,nd->od", dS, X), np.einsum("no,od->nd", dS, W), np.einsum("no->o", dS)


def relu_loops(X, W, b, G):
    dW, dX, db = np.zeros_like(W), np.zeros_like(X), np.zeros_like(b)
    for n, (x, g) in enumerate(zip(X, G)):
        for o in range(W.shape[0]):
            if W[o] @ x + b[o] > 0:
                dW[o] += g[o] * x
                dX[n] += g[o] * W[o]
                db[o] += g[o]
    return dW, dX, db


def relu_autograd(X, W, b, G):
    Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    torch.relu(Xt @ Wt.T + bt).backward(torch.tensor(G))   # relu'(0) = 0 in torch
    return [Wt.grad, Xt.grad, bt.grad]


RIGHT = {
    L.check_mlp_forward: [forward_numpy, forward_einsum, forward_loops, forward_torch],
    L.check_param_count: [count_formula, count_loop, count_torch, count_numpy],
    L.check_relu_layer_backward: [relu_numpy, relu_einsum, relu_loops, relu_autograd],
}
CASES = {
    L.check_mlp_forward: L._forward_cases,
    L.check_param_count: L._count_cases,
    L.check_relu_layer_backward: L._relu_layer_cases,
}


@pytest.mark.parametrize("check", list(RIGHT))
def test_the_cases_hold_the_reference_values(check):
    """Each case's expected output is what torch computes from its inputs (so the case
    generators and dlnotes.layers agree with torch.nn and autograd)."""
    ref = {L.check_mlp_forward: forward_torch, L.check_param_count: count_torch,
           L.check_relu_layer_backward: relu_autograd}[check]
    for seed in (0, 3):
        for case in CASES[check](rng(seed)):
            got = ref(*case.args.values())
            want = case.expected if isinstance(case.expected, tuple) else (case.expected,)
            got = got if isinstance(got, (tuple, list)) else (got,)
            for a, b in zip(got, want):
                np.testing.assert_allclose(np.asarray(a), b, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("check", list(RIGHT))
@pytest.mark.parametrize("seed", SEEDS)
def test_every_reference_passes(check, seed):
    for fn in RIGHT[check]:
        result = check(fn, seed=seed)
        assert result.passed and result.cases == 7, result.message


def test_forward_cases_cover_the_edges():
    cases = L._forward_cases(rng(0))
    assert any(c.N == 1 for c in cases)
    assert any(c.dims["d"] == c.dims["H"] == c.dims["K"] for c in cases)   # square weights
    assert any(c.dims["d"] > c.N for c in cases) and any(c.dims["K"] == 1 for c in cases)
    sizes = [np.max(np.abs(c.args["X"])) for c in cases]
    assert max(sizes) > 100 and min(sizes) < 0.1
    # every case has hidden units on both sides of zero, so a missing ReLU shows everywhere
    for c in cases:
        S = c.args["X"] @ c.args["W1"].T + c.args["b1"]
        assert (S > 0).any() and (S < 0).any()


def test_count_cases_cover_the_edges():
    cases = L._count_cases(rng(0))
    depths = [len(c.args["sizes"]) - 1 for c in cases]
    assert 1 in depths and max(depths) >= 5
    assert [1, 1, 1] in [c.args["sizes"] for c in cases]
    assert any(c.args["sizes"][0] == 784 for c in cases)
    assert all(isinstance(n, int) for c in cases for n in c.args["sizes"])


def test_relu_cases_hold_exact_zeros_and_the_edges():
    cases = L._relu_layer_cases(rng(0))
    zeros = [c for c in cases if "exactly 0" in c.label]
    assert len(zeros) == 1
    c = zeros[0]
    S = c.args["X"] @ c.args["W"].T + c.args["b"]
    assert np.count_nonzero(S == 0) >= 2 and "N" not in c.dims
    # there the masks S > 0 and S >= 0 give different db and dX, the same dW (X's row is 0)
    ge = L._delta(*c.args.values(), mask=L._ge0)
    gt = L._delta(*c.args.values())
    assert not np.allclose(ge.sum(0), gt.sum(0)) and np.allclose(ge.T @ c.args["X"],
                                                                 gt.T @ c.args["X"])
    assert any(c.N == 1 for c in cases)
    assert any(c.dims["d_in"] == c.dims["d_out"] for c in cases)
    assert any(c.dims["d_in"] > (c.N or 0) for c in cases)


def test_fresh_cases_without_a_seed_and_the_same_with_one():
    a, b = L._forward_cases(rng(None)), L._forward_cases(rng(None))
    assert not np.array_equal(a[0].args["X"], b[0].args["X"]) or a[0].N != b[0].N
    c, d = L._relu_layer_cases(rng(5)), L._relu_layer_cases(rng(5))
    assert all(np.array_equal(x.expected[0], z.expected[0]) for x, z in zip(c, d))
    e, f = L._count_cases(rng(5)), L._count_cases(rng(5))
    assert [x.args["sizes"] for x in e] == [x.args["sizes"] for x in f]


# --- the catalogue of wrong answers ---------------------------------------------------


def _relu(S):
    return np.maximum(S, 0)


def _through(D, X, W):
    """(dW, dX, db) from a gradient D at the pre-activations, by the linear-layer rules."""
    return D.T @ X, D @ W, D.sum(axis=0)


def fwd_in_place(X, W1, b1, W2, b2):
    X *= 2.0
    return forward_numpy(X / 2.0, W1, b1, W2, b2)


def relu_in_place(X, W, b, G):
    G *= X @ W.T + b > 0                       # masks the caller's G
    return G.T @ X, G @ W, G.sum(axis=0)


WRONG_FORWARD = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("no activation", lambda X, W1, b1, W2, b2: (X @ W1.T + b1) @ W2.T + b2,
     r"without its activation.*single affine map"),
    ("relu on logits", lambda X, W1, b1, W2, b2: _relu(forward_numpy(X, W1, b1, W2, b2)),
     r"went through a ReLU as well"),
    ("bias after relu", lambda X, W1, b1, W2, b2: (_relu(X @ W1.T) + b1) @ W2.T + b2,
     r"add b1 after the ReLU"),
    ("no b1", lambda X, W1, b1, W2, b2: _relu(X @ W1.T) @ W2.T + b2, r"leave out the first bias"),
    ("no b2", lambda X, W1, b1, W2, b2: _relu(X @ W1.T + b1) @ W2.T,
     r"leave out the second bias"),
    ("W1 untransposed", lambda X, W1, b1, W2, b2: _relu(X @ W1 + b1) @ W2.T + b2,
     r"raised ValueError.*Compare the shapes"),
    ("W2 untransposed", lambda X, W1, b1, W2, b2: _relu(X @ W1.T + b1) @ W2 + b2,
     r"raised ValueError|instead of W2\^T"),
    ("abs", lambda X, W1, b1, W2, b2: np.abs(X @ W1.T + b1) @ W2.T + b2, r"absolute value"),
    ("tanh", lambda X, W1, b1, W2, b2: np.tanh(X @ W1.T + b1) @ W2.T + b2, r"uses tanh"),
    ("sigmoid", lambda X, W1, b1, W2, b2: 1 / (1 + np.exp(-(X @ W1.T + b1))) @ W2.T + b2,
     r"uses the sigmoid"),
    ("probabilities", lambda X, W1, b1, W2, b2: L._softmax_rows(forward_numpy(X, W1, b1, W2, b2)),
     r"returns probabilities"),
    ("hidden only", lambda X, W1, b1, W2, b2: _relu(X @ W1.T + b1),
     r"\(N, H\).*hidden activations"),
    ("transposed", lambda X, W1, b1, W2, b2: forward_numpy(X, W1, b1, W2, b2).T,
     r"the transpose"),
    ("squeezed", lambda X, W1, b1, W2, b2: np.squeeze(forward_numpy(X, W1, b1, W2, b2)),
     r"(?s)axis of length 1 is missing.*batch of one"),
    ("float32", lambda *a: forward_numpy(*a).astype(np.float32), r"low precision \(float32"),
    ("None", lambda *a: None, r"is None.*return"),
    ("in place", fwd_in_place, r"changed its argument X in place"),
    ("off by a little", lambda *a: forward_numpy(*a) * (1 + 1e-4), r"constant factor"),
]

WRONG_COUNT = [
    ("stub", stub, r"not written yet"),
    ("weights only", lambda s: sum(n * m for m, n in zip(s[:-1], s[1:])), r"the weights only"),
    ("input biases", lambda s: sum(n * m for m, n in zip(s[:-1], s[1:])) + sum(s),
     r"gives the inputs biases too"),
    ("both plus one", lambda s: sum((n + 1) * (m + 1) for m, n in zip(s[:-1], s[1:])),
     r"adds one to both widths"),
    ("bias per input", lambda s: sum(m * (n + 1) for m, n in zip(s[:-1], s[1:])),
     r"one bias per\s+unit"),
    ("no last layer", lambda s: sum(n * (m + 1) for m, n in zip(s[:-2], s[1:-1])),
     r"leaves out the last \(output\) layer"),
    ("no first layer", lambda s: sum(n * (m + 1) for m, n in zip(s[1:-1], s[2:])),
     r"leaves out the first layer"),
    ("units", lambda s: sum(s[1:]), r"number of units"),
    ("sum of widths", lambda s: sum(s), r"sum of the widths"),
    ("product", lambda s: math.prod(s), r"multiplies all the widths"),
    ("per layer", lambda s: [n * (m + 1) for m, n in zip(s[:-1], s[1:])],
     r"one count per layer.*their sum"),
    ("array of counts", lambda s: np.array([n * (m + 1) for m, n in zip(s[:-1], s[1:])]),
     r"one count per layer"),
    ("half", lambda s: count_formula(s) + 0.5, r"not a whole number"),
    ("one too many", lambda s: count_formula(s) + 1, r"larger than the right one"),
    ("string", lambda s: str(count_formula(s)), r"is a str.*single int"),
    ("None", lambda s: None, r"is None"),
    ("bool", lambda s: True, r"is a bool"),
]

WRONG_RELU = [
    ("stub", stub, r"not written yet"),
    ("no mask", lambda X, W, b, G: (G.T @ X, G @ W, G.sum(axis=0)),
     r"(?s)dW leaves out the ReLU.*\ndX leaves out the ReLU's mask.*\ndb leaves out"),
    ("mask >= 0", lambda X, W, b, G: _through(L._delta(X, W, b, G, L._ge0), X, W),
     r"(?s)mask S >= 0.*\(dW is right\.\)"),
    ("times H", lambda X, W, b, G: _through(G * _relu(X @ W.T + b), X, W),
     r"multiplies G by ReLU\(S\)"),
    ("dW transposed", lambda X, W, b, G: (X.T @ L._delta(X, W, b, G),) + relu_numpy(X, W, b, G)[1:],
     r"(?s)dW (has shape.*the transpose|equals X\^T).*\(dX, db are right"),
    ("dX masked by X", lambda X, W, b, G: (relu_numpy(X, W, b, G)[0],
                                           relu_numpy(X, W, b, G)[1] * (X > 0),
                                           relu_numpy(X, W, b, G)[2]),
     r"masked a second time, by X > 0"),
    ("dX with W^T", lambda X, W, b, G: (relu_numpy(X, W, b, G)[0], L._delta(X, W, b, G) @ W.T,
                                        relu_numpy(X, W, b, G)[2]),
     r"raised ValueError|multiplies by W itself"),
    ("dX unmasked", lambda X, W, b, G: (relu_numpy(X, W, b, G)[0], G @ W,
                                        relu_numpy(X, W, b, G)[2]),
     r"(?s)dX leaves out the ReLU's mask as well.*\(dW, db are right"),
    ("db mean", lambda X, W, b, G: (*relu_numpy(X, W, b, G)[:2], L._delta(X, W, b, G).mean(0)),
     r"db is off by a factor of 1/N.*SUMS"),
    ("db axis 1", lambda X, W, b, G: (*relu_numpy(X, W, b, G)[:2], L._delta(X, W, b, G).sum(1)),
     r"db has shape.*summed over the units"),
    ("wrong order", lambda *a: (relu_numpy(*a)[0], relu_numpy(*a)[2], relu_numpy(*a)[1]),
     r"wrong order"),
    ("two outputs", lambda *a: relu_numpy(*a)[:2], r"tuple of 2 items.*3 arrays"),
    ("in place", relu_in_place, r"changed its argument G in place"),
    ("float32", lambda *a: tuple(x.astype(np.float32) for x in relu_numpy(*a)),
     r"low precision"),
]

WRONG = [(check, name, fn, pattern)
         for check, table in [(L.check_mlp_forward, WRONG_FORWARD),
                              (L.check_param_count, WRONG_COUNT),
                              (L.check_relu_layer_backward, WRONG_RELU)]
         for name, fn, pattern in table]


def test_the_catalogued_mistakes_differ_from_the_right_answer():
    """Each catalogued formula is wrong on some case (else it could never be named)."""
    for check, outs in [(L.check_mlp_forward, (L._FORWARD,)),
                        (L.check_relu_layer_backward, L._RELU_LAYER)]:
        assert_mistakes_are_wrong(outs, CASES[check](rng(0)))
    for formula, message in L._COUNT_MISTAKES:
        assert any(formula(c.args["sizes"]) != int(c.expected)
                   for c in L._count_cases(rng(0))), message


def test_a_mutated_sizes_list_does_not_change_the_cases():
    def appends(sizes):
        sizes.append(7)
        return count_formula(sizes[:-1])

    assert L.check_param_count(appends, seed=0).passed


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("check, name, fn, pattern", WRONG,
                         ids=[f"{c.__name__}-{n}" for c, n, *_ in WRONG])
def test_wrong_answers_fail_with_their_message(check, name, fn, pattern, seed):
    import re

    result = check(fn, seed=seed)
    assert not result.passed
    assert re.search(pattern, result.message, re.S), result.message


def test_the_zeros_case_gets_no_note_about_batch_size():
    def ge0(X, W, b, G):
        D = L._delta(X, W, b, G, L._ge0)
        return D.T @ X, D @ W, D.sum(0)

    result = L.check_relu_layer_backward(ge0, seed=0)
    assert "exactly 0" in result.message and "batch of one" not in result.message


# --- properties -----------------------------------------------------------------------

FACTORS = st.floats(-1e3, 1e3).filter(lambda c: abs(c - 1) > 1e-5)


@given(c=FACTORS, seed=st.integers(0, 2**32))
def test_any_scaled_answer_is_caught(c, seed):
    assert not L.check_mlp_forward(lambda *a: c * forward_numpy(*a), seed=seed).passed
    assert not L.check_relu_layer_backward(
        lambda *a: (c * relu_numpy(*a)[0], *relu_numpy(*a)[1:]), seed=seed).passed


@given(seed=st.integers(0, 2**32), i=st.integers(0, 100), delta=st.floats(1e-6, 1e3))
def test_one_wrong_entry_is_detected(seed, i, delta):
    def one_off(*args):
        Z = forward_numpy(*args).copy()
        Z.flat[i % Z.size] += delta * np.linalg.norm(Z)
        return Z

    assert not L.check_mlp_forward(one_off, seed=seed).passed


@given(seed=st.integers(0, 2**32), off=st.integers(-3, 3).filter(bool))
def test_any_other_count_fails(seed, off):
    assert not L.check_param_count(lambda s: count_formula(s) + off, seed=seed).passed


@pytest.mark.parametrize("check", list(RIGHT))
def test_bad_arguments(check):
    with pytest.raises(TypeError, match="fn must be callable"):
        check(3)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        check(RIGHT[check][0], seed=-1)
