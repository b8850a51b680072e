"""Shared fixtures: fixed seeds, and skipping of CUDA tests where there is no GPU."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch



def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


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
