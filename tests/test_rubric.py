import pandas as pd
import pytest

from qcikit import RubricError, load_rubric
from qcikit.rubric import Rubric
from qcikit.templates import path as tpl, starter_rubric


def test_starter_rubric_has_four_dimensions_and_weights_sum_to_one():
    r = starter_rubric()
    assert r.dimensions == ["Timing", "Information", "Connection", "Differentiation"]
    assert 8 <= len(r.element_ids) <= 20
    w = r.weights()
    assert w.sum() == pytest.approx(1.0)
    # Each dimension keeps its weight when everything applies.
    by_dim = w.groupby(r.elements["dimension"]).sum()
    assert by_dim["Timing"] == pytest.approx(0.25)
    assert by_dim["Information"] == pytest.approx(0.30)


def test_na_shares_weight_within_dimension(make_rubric):
    r = make_rubric()
    w = r.weights(na=["e0"])
    assert w["e0"] == 0
    assert w["e1"] == pytest.approx(0.25)  # takes the whole Timing weight
    assert w.sum() == pytest.approx(1.0)


def test_whole_dimension_na_shares_among_other_dimensions(make_rubric):
    r = make_rubric()
    w = r.weights(na=["e0", "e1"])
    assert w[["e0", "e1"]].sum() == 0
    assert w["e2"] == pytest.approx(1 / 6)  # 0.25 / 0.75 / 2
    assert w.sum() == pytest.approx(1.0)


def test_scenario_rule_scales_and_excludes(small_rubric_dict):
    # A ninth element (Differentiation) so that excluding one still leaves eight.
    small_rubric_dict["elements"].append({**small_rubric_dict["elements"][7], "id": "e8"})
    small_rubric_dict["scenario_rules"] = [{"name": "angry", "when": {"mood": ["angry"]}, "dimension_factors": {"Connection": 2.0},
                                            "element_factors": {"e4": 3.0}, "exclude": ["e7"]}]
    r = Rubric.from_dict(small_rubric_dict)
    calm = r.weights({"mood": "calm"})
    assert calm.sum() == pytest.approx(1) and calm["e4"] == pytest.approx(0.125) and calm["e8"] == pytest.approx(0.25 / 3)
    angry = r.weights({"mood": "angry"})
    # Dimension weights 0.25, 0.25, 0.5, 0.25 -> /1.25; Connection split 3:1; Differentiation all on e6.
    assert angry["e4"] == pytest.approx(0.4 * 0.75)
    assert angry["e5"] == pytest.approx(0.4 * 0.25)
    assert angry["e6"] == pytest.approx(0.1) and angry["e8"] == pytest.approx(0.1)
    assert angry["e7"] == 0
    assert angry.sum() == pytest.approx(1.0)
    assert r.active_elements({"mood": "angry"}) == [f"e{i}" for i in range(7)] + ["e8"]


def test_rule_engine_adds_subtracts_and_floors_at_zero(make_rubric):
    r = make_rubric()
    hits = pd.DataFrame({
        "interaction_id": ["i1", "i1", "i2", "i3"],
        "rater": "ana",
        "element": ["e0", "e0", "e0", "e1"],
        "rule": ["r", "s", "s", "r"],
    })
    pts = r.points_from_rules(hits).set_index(["interaction_id", "element"])["points"]
    assert pts[("i1", "e0")] == 3  # 0 + 4 - 1
    assert pts[("i2", "e0")] == 0  # 0 - 1 floors at 0
    assert pts[("i3", "e1")] == 4


def test_rule_engine_caps_at_max_with_start(small_rubric_dict):
    d = small_rubric_dict
    d["elements"][0]["start"] = 3
    r = Rubric.from_dict(d)
    hits = pd.DataFrame({"interaction_id": ["i1"], "rater": ["a"], "element": ["e0"], "rule": ["r"]})
    assert r.points_from_rules(hits)["points"].iloc[0] == 4  # 3 + 4 capped at 4


def test_rule_engine_rejects_unknown_rule(make_rubric):
    hits = pd.DataFrame({"interaction_id": ["i1"], "rater": ["a"], "element": ["e0"], "rule": ["nope"]})
    with pytest.raises(RubricError, match="rule 'nope' is not a rule of element 'e0'"):
        make_rubric().points_from_rules(hits)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["dimensions"][0].update(weight=0.4), "dimension weights sum to 1.15, not 1"),
        (lambda d: d["elements"][0].update(rules={}), "the element has no scoring rules"),
        (lambda d: d.update(elements=d["elements"][:7]), "the rubric has 7 elements"),
        (lambda d: d["elements"].extend([{**d["elements"][0], "id": f"x{k}"} for k in range(13)]), "the rubric has 21 elements"),
        (lambda d: d["elements"][0].update(dimension="Speed"), "dimension 'Speed' is not one of the rubric's dimensions"),
        (lambda d: d["elements"][0].update(critical={"effect": "cap"}), "critical effect 'cap' has no cap value"),
        (lambda d: d["elements"][0].update(critical={"effect": "explode"}), "zero_interaction"),
        (lambda d: d["elements"][1].update(id="e0"), "element id 'e0' appears twice"),
        (lambda d: d["elements"][0]["rules"]["additive"][0].pop("example"), r"key elements\.0\.rules\.additive\.0\.example"),
        (lambda d: d.update(scenario_rules=[{"name": "x", "when": {"f": "a"}, "exclude": ["e0"]}]),
         "excluding 1 elements leaves 7"),
        (lambda d: d.update(scenario_rules=[{"name": "x", "when": {"f": "a"}, "element_factors": {"zz": 2}}]),
         "element 'zz' is not in the rubric"),
    ],
)
def test_rubric_validation_messages(small_rubric_dict, change, message):
    change(small_rubric_dict)
    with pytest.raises(RubricError, match=message):
        Rubric.from_dict(small_rubric_dict)


def test_load_rubric_reports_missing_file(tmp_path):
    with pytest.raises(RubricError, match="the rubric file does not exist"):
        load_rubric(tmp_path / "nope.yaml")


def test_load_rubric_reports_yaml_line(tmp_path):
    p = tmp_path / "rubric.yaml"
    p.write_text("version: 1\ndimensions: [a\n", encoding="utf-8")
    with pytest.raises(RubricError, match="line 3"):
        load_rubric(p)


def test_rubric_table_lists_every_rule():
    r = load_rubric(tpl("rubric.yaml"))
    table = r.to_frame()
    n_rules = sum(len(e.rules.additive) + len(e.rules.subtractive) for e in r.model.elements)
    assert len(table) == n_rules
    assert (table.loc[table["kind"] == "subtractive", "points"] < 0).all()
    assert table["example"].str.len().min() > 0


def test_points_for_applies_the_rules_arithmetic_and_names_unknown_rules():
    r = starter_rubric()
    # efficient_resolution starts at 4; two subtractive rules of 2 take it to 0, never below.
    assert r.points_for("efficient_resolution", []) == 4.0
    assert r.points_for("efficient_resolution", ["asks_known_info", "needless_transfer"]) == 0.0
    assert r.points_for("response_time", ["within_standard", "acknowledged_wait"]) == 4.0
    with pytest.raises(RubricError, match=r"rule\(s\) smile are not rules of element 'greeting'\. Fix: use one of"):
        r.points_for("greeting", ["smile"])


def test_ambiguity_warnings_fire_on_planted_rules_and_stay_quiet_on_the_samples(small_rubric_dict, tmp_path, capsys):
    """Issue 20: `qcikit validate` warns where a rubric's words allow two readings."""
    import shutil

    import yaml

    import qcikit
    from qcikit.cli import main
    from qcikit.rubric import Rubric, ambiguities
    from qcikit.templates import starter_rubric

    from conftest import SAMPLES

    d = yaml.safe_load(yaml.safe_dump(small_rubric_dict))
    # An example that describes another rule of its element (the starter rubric's old signature-phrase example).
    d["elements"][6]["rules"] = {"additive": [
        {"id": "signature_phrase", "points": 2, "text": "Uses a brand signature phrase where it fits.",
         "example": "The brand's own sign-off phrase, as its brand voice lists it, at the close."},
        {"id": "brand_tone", "points": 2, "text": "Closes with the brand's own sign-off, as the brand voice gives it.",
         "example": "Happy trails! under the reply."}]}
    # The same behaviour under two rules.
    d["elements"][2]["rules"]["additive"].append({"id": "r2", "text": "does it", "points": 1, "example": "other"})
    found = [str(p) for p in ambiguities(Rubric.from_dict(d))]
    assert len(found) == 2, found
    assert any("elements[6].rules (e6): the example of rule 'signature_phrase' reads like rule 'brand_tone'" in f
               for f in found), found
    assert any("elements[2].rules (e2): rules 'r' and 'r2' credit the same behaviour" in f for f in found), found
    assert ambiguities(starter_rubric()) == []
    for slug in ("northwind", "brightwave", "voltania"):
        assert ambiguities(qcikit.load_rubric(SAMPLES / slug / "rubric.yaml")) == [], slug
    # validate prints them as warnings: the engagement stays clean and the exit code 0.
    folder = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", folder)
    rub = yaml.safe_load((folder / "rubric.yaml").read_text())
    for e in rub["elements"]:
        for r in e["rules"].get("additive", []):
            if r["id"] == "signature_phrase":
                r["example"] = "The brand's own sign-off phrase, as its brand voice lists it, at the close."
    (folder / "rubric.yaml").write_text(yaml.safe_dump(rub, allow_unicode=True, sort_keys=False))
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{folder}: clean" in out and f"{folder}: 1 warning — rubric words that allow two readings:" in out


def test_scenario_weights_for_many_scenarios_equal_those_of_each_scenario():
    """scenario_factor_arrays (vectorized over scenarios) gives, row by row, what weights() works from for one
    scenario: on 2,000 seeded scenarios of the sample rubrics, levels outside the schema and unknowns included."""
    import numpy as np

    from conftest import SAMPLES
    from qcikit.engagement import Engagement

    eng = Engagement.load(SAMPLES / "northwind")
    rubric = eng.rubric
    data = rubric.model
    assert data.scenario_rules
    rng = np.random.default_rng(11)
    facets = eng.schema.facets
    frame = pd.DataFrame({f: rng.choice([*levels, "other"], 2000) for f, levels in facets.items()})
    frame.iloc[::40, 1] = None
    dim_w, el_w = rubric.scenario_factor_arrays(frame)
    for i in range(len(frame)):
        d, e = rubric._factors({k: str(v) for k, v in frame.iloc[i].items()})
        assert np.array_equal(d, dim_w[i]) and np.array_equal(e, el_w[i])
    assert (el_w == 0).any(axis=1).sum() > 100  # the exclusions are reached
