"""Step 1: the engagement brief, the concept catalogue and the partial audit.

The partial audit (the "mini-rating") scores a small random sample — real
interactions or mystery shops — with the starter rubric, and ranks the
weakest dimensions and elements as opportunities, each with its uncertainty:
with 30 interactions a difference of a few points is noise, and the
intervals say so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import metrics
from .errors import QcikitError
from .sections import Fragment, esc
from .templates import concepts


def brief(eng) -> Fragment:
    """The client's value focus, brand voice and specific extras as a short HTML brief."""
    cfg = eng.config
    extras = "".join(f"<li>{esc(x)}</li>" for x in cfg.specific_extras) or "<li>(none yet — brainstorm them below)</li>"
    return Fragment(
        f"<h3>{esc(cfg.client)} — {esc(cfg.industry)}</h3>"
        f"<p><b>Where to add value:</b> {esc(', '.join(cfg.value_focus))}</p>"
        f"<p><b>Brand voice:</b> {esc(cfg.brand_voice.tone)}; phrases: {esc('; '.join(cfg.brand_voice.signature_phrases))}; "
        f"avoid: {esc(', '.join(cfg.brand_voice.avoid))}</p><p><b>Specific extras agreed so far:</b></p><ul>{extras}</ul>")


def concept_prompts(dimensions: list[str] | None = None) -> pd.DataFrame:
    """Concepts from the catalogue that serve ``dimensions`` (default: all), with workshop prompts."""
    c = concepts()
    if dimensions:
        c = c[c["dimension"].isin(dimensions)]
    return c.reset_index(drop=True)


def partial_audit(eng, n: int = 30, seed: int | None = None, wave: str | None = None,
                  source: str = "interactions") -> pd.DataFrame:
    """A mini-rating: ``n`` randomly chosen scored interactions (or mystery shops) of one wave.

    Returns long scores (one rater per interaction: the first in alphabetical
    order, as a single consultant would score a partial audit).
    """
    wave = wave or eng.config.waves[0]
    seed = eng.config.seed if seed is None else seed
    if source == "mystery_shops":
        if eng.mystery_shops is None:
            raise QcikitError(f"{eng.path}: mystery_shops.csv is missing. Fix: use source='interactions'.")
        s = eng.mystery_shops
    elif source == "interactions":
        if eng.scores is None:
            raise QcikitError(f"{eng.path}: scores.csv is missing. Fix: score a few interactions first.")
        s = eng.scores[eng.scores["wave"] == wave]
        first = s.groupby("interaction_id")["rater"].transform("min")
        s = s[s["rater"] == first]
    else:
        raise QcikitError(f"source '{source}' is not known. Fix: use 'interactions' or 'mystery_shops'.")
    ids = np.sort(s["interaction_id"].unique())
    if len(ids) < n:
        raise QcikitError(f"only {len(ids)} scored interactions in wave {wave}; the audit asked for {n}. Fix: lower n.")
    chosen = np.random.default_rng(seed).choice(ids, size=n, replace=False)
    return s[s["interaction_id"].isin(chosen)].reset_index(drop=True)


def rank_opportunities(audit: pd.DataFrame, rubric, level: str = "element") -> pd.DataFrame:
    """Weakest first: mean score (0–100) with a 95% CI per element or dimension of a partial audit."""
    el = rubric.elements
    s = audit.assign(score=100 * audit["points"] / audit["element"].map(el["max_points"]),
                     dimension=audit["element"].map(el["dimension"]), weight=1.0)
    key = "element" if level == "element" else "dimension"
    per = s.groupby(["interaction_id", key])["score"].mean().reset_index().assign(weight=1.0)
    out = metrics.summarize(per, "score", measure=key)
    if key == "element":
        out["name"] = out["element"].map(el["name"])
        out["dimension"] = out["element"].map(el["dimension"])
    return out.sort_values(["estimate", key], ignore_index=True)
