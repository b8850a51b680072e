"""Write the chapters as .ipynb notebooks: the full edition, or the student edition.

    python tools/notebooks.py full    OUTDIR CHAPTER.md ...
    python tools/notebooks.py student OUTDIR CHAPTER.md ...

Both start from the book build (``make book``): the executed chapter, with its
outputs, and the build's numbers for equations, sections, theorems and exercises.
Their Markdown is plain (``plain_markdown.py``), so they read as the pages do in
Jupyter, Colab or VS Code, none of which renders MyST.

The student edition keeps every exercise and removes every solution: the
``{solution}`` directives inside Markdown cells, and everything between a
``{solution-start}`` and its ``{solution-end}`` (Markdown and code cells alike). The
outputs of the labs' check cells go too: they reported on the removed solutions.

Every notebook written here, and every notebook the website offers for download,
starts with a setup cell (:func:`setup_cell`): outside the repository it installs
the dlnotes the book was built with, and the pinned versions of what it needs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plain_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
#: What a chapter needs at run time; their versions are pinned in requirements.txt.
RUNTIME = ("torch", "numpy", "scipy", "scikit-learn", "mpmath", "matplotlib", "ipywidgets")
SETUP_TAG = "dlnotes-setup"

OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>solution|solution-start|solution-end)\}")
CHECK = re.compile(r"^labs\.check_\w+\(")
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


def package_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def runtime_pins() -> dict[str, str]:
    """``{name: version}`` for the run-time packages, from requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if m and m.group(1).lower() in RUNTIME:
            pins[m.group(1).lower()] = m.group(2)
    missing = set(RUNTIME) - set(pins)
    if missing:
        raise ValueError(f"requirements.txt pins none of {sorted(missing)}")
    return pins


def wheel_name(version: str | None = None) -> str:
    return f"dlnotes-{version or package_version()}-py3-none-any.whl"


def sources() -> list[str]:
    """Where a notebook installs dlnotes from, in order: the wheel the website serves
    (``html.baseurl`` in _config.yml, when set), then the repository."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    out = []
    site = ((config.get("html") or {}).get("baseurl") or "").rstrip("/")
    if site:
        out.append(f"{site}/wheels/{wheel_name()}")
    repo = config.get("repository") or {}
    if repo.get("url"):
        out.append(f"git+{repo['url']}@{repo.get('branch') or 'main'}")
    return out


SETUP = '''\
# Setup: run this cell first. Outside the book's repository (a downloaded notebook, Colab,
# Binder, a course server) it installs dlnotes {version}, the package this book was built
# with, and the versions of its dependencies the book was run with. Where they are already
# installed it does nothing. Set DLNOTES_WHEEL to a wheel's path or URL to install from there.
# (The name dlnotes on the public package index belongs to another project: never install
# it by bare name.)


def dlnotes_setup():
    import importlib
    import importlib.metadata as metadata
    import os
    import subprocess
    import sys

    pins = {pins}
    pins["dlnotes"] = "{version}"
    sources = [os.environ.get("DLNOTES_WHEEL", "")] + {sources!r}

    def installed(name):
        try:
            return metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            return None

    def missing():
        return [name for name, version in pins.items() if installed(name) != version]

    if not missing():
        return
    needed = [f"{{name}}=={{version}}" for name, version in pins.items() if name != "dlnotes"]
    for source in filter(None, sources):
        print(f"installing dlnotes from {{source}}, with {{' '.join(needed)}}")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source,
                               *needed], capture_output=True, text=True)
        if done.returncode == 0:
            break
        print(done.stderr[-2000:])
    importlib.invalidate_caches()
    if missing():
        raise RuntimeError(f"could not install {{missing()}}: set DLNOTES_WHEEL to the wheel "
                           f"{wheel} (the book's website serves it under wheels/)")
    print("done; restart the kernel if numpy or torch had been imported before this cell")


dlnotes_setup()
'''


def setup_cell() -> nbformat.NotebookNode:
    """The code cell that makes a chapter notebook run outside the repository."""
    pins = ",\n        ".join(f"{k!r}: {v!r}" for k, v in runtime_pins().items())
    source = SETUP.format(version=package_version(), pins="{\n        " + pins + ",\n    }",
                          sources=sources(), wheel=wheel_name())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def add_setup_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with the setup cell before its first code cell (once)."""
    cells = [c for c in nb.cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    first = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = cells[:first] + [setup_cell()] + cells[first:]
    return nb


def _copy(cell):
    return nbformat.from_dict(dict(cell))


def reader_notebook(executed: Path, edition: str, refs: plain_markdown.References,
                    docname: str) -> nbformat.NotebookNode:
    """The executed chapter ``executed`` as a reader gets it: plain Markdown, a setup
    cell first and, in the student edition, no solution."""
    if edition not in ("full", "student"):
        raise ValueError(f"edition must be 'full' or 'student', got {edition!r}")
    nb = nbformat.read(executed, as_version=4)
    for key in ("source_map", "jupytext"):  # the build's bookkeeping
        nb.metadata.pop(key, None)
    if edition == "student":
        nb, _ = strip_solutions(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.execution_count = None  # a fresh notebook for the student to run
                if CHECK.match(cell.source):
                    cell.outputs = []
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(STUDENT_NOTE))
    nb = plain_markdown.to_plain(nb, refs, docname, plain_markdown.glue_values(executed),
                                 srcdir=(ROOT / docname).parent)
    return add_setup_cell(nb)


def build_references(build: Path = BUILD) -> plain_markdown.References:
    """The numbers and titles of the last `make book`, from its saved environment."""
    import pickle

    doctrees = build / ".doctrees"
    env_file = doctrees / "environment.pickle"
    if not env_file.is_file():
        raise FileNotFoundError(f"no book build in {build}: run `make book` first")
    with env_file.open("rb") as f:
        env = pickle.load(f)

    def doctree(docname):
        with (doctrees / f"{docname}.doctree").open("rb") as f:
            return pickle.load(f)

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    bibs = [ROOT / b for b in config.get("bibtex_bibfiles", [])]
    return plain_markdown.references(env, doctree, bibs)


def write(edition: str, outdir: Path, chapters: list[Path], build: Path = BUILD) -> list[Path]:
    if edition not in ("full", "student"):
        raise ValueError(f"edition must be 'full' or 'student', got {edition!r}")
    refs = build_references(build)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        docname = Path(chapter).resolve().relative_to(ROOT).with_suffix("").as_posix()
        executed = build / "jupyter_execute" / f"{docname}.ipynb"
        if not executed.is_file():
            raise FileNotFoundError(f"{executed} is missing: run `make book` first")
        target = outdir / f"{Path(chapter).stem}.ipynb"
        nbformat.write(reader_notebook(executed, edition, refs, docname), target)
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
