"""Argument checks shared by the dlnotes modules.

Each raises an error that names the argument, what was expected and what came.
"""

from __future__ import annotations

import numpy as np


def integer(n, name: str, minimum: int | None = None) -> int:
    """``n`` as an int; TypeError for a non-integer (bools included), ValueError
    below ``minimum``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


def _real(x) -> bool:
    return (isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
            and bool(np.isfinite(x)))


def nonnegative(x, name: str) -> float:
    """``x`` as a float, finite and >= 0."""
    if not (_real(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    return float(x)


def positive(x, name: str) -> float:
    """``x`` as a float, finite and > 0."""
    if not (_real(x) and x > 0):
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def is_torch(a) -> bool:
    """Whether ``a`` is a torch tensor (without importing torch)."""
    return type(a).__module__.split(".", 1)[0] == "torch"


def all_finite(a) -> bool:
    """No NaN or inf in a NumPy array, a torch tensor or a number."""
    if is_torch(a):
        import torch

        return bool(torch.isfinite(a).all())
    return bool(np.all(np.isfinite(a)))
