"""Training on the gold set: practice with feedback that writes nothing, and the certification check."""
import shutil

import numpy as np
import pytest

import qcikit
from qcikit import training, widgets
from qcikit.store import Store

from conftest import SAMPLES


@pytest.fixture(scope="module")
def eng():
    return qcikit.Engagement.load(SAMPLES / "northwind")


def test_practice_and_certification_sets_are_apart_and_fixed(eng):
    practice, held_out = training.practice_split(eng)
    assert len(held_out) == training.MIN_CERTIFICATION and not set(practice) & set(held_out)
    assert set(practice) | set(held_out) == set(eng.gold["interaction_id"])
    assert training.practice_split(eng) == (practice, held_out)
    with pytest.raises(qcikit.QcikitError, match="certification needs at least 20 held-out interactions"):
        training.practice_split(eng, n_certification=10)


def test_a_careful_trainee_passes_and_a_lenient_one_does_not(eng):
    """The check reads the interval's lower limit against .667 (Krippendorff 2004, §11.4)."""
    _, held_out = training.practice_split(eng)
    results = {h: training.certify(eng, h, training.simulate_trainee(eng, held_out, h, seed=s), held_out, n_boot=500).iloc[0]
               for h, s in (("careful", 3), ("lenient", 3))}
    careful, lenient = results["careful"], results["lenient"]
    assert careful["passed"] and careful["ci_low"] >= training.CERTIFY_AT and careful["alpha"] > 0.9
    assert not lenient["passed"] and lenient["ci_low"] < training.CERTIFY_AT
    assert careful["n_interactions"] == 20 and careful["rubric_version"] == eng.rubric.version


def test_certification_alpha_matches_the_krippendorff_package(eng):
    """The estimate is Krippendorff's alpha on shares of the maximum, as the reference package computes it."""
    krippendorff = pytest.importorskip("krippendorff")
    _, held_out = training.practice_split(eng)
    pts = training.simulate_trainee(eng, held_out, "lenient", seed=1)
    ours = training.certify(eng, "t", pts, held_out, n_boot=100).iloc[0]["alpha"]
    g = eng.gold[eng.gold["interaction_id"].isin(held_out)].merge(pts, on=["interaction_id", "element"])
    maxp = g["element"].map(eng.rubric.max_points)
    data = np.vstack([g["points_y"] / maxp, g["points_x"] / maxp])
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="interval"), abs=1e-9)


def test_certification_needs_every_held_out_interaction(eng):
    _, held_out = training.practice_split(eng)
    pts = training.simulate_trainee(eng, held_out[:12], "careful")
    with pytest.raises(qcikit.QcikitError, match=r"t scored 12 of the 20 held-out interactions; .* are missing\. Fix:"):
        training.certify(eng, "t", pts, held_out)


def test_certification_is_recorded_in_the_store_and_scores_are_untouched(eng, tmp_path):
    _, held_out = training.practice_split(eng)
    store = Store(tmp_path / "scores.sqlite")
    training.certify(eng, "tess", training.simulate_trainee(eng, held_out, "careful"), held_out, n_boot=200, store=store)
    rec = store.certifications()
    assert list(rec["trainee"]) == ["tess"] and bool(rec["passed"].iloc[0])
    assert rec["rubric_version"].iloc[0] == eng.rubric.version and rec["at"].iloc[0].startswith("20")
    assert store.n_rows == 0  # nothing near the real scores


def test_practice_form_gives_feedback_per_element_and_writes_nothing(tmp_path):
    work = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", work)
    eng = qcikit.Engagement.load(work)
    practice, held_out = training.practice_split(eng)
    form = widgets.PracticeForm(eng, practice, trainee="tess")
    assert list(form.interaction.options) == practice
    # Every rule is decidable where the trainee scores: the brand voice (phrases, sign-off, words to avoid) is shown.
    voice = eng.config.brand_voice
    assert all(p.replace("'", "&#x27;") in form.voice.value for p in [*voice.signature_phrases, voice.sign_off, *voice.avoid])
    iid = practice[0]
    gold = eng.gold[eng.gold["interaction_id"] == iid].set_index("element")
    for e, dd in form.points.items():
        if dd.disabled:
            continue
        p = gold.loc[e, "points"]
        dd.value = widgets.NA if np.isnan(p) else str(int(p))
    wrong = next(e for e, dd in form.points.items() if not dd.disabled and dd.value not in ("0", widgets.NA))
    form.points[wrong].value = "0"
    form.save.click()
    fb = form.feedback.value
    assert f"{len(gold) - 1} of {len(gold)} elements as gold" in fb
    quoted = gold.loc[wrong, "evidence"]
    assert isinstance(quoted, str) and quoted[:20].replace("'", "&#x27;") in fb  # gold's evidence, escaped
    # ... and the words that decided gold's points are marked in the transcript, named by element
    import html

    name = eng.rubric.elements.loc[wrong, "name"]
    marked = f'<mark title="{html.escape(name)}: gold {gold.loc[wrong, "points"]:g}, yours 0">{html.escape(quoted)}</mark>'
    if quoted in form._shown_text():  # a quote holding redacted words cannot be found in the shown text
        assert marked in form.transcript.value
    assert form.transcript.value.count("<mark") == 1  # only where the trainee differed
    assert form.answers().shape[0] == int((~np.array([dd.disabled for dd in form.points.values()])).sum())
    assert not (work / "scores.sqlite").exists()  # practice never creates or touches the store
    cert = widgets.PracticeForm(eng, held_out, trainee="tess", feedback=False)
    assert cert.save.description == "Record" and cert.feedback.value == ""


def test_workspace_training_notebook_records_certifications(tmp_path):
    import json

    from qcikit.workspace import write_notebooks

    work = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", work)
    write_notebooks(work)
    nb = json.loads((work / "notebooks" / "training" / "01_score_like_gold.ipynb").read_text(encoding="utf-8"))
    params = next("".join(c["source"]) for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert 'engagement = "../.."' in params and "record = True" in params


def test_a_precise_rule_raises_agreement_on_the_real_transcripts(eng):
    """Training 2's demonstration: a vague rule read three ways, the precise rules read alike."""
    t = training.vague_vs_precise(eng, n_boot=200, seed=7)
    vague, precise = t.iloc[0], t.iloc[1]
    assert precise["alpha"] > 0.8 > vague["alpha"] and precise["ci_low"] > vague["ci_high"]
    element = vague["element"]
    rows = eng.gold[(eng.gold["element"] == element) & eng.gold["points"].notna()]
    assert vague["interactions"] == len(rows)
    # The element chosen is where gold gives partial credit most often.
    with pytest.raises(qcikit.QcikitError, match="gold.csv has no scored rows for element 'nope'"):
        training.vague_vs_precise(eng, element="nope")


def test_gold_rules_must_be_the_elements_and_give_its_points(tmp_path):
    """gold.csv's optional `rules` column is checked: known rule ids, and points that follow from them."""
    import pandas as pd

    work = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", work)
    g = pd.read_csv(work / "gold.csv", dtype=str, keep_default_na=False)
    with_rules = g.index[g["rules"] != ""]
    a, b = with_rules[0], with_rules[1]
    g.loc[a, "rules"] = g.loc[a, "rules"] + " bogus"
    g.loc[b, "points"] = str(int(g.loc[b, "points"]) + 1)
    g.to_csv(work / "gold.csv", index=False)
    problems = [str(p) for p in qcikit.Engagement.validate(work)]
    assert any(f"gold.csv, row {a + 2}: rules '" in p and "bogus" in p and "does not have (its rules:" in p
               for p in problems), problems
    assert any(f"gold.csv, row {b + 2}: rules '{g.loc[b, 'rules']}' give {int(g.loc[b, 'points']) - 1} point(s)" in p
               and "Fix: Correct the points or the rules" in p for p in problems), problems
    assert len(problems) == 2


def test_highlight_marks_verbatim_quotes_and_escapes_everything():
    text = "Customer: <script>x</script>\nAgent: I'm sorry your parcel was late. I will call the depot."
    out = training.highlight(text, [("I will call the depot", "Ownership: gold 2"), ("not in it", "x"),
                                    ("sorry your parcel", "overlaps nothing"), ("parcel was late", "overlaps")])
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert '<mark title="Ownership: gold 2">I will call the depot</mark>' in out
    assert '<mark title="overlaps nothing">sorry your parcel</mark>' in out
    assert out.count("<mark") == 2  # the quote not found and the overlapping one are left unmarked
    assert training.highlight("a<b", []) == "a&lt;b"
