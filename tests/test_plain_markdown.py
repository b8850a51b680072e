"""Notebooks read as the pages do: MyST becomes plain Markdown with the site's numbers.

Unit tests convert a sample that uses every construct the chapters use, with a
hand-made table of numbers; the slow tests check every notebook a reader can get (the
site's downloads, `make notebooks`, `make student`) against the built pages.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks  # noqa: E402
import plain_markdown as pm  # noqa: E402

CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))
HTML = ROOT / "_build" / "html"

REFS = pm.References(
    eq={"eq-a": "(3.1)", "eq-b": "(3.2)"},
    text={"sec-x": "§3.2 *Gradients*", "thm-a": "Theorem 3.1", "ex-a": "Exercise 3.1",
          "ex-b": "Exercise 3.2", "def-a": "Definition 3.1"},
    docs={"book/03-x": "Softmax", "book/02-y": "Matrix derivatives", "book/preface": "Preface"},
    headings={"book/03-x": ["3", "3.1", "3.2"], "book/02-y": ["2", "2.1"]},
    figures={"fig-a": "Fig. 3.1"},
    citations={"bishop2006": ("Bishop", "2006", "Bishop, C. (2006). PRML. *Springer*."),
               "gvl": ("Golub and Van Loan", "2013", "Golub, G., Van Loan, C. (2013). MC.")},
    chapters={"book/03-x", "book/02-y"},
    sections={"sec-x": "3.2"},
)

SAMPLE = """\
(ch03)=
# Softmax

% a MyST comment, not for readers

## First section

```{prf:definition} Softmax
:label: def-a

The map
$$
s_k = e^{z_k}/\\sum_j e^{z_j}
$$ (eq-a)
with a number.
```

```{prf:proof}
Obvious.
```

See {eq}`eq-a`, {ref}`sec-x`, {ref}`the loss <sec-x>`, {prf:ref}`thm-a`, {doc}`02-y`,
{doc}`preface`, {cite:p}`bishop2006`, {cite:t}`gvl` and {cite:p}`gvl,bishop2006`.
Links: [the gradients section](sec-x), [a theorem](thm-a), [PyTorch](https://pytorch.org),
[a file](notes.md) and [an anchor](#top) stay, ![an image](fig.png) too.
The value is {glue:text}`acc:.1%` and the count {glue:text}`n`; inline {math}`x^2`.

## Second section

$$ a = b $$ (eq-b)

```python
# a code block keeps {eq}`raw` and ```{note} as they are
```

````{exercise} A sum
:label: ex-a

Compute $1 + 1$ ({eq}`eq-b`).
````

```{solution} ex-a
:class: dropdown

Two.
```

```{exercise}
:label: ex-b

Unnamed.
```

````{solution-start} ex-b
:class: dropdown
````

Worked in code.

```{warning}
Careful.
```

:::{note}
A colon fence.
:::

```{admonition} A common mistake
:class: warning
Titled.
```

```{literalinclude} ../src/dlnotes/losses_sample.py
:pyobject: twice
```
"""


def _convert(source, glue=None, srcdir=None, refs=REFS):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
    out = pm.to_plain(nb, refs, "book/03-x", glue if glue is not None else
                      {"acc": "0.9731", "n": "'1,797'"}, srcdir or ROOT / "book")
    return out


@pytest.fixture
def srcdir(tmp_path):
    (tmp_path / "src" / "dlnotes").mkdir(parents=True)
    (tmp_path / "src" / "dlnotes" / "losses_sample.py").write_text(
        "import numpy as np\n\n\n@staticmethod\ndef twice(x):\n    return 2 * x\n\n\n"
        "def other():\n    pass\n")
    (tmp_path / "book").mkdir()
    return tmp_path / "book"


def test_every_construct_becomes_plain_markdown(srcdir):
    nb = _convert(SAMPLE, srcdir=srcdir)
    text, refs_cell = nb.cells[0].source, nb.cells[-1].source
    assert text.startswith("# 3. Softmax\n") and "## 3.1. First section" in text
    assert "## 3.2. Second section" in text
    assert "(ch03)=" not in text and "MyST comment" not in text
    assert "**Definition 3.1 (Softmax).**" in text
    assert "$$\ns_k = e^{z_k}/\\sum_j e^{z_j}\n\\tag{3.1}\n$$" in text
    assert "$$\n a = b \n\\tag{3.2}\n$$" in text
    assert "*Proof.* Obvious. ∎" in text
    assert ("See (3.1), §3.2 *Gradients*, the loss, Theorem 3.1, "
            "[Chapter 2: Matrix derivatives](02-y.ipynb),\nPreface, (Bishop, 2006), Golub and "
            "Van Loan (2013) and (Bishop, 2006; Golub and Van Loan, 2013).") in text
    assert ("Links: the gradients section (§3.2), a theorem (Theorem 3.1), "
            "[PyTorch](https://pytorch.org),\n[a file](notes.md) and [an anchor](#top) stay, "
            "![an image](fig.png) too.") in text
    assert "The value is 97.3% and the count 1,797; inline $x^2$." in text
    assert "# a code block keeps {eq}`raw` and ```{note} as they are" in text
    assert "**Exercise 3.1 (A sum).**\n\nCompute $1 + 1$ ((3.2))." in text
    assert ("<details>\n<summary>Solution to Exercise 3.1 (A sum)</summary>\n\nTwo.\n\n"
            "</details>") in text
    assert "**Exercise 3.2.**\n\nUnnamed." in text
    assert "**Solution to Exercise 3.2**\n\nWorked in code." in text
    assert "**Warning.** Careful." in text and "**Note.** A colon fence." in text
    assert "**A common mistake.** Titled." in text
    assert "```python\n@staticmethod\ndef twice(x):\n    return 2 * x\n```" in text
    assert "other" not in text
    assert refs_cell.startswith("## References\n\n- Bishop, C. (2006)")
    assert "- Golub, G., Van Loan, C. (2013). MC." in refs_cell


def test_solution_code_is_folded_as_on_the_page():
    cells = [nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n```\nWorked:"),
             nbformat.v4.new_code_cell("answer = 2"),
             nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
             nbformat.v4.new_code_cell("check(answer)")]
    page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "```{exercise} A sum\n:label: ex-a\nAdd.\n```")] + cells)
    nb = pm.to_plain(page, REFS, "book/03-x", {}, ROOT)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["jupyter"]["source_hidden"] is True
    assert "jupyter" not in code[1].metadata
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == [
        "**Exercise 3.1 (A sum).**\n\nAdd.", "**Solution to Exercise 3.1 (A sum)**\n\nWorked:"]


def test_the_reference_list_names_every_author(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("""@article{three, author = {M{\\"u}ller, Anna and Bo Li and van Dam, Carl},
  title = {{A} title}, journal = {J. Stat.}, volume = {36}, number = {2},
  pages = {111--147}, year = {1974}}
@book{one, author = {Golub, Gene H.}, title = {Matrices}, publisher = {JHU Press},
  edition = {4th}, year = {2013}}""")
    found = pm.citations(bib)
    assert found["three"][:2] == ("Müller *et al.*", "1974")
    assert found["three"][2] == ("Anna Müller, Bo Li and Carl van Dam (1974). A title. "
                                 "*J. Stat.*, 36(2), pages 111–147.")
    assert found["one"] == ("Golub", "2013", "Gene H. Golub (2013). Matrices. *JHU Press*. "
                                             "4th edition.")


def test_a_figure_caption_follows_its_figure():
    cell = nbformat.v4.new_code_cell("plot()")
    cell.metadata["mystnb"] = {"figure": {"caption": "Loss against {eq}`eq-a`.",
                                          "name": "fig-a"}}
    nb = pm.to_plain(nbformat.v4.new_notebook(cells=[cell]), REFS, "book/03-x", {}, ROOT)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown"]
    assert nb.cells[1].source == "*Fig. 3.1: Loss against (3.1).*"


@pytest.mark.parametrize("source, message", [
    ("```{margin}\nside\n```", "no plain-Markdown form for the {margin} directive"),
    ("```{note} A title\nbody\n```", "{note} takes no title ('A title')"),
    ("see [there](nowhere-label)", "no link target 'nowhere-label'"),
    ("{abbr}`LR (learning rate)`", "no plain-Markdown form for the {abbr} role"),
    ("{eq}`eq-missing`", "no equation 'eq-missing'"),
    ("{ref}`nowhere`", "no label 'nowhere'"),
    ("{cite:p}`nobody2020`", "no citation 'nobody2020'"),
    ("{glue:text}`missing:.2f`", "no glued value 'missing'"),
    ("{glue:text}`other::key`", "glue from another page"),
    ("$$\nx\n$$ (eq-missing)", "no equation 'eq-missing'"),
    ("$$\nnever closed", "unclosed display math"),
    ("```{note}\nnever closed", "unclosed block"),
    ("```{literalinclude} nothing.py\n```", "missing file"),
])
def test_what_cannot_be_converted_is_an_error(source, message):
    with pytest.raises(pm.Unconvertible, match=re.escape(message)):
        _convert(source)


@pytest.mark.parametrize("text, spec, expected", [
    ("0.97312", ".1%", "97.3%"), ("1234.5", ",.0f", "1,234"), ("'a, b'", "", "a, b"),
    ("7", "d", "7"), ("3.0e-12", ".1e", "3.0e-12"), ("not python", "s", "not python"),
])
def test_glued_values_are_formatted_as_myst_nb_formats_them(text, spec, expected):
    from myst_nb.core.variables import format_plain_text

    assert pm.format_plain_text(text, spec) == expected == format_plain_text(text, spec)


# ------------------------------------------------------------ the real notebooks
RAW = [
    (re.compile(r"\{[a-z][\w:-]*\}`"), "a MyST role"),
    (re.compile(r"^\s*(`{3,}|:{3,})\{", re.M), "a MyST directive"),
    (re.compile(r"^\([\w.:-]+\)=\s*$", re.M), "a MyST label"),
    (re.compile(r"\$\$\s*\([\w.:-]+\)"), "an equation label"),
]


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _no_code(text: str) -> str:
    return re.sub(r"^(`{3,}|~{3,})(?!\{).*?^\1\s*$", "", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def written(build, tmp_path_factory):
    """Every notebook a reader can get: `make notebooks`, `make student`, the site's."""
    assert build.returncode == 0, "the book did not build"
    out = tmp_path_factory.mktemp("written")
    found = {}
    for edition in ("full", "student"):
        for path in notebooks.write(edition, out / edition, CHAPTERS):
            found[f"{edition}/{path.stem}"] = nbformat.read(path, 4)
    for chapter in CHAPTERS:
        found[f"site/{chapter.stem}"] = nbformat.read(
            HTML / "_sources" / "book" / f"{chapter.stem}.ipynb", 4)
    return found


@pytest.mark.slow
def test_no_written_notebook_has_raw_myst(written):
    assert len(written) == 3 * len(CHAPTERS)
    for name, nb in written.items():
        text = _no_code(_markdown(nb))
        for pattern, what in RAW:
            hit = pattern.search(text)
            assert hit is None, f"{name}: {what} left raw: {text[hit.start() - 80:hit.end() + 40]!r}"


def _plain_quotes(text: str) -> str:
    return text.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))


def _page(stem: str) -> BeautifulSoup:
    return BeautifulSoup((HTML / "book" / f"{stem}.html").read_text(), "html.parser")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_a_notebook_shows_the_numbers_the_page_shows(written, chapter):
    page = _page(chapter.stem)
    nb = written[f"full/{chapter.stem}"]
    text = _markdown(nb)
    assert nb.cells == written[f"site/{chapter.stem}"].cells or \
        _markdown(written[f"site/{chapter.stem}"]) == text
    # equation numbers, in order
    eqnos = [re.sub(r"[^0-9.]", "", e.get_text()) for e in page.select("span.eqno")]
    assert len(eqnos) >= 10 and re.findall(r"\\tag\{([\d.]+)\}", text) == eqnos
    # numbered headings, in order
    headings = [" ".join(h.get_text(" ", strip=True).replace("#", "").split())
                for h in page.select("article h1, article h2, article h3")
                if h.select_one(".section-number")]
    mine = [" ".join(re.sub(r"\s+", " ", m).split()) for m in
            re.findall(r"^#{1,3} (\d[\d.]*\..*)$", text, re.M)]
    assert len(headings) >= 10
    assert [h.split(" ")[0] for h in headings] == [m.split(" ")[0] for m in mine]
    # titles of theorems, definitions, exercises and solutions
    titles = [" ".join(t.get_text(" ", strip=True).split()) for t in
              page.select("div.proof > p.admonition-title, div.exercise > p.admonition-title")]
    assert len(titles) >= 8
    flat = _plain_quotes(" ".join(text.split()))
    for title in titles:  # Sphinx curls the quotes of a title; the notebook keeps them straight
        assert f"**{_plain_quotes(title)}.**" in flat, title
    solutions = [" ".join(s.get_text(" ", strip=True).split()) for s in
                 page.select(".solution > p.admonition-title, .solution summary")]
    for title in solutions:
        assert _plain_quotes(title) in flat, title
    # glued numbers
    for pasted in page.select("span.pasted-text"):
        assert pasted.get_text() in text, pasted.get_text()
    # figure captions
    for caption in page.select("figcaption .caption-number"):
        assert f"*{caption.get_text().strip()}:" in text, caption.get_text()


def test_literalinclude_finds_a_method_by_its_dotted_name_as_sphinx_does(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text(
        "class A:\n    def f(self):\n        return 1\n\n\nclass B:\n    @property\n"
        "    def f(self):\n        return 2\n")
    (tmp_path / "book").mkdir()
    text = _convert("```{literalinclude} ../src/m.py\n:pyobject: B.f\n```\n",
                    srcdir=tmp_path / "book").cells[0].source
    assert "    @property\n    def f(self):\n        return 2" in text and "return 1" not in text
    with pytest.raises(pm.Unconvertible, match="no 'C.f'"):
        _convert("```{literalinclude} ../src/m.py\n:pyobject: C.f\n```\n", srcdir=tmp_path / "book")
