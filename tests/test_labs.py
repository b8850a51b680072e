"""Self-checking labs: right answers pass, catalogued wrong answers are named, no answer leaks.

Every reference solution is written independently of the package (plain NumPy, torch
autograd, SciPy, scikit-learn), so a wrong reference inside a lab would fail these tests.
"""

import re

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import test_labs_backprop
import test_labs_gradient_descent
import test_labs_networks
import test_labs_optimizers
from dlnotes import labs
from dlnotes._checks import rng
from tools import SEEDS, stub
from tools import lenient  # noqa: F401 (autouse fixtures)



# --- independent reference solutions --------------------------------------------------


def lsq_grad_numpy(theta, Phi, y):
    return Phi.T @ (Phi @ theta - y) / len(y)


def lsq_grad_einsum(theta, Phi, y):
    return np.einsum("ij,i->j", Phi, np.einsum("ij,j->i", Phi, theta) - y) / Phi.shape[0]


def lsq_grad_loop(theta, Phi, y):
    g = np.zeros_like(theta)
    for phi_i, y_i in zip(Phi, y):
        g = g + (phi_i @ theta - y_i) * phi_i
    return g / len(y)


def lsq_grad_autograd(theta, Phi, y):
    t = torch.tensor(theta, requires_grad=True)
    r = torch.tensor(y) - torch.tensor(Phi) @ t
    (r @ r / (2 * len(y))).backward()
    return t.grad


def normal_solve(Phi, y):
    return np.linalg.solve(Phi.T @ Phi, Phi.T @ y)


def normal_scipy(Phi, y):
    return scipy.linalg.lstsq(Phi, y)[0]


def normal_pinv(Phi, y):
    return np.linalg.pinv(Phi) @ y


def normal_sklearn(Phi, y):
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=False).fit(Phi, y).coef_


def normal_qr(Phi, y):
    Q, R = np.linalg.qr(Phi)
    return scipy.linalg.solve_triangular(R, Q.T @ y)


def kfold_sklearn(n, k):
    from sklearn.model_selection import KFold

    return list(KFold(k, shuffle=True).split(np.zeros(n)))


def kfold_plain(n, k):
    folds = np.array_split(np.random.default_rng().permutation(n), k)
    return [(np.setdiff1d(np.arange(n), f), f) for f in folds]


def kfold_torch_lists(n, k):
    """Lists and tensors, contiguous folds: any shuffle (or none) is allowed."""
    out = []
    for j in range(k):
        val = [i for i in range(n) if i * k // n == j]
        out.append((torch.tensor([i for i in range(n) if i not in val]), val))
    return out


def quad_numpy(A, x):
    return (A + A.T) @ x


def quad_einsum(A, x):
    return np.einsum("ij,j->i", A, x) + np.einsum("ji,j->i", A, x)


def quad_autograd(A, x):
    xt = torch.tensor(x, requires_grad=True)
    (xt @ torch.tensor(A) @ xt).backward()
    return xt.grad


def linear_numpy(X, W, G):
    return G.T @ X, G @ W, G.sum(axis=0)


def linear_einsum(X, W, G):
    return (np.einsum("no,ni->oi", G, X), np.einsum("no,oi->ni", G, W),
            np.einsum("no->o", G))


def linear_loops(X, W, G):
    dW = sum(np.outer(g, x) for g, x in zip(G, X))
    return dW, np.stack([W.T @ g for g in G]), np.ones(len(G)) @ G


def linear_autograd(X, W, G):
    Xt, Wt = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    b = torch.zeros(W.shape[0], dtype=torch.float64, requires_grad=True)
    (Xt @ Wt.T + b).backward(torch.tensor(G))
    return [Wt.grad, Xt.grad, b.grad]


def _Y(y, K):
    return np.eye(K)[y]


def logit_grad_numpy(Z, y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return (E / E.sum(axis=1, keepdims=True) - _Y(y, Z.shape[1])) / len(y)


def logit_grad_scipy(Z, y):
    return (scipy.special.softmax(Z, axis=1) - _Y(y, Z.shape[1])) / Z.shape[0]


def logit_grad_autograd(Z, y):
    Zt = torch.tensor(Z, requires_grad=True)
    F.cross_entropy(Zt, torch.tensor(y)).backward()
    return Zt.grad


def logit_grad_loop(Z, y):
    G = np.empty_like(Z)
    for i, (z, c) in enumerate(zip(Z, y)):
        e = np.exp(z - z.max())
        G[i] = e / e.sum()
        G[i, c] -= 1
    return G / len(y)


def grads_numpy(X, W, b, y):
    G = logit_grad_numpy(X @ W.T + b, y)
    return G.T @ X, G.sum(axis=0)


def grads_einsum(X, W, b, y):
    G = logit_grad_scipy(np.einsum("nd,kd->nk", X, W) + b, y)
    return np.einsum("nk,nd->kd", G, X), np.einsum("nk->k", G)


def grads_autograd(X, W, b, y):
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    F.cross_entropy(torch.tensor(X) @ Wt.T + bt, torch.tensor(y)).backward()
    return Wt.grad, bt.grad


def grads_loops(X, W, b, y):
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for x, c in zip(X, y):
        z = W @ x + b
        p = np.exp(z - z.max())
        p /= p.sum()
        p[c] -= 1
        dW += np.outer(p, x)
        db += p
    return dW / len(y), db / len(y)


RIGHT = {
    labs.check_lsq_gradient: [lsq_grad_numpy, lsq_grad_einsum, lsq_grad_loop, lsq_grad_autograd],
    labs.check_normal_equations: [normal_solve, normal_scipy, normal_pinv, normal_sklearn,
                                  normal_qr],
    labs.check_kfold: [kfold_sklearn, kfold_plain, kfold_torch_lists],
    labs.check_quadratic_form_gradient: [quad_numpy, quad_einsum, quad_autograd],
    labs.check_linear_layer_backward: [linear_numpy, linear_einsum, linear_loops,
                                       linear_autograd],
    labs.check_cross_entropy_logit_grad: [logit_grad_numpy, logit_grad_scipy,
                                          logit_grad_autograd, logit_grad_loop],
    labs.check_softmax_grads: [grads_numpy, grads_einsum, grads_autograd, grads_loops],
}
SOFTMAX_CHECKS = [labs.check_cross_entropy_logit_grad, labs.check_softmax_grads]
# The labs of chapters 04 and 05 keep their references, catalogues and own tests in their
# files; the contract every lab meets is tested here, over all of them.
RIGHT.update(test_labs_gradient_descent.RIGHT)
RIGHT.update(test_labs_optimizers.RIGHT)
RIGHT.update(test_labs_networks.RIGHT)
RIGHT.update(test_labs_backprop.RIGHT)
RIGHT_PAIRS = [(check, fn) for check, fns in RIGHT.items() for fn in fns]
IDS = [f"{c.__name__}-{f.__name__}" for c, f in RIGHT_PAIRS]
CASES = {  # the private case generators, to look for leaked reference values
    labs.check_lsq_gradient: labs.regression._lsq_gradient_cases,
    labs.check_normal_equations: labs.regression._normal_equations_cases,
    labs.check_quadratic_form_gradient: labs.matrix_calculus._quadratic_form_cases,
    labs.check_linear_layer_backward: labs.matrix_calculus._linear_layer_cases,
    labs.check_cross_entropy_logit_grad: labs.classification._logit_grad_cases,
    labs.check_softmax_grads: labs.classification._softmax_grads_cases,
    labs.check_step_sizes: labs.gradient_descent._step_size_cases,
    **test_labs_optimizers.CASES,
    **test_labs_networks.CASES,
    **test_labs_backprop.CASES,
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("check, fn", RIGHT_PAIRS, ids=IDS)
def test_right_answers_pass(check, fn, seed, capsys):
    result = check(fn, seed=seed)
    assert result.passed, result.message
    assert result.cases >= 6
    assert capsys.readouterr().out.strip() == result.message
    assert "passed all" in result.message and fn.__name__ in result.message


@pytest.mark.parametrize("check", [labs.check_lsq_gradient, labs.check_normal_equations,
                                   labs.check_kfold, labs.check_quadratic_form_gradient,
                                   labs.check_linear_layer_backward])
def test_cases_cover_the_edges(check):
    """The cases include a batch of one, p > N or d_in > N, non-square inputs, magnitudes."""
    if check is labs.check_kfold:
        pairs = [(c.args["n"], c.args["k"]) for c in labs.regression._kfold_cases(rng(0))]
        assert any(n == k for n, k in pairs) and any(n % k for n, k in pairs)
        assert any(n % k == 0 for n, k in pairs)
        return
    cases = CASES[check](rng(0))
    shapes = [[v.shape for v in c.args.values()] for c in cases]
    sizes = [np.max(np.abs(v)) for c in cases for v in c.args.values()]
    assert max(sizes) > 100 and min(sizes) < 0.1
    if check is not labs.check_quadratic_form_gradient:
        assert any(c.N == 1 for c in cases)
        assert any(len(s) == 2 and s[0] != s[1] for sh in shapes for s in sh)
    if check in (labs.check_lsq_gradient, labs.check_linear_layer_backward):
        assert any(c.args[list(c.args)[1 if check is labs.check_lsq_gradient else 0]].shape[1]
                   > c.N for c in cases)
    if check is labs.check_quadratic_form_gradient:
        assert any(not np.allclose(c.args["A"], c.args["A"].T) for c in cases)
        assert any(np.allclose(c.args["A"], c.args["A"].T) for c in cases)


def test_fresh_cases_without_a_seed_and_the_same_with_one():
    cases = labs.regression._lsq_gradient_cases
    a, b = cases(rng(None)), cases(rng(None))
    assert not np.array_equal(a[0].args["y"], b[0].args["y"]) or a[0].N != b[0].N
    c, d = cases(rng(5)), cases(rng(5))
    assert all(np.array_equal(x.expected, z.expected) for x, z in zip(c, d))


# --- the catalogue of wrong answers ---------------------------------------------------


def _N(Phi):
    return Phi.shape[0]


WRONG_LSQ = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("no 1/N", lambda t, P, y: P.T @ (P @ t - y), r"factor of N = \d+.*1/N"),
    ("sign", lambda t, P, y: P.T @ (y - P @ t) / _N(P), r"wrong sign"),
    ("2/N", lambda t, P, y: 2 * P.T @ (P @ t - y) / _N(P), r"factor of 2\b.*1/2"),
    ("sum loss x2", lambda t, P, y: 2 * P.T @ (P @ t - y), r"factor of 2N.*1/2 and the 1/N"),
    ("1/N^2", lambda t, P, y: P.T @ (P @ t - y) / _N(P) ** 2, r"factor of 1/N.*once too often"),
    ("residuals", lambda t, P, y: (P @ t - y) / _N(P), r"\(N,\).*one entry per parameter"),
    ("per example", lambda t, P, y: P * (P @ t - y)[:, None] / _N(P), r"\(N, p\).*per-example"),
    ("row vector", lambda t, P, y: (P.T @ (P @ t - y) / _N(P))[None, :],
     r"\(1, p\).*extra axis.*shape of its variable, here theta"),
    ("column", lambda t, P, y: (P.T @ (P @ t - y) / _N(P))[:, None], r"\(p, 1\).*extra axis"),
    ("no y", lambda t, P, y: P.T @ P @ t / _N(P), r"from y is missing"),
    ("N = 1 only", lambda t, P, y: P.T @ (P @ t - y) / np.squeeze(P).shape[0],
     r"(?s)batch of one.*right for the earlier cases, batches of N > 1"),
    ("N - 1", lambda t, P, y: P.T @ (P @ t - y) / (_N(P) - 1), r"N/\(N-1\)"),
    ("NaN", lambda t, P, y: P.T @ (P @ t - y) / 0.0, r"NaN or inf"),
    ("list", lambda t, P, y: list(P.T @ (P @ t - y) / _N(P)), r"is a list.*NumPy array"),
    ("None", lambda t, P, y: None, r"is None.*return"),
    ("raises", lambda t, P, y: P @ P, r"raised ValueError.*shapes"),
    ("float32", lambda t, P, y: (P.T @ (P @ t - y) / _N(P)).astype(np.float32),
     r"low precision \(float32"),
    ("in place", lambda t, P, y: P.T @ (P @ t - y.__isub__(1) * 0 - y) / _N(P),
     r"changed its argument y in place"),
    ("noise", lambda t, P, y: P.T @ (P @ t - y) / _N(P) + 1e-3 * np.linalg.norm(P),
     r"wrong values: relative error"),
]

WRONG_NORMAL = [
    ("stub", stub, r"not written yet"),
    ("rhs", lambda P, y: P.T @ y, r"Phi\^T y, the right-hand side"),
    ("multiplied", lambda P, y: P.T @ P @ P.T @ y, r"multiplied by Phi\^T Phi.*inverse"),
    ("Phi Phi^T", lambda P, y: np.linalg.solve(P @ P.T + np.eye(len(y)), y),
     r"\(N,\).*Phi Phi\^T"),
    ("column", lambda P, y: np.linalg.solve(P.T @ P, P.T @ y[:, None]), r"\(p, 1\).*extra axis"),
    ("lstsq tuple", lambda P, y: np.linalg.lstsq(P, y, rcond=None),
     r"tuple of 4.*first item.*lstsq"),
    ("inv(Phi)", lambda P, y: np.linalg.inv(P) @ y, r"LinAlgError.*square"),
    ("half", lambda P, y: 0.5 * np.linalg.solve(P.T @ P, P.T @ y), r"factor of 1/2"),
    ("factor 3", lambda P, y: 3 * np.linalg.solve(P.T @ P, P.T @ y), r"constant factor.* 3 times"),
    ("sign", lambda P, y: np.linalg.solve(P.T @ P, -P.T @ y), r"wrong sign"),
    ("ridge", lambda P, y: np.linalg.solve(P.T @ P + np.eye(P.shape[1]), P.T @ y),
     r"wrong values"),
]

WRONG_QUAD = [
    ("stub", stub, r"not written yet"),
    ("A x", lambda A, x: A @ x, r"equals A x.*symmetric"),
    ("A^T x", lambda A, x: x @ A, r"equals A\^T x.*symmetric"),
    ("2 A x", lambda A, x: 2 * A @ x, r"2 A x, which is right only when A is symmetric"),
    ("2 A^T x", lambda A, x: 2 * A.T @ x, r"2 A\^T x.*only when A is symmetric"),
    ("sign", lambda A, x: -(A + A.T) @ x, r"wrong sign"),
    ("half", lambda A, x: (A + A.T) @ x / 2, r"factor of 1/2"),
    ("row", lambda A, x: ((A + A.T) @ x)[None, :], r"\(1, n\).*shape of its variable, here x"),
    ("no x", lambda A, x: A + A.T, r"\(n, n\).*forget to multiply by x"),
    ("torch float32", lambda A, x: torch.tensor((A + A.T) @ x, dtype=torch.float32),
     r"low precision"),
    ("string", lambda A, x: "2Ax", r"is a str"),
    ("complex", lambda A, x: (A + A.T) @ x + 0j, r"dtype complex128.*real numbers"),
]


def _lin(dW=None, dX=None, db=None):
    """The right backward pass with some outputs replaced by wrong ones."""
    def fn(X, W, G):
        right = linear_numpy(X, W, G)
        return tuple(right[i] if f is None else f(X, W, G) for i, f in enumerate((dW, dX, db)))
    return fn


WRONG_LINEAR = [
    ("stub", stub, r"not written yet"),
    ("dW = X^T G", _lin(dW=lambda X, W, G: X.T @ G),
     r"dW equals X\^T G, the transpose.*\(dX, db are right"),
    ("db = G", _lin(db=lambda X, W, G: G), r"db has shape .*\(N, d_out\).*sums G over the batch"),
    ("db averaged", _lin(db=lambda X, W, G: G.mean(axis=0)),
     r"db is off by a factor of 1/N.*SUMS G"),
    ("db axis 1", _lin(db=lambda X, W, G: G.sum(axis=1)), r"db has shape.*\(N,\).*axis 1"),
    ("db scalar", _lin(db=lambda X, W, G: G.sum()), r"db has shape \(\).*single number"),
    ("dX = G W^T", _lin(dX=lambda X, W, G: G @ W.T), r"raised ValueError|dX equals G W\^T"),
    ("dX squeezed", _lin(dX=lambda X, W, G: np.squeeze(G @ W)),
     r"(?s)dX has shape.*axis of length 1 is missing.*batch of one"),
    ("dW averaged", _lin(dW=lambda X, W, G: G.T @ X / len(X)), r"dW is off by a factor of 1/N"),
    ("dX sign", _lin(dX=lambda X, W, G: -G @ W), r"dX has the wrong sign.*\(dW, db are right"),
    ("wrong order", lambda X, W, G: (G @ W, G.T @ X, G.sum(axis=0)), r"wrong order"),
    ("two outputs", lambda X, W, G: (G.T @ X, G @ W), r"tuple of 2 items.*3 arrays"),
    ("one array", lambda X, W, G: G.T @ X,
     r"returned a NumPy array of shape \(\d+, \d+\).*tuple of 3"),
    ("all wrong", _lin(dW=lambda X, W, G: X.T @ G, dX=lambda X, W, G: 2 * G @ W,
                       db=lambda X, W, G: G),
     r"(?s)dW equals X\^T G.*\ndX is off by a factor of 2.*\ndb has shape"),
]


def _folds(n, k):
    return [(np.setdiff1d(np.arange(n), f), f)
            for f in np.array_split(np.random.default_rng(0).permutation(n), k)]


def _uneven(n, k):
    m = n // k
    cuts = [np.arange(j * m, (j + 1) * m) for j in range(k - 1)] + [np.arange((k - 1) * m, n)]
    return [(np.setdiff1d(np.arange(n), f), f) for f in cuts]


def _resampled(n, k):
    g = np.random.default_rng(1)
    vals = [np.unique(g.choice(n, max(1, n // k))) for _ in range(k)]
    return [(np.setdiff1d(np.arange(n), v), v) for v in vals]


def _empty_fold(n, k):
    size = -(-n // k)
    cuts = [np.arange(j * size, min((j + 1) * size, n)) for j in range(k)]
    return [(np.setdiff1d(np.arange(n), f), f) for f in cuts]


WRONG_KFOLD = [
    ("stub", stub, r"not written yet"),
    ("leak", lambda n, k: [(np.arange(n), v) for _, v in _folds(n, k)],
     r"folds\[0\]: \d+ row\(s\) are in both train_idx and val_idx.*leakage"),
    ("missing rows", lambda n, k: [(_folds(n, k)[(j + 1) % k][1], _folds(n, k)[j][1])
                                   for j in range(k)], r"folds\[0\].*missing from training"),
    ("swapped", lambda n, k: [(v, t) for t, v in _folds(n, k)], r"swapped"),
    ("resampled", _resampled, r"validated in more than one fold|never validated"),
    ("uneven", _uneven, r"differ by at most 1"),
    ("empty fold", _empty_fold, r"differ by at most 1|val_idx is empty"),
    ("one-based", lambda n, k: [(t + 1, v + 1) for t, v in _folds(n, k)],
     r"outside range\(n\).*counted from 0"),
    ("masks", lambda n, k: [(np.isin(np.arange(n), t), np.isin(np.arange(n), v))
                            for t, v in _folds(n, k)], r"boolean mask"),
    ("floats", lambda n, k: [(t * 1.0, v * 1.0) for t, v in _folds(n, k)], r"dtype float64"),
    ("generator", lambda n, k: (p for p in _folds(n, k)), r"generator.*list\(\.\.\.\)"),
    ("k - 1 pairs", lambda n, k: _folds(n, k)[1:], r"pairs for k = \d+"),
    ("not pairs", lambda n, k: [v for _, v in _folds(n, k)], r"each item must be a pair"),
    ("duplicates", lambda n, k: [(np.concatenate([t, t[:1]]), v) for t, v in _folds(n, k)],
     r"more than once"),
    ("2-D", lambda n, k: [(t[None, :], v) for t, v in _folds(n, k)], r"should be 1-D"),
]

def _naive_probs(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _P(Z):
    return scipy.special.softmax(Z, axis=1)


WRONG_LOGIT = [
    ("stub", stub, r"not written yet.*NotImplementedError"),
    ("no 1/N", lambda Z, y: _P(Z) - _Y(y, Z.shape[1]), r"factor of N = \d+.*MEAN"),
    ("sign", lambda Z, y: (_Y(y, Z.shape[1]) - _P(Z)) / len(y), r"wrong sign.*P - Y, not Y - P"),
    ("transposed", lambda Z, y: ((_P(Z) - _Y(y, Z.shape[1])) / len(y)).T,
     r"the transpose.*here Z"),
    ("overflow", lambda Z, y: (_naive_probs(Z) - _Y(y, Z.shape[1])) / len(y),
     r"(?s)NaN or inf.*overflows.*subtract each row's largest logit"),
    ("no targets", lambda Z, y: _P(Z) / len(y), r"P / N: the targets are missing"),
    ("axis 0", lambda Z, y: (scipy.special.softmax(Z, axis=0) - _Y(y, Z.shape[1])) / len(y),
     r"softmax taken down the columns"),
    ("d/dp", lambda Z, y: -_Y(y, Z.shape[1]) / _P(Z) / len(y),
     r"-Y / P / N, the gradient with respect to the probabilities"),
    ("minus 1", lambda Z, y: (_P(Z) - 1) / len(y), r"subtracts 1 from every probability"),
    ("per-class mean", lambda Z, y: (_P(Z) - _Y(y, Z.shape[1])).mean(axis=0),
     r"\(K,\).*summed or averaged over the batch"),
    ("squeezed", lambda Z, y: np.squeeze((_P(Z) - _Y(y, Z.shape[1])) / len(y)),
     r"(?s)squeeze\(\).*dropped the batch axis.*right for the earlier cases, batches of N > 1"),
    ("float32", lambda Z, y: ((_P(Z) - _Y(y, Z.shape[1])) / len(y)).astype(np.float32),
     r"low precision \(float32"),
    ("in place", lambda Z, y: (_P(Z.__isub__(Z.max(axis=1, keepdims=True)))
                               - _Y(y, Z.shape[1])) / len(y),
     r"changed its argument Z in place"),
]


def _grads(dW=None, db=None):
    """The right gradients with some outputs replaced by wrong ones."""
    def fn(X, W, b, y):
        right = grads_numpy(X, W, b, y)
        return tuple(right[i] if f is None else f(X, W, b, y) for i, f in enumerate((dW, db)))
    return fn


def _R(X, W, b, y):
    return _P(X @ W.T + b) - _Y(y, W.shape[0])


WRONG_GRADS = [
    ("stub", stub, r"not written yet"),
    ("dW = X^T R", _grads(dW=lambda X, W, b, y: X.T @ _R(X, W, b, y) / len(y)),
     r"dW equals X\^T \(P - Y\) / N, the transpose.*\(db is right"),
    ("dW no 1/N", _grads(dW=lambda X, W, b, y: _R(X, W, b, y).T @ X),
     r"dW is off by a factor of N = \d+.*MEAN.*\(db is right"),
    ("db no 1/N", _grads(db=lambda X, W, b, y: _R(X, W, b, y).sum(axis=0)),
     r"db is off by a factor of N = \d+"),
    ("sign", lambda X, W, b, y: tuple(-g for g in grads_numpy(X, W, b, y)),
     r"(?s)dW has the wrong sign.*P - Y.*\ndb has the wrong sign"),
    ("overflow", lambda X, W, b, y: (
        (_naive_probs(X @ W.T + b) - _Y(y, W.shape[0])).T @ X / len(y),
        (_naive_probs(X @ W.T + b) - _Y(y, W.shape[0])).sum(axis=0) / len(y)),
     r"(?s)NaN or inf.*overflows.*largest logit"),
    ("no targets", _grads(dW=lambda X, W, b, y: _P(X @ W.T + b).T @ X / len(y)),
     r"P\^T X / N: the targets are missing"),
    ("axis 0", _grads(dW=lambda X, W, b, y: (scipy.special.softmax(X @ W.T + b, axis=0)
                                             - _Y(y, W.shape[0])).T @ X / len(y)),
     r"softmax taken over the examples"),
    ("db per example", _grads(db=lambda X, W, b, y: _R(X, W, b, y) / len(y)),
     r"db has shape.*\(N, K\).*sums the rows"),
    ("db axis 1", _grads(db=lambda X, W, b, y: _R(X, W, b, y).sum(axis=1) / len(y)),
     r"db has shape.*\(N,\).*axis 1"),
    ("wrong order", lambda X, W, b, y: grads_numpy(X, W, b, y)[::-1], r"wrong order"),
    ("one array", lambda X, W, b, y: grads_numpy(X, W, b, y)[0],
     r"returned a NumPy array of shape.*tuple of 2"),
    ("N = 1 only", _grads(dW=lambda X, W, b, y: np.squeeze(_R(X, W, b, y)).T[:, None] @ X
                          if len(y) == 1 else _R(X, W, b, y).T @ X / len(y) * 0.5),
     r"dW is off by a factor of 1/2"),
]

WRONG = ([(labs.check_lsq_gradient, *w) for w in WRONG_LSQ]
         + [(labs.check_normal_equations, *w) for w in WRONG_NORMAL]
         + [(labs.check_quadratic_form_gradient, *w) for w in WRONG_QUAD]
         + [(labs.check_linear_layer_backward, *w) for w in WRONG_LINEAR]
         + [(labs.check_kfold, *w) for w in WRONG_KFOLD]
         + [(labs.check_cross_entropy_logit_grad, *w) for w in WRONG_LOGIT]
         + [(labs.check_softmax_grads, *w) for w in WRONG_GRADS]
         + test_labs_gradient_descent.WRONG + test_labs_optimizers.WRONG
         + test_labs_networks.WRONG + test_labs_backprop.WRONG)


def _numbers(values) -> set[str]:
    """Each reference entry as NumPy and Python would print it, to 3-8 significant digits."""
    out = set()
    for v in np.ravel(values):
        for digits in range(3, 9):
            out.add(np.format_float_positional(v, precision=digits, unique=False,
                                               fractional=False, trim="-"))
            out.add(f"{v:.{digits}g}")
    return {s for s in out if len(s.lstrip("-").replace(".", "").lstrip("0")) >= 3}


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("check, name, fn, pattern", WRONG, ids=[f"{c.__name__}-{w}" for c, w, *_
                                                                 in WRONG])
def test_wrong_answers_are_named(check, name, fn, pattern, seed, capsys):
    result = check(fn, seed=seed)
    assert not result.passed
    assert re.search(pattern, result.message, re.S), result.message
    assert capsys.readouterr().out.strip() == result.message
    assert not re.search(r"\d{6,}", result.message), result.message
    if check in CASES:  # no value of the reference answer appears in the message
        for case in CASES[check](rng(seed))[:result.cases]:
            expected = case.expected if isinstance(case.expected, tuple) else (case.expected,)
            for e in expected:
                assert np.array2string(e) not in result.message
                leaked = [s for s in _numbers(e) if s in result.message]
                assert not leaked, (leaked, result.message)


def test_catalogue_sizes():
    for check in RIGHT:
        assert sum(c is check for c, *_ in WRONG) >= 5, check.__name__


def test_a_shape_error_is_named_with_the_input_shapes():
    result = labs.check_linear_layer_backward(_lin(dX=lambda X, W, G: G @ W.T), seed=0)
    assert re.search(r"inputs X \(\d+, \d+\), W \(\d+, \d+\), G \(\d+, \d+\)", result.message)
    assert "raised ValueError" in result.message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_square_inputs_tell_a_transpose_by_its_values(seed):
    """Where the shapes cannot tell (d_in = d_out), the values name the mistake."""
    cases = labs.matrix_calculus._linear_layer_cases(rng(seed))
    case = next(c for c in cases if "square" in c.label)
    judge = labs.engine._judge_tuple(labs.matrix_calculus._LINEAR_LAYER)
    X, W, G = case.args.values()
    assert judge(linear_numpy(X, W, G), case) is None
    assert "dX equals G W^T" in judge(_lin(dX=lambda X, W, G: G @ W.T)(X, W, G), case)
    assert "dW equals X^T G" in judge(_lin(dW=lambda X, W, G: X.T @ G)(X, W, G), case)
    dW = case.expected[0]  # the engine's own detector, without the catalogued mistake:
    assert "M is the transpose" in labs.engine._diagnose(dW.T, dW, case, labs.Output("M"))


def test_exceptions_are_named_plainly():
    def bare(*args):
        raise ValueError()

    result = labs.check_quadratic_form_gradient(bare, seed=0)
    assert "Your function raised ValueError." in result.message
    result = labs.check_normal_equations(lambda P, y: np.linalg.inv(P) @ y, seed=0)
    assert "square." in result.message and ".." not in result.message


def test_right_only_for_a_batch_of_one_is_said():
    result = labs.check_lsq_gradient(lambda t, P, y: P.T @ (P @ t - y), seed=0)
    assert "right for a batch of one (N = 1) but wrong for batches of N > 1" in result.message
    assert result.cases == 1


@pytest.mark.parametrize("check", SOFTMAX_CHECKS)
@pytest.mark.parametrize("seed", [0, 5])
def test_softmax_cases_cover_the_edges(check, seed):
    """A batch of one, K = 2, logits large enough to overflow exp, small entries."""
    cases = CASES[check](rng(seed))
    assert any(c.N == 1 for c in cases) and any(c.dims["K"] == 2 for c in cases)
    logits = [c.args["Z"] if "Z" in c.args else c.args["X"] @ c.args["W"].T + c.args["b"]
              for c in cases]
    with np.errstate(over="ignore"):
        assert any(not np.all(np.isfinite(np.exp(z))) for z in logits)
    assert min(np.max(np.abs(z)) for z in logits) < 0.1
    for c in cases:
        y = c.args["y"]
        assert y.dtype.kind == "i" and y.min() >= 0 and y.max() < c.dims["K"]
    if check is labs.check_softmax_grads:
        assert any(c.dims["d"] > c.N for c in cases)
        assert any(c.dims["d"] == c.dims["K"] for c in cases)


def test_an_overflow_is_not_blamed_on_the_batch_size():
    def naive(Z, y):
        return (_naive_probs(Z) - _Y(y, Z.shape[1])) / len(y)

    result = labs.check_cross_entropy_logit_grad(naive, seed=0)
    assert "1e+04" in result.message and "batch of one" not in result.message.split(")", 1)[1]


def test_right_for_a_batch_of_one_only_is_said():
    result = labs.check_cross_entropy_logit_grad(lambda Z, y: _P(Z) - _Y(y, Z.shape[1]), seed=0)
    assert "right for a batch of one (N = 1) but wrong for batches of N > 1" in result.message


# --- strict and lenient mode ----------------------------------------------------------


def test_strict_mode_raises_the_message(monkeypatch, capsys):
    monkeypatch.setenv("DLNOTES_LABS", "strict")
    with pytest.raises(AssertionError, match=r"(?s)case 1 of \d+ FAILED.*factor of N"):
        labs.check_lsq_gradient(lambda t, P, y: P.T @ (P @ t - y), seed=0)
    with pytest.raises(AssertionError, match="not written yet"):
        labs.check_kfold(stub)
    result = labs.check_lsq_gradient(lsq_grad_numpy)  # a right answer passes and prints
    assert result.passed and "passed all" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["", "print", " Print "])
def test_lenient_mode_prints_and_returns(monkeypatch, capsys, value):
    monkeypatch.setenv("DLNOTES_LABS", value)
    result = labs.check_quadratic_form_gradient(lambda A, x: A @ x, seed=0)
    assert isinstance(result, labs.LabResult) and not result.passed
    assert capsys.readouterr().out == result.message + "\n"
    assert str(result) == result.message
    assert repr(result) == f"LabResult(passed=False, cases={result.cases})"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(passed="yes"), TypeError, "passed must be True or False"),
    (dict(message=3), TypeError, "message must be a str"),
    (dict(cases=-1), ValueError, "cases must be >= 0"),
    (dict(cases=1.5), TypeError, "cases must be an int")])
def test_lab_result_checks_its_fields(kwargs, error, match):
    assert labs.LabResult(passed=True, message="ok", cases=np.int64(2)).cases == 2
    with pytest.raises(error, match=match):
        labs.LabResult(**{**dict(passed=True, message="ok", cases=2), **kwargs})


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("DLNOTES_LABS", "stirct")
    with pytest.raises(ValueError, match=r"\$DLNOTES_LABS must be 'strict' or 'print'.*stirct"):
        labs.check_lsq_gradient(lsq_grad_numpy)


# --- bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize("check", list(RIGHT))
@pytest.mark.parametrize("fn", [None, 3, "lsq_grad", np.zeros(3)])
def test_fn_must_be_callable(check, fn):
    with pytest.raises(TypeError, match="fn must be callable"):
        check(fn)


@pytest.mark.parametrize("check", list(RIGHT))
@pytest.mark.parametrize("seed, error, match", [
    (-1, ValueError, "seed must be >= 0"), (1.5, TypeError, "seed must be an int"),
    (True, TypeError, "seed must be an int"), ("0", TypeError, "seed must be an int")])
def test_seed_is_checked(check, seed, error, match):
    with pytest.raises(error, match=match):
        check(RIGHT[check][0], seed=seed)


def test_seed_accepts_numpy_and_0d_integers():
    assert labs.check_lsq_gradient(lsq_grad_numpy, seed=np.int64(3)).passed
    assert labs.check_lsq_gradient(lsq_grad_numpy, seed=np.array(3)).passed


# --- properties -----------------------------------------------------------------------

FACTORS = st.floats(-1e6, 1e6).filter(lambda c: abs(c) > 1e-6 and abs(c - 1) > 1e-3)
SCALED = {
    labs.check_lsq_gradient: lambda c: lambda t, P, y: c * lsq_grad_numpy(t, P, y),
    labs.check_normal_equations: lambda c: lambda P, y: c * normal_solve(P, y),
    labs.check_quadratic_form_gradient: lambda c: lambda A, x: c * quad_numpy(A, x),
    labs.check_linear_layer_backward: lambda c: lambda X, W, G: (c * G.T @ X, G @ W,
                                                                 G.sum(axis=0)),
    labs.check_cross_entropy_logit_grad: lambda c: lambda Z, y: c * logit_grad_numpy(Z, y),
    labs.check_softmax_grads: lambda c: lambda X, W, b, y: (c * grads_numpy(X, W, b, y)[0],
                                                            grads_numpy(X, W, b, y)[1]),
}


@given(check=st.sampled_from(list(SCALED)), c=FACTORS, seed=st.integers(0, 2**32))
def test_any_constant_factor_is_detected(check, c, seed):
    result = check(SCALED[check](c), seed=seed)
    assert not result.passed
    assert "factor" in result.message and "wrong values" not in result.message
    assert ("wrong sign" in result.message) == (c < 0)


@given(pair=st.sampled_from(RIGHT_PAIRS), seed=st.integers(0, 2**32))
def test_right_implementations_always_pass(pair, seed):
    check, fn = pair
    assert check(fn, seed=seed).passed


@given(seed=st.integers(0, 2**32), extra=st.integers(1, 3))
def test_any_leak_is_detected(seed, extra):
    """Moving a few validation rows into a training set too is always called leakage."""
    def leaky(n, k):
        folds = kfold_plain(n, k)
        t, v = folds[-1]
        folds[-1] = (np.concatenate([t, v[:extra]]), v)
        return folds

    result = labs.check_kfold(leaky, seed=seed)
    assert not result.passed and "leakage" in result.message and "both" in result.message


@given(seed=st.integers(0, 2**32), i=st.integers(0, 100), delta=st.floats(1e-7, 1e6))
def test_one_wrong_entry_is_detected(seed, i, delta):
    """A gradient with one entry off by 1e-7 of the gradient's norm or more never passes."""
    def one_off(t, P, y):
        g = lsq_grad_numpy(t, P, y)
        g[i % g.size] += delta * np.linalg.norm(g)
        return g

    assert not labs.check_lsq_gradient(one_off, seed=seed).passed


@given(seed=st.integers(0, 2**32), i=st.integers(0, 100), delta=st.floats(1e-6, 1e3))
def test_one_wrong_logit_gradient_entry_is_detected(seed, i, delta):
    def one_off(Z, y):
        G = logit_grad_numpy(Z, y)
        G.flat[i % G.size] += delta * np.linalg.norm(G)
        return G

    assert not labs.check_cross_entropy_logit_grad(one_off, seed=seed).passed
