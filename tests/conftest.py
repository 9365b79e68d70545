from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
DATA = Path(__file__).resolve().parent / "data"


def _element(i, dim, max_points=4, **kw):
    e = {
        "id": f"e{i}", "name": f"Element {i}", "dimension": dim, "max_points": max_points,
        "rules": {"additive": [{"id": "r", "text": "does it", "points": max_points, "example": "ex"}],
                  "subtractive": [{"id": "s", "text": "fails it", "points": 1, "example": "ex"}]},
    }
    e.update(kw)
    return e


def small_rubric() -> dict:
    """Eight elements, two per dimension, equal weights; dimensions 0.25 each.

    Every element is then worth 1/8 of the QCI, which keeps hand computations short.
    """
    dims = ["Timing", "Information", "Connection", "Differentiation"]
    return {
        "version": "t-1",
        "dimensions": [{"name": d, "weight": 0.25} for d in dims],
        "elements": [_element(i, dims[i // 2]) for i in range(8)],
    }


@pytest.fixture
def small_rubric_dict():
    return small_rubric()


@pytest.fixture
def make_rubric(small_rubric_dict):
    from qcikit.rubric import Rubric

    def make(**changes):
        d = yaml.safe_load(yaml.safe_dump(small_rubric_dict))
        for k, v in changes.items():
            d[k] = v
        return Rubric.from_dict(d)

    return make


CLIENTS = ["northwind", "brightwave", "voltania"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The three samples plus one broken engagement, rendered once for the whole session."""
    root = tmp_path_factory.mktemp("render")
    broken = root / "broken"
    shutil.copytree(SAMPLES / "brightwave", broken)
    (broken / "engagement.yaml").write_text(
        (broken / "engagement.yaml").read_text().replace("slug: brightwave", "slug: broken"))
    (broken / "scores.csv").write_text("interaction_id,rater,element,points\nBR-000001,ana,smile,3\n")
    from qcikit.report import render_reports

    out = root / "out"
    dirs = [SAMPLES / c for c in CLIENTS] + [broken]
    # PDFs too wherever Chromium is (always under `make test`, which installs it): the browser test reads them.
    return out, render_reports(dirs, out, workers=2, progress=False, pdf=CHROMIUM is not None)




@contextmanager
def jupyter_lab(root_dir: Path, tmp_path: Path, token: str = "qcikit-test", settings: Path | None = None):
    """A JupyterLab server on loopback serving ``root_dir``; yields its base URL (stopped on exit)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--allow-root",
           f"--ServerApp.runtime_dir={tmp_path / 'runtime'}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    if settings is not None:
        cmd.append(f"--LabApp.user_settings_dir={settings}")
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
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
        yield base
    finally:
        server.terminate()
        server.wait(30)


def pdf_page_fill(path) -> list[float]:
    """How full each page of a PDF is: the height its text and images span, as a share of the page's height
    inside the print margins (A4, 15 mm top and 18 mm bottom in report.css). The "Page i of N" footer sits in
    the bottom margin and is left out."""
    from pypdf import PdfReader

    bottom = 18 * 72 / 25.4
    usable = 842 - 15 * 72 / 25.4 - bottom
    fills = []
    for page in PdfReader(path).pages:
        ys: list[float] = []

        def on_text(text, cm, tm, font, size, ys=ys):
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if text.strip() and y > bottom:
                ys.extend([y, y + (size or 0) * abs(cm[3] or 1)])

        def on_op(op, args, cm, tm, ys=ys):
            if op == b"Do" and cm[5] + cm[3] > bottom:  # an image drawn into the unit square of the current matrix
                ys.extend([cm[5], cm[5] + cm[3]])

        page.extract_text(visitor_text=on_text, visitor_operand_before=on_op)
        fills.append(min((max(ys) - min(ys)) / usable, 1.0) if ys else 0.0)
    return fills


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session (tests/pgcluster.py). In CI it must run; elsewhere a machine
    without Debian's postgresql skips the server's tests."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import pgcluster

    if pgcluster.bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs PostgreSQL: `make test` installs Debian's postgresql; it is missing.")
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    with pgcluster.cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_server):
    """A fresh database on the session's server, its URL with the password."""
    import pgcluster

    return pgcluster.new_database(pg_server)
