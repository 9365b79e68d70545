"""Design-weighted summaries with confidence intervals, wave comparison,
Customer Effort, Competitive Edge and priorities (step 5).

The unit is the interaction: when several raters scored one interaction its
QCI (or element score) is the mean of their scores.  Population estimates use
the sample's design weights :math:`w_i = N_h / n_h`; the weighted mean

.. math:: \\bar y_w = \\frac{\\sum_i w_i y_i}{\\sum_i w_i}

has the Taylor-linearization variance of a ratio, with the finite population
correction of each stratum,

.. math:: \\hat V(\\bar y_w) = \\sum_h \\Big(1 - \\frac{n_h}{N_h}\\Big) \\frac{n_h}{n_h-1} \\sum_{i \\in h} (z_i - \\bar z_h)^2,
          \\qquad z_i = \\frac{w_i d_i (y_i - \\bar y_w)}{\\sum_j w_j d_j}

where :math:`d_i` marks the domain (a team, a touchpoint…; 1 everywhere for
the whole population) and *h* runs over the sampling strata (wave ×
touchpoint), and a t interval on n − H degrees of freedom (Lohr 2019,
*Sampling: Design and Analysis*, 3rd ed., §9.1 and §14.2; Wolter 2007, ch. 6).
Domains are estimated over the whole sample, so a team's interval reflects
the design rather than treating the team as its own sample.  Without strata
and with equal weights it is the ordinary t interval of a mean.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import MetricsError
from .inventory import wilson_interval
from .scoring import row_weights, score

SMALL_CELL = 30
LOW_EFFORT_MAX = 3  # answers 1–3 on the 1–7 effort scale count as "low effort"


def weighted_mean_ci(values, weights=None, confidence: float = 0.95, strata=None, domain=None, fpc=None) -> dict:
    """Design-weighted mean with its confidence interval (see the module docstring).

    Parameters
    ----------
    values, weights : array-like
        One value and one design weight per sampled interaction (NaN values are left out).
    strata : array-like, optional
        The sampling stratum of each interaction (``sample.csv``'s ``stratum``).
    domain : array-like of bool, optional
        The interactions of the sub-population to estimate (a team, a touchpoint);
        the others still count for the variance.
    fpc : array-like, optional
        Finite population correction :math:`1 - n_h/N_h` of each interaction's
        stratum; it multiplies that stratum's variance.  (A small client's
        wave is sampled at a large fraction: without it the interval is too wide.)

    Examples
    --------
    >>> r = weighted_mean_ci([60, 70, 80], [1, 1, 2])
    >>> round(r["estimate"], 2), r["n"]
    (72.5, 3)
    """
    y = np.asarray(values, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    d = np.ones(len(y), dtype=bool) if domain is None else np.asarray(domain, dtype=bool)
    h = np.zeros(len(y), dtype=np.int64) if strata is None else pd.factorize(np.asarray(strata))[0]
    f = np.ones(len(y)) if fpc is None else np.asarray(fpc, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(w)
    y, w, d, h, f = y[keep], w[keep], d[keep], h[keep], f[keep]
    n = int(d.sum())
    empty = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": n}
    if n == 0:
        return empty
    if (w <= 0).any():
        raise MetricsError("design weights must be greater than 0. Fix: redraw the sample with `qcikit sample`.")
    wd = w * d
    mean = float(np.sum(wd * y) / np.sum(wd))
    if n < 2:
        return {**empty, "estimate": mean}
    z = wd * (y - mean) / np.sum(wd)
    n_h = np.bincount(h)
    z_bar = np.bincount(h, weights=z) / n_h
    ss = np.bincount(h, weights=(z - z_bar[h]) ** 2)
    fpc_h = np.ones(len(n_h))
    fpc_h[h[::-1]] = f[::-1]  # the stratum's correction (constant within a stratum): its first row's value
    multi = n_h > 1  # a stratum with one interaction adds no estimable variance
    var = float(np.sum(fpc_h[multi] * n_h[multi] / (n_h[multi] - 1) * ss[multi]))
    se = float(np.sqrt(var))
    df = max(len(y) - int((n_h > 0).sum()), 1)
    t = stats.t.ppf(0.5 + confidence / 2, df)
    return {"estimate": mean, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se, "n": n}


def _cached(eng, key: str, build):
    """Compute a table once per loaded engagement (a report asks for the same tables many times)."""
    cache = eng.__dict__.setdefault("_metrics_cache", {})
    # Keyed on the scores object too, so an engagement given new scores is recomputed.
    full = (key, id(eng.scores))
    if full not in cache or cache[full][0] is not eng.scores:
        cache[full] = (eng.scores, build())
    return cache[full][1].copy()


def interaction_table(eng) -> pd.DataFrame:
    """One row per scored interaction: QCI and dimensions (mean over raters), wave,
    team, touchpoint, agent, scenario, design weight and effort."""
    return _cached(eng, "interactions", lambda: _interaction_table(eng))


def _interaction_table(eng) -> pd.DataFrame:
    scored = eng.scored()
    cols = ["qci", *eng.rubric.dimensions]
    per = scored.groupby("interaction_id", sort=False)[cols].mean()
    per["n_raters"] = scored.groupby("interaction_id", sort=False)["rater"].nunique()
    info = eng.interactions.set_index("interaction_id")
    keep = [c for c in ("wave", "team", "touchpoint", "agent_id", "effort", "started_at") if c in info]
    per = per.join(info[keep])
    if eng.inventory is not None and "scenario" in eng.inventory:
        per = per.join(eng.inventory.set_index("interaction_id")["scenario"])
    if eng.sample is not None:
        per = per.join(eng.sample.set_index("interaction_id")[["weight", "stratum"]])
        # Design weights are N_h / n_h, so the sampling fraction of a stratum is 1 / weight.
        per["fpc"] = 1 - 1 / per["weight"]
    else:
        per["weight"], per["stratum"], per["fpc"] = 1.0, "all", 1.0
    per["weight"] = per["weight"].fillna(1.0)
    per["stratum"] = per["stratum"].fillna("unsampled")
    per["fpc"] = per["fpc"].fillna(1.0)
    return per.reset_index()


def element_table(eng) -> pd.DataFrame:
    """Long: one row per interaction and element, the element's score (0–100, mean over
    raters) with wave, team, touchpoint and design weight."""
    return _cached(eng, "elements", lambda: _element_table(eng))


def _element_table(eng) -> pd.DataFrame:
    s = eng.scores
    el = eng.rubric.elements
    per = (s.assign(score=100 * s["points"] / s["element"].map(el["max_points"]))
           .groupby(["interaction_id", "element"], sort=False)["score"].mean().reset_index())
    per["dimension"] = per["element"].map(el["dimension"])
    info = interaction_table(eng).set_index("interaction_id")[["wave", "team", "touchpoint", "weight", "stratum", "fpc"]]
    return per.join(info, on="interaction_id")


def summarize(table: pd.DataFrame, value: str = "qci", by=None, confidence: float = 0.95,
              bounds: tuple[float, float] | None = (0.0, 100.0), measure: str | None = None) -> pd.DataFrame:
    """Weighted mean of ``value`` with CI, overall or per group; small groups flagged, not hidden.

    ``bounds`` clips the interval to the scale (a 0–100 score's mean cannot pass 100,
    though a t interval on a handful of interactions can); None leaves it as computed.

    Groups are domains of the whole table, and a ``stratum`` column (when
    present) gives the stratified variance.  A long table with several rows
    per interaction (one per element) names that column as ``measure``: it is
    split by measure first, so each piece has one row per interaction.  Returns columns: the ``by``
    columns, ``n``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``small``
    (fewer than 30 interactions: read with care).
    """
    if value not in table.columns:
        raise MetricsError(f"column '{value}' is not in the table. Fix: use one of {', '.join(map(str, table.columns))}.")
    if measure is not None:
        parts = [summarize(part, value, by, confidence, bounds).assign(**{measure: key})
                 for key, part in table.groupby(measure, sort=True, observed=True)]
        out = pd.concat(parts, ignore_index=True)
        return out[[measure, *[c for c in out.columns if c != measure]]]
    strata = table["stratum"] if "stratum" in table else None
    fpc = table["fpc"] if "fpc" in table else None
    if not by:
        rows = [weighted_mean_ci(table[value], table.get("weight"), confidence, strata, fpc=fpc)]
    else:
        rows = []
        keys = [by] if isinstance(by, str) else list(by)
        for key, part in table.groupby(keys, sort=True, observed=True):
            key = key if isinstance(key, tuple) else (key,)
            # A group is a domain of the whole sample: every interaction counts for the variance.
            r = weighted_mean_ci(table[value], table.get("weight"), confidence, strata, table.index.isin(part.index), fpc)
            rows.append({**dict(zip(keys, key)), **r})
    out = pd.DataFrame(rows)
    if bounds is not None and len(out):
        out["ci_low"] = out["ci_low"].clip(lower=bounds[0])
        out["ci_high"] = out["ci_high"].clip(upper=bounds[1])
    out["small"] = out["n"] < SMALL_CELL
    return out


def wave_change(eng, confidence: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    """Change since the previous wave in QCI, each dimension and each element.

    For every measure: the weighted means of both waves, their difference, a
    Welch t-test on interaction-level scores (pingouin), Hedges' g, and
    p-values adjusted with Holm's method (statsmodels ``multipletests``) within
    each family — the elements, the dimensions — so twenty elements do not
    produce a "significant" change by chance; the headline QCI is its own family.
    """
    import pingouin as pg
    from statsmodels.stats.multitest import multipletests

    waves = list(eng.config.waves)
    inter = interaction_table(eng)
    present = [w for w in waves if (inter["wave"] == w).any()]
    if len(present) < 2:
        raise MetricsError(f"{eng.path}: scores cover {len(present)} wave(s); a change needs two. "
                           "Fix: score the next wave's sample, or read the single-wave summary.")
    before, after = present[-2], present[-1]
    measures = [("QCI", "overall", inter, "qci")]
    measures += [(d, "dimension", inter, d) for d in eng.rubric.dimensions]
    el = element_table(eng)
    for e in eng.rubric.element_ids:
        measures.append((e, "element", el[el["element"] == e], "score"))
    rows = []
    for name, kind, table, col in measures:
        a = table[table["wave"] == before]
        b = table[table["wave"] == after]
        ra = weighted_mean_ci(a[col], a["weight"], confidence, a["stratum"], fpc=a["fpc"])
        rb = weighted_mean_ci(b[col], b["weight"], confidence, b["stratum"], fpc=b["fpc"])
        xa, xb = a[col].dropna().to_numpy(), b[col].dropna().to_numpy()
        p, g = np.nan, np.nan
        if len(xa) >= 2 and len(xb) >= 2 and (np.var(xa) + np.var(xb)) > 0:
            t = pg.ttest(xb, xa, correction=True)
            p = float(t["p_val"].iloc[0]) if "p_val" in t else float(t["p-val"].iloc[0])
            g = float(pg.compute_effsize(xb, xa, eftype="hedges"))
        diff = rb["estimate"] - ra["estimate"]
        se = np.sqrt(ra["se"] ** 2 + rb["se"] ** 2)
        z = stats.norm.ppf(0.5 + confidence / 2)
        rows.append({"measure": name, "kind": kind, "before": ra["estimate"], "after": rb["estimate"],
                     "change": diff, "ci_low": diff - z * se, "ci_high": diff + z * se,
                     "n_before": ra["n"], "n_after": rb["n"], "hedges_g": g, "p": p})
    out = pd.DataFrame(rows)
    names = eng.rubric.elements["name"]
    out.insert(1, "name", [names.get(m, m) for m in out["measure"]])
    out["p_holm"] = np.nan
    out["significant"] = False
    # Holm within each family: the headline QCI alone, the dimensions, the elements.
    for kind in ("overall", "dimension", "element"):
        ok = out["p"].notna() & (out["kind"] == kind)
        if ok.any():
            rej, adj, _, _ = multipletests(out.loc[ok, "p"], alpha=alpha, method="holm")
            out.loc[ok, "p_holm"] = adj
            out.loc[ok, "significant"] = rej
    out.attrs.update(before=before, after=after)
    return out


def customer_effort(eng, by: str | None = "wave", confidence: float = 0.95) -> pd.DataFrame:
    """Customer Effort from the 1–7 answers in interactions.csv (1 = very easy).

    Mean effort with its t interval, and the share of low-effort answers
    (1–3) with a Wilson interval, over every interaction that has an answer
    (the population, not only the sample).
    """
    inter = eng.interactions
    if "effort" not in inter or inter["effort"].notna().sum() == 0:
        raise MetricsError(f"{eng.path}: interactions.csv has no effort answers. "
                           "Fix: add an 'effort' column with the 1–7 Customer Effort answers where customers gave one.")
    data = inter[inter["effort"].notna()]
    groups = [("all", data)] if by is None else data.groupby(by, sort=True)
    rows = []
    for key, part in groups:
        r = weighted_mean_ci(part["effort"], None, confidence)
        k = float((part["effort"] <= LOW_EFFORT_MAX).sum())
        lo, hi = (float(x) for x in wilson_interval(k / len(part), len(part), confidence))
        rows.append({by or "group": key, "n": len(part), "mean_effort": r["estimate"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "low_effort_share": k / len(part), "share_low": lo, "share_high": hi})
    return pd.DataFrame(rows)


def competitive_edge(eng, wave: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """The client against each competitor's mystery shops, on the same rubric.

    One row per competitor and measure (``QCI`` and every element, 0–100):
    the client's design-weighted mean in ``wave`` (default: the last), the
    competitor's mean over its shops, and the edge (client − competitor) with
    a Welch-type confidence interval.
    """
    if eng.mystery_shops is None:
        raise MetricsError(f"{eng.path}: mystery_shops.csv is missing. Fix: add competitors' mystery shops scored on the rubric.")
    wave = wave or eng.config.waves[-1]
    inter = interaction_table(eng)
    inter = inter[inter["wave"] == wave]
    el = element_table(eng)
    el = el[el["wave"] == wave]
    ms = eng.mystery_shops
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for comp, shops in ms.groupby("competitor", sort=True):
        comp_qci = score(shops, eng.rubric, by=("interaction_id",), source="mystery_shops.csv")
        items = [("QCI", inter["qci"], inter["weight"], inter["stratum"], inter["fpc"], comp_qci["qci"])]
        share = shops.assign(score=100 * shops["points"] / shops["element"].map(eng.rubric.max_points))
        for e in eng.rubric.element_ids:
            mine = el[el["element"] == e]
            items.append((e, mine["score"], mine["weight"], mine["stratum"], mine["fpc"], share.loc[share["element"] == e, "score"]))
        for name, y, w, h, f, theirs in items:
            c = weighted_mean_ci(y, w, confidence, h, fpc=f)
            k = weighted_mean_ci(theirs, None, confidence)
            edge = c["estimate"] - k["estimate"]
            se = np.sqrt(np.nan_to_num(c["se"]) ** 2 + np.nan_to_num(k["se"]) ** 2)
            rows.append({"competitor": comp, "measure": name, "client": c["estimate"], "competitor_score": k["estimate"],
                         "edge": edge, "ci_low": edge - z * se, "ci_high": edge + z * se, "n_client": c["n"], "n_shops": k["n"]})
    out = pd.DataFrame(rows)
    names = eng.rubric.elements["name"]
    out.insert(2, "name", [names.get(m, m) for m in out["measure"]])
    return out


def element_weights(eng) -> pd.Series:
    """Mean effective weight of each element over the scored interactions (after N/A and scenario rules)."""
    s = eng.scores
    w = pd.Series(row_weights(s, eng.rubric, eng.inventory_facets()), index=s.index)
    n_units = len(s[["interaction_id", "rater"]].drop_duplicates())
    return (w.groupby(s["element"]).sum() / n_units).reindex(eng.rubric.element_ids).fillna(0.0).rename("weight")


def priorities(eng, wave: str | None = None, top: int | None = None, target: float | None = None) -> pd.DataFrame:
    """Elements ranked by the QCI points they could add: weight × gap to target.

    ``gap`` is the target (engagement.yaml's ``target_qci``, 0–100) minus the
    element's design-weighted score in ``wave`` (0 when above target);
    ``potential`` = mean effective weight × gap, i.e. the QCI points gained if
    the element reached the target.  The manager's list reads top down.
    """
    wave = wave or eng.config.waves[-1]
    target = eng.config.target_qci if target is None else target
    el = element_table(eng)
    el = el[el["wave"] == wave]
    if el.empty:
        raise MetricsError(f"{eng.path}: no scores in wave '{wave}'. Fix: pick one of {', '.join(eng.config.waves)}.")
    summary = summarize(el, "score", measure="element").set_index("element")
    w = element_weights(eng)
    out = pd.DataFrame({
        "element": summary.index,
        "name": eng.rubric.elements.loc[summary.index, "name"].to_numpy(),
        "dimension": eng.rubric.elements.loc[summary.index, "dimension"].to_numpy(),
        "score": summary["estimate"].to_numpy(),
        "ci_low": summary["ci_low"].to_numpy(), "ci_high": summary["ci_high"].to_numpy(),
        "weight": w.reindex(summary.index).to_numpy(),
    })
    out["gap"] = np.clip(target - out["score"], 0, None)
    out["potential"] = out["weight"] * out["gap"]
    out = out.sort_values(["potential", "element"], ascending=[False, True], ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.head(top) if top else out


def team_weakest(eng, team: str, wave: str | None = None, top: int = 3) -> pd.DataFrame:
    """A team's weakest elements in ``wave`` (lowest weighted score first), for its coaching page."""
    wave = wave or eng.config.waves[-1]
    el = element_table(eng)
    el = el[el["wave"] == wave]
    if not (el["team"] == team).any():
        raise MetricsError(f"{eng.path}: team '{team}' has no scores in wave '{wave}'. Fix: check the team name in interactions.csv.")
    s = summarize(el, "score", by="team", measure="element")
    s = s[s["team"] == team].drop(columns="team")
    s["name"] = s["element"].map(eng.rubric.elements["name"])
    return s.sort_values(["estimate", "element"], ignore_index=True).head(top)
