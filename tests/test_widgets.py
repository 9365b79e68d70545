"""Widgets driven from Python as a person drives them: set values, click, read the store."""
import pytest

import qcikit
from qcikit import sampling, widgets
from qcikit.store import Store

from conftest import SAMPLES


@pytest.fixture(scope="module")
def eng():
    return qcikit.Engagement.load(SAMPLES / "brightwave")


def fill(form, value="last"):
    for dd in form.points.values():
        if not dd.disabled:
            dd.value = dd.options[-1] if value == "last" else value


def test_scoring_form_saves_a_whole_form(eng, tmp_path):
    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    form.rater.value = "ana"
    email = eng.inventory.loc[eng.inventory["touchpoint"] == "email", "interaction_id"].iloc[0]
    form.interaction.value = email
    fill(form)
    form.save.click()
    assert "Saved 16 scores" in form.status.value
    latest = form.store.latest()
    assert set(latest["interaction_id"]) == {email} and (latest["rater"] == "ana").all()
    assert latest["rubric_version"].iloc[0] == eng.rubric.version
    assert latest.set_index("element").loc["greeting", "points"] == 2


def test_scoring_form_refuses_incomplete_and_nameless(eng, tmp_path):
    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    form.save.click()
    assert "Not saved" in form.status.value and "rater" in form.status.value
    form.rater.value = "ana"
    form.points["greeting"].value = "1"
    form.save.click()
    assert "not scored yet" in form.status.value
    assert form.store.latest().empty


def test_scoring_form_follows_scenario_and_na_rules(eng, tmp_path):
    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    phone = eng.inventory.loc[eng.inventory["touchpoint"] == "phone", "interaction_id"].iloc[0]
    form.interaction.value = phone
    assert form.points["written_presentation"].disabled  # excluded for spoken channels
    assert widgets.NA in form.points["policy_reason"].options
    assert widgets.NA not in form.points["greeting"].options
    form.rater.value = "ana"
    fill(form)
    form.points["policy_reason"].value = widgets.NA
    form.save.click()
    latest = form.store.latest().set_index("element")
    assert "written_presentation" not in latest.index
    assert latest["points"].isna()["policy_reason"]
    # Transcripts are escaped and redacted in the form too.
    assert "<script>" not in form.transcript.value


def test_dispute_from_the_form(eng, tmp_path):
    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    form.rater.value = "ana"
    fill(form)
    form.save.click()
    form.rater.value = "ben"
    form.dispute_rater.value = "ana"
    form.dispute_element.value = "tone"
    form.comment.value = "tone was curt"
    form.dispute.click()
    assert "Dispute #1 raised" in form.status.value
    assert form.store.disputes(open_only=True)["element"].tolist() == ["tone"]


def test_rubric_explorer_weights(eng):
    ex = widgets.RubricExplorer(eng)
    assert ex.frame()["weight_%"].sum() == pytest.approx(100)
    ex.facets["emotional_state"].value = "angry"
    angry = ex.frame()
    assert angry["weight_%"].sum() == pytest.approx(100)
    ex.dimension.value = "Connection"
    conn = ex.frame()
    assert set(conn["dimension"]) == {"Connection"} and conn["weight_%"].sum() > 25
    assert "<table" in ex.table.value


def test_sample_size_what_if():
    w = widgets.SampleSizeWhatIf(population=5000, cost_per_interaction=10)
    w.margin.value = 0.03
    assert w.n == sampling.sample_size(0.03, 0.95, 5000)
    assert f"<b>{w.n}</b>" in w.result.value and f"{w.n * 10:,.0f}" in w.result.value


def test_dashboard_filters(eng):
    d = widgets.Dashboard(eng)
    all_ = d.frame()
    d.team.value = d.team.options[1]
    team = d.frame()
    assert team["n"].max() < all_["n"].max()
    d.touchpoint.value = "face_to_face"
    assert "<table" in d.table.value


def test_typed_values_survive_a_dead_kernel(eng, tmp_path):
    path = tmp_path / "s.sqlite"
    form = widgets.ScoringForm(eng, Store(path))
    form.rater.value = "ana"
    iid = form.interaction.value
    form.points["greeting"].value = "2"
    form.points["tone"].value = "1"
    del form  # the kernel dies before Save
    again = widgets.ScoringForm(eng, Store(path))
    again.interaction.value = iid
    again.rater.value = "ana"
    assert again.points["greeting"].value == "2" and again.points["tone"].value == "1"
    assert "Restored an unsaved draft" in again.status.value
    fill(again)
    again.save.click()
    # Once saved, the draft is spent: a fresh form starts empty.
    third = widgets.ScoringForm(eng, Store(path))
    third.rater.value = "ana"
    assert third.points["greeting"].value == ""


def test_the_form_offers_only_declared_raters(eng, tmp_path):
    """Issue 17: a typo ("devv") saved into the append-only store broke render and reliability."""
    import traitlets

    form = widgets.ScoringForm(eng, Store(tmp_path / "s.sqlite"))
    assert list(form.rater.options) == ["", *eng.config.rater_names]
    assert list(form.dispute_rater.options) == ["", *eng.config.rater_names]
    with pytest.raises(traitlets.TraitError):
        form.rater.value = "anaa"
    fill(form)
    form.save.click()  # no rater chosen
    assert "Not saved: choose your name as rater" in form.status.value
    assert form.store.n_rows == 0
