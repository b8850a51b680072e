"""Tests of dlnotes.data: synthetic sets, standardisation, digits."""

import numpy as np
import pytest

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


def test_standardize_bad_input():
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] are constant"):
        data.standardize(np.array([[1.0, 2.0], [3.0, 2.0]]))
    with pytest.raises(ValueError, match=r"others must have shape \(n,\) \+ \(2,\).*got \(3,\)"):
        data.standardize(np.ones((3, 2)) * np.arange(3)[:, None], np.ones(3))
    with pytest.raises(ValueError, match=r"x_train must be finite, got 1 NaN"):
        data.standardize(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match=r"N >= 2, got shape \(1,\)"):
        data.standardize(np.array([1.0]))


def test_generators_bad_input():
    with pytest.raises(ValueError, match=r"n must be >= 1, got 0"):
        data.rent(0)
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -1"):
        data.polynomial(5, noise=-1.0)
    with pytest.raises(ValueError, match=r"coefficients must be a non-empty"):
        data.polynomial(5, coefficients=[])


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


@pytest.mark.parametrize("bad", ["abc", "g" * 64, 123])
def test_fetch_rejects_a_malformed_checksum(tmp_path, bad):
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal characters"):
        data.fetch("file:///nowhere/table.csv", bad, folder=tmp_path)


def test_fetch_needs_a_file_name(tmp_path):
    with pytest.raises(ValueError, match="cannot name the file"):
        data.fetch("file:///", "0" * 64, folder=tmp_path)
