"""The report's content: first-wave reports, escaping and redaction, audit tables."""
import pandas as pd
import pytest

import qcikit
from qcikit import metrics
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
    coaching, notes = r.coaching_html(), r.qa_html()
    for page in (coaching, notes):
        assert "<script>" not in page and "@example.com" not in page and "+44 7700" not in page
    assert "&lt;script&gt;" in notes and "[e-mail]" in notes
    assert coaching.count("Coaching page") == r.current["team"].nunique()


def test_save_tables_writes_the_headline(tmp_path):
    r = ReportContext.load(SAMPLES / "brightwave")
    path = r.save_tables(tmp_path)
    assert path.name == "brightwave-2026-Q3-summary.csv"
    table = pd.read_csv(path)
    # Brightwave's report heads with the assisted QCI (engagement.yaml `assisted: rules`); the human-only beside it
    assert list(table["measure"]) == ["QCI", "QCI (human scores only)", *r.eng.rubric.dimensions]
    assert table.loc[0, "estimate"] == pytest.approx(r.headline()["qci"]["estimate"])
    assert table.loc[1, "estimate"] == pytest.approx(metrics.qci_estimate(r.eng, r.wave)["estimate"].iloc[0])


def test_an_assisted_report_says_how_and_shows_the_human_only_figure():
    r = ReportContext.load(SAMPLES / "brightwave")
    est = metrics.qci_estimate(r.eng, r.wave, assisted="rules").iloc[0]
    h = r.headline()
    assert h["qci"]["estimate"] == pytest.approx(est["estimate"])
    assert h["qci"]["ci_high"] - h["qci"]["ci_low"] < h["human_qci"]["ci_high"] - h["human_qci"]["ci_low"]
    page = r.page_one()
    n_eq = f"{round(est['n_equivalent']):,}"
    assert (f"All {int(est['N']):,} interactions of wave 2026-Q3 were scored by the rules scorer and corrected by the "
            f"{int(est['n']):,} scored by trained raters: this is as precise as {n_eq} of the {int(est['N']):,}") in page
    # the change compares assisted with assisted: the machine scored both waves
    before = metrics.qci_estimate(r.eng, "2026-Q2", assisted="rules").iloc[0]
    assert h["change"]["change"] == pytest.approx(est["estimate"] - before["estimate"])
    method = r.method_html()
    assert "The model-assisted QCI" in method and f"{est['human_estimate']:.1f}" in method
    qa = r.qa_html()  # the consultant's page: λ, correlation and effective n per stratum, agreement per element
    assert "Correlation machine–raters" in qa and "Agreement is not accuracy" in qa and "Effective n" in qa
    # a report without `assisted:` says nothing of a machine
    assert "scorer" not in ReportContext.load(SAMPLES / "northwind").page_one()


def test_an_assisted_report_without_machine_scores_is_one_clear_error(tmp_path):
    import shutil

    d = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", d)
    (d / "autoscores.csv").unlink()
    with pytest.raises(qcikit.QcikitError, match="no auto-scores of scorer 'rules'"):
        ReportContext.load(d).page_one()


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


def test_no_team_or_touchpoint_is_pooled_away_only_scenarios_are():
    """Issue 17: pooling small groups into "Other (…)" hid a whole touchpoint from the client. Every team,
    touchpoint and facet level is shown with its n (small ones with a wide-interval note); scenarios, many
    and tiny, are still pooled; a level with no scored interaction is named with the reason."""
    r = ReportContext.load(SAMPLES / "northwind")
    for column in ("team", "touchpoint", *[f for f in r.eng.schema.names if f in r.current]):
        counts = r.current[column].value_counts()
        t = r.by(column)
        assert not t["pooled"].any()
        assert set(t["group"]) == {r.label(x) for x in counts.index}
        assert dict(zip(t["group"], t["n"])) == {r.label(k): v for k, v in counts.items()}
    scen = r.by("scenario", pool=True)
    counts = r.current["scenario"].value_counts()
    assert (scen.loc[~scen["pooled"], "n"] >= r.min_cell).all() and scen["n"].sum() == counts.sum()
    detail = r.detail_html()
    assert f"below {r.min_cell} its interval is wide" in detail
    assert "scenarios seen, the largest with" in detail
    # A touchpoint with no scored interaction this wave is named, with why there is no estimate.
    e = r.eng
    tp = e.interactions.loc[e.interactions["wave"] == r.wave, "touchpoint"].value_counts().index[-1]
    gone = set(e.interactions.loc[e.interactions["touchpoint"] == tp, "interaction_id"])
    e.scores = e.scores[~e.scores["interaction_id"].isin(gone)]
    r2 = ReportContext(e, r.wave, metrics.interaction_table(e))
    html = r2.group_table("touchpoint", "Touchpoints", "Touchpoint")
    assert f"No estimate for {r2.label(tp)} (" in html and "was scored this wave" in html


def test_labels_come_from_scenarios_yaml_or_a_tidy_id():
    r = ReportContext.load(SAMPLES / "northwind")
    assert r.label("face_to_face") == "In person"  # labels: in scenarios.yaml
    assert r.label("get_information") == "Get information"  # no label: the id tidied
    assert r.eng.schema.scenario_label("email / new / billing / calm / get_information") == \
        "Email · New · Billing · Calm · Get information"


def test_unreliable_elements_carry_a_caveat_wherever_recommended():
    r = ReportContext.load(SAMPLES / "brightwave")
    unreliable = r.unreliable
    assert unreliable  # the samples' agreement intervals fall below .667 for several elements
    page = r.page_one()
    fix_first = page[page.index("Fix first"):]
    from qcikit import metrics

    top = metrics.priorities(r.eng, r.wave, top=3)
    items = fix_first.split("<li>")[1:]
    for (element, item) in zip(top["element"], items):
        assert ("raters do not yet agree" in item) == (element in unreliable)
    weakest = {e for t in r.current["team"].unique() for e in metrics.team_weakest(r.eng, t, r.wave)["element"]}
    assert ("raters do not yet agree" in r.coaching_html()) == bool(weakest & unreliable)


def test_an_element_the_raters_agree_on_has_no_caveat():
    r = ReportContext.load(SAMPLES / "brightwave")
    r.__dict__["agreement"] = r.agreement.assign(verdict="reliable")  # as if the raters had been calibrated
    assert r.unreliable == set() and "raters do not yet agree" not in r.page_one() + r.coaching_html()


def test_page_one_defines_the_qci_with_the_dimension_weights():
    r = ReportContext.load(SAMPLES / "voltania")
    page = r.page_one()
    assert "What the QCI measures" in page
    for d in r.eng.rubric.model.dimensions:
        assert f"{d.name} {100 * d.weight:.0f} %" in page
    q = r.headline()["qci"]
    assert f"{q['estimate']:.1f}</span>" in page and f"95 % CI {q['ci_low']:.1f}–{q['ci_high']:.1f}" in page
    assert "Chart of the QCI by wave" in page  # the trend's alt text carries the numbers


def test_coaching_pages_quote_a_real_example_beside_the_behaviour_to_aim_for():
    from qcikit import answers, metrics

    r = ReportContext.load(SAMPLES / "northwind")
    page = r.coaching_html()
    for team in sorted(r.current["team"].unique()):
        first = metrics.team_weakest(r.eng, team, r.wave).iloc[0]["element"]
        ex = r.example_interaction(team, first)
        assert ex and r.eng.interactions.set_index("interaction_id").loc[ex["id"], "team"] == team
        if ex["rationale"]:  # a gold interaction: the rule as scored and its verbatim evidence are on the page
            gold = r.eng.gold[(r.eng.gold["interaction_id"] == ex["id"]) & (r.eng.gold["element"] == first)].iloc[0]
            assert gold["points"] < r.eng.rubric.max_points[first]
            assert esc(gold["rationale"]) in page
            if isinstance(gold["evidence"], str) and gold["evidence"]:
                assert esc(gold["evidence"]) in page
        assert esc(answers.element_guidance(r.eng.rubric, r.eng.answers, first)["do"]) in page
    assert page.count("The behaviour to aim for") == r.current["team"].nunique()


def test_redaction_is_configurable_and_the_label_says_what_was_removed(tmp_path):
    """Issue 17: the coaching page said "personal data redacted" while names and policy numbers were printed.
    engagement.yaml's redact: patterns and the export's names are removed, and the label lists what was."""
    import shutil

    import yaml

    folder = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", folder)
    cfg = yaml.safe_load((folder / "engagement.yaml").read_text())
    cfg["redact"] = {"patterns": {"order number": r"\bNW-\d+"}}
    (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    inter = pd.read_csv(folder / "interactions.csv", dtype=str, keep_default_na=False)
    inter["customer_name"] = "Dana Reyes"
    inter["transcript"] = inter["transcript"] + "\n[end] Agent: Thanks Dana, order NW-123456 is on its way."
    inter.to_csv(folder / "interactions.csv", index=False)
    r = ReportContext.load(folder)
    html = r.coaching_html()
    assert "Dana" not in html and "NW-123456" not in html
    assert "[name]" in html and "[order number]" in html
    assert "personal data removed: 1 order number, 1 name; also looked for: e-mail addresses, phone numbers" in html
    assert r.eng.redaction_kinds() == ["e-mail addresses", "phone numbers", "order numbers", "names"]
    # Without names in the data the label does not claim them.
    plain = ReportContext.load(SAMPLES / "northwind")
    assert "names" not in plain.eng.redaction_kinds()
    assert "names" not in str(plain.coaching_html()).split("The whole interaction")[1].split("</summary>")[0]


def test_a_bad_redaction_pattern_is_one_clear_message(tmp_path):
    import shutil

    import yaml

    folder = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", folder)
    cfg = yaml.safe_load((folder / "engagement.yaml").read_text())
    cfg["redact"] = {"patterns": {"policy number": "POL-(\\d+"}}
    (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    problems = qcikit.Engagement.validate(folder)
    assert len(problems) == 1
    assert "the pattern for 'policy number' is not a valid regular expression" in str(problems[0])


def test_page_one_names_the_rater_who_drives_poor_agreement():
    """Issue 20: not only "raters do not yet agree", but who, and what leaving them out does."""
    import re

    from qcikit import reliability

    r = ReportContext.load(SAMPLES / "brightwave")
    note = r.agreement_note()
    d = r.drivers
    fixed = d[d["verdict"].isin(["reliable", "tentative"])]
    driver = fixed["left_out"].value_counts().idxmax()
    assert f"Rater {driver} drives most of it: without {driver}, {(fixed['left_out'] == driver).sum()} of the " \
           f"{len(r.unreliable)} reach agreement" in note
    own = r.eng.scores[r.eng.scores["wave"] == r.wave]
    q = reliability.qci_without(own, r.eng.rubric, [driver], r.eng.inventory_facets())
    assert f"moves from {q['mean_qci'].iloc[0]:.1f} to {q['mean_qci'].iloc[1]:.1f}" in note
    assert note in str(r.page_one())
    # Where leaving one rater out fixes only a minority, the note says the rules need work, not that rater.
    north = ReportContext.load(SAMPLES / "northwind")
    nd = north.drivers
    nfixed = nd[nd["verdict"].isin(["reliable", "tentative"])]
    if len(nfixed) * 2 <= len(north.unreliable):
        assert "No single rater explains most of it" in north.agreement_note()
        assert "drives most of it" not in north.agreement_note()
    # An element the driver explains says so in its caveat; one nobody explains asks for sharper rules.
    for element in r.unreliable:
        text = re.sub(r"<[^>]+>", "", r.caveat(element))
        if element in fixed.index:
            assert f"rater {fixed.loc[element, 'left_out']} reads it differently" in text
        else:
            assert "whoever is left out; sharpen its rules" in text
