"""Data sets: small synthetic ones generated from a seed, and scikit-learn's
bundled digits (no network). Standardisation with training statistics only.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from dlnotes._checks import integer, nonnegative
from dlnotes.cv import train_val_test_split


def rent(n: int = 20, seed: int = 0, *, noise: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic monthly rents against floor area.

    ``x ~ U(500, 2000)`` square feet and ``y = 1.5 x + 300 + N(0, noise^2)``
    dollars. Returns ``(x, y)``, each of shape (n,).
    """
    n = integer(n, "n", 1)
    noise = nonnegative(noise, "noise")
    rng = np.random.default_rng(seed)
    x = rng.uniform(500.0, 2000.0, n)
    return x, 1.5 * x + 300.0 + noise * rng.standard_normal(n)


def polynomial(n: int, coefficients=(0.0, 1.0), noise: float = 0.3, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a polynomial on ``x ~ U(-1, 1)``.

    ``coefficients`` ``[c_0, c_1, ..., c_M]`` in increasing degree (the default
    is the line ``y = x``); ``y = sum_m c_m x^m + N(0, noise^2)``.
    Returns ``(x, y)``, each of shape (n,).
    """
    n = integer(n, "n", 1)
    noise = nonnegative(noise, "noise")
    c = np.asarray(coefficients, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or not np.all(np.isfinite(c)):
        raise ValueError(f"coefficients must be a non-empty finite 1-D sequence, got {c!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    return x, np.polynomial.polynomial.polyval(x, c) + noise * rng.standard_normal(n)


def standardize(x_train, *others):
    """Shift and scale every column by the TRAINING mean and standard deviation.

    ``x_train``: (N,) or (N, d); each of ``others`` must have the same trailing
    shape (validation or test data). The statistics come from ``x_train`` only
    and are applied unchanged to all arrays, which keeps the other splits out
    of the fit. Returns a tuple ``(x_train_std, *others_std)``.
    Raises ValueError for a constant training column (zero standard deviation).
    """
    xt = np.asarray(x_train, dtype=np.float64)
    if xt.ndim not in (1, 2) or xt.shape[0] < 2:
        raise ValueError(f"x_train must be (N,) or (N, d) with N >= 2, got shape {xt.shape}")
    if not np.all(np.isfinite(xt)):
        raise ValueError(f"x_train must be finite, got {int(np.count_nonzero(~np.isfinite(xt)))}"
                         f" NaN/inf entries")
    mean, std = xt.mean(axis=0), xt.std(axis=0)
    const = np.atleast_1d(std <= 1e-12 * np.maximum(1.0, np.abs(mean)))
    if const.any():
        cols = np.flatnonzero(const).tolist()
        raise ValueError(f"cannot standardise: training column(s) {cols} are constant "
                         f"(standard deviation 0); drop them first")
    out = [(xt - mean) / std]
    for j, other in enumerate(others):
        o = np.asarray(other, dtype=np.float64)
        if o.shape[1:] != xt.shape[1:] or o.ndim != xt.ndim:
            raise ValueError(f"array {j + 1} of others must have shape (n,) + {xt.shape[1:]} "
                             f"like x_train {xt.shape}, got {o.shape}")
        out.append((o - mean) / std)
    return tuple(out)


def digits(seed: int = 0, val=0.15, test=0.15) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), split.

    Pixels are float64 in [0, 1] (divided by 16), one image a row (64 columns);
    labels are ints 0-9. ``val``/``test`` are counts or fractions, as in
    :func:`dlnotes.cv.train_val_test_split`. Returns
    ``{"train": (X, y), "val": (X, y), "test": (X, y)}``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    train, val_idx, test_idx = train_val_test_split(len(y), val=val, test=test, seed=seed)
    return {"train": (X[train], y[train]), "val": (X[val_idx], y[val_idx]),
            "test": (X[test_idx], y[test_idx])}


def cache_dir() -> Path:
    """Where :func:`fetch` keeps downloads: ``$DLNOTES_DATA``, else ``~/.cache/dlnotes``."""
    return Path(os.environ.get("DLNOTES_DATA") or Path.home() / ".cache" / "dlnotes")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, sha256: str, *, filename: str | None = None,
          folder: str | os.PathLike | None = None) -> Path:
    """A file from ``url``, downloaded once into the cache and verified.

    A cached copy whose SHA-256 matches is returned without touching the
    network; a missing or corrupt one is downloaded to a temporary file in the
    cache folder, checked, and only then moved into place (atomically), so an
    interrupted or wrong download never leaves a file that looks valid. Raises
    ValueError when the download's checksum differs from ``sha256``.

    The book never calls this while building or testing: the chapters use data
    that ships inside packages. It is for readers who want larger public sets.
    """
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256.lower()):
        raise ValueError(f"sha256 must be 64 hexadecimal characters, got {sha256!r}")
    sha256 = sha256.lower()
    name = filename or Path(urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot name the file for {url!r}; pass filename=")
    folder = Path(folder) if folder is not None else cache_dir()
    target = folder / name
    if target.is_file() and _sha256(target) == sha256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        got = _sha256(Path(tmp))
        if got != sha256:
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target
