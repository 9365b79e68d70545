"""Design-weighted summaries, wave change, Customer Effort, Competitive Edge, priorities."""
import json
from pathlib import Path

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


SAMPLICS_REFERENCE = json.loads((Path(__file__).parent / "data" / "samplics_reference.json").read_text())


def _independent_design(e, wave):
    """Weights N_h/n_h and FPC 1 - n_h/N_h straight from sample.csv (N_h = the stratum's weights summed),
    not from the kit's interaction table, so the comparison is not fed the kit's own columns."""
    t = metrics.interaction_table(e)
    t = t[t["wave"] == wave]
    stratum = t["interaction_id"].map(e.sample.set_index("interaction_id")["stratum"])
    N = e.sample.groupby("stratum")["weight"].sum()
    n = e.sample.groupby("stratum").size()
    fpc = {k: float(1 - n[k] / N[k]) for k in sorted(stratum.unique())}
    return t.assign(w=stratum.map(N / n).to_numpy(), st=stratum.to_numpy()), fpc


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("client", ["northwind", "brightwave", "voltania"])
def test_matches_samplics_taylor_linearization(client):
    """Stratified, domain-aware linearization equals samplics' TaylorEstimator (an independent survey library).

    samplics is archived: its values on every sample wave (mean, SE, and each team as a domain) are kept in
    tests/data/samplics_reference.json, so the check runs even where samplics no longer installs; where it
    does, they are recomputed live first."""
    e = qcikit.Engagement.load(SAMPLES / client)
    for wave, ref in SAMPLICS_REFERENCE[client].items():
        t, fpc = _independent_design(e, wave)
        try:
            import samplics
        except ImportError:
            samplics = None
        if samplics is not None:
            est = samplics.TaylorEstimator(samplics.PopParam.mean)
            est.estimate(y=t["qci"].to_numpy(), samp_weight=t["w"].to_numpy(), stratum=t["st"].to_numpy(), fpc=fpc,
                         remove_nan=True)
            assert (float(est.point_est), float(est.stderror)) == pytest.approx((ref["mean"], ref["se"]), abs=1e-6)
        ours = metrics.weighted_mean_ci(t["qci"], t["weight"], strata=t["stratum"], fpc=t["fpc"])
        assert ours["estimate"] == pytest.approx(ref["mean"], abs=2e-6)
        assert ours["se"] == pytest.approx(ref["se"], abs=2e-6)
        by_team = metrics.summarize(t, "qci", by="team", bounds=None).set_index("team")
        for team, (mean, se) in ref["teams"].items():
            assert by_team.loc[team, "estimate"] == pytest.approx(mean, abs=2e-6)
            assert by_team.loc[team, "se"] == pytest.approx(se, abs=2e-6)


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


def test_wave_change_one_estimate_one_test_one_interval(eng):
    change = metrics.wave_change(eng)
    assert change.attrs["before"] == "2026-Q2" and change.attrs["after"] == "2026-Q3"
    # Each row's interval is the adjusted one (Bonferroni within its family) on Satterthwaite df ...
    from scipy import stats as st

    q = st.t.ppf(1 - 0.05 / (2 * change["comparisons"]), change["df"])
    assert change["ci_low"].to_numpy() == pytest.approx((change["change"] - q * change["se"]).to_numpy())
    assert change["p_adj"].to_numpy() == pytest.approx(np.minimum(1, change["comparisons"] * change["p"]).to_numpy())
    # ... so "significant" is exactly "the reported interval excludes 0", and p_adj < alpha says the same.
    excludes = (change["ci_low"] > 0) | (change["ci_high"] < 0)
    assert (change["significant"] == excludes).all()
    assert (change["significant"] == (change["p_adj"] < 0.05)).all()
    # The generator improved setting_expectations and ownership; both are detected.
    el = change[change["kind"] == "element"]
    assert {"setting_expectations", "ownership"} <= set(el.loc[el["significant"], "measure"])
    # The change and its SE come from the two waves' design-based estimates (independent strata: variances add).
    t = metrics.interaction_table(eng)
    est = {w: metrics.weighted_mean_ci(p["qci"], p["weight"], strata=p["stratum"], fpc=p["fpc"]) for w, p in t.groupby("wave")}
    row = change[change["kind"] == "overall"].iloc[0]
    assert row["change"] == pytest.approx(est["2026-Q3"]["estimate"] - est["2026-Q2"]["estimate"])
    assert row["se"] == pytest.approx(np.hypot(est["2026-Q3"]["se"], est["2026-Q2"]["se"]))


def test_compare_is_welch_for_a_simple_random_sample():
    """One stratum, equal weights, no FPC: the design-based comparison is Welch's t-test (Welch 1947;
    Satterthwaite 1946), checked against scipy."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(60, 12, 40), rng.normal(66, 8, 55)
    r = metrics.compare(metrics.weighted_mean_ci(a), metrics.weighted_mean_ci(b))
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert r["p"] == pytest.approx(ref.pvalue) and r["t"] == pytest.approx(ref.statistic)
    ci = ref.confidence_interval(0.95)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_wave_difference_matches_samplics_domains(eng):
    """The two waves as domains of one stratified sample (samplics' TaylorEstimator, an independent survey
    library): strata never cross waves, so the covariance is 0 and the difference's SE is the root sum of squares."""
    samplics = pytest.importorskip("samplics")
    t = metrics.interaction_table(eng)
    stratum = t["interaction_id"].map(eng.sample.set_index("interaction_id")["stratum"])
    N = eng.sample.groupby("stratum")["weight"].sum()
    n = eng.sample.groupby("stratum").size()
    fpc = {k: float(1 - n[k] / N[k]) for k in sorted(stratum.unique())}
    dom = samplics.TaylorEstimator(samplics.PopParam.mean)
    dom.estimate(y=t["qci"].to_numpy(), samp_weight=stratum.map(N / n).to_numpy(), stratum=stratum.to_numpy(),
                 domain=t["wave"].to_numpy(), fpc=fpc, remove_nan=True)
    row = metrics.wave_change(eng).iloc[0]
    assert row["change"] == pytest.approx(float(dom.point_est["2026-Q3"] - dom.point_est["2026-Q2"]))
    assert row["se"] == pytest.approx(float(np.hypot(dom.stderror["2026-Q3"], dom.stderror["2026-Q2"])))


def test_middle_wave_compares_with_the_wave_before_it():
    e = qcikit.Engagement.load(SAMPLES / "northwind")
    # Three scored waves: half of 2026-Q3's interactions become a later wave "2026-Q4".
    late = set(sorted(e.scores.loc[e.scores["wave"] == "2026-Q3", "interaction_id"].unique())[::2])
    e.config.waves.append("2026-Q4")
    e.interactions.loc[e.interactions["interaction_id"].isin(late), "wave"] = "2026-Q4"
    e.scores = e.scores.assign(wave=np.where(e.scores["interaction_id"].isin(late), "2026-Q4", e.scores["wave"]))
    assert metrics.wave_change(e).attrs["before"] == "2026-Q3"
    mid = metrics.wave_change(e, "2026-Q3")
    assert (mid.attrs["before"], mid.attrs["after"]) == ("2026-Q2", "2026-Q3")
    with pytest.raises(qcikit.MetricsError, match="wave '2026-Q2' has no earlier scored wave"):
        metrics.wave_change(e, "2026-Q2")


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
    assert ((edge["ci_low"] > 0) | (edge["ci_high"] < 0)).eq(edge["significant"]).all()


def test_competitive_edge_uses_only_that_waves_shops(eng):
    for wave, n in (("2026-Q2", 12), ("2026-Q3", 25)):
        edge = metrics.competitive_edge(eng, wave)
        assert edge.attrs["shops_wave"] == wave and (edge["n_shops"] == n).all()


def test_competitive_edge_interval_is_welch_satterthwaite(eng):
    """Client (design-based, df n − H) against shops (mean of k, df k − 1): Welch–Satterthwaite df, a t interval."""
    edge = metrics.competitive_edge(eng, "2026-Q2")
    row = edge[(edge["measure"] == "QCI") & (edge["competitor"] == "PeakGear")].iloc[0]
    t = metrics.interaction_table(eng)
    t = t[t["wave"] == "2026-Q2"]
    # Both sides on the rubric's base weights (shops have no scenario): the client's QCI scored without the inventory.
    base = qcikit.score(eng.scores, eng.rubric).groupby("interaction_id")["qci"].mean()
    c = metrics.weighted_mean_ci(t["interaction_id"].map(base), t["weight"], strata=t["stratum"], fpc=t["fpc"])
    shops = eng.mystery_shops[(eng.mystery_shops["competitor"] == "PeakGear") & (eng.mystery_shops["wave"] == "2026-Q2")]
    k = qcikit.score(shops, eng.rubric, by=("interaction_id",))["qci"]
    assert row["client"] == pytest.approx(c["estimate"]) and row["competitor_score"] == pytest.approx(k.mean())
    headline = metrics.weighted_mean_ci(t["qci"], t["weight"], strata=t["stratum"], fpc=t["fpc"])["estimate"]
    assert row["client"] != pytest.approx(headline, abs=1e-6)  # the scenario weights are not on the shops' side
    assert edge.attrs["weighting"] == "base"
    va, vb = c["se"] ** 2, k.var(ddof=1) / len(k)
    df = (va + vb) ** 2 / (va ** 2 / c["df"] + vb ** 2 / (len(k) - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((row["edge"] - half, row["edge"] + half))
    wider = stats.t.ppf(0.975, df) / stats.norm.ppf(0.975)
    assert wider > 1.01  # the normal interval the kit used before was too narrow with 12 shops


def test_one_shop_is_not_enough_for_an_edge():
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    ms = e.mystery_shops
    first = ms.loc[ms["competitor"] == "Datalynx", "interaction_id"].iloc[0]
    e.mystery_shops = ms[(ms["competitor"] != "Datalynx") | (ms["interaction_id"] == first)]
    edge = metrics.competitive_edge(e, "2026-Q2").set_index(["competitor", "measure"])
    row = edge.loc[("Datalynx", "QCI")]
    assert row["note"] == "not enough shops" and np.isnan(row["ci_low"]) and not row["significant"]


def test_a_competitor_without_shops_in_the_wave_is_named():
    """Issue 23: a competitor with no shops in the wave used disappeared from the report."""
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    ms = e.mystery_shops
    e.mystery_shops = ms[~((ms["competitor"] == "Datalynx") & (ms["wave"] == "2026-Q3"))]
    edge = metrics.competitive_edge(e, "2026-Q3")
    row = edge[edge["competitor"] == "Datalynx"]
    assert len(row) == 1 and row["note"].iloc[0] == "no shops since 2026-Q2" and row["n_shops"].iloc[0] == 0
    assert not row["significant"].iloc[0] and np.isnan(row["edge"].iloc[0])
    from qcikit.sections import ReportContext

    r = ReportContext(e, "2026-Q3", metrics.interaction_table(e))
    assert "vs Datalynx: no shops since 2026-Q2, so no comparison this wave" in r.edge_html()
    e.mystery_shops = ms[ms["wave"] == "2026-Q2"]
    detail = r.edge_detail_html(metrics.competitive_edge(e, "2026-Q3"))
    assert "shops of wave 2026-Q2, the latest with shops (none in wave 2026-Q3)" in detail
    assert "same wave" not in detail


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


@pytest.mark.parametrize("client", ["northwind", "brightwave", "voltania", "harbor"])
def test_every_comparison_row_agrees_with_its_interval(client, tmp_path):
    """For every sample and an engagement with none of their ids: significant <=> the reported interval excludes 0."""
    from foreign import make_foreign

    folder = make_foreign(SAMPLES / "brightwave", tmp_path / "harbor") if client == "harbor" else SAMPLES / client
    e = qcikit.Engagement.load(folder)
    tables = [metrics.wave_change(e)] + [metrics.competitive_edge(e, w) for w in e.config.waves]
    for t in tables:
        excludes = (t["ci_low"] > 0) | (t["ci_high"] < 0)
        assert (t["significant"] == excludes).all()
        assert (t["significant"] == (t["p_adj"] < 1 - e.config.confidence)).all()


def test_a_single_interaction_stratum_is_collapsed_not_dropped():
    """Collapsed strata (Wolter 2007, §2.5): the lone interaction joins the next stratum for the variance."""
    y, w = [50.0, 60, 70, 80, 90], [2.0, 2, 1, 3, 3]
    with pytest.warns(qcikit.errors.CollapsedStrataWarning, match="1 sampling stratum"):
        got = metrics.weighted_mean_ci(y, w, strata=["a", "a", "b", "c", "c"])
    by_hand = metrics.weighted_mean_ci(y, w, strata=["a", "a", "c", "c", "c"])
    assert got["se"] == pytest.approx(by_hand["se"]) and got["df"] == by_hand["df"] == 3


def _se_by_hand(y, w, groups, fpc_of_group):
    """Textbook linearized SE of a weighted mean for given variance groups (Lohr 2019, eq. 9.5), written
    out unit by unit, apart from the kit's vectorized code."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    mean = (w * y).sum() / w.sum()
    z = w * (y - mean) / w.sum()
    var = 0.0
    for g in sorted(set(groups)):
        zg = np.array([z[i] for i in range(len(z)) if groups[i] == g])
        if len(zg) > 1:
            var += fpc_of_group[g] * len(zg) / (len(zg) - 1) * ((zg - zg.mean()) ** 2).sum()
    return float(np.sqrt(var))


def test_neighbouring_singletons_are_merged_with_each_other():
    """Issue 23: strata A(1), B(1), C(6) left A alone (SE 4.96); A and B form one group (Wolter 2007, §2.5)."""
    y = [40.0, 90, 55, 60, 65, 70, 75, 62]
    w = [5.0, 5, 2, 2, 2, 2, 2, 2]
    strata = ["A", "B", "C", "C", "C", "C", "C", "C"]
    with pytest.warns(qcikit.errors.CollapsedStrataWarning, match="2 sampling stratum/strata held a single interaction"):
        got = metrics.weighted_mean_ci(y, w, strata=strata)
    expected = _se_by_hand(y, w, ["AB", "AB", "C", "C", "C", "C", "C", "C"], {"AB": 1.0, "C": 1.0})
    assert got["se"] == pytest.approx(expected, rel=1e-12)
    assert got["df"] == 8 - 2
    # The last two strata singletons: they form a pair too (before, they swapped partners and both stayed alone).
    strata_end = ["A"] * 6 + ["B", "C"]
    y_end = y[2:] + y[:2]
    w_end = w[2:] + w[:2]
    with pytest.warns(qcikit.errors.CollapsedStrataWarning):
        got = metrics.weighted_mean_ci(y_end, w_end, strata=strata_end)
    assert got["se"] == pytest.approx(_se_by_hand(y_end, w_end, ["A"] * 6 + ["BC", "BC"], {"A": 1.0, "BC": 1.0}))


def test_census_stratum_is_not_collapsed_and_fpc_is_the_groups_own():
    """A one-unit census stratum (N_h = 1, FPC 0) adds no variance and never wipes out another's;
    a collapsed group's FPC is 1 - n_g/N_g from its own totals, whatever the order of the rows."""
    # Toy case of issue 23: the census singleton merged first took FPC 0 for the whole group (SE 0.000).
    y, w = [50.0, 60, 80, 70], [1.0, 4, 4, 4]
    fpc = [0.0, 0.75, 0.75, 0.75]
    got = metrics.weighted_mean_ci(y, w, strata=["a", "b", "b", "b"], fpc=fpc)
    assert got["se"] == pytest.approx(_se_by_hand(y, w, ["a", "b", "b", "b"], {"a": 0.0, "b": 0.75}))
    assert got["se"] > 1
    # A lone non-census singleton (N = 10, n = 1) joins stratum b (N = 12, n = 3): FPC 1 - 4/22.
    y2, w2 = [50.0, 60, 80, 70, 65], [10.0, 4, 4, 4, 1]
    fpc2 = [0.9, 0.75, 0.75, 0.75, 0.0]
    strata2 = ["a", "b", "b", "b", "c"]
    with pytest.warns(qcikit.errors.CollapsedStrataWarning, match="1 sampling stratum"):
        got2 = metrics.weighted_mean_ci(y2, w2, strata=strata2, fpc=fpc2)
    expected = _se_by_hand(y2, w2, ["ab", "ab", "ab", "ab", "c"], {"ab": 1 - 4 / 22, "c": 0.0})
    assert got2["se"] == pytest.approx(expected, rel=1e-12)
    # Permuting the rows changes nothing.
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.permutation(5)
        with pytest.warns(qcikit.errors.CollapsedStrataWarning):
            r = metrics.weighted_mean_ci(np.take(y2, p), np.take(w2, p), strata=np.take(strata2, p), fpc=np.take(fpc2, p))
        assert r["se"] == pytest.approx(got2["se"], rel=1e-12)


def _textbook_stratified(y_by_stratum: dict, N: dict) -> tuple[float, float]:
    """Stratified mean and SE with known stratum sizes (Cochran 1977, eqs. 5.1 and 5.6):
    sum W_h ybar_h and sqrt(sum W_h^2 (1 - m_h/N_h) s_h^2 / m_h), written apart from the kit."""
    total = sum(N.values())
    est = sum(N[h] / total * np.mean(y) for h, y in y_by_stratum.items())
    var = sum((N[h] / total) ** 2 * (1 - len(y) / N[h]) * np.var(y, ddof=1) / len(y) for h, y in y_by_stratum.items())
    return float(est), float(np.sqrt(var))


def test_partly_scored_sample_is_nonresponse_within_stratum():
    """Issue 23: with 60 % of Brightwave's Q3 e-mail sample unscored, the weights came from the number sampled
    and the SE was understated. The scored interactions stand for their stratum: weight N_h/m_h, FPC 1 - m_h/N_h."""
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    wave = e.config.waves[-1]
    email = e.sample[e.sample["stratum"] == f"{wave} / email"]["interaction_id"]
    rng = np.random.default_rng(23)
    drop = set(rng.choice(email.to_numpy(), int(round(0.6 * len(email))), replace=False))
    e.scores = e.scores[~e.scores["interaction_id"].isin(drop)]
    prog = metrics.scoring_progress(e, wave).set_index("stratum")
    assert prog.loc[f"{wave} / email", "scored"] == len(email) - len(drop)
    assert prog.attrs["sampled"] - prog.attrs["scored"] == len(drop)

    inter = metrics.interaction_table(e)
    cur = inter[inter["wave"] == wave]
    got = metrics.weighted_mean_ci(cur["qci"], cur["weight"], strata=cur["stratum"], fpc=cur["fpc"])
    N = e.sample.groupby("stratum")["weight"].sum()
    y = {h: part["qci"].to_numpy() for h, part in cur.groupby("stratum")}
    est, se = _textbook_stratified(y, {h: float(N[h]) for h in y})
    assert got["estimate"] == pytest.approx(est, rel=1e-10)
    assert got["se"] == pytest.approx(se, rel=1e-10)
    # The old weights (N_h / n_h with n_h sampled) understate the SE by a third or more here.
    old_w = cur["stratum"].map(N / e.sample.groupby("stratum").size())
    old = metrics.weighted_mean_ci(cur["qci"], old_w, strata=cur["stratum"], fpc=1 - 1 / old_w)
    assert old["se"] < 0.8 * got["se"]
    # The weights of each stratum still add up to its size.
    assert cur.groupby("stratum")["weight"].sum().to_dict() == pytest.approx(N[cur["stratum"].unique()].to_dict())


def test_min_scored_share_refuses_a_half_scored_wave(tmp_path):
    """engagement.yaml's min_scored_share: the report is refused while a stratum is under it."""
    e = qcikit.Engagement.load(SAMPLES / "brightwave")
    wave = e.config.waves[-1]
    metrics.check_scored_share(e, wave)  # the default 0 never refuses
    email = e.sample[e.sample["stratum"] == f"{wave} / email"]["interaction_id"]
    e.scores = e.scores[~e.scores["interaction_id"].isin(email.iloc[: len(email) // 2])]
    e.config.min_scored_share = 0.8
    with pytest.raises(qcikit.QcikitError, match=r"below min_scored_share 80 % in engagement.yaml \(first: '.* / email'"):
        metrics.check_scored_share(e, wave)
    e.config.min_scored_share = 0.4
    metrics.check_scored_share(e, wave)


def test_rater_effect_counts_the_solo_interactions():
    """Issue 23: qci_without left out the interactions the flagged rater scored alone and reported -0.70 for
    Northwind's chloe. The effect on the headline replaces her scores by others' where they exist and corrects
    her solo interactions by her QCI bias against gold; the expected value is recomputed here with pandas."""
    e = qcikit.Engagement.load(SAMPLES / "northwind")
    wave = e.config.waves[-1]
    bias = {"chloe": 6.0}
    got = metrics.rater_effect(e, "chloe", wave, bias=bias).set_index("scores")
    per = e.scored()
    inter = metrics.interaction_table(e)
    inter = inter[inter["wave"] == wave]
    per = per[per["interaction_id"].isin(inter["interaction_id"])]
    expected = {}
    for iid, part in per.groupby("interaction_id"):
        rest = part[part["rater"] != "chloe"]
        expected[iid] = rest["qci"].mean() if len(rest) else (part["qci"] - 6.0).mean()
    y = inter["interaction_id"].map(expected)
    by_hand = float(np.sum(inter["weight"] * y) / inter["weight"].sum())
    assert got.loc["without chloe", "estimate"] == pytest.approx(by_hand, rel=1e-12)
    solo = {i for i, p in per.groupby("interaction_id") if set(p["rater"]) == {"chloe"}}
    assert got.loc["without chloe", "n_solo"] == len(solo) > 0
    assert got.loc["without chloe", "bias_corrected"]
    # Its calibrated bias (the default) moves the headline by more than the wave's standard error.
    default = metrics.rater_effect(e, ["chloe"], wave)
    se = (default["ci_high"].iloc[0] - default["ci_low"].iloc[0]) / (2 * 1.97)
    assert default["change"].iloc[1] < -se
    old = qcikit.reliability.qci_without(e.own_ratings, e.rubric, ["chloe"], e.inventory_facets())
    assert abs(default["change"].iloc[1]) > 2 * abs(old["change"].iloc[1])
