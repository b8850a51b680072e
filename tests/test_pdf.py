"""`make pdf`: the course notes as a PDF, checked from its extracted text and LaTeX log."""

import re
import subprocess
from pathlib import Path

import pytest

from tools import require

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))
LATEX = ROOT / "_build" / "pdf" / "_build" / "latex"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pdf():
    require("xelatex", "latexmk", "xindy", "pdftotext")
    done = subprocess.run(["make", "pdf"], cwd=ROOT, capture_output=True, text=True,
                          timeout=3600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    path = ROOT / "_build" / "dlnotes.pdf"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return {"path": path, "text": text, "log": (LATEX / "dlnotes.log").read_text(errors="replace"),
            "tex": (LATEX / "dlnotes.tex").read_text()}


def _title(chapter: Path) -> str:
    return next(line[2:].strip() for line in chapter.read_text().splitlines()
                if line.startswith("# "))


def _equation_labels(chapter: Path) -> list[str]:
    src = chapter.read_text()
    return (re.findall(r"\$\$\s*\(([\w:-]+)\)\s*$", src, flags=re.M)
            + re.findall(r"```\{math\}\n:label: ([\w:-]+)", src))


@pytest.mark.parametrize("number, chapter", list(enumerate(CHAPTERS, start=1)),
                         ids=[c.stem for c in CHAPTERS])
def test_chapter_and_its_numbered_equations_are_in_the_pdf(pdf, number, chapter):
    flat = " ".join(pdf["text"].split())
    assert " ".join(_title(chapter).split()) in flat
    labels = _equation_labels(chapter)
    assert labels, "a chapter without numbered equations"
    for k in range(1, len(labels) + 1):
        assert f"({number}.{k})" in flat, f"equation ({number}.{k}) missing"


def test_no_widget_repr_unresolved_reference_or_missing_glyph(pdf):
    for raw in ("IntSlider(", "FloatSlider(", "interactive(", "VBox(", "Dropdown("):
        assert raw not in pdf["text"], raw
    assert "??" not in pdf["text"]
    log = pdf["log"]
    assert "Missing character" not in log
    assert not re.search(r"LaTeX Warning: (Reference|Citation) .* undefined", log)


def test_title_page_contents_and_bibliography(pdf):
    text = pdf["text"]
    assert "dlnotes: foundations of deep learning" in text
    assert "Contents" in text or "CONTENTS" in text
    assert text.count("Bibliography") + text.count("BIBLIOGRAPHY") >= 1
    assert "Golub" in text  # a cited work is listed


def test_solutions_come_after_the_exercises(pdf):
    for chapter in pdf["tex"].split("\\chapter{")[1:]:
        solutions = [m.start() for m in re.finditer(r"Solution to", chapter)]
        if not solutions:
            continue
        heading = chapter.find("Solutions to the exercises")
        assert 0 <= heading < min(solutions), "a solution printed under its exercise"


def test_make_pdf_without_tex_names_the_packages_to_install(tmp_path):
    """With no TeX on PATH, `make pdf` stops at once and says what to install."""
    make = subprocess.run(["which", "make"], capture_output=True, text=True).stdout.strip()
    done = subprocess.run([make, "-s", "pdf"], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path)}, timeout=120)
    assert done.returncode != 0
    for package in ("texlive-xetex", "texlive-latex-extra", "latexmk", "xindy",
                    "fonts-freefont-otf"):
        assert package in done.stdout, done.stdout + done.stderr
    assert not (tmp_path / "dlnotes.pdf").exists()
