"""Helpers for tests that need programs from Debian packages (TeX, poppler, Chromium)."""

import os
import shutil

import pytest


def require(*programs: str) -> None:
    """Skip when a program is missing; in CI (CI=true) a missing program is a failure,
    so that CI can never pass by skipping the PDF or browser tests."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    message = f"missing {', '.join(missing)}: run `make system-deps` (Debian, as root)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
