"""Worked examples for training new analysts: feedback against gold, and how
precise rules raise agreement."""
from __future__ import annotations

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
    m = s.merge(gold[["interaction_id", "element", "points"]].rename(columns={"points": "gold"}), on=["interaction_id", "element"])
    if interactions is not None:
        m = m[m["interaction_id"].isin(interactions)]
    m = m[(m["points"] != m["gold"]) & ~(m["points"].isna() & m["gold"].isna())]
    guide = {}
    for e in rubric.model.elements:
        rules = sorted(e.rules.additive + e.rules.subtractive, key=lambda r: -r.points)
        guide[e.id] = f"{rules[0].text} (e.g. {rules[0].example})" if rules else e.description
    out = pd.DataFrame({"interaction_id": m["interaction_id"], "element": m["element"], "yours": m["points"],
                        "gold": m["gold"], "difference": m["points"] - m["gold"], "re-read": m["element"].map(guide)})
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
