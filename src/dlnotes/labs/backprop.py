"""Labs of chapter 07: the backward pass of a small computational graph (the add,
multiply and max gates, and a variable used on two paths) and the backward pass of
a whole two-layer network with a softmax cross-entropy loss.

The references are the package's tested rules: the gate patterns written out for
the graph, and :func:`dlnotes.losses.cross_entropy_grad` with
:func:`dlnotes.matcalc.linear_rows_grads` for the network, in denominator layout
(every gradient has the shape of its variable; examples are rows).
"""

from __future__ import annotations

import numpy as np

from dlnotes import losses, matcalc
from dlnotes._checks import callable_, rng
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_tuple, _labels_for,
                                 _overflow_hint, _run, _sizes)

# --- chapter 07: the backward pass of u = max(x * y, z) + x -----------------------------------


def _graph_reference(x, y, z, g):
    """``(dx, dy, dz)`` of ``u = max(x y, z) + x`` (elementwise) for the upstream ``g``."""
    m = (x * y > z).astype(np.float64)  # the max routes to x*y where it is the larger input
    dq = g * m  # the product's share of the upstream gradient
    return dq * y + g, dq * x, g * (1.0 - m)  # x: two paths add; the multiply gate swaps


def _graph_inputs(gen: np.random.Generator, shape: tuple, s: float, where: str):
    """x, y of size ``s`` and z of size ``s**2`` (the size of x*y), no ties, so that the
    max takes the product where ``where`` says: "both", "product" or "z"."""
    x, y = s * gen.uniform(0.5, 2.0, shape), s * gen.uniform(0.5, 2.0, shape)
    x *= gen.choice([-1.0, 1.0], shape)
    y *= gen.choice([-1.0, 1.0], shape)
    q = x * y
    gap = s * s * gen.uniform(0.2, 1.5, shape)  # |x y - z| >= 0.2 s^2: never a tie
    if where == "both":
        side = np.ones(shape, dtype=bool)
        side.flat[1::2] = False  # alternate, so that both inputs of the max win somewhere
        gen.shuffle(side.reshape(-1))
    else:
        side = np.full(shape, where == "product")
    z = np.where(side, q - gap, q + gap)
    return x, y, z


def _graph_cases(gen: np.random.Generator) -> list[Case]:
    n = int(gen.integers(6, 10))
    rows, cols = _sizes(gen, (2, 4), (5, 7))
    specs = [((n,), 1.0, "both", False, "a typical vector, the max picking either input"),
             ((n,), 1.0, "product", False, "x*y > z everywhere: the max routes to the product"),
             ((n,), 1.0, "z", False, "z > x*y everywhere: the max routes to z"),
             ((rows, cols), 1.0, "both", False, "arrays of shape (rows, cols): elementwise"),
             ((n,), 1.0, "both", True, "the upstream gradient g = 1 everywhere (L = sum u)"),
             ((n,), 1e3, "both", False, "entries of size about 1e+03 (z about 1e+06)"),
             ((n,), 1e-3, "both", False, "entries of size about 1e-03 (z about 1e-06)"),
             ((1,), 1.0, "product", False, "a single entry, n = 1")]
    cases = []
    for shape, s, where, ones, label in specs:
        x, y, z = _graph_inputs(gen, shape, s, where)
        g = np.ones(shape) if ones else s * gen.standard_normal(shape)
        dims = {"n": shape[0]} if len(shape) == 1 else {"rows": shape[0], "cols": shape[1]}
        cases.append(Case({"x": x, "y": y, "z": z, "g": g}, _graph_reference(x, y, z, g),
                          dims, label))
    return cases


def _m(x, y, z):
    return (x * y > z).astype(np.float64)


_TWO_PATHS = ("x is used twice, in the product x*y and in the final + x, and the gradients of "
              "the two paths ADD (the branch rule): dx = g * y * 1[x*y > z] + g.")
_SWAP = ("d{v} uses {v} where {other} belongs. The multiply gate swaps its inputs: the local "
         "derivative of x*y with respect to {v} is {other}, so d{v} = {other} * (the product's "
         "upstream gradient).")
_ROUTE_BACK = ("{name} sends the gradient to the SMALLER input of the max. The max routes the "
               "whole upstream gradient to the input that is larger: to x*y where x*y > z, to z "
               "where z > x*y.")
_SPLIT = ("{name} splits the max's upstream gradient equally between its two inputs. Halving is a "
          "convention for exact ties only (there are none here); otherwise the max routes all of "
          "it to the larger input.")
_RELU_MASK = ("{name} uses the mask 1[x*y > 0], as a ReLU would. This max compares x*y with z, "
              "not with 0: the mask is 1[x*y > z].")
_NO_G = ("{name} leaves out the upstream gradient g: every local derivative must be multiplied "
         "by the gradient arriving from above (local x upstream).")

_GRAPH = (
    Output("dx", "x",
           mistakes=(Mistake(lambda x, y, z, g: g * y * _m(x, y, z),
                             "dx has only the path through the product. " + _TWO_PATHS),
                     Mistake(lambda x, y, z, g: g.copy(),
                             "dx has only the direct path (the + x). " + _TWO_PATHS),
                     Mistake(lambda x, y, z, g: g * (x * _m(x, y, z) + 1),
                             _SWAP.format(v="x", other="y")),
                     Mistake(lambda x, y, z, g: g * (y * (1 - _m(x, y, z)) + 1),
                             _ROUTE_BACK.format(name="dx")),
                     Mistake(lambda x, y, z, g: g * (0.5 * y + 1), _SPLIT.format(name="dx")),
                     Mistake(lambda x, y, z, g: g * (y * (x * y > 0) + 1),
                             _RELU_MASK.format(name="dx")),
                     Mistake(lambda x, y, z, g: y * _m(x, y, z) + 1, _NO_G.format(name="dx")))),
    Output("dy", "y",
           mistakes=(Mistake(lambda x, y, z, g: g * y * _m(x, y, z),
                             _SWAP.format(v="y", other="x")),
                     Mistake(lambda x, y, z, g: g * x,
                             "dy ignores the max: y reaches u only through x*y, and the max "
                             "passes the upstream gradient to x*y only where x*y > z (0 "
                             "elsewhere)."),
                     Mistake(lambda x, y, z, g: g * x * (1 - _m(x, y, z)),
                             _ROUTE_BACK.format(name="dy")),
                     Mistake(lambda x, y, z, g: 0.5 * g * x, _SPLIT.format(name="dy")),
                     Mistake(lambda x, y, z, g: g * x * _m(x, y, z) + g,
                             "dy adds a direct path that y does not have: only x is added at "
                             "the end (+ x), so dy = g * x * 1[x*y > z]."),
                     Mistake(lambda x, y, z, g: g * x * (x * y > 0),
                             _RELU_MASK.format(name="dy")),
                     Mistake(lambda x, y, z, g: x * _m(x, y, z), _NO_G.format(name="dy")))),
    Output("dz", "z",
           mistakes=(Mistake(lambda x, y, z, g: g * _m(x, y, z), _ROUTE_BACK.format(name="dz")),
                     Mistake(lambda x, y, z, g: g.copy(),
                             "dz equals g everywhere: the max routes the upstream gradient to z "
                             "only where z is the larger input (z > x*y), and 0 elsewhere."),
                     Mistake(lambda x, y, z, g: 0.5 * g, _SPLIT.format(name="dz")),
                     Mistake(lambda x, y, z, g: g * (x * y <= 0),
                             _RELU_MASK.format(name="dz")),
                     Mistake(lambda x, y, z, g: 1 - _m(x, y, z), _NO_G.format(name="dz")))),
)


def check_graph_backward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(x, y, z, g) -> (dx, dy, dz)``, the backward pass of the graph
    ``u = max(x * y, z) + x``, elementwise, for the upstream gradient ``g = dL/du``.

    ``x``, ``y``, ``z``, ``g``: arrays of one shape (a vector, or any shape: the
    graph acts entry by entry); each gradient has that shape. The multiply gate
    swaps, the max routes all of its upstream gradient to the larger input,
    the add passes it on, and x, used on two paths, gets the sum. The cases
    have no ties (``|x y - z|`` is never small). Compared with the gate rules
    on fresh random inputs: both inputs of the max winning, each one winning
    everywhere, a 2-D shape, ``g = 1``, entries of size 1e-3 and 1e3, one entry.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    return _run("check_graph_backward", fn, _graph_cases(rng(seed)), _judge_tuple(_GRAPH),
                batch=False)


# --- chapter 07: the backward pass of a two-layer network ---------------------------------------


def _forward(X, W1, b1, W2):
    S1 = X @ W1.T + b1
    return S1, np.maximum(S1, 0.0)


def _mlp_reference(X, y, W1, b1, W2, b2):
    """``(dW1, db1, dW2, db2)`` by the tested rules: ``(P - Y) / N`` at the logits, then the
    linear-layer rules and the ReLU mask ``1[S1 > 0]`` (ReLU'(0) = 0)."""
    S1, H1 = _forward(X, W1, b1, W2)
    G2 = losses.cross_entropy_grad(H1 @ W2.T + b2, y)
    dW2, dH1, db2 = matcalc.linear_rows_grads(H1, W2, G2)
    dW1, _, db1 = matcalc.linear_rows_grads(X, W1, dH1 * (S1 > 0))
    return dW1, db1, dW2, db2


_LARGE = "large logits (exp of them overflows)"
_SIZE = "large, and exp of them"


def _mlp_cases(gen: np.random.Generator) -> list[Case]:
    N, d, H, K = _sizes(gen, (6, 9), (3, 5), (6, 8), (2, 4))
    k = int(gen.integers(3, 6))
    specs = [(N, d, H, K, 1.0, False, "a typical batch"),
             (1, d, H, K, 1.0, False, "a batch of one, N = 1"),
             (N, k, k, k, 1.0, False, "square weights, d = H = K"),
             (N, d, H, K, 1.0, True, "pre-activations exactly 0 (a zero input row, zero "
                                     "biases), where ReLU'(0) = 0"),
             (3, int(gen.integers(9, 12)), H, K, 1.0, False, "more inputs than examples, d > N"),
             (N, d, H, 2, 1.0, False, "two classes, K = 2"),
             (N, d, H, K, 30.0, False, _LARGE),
             (N, d, H, K, 1e-3, False, "entries of size about 1e-03")]
    cases = []
    for N, d, H, K, s, zeros, label in specs:
        X, W1, W2 = (s * gen.standard_normal(shape) for shape in ((N, d), (H, d), (K, H)))
        b1, b2 = s * gen.standard_normal(H), s * gen.standard_normal(K)
        if zeros:  # row 0 of S1 = X W1^T + b1 is then b1: exactly 0 where b1 is
            X[0] = 0.0
            b1[: H // 2 + 1] = 0.0
        args = {"X": X, "y": _labels_for(gen, N, K), "W1": W1, "b1": b1, "W2": W2, "b2": b2}
        cases.append(Case(args, _mlp_reference(**args), {"N": N, "d": d, "H": H, "K": K},
                          label))
    return cases


def _G2(X, y, W1, b1, W2, b2, targets=True):
    """``(P - Y) / N`` at the logits (``P / N`` without the targets)."""
    Z = _forward(X, W1, b1, W2)[1] @ W2.T + b2
    if targets:
        return losses.cross_entropy_grad(Z, y)
    return losses.softmax(Z) / len(y)


def _G1(X, y, W1, b1, W2, b2, gate="mask", through="W2", targets=True):
    """The upstream gradient at S1, with a deliberate change: ``gate`` in "mask", "none",
    "ge0" (1[S1 >= 0]) or "value" (times ReLU(S1)); ``through`` "W2" or "W2T"."""
    G2 = _G2(X, y, W1, b1, W2, b2, targets)
    S1, H1 = _forward(X, W1, b1, W2)
    dH1 = G2 @ (W2 if through == "W2" else W2.T)
    return dH1 * {"mask": S1 > 0, "none": 1.0, "ge0": S1 >= 0, "value": H1}[gate]


def _w1(**kw):
    return lambda X, y, W1, b1, W2, b2: _G1(X, y, W1, b1, W2, b2, **kw).T @ X


def _b1(**kw):
    return lambda X, y, W1, b1, W2, b2: _G1(X, y, W1, b1, W2, b2, **kw).sum(axis=0)


_NO_MASK = ("{name} leaves out the ReLU: the gradient G2 W2 that reaches the hidden layer must "
            "be multiplied entry by entry by ReLU'(S1) = 1[S1 > 0] before the first layer's "
            "rules are applied.")
_GE0 = ("{name} uses the mask S1 >= 0. Where a pre-activation is exactly 0 the ReLU's derivative "
        "is taken as 0 (the convention of PyTorch and of this book): use the mask S1 > 0.")
_TIMES_H = ("{name} multiplies by ReLU(S1), the activation's value. The derivative of the ReLU "
            "is the 0/1 mask 1[S1 > 0], not max(0, S1).")
_W2T = ("{name} sends the gradient back through W2^T. The forward pass computes H1 W2^T, so the "
        "backward pass multiplies by W2 itself: dH1 = G2 W2, of shape (N, H).")
_NO_TARGETS = ("{name} is built on P / N: the targets are missing. The gradient at the logits is "
               "(P - Y) / N, probabilities minus one-hot targets.")
_MEAN = "the loss is the MEAN over the N examples, so every gradient carries a 1/N."
_SIGN = "The gradient at the logits is P - Y (probabilities minus targets), not Y - P."

_MLP = (
    Output("dW1", "W1",
           mistakes=(Mistake(_w1(gate="none"), _NO_MASK.format(name="dW1")),
                     Mistake(_w1(gate="value"), _TIMES_H.format(name="dW1")),
                     Mistake(_w1(through="W2T"), _W2T.format(name="dW1")),
                     Mistake(_w1(targets=False), _NO_TARGETS.format(name="dW1")),
                     Mistake(lambda X, y, W1, b1, W2, b2: X.T @ _G1(X, y, W1, b1, W2, b2),
                             "dW1 equals X^T G1, the transpose: in denominator layout dW1 has "
                             "the shape of W1, (H, d), which is G1^T X.")),
           factor_hints={"N": "N is the batch size: " + _MEAN}, sign_hint=_SIGN),
    Output("db1", "b1",
           mistakes=(Mistake(_b1(gate="none"), _NO_MASK.format(name="db1")),
                     Mistake(_b1(gate="ge0"), _GE0.format(name="db1")),
                     Mistake(_b1(gate="value"), _TIMES_H.format(name="db1")),
                     Mistake(_b1(through="W2T"), _W2T.format(name="db1")),
                     Mistake(_b1(targets=False), _NO_TARGETS.format(name="db1"))),
           shape_hints={
               ("N", "H"): "one row per example. b1 is added to every row of S1, so its "
                           "gradient sums G1 over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the units (axis 1). Sum over "
                       "the batch (axis 0) instead.",
           },
           factor_hints={"N": "N is the batch size: " + _MEAN,
                         "1/N": "b1 is added to every row of S1, so its gradient SUMS G1 over "
                                "the batch; G1 already holds the 1/N of the mean loss."},
           sign_hint=_SIGN),
    Output("dW2", "W2",
           mistakes=(Mistake(lambda X, y, W1, b1, W2, b2:
                             _G2(X, y, W1, b1, W2, b2).T @ _forward(X, W1, b1, W2)[0],
                             "dW2 is built from S1, the pre-activations. The second layer's "
                             "input is the activation H1 = ReLU(S1): dW2 = G2^T H1."),
                     Mistake(lambda X, y, W1, b1, W2, b2:
                             _forward(X, W1, b1, W2)[1].T @ _G2(X, y, W1, b1, W2, b2),
                             "dW2 equals H1^T G2, the transpose: in denominator layout dW2 has "
                             "the shape of W2, (K, H), which is G2^T H1."),
                     Mistake(lambda X, y, W1, b1, W2, b2:
                             _G2(X, y, W1, b1, W2, b2, False).T @ _forward(X, W1, b1, W2)[1],
                             _NO_TARGETS.format(name="dW2"))),
           factor_hints={"N": "N is the batch size: " + _MEAN}, sign_hint=_SIGN),
    Output("db2", "b2",
           mistakes=(Mistake(lambda X, y, W1, b1, W2, b2:
                             _G2(X, y, W1, b1, W2, b2, False).sum(axis=0),
                             _NO_TARGETS.format(name="db2")),),
           shape_hints={
               ("N", "K"): "one row per example. b2 is added to every row of the logits, so "
                           "its gradient sums (P - Y) / N over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the classes (axis 1). Sum over "
                       "the batch (axis 0) instead.",
           },
           factor_hints={"N": "N is the batch size: " + _MEAN},
           sign_hint=_SIGN),
)


def check_mlp_backward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)``, the gradients of the
    mean softmax cross-entropy of the network ``Z = ReLU(X W1^T + b1) W2^T + b2``.

    Shapes: ``X (N, d)`` one example a row, ``y (N,)`` int class indices in
    range(K), ``W1 (H, d)``, ``b1 (H,)``, ``W2 (K, H)``, ``b2 (K,)`` (weights as
    ``torch.nn.Linear`` stores them); in denominator layout each gradient has
    the shape of its variable. ``ReLU'(0) = 0``. Compared with
    :func:`dlnotes.losses.cross_entropy_grad` and the linear-layer rules on
    fresh random inputs: a batch of one, square weights (where a missing
    transpose still runs), pre-activations exactly 0, d > N, K = 2, logits
    large enough to overflow exp, entries of size 1e-3; every wrong output is
    named. ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    return _run("check_mlp_backward", fn, _mlp_cases(rng(seed)),
                _overflow_hint(_judge_tuple(_MLP), _LARGE, _SIZE))
