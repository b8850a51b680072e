"""`make lab`: the Jupyter server that JupyterLab runs on opens each chapter as a notebook."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
