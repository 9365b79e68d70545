"""Element points → QCI (0–100) per interaction and rater, and per dimension.

The score of dimension *d* for one interaction is the weighted mean of its
applicable elements' shares of their maximum points,

.. math:: D_d = 100 \\, \\frac{\\sum_{e \\in d} v_e \\, p_e / m_e}{\\sum_{e \\in d} v_e}

(summing over applicable elements only), and the QCI is the weighted sum of
the dimensions, :math:`QCI = \\sum_d W'_d D_d`, with the renormalized weights
described in :mod:`qcikit.rubric`.  Then critical fails apply, in this order:
``zero_dimension`` sets its dimension to 0 (and the QCI is recomputed),
``cap`` caps the QCI, ``zero_interaction`` sets it to 0.

Everything is vectorized: the long scores are placed into one
interactions × elements matrix by integer codes; there is no Python loop over
interactions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RubricVersionError, ScoringError
from .rubric import Rubric, effective_weights

SCORE_COLUMNS = ("interaction_id", "rater", "element", "points")


def _check_scores(scores: pd.DataFrame, rubric: Rubric, source: str) -> np.ndarray:
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ScoringError(
            f"{source}: missing column(s) {', '.join(missing)}. "
            "Fix: scores need one row per interaction_id, rater and element, with points (empty = not applicable)."
        )
    if "rubric_version" in scores.columns:
        version = scores["rubric_version"].astype("string")
        # Earlier versions named in the rubric's changelog stand for earlier waves; unknown ones never mix in.
        other = version.notna() & ~version.isin(rubric.versions)
        if other.any():
            found = sorted(version[other].unique())
            raise RubricVersionError(
                f"{source}: {int(other.sum())} score row(s) were made under rubric version(s) "
                f"{', '.join(found)}, not {rubric.version} (first at row {int(np.argmax(other.to_numpy())) + 2}). "
                "Fix: re-score those interactions with the current rubric, or score them with the rubric they were made under."
            )
        if "wave" in scores.columns:
            per_wave = scores.assign(_v=version).dropna(subset=["_v"]).groupby("wave")["_v"].nunique()
            if (per_wave > 1).any():
                wave = per_wave[per_wave > 1].index[0]
                raise RubricVersionError(
                    f"{source}: wave {wave} holds scores under more than one rubric version. "
                    "Fix: re-score the wave's interactions under one version; versions are never mixed within a wave.")
    points = pd.to_numeric(scores["points"], errors="coerce").to_numpy(dtype=float)
    raw = scores["points"]
    if not pd.api.types.is_numeric_dtype(raw):
        text = raw.astype("string").str.strip()
        bad = np.isnan(points) & text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise ScoringError(
                f"{source}, row {i + 2}: points '{raw.iloc[i]}' is not a number. "
                "Fix: write a number from 0 to the element's maximum, or leave the cell empty for not applicable."
            )
    return points


def _unit_codes(scores: pd.DataFrame, by: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code per row for the ``by`` key, and the distinct keys in first-seen order.

    Each key column is factorized on its own and the codes are combined
    arithmetically; factorizing tuples of strings would cost several times more.
    """
    codes, uniques = [], []
    for c in by:
        k, u = pd.factorize(scores[c], use_na_sentinel=False)
        codes.append(k.astype(np.int64))
        uniques.append(u)
    combined = codes[0]
    for k, u in zip(codes[1:], uniques[1:]):
        combined = combined * len(u) + k
    unit_code, uniq = pd.factorize(combined)
    parts = {}
    rest = np.asarray(uniq, dtype=np.int64)
    for c, u in zip(reversed(by[1:]), reversed(uniques[1:])):
        rest, k = np.divmod(rest, len(u))
        parts[c] = np.asarray(u)[k]
    parts[by[0]] = np.asarray(uniques[0])[rest]
    return unit_code, pd.DataFrame({c: parts[c] for c in by})


def score(
    scores: pd.DataFrame,
    rubric: Rubric,
    inventory: pd.DataFrame | None = None,
    *,
    by: tuple[str, ...] = ("interaction_id", "rater"),
    source: str = "scores",
) -> pd.DataFrame:
    """QCI and dimension scores, one row per interaction and rater.

    Parameters
    ----------
    scores : DataFrame
        Long scores: ``interaction_id``, ``rater``, ``element``, ``points``
        (NaN = not applicable); optional ``wave`` and ``rubric_version``.
    rubric : Rubric
        The rubric the scores were made under.
    inventory : DataFrame, optional
        ``interaction_id`` and one column per scenario facet; scenario rules
        of the rubric then change the weights per interaction.
    by : tuple of str
        The columns that identify one scored interaction (``("interaction_id",)``
        for gold or consensus scores).

    Returns
    -------
    DataFrame
        ``by`` columns, ``wave`` (when present), ``qci``, one column per
        dimension (0–100, NaN when nothing in it applied), ``critical_fail``
        (the failed critical elements, comma-separated, or ``""``) and
        ``n_elements`` (elements scored and applicable).

    Examples
    --------
    >>> import pandas as pd, qcikit
    >>> from qcikit.templates import starter_rubric
    >>> r = starter_rubric()
    >>> s = pd.DataFrame({"interaction_id": "i1", "rater": "ana",
    ...                   "element": r.element_ids, "points": r.max_points.to_numpy()})
    >>> float(qcikit.score(s, r)["qci"].iloc[0])
    100.0
    """
    by = tuple(by)
    for c in by:
        if c not in scores.columns:
            raise ScoringError(f"{source}: missing column '{c}'. Fix: add it, or pass by= the columns that identify an interaction.")
    points = _check_scores(scores, rubric, source)
    el_ids = rubric.element_ids
    # Factorize the element column first and map its few distinct values to
    # rubric positions: hashing a million strings once is the whole cost.
    e_codes, e_uniques = pd.factorize(scores["element"])
    e_pos = pd.Index(el_ids).get_indexer(pd.Index(e_uniques))
    el_code = e_pos[e_codes] if len(e_codes) else np.zeros(0, dtype=np.intp)
    if (el_code < 0).any():
        i = int(np.argmax(el_code < 0))
        unknown = sorted(str(u) for u, p in zip(e_uniques, e_pos) if p < 0)
        raise ScoringError(
            f"{source}, row {i + 2}: element '{scores['element'].iloc[i]}' is not in the rubric "
            f"({len(unknown)} unknown: {', '.join(unknown[:5])}). Fix: use the element ids of rubric.yaml ({', '.join(el_ids)})."
        )
    maxp = rubric.max_points.to_numpy(dtype=float)
    over = ~np.isnan(points) & ((points < 0) | (points > maxp[el_code]))
    if over.any():
        i = int(np.argmax(over))
        raise ScoringError(
            f"{source}, row {i + 2}: element '{el_ids[el_code[i]]}' has {points[i]:g} points, outside 0–{maxp[el_code[i]]:g}. "
            "Fix: correct the points to lie between 0 and the element's maximum."
        )
    unit_code, keys = _unit_codes(scores, by)
    n_units, n_el = len(keys), len(el_ids)
    flat = unit_code.astype(np.int64) * n_el + el_code
    counts = np.bincount(flat, minlength=n_units * n_el)
    if (counts > 1).any():
        dup = int(np.argmax(counts > 1))
        u, e = divmod(dup, n_el)
        who = ", ".join(f"{c}={keys.iloc[u][c]}" for c in by)
        raise ScoringError(
            f"{source}: element '{el_ids[e]}' is scored more than once for {who}. "
            "Fix: keep one row per interaction, rater and element (the store keeps corrections as history; export the latest)."
        )
    scored = (counts > 0).reshape(n_units, n_el)
    frac = np.full(n_units * n_el, np.nan)
    frac[flat] = points / maxp[el_code]
    frac = frac.reshape(n_units, n_el)

    # Weights per unit (scenario rules), zero where not applicable or unscored.
    if inventory is not None and len(inventory.columns) > 1:
        facets = [c for c in inventory.columns if c != "interaction_id" and c != "scenario"]
        inv = inventory.drop_duplicates("interaction_id").set_index("interaction_id")[facets]
        unit_ids = keys["interaction_id"] if "interaction_id" in keys else keys[by[0]]
        scen = inv.reindex(unit_ids.to_numpy())
        missing_inv = scen.isna().all(axis=1).to_numpy()
        if missing_inv.any():
            i = int(np.argmax(missing_inv))
            raise ScoringError(
                f"inventory: interaction '{unit_ids.iloc[i]}' has scores but no classification "
                f"({int(missing_inv.sum())} such). Fix: classify it in inventory.csv, or score without the inventory."
            )
        dim_w, el_w = rubric.scenario_factor_arrays(scen.reset_index(drop=True))
    else:
        dim_w, el_w = rubric.scenario_factor_arrays(pd.DataFrame(index=range(n_units)))
    applicable = scored & ~np.isnan(frac)
    w = effective_weights(dim_w, el_w * applicable, rubric.dimension_codes)
    frac0 = np.nan_to_num(frac)

    dcodes = rubric.dimension_codes
    n_dims = len(rubric.dimensions)
    onehot = np.zeros((n_el, n_dims))
    onehot[np.arange(n_el), dcodes] = 1.0
    dim_weight = w @ onehot  # effective weight of each dimension per unit
    with np.errstate(invalid="ignore", divide="ignore"):
        dim_score = np.where(dim_weight > 0, ((w * frac0) @ onehot) / dim_weight, np.nan) * 100.0

    # Critical fails.
    crit = rubric.elements
    fails = np.zeros((n_units, n_el), dtype=bool)
    fail_names = np.full(n_units, "", dtype=object)
    has_crit = crit["critical"].notna().to_numpy()
    if has_crit.any():
        fb = crit["fail_below"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            fails = applicable & has_crit[None, :] & (frac0 * maxp[None, :] < np.nan_to_num(fb, nan=0.0)[None, :])
        effect = crit["critical"].to_numpy()
        for j in np.flatnonzero(has_crit):
            if effect[j] == "zero_dimension":
                dim_score[fails[:, j], dcodes[j]] = 0.0
    qci = np.nansum(np.nan_to_num(dim_score) * dim_weight, axis=1)
    if has_crit.any():
        caps = crit["critical_cap"].to_numpy(dtype=float)
        for j in np.flatnonzero(has_crit):
            if effect[j] == "cap":
                qci = np.where(fails[:, j], np.minimum(qci, caps[j]), qci)
        for j in np.flatnonzero(has_crit):
            if effect[j] == "zero_interaction":
                qci = np.where(fails[:, j], 0.0, qci)
        for j in np.flatnonzero(has_crit):  # a loop over critical elements, not interactions
            hit = fails[:, j]
            fail_names = np.where(hit & (fail_names == ""), el_ids[j],
                                  np.where(hit, fail_names + "," + el_ids[j], fail_names))
    nothing = ~applicable.any(axis=1)
    qci = np.where(nothing, np.nan, np.clip(qci, 0.0, 100.0))

    out = keys.copy()
    if "wave" in scores.columns and "wave" not in by:
        first = np.empty(n_units, dtype=np.int64)
        first[unit_code[::-1]] = np.arange(len(unit_code))[::-1]  # first row of each unit
        out["wave"] = scores["wave"].to_numpy()[first]
    out["qci"] = qci
    for k, d in enumerate(rubric.dimensions):
        out[d] = dim_score[:, k]
    out["critical_fail"] = fail_names
    out["n_elements"] = applicable.sum(axis=1)
    return out


def row_weights(scores: pd.DataFrame, rubric: Rubric, inventory: pd.DataFrame | None = None) -> np.ndarray:
    """The effective weight of every score row (after N/A and scenario rules), aligned with ``scores``.

    The weights of one interaction and rater sum to 1 over its scored elements.
    """
    unit, keys = _unit_codes(scores, ("interaction_id", "rater"))
    ids = rubric.element_ids
    code = pd.Index(ids).get_indexer(scores["element"])
    applicable = np.zeros((len(keys), len(ids)), dtype=bool)
    applicable[unit, code] = pd.to_numeric(scores["points"], errors="coerce").notna().to_numpy()
    if inventory is not None:
        facets = [c for c in inventory.columns if c not in ("interaction_id", "scenario")]
        scen = inventory.drop_duplicates("interaction_id").set_index("interaction_id")[facets]
        scen = scen.reindex(keys["interaction_id"].to_numpy()).reset_index(drop=True)
    else:
        scen = pd.DataFrame(index=range(len(keys)))
    dim_w, el_w = rubric.scenario_factor_arrays(scen)
    w = effective_weights(dim_w, el_w * applicable, rubric.dimension_codes)
    return w[unit, code]


def quotes(evidence, transcript) -> bool:
    """Whether ``evidence`` is a verbatim quote of ``transcript`` (or empty).

    Line breaks and runs of spaces do not count: a quote copied from a wrapped transcript keeps its words,
    not its layout. Anything else must match exactly, so a paraphrase is refused.

    >>> quotes("I'm sorry  about\\nthat", "Agent: I'm sorry about that. Anything else?"), quotes("sorry for that", "sorry about that")
    (True, False)
    """
    evidence = squash(evidence)
    return not evidence or evidence in squash(transcript)


def squash(text) -> str:
    """``text`` with line breaks and runs of spaces as single spaces: the form :func:`quotes` compares."""
    return " ".join(str(text or "").split())
