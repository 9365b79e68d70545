"""The wheel is the kit: a plain (non-editable) install in a fresh venv, used outside the checkout.

Builds the wheel, installs it into a new virtual environment (no test tools,
no checkout on the path) and runs the consultant's sequence from an empty
folder: demo, new, validate, sample, reliability, render, export.
"""
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT


def run(cmd, cwd, ok=(0,), timeout=900):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})
    assert proc.returncode in ok, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    t0 = time.perf_counter()
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", root / "dist", ROOT], cwd=root)
    [wheel] = (root / "dist").glob("qcikit-*.whl")
    run([sys.executable, "-m", "venv", root / "venv"], cwd=root)
    bin_ = root / "venv" / "bin"
    run([bin_ / "python", "-m", "pip", "install", "-q", "--no-compile", wheel], cwd=root)
    print(f"build + fresh venv + install: {time.perf_counter() - t0:.0f} s")
    return root, bin_


def test_plain_install_pulls_no_test_tools(installed):
    root, bin_ = installed
    listed = run([bin_ / "python", "-m", "pip", "list", "--format=freeze"], cwd=root).stdout.lower()
    for tool in ("pytest", "nbval", "coverage", "hypothesis", "playwright"):
        assert f"\n{tool}==" not in "\n" + listed, tool
    where = run([bin_ / "python", "-c", "import qcikit; print(qcikit.__file__)"], cwd=root).stdout
    assert "site-packages" in where and str(ROOT) not in where


def test_the_consultant_sequence_outside_the_checkout(installed, tmp_path):
    root, bin_ = installed
    q = bin_ / "qcikit"
    work = tmp_path / "work"
    work.mkdir()
    t0 = time.perf_counter()
    demo = run([q, "demo", "--out", "reports", "--quiet"], cwd=work)
    assert "Writing the three sample engagements" in demo.stdout
    assert sorted(p.name for p in (work / "reports").glob("*.html")) == [
        f"{c}-2026-Q3{kind}.html" for c in ("brightwave", "northwind", "voltania") for kind in ("-qa", "")]
    # Render output is quiet: no kernel transport warning, no shutdown chatter.
    assert "eavesdropping" not in demo.stderr + demo.stdout and "Parent appears" not in demo.stderr + demo.stdout
    assert (work / "qcikit-samples" / "northwind" / "notebooks" / "03_criteria_and_measurement.ipynb").is_file()

    run([q, "new", "acme", "--client", "Acme Ltd"], cwd=work)
    assert (work / "acme" / "notebooks" / "01_identify_opportunities.ipynb").is_file()
    empty = run([q, "validate", "acme"], cwd=work, ok=(2,))
    assert "interactions.csv: the file has a header but no rows" in empty.stdout

    import shutil

    shutil.copytree(work / "qcikit-samples" / "brightwave", work / "bw")
    assert "clean" in run([q, "validate", "bw"], cwd=work).stdout
    assert "Drew" in run([q, "sample", "bw", "--force"], cwd=work).stdout
    assert "agreement by element" in run([q, "reliability", "bw", "--n-boot", "100"], cwd=work).stdout
    pdf = ["--pdf"] if shutil.which("chromium") else []  # the installed kit prints PDFs too (make test installs chromium)
    rendered = run([q, "render", "bw", "--out", "out", "--quiet", *pdf], cwd=work)
    assert (work / "out" / "brightwave-2026-Q3.html").is_file(), rendered.stdout
    assert (work / "out" / "brightwave-2026-Q3-qa.html").is_file()
    assert (work / "out" / "brightwave-2026-Q3.pdf").is_file() == bool(pdf)
    run([q, "export", "bw", "--format", "csv"], cwd=work)
    assert (work / "bw" / "export" / "brightwave_elements.csv").is_file()
    again = run([q, "export", "bw", "--format", "csv"], cwd=work, ok=(2,))
    assert "--force" in again.stderr
    # pyarrow is a core dependency (the rules auto-scorer reads transcripts with it): Parquet needs no extra
    run([q, "export", "bw", "--format", "parquet"], cwd=work)
    assert (work / "bw" / "export" / "brightwave_elements.parquet").is_file()
    print(f"wheel-install sequence (demo, new, validate, sample, reliability, render, export): "
          f"{time.perf_counter() - t0:.0f} s")
