"""Agreement coefficients against published worked examples and independent libraries."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from qcikit import ReliabilityError, reliability as R

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", reliability data with
# missing values (4 observers x 12 units); the same data is `cac.raw4raters` of Gwet (2014).
KRIPP = pd.DataFrame({
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    "C": [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
})
# Gwet (2014) / irrCAC documentation: `distrib.6raters`, 15 patients x 5 diagnoses, 6 psychiatrists.
DISTRIB6 = np.array([
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
])
# Gwet (2014) / irrCAC documentation: `cont3x3abstractors`, two abstractors, 100 pregnancies.
ABSTRACTORS = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
# Fleiss' kappa example on Wikipedia ("Fleiss' kappa", worked example): 10 subjects, 14 raters.
WIKI14 = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def raw_from_counts(counts):
    """Units x raters ratings from a units x categories count table (rater order is immaterial)."""
    rows = [np.repeat(np.arange(1, counts.shape[1] + 1), c) for c in counts]
    return pd.DataFrame(rows, dtype=float)


def raw_from_table(table):
    a, b = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            a += [i + 1] * int(table[i, j])
            b += [j + 1] * int(table[i, j])
    return pd.Series(a, dtype=float), pd.Series(b, dtype=float)


def est(df):
    return float(df["estimate"].iloc[0])


# -- Krippendorff's alpha ------------------------------------------------------------
@pytest.mark.parametrize("level, published", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_alpha_krippendorff_2011(level, published):
    # Krippendorff (2011), section C: alpha = .743 nominal, .815 ordinal, .849 interval, .797 ratio.
    assert est(R.krippendorff_alpha(KRIPP, level, n_boot=0)) == pytest.approx(published, abs=5e-4)


def test_alpha_gwet_handbook_examples():
    # irrCAC documentation (Gwet 2014): krippen.alpha.raw(cac.raw4raters) = 0.74342,
    # krippen.alpha.dist(distrib.6raters) = 0.4204384, krippen2.table(cont3x3abstractors) = 0.7972585.
    assert est(R.krippendorff_alpha(KRIPP, n_boot=0)) == pytest.approx(0.74342, abs=5e-6)
    assert est(R.krippendorff_alpha(raw_from_counts(DISTRIB6), n_boot=0)) == pytest.approx(0.4204384, abs=1e-6)
    a, b = raw_from_table(ABSTRACTORS)
    assert est(R.krippendorff_alpha(pd.concat([a, b], axis=1), n_boot=0)) == pytest.approx(0.7972585, abs=1e-6)


@pytest.mark.parametrize("level", R.LEVELS)
def test_alpha_matches_krippendorff_library_with_missing(level):
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(11)
    for _ in range(5):
        data = rng.integers(1, 6, size=(60, 4)).astype(float)
        data[rng.random(data.shape) < 0.25] = np.nan
        ref = krippendorff.alpha(reliability_data=data.T, level_of_measurement=level)
        assert est(R.krippendorff_alpha(pd.DataFrame(data), level, n_boot=0)) == pytest.approx(ref, abs=1e-9)


def test_alpha_bootstrap_is_seeded_and_brackets_the_estimate():
    a = R.krippendorff_alpha(KRIPP, "interval", n_boot=500, seed=3)
    b = R.krippendorff_alpha(KRIPP, "interval", n_boot=500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert a["ci_low"].iloc[0] < est(a) <= a["ci_high"].iloc[0]
    # The profile bootstrap's spread agrees with Gwet's analytic standard error (0.14557, irrCAC docs).
    nominal = R.krippendorff_alpha(KRIPP, n_boot=4000, seed=1)
    assert nominal["se"].iloc[0] == pytest.approx(0.14557, rel=0.15)


def test_alpha_profile_bootstrap_equals_naive_unit_bootstrap():
    """Resampling profiles by a multinomial is the same distribution as resampling units."""
    rng = np.random.default_rng(5)
    data = pd.DataFrame(rng.integers(1, 4, size=(80, 3)).astype(float))
    fast = R.krippendorff_alpha(data, "ordinal", n_boot=3000, seed=9)
    naive = []
    for _ in range(600):
        idx = rng.integers(0, len(data), len(data))
        naive.append(est(R.krippendorff_alpha(data.iloc[idx].reset_index(drop=True), "ordinal", n_boot=0)))
    assert fast["se"].iloc[0] == pytest.approx(np.std(naive, ddof=1), rel=0.12)


# -- Gwet's AC1 / AC2, Fleiss' kappa, percent agreement -------------------------------
def test_ac1_fleiss_percent_on_cac_raw4raters():
    # irrCAC documentation (Gwet 2014) for cac.raw4raters:
    # AC1 0.77544 (se 0.14295, CI 0.461-1); Fleiss 0.76117 (se 0.15302, CI 0.424-1); pa 0.8181818 (se 0.12561).
    ac1 = R.gwet_ac1(KRIPP)
    assert est(ac1) == pytest.approx(0.77544, abs=5e-6)
    assert ac1["se"].iloc[0] == pytest.approx(0.14295, abs=5e-6)
    assert ac1["ci_low"].iloc[0] == pytest.approx(0.46081, abs=5e-5) and ac1["ci_high"].iloc[0] == 1
    fk = R.fleiss_kappa(KRIPP)
    assert est(fk) == pytest.approx(0.76117, abs=5e-6)
    assert fk["se"].iloc[0] == pytest.approx(0.15302, abs=5e-6)
    assert fk["ci_low"].iloc[0] == pytest.approx(0.42438, abs=5e-5)
    pa = R.percent_agreement(KRIPP)
    assert est(pa) == pytest.approx(0.8181818, abs=1e-7)
    assert pa["se"].iloc[0] == pytest.approx(0.12561, abs=5e-6)


def test_ac2_with_documented_weight_matrix():
    # irrCAC (Python port) documentation: CAC(cac.raw4raters, weights="bipolar").gwet() = 0.90037, se 0.10582.
    bipolar = np.array([
        [1.0, 0.85714286, 0.66666667, 0.4, 0.0],
        [0.85714286, 1.0, 0.93333333, 0.75, 0.4],
        [0.66666667, 0.93333333, 1.0, 0.93333333, 0.66666667],
        [0.4, 0.75, 0.93333333, 1.0, 0.85714286],
        [0.0, 0.4, 0.66666667, 0.85714286, 1.0],
    ])
    ac2 = R.gwet_ac1(KRIPP, weights=bipolar)
    assert est(ac2) == pytest.approx(0.90037, abs=1e-5)
    assert ac2["se"].iloc[0] == pytest.approx(0.10582, abs=1e-5)


def test_distrib_6raters():
    # irrCAC documentation: gwet.ac1.dist(distrib.6raters) = 0.4448007 (se 0.08418757),
    # fleiss.kappa.dist = 0.4139265 (se 0.08119291), pa = 0.5511111.
    raw = raw_from_counts(DISTRIB6)
    ac1 = R.gwet_ac1(raw)
    assert est(ac1) == pytest.approx(0.4448007, abs=1e-6)
    assert ac1["se"].iloc[0] == pytest.approx(0.08418757, abs=1e-6)
    fk = R.fleiss_kappa(raw)
    assert est(fk) == pytest.approx(0.4139265, abs=1e-6)
    assert fk["se"].iloc[0] == pytest.approx(0.08119291, abs=1e-6)
    assert est(R.percent_agreement(raw)) == pytest.approx(0.5511111, abs=1e-6)


def test_fleiss_wikipedia_example_and_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    # Wikipedia, "Fleiss' kappa", worked example: kappa = 0.210.
    assert est(R.fleiss_kappa(raw_from_counts(WIKI14))) == pytest.approx(0.210, abs=5e-4)
    assert est(R.fleiss_kappa(raw_from_counts(WIKI14))) == pytest.approx(sm_fleiss(WIKI14), abs=1e-12)


def test_fleiss_matches_statsmodels_on_random_complete_data():
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(2)
    for _ in range(5):
        data = rng.integers(0, 4, size=(40, 5))
        table, _ = aggregate_raters(data)
        assert est(R.fleiss_kappa(pd.DataFrame(data))) == pytest.approx(sm_fleiss(table), abs=1e-12)


def test_ac1_two_raters_abstractors():
    # irrCAC documentation: gwet.ac1.table(cont3x3abstractors) = 0.8493305; pa2.table = 0.89.
    a, b = raw_from_table(ABSTRACTORS)
    pair = pd.concat([a, b], axis=1)
    assert est(R.gwet_ac1(pair)) == pytest.approx(0.8493305, abs=1e-6)
    assert est(R.percent_agreement(pair)) == pytest.approx(0.89)


def test_percent_agreement_matches_pairwise_count_with_missing():
    rng = np.random.default_rng(4)
    data = rng.integers(0, 3, size=(50, 4)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    per_unit = []
    for row in data:
        v = row[~np.isnan(row)]
        if len(v) >= 2:
            pairs = [(i, j) for i in range(len(v)) for j in range(len(v)) if i != j]
            per_unit.append(np.mean([v[i] == v[j] for i, j in pairs]))
    assert est(R.percent_agreement(pd.DataFrame(data))) == pytest.approx(np.mean(per_unit))


# -- Cohen's kappa --------------------------------------------------------------------
def test_cohen_abstractors():
    # irrCAC documentation (Gwet 2014): kappa2.table(cont3x3abstractors) = 0.7964094, se 0.05891072.
    a, b = raw_from_table(ABSTRACTORS)
    k = R.cohen_kappa(a, b)
    assert est(k) == pytest.approx(0.7964094, abs=1e-7)
    assert k["se"].iloc[0] == pytest.approx(0.05891072, abs=1e-7)


def test_cohen_wikipedia_example():
    # Wikipedia, "Cohen's kappa", first example: 50 applications, table [[20, 5], [10, 15]] -> kappa = 0.4.
    a, b = raw_from_table(np.array([[20, 5], [10, 15]]))
    assert est(R.cohen_kappa(a, b)) == pytest.approx(0.4)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_sklearn(weights):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(8)
    a = rng.integers(0, 5, 120)
    b = np.clip(a + rng.integers(-1, 2, 120), 0, 4)
    ref = cohen_kappa_score(a, b, weights=weights)
    assert est(R.cohen_kappa(pd.Series(a), pd.Series(b), weights=weights)) == pytest.approx(ref, abs=1e-12)


def test_cohen_drops_pairs_with_a_missing_rating():
    a = pd.Series([1, 2, 3, np.nan, 1, 2])
    b = pd.Series([1, 2, 3, 3, np.nan, 1])
    assert R.cohen_kappa(a, b)["n_units"].iloc[0] == 4


# -- ICC --------------------------------------------------------------------------------
def test_icc_shrout_fleiss_table():
    # Shrout & Fleiss (1979), Table 2 data, Table 4 results: .17, .29, .71, .44, .62, .91.
    d = pd.DataFrame({"J1": [9, 6, 8, 7, 10, 6], "J2": [2, 1, 4, 1, 5, 2],
                      "J3": [5, 3, 6, 2, 6, 4], "J4": [8, 2, 8, 6, 9, 7]})
    out = R.icc(d).set_index("coefficient")
    expected = {"ICC(1,1)": .17, "ICC(2,1)": .29, "ICC(3,1)": .71, "ICC(1,k)": .44, "ICC(2,k)": .62, "ICC(3,k)": .91}
    for name, value in expected.items():
        assert out.loc[name, "estimate"] == pytest.approx(value, abs=0.005)
        assert out.loc[name, "ci_low"] < out.loc[name, "estimate"] < out.loc[name, "ci_high"]


# -- degenerate input -----------------------------------------------------------------
def test_degenerate_inputs_are_clear():
    with pytest.raises(ReliabilityError, match="1 rater"):
        R.krippendorff_alpha(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ReliabilityError, match="only 1 unit"):
        R.fleiss_kappa(pd.DataFrame({"a": [1, np.nan], "b": [1, 2]}))
    with pytest.raises(ReliabilityError, match="alpha is undefined"):
        R.krippendorff_alpha(pd.DataFrame({"a": [2, 2, 2], "b": [2, 2, 2]}))
    with pytest.raises(ReliabilityError, match="Fleiss' kappa is undefined"):
        R.fleiss_kappa(pd.DataFrame({"a": [2, 2, 2], "b": [2, 2, 2]}))
    with pytest.raises(ReliabilityError, match="is not a number"):
        R.krippendorff_alpha(pd.DataFrame({"a": ["x", "2", "3"], "b": ["1", "2", "3"]}), "interval")
    with pytest.raises(ReliabilityError, match="level 'metric' is not known"):
        R.krippendorff_alpha(KRIPP, "metric")
    with pytest.raises(ReliabilityError, match="weights 'cubic' is not known"):
        R.gwet_ac1(KRIPP, weights="cubic")
    # A rater with no rating at all is simply left out.
    with_empty = KRIPP.assign(E=np.nan)
    assert est(R.krippendorff_alpha(with_empty, n_boot=0)) == pytest.approx(0.743, abs=5e-4)
    assert R.krippendorff_alpha(with_empty, n_boot=0)["n_raters"].iloc[0] == 4
    # All raters agree on one category, but the scale has more: AC1 is defined and equals 1.
    assert est(R.gwet_ac1(pd.DataFrame({"a": [2, 2, 2], "b": [2, 2, 2]}), categories=[0, 1, 2, 3])) == pytest.approx(1)


# -- properties -------------------------------------------------------------------------
ratings_strategy = arrays(np.float64, st.tuples(st.integers(4, 12), st.integers(2, 4)), elements=st.integers(0, 3).map(float))


@settings(max_examples=40, deadline=None)
@given(data=ratings_strategy, perm_seed=st.integers(0, 1000))
def test_permuting_raters_or_units_changes_nothing(data, perm_seed):
    df = pd.DataFrame(data)
    rng = np.random.default_rng(perm_seed)
    shuffled = df.iloc[rng.permutation(len(df)), rng.permutation(df.shape[1])]
    for fn in (lambda d: R.krippendorff_alpha(d, "ordinal", n_boot=0), R.fleiss_kappa, R.gwet_ac1, R.percent_agreement):
        try:
            a = est(fn(df))
        except ReliabilityError:
            with pytest.raises(ReliabilityError):
                fn(shuffled)
            continue
        assert est(fn(shuffled)) == pytest.approx(a, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(column=arrays(np.float64, st.integers(3, 15), elements=st.integers(0, 4).map(float)), raters=st.integers(2, 4))
def test_perfect_agreement_gives_one(column, raters):
    df = pd.DataFrame({f"r{k}": column for k in range(raters)})
    cats = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert est(R.percent_agreement(df)) == 1
    assert est(R.gwet_ac1(df, categories=cats)) == pytest.approx(1)
    if len(np.unique(column)) > 1:
        for level in R.LEVELS[:3]:
            assert est(R.krippendorff_alpha(df, level, n_boot=0)) == pytest.approx(1)
        assert est(R.fleiss_kappa(df)) == pytest.approx(1)


# -- per element and calibration ----------------------------------------------------------
def test_by_element_and_calibration_on_sample():
    import qcikit
    from conftest import SAMPLES

    eng = qcikit.Engagement.load(SAMPLES / "northwind")
    table = R.by_element(eng.scores, eng.rubric, n_boot=200)
    assert list(table["element"]) == eng.rubric.element_ids
    assert table["estimate"].between(-1, 1).all()
    assert (table["ci_low"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_high"]).all()
    assert set(table["verdict"]) <= {"reliable", "tentative", "unreliable", "undefined"}
    cal = R.calibrate(eng.scores, eng.gold, eng.rubric)
    overall = cal[cal["element"] == "(all)"].set_index("rater")
    # The generator made chloe lenient: she is the one flagged for coaching.
    assert overall["coaching"].idxmax() == "chloe" and overall["coaching"].sum() == 1
    assert overall.loc["chloe", "qci_bias"] > 5
    impact = R.qci_without(eng.scores, eng.rubric, ["chloe"])
    assert impact["change"].iloc[1] < 0


def test_alignment_score_hand_computed(make_rubric):
    r = make_rubric()
    gold = pd.DataFrame({"interaction_id": "i1", "element": [f"e{i}" for i in range(8)], "points": [4.0] * 8})
    rater = gold.assign(rater="x", points=[4.0, 4, 4, 4, 4, 4, 2, 0])
    cal = R.calibrate(rater, gold, r).set_index(["rater", "element"])
    # 1 - (2 + 4) / (8 * 4) = 0.8125; e6 alone: 1 - 2/4.
    assert cal.loc[("x", "(all)"), "alignment"] == pytest.approx(0.8125)
    assert cal.loc[("x", "e6"), "alignment"] == pytest.approx(0.5)
    # One gold interaction gives no interval for the bias: no coaching decision about a person rests on it.
    assert not cal.loc[("x", "(all)"), "coaching"] and np.isnan(cal.loc[("x", "(all)"), "qci_bias_low"])


def test_coaching_needs_a_bias_interval_beyond_zero_and_the_threshold(make_rubric):
    """Paired differences, t interval (Student 1908): flagged only when the interval excludes 0 and the bias
    exceeds 10 % of the element's scale."""
    from scipy import stats

    r = make_rubric()
    ids = [f"i{k}" for k in range(12)]
    gold = pd.DataFrame([{"interaction_id": i, "element": e, "points": 2.0} for i in ids for e in r.element_ids])
    lenient = gold.assign(rater="len", points=np.where(gold["element"] == "e0", 3.0, 2.0))  # +1 of 4 on e0, always
    noisy = gold.assign(rater="noisy")
    noisy.loc[noisy["element"] == "e0", "points"] = [4.0, 0.0, 3.0, 1.0] * 3  # mean 2 = gold: scattered, unbiased
    cal = R.calibrate(pd.concat([lenient, noisy]), gold, r).set_index(["rater", "element"])
    assert cal.loc[("len", "e0"), "coaching"]  # bias +1 point = 25 % of the scale, every time
    assert not cal.loc[("noisy", "e0"), "coaching"]  # mean bias 0: scattered, not biased
    d = noisy[noisy["element"] == "e0"]["points"].to_numpy() - 2.0
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    assert (cal.loc[("noisy", "e0"), "bias_low"], cal.loc[("noisy", "e0"), "bias_high"]) == pytest.approx(
        (d.mean() - half, d.mean() + half))
    assert cal.loc[("len", "e0"), "share_bias"] == pytest.approx(0.25)


def test_qci_without_compares_the_same_interactions(make_rubric):
    r = make_rubric()
    rows = []
    for i, raters in (("i1", ("a", "b")), ("i2", ("a", "b")), ("i3", ("b",))):  # i3: only b scored it
        for rater in raters:
            for e in r.element_ids:
                rows.append({"interaction_id": i, "rater": rater, "element": e, "points": 4.0 if rater == "b" else 2.0})
    out = R.qci_without(pd.DataFrame(rows), r, ["b"])
    assert list(out["n_interactions"]) == [2, 2]  # i3 cannot be measured without b: left out of both rows
    assert out["mean_qci"].tolist() == pytest.approx([75.0, 50.0])


def test_by_element_reports_undefined_rather_than_crashing(make_rubric):
    r = make_rubric()
    rows = [{"interaction_id": f"i{u}", "rater": rr, "element": e, "points": 2.0}
            for u in range(5) for rr in ("a", "b") for e in r.element_ids]
    table = R.by_element(pd.DataFrame(rows), r, coefficient="fleiss")
    assert (table["verdict"] == "undefined").all()
    assert table["note"].str.contains("undefined").all()
    assert (table["percent_agreement"] == 1).all()


def test_applicability_agreement_counts_na_disagreements(make_rubric):
    r = make_rubric()
    rows = []
    for u in range(6):
        for rater in ("a", "b"):
            for e in r.element_ids:
                # Rater b calls e0 not applicable on two of six interactions where a scored it.
                na = e == "e0" and rater == "b" and u < 2
                rows.append({"interaction_id": f"i{u}", "rater": rater, "element": e,
                             "points": np.nan if na else float((u + len(e)) % 5)})
    table = R.by_element(pd.DataFrame(rows), r, n_boot=0).set_index("element")
    assert table.loc["e0", "applicability_agreement"] == pytest.approx(4 / 6)
    assert table.loc["e1", "applicability_agreement"] == 1


def test_verdicts_read_the_lower_limit_of_the_interval():
    """Krippendorff (2004, §11.4): .800 / .667, applied to the smallest alpha the interval allows."""
    import qcikit
    from conftest import SAMPLES

    eng = qcikit.Engagement.load(SAMPLES / "brightwave")
    table = R.by_element(eng.own_ratings, eng.rubric, n_boot=300, seed=1)
    judged = table["verdict"] != R.TOO_FEW
    assert (table.loc[judged, "verdict"] == table.loc[judged, "ci_low"].map(R.verdict)).all()
    assert table.loc[~judged, "ci_low"].isna().all()
    # A point estimate above .800 whose interval reaches below it is not called reliable.
    loose = table[(table["estimate"] >= 0.8) & (table["ci_low"] < 0.8)]
    assert (loose["verdict"] != "reliable").all()


def test_alpha_profiles_never_collide_for_many_categories():
    """Issue 23: keying profiles by ``counts @ base**k`` overflowed int64 for q = 106 categories (QCI-like
    ratings), merging 60 distinct profiles into 40. Every distinct row of the count matrix is its own profile."""
    from qcikit.reliability import _category_counts, _profiles, _ratings

    rng = np.random.default_rng(4)
    truth = rng.integers(0, 106, 60)
    data = pd.DataFrame({"a": truth, "b": np.clip(truth + rng.integers(-3, 4, 60), 0, 105),
                         "c": np.clip(truth + rng.integers(-3, 4, 60), 0, 105)}).astype(float)
    counts, _ = _category_counts(_ratings(data, True), np.arange(106, dtype=float))
    first, freq, inverse = _profiles(counts)
    distinct = len({tuple(r) for r in counts.astype(int).tolist()})
    assert len(first) == distinct == 60 and freq.sum() == 60
    assert (counts[first][inverse] == counts).all()
    # The interval agrees with a plain unit bootstrap (multinomial resamples of units, krippendorff's alpha).
    kd = pytest.importorskip("krippendorff")
    fast = R.krippendorff_alpha(data, "interval", n_boot=2000, seed=2, categories=np.arange(106, dtype=float))
    naive = [kd.alpha(reliability_data=data.iloc[rng.integers(0, 60, 60)].T.to_numpy(), level_of_measurement="interval")
             for _ in range(2000)]
    assert fast["ci_low"].iloc[0] == pytest.approx(np.quantile(naive, 0.025), abs=0.03)
    assert fast["ci_high"].iloc[0] == pytest.approx(np.quantile(naive, 0.975), abs=0.03)


@pytest.mark.parametrize("q, raters, seed", [(2, 2, 0), (5, 4, 1), (11, 8, 2), (3, 30, 3)])
def test_alpha_profiles_by_integer_key_equal_whole_row_comparison(q, raters, seed):
    """The fast path (rows read as the digits of one integer) finds the same profiles, in the same order, as
    ``np.unique(axis=0)``, so the seeded bootstrap draws exactly what it drew before."""
    from qcikit.reliability import _profiles

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(raters, np.ones(q) / q, size=500)
    _, first_ref, inverse_ref, freq_ref = np.unique(counts, axis=0, return_index=True, return_inverse=True,
                                                    return_counts=True)
    first, freq, inverse = _profiles(counts)
    assert (first == first_ref).all() and (freq == freq_ref).all() and (inverse == inverse_ref.ravel()).all()


def test_alpha_interval_level_matches_an_independent_bootstrap():
    """The interval is 95 %, not 80 %: its width matches a plain unit bootstrap of krippendorff's alpha
    (percentile, 2,000 multinomial resamples); BCa and percentile agree at n = 150."""
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(8)
    truth = rng.integers(0, 4, 150)
    noisy = lambda: np.where(rng.random(150) < 0.75, truth, rng.integers(0, 4, 150))
    data = pd.DataFrame({"a": noisy(), "b": noisy(), "c": noisy()}).astype(float)
    fast = R.krippendorff_alpha(data, "ordinal", n_boot=2000, seed=4)
    naive = [kd.alpha(reliability_data=data.iloc[rng.integers(0, 150, 150)].T.to_numpy(), level_of_measurement="ordinal")
             for _ in range(2000)]
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert fast["ci_low"].iloc[0] == pytest.approx(lo, abs=0.02)
    assert fast["ci_high"].iloc[0] == pytest.approx(hi, abs=0.02)
    assert (fast["ci_high"] - fast["ci_low"]).iloc[0] == pytest.approx(hi - lo, rel=0.15)


def _simulated_ratings(rng, n_units, p_keep, probs, raters=3):
    """Raters copy the unit's true category with probability p_keep, else draw one from ``probs``."""
    truth = rng.choice(len(probs), size=n_units, p=probs)
    keep = rng.random((n_units, raters)) < p_keep
    guess = rng.choice(len(probs), size=(n_units, raters), p=probs)
    return pd.DataFrame(np.where(keep, truth[:, None], guess).astype(float))


@pytest.mark.parametrize("probs", [(0.85, 0.10, 0.05), (0.2, 0.3, 0.5)])
def test_small_n_false_reliable_rate(probs):
    """Issue 23: at a true alpha of about .79, 20 units and 3 raters, "reliable" (lower limit >= .800) must be
    rare: at most 5 % over 500 simulations (the lower limit promises about 2.5 %). The percentile interval that
    dropped undefined resamples called it reliable 17 % of the time on the skewed case.
    p_keep = .89 gives alpha = .79 in a population of 200,000 units (checked below)."""
    from qcikit.reliability import _alpha_bootstrap, _category_counts, _coincidences, _ratings

    cats = np.arange(len(probs), dtype=float)
    rng = np.random.default_rng(20)
    big = _simulated_ratings(rng, 200_000, 0.89, probs)
    assert est(R.krippendorff_alpha(big, "ordinal", n_boot=0, categories=cats)) == pytest.approx(0.79, abs=0.01)
    reliable = old_reliable = 0
    for s in range(500):
        data = _simulated_ratings(rng, 20, 0.89, probs)
        try:
            r = R.krippendorff_alpha(data, "ordinal", seed=s, categories=cats)
        except R.ReliabilityError:
            continue  # no variation at all: alpha undefined, never "reliable"
        reliable += R.verdict(r["ci_low"].iloc[0]) == "reliable"
        counts, _ = _category_counts(_ratings(data, True), cats)
        counts = counts[counts.sum(axis=1) >= 2]
        boots = _alpha_bootstrap(counts, _coincidences(counts), "ordinal", cats, 1000, s)[0]
        old_reliable += np.quantile(boots[np.isfinite(boots)], 0.025) >= 0.8  # the old percentile rule
    assert reliable / 500 <= 0.05
    if probs[0] == 0.85:
        assert old_reliable / 500 > 0.10  # the case the review found


def test_too_few_varied_units_is_its_own_verdict():
    """Brightwave Q3 policy_reason: 20 units, every unit rated alike by its raters, most with the same points.
    The old percentile interval was [1, 1] and the verdict "reliable"; undefined resamples are now counted."""
    rows = []
    for u in range(20):
        for rater in ("ana", "ben"):
            rows.append({"interaction_id": f"i{u}", "rater": rater, "element": "e0", "points": 1.0 if u == 0 else 0.0})
    scores = pd.DataFrame(rows)
    res = R.krippendorff_alpha(R.ratings_matrix(scores, "e0"), "ordinal", seed=1)
    assert est(res) == 1 and np.isnan(res["ci_low"].iloc[0])
    assert "undefined, counted as no agreement" in res["ci_method"].iloc[0]
    table = R.by_element(scores, None, n_boot=1000, seed=1).set_index("element")
    assert table.loc["e0", "verdict"] == R.TOO_FEW


@pytest.mark.parametrize("confidence", [0.95, 0.90])
def test_cohen_interval_level_matches_statsmodels(confidence):
    """The interval is kappa ± z·SE (Fleiss, Cohen & Everitt 1969) at the level asked for; statsmodels'
    cohens_kappa computes the same bounds from its own alpha (a mutation of z went uncaught before)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(12)
    a = rng.integers(0, 4, 150)
    b = np.where(rng.random(150) < 0.7, a, rng.integers(0, 4, 150))
    table = np.zeros((4, 4))
    np.add.at(table, (a, b), 1)
    ref = cohens_kappa(table)  # statsmodels' bounds are at 95 %; at 90 % they are rebuilt from its SE with scipy's z
    from scipy import stats

    z = stats.norm.ppf(0.5 + confidence / 2)
    low, high = (ref.kappa_low, ref.kappa_upp) if confidence == 0.95 else (ref.kappa - z * ref.std_kappa,
                                                                             ref.kappa + z * ref.std_kappa)
    got = R.cohen_kappa(pd.Series(a), pd.Series(b), confidence=confidence)
    assert (got["ci_low"].iloc[0], got["ci_high"].iloc[0]) == pytest.approx((low, high), abs=1e-9)


def test_by_element_uses_the_elements_whole_scale_and_counts_pairable_units(make_rubric):
    """An element scored 0–4 whose raters used only 0–2: the coefficients run over the element's five categories
    (krippendorff's value_domain; AC2's chance agreement counts them), not the three seen; n_units counts units
    rated by two or more raters."""
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 30)
    rows = []
    for u in range(30):
        for rater in ("a", "b", "c"):
            if rater == "c" and u % 3:
                continue  # c scores a third of the units
            pts = truth[u] if rng.random() < 0.8 else rng.integers(0, 3)
            rows.append({"interaction_id": f"i{u}", "rater": rater, "element": "e0", "points": float(pts)})
    rows.append({"interaction_id": "solo", "rater": "a", "element": "e0", "points": 1.0})  # one rater: not pairable
    scores = pd.DataFrame(rows)
    r = make_rubric()
    table = R.by_element(scores, r, n_boot=0).set_index("element")
    mat = R.ratings_matrix(scores[scores["interaction_id"] != "solo"], "e0")  # by_element keeps shared units only
    ref = kd.alpha(reliability_data=mat.T.to_numpy(), level_of_measurement="ordinal", value_domain=[0, 1, 2, 3, 4])
    assert table.loc["e0", "estimate"] == pytest.approx(ref, abs=1e-9)
    # Gwet's AC2 counts the categories in its chance agreement: the element's five, not the three seen.
    ac2 = R.by_element(scores, r, coefficient="ac1", n_boot=0).set_index("element").loc["e0", "estimate"]
    whole = est(R.gwet_ac1(mat, "quadratic", categories=np.arange(5, dtype=float)))
    seen = est(R.gwet_ac1(mat, "quadratic"))
    assert ac2 == pytest.approx(whole) and abs(whole - seen) > 1e-3
    assert table.loc["e0", "n_units"] == 30
    fleiss = R.by_element(scores, r, coefficient="fleiss", n_boot=0).set_index("element")
    assert fleiss.loc["e0", "estimate"] == pytest.approx(
        est(R.fleiss_kappa(mat, categories=np.arange(5, dtype=float))))
    pct = R.by_element(scores, r, coefficient="percent", n_boot=0).set_index("element")
    assert pct.loc["e0", "estimate"] == pytest.approx(est(R.percent_agreement(mat)))


def test_disagreement_drivers_find_the_rater_who_reads_differently(make_rubric):
    """Leave-one-rater-out: three raters who apply the rules alike and one who scores at random; the random one
    drives the disagreement, and alpha without them equals the krippendorff package's on the other three."""
    kd = pytest.importorskip("krippendorff")
    rubric = make_rubric()
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        truth = rng.integers(0, 5, 8)
        for rater in ("ana", "ben", "chloe", "dev"):
            pts = rng.integers(0, 5, 8) if rater == "dev" else np.where(rng.random(8) < 0.9, truth, np.clip(truth + 1, 0, 4))
            rows += [(f"I{i}", rater, f"e{k}", float(p)) for k, p in enumerate(pts)]
    scores = pd.DataFrame(rows, columns=["interaction_id", "rater", "element", "points"])
    d = R.disagreement_drivers(scores, rubric, ["e0", "e3"], n_boot=200, seed=1)
    assert d["element"].tolist() == ["e0", "e3"] and (d["left_out"] == "dev").all()
    for r in d.itertuples():
        mat = scores[(scores["element"] == r.element) & (scores["rater"] != "dev")].pivot(
            index="interaction_id", columns="rater", values="points")
        assert r.estimate == pytest.approx(kd.alpha(reliability_data=mat.T.to_numpy(), level_of_measurement="ordinal",
                                                    value_domain=[0, 1, 2, 3, 4]), abs=1e-9)
        assert r.estimate > r.with_all and r.verdict in ("reliable", "tentative")
    # Two raters: nobody can be left out.
    assert R.disagreement_drivers(scores[scores["rater"].isin(["ana", "ben"])], rubric, ["e0"]).empty


@pytest.mark.parametrize("f", [0, 1, 3, 9.0, 17, 250, 4000])
def test_poisson_counts_are_poisson(f):
    """The bootstrap's histogram-and-shuffle draw gives Poisson(f) counts: its histogram of 200,000 draws
    passes scipy's chi-square test against scipy.stats.poisson, mean and variance are f, and two profiles'
    counts are uncorrelated (the shuffle makes each replicate's counts independent)."""
    from scipy import stats

    from qcikit.reliability import _poisson_counts

    draws = _poisson_counts(np.array([f, 5.0]), 200_000, np.random.default_rng(7))
    assert draws.shape == (2, 200_000)
    x = draws[0]
    if f == 0:
        assert not x.any()
        return
    assert x.mean() == pytest.approx(f, rel=0.02 / np.sqrt(f) + 0.005)
    assert x.var() == pytest.approx(f, rel=0.03)
    lo, hi = stats.poisson.ppf([1e-4, 1 - 1e-4], f).astype(int)  # pool the tails so expected counts are large
    edges = np.arange(lo, hi + 1)
    observed = np.array([(x <= lo).sum(), *[(x == k).sum() for k in edges[1:-1]], (x >= hi).sum()])
    p = np.diff(np.concatenate([[0], stats.poisson.cdf(edges[:-1], f), [1]]))
    assert stats.chisquare(observed, p * len(x)).pvalue > 0.001
    assert abs(np.corrcoef(draws)[0, 1]) < 0.01
    # and the columns are not left in the sorted order the histogram builds them in
    assert abs(np.corrcoef(x, np.arange(len(x)))[0, 1]) < 0.01


def test_the_quantiles_are_scipy_stats_own():
    """qcikit._dist takes the t and normal quantiles from scipy.special, which scipy.stats's t and norm call
    themselves: equal to the last bit over a grid, edge cases included (df of 0 or below gives NaN, an
    infinite df the normal). Published anchor: t(0.975; 7) = 2.365 and z(0.975) = 1.960 (any t table, e.g.
    Snedecor & Cochran, Statistical Methods, 8th ed., Table A4)."""
    from scipy import stats

    from qcikit._dist import norm_cdf, norm_ppf, t_ppf, t_sf

    p = np.array([1e-9, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999])
    for df in (-1, 0, 0.5, 1, 2, 3.5, 7, 29, 1e9, np.inf):
        assert np.array_equal(t_ppf(p, df), stats.t.ppf(p, df), equal_nan=True)
        assert np.array_equal(t_sf(p * 10, df), stats.t.sf(p * 10, df), equal_nan=True)
    assert np.array_equal(norm_ppf(p), stats.norm.ppf(p)) and np.array_equal(norm_cdf(p - 0.5), stats.norm.cdf(p - 0.5))
    assert round(float(t_ppf(0.975, 7)), 3) == 2.365 and round(float(norm_ppf(0.975)), 3) == 1.960
