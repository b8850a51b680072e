"""Where tensors live, and how randomness is fixed.

Every chapter and test picks its device through :func:`device`, so one
environment variable moves the whole book between CPU and GPU.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from dlnotes._checks import integer

ENV_VAR = "DLNOTES_DEVICE"
FAST_VAR = "DLNOTES_FAST"
_KNOWN = ("cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(name: str | None = None) -> torch.device:
    """The torch device to compute on.

    Order of choice: the argument ``name``, else the environment variable
    ``DLNOTES_DEVICE``, else the first available of CUDA, Apple MPS, CPU.
    ``name`` may carry an index (``"cuda:1"``).

    Raises ValueError for an unknown device kind and RuntimeError for a known
    kind that this machine does not have.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"device name must be a str, got {type(name).__name__}")
    requested = name if name is not None else os.environ.get(ENV_VAR, "").strip()
    if not requested:
        for kind in ("cuda", "mps"):
            if _available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    kind = requested.split(":", 1)[0].lower()
    source = "argument" if name is not None else f"${ENV_VAR}"
    if kind not in _KNOWN:
        raise ValueError(
            f"unknown device {requested!r} (from {source}); expected one of {', '.join(_KNOWN)}"
        )
    if not _available(kind):
        raise RuntimeError(
            f"device {requested!r} (from {source}) is not available on this machine; "
            f"available: {', '.join(k for k in _KNOWN if _available(k))}"
        )
    return torch.device(requested.lower())


def seed(n: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``n``, which is the
    preferred source of randomness in new code.
    """
    n = integer(n, "seed", 0)
    random.seed(n)
    np.random.seed(n % 2**32)
    torch.manual_seed(n)
    return np.random.default_rng(n)


def fast_mode() -> bool:
    """Whether chapters should use their smaller, CI-sized settings.

    Set ``DLNOTES_FAST=1`` to ask for it. A chapter that has a heavy experiment
    chooses its sizes through this function and says so on the page; every page
    of the book records whether it was built in fast mode.
    """
    value = os.environ.get(FAST_VAR, "0").strip().lower()
    if value not in ("0", "1", "", "false", "true", "no", "yes"):
        raise ValueError(f"${FAST_VAR} must be 0 or 1, got {value!r}")
    return value in ("1", "true", "yes")
