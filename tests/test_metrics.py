"""Design-weighted summaries, wave change, Customer Effort, Competitive Edge, priorities."""
import numpy as np
import pytest
from scipy import stats

import qcikit
from qcikit import metrics

from conftest import SAMPLES


@pytest.fixture(scope="module")
def eng():
    return qcikit.Engagement.load(SAMPLES / "northwind")


def test_equal_weights_give_the_ordinary_t_interval():
    y = np.array([55.0, 61, 70, 48, 66, 59, 73, 52])
    r = metrics.weighted_mean_ci(y)
    lo, hi = stats.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
    assert r["estimate"] == pytest.approx(y.mean())
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_weighted_mean_hand_computed():
    # y = 60, 70, 80 with weights 1, 1, 2: mean = 290/4 = 72.5;
    # V = 3/2 * (1*12.5^2 + 1*2.5^2 + 4*7.5^2) / 16 = 3/2 * 387.5/16 = 36.328125.
    r = metrics.weighted_mean_ci([60, 70, 80], [1, 1, 2])
    assert r["estimate"] == 72.5
    assert r["se"] == pytest.approx(np.sqrt(36.328125))


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_matches_samplics_taylor_linearization(eng):
    """Stratified, domain-aware linearization equals samplics' TaylorEstimator (an independent survey library)."""
    samplics = pytest.importorskip("samplics")
    t = metrics.interaction_table(eng)
    t = t[t["wave"] == eng.config.waves[-1]].reset_index(drop=True)
    fpc = t.groupby("stratum")["fpc"].first().to_dict()
    est = samplics.TaylorEstimator(samplics.PopParam.mean)
    est.estimate(y=t["qci"].to_numpy(), samp_weight=t["weight"].to_numpy(), stratum=t["stratum"].to_numpy(),
                 fpc=fpc, remove_nan=True)
    ours = metrics.weighted_mean_ci(t["qci"], t["weight"], strata=t["stratum"], fpc=t["fpc"])
    assert ours["estimate"] == pytest.approx(float(est.point_est))
    assert ours["se"] == pytest.approx(float(est.stderror))
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((float(est.lower_ci), float(est.upper_ci)))
    by_team = metrics.summarize(t, "qci", by="team", bounds=None).set_index("team")
    dom = samplics.TaylorEstimator(samplics.PopParam.mean)
    dom.estimate(y=t["qci"].to_numpy(), samp_weight=t["weight"].to_numpy(), stratum=t["stratum"].to_numpy(),
                 domain=t["team"].to_numpy(), fpc=fpc, remove_nan=True)
    for team in by_team.index:
        assert by_team.loc[team, "estimate"] == pytest.approx(float(dom.point_est[team]))
        assert by_team.loc[team, "se"] == pytest.approx(float(dom.stderror[team]))
        assert by_team.loc[team, "ci_low"] == pytest.approx(float(dom.lower_ci[team]))


def test_finite_population_correction_narrows_small_clients():
    # Brightwave samples ~60 % of each wave: the corrected interval is about sqrt(0.4) as wide.
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    t = metrics.interaction_table(e)
    t = t[t["wave"] == e.config.waves[-1]]
    with_fpc = metrics.weighted_mean_ci(t["qci"], t["weight"], strata=t["stratum"], fpc=t["fpc"])
    without = metrics.weighted_mean_ci(t["qci"], t["weight"], strata=t["stratum"])
    assert 0.5 < with_fpc["se"] / without["se"] < 0.75
    assert t["fpc"].between(0, 1).all()


def test_weights_scale_free_and_population_consistent():
    rng = np.random.default_rng(0)
    y, w = rng.normal(60, 10, 200), rng.uniform(1, 5, 200)
    a, b = metrics.weighted_mean_ci(y, w), metrics.weighted_mean_ci(y, w * 37)
    assert a["estimate"] == pytest.approx(b["estimate"]) and a["se"] == pytest.approx(b["se"])


def test_summaries_flag_small_cells_and_clip_to_scale(eng):
    table = metrics.interaction_table(eng)
    by_team = metrics.summarize(table[table["wave"] == eng.config.waves[-1]], "qci", by="team")
    assert (by_team["small"] == (by_team["n"] < 30)).all()
    by_scenario = metrics.summarize(table, "qci", by="scenario")
    assert by_scenario["small"].any()  # hundreds of scenarios: most cells are small, and they are kept
    assert (by_scenario["ci_high"].dropna() <= 100).all() and (by_scenario["ci_low"].dropna() >= 0).all()
    # A single interaction has no interval; that is shown as missing, never invented.
    assert (by_scenario["ci_low"].isna() == (by_scenario["n"] < 2)).all()
    # The weighted overall mean equals the design-weighted mean of interaction QCIs.
    w1 = table[table["wave"] == eng.config.waves[0]]
    assert metrics.summarize(w1)["estimate"].iloc[0] == pytest.approx(np.average(w1["qci"], weights=w1["weight"]))


def test_wave_change_uses_welch_and_holm(eng):
    from statsmodels.stats.multitest import multipletests

    change = metrics.wave_change(eng)
    assert change.attrs == {"before": "2026-Q2", "after": "2026-Q3"}
    el = change[change["kind"] == "element"]
    _, adj, _, _ = multipletests(el["p"], method="holm")
    assert el["p_holm"].to_numpy() == pytest.approx(adj)
    # The generator improved setting_expectations and ownership; both are detected.
    sig = set(el.loc[el["significant"], "measure"])
    assert {"setting_expectations", "ownership"} <= sig
    # Welch's t-test p-value for the headline, from scipy on the same interaction values.
    t = metrics.interaction_table(eng)
    p = stats.ttest_ind(t.loc[t["wave"] == "2026-Q3", "qci"], t.loc[t["wave"] == "2026-Q2", "qci"], equal_var=False).pvalue
    assert change.loc[change["kind"] == "overall", "p"].iloc[0] == pytest.approx(p)


def test_customer_effort_wilson(eng):
    from statsmodels.stats.proportion import proportion_confint

    ce = metrics.customer_effort(eng).set_index("wave")
    inter = eng.interactions
    w1 = inter[(inter["wave"] == "2026-Q2") & inter["effort"].notna()]["effort"]
    assert ce.loc["2026-Q2", "mean_effort"] == pytest.approx(w1.mean())
    k = (w1 <= 3).sum()
    lo, hi = proportion_confint(k, len(w1), method="wilson")
    assert (ce.loc["2026-Q2", "share_low"], ce.loc["2026-Q2", "share_high"]) == pytest.approx((lo, hi))


def test_competitive_edge_signs(eng):
    edge = metrics.competitive_edge(eng)
    q = edge[edge["measure"] == "QCI"].set_index("competitor")
    # TrailMart was generated much weaker than the client.
    assert q.loc["TrailMart", "edge"] > 10 and q.loc["TrailMart", "ci_low"] > 0
    assert (edge["edge"] == edge["client"] - edge["competitor_score"]).all()


def test_priorities_rank_by_weight_times_gap(eng):
    pr = metrics.priorities(eng)
    assert pr["potential"].to_numpy() == pytest.approx((pr["weight"] * np.clip(80 - pr["score"], 0, None)).to_numpy())
    assert pr["potential"].is_monotonic_decreasing
    assert pr["weight"].sum() == pytest.approx(1.0)
    assert list(pr["rank"]) == list(range(1, len(pr) + 1))


def test_single_wave_change_is_a_clear_error(eng):
    one = qcikit.Engagement.load(SAMPLES / "northwind")
    one.scores = one.scores[one.scores["wave"] == "2026-Q2"]
    with pytest.raises(qcikit.MetricsError, match="a change needs two"):
        metrics.wave_change(one)


def test_new_scores_are_not_served_from_a_stale_cache():
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    before = metrics.interaction_table(e)["qci"].mean()
    e.scores = e.scores.assign(points=0.0)
    assert metrics.interaction_table(e)["qci"].max() == 0 and before > 0
    assert e.scored()["qci"].max() == 0
