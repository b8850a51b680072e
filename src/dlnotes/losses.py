"""Sigmoid, softmax and the losses of classification, written out stably (chapter 03).

A classifier outputs *logits* ``z``, one real score per class. The softmax turns
them into probabilities ``p_k = exp(z_k) / sum_j exp(z_j)``; the cross-entropy of
a target distribution ``q`` (one-hot for a class index) is
``-sum_k q_k log p_k``, the negative log-likelihood of the categorical model, and
its gradient with respect to the logits is "probabilities minus targets",
``p - q``. With one logit and a label in {0, 1} the same reasoning gives the
sigmoid and the binary cross-entropy, with gradient ``sigmoid(z) - y``.

Stability. ``exp`` overflows beyond about 88.7 in float32 and 709.8 in float64,
so the softmax family first subtracts the largest logit ``m`` (the softmax does
not change when every logit moves by the same amount):
``LSE(z) = m + log sum_j exp(z_j - m)``, ``log_softmax(z) = z - LSE(z)``, and the
loss is ``LSE(z) - z_y``, never ``-log(softmax(z)_y)`` (that is ``-log 0 = inf``
once ``p_y`` underflows). The sigmoid and the binary cross-entropy use
``exp(-|z|)`` only, which lies in (0, 1] and cannot overflow.

Input. NumPy arrays (and lists) or torch tensors; the result has the same kind,
dtype and device. Floating NumPy arrays keep their dtype (float32 stays float32:
the chapter shows what float32 does), integer logits become float64 like in the
rest of the package, integer tensors float64 too. Tensors that require grad
stay differentiable. The arrays of one call are all NumPy (Python numbers and
lists join either kind) or all torch on one device; a floating tensor of
targets must have the logits' dtype. Boolean arrays are refused everywhere
(they are labels passed in the wrong place, or a mask). Empty arrays are
refused (a mean over no examples is 0/0), except by the elementwise
:func:`sigmoid`.

Infinite logits. In the softmax family ``-inf`` is a legitimate logit, a class
masked out: its probability is exactly 0 and its log-probability ``-inf``, as in
torch. Every slice along ``axis`` needs at least one finite logit (all ``-inf``
is 0/0); ``+inf`` and NaN are refused. A cross-entropy that puts target mass on
a class whose log-probability is ``-inf`` is infinite and is refused (torch
returns inf there, or NaN for a zero target); zero target mass on such a class
contributes nothing (``0 log 0 = 0``). A log-probability below the most
negative float (a logit more than about 1.8e308 below the largest, float64)
rounds to ``-inf`` like a probability below the smallest float rounds to 0.
:func:`sigmoid` accepts ``+-inf`` (giving exactly 1 and 0); the binary
cross-entropy and :func:`mse` take finite values only.

The softmax Jacobian ``diag(p) - p p^T`` is :func:`dlnotes.matcalc.softmax_jacobian`.
:func:`mse` here is a loss (same kind as its input, differentiable, with a
reduction); :func:`dlnotes.cv.mse` is the float64 metric of chapter 01.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from dlnotes._checks import choice, integer, is_torch, real, real_array, to_numpy

_REDUCTIONS = ("mean", "sum", "none")

#: NumPy's over/underflow warnings are silenced inside the stable formulas: an exp that
#: underflows to 0 is the right answer there, and overflowing results are an error below.
_quiet = np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")


# --- input checks ------------------------------------------------------------------------


def _xp(a):
    """The array namespace of ``a``: torch for tensors, NumPy otherwise."""
    return torch if is_torch(a) else np


def _kind(a) -> str:
    """'b' (bool), 'i' (integer) or 'f' (floating) for a NumPy array or a real tensor."""
    if is_torch(a):
        return "b" if a.dtype == torch.bool else "f" if a.is_floating_point() else "i"
    return {"b": "b", "i": "i", "u": "i", "f": "f"}[a.dtype.kind]


def _dtype_name(a) -> str:
    return str(a.dtype).replace("torch.", "")


def _array(a, name: str):
    """``a`` as a NumPy array or a tensor of real numbers (not yet converted)."""
    return real_array(a, name)


def _not_bool(a, name: str, what: str) -> None:
    if _kind(a) == "b":
        raise TypeError(f"{name} must hold {what}, got dtype bool; convert it first "
                        f"(.astype(int) in NumPy, .long() in torch)")


def _as_float(a, dtype=None):
    """``a`` in ``dtype`` (default: its own floating dtype, float64 for integers)."""
    if dtype is None:
        if _kind(a) == "f":
            return a
        dtype = torch.float64 if is_torch(a) else np.float64
    return a.to(dtype) if is_torch(a) else a.astype(dtype, copy=False)


def _shape(a) -> tuple:
    return tuple(a.shape)


def _check_values(a, name: str, neg_inf: bool, pos_inf: bool) -> None:
    """NaN is always refused; ``-inf`` and ``+inf`` unless allowed."""
    v = a.detach() if is_torch(a) else a
    size = int(np.prod(_shape(v)))
    nan = int(_xp(a).isnan(v).sum())
    if nan:
        raise ValueError(f"{name} must not contain NaN, got NaN in {nan} of {size} entries")
    for sign, allowed in (("+", pos_inf), ("-", neg_inf)):
        count = int((v == float(f"{sign}inf")).sum())
        if count and not allowed:
            raise ValueError(f"{name} must be finite, got {sign}inf in {count} of {size} "
                             f"entries")


def _real_input(a, name: str, *, min_ndim: int, neg_inf: bool = False, pos_inf: bool = False,
                allow_empty: bool = False):
    """The main array of a call: real, not bool, floating (integers as float64),
    ``min_ndim`` axes or more, non-empty unless allowed, no NaN, infinities as allowed."""
    a = _array(a, name)
    _not_bool(a, name, "real numbers")
    a = _as_float(a)
    if a.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} axis, got shape {_shape(a)}")
    if not allow_empty and 0 in _shape(a):
        raise ValueError(f"{name} must not be empty, got shape {_shape(a)}")
    _check_values(a, name, neg_inf, pos_inf)
    return a


def _companion(t, ref, name: str, ref_name: str):
    """An array computed together with ``ref``, as the same kind: Python numbers and
    lists join either kind; a NumPy array with a tensor (or the reverse) is a TypeError;
    tensors must be on ``ref``'s device."""
    if not is_torch(ref):
        if is_torch(t):
            raise TypeError(f"{name} must be a NumPy array or a list like {ref_name}, got a "
                            f"torch tensor; pass both as NumPy or both as torch")
        return _array(t, name)
    if not is_torch(t):
        if not isinstance(t, (numbers.Number, list, tuple)):
            raise TypeError(f"{name} must be a torch tensor like {ref_name}, got "
                            f"{type(t).__name__}; pass both as NumPy or both as torch")
        t = torch.as_tensor(_array(t, name), device=ref.device)
    t = _array(t, name)
    if t.device != ref.device:
        raise ValueError(f"{name} must be on the device of {ref_name}, {ref.device}, got "
                         f"{t.device}")
    return t


def _floating_like(t, ref, name: str, ref_name: str, what: str):
    """``t`` (real, not bool) in the floating dtype of ``ref``; a floating tensor of
    another dtype is a TypeError (torch does not mix dtypes silently)."""
    _not_bool(t, name, what)
    if is_torch(t) and t.is_floating_point() and t.dtype != ref.dtype:
        raise TypeError(f"{name} and {ref_name} must share one floating dtype, got {name} "
                        f"{t.dtype} and {ref_name} {ref.dtype}; convert with "
                        f".to({ref.dtype})")
    return _as_float(t, ref.dtype)


def _same_shape(t, ref, name: str, ref_name: str) -> None:
    if _shape(t) != _shape(ref):
        raise ValueError(f"{name} must have the shape of {ref_name}, {_shape(ref)}, got "
                         f"{_shape(t)} (no broadcasting: a (N, 1) against a (N,) would "
                         f"silently give an N x N result)")


def _axis(axis, z) -> int:
    axis = integer(axis, "axis")
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis must lie in [{-z.ndim}, {z.ndim}) for z of shape {_shape(z)}, "
                         f"got {axis}")
    return axis


def _reduction(reduction) -> str:
    return choice(reduction, "reduction", _REDUCTIONS)


def _smoothing(label_smoothing) -> float:
    eps = real(label_smoothing, "label_smoothing")
    if not 0 <= eps < 1:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {eps!r} (1 would ignore "
                         f"the targets entirely)")
    return eps


def _labels(t, n_classes: int, name: str, shape_note: str = ""):
    """``t`` checked as integer class indices in ``[0, n_classes)``."""
    kind = _kind(t)
    if kind == "b":
        raise TypeError(f"{name} must be integer class indices in [0, {n_classes}), got "
                        f"dtype bool; convert with .astype(int) (NumPy) or .long() (torch)")
    if kind == "f":
        v = np.asarray(to_numpy(t), dtype=np.float64).reshape(-1)
        odd = v[~(v == np.round(v))]  # NaN and inf included
        example = f" such as {float(odd[0])!r}" if odd.size else ""
        raise TypeError(f"{name} must be integer class indices in [0, {n_classes}){shape_note}, "
                        f"got dtype {_dtype_name(t)}{example}; convert whole-number floats "
                        f"with .astype(int) (NumPy) or .long() (torch)")
    if 0 not in _shape(t):
        low, high = int(t.min()), int(t.max())
        if low < 0 or high >= n_classes:
            raise ValueError(f"{name} must be class indices in [0, {n_classes}) for "
                             f"{n_classes} classes, got values from {low} to {high}")
    return t


def _one_hot(labels, n_classes: int, dtype):
    if is_torch(labels):
        classes = torch.arange(n_classes, device=labels.device)
        return (labels[..., None] == classes).to(dtype)
    return (labels[..., None] == np.arange(n_classes)).astype(dtype)


def _tolerance(a) -> float:
    """How far a row of probabilities of ``a``'s dtype may sum from 1: the square root
    of its machine epsilon (1.5e-8 in float64, 3.5e-4 in float32)."""
    eps = torch.finfo(a.dtype).eps if is_torch(a) else np.finfo(a.dtype).eps
    return float(np.sqrt(eps))


def _distribution(t, logits):
    """Soft targets: one distribution over the classes per example, in the logits' dtype."""
    q = _floating_like(t, logits, "targets", "logits", "probabilities")
    _check_values(q, "targets", False, False)
    v = q.detach() if is_torch(q) else q
    if bool((v < 0).any()):
        raise ValueError(f"targets of shape {_shape(q)} are probabilities and must be >= 0, "
                         f"got minimum {float(v.min())!r}")
    sums = v.sum(-1)
    gap = abs(sums - 1)
    worst = int(gap.argmax())
    if float(gap.reshape(-1)[worst]) > _tolerance(q):
        row = f"row {worst} sums" if sums.ndim else "it sums"
        raise ValueError(f"targets of shape {_shape(q)} must be a distribution over the "
                         f"{q.shape[-1]} classes per example, summing to 1 within "
                         f"{_tolerance(q):.1e} ({_dtype_name(q)}); {row} to "
                         f"{float(sums.reshape(-1)[worst])!r}. Normalise multi-hot targets "
                         f"(divide by the row sum)")
    return q


def _target_distribution(targets, logits):
    """The target distribution ``q`` of shape ``logits.shape``: one-hot rows for class
    indices of shape ``logits.shape[:-1]``, or soft targets of the logits' shape."""
    t = _companion(targets, logits, "targets", "logits")
    K, shape = logits.shape[-1], _shape(t)
    if shape == _shape(logits)[:-1]:
        note = f" (shape {shape} means one index per example)"
        return _one_hot(_labels(t, K, "targets", note), K, logits.dtype)
    if shape == _shape(logits):
        return _distribution(t, logits)
    raise ValueError(f"targets must be class indices of shape {_shape(logits)[:-1]} or "
                     f"probabilities of shape {_shape(logits)} to match logits of shape "
                     f"{_shape(logits)}, got shape {shape}")


# --- the stable core (inputs already checked) ----------------------------------------------


@_quiet
def _shifted(z, axis: int, name: str):
    """``(z - m, m)`` with ``m`` the maximum along ``axis`` (kept as an axis of size 1).

    ``m`` is a constant for autograd: the results below do not depend on it
    mathematically, so holding it fixed gives the exact derivative.
    """
    m = _xp(z).amax(z, axis=axis, keepdims=True)
    if is_torch(m):
        m = m.detach()
    if bool((m == -np.inf).any()):
        raise ValueError(f"{name} must have a finite entry in every slice along axis {axis} "
                         f"(all -inf means every probability is 0/0), got "
                         f"{int((m == -np.inf).sum())} slices that are all -inf")
    return z - m, m


@_quiet
def _softmax_parts(z, axis: int, name: str = "z"):
    """``(p, log p)`` along ``axis``, both stable: nothing overflows."""
    xp = _xp(z)
    s, _ = _shifted(z, axis, name)
    e = xp.exp(s)  # the largest entry is exp(0) = 1: the sum lies in [1, K]
    total = xp.sum(e, axis=axis, keepdims=True)
    return e / total, s - xp.log(total)


def _scalar_if_0d(a):
    return a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a


def _finite_result(out, what: str, hint: str):
    v = out.detach() if is_torch(out) else out
    if not bool(_xp(out).isfinite(v).all()):
        raise ValueError(f"{what} overflows {_dtype_name(out)}: {hint}")
    return _scalar_if_0d(out)


@_quiet
def _reduce(per, reduction: str, what: str, hint: str):
    xp = _xp(per)
    out = per if reduction == "none" else xp.sum(per) if reduction == "sum" else xp.mean(per)
    return _finite_result(out, f"{what} (reduction={reduction!r})", hint)


# --- public functions ------------------------------------------------------------------------


@_quiet
def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))``, elementwise, any shape (also 0-d).

    Computed from ``e = exp(-|z|)``, which cannot overflow: ``1 / (1 + e)`` for
    ``z >= 0`` and ``e / (1 + e)`` for ``z < 0``, so both tails keep their
    relative accuracy and ``sigmoid(+-inf)`` is exactly 1 and 0.
    """
    z = _real_input(z, "z", min_ndim=0, neg_inf=True, pos_inf=True, allow_empty=True)
    xp = _xp(z)
    e = xp.exp(-xp.abs(z))
    return _scalar_if_0d(xp.where(z >= 0, 1 / (1 + e), e / (1 + e)))


def softmax(z, axis: int = -1):
    """Softmax ``exp(z) / sum exp(z)`` along ``axis``; same shape as ``z``.

    ``z``: any shape with at least one axis, e.g. ``(N, K)`` logits with
    examples as rows. Entries along ``axis`` are in [0, 1] and sum to 1.
    """
    z = _real_input(z, "z", min_ndim=1, neg_inf=True)
    return _softmax_parts(z, _axis(axis, z))[0]


def log_softmax(z, axis: int = -1):
    """``log softmax(z) = z - LSE(z)`` along ``axis``; same shape as ``z``.

    Computed as ``(z - m) - log sum exp(z - m)``: finite where ``log(softmax(z))``
    would be ``log 0 = -inf`` because the probability underflows.
    """
    z = _real_input(z, "z", min_ndim=1, neg_inf=True)
    return _softmax_parts(z, _axis(axis, z))[1]


@_quiet
def logsumexp(z, axis: int = -1):
    """``LSE(z) = log sum_j exp(z_j)`` along ``axis``, which is removed.

    ``z (..., K)`` gives ``(...)`` for ``axis=-1``; a vector gives a scalar.
    ``max z <= LSE(z) <= max z + log K``.
    """
    z = _real_input(z, "z", min_ndim=1, neg_inf=True)
    axis = _axis(axis, z)
    xp = _xp(z)
    s, m = _shifted(z, axis, "z")
    lse = m + xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))
    return _scalar_if_0d(xp.squeeze(lse, axis))


def one_hot(labels, n_classes: int):
    """One-hot rows ``e_y`` for integer class indices ``labels`` in ``[0, n_classes)``.

    ``labels``: any shape (``(N,)`` for a batch); returns float64 of shape
    ``labels.shape + (n_classes,)``, a NumPy array or a tensor on the labels'
    device (cast it to your logits' dtype where that differs).
    """
    n_classes = integer(n_classes, "n_classes", minimum=1)
    labels = _labels(_array(labels, "labels"), n_classes, "labels")
    return _one_hot(labels, n_classes, torch.float64 if is_torch(labels) else np.float64)


def _classification(logits, targets, label_smoothing):
    """Checked logits ``(N, K)`` or ``(K,)``, the smoothed target distribution ``q``
    (shape of logits), the probabilities ``p`` and log-probabilities."""
    logits = _real_input(logits, "logits", min_ndim=1, neg_inf=True)
    if logits.ndim > 2:
        raise ValueError(f"logits must be (N, K) with one example a row, or (K,) for one "
                         f"example, got shape {_shape(logits)}")
    eps = _smoothing(label_smoothing)
    q = _target_distribution(targets, logits)
    K = logits.shape[-1]
    if eps:
        q = (1 - eps) * q + eps / K
    p, logp = _softmax_parts(logits, -1, "logits")
    infinite = (q > 0) & (logp == -np.inf)
    if bool(infinite.any()):
        where = tuple(int(i) for i in np.argwhere(to_numpy(infinite))[0])
        raise ValueError(f"the cross-entropy is infinite: targets (with label_smoothing="
                         f"{eps!r}) put probability on entry {where} of logits, whose "
                         f"log-probability is -inf (a logit of -inf, or one so far below the "
                         f"largest that the difference overflows {_dtype_name(logits)})")
    return logits, q, p, logp


def _batch_size(logits) -> int:
    return logits.shape[0] if logits.ndim == 2 else 1


@_quiet
def cross_entropy(logits, targets, *, label_smoothing: float = 0.0, reduction: str = "mean"):
    """Softmax cross-entropy from logits, ``-sum_k q_k log softmax(z)_k`` per example.

    ``logits``: ``(N, K)`` with one example a row, or ``(K,)`` for one example.
    ``targets``: integer class indices of shape ``(N,)`` (``()`` for one
    example), for which the loss is ``LSE(z) - z_y``, or soft targets of the
    shape of ``logits``, one distribution over the classes per row (entries
    >= 0, rows summing to 1 within the square root of the dtype's epsilon).
    ``label_smoothing`` in [0, 1) replaces the target ``q`` by
    ``(1 - eps) q + eps / K`` (Szegedy et al.; torch's convention).
    ``reduction``: ``"mean"`` over the N examples, ``"sum"``, or ``"none"``
    (shape ``(N,)``). Equals ``torch.nn.functional.cross_entropy``.
    """
    reduction = _reduction(reduction)
    logits, q, _, logp = _classification(logits, targets, label_smoothing)
    xp = _xp(logits)
    per = -xp.sum(q * xp.where(q > 0, logp, 0.0), axis=-1)  # 0 log 0 = 0, also at -inf
    return _reduce(per, reduction, "cross_entropy",
                   "the logits are too far apart; rescale them")


@_quiet
def cross_entropy_grad(logits, targets, *, label_smoothing: float = 0.0,
                       reduction: str = "mean"):
    """Gradient of :func:`cross_entropy` with respect to the logits (denominator
    layout: the shape of ``logits``).

    Per example it is ``p - q``, probabilities minus targets (exactly
    ``(sum_k q_k) p - q``, which is the same for a distribution). Arguments as in
    :func:`cross_entropy`. ``reduction="mean"`` gives ``(P - Q) / N``,
    ``"sum"`` gives ``P - Q``; ``"none"`` also gives ``P - Q``, read row by row:
    row ``i`` is the gradient of example ``i``'s own loss with respect to its
    own logits.
    """
    reduction = _reduction(reduction)
    logits, q, p, _ = _classification(logits, targets, label_smoothing)
    xp = _xp(logits)
    grad = xp.sum(q, axis=-1, keepdims=True) * p - q
    if reduction == "mean":
        grad = grad / _batch_size(logits)
    return grad


@_quiet
def binary_cross_entropy_with_logits(logits, targets, *, reduction: str = "mean"):
    """Binary cross-entropy of labels ``y`` in [0, 1] from logits ``z``, elementwise:
    ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))``.

    Computed as ``max(z, 0) - z y + log1p(exp(-|z|))``, which neither overflows
    nor takes the log of 0 (the probability form is ``inf`` or NaN beyond
    ``|z|`` of about 37 in float64). ``logits``: any shape, finite;
    ``targets``: the same shape (no broadcasting), 0/1 labels or probabilities.
    ``reduction``: ``"mean"`` over all entries, ``"sum"``, or ``"none"``.
    Equals ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    reduction = _reduction(reduction)
    z = _real_input(logits, "logits", min_ndim=0)
    y = _floating_like(_companion(targets, z, "targets", "logits"), z, "targets", "logits",
                       "labels in [0, 1]")
    _same_shape(y, z, "targets", "logits")
    _check_values(y, "targets", False, False)
    v = y.detach() if is_torch(y) else y
    if bool(((v < 0) | (v > 1)).any()):
        raise ValueError(f"targets must lie in [0, 1] (labels or probabilities), got values "
                         f"from {float(v.min())!r} to {float(v.max())!r}")
    xp = _xp(z)
    per = z.clip(min=0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))
    return _reduce(per, reduction, "binary_cross_entropy_with_logits",
                   "the logits are too large; rescale them")


@_quiet
def mse(y_hat, y, *, reduction: str = "mean"):
    """Squared error ``(y_hat - y)^2``, elementwise, as a loss.

    ``y_hat`` (predictions) and ``y`` (targets): the same shape, any (no
    broadcasting), finite. ``reduction``: ``"mean"`` over all entries (as
    ``torch.nn.functional.mse_loss``), ``"sum"``, or ``"none"``. The result
    has the kind, dtype and device of ``y_hat``.
    """
    reduction = _reduction(reduction)
    y_hat = _real_input(y_hat, "y_hat", min_ndim=0)
    y = _floating_like(_companion(y, y_hat, "y", "y_hat"), y_hat, "y", "y_hat", "real numbers")
    _same_shape(y, y_hat, "y", "y_hat")
    _check_values(y, "y", False, False)
    r = y_hat - y
    return _reduce(r * r, reduction, "mse",
                   "the errors are too large to square; rescale y_hat and y (change units)")
