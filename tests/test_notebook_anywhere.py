"""A chapter notebook runs outside the repository: its setup cell installs dlnotes.

The heavy test downloads a chapter notebook from the served website into an empty
folder outside the checkout and executes it in a fresh virtual environment that starts
with nothing but a kernel. The setup cell installs the wheel the site serves and the
pinned dependencies (torch from this machine's local wheel, the rest from the package
index), then every cell must run.
"""

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "tools"))
import notebooks  # noqa: E402

CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))


def _setup_cells(nb):
    return [c for c in nb.cells if notebooks.SETUP_TAG in c.metadata.get("tags", [])]


def test_setup_cell_does_nothing_where_dlnotes_is_installed():
    done = subprocess.run([sys.executable, "-c", notebooks.setup_cell().source],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_setup_cell_pins_what_requirements_pin():
    source = notebooks.setup_cell().source
    for name, version in notebooks.runtime_pins().items():
        assert f"'{name}': '{version}'" in source
    assert 'pins["dlnotes"] = "0.1.0"' in source and "DLNOTES_WHEEL" in source
    assert "pip install dlnotes" not in source  # the bare name is another project


@pytest.mark.slow
@pytest.mark.parametrize("edition", ["full", "student"])
def test_written_notebooks_start_with_the_setup_cell(build, tmp_path, edition):
    assert build.returncode == 0, "the book did not build"
    for path in notebooks.write(edition, tmp_path, CHAPTERS):
        nb = nbformat.read(path, 4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert _setup_cells(nb) == [first_code]


@pytest.fixture(scope="module")
def site(build):
    assert build.returncode == 0, "the book did not build"
    handler = functools.partial(_Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_site_serves_the_wheel_of_the_package(site):
    name = notebooks.wheel_name()
    with urllib.request.urlopen(f"{site}/wheels/{name}", timeout=30) as response:
        data = response.read()
    wheel = HTML / "wheels" / name
    assert wheel.read_bytes() == data
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for module in (ROOT / "src" / "dlnotes").rglob("*.py"):
        assert module.relative_to(ROOT / "src").as_posix() in names


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_site_download_starts_with_the_setup_cell(site, chapter):
    url = f"{site}/_sources/book/{chapter.stem}.ipynb"
    with urllib.request.urlopen(url, timeout=30) as response:
        nb = nbformat.reads(response.read().decode(), 4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert _setup_cells(nb) == [first_code]


@pytest.mark.slow
def test_downloaded_notebook_runs_in_a_fresh_environment(site, tmp_path_factory, monkeypatch):
    """The first chapter, downloaded, in an empty folder, in a venv with only a kernel."""
    work = tmp_path_factory.mktemp("reader")
    assert ROOT not in work.parents
    chapter = CHAPTERS[0].stem
    with urllib.request.urlopen(f"{site}/_sources/book/{chapter}.ipynb", timeout=30) as r:
        (work / f"{chapter}.ipynb").write_bytes(r.read())
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    kernel = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.startswith("ipykernel==")]
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *kernel], check=True,
                   timeout=900)
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(venv),
                    "--name", "reader"], check=True, capture_output=True, timeout=300)
    nb = nbformat.read(work / f"{chapter}.ipynb", 4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import dlnotes, json, sys\n"
        "print(json.dumps({'file': dlnotes.__file__, 'prefix': sys.prefix}))"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "PYTHONPATH", "VIRTUAL_ENV")}
    # Static explorers: headless nbclient has been seen to stall for minutes on the comm
    # traffic of live ipywidgets (test_widgets.py tests the live explorers without a kernel).
    env.update(DLNOTES_WHEEL=f"{site}/wheels/{notebooks.wheel_name()}", DLNOTES_WIDGETS="static",
               PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    monkeypatch.setenv("JUPYTER_PATH", str(venv / "share" / "jupyter"))  # finds "reader"
    client = NotebookClient(nb, kernel_name="reader", timeout=900,
                            resources={"metadata": {"path": str(work)}})
    started = time.perf_counter()
    client.execute(env=env)
    print(f"downloaded {chapter} ran in a fresh venv in {time.perf_counter() - started:.0f} s")
    where = json.loads(nb.cells[-1].outputs[-1]["text"])
    assert Path(where["prefix"]) == venv
    assert Path(where["file"]).is_relative_to(venv), where
    setup_output = "".join(o.get("text", "") for o in _setup_cells(nb)[0].outputs)
    assert "installing dlnotes from " + env["DLNOTES_WHEEL"] in setup_output
