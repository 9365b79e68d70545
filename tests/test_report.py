"""Batch rendering: isolation, failure handling, parameters, escaping, dask."""
import shutil
from pathlib import Path

import nbformat
import pytest

from qcikit import RenderError
from qcikit.cli import main
from qcikit.report import check_parameters, render_reports, to_html
from qcikit.workspace import report_notebook

from conftest import SAMPLES

REPORT_NOTEBOOK = report_notebook()

CLIENTS = ["northwind", "brightwave", "voltania"]


def test_three_render_and_the_broken_one_fails_alone(rendered):
    out, results = rendered
    assert [r.ok for r in results] == [True, True, True, False]
    bad = results[-1]
    assert "smile" in bad.error and bad.problems
    for r in results[:3]:
        assert Path(r.html).is_file() and Path(r.notebook).is_file()
        nb = nbformat.read(r.notebook, as_version=4)
        assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_reports_are_isolated(rendered):
    out, results = rendered
    pages = {r.slug: Path(r.html).read_text(encoding="utf-8") for r in results if r.ok}
    markers = {"northwind": ["Northwind Outfitters", "NO-0"], "brightwave": ["Brightwave Analytics", "BR-0"],
               "voltania": ["Voltania Energy", "VO-0"]}
    for slug, page in pages.items():
        for other, words in markers.items():
            for w in words:
                assert (w in page) == (other == slug), (slug, w)


def test_html_is_self_contained_and_escaped(rendered):
    out, results = rendered
    for r in results[:3]:
        page, qa = (Path(f).read_text(encoding="utf-8") for f in (r.html, r.qa))
        for html in (page, qa):
            assert "<script" not in html.lower()
            assert "src=\"http" not in html and "href=\"http" not in html
            assert "@example.com" not in html and "+44 7700" not in html  # redacted
        assert "&lt;script&gt;" in qa  # the transcript holding markup is quoted, as text, on the QA page only
        assert "data:image/png;base64," in page
        assert "Coaching page" in page and "Summary for executives" in page


def test_client_and_qa_pages_split_the_notebook(rendered):
    """The QA cells (sources, seed, data notes) reach the consultant's page and the audit notebook, never the client's."""
    out, results = rendered
    for r in results[:3]:
        page, qa = (Path(f).read_text(encoding="utf-8") for f in (r.html, r.qa))
        nb = nbformat.read(r.notebook, as_version=4)
        tagged = [c for c in nb.cells if "qa" in c.metadata.get("tags", [])]
        assert tagged and all(c.get("outputs", True) for c in tagged if c.cell_type == "code")
        assert "QA notes" in qa and "Data notes" in qa and "Sources" in qa and "sampling seed" in qa
        assert "QA notes" not in page and "Data notes" not in page and "sampling seed" not in page
        assert "Summary for executives" not in qa
        # The audit table is written beside the report, and said so only on the QA page.
        summary = Path(out) / f"{Path(r.html).stem}-summary.csv"
        assert summary.is_file() and summary.name in qa and summary.name not in page


def test_to_html_refuses_an_unknown_audience():
    nb = nbformat.v4.new_notebook()
    with pytest.raises(RenderError, match=r"audience 'board' is not known\. Fix: use one of client, qa\."):
        to_html(nb, "t", audience="board")


def test_failed_notebook_shows_where(tmp_path):
    nb = nbformat.read(str(REPORT_NOTEBOOK), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('boom in cell')"))
    broken_nb = tmp_path / "report.ipynb"
    nbformat.write(nb, str(broken_nb))
    [res] = render_reports([SAMPLES / "brightwave"], tmp_path / "out", workers=1, notebook=broken_nb, progress=False)
    assert not res.ok and "boom in cell" in res.error
    failed = nbformat.read(res.notebook, as_version=4)
    assert "Rendering failed" in failed.cells[0].source
    assert "boom in cell" in failed.cells[res.cell].source  # the index points at the failing cell
    assert failed.cells[res.cell].outputs[0]["output_type"] == "error"


def test_unknown_parameter_is_refused():
    with pytest.raises(RenderError, match="unknown parameter\\(s\\) colour"):
        check_parameters(REPORT_NOTEBOOK, {"engagement": "x", "colour": "red"})


def test_to_html_drops_javascript_and_escapes_text():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "<b>x</b>"}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>alert(2)</script>"),
    ])])
    page = to_html(nb, "t <i>")
    assert "alert(1)" not in page and "&lt;script&gt;alert(2)" in page and "<title>t &lt;i&gt;</title>" in page


def test_render_cli_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLES / "brightwave", bad)
    (bad / "rubric.yaml").unlink()
    assert main(["render", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "rubric.yaml: the file is missing" in captured.err


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        [res] = render_reports([SAMPLES / "brightwave"], tmp_path, executor=client, progress=False)
    assert res.ok and Path(res.html).is_file()


def test_missing_report_notebook_is_a_clear_error(tmp_path):
    with pytest.raises(RenderError, match="the report notebook .* does not exist"):
        render_reports([SAMPLES / "brightwave"], tmp_path, notebook=tmp_path / "nope.ipynb", progress=False)


def test_each_wave_has_its_own_report_and_the_title_names_client_and_wave(tmp_path):
    out = tmp_path / "out"
    results = [render_reports([SAMPLES / "brightwave"], out, wave=w, workers=1, progress=False)[0]
               for w in ("2026-Q2", "2026-Q3")]
    assert all(r.ok for r in results)
    assert sorted(p.name for p in out.glob("*.html")) == ["brightwave-2026-Q2-qa.html", "brightwave-2026-Q2.html",
                                                          "brightwave-2026-Q3-qa.html", "brightwave-2026-Q3.html"]
    first = (out / "brightwave-2026-Q2.html").read_text(encoding="utf-8")
    assert "<title>Brightwave Analytics — Quality of Customer Interaction, wave 2026-Q2</title>" in first
    assert "no earlier wave to compare with" in first


def test_two_engagements_with_one_slug_are_refused(tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(SAMPLES / "brightwave", twin)
    with pytest.raises(RenderError, match=f"{SAMPLES / 'brightwave'} and {twin} both have slug 'brightwave'"):
        render_reports([SAMPLES / "brightwave", twin], tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_pdf_without_a_browser_is_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QCIKIT_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert main(["render", str(SAMPLES / "brightwave"), "--out", str(tmp_path / "o"), "--pdf", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "QCIKIT_CHROMIUM is set to" in err and "Fix:" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_a_browser_that_fails_leaves_no_pdf(tmp_path):
    from qcikit.report import to_pdf

    html = tmp_path / "r.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(RenderError, match=r"r\.pdf: the browser .*false did not print the report \(exit 1"):
        to_pdf(html, tmp_path / "r.pdf", browser=shutil.which("false"))
    assert list(tmp_path.iterdir()) == [html]  # no half-written PDF, no temp file left
