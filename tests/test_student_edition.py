"""`make student`: exercises kept, every solution removed."""

import re
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


@pytest.fixture(scope="module")
def built(build):
    assert build.returncode == 0, "the book did not build"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_no_solution_survives_in_the_student_edition(built, chapter, tmp_path):
    full = jupytext.read(chapter)
    (path,) = notebooks.write("student", tmp_path, [chapter])
    (whole_path,) = notebooks.write("full", tmp_path / "full", [chapter])
    student = nbformat.read(path, 4)
    _, removed = notebooks.strip_solutions(full)
    n_ex = sum(c.source.count("{exercise}") for c in full.cells)
    assert n_ex >= 4 and "{solution" in removed, "a chapter needs exercises with solutions"
    text = "\n".join(c.source for c in student.cells)
    exercises = re.findall(r"^\*\*Exercise \d+\.\d+\b", text, re.M)
    assert len(exercises) == n_ex and "Solution to" not in text and "<details>" not in text
    whole = "\n".join(c.source for c in nbformat.read(whole_path, 4).cells)
    assert len(re.findall(r"Solution to Exercise", whole)) == n_ex
    for line in {ln.strip() for ln in removed.splitlines()}:
        if len(line) > 30 and "{" not in line and "`" not in line:  # plain text lines of
            # every solution are gone (a lab's signature, which its stub repeats, and text
            # found outside solutions stay)
            assert text.count(line) == whole.count(line) - removed.count(line) >= 0, line
    assert "Student edition" in text


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_student_edition_keeps_every_lab_stub_and_check(built, chapter, tmp_path):
    (path,) = notebooks.write("student", tmp_path, [chapter])
    cells = [c for c in nbformat.read(path, 4).cells if c.cell_type == "code"]
    stubs = [c.source for c in cells if "raise NotImplementedError" in c.source]
    checks = [c for c in cells if c.source.startswith("labs.check_")]
    assert len(stubs) >= 2 and len(checks) == len(stubs), (len(stubs), len(checks))
    for stub in stubs:  # a stub is only its signature, docstring and the raise
        assert len([ln for ln in stub.splitlines() if ln.strip()]) == 3, stub
    for check in checks:  # their outputs reported on the removed solutions
        assert check.outputs == [], check.source
    assert all(c.execution_count is None for c in cells)
