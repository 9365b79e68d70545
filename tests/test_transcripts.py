"""The sample transcripts carry the evidence for every gold score (qcikit.transcripts).

Gold must follow from the text by the rubric's rules: the evidence is verbatim,
the rules named in gold.csv give its points by the rubric's own arithmetic, and
the timing rules — which need no judgement at all — agree with the timestamps a
rater reads.
"""
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

import qcikit
from qcikit import reliability, samples, transcripts

from conftest import SAMPLES

CLIENTS = [s.slug for s in samples.CLIENTS]


@pytest.fixture(scope="module", params=CLIENTS)
def eng(request):
    return qcikit.Engagement.load(SAMPLES / request.param)


def test_every_evidence_string_is_verbatim_in_its_transcript(eng):
    text = eng.interactions.set_index("interaction_id")["transcript"]
    g = eng.gold
    quoted = g[g["evidence"].fillna("") != ""]
    assert len(quoted) > 0.6 * g["points"].notna().sum()
    missing = [(r.interaction_id, r.element) for r in quoted.itertuples() if r.evidence not in text[r.interaction_id]]
    assert missing == []
    # Empty exactly when no rule fired or the element does not apply; a rationale on every row.
    assert ((g["evidence"].fillna("") == "") == (g["rules"].fillna("") == "")).all()
    assert g["rationale"].str.len().gt(10).all()


def test_gold_points_are_the_rubrics_rules_applied(eng):
    """Re-derive every gold row from its rules with the rubric's own scorer (Rubric.points_from_rules)."""
    g = eng.gold.dropna(subset=["points"])
    hits = (g.assign(rule=g["rules"].fillna("").str.split(), rater="gold").explode("rule").dropna(subset=["rule"]))
    derived = eng.rubric.points_from_rules(hits[["interaction_id", "rater", "element", "rule"]])
    start = eng.rubric.elements["start"] if "start" in eng.rubric.elements else pd.Series(
        {e.id: e.start for e in eng.rubric.model.elements})
    expect = g.set_index(["interaction_id", "element"])["points"]
    got = derived.set_index(["interaction_id", "element"])["points"].reindex(expect.index)
    # An element with no rule keeps its start points.
    got = got.fillna(pd.Series(expect.index.get_level_values("element").map(start), index=expect.index).astype(float))
    assert np.array_equal(got.to_numpy(dtype=float), expect.to_numpy(dtype=float))


def test_the_gold_set_has_a_transcript_of_its_own_per_interaction(eng):
    ids = eng.gold["interaction_id"].unique()
    assert len(ids) == samples.GOLD_SIZE
    assert eng.interactions.set_index("interaction_id").loc[ids, "transcript"].nunique() == len(ids)


def _seconds(stamp: str) -> float:
    fmt = "%Y-%m-%d %H:%M" if "-" in stamp else "%H:%M:%S"
    return datetime.strptime(stamp, fmt).timestamp()


def test_timing_rules_agree_with_the_timestamps(eng):
    """A literal reader's Timing: first response against the channel standard, and silent gaps in live channels."""
    text = eng.interactions.set_index("interaction_id")
    checked = 0
    for iid, part in eng.gold.groupby("interaction_id"):
        t, tp = text.loc[iid, "transcript"], text.loc[iid, "touchpoint"]
        lines = [ln for ln in t.splitlines() if ln.startswith("[")]
        stamps = [(ln[1:ln.index("]")], ln) for ln in lines]
        first_customer = _seconds(stamps[0][0])
        agent = [(s, ln) for s, ln in stamps if "] Agent (" in ln]
        wait = _seconds(agent[0][0]) - first_customer
        rules = set(part.set_index("element").loc["response_time", "rules"].split()) if isinstance(
            part.set_index("element").loc["response_time", "rules"], str) else set()
        std = transcripts.STANDARD[tp]
        assert ("within_standard" in rules) == (wait <= std), (iid, wait, rules)
        assert ("double_standard" in rules) == (wait > 2 * std), (iid, wait, rules)
        if tp in transcripts.LIVE:
            gaps = np.diff([_seconds(s) for s, _ in agent])
            ack = part.set_index("element").loc["acknowledgement", "rules"]
            assert ("silent_gap" in str(ack).split()) == bool((gaps > 60).any()), (iid, gaps)
        checked += 1
    assert checked == samples.GOLD_SIZE


def test_facts_a_rule_needs_are_shown_to_the_rater(eng):
    """Wrong facts, missing steps and policies are decidable: the case facts state the right ones."""
    text = eng.interactions.set_index("interaction_id")["transcript"]
    g = eng.gold.set_index(["interaction_id", "element"])
    for iid in eng.gold["interaction_id"].unique():
        facts = text[iid].splitlines()[0]
        assert facts.startswith("Case facts (for the rater): ") and "the steps the customer needs" in facts
        policy_applies = not np.isnan(g.loc[(iid, "policy_reason"), "points"])
        assert ("the policy involved" in facts) == policy_applies
    wrong = eng.gold[eng.gold["rules"].fillna("").str.contains("wrong_fact")]
    for r in wrong.itertuples():  # the wrong value quoted is not the one the case facts give
        facts = text[r.interaction_id].splitlines()[0]
        value = re.findall(r"£\d+\.\d\d|Monday|Tuesday|Wednesday|Thursday|Friday|\d+(?:\.\d)?:00|\b\d+\.\d\b|\b\d+\b",
                           r.evidence)
        assert value and not all(v in facts for v in value), (r.interaction_id, r.evidence)


def test_raters_disagree_for_readable_reasons():
    """The lead agrees with gold almost exactly; the lenient rater credits near misses (a bare "Hi", a generic
    sorry, "we'll be in touch soon") and so scores higher; the strict rater misses implied behaviours."""
    eng = qcikit.Engagement.load(SAMPLES / "northwind")
    g = eng.gold[["interaction_id", "element", "points"]].rename(columns={"points": "gold"})
    own = eng.own_ratings.merge(g, on=["interaction_id", "element"])
    diff = (own["points"] - own["gold"]).groupby(own["rater"]).mean()
    exact = (own["points"].fillna(-1) == own["gold"].fillna(-1)).groupby(own["rater"]).mean()
    assert exact["ana"] > 0.95 and diff["chloe"] > 0.1 and diff["ben"] < 0 and diff["dev"] < 0
    # Near misses are where the lenient rater parts from gold: greeting 0/1 where gold saw a bare "Hi.".
    text = eng.interactions.set_index("interaction_id")["transcript"]
    bare = [i for i in g["interaction_id"].unique() if re.search(r"\): (Hi|Hello)\.", text[i]) or "\nHi.\n" in text[i]
            or "\nHello.\n" in text[i]]
    greet = own[(own["element"] == "greeting") & own["interaction_id"].isin(bare)]
    lenient = greet[greet["rater"] == "chloe"]
    assert len(lenient) and (lenient["points"] > lenient["gold"]).mean() > 0.5


def test_a_composition_scores_back_to_its_target_points():
    """compose(): whatever rules are chosen, the hits it reports give those rules' points, with verbatim evidence."""
    rubric = qcikit.load_rubric(SAMPLES / "northwind" / "rubric.yaml")
    rng = np.random.default_rng(7)
    choose = transcripts.RuleChooser(rubric)
    spec = samples.CLIENTS[0]
    for k in range(60):
        tp = ["email", "chat", "phone", "face_to_face"][k % 4]
        na = {"written_presentation"} if tp in ("phone", "face_to_face") else set()
        targets = {e: float(rng.integers(0, rubric.element(e).max_points + 1)) for e in rubric.element_ids if e not in na}
        fired = transcripts.resolve({e: choose(e, t, tp, rng) for e, t in targets.items()})
        ctx = {"touchpoint": tp, "inquiry": list(transcripts.ASK)[k % 6], "mood": ["calm", "angry"][k % 2],
               "objective": "resolve_problem", "name": "Anna Kim", "agent": "A-1", "start": datetime(2026, 5, 4, 9, 10),
               "nouns": spec.nouns, "slug": spec.slug, "brand_voice": spec.brand_voice, "special": ""}
        comp = transcripts.compose(ctx, fired, na, rng)
        got = {e: sorted({h.rule for h in comp.hits if h.element == e}) for e in fired}
        assert got == {e: sorted(r) for e, r in fired.items()}, k
        assert all(h.evidence in comp.transcript for h in comp.hits + comp.near)
        # A lack of structure is shown only where there are steps to list.
        if "no_structure" in fired.get("written_presentation", ()):
            assert " and then " in comp.transcript


def test_agreement_with_gold_of_a_careful_reader_is_high(eng):
    """The lead rater reads the rules literally (slips only): alpha with gold, interval level on shares (as the
    issue's outside-reader check measured it), has its lower limit above .80."""
    g = eng.gold[["interaction_id", "element", "points"]].rename(columns={"points": "gold"})
    own = eng.own_ratings[eng.own_ratings["rater"] == "ana"].merge(g, on=["interaction_id", "element"])
    maxp = own["element"].map(eng.rubric.max_points)
    mat = pd.DataFrame({"ana": own["points"] / maxp, "gold": own["gold"] / maxp})
    a = reliability.krippendorff_alpha(mat, "interval", n_boot=300, seed=1)
    assert float(a["ci_low"].iloc[0]) > 0.80
