"""The model-assisted (difference / GREG / PPI++) estimate of the QCI: metrics.assisted_mean_ci."""
import sys
from pathlib import Path

import numpy as np
import pytest

from qcikit.errors import MetricsError
from qcikit.metrics import assisted_mean_ci, weighted_mean_ci

sys.path.insert(0, str(Path(__file__).parent))
from simulate_assisted import CASES, study  # noqa: E402


def _population(seed=3, sizes=(900, 300, 40), sampled=(40, 20, 12), noise=6.0):
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.array(["email", "chat", "phone"]), sizes)
    y = rng.normal(70, 12, len(strata)) + np.where(strata == "phone", 8, 0)
    machine = y + rng.normal(2, noise, len(y))
    picks = np.concatenate([rng.choice(np.flatnonzero(strata == s), m, replace=False)
                            for s, m in zip(["email", "chat", "phone"], sampled)])
    return y, machine, strata, picks


def test_human_only_is_the_kits_stratified_estimate():
    """λ = 0 is the design-based estimate the kit reports everywhere (weighted_mean_ci, itself checked against
    Lohr 2019's published examples in test_metrics): same estimate, SE and interval to 1e-12."""
    y, m, st, s = _population()
    r = assisted_mean_ci(y[s], m[s], st[s], m, st, lam="human")
    N = {k: (st == k).sum() for k in np.unique(st)}
    n = {k: (st[s] == k).sum() for k in np.unique(st)}
    w = np.array([N[k] / n[k] for k in st[s]])
    f = np.array([1 - n[k] / N[k] for k in st[s]])
    ref = weighted_mean_ci(y[s], w, strata=st[s], fpc=f)
    for key in ("estimate", "se", "ci_low", "ci_high", "df"):
        assert r[key] == pytest.approx(ref[key], abs=1e-12)
        assert r[f"human_{key}"] == pytest.approx(ref[key], abs=1e-12)
    assert r["n_effective"] == pytest.approx(len(s))
    assert r["n_equivalent"] == pytest.approx(len(s))


def test_equivalent_n_stays_within_the_population():
    """The effective n (n × human variance ÷ assisted variance) can pass N when the sample is a large share of
    it; the equivalent n (the same variance from raters under the same design, FPC included) cannot."""
    y, m, st, s = _population(sizes=(60, 40, 30), sampled=(40, 30, 20), noise=2.0)
    r = assisted_mean_ci(y[s], m[s], st[s], m, st)
    assert r["n_effective"] > r["N"] > r["n_equivalent"] > r["n"]
    # check n_equivalent by its definition, on one stratum: (1 − n'/N) S² / n' equals the assisted variance
    y1, m1 = y[st == "email"], m[st == "email"]
    s1 = np.arange(40)
    r1 = assisted_mean_ci(y1[s1], m1[s1], np.zeros(40), m1, np.zeros(60))
    s2 = np.var(y1[s1], ddof=1)
    ne = r1["n_equivalent"]
    assert (1 - ne / 60) * s2 / ne == pytest.approx(r1["se"] ** 2, rel=1e-9)


def test_plain_difference_estimate_matches_ppi_py():
    """One stratum, no FPC (the population a sample of a larger one), λ = 1: the estimate is ppi_py's
    ppi_mean_pointestimate (Angelopoulos et al., Science 2023, eq. 1) to 1e-9. ppi_py's SE uses ddof = 0 and
    a normal quantile; converted, the SE agrees to 1e-9 too."""
    ppi = pytest.importorskip("ppi_py")
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    yl = rng.normal(65, 15, 150)
    yhl = yl + rng.normal(-3, 7, 150)
    unl = rng.normal(66, 15, 4000) + rng.normal(-3, 7, 4000)
    # the labelled interactions are given apart from the unlabelled population, as ppi_py takes them
    r = assisted_mean_ci(yl, yhl, np.zeros(150), unl, np.zeros(4000), lam=1, fpc=False)
    est = float(ppi.ppi_mean_pointestimate(yl, yhl, unl, lam=1)[0])
    lo, hi = ppi.ppi_mean_ci(yl, yhl, unl, alpha=0.05, lam=1)
    ppi_se = float((hi - lo)[0] / (2 * norm.ppf(0.975)))
    assert r["estimate"] == pytest.approx(est, abs=1e-9)
    # ours: S²_e/n + S²_ŷ/N with ddof 1; ppi_py's: the same with ddof 0
    e = yl - yhl
    ours_ddof0 = r["se"] ** 2 - np.var(e, ddof=1) / 150 ** 2 - np.var(unl, ddof=1) / 4000 ** 2
    assert np.sqrt(ours_ddof0) == pytest.approx(ppi_se, abs=1e-9)


def test_tuned_lambda_is_the_regression_estimator():
    """One stratum, tuned λ inside [0, 1]: the estimate is the linear regression estimate
    ȳ + b (X̄ − x̄) of Cochran (1977, eq. 7.1), b the least-squares slope (statsmodels OLS)."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    y = rng.normal(70, 12, 3000)
    x = 0.6 * y + rng.normal(20, 8, 3000)
    s = rng.choice(3000, 120, replace=False)
    r = assisted_mean_ci(y[s], x[s], np.zeros(120), x, np.zeros(3000))
    b = sm.OLS(y[s], sm.add_constant(x[s])).fit().params[1]
    assert 0 < b < 1
    assert r["strata"]["lam"].iloc[0] == pytest.approx(b, abs=1e-12)
    assert r["estimate"] == pytest.approx(y[s].mean() + b * (x.mean() - x[s].mean()), abs=1e-9)
    assert r["df"] == 120 - 1 - 1  # one stratum, one λ tuned


def test_a_perfect_machine_leaves_no_error_and_a_census_stratum_none():
    y, _, st, s = _population()
    r = assisted_mean_ci(y[s], y[s], st[s], y, st, lam="difference")
    assert r["estimate"] == pytest.approx(y.mean(), abs=1e-9)
    assert r["se"] == pytest.approx(0, abs=1e-9)
    # every interaction of a stratum scored by humans: its FPC is 0, the machine changes nothing there
    y, m, st, _ = _population()
    whole = np.flatnonzero(st == "phone")
    r = assisted_mean_ci(y[whole], m[whole], st[whole], m[whole], st[whole])
    assert r["estimate"] == pytest.approx(y[whole].mean(), abs=1e-9)
    assert r["se"] == pytest.approx(0, abs=1e-9)


def test_small_strata_share_one_lambda():
    y, m, st, s = _population(sampled=(40, 20, 12))
    table = assisted_mean_ci(y[s], m[s], st[s], m, st)["strata"].set_index("stratum")
    assert table.loc["email", "tuned"] == "own"  # 40 human scores >= 30
    assert table.loc["chat", "tuned"] == table.loc["phone", "tuned"] == "pooled"
    assert table.loc["chat", "lam"] == table.loc["phone", "lam"]
    assert ((table["lam"] >= 0) & (table["lam"] <= 1)).all()
    assert (table["r"] > 0.7).all()


def test_not_applicable_is_left_out_of_both_totals():
    """An element not applicable (NaN) to some interactions: the estimate is the mean over the ones it applies
    to, and a machine that agrees exactly leaves no error."""
    y, _, st, s = _population()
    y = y.copy()
    y[::7] = np.nan
    r = assisted_mean_ci(y[s], y[s], st[s], y, st, lam="difference")
    assert r["estimate"] == pytest.approx(np.nanmean(y), abs=1e-9)
    assert r["se"] == pytest.approx(0, abs=1e-9)


def test_bad_input_is_named():
    y, m, st, s = _population()
    with pytest.raises(MetricsError, match="one value per interaction"):
        assisted_mean_ci(y[s], m[s][:-1], st[s], m, st)
    with pytest.raises(MetricsError, match="stratum 'phone' has 12 human-scored interactions but 0 in the population"):
        assisted_mean_ci(y[s], m[s], st[s], m[st != "phone"], st[st != "phone"])
    with pytest.raises(MetricsError, match="lam 'best' is not one of"):
        assisted_mean_ci(y[s], m[s], st[s], m, st, lam="best")


@pytest.mark.parametrize("case", sorted(CASES))
def test_coverage_in_a_reduced_simulation(case):
    """200 simulated engagements per machine (bench/assisted.py runs 1,000 and more): the 95 % interval
    covers the known population QCI 91–98 % of the time whatever the machine, a machine with r >= .8 is
    worth at least twice the human sample, and a useless one costs under 5 % of width."""
    r = study(case, 200, seed=21)
    assert 0.91 <= r["coverage"] <= 0.98, r
    assert 0.91 <= r["human_coverage"] <= 0.98, r
    if case in ("good", "biased"):
        assert r["n_effective"] >= 2 * r["n"], r
    if case == "useless":
        assert r["width_ratio"] <= 1.05, r


def test_a_categorical_population_gives_what_its_labels_give():
    """A report passes a wave's half-million strata as a categorical (coded through its few categories): the
    estimate, its interval and the per-stratum table equal those of the same labels as text, including a
    sample stratum the population lacks, unused and missing categories."""
    import pandas as pd

    y, m, st, s = _population()
    plain = assisted_mean_ci(y[s], m[s], st[s], m, st)
    cat = pd.Categorical(st, categories=["phone", "zeta", "email", "chat"])  # unsorted, one never used
    fast = assisted_mean_ci(y[s], m[s], st[s], m, cat)
    for key in ("estimate", "se", "ci_low", "ci_high", "df", "n_effective", "human_estimate"):
        assert fast[key] == plain[key]
    pd.testing.assert_frame_equal(fast["strata"], plain["strata"])
    with_missing = np.array(st, dtype=object)
    with_missing[:5] = np.nan  # as a missing label of a pandas column reads
    a = assisted_mean_ci(y[s], m[s], st[s], m, np.array(with_missing, dtype=str))
    b = assisted_mean_ci(y[s], m[s], st[s], m, pd.Categorical(with_missing))
    assert (a["estimate"], a["se"]) == (b["estimate"], b["se"])
    pd.testing.assert_frame_equal(a["strata"], b["strata"])
