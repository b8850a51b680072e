"""Write the chapters as .ipynb notebooks: the full edition, or the student edition.

    python tools/notebooks.py full    OUTDIR CHAPTER.md ...
    python tools/notebooks.py student OUTDIR CHAPTER.md ...

The student edition keeps every exercise and removes every solution: the
``{solution}`` directives inside Markdown cells, and everything between a
``{solution-start}`` and its ``{solution-end}`` (Markdown and code cells alike).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>solution|solution-start|solution-end)\}")
STUDENT_NOTE = ("*Student edition: the exercises are kept and their solutions removed. "
                "The full chapter, with solutions, is in the book.*")


def _split_directives(text: str):
    """Yield ``(kind, lines)`` pieces of a Markdown cell: kind is ``"text"``,
    ``"solution"``, ``"solution-start"`` or ``"solution-end"`` (a whole directive)."""
    lines = text.split("\n")
    i, plain = 0, []
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            plain.append(lines[i])
            i += 1
            continue
        if plain:
            yield "text", plain
            plain = []
        fence, j = m.group("fence"), i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        if j == len(lines):
            raise ValueError(f"unclosed {{{m.group('name')}}} directive opened by {lines[i]!r}")
        yield m.group("name"), lines[i:j + 1]
        i = j + 1
    if plain:
        yield "text", plain


def strip_solutions(nb: nbformat.NotebookNode):
    """Return ``(student_notebook, removed_text)``; the input is not modified."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    removed: list[str] = []
    inside = False  # between a solution-start and its solution-end
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if inside:
                removed.append(cell.source)
            else:
                out.cells.append(_copy(cell))
            continue
        kept: list[str] = []
        for kind, lines in _split_directives(cell.source):
            if kind == "solution-start":
                if inside:
                    raise ValueError("a {solution-start} inside another solution")
                inside = True
                removed.append("\n".join(lines))
            elif kind == "solution-end":
                if not inside:
                    raise ValueError("a {solution-end} without its {solution-start}")
                inside = False
            elif kind == "solution" or inside:
                removed.append("\n".join(lines))
            else:
                kept.append("\n".join(lines))
        text = "\n".join(kept).strip()
        if text:
            new = _copy(cell)
            new.source = text
            out.cells.append(new)
    if inside:
        raise ValueError("a {solution-start} without its {solution-end}")
    return out, "\n".join(removed)


def _copy(cell):
    return nbformat.from_dict(dict(cell))


def write(edition: str, outdir: Path, chapters: list[Path]) -> list[Path]:
    if edition not in ("full", "student"):
        raise ValueError(f"edition must be 'full' or 'student', got {edition!r}")
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        nb = jupytext.read(chapter)
        if edition == "student":
            nb, _ = strip_solutions(nb)
            nb.cells.insert(1, nbformat.v4.new_markdown_cell(STUDENT_NOTE))
        target = outdir / f"{chapter.stem}.ipynb"
        nbformat.write(nb, target)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    for path in write(argv[0], Path(argv[1]), [Path(a) for a in argv[2:]]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
