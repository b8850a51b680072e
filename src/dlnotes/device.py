"""Where tensors live, and how randomness is fixed.

Every chapter and test picks its device through :func:`device`, so one
environment variable moves the whole book between CPU and GPU.
"""

from __future__ import annotations

import os
import random
import re

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


_SPEC = re.compile(r"([a-z]+)(?::(0|[1-9][0-9]*))?")  # torch's own grammar: no "cuda:01"
_HELP = ("expected 'kind' or 'kind:index' with kind one of cpu, cuda, mps and index a "
         "non-negative int without sign or leading zeros, e.g. 'cuda:1'")


def _count(kind: str) -> int:
    """How many devices of an available ``kind`` this machine has."""
    return torch.cuda.device_count() if kind == "cuda" else 1


def _parse(text: str, source: str) -> torch.device:
    """``text`` ("kind" or "kind:index", any case, blanks around) as a torch device."""
    shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "..."
    match = _SPEC.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"cannot read device {shown} (from {source}); {_HELP}")
    kind, digits = match.groups()
    if kind not in _KNOWN:
        raise ValueError(f"unknown device {shown} (from {source}); {_HELP}")
    if not _available(kind):
        raise RuntimeError(
            f"device {shown} (from {source}) is not available on this machine; "
            f"available: {', '.join(k for k in _KNOWN if _available(k))}"
        )
    if digits is None:
        return torch.device(kind)
    count = _count(kind)
    if len(digits) > 9 or int(digits) >= count:
        index = digits if len(digits) <= 9 else digits[:9] + "..."
        raise RuntimeError(f"device {shown} (from {source}): index {index} is out of range; "
                           f"this machine has {count} {kind} device(s), index 0 to {count - 1}")
    return torch.device(kind, int(digits))


def device(name: str | None = None) -> torch.device:
    """The torch device to compute on.

    Order of choice: the argument ``name``, else the environment variable
    ``DLNOTES_DEVICE`` (unset, empty or blank: not set), else the first
    available of CUDA, Apple MPS, CPU. A choice reads ``"kind"`` or
    ``"kind:index"`` (``"cuda:1"``), in any case, blanks around it ignored;
    the index is a non-negative int below the number of such devices (cpu and
    mps have only index 0).

    Raises TypeError when ``name`` is not a str or None, ValueError for an
    empty ``name``, a malformed choice or an unknown kind, and RuntimeError for
    a kind or index that this machine does not have; each message says whether
    the choice came from the argument or from ``$DLNOTES_DEVICE``.
    """
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str such as 'cpu' or 'cuda:0', or None, got "
                            f"{type(name).__name__} {name!r}")
        if not name.strip():
            raise ValueError(f"name must not be empty, got {name!r}; pass None (the default) "
                             f"for the automatic choice")
        return _parse(name, "the argument name")
    requested = os.environ.get(ENV_VAR, "")
    if requested.strip():
        return _parse(requested, f"${ENV_VAR}")
    for kind in ("cuda", "mps"):
        if _available(kind):
            return torch.device(kind)
    return torch.device("cpu")


MAX_SEED = 2**64 - 1  # torch.manual_seed's largest; Python's random and NumPy take any int >= 0


def seed(n: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and CUDA).

    ``n``: an int in ``[0, 2**64 - 1]`` (the range torch accepts). Python's
    ``random``, torch and the returned generator get ``n`` itself; NumPy's
    legacy global state (``np.random.rand`` and friends) only takes seeds below
    ``2**32`` and gets ``n % 2**32``. ``n`` is checked before anything is
    seeded, so either every generator is reseeded or none is.

    Returns a fresh ``numpy.random.Generator`` seeded with ``n``, which is the
    preferred source of randomness in new code.
    """
    n = integer(n, "seed n", 0, MAX_SEED)
    random.seed(n)
    np.random.seed(n % 2**32)
    torch.manual_seed(n)
    return np.random.default_rng(n)


def fast_mode() -> bool:
    """Whether chapters should use their smaller, CI-sized settings.

    Set ``DLNOTES_FAST=1`` (or true/yes, any case) to ask for it; unset, empty,
    0, false or no mean off, anything else is a ValueError. A chapter that has a heavy experiment
    chooses its sizes through this function and says so on the page; every page
    of the book records whether it was built in fast mode.
    """
    raw = os.environ.get(FAST_VAR, "0")
    value = raw.strip().lower()
    if value not in ("0", "1", "", "false", "true", "no", "yes"):
        raise ValueError(f"${FAST_VAR} must be 0 or 1, got {raw!r} (true/false and yes/no "
                         f"also work; unset or empty means 0)")
    return value in ("1", "true", "yes")
