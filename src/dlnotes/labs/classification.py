"""Labs of chapter 03: the gradient of softmax cross-entropy with respect to the
logits and to the parameters of softmax regression."""

from __future__ import annotations

import numpy as np

from dlnotes import losses
from dlnotes._checks import callable_, rng
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_array, _judge_tuple,
                                 _labels_for, _overflow_hint, _run, _sizes)

# --- chapter 03: the softmax cross-entropy gradient -------------------------------------


_LARGE = "logits of size about 1e+04"
_SIZE = "of size 1e4, and exp(1e4)"


def _logit_grad_cases(gen: np.random.Generator) -> list[Case]:
    N, K = _sizes(gen, (6, 10), (3, 5))
    k = int(gen.integers(3, 6))
    specs = [(N, K, 1.0, "a typical batch"),
             (k, k, 1.0, "as many examples as classes, N = K"),
             (N, 2, 1.0, "two classes, K = 2"),
             (int(gen.integers(2, 4)), int(gen.integers(8, 11)), 1.0, "more classes than "
                                                                       "examples, K > N"),
             (N, K, 1e4, _LARGE),
             (N, K, 1e-3, "logits of size about 1e-03"),
             (1, K, 1.0, "a batch of one, N = 1")]
    cases = []
    for N, K, s, label in specs:
        Z, y = s * gen.standard_normal((N, K)), _labels_for(gen, N, K)
        cases.append(Case({"Z": Z, "y": y}, losses.cross_entropy_grad(Z, y),
                          {"N": N, "K": K}, label))
    return cases


_LOGIT_GRAD = Output(
    "Your gradient", "Z",
    mistakes=(
        Mistake(lambda Z, y: losses.softmax(Z) / len(y),
                "Your gradient equals P / N: the targets are missing. The gradient of the "
                "loss LSE(z) - z_y with respect to z is p - e_y; the -e_y comes from the -z_y "
                "term."),
        Mistake(lambda Z, y: (losses.softmax(Z, axis=0) - losses.one_hot(y, Z.shape[1])) / len(y),
                "Your gradient uses a softmax taken down the columns (over the examples, "
                "axis 0). Each example is a row of Z: normalise every row over its K classes "
                "(axis 1, or axis=-1)."),
        Mistake(lambda Z, y: -losses.one_hot(y, Z.shape[1]) / losses.softmax(Z) / len(y),
                "Your gradient equals -Y / P / N, the gradient with respect to the "
                "probabilities P. Multiply by the softmax Jacobian (or differentiate "
                "LSE(z) - z_y directly) to get the gradient with respect to the logits Z."),
        Mistake(lambda Z, y: (losses.softmax(Z) - 1) / len(y),
                "Your gradient subtracts 1 from every probability. Subtract 1 only in the "
                "column of the correct class of each row: P - Y with Y one-hot."),
    ),
    shape_hints={
        ("N",): "one number per example, but the gradient has one entry per logit, the shape "
                "of Z (N, K). Did you pick out the correct class's entry only?",
        ("K",): "one entry per class: you summed or averaged over the batch, or (for a "
                "batch of one) a squeeze() or an index [0] dropped the batch axis. The "
                "gradient with respect to Z has one row per example, the shape of Z.",
    },
    factor_hints={"N": "N is the batch size: the loss is the MEAN over the N examples, so the "
                       "gradient is (P - Y) / N."},
    sign_hint="The gradient is probabilities minus targets, P - Y, not Y - P.",
)


def check_cross_entropy_logit_grad(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(Z, y)``, the gradient of the mean softmax cross-entropy
    ``L = (1/N) sum_i (LSE(z_i) - z_{i, y_i})`` with respect to the logits.

    Shapes: ``Z (N, K)`` logits, one example a row; ``y (N,)`` int class
    indices in range(K); the gradient is ``(P - Y) / N`` of shape (N, K).
    Compared with :func:`dlnotes.losses.cross_entropy_grad` on fresh random
    inputs (a batch of one, N = K, K = 2, K > N, logits of size 1e-3 and 1e4,
    where a softmax that does not subtract the maximum overflows).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _logit_grad_cases(rng(seed))
    return _run("check_cross_entropy_logit_grad", fn, cases,
                _overflow_hint(_judge_array(_LOGIT_GRAD), _LARGE, _SIZE))


# --- chapter 03: the parameter gradients of softmax regression --------------------------


def _softmax_grads_cases(gen: np.random.Generator) -> list[Case]:
    N, d, K = _sizes(gen, (7, 10), (4, 6), (2, 3))
    k = int(gen.integers(3, 5))
    specs = [(N, d, K, 1.0, "a typical batch"),
             (3, int(gen.integers(6, 9)), 2, 1.0, "more features than examples, d > N"),
             (N, k, k, 1.0, "a square W, d = K"),
             (N, d, K, 100.0, _LARGE),
             (N, d, K, 1e-3, "entries of size about 1e-03"),
             (1, d, K, 1.0, "a batch of one, N = 1")]
    cases = []
    for N, d, K, s, label in specs:
        X, W = s * gen.standard_normal((N, d)), s * gen.standard_normal((K, d))
        b, y = s * s * gen.standard_normal(K), _labels_for(gen, N, K)
        G = losses.cross_entropy_grad(X @ W.T + b, y)
        cases.append(Case({"X": X, "W": W, "b": b, "y": y}, (G.T @ X, G.sum(axis=0)),
                          {"N": N, "d": d, "K": K}, label))
    return cases


def _residual(X, W, b, y):
    """``P - Y`` for softmax regression, stable (the catalogue of mistakes is built on it)."""
    return losses.softmax(X @ W.T + b) - losses.one_hot(y, W.shape[0])


_MEAN = "the loss is the MEAN over the N examples, so both gradients carry a 1/N."

_SOFTMAX_GRADS = (
    Output("dW", "W",
           mistakes=(Mistake(lambda X, W, b, y: X.T @ _residual(X, W, b, y) / len(y),
                             "dW equals X^T (P - Y) / N, the transpose of the gradient: in "
                             "denominator layout dW has the shape of W, (K, d), which is "
                             "(P - Y)^T X / N."),
                     Mistake(lambda X, W, b, y: losses.softmax(X @ W.T + b).T @ X / len(y),
                             "dW equals P^T X / N: the targets are missing. The upstream "
                             "gradient at the logits is (P - Y) / N."),
                     Mistake(lambda X, W, b, y: (losses.softmax(X @ W.T + b, axis=0)
                                                 - losses.one_hot(y, W.shape[0])).T @ X / len(y),
                             "dW uses a softmax taken over the examples (axis 0). Each row "
                             "of the logits is one example: normalise over the classes "
                             "(axis 1).")),
           factor_hints={"N": "N is the batch size: " + _MEAN},
           sign_hint="The upstream gradient is P - Y (probabilities minus targets), not Y - P."),
    Output("db", "b",
           shape_hints={
               ("N", "K"): "one row per example. b is added to every row of the logits, so "
                           "its gradient sums the rows of (P - Y) / N over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the classes (axis 1). Sum "
                       "(P - Y) / N over the batch (axis 0) instead.",
               (): "a single number, but b has K entries: sum over the batch axis only.",
           },
           factor_hints={"N": "N is the batch size: " + _MEAN},
           sign_hint="The upstream gradient is P - Y (probabilities minus targets), not Y - P."),
)


def check_softmax_grads(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, W, b, y) -> (dW, db)``, the gradients of the mean softmax
    cross-entropy of ``Z = X W^T + 1 b^T`` with respect to W and b.

    Shapes: ``X (N, d)`` one example a row, ``W (K, d)``, ``b (K,)``, ``y (N,)``
    int class indices; in denominator layout ``dW = (P - Y)^T X / N`` has shape
    (K, d) and ``db = (P - Y)^T 1 / N`` shape (K,). Compared with
    :func:`dlnotes.losses.cross_entropy_grad` and the linear-layer rules on
    fresh random inputs (a batch of one, d > N, a square W, K = 2, logits of
    size 1e4, entries of size 1e-3); every wrong output is named.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _softmax_grads_cases(rng(seed))
    return _run("check_softmax_grads", fn, cases,
                _overflow_hint(_judge_tuple(_SOFTMAX_GRADS), _LARGE, _SIZE))
