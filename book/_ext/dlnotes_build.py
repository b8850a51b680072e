"""Sphinx extension that keeps the book build honest about the dlnotes package.

Jupyter Book's execution cache hashes a chapter's code cells only, so editing
``src/dlnotes`` would leave every chapter showing outputs of the old package.
This extension hashes the installed package (and itself) and

* puts the execution cache in a subfolder named by that hash, so a changed
  package finds an empty cache and every chapter runs again;
* records the hash as a config value that forces Sphinx to re-read every page
  when it changes (unchanged pages are otherwise not re-read at all);
* tells the kernels to draw widgets in their static form (``DLNOTES_WIDGETS``) and
  to fail on a lab whose solution does not pass its check (``DLNOTES_LABS``);
* offers every executed chapter as an ``.ipynb`` download (the theme does this
  only when launch buttons are configured) and stamps each chapter page with
  the versions, device and mode it was built with;
* builds the course edition when ``DLNOTES_EDITION=course``: every exercise and
  no solution, on the pages, in the PDF and in the notebooks it offers;
* starts every offered notebook with the setup cell of ``tools/notebooks.py`` and
  serves the wheel of ``src/dlnotes`` it installs, under ``wheels/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import time
from pathlib import Path

from markupsafe import escape

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


ROOT = Path(__file__).resolve().parents[2]  # the checkout
EDITION_VAR = "DLNOTES_EDITION"
EDITIONS = ("full", "course")


def _edition(app: Sphinx, config: Config) -> None:
    edition = os.environ.get(EDITION_VAR, "full").strip() or "full"
    if edition not in EDITIONS:
        raise ValueError(f"${EDITION_VAR} must be one of {', '.join(EDITIONS)}, got {edition!r}")
    config.dlnotes_edition = edition
    if edition == "course":
        config.html_copy_source = False  # the .md sources hold the solutions
        config.html_show_sourcelink = False


def _key_cache(app: Sphinx, config: Config) -> None:
    # This file shapes the pages and the kernels' environment, and the tools write the
    # notebooks the pages offer, so they are part of the key.
    digest = hashlib.sha256()
    for path in [Path(__file__), *sorted((ROOT / "tools").glob("*.py"))]:
        digest.update(path.read_bytes())
    this = digest.hexdigest()
    key = hashlib.sha256((package_hash() + this).encode()).hexdigest()[:16]
    config.dlnotes_package_hash = key
    # One cache for every builder (HTML, PDF), whatever their output folders.
    base = Path(config.nb_execution_cache_path or Path(app.srcdir) / "_build" / ".jupyter_cache")
    for stale in base.glob("pkg-*"):
        if stale.name != f"pkg-{key}":
            shutil.rmtree(stale, ignore_errors=True)
    config.nb_execution_cache_path = str(base / f"pkg-{key}")
    os.environ["DLNOTES_WIDGETS"] = "static"
    os.environ["DLNOTES_LABS"] = "strict"  # a lab whose solution fails its check fails the build


def _stamp(app: Sphinx) -> str:
    import numpy
    import torch

    import dlnotes
    from dlnotes.device import device, fast_mode

    when = time.strftime("%Y-%m-%d", time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH",
                                                                   time.time()))))
    parts = [f"dlnotes {dlnotes.__version__}", f"torch {torch.__version__}",
             f"numpy {numpy.__version__}", f"device {device()}",
             f"fast mode {'on' if fast_mode() else 'off'}", f"built {when}",
             f"package {app.config.dlnotes_package_hash}"]
    return " · ".join(parts)


def _prune_scripts(app: Sphinx, context) -> None:
    """Drop duplicated scripts, and sphinx-thebe's scripts when thebe is off.

    In this build every page carried sphinx-thebe's inline config twice (it is
    added from an ``env-before-read-docs`` handler), and the repeated ``const``
    is a JavaScript error that the browser tests caught. With thebe off (the
    default here) the scripts serve nothing and name a CDN, so pages drop them.
    """
    launch = app.config.html_theme_options.get("launch_buttons", {}) or {}
    thebe_on = bool(launch.get("thebe"))
    seen, kept = set(), []
    for js in context.get("script_files", []):
        name = str(getattr(js, "filename", js) or "")
        body = (getattr(js, "attributes", None) or {}).get("body", "")
        if not thebe_on and ("thebe" in name or "THEBE_JS_URL" in body):
            continue
        if (name, body) not in seen:
            seen.add((name, body))
            kept.append(js)
    context["script_files"][:] = kept  # in place: later hooks (MathJax) append to it


def _page_context(app: Sphinx, pagename: str, templatename, context, doctree) -> None:
    _prune_scripts(app, context)
    if doctree is None:  # generated pages (search, index)
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if executed.is_file():
        target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_notebook(app, executed, target, pagename)
        context["ipynb_source"] = f"{pagename}.ipynb"
    if pagename == app.config.root_doc:
        context["body"] = context.get("body", "") + _downloads(app, context)
    if not hasattr(app, "_dlnotes_stamp"):
        app._dlnotes_stamp = _stamp(app)
    how = "executed" if executed.is_file() else "built (it runs no code)"
    context["body"] = context.get("body", "") + (
        f'<p class="dlnotes-stamp">Reproducibility: this page was {how} with '
        f"{escape(app._dlnotes_stamp)}.</p>")


def _tools():
    spec = importlib.util.spec_from_file_location("dlnotes_notebooks",
                                                  ROOT / "tools" / "notebooks.py")
    notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebooks)
    return notebooks


def _downloads(app: Sphinx, context) -> str:
    """The front page's list of downloads: every chapter as a notebook and, when
    `make pdf` has built it, the whole book as a PDF."""
    chapters = sorted(d for d in app.env.found_docs if re.fullmatch(r"book/\d\d-[\w-]+", d))
    items = [f'<li><a href="{context["pathto"](f"_sources/{d}.ipynb", 1)}" download>'
             f"{escape(app.env.titles[d].astext())}</a> (notebook)</li>" for d in chapters]
    pdf = ROOT / "_build" / "dlnotes.pdf"
    if pdf.is_file() and app.config.dlnotes_edition == "full":
        shutil.copy2(pdf, Path(app.outdir) / "dlnotes.pdf")
        items.insert(0, f'<li><a href="{context["pathto"]("dlnotes.pdf", 1)}">The whole book '
                        f"as a PDF</a> (course notes, built by <code>make pdf</code>)</li>")
    return ('<section class="dlnotes-downloads" id="downloads"><h2>Downloads</h2>'
            "<p>Each notebook starts with a setup cell that installs the package it needs "
            "when it runs outside this book's repository.</p>"
            f'<ul>{"".join(items)}</ul></section>')


def _write_notebook(app: Sphinx, executed: Path, target: Path, docname: str) -> None:
    """The executed chapter as a reader downloads it: plain Markdown with this build's
    numbers, a setup cell first and, in the course edition, every solution (text, code
    and outputs) removed."""
    import nbformat

    notebooks = _tools()
    if not hasattr(app, "_dlnotes_refs"):
        bibs = [Path(app.srcdir) / b for b in app.config.bibtex_bibfiles]
        app._dlnotes_refs = notebooks.plain_markdown.references(app.env, app.env.get_doctree,
                                                                bibs)
    edition = "student" if app.config.dlnotes_edition == "course" else "full"
    nbformat.write(notebooks.reader_notebook(executed, edition, app._dlnotes_refs, docname),
                   target)


def _build_wheel(app: Sphinx, exception) -> None:
    """Serve the wheel of the package the pages were built with, for the setup cells."""
    if exception is not None or app.builder.format != "html":
        return
    import subprocess
    import sys

    import tempfile

    folder = Path(app.outdir) / "wheels"
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:  # a clean copy: no stale build/ in the checkout
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, tmp)
        shutil.copytree(ROOT / "src", Path(tmp) / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        # No build isolation, so nothing is downloaded; setuptools is pinned in requirements.
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--wheel-dir", str(folder), tmp], check=True)


def _remove_solutions(app: Sphinx, doctree, docname: str) -> None:
    """Course edition: drop every solution, the gated ones (which hold code cells
    and their outputs, merged into one node by sphinx-exercise) included."""
    if app.config.dlnotes_edition != "course":
        return
    from sphinx_exercise.nodes import solution_node

    for node in list(doctree.findall(solution_node)):
        if node.parent is not None:
            node.parent.remove(node)


def _alt_text(app: Sphinx, doctree, docname: str) -> None:
    """Give every image an alt text a screen reader can use: its figure's caption, or
    a plain description, instead of the file path that myst-nb leaves there."""
    from docutils import nodes

    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if alt and not alt.endswith((".png", ".svg", ".jpg")) and alt != image.get("uri"):
            continue
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        caption = next(iter(figure.findall(nodes.caption)), None) if figure is not None else None
        image["alt"] = (" ".join(caption.astext().split()) if caption is not None
                        else "Figure drawn by the code cell above")


_MATTER = {
    "frontmatter": "\\frontmatter\\setcounter{secnumdepth}{-1}\n",
    "mainmatter": "\\mainmatter\\setcounter{secnumdepth}{2}\n",
    "backmatter": "\\backmatter\n",
}


def _latex_pdf_layout(app: Sphinx, doctree, docname: str) -> None:
    """Shape the single LaTeX doctree into course notes.

    Front matter (preface, notation) and back matter (build status) are
    unnumbered, so the numbered chapters start at 1; the bibliography page is
    dropped because LaTeX prints the list of references at the end anyway; and
    each chapter's solutions move from under their exercises to a section at the
    end of the chapter, so a reader is not shown them while reading.
    """
    if app.builder.format != "latex":
        return
    from docutils import nodes
    from sphinx import addnodes
    from sphinx_exercise.nodes import solution_node

    seen = set()
    for start in list(doctree.findall(addnodes.start_of_file)):
        name = start["docname"].rsplit("/", 1)[-1]
        if name == "bibliography":
            start.parent.remove(start)
            continue
        kind = ("mainmatter" if name[:2].isdigit() else
                "backmatter" if name == "build-status" else "frontmatter")
        if kind not in seen:
            seen.add(kind)
            start.parent.insert(start.parent.index(start),
                                nodes.raw("", _MATTER[kind], format="latex"))
        _move_solutions(start, nodes, solution_node)


def _move_solutions(start, nodes, solution_node) -> None:
    chapter = start.next_node(nodes.section)
    solutions = [n for n in start.findall(solution_node)
                 if n.parent is not None and n.parent.__class__ is not solution_node]
    if chapter is None or not solutions:
        return
    section = nodes.section(ids=[f"{start['docname'].replace('/', '-')}-solutions"])
    section += nodes.title("", "Solutions to the exercises")
    for node in solutions:
        node.parent.remove(node)
        section += node
    chapter += section


def setup(app: Sphinx):
    app.add_config_value("dlnotes_package_hash", "", "env")
    app.add_config_value("dlnotes_edition", "full", "env")
    app.connect("config-inited", _edition, priority=90)
    # Before myst-nb reads nb_execution_cache_path at builder-inited.
    app.connect("config-inited", _key_cache, priority=100)
    # Before the theme's header buttons (priority 500) read ipynb_source.
    app.connect("html-page-context", _page_context, priority=400)
    app.connect("doctree-resolved", _remove_solutions, priority=100)
    app.connect("doctree-resolved", _alt_text)
    app.connect("doctree-resolved", _latex_pdf_layout, priority=600)
    app.connect("build-finished", _build_wheel)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
