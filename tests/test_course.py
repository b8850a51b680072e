"""`make course`: the course edition has every exercise and no solution; the full site
keeps its solutions."""

import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from tools import FRONT_MATTER, SAMPLE, build_small_book, require, small_book

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "_build" / "course"
CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))



@pytest.mark.slow
@pytest.mark.parametrize("edition", ["full", "course"])
def test_course_edition_drops_every_solution_of_a_small_book(tmp_path, edition):
    book = small_book(tmp_path / edition, SAMPLE)
    html = build_small_book(book, env=dict(os.environ, DLNOTES_EDITION=edition))
    text = BeautifulSoup(html, "html.parser").get_text()
    assert "What is 1 + 1?" in text and "Print a square." in text
    assert "Text after the solutions stays." in text
    secrets = ("SECRET-ONE", "SECRET-TWO", "SECRET-THREE")
    if edition == "full":
        assert all(s in text for s in secrets)
        return
    assert not any(s in text for s in secrets)
    site = book / "_build" / "html"
    leaked = [p for p in site.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".md", ".txt",
                                                                           ".html", ".js")
              and any(s in p.read_text(errors="ignore") for s in secrets)]
    assert not leaked, f"solutions leaked into {leaked}"
    student = nbformat.read(site / "_sources" / "page.ipynb", 4)
    source = "".join(c.source for c in student.cells)
    assert "**Exercise 1 (Add).**" in source and "{exercise}" not in source


def test_unknown_edition_is_refused(tmp_path):
    book = small_book(tmp_path, FRONT_MATTER + "\n# Page\n")
    import sys

    jb = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jb), "build", str(book)], capture_output=True, text=True,
                          env=dict(os.environ, DLNOTES_EDITION="teacher"), timeout=600)
    assert done.returncode != 0 and "DLNOTES_EDITION must be one of full, course" in (
        done.stdout + done.stderr)


@pytest.fixture(scope="module")
def course(build):
    """`make course` after the full build (it reuses the execution cache)."""
    assert build.returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run(["make", "course"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=3600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done


def _page(site: Path, stem: str) -> BeautifulSoup:
    return BeautifulSoup((site / "book" / f"{stem}.html").read_text(), "html.parser")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_course_site_has_every_exercise_and_no_solution(course, chapter):
    full = _page(ROOT / "_build" / "html", chapter.stem)
    course_page = _page(COURSE / "html", chapter.stem)
    exercises = full.select(".exercise")
    assert len(exercises) >= 4 and full.select(".solution"), "the full site keeps its solutions"
    assert len(course_page.select(".exercise")) == len(exercises)
    assert not course_page.select(".solution")
    student = nbformat.read(COURSE / "html" / "_sources" / "book" / f"{chapter.stem}.ipynb", 4)
    source = "\n".join(c.source for c in student.cells)
    assert source.count("**Exercise ") == len(exercises)
    assert "{solution" not in source and "Solution to" not in source
    assert not (COURSE / "html" / "_sources" / "book" / f"{chapter.stem}.md").exists()


@pytest.mark.slow
def test_course_pdf_has_exercises_and_no_solutions(course):
    require("xelatex", "latexmk", "xindy", "pdftotext")
    pdf = COURSE / "dlnotes-course.pdf"
    assert pdf.is_file(), course.stdout[-2000:]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Exercise" in text
    assert "Solutions to the exercises" not in text and "Solution to" not in text
