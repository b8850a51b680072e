"""Sphinx extension that keeps the book build honest about the dlnotes package.

Jupyter Book's execution cache hashes a chapter's code cells only, so editing
``src/dlnotes`` would leave every chapter showing outputs of the old package.
This extension hashes the installed package and

* puts the execution cache in a subfolder named by that hash, so a changed
  package finds an empty cache and every chapter runs again;
* records the hash as a config value that forces Sphinx to re-read every page
  when it changes (unchanged pages are otherwise not re-read at all);
* tells the kernels to draw widgets in their static form (``DLNOTES_WIDGETS``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config


def package_hash(package: str = "dlnotes") -> str:
    """SHA-256 over the relative paths and bytes of the package's .py files."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not importable; run `make venv` first")
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _key_cache(app: Sphinx, config: Config) -> None:
    key = package_hash()[:16]
    config.dlnotes_package_hash = key
    base = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    for stale in base.glob("pkg-*"):
        if stale.name != f"pkg-{key}":
            shutil.rmtree(stale, ignore_errors=True)
    config.nb_execution_cache_path = str(base / f"pkg-{key}")
    os.environ["DLNOTES_WIDGETS"] = "static"


def setup(app: Sphinx):
    app.add_config_value("dlnotes_package_hash", "", "env")
    # Before myst-nb reads nb_execution_cache_path at builder-inited.
    app.connect("config-inited", _key_cache, priority=100)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
