"""JupyterLab's server opens every notebook: the contents API loads and validates each one."""
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyterlab_opens_every_notebook(tmp_path):
    port, token = _free_port(), "qcikit-test"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}", "--ServerApp.open_browser=False",
           "--allow-root", f"--ServerApp.runtime_dir={tmp_path}"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not start within 60 s")
        # The lab page itself is served (the front end a consultant opens).
        assert urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10).status == 200
        for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
            rel = nb.relative_to(ROOT).as_posix()
            with urllib.request.urlopen(f"{base}/api/contents/{rel}?token={token}&content=1", timeout=20) as r:
                model = json.load(r)
            assert model["type"] == "notebook" and model["format"] == "json", rel
            assert not model.get("message"), (rel, model.get("message"))  # set when nbformat validation fails
            assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
    finally:
        server.terminate()
        server.wait(30)
