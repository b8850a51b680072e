import numpy as np
import pytest
import torch

from dlnotes import device as dev


def test_default_is_best_available(monkeypatch):
    monkeypatch.delenv(dev.ENV_VAR, raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if dev._available("mps") else "cpu")
    assert dev.device().type == expected


def test_env_var_overrides(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "cpu")
    assert dev.device() == torch.device("cpu")


def test_argument_beats_env(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "nonsense")
    assert dev.device("cpu") == torch.device("cpu")


def test_unknown_device_names_choices(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "tpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu'.*DLNOTES_DEVICE.*cpu, cuda, mps"):
        dev.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_device_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"'cuda' \(from argument\) is not available.*cpu"):
        dev.device("cuda")


def test_non_string_name():
    with pytest.raises(TypeError, match="must be a str, got int"):
        dev.device(0)


@pytest.mark.cuda
def test_cuda_device_computes():
    d = dev.device("cuda")
    x = torch.arange(4.0, device=d)
    assert x.device.type == "cuda" and float((x @ x).cpu()) == 14.0


def test_seed_makes_all_generators_repeat():
    rng = dev.seed(123)
    a = (np.random.rand(), torch.rand(1).item(), rng.random())
    rng = dev.seed(123)
    b = (np.random.rand(), torch.rand(1).item(), rng.random())
    assert a == b
    dev.seed(124)
    assert np.random.rand() != a[0]


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_seed_rejects_bad_input(bad, err):
    with pytest.raises(err, match="seed must be"):
        dev.seed(bad)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", False),
                                             ("yes", True)])
def test_fast_mode(monkeypatch, value, expected):
    monkeypatch.setenv(dev.FAST_VAR, value)
    assert dev.fast_mode() is expected


def test_fast_mode_rejects_nonsense(monkeypatch):
    monkeypatch.setenv(dev.FAST_VAR, "maybe")
    with pytest.raises(ValueError, match="must be 0 or 1, got 'maybe'"):
        dev.fast_mode()
