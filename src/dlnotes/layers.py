"""Layers with their own backward pass: Linear, activations, a loss, a Sequential (ch. 06-07).

A *module* is a function with a memory. ``forward(x)`` computes the output and
keeps what the backward pass will need (its input); ``backward(grad_out)``
receives the gradient of the loss with respect to the output and returns the
gradient with respect to the input. A module with parameters also stores the
gradients of its parameters, which :meth:`Module.gradients` returns in the
order of :meth:`Module.parameters`. Backpropagation through a network is then
nothing but calling ``backward`` on its modules in reverse order: each one
multiplies the upstream gradient by its own local derivative (chapter 07).

Conventions (whole book). Examples are the ROWS of ``X`` (N, d_in); a linear
layer stores ``W`` (d_out, d_in), like ``torch.nn.Linear.weight``, and computes
``S = X W^T + 1 b^T``. Every gradient has the shape of its variable
(denominator layout). With the upstream ``G = dL/dS`` (N, d_out)::

    dL/dW = G^T X  (d_out, d_in)     dL/db = G^T 1  (d_out,)     dL/dX = G W  (N, d_in)

which is the product rule of chapter 07 with ``A = X`` and ``B = W^T``; the bias is
broadcast over the rows in the forward pass, so its gradient sums over them.
An elementwise activation ``H = f(S)`` has ``dL/dS = f'(S) * dL/dH``.

One code for NumPy and torch. The formulas are written once, with ``@``,
``.T``, ``.sum(0)`` and the few functions of a tiny namespace (:func:`_ns`)
that NumPy and torch spell differently (``erfc`` comes from SciPy for NumPy).
A model built with ``like=`` a tensor computes on torch tensors of that dtype
and device without autograd, so the same code runs on a GPU; ``like=None``
gives NumPy float64. Results keep the kind, dtype and device of the input;
float32 and float64 are supported. Kinds are not mixed: a NumPy layer refuses
a tensor and the reverse, and an input must have the layer's floating dtype
and device (integer input is converted; a float32 input to a float64 layer is
refused, because NumPy would silently upcast it and torch would fail).

Derivatives at kinks follow torch: ``ReLU.df(0) = 0``, ``LeakyReLU.df(0) =
negative_slope`` and ``ELU.df(0) = alpha``, the values from the left.

Numerics. Every activation and derivative stays finite and quiet (no overflow
warning) for every finite input: the sigmoid family uses ``exp(-|x|)`` only,
softplus is ``max(x, 0) + log1p(exp(-|x|))``, ELU exponentiates ``min(x, 0)``
only, and GELU uses ``Phi(x) = erfc(-x / sqrt 2) / 2``, which keeps its
relative accuracy in the left tail where torch's ``(1 + erf(x / sqrt 2)) / 2``
cancels to 0. The loss uses :func:`dlnotes.losses.log_softmax`, so logits of
+-1e4 are fine.

Checks. Data are checked where they enter (kind, dtype, device, shape,
finiteness): by each module's ``forward`` and ``backward``, by a
:class:`Sequential` at its first layer (``backward``: its last), and by
:func:`train_epoch` once per epoch. Inside a Sequential the modules call each
other's unchecked ``_forward``/``_backward`` (the same arithmetic), because
their inputs were computed from checked values; an overflow inside a model
is refused where the values leave it (the loss, :func:`predict`, the
optimizer's gradient check), never returned as NaN. ``backward`` before
``forward`` is a RuntimeError. The cache holds references, not copies: do
not write into an input between ``forward`` and ``backward``.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import scipy.special
import torch

from dlnotes import data, losses
from dlnotes._checks import _describe, choice, integer, is_torch, positive, real, rng
from dlnotes.optim import Optimizer

# --- one namespace for NumPy and torch -------------------------------------------------------

_NUMPY = SimpleNamespace(exp=np.exp, expm1=np.expm1, log1p=np.log1p, tanh=np.tanh,
                         erfc=scipy.special.erfc, where=np.where, ones_like=np.ones_like,
                         zeros_like=np.zeros_like,
                         arange=lambda n, like: np.arange(n),
                         cast=lambda a, like: a.astype(like.dtype))
_TORCH = SimpleNamespace(exp=torch.exp, expm1=torch.expm1, log1p=torch.log1p, tanh=torch.tanh,
                         erfc=torch.special.erfc, where=torch.where, ones_like=torch.ones_like,
                         zeros_like=torch.zeros_like,
                         arange=lambda n, like: torch.arange(n, device=like.device),
                         cast=lambda a, like: a.to(like.dtype))


def _ns(a) -> SimpleNamespace:
    """The array functions for ``a``'s kind: torch's for a tensor, NumPy's otherwise."""
    return _TORCH if is_torch(a) else _NUMPY


# --- input checks ----------------------------------------------------------------------------

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), torch.float32, torch.float64)


def _layout(a) -> str:
    """'NumPy float64' or 'torch.float32 on cuda:0', for messages."""
    return f"{a.dtype} on {a.device}" if is_torch(a) else f"NumPy {a.dtype}"


def _dtype_kind(a) -> str:
    """'b' (bool), 'i' (integer), 'f' (floating) or 'c' (complex) of an array or tensor."""
    if is_torch(a):
        return ("b" if a.dtype == torch.bool else "c" if a.is_complex() else
                "f" if a.is_floating_point() else "i")
    return {"b": "b", "i": "i", "u": "i", "f": "f", "c": "c"}.get(a.dtype.kind, "o")


def _array(a, name: str):
    """``a`` as a NumPy array (lists converted) or a tensor, of real non-boolean numbers."""
    if not is_torch(a):
        if a is None or isinstance(a, (str, bytes, dict, set)):
            raise TypeError(f"{name} must be an array (NumPy array, list or torch tensor), got "
                            f"{type(a).__name__} {_describe(a)}")
        try:
            a = np.asarray(a)
        except (TypeError, ValueError) as err:  # ragged lists
            raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__} "
                            f"({err})") from None
    kind = _dtype_kind(a)
    if kind == "b":
        raise TypeError(f"{name} must hold real numbers, got dtype bool (a mask?); convert it "
                        f"with .astype(float) (NumPy) or .double() (torch)")
    if kind not in "if":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a


def _finite(a, name: str, hint: str = ""):
    v = a.detach() if is_torch(a) else a
    ok = torch.isfinite(v) if is_torch(v) else np.isfinite(v)
    if not bool(ok.all()):
        raise ValueError(f"{name} must be finite, got {int((~ok).sum())} NaN/inf entries of "
                         f"{math.prod(tuple(a.shape))}{hint}")
    return a


#: Where a model's values overflowed (they are only checked at its output and gradients).
_OVERFLOW = ("; inside a model this means an overflow: rescale the inputs, or lower the "
             "learning rate if the weights have grown")

#: Decorator: NumPy's overflow warnings are silenced inside a model's arithmetic, because an
#: overflow is refused, with a message, where the values leave the model (loss, predict,
#: the optimizer's gradient check).
_quiet = np.errstate(over="ignore", invalid="ignore")


def _floating(a, name: str):
    """``a`` (list, array or tensor) as a finite float32/float64 array or tensor: integers
    become float64; bool, complex and other floating dtypes are a TypeError."""
    a = _array(a, name)
    if _dtype_kind(a) == "i":
        a = a.to(torch.float64) if is_torch(a) else a.astype(np.float64)
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}; convert it "
                        f"first")
    return _finite(a, name)


def _like(a, ref, name: str, ref_name: str):
    """``a`` as an array of ``ref``'s kind, dtype and device, finite. Lists (into a
    torch layer too) and integer arrays are converted; another kind or floating
    dtype is a TypeError, another device a ValueError."""
    if is_torch(ref) and not is_torch(a):
        if not isinstance(a, (list, tuple)):
            raise TypeError(f"{name} must be a torch tensor like {ref_name} ({_layout(ref)}), "
                            f"got {type(a).__name__}; convert it with torch.as_tensor({name}, "
                            f"device='{ref.device}')")
        a = torch.as_tensor(_array(a, name), device=ref.device)
    elif is_torch(a) and not is_torch(ref):
        raise TypeError(f"{name} must be a NumPy array like {ref_name} ({_layout(ref)}), got a "
                        f"torch tensor ({_layout(a)}); build the model with like={name} to "
                        f"compute in torch, or pass {name}.cpu().numpy()")
    a = _array(a, name)
    if is_torch(a) and a.device != ref.device:
        raise ValueError(f"{name} must be on the device of {ref_name}, {ref.device}, got "
                         f"{a.device}; move it with .to('{ref.device}')")
    if _dtype_kind(a) == "i":
        a = _ns(a).cast(a, ref)
    elif a.dtype != ref.dtype:
        raise TypeError(f"{name} must have the dtype of {ref_name}, {ref.dtype}, got {a.dtype}; "
                        f"convert {name}, or build the model with like={name}")
    return _finite(a, name)


def _rows(a, name: str, width: int | None, meaning: str):
    """Check that ``a`` is (N, width) with N >= 1 (any width when ``width`` is None)."""
    shape = tuple(a.shape)
    if len(shape) != 2:
        hint = " (one example? pass it as a row, x[None, :])" if len(shape) == 1 else ""
        raise ValueError(f"{name} must be 2-D, {meaning}, got shape {shape}{hint}")
    if shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example (row), got shape {shape}")
    if width is not None and shape[1] != width:
        raise ValueError(f"{name} must have {width} columns, {meaning}, got shape {shape}")
    return a


def _labels(y, ref, ref_name: str, K: int | None, what: str = ""):
    """Integer class indices ``y``, one per row of ``ref``, of its kind and device, in
    [0, K) (only >= 0 when ``K`` is None); ``what`` says where ``K`` comes from."""
    if is_torch(ref) and not is_torch(y):
        if not isinstance(y, (list, tuple)):
            raise TypeError(f"y must be a torch tensor of class indices like {ref_name} "
                            f"({_layout(ref)}), got {type(y).__name__}; convert it with "
                            f"torch.as_tensor(y, device='{ref.device}')")
        y = torch.as_tensor(_array(y, "y"), device=ref.device)
    elif is_torch(y) and not is_torch(ref):
        raise TypeError(f"y must be a NumPy array of class indices like {ref_name}, got a torch "
                        f"tensor; pass y.cpu().numpy()")
    y = _array(y, "y")
    within = f"in [0, {K})" if K else ">= 0"
    if _dtype_kind(y) != "i":
        raise TypeError(f"y must be integer class indices {within}, got dtype {y.dtype}; "
                        f"convert whole-number floats with .astype(int) (NumPy) or .long() "
                        f"(torch)")
    if is_torch(y) and y.device != ref.device:
        raise ValueError(f"y must be on the device of {ref_name}, {ref.device}, got {y.device}")
    N = ref.shape[0]
    if tuple(y.shape) != (N,):
        raise ValueError(f"y must hold one class index per row of {ref_name}, shape ({N},), got "
                         f"shape {tuple(y.shape)}")
    low, high = int(y.min()), int(y.max())
    if low < 0 or (K and high >= K):
        raise ValueError(f"y must be class indices {within}{what}, got values from {low} to "
                         f"{high}")
    return y


def _parameter_layouts(model) -> set:
    return {(is_torch(p), p.dtype, p.device if is_torch(p) else None)
            for p in model.parameters()}


# --- modules ---------------------------------------------------------------------------------


class Module:
    """Base class: ``forward(x)`` (also ``module(x)``) computes and caches,
    ``backward(grad_out)`` returns the gradient with respect to the input and
    stores those of the parameters; ``parameters()`` and ``gradients()`` are
    lists in one fixed order, with equal shapes (empty for a module without
    parameters)."""

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def parameters(self) -> list:
        """The module's own parameter arrays (updated in place by an optimizer)."""
        return []

    def gradients(self) -> list:
        """The gradients of the parameters from the last ``backward``, same order and shapes."""
        return []

    # The unchecked versions that a Sequential uses for the modules behind its entry, whose
    # input another module computed from checked data. A module that does not split its
    # checks off falls back on its public methods.
    def _forward(self, x):
        return self.forward(x)

    def _backward(self, grad_out):
        return self.backward(grad_out)

    def _cached(self):
        x = getattr(self, "_x", None)
        if x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: there "
                               f"is no cached input to differentiate at")
        return x


class Linear(Module):
    """Affine layer ``X (N, d_in) -> X @ W.T + b (N, d_out)``.

    Parameters ``W`` (d_out, d_in) and ``b`` (d_out,), ``b`` zero at creation;
    ``init`` draws ``W`` from a normal distribution of mean 0 and standard
    deviation ``sqrt(2 / d_in)`` ("he", for ReLU), ``sqrt(2 / (d_in + d_out))``
    ("xavier", Glorot normal, for tanh and sigmoid), ``sqrt(1 / d_in)``
    ("lecun"), or sets it to 0 ("zeros"). ``seed``: an int >= 0 draws the same
    weights every time, ``None`` fresh ones; the draw is in float64 and then
    converted, so NumPy and torch layers with one seed start from the same
    weights (up to float32 rounding). ``like``: an array or tensor whose kind,
    dtype (float32 or float64) and device the parameters take; ``None`` for
    NumPy float64.

    ``backward(G)`` with ``G`` (N, d_out) stores ``dW = G.T @ X`` and
    ``db = G.sum(0)`` and returns ``G @ W`` (N, d_in).
    """

    INITS = ("he", "xavier", "lecun", "zeros")

    def __init__(self, d_in: int, d_out: int, *, seed: int | None = 0, init: str = "he",
                 like=None):
        d_in, d_out = integer(d_in, "d_in", 1), integer(d_out, "d_out", 1)
        gen = rng(seed)
        init = choice(init, "init", self.INITS)
        ref = _reference(like)
        std = {"he": math.sqrt(2 / d_in), "xavier": math.sqrt(2 / (d_in + d_out)),
               "lecun": math.sqrt(1 / d_in), "zeros": 0.0}[init]
        W = std * gen.standard_normal((d_out, d_in))
        self._set(_from_numpy(W, ref), _from_numpy(np.zeros(d_out), ref))

    @classmethod
    def from_arrays(cls, W, b) -> Linear:
        """A layer holding copies of ``W`` (d_out, d_in) and ``b`` (d_out,): both NumPy
        or both tensors, of one floating dtype (integers become float64) and device."""
        W = _floating(W, "W")
        if W.ndim != 2 or 0 in tuple(W.shape):
            raise ValueError(f"W must be 2-D (d_out, d_in) and not empty, got shape "
                             f"{tuple(W.shape)}")
        b = _like(b, W, "b", "W")
        if tuple(b.shape) != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},), one bias per row of W, got "
                             f"shape {tuple(b.shape)}")
        layer = cls.__new__(cls)
        copy = (lambda a: a.detach().clone()) if is_torch(W) else (lambda a: a.copy())
        layer._set(copy(W), copy(b))
        return layer

    def _set(self, W, b) -> None:
        self.W, self.b = W, b
        self.d_out, self.d_in = tuple(W.shape)
        self.dW = self.db = self._x = None

    def forward(self, X):
        """``X (N, d_in) -> X @ W.T + b (N, d_out)``; caches ``X``."""
        X = _rows(_like(X, self.W, "X", "the layer's parameters"), "X", self.d_in,
                  f"(N, d_in) with d_in = {self.d_in} inputs, the columns of W "
                  f"{tuple(self.W.shape)}")
        return self._forward(X)

    @_quiet
    def _forward(self, X):
        self._x = X
        return X @ self.W.T + self.b

    def backward(self, grad_out):
        """``G (N, d_out)``: stores ``dW = G.T @ X``, ``db = G.sum(0)``; returns ``G @ W``."""
        G = _like(grad_out, self._cached(), "grad_out", "the cached input")
        return self._backward(G)

    @_quiet
    def _backward(self, G):
        X = self._cached()
        if tuple(G.shape) != (X.shape[0], self.d_out):
            raise ValueError(f"grad_out must have the shape of the output, ({X.shape[0]}, "
                             f"{self.d_out}) (N, d_out), got {tuple(G.shape)}")
        self.dW = G.T @ X      # (d_out, N) @ (N, d_in): one outer product per example, summed
        self.db = G.sum(0)     # the bias was broadcast over the rows
        return G @ self.W      # (N, d_out) @ (d_out, d_in)

    def parameters(self) -> list:
        return [self.W, self.b]

    def gradients(self) -> list:
        if self.dW is None:
            raise RuntimeError("Linear.gradients(): backward has not run yet, so there are no "
                               "gradients")
        return [self.dW, self.db]

    def __repr__(self) -> str:
        return f"Linear({self.d_in}, {self.d_out}, {_layout(self.W)})"


def _reference(like):
    """A zero-size array or tensor with ``like``'s kind, dtype and device."""
    if like is None:
        return np.zeros(0)
    if not (is_torch(like) or isinstance(like, np.ndarray)):
        raise TypeError(f"like must be a NumPy array, a torch tensor or None, got "
                        f"{type(like).__name__} {_describe(like)}; e.g. "
                        f"like=torch.empty(0, dtype=torch.float32, device='cuda')")
    if like.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"like must have dtype float32 or float64 (the parameters take it), "
                        f"got {like.dtype}")
    return like.new_zeros(0) if is_torch(like) else np.zeros(0, like.dtype)


def _from_numpy(a: np.ndarray, ref):
    """The float64 NumPy array ``a`` in ``ref``'s kind, dtype and device."""
    if is_torch(ref):
        return torch.tensor(a, dtype=ref.dtype, device=ref.device)
    return a.astype(ref.dtype)


def _elementwise(formula):
    """Decorator for the ``f``/``df`` formulas: ``x`` (list, array or tensor) is
    checked (real, finite, float32/float64; integers become float64) first."""

    @functools.wraps(formula)
    def checked(x, *args, **kwargs):
        return formula(_floating(x, "x"), *args, **kwargs)

    return checked


class _Activation(Module):
    """An elementwise ``f`` with derivative ``df``: forward caches ``x`` and returns
    ``f(x)``; backward returns ``grad_out * df(x)``. Parameters of ``f``
    (``negative_slope``, ``alpha``) come from :meth:`_args`."""

    def __init__(self):
        self._x = None

    def _args(self) -> tuple:
        return ()

    def forward(self, x):
        """``f(x)``, elementwise, any shape; caches ``x``."""
        return self._forward(_floating(x, "x"))

    def _forward(self, x):
        self._x = x
        return self.f.__wrapped__(x, *self._args())  # the formula, without the input check

    def backward(self, grad_out):
        """``grad_out * df(x)`` for the cached ``x`` (shape of ``x``)."""
        return self._backward(_like(grad_out, self._cached(), "grad_out", "the cached input"))

    @_quiet
    def _backward(self, grad_out):
        x = self._cached()
        if tuple(grad_out.shape) != tuple(x.shape):
            raise ValueError(f"grad_out must have the shape of the output, {tuple(x.shape)}, "
                             f"got {tuple(grad_out.shape)}")
        return grad_out * self.df.__wrapped__(x, *self._args())

    def __repr__(self) -> str:
        args = ", ".join(f"{v!r}" for v in self._args())
        return f"{type(self).__name__}({args})"


class ReLU(_Activation):
    """``max(0, x)``; derivative ``1[x > 0]`` (0 at 0, as torch)."""

    @staticmethod
    @_elementwise
    def f(x):
        return _ns(x).where(x > 0, x, 0.0)

    @staticmethod
    @_elementwise
    def df(x):
        return _ns(x).cast(x > 0, x)


class LeakyReLU(_Activation):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise; derivative 1 or
    ``negative_slope`` (``negative_slope`` at 0, as torch)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = real(negative_slope, "negative_slope")

    def _args(self) -> tuple:
        return (self.negative_slope,)

    @staticmethod
    @_elementwise
    def f(x, negative_slope: float = 0.01):
        negative_slope = real(negative_slope, "negative_slope")
        return _ns(x).where(x > 0, x, negative_slope * x)

    @staticmethod
    @_elementwise
    def df(x, negative_slope: float = 0.01):
        negative_slope = real(negative_slope, "negative_slope")
        return _ns(x).where(x > 0, _ns(x).ones_like(x), negative_slope)


def _sigmoid(x):
    """``1 / (1 + exp(-x))`` from ``e = exp(-|x|)`` in (0, 1]: no overflow, and both
    tails keep their relative accuracy."""
    e = _ns(x).exp(-abs(x))
    return _ns(x).where(x >= 0, 1 / (1 + e), e / (1 + e))


def _dsigmoid(x):
    """``sigma(x) (1 - sigma(x)) = e / (1 + e)^2`` with ``e = exp(-|x|)`` (the function is
    even): accurate in both tails, where ``1 - sigma`` would round to 0."""
    e = _ns(x).exp(-abs(x))
    return e / ((1 + e) * (1 + e))


class Sigmoid(_Activation):
    """``sigma(x) = 1 / (1 + exp(-x))``; derivative ``sigma (1 - sigma)``, at most 1/4."""

    @staticmethod
    @_elementwise
    def f(x):
        return _sigmoid(x)

    @staticmethod
    @_elementwise
    def df(x):
        return _dsigmoid(x)


class Tanh(_Activation):
    """``tanh(x) = 2 sigma(2x) - 1``; derivative ``1 - tanh^2``, 1 at 0."""

    @staticmethod
    @_elementwise
    def f(x):
        return _ns(x).tanh(x)

    @staticmethod
    @_elementwise
    def df(x):
        t = _ns(x).tanh(x)
        return 1 - t * t


class ELU(_Activation):
    """``x`` for ``x > 0``, ``alpha (exp(x) - 1)`` otherwise (``alpha > 0``); derivative
    1 or ``alpha exp(x)`` (``alpha`` at 0, as torch). Only ``min(x, 0)`` is
    exponentiated, so large inputs cannot overflow."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = positive(alpha, "alpha")

    def _args(self) -> tuple:
        return (self.alpha,)

    @staticmethod
    @_elementwise
    def f(x, alpha: float = 1.0):
        alpha = positive(alpha, "alpha")
        return _ns(x).where(x > 0, x, alpha * _ns(x).expm1(x.clip(max=0)))

    @staticmethod
    @_elementwise
    def df(x, alpha: float = 1.0):
        alpha = positive(alpha, "alpha")
        return _ns(x).where(x > 0, _ns(x).ones_like(x), alpha * _ns(x).exp(x.clip(max=0)))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GELU(_Activation):
    """``x Phi(x)`` (exact, with the normal CDF ``Phi``); derivative
    ``Phi(x) + x phi(x)``, 1/2 at 0. ``Phi(x) = erfc(-x / sqrt 2) / 2`` is
    accurate in the left tail; the density is evaluated at ``x`` clipped to
    +-40, where it has long underflowed to 0, so that ``x**2`` cannot overflow."""

    @staticmethod
    @_elementwise
    def f(x):
        return x * (0.5 * _ns(x).erfc(-_SQRT_HALF * x))

    @staticmethod
    @_elementwise
    def df(x):
        t = x.clip(min=-40.0, max=40.0)
        return 0.5 * _ns(x).erfc(-_SQRT_HALF * x) + x * (_INV_SQRT_2PI * _ns(x).exp(-0.5 * t * t))


class SiLU(_Activation):
    """``x sigma(x)`` (swish); derivative ``sigma + x sigma (1 - sigma)``, 1/2 at 0."""

    @staticmethod
    @_elementwise
    def f(x):
        return x * _sigmoid(x)

    @staticmethod
    @_elementwise
    def df(x):
        return _sigmoid(x) + x * _dsigmoid(x)


class Softplus(_Activation):
    """``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))``; derivative
    ``sigma(x)``. (``torch.nn.Softplus`` returns ``x`` itself beyond ``x = 20``, an
    absolute difference below 2.1e-9.)"""

    @staticmethod
    @_elementwise
    def f(x):
        return x.clip(min=0) + _ns(x).log1p(_ns(x).exp(-abs(x)))

    @staticmethod
    @_elementwise
    def df(x):
        return _sigmoid(x)


class Identity(_Activation):
    """``x`` itself; derivative 1 (the "activation" of a linear network)."""

    @staticmethod
    @_elementwise
    def f(x):
        return x

    @staticmethod
    @_elementwise
    def df(x):
        return _ns(x).ones_like(x)


#: The activations by name, as :func:`mlp` takes them.
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
               "elu": ELU, "gelu": GELU, "silu": SiLU, "softplus": Softplus,
               "identity": Identity}


# --- the loss ------------------------------------------------------------------------------


class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy of logits ``Z`` (N, K) and labels ``y`` (N,).

    ``forward(Z, y)`` returns ``-mean_i log softmax(Z)_{i, y_i}``, a 0-d value
    of ``Z``'s kind and dtype (a NumPy scalar or a 0-d tensor), computed from
    :func:`dlnotes.losses.log_softmax` (stable at any finite logits), and caches
    the probabilities ``P``. ``backward()`` returns ``dZ = (P - Y) / N``
    (N, K), ``Y`` the one-hot rows of ``y``. ``y``: integer class indices in
    [0, K), a NumPy array or list for NumPy logits, a tensor on the logits'
    device for torch logits.
    """

    def __init__(self):
        self._P = None

    def __call__(self, Z, y):
        return self.forward(Z, y)

    def forward(self, Z, y):
        """The mean loss over the N rows of ``Z``; caches ``P`` and ``y``."""
        Z = _rows(_floating(Z, "Z"), "Z", None, "(N, K) logits with one example a row")
        return self._forward(Z, _labels(y, Z, "the logits Z", Z.shape[1],
                                        f" for {Z.shape[1]} classes (columns of Z)"))

    def _forward(self, Z, y):
        _finite(Z, "Z", _OVERFLOW)
        logp = losses.log_softmax(Z)
        rows = _ns(Z).arange(len(y), Z)
        self._P, self._y = _ns(logp).exp(logp), y
        return -logp[rows, y].mean()

    def backward(self):
        """``dZ = (P - Y) / N``, the gradient of the mean loss (shape of ``Z``)."""
        if self._P is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward: there are "
                               "no cached probabilities")
        P, y = self._P, self._y
        Y = _ns(P).zeros_like(P)
        Y[_ns(P).arange(len(y), P), y] = 1
        return (P - Y) / len(y)

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


# --- a stack of modules --------------------------------------------------------------------


class Sequential(Module):
    """Modules applied in order: ``forward`` runs them first to last, ``backward``
    last to first and returns the gradient with respect to the input.
    ``parameters()`` and ``gradients()`` concatenate the modules' lists in
    order. All parameters must share one kind, dtype and device. Indexing
    (``model[0]``), ``len`` and iteration reach the modules."""

    def __init__(self, *modules: Module):
        if not modules:
            raise ValueError("Sequential needs at least one module, got none")
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                extra = (" (the loss stays outside the model: loss(model(X), y))"
                         if isinstance(m, SoftmaxCrossEntropy) else "")
                raise TypeError(f"modules[{i}] must be a dlnotes.layers Module (Linear, ReLU, "
                                f"...), got {type(m).__name__} {_describe(m)}{extra}")
        self.modules = list(modules)
        layouts = _parameter_layouts(self)
        if len(layouts) > 1:
            raise TypeError("the modules' parameters must share one kind, dtype and device, "
                            "got a mix: " + ", ".join(sorted(
                                _layout(p) for m in modules for p in m.parameters()[:1])))
        self._io = self._check_widths()
        # Inputs are checked up to the first module with parameters (which checks kind,
        # dtype, device and width); what follows computes from checked values.
        self._entry = next((i for i, m in enumerate(modules) if m.parameters()),
                           len(modules) - 1)

    def _check_widths(self) -> tuple:
        """``(d_in, d_out)`` of the stack (None where unknown); a ValueError when two
        layers do not fit together. Activations keep the width; a module of unknown
        widths (a user's own) leaves the next one unchecked."""
        d_in, width, first = None, None, True
        for i, m in enumerate(self.modules):
            if isinstance(m, _Activation):
                continue
            a, b = (m.d_in, m.d_out) if isinstance(m, Linear) else getattr(m, "_io", (None, None))
            if first:
                d_in, first = a, False
            elif width is not None and a is not None and a != width:
                raise ValueError(f"modules[{i}] takes {a} inputs but the layer before it "
                                 f"outputs {width}: the widths of consecutive layers must match")
            width = b
        return d_in, width

    def forward(self, x):
        """The modules' forward passes in order (inputs checked up to the first layer)."""
        for i, m in enumerate(self.modules):
            x = m.forward(x) if i <= self._entry else m._forward(x)
        return x

    def _forward(self, x):
        for m in self.modules:
            x = m._forward(x)
        return x

    def backward(self, grad_out):
        """The modules' backward passes in reverse order; the gradient wrt the input."""
        grad_out = self.modules[-1].backward(grad_out)  # checked against the last cache
        for m in reversed(self.modules[:-1]):
            grad_out = m._backward(grad_out)
        return grad_out

    def _backward(self, grad_out):
        for m in reversed(self.modules):
            grad_out = m._backward(grad_out)
        return grad_out

    def parameters(self) -> list:
        return [p for m in self.modules for p in m.parameters()]

    def gradients(self) -> list:
        return [g for m in self.modules for g in m.gradients()]

    def __getitem__(self, i):
        return self.modules[i]

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(map(repr, self.modules)) + ")"


def mlp(sizes, activation: str = "relu", *, seed: int | None = 0, init: str = "he",
        like=None) -> Sequential:
    """A multilayer perceptron ``Linear, act, Linear, act, ..., Linear`` (no activation
    after the last layer: it outputs logits).

    ``sizes``: the widths ``[n_0, n_1, ..., n_L]`` (at least two ints >= 1;
    ``n_0`` inputs, ``n_L`` outputs); ``activation``: a name in
    :data:`ACTIVATIONS` (default parameters); ``init``, ``like``: as in
    :class:`Linear`, for every layer; ``seed``: an int >= 0 gives the same
    weights every time (each layer gets its own seed drawn from it), ``None``
    fresh ones. Parameter count ``sum_l n_l (n_{l-1} + 1)``.
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of layer widths such as [64, 128, 10], got "
                        f"{type(sizes).__name__} {_describe(sizes)}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least two widths (inputs and outputs), got "
                         f"{_describe(sizes)}")
    sizes = [integer(n, f"sizes[{i}]", 1) for i, n in enumerate(sizes)]
    act = ACTIVATIONS[choice(activation, "activation", tuple(ACTIVATIONS))]
    gen = rng(seed)
    init = choice(init, "init", Linear.INITS)
    ref = _reference(like)
    seeds = gen.integers(0, 2**63 - 1, size=len(sizes) - 1)
    modules: list[Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            modules.append(act())
        modules.append(Linear(n_in, n_out, seed=int(seeds[i]), init=init, like=ref))
    return Sequential(*modules)


# --- torch.nn twin, training and evaluation ------------------------------------------------


def _torch_module(m: Module) -> torch.nn.Module:
    if isinstance(m, Sequential):
        return torch.nn.Sequential(*map(_torch_module, m.modules))
    if isinstance(m, Linear):
        W = m.W.detach() if is_torch(m.W) else torch.from_numpy(m.W)
        layer = torch.nn.Linear(m.d_in, m.d_out, dtype=W.dtype, device=W.device)
        with torch.no_grad():
            layer.weight.copy_(W)
            layer.bias.copy_(m.b if is_torch(m.b) else torch.from_numpy(m.b))
        return layer
    twins = {ReLU: lambda a: torch.nn.ReLU(), Sigmoid: lambda a: torch.nn.Sigmoid(),
             Tanh: lambda a: torch.nn.Tanh(), GELU: lambda a: torch.nn.GELU(),
             SiLU: lambda a: torch.nn.SiLU(), Softplus: lambda a: torch.nn.Softplus(),
             Identity: lambda a: torch.nn.Identity(),
             LeakyReLU: lambda a: torch.nn.LeakyReLU(a.negative_slope),
             ELU: lambda a: torch.nn.ELU(a.alpha)}
    if type(m) not in twins:
        raise TypeError(f"model holds a {type(m).__name__}, which has no torch.nn twin here "
                        f"(known: Sequential, Linear and the activations of ACTIVATIONS)")
    return twins[type(m)](m)


def to_torch(model: Module) -> torch.nn.Sequential:
    """The same network as ``torch.nn.Sequential``, with copies of the weights, for
    comparisons with autograd and ``torch.optim``.

    ``model``: a :class:`Sequential` (as :func:`mlp` builds), or a single
    module, which becomes a one-module Sequential. NumPy parameters become CPU
    tensors of their dtype; tensor parameters keep dtype and device. Training
    one of the two does not change the other.
    """
    _model(model)
    net = _torch_module(model)
    return net if isinstance(net, torch.nn.Sequential) else torch.nn.Sequential(net)


def _model(model) -> Module:
    if not isinstance(model, Module):
        raise TypeError(f"model must be a dlnotes.layers Module (e.g. from mlp), got "
                        f"{type(model).__name__} {_describe(model)}")
    return model


def _reference_of(model):
    """A parameter of ``model`` (whose kind, dtype and device inputs must have), or None."""
    params = model.parameters()
    return params[0] if params else None


def _io(model) -> tuple:
    """``(d_in, d_out)`` of a model, None where a width is not fixed or not known."""
    if isinstance(model, Linear):
        return model.d_in, model.d_out
    return getattr(model, "_io", (None, None))


def _inputs(model, X):
    """``X`` (N, d) checked against the model: its kind, dtype, device and width."""
    ref = _reference_of(model)
    X = _like(X, ref, "X", "the model's parameters") if ref is not None else _floating(X, "X")
    d = _io(model)[0]
    return _rows(X, "X", d, "(N, d) with one example a row" +
                 (f" and d = {d} inputs of the first Linear" if d else ""))


def _targets(model, X, y):
    """``y`` (N,) class indices for the rows of ``X``, below the model's output width."""
    K = _io(model)[1]
    return _labels(y, X, "X", K, f" for the {K} outputs of the model" if K else "")


def train_epoch(model: Module, loss: SoftmaxCrossEntropy, optimizer: Optimizer, X, y,
                batch_size: int, *, seed: int | None) -> float:
    """One epoch of minibatch training; returns the mean loss over the epoch.

    The batches are :func:`dlnotes.data.minibatches` ``(N, batch_size, seed)``
    (pass a new ``seed`` each epoch to reshuffle, e.g. the epoch number). For
    each batch: ``Z = model(X_b)``, ``loss(Z, y_b)``, ``model.backward(
    loss.backward())`` and ``optimizer.step(model.parameters(),
    model.gradients())``. ``model``: a :class:`Module`; ``loss``: a
    :class:`SoftmaxCrossEntropy`; ``optimizer``: a :mod:`dlnotes.optim`
    optimizer, serving this model's parameters; ``X`` (N, d) of the model's
    kind, dtype and device, ``y`` (N,) integer labels (a tensor on ``X``'s
    device for a torch model). The mean weights every batch by its size, so it
    is the average loss of the N examples at the moment each was visited.
    """
    model = _model(model)
    if not isinstance(loss, SoftmaxCrossEntropy):
        raise TypeError(f"loss must be a dlnotes.layers.SoftmaxCrossEntropy, got "
                        f"{type(loss).__name__} {_describe(loss)}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a dlnotes.optim optimizer (SGD, Adam, ...), got "
                        f"{type(optimizer).__name__} {_describe(optimizer)}")
    if not model.parameters():
        raise ValueError("model has no parameters to train")
    X = _inputs(model, X)
    y = _targets(model, X, y)
    batches = data.minibatches(len(y), batch_size, seed)
    if is_torch(X):
        order = torch.as_tensor(np.concatenate(batches), device=X.device)
        batches = order.split([len(b) for b in batches])
    # X and y were checked above (y against the output width, when the model fixes it);
    # the optimizer checks every gradient.
    loss_of = loss._forward if _io(model)[1] else loss.forward
    total = 0.0
    for idx in batches:
        batch_loss = loss_of(model._forward(X[idx]), y[idx])
        model._backward(loss.backward())
        optimizer.step(model.parameters(), model.gradients())
        total = total + batch_loss * len(idx)
    return float(total) / len(y)


def predict(model: Module, X):
    """Predicted classes ``argmax_k model(X)_k`` (N,), int64, of ``X``'s kind and device.
    ``X`` (N, d) as in :func:`train_epoch`. Runs ``model.forward`` (replacing its cache)."""
    X = _inputs(_model(model), X)
    Z = model(X)
    _rows(Z, "the model's output", None, "(N, K) scores with one example a row")
    _finite(Z, "the model's output", _OVERFLOW)
    return Z.argmax(1)


def accuracy(model: Module, X, y) -> float:
    """The fraction of rows of ``X`` whose predicted class is ``y`` (N,), in [0, 1]."""
    X = _inputs(_model(model), X)
    y = _targets(model, X, y)
    return float((predict(model, X) == y).sum()) / len(y)
