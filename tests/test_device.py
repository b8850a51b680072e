import os
import random
import re
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import device as dev


def test_default_is_best_available(monkeypatch):
    monkeypatch.delenv(dev.ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if dev._available("mps") else "cpu")
    assert dev.device().type == expected


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_a_blank_env_var_means_unset(monkeypatch, blank):
    monkeypatch.delenv(dev.ENV_VAR, raising=False)
    expected = dev.device()
    monkeypatch.setenv(dev.ENV_VAR, blank)
    assert dev.device() == expected


@pytest.mark.parametrize("text", ["cpu", "CPU", " cpu ", "Cpu:0", "cpu:0", "\tcpu:0\n"])
def test_env_var_overrides_in_any_case_with_an_optional_index(monkeypatch, text):
    monkeypatch.setenv(dev.ENV_VAR, text)
    assert dev.device() == torch.device(text.strip().lower())
    assert dev.device(text) == torch.device(text.strip().lower())


def test_argument_beats_env(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "nonsense")
    assert dev.device("cpu") == torch.device("cpu")


def test_unknown_device_names_choices(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "tpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu'.*DLNOTES_DEVICE.*cpu, cuda, mps"):
        dev.device()


@pytest.mark.parametrize("text", ["cpu:x", "cpu:", "cpu:-1", "cpu:1.0", "cuda:0:1", "cp u",
                                  ":0", "cpu : 0", "cuda:٣", "cpu:00", "cuda:+1"])
def test_malformed_choices_name_their_source(monkeypatch, text):
    monkeypatch.setenv(dev.ENV_VAR, text)
    with pytest.raises(ValueError, match=rf"cannot read device {re.escape(repr(text))} \(from "
                                         rf"\$DLNOTES_DEVICE\); expected 'kind' or 'kind:index'"):
        dev.device()
    with pytest.raises(ValueError, match=r"\(from the argument name\); expected 'kind'"):
        dev.device(text)


@pytest.mark.parametrize("text", ["cpu:1", "mps:0" if dev._available("mps") else "cpu:7",
                                  "cpu:" + "9" * 5000])
def test_an_index_this_machine_lacks_is_a_clear_error(text):
    with pytest.raises(RuntimeError, match=r"\(from the argument name\): index \d+(\.\.\.)? is "
                                           r"out of range; this machine has 1 "):
        dev.device(text)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_device_is_a_clear_error(monkeypatch):
    with pytest.raises(RuntimeError, match=r"'cuda' \(from the argument name\) is not available"
                                           r".*cpu"):
        dev.device("cuda")
    monkeypatch.setenv(dev.ENV_VAR, "cuda:0")
    with pytest.raises(RuntimeError, match=r"'cuda:0' \(from \$DLNOTES_DEVICE\) is not avail"):
        dev.device()


@pytest.mark.parametrize("bad, err, match", [
    (0, TypeError, r"name must be a str such as 'cpu' or 'cuda:0', or None, got int 0"),
    (torch.device("cpu"), TypeError, r"name must be a str.*got device"),
    ("", ValueError, r"name must not be empty, got ''; pass None"),
    ("  ", ValueError, r"name must not be empty"),
])
def test_bad_name_argument(bad, err, match):
    with pytest.raises(err, match=match):
        dev.device(bad)


_GRAMMAR = re.compile(r"\s*([a-z]+)(?::(0|[1-9][0-9]*))?\s*")
_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=12),
    st.from_regex(r"\A\s?(cpu|CPU|Cuda|cuda|mps|tpu|gpu|cpu0)(:[0-9x\-]{0,3})?\s?\Z"),
)


@given(text=_TEXT, from_env=st.booleans())
def test_any_string_gives_a_device_or_our_error_naming_its_source(text, from_env):
    """Never a raw torch error: a device equal to torch's reading of a well-formed choice, or
    ValueError/RuntimeError of ours that names where the choice came from."""
    env = {dev.ENV_VAR: text} if from_env else {}
    with mock.patch.dict(os.environ, env, clear=False):
        if not from_env:
            os.environ.pop(dev.ENV_VAR, None)
        try:
            got = dev.device(None if from_env else text)
        except (ValueError, RuntimeError) as err:
            source = "$DLNOTES_DEVICE" if from_env else "the argument name"
            assert source in str(err) or (not from_env and "name must not be empty" in str(err))
            assert type(err) in (ValueError, RuntimeError)
            return
    assert isinstance(got, torch.device)
    match = _GRAMMAR.fullmatch(text.lower())
    if from_env and not text.strip():
        return  # blank env var: the automatic choice
    assert match is not None and match.group(1) in ("cpu", "cuda", "mps")
    assert got == torch.device(text.strip().lower())


@pytest.mark.cuda
def test_cuda_device_computes():
    d = dev.device("cuda")
    x = torch.arange(4.0, device=d)
    assert x.device.type == "cuda" and float((x @ x).cpu()) == 14.0


@pytest.mark.cuda
def test_cuda_index_is_checked_against_the_device_count():
    count = torch.cuda.device_count()
    assert dev.device(f"cuda:{count - 1}") == torch.device("cuda", count - 1)
    with pytest.raises(RuntimeError, match=rf"index {count} is out of range; this machine has "
                                           rf"{count} cuda device"):
        dev.device(f"CUDA:{count}")


def _draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_makes_all_generators_repeat():
    rng = dev.seed(123)
    a = (*_draws(), rng.random())
    rng = dev.seed(123)
    b = (*_draws(), rng.random())
    assert a == b
    dev.seed(124)
    assert np.random.rand() != a[1]


@given(n=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 2**32 - 1, 2**32, 2**63,
                                                                2**64 - 1])))
def test_seed_covers_torchs_whole_range_and_maps_as_documented(n):
    """Independent reference: each library seeded by hand as the docstring says."""
    gen = dev.seed(n)
    got = (*_draws(), gen.random())
    random.seed(n)
    np.random.seed(n % 2**32)
    torch.manual_seed(n)
    assert got == (*_draws(), np.random.default_rng(n).random())


def _states():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()


@pytest.mark.parametrize("bad, err, match", [
    (-1, ValueError, r"seed n must be >= 0, got -1"),
    (2**64, ValueError, r"seed n must be <= 18446744073709551615, got 18446744073709551616"),
    (10**30, ValueError, r"seed n must be <= 18446744073709551615"),
    (1.5, TypeError, r"seed n must be an int, got float"),
    (True, TypeError, r"seed n must be an int, got bool"),
    ("1", TypeError, r"seed n must be an int, got str"),
    (None, TypeError, r"seed n must be an int, got NoneType"),
])
def test_seed_rejects_bad_input_and_then_seeds_nothing(bad, err, match):
    dev.seed(7)
    before = _states()
    with pytest.raises(err, match=match):
        dev.seed(bad)
    after = _states()
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    assert torch.equal(before[2], after[2])


def test_seed_accepts_numpy_ints_and_0d_arrays():
    assert dev.seed(np.uint64(2**64 - 1)).random() == np.random.default_rng(2**64 - 1).random()
    assert dev.seed(np.array(5)).random() == dev.seed(torch.tensor(5)).random()


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", False),
                                             ("yes", True), (" TRUE ", True), ("No", False)])
def test_fast_mode(monkeypatch, value, expected):
    monkeypatch.setenv(dev.FAST_VAR, value)
    assert dev.fast_mode() is expected


def test_fast_mode_unset_is_off(monkeypatch):
    monkeypatch.delenv(dev.FAST_VAR, raising=False)
    assert dev.fast_mode() is False


@pytest.mark.parametrize("value", ["maybe", "2", "on"])
def test_fast_mode_rejects_nonsense(monkeypatch, value):
    monkeypatch.setenv(dev.FAST_VAR, value)
    with pytest.raises(ValueError, match=rf"DLNOTES_FAST must be 0 or 1, got '{value}'"):
        dev.fast_mode()
