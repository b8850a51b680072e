"""`make lab`: the Jupyter server that JupyterLab runs on opens each chapter as a notebook."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest

from tools import require

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]-*.md"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, token = _free_port(), "dlnotes-test"
    log = (tmp_path_factory.mktemp("lab") / "server.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "server", "--no-browser", "--allow-root",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT}"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # at most 60 s
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"jupyter server did not start; see {log.name}")
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_opens_as_a_notebook(server, chapter):
    base, token = server
    rel = chapter.relative_to(ROOT).as_posix()
    model = _get(f"{base}/api/contents/{rel}?type=notebook&content=1&token={token}")
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert sum(c["cell_type"] == "code" for c in cells) >= 5
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"


def test_every_lab_extension_is_compatible():
    """An incompatible extension is skipped by JupyterLab without a word in the UI: the
    pins of jupyterlab, jupytext and jupyterlab-myst must fit together."""
    done = subprocess.run([str(Path(sys.executable).with_name("jupyter")), "labextension",
                           "list"], capture_output=True, text=True, timeout=120)
    listing = done.stdout + done.stderr
    for name in ("jupyterlab-myst", "jupyterlab-jupytext"):
        assert re.search(rf"{name} v\S+ \S*enabled\S* \S*OK", listing), listing
    assert "is not compatible" not in listing, listing


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` as a reader starts it: the Makefile's viewer settings, a fresh workspace."""
    require("chromium", "chromedriver")
    overrides = ROOT / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
        subprocess.run(["make", str(overrides.relative_to(ROOT))], cwd=ROOT, check=True,
                       capture_output=True, timeout=600)
    tmp = tmp_path_factory.mktemp("lab-ui")
    # Opening a chapter marks it modified (jupytext adds its version to the front matter);
    # no autosave, so the test never rewrites a chapter.
    settings = tmp / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"autosave": False}))
    port, token = _free_port(), "dlnotes-test"
    log = (tmp / "lab.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT}", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={tmp}", f"--LabApp.user_settings_dir={tmp}"],
        stdout=log, stderr=subprocess.STDOUT)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-dev-shm-usage",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        driver.get(f"{base}/lab?token={token}")
        yield driver
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(timeout=30)


def _wait(driver, script: str, seconds: float = 90):
    for _ in range(int(seconds * 2)):
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for: {script}")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_opens_in_jupyterlab_as_a_notebook_with_myst_rendered(lab, chapter):
    """Double-clicking a chapter (the default viewer) opens a notebook whose Markdown
    cells render MyST: directives as boxes, roles as text, math typeset."""
    rel = chapter.relative_to(ROOT).as_posix()
    before = chapter.read_bytes()
    _wait(lab, "const a = window.jupyterapp; return !!(a && a.docRegistry && "
               "a.docRegistry.defaultWidgetFactory('x.md')?.name === 'Jupytext Notebook')")
    lab.execute_script("window.jupyterapp.commands.execute('docmanager:open', {path: "
                       f"{rel!r}}})")
    expected = sum(c.cell_type == "markdown" for c in jupytext.read(chapter).cells)
    here = (f"const w = window.jupyterapp.shell.currentWidget; if (!w || !w.context || "
            f"w.context.path !== {rel!r}) return null; const node = w.node; ")
    _wait(lab, here + "return node.querySelectorAll('.jp-MarkdownCell').length "
                      f"=== {expected}")
    texts = []
    for i in range(expected):  # cells render as they scroll into view
        texts.append(lab.execute_script(
            here + "const c = node.querySelectorAll('.jp-MarkdownCell')[arguments[0]]; "
            "c.scrollIntoView(); "
            "return new Promise(r => setTimeout(() => r(c.innerText), 150));", i))
    text = "\n".join(texts)
    for raw in ("{prf:", "{exercise}", "{eq}`", "{ref}`", "{cite:", "```{"):
        assert raw not in text, f"{raw} shown raw in {rel}"
    assert "Exercise" in text and "Definition" in text
    assert lab.execute_script(here + "return node.querySelectorAll('.jp-MarkdownCell .katex, "
                              ".jp-MarkdownCell mjx-container').length") > 20
    assert chapter.read_bytes() == before, f"JupyterLab rewrote {rel}"
