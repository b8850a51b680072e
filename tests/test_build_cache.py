"""The book's execution cache is keyed on the dlnotes package, not only on cell code.

Builds a one-page book twice against a temporary copy of the package: a page
whose cells are unchanged must re-execute when a helper's return value
changes, and must come from the cache when nothing changed.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tools import FRONT_MATTER, build_small_book, small_book

ROOT = Path(__file__).resolve().parents[1]

PAGE = FRONT_MATTER + """\

# Probe

```{code-cell} ipython3
import time
from dlnotes import _probe
print("value:", _probe.value())
print("executed at:", time.time_ns())
```
"""


def _write_probe(pkg: Path, value: str) -> None:
    (pkg / "_probe.py").write_text(f"def value():\n    return {value!r}\n")


def _build(book: Path, src: Path):
    html = build_small_book(book, env=dict(os.environ, PYTHONPATH=str(src)))
    value = re.search(r"value: (\S+)", html).group(1)
    stamp = re.search(r"executed at: (\d+)", html).group(1)
    return value, stamp


@pytest.mark.slow
def test_changing_the_package_reexecutes_unchanged_pages(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "dlnotes", src / "dlnotes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _write_probe(src / "dlnotes", "one")

    book = small_book(tmp_path / "book", PAGE)

    value1, stamp1 = _build(book, src)
    assert value1 == "one"

    value2, stamp2 = _build(book, src)          # nothing changed: served from the cache
    assert (value2, stamp2) == (value1, stamp1)

    _write_probe(src / "dlnotes", "two")        # the page's code is unchanged
    value3, stamp3 = _build(book, src)
    assert value3 == "two" and stamp3 != stamp1
