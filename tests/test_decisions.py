"""Every decision rule a client or a rater reads, tested with values on both sides of its threshold.

Expected values are computed here from first principles (by hand, numpy or scipy), never from the
function under test's own output.
"""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qcikit
from qcikit import metrics, reliability as R

from conftest import SAMPLES


# -- agreement verdicts (Krippendorff 2004, §11.4: .800 reliable, .667 tentative) ------------------------------
@pytest.mark.parametrize("lower, expected", [(0.8, "reliable"), (0.7999, "tentative"), (0.667, "tentative"),
                                             (0.6669, "unreliable"), (np.nan, "undefined")])
def test_verdict_thresholds(lower, expected):
    assert R.verdict(lower) == expected


# -- coaching a rater: beyond noise and beyond a share of the scale -------------------------------------------
def _gold_and_rater(make_rubric, plus_one_on: int, n: int = 12):
    """Gold 2 of 4 on every element; the rater gives 3 on e0 in ``plus_one_on`` of ``n`` interactions."""
    r = make_rubric()
    ids = [f"i{k}" for k in range(n)]
    gold = pd.DataFrame([{"interaction_id": i, "element": e, "points": 2.0} for i in ids for e in r.element_ids])
    rater = gold.assign(rater="x")
    hit = (rater["element"] == "e0") & rater["interaction_id"].isin(ids[:plus_one_on])
    rater.loc[hit, "points"] = 3.0
    return r, gold, rater


def test_element_coaching_threshold_is_a_share_of_the_scale(make_rubric):
    """+1 point in 4 of 12 interactions: bias 0.33 points = 8.3 % of a 4-point scale, interval beyond 0 (by hand:
    mean .333, sd .492, t(11) half-width .313). Below the 10 % share: no flag, though .33 points exceed 0.10
    *points*. In 6 of 12: 12.5 % of the scale, flagged."""
    r, gold, rater = _gold_and_rater(make_rubric, 4)
    d = np.array([1.0] * 4 + [0.0] * 8)
    half = stats.t.ppf(0.975, 11) * d.std(ddof=1) / np.sqrt(12)
    assert d.mean() - half > 0
    row = R.calibrate(rater, gold, r).set_index(["rater", "element"]).loc[("x", "e0")]
    assert row["share_bias"] == pytest.approx(1 / 12) and row["bias_low"] == pytest.approx(d.mean() - half)
    assert not row["coaching"]
    r, gold, rater = _gold_and_rater(make_rubric, 6)
    row = R.calibrate(rater, gold, r).set_index(["rater", "element"]).loc[("x", "e0")]
    assert row["share_bias"] == pytest.approx(0.125) and row["coaching"]


def test_rater_coaching_threshold_in_qci_points(make_rubric):
    """Overall: flagged when the QCI-bias interval excludes 0 and |qci_bias| exceeds max_bias, on both sides of it.
    Every element is 1/8 of the QCI, so +1 of 4 on e0 in 6 of 12 interactions is +25/8 = 3.125 QCI points on
    those six: a mean QCI bias of 1.5625."""
    r, gold, rater = _gold_and_rater(make_rubric, 6)
    expected = 6 * (100 / 4 / 8) / 12
    for max_bias, flagged in ((expected - 0.01, True), (expected + 0.01, False)):
        row = R.calibrate(rater, gold, r, max_bias=max_bias).set_index(["rater", "element"]).loc[("x", "(all)")]
        assert row["qci_bias"] == pytest.approx(expected)
        assert row["coaching"] is flagged or row["coaching"] == flagged


# -- significance: the interval excludes 0 <=> adjusted p below 1 - confidence ----------------------------------
@pytest.mark.parametrize("factor, significant", [(1.001, True), (0.999, False)])
def test_compare_significance_on_both_sides(factor, significant):
    """Two estimates with se 1 each and very large df: the difference is significant beyond z(.975) * sqrt(2)."""
    z = stats.norm.ppf(0.975)
    before = {"estimate": 0.0, "se": 1.0, "df": 1e9}
    after = {"estimate": factor * z * np.sqrt(2), "se": 1.0, "df": 1e9}
    c = metrics.compare(before, after)
    assert c["significant"] is significant
    assert (c["p_adj"] < 0.05) is significant
    # Bonferroni over 3 comparisons moves the same difference back inside noise.
    assert not metrics.compare(before, after, comparisons=3)["significant"]


# -- small cells: read with care below 30 ---------------------------------------------------------------------------
def test_small_cell_flag_at_thirty():
    t = pd.DataFrame({"qci": np.linspace(40, 80, 59), "g": ["a"] * 29 + ["b"] * 30})
    s = metrics.summarize(t, by="g").set_index("g")
    assert s.loc["a", "small"] and not s.loc["b", "small"]


# -- Customer Effort: answers 1–3 are "easy" --------------------------------------------------------------------
def test_low_effort_counts_three_not_four():
    inter = pd.DataFrame({"interaction_id": list("abcdef"), "wave": "w", "effort": [1, 2, 3, 4, 5, 7]})
    fake = SimpleNamespace(interactions=inter, path="x")
    ce = metrics.customer_effort(fake, by=None).iloc[0]
    assert ce["low_effort_share"] == pytest.approx(3 / 6)
    # Wilson interval (Wilson 1927), written out: centre (p + z²/2n)/(1 + z²/n).
    z, n, p = stats.norm.ppf(0.975), 6, 0.5
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert (ce["share_low"], ce["share_high"]) == pytest.approx((centre - half, centre + half))


# -- AC2 for ordinal elements uses quadratic weights (Gwet 2014, §3.3) -------------------------------------------
def test_by_element_ac2_uses_quadratic_weights():
    """Quadratic weights 1 - (k - l)²/(max - min)², written out; by_element's ordinal AC2 is the quadratic one,
    not the linear (which differs on these data)."""
    from qcikit.reliability import _weight_matrix

    cats = np.arange(5, dtype=float)
    by_hand = np.array([[1 - (k - l) ** 2 / 16 for l in range(5)] for k in range(5)])
    assert _weight_matrix(cats, "quadratic") == pytest.approx(by_hand)
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 5, 40)
    rows = [{"interaction_id": f"i{u}", "rater": rater, "element": "e0",
             "points": float(np.clip(truth[u] + rng.integers(-1, 2), 0, 4))} for u in range(40) for rater in "ab"]
    scores = pd.DataFrame(rows)
    table = R.by_element(scores, None, coefficient="ac1", level="ordinal").set_index("element")
    mat = R.ratings_matrix(scores, "e0")
    quad = R.gwet_ac1(mat, "quadratic")["estimate"].iloc[0]
    lin = R.gwet_ac1(mat, "linear")["estimate"].iloc[0]
    assert table.loc["e0", "estimate"] == pytest.approx(quad) and abs(quad - lin) > 0.01


# -- a team's weakest elements come first ------------------------------------------------------------------------
def test_team_weakest_is_lowest_first_by_hand():
    """The coaching page's list: each element's design-weighted score for the team, recomputed with pandas."""
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    wave = e.config.waves[-1]
    team = sorted(e.interactions["team"].dropna().unique())[0]
    el = metrics.element_table(e)
    part = el[(el["wave"] == wave) & (el["team"] == team)].dropna(subset=["score"])
    by_hand = (part.assign(wy=part["score"] * part["weight"]).groupby("element")[["wy", "weight"]].sum()
               .pipe(lambda t: t["wy"] / t["weight"]).sort_values(kind="stable"))
    got = metrics.team_weakest(e, team, wave, top=3)
    assert list(got["element"]) == list(by_hand.index[:3])
    assert got["estimate"].to_numpy() == pytest.approx(by_hand.iloc[:3].to_numpy())
    assert got["estimate"].is_monotonic_increasing


# -- priorities: weight × gap, recomputed from the rubric rather than from the table -----------------------------
def test_priorities_by_hand(make_rubric):
    """Every element worth 1/8 of the QCI (small rubric); gap = target − element score (0 when above)."""
    r = make_rubric()
    ids = [f"i{k}" for k in range(4)]
    pts = {"e0": 1.0, "e1": 3.0, "e2": 4.0}
    rows = [{"interaction_id": i, "rater": "a", "element": el, "points": pts.get(el, 2.0), "wave": "w"}
            for i in ids for el in r.element_ids]
    scores = pd.DataFrame(rows)
    inter = pd.DataFrame({"interaction_id": ids, "wave": "w", "team": "t", "touchpoint": "email"})
    fake = SimpleNamespace(scores=scores, rubric=r, interactions=inter, sample=None, inventory=None, path="x",
                           config=SimpleNamespace(waves=["w"], target_qci=80.0, confidence=0.95),
                           inventory_facets=lambda: None, scored=lambda: qcikit.score(scores, r))
    pr = metrics.priorities(fake, "w").set_index("element")
    # e0: 25 of 100 -> gap 55 -> 55/8 = 6.875 QCI points; e1: 75 -> 5/8; e2: 100 -> 0; others 50 -> 30/8.
    assert pr.loc["e0", "potential"] == pytest.approx(55 / 8)
    assert pr.loc["e1", "potential"] == pytest.approx(5 / 8)
    assert pr.loc["e2", "potential"] == 0
    assert pr.loc["e3", "potential"] == pytest.approx(30 / 8)
    assert pr.index[0] == "e0" and pr.index[-1] == "e2"
