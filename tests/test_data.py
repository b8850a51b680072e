"""Tests of dlnotes.data: synthetic sets, standardisation, digits."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from dlnotes import data


def test_rent_has_the_documented_distribution():
    x, y = data.rent(20_000, seed=0)
    assert x.shape == y.shape == (20_000,)
    assert 500 <= x.min() and x.max() <= 2000
    slope, intercept = np.polyfit(x, y, 1)
    assert abs(slope - 1.5) < 0.02 and abs(intercept - 300) < 25
    assert abs(np.std(y - 1.5 * x - 300) - 300) < 6


def test_rent_is_reproducible():
    a, b = data.rent(seed=5), data.rent(seed=5)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], data.rent(seed=6)[1])


def test_polynomial_follows_its_coefficients():
    x, y = data.polynomial(50, (1.0, -2.0, 0.5), noise=0.0, seed=0)
    assert np.all(np.abs(x) <= 1)
    np.testing.assert_allclose(y, 1 - 2 * x + 0.5 * x**2, rtol=1e-14)
    _, yn = data.polynomial(50, (1.0, -2.0, 0.5), noise=0.3, seed=0)
    assert 0.1 < np.std(yn - y) < 0.5


def test_standardize_uses_training_statistics_only():
    train = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    test = np.array([[3.0, 70.0]])
    ts, vs = data.standardize(train, test)
    np.testing.assert_allclose(ts.mean(0), 0, atol=1e-15)
    np.testing.assert_allclose(ts.std(0), 1, rtol=1e-14)
    np.testing.assert_allclose(vs, [[0.0, 40 / np.std([10, 30, 50])]], rtol=1e-14)


@given(n=st.integers(2, 30), d=st.integers(1, 40), others=st.lists(st.integers(0, 5), max_size=2),
       exponents=st.data(), dtype=st.sampled_from(["float64", "float32", "int64"]),
       kind=st.sampled_from(["numpy", "list", "torch", "torch-grad"]), flat=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_standardize_matches_sklearn_standard_scaler(n, d, others, exponents, dtype, kind, flat,
                                                     seed):
    """Columns of every magnitude from 1e-150 to 1e150 (float32: 1e-30 to 1e30), d > N
    included, against scikit-learn's StandardScaler fitted on the training rows."""
    d = 1 if flat else d
    low, high = (-150, 150) if dtype == "float64" else (-30, 30)
    scale = 10.0 ** np.array(exponents.draw(st.lists(st.integers(low, high), min_size=d,
                                                     max_size=d), label="exponents"))
    gen = np.random.default_rng(seed)
    rows = [n] + others
    if dtype == "int64":
        parts = [gen.integers(-1000, 1000, (m, d)) for m in rows]
    else:
        offset = gen.uniform(-3, 3, d)
        parts = [((gen.standard_normal((m, d)) + offset) * scale).astype(dtype) for m in rows]
    assume(np.all(np.ptp(parts[0], axis=0) > 0))
    as64 = [p.astype(np.float64) for p in parts]
    scaler = StandardScaler().fit(as64[0])
    expected = [scaler.transform(p) if len(p) else p for p in as64]  # sklearn refuses 0 rows
    if flat:
        parts, expected = [p[:, 0] for p in parts], [e[:, 0] for e in expected]
    if kind == "list":
        parts = [p.tolist() for p in parts]
    elif kind.startswith("torch"):
        parts = [torch.from_numpy(p) for p in parts]
        if kind == "torch-grad" and dtype != "int64":
            parts[0].requires_grad_(True)
    got = data.standardize(*parts)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-9)


def test_standardize_judges_constant_columns_relative_to_their_magnitude():
    tiny = np.array([1e-150, 2e-150, 4e-150])  # real spread at a tiny magnitude
    (z,) = data.standardize(tiny)
    np.testing.assert_allclose(z, (tiny - tiny.mean()) / tiny.std(), rtol=1e-14)
    huge = np.array([[1e150, 1.0], [2e150, 2.0], [4e150, 3.0]])  # var would be 1e300 and more
    with np.errstate(over="ignore"):
        assert np.isinf(np.var(huge * 1e10, axis=0)[0])
    (z,) = data.standardize(huge * 1e10)
    np.testing.assert_allclose(z[:, 0], (tiny - tiny.mean()) / tiny.std(), rtol=1e-14)
    with pytest.raises(ValueError, match=r"column\(s\) \[0\] are constant"):
        data.standardize(np.array([1e150, 1e150 * (1 + 2.2e-16)]))  # spread below rounding
    with pytest.raises(ValueError, match=r"column\(s\) \[0, 2\] are constant"):
        data.standardize(np.array([[0.0, 1.0, 1e-300], [0.0, 2.0, 1e-300]]))


def test_standardize_bad_input():
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] are constant"):
        data.standardize(np.array([[1.0, 2.0], [3.0, 2.0]]))
    with pytest.raises(ValueError,
                       match=r"others\[0\] must have shape \(n,\) \+ \(2,\).*got \(3,\)"):
        data.standardize(np.ones((3, 2)) * np.arange(3)[:, None], np.ones(3))
    with pytest.raises(ValueError, match=r"others\[1\] must be finite, got 1 NaN"):
        data.standardize(np.arange(3.0), np.ones(2), [np.nan])
    with pytest.raises(ValueError, match=r"others\[0\] lies too far from the training data"):
        data.standardize(np.array([1e-300, 3e-300]), [1e300])
    with pytest.raises(ValueError, match=r"x_train must be finite, got 1 NaN"):
        data.standardize(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match=r"N >= 2 rows.*got shape \(1,\)"):
        data.standardize(np.array([1.0]))
    with pytest.raises(ValueError, match=r"x_train must be 1-D or 2-D, got shape \(2, 2, 2\)"):
        data.standardize(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match=r"x_train must be an array of numbers, got str"):
        data.standardize("12")
    with pytest.raises(TypeError, match=r"others\[0\] must hold real numbers"):
        data.standardize([1.0, 2.0], ["a"])


@pytest.mark.parametrize("call, err, match", [
    (lambda: data.rent(0), ValueError, r"n must be >= 1, got 0"),
    (lambda: data.rent(2.0), TypeError, r"n must be an int, got float"),
    (lambda: data.rent(noise=-1.0), ValueError, r"noise must be >= 0, got -1"),
    (lambda: data.rent(noise=np.nan), ValueError, r"noise must be finite"),
    (lambda: data.rent(seed=-1), ValueError, r"seed must be >= 0, got -1"),
    (lambda: data.rent(seed=0.5), TypeError, r"seed must be an int, got float"),
    (lambda: data.rent(seed=True), TypeError, r"seed must be an int, got bool"),
    (lambda: data.rent(1000, noise=1e308), ValueError,
     r"noise = 1e\+308 is too large: y overflows"),
    (lambda: data.polynomial(5, noise=-1.0), ValueError, r"noise must be >= 0, got -1"),
    (lambda: data.polynomial(5, noise="0.1"), TypeError, r"noise must be a real number"),
    (lambda: data.polynomial(5, coefficients=[]), ValueError, r"coefficients must not be empty"),
    (lambda: data.polynomial(5, coefficients=2.0), ValueError,
     r"coefficients must be 1-D, got shape \(\)"),
    (lambda: data.polynomial(5, coefficients=[[1.0]]), ValueError, r"coefficients must be 1-D"),
    (lambda: data.polynomial(5, coefficients=[1.0, np.inf]), ValueError,
     r"coefficients must be finite, got 1 NaN/inf"),
    (lambda: data.polynomial(5, coefficients="12"), TypeError, r"coefficients must be an array"),
    (lambda: data.polynomial(100, coefficients=[1e308, 1e308]), ValueError,
     r"coefficients or noise are too large: y overflows float64"),
    (lambda: data.polynomial(5, seed="1"), TypeError, r"seed must be an int, got str"),
    (lambda: data.polynomial(-5), ValueError, r"n must be >= 1, got -5"),
    (lambda: data.digits(seed=-2), ValueError, r"seed must be >= 0, got -2"),
    (lambda: data.digits(val=1.0), ValueError, r"val as a fraction must lie in \[0, 1\)"),
    (lambda: data.digits(test=True), TypeError, r"test must be an int count or a float"),
    (lambda: data.digits(val=1000, test=0.45), ValueError, r"leave at least one training"),
])
def test_generators_bad_input(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_generators_accept_numpy_scalars_tensors_and_fresh_seeds():
    x, y = data.polynomial(np.array(7), torch.tensor([1.0, -2.0, 0.5], requires_grad=True),
                           noise=np.float32(0.0), seed=np.int64(3))
    np.testing.assert_allclose(y, 1 - 2 * x + 0.5 * x**2, rtol=1e-14)
    a, b = data.rent(5, seed=None), data.rent(5, seed=None)
    assert not np.array_equal(a[0], b[0])  # None: fresh randomness, not a fixed default
    np.testing.assert_array_equal(data.rent(np.int32(5), seed=np.array(2))[1],
                                  data.rent(5, seed=2)[1])


def test_digits_splits_are_disjoint_and_reproducible():
    d = data.digits(seed=0)
    sizes = {k: len(v[1]) for k, v in d.items()}
    assert sum(sizes.values()) == 1797 and sizes["test"] == sizes["val"] == 270
    X, y = d["train"]
    assert X.shape[1] == 64 and X.dtype == np.float64 and 0 <= X.min() and X.max() <= 1
    assert set(np.unique(y)) == set(range(10))
    rows = {k: {tuple(r) for r in v[0]} for k, v in d.items()}
    assert len(rows["train"] & rows["test"]) < 5  # a few exact duplicate images exist
    np.testing.assert_array_equal(data.digits(seed=0)["test"][1], d["test"][1])
    small = data.digits(seed=np.int64(1), val=100, test=np.array(200))
    assert len(small["val"][1]) == 100 and len(small["test"][1]) == 200


# --- fetch: download once, verify, write atomically (tested on files the tests make) ---

import hashlib  # noqa: E402


def _source(tmp_path, content: bytes = b"x,y\n1,2\n"):
    path = tmp_path / "source" / "table.csv"
    path.parent.mkdir()
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


def test_fetch_downloads_verifies_and_then_uses_the_cache(tmp_path):
    src, digest = _source(tmp_path)
    got = data.fetch(src.as_uri(), digest, folder=tmp_path / "cache")
    assert got == tmp_path / "cache" / "table.csv" and got.read_bytes() == src.read_bytes()
    src.unlink()  # no second download: the cached, verified copy is returned
    assert data.fetch(src.as_uri(), digest, folder=tmp_path / "cache") == got


def test_fetch_replaces_a_corrupt_cached_copy(tmp_path):
    src, digest = _source(tmp_path)
    cached = tmp_path / "cache" / "table.csv"
    cached.parent.mkdir()
    cached.write_bytes(b"truncated")
    assert data.fetch(src.as_uri(), digest, folder=cached.parent).read_bytes() == src.read_bytes()


def test_fetch_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path):
    src, digest = _source(tmp_path)
    wrong = "0" * 64
    with pytest.raises(ValueError, match=f"expected sha256 {wrong}, got {digest}"):
        data.fetch(src.as_uri(), wrong, folder=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DLNOTES_DATA", str(tmp_path / "env-cache"))
    src, digest = _source(tmp_path)
    assert data.fetch(src.as_uri(), digest).parent == tmp_path / "env-cache"


@pytest.mark.parametrize("bad, err", [("abc", ValueError), ("g" * 64, ValueError),
                                      ("0" * 65, ValueError), (123, TypeError),
                                      (b"0" * 64, TypeError), (None, TypeError)])
def test_fetch_rejects_a_malformed_checksum(tmp_path, bad, err):
    with pytest.raises(err, match="sha256 must be .*64 hexadecimal characters"):
        data.fetch("file:///nowhere/table.csv", bad, folder=tmp_path)


def test_fetch_accepts_an_upper_case_checksum_and_a_chosen_name(tmp_path):
    src, digest = _source(tmp_path)
    got = data.fetch(src.as_uri(), digest.upper(), filename="t.csv", folder=str(tmp_path / "c"))
    assert got == tmp_path / "c" / "t.csv" and got.read_bytes() == src.read_bytes()


def test_fetch_needs_a_file_name(tmp_path):
    with pytest.raises(ValueError, match="cannot name the file"):
        data.fetch("file:///", "0" * 64, folder=tmp_path)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(url=3), TypeError, r"url must be a str, got int"),
    (dict(url="ftp://host/t.csv"), ValueError, r"url must start with one of http://, https://, "
                                               r"file://, got 'ftp://host/t.csv'"),
    (dict(url="table.csv"), ValueError, r"url must start with one of"),
    (dict(url="file:///a/.."), ValueError,
     r"the file name taken from url must be a plain file name.*got '\.\.'"),
    (dict(filename="../escape.csv"), ValueError, r"filename must be a plain file name"),
    (dict(filename="sub/t.csv"), ValueError, r"filename must be a plain file name"),
    (dict(filename="..\\t.csv"), ValueError, r"filename must be a plain file name"),
    (dict(filename=".."), ValueError, r"filename must be a plain file name"),
    (dict(filename=""), ValueError, r"filename must be a plain file name.*got ''"),
    (dict(filename=5), TypeError, r"filename must be a str or None, got int"),
    (dict(folder=5), TypeError, r"folder must be a str, a pathlib.Path or None, got int"),
    (dict(folder=b"/tmp"), TypeError, r"folder must be a str, a pathlib.Path or None, got bytes"),
    (dict(folder=" "), ValueError, r"folder must name a folder, got ' '"),
])
def test_fetch_bad_arguments_touch_nothing(tmp_path, kwargs, err, match):
    args = dict(url="file:///nowhere/table.csv", sha256="0" * 64, folder=tmp_path / "cache")
    args.update(kwargs)
    with pytest.raises(err, match=match):
        data.fetch(args.pop("url"), args.pop("sha256"), **args)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "escape.csv").exists()


def test_fetch_refuses_to_replace_a_folder(tmp_path):
    src, digest = _source(tmp_path)
    (tmp_path / "cache" / "table.csv").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"exists and is not a file"):
        data.fetch(src.as_uri(), digest, folder=tmp_path / "cache")


def test_fetch_failed_download_says_so_and_stores_nothing(tmp_path):
    missing = (tmp_path / "missing.csv").as_uri()
    with pytest.raises(OSError) as info:
        data.fetch(missing, "0" * 64, folder=tmp_path / "cache")
    assert any("could not download" in note for note in info.value.__notes__)
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DLNOTES_DATA", "  ")
    assert data.cache_dir() == data.Path.home() / ".cache" / "dlnotes"
    monkeypatch.setenv("DLNOTES_DATA", "~/dl-data")
    assert data.cache_dir() == data.Path.home() / "dl-data"
    monkeypatch.setenv("DLNOTES_DATA", str(tmp_path))
    assert data.cache_dir() == tmp_path
    monkeypatch.delenv("DLNOTES_DATA")
    assert data.cache_dir() == data.Path.home() / ".cache" / "dlnotes"
