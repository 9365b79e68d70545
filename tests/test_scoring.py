"""Scoring: hand-computed examples for every rule, and properties."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import qcikit
from conftest import small_rubric
from qcikit import RubricVersionError, ScoringError


def long(points, interaction="i1", rater="ana"):
    return pd.DataFrame({"interaction_id": interaction, "rater": rater,
                         "element": [f"e{i}" for i in range(len(points))], "points": points})


def test_full_marks_is_100_and_zero_is_0(make_rubric):
    r = make_rubric()
    assert qcikit.score(long([4] * 8), r)["qci"].iloc[0] == 100
    assert qcikit.score(long([0] * 8), r)["qci"].iloc[0] == 0


def test_hand_computed_qci(make_rubric):
    # Shares: e0 1.0, e1 .5 -> Timing 75; e2 .25, e3 .75 -> Information 50;
    # e4 .5, e5 .5 -> Connection 50; e6 0, e7 1 -> Differentiation 50.  QCI = (75+50+50+50)/4 = 56.25
    out = qcikit.score(long([4, 2, 1, 3, 2, 2, 0, 4]), make_rubric()).iloc[0]
    assert out["Timing"] == pytest.approx(75)
    assert out["Information"] == pytest.approx(50)
    assert out["qci"] == pytest.approx(56.25)
    assert out["n_elements"] == 8


def test_na_shares_weight_within_dimension(make_rubric):
    # e1 not applicable: Timing = e0 only = 100.  QCI = (100 + 50 + 50 + 50) / 4 = 62.5
    out = qcikit.score(long([4, np.nan, 1, 3, 2, 2, 0, 4]), make_rubric()).iloc[0]
    assert out["Timing"] == pytest.approx(100)
    assert out["qci"] == pytest.approx(62.5)
    assert out["n_elements"] == 7


def test_whole_dimension_na_is_left_out(make_rubric):
    out = qcikit.score(long([np.nan, np.nan, 1, 3, 2, 2, 0, 4]), make_rubric()).iloc[0]
    assert np.isnan(out["Timing"])
    assert out["qci"] == pytest.approx(50)


@pytest.mark.parametrize(
    "critical, expected_qci, expected_info",
    [
        ({"effect": "zero_interaction"}, 0.0, 0.0 + 37.5),
        ({"effect": "zero_dimension"}, (75 + 0 + 50 + 50) / 4, 0.0),
        ({"effect": "cap", "cap": 40}, 40.0, 37.5),
    ],
)
def test_critical_effects(small_rubric_dict, critical, expected_qci, expected_info):
    # e2 (Information) fails with 0 points; without the rule Information = (0 + .75)/2 = 37.5, QCI = 53.125.
    small_rubric_dict["elements"][2]["critical"] = critical
    r = qcikit.Rubric.from_dict(small_rubric_dict)
    out = qcikit.score(long([4, 2, 0, 3, 2, 2, 0, 4]), r).iloc[0]
    assert out["qci"] == pytest.approx(expected_qci)
    assert out["Information"] == pytest.approx(expected_info)
    assert out["critical_fail"] == "e2"


def test_cap_does_not_raise_a_low_score(small_rubric_dict):
    small_rubric_dict["elements"][2]["critical"] = {"effect": "cap", "cap": 90}
    r = qcikit.Rubric.from_dict(small_rubric_dict)
    assert qcikit.score(long([4, 2, 0, 3, 2, 2, 0, 4]), r)["qci"].iloc[0] == pytest.approx(53.125)


def test_critical_pass_leaves_score(small_rubric_dict):
    small_rubric_dict["elements"][2]["critical"] = {"effect": "zero_interaction", "fail_below": 1}
    r = qcikit.Rubric.from_dict(small_rubric_dict)
    out = qcikit.score(long([4, 2, 1, 3, 2, 2, 0, 4]), r).iloc[0]
    assert out["qci"] == pytest.approx(56.25) and out["critical_fail"] == ""


def test_scenario_override_through_inventory(make_rubric):
    rules = [{"name": "angry", "when": {"mood": "angry"}, "dimension_factors": {"Connection": 2.0}}]
    r = make_rubric(scenario_rules=rules)
    scores = pd.concat([long([4, 4, 4, 4, 0, 0, 4, 4], "calm1"), long([4, 4, 4, 4, 0, 0, 4, 4], "angry1")])
    inv = pd.DataFrame({"interaction_id": ["calm1", "angry1"], "mood": ["calm", "angry"]})
    out = qcikit.score(scores, r, inv).set_index("interaction_id")["qci"]
    assert out["calm1"] == pytest.approx(75)
    assert out["angry1"] == pytest.approx(100 * 0.75 / 1.25)  # Connection weighs .5/1.25 and scores 0


def test_scores_per_rater_and_wave(make_rubric):
    s = pd.concat([long([4] * 8, "i1", "ana"), long([0] * 8, "i1", "ben")]).assign(wave="w1")
    out = qcikit.score(s, make_rubric())
    assert list(out["rater"]) == ["ana", "ben"]
    assert list(out["qci"]) == [100, 0]
    assert list(out["wave"]) == ["w1", "w1"]


def test_errors_name_row_and_fix(make_rubric):
    r = make_rubric()
    with pytest.raises(ScoringError, match=r"row 3: element 'e1' has 9 points, outside 0–4"):
        qcikit.score(long([4, 9, 1, 1, 1, 1, 1, 1]), r)
    with pytest.raises(ScoringError, match=r"element 'smile' is not in the rubric"):
        qcikit.score(long([4] * 8).replace({"element": {"e3": "smile"}}), r)
    with pytest.raises(ScoringError, match=r"row 2: points 'x' is not a number"):
        qcikit.score(long(["x"] + [1] * 7), r)
    with pytest.raises(ScoringError, match=r"element 'e0' is scored more than once for interaction_id=i1, rater=ana"):
        qcikit.score(pd.concat([long([4] * 8), long([4])]), r)
    with pytest.raises(ScoringError, match="missing column"):
        qcikit.score(long([4] * 8).drop(columns="points"), r)


def test_other_rubric_version_is_reported_not_mixed(make_rubric):
    s = long([4] * 8).assign(rubric_version=["t-1"] * 7 + ["t-0"])
    with pytest.raises(RubricVersionError, match=r"1 score row\(s\) were made under rubric version\(s\) t-0, not t-1"):
        qcikit.score(s, make_rubric())


def test_matches_per_interaction_weights(make_rubric):
    """The vectorized path equals the definition Σ w_e · share_e with rubric.weights()."""
    r = make_rubric()
    rng = np.random.default_rng(3)
    frames = []
    for k in range(30):
        pts = rng.integers(0, 5, 8).astype(float)
        pts[rng.random(8) < 0.2] = np.nan
        frames.append(long(pts, f"i{k}"))
    s = pd.concat(frames, ignore_index=True)
    out = qcikit.score(s, r).set_index("interaction_id")["qci"]
    for iid, g in s.groupby("interaction_id"):
        na = g.loc[g["points"].isna(), "element"]
        w = r.weights(na=na)
        share = g.set_index("element")["points"].fillna(0) / 4
        assert out[iid] == pytest.approx(100 * (w * share).sum())


@settings(max_examples=60, deadline=None)
@given(points=st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=8, max_size=8).filter(lambda p: any(x is not None for x in p)),
       element=st.integers(0, 7), cap=st.sampled_from([None, "cap", "zero_interaction", "zero_dimension"]))
def test_qci_in_range_and_monotone(points, element, cap):
    small_rubric_dict = small_rubric()
    if cap:
        small_rubric_dict["elements"][2]["critical"] = {"effect": cap, "cap": 50} if cap == "cap" else {"effect": cap}
    r = qcikit.Rubric.from_dict(small_rubric_dict)
    pts = [np.nan if p is None else float(p) for p in points]
    base = qcikit.score(long(pts), r)["qci"].iloc[0]
    assert 0 <= base <= 100
    if not np.isnan(pts[element]) and pts[element] < 4:
        up = list(pts)
        up[element] += 1
        assert qcikit.score(long(up), r)["qci"].iloc[0] >= base - 1e-9
