"""`make student`: exercises kept, every solution removed."""

import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks  # noqa: E402
from tools import SAMPLE  # noqa: E402

CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))



def test_strip_solutions_on_a_sample(tmp_path):
    nb = jupytext.reads(SAMPLE, fmt="md:myst")
    student, removed = notebooks.strip_solutions(nb)
    text = "\n".join(c.source for c in student.cells)
    for secret in ("SECRET-ONE", "SECRET-TWO", "SECRET-THREE"):
        assert secret not in text and secret in removed
    assert text.count("{exercise}") == 2 and "Text after the solutions stays." in text
    assert not [c for c in student.cells if c.cell_type == "code"]


@pytest.mark.parametrize("bad, msg", [
    ("```{solution-end}\n```\n", "without its {solution-start}"),
    ("```{solution-start} x\n```\n", "without its {solution-end}"),
    ("```{solution} x\nnever closed\n", "unclosed {solution} directive"),
])
def test_malformed_solutions_are_errors(bad, msg):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(bad)])
    with pytest.raises(ValueError, match=msg):
        notebooks.strip_solutions(nb)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_no_solution_survives_in_the_student_edition(chapter, tmp_path):
    full = jupytext.read(chapter)
    (path,) = notebooks.write("student", tmp_path, [chapter])
    student = nbformat.read(path, 4)
    _, removed = notebooks.strip_solutions(full)
    n_ex = sum(c.source.count("{exercise}") for c in full.cells)
    assert n_ex >= 4 and "{solution" in removed, "a chapter needs exercises with solutions"
    text = "\n".join(c.source for c in student.cells)
    assert text.count("{exercise}") == n_ex and "{solution" not in text
    whole = "\n".join(c.source for c in full.cells)
    for line in {ln.strip() for ln in removed.splitlines()}:
        if len(line) > 30:  # every substantive line of every solution is gone (a lab's
            # signature, which its stub repeats, and text found outside solutions stay)
            assert text.count(line) == whole.count(line) - removed.count(line), line
    assert "Student edition" in text


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_student_edition_keeps_every_lab_stub_and_check(chapter, tmp_path):
    (path,) = notebooks.write("student", tmp_path, [chapter])
    cells = [c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code"]
    stubs = [c for c in cells if "raise NotImplementedError" in c]
    checks = [c for c in cells if c.startswith("labs.check_")]
    assert len(stubs) >= 2 and len(checks) == len(stubs), (len(stubs), len(checks))
    for stub in stubs:  # a stub is only its signature, docstring and the raise
        assert len([ln for ln in stub.splitlines() if ln.strip()]) == 3, stub
