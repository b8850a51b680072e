"""Argument checks shared by the dlnotes modules.

Each raises an error that names the argument, what was expected and what came:
``TypeError`` for the wrong kind of thing, ``ValueError`` for the right kind
with a wrong value (a shape, a range, a NaN). They accept what a reader
naturally passes where the meaning is clear: Python and NumPy scalars, 0-d
arrays and 0-d tensors (also tensors that require grad) for a number; lists,
NumPy arrays and tensors for an array.
"""

from __future__ import annotations

import numbers

import numpy as np


def is_torch(a) -> bool:
    """Whether ``a`` is a torch tensor (without importing torch)."""
    return type(a).__module__.split(".", 1)[0] == "torch" and hasattr(a, "detach")


def _describe(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap_scalar(x):
    """A 0-d array or a one-element 0-d tensor as a Python/NumPy scalar; else ``x``."""
    if is_torch(x):
        return x.detach().cpu().item() if x.ndim == 0 else x
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x[()]
    return x


def integer(n, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``n`` as an int; TypeError for a non-integer (bools and floats included),
    ValueError outside ``[minimum, maximum]``. 0-d integer arrays and tensors count."""
    n = _unwrap_scalar(n)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__} {_describe(n)}")
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    if maximum is not None and n > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {n}")
    return int(n)


def real(x, name: str) -> float:
    """``x`` as a finite float; TypeError for a non-number (bools, strings and
    complex numbers included), ValueError for NaN or infinity."""
    x = _unwrap_scalar(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {_describe(x)}")
    try:
        x = float(x)
    except OverflowError:  # an int beyond float64, such as 10**400
        raise ValueError(f"{name} must be finite, got an int of {len(str(abs(x)))} digits, "
                         f"beyond the largest float") from None
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def nonnegative(x, name: str) -> float:
    """``x`` as a float, finite and >= 0."""
    x = real(x, name)
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return x


def positive(x, name: str) -> float:
    """``x`` as a float, finite and > 0."""
    x = real(x, name)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return x


def choice(value, name: str, options: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, "
                         f"got {_describe(value)}")
    return value


def rng(seed, name: str = "seed") -> np.random.Generator:
    """The one meaning of ``seed`` in dlnotes: an int >= 0 gives a reproducible
    generator, ``None`` fresh randomness from the operating system."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(integer(seed, name, 0))


def callable_(f, name: str):
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__} {_describe(f)}")
    return f


def all_finite(a) -> bool:
    """No NaN or inf in a NumPy array, a torch tensor or a number."""
    if is_torch(a):
        import torch

        return bool(torch.isfinite(a.detach()).all()) if a.is_floating_point() else True
    return bool(np.all(np.isfinite(a)))


def to_numpy(a):
    """A torch tensor (detached, on the CPU) as a NumPy array; anything else unchanged."""
    return a.detach().cpu().numpy() if is_torch(a) else a


def real_array(a, name: str, what: str = "an array of numbers"):
    """``a`` as a NumPy array (lists converted, dtype kept) or a tensor, of real numbers:
    strings, objects, ragged lists and complex numbers are a TypeError naming ``name``."""
    if is_torch(a):
        if a.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        return a
    if a is None or isinstance(a, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be {what}, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:  # ragged lists
        raise TypeError(f"{name} must be {what}, got {type(a).__name__} ({err})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def float_array(a, name: str, ndim: tuple[int, ...] | None = None, *, allow_empty: bool = False,
                finite: bool = True) -> np.ndarray:
    """``a`` (list, NumPy array or tensor) as a float64 NumPy array, which may share
    memory with ``a``: never write into it.

    Integer and boolean input is converted (so integer arithmetic cannot
    overflow later); strings, objects and complex numbers are a TypeError.
    ``ndim`` lists the allowed numbers of axes.
    """
    arr = to_numpy(real_array(a, name))
    arr = arr.astype(np.float64, copy=False)  # no copy of float64 input: callers never write
    if ndim is not None and arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf entries")
    return arr


def index_array(idx, name: str, n: int) -> np.ndarray:
    """``idx`` as a 1-D int64 array of indices into ``range(n)``."""
    arr = np.asarray(to_numpy(idx))
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise TypeError(f"{name} must be an array of integer indices, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name} must hold indices in [0, {n}), got values from {arr.min()} "
                         f"to {arr.max()}")
    return arr


def same_kind(names: str, *arrays) -> list:
    """Validate arrays that a function computes with together, NumPy or torch.

    All must be NumPy-like (lists included; converted to float64) or all torch
    tensors. Tensors must share one floating dtype and one device; integer or
    boolean tensors are converted to that dtype (float64 if none is floating).
    Every entry must be finite. Returns the arrays in order.
    """
    labels = [s.strip() for s in names.split(",")]
    kinds = {is_torch(a) for a in arrays}
    if len(kinds) > 1:
        raise TypeError(f"{names} must be all NumPy arrays or all torch tensors, got a mix: "
                        + ", ".join(f"{n} {type(a).__name__}" for n, a in zip(labels, arrays)))
    if kinds == {False}:
        return [float_array(a, n, allow_empty=True) for n, a in zip(labels, arrays)]
    import torch

    for n, a in zip(labels, arrays):
        if a.is_complex():
            raise TypeError(f"{n} must hold real numbers, got dtype {a.dtype}")
    floats = {a.dtype for a in arrays if a.is_floating_point()}
    if len(floats) > 1:
        raise TypeError(f"{names} must share one floating dtype, got "
                        + ", ".join(f"{n} {a.dtype}" for n, a in zip(labels, arrays))
                        + "; convert them with .to(torch.float64) (or float32)")
    devices = {a.device for a in arrays}
    if len(devices) > 1:
        raise ValueError(f"{names} must be on one device, got "
                         + ", ".join(f"{n} on {a.device}" for n, a in zip(labels, arrays)))
    dtype = floats.pop() if floats else torch.float64
    out = [a if a.dtype == dtype else a.to(dtype) for a in arrays]
    for n, a in zip(labels, out):
        if not all_finite(a):
            raise ValueError(f"{n} must be finite, got NaN or inf entries")
    return out
