"""Data sets: small synthetic ones generated from a seed, and scikit-learn's
bundled digits (no network). Standardisation with training statistics only,
and the minibatches of one epoch of stochastic gradient descent.

``seed`` means what it means everywhere in dlnotes: an int >= 0 gives the same
data on every call, ``None`` fresh randomness from the operating system.
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

from dlnotes._checks import float_array, integer, nonnegative, rng
from dlnotes.cv import train_val_test_split


def _finite_output(y: np.ndarray, cause: str) -> np.ndarray:
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{cause} too large: y overflows float64 (largest about 1.8e308)")
    return y


def rent(n: int = 20, seed: int | None = 0, *, noise: float = 300.0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic monthly rents against floor area.

    ``x ~ U(500, 2000)`` square feet and ``y = 1.5 x + 300 + N(0, noise^2)``
    dollars. ``seed``: int >= 0 (reproducible) or None (fresh). Returns
    ``(x, y)``, each of shape (n,).
    """
    n = integer(n, "n", 1)
    noise = nonnegative(noise, "noise")
    gen = rng(seed)
    x = gen.uniform(500.0, 2000.0, n)
    with np.errstate(over="ignore"):
        y = 1.5 * x + 300.0 + noise * gen.standard_normal(n)
    return x, _finite_output(y, f"noise = {noise:g} is")


def polynomial(n: int, coefficients=(0.0, 1.0), noise: float = 0.3, seed: int | None = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a polynomial on ``x ~ U(-1, 1)``.

    ``coefficients`` ``[c_0, c_1, ..., c_M]`` in increasing degree (the default
    is the line ``y = x``): a non-empty finite 1-D list, array or tensor;
    ``y = sum_m c_m x^m + N(0, noise^2)``. ``seed``: int >= 0 (reproducible)
    or None (fresh). Returns ``(x, y)``, each of shape (n,).
    """
    n = integer(n, "n", 1)
    c = float_array(coefficients, "coefficients", ndim=(1,))
    noise = nonnegative(noise, "noise")
    gen = rng(seed)
    x = gen.uniform(-1.0, 1.0, n)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.polynomial.polynomial.polyval(x, c) + noise * gen.standard_normal(n)
    return x, _finite_output(y, "coefficients or noise are")


def _standardized(a: np.ndarray, e, mean, std, name: str) -> np.ndarray:
    """``(a - mean_train) / std_train`` computed on columns scaled by ``2**-e``."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (np.ldexp(a, -e) - mean) / std
    if not np.all(np.isfinite(z)):
        raise ValueError(f"{name} lies too far from the training data: its standardised values "
                         f"overflow float64")
    return z


def _training_statistics(xt: np.ndarray):
    """Per column of ``xt`` (N, ...): ``e``, and the mean and standard deviation of the
    column divided by ``2**e``; ValueError for a constant column."""
    # Each column divided by a power of two >= its largest |value| lies in [-1, 1]: exact,
    # and the variance can neither overflow (1e200) nor underflow (1e-200).
    _, e = np.frexp(np.max(np.abs(xt), axis=0))
    scaled = np.ldexp(xt, -e)
    mean, std = scaled.mean(axis=0), scaled.std(axis=0)
    rounding = xt.shape[0] * np.finfo(np.float64).eps * np.abs(mean)
    const = np.atleast_1d((np.ptp(scaled, axis=0) == 0) | (std <= rounding))
    if const.any():
        cols = np.flatnonzero(const).tolist()
        raise ValueError(f"cannot standardise: training column(s) {cols} are constant "
                         f"(standard deviation 0, or below the rounding error of the mean); "
                         f"drop them first")
    return e, mean, std


def standardize(x_train, *others):
    """Shift and scale every column by the TRAINING mean and standard deviation.

    ``x_train``: (N,) or (N, d) with N >= 2; each of ``others`` (validation or
    test data, possibly with no rows) must have the same trailing shape. Lists,
    arrays of any real dtype and tensors are accepted; the results are float64
    NumPy arrays. The statistics come from ``x_train`` only and are applied
    unchanged to all arrays, which keeps the other splits out of the fit.
    Returns a tuple ``(x_train_std, *others_std)``.
    Raises ValueError for a constant training column: its standard deviation
    is 0, or below the rounding error of its mean (judged relative to the
    column's magnitude, so 1e-150 and 1e150 are treated alike).
    """
    xt = float_array(x_train, "x_train", ndim=(1, 2))
    if xt.shape[0] < 2:
        raise ValueError(f"x_train must have N >= 2 rows (one row has no spread), got shape "
                         f"{xt.shape}")
    stats = _training_statistics(xt)
    out = [_standardized(xt, *stats, "x_train")]
    for j, other in enumerate(others):
        name = f"others[{j}]"
        o = float_array(other, name, allow_empty=True)
        if o.ndim != xt.ndim or o.shape[1:] != xt.shape[1:]:
            raise ValueError(f"{name} must have shape (n,) + {xt.shape[1:]} like x_train "
                             f"{xt.shape}, got {o.shape}")
        out.append(_standardized(o, *stats, name))
    return tuple(out)


def digits(seed: int | None = 0, val=0.15, test=0.15
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), split.

    Pixels are float64 in [0, 1] (divided by 16), one image a row (64 columns);
    labels are ints 0-9. ``seed``, ``val`` and ``test`` are as in
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


DATA_VAR = "DLNOTES_DATA"


def cache_dir() -> Path:
    """Where :func:`fetch` keeps downloads: ``$DLNOTES_DATA`` (``~`` expanded; unset,
    empty or blank means the default), else ``~/.cache/dlnotes``."""
    value = os.environ.get(DATA_VAR, "").strip()
    return Path(value).expanduser() if value else Path.home() / ".cache" / "dlnotes"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SCHEMES = ("http", "https", "file")


def _plain_name(name: str, what: str) -> str:
    """``name`` if it names a file inside a folder (no separators, not '.' or '..')."""
    seps = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if not name or name in (".", "..") or any(s in name for s in seps) or "\0" in name:
        raise ValueError(f"{what} must be a plain file name (no path separators, not '.' or "
                         f"'..'), got {name!r}")
    return name


def _check_fetch_args(url, sha256, filename, folder) -> tuple[str, str, Path]:
    """Validated ``(sha256, file name, folder)`` for :func:`fetch`."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    parts = urlparse(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise ValueError(f"url must start with one of {', '.join(s + '://' for s in _SCHEMES)}, "
                         f"got {url!r}")
    if not isinstance(sha256, str):
        raise TypeError(f"sha256 must be a str of 64 hexadecimal characters, got "
                        f"{type(sha256).__name__}")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal characters, got {sha256!r}")
    if filename is None:
        name = Path(parts.path).name
        if not name:
            raise ValueError(f"cannot name the file for {url!r}; pass filename=")
        name = _plain_name(name, "the file name taken from url")
    elif isinstance(filename, str):
        name = _plain_name(filename, "filename")
    else:
        raise TypeError(f"filename must be a str or None, got {type(filename).__name__}")
    if folder is None:
        folder = cache_dir()
    elif not isinstance(folder, (str, os.PathLike)) or isinstance(os.fspath(folder), bytes):
        raise TypeError(f"folder must be a str, a pathlib.Path or None, got "
                        f"{type(folder).__name__}")
    elif not os.fspath(folder).strip():
        raise ValueError(f"folder must name a folder, got {os.fspath(folder)!r}")
    return sha256.lower(), name, Path(folder)


def fetch(url: str, sha256: str, *, filename: str | None = None,
          folder: str | os.PathLike | None = None) -> Path:
    """A file from ``url``, downloaded once into the cache and verified.

    ``url``: an http://, https:// or file:// address; ``sha256``: the expected
    digest, 64 hexadecimal characters; ``filename``: the name to store it under
    (default: the last part of the url's path), a plain name without folders;
    ``folder``: where (default :func:`cache_dir`).

    A cached copy whose SHA-256 matches is returned without touching the
    network; a missing or corrupt one is downloaded to a temporary file in the
    cache folder, checked, and only then moved into place (atomically), so an
    interrupted or wrong download never leaves a file that looks valid. Raises
    ValueError when the download's checksum differs from ``sha256``.

    The book never calls this while building or testing: the chapters use data
    that ships inside packages. It is for readers who want larger public sets.
    """
    sha256, name, folder = _check_fetch_args(url, sha256, filename, folder)
    target = folder / name
    if target.exists() and not target.is_file():
        raise ValueError(f"cannot store the download at {target}: it exists and is not a file")
    if target.is_file() and _sha256(target) == sha256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    shutil.copyfileobj(response, out)
            except OSError as err:  # urllib's URLError and HTTPError included
                err.add_note(f"fetch could not download {url}; nothing was stored")
                raise
        got = _sha256(Path(tmp))
        if got != sha256:
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


# --- classification sets: two features, balanced classes, rows in random order -------------


def _class_labels(n: int, k: int) -> np.ndarray:
    """Labels ``0, ..., k - 1`` in blocks whose sizes differ by at most one, shape (n,)."""
    return np.sort(np.arange(n, dtype=np.int64) % k)


def _examples_per_class(n, k: int) -> int:
    n = integer(n, "n", 1)
    if n < k:
        raise ValueError(f"n must be >= the number of classes, {k}, so that every class has an "
                         f"example, got n = {n}")
    return n


def _shuffled_rows(X: np.ndarray, y: np.ndarray, gen: np.random.Generator, cause: str):
    """``(X, y)`` with the rows in one random order; ValueError if ``X`` overflowed."""
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{cause} too large: X overflows float64 (largest about 1.8e308)")
    order = gen.permutation(len(y))
    return X[order], y[order]


def _blob_centers(centers):
    """``centers`` as an int count k, or as a float64 array of shape (k, 2)."""
    if isinstance(centers, (list, tuple)) or getattr(centers, "ndim", 0) > 0:
        c = float_array(centers, "centers", ndim=(2,))
        if c.shape[1] != 2:
            raise ValueError(f"centers as an array must have shape (k, 2), one centre a row, "
                             f"got shape {c.shape}")
        return c
    try:
        return integer(centers, "centers", 1)
    except TypeError:
        raise TypeError(f"centers must be an int (how many centres) or an array of centres of "
                        f"shape (k, 2), got {type(centers).__name__} {centers!r:.60}") from None


def blobs(n: int, centers=3, std: float = 0.5, seed: int | None = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs in the plane: class ``c`` is drawn from ``N(m_c, std^2 I)``.

    ``centers``: an int k >= 1, for k centres evenly spaced on the circle of
    radius 2, ``m_c = 2 (cos(2 pi c / k), sin(2 pi c / k))``; or the centres
    themselves, an array of shape (k, 2). ``std`` >= 0. ``n`` >= k examples,
    class sizes differing by at most one, rows in random order. ``seed``: int
    >= 0 (reproducible) or None (fresh). Returns ``(X, y)``: X (n, 2) float64,
    y (n,) int64 class indices ``0, ..., k - 1``.
    """
    spec = _blob_centers(centers)
    k = spec if isinstance(spec, int) else spec.shape[0]
    n = _examples_per_class(n, k)
    std = nonnegative(std, "std")
    gen = rng(seed)
    if isinstance(spec, int):
        angles = 2 * np.pi * np.arange(k) / k
        spec = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = _class_labels(n, k)
    with np.errstate(over="ignore", invalid="ignore"):
        X = spec[y] + std * gen.standard_normal((n, 2))
    return _shuffled_rows(X, y, gen, f"std = {std:g} or the centers are")


def spirals(n: int, n_classes: int = 2, noise: float = 0.05, seed: int | None = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms in the plane, one arm a class (K = ``n_classes`` >= 2).

    An example of class ``c`` has ``t ~ U(0, 1)``, radius ``t`` and angle
    ``2 pi (c / K + t)``: each arm makes one full turn from the centre to
    radius 1, the arms a K-th of a turn apart. Then ``N(0, noise^2)`` is added
    to each coordinate (``noise`` >= 0). ``n`` >= K examples, class sizes
    differing by at most one, rows in random order. ``seed``: int >= 0
    (reproducible) or None (fresh). Returns ``(X, y)``: X (n, 2) float64,
    y (n,) int64 class indices ``0, ..., K - 1``.
    """
    k = integer(n_classes, "n_classes", 2)
    n = _examples_per_class(n, k)
    noise = nonnegative(noise, "noise")
    gen = rng(seed)
    y = _class_labels(n, k)
    t = gen.uniform(0.0, 1.0, n)
    angle = 2 * np.pi * (y / k + t)
    with np.errstate(over="ignore", invalid="ignore"):
        X = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]) \
            + noise * gen.standard_normal((n, 2))
    return _shuffled_rows(X, y, gen, f"noise = {noise:g} is")


def xor(n: int, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the class says whether exactly one coordinate is positive.

    Without noise, ``y = 1`` where ``x1 x2 < 0`` (quadrants (+, -) and (-, +))
    and ``y = 0`` where ``x1 x2 > 0`` ((+, +) and (-, -)); each coordinate has
    a magnitude drawn from U(0, 1], and the two quadrants of a class hold as
    many examples as possible alike. Then ``N(0, noise^2)`` is added to each
    coordinate (``noise`` >= 0), which carries points near the axes across
    them. No line separates the classes. ``n`` >= 2 examples, class sizes
    differing by at most one, rows in random order. ``seed``: int >= 0
    (reproducible) or None (fresh). Returns ``(X, y)``: X (n, 2) float64,
    y (n,) int64 in {0, 1}.
    """
    n = _examples_per_class(n, 2)
    noise = nonnegative(noise, "noise")
    gen = rng(seed)
    y = _class_labels(n, 2)
    rank = np.arange(n) - np.searchsorted(y, y)  # position within its class
    first = np.where(rank % 2 == 0, 1.0, -1.0)
    signs = np.column_stack([first, np.where(y == 0, first, -first)])
    magnitude = 1.0 - gen.uniform(0.0, 1.0, (n, 2))  # in (0, 1]: no point on an axis
    with np.errstate(over="ignore", invalid="ignore"):
        X = signs * magnitude + noise * gen.standard_normal((n, 2))
    return _shuffled_rows(X, y, gen, f"noise = {noise:g} is")


def _example_rows(a, name: str):
    """``a`` as a NumPy array (lists converted, dtype kept) or a tensor, of real numbers,
    with a leading example axis and finite entries."""
    from dlnotes._checks import real_array
    from dlnotes.cv import _examples

    return _examples(real_array(a, name, "an array with one example a row"), name)


def split(X, y, val=0.15, test=0.15, seed: int | None = 0
          ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The rows of a data set ``(X, y)`` cut into train, validation and test.

    ``X`` (N, ...) and ``y`` (N, ...) hold one example a row: lists, NumPy
    arrays (kept in their dtype, so int labels stay ints) or tensors (which
    stay tensors on their device); finite. ``val``, ``test`` and ``seed`` are
    as in :func:`dlnotes.cv.train_val_test_split`: counts or fractions of N,
    one shuffle of the rows (not stratified by class), the rest trains.
    Returns ``{"train": (X, y), "val": (X, y), "test": (X, y)}`` like
    :func:`digits`, each part's rows in their original order.
    """
    from dlnotes.cv import _rows

    X, y = _example_rows(X, "X"), _example_rows(y, "y")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows (examples), got X of "
                         f"shape {tuple(X.shape)} and y of shape {tuple(y.shape)}")
    if X.shape[0] == 0:
        raise ValueError(f"X and y must have at least one row (example), got X of shape "
                         f"{tuple(X.shape)}")
    parts = train_val_test_split(X.shape[0], val=val, test=test, seed=seed)
    return {name: (_rows(X, idx), _rows(y, idx))
            for name, idx in zip(("train", "val", "test"), parts)}


# --- minibatches: one epoch of stochastic gradient descent ---------------------------------


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r:.60}")
    return bool(value)


def minibatches(n: int, batch_size: int, seed: int | None = 0, *, shuffle: bool = True,
                drop_last: bool = False) -> list[np.ndarray]:
    """The index batches of one epoch over ``n`` examples, as SGD visits them.

    With ``shuffle=True`` the indices ``0, ..., n - 1`` are put in one random
    order (``seed``: int >= 0 for the same order every call, None for a fresh
    one) and cut into consecutive batches of ``batch_size``; with
    ``shuffle=False`` they stay in stored order (the mistake of chapter 04's
    class-sorted experiment). Every index appears exactly once (sampling
    without replacement), and there are ``ceil(n / batch_size)`` batches, the
    last holding the ``n mod batch_size`` left-over examples when that is not
    0. ``drop_last=True`` leaves that short batch out, as PyTorch's
    ``DataLoader(drop_last=True)`` does, so that every batch has
    ``batch_size`` examples; it needs ``batch_size <= n``.

    ``n`` >= 1, ``batch_size`` >= 1 (``batch_size >= n`` gives one full batch).
    Returns a list of 1-D int64 arrays; call it once per epoch, with a new
    seed, to reshuffle.
    """
    n = integer(n, "n", 1)
    batch_size = integer(batch_size, "batch_size", 1)
    gen = rng(seed)  # checked even when unused, so that a bad seed never passes silently
    shuffle, drop_last = _flag(shuffle, "shuffle"), _flag(drop_last, "drop_last")
    if drop_last and batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n} with drop_last=True (otherwise the "
                         f"epoch has no full batch and nothing to train on), got {batch_size}")
    order = gen.permutation(n) if shuffle else np.arange(n, dtype=np.int64)
    stop = n - n % batch_size if drop_last else n
    return [order[i:i + batch_size].astype(np.int64) for i in range(0, stop, batch_size)]
