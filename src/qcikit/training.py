"""Worked examples for training new analysts: feedback against gold, how
precise rules raise agreement, practice with feedback per element (the gold
points, the rule that fired and the quoted evidence) and the certification check
on held-out gold interactions."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .errors import QcikitError
from .reliability import krippendorff_alpha


def feedback(scores: pd.DataFrame, gold: pd.DataFrame, rubric, rater: str, interactions: list[str] | None = None) -> pd.DataFrame:
    """Every disagreement of ``rater`` with gold, with the rule to re-read.

    One row per interaction and element where the points differ: both scores,
    the difference, and the rubric's strongest rule for that element (what
    the gold rater looked for).
    """
    s = scores[scores["rater"] == rater]
    if s.empty:
        raise QcikitError(f"rater '{rater}' has no scores. Fix: use one of {', '.join(sorted(scores['rater'].unique()))}.")
    extra = [c for c in ("rationale", "evidence") if c in gold]
    m = s.merge(gold[["interaction_id", "element", "points", *extra]].rename(columns={"points": "gold"}),
                on=["interaction_id", "element"])
    if interactions is not None:
        m = m[m["interaction_id"].isin(interactions)]
    m = m[(m["points"] != m["gold"]) & ~(m["points"].isna() & m["gold"].isna())]
    guide = {}
    for e in rubric.model.elements:
        rules = sorted(e.rules.additive + e.rules.subtractive, key=lambda r: -r.points)
        guide[e.id] = f"{rules[0].text} (e.g. {rules[0].example})" if rules else e.description
    out = pd.DataFrame({"interaction_id": m["interaction_id"], "element": m["element"], "yours": m["points"],
                        "gold": m["gold"], "difference": m["points"] - m["gold"], "re-read": m["element"].map(guide)})
    for c in extra:  # gold.csv says which rule fired and quotes the words that earned or cost the points
        out["gold's rule" if c == "rationale" else "evidence"] = m[c].fillna("").to_numpy()
    return out.sort_values(["interaction_id", "element"], ignore_index=True)


def simulate_ratings(n_units: int = 60, n_raters: int = 4, max_points: int = 4, noise: float = 0.2,
                     seed: int = 0) -> pd.DataFrame:
    """Ratings of one element by several raters: true quality plus each rater's reading of the rule.

    ``noise`` is the spread (share of the scale) of how raters read a rule: a
    vague rule ("friendly tone") has a wide spread, a precise one ("greets the
    customer by name: +1") a narrow one.
    """
    rng = np.random.default_rng(seed)
    truth = rng.beta(2, 2, n_units)
    obs = truth[:, None] + rng.normal(0, noise, (n_units, n_raters))
    pts = np.clip(np.round(obs * max_points), 0, max_points)
    return pd.DataFrame(pts, columns=[f"rater_{k + 1}" for k in range(n_raters)])


def precision_effect(noises=(0.25, 0.15, 0.08), seed: int = 0) -> pd.DataFrame:
    """Krippendorff's alpha (ordinal) of the same interactions rated under rules of growing precision."""
    rows = []
    for noise in noises:
        r = krippendorff_alpha(simulate_ratings(noise=noise, seed=seed), "ordinal", n_boot=500, seed=seed)
        rows.append({"rule spread": noise, "alpha": float(r["estimate"].iloc[0]), "ci_low": float(r["ci_low"].iloc[0]),
                     "ci_high": float(r["ci_high"].iloc[0])})
    return pd.DataFrame(rows)


# -- practice against gold, and the certification check --------------------------------------------
CERTIFY_AT = 0.667  # Krippendorff's (2004, §11.4) lowest acceptable alpha, applied to the interval's lower limit
MIN_CERTIFICATION = 20
Habit = Literal["careful", "lenient"]


def _gold(eng) -> pd.DataFrame:
    if eng.gold is None or eng.gold.empty:
        raise QcikitError(f"{eng.path}: gold.csv is missing or empty, so there is nothing to practise or certify "
                          "against. Fix: add reference scores (with evidence and rationale) for at least "
                          f"{MIN_CERTIFICATION + 5} interactions.")
    return eng.gold


def practice_split(eng, n_certification: int = MIN_CERTIFICATION) -> tuple[list[str], list[str]]:
    """Gold interactions for practice (with feedback) and the held-out ones for certification (without).

    The split is fixed by the sorted ids, so every trainee of an engagement gets the same held-out set.

    >>> import qcikit
    >>> practice, held_out = practice_split(qcikit.Engagement.load("data/samples/northwind"))  # doctest: +SKIP
    """
    if n_certification < MIN_CERTIFICATION:
        raise QcikitError(f"n_certification={n_certification} is too small: certification needs at least "
                          f"{MIN_CERTIFICATION} held-out interactions. Fix: pass {MIN_CERTIFICATION} or more.")
    ids = sorted(_gold(eng)["interaction_id"].unique())
    if len(ids) < n_certification + 1:
        raise QcikitError(f"{eng.path}: gold.csv covers {len(ids)} interaction(s); practice and a held-out set of "
                          f"{n_certification} need at least {n_certification + 1}. Fix: add gold scores for more interactions.")
    return ids[:-n_certification], ids[-n_certification:]


def explain(eng, interaction_id: str, points: dict | None = None) -> pd.DataFrame:
    """Gold for one interaction, element by element: the points, the rule that fired and the quoted evidence;
    with ``points`` (element → the trainee's points, None = not applicable) also the trainee's and whether they agree."""
    g = _gold(eng)
    g = g[g["interaction_id"] == interaction_id]
    if g.empty:
        raise QcikitError(f"{eng.path}: interaction {interaction_id} is not in gold.csv. Fix: pick one of its interactions.")
    out = pd.DataFrame({"element": g["element"].to_numpy(),
                        "name": g["element"].map(eng.rubric.elements["name"]).to_numpy(),
                        "gold": g["points"].to_numpy(dtype=float),
                        "rule": (g["rationale"] if "rationale" in g else pd.Series("", index=g.index)).fillna("").to_numpy(),
                        "evidence": (g["evidence"] if "evidence" in g else pd.Series("", index=g.index)).fillna("").to_numpy()})
    if points is not None:
        yours = out["element"].map(lambda e: points.get(e, np.nan) if points.get(e) is not None else np.nan)
        out.insert(2, "yours", yours.astype(float))
        same = (out["yours"] == out["gold"]) | (out["yours"].isna() & out["gold"].isna())
        out.insert(4, "agree", same.map({True: "yes", False: "no"}))
    return out


def highlight(text: str, quotes: list[tuple[str, str]]) -> str:
    """``text`` as HTML with each quote marked where it first occurs: ``quotes`` are (quote, label) pairs, the
    label shown when the pointer rests on the mark. Everything is escaped; a quote not found verbatim (or
    overlapping one marked before it) is left unmarked.

    >>> highlight("Hi <b>Ann</b>, sorry for the wait.", [("sorry for the wait", "Apology: gold 2")])
    'Hi &lt;b&gt;Ann&lt;/b&gt;, <mark title="Apology: gold 2">sorry for the wait</mark>.'
    """
    import html

    spans = []
    for quote, label in quotes:
        at = text.find(quote) if quote else -1
        if at >= 0 and all(at >= b or at + len(quote) <= a for a, b, _ in spans):
            spans.append((at, at + len(quote), label))
    out, pos = [], 0
    for a, b, label in sorted(spans):
        out += [html.escape(text[pos:a]), f'<mark title="{html.escape(label)}">{html.escape(text[a:b])}</mark>']
        pos = b
    return "".join(out) + html.escape(text[pos:])


def simulate_trainee(eng, interactions: list[str], habit: Habit = "careful", seed: int = 0) -> pd.DataFrame:
    """A trainee's points on gold interactions, for demonstrations and tests.

    ``careful`` applies the rules as gold does and slips on 3 % of elements (one point either way);
    ``lenient`` also credits weak evidence — one point more on 70 % of the elements not at their maximum.
    """
    if habit not in ("careful", "lenient"):
        raise QcikitError(f"habit {habit!r} is not known. Fix: use one of careful, lenient.")
    rng = np.random.default_rng(seed)
    g = _gold(eng)
    g = g[g["interaction_id"].isin(interactions)].copy()
    maxp = g["element"].map(eng.rubric.max_points).to_numpy(dtype=float)
    pts = g["points"].to_numpy(dtype=float)
    slip = rng.random(len(g)) < 0.03
    pts = np.where(slip, pts + rng.choice([-1, 1], len(g)), pts)
    if habit == "lenient":
        pts = np.where(rng.random(len(g)) < 0.7, pts + 1, pts)
    g["points"] = np.clip(pts, 0, maxp)  # NaN (not applicable) stays NaN
    return g[["interaction_id", "element", "points"]].reset_index(drop=True)


def certify(eng, trainee: str, points: pd.DataFrame, interactions: list[str] | None = None,
            confidence: float | None = None, n_boot: int = 1000, seed: int | None = None, store=None) -> pd.DataFrame:
    """The certification check: the trainee's agreement with gold on held-out interactions.

    Krippendorff's alpha (interval level, on each element's points as a share of
    its maximum, so elements of 2 and 4 points weigh alike) between the trainee and
    gold over every (interaction, element) both scored, with a bootstrap interval.
    The trainee passes when the interval's lower limit is at least .667
    (Krippendorff 2004, §11.4: the lowest alpha from which tentative conclusions
    may be drawn), i.e. agreement is shown, not merely likely.

    Parameters
    ----------
    points : DataFrame
        ``interaction_id``, ``element``, ``points`` (NaN = not applicable).
    interactions : list of str, optional
        The held-out set (default: :func:`practice_split`'s). Every one must be scored.
    store : Store, optional
        When given (e.g. ``eng.open_store()``), the result is appended to its
        certifications with the rubric version and the date; scores are never touched.

    Returns
    -------
    DataFrame
        One row: ``trainee``, ``n_interactions``, ``alpha``, ``ci_low``, ``ci_high``, ``passed``, ``rubric_version``.
    """
    g = _gold(eng)
    held = interactions if interactions is not None else practice_split(eng)[1]
    if len(held) < MIN_CERTIFICATION:
        raise QcikitError(f"certification needs at least {MIN_CERTIFICATION} held-out interactions; {len(held)} were given. "
                          "Fix: use practice_split's held-out set.")
    need = {"interaction_id", "element", "points"}
    if not need <= set(points.columns):
        raise QcikitError(f"the trainee's points need the columns {', '.join(sorted(need))}. "
                          "Fix: pass the form's answers() or a DataFrame with those columns.")
    scored = set(points["interaction_id"])
    missing = [i for i in held if i not in scored]
    if missing:
        raise QcikitError(f"{trainee} scored {len(held) - len(missing)} of the {len(held)} held-out interactions; "
                          f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} are missing. "
                          "Fix: score every held-out interaction before the check.")
    confidence = eng.config.confidence if confidence is None else confidence
    m = g[g["interaction_id"].isin(held)].merge(points, on=["interaction_id", "element"], how="left",
                                                suffixes=("_gold", "_trainee"))
    maxp = m["element"].map(eng.rubric.max_points).to_numpy(dtype=float)
    mat = pd.DataFrame({"trainee": m["points_trainee"].to_numpy(dtype=float) / maxp,
                        "gold": m["points_gold"].to_numpy(dtype=float) / maxp})
    r = krippendorff_alpha(mat, "interval", confidence, n_boot, eng.config.seed if seed is None else seed)
    alpha, lo, hi = (float(r[c].iloc[0]) for c in ("estimate", "ci_low", "ci_high"))
    passed = bool(lo >= CERTIFY_AT)
    if store is not None:
        store.record_certification(trainee, eng.rubric.version, len(held), alpha, lo, hi, passed)
    return pd.DataFrame([{"trainee": trainee, "n_interactions": len(held), "alpha": alpha, "ci_low": lo, "ci_high": hi,
                          "passed": passed, "rubric_version": eng.rubric.version}])


def vague_vs_precise(eng, element: str | None = None, n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """Agreement on one element of the real gold transcripts, under a vague rule and under the precise ones.

    Three readers score each gold interaction's ``element``. Under the vague rule
    (only the element's description, 0 to its maximum) each reads it their own
    way where gold gives partial credit: one as the precise rules do (gold), one
    generously (a point more: "most of it was there"), one harshly (a point less:
    "not all of it was there"). Under the precise rules — each behaviour its points, with an
    example — all three read alike and slip on 3 % of interactions. The
    transcripts and gold's rules are the engagement's; the readings are
    simulated; Krippendorff's alpha (ordinal) compares them.

    ``element`` defaults to the one where gold most often gives partial credit
    (some, not all, of its additive rules fired): where a vague rule bites most.
    """
    g = _gold(eng)
    if "rules" not in g:
        raise QcikitError(f"{eng.path}: gold.csv has no 'rules' column (the ids of the rules that fired). "
                          "Fix: add it, space-separated per row, as the sample engagements have it.")
    additive = {e.id: {r.id for r in e.rules.additive} for e in eng.rubric.model.elements}
    g = g[g["points"].notna()].copy()
    g["fired"] = g["rules"].fillna("").str.split().map(set)
    g["n_add"] = [len(f & additive[e]) for f, e in zip(g["fired"], g["element"])]
    if element is None:
        partial = g[(g["n_add"] > 0) & (g["n_add"] < g["element"].map(lambda e: len(additive[e])))]
        if partial.empty:
            raise QcikitError(f"{eng.path}: no gold row gives partial credit, so there is no vague reading to show. "
                              "Fix: pass element= one with several additive rules.")
        element = partial["element"].value_counts().index[0]
    g = g[g["element"] == element]
    if g.empty:
        raise QcikitError(f"{eng.path}: gold.csv has no scored rows for element '{element}'. "
                          f"Fix: use one of {', '.join(sorted(set(_gold(eng)['element'])))}.")
    maxp = float(eng.rubric.max_points[element])
    literal = g["points"].to_numpy(dtype=float)
    n_add, n_rules = g["n_add"].to_numpy(), len(additive[element])
    partial = (n_add > 0) & (n_add < n_rules)
    vague = pd.DataFrame({"as written": literal,
                          "generous": np.where(partial, np.minimum(literal + 1, maxp), literal),
                          "harsh": np.where(partial, np.maximum(literal - 1, 0), literal)})
    rng = np.random.default_rng(seed)
    precise = pd.DataFrame({f"reader {k + 1}": np.clip(literal + (rng.random(len(g)) < 0.03) * rng.choice([-1, 1], len(g)),
                                                       0, maxp) for k in range(3)})
    name = eng.rubric.elements.loc[element, "name"]
    rows = []
    for rule, mat in ((f"vague: only the description of {name} (0–{maxp:g})", vague),
                      (f"precise: {name}'s rules, each with its points and an example", precise)):
        r = krippendorff_alpha(mat, "ordinal", n_boot=n_boot, seed=seed)
        rows.append({"element": element, "rule": rule, "interactions": len(g), "alpha": float(r["estimate"].iloc[0]),
                     "ci_low": float(r["ci_low"].iloc[0]), "ci_high": float(r["ci_high"].iloc[0])})
    return pd.DataFrame(rows)
