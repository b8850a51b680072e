# dlnotes: one entry point. Every target creates .venv from requirements.txt first.
# Python 3.11 (the release the pinned torch build is for); python3 if 3.11 is not on PATH.
PYTHON ?= $(firstword $(shell command -v python3.11 python3 2>/dev/null))
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
CHAPTERS := $(sort $(wildcard book/[0-9][0-9]-*.md))
# Debian packages: XeLaTeX for the PDF, poppler for its tests, Chromium for the browser tests.
TEX_PACKAGES := texlive-xetex texlive-latex-extra texlive-fonts-recommended \
	texlive-plain-generic texlive-science latexmk xindy fonts-freefont-otf
SYSTEM_PACKAGES := $(TEX_PACKAGES) poppler-utils chromium chromium-driver
PDF := _build/dlnotes.pdf

.PHONY: help venv book pdf course course-pdf check-tex system-deps test lab notebooks student bench clean clean-all

help:
	@echo "make book       execute every chapter and build the website into _build/html"
	@echo "make pdf        the PDF course notes, _build/dlnotes.pdf (needs XeLaTeX: see system-deps)"
	@echo "make course     the course edition (exercises, no solutions) in _build/course/html, and its PDF when TeX is present"
	@echo "make test       unit tests of dlnotes, then build the book and check every chapter"
	@echo "make lab        JupyterLab; chapters (book/*.md) open as notebooks via jupytext"
	@echo "make notebooks  build the book, then write the executed chapters as plain .ipynb into notebooks/"
	@echo "make student    the same, student edition (solutions removed), into notebooks/student/"
	@echo "make bench      benchmarks (ratios, not pass/fail)"
	@echo "make system-deps  install the Debian packages for the PDF and the browser tests (root)"
	@echo "make clean      remove _build and notebooks/ (keeps .venv); clean-all also .venv"

venv: $(STAMP)
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

book: $(STAMP)
	$(JB) build . -n -W --keep-going

# The PDF is built from its own doctree (_build/pdf) and shares the execution cache.
pdf: check-tex $(STAMP)
	$(JB) build . --builder pdflatex --path-output _build/pdf -n -W --keep-going
	cp _build/pdf/_build/latex/dlnotes.pdf $(PDF)
	@echo "PDF: $(PDF)"

# The course edition: every exercise and no solution, on the site, in its notebooks and PDF.
# Its own doctrees (_build/course); the execution cache is the book's.
COURSE := _build/course
course: $(STAMP)
	DLNOTES_EDITION=course $(JB) build . --path-output $(COURSE) -n -W --keep-going
	ln -sfn _build/html $(COURSE)/html
	@echo "course site: $(COURSE)/html/index.html"
	@if command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v xindy >/dev/null; \
	  then $(MAKE) --no-print-directory course-pdf; \
	  else echo "course PDF skipped: no XeLaTeX (see make system-deps)"; fi

course-pdf: check-tex $(STAMP)
	DLNOTES_EDITION=course $(JB) build . --builder pdflatex --path-output $(COURSE)/pdf -n -W --keep-going
	cp $(COURSE)/pdf/_build/latex/dlnotes.pdf $(COURSE)/dlnotes-course.pdf
	@echo "course PDF: $(COURSE)/dlnotes-course.pdf"

check-tex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v xindy >/dev/null || \
	  { echo "make pdf needs XeLaTeX. On Debian or Ubuntu, as root:"; \
	    echo "  apt-get update && apt-get install -y --no-install-recommends $(TEX_PACKAGES)"; \
	    echo "(or run: make system-deps)"; exit 1; }

system-deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES)

test: $(STAMP)
	$(BIN)/python -m pytest

# Chapters are Markdown; tell JupyterLab to open .md files as Jupytext notebooks.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): $(STAMP)
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $@

lab: $(STAMP) $(LAB_OVERRIDES)
	$(BIN)/jupyter lab --notebook-dir=.

# Both start from the executed chapters and the numbers of the book build.
notebooks: book
	$(BIN)/python tools/notebooks.py full notebooks $(CHAPTERS)

student: book
	$(BIN)/python tools/notebooks.py student notebooks/student $(CHAPTERS)

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _build notebooks

clean-all: clean
	rm -rf $(VENV)
