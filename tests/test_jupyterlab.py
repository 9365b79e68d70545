"""JupyterLab's server opens every notebook: the contents API loads and validates each one."""
import json
import urllib.request

from conftest import ROOT, jupyter_lab


def test_jupyterlab_opens_every_notebook(tmp_path):
    token = "qcikit-test"
    with jupyter_lab(ROOT, tmp_path, token) as base:
        # The lab page itself is served (the front end a consultant opens).
        assert urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10).status == 200
        for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
            rel = nb.relative_to(ROOT).as_posix()
            with urllib.request.urlopen(f"{base}/api/contents/{rel}?token={token}&content=1", timeout=20) as r:
                model = json.load(r)
            assert model["type"] == "notebook" and model["format"] == "json", rel
            assert not model.get("message"), (rel, model.get("message"))  # set when nbformat validation fails
            assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
