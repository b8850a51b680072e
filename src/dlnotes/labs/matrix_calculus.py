"""Labs of chapter 02: the gradient of a quadratic form and the backward pass of
a linear layer."""

from __future__ import annotations

import numpy as np

from dlnotes import matcalc
from dlnotes._checks import callable_, rng
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_array, _judge_tuple, _run,
                                 _sizes)

# --- chapter 02: the gradient of a quadratic form ---------------------------------------


def _quadratic_form_cases(gen: np.random.Generator) -> list[Case]:
    n = int(gen.integers(3, 7))
    specs = [(n, False, 1.0, "a non-symmetric A"),
             (int(gen.integers(20, 31)), False, 1.0, "a larger non-symmetric A"),
             (n, False, 1e3, "entries of size about 1e+03"),
             (n, False, 1e-3, "entries of size about 1e-03"),
             (n, True, 1.0, "a symmetric A"),
             (1, False, 1.0, "n = 1, a 1 x 1 matrix")]
    cases = []
    for n, symmetric, s, label in specs:
        A, x = s * gen.standard_normal((n, n)), s * gen.standard_normal(n)
        if symmetric:
            A = A + A.T
        cases.append(Case({"A": A, "x": x}, (A + A.T) @ x, {"n": n}, label))
    return cases


_TWICE = "x appears twice in x^T A x, and each appearance contributes its own term"
_ONE_TERM = (f"only one of the two terms: {_TWICE}. (Even for a symmetric A, where the two "
             f"terms are equal, it is only half the gradient.)")
_ONLY_SYMMETRIC = f"which is right only when A is symmetric, and this A is not: {_TWICE}."

_QUADRATIC_FORM = Output(
    "Your gradient", "x",
    mistakes=(
        Mistake(lambda A, x: A @ x, f"Your gradient equals A x, {_ONE_TERM}"),
        Mistake(lambda A, x: A.T @ x, f"Your gradient equals A^T x, {_ONE_TERM}"),
        Mistake(lambda A, x: 2 * A @ x, f"Your gradient equals 2 A x, {_ONLY_SYMMETRIC}"),
        Mistake(lambda A, x: 2 * A.T @ x, f"Your gradient equals 2 A^T x, {_ONLY_SYMMETRIC}"),
    ),
    shape_hints={
        ("n", "n"): "a matrix, but x^T A x is a number and its gradient has the shape of x. "
                    "Did you forget to multiply by x?",
    },
)


def check_quadratic_form_gradient(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(A, x)``, the gradient of ``x^T A x`` with respect to x.

    Shapes: ``A (n, n)``, not symmetric in general; ``x (n,)``; the gradient
    has shape (n,). Compared with ``(A + A^T) x`` on fresh random inputs
    (a symmetric A, n = 1, entries of size 1e-3 to 1e3).
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _quadratic_form_cases(rng(seed))
    return _run("check_quadratic_form_gradient", fn, cases, _judge_array(_QUADRATIC_FORM))


# --- chapter 02: the backward pass of a linear layer ------------------------------------


def _linear_layer_cases(gen: np.random.Generator) -> list[Case]:
    N, d_in, d_out = _sizes(gen, (6, 9), (4, 5), (2, 3))
    d = int(gen.integers(3, 5))
    specs = [(N, d_in, d_out, 1.0, "a typical batch"),
             (3, int(gen.integers(6, 9)), 2, 1.0, "more inputs than examples, d_in > N"),
             (N, d, d, 1.0, "a square W, d_in = d_out"),
             (N, 3, 1, 1.0, "one output, d_out = 1"),
             (N, d_in, d_out, 1e3, "entries of size about 1e+03"),
             (N, d_in, d_out, 1e-3, "entries of size about 1e-03"),
             (1, d_in, d_out, 1.0, "a batch of one, N = 1")]
    cases = []
    for N, d_in, d_out, s, label in specs:
        X, W = s * gen.standard_normal((N, d_in)), s * gen.standard_normal((d_out, d_in))
        G = s * gen.standard_normal((N, d_out))
        cases.append(Case({"X": X, "W": W, "G": G}, tuple(matcalc.linear_rows_grads(X, W, G)),
                          {"N": N, "d_in": d_in, "d_out": d_out}, label))
    return cases


_NO_MEAN = ("G already holds the gradient of the loss for each example, with any 1/N of a mean "
            "loss inside it: do not average over the batch again.")

_LINEAR_LAYER = (
    Output("dW", "W",
           mistakes=(Mistake(lambda X, W, G: X.T @ G,
                             "dW equals X^T G, the transpose of the gradient: in denominator "
                             "layout a gradient has the shape of its variable, so dW must have "
                             "the shape of W, (d_out, d_in)."),),
           factor_hints={"1/N": _NO_MEAN}),
    Output("dX", "X",
           mistakes=(Mistake(lambda X, W, G: G @ W.T,
                             "dX equals G W^T: the forward pass multiplies X by W^T, so the "
                             "backward pass multiplies G by W itself (check the shapes)."),),
           factor_hints={"1/N": _NO_MEAN}),
    Output("db", "b",
           shape_hints={
               ("N", "d_out"): "one row per example. b is added to every row of Z, so its "
                               "gradient sums G over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the outputs (axis 1). b is "
                       "added to every row of Z, so sum G over the batch (axis 0).",
               (): "a single number, but b has d_out entries: sum G over the batch axis "
                   "(axis 0) only.",
           },
           factor_hints={"1/N": "b is added to every row of Z, so its gradient SUMS G over "
                                "the batch rather than averaging it. " + _NO_MEAN}),
)


def check_linear_layer_backward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, W, G) -> (dW, dX, db)``, the backward pass of ``Z = X W^T + 1 b^T``.

    Shapes: ``X (N, d_in)``, ``W (d_out, d_in)``, ``G = dL/dZ (N, d_out)``;
    in denominator layout ``dW (d_out, d_in)``, ``dX (N, d_in)``, ``db (d_out,)``.
    Compared with :func:`dlnotes.matcalc.linear_rows_grads` on fresh random
    inputs (a batch of one, d_in > N, a square W, d_out = 1, entries of size
    1e-3 to 1e3); every wrong output is named.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    cases = _linear_layer_cases(rng(seed))
    return _run("check_linear_layer_backward", fn, cases, _judge_tuple(_LINEAR_LAYER))
