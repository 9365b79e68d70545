"""Calibration sessions: the disagreements worth a meeting, side by side, settled by the lead.

Raters who disagree look at the same interaction; each says which words earned or cost the points (the
scoring form's rules and evidence); the lead settles it, and a rule that two careful people read differently
is noted for the rubric's next version. Settlements are the store's dispute and settlement events, so the
report uses the settled points while agreement is still computed on each rater's own.

Examples
--------
>>> import qcikit
>>> from qcikit import calibration
>>> eng = qcikit.Engagement.load("data/samples/northwind")  # doctest: +SKIP
>>> worst = calibration.disagreements(eng).head()  # doctest: +SKIP
>>> calibration.side_by_side(eng, *worst.iloc[0][["interaction_id", "element"]])  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import QcikitError

SESSION = "calibration session"  # who raises a session's disputes: the lead then settles them


def _wave_ratings(eng, wave: str | None) -> pd.DataFrame:
    own = eng.own_ratings
    if own is None or own.empty:
        raise QcikitError(f"{eng.path}: there are no scores yet, so nothing to calibrate. Fix: score the sample first.")
    wave = wave or eng.config.waves[-1]
    waves = own["wave"] if "wave" in own.columns else pd.Series(np.nan, index=own.index)
    if waves.notna().any():
        own = own[waves == wave]
    return own


def _shown(points: float) -> str:
    return "n/a" if pd.isna(points) else f"{points:g}"


def disagreements(eng, wave: str | None = None, settled: bool = False) -> pd.DataFrame:
    """Every interaction and element that two or more raters scored differently in ``wave``, worst first.

    Read from each rater's own ratings; a disagreement the lead has settled (the settled points agree) is left
    out unless ``settled`` is true.

    The width of a disagreement is the range of the raters' points as a share of the element's maximum; a
    split between "not applicable" and any points counts as the full width (the raters disagree on whether
    the element applies at all). Ties: more distinct answers first, then the interaction id.

    Returns
    -------
    DataFrame
        ``interaction_id``, ``element``, ``name``, ``n_raters``, ``width`` (0–1), ``points`` (each rater's,
        in words) and ``gold`` (gold's points, where gold scored it).
    """
    own = _wave_ratings(eng, wave)
    df = own[["interaction_id", "rater", "element", "points"]].copy()
    df["max"] = df["element"].map(eng.rubric.max_points)
    df["na"] = df["points"].isna()
    g = df.groupby(["interaction_id", "element"], sort=False)
    agg = g.agg(n_raters=("rater", "nunique"), lo=("points", "min"), hi=("points", "max"), any_na=("na", "any"),
                all_na=("na", "all"), max=("max", "first"))
    distinct = df.assign(p=df["points"].fillna(-1)).drop_duplicates(["interaction_id", "element", "p"])
    agg["distinct"] = distinct.groupby(["interaction_id", "element"], sort=False).size()
    agg = agg[agg["n_raters"] >= 2]
    width = ((agg["hi"] - agg["lo"]) / agg["max"]).fillna(0.0)
    width[agg["any_na"] & ~agg["all_na"]] = 1.0
    agg = agg.assign(width=width)[width > 0].reset_index()
    if not settled and eng.scores is not None and eng.own_ratings is not eng.scores:
        now = eng.scores[eng.scores["interaction_id"].isin(agg["interaction_id"])]
        agreed = now.assign(p=now["points"].fillna(-1)).groupby(["interaction_id", "element"])["p"].nunique() == 1
        done = set(agreed[agreed].index)
        agg = agg[[k not in done for k in zip(agg["interaction_id"], agg["element"])]].reset_index(drop=True)
    if agg.empty:
        return pd.DataFrame(columns=["interaction_id", "element", "name", "n_raters", "width", "points", "gold"])
    said = (df.sort_values("rater").assign(w=lambda d: d["rater"] + " " + d["points"].map(_shown))
            .groupby(["interaction_id", "element"])["w"].agg(" · ".join))
    agg["points"] = [said[(i, e)] for i, e in zip(agg["interaction_id"], agg["element"])]
    gold = eng.gold.set_index(["interaction_id", "element"])["points"] if eng.gold is not None else pd.Series(dtype=float)
    agg["gold"] = [_shown(gold[(i, e)]) if (i, e) in gold.index else "" for i, e in zip(agg["interaction_id"], agg["element"])]
    agg["name"] = agg["element"].map(eng.rubric.elements["name"])
    agg = agg.sort_values(["width", "distinct", "interaction_id"], ascending=[False, False, True], ignore_index=True)
    return agg[["interaction_id", "element", "name", "n_raters", "width", "points", "gold"]]


def _rule_texts(rubric, element: str, ids) -> str:
    deltas = rubric.rule_deltas(element)
    rules = {r.id: r for r in (*rubric.element(element).rules.additive, *rubric.element(element).rules.subtractive)}
    return "; ".join(f"{r} ({deltas[r]:+g}): {rules[r].text}" for r in str(ids or "").split() if r in rules)


def side_by_side(eng, interaction_id: str, element: str, wave: str | None = None) -> pd.DataFrame:
    """Every rater's points, rules (with their texts) and quoted evidence for one interaction and element,
    and gold's where it exists: what the calibration meeting looks at."""
    own = _wave_ratings(eng, wave)
    rows = own[(own["interaction_id"] == interaction_id) & (own["element"] == element)]
    if rows.empty:
        raise QcikitError(f"no rater scored {element} on {interaction_id}. Fix: pick a row of calibration.disagreements().")
    out = pd.DataFrame({
        "rater": rows["rater"].to_numpy(),
        "points": rows["points"].map(_shown).to_numpy(),
        "rules": rows["rules"].fillna("").to_numpy() if "rules" in rows else "",
        "evidence": rows["evidence"].fillna("").to_numpy() if "evidence" in rows else "",
    })
    if eng.gold is not None:
        g = eng.gold[(eng.gold["interaction_id"] == interaction_id) & (eng.gold["element"] == element)]
        if not g.empty:
            out.loc[len(out)] = {"rater": "gold", "points": _shown(g["points"].iloc[0]),
                                 "rules": str(g["rules"].iloc[0]) if "rules" in g and pd.notna(g["rules"].iloc[0]) else "",
                                 "evidence": str(g["evidence"].iloc[0]) if "evidence" in g and pd.notna(g["evidence"].iloc[0]) else ""}
    out["rule texts"] = [_rule_texts(eng.rubric, element, r) for r in out["rules"]]
    return out.sort_values("rater", key=lambda s: s.eq("gold"), kind="stable", ignore_index=True)


def settle(eng, store, interaction_id: str, element: str, points: float | None, lead: str, reason: str,
           wave: str | None = None) -> list[int]:
    """The lead's decision on one disagreement: every rater whose own points differ gets a dispute raised by the
    session and settled by ``lead`` with ``reason``. Returns the dispute ids (empty when everyone already agrees).

    The settled points replace the raters' in the metrics and the report; agreement keeps reading each rater's
    own ratings (settlement rows are marked as such in the store).
    """
    if not str(reason).strip():
        raise QcikitError("a settlement needs a reason. Fix: say which words decided it and by which rule.")
    if not str(lead).strip():
        raise QcikitError("a settlement needs the lead's name. Fix: give it (a rater declared as lead).")
    max_points = float(eng.rubric.max_points[element])
    if points is not None and not 0 <= float(points) <= max_points:
        raise QcikitError(f"{float(points):g} is outside 0–{max_points:g} for {element}. Fix: settle on points the element allows.")
    own = _wave_ratings(eng, wave)
    rows = own[(own["interaction_id"] == interaction_id) & (own["element"] == element)]
    differ = rows[[not (pd.isna(p) and points is None) and (points is None or pd.isna(p) or float(p) != float(points))
                   for p in rows["points"]]]
    if lead in set(differ["rater"]):
        raise QcikitError(f"{lead} scored {element} on {interaction_id} differently and cannot settle their own score. "
                          "Fix: let another lead settle it.")
    ids = []
    for rater in differ["rater"]:
        did = store.dispute(interaction_id, rater, element, by=SESSION, comment=f"calibration: {reason}")
        store.settle(did, by=lead, points=points, comment=reason)
        ids.append(did)
    return ids


def unclear_rules(store) -> pd.DataFrame:
    """The rules a calibration session marked as read two ways, with how often and the notes."""
    notes = store.rule_notes()
    if notes.empty:
        return pd.DataFrame(columns=["element", "rule", "times", "notes"])
    return (notes.groupby(["element", "rule"], sort=False)
            .agg(times=("note", "size"), notes=("note", lambda s: " | ".join(dict.fromkeys(s))))
            .reset_index().sort_values("times", ascending=False, kind="stable", ignore_index=True))


def changelog_draft(rubric, store, date: str) -> str:
    """A draft ``changes:`` entry for rubric.yaml from the rules marked unclear: the next version, today's date,
    the rules to reword and why. The consultant rewrites the rules, then pastes and edits this entry."""
    import yaml

    unclear = unclear_rules(store)
    if unclear.empty:
        return "# No rule was marked unclear: nothing to change.\n"
    head, _, tail = str(rubric.version).rpartition("-")
    version = f"{head}-{int(tail) + 1}" if tail.isdigit() and head else f"{rubric.version}.1"
    entry = {"version": version, "date": date,
             "what": "Reworded " + ", ".join(f"{r.element}.{r.rule}" for r in unclear.itertuples()) + ".",
             "why": "Calibration: " + "; ".join(f"{r.rule}: {r.notes}" for r in unclear.itertuples())}
    return yaml.safe_dump({"changes": [entry]}, allow_unicode=True, sort_keys=False, width=100)
