"""Calibration sessions: disagreements worst first, side by side, settled by the lead, unclear rules noted."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import qcikit
from qcikit import calibration, widgets
from qcikit.errors import QcikitError

from conftest import SAMPLES


@pytest.fixture
def bright(tmp_path):
    folder = tmp_path / "brightwave"
    shutil.copytree(SAMPLES / "brightwave", folder)
    return folder


def test_disagreements_are_worst_first_and_na_against_points_is_full_width():
    eng = qcikit.Engagement.load(SAMPLES / "brightwave")
    d = calibration.disagreements(eng)
    assert len(d) and (d["width"].diff().dropna() <= 0).all() and (d["width"] > 0).all()
    own = eng.own_ratings[eng.own_ratings["wave"] == eng.config.waves[-1]]
    # Hand check of every row's width from the raters' own points.
    for r in d.head(25).itertuples():
        pts = own[(own["interaction_id"] == r.interaction_id) & (own["element"] == r.element)]["points"]
        top = float(eng.rubric.max_points[r.element])
        expect = 1.0 if pts.isna().any() and pts.notna().any() else (pts.max() - pts.min()) / top
        assert r.width == pytest.approx(expect)
        assert r.n_raters == pts.size >= 2
    # Pairs the raters agree on are not listed.
    agree = own.groupby(["interaction_id", "element"])["points"].agg(lambda s: s.fillna(-1).nunique() == 1)
    listed = set(zip(d["interaction_id"], d["element"]))
    assert not listed & set(agree[agree].index)


def test_side_by_side_shows_rules_evidence_and_gold():
    eng = qcikit.Engagement.load(SAMPLES / "northwind")
    d = calibration.disagreements(eng, wave="2026-Q2")
    row = d[d["gold"] != ""].iloc[0]
    table = calibration.side_by_side(eng, row["interaction_id"], row["element"], wave="2026-Q2")
    assert list(table.columns) == ["rater", "points", "rules", "evidence", "rule texts"]
    gold = table[table["rater"] == "gold"].iloc[0]
    g = eng.gold.set_index(["interaction_id", "element"]).loc[(row["interaction_id"], row["element"])]
    assert gold["evidence"] == (g["evidence"] if isinstance(g["evidence"], str) else "")
    if g["rules"] and isinstance(g["rules"], str):
        first = g["rules"].split()[0]
        assert gold["rule texts"].startswith(first + " (")
    assert table["rater"].iloc[-1] == "gold"


def test_a_session_settles_three_disagreements_and_the_report_uses_the_settled_points(bright):
    eng = qcikit.Engagement.load(bright)
    session = widgets.CalibrationSession(eng, lead="ana")
    settled = []
    for k in range(len(session.items)):
        row = session.items.iloc[k]
        own = eng.own_ratings
        scorers = own[(own["interaction_id"] == row["interaction_id"]) & (own["element"] == row["element"]) &
                      (own["wave"] == eng.config.waves[-1])]
        decided = scorers.loc[scorers["rater"] == "ana", "points"]
        if decided.empty or pd.isna(decided.iloc[0]):
            continue  # the lead settles where her own points are the agreed ones
        session.pick.value = k
        session.points.value = f"{decided.iloc[0]:g}"
        session.reason.value = "the reply names the refund and its date, which rule direct_answer credits"
        session.settle.click()
        assert "Settled" in session.status.value, session.status.value
        settled.append((row["interaction_id"], row["element"], float(decided.iloc[0]), set(scorers["rater"]) - {"ana"}))
        if len(settled) == 3:
            break
    assert len(settled) == 3
    after = qcikit.Engagement.load(bright)
    assert after.scores_source.startswith("scores.sqlite")
    disputes = after.open_store().disputes()
    assert len(disputes) >= 3 and disputes["settled_by"].eq("ana").all() and disputes["raised_by"].eq("calibration session").all()
    for iid, element, points, others in settled:
        s = after.scores[(after.scores["interaction_id"] == iid) & (after.scores["element"] == element)]
        assert (s["points"] == points).all()  # the metrics (and the report) read the settled points
        o = after.own_ratings[(after.own_ratings["interaction_id"] == iid) & (after.own_ratings["element"] == element)]
        assert not (o["points"] == points).all()  # agreement still reads each rater's own
    # The QCI of a settled interaction is the rubric's arithmetic on the settled points.
    iid = settled[0][0]
    mine = after.scored()
    manual = qcikit.score(after.scores[after.scores["interaction_id"] == iid], after.rubric, after.inventory_facets())
    got = mine[mine["interaction_id"] == iid].set_index("rater")["qci"].sort_index()
    assert np.allclose(got.to_numpy(), manual.set_index("rater")["qci"].sort_index().to_numpy())
    # Settled disagreements leave the list.
    again = calibration.disagreements(after)
    assert not set((i, e) for i, e, _, _ in settled) & set(zip(again["interaction_id"], again["element"]))


def test_settling_refusals(bright):
    eng = qcikit.Engagement.load(bright)
    store = eng.open_store()
    row = calibration.disagreements(eng).iloc[0]
    with pytest.raises(QcikitError, match="a settlement needs a reason"):
        calibration.settle(eng, store, row["interaction_id"], row["element"], 0, "ana", " ")
    top = float(eng.rubric.max_points[row["element"]])
    with pytest.raises(QcikitError, match=rf"{top + 1:g} is outside 0–{top:g}"):
        calibration.settle(eng, store, row["interaction_id"], row["element"], top + 1, "ana", "because")
    own = eng.own_ratings
    mine = own[(own["interaction_id"] == row["interaction_id"]) & (own["element"] == row["element"]) & (own["rater"] == "ana")]
    if not mine.empty:
        other = next(p for p in range(int(top) + 1) if p != mine["points"].iloc[0])
        with pytest.raises(QcikitError, match="cannot settle their own score"):
            calibration.settle(eng, store, row["interaction_id"], row["element"], other, "ana", "because")


def test_unclear_rules_feed_the_changelog(bright):
    eng = qcikit.Engagement.load(bright)
    session = widgets.CalibrationSession(eng, lead="ana")
    row = session.current()
    session.rule.value = session.rule.options[1]
    session.note.value = "one rater credits a numbered list of steps, the other wants a sentence"
    session.mark.click()
    assert "Noted" in session.status.value
    session.note.value = ""
    session.mark.click()
    assert "Not noted: a note on a rule needs words" in session.status.value
    unclear = calibration.unclear_rules(eng.open_store())
    assert unclear[["element", "rule", "times"]].values.tolist() == [[row["element"], session.rule.options[1], 1]]
    draft = calibration.changelog_draft(eng.rubric, eng.open_store(), "2026-12-02")
    import yaml

    entry = yaml.safe_load(draft)["changes"][0]
    assert entry["version"] == "brightwave-2" and entry["date"] == "2026-12-02"
    assert f"{row['element']}.{session.rule.options[1]}" in entry["what"] and "numbered list" in entry["why"]


def test_a_rubric_change_is_named_when_waves_were_scored_under_different_versions(bright):
    """Issue 20: rewording bumps the version, rubric.yaml keeps the changelog, scores keep their version; the report
    names the change when it compares waves scored under two versions; a wave never mixes versions."""
    import yaml

    from qcikit.sections import ReportContext

    rub = yaml.safe_load((bright / "rubric.yaml").read_text())
    rub["version"] = "brightwave-2"
    rub["changes"] = [
        {"version": "brightwave-1", "date": "2026-04-01", "what": "First version.", "why": "Agreed in step 3."},
        {"version": "brightwave-2", "date": "2026-08-15", "what": "Reworded setting_expectations.customer_action",
         "why": "a numbered list of steps now counts as stating what the customer must do"}]
    (bright / "rubric.yaml").write_text(yaml.safe_dump(rub, allow_unicode=True, sort_keys=False))
    scores = pd.read_csv(bright / "scores.csv", dtype=str, keep_default_na=False)
    scores.loc[scores["wave"] == "2026-Q3", "rubric_version"] = "brightwave-2"
    scores.to_csv(bright / "scores.csv", index=False)
    gold = pd.read_csv(bright / "gold.csv", dtype=str, keep_default_na=False)
    if "rubric_version" in gold:
        gold.loc[gold["wave"] == "2026-Q3", "rubric_version"] = "brightwave-2"
        gold.to_csv(bright / "gold.csv", index=False)
    assert qcikit.Engagement.validate(bright) == []
    sentence = ReportContext.load(bright, "2026-Q3").change_sentence()
    assert ("2026-Q2 was scored under rubric version brightwave-1 and 2026-Q3 under brightwave-2: Reworded "
            "setting_expectations.customer_action (a numbered list of steps now counts as stating what the customer "
            "must do).") in sentence
    # The same version on both sides: nothing to name.
    assert "rubric version" not in ReportContext.load(SAMPLES / "brightwave", "2026-Q3").change_sentence()
    # A version missing from the changelog, and two versions in one wave, are refused.
    rub["changes"] = rub["changes"][1:]
    (bright / "rubric.yaml").write_text(yaml.safe_dump(rub, allow_unicode=True, sort_keys=False))
    assert any("scored under rubric version brightwave-1, not the current brightwave-2" in str(p)
               for p in qcikit.Engagement.validate(bright))
    rub["changes"].insert(0, {"version": "brightwave-1", "date": "2026-04-01", "what": "First.", "why": "Start."})
    (bright / "rubric.yaml").write_text(yaml.safe_dump(rub, allow_unicode=True, sort_keys=False))
    first = scores.index[scores["wave"] == "2026-Q3"][0]
    scores.loc[first, "rubric_version"] = "brightwave-1"
    scores.to_csv(bright / "scores.csv", index=False)
    problems = [str(p) for p in qcikit.Engagement.validate(bright)]
    assert any("wave 2026-Q3: the wave holds scores under rubric versions brightwave-1, brightwave-2" in p
               for p in problems), problems
    # The current version must be the changelog's last entry.
    rub["version"] = "brightwave-3"
    from qcikit.rubric import validate_rubric_dict

    problems = [str(p) for p in validate_rubric_dict(rub)]
    assert any("version 'brightwave-3' is not the last entry of changes ('brightwave-2')" in p for p in problems)
