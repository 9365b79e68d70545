import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from qcikit import SamplingError, sampling


@pytest.mark.parametrize("population, published", [
    (10, 10), (50, 44), (100, 80), (200, 132), (500, 217), (1000, 278), (2000, 322),
    (5000, 357), (10000, 370), (75000, 382), (1000000, 384),
])
def test_krejcie_morgan_table(population, published):
    # Krejcie & Morgan (1970), Table 1 (chi-square 3.841, P = .5, d = .05): the table rounds
    # Cochran's n with the finite population correction to the nearest whole number.  (Its row
    # N = 100,000 -> 384 disagrees with the table's own formula, which gives 382.6; it is left out.)
    z = 3.841 ** 0.5
    n = sampling.cochran_n(0.05, confidence=2 * stats.norm.cdf(z) - 1, population=population)
    assert round(n) == published
    assert sampling.sample_size(0.05, 0.95, population) in (published, published + 1)  # we round up


def test_cochran_textbook_values():
    # Cochran (1977), eq. 4.1: n0 = 1.96^2 * .25 / .05^2 = 384.16 -> 385.
    assert sampling.sample_size(0.05) == 385
    assert sampling.sample_size(0.03) == 1068
    # Mean: n0 = (1.96 * 15 / 2)^2 = 216.1 -> 217.
    assert sampling.sample_size(2.0, sd=15) == 217


@settings(max_examples=100, deadline=None)
@given(m=st.floats(0.01, 0.3), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]), N=st.one_of(st.none(), st.integers(50, 10**6)))
def test_margin_is_inverse_of_sample_size(m, conf, N):
    n = sampling.sample_size(m, conf, N)
    assert sampling.margin_of_error(n, conf, N) <= m + 1e-12
    if n > 1 and (N is None or n < N):
        assert sampling.margin_of_error(n - 1, conf, N) > m - 1e-9


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(0, 500), min_size=1, max_size=12), frac=st.floats(0, 1),
       method=st.sampled_from(["proportional", "equal", "neyman"]), minimum=st.integers(0, 5))
def test_allocation_is_whole_sums_to_n_and_respects_sizes(sizes, frac, method, minimum):
    s = pd.Series(sizes, index=[f"h{i}" for i in range(len(sizes))])
    n = int(frac * s.sum())
    sd = pd.Series(np.linspace(1, 3, len(s)), index=s.index)
    if np.minimum(minimum, s).sum() > n:
        with pytest.raises(SamplingError, match="per stratum needs"):
            sampling.allocate(s, n, method, sd=sd, minimum=minimum)
        return
    a = sampling.allocate(s, n, method, sd=sd, minimum=minimum)
    assert a.sum() == n
    assert (a <= s).all() and (a >= 0).all()
    assert (a >= np.minimum(minimum, s)).all()
    assert (a[s == 0] == 0).all()  # an empty stratum gets nothing, whatever the minimum


def test_neyman_case_from_the_review():
    """Issue 23's case: {a: 3, b: 21} before (sum 24, b above its 20); the answer is {a: 20, b: 20}.

    Worked by hand: N_h S_h = 100 x .1 = 10 and 20 x 10 = 200, so b's share of 40 is 38.1 > 20; b is taken
    whole and a gets the other 20 (Cochran 1977, §5.9: a stratum whose share exceeds N_h is censused)."""
    a = sampling.allocate(pd.Series({"a": 100, "b": 20}), 40, "neyman", sd={"a": 0.1, "b": 10})
    assert a.to_dict() == {"a": 20, "b": 20}
    frame = pd.DataFrame({"h": ["a"] * 100 + ["b"] * 20})
    drawn = sampling.draw_sample(frame, 40, strata="h", method="neyman", sd={"a": 0.1, "b": 10}, seed=1)
    assert drawn["stratum"].value_counts().to_dict() == {"a": 20, "b": 20}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_neyman_allocation_property(data):
    """Random N_h, sd (zeros included), n and minimum: the sum is n, every n_h lies in [min(minimum, N_h), N_h],
    and where no bound binds the result is the textbook Neyman share n N_h S_h / sum N S rounded (|diff| < 1)."""
    k = data.draw(st.integers(1, 8))
    N = np.array(data.draw(st.lists(st.integers(0, 300), min_size=k, max_size=k)))
    sd = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5, 10.0, 40.0]), min_size=k, max_size=k)))
    minimum = data.draw(st.integers(0, 4))
    n = data.draw(st.integers(0, int(N.sum())))
    idx = [f"h{i}" for i in range(k)]
    lower = np.minimum(minimum, N)
    if lower.sum() > n:
        return
    a = sampling.allocate(pd.Series(N, index=idx), n, "neyman", sd=pd.Series(sd, index=idx), minimum=minimum).to_numpy()
    assert a.sum() == n
    assert (a >= lower).all() and (a <= N).all()
    t = N * sd
    if t.sum() > 0:
        share = n * t / t.sum()
        if ((share >= lower) & (share <= N)).all():
            assert np.all(np.abs(a - share) < 1)


def test_small_strata_keep_two_by_default():
    """Issue 11's case: 20 of 20,000 interactions would round to 0 of 377 (proportional share 0.38)."""
    a = sampling.allocate(pd.Series({"big": 20000, "small": 20}), 377)
    assert a["small"] >= 2 and a.sum() == 377
    assert sampling.allocate(pd.Series({"big": 20000, "small": 20}), 377, minimum=0)["small"] == 0
    frame = pd.DataFrame({"touchpoint": ["email"] * 20000 + ["desk"] * 20})
    plan = sampling.plan(frame, 377, strata="touchpoint").set_index("stratum")
    assert plan.loc["desk", "note"] == "raised to the minimum of 2" and plan.loc["email", "note"] == ""


def test_allocation_methods_hand_computed():
    s = pd.Series({"email": 600, "chat": 300, "phone": 100})
    assert sampling.allocate(s, 50).tolist() == [30, 15, 5]
    assert sampling.allocate(s, 51, "equal").tolist() == [17, 17, 17]
    # Neyman (Cochran 1977, eq. 5.60): n_h ∝ N_h S_h = 600*1, 300*4, 100*6 = 600, 1200, 600.
    assert sampling.allocate(s, 40, "neyman", sd=pd.Series({"email": 1, "chat": 4, "phone": 6})).tolist() == [10, 20, 10]
    # A stratum smaller than its share is taken whole and the rest re-allocated.
    small = pd.Series({"a": 1000, "b": 3})
    assert sampling.allocate(small, 10, "equal").tolist() == [7, 3]


def test_sampling_errors():
    with pytest.raises(SamplingError, match=r"margin 1.5 is outside \(0, 1\)"):
        sampling.sample_size(1.5)
    with pytest.raises(SamplingError, match="larger than the population"):
        sampling.allocate(pd.Series({"a": 5}), 6)
    with pytest.raises(SamplingError, match="method 'random' is not known"):
        sampling.allocate(pd.Series({"a": 5}), 2, "random")
    frame = pd.DataFrame({"id": range(4), "channel": ["email", None, "chat", "chat"]})
    with pytest.raises(SamplingError, match="'channel' is empty at row 3"):
        sampling.draw_sample(frame, 2, strata="channel")
    with pytest.raises(SamplingError, match="needs sd"):
        sampling.allocate(pd.Series({"a": 5}), 2, "neyman")


def test_draw_sample_reproducible_weights_sum_to_strata():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": [f"x{i}" for i in range(5000)], "channel": rng.choice(["email", "chat", "phone"], 5000, p=[.6, .3, .1])})
    a = sampling.draw_sample(frame, 300, strata="channel", seed=42)
    b = sampling.draw_sample(frame, 300, strata="channel", seed=42)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 300 and a["id"].is_unique
    w = a.groupby("stratum")["weight"].sum()
    assert (w - frame["channel"].value_counts()).abs().max() < 1e-9
    c = sampling.draw_sample(frame, 300, strata="channel", seed=43)
    assert set(c["id"]) != set(a["id"])
    # Without strata: simple random sampling, one weight N/n.
    srs = sampling.draw_sample(frame, 100, seed=1)
    assert (srs["weight"] == 50).all()


def test_draw_sample_is_uniform_within_stratum():
    frame = pd.DataFrame({"id": range(20), "s": ["a"] * 10 + ["b"] * 10})
    hits = np.zeros(20)
    for seed in range(2000):
        hits[sampling.draw_sample(frame, 4, strata="s", seed=seed)["id"].to_numpy()] += 1
    # Each unit has inclusion probability 2/10; 2000 draws -> 400 expected, sd ~ 18.
    assert np.abs(hits - 400).max() < 80


def test_plan_and_by_wave():
    frame = pd.DataFrame({"id": range(1200), "wave": ["w1"] * 600 + ["w2"] * 600,
                          "touchpoint": (["email"] * 3 + ["chat"]) * 300})
    drawn = sampling.draw_by_wave(frame, 0.05, 0.95, strata="touchpoint", seed=1)
    assert drawn.groupby("wave").size().tolist() == [sampling.sample_size(0.05, 0.95, 600)] * 2
    assert drawn.groupby("wave")["weight"].sum().round(6).tolist() == [600, 600]
    plan = sampling.plan(frame, 200, strata="touchpoint")
    assert plan["n_h"].iloc[-1] == 200 and plan["stratum"].iloc[-1] == "total"


def test_defaults_and_the_margin_for_a_mean():
    """Defaults a consultant relies on (95 %, ±5 points, p = .5) and the margin in score units with sd:
    Cochran (1977) eq. 4.2 gives 385; a mean with sd 15 and ±2 needs 217, whose margin is 1.998."""
    assert sampling.sample_size() == 385
    assert sampling.cochran_n(0.05) == pytest.approx(1.959964 ** 2 * 0.25 / 0.05 ** 2, rel=1e-6)
    assert sampling.margin_of_error(385) == pytest.approx(0.04994, abs=1e-5)
    assert sampling.margin_of_error(217, sd=15) == pytest.approx(1.959964 * 15 / np.sqrt(217), rel=1e-6)
    assert sampling.margin_of_error(217, sd=15) < 2 < sampling.margin_of_error(216, sd=15)
