"""Step 1: the engagement brief, the concept catalogue and the partial audit.

The partial audit (the "mini-rating") scores a small random sample — real
interactions or mystery shops — with the starter rubric, and ranks the
weakest dimensions and elements as opportunities, each with its uncertainty:
with 30 interactions a difference of a few points is noise, and the
intervals say so.
"""
from __future__ import annotations

import re

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


def concept_prompts(dimensions: list[str] | None = None, rubric=None) -> pd.DataFrame:
    """Concepts from the catalogue that serve ``dimensions`` (default: all), with workshop prompts.

    Without ``rubric`` a concept serves the starter rubric's dimensions it names. With the
    engagement's ``rubric`` a concept serves a dimension, whatever the client calls it, when

    - the dimension tags it (``concepts: [Managing expectations]`` on the dimension in rubric.yaml),
    - the dimension has a starter name the concept lists, or
    - words of what the concept does (its ``serves`` in the catalogue: "wait", "apolog", "brand", …)
      occur in the dimension's name, description or its elements' names, descriptions and rules.

    ``why`` says which. A dimension nothing serves gets one row saying so and how to tag one.
    """
    c = concepts()
    if rubric is None:
        if dimensions:
            c = c[c["dimension"].isin(dimensions)]
        return c.drop(columns="serves").reset_index(drop=True)
    catalogue = c.drop_duplicates("concept")
    rows = []
    for dim in rubric.model.dimensions:
        if dimensions and dim.name not in dimensions:
            continue
        words = _dimension_text(rubric, dim)
        found = []
        for r in catalogue.itertuples():
            named = set(c.loc[c["concept"] == r.concept, "dimension"])
            hits = [w for w in r.serves if re.search(r"\b" + re.escape(w), words)]  # word starts: "apolog" not "…own"
            why = ("tagged in rubric.yaml" if r.concept in dim.concepts else
                   "named for this dimension" if dim.name in named else
                   f"does what its elements ask ({', '.join(hits[:3])})" if hits else "")
            if why:
                found.append({"dimension": dim.name, "concept": r.concept, "description": r.description,
                              "prompt": r.prompt, "why": why})
        rows += found or [{"dimension": dim.name, "concept": "(none matches)", "description": "",
                           "prompt": "", "why": f"Tag one: add concepts: [<a concept>] to the dimension "
                                                f"'{dim.name}' in rubric.yaml."}]
    return pd.DataFrame(rows, columns=["dimension", "concept", "description", "prompt", "why"])


def _dimension_text(rubric, dim) -> str:
    """Everything a dimension says about itself, lower case: its words decide which concepts serve it."""
    parts = [dim.name, dim.description]
    for e in rubric.model.elements:
        if e.dimension == dim.name:
            parts += [e.name, e.description]
            for group in (e.rules.additive, e.rules.subtractive):
                parts += [r.text for r in group]
    return " ".join(p for p in parts if p).lower()


def partial_audit(eng, n: int = 30, seed: int | None = None, wave: str | None = None,
                  source: str = "interactions", optional: bool = False) -> pd.DataFrame | None:
    """A mini-rating: ``n`` randomly chosen scored interactions (or mystery shops) of one wave.

    Returns long scores (one rater per interaction: the first in alphabetical
    order, as a single consultant would score a partial audit). Step 1 comes
    before any scoring: with ``optional=True`` an engagement without scores gives
    None (and fewer than ``n`` scored interactions give all of them) instead of an error.
    """
    wave = wave or eng.config.waves[0]
    seed = eng.config.seed if seed is None else seed
    if source == "mystery_shops":
        if eng.mystery_shops is None:
            if optional:
                return None
            raise QcikitError(f"{eng.path}: mystery_shops.csv is missing. Fix: use source='interactions'.")
        s = eng.mystery_shops
    elif source == "interactions":
        if eng.scores is None or eng.scores.empty:
            if optional:
                return None
            raise QcikitError(f"{eng.path}: there are no scores yet. Fix: score a few interactions first "
                              "(notebook 03's form), or pass optional=True to skip the partial audit.")
        s = eng.scores[eng.scores["wave"] == wave] if "wave" in eng.scores else eng.scores
        first = s.groupby("interaction_id")["rater"].transform("min")
        s = s[s["rater"] == first]
    else:
        raise QcikitError(f"source '{source}' is not known. Fix: use 'interactions' or 'mystery_shops'.")
    ids = np.sort(s["interaction_id"].unique())
    if len(ids) < n:
        if optional:
            n = len(ids)
            if n == 0:
                return None
        else:
            raise QcikitError(f"only {len(ids)} scored interactions in wave {wave}; the audit asked for {n}. Fix: lower n.")
    chosen = np.random.default_rng(seed).choice(ids, size=n, replace=False)
    return s[s["interaction_id"].isin(chosen)].reset_index(drop=True)


def focus_dimensions(rubric, ranked: pd.DataFrame | None, k: int = 2) -> list[str]:
    """The ``k`` weakest dimensions of a partial audit, or every dimension when there is no audit yet."""
    if ranked is None or ranked.empty:
        return list(rubric.dimensions)
    return ranked["dimension"].head(k).tolist()


def rank_opportunities(audit: pd.DataFrame | None, rubric, level: str = "element") -> pd.DataFrame:
    """Weakest first: mean score (0–100) with a 95% CI per element or dimension of a partial audit
    (an empty table when there is no audit yet)."""
    key = "element" if level == "element" else "dimension"
    if audit is None or audit.empty:
        cols = [key, "n", "estimate", "se", "ci_low", "ci_high", "small"] + (["name", "dimension"] if key == "element" else [])
        return pd.DataFrame(columns=cols)
    el = rubric.elements
    s = audit.assign(score=100 * audit["points"] / audit["element"].map(el["max_points"]),
                     dimension=audit["element"].map(el["dimension"]), weight=1.0)
    per = s.groupby(["interaction_id", key])["score"].mean().reset_index().assign(weight=1.0)
    out = metrics.summarize(per, "score", measure=key)
    if key == "element":
        out["name"] = out["element"].map(el["name"])
        out["dimension"] = out["element"].map(el["dimension"])
    return out.sort_values(["estimate", key], ignore_index=True)
