"""The report's content: first-wave reports, escaping and redaction, audit tables."""
import pandas as pd
import pytest

import qcikit
from qcikit.sections import ReportContext, esc, redact, table_html

from conftest import SAMPLES


def test_first_wave_report_has_no_change_section():
    r = ReportContext.load(SAMPLES / "northwind", "2026-Q2")
    assert r.change is None
    assert "Change since" not in r.page_one()
    assert "Change since" not in r.detail_html()


def test_unknown_wave_is_a_clear_error():
    with pytest.raises(qcikit.MetricsError, match="wave '2027-Q1' is not in engagement.yaml"):
        ReportContext.load(SAMPLES / "northwind", "2027-Q1")


@pytest.mark.parametrize("text, expected", [
    ("write to jo.smith+x@mail.example.org today", "write to [e-mail] today"),
    ("call +44 7700 900123 or 020 7946 0958", "call [phone] or [phone]"),
    ("order 12345 arrives on 2026-07-01", "order 12345 arrives on 2026-07-01"),
])
def test_redact(text, expected):
    assert redact(text, "GB") == expected  # national numbers need the engagement's country


def test_tables_escape_every_cell():
    html = table_html(pd.DataFrame({"<b>col</b>": ["<script>x</script>", "a & b"]}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html and "&lt;b&gt;col" in html
    assert esc('"quoted"') == "&quot;quoted&quot;"


def test_coaching_and_data_notes_quote_safely():
    r = ReportContext.load(SAMPLES / "voltania")
    coaching, notes = r.coaching_html(), r.data_notes_html()
    for page in (coaching, notes):
        assert "<script>" not in page and "@example.com" not in page and "+44 7700" not in page
    assert "&lt;script&gt;" in notes and "[e-mail]" in notes
    assert coaching.count("Coaching page") == r.current["team"].nunique()


def test_save_tables_writes_the_headline(tmp_path):
    r = ReportContext.load(SAMPLES / "brightwave")
    path = r.save_tables(tmp_path)
    table = pd.read_csv(path)
    assert list(table["measure"]) == ["QCI", *r.eng.rubric.dimensions]
    assert table.loc[0, "estimate"] == pytest.approx(r.headline()["qci"]["estimate"])


def test_summary_says_what_changed():
    r = ReportContext.load(SAMPLES / "northwind")
    text = r.page_one()
    # The generator improved these elements in wave 2; the summary names them as real changes.
    assert "What changed" in text and "Setting expectations +" in text and "Ownership +" in text


def test_first_wave_report_says_there_is_no_earlier_wave():
    r = ReportContext.load(SAMPLES / "northwind", "2026-Q2")
    assert r.change is None
    assert "first measured wave: there is no earlier wave to compare with" in r.page_one()
    later = ReportContext.load(SAMPLES / "northwind", "2026-Q3")
    assert later.change.attrs["before"] == "2026-Q2"
    # The words follow the interval: the headline says "real change" exactly when its interval excludes 0.
    row = later.change[later.change["kind"] == "overall"].iloc[0]
    assert ("a real change" in later.page_one()) == bool(row["ci_low"] > 0 or row["ci_high"] < 0)
