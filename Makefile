# dlnotes: one entry point. Every target creates .venv from requirements.txt first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
CHAPTERS := $(sort $(wildcard book/[0-9][0-9]-*.md))

.PHONY: help venv book test lab notebooks bench clean clean-all

help:
	@echo "make book       execute every chapter and build the website into _build/html"
	@echo "make test       unit tests of dlnotes, then build the book and check every chapter"
	@echo "make lab        JupyterLab; chapters (book/*.md) open as notebooks via jupytext"
	@echo "make notebooks  write .ipynb copies of the chapters into notebooks/"
	@echo "make bench      benchmarks (ratios, not pass/fail)"
	@echo "make clean      remove _build and notebooks/ (keeps .venv); clean-all also .venv"

venv: $(STAMP)
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

book: $(STAMP)
	$(JB) build . -n -W --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest

# Chapters are Markdown; tell JupyterLab to open .md files as Jupytext notebooks.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): $(STAMP)
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $@

lab: $(STAMP) $(LAB_OVERRIDES)
	$(BIN)/jupyter lab --notebook-dir=.

notebooks: $(STAMP)
	mkdir -p notebooks
	for f in $(CHAPTERS); do $(BIN)/jupytext --to ipynb -o notebooks/$$(basename $${f%.md}).ipynb $$f || exit 1; done

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _build notebooks

clean-all: clean
	rm -rf $(VENV)
