"""Helpers shared by the tests: a sample page, small books, refusals, Debian programs."""

import os
import shutil

import pytest

#: The jupytext front matter that makes a MyST Markdown file an executable notebook.
FRONT_MATTER = """\
---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""


#: A page with two exercises, a {solution} and a gated solution that runs code; every
#: solution holds a SECRET that no edition without solutions may show.
SAMPLE = FRONT_MATTER + """\

# Sample

```{exercise} Add
:label: ex-add
What is 1 + 1?
```

```{solution} ex-add
:class: dropdown
The answer is two, SECRET-ONE.
```

````{exercise} Code
:label: ex-code
Print a square.
````

```{solution-start} ex-code
:class: dropdown
```
Run this, SECRET-TWO:

```{code-cell} ipython3
print("SECRET-THREE", 3 ** 2)
```

```{solution-end}
```

Text after the solutions stays.
"""


def assert_refused(fn, kwargs, error, match, lazy):
    """``fn(**kwargs)`` raises ``error`` matching ``match``; values that are ``lazy``
    (a factory such as a fresh-axes maker) are called first. Figures are closed after."""
    import matplotlib.pyplot as plt

    kwargs = {k: (v() if v is lazy else v) for k, v in kwargs.items()}
    try:
        with pytest.raises(error, match=match):
            fn(**kwargs)
    finally:
        plt.close("all")


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


def small_book(folder, page: str, **config_changes):
    """A one-page book in ``folder`` with the project's _config.yml (site-only
    settings removed), ``page.md`` holding ``page``; returns the folder."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    book = Path(folder)
    book.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = "probe"
    config["sphinx"]["local_extensions"] = {"dlnotes_build": str(root / "book" / "_ext")}
    for site_only in ("html_static_path", "html_favicon", "html_css_files", "html_extra_path"):
        config["sphinx"]["config"].pop(site_only, None)
    shutil.copy(root / "book" / "references.bib", book / "references.bib")
    config["bibtex_bibfiles"] = ["references.bib"]
    for key, value in config_changes.items():
        config[key] = value
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(page)
    return book


def build_small_book(book, env=None) -> str:
    """Build it with warnings as errors; return the page's HTML."""
    import subprocess
    import sys
    from pathlib import Path

    jb = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jb), "build", str(book), "-n", "-W", "--keep-going"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return (Path(book) / "_build" / "html" / "page.html").read_text()


# --- self-checking labs ----------------------------------------------------------------

SEEDS = [0, 1, 7, 2024, None]  # fixed seeds, and None for fresh cases


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Lab checks print and return (the student-notebook behaviour) unless a test says
    otherwise. Autouse in every test module that imports it."""
    monkeypatch.delenv("DLNOTES_LABS", raising=False)


def stub(*args):
    """A lab's stub as the reader first sees it."""
    raise NotImplementedError


# --- explorers ---------------------------------------------------------------------------


def new_ax():
    """A fresh Axes on a new figure (the figure is closed by the static/live fixtures)."""
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def live_controls(panel):
    """A live explorer's controls by their description."""
    return {c.description: c for c in panel.children if getattr(c, "description", "")}


def shown_after(panel, monkeypatch, **changes):
    """Set controls of a live panel, redraw, and return the figure the panel showed."""
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    controls = live_controls(panel)
    for name, value in changes.items():
        controls[name].value = value
    panel.update()
    return shown[-1]


def visible_panels(fig):
    """The Axes of a figure that are drawn (small multiples hide their unused cells)."""
    return [ax for ax in fig.axes if ax.get_visible()]


# --- threads ------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread each for torch and BLAS. Thread hand-offs cost more than the
    arithmetic, and many times more on a busy machine. Autouse where it is imported."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


def assert_mistakes_are_wrong(outs, cases):
    """Each catalogued formula of the lab outputs ``outs`` is wrong on some case (else the
    lab could never name it). ``cases``: the lab's cases; one output means a bare expected
    array, several a tuple."""
    import numpy as np

    for i, out in enumerate(outs):
        for mistake in out.mistakes:
            diffs = []
            for case in cases:
                want = case.expected if len(outs) == 1 else case.expected[i]
                with np.errstate(all="ignore"):
                    try:
                        cand = np.asarray(mistake.formula(*case.args.values()), dtype=float)
                    except ValueError:  # a shape error: wrong on this case
                        diffs.append(True)
                        continue
                diffs.append(cand.shape != want.shape or not np.all(np.isfinite(cand))
                             or np.max(np.abs(cand - want)) > 1e-6 * np.max(np.abs(want)))
            assert any(diffs), mistake.message
