"""The report's wording lives in templates/report/: each template rendered with a hand-made context, and a
whole report on an engagement whose ids and names share nothing with the samples (issue 17)."""
import re
from pathlib import Path

import jinja2
import pytest

from qcikit import sections
from qcikit.templates import path as template_path

from conftest import SAMPLES

LEVEL = "95 %"


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_every_template_is_strict_and_autoescaped():
    env = sections._environment()
    assert env.undefined is jinja2.StrictUndefined and env.autoescape
    names = sorted(p.name for p in Path(template_path("report")).glob("*.j2"))
    assert "page_one.html.j2" in names and len(names) >= 15
    with pytest.raises(jinja2.UndefinedError):
        sections.render("definition.html.j2", n_elements=3)  # a number left out is an error, never a blank


def test_definition_names_only_the_rubric_it_is_given():
    class D:
        def __init__(self, name, weight):
            self.name, self.weight = name, weight

    html = sections.render("definition.html.j2", n_elements=9, dimensions=[D("Speed", 0.5), D("Care <&>", 0.5)],
                           example="when the stage is Settlement, Care weighs 2 times as much", target=75)
    t = text(html)
    assert "9 elements of good service, grouped in 2 dimensions weighted Speed 50 %, Care &lt;&amp;&gt; 50 %" in t
    assert "for example, when the stage is Settlement, Care weighs 2 times as much" in t and "the target is 75" in t
    assert not {"Timing", "Information", "Connection", "Differentiation"} & set(re.findall(r"\w+", t))
    plain = text(sections.render("definition.html.j2", n_elements=8, dimensions=[D("One", 1.0)], example="", target=80))
    assert "Some scenarios" not in plain and "1 dimension weighted One 100 %" in plain


@pytest.mark.parametrize("significant, words", [(True, "a real change, beyond sampling noise"),
                                                (False, "within sampling noise: no real change can be claimed")])
def test_change_sentence_follows_its_interval(significant, words):
    change = {"change": 2.04, "ci_low": 0.4 if significant else -0.9, "ci_high": 3.7, "significant": significant}
    t = text(sections.render("change_sentence.html.j2", wave="W2", level=LEVEL, change=change, before="W1"))
    assert t.startswith("Change since W1: +2.0 points (95 % CI ") and t.endswith(words + ".")
    first = text(sections.render("change_sentence.html.j2", wave="W1", level=LEVEL, change=None, before=""))
    assert first == "Wave W1 is the first measured wave: there is no earlier wave to compare with."


def test_effort_and_edge_templates_on_their_edge_cases():
    t = text(sections.render("effort.html.j2", level=LEVEL, effort={"mean_effort": 3.256, "ci_low": 3.1, "ci_high": 3.4,
                                                                    "low_effort_share": 0.58, "n": 1448}))
    assert "3.26 on a 1–7 scale" in t and "58 % of the customers who answered found it easy" in t and "n = 1,448" in t
    assert text(sections.render("effort.html.j2", level=LEVEL, effort=None)) == "Customer Effort: no answers this wave."
    rows = [{"competitor": "Rival <b>", "n_shops": 0, "note": "no shops since W1", "edge": float("nan"),
             "ci_low": float("nan"), "ci_high": float("nan"), "significant": False},
            {"competitor": "Other", "n_shops": 1, "note": "not enough shops", "edge": 3.0, "ci_low": float("nan"),
             "ci_high": float("nan"), "significant": False}]
    html = sections.render("edge.html.j2", wave="W2", level=LEVEL, has_shops=True, rows=rows, shops_wave="W2")
    assert "Rival &lt;b&gt;: no shops since W1, so no comparison this wave" in html
    assert "Other: 1 mystery shop(s), not enough for an interval" in html


def test_filters():
    assert sections.pct(0.574) == "57 %" and sections.pct(0.25, 1) == "25.0 %"
    assert sections.interval(57.66, 62.61) == "57.7–62.6"
    assert sections.signed_number(-0.3) == "−0.3"
    assert sections.count(20000) == "20,000" and sections.fixed(3.256, 2) == "3.26"
    assert sections._one(float("nan")) == "" and sections._one(89.99999999999999) == "90.0"


def test_a_foreign_rubric_report_speaks_only_of_itself(tmp_path):
    """Issue 17's done-when: a generated engagement sharing no ids or dimension names with the samples; every
    dimension, element, level and touchpoint named in the report comes from its own files; no touchpoint vanishes."""
    import yaml

    from foreign import make_foreign
    from qcikit.sections import ReportContext

    folder = make_foreign(SAMPLES / "brightwave", tmp_path / "harbor")
    r = ReportContext.load(folder)
    html = "".join(str(x) for x in (r.page_one(), r.detail_html(), r.coaching_html(), r.method_html()))
    words = set(re.findall(r"[A-Za-z]+", text(html)))
    starter = {"Timing", "Information", "Connection", "Differentiation"}
    assert not starter & words
    rubric = yaml.safe_load((folder / "rubric.yaml").read_text())
    for d in rubric["dimensions"]:
        assert f"{d['name']} {100 * d['weight']:.0f} %" in text(html)
    schema = yaml.safe_load((folder / "scenarios.yaml").read_text())
    detail = text(str(r.detail_html()))
    touchpoints = detail.split("Touchpoints")[1].split("By ")[0]
    for tp in schema["facets"]["touchpoint"]:
        assert r.label(tp) in touchpoints, tp  # shown with its n, or named with why there is no estimate
    assert "Other (" not in touchpoints
