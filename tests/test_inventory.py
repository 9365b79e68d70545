import numpy as np
import pandas as pd
import pytest

from qcikit import InventoryError, inventory as inv
from qcikit.templates import starter_schema


def test_scenarios_respect_exclusions():
    schema = starter_schema()
    all_combos = np.prod([len(v) for v in schema.facets.values()])
    feasible = inv.scenarios(schema)
    assert len(feasible) < all_combos
    assert not ((feasible["emotional_state"] == "calm") & (feasible["objective"] == "be_heard")).any()
    assert feasible["scenario"].is_unique
    # Hand count: 1152 combinations; calm & be_heard removes 4*3*6 = 72; complaint & get_information
    # removes 4*3*4 = 48; none overlap.
    assert all_combos == 1152 and len(feasible) == 1152 - 72 - 48


def test_assign_names_scenarios_and_lists_every_bad_row():
    schema = inv.ScenarioSchema({"touchpoint": ["email", "chat"], "mood": ["calm", "angry"]}, [{"touchpoint": ["chat"], "mood": ["angry"]}])
    df = pd.DataFrame({"interaction_id": ["a", "b", "c"], "touchpoint": ["email", "fax", "chat"], "mood": ["calm", "calm", "happy"]})
    with pytest.raises(InventoryError) as err:
        inv.assign(df, schema)
    msg = str(err.value)
    assert "row 3: touchpoint 'fax' is not a level" in msg and "row 4: mood 'happy' is not a level" in msg
    ok = pd.DataFrame({"interaction_id": ["a", "b"], "touchpoint": ["email", "chat"], "mood": ["angry", "calm"]})
    assert inv.assign(ok, schema)["scenario"].tolist() == ["email / angry", "chat / calm"]
    with pytest.raises(InventoryError, match="'chat / angry' is excluded"):
        inv.assign(ok.assign(touchpoint="chat"), schema)


def test_schema_validation_messages():
    with pytest.raises(InventoryError, match="needs a 'facets' mapping"):
        inv.ScenarioSchema.from_dict({"levels": []})
    with pytest.raises(InventoryError, match="level 'fax' is not a level of facet 'touchpoint'"):
        inv.ScenarioSchema.from_dict({"facets": {"touchpoint": ["email"]}, "exclusions": [{"touchpoint": "fax"}]})
    with pytest.raises(InventoryError, match=r"key labels: labels must map an id .* Fix: Write one 'id: Label' line"):
        inv.ScenarioSchema.from_dict({"facets": {"touchpoint": ["email"]}, "labels": ["In person"]})


def test_labels_name_levels_as_the_client_does():
    schema = inv.ScenarioSchema.from_dict({"facets": {"touchpoint": ["email", "face_to_face"], "mood": ["calm"]},
                                           "labels": {"face_to_face": "At the desk"}})
    assert [schema.label(x) for x in ("face_to_face", "email", "mood", "night_team")] == \
        ["At the desk", "Email", "Mood", "Night team"]
    assert schema.scenario_label("face_to_face / calm") == "At the desk · Calm"


def test_frequencies_weighted_with_wilson_ci():
    assigned = pd.DataFrame({"scenario": ["a"] * 30 + ["b"] * 10})
    f = inv.frequencies(assigned, weights=pd.Series([1.0] * 30 + [3.0] * 10)).set_index("scenario")
    # Weighted share of b: 30 / 60 = .5; population estimate 30.
    assert f.loc["b", "share"] == pytest.approx(0.5)
    assert f.loc["b", "population"] == pytest.approx(30)
    assert f.loc["b", "ci_low"] < 0.5 < f.loc["b", "ci_high"]
    # Unweighted: Wilson interval for 10/40 matches statsmodels.
    from statsmodels.stats.proportion import proportion_confint

    g = inv.frequencies(assigned).set_index("scenario")
    lo, hi = proportion_confint(10, 40, method="wilson")
    assert g.loc["b", "ci_low"] == pytest.approx(lo) and g.loc["b", "ci_high"] == pytest.approx(hi)


def test_coverage_good_turing_and_chao1_by_hand():
    # Counts 1,1,1,2,2,3,5: n = 15, S_obs = 7, f1 = 3, f2 = 2.
    cov = inv.coverage_from_counts(np.array([1, 1, 1, 2, 2, 3, 5])).iloc[0]
    assert cov["coverage"] == pytest.approx(1 - (3 / 15) * (14 * 3 / (14 * 3 + 4)))
    assert cov["chao1"] == pytest.approx(7 + 3 * 2 / (2 * 3))
    assert cov["chao1_low"] <= cov["chao1"] <= cov["chao1_high"]
    assert cov["chao1_low"] >= 7


def test_coverage_against_scikit_bio():
    alpha = pytest.importorskip("skbio.diversity.alpha")
    # scikit-bio's documented example counts: Chao1 (bias-corrected) 9.75.
    example = np.array([0, 1, 1, 4, 2, 5, 2, 4, 1, 2])
    assert inv.coverage_from_counts(example).iloc[0]["chao1"] == pytest.approx(9.75)
    rng = np.random.default_rng(1)
    for _ in range(5):
        counts = rng.poisson(rng.gamma(0.6, 3, 40))
        counts = counts[counts > 0]
        cov = inv.coverage_from_counts(counts).iloc[0]
        assert cov["chao1"] == pytest.approx(alpha.chao1(counts, bias_corrected=True))
        lo, hi = alpha.chao1_ci(counts, bias_corrected=True)
        if cov["chao1"] > cov["observed"]:
            # scikit-bio rounds z to 1.96; we use the exact 97.5 % quantile (1.95996...).
            assert (cov["chao1_low"], cov["chao1_high"]) == pytest.approx((lo, hi), rel=1e-4)
        # Good's coverage (1 - f1/n) is the large-n limit of Chao & Jost's refinement.
        assert cov["coverage"] >= alpha.goods_coverage(counts) - 1e-12


def test_coverage_on_samples_is_informative():
    import qcikit
    from conftest import SAMPLES

    eng = qcikit.Engagement.load(SAMPLES / "brightwave")
    cov = inv.coverage(eng.inventory).iloc[0]
    assert 0 < cov["unseen_share"] < 1
    assert cov["chao1"] > cov["observed"]
