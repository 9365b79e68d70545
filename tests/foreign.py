"""A second engagement that shares no id with the samples: a hotel chain.

Made from the Brightwave sample by renaming every element id, dimension, facet,
facet level, touchpoint, team, rater and competitor, dropping two elements (a
14-element rubric) and merging two dimensions (three dimensions: Pace,
Substance, Rapport). Notebooks and reports must run on it unchanged: nothing
in them may rely on the samples' ids.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

FACETS = {"customer_type": "guest_type", "inquiry_type": "request", "emotional_state": "mood", "objective": "goal"}
TOUCHPOINTS = {"email": "mail_desk", "chat": "live_msg", "phone": "voice_line", "face_to_face": "front_desk"}
TEAMS = {"Customer Success": "Reception", "Technical Support": "Concierge"}
RATERS = {"ana": "ines", "ben": "omar", "chloe": "pia"}
COMPETITORS = {"Datalynx": "Seaview Inns", "InsightPro": "Portside Hotels"}
DROPPED = ("personalisation", "tone")
# Three dimensions, none named as the samples': Differentiation merges into Rapport.
DIMENSIONS = {"Timing": "Pace", "Information": "Substance", "Connection": "Rapport", "Differentiation": "Rapport"}


def _level(facet: str, value: str) -> str:
    return TOUCHPOINTS.get(value, value) if facet == "touchpoint" else f"h_{value}"


def _rename_when(when: dict) -> dict:
    out = {}
    for facet, levels in when.items():
        levels = levels if isinstance(levels, list) else [levels]
        out[FACETS.get(facet, facet)] = [_level(facet, v) for v in levels]
    return out


def make_foreign(src: Path, dst: Path) -> Path:
    """Write the hotel engagement into ``dst`` (from the Brightwave sample in ``src``)."""
    dst.mkdir(parents=True)
    rubric = yaml.safe_load((src / "rubric.yaml").read_text(encoding="utf-8"))
    rubric["elements"] = [e for e in rubric["elements"] if e["id"] not in DROPPED]
    ids = {e["id"]: f"hx{k:02d}_{e['id'][:4]}" for k, e in enumerate(rubric["elements"])}
    for e in rubric["elements"]:
        e["id"] = ids[e["id"]]
        e["name"] = "Hotel " + e["name"]
        e["dimension"] = DIMENSIONS[e["dimension"]]
    weights: dict[str, float] = {}
    for d in rubric["dimensions"]:
        weights[DIMENSIONS[d["name"]]] = weights.get(DIMENSIONS[d["name"]], 0.0) + d["weight"]
    rubric["dimensions"] = [{"name": name, "weight": round(w, 6)} for name, w in weights.items()]
    for rule in rubric.get("scenario_rules", []):
        rule["when"] = _rename_when(rule["when"])
        rule["dimension_factors"] = {DIMENSIONS[k]: v for k, v in rule.get("dimension_factors", {}).items()}
        rule["element_factors"] = {ids[k]: v for k, v in rule.get("element_factors", {}).items() if k in ids}
        rule["exclude"] = [ids[k] for k in rule.get("exclude", []) if k in ids]
    rubric["version"] = "harbor-1"
    (dst / "rubric.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False, allow_unicode=True), encoding="utf-8")

    schema = yaml.safe_load((src / "scenarios.yaml").read_text(encoding="utf-8"))
    schema["facets"] = {FACETS.get(f, f): [_level(f, v) for v in levels] for f, levels in schema["facets"].items()}
    schema["exclusions"] = [_rename_when(e) for e in schema.get("exclusions", [])]
    (dst / "scenarios.yaml").write_text(yaml.safe_dump(schema, sort_keys=False), encoding="utf-8")

    cfg = yaml.safe_load((src / "engagement.yaml").read_text(encoding="utf-8"))
    cfg.update(client="Harbor Hotels", slug="harbor-hotels", industry="hotel chain",
               competitors=[COMPETITORS[c] for c in cfg["competitors"]],
               raters=[{**r, "name": RATERS[r["name"]]} for r in cfg["raters"]])
    (dst / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")

    answers = yaml.safe_load((src / "answers.yaml").read_text(encoding="utf-8"))
    answers["elements"] = {ids[k]: v for k, v in answers.get("elements", {}).items() if k in ids}
    answers["scenarios"] = {f"h_{k}": v for k, v in answers.get("scenarios", {}).items()}
    (dst / "answers.yaml").write_text(yaml.safe_dump(answers, sort_keys=False, allow_unicode=True), encoding="utf-8")

    read = lambda name: pd.read_csv(src / name, dtype=str, keep_default_na=False)  # noqa: E731
    inter = read("interactions.csv")
    inter["touchpoint"] = inter["touchpoint"].map(TOUCHPOINTS)
    inter["team"] = inter["team"].map(TEAMS)
    inter.to_csv(dst / "interactions.csv", index=False)
    sample = read("sample.csv")
    sample["touchpoint"] = sample["touchpoint"].map(TOUCHPOINTS)
    sample["stratum"] = sample["stratum"].map(lambda s: re.sub(r"[a-z_]+$", lambda m: TOUCHPOINTS[m.group(0)], s))
    sample.to_csv(dst / "sample.csv", index=False)
    inv = read("inventory.csv")
    for f in [c for c in inv.columns if c != "interaction_id"]:
        inv[f] = inv[f].map(lambda v, f=f: _level(f, v))
    inv.rename(columns=FACETS).to_csv(dst / "inventory.csv", index=False)
    for name in ("scores.csv", "gold.csv", "mystery_shops.csv", "autoscores.csv"):
        if not (src / name).is_file():
            continue
        df = read(name)
        df = df[~df["element"].isin(DROPPED)].copy()
        df["element"] = df["element"].map(ids)
        if "rater" in df:
            df["rater"] = df["rater"].map(RATERS)
        if "competitor" in df:
            df["competitor"] = df["competitor"].map(COMPETITORS)
        if "rubric_version" in df:
            df["rubric_version"] = "harbor-1"
        df.to_csv(dst / name, index=False)
    return dst


def sample_ids(samples: Path) -> set[str]:
    """Every element id, dimension, facet, level, team and rater name of the sample engagements."""
    out: set[str] = set()
    for folder in samples.iterdir():
        rubric = yaml.safe_load((folder / "rubric.yaml").read_text(encoding="utf-8"))
        out |= {e["id"] for e in rubric["elements"]} | {d["name"] for d in rubric["dimensions"]}
        schema = yaml.safe_load((folder / "scenarios.yaml").read_text(encoding="utf-8"))
        out |= {f for f in schema["facets"] if f != "touchpoint"}
        out |= {v for levels in schema["facets"].values() for v in levels}
        cfg = yaml.safe_load((folder / "engagement.yaml").read_text(encoding="utf-8"))
        out |= {r["name"] if isinstance(r, dict) else r for r in cfg.get("raters", [])}
        out |= set(pd.read_csv(folder / "interactions.csv", usecols=["team"])["team"].unique())
    return out
