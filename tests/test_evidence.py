"""A rater's rules and quoted evidence: taken by the form, checked verbatim, kept by the store, import and export."""
from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest

import qcikit
from qcikit import widgets
from qcikit.store import Store

from conftest import SAMPLES


@pytest.fixture(scope="module")
def eng():
    return qcikit.Engagement.load(SAMPLES / "brightwave")


def _form(eng, tmp_path):
    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    form.rater.value = "ana"
    form.interaction.value = eng.inventory.loc[eng.inventory["touchpoint"] == "email", "interaction_id"].iloc[0]
    for dd in form.points.values():
        if not dd.disabled:
            dd.value = dd.options[-1]
    return form


def _words(eng, iid, n=6):
    """Six words of the transcript's second line, spaced and wrapped differently (layout does not count)."""
    line = eng.interactions.set_index("interaction_id").loc[iid, "transcript"].splitlines()[1]
    return "\n ".join(line.split()[1:1 + n])


def _saved_with_evidence(eng, tmp_path):
    """A form saved with a quote and a rule for the greeting; returns the form and the quote."""
    form = _form(eng, tmp_path)
    quote = _words(eng, form.interaction.value)
    form.evidence["greeting"].value = quote
    form.rules["greeting"].value = ["personal_greeting"]
    form.save.click()
    assert "Saved 16 scores" in form.status.value, form.status.value
    return form, quote


def test_the_form_stores_rules_and_verbatim_evidence(eng, tmp_path):
    form, quote = _saved_with_evidence(eng, tmp_path)
    row = form.store.latest().set_index("element").loc["greeting"]
    assert (row["rules"], row["evidence"]) == ("personal_greeting", quote.strip())
    assert pd.isna(form.store.latest().set_index("element").loc["tone", "evidence"])
    # Only the element's own rules can be chosen.
    assert form.rules["greeting"].allowed_tags == [r.id for r in (*eng.rubric.element("greeting").rules.additive,
                                                                  *eng.rubric.element("greeting").rules.subtractive)]


def test_evidence_that_is_not_in_the_transcript_is_refused(eng, tmp_path):
    form = _form(eng, tmp_path)
    form.evidence["greeting"].value = "Dear valued customer, we apologise profusely"
    form.save.click()
    assert form.status.value.startswith("<span style='color:#e76f51'>Not saved: the evidence for greeting is not a "
                                        "verbatim quote of the transcript."), form.status.value
    assert form.store.n_rows == 0


def test_evidence_survives_a_dead_kernel_as_a_draft(eng, tmp_path):
    form = _form(eng, tmp_path)
    form.evidence["greeting"].value = "Hello"
    form.rules["greeting"].value = ["personal_greeting"]
    again = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    again.interaction.value = form.interaction.value
    again.rater.value = "ana"
    assert again.evidence["greeting"].value == "Hello" and again.rules["greeting"].value == ["personal_greeting"]


def test_export_and_import_keep_rules_and_evidence(eng, tmp_path):
    form, quote = _saved_with_evidence(eng, tmp_path)
    out = form.store.export_csv(tmp_path / "scores.csv")
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns)[-2:] == ["rules", "evidence"]
    again = Store(tmp_path / "other.sqlite")
    assert again.import_scores(table) == 16 and again.import_scores(table) == 0  # twice adds nothing
    row = again.latest().set_index("element").loc["greeting"]
    assert row["rules"] == "personal_greeting" and row["evidence"] == quote.strip()
    # Evidence added later to the same points is news, and is taken in.
    table.loc[table["element"] == "tone", "evidence"] = "Hello"
    assert again.import_scores(table) == 1


def test_a_store_from_before_evidence_gains_the_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE scores (id INTEGER PRIMARY KEY AUTOINCREMENT, interaction_id TEXT NOT NULL, "
                      "rater TEXT NOT NULL, element TEXT NOT NULL, points REAL, wave TEXT, rubric_version TEXT, "
                      "saved_by TEXT NOT NULL, saved_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');"
                      "INSERT INTO scores (interaction_id, rater, element, points, saved_by, saved_at) "
                      "VALUES ('I-1', 'ana', 'greeting', 2, 'ana', '2026-01-01');")
    con.close()
    latest = Store(path).latest()
    assert latest[["points", "rules", "evidence"]].values.tolist()[0][0] == 2 and latest["rules"].isna().all()


def test_validate_checks_a_raters_rules_and_evidence_in_scores_csv(tmp_path):
    folder = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", folder)
    scores = pd.read_csv(folder / "scores.csv", dtype=str, keep_default_na=False)
    first = scores.index[scores["element"] == "greeting"][0]
    scores["rules"], scores["evidence"] = "", ""
    scores.loc[first, ["rules", "evidence"]] = ["no_such_rule", "words nobody wrote"]
    scores.to_csv(folder / "scores.csv", index=False)
    problems = [str(p) for p in qcikit.Engagement.validate(folder)]
    row = f"row {first + 2}"
    assert any(p.startswith(f"scores.csv, {row}: rules 'no_such_rule' name a rule that element 'greeting' does not have")
               for p in problems), problems
    assert any(p.startswith(f"scores.csv, {row}: evidence 'words nobody wrote' for 'greeting' is not a verbatim quote")
               for p in problems), problems
    assert len(problems) == 2
    # Empty rules and evidence are fine: both are optional for raters.
    scores.loc[first, ["rules", "evidence"]] = ["", ""]
    scores.to_csv(folder / "scores.csv", index=False)
    assert qcikit.Engagement.validate(folder) == []
