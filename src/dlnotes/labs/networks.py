"""Labs of chapter 06: the forward pass of a two-layer ReLU network, the number of
parameters of a multilayer perceptron, and the backward pass of a ReLU layer.

The references are the package's modules of :mod:`dlnotes.layers` (which are
tested against ``torch.nn``): a case builds the layers from its random arrays
with :meth:`dlnotes.layers.Linear.from_arrays` and runs them, so the reader's
function is judged against the same code the chapter trains with.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from dlnotes import layers
from dlnotes._checks import callable_, is_torch, rng, to_numpy
from dlnotes.labs.engine import (Case, LabResult, Mistake, Output, _judge_array, _judge_tuple,
                                 _kind, _run, _sizes)


def _relu(S):
    return np.maximum(S, 0.0)


# --- chapter 06: the forward pass of a two-layer network -------------------------------------


def _forward_reference(X, W1, b1, W2, b2):
    """``ReLU(X W1^T + b1) W2^T + b2`` by the package's modules."""
    net = layers.Sequential(layers.Linear.from_arrays(W1, b1), layers.ReLU(),
                            layers.Linear.from_arrays(W2, b2))
    return np.asarray(net(X), dtype=np.float64)


def _forward_cases(gen: np.random.Generator) -> list[Case]:
    N, d, H, K = _sizes(gen, (6, 9), (3, 5), (6, 8), (2, 3))
    k = int(gen.integers(3, 6))
    specs = [(N, d, H, K, 1.0, "a typical batch"),
             (1, d, H, K, 1.0, "a batch of one, N = 1"),
             (N, k, k, k, 1.0, "square weights, d = H = K"),
             (3, int(gen.integers(7, 10)), H, K, 1.0, "more inputs than examples, d > N"),
             (N, d, H, K, 100.0, "entries of size about 1e+02"),
             (N, d, H, K, 1e-3, "entries of size about 1e-03"),
             (N, d, H, 1, 1.0, "one output, K = 1")]
    cases = []
    for N, d, H, K, s, label in specs:
        X, W1, W2 = (s * gen.standard_normal(shape) for shape in ((N, d), (H, d), (K, H)))
        b1, b2 = s * gen.standard_normal(H), s * gen.standard_normal(K)
        args = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
        cases.append(Case(args, _forward_reference(**args), {"N": N, "d": d, "H": H, "K": K},
                          label))
    return cases


def _softmax_rows(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


_FORWARD = Output(
    "Your logits",
    mistakes=(
        Mistake(lambda X, W1, b1, W2, b2: (X @ W1.T + b1) @ W2.T + b2,
                "Your logits are those of the network without its activation: "
                "(X W1^T + b1) W2^T + b2 is a single affine map of X. Apply the ReLU, "
                "max(0, s) entry by entry, to the hidden pre-activations S = X W1^T + b1."),
        Mistake(lambda X, W1, b1, W2, b2: _relu(_relu(X @ W1.T + b1) @ W2.T + b2),
                "Your logits went through a ReLU as well: the last layer has no hidden-layer "
                "activation, since logits must be able to be negative (the softmax or the "
                "loss turns them into probabilities)."),
        Mistake(lambda X, W1, b1, W2, b2: _relu(X @ W1.T) @ W2.T + b2,
                "Your logits leave out the first bias b1."),
        Mistake(lambda X, W1, b1, W2, b2: (_relu(X @ W1.T) + b1) @ W2.T + b2,
                "Your logits add b1 after the ReLU. The bias belongs to the pre-activation: "
                "ReLU(X W1^T + b1)."),
        Mistake(lambda X, W1, b1, W2, b2: _relu(X @ W1.T + b1) @ W2.T,
                "Your logits leave out the second bias b2."),
        Mistake(lambda X, W1, b1, W2, b2: _relu(X @ W1 + b1) @ W2.T + b2,
                "Your logits multiply X by W1 instead of W1^T. W1 has one row per hidden unit "
                "(shape (H, d), as torch.nn.Linear stores it), so a batch with one example a "
                "row computes X W1^T."),
        Mistake(lambda X, W1, b1, W2, b2: _relu(X @ W1.T + b1) @ W2 + b2,
                "Your logits multiply the hidden layer by W2 instead of W2^T: W2 has one row "
                "per output (shape (K, H)), so the second layer computes H W2^T."),
        Mistake(lambda X, W1, b1, W2, b2: np.abs(X @ W1.T + b1) @ W2.T + b2,
                "Your hidden layer takes the absolute value |s|. The ReLU keeps positive "
                "entries and sets negative ones to 0: max(0, s)."),
        Mistake(lambda X, W1, b1, W2, b2: np.tanh(X @ W1.T + b1) @ W2.T + b2,
                "Your hidden layer uses tanh; this lab asks for the ReLU, max(0, s)."),
        Mistake(lambda X, W1, b1, W2, b2: 1 / (1 + np.exp(-(X @ W1.T + b1))) @ W2.T + b2,
                "Your hidden layer uses the sigmoid; this lab asks for the ReLU, max(0, s)."),
        Mistake(lambda X, W1, b1, W2, b2: _softmax_rows(_relu(X @ W1.T + b1) @ W2.T + b2),
                "Your function returns probabilities (a softmax of the logits). Return the "
                "logits themselves: the loss takes logits (chapter 03)."),
    ),
    shape_hints={("N", "H"): "the hidden activations. Apply the second layer, "
                             "H W2^T + b2, to get one logit per output.",
                 ("H", "N"): "the hidden activations, transposed. Examples are rows: the "
                             "first layer is X W1^T + b1, of shape (N, H), and the second "
                             "turns it into (N, K)."},
)


def check_mlp_forward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, W1, b1, W2, b2) -> Z``, the logits ``ReLU(X W1^T + b1) W2^T + b2``
    of a two-layer network (one hidden ReLU layer, no activation on the logits).

    Shapes: ``X (N, d)`` one example a row, ``W1 (H, d)``, ``b1 (H,)``,
    ``W2 (K, H)``, ``b2 (K,)`` (weights as ``torch.nn.Linear`` stores them);
    ``Z (N, K)``. Compared with :mod:`dlnotes.layers` on fresh random inputs:
    a batch of one, square weights (where a missing transpose still runs), d >
    N, one output, entries of size 1e2 and 1e-3.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    return _run("check_mlp_forward", fn, _forward_cases(rng(seed)), _judge_array(_FORWARD))


# --- chapter 06: counting parameters -----------------------------------------------------------


def _count_reference(sizes: list[int]) -> int:
    """The number of parameters of ``layers.mlp(sizes)``."""
    return int(sum(np.size(to_numpy(p)) for p in layers.mlp(sizes).parameters()))


def _per_layer(sizes):
    return [n * (m + 1) for m, n in zip(sizes[:-1], sizes[1:])]


def _count_cases(gen: np.random.Generator) -> list[Case]:
    def widths(k, lo, hi):
        return [int(v) for v in gen.integers(lo, hi + 1, k)]

    specs = [([*widths(1, 3, 9), *widths(1, 4, 12), *widths(1, 2, 5)], "one hidden layer"),
             ([*widths(1, 3, 9), *widths(2, 4, 12), *widths(1, 2, 5)], "two hidden layers"),
             ([*widths(1, 5, 20), *widths(1, 2, 10)], "no hidden layer: softmax regression"),
             ([*widths(1, 2, 5), *widths(5, 2, 4), 1], "a deep narrow network, six layers"),
             ([64, *widths(1, 100, 300), 10], "digits-sized, 64 inputs"),
             ([784, *widths(1, 200, 300), *widths(1, 64, 128), 10], "MNIST-sized, 784 inputs"),
             ([1, 1, 1], "widths of one")]
    return [Case({"sizes": sizes}, np.array(_count_reference(sizes)), {"L": len(sizes) - 1},
                 label) for sizes, label in specs]


def _pairs(sizes):
    return list(zip(sizes[:-1], sizes[1:]))


_COUNT_MISTAKES = (
    (lambda s: sum(n * m for m, n in _pairs(s)),
     "Your count has the weights only. Every unit of layers 1 to L also has a bias, so layer l "
     "holds n_l (n_(l-1) + 1) parameters."),
    (lambda s: sum(n * m for m, n in _pairs(s)) + sum(s),
     "Your count gives the inputs biases too. The input is data, not a layer: biases belong to "
     "the units of layers 1 to L."),
    (lambda s: sum((n + 1) * (m + 1) for m, n in _pairs(s)),
     "Your count adds one to both widths of every layer, (n_(l-1) + 1)(n_l + 1). Only the "
     "inputs of a layer get the extra constant 1 (the bias is a weight on it): n_l (n_(l-1) + 1)."),
    (lambda s: sum(m * (n + 1) for m, n in _pairs(s)),
     "Your count gives every input of a layer a bias, n_(l-1) (n_l + 1). There is one bias per "
     "unit (per output) of the layer: n_l (n_(l-1) + 1)."),
    (lambda s: sum(_per_layer(s)[:-1]),
     "Your count leaves out the last (output) layer: sum over l = 1, ..., L, the output layer "
     "included."),
    (lambda s: sum(_per_layer(s)[1:]),
     "Your count leaves out the first layer: sum over l = 1, ..., L, where layer 1 maps the "
     "inputs to the first hidden layer."),
    (lambda s: sum(s[1:]),
     "Your count is the number of units, not of parameters."),
    (lambda s: sum(s),
     "Your count is the sum of the widths. Count the weights n_l n_(l-1) and the biases n_l "
     "of every layer."),
    (lambda s: int(np.prod(s)),
     "Your count multiplies all the widths. The layers add up: sum over l of n_l (n_(l-1) + 1)."),
)


def _count_value(got):
    """The reader's count as an int, or a message."""
    if is_torch(got):
        got = to_numpy(got)
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
        return None, (f"Your count is {_kind(got)}, but should be a single int "
                      f"(the total over all layers).")
    if not np.isfinite(got) or float(got) != int(got):
        return None, "Your count is not a whole number: a number of parameters is an int."
    return int(got), None


def _judge_count(got, case: Case) -> str | None:
    if got is None:
        return "Your count is None: did you forget to `return` it?"
    sizes = case.args["sizes"]
    if isinstance(got, (list, tuple)) or (isinstance(got, np.ndarray) and got.ndim > 0) or (
            is_torch(got) and got.ndim > 0):
        items = np.ravel(np.asarray(to_numpy(got) if is_torch(got) else got, dtype=object))
        if len(items) == len(sizes) - 1 and all(
                isinstance(v, numbers.Real) and v == w for v, w in zip(items, _per_layer(sizes))):
            return ("Your function returns one count per layer: that is right, but the lab "
                    "asks for the total, their sum.")
        return (f"Your count is {_kind(got)}, but should be a single int (the total over all "
                f"layers).")
    value, problem = _count_value(got)
    if problem:
        return problem
    want = int(case.expected)
    if value == want:
        return None
    for formula, message in _COUNT_MISTAKES:
        if formula(sizes) == value:
            return message
    side = "larger" if value > want else "smaller"
    return (f"Your count is {side} than the right one. Layer l (l = 1, ..., L) has an "
            f"n_l x n_(l-1) weight matrix and n_l biases.")


def check_param_count(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(sizes) -> int``, the number of parameters of the multilayer perceptron
    with widths ``sizes = [n_0, n_1, ..., n_L]`` (inputs first, outputs last): every
    layer ``l = 1, ..., L`` has an ``(n_l, n_(l-1))`` weight matrix and ``n_l`` biases.

    ``sizes``: a list of ints >= 1, of length >= 2. Compared with the
    parameters of :func:`dlnotes.layers.mlp` on fresh random widths: one and
    two hidden layers, no hidden layer, a deep narrow network, digits- and
    MNIST-sized networks, widths of one.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")

    @functools.wraps(fn)
    def on_a_copy(sizes):  # the case's list stays as it was, whatever fn does to its argument
        return fn(list(sizes))

    return _run("check_param_count", on_a_copy, _count_cases(rng(seed)), _judge_count,
                batch=False)


# --- chapter 06: the backward pass of a ReLU layer -----------------------------------------------


def _relu_layer_reference(X, W, b, G):
    """``(dW, dX, db)`` of ``H = ReLU(X W^T + b)`` for the upstream gradient ``G = dL/dH``."""
    net = layers.Sequential(layers.Linear.from_arrays(W, b), layers.ReLU())
    net(X)
    dX = net.backward(G)
    dW, db = net.gradients()
    return tuple(np.asarray(to_numpy(a), dtype=np.float64) for a in (dW, dX, db))


def _relu_layer_cases(gen: np.random.Generator) -> list[Case]:
    N, d_in, d_out = _sizes(gen, (6, 9), (3, 5), (4, 7))
    k = int(gen.integers(3, 6))
    specs = [(N, d_in, d_out, 1.0, False, "a typical batch"),
             (1, d_in, d_out, 1.0, False, "a batch of one, N = 1"),
             (N, k, k, 1.0, False, "a square W, d_in = d_out"),
             (N, d_in, d_out, 1.0, True, "pre-activations exactly 0 (a zero input row, zero "
                                         "biases), where ReLU'(0) = 0"),
             (3, int(gen.integers(7, 10)), d_out, 1.0, False, "more inputs than examples, "
                                                               "d_in > N"),
             (N, d_in, d_out, 100.0, False, "entries of size about 1e+02"),
             (N, d_in, d_out, 1e-3, False, "entries of size about 1e-03")]
    cases = []
    for N, d_in, d_out, s, zeros, label in specs:
        X, W = s * gen.standard_normal((N, d_in)), s * gen.standard_normal((d_out, d_in))
        b, G = s * gen.standard_normal(d_out), s * gen.standard_normal((N, d_out))
        if zeros:  # row 0 of S = X W^T + b is then b: exactly 0 where b is
            X[0] = 0.0
            b[: d_out // 2 + 1] = 0.0
        args = {"X": X, "W": W, "b": b, "G": G}
        # No batch size for the zeros case: a mask S >= 0 fails only there, whatever N is, and
        # the engine's notes about N = 1 would mislead
        dims = {"d_in": d_in, "d_out": d_out} if zeros else {"N": N, "d_in": d_in, "d_out": d_out}
        cases.append(Case(args, _relu_layer_reference(**args), dims, label))
    return cases


def _delta(X, W, b, G, mask=lambda S: S > 0):
    """``G * ReLU'(S)`` with the mask ``mask(S)`` for ``S = X W^T + b``."""
    return G * mask(X @ W.T + b)


def _ge0(S):
    return S >= 0


_NO_MASK = ("{name} leaves out the ReLU: it is the linear layer's rule applied to G itself. "
            "First multiply G entry by entry by the derivative of the ReLU, the mask "
            "1[S > 0] with S = X W^T + b; then apply the linear-layer rules.")
_GE0 = ("{name} uses the mask S >= 0. Where a pre-activation is exactly 0 the ReLU's "
        "derivative is taken as 0 (the convention of PyTorch and of this book, and the one "
        "the forward pass max(0, s) agrees with): use the mask S > 0.")
_TIMES_H = ("{name} multiplies G by ReLU(S), the activation's value. The derivative of the "
            "ReLU is the 0/1 mask 1[S > 0], not max(0, S).")

_RELU_LAYER = (
    Output("dW", "W",
           mistakes=(Mistake(lambda X, W, b, G: G.T @ X, _NO_MASK.format(name="dW")),
                     Mistake(lambda X, W, b, G: (G * _relu(X @ W.T + b)).T @ X,
                             _TIMES_H.format(name="dW")),
                     Mistake(lambda X, W, b, G: X.T @ _delta(X, W, b, G),
                             "dW equals X^T (G * mask), the transpose: in denominator layout "
                             "dW has the shape of W, (d_out, d_in)."))),
    Output("dX", "X",
           mistakes=(Mistake(lambda X, W, b, G: G @ W,
                             "dX leaves out the ReLU's mask as well: the gradient reaches X "
                             "only through the units that are active, (G * 1[S > 0]) W."),
                     Mistake(lambda X, W, b, G: _delta(X, W, b, G, _ge0) @ W,
                             _GE0.format(name="dX")),
                     Mistake(lambda X, W, b, G: (G * _relu(X @ W.T + b)) @ W,
                             _TIMES_H.format(name="dX")),
                     Mistake(lambda X, W, b, G: _delta(X, W, b, G) @ W * (X > 0),
                             "dX is masked a second time, by X > 0. The ReLU sits after this "
                             "layer's affine map, so its mask acts on G (one entry per unit), "
                             "not on the inputs X."),
                     Mistake(lambda X, W, b, G: _delta(X, W, b, G) @ W.T,
                             "dX equals (G * mask) W^T: the forward pass multiplies X by W^T, "
                             "so the backward pass multiplies by W itself."))),
    Output("db", "b",
           mistakes=(Mistake(lambda X, W, b, G: G.sum(axis=0),
                             "db leaves out the ReLU's mask as well: sum G * 1[S > 0] over the "
                             "batch."),
                     Mistake(lambda X, W, b, G: _delta(X, W, b, G, _ge0).sum(axis=0),
                             _GE0.format(name="db")),
                     Mistake(lambda X, W, b, G: (G * _relu(X @ W.T + b)).sum(axis=0),
                             _TIMES_H.format(name="db"))),
           shape_hints={
               ("N", "d_out"): "one row per example. b is added to every row of S, so its "
                               "gradient sums G * mask over the batch (axis 0).",
               ("N",): "one entry per example: you summed over the units (axis 1). Sum over "
                       "the batch (axis 0) instead.",
               (): "a single number, but b has d_out entries: sum over the batch axis only.",
           },
           factor_hints={"1/N": "b is added to every row of S, so its gradient SUMS over the "
                                "batch; G already holds any 1/N of a mean loss."}),
)


def check_relu_layer_backward(fn, seed: int | None = None) -> LabResult:
    """Check ``fn(X, W, b, G) -> (dW, dX, db)``, the backward pass of the layer
    ``H = ReLU(X W^T + b)`` for the upstream gradient ``G = dL/dH``.

    Shapes: ``X (N, d_in)``, ``W (d_out, d_in)``, ``b (d_out,)``,
    ``G (N, d_out)``; in denominator layout ``dW (d_out, d_in)``,
    ``dX (N, d_in)``, ``db (d_out,)``, with ``ReLU'(0) = 0``. Compared with
    :mod:`dlnotes.layers` on fresh random inputs: a batch of one, a square W,
    pre-activations exactly 0, d_in > N, entries of size 1e2 and 1e-3; every
    wrong output is named.
    ``seed``: int >= 0 (the same cases every time) or None (fresh ones).
    """
    callable_(fn, "fn")
    return _run("check_relu_layer_backward", fn, _relu_layer_cases(rng(seed)),
                _judge_tuple(_RELU_LAYER))
