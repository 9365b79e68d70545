"""Scores have one source of truth (the engagement's store) and nothing wrong passes silently."""
import shutil

import pandas as pd
import pytest

import qcikit
from qcikit import reliability
from qcikit.cli import main
from qcikit.store import Store

from conftest import DATA, SAMPLES


@pytest.fixture
def bright(tmp_path):
    folder = tmp_path / "brightwave"
    shutil.copytree(SAMPLES / "brightwave", folder)
    return folder


def _form_save(eng, rater, iid, points_by_element):
    """Drive the scoring form as a person does: pick rater and interaction, set the boxes, click Save."""
    from qcikit.widgets import ScoringForm

    form = ScoringForm(eng)
    form.rater.value = rater
    form.interaction.value = iid
    for e, dd in form.points.items():
        if not dd.disabled:
            dd.value = points_by_element.get(e, "0")
    form.save.click()
    assert form.status.value.startswith("<span style='color:#2a9d8f'>Saved"), form.status.value
    return form


def test_form_scores_reach_validate_reliability_and_the_report(bright, tmp_path, capsys):
    eng = qcikit.Engagement.load(bright)
    assert eng.scores_source == "scores.csv"
    before = len(eng.scores)
    # An interaction that only one other rater scored, now scored by 'ana' through the form's buttons.
    by = eng.scores.groupby("interaction_id")["rater"].agg(set)
    iid = next(i for i, r in by.items() if r == {"ben"})
    n_units = lambda e: reliability.by_element(e.own_ratings, e.rubric, n_boot=20, seed=1).set_index("element")["n_units"]  # noqa: E731
    units_before = n_units(eng)
    form = _form_save(eng, "ana", iid, {})
    n_new = len(form.values())
    # The first save created the store and took in scores.csv: nothing was left behind.
    after = qcikit.Engagement.load(bright)
    assert after.scores_source.startswith("scores.sqlite")
    assert len(after.scores) == before + n_new
    assert set(after.scores.loc[after.scores["interaction_id"] == iid, "rater"]) == {"ana", "ben"}
    assert main(["validate", str(bright)]) == 0
    assert "read from scores.sqlite" in capsys.readouterr().out
    # reliability sees the new overlap unit at once ...
    gained = n_units(after) - units_before
    assert gained.isin([0, 1]).all() and gained.sum() >= len(gained) - 2  # +1 wherever both scored the element
    assert main(["reliability", str(bright), "--n-boot", "20"]) == 0
    assert "Scores read from scores.sqlite" in capsys.readouterr().out
    # ... and the report's numbers are those of the store's scores.
    from qcikit import metrics
    from qcikit.report import render_reports

    wave = after.interactions.set_index("interaction_id").loc[iid, "wave"]
    [res] = render_reports([bright], tmp_path / "out", wave=wave, workers=1, progress=False)
    assert res.ok, res.error
    summary = pd.read_csv(tmp_path / "out" / f"brightwave-{wave}-summary.csv")
    cur = metrics.interaction_table(after)
    cur = cur[cur["wave"] == wave]
    expected = metrics.weighted_mean_ci(cur["qci"], cur["weight"], strata=cur["stratum"], fpc=cur["fpc"])["estimate"]
    old = metrics.interaction_table(eng)
    old = old[old["wave"] == wave]
    # (Brightwave's headline is model-assisted; the human-only QCI beside it is the store's scores' estimate)
    assert summary.loc[summary["measure"] == "QCI (human scores only)", "estimate"].iloc[0] == pytest.approx(expected)
    assert expected != pytest.approx(metrics.weighted_mean_ci(old["qci"], old["weight"], strata=old["stratum"],
                                                              fpc=old["fpc"])["estimate"])


def test_import_is_idempotent_and_export_loses_nothing(bright, capsys):
    assert main(["scores", "import", str(bright)]) == 0
    first = Store(bright / "scores.sqlite").n_rows
    assert main(["scores", "import", str(bright)]) == 0
    assert Store(bright / "scores.sqlite").n_rows == first  # the same file twice adds nothing
    assert "Imported 0 new row(s)" in capsys.readouterr().out
    # A correction in the store, then an export: refused without --force, then written with every row.
    store = Store(bright / "scores.sqlite")
    row = store.latest().iloc[0]
    store.save(row["interaction_id"], row["rater"], {row["element"]: 0.0}, wave=row["wave"], by=row["rater"])
    assert main(["scores", "export", str(bright)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["scores", "export", str(bright), "--force"]) == 0
    out = pd.read_csv(bright / "scores.csv", dtype={"interaction_id": str})
    assert len(out) == len(store.latest())
    hit = out[(out["interaction_id"] == row["interaction_id"]) & (out["rater"] == row["rater"]) & (out["element"] == row["element"])]
    assert hit["points"].iloc[0] == 0
    # Re-importing the old value of an export does not undo the correction.
    assert main(["scores", "import", str(bright)]) == 0
    assert Store(bright / "scores.sqlite").latest_score(row["interaction_id"], row["rater"], row["element"]) == 0


def test_export_refuses_when_the_csv_holds_rows_the_store_lacks(bright, capsys):
    Store(bright / "scores.sqlite").save("BR-X", "ana", {"greeting": 1}, by="ana")
    assert main(["scores", "export", str(bright), "--force"]) == 2
    assert "would be lost" in capsys.readouterr().err
    # And validation names the un-imported rows instead of ignoring them.
    problems = qcikit.Engagement.validate(bright)
    assert any("are not in the score store" in p.message for p in problems)


def test_settled_disputes_do_not_inflate_agreement(bright):
    eng = qcikit.Engagement.load(bright)
    store = eng.open_store()
    row = eng.scores[(eng.scores["rater"] == "chloe")].iloc[0]
    did = store.dispute(row["interaction_id"], "chloe", row["element"], by="ben", comment="too generous")
    store.settle(did, by="ana", points=0.0, comment="no rule gives the point")
    eng = qcikit.Engagement.load(bright)
    key = (eng.scores["interaction_id"] == row["interaction_id"]) & (eng.scores["element"] == row["element"])
    settled = eng.scores[key & (eng.scores["rater"] == "chloe")]["points"].iloc[0]
    own = eng.own_ratings[(eng.own_ratings["interaction_id"] == row["interaction_id"])
                          & (eng.own_ratings["element"] == row["element"]) & (eng.own_ratings["rater"] == "chloe")]
    assert settled == 0.0  # metrics use the settled value
    assert own["points"].iloc[0] == float(row["points"])  # agreement uses chloe's own rating


def test_store_is_read_in_preference_and_says_so(bright):
    eng = qcikit.Engagement.load(bright)
    eng.open_store()
    again = qcikit.Engagement.load(bright)
    assert again.scores_source == f"scores.sqlite ({len(eng.scores)} current scores)"
    key = ["interaction_id", "rater"]
    a, b = (x.scored().sort_values(key, ignore_index=True) for x in (again, eng))
    pd.testing.assert_series_equal(a["qci"], b["qci"])


# -- the silent cases, each now a precise problem ----------------------------------------------
def _problems(folder):
    return [str(p) for p in qcikit.Engagement.validate(folder)]


def test_missing_rows_of_a_critical_element_are_named(bright):
    s = pd.read_csv(bright / "scores.csv", dtype=str, keep_default_na=False)
    ids = sorted(s["interaction_id"].unique())[:30]
    drop = s["interaction_id"].isin(ids) & s["element"].isin(["actual_question", "tone"])
    s[~drop].to_csv(bright / "scores.csv", index=False)
    problems = _problems(bright)
    assert any(f"interaction {ids[0]}, rater" in p and "no row for element 'actual_question' (a critical element" in p
               for p in problems), problems[:3]
    # One message per rater and element (a column left out is one mistake), counting every interaction it hits.
    pairs = s[s["interaction_id"].isin(ids)].drop_duplicates(["interaction_id", "rater"])
    per_rater = pairs.groupby("rater")["interaction_id"].nunique()
    missing = [p for p in problems if "there is no row for element" in p]
    assert len(missing) == 2 * len(per_rater)
    for rater, n in per_rater.items():
        for element in ("actual_question", "tone"):
            [msg] = [p for p in missing if f"rater {rater}:" in p and f"'{element}'" in p]
            assert (f"{n - 1} more of this rater's interactions lack it too" in msg) if n > 1 else "more" not in msg


def test_rater_typo_names_the_closest_declared_rater(bright):
    s = pd.read_csv(bright / "scores.csv", dtype=str, keep_default_na=False)
    idx = s.index[s["rater"] == "chloe"][:40]
    s.loc[idx, "rater"] = "cloe"
    s.to_csv(bright / "scores.csv", index=False)
    assert any("rater 'cloe' (40 row(s)) is not declared in engagement.yaml; did you mean chloe?" in p
               for p in _problems(bright))


def test_scored_interactions_must_be_classified_when_rules_need_scenarios(bright):
    (bright / "inventory.csv").unlink()
    assert any("scored interaction(s) are not classified" in p and "scenario rules" in p for p in _problems(bright))


def test_inventory_touchpoint_must_agree_with_interactions(bright):
    inv = pd.read_csv(bright / "inventory.csv", dtype=str)
    first = inv["interaction_id"].iloc[0]
    other = "chat" if inv["touchpoint"].iloc[0] != "chat" else "email"
    inv.loc[0, "touchpoint"] = other
    inv.to_csv(bright / "inventory.csv", index=False)
    assert any(f"interaction {first} has touchpoint '{other}' here but" in p for p in _problems(bright))


def test_semicolon_scores_with_decimal_commas_read_correctly(bright):
    ref = qcikit.Engagement.load(bright).scored()["qci"]
    s = pd.read_csv(bright / "scores.csv", dtype=str, keep_default_na=False)
    # Excel in a German or French locale: ';' between columns, BOM, CRLF line ends.
    text = s.to_csv(index=False, sep=";", lineterminator="\r\n")
    (bright / "scores.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    eng = qcikit.Engagement.load(bright)
    pd.testing.assert_series_equal(eng.scored()["qci"], ref)


def test_decimal_comma_points_under_semicolons():
    from qcikit.engagement import _Loader

    loader = _Loader(DATA / "good")
    loader.dialect["x.csv"] = ";"
    vals = loader.numeric("x.csv", pd.DataFrame({"points": ["2,5", "3", None]}), "points", True, "fix")
    assert vals.tolist()[:2] == [2.5, 3.0]


# -- redaction -------------------------------------------------------------------------------
REDACT = [
    # (text, country, expected)
    ("write to garcía@example.com today", "GB", "write to [e-mail] today"),
    ("ana.b+returns@example.co.uk", None, "[e-mail]"),
    ("用户@例子.广告 wrote", None, "[e-mail] wrote"),
    ("pelé@xn--bcher-kva.de", None, "[e-mail]"),
    ("Zoë.Müller@straße.de", "DE", "[e-mail]"),
    ("+44 7700 900123", "GB", "[phone]"),
    ("call 07700 900123 after five", "GB", "call [phone] after five"),
    ("landline 020 7946 0018.", "GB", "landline [phone]."),
    ("+49 30 901820", "GB", "[phone]"),
    ("ring 030 9018200 please", "DE", "ring [phone] please"),
    ("(212) 555-0134", "US", "[phone]"),
    ("0044 7700 900123", "GB", "[phone]"),
    # look-alikes that must stay
    ("order 123456789 shipped", "GB", "order 123456789 shipped"),
    ("interaction BR-000123 and NW-004512", "GB", "interaction BR-000123 and NW-004512"),
    ("on 2026-07-01 and 12.07.2026", "DE", "on 2026-07-01 and 12.07.2026"),
    ("it costs £1,299.00 or 1.299,00 €", "GB", "it costs £1,299.00 or 1.299,00 €"),
    ("invoice 4401234567", "GB", "invoice 4401234567"),
    ("not an address: a@b or me@localhost", None, "not an address: a@b or me@localhost"),
]


@pytest.mark.parametrize("text,country,expected", REDACT)
def test_redact_corpus(text, country, expected):
    assert qcikit.redact(text, country=country) == expected


def test_redact_rejects_an_unknown_country():
    with pytest.raises(qcikit.QcikitError, match="country 'XX' is not a region"):
        qcikit.redact("+44 7700 900123", country="XX")
