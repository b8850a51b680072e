"""Shared fixtures: fixed seeds, and skipping of CUDA tests where there is no GPU."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the test process draws off screen; kernels choose their own
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests draw the same examples on every run (derandomize), so CI cannot flake;
# DLNOTES_HYPOTHESIS=explore draws fresh ones for a longer hunt.
settings.register_profile("dlnotes", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("explore" if os.environ.get("DLNOTES_HYPOTHESIS") == "explore"
                      else "dlnotes")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def static(monkeypatch):
    """Explorers draw their static small multiples."""
    monkeypatch.setenv("DLNOTES_WIDGETS", "static")
    yield
    plt.close("all")


@pytest.fixture
def live(monkeypatch):
    """Explorers build live ipywidgets."""
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("DLNOTES_WIDGETS", "live")
    yield
    plt.close("all")


@pytest.fixture(params=["static", "live"])
def either(request):
    """Each explorer test twice: with static small multiples and with live widgets."""
    request.getfixturevalue(request.param)
    return request.param


@pytest.fixture
def quiet():
    """Any warning is an error: nothing drawn should overflow or divide by zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def build():
    """Build the website once per test session, exactly as `make book` does."""
    jb = Path(sys.executable).with_name("jupyter-book")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    return subprocess.run([str(jb), "build", str(ROOT), "-n", "-W", "--keep-going"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
