"""Build tests/data/good (a tiny clean engagement) and tests/data/bad/* (one mistake each).

Run from the repository root: ``python tests/data/make_corpus.py``.  Each bad
folder holds an EXPECT file with the message the validator must print.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from qcikit.templates import path as tpl, starter_rubric

HERE = Path(__file__).resolve().parent
IDS = [f"T-{k:03d}" for k in range(1, 13)]
TOUCH = ["email", "chat", "phone", "face_to_face"]
RUBRIC = yaml.safe_load(tpl("rubric.yaml").read_text(encoding="utf-8"))
ELEMENTS = [e["id"] for e in RUBRIC["elements"]]
MAXP = {e["id"]: e["max_points"] for e in RUBRIC["elements"]}
STARTER = starter_rubric()
GREETING_RULE = [r["id"] for r in next(e for e in RUBRIC["elements"] if e["id"] == "greeting")["rules"]["additive"]][0]
GREETING_POINTS = f"{STARTER.points_for('greeting', [GREETING_RULE]):g}"


def good(folder: Path) -> None:
    folder.mkdir(parents=True)
    cfg = {"client": "Tiny Test Co", "slug": "tiny", "industry": "testing", "waves": ["w1", "w2"],
           "competitors": ["Rival"], "seed": 7, "raters": ["ana", "ben"], "country": "GB"}
    (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    shutil.copy(tpl("scenarios.yaml"), folder / "scenarios.yaml")
    shutil.copy(tpl("rubric.yaml"), folder / "rubric.yaml")
    rows = ["interaction_id,started_at,touchpoint,agent_id,team,wave,transcript,effort"]
    for k, i in enumerate(IDS):
        rows.append(f"{i},2026-05-{k + 1:02d} 10:00,{TOUCH[k % 4]},A{k % 3},Team {k % 2},{'w1' if k < 6 else 'w2'},\"Customer: hello {k}\",{k % 7 + 1}")
    (folder / "interactions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["interaction_id,wave,stratum,weight"] + [f"{i},{'w1' if k < 6 else 'w2'},all,1" for k, i in enumerate(IDS)]
    (folder / "sample.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["interaction_id,touchpoint,customer_type,inquiry_type,emotional_state,objective"]
    rows += [f"{i},{TOUCH[k % 4]},new,billing,confused,resolve_problem" for k, i in enumerate(IDS)]
    (folder / "inventory.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["interaction_id,rater,element,points,wave,rubric_version"]
    for k, i in enumerate(IDS):
        for r in ("ana", "ben"):
            for e in applies(TOUCH[k % 4]):
                rows.append(f"{i},{r},{e},{(k + len(e)) % int(MAXP[e] + 1)},{'w1' if k < 6 else 'w2'},starter-1")
    (folder / "scores.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # Gold with rules and verbatim evidence on one row: greeting's rule fired, quoting the transcript.
    rows = ["interaction_id,element,points,rules,evidence"]
    for k, i in enumerate(IDS[:3]):
        for e in applies(TOUCH[k % 4]):
            rows.append(f"{i},{e},{GREETING_POINTS},{GREETING_RULE},Customer: hello {k}" if e == "greeting"
                        else f"{i},{e},{STARTER.points_for(e, []):g},,")  # no rule fired: the element's start
    (folder / "gold.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["competitor,interaction_id,element,points"] + [f"Rival,MS-1,{e},1" for e in ELEMENTS]
    (folder / "mystery_shops.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def autoscores(folder: Path, element: str = "greeting", csv_too: bool = False) -> None:
    """Machine scores as autoscores.parquet (a contact centre's run), one of them naming ``element``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"interaction_id": IDS[:2], "element": ["greeting", element], "points": [1.0, None],
                             "scorer": ["acme", "acme"]}), folder / "autoscores.parquet")
    if csv_too:
        (folder / "autoscores.csv").write_text("interaction_id,element,points,scorer\nT-001,greeting,1,acme\n", encoding="utf-8")


def applies(touchpoint: str) -> list[str]:
    """The elements that apply in a touchpoint under the starter rubric's scenario rules."""
    return STARTER.active_elements({"touchpoint": touchpoint})


def gold_rater_typo(folder: Path) -> None:
    """gold.csv with a rater column (gold, declared), one row of it typed 'gld'."""
    edit(folder, "engagement.yaml", "- ben\n", "- ben\n- gold\n")
    lines = (folder / "gold.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",rater"] + [ln + (",gld" if k == 3 else ",gold") for k, ln in enumerate(lines[1:], start=1)]
    (folder / "gold.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    p = folder / name
    text = p.read_text(encoding="utf-8")
    if old not in text:
        raise SystemExit(f"{name}: '{old}' not found")
    p.write_text(text.replace(old, new, count), encoding="utf-8")


def set_points(folder: Path, prefix: str, value: str) -> None:
    """Replace the points of the score row that starts with ``prefix`` (interaction,rater,element)."""
    p = folder / "scores.csv"
    lines = p.read_text(encoding="utf-8").split("\n")
    for k, line in enumerate(lines):
        if line.startswith(prefix + ","):
            parts = line.split(",")
            parts[3] = value
            lines[k] = ",".join(parts)
            break
    else:
        raise SystemExit(f"scores.csv: no row starts with {prefix}")
    p.write_text("\n".join(lines), encoding="utf-8")


def drop_rows(folder: Path, name: str, needle: str) -> None:
    """Delete every line of ``name`` that contains ``needle`` (rows a consultant lost)."""
    p = folder / name
    lines = p.read_text(encoding="utf-8").split("\n")
    kept = [line for line in lines if needle not in line]
    if len(kept) == len(lines):
        raise SystemExit(f"{name}: no row contains {needle}")
    p.write_text("\n".join(kept), encoding="utf-8")


def rubric_edit(folder: Path, fn) -> None:
    data = yaml.safe_load((folder / "rubric.yaml").read_text(encoding="utf-8"))
    fn(data)
    (folder / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _extra_elements(data, n):
    base = data["elements"][0]
    for k in range(n):
        data["elements"].append({**base, "id": f"extra_{k}", "name": f"Extra {k}"})


BAD = {
    "missing_file": (lambda f: (f / "rubric.yaml").unlink(), "rubric.yaml: the file is missing."),
    "missing_column": (lambda f: edit(f, "interactions.csv", "agent_id,team,", "agent_id,"), "missing column(s) team"),
    "unknown_element": (lambda f: edit(f, "scores.csv", ",greeting,", ",smile,"), "element 'smile' is not in rubric.yaml"),
    "points_above_max": (lambda f: set_points(f, "T-001,ana,response_time", "9"),
                         "has 9 points, outside 0–4"),
    "duplicate_ids": (lambda f: edit(f, "interactions.csv", "T-002,", "T-001,"), "interaction_id T-001 appears again"),
    "score_not_in_sample": (lambda f: edit(f, "scores.csv", "T-012,ana", "T-099,ana", 100),
                            "interaction 'T-099' is not in interactions.csv, so it cannot have been sampled"),
    "non_utf8": (lambda f: (f / "interactions.csv").write_bytes(
        (f / "interactions.csv").read_bytes().replace(b"hello 3", "caf\u00e9 3".encode("latin-1"))), "not UTF-8 text"),
    "empty_file": (lambda f: (f / "scores.csv").write_text(""), "scores.csv: the file is empty."),
    "bad_date": (lambda f: edit(f, "interactions.csv", "2026-05-03 10:00", "31/31/2026"), "started_at '31/31/2026' is not a date"),
    "unknown_facet_level": (lambda f: edit(f, "inventory.csv", "T-004,face_to_face,new", "T-004,face_to_face,vip"),
                            "customer_type 'vip' is not a level of facet 'customer_type'"),
    "weights_do_not_sum": (lambda f: rubric_edit(f, lambda d: d["dimensions"][0].update(weight=0.5)),
                           "dimension weights sum to 1.25, not 1"),
    "element_without_rules": (lambda f: rubric_edit(f, lambda d: d["elements"][1].update(rules={})),
                              "the element has no scoring rules"),
    "seven_elements": (lambda f: rubric_edit(f, lambda d: d.update(elements=d["elements"][:7], scenario_rules=[])),
                       "the rubric has 7 elements"),
    "twenty_one_elements": (lambda f: rubric_edit(f, lambda d: _extra_elements(d, 5)), "the rubric has 21 elements"),
    "rubric_version_mismatch": (lambda f: edit(f, "scores.csv", "starter-1", "starter-0", 16),
                                "16 row(s) were scored under rubric version starter-0"),
    "bad_yaml": (lambda f: edit(f, "engagement.yaml", "client: Tiny Test Co", "client: [Tiny"), "engagement.yaml, line"),
    "effort_out_of_range": (lambda f: edit(f, "interactions.csv", '"Customer: hello 0",1', '"Customer: hello 0",9'),
                            "effort 9 is outside 1–7"),
    "unknown_wave": (lambda f: edit(f, "scores.csv", ",w1,", ",2027-Q1,"), "wave '2027-Q1' is not listed in engagement.yaml"),
    "na_not_allowed": (lambda f: set_points(f, "T-001,ana,greeting", ""),
                       "element 'greeting' is left empty (not applicable), which the rubric does not allow"),
    "excluded_combination": (lambda f: edit(f, "inventory.csv", "T-001,email,new,billing,confused,resolve_problem",
                                            "T-001,email,new,complaint,confused,get_information"),
                             "the combination 'email / new / complaint / confused / get_information' is excluded"),
    "unknown_competitor": (lambda f: edit(f, "mystery_shops.csv", "Rival", "Ghost"), "competitor 'Ghost' is not listed"),
    "non_numeric_points": (lambda f: set_points(f, "T-001,ana,response_time", "three"),
                           "points 'three' is not a number"),
    "cap_without_value": (lambda f: rubric_edit(f, lambda d: d["elements"][3].update(critical={"effect": "cap"})),
                          "critical effect 'cap' has no cap value"),
    "missing_config_key": (lambda f: edit(f, "engagement.yaml", "client: Tiny Test Co\n", ""), "key client: Field required"),
    "missing_score_rows": (lambda f: drop_rows(f, "scores.csv", ",ana,actual_question,"),
                           "interaction T-001, rater ana: there is no row for element 'actual_question' (a critical element"),
    "rater_typo": (lambda f: edit(f, "scores.csv", ",ben,", ",bne,", 20),
                   "rater 'bne' (20 row(s)) is not declared in engagement.yaml; did you mean ben?"),
    "no_raters_declared": (lambda f: edit(f, "engagement.yaml", "raters:\n- ana\n- ben\n", ""),
                           "no raters are declared, so the 2 name(s) in scores.csv (ana, ben) cannot be checked"),
    "inventory_missing": (lambda f: (f / "inventory.csv").unlink(),
                          "12 scored interaction(s) are not classified (T-001, T-002, T-003, T-004, T-005 …)"),
    "inventory_disagrees": (lambda f: edit(f, "inventory.csv", "T-002,chat,", "T-002,phone,"),
                            "interaction T-002 has touchpoint 'phone' here but 'chat' in interactions.csv"),
    "excel_date": (lambda f: edit(f, "interactions.csv", "2026-05-03 10:00", "03/05/2026 10:00"),
                   "started_at '03/05/2026 10:00' is written day/month/year"),
    "mixed_delimiters": (lambda f: edit(f, "scores.csv", "interaction_id,rater,element,points", "interaction_id;rater;element;points"),
                         "the header mixes ',' and ';' between columns"),
    "header_only": (lambda f: (f / "sample.csv").write_text("interaction_id,wave,stratum,weight\n"), "sample.csv: the file has a header but no rows"),
    "interactions_header_only": (lambda f: (f / "interactions.csv").write_text(
        "interaction_id,started_at,touchpoint,agent_id,team,wave,transcript\n"),
        "Add one row per interaction of the period with the columns interaction_id, started_at"),
    "excluded_element_scored": (lambda f: edit(f, "scores.csv", "T-003,ana,greeting,", "T-003,ana,written_presentation,1,w1,starter-1\nT-003,ana,greeting,"),
                                "score element 'written_presentation', which the rubric's scenario rule 'Spoken channels "
                                "have no written presentation' excludes in their scenario"),
    "rule_above_max": (lambda f: rubric_edit(f, lambda d: d["elements"][0]["rules"]["additive"][0].update(points=9)),
                       "the rule is worth 9 point(s), more than the element's maximum of 4"),
    "gold_evidence_not_verbatim": (lambda f: edit(f, "gold.csv", "Customer: hello 0", "Customer: hi there 0"),
                                   "evidence 'Customer: hi there 0' for 'greeting' is not a verbatim quote of interaction T-001's transcript"),
    "gold_rules_without_evidence": (lambda f: edit(f, "gold.csv", ",Customer: hello 1", ","),
                                    f"rules '{GREETING_RULE}' fired for 'greeting' but evidence is empty"),
    "element_typo_many_rows": (lambda f: edit(f, "scores.csv", ",greeting,", ",greetng,", 24),
                               "element 'greetng' is not in rubric.yaml (24 rows)"),
    "gold_rater_typo": (lambda f: gold_rater_typo(f), "rater 'gld' (1 row(s)) is not declared in engagement.yaml"),
    "autoscores_parquet_unknown_element": (lambda f: autoscores(f, "smile"),
                                           "autoscores.parquet: 1 row(s) name elements that are not in the rubric (first: 'smile')"),
    "autoscores_in_two_files": (lambda f: autoscores(f, csv_too=True),
                                "both autoscores.csv and autoscores.parquet hold machine scores"),
}

# One mistake, one message: these folders must give exactly one problem (no consequence reported again).
ONE_MESSAGE = ["unknown_element", "element_typo_many_rows", "rater_typo", "gold_rater_typo", "score_not_in_sample",
               "excluded_element_scored", "rule_above_max", "gold_evidence_not_verbatim", "gold_rules_without_evidence",
               "unknown_wave", "unknown_competitor", "interactions_header_only", "autoscores_parquet_unknown_element",
               "autoscores_in_two_files"]


def main() -> None:
    g = HERE / "good"
    shutil.rmtree(g, ignore_errors=True)
    good(g)
    bad_root = HERE / "bad"
    shutil.rmtree(bad_root, ignore_errors=True)
    for name, (fn, expect) in BAD.items():
        f = bad_root / name
        shutil.copytree(g, f)
        fn(f)
        (f / "EXPECT").write_text(expect + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
