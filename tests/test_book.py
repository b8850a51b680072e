"""The book: it builds with no warning, every chapter executes, and runs repeat.

One session-wide build (``build`` in conftest.py, the command of ``make book``)
serves every test here; with an unchanged package and cells it comes from the cache.
"""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))
PAGES = ["intro", "preface", "notation", "bibliography", "build-status"] + [c.stem for c in CHAPTERS]
ids = [c.stem for c in CHAPTERS]

pytestmark = pytest.mark.slow


def _html(stem: str) -> BeautifulSoup:
    return BeautifulSoup((BUILD / "html" / "book" / f"{stem}.html").read_text(), "html.parser")


def test_book_builds_with_no_warning_and_no_cell_error(build):
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    # -W already turns Sphinx warnings into a failure; this names them if one slips by.
    assert not re.findall(r".*WARNING: .*", log) and "build succeeded" in log


@pytest.mark.parametrize("stem", PAGES)
def test_every_page_is_in_the_site(build, stem):
    assert (BUILD / "html" / "book" / f"{stem}.html").is_file()


def test_chapters_follow_the_syllabus_slugs():
    syllabus = ROOT.parent / "shared" / "syllabus"
    if not syllabus.is_dir():
        pytest.skip(f"no syllabus beside the checkout ({syllabus})")
    slugs = {p.stem for p in syllabus.glob("[0-9][0-9]-*.md")}
    assert ids and set(ids) <= slugs, f"chapter files {ids} must use syllabus slugs {sorted(slugs)}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_every_code_cell_ran_without_error(build, chapter):
    nb = nbformat.read(BUILD / "jupyter_execute" / "book" / f"{chapter.stem}.ipynb", 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter without code cells"
    assert all(c.execution_count for c in code), "cells that never ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_chapter_page_shows_figures_and_typeset_math(build, chapter):
    page = _html(chapter.stem)
    images = [img["src"] for img in page.select("div.cell_output img")]
    assert images, "no figure in the executed outputs"
    for src in images:
        assert (BUILD / "html" / "book" / src).resolve().is_file(), src
    assert page.select("div.math"), "no display math"
    scripts = [s.get("src", "") for s in page.find_all("script")]
    assert any(s.split("?")[0].endswith("_static/mathjax/tex-chtml.js") for s in scripts), scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts
    assert (BUILD / "html" / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert "IntSlider(" not in page.text and "FloatSlider(" not in page.text


@pytest.mark.parametrize("stem", PAGES)
def test_every_page_carries_a_reproducibility_stamp(build, stem):
    stamp = _html(stem).select_one("p.dlnotes-stamp").text
    for part in ("dlnotes 0.", "torch 2.", "numpy 2.", "device ", "fast mode ", "built 20"):
        assert part in stamp, stamp
    assert ("executed with" in stamp) == stem[:2].isdigit(), stamp


def test_build_status_lists_every_chapter(build):
    rows = _html("build-status").select("table tr")
    text = " ".join(r.text for r in rows)
    for chapter in CHAPTERS:
        assert f"book/{chapter.stem}" in text, text


def _cached_execution(chapter: Path):
    """The build's own execution of a chapter, as jupyter-cache stored it (with the
    glue records that the rendered copies in _build/jupyter_execute leave out)."""
    from jupyter_cache import get_cache

    for folder in (BUILD / ".jupyter_cache").glob("pkg-*"):
        cache = get_cache(folder)
        records = [r for r in cache.list_cache_records() if Path(r.uri) == chapter.resolve()]
        if records:  # an edited chapter leaves its older executions in the cache too
            return cache.get_cache_bundle(max(records, key=lambda r: r.created).pk).nb
    raise AssertionError(f"no cached execution of {chapter.name}")


def _comparable(nb, chapter: Path):
    """Per code cell: everything it printed, in order, and the set of things it
    displayed. Cells tagged `timing` in the chapter's source are left out (the
    cache keeps the tags of the run that filled it). The build merges a cell's
    streams into one output (nb_merge_streams), so the order of streams among
    displays is not compared."""
    source = [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    cells = [c for c in nb.cells if c.cell_type == "code"
             and "dlnotes-setup" not in c.metadata.get("tags", [])]  # only in downloads
    assert len(source) == len(cells), "the notebook does not match the chapter's source"
    out = []
    for src, cell in zip(source, cells):
        if "timing" in src.metadata.get("tags", []):
            continue
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        shown = sorted(tuple(sorted((k, str(v)) for k, v in o.data.items()
                                    if not k.startswith("application/vnd.jupyter")))
                       for o in cell.outputs
                       if o.output_type in ("display_data", "execute_result"))
        out.append((printed, shown))
    return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_page_offers_its_notebook_for_download(build, chapter):
    page = _html(chapter.stem)
    links = [a["href"] for a in page.select("a[href$='.ipynb']")]
    assert f"../_sources/book/{chapter.stem}.ipynb" in links, links
    nb = nbformat.read(BUILD / "html" / "_sources" / "book" / f"{chapter.stem}.ipynb", 4)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_downloaded_notebook_runs_again_with_the_same_numbers(build, chapter, monkeypatch):
    """Run the .ipynb a reader downloads from the page, outputs cleared, in a fresh
    kernel, and compare every printed number and drawn figure with the book build."""
    monkeypatch.setenv("DLNOTES_WIDGETS", "static")
    fresh = nbformat.read(BUILD / "html" / "_sources" / "book" / f"{chapter.stem}.ipynb", 4)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(fresh, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(chapter.parent)}}).execute()
    first = _comparable(_cached_execution(chapter), chapter)
    second = _comparable(fresh, chapter)
    assert len(first) == len(second)
    for i, (a, b) in enumerate(zip(first, second)):
        assert a == b, f"code cell {i} printed something different on a second run"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=ids)
def test_every_image_has_a_meaningful_alt_text(build, chapter):
    images = _html(chapter.stem).find_all("img")
    assert images
    for img in images:
        alt = img.get("alt", "")
        assert alt and not alt.endswith(".png") and "_images/" not in alt, img
    captioned = [img for img in images if img.find_parent("figure")]
    assert all(img["alt"] != "Figure drawn by the code cell above" for img in captioned)


def test_front_page_offers_every_chapter_notebook_and_the_pdf_when_built(build):
    page = _html("intro")
    links = {a.get_text(): a["href"] for a in page.select("#downloads a")}
    for chapter in CHAPTERS:
        href = next(h for h in links.values() if h.endswith(f"{chapter.stem}.ipynb"))
        assert (BUILD / "html" / "book" / href).resolve().is_file(), href
    pdf_link = [h for h in links.values() if h.endswith("dlnotes.pdf")]
    assert bool(pdf_link) == (BUILD / "html" / "dlnotes.pdf").is_file()
    if pdf_link:
        assert (BUILD / "html" / "book" / pdf_link[0]).resolve().is_file()
