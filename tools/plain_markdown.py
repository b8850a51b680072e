"""MyST to plain Markdown, for notebooks read outside the book.

Jupyter, Colab and VS Code render CommonMark with LaTeX math and nothing of MyST: a
``{prf:theorem}`` block shows as a code fence and ``{eq}`` as its source. A chapter
notebook a reader downloads, or writes with ``make notebooks``, is converted here so it
reads as the page does: equations carry their numbers (``\\tag``), references and
citations show the text the site shows, glued numbers are pasted in, theorems and
exercises get their numbered titles, solutions fold into ``<details>``, and code shown
from the package (``literalinclude``) is copied in.

The numbers come from a Sphinx build environment (:func:`references`); the conversion
itself (:func:`to_plain`) needs only a :class:`References`, so it is tested on its own.
Markup it does not know is an error, never left raw.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text  # exactly as the pages format glue
from sphinx.pycode import ModuleAnalyzer

ROLE = re.compile(r"\{(?P<name>[a-z][\w:-]*)\}`(?P<content>[^`]*)`")
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*?)\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")
TARGET = re.compile(r"^\((?P<label>[\w.:-]+)\)=\s*$")
MATH_END = re.compile(r"^(?P<body>.*)\$\$\s*(?:\((?P<label>[\w.:-]+)\))?\s*$")
GATE = re.compile(r"^(?:`{3,}|:{3,})\{solution-(start|end)\}", re.M)
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*)$")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

ADMONITIONS = {"note": "Note", "warning": "Warning", "tip": "Tip", "important": "Important",
               "hint": "Hint", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also"}


@dataclass
class References:
    """What the site shows for each label, and the numbers of each page's headings.

    ``eq`` maps an equation label to ``"(1.6)"``; ``text`` maps any other label to the
    text a ``{ref}`` to it shows (a section's title, "Exercise 1.2", "Theorem 1.2");
    ``docs`` maps a page to its title; ``headings`` maps a page to the numbers of its
    headings in order ("1", "1.1", ...); ``figures`` maps a figure name to "Fig. 1.3";
    ``citations`` maps a bibliography key to ``(authors, year, full entry)``.
    """

    eq: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)
    headings: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    citations: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    chapters: set[str] = field(default_factory=set)  # pages offered as notebooks
    sections: dict[str, str] = field(default_factory=dict)  # section label -> "2.11"


class Unconvertible(ValueError):
    """MyST markup the converter does not know, or a reference it cannot resolve."""


# ----------------------------------------------------------------- the conversion
@dataclass
class _Page:
    refs: References
    docname: str
    glue: dict[str, str]
    srcdir: Path
    headings: list[str]
    cited: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # exercise label -> its title

    def lookup(self, table: dict, key: str, what: str) -> str:
        try:
            return table[key]
        except KeyError:
            raise Unconvertible(f"{self.docname}: no {what} {key!r} in the build") from None


def to_plain(nb: nbformat.NotebookNode, refs: References, docname: str,
             glue: dict[str, str] | None = None, srcdir: Path | str = ".") -> nbformat.NotebookNode:
    """A copy of ``nb`` (a chapter's MyST notebook) whose Markdown is plain.

    ``glue`` maps glued names to their ``text/plain`` values (:func:`glue_values`);
    ``srcdir`` is the folder ``literalinclude`` paths are relative to.
    """
    page = _Page(refs, docname, glue or {}, Path(srcdir), list(refs.headings.get(docname, [])))
    out = nbformat.from_dict(dict(nb))
    cells = []
    in_solution = False  # between a solution-start and its solution-end
    for cell in out.cells:
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "markdown":
            for m in GATE.finditer(cell.source):
                in_solution = m.group(1) == "start"
            cell.source = _blocks(cell.source.split("\n"), page).strip()
            if cell.source:
                cells.append(cell)
            continue
        if in_solution:  # folded, as on the page
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
        cells.append(cell)
        caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if cell.cell_type == "code" and caption.get("caption"):
            number = page.lookup(refs.figures, caption.get("name", ""), "figure")
            text = _inline(str(caption["caption"]), page)
            cells.append(nbformat.v4.new_markdown_cell(f"*{number}: {text}*"))
    if page.cited:
        entries = sorted(f"- {page.refs.citations[key][2]}" for key in set(page.cited))
        cells.append(nbformat.v4.new_markdown_cell("## References\n\n" + "\n".join(entries)))
    out.cells = cells
    return out


def _blocks(lines: list[str], page: _Page) -> str:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive, fence = DIRECTIVE.match(line), FENCE.match(line)
        if directive:
            end = _closing(lines, i, directive.group("fence"))
            out.append(_directive(directive.group("name"), directive.group("arg"),
                                  lines[i + 1:end], page))
            i = end + 1
            if i < len(lines) and lines[i].strip():
                out.append("")  # a block ends its paragraph, as on the page
        elif fence:  # a code block: copied as it is
            end = _closing(lines, i, fence.group("fence"))
            out.extend(lines[i:end + 1])
            i = end + 1
        elif line.strip().startswith("$$"):
            i = _math(lines, i, page, out)
        elif TARGET.match(line) or line.startswith("%"):
            i += 1  # a label (the heading below keeps its number) or a MyST comment
        elif HEADING.match(line):
            m = HEADING.match(line)
            number = page.headings.pop(0) if page.headings else ""
            text = _inline(m.group("text"), page)
            out.append(f"{m.group('hashes')} {number + '. ' if number else ''}{text}")
            i += 1
        else:
            out.append(_inline(line, page))
            i += 1
    return "\n".join(out)


def _closing(lines: list[str], start: int, fence: str) -> int:
    for j in range(start + 1, len(lines)):
        if lines[j].strip() == fence:
            return j
    raise Unconvertible(f"unclosed block opened by {lines[start]!r}")


def _math(lines: list[str], i: int, page: _Page, out: list[str]) -> int:
    """A display ``$$ ... $$ (label)``: the label becomes ``\\tag{1.6}``."""
    indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    opening = lines[i].strip()[2:]
    end, body = MATH_END.match(opening), [opening]
    j = i
    while end is None:
        j += 1
        if j == len(lines):
            raise Unconvertible(f"unclosed display math opened by {lines[i]!r}")
        end = MATH_END.match(lines[j])
        if end is None:
            body.append(lines[j])
    body = body[:-1] if j == i else body
    body.append(end.group("body"))
    text = [b for b in body if b.strip()]
    if end.group("label"):
        number = page.lookup(page.refs.eq, end.group("label"), "equation").strip("()")
        text.append(f"\\tag{{{number}}}")
    out.extend(indent + t for t in ["$$", *text, "$$"])
    return j + 1


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options, k = {}, 0
    while k < len(body):
        m = re.match(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$", body[k])
        if not m:
            break
        options[m.group("key")] = m.group("value").strip()
        k += 1
    return options, body[k:]


def _directive(name: str, arg: str, body: list[str], page: _Page) -> str:
    options, body = _options(body)
    inner = _blocks(body, page).strip()
    if name.startswith("prf:") or name == "exercise":
        if name == "prf:proof":
            return f"*Proof.* {inner} ∎" if inner else "*Proof.* ∎"
        label = options.get("label") or ""
        if label and arg:
            page.titles[label] = _inline(arg, page)
        head = page.lookup(page.refs.text, label, "numbered block") if label else \
            name.split(":")[-1].title()
        title = f"{head} ({_inline(arg, page)})" if arg else head
        return f"**{title}.**\n\n{inner}"
    if name == "solution":
        head = _solution_title(arg, page)
        return f"<details>\n<summary>{head}</summary>\n\n{inner}\n\n</details>"
    if name == "solution-start":
        return f"**{_solution_title(arg, page)}**\n\n{inner}".strip()
    if name == "solution-end":
        return inner
    if name in ADMONITIONS:
        if arg:  # docutils would glue it to the first sentence: the site shows it wrongly
            raise Unconvertible(f"{page.docname}: {{{name}}} takes no title ({arg!r}); write "
                                f"{{admonition}} {arg} with :class: {name}")
        return f"**{ADMONITIONS[name]}.** {inner}"
    if name == "admonition":
        return f"**{_inline(arg, page)}.** {inner}"
    if name == "literalinclude":
        code = _include(arg, options, page)
        return f"```{options.get('language', 'python')}\n{code}\n```"
    if name == "only":
        return inner if arg.strip() == "html" else ""
    raise Unconvertible(f"{page.docname}: no plain-Markdown form for the {{{name}}} directive")


def _solution_title(label: str, page: _Page) -> str:
    label = label.strip()
    number = page.lookup(page.refs.text, label, "exercise")
    title = page.titles.get(label, "")
    return f"Solution to {number}" + (f" ({title})" if title else "")


def _include(arg: str, options: dict[str, str], page: _Page) -> str:
    path = (page.srcdir / arg.strip()).resolve()
    if not path.is_file():
        raise Unconvertible(f"{page.docname}: literalinclude of a missing file {arg!r}")
    unknown = set(options) - {"pyobject", "language", "caption", "name"}
    if unknown:
        raise Unconvertible(f"{page.docname}: literalinclude options {sorted(unknown)}")
    source = path.read_text()
    if "pyobject" not in options:
        return source.rstrip("\n")
    # Sphinx's own analyzer, as literalinclude uses it: dotted names such as Class.method
    tags = ModuleAnalyzer.for_string(source, path.stem).find_tags()
    if options["pyobject"] not in tags:
        raise Unconvertible(f"{page.docname}: no {options['pyobject']!r} in {arg!r}")
    _, start, end = tags[options["pyobject"]]
    return "\n".join(source.splitlines()[start - 1:end]).rstrip("\n")


# ------------------------------------------------------------------------ roles
def _inline(text: str, page: _Page) -> str:
    text = ROLE.sub(lambda m: _role(m.group("name"), m.group("content"), page), text)
    return LINK.sub(lambda m: _link(m.group("text"), m.group("target"), page), text)


def _link(text: str, target: str, page: _Page) -> str:
    """A MyST link to a label, ``[text](label)``, names the section by its number; links to
    web pages, files and anchors stay as they are."""
    if re.match(r"^[a-z][\w+.-]*:", target) or target.startswith("#") or "/" in target \
            or re.search(r"\.\w+$", target):
        return f"[{text}]({target})"
    if target in page.refs.sections:
        return f"{text} (§{page.refs.sections[target]})"
    return f"{text} ({page.lookup(page.refs.text, target, 'link target')})"


def _explicit(content: str) -> tuple[str | None, str]:
    m = EXPLICIT.match(content)
    return (m.group("text"), m.group("target")) if m else (None, content)


def _role(name: str, content: str, page: _Page) -> str:
    if name == "eq":
        return page.lookup(page.refs.eq, content, "equation")
    if name in ("ref", "numref", "prf:ref"):
        text, label = _explicit(content)
        return text if text else page.lookup(page.refs.text, label, "label")
    if name == "doc":
        text, target = _explicit(content)
        docname = _docname(target, page.docname)
        title = text or page.lookup(page.refs.docs, docname, "page")
        if docname in page.refs.chapters:
            number = (page.refs.headings.get(docname) or [""])[0]
            label = f"Chapter {number}: {title}" if number and not text else title
            return f"[{label}]({docname.rsplit('/', 1)[-1]}.ipynb)"
        return title
    if name in ("cite", "cite:p", "cite:t"):
        return _cite(name, content, page)
    if name in ("glue", "glue:text"):
        return _glued(content, page)
    if name == "math":
        return f"${content}$"
    raise Unconvertible(f"{page.docname}: no plain-Markdown form for the {{{name}}} role")


def _docname(target: str, here: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    folder = here.rsplit("/", 1)[0] if "/" in here else ""
    parts = [p for p in f"{folder}/{target}".split("/") if p and p != "."]
    stack: list[str] = []
    for p in parts:
        stack.pop() if p == ".." else stack.append(p)
    return "/".join(stack)


def _cite(name: str, content: str, page: _Page) -> str:
    keys = [k.strip() for k in content.split(",") if k.strip()]
    found = sorted((page.lookup(page.refs.citations, k, "citation") for k in keys),
                   key=lambda c: (c[0], c[1]))  # as sphinxcontrib-bibtex orders them
    page.cited.extend(keys)
    if name == "cite:t":
        return "; ".join(f"{authors} ({year})" for authors, year, _ in found)
    return "(" + "; ".join(f"{authors}, {year}" for authors, year, _ in found) + ")"


def _glued(content: str, page: _Page) -> str:
    if "::" in content:
        raise Unconvertible(f"{page.docname}: glue from another page ({content!r})")
    key, _, spec = content.rpartition(":")  # myst-nb's rule: the last colon starts the format
    if not key:
        key, spec = content, ""
    return format_plain_text(page.lookup(page.glue, key, "glued value"), spec)


def glue_values(executed: Path | str) -> dict[str, str]:
    """``{name: text/plain}`` for every value an executed chapter glued: myst-nb keeps
    them in ``NAME.glue.json`` beside the executed ``NAME.ipynb``."""
    path = Path(executed).with_suffix(".glue.json")
    if not path.is_file():
        return {}
    return {name: output["data"]["text/plain"]
            for name, output in json.loads(path.read_text()).items()
            if "text/plain" in output.get("data", {})}


# ------------------------------------------------------------------ from a build
def references(env, doctree, bibfiles: list[Path] = ()) -> References:
    """The numbers and titles a Sphinx build environment gave every label.

    ``doctree(docname)`` returns a page's doctree (``env.get_doctree`` in a build).
    """
    refs = References()
    numbers = env.toc_fignumbers

    def number(docname, kind, key):
        found = numbers.get(docname, {}).get(kind, {}).get(key)
        return ".".join(map(str, found)) if found else ""

    for label, (docname, n) in env.domaindata["math"]["objects"].items():
        refs.eq[label] = f"({number(docname, 'displaymath', f'equation-{label}') or n})"
    sections = _section_numbers(env, doctree)
    for label, (docname, anchor, title) in env.domaindata["std"]["labels"].items():
        n = sections.get((docname, anchor))
        # A notebook has no links to follow, so a section is named with its number too.
        refs.text[label] = f"§{n} *{title}*" if n else str(title)
        if n:
            refs.sections[label] = n
    for label, entry in getattr(env, "proof_list", {}).items():
        kind = entry["realtype"].title()
        n = "" if entry["nonumber"] else number(entry["docname"], entry["countertype"], label)
        refs.text[label] = f"{kind} {n}".strip()
    for label, entry in getattr(env, "sphinx_exercise_registry", {}).items():
        if entry.get("type") != "exercise":
            continue
        refs.text[label] = f"Exercise {number(entry['docname'], 'exercise', label)}".strip()
    for docname, kinds in numbers.items():
        for name, n in kinds.get("figure", {}).items():
            refs.figures[name] = f"Fig. {'.'.join(map(str, n))}"
    for docname, title in env.titles.items():
        refs.docs[docname] = title.astext()
        refs.headings[docname] = _heading_numbers(env, docname)
    refs.chapters = {d for d in env.found_docs if re.fullmatch(r"book/\d\d-[\w-]+", d)}
    for bib in bibfiles:
        refs.citations.update(citations(bib))
    return refs


def _section_numbers(env, doctree) -> dict[tuple[str, str], str]:
    """``{(page, id): "1.4"}`` for every id of every numbered section."""
    from docutils import nodes

    out = {}
    for docname, secnumbers in env.toc_secnumbers.items():
        for section in doctree(docname).findall(nodes.section):
            ids = section.get("ids", [])
            n = next((secnumbers[f"#{i}"] for i in ids if f"#{i}" in secnumbers), None)
            if n is None and section.parent is not None and \
                    not isinstance(section.parent, nodes.section):
                n = secnumbers.get("")  # a page's title
            if n:
                out.update({(docname, i): ".".join(map(str, n)) for i in ids})
    return out


def _heading_numbers(env, docname: str) -> list[str]:
    """The section numbers of a page's headings, in the order they appear."""
    from docutils import nodes

    secnumbers = env.toc_secnumbers.get(docname, {})
    toc = env.tocs.get(docname)
    out = []
    if toc is None:
        return out
    for ref in toc.findall(nodes.reference):
        n = secnumbers.get(ref.get("anchorname", ""))
        out.append(".".join(map(str, n)) if n else "")
    return out


def citations(bibfile: Path) -> dict[str, tuple[str, str, str]]:
    """``{key: (authors as cited, year, full entry)}`` from a BibTeX file, in the
    author-year style of the site (two authors joined by "and", three or more "et al.")."""
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(bibfile)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [_detex(" ".join(p.prelast_names + p.last_names)) for p in people]
        cited = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
                 else f"{last[0]} *et al.*" if last else key)
        year = entry.fields.get("year", "n.d.")
        out[key] = (cited, year, _entry(entry, people, year))
    return out


def _entry(entry, people, year: str) -> str:
    """One line of the reference list: "A. Author and B. Author (2009). Title. *Where*,
    volume(number), pages. Edition." """
    names = [_detex(" ".join(p.first_names + p.middle_names + p.prelast_names + p.last_names))
             for p in people]
    authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
    f = {k: _detex(v) for k, v in entry.fields.items()}
    where = next((f[k] for k in ("journal", "booktitle", "publisher", "howpublished",
                                 "school", "institution") if k in f), "")
    parts = [f"*{where}*"] if where else []
    if "volume" in f:
        parts.append(f["volume"] + (f"({f['number']})" if "number" in f else ""))
    if "pages" in f:
        parts.append(f"pages {f['pages']}")
    extra = [f"{f['edition']} edition"] if "edition" in f else []
    extra += [f[k] for k in ("type", "note") if k in f]
    line = f"{authors} ({year}). {f.get('title', '')}."
    line += f" {', '.join(parts)}." if parts else ""
    return line + "".join(f" {e}." for e in extra)


def _detex(text: str) -> str:
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec; pybtex depends on it)

    return re.sub(r"[{}]", "", codecs.decode(text, "ulatex")).replace("~", " ")
