"""Inter-rater reliability and calibration against a gold standard.

Every coefficient takes the same input — a DataFrame with one row per unit
(interaction), one column per rater, NaN where a rater did not rate the unit —
and returns a one-row DataFrame in the style of pingouin: ``coefficient``,
``estimate``, ``se``, ``ci_low``, ``ci_high``, ``ci_method``, ``n_units``,
``n_raters``.  Confidence intervals are analytic where the literature gives
one (Gwet 2014 for AC1/AC2, Fleiss' kappa and percent agreement; Fleiss,
Cohen & Everitt 1969 for Cohen's kappa; Shrout & Fleiss 1979 via pingouin for
the ICC) and a seeded unit-level bootstrap for Krippendorff's alpha.

The bootstrap for alpha resamples units through their *profiles*: a unit
enters the coincidence matrix only through its count of ratings per category,
so units with the same count profile are interchangeable.  A resample draws
how often each profile occurs, and one matrix product gives every resample's
coincidence matrix at once.  The draw is the *Poisson bootstrap* (each unit
enters a resample Poisson(1) times; Hanley & MacGibbon 2006, Chamandy et al.
2012): for a profile seen f times that is one Poisson(f) count, asymptotically
the same as the classical bootstrap (the tests compare it with a naive unit
bootstrap and Gwet's analytic SE).  The B counts of one profile are drawn as a
histogram and a shuffle (`_poisson_counts`), exactly Poisson and 2–3 times
faster than B separate Poisson draws.

References
----------
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
School for Communication, University of Pennsylvania.
Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability*, 4th ed. Advanced Analytics.
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
*Psychological Bulletin* 76, 378–382.
Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
rater reliability. *Psychological Bulletin* 86, 420–428.
Hanley, J. A. & MacGibbon, B. (2006). Creating non-parametric bootstrap samples using
Poisson frequencies. *Computer Methods and Programs in Biomedicine* 83, 57–62.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ._dist import norm_cdf, norm_ppf, t_ppf
from .errors import ReliabilityError


Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS = ("nominal", "ordinal", "interval", "ratio")
Weights = Literal["linear", "quadratic"] | None
WEIGHTS = (None, "linear", "quadratic")
RESULT_COLUMNS = ["coefficient", "estimate", "se", "ci_low", "ci_high", "ci_method", "n_units", "n_raters"]


# -- input handling --------------------------------------------------------------
def _ratings(ratings, numeric: bool = False) -> pd.DataFrame:
    """Validate units × raters input; drop raters and units with no rating at all."""
    if isinstance(ratings, np.ndarray):
        ratings = pd.DataFrame(ratings)
    if not isinstance(ratings, pd.DataFrame) or ratings.ndim != 2:
        raise ReliabilityError("ratings must be a DataFrame with one row per unit and one column per rater "
                               "(NaN where a rater did not rate). Fix: pivot long scores with "
                               "scores.pivot(index='interaction_id', columns='rater', values='points').")
    # Masks on the numpy values (a DataFrame dropna costs more than the coefficient itself on 2,000 units).
    fast = all(pd.api.types.is_numeric_dtype(t) for t in ratings.dtypes)
    missing = np.isnan(ratings.to_numpy(dtype=float)) if fast else ratings.isna().to_numpy()
    cols, rows = ~missing.all(axis=0), ~missing.all(axis=1)
    df = ratings
    if not (cols.all() and rows.all()):
        df, missing = ratings.iloc[rows, cols], missing[np.ix_(rows, cols)]
    if df.shape[1] < 2:
        raise ReliabilityError(f"ratings hold {df.shape[1]} rater(s) with at least one rating; agreement needs at least two. "
                               "Fix: have a second rater score the same interactions.")
    if numeric and not all(pd.api.types.is_numeric_dtype(t) for t in df.dtypes):
        converted = df.apply(pd.to_numeric, errors="coerce")
        bad = converted.isna() & df.notna()
        if bad.to_numpy().any():
            r, c = np.argwhere(bad.to_numpy())[0]
            raise ReliabilityError(f"rating '{df.iat[r, c]}' (unit {df.index[r]!r}, rater {df.columns[c]!r}) is not a number, "
                                   "but this level needs numbers. Fix: use level='nominal', or correct the rating.")
        df = converted
    pairable = int(((~missing).sum(axis=1) >= 2).sum())
    if pairable < 2:
        raise ReliabilityError(f"only {pairable} unit(s) were rated by two or more raters; agreement needs at least two. "
                               "Fix: have two or more raters score more of the same interactions.")
    return df


def _category_counts(df: pd.DataFrame, categories=None) -> tuple[np.ndarray, np.ndarray]:
    """Units × categories matrix of how many raters put each unit in each category."""
    values = df.to_numpy().ravel()
    numeric = values.dtype.kind in "fiu"
    present = ~np.isnan(values) if numeric else ~pd.isna(values)
    seen = np.unique(values[present]) if numeric else np.array(sorted(pd.unique(values[present])))
    if categories is None:
        cats = seen
    else:
        cats = np.asarray(categories)
        unknown = set(seen.tolist()) - set(cats.tolist())
        if unknown:
            raise ReliabilityError(f"ratings {sorted(unknown)} are not among the categories given. Fix: list every possible rating in categories.")
    code = np.full(values.shape, -1)
    if numeric and cats.dtype.kind in "fiu":
        code[present] = np.searchsorted(cats.astype(float), values[present])  # numbers: a sorted lookup, no pandas
    else:
        code[present] = pd.Categorical(values[present], categories=cats).codes
    n_units, n_raters = df.shape
    unit = np.repeat(np.arange(n_units), n_raters)
    keep = code >= 0
    q = len(cats)
    counts = np.bincount(unit[keep] * q + code[keep], minlength=n_units * q).reshape(n_units, q).astype(float)
    return counts, cats


def _weight_matrix(cats: np.ndarray, weights) -> np.ndarray:
    q = len(cats)
    if isinstance(weights, np.ndarray):
        if weights.shape != (q, q):
            raise ReliabilityError(f"the weight matrix has shape {weights.shape}; {q} categories need ({q}, {q}). "
                                   "Fix: give one row and one column per category, in sorted order.")
        return weights.astype(float)
    if weights not in WEIGHTS:
        raise ReliabilityError(f"weights {weights!r} is not known. Fix: use None, 'linear' or 'quadratic'.")
    q = len(cats)
    if weights is None:
        return np.eye(q)
    v = cats.astype(float)
    span = v.max() - v.min()
    if span == 0:
        return np.ones((q, q))
    d = np.abs(v[:, None] - v[None, :]) / span
    return 1 - d if weights == "linear" else 1 - d**2


def _result(name, est, se, lo, hi, method, n_units, n_raters) -> pd.DataFrame:
    return pd.DataFrame([[name, est, se, lo, hi, method, n_units, n_raters]], columns=RESULT_COLUMNS)


def _t_interval(est, se, n, confidence):
    t = t_ppf(0.5 + confidence / 2, n - 1)
    return max(-1.0, est - t * se), min(1.0, est + t * se)


# -- Gwet's framework: percent agreement, AC1/AC2, Fleiss' kappa --------------------
def _gwet_parts(counts: np.ndarray, w: np.ndarray):
    r_i = counts.sum(axis=1)
    n = len(counts)
    two = r_i >= 2
    n2 = two.sum()
    counts_w = counts @ w.T
    sum_q = (counts * (counts_w - 1)).sum(axis=1)
    den = r_i * (r_i - 1)
    den = np.where(den == 0, -1, den)  # units rated once contribute 0 (Gwet 2014, §5.3)
    pa_i = sum_q / den
    pa = pa_i[two].sum() / n2
    pi = (counts / r_i[:, None]).sum(axis=0) / n
    return n, n2, two, r_i, pa_i, pa, pi


def _gwet_variance(n, n2, coef, pa_i, pe, pe_i, two):
    coef_i = (n / n2) * (pa_i - pe * two) / (1 - pe)
    coef_x = coef_i - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
    return np.sum((coef_x - coef) ** 2) / (n * (n - 1))


def _prepare(ratings, categories, weights):
    """Validated ratings, category counts, categories, weight matrix and Gwet's common parts."""
    df = _ratings(ratings)
    counts, cats = _category_counts(df, categories)
    w = _weight_matrix(cats, weights)
    return df, counts, cats, w, _gwet_parts(counts, w)


def percent_agreement(ratings, confidence: float = 0.95, categories=None, weights: Weights = None) -> pd.DataFrame:
    """Share of agreeing rater pairs per unit, averaged over units (Gwet 2014, eq. 2.9).

    .. math:: p_a = \\frac{1}{n'} \\sum_{i: r_i \\ge 2} \\sum_k \\frac{r_{ik}(r^*_{ik} - 1)}{r_i (r_i - 1)}

    where :math:`r^*_{ik} = \\sum_l w_{kl} r_{il}` (identity weights: exact agreement).

    Examples
    --------
    >>> r = pd.DataFrame({"a": [1, 2, 3, 3], "b": [1, 2, 3, 2], "c": [1, 2, 3, 3]})
    >>> round(float(percent_agreement(r)["estimate"].iloc[0]), 4)
    0.8333
    """
    df, counts, cats, w, (n, n2, two, r_i, pa_i, pa, pi) = _prepare(ratings, categories, weights)
    var = np.sum(((n / n2) * pa_i - pa) ** 2) / (n * (n - 1))
    se = float(np.sqrt(var))
    lo, hi = _t_interval(pa, se, n, confidence)
    return _result("percent agreement", float(pa), se, max(0.0, lo), hi, "analytic (Gwet 2014)", int(n2), df.shape[1])


def gwet_ac1(ratings, weights: Weights = None, confidence: float = 0.95, categories=None) -> pd.DataFrame:
    """Gwet's AC1 (unweighted) or AC2 (weighted) agreement coefficient.

    .. math:: AC = \\frac{p_a - p_e}{1 - p_e}, \\qquad
              p_e = \\frac{T_w}{q(q-1)} \\sum_k \\pi_k (1 - \\pi_k)

    with :math:`\\pi_k` the mean share of category *k* per unit and :math:`T_w`
    the sum of the weights.  The variance is Gwet's (2014, eq. 5.10), with a
    t interval on n − 1 degrees of freedom, capped at 1.

    Parameters
    ----------
    ratings : DataFrame
        Units × raters, NaN = not rated.
    weights : {None, "linear", "quadratic"} or array (q, q)
        None gives AC1; weights give AC2 for ordinal or interval ratings
        (linear :math:`1 - |k-l|/(x_{max}-x_{min})`, quadratic its square form,
        or any agreement-weight matrix).
    categories : list, optional
        Every possible rating (e.g. 0–4 points), including ones nobody used.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. *Br. J. Math. Stat. Psychol.* 61, 29–48.

    Examples
    --------
    >>> r = pd.DataFrame({"a": [1, 2, 3, 3, 2], "b": [1, 2, 3, 2, 2]})
    >>> round(float(gwet_ac1(r)["estimate"].iloc[0]), 4)
    0.7101
    """
    df, counts, cats, w, (n, n2, two, r_i, pa_i, pa, pi) = _prepare(ratings, categories, weights)
    q = len(cats)
    if q < 2:
        raise ReliabilityError("every rating falls in one category, so chance agreement cannot be estimated and AC1 is undefined. "
                               "Fix: pass categories= with every possible rating (e.g. range(0, max_points + 1)).")
    tw = w.sum()
    pe = tw * np.sum(pi * (1 - pi)) / (q * (q - 1))
    ac = (pa - pe) / (1 - pe)
    pe_i = (tw / (q * (q - 1))) * (counts @ (1 - pi)) / r_i
    se = float(np.sqrt(_gwet_variance(n, n2, ac, pa_i, pe, pe_i, two)))
    lo, hi = _t_interval(ac, se, n, confidence)
    name = "AC1" if weights is None else f"AC2 ({weights if isinstance(weights, str) else 'custom'})"
    return _result(name, float(ac), se, lo, hi, "analytic (Gwet 2014)", int(n2), df.shape[1])


def fleiss_kappa(ratings, confidence: float = 0.95, categories=None, weights: Weights = None) -> pd.DataFrame:
    """Fleiss' kappa for any number of raters, with missing ratings (Fleiss 1971; Gwet 2014, ch. 5).

    .. math:: \\kappa = \\frac{p_a - p_e}{1 - p_e}, \\qquad p_e = \\sum_{k,l} w_{kl} \\pi_k \\pi_l

    The standard error is Gwet's (2014) linearization for Fleiss' kappa, which
    holds away from the null hypothesis (unlike Fleiss, Nee & Landis 1979).

    Examples
    --------
    >>> r = pd.DataFrame({"a": [1, 2, 3, 3, 2], "b": [1, 2, 3, 2, 2], "c": [1, 2, 3, 3, 1]})
    >>> round(float(fleiss_kappa(r)["estimate"].iloc[0]), 4)
    0.5946
    """
    df, counts, cats, w, (n, n2, two, r_i, pa_i, pa, pi) = _prepare(ratings, categories, weights)
    pe = float(pi @ w @ pi)
    if pe >= 1:
        raise ReliabilityError("every rating falls in one category, so Fleiss' kappa is undefined (chance agreement is 1). "
                               "Fix: report percent agreement for this element instead.")
    kappa = (pa - pe) / (1 - pe)
    pi_w = (w @ pi + w.T @ pi) / 2
    pe_i = (counts @ pi_w) / r_i
    se = float(np.sqrt(_gwet_variance(n, n2, kappa, pa_i, pe, pe_i, two)))
    lo, hi = _t_interval(kappa, se, n, confidence)
    return _result("Fleiss' kappa", float(kappa), se, lo, hi, "analytic (Gwet 2014)", int(n2), df.shape[1])


# -- Cohen's kappa ---------------------------------------------------------------
def cohen_kappa(a, b, weights: Weights = None, confidence: float = 0.95, categories=None) -> pd.DataFrame:
    """Cohen's kappa between two raters, unweighted or weighted (Cohen 1960, 1968).

    .. math:: \\kappa_w = 1 - \\frac{\\sum_{kl} v_{kl} p_{kl}}{\\sum_{kl} v_{kl} p_{k\\cdot} p_{\\cdot l}}

    with disagreement weights :math:`v_{kl}` (0/1, linear :math:`|k-l|` or
    quadratic :math:`(k-l)^2` over category positions).  Computed with
    statsmodels' ``cohens_kappa``; the standard error is the large-sample one
    of Fleiss, Cohen & Everitt (1969).

    Parameters
    ----------
    a, b : Series
        The two raters' ratings of the same units (aligned by index); pairs
        with a missing rating are left out.

    Examples
    --------
    >>> a = pd.Series(["y"] * 25 + ["n"] * 25)
    >>> b = pd.Series(["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15)
    >>> round(float(cohen_kappa(a, b)["estimate"].iloc[0]), 3)
    0.4
    """
    from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

    if weights not in WEIGHTS:
        raise ReliabilityError(f"weights {weights!r} is not known. Fix: use None, 'linear' or 'quadratic'.")
    pair = pd.concat([pd.Series(a), pd.Series(b)], axis=1, keys=["a", "b"]).dropna()
    if len(pair) < 2:
        raise ReliabilityError(f"only {len(pair)} unit(s) were rated by both raters; Cohen's kappa needs at least two. "
                               "Fix: have both raters score more of the same interactions.")
    cats = np.array(sorted(pd.unique(pair.to_numpy().ravel()))) if categories is None else np.asarray(categories)
    q = len(cats)
    ia = pd.Categorical(pair["a"], categories=cats).codes
    ib = pd.Categorical(pair["b"], categories=cats).codes
    if (ia < 0).any() or (ib < 0).any():
        raise ReliabilityError("a rating is not among the categories given. Fix: list every possible rating in categories.")
    table = np.zeros((q, q))
    np.add.at(table, (ia, ib), 1)
    if q < 2 or (table.sum(axis=0) @ table.sum(axis=1)) == 0:
        raise ReliabilityError("both raters used a single category, so Cohen's kappa is undefined. "
                               "Fix: report percent agreement, or pass categories= with every possible rating.")
    wt = {None: None, "linear": "linear", "quadratic": "quadratic"}[weights]
    res = sm_kappa(table, wt=wt) if wt else sm_kappa(table)
    est, se = float(res.kappa), float(res.std_kappa)
    z = norm_ppf(0.5 + confidence / 2)
    name = "Cohen's kappa" if weights is None else f"Cohen's kappa ({weights})"
    return _result(name, est, se, max(-1.0, est - z * se), min(1.0, est + z * se),
                   "analytic (Fleiss, Cohen & Everitt 1969)", len(pair), 2)


# -- Krippendorff's alpha ----------------------------------------------------------
def _delta2(level: Level, cats: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Squared difference function(s).  ``n_c`` may be (q,) or (B, q) for ordinal."""
    q = len(cats)
    if level == "nominal":
        return 1.0 - np.eye(q)
    v = cats.astype(float)
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        s = v[:, None] + v[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(s == 0, 0.0, (v[:, None] - v[None, :]) / s)
        return d**2
    # ordinal: (sum_{g=c..k} n_g - (n_c + n_k)/2)^2, depends on the marginals.
    n_c = np.atleast_2d(n_c)
    cum = np.cumsum(n_c, axis=1)
    lo = np.minimum.outer(np.arange(q), np.arange(q))
    hi = np.maximum.outer(np.arange(q), np.arange(q))
    between = cum[:, hi] - cum[:, lo] + n_c[:, lo]
    d = (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
    return d[0] if d.shape[0] == 1 else d


def _alpha_from_coincidence(o: np.ndarray, level: Level, cats: np.ndarray) -> np.ndarray:
    """Alpha for one (q, q) or many (B, q, q) coincidence matrices."""
    o = np.asarray(o, dtype=float)
    single = o.ndim == 2
    o = np.atleast_3d(o.reshape((-1,) + o.shape[-2:]))
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    d2 = _delta2(level, cats, n_c)
    if d2.ndim == 2:
        d2 = d2[None]
    d_o = np.einsum("bck,bck->b", o, d2)
    d_e = np.einsum("bc,bk,bck->b", n_c, n_c, d2)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = 1.0 - (n - 1) * d_o / d_e
    return a[0] if single else a


def _coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-unit coincidence contributions (units, q, q) for pairable units (Krippendorff 2011, §B)."""
    m = counts.sum(axis=1)
    c = counts[:, :, None] * counts[:, None, :]
    idx = np.arange(counts.shape[1])
    c[:, idx, idx] -= counts
    return c / (m - 1)[:, None, None]


def krippendorff_alpha(ratings, level: Level = "nominal", confidence: float = 0.95, n_boot: int = 1000,
                       seed: int | None = 0, categories=None) -> pd.DataFrame:
    """Krippendorff's alpha for any number of raters, missing ratings allowed.

    .. math:: \\alpha = 1 - (n - 1) \\frac{\\sum_{c,k} o_{ck} \\, \\delta^2_{ck}}{\\sum_{c,k} n_c n_k \\, \\delta^2_{ck}}

    where :math:`o_{ck} = \\sum_u \\frac{n_{uc} n_{uk} - [c = k] n_{uc}}{m_u - 1}` is the coincidence
    matrix over units rated by :math:`m_u \\ge 2` raters, :math:`n_c` its margins and
    :math:`\\delta^2` the level's difference function (Krippendorff 2011).

    Parameters
    ----------
    ratings : DataFrame
        Units × raters, NaN = not rated.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement.
    n_boot : int
        Bootstrap resamples of units for the percentile interval (0: none).
    seed : int, optional
        Seed of the bootstrap; the same seed gives the same interval.

    Raises
    ------
    ReliabilityError
        With one rater, fewer than two pairable units, non-numbers at the
        interval or ratio level, or when every rating is the same value
        (alpha is then undefined: there is no variation to agree on).

    Examples
    --------
    Krippendorff's (2011) reliability data, nominal level:

    >>> import numpy as np
    >>> d = pd.DataFrame({
    ...   "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    ...   "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    ...   "C": [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    ...   "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan]})
    >>> round(float(krippendorff_alpha(d)["estimate"].iloc[0]), 3)
    0.743
    """
    if level not in LEVELS:
        raise ReliabilityError(f"level {level!r} is not known. Fix: use one of {', '.join(LEVELS)}.")
    df = _ratings(ratings, numeric=level != "nominal")
    counts, cats = _category_counts(df, categories)
    counts = counts[counts.sum(axis=1) >= 2]
    if level == "ratio" and (cats.astype(float) < 0).any():
        raise ReliabilityError("the ratio level needs ratings of 0 or more. Fix: use level='interval'.")
    per_unit = _coincidences(counts)
    o = per_unit.sum(axis=0)
    alpha = float(_alpha_from_coincidence(o, level, cats))
    if not np.isfinite(alpha):
        raise ReliabilityError("every rating has the same value, so expected disagreement is 0 and alpha is undefined "
                               "(perfect agreement on a constant). Fix: report percent agreement for this element, or "
                               "score more varied interactions.")
    se = lo = hi = np.nan
    method = "none"
    if n_boot:
        boots, jack, freq = _alpha_bootstrap(counts, per_unit, level, cats, n_boot, seed)
        lo, hi, se, undefined = _bca_interval(alpha, boots, jack, freq, confidence)
        method = f"BCa bootstrap ({n_boot} unit resamples, seed {seed}"
        method += f"; {100 * undefined:.1f} % undefined, counted as no agreement)" if undefined else ")"
    return _result(f"Krippendorff's alpha ({level})", alpha, se, lo, hi, method, len(counts), df.shape[1])


def _profiles(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of the unit × category count matrix: (first unit of each, its frequency, each unit's profile).

    Rows are compared whole. When every row fits one integer exactly (``base**q`` below 2**62, with
    ``base`` one more than the largest count, checked in Python's exact integers) a row is read as the
    digits of one number in that base, and a 1-D ``np.unique`` of those is 25 times faster than
    ``np.unique(axis=0)``'s lexicographic sort. Otherwise (many categories or many raters) rows are compared
    whole by ``np.unique(axis=0)``: an integer key that could overflow int64 would merge different profiles.
    """
    base, q = int(counts.max(initial=0)) + 1, counts.shape[1]
    if base**q < 2**62:
        # The first column is the most significant digit, so the keys sort as the rows do lexicographically:
        # the profiles come out in np.unique(axis=0)'s order and a seeded bootstrap draws exactly as before.
        key = counts.astype(np.int64) @ (base ** np.arange(q - 1, -1, -1, dtype=np.int64))
        _, first, inverse, freq = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    else:
        _, first, inverse, freq = np.unique(counts, axis=0, return_index=True, return_inverse=True, return_counts=True)
    return first, freq, inverse.ravel()


def _poisson_counts(freq: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` independent Poisson(f) counts for each frequency f: a (len(freq), n_boot) integer array.

    Why not ``rng.poisson``: one draw costs a rejection loop, and 1,000 × 120 of them were most of an
    alpha interval's time. The same numbers come cheaper in two vectorized steps. How many of a profile's
    ``n_boot`` counts equal each value k is one multinomial draw over the Poisson(f) probabilities, and a
    uniform random order of those values (``rng.permuted``) makes them ``n_boot`` i.i.d. Poisson(f) draws:
    an exchangeable sequence with that histogram has exactly the i.i.d. law. The probabilities are those
    of k within f ± (13√f + 25), renormalised; the mass outside is below 1e-30, far under the 2**-53
    resolution of the draws themselves.
    """
    from scipy.special import gammaln

    f = np.asarray(freq, dtype=float)
    if n_boot == 0 or f.size == 0:
        return np.zeros((f.size, n_boot), dtype=np.int64)
    reach = 13 * np.sqrt(f) + 25
    lo = np.maximum(0, np.floor(f - reach)).astype(np.int64)
    width = int((np.ceil(f + reach) - lo).max()) + 1
    k = lo[:, None] + np.arange(width)[None, :]  # (P, W): the values each profile can take
    with np.errstate(divide="ignore", invalid="ignore"):
        logpmf = k * np.log(f)[:, None] - f[:, None] - gammaln(k + 1)
    pmf = np.exp(logpmf - logpmf.max(axis=1, keepdims=True))
    pmf[f == 0] = 0
    pmf[f == 0, 0] = 1  # a profile never seen is never drawn (k starts at 0 there)
    pmf /= pmf.sum(axis=1, keepdims=True)
    hist = rng.multinomial(n_boot, pmf)  # (P, W): how many replicates draw each value
    values = np.repeat(k.ravel(), hist.ravel()).reshape(f.size, n_boot)  # each row sorted
    return rng.permuted(values, axis=1)


def _alpha_bootstrap(counts, per_unit, level, cats, n_boot, seed):
    """Unit-level (Poisson) bootstrap of alpha through unit count profiles (see the module docstring).

    Returns the ``n_boot`` replicates (NaN where a resample has no variation: alpha undefined), the
    leave-one-unit-out (jackknife) alpha of each profile and the profiles' frequencies (for BCa's acceleration).
    """
    first, freq, _ = _profiles(counts)
    contrib = per_unit[first].reshape(len(first), -1)  # (P, q*q)
    draws = _poisson_counts(freq, n_boot, np.random.default_rng(seed))  # (P, B): each unit Poisson(1) times
    q = len(cats)
    o = (contrib.T @ draws.astype(np.float64)).T.reshape(n_boot, q, q)  # float @ float: one BLAS call
    total = freq.astype(float) @ contrib
    jack = _alpha_from_coincidence((total[None, :] - contrib).reshape(len(first), q, q), level, cats)
    return _alpha_from_coincidence(o, level, cats), np.atleast_1d(jack), freq


def _bca_interval(estimate: float, boots: np.ndarray, jack: np.ndarray, freq: np.ndarray, confidence: float):
    """Bias-corrected and accelerated percentile interval (Efron 1987; Efron & Tibshirani 1993, §14.3).

    A resample in which alpha is undefined (no variation left to agree on) is counted, not dropped: it
    sits below every defined value, as a resample that shows no agreement. Dropping them (5 % for an
    element whose 20 units were all rated alike) biased the interval upward, and a plain percentile
    interval of perfect agreement on a few units is [1, 1]. When undefined resamples reach into the
    lower tail, the lower limit is NaN: too few varied units to judge. The acceleration comes from the
    jackknife over units (through their profiles, weighted by frequency).

    Returns (low, high, se of the defined replicates, share undefined).
    """
    finite = np.isfinite(boots)
    undefined = float(1 - finite.mean())
    se = float(np.std(boots[finite], ddof=1)) if finite.sum() > 1 else np.nan
    b = np.where(finite, boots, -np.inf)
    # Bias correction: the share of replicates below the estimate (ties count half).
    below = (b < estimate).mean() + 0.5 * (b == estimate).mean()
    z0 = norm_ppf(np.clip(below, 1e-6, 1 - 1e-6))
    ok = np.isfinite(jack)
    acc = 0.0
    if ok.sum() > 1:
        f, j = freq[ok].astype(float), jack[ok]
        d = np.sum(f * j) / f.sum() - j
        denom = 6 * np.sum(f * d**2) ** 1.5
        acc = float(np.sum(f * d**3) / denom) if denom > 0 else 0.0
    z = norm_ppf([0.5 - confidence / 2, 0.5 + confidence / 2])
    levels = norm_cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    with np.errstate(invalid="ignore"):  # interpolating between two undefined (-inf) replicates is undefined too
        lo, hi = np.quantile(b, levels, method="linear")
    return (float(lo) if np.isfinite(lo) else np.nan), (float(hi) if np.isfinite(hi) else np.nan), se, undefined


# -- ICC ------------------------------------------------------------------------------
def icc(ratings, confidence: float = 0.95) -> pd.DataFrame:
    """The six Shrout & Fleiss (1979) intraclass correlations with F-based CIs (via pingouin).

    ICC(1,1) one-way random; ICC(2,1) two-way random, absolute agreement;
    ICC(3,1) two-way mixed, consistency; and their averages over k raters
    (ICC(1,k), ICC(2,k), ICC(3,k)).  Units not rated by every rater are left
    out (the ANOVA needs a complete table); ``n_units`` says how many remain.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2:

    >>> d = pd.DataFrame({"J1": [9, 6, 8, 7, 10, 6], "J2": [2, 1, 4, 1, 5, 2],
    ...                   "J3": [5, 3, 6, 2, 6, 4], "J4": [8, 2, 8, 6, 9, 7]})
    >>> icc(d)["estimate"].round(2).tolist()
    [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    """
    import pingouin as pg

    if confidence != 0.95:
        raise ReliabilityError("icc() gives 95 % intervals only (pingouin's). Fix: call icc(ratings) without confidence.")
    df = _ratings(ratings, numeric=True).dropna(axis=0, how="any")
    if len(df) < 2:
        raise ReliabilityError("fewer than two units were rated by every rater; the ICC needs a complete table. "
                               "Fix: have every rater score the same set of interactions.")
    if np.nanvar(df.to_numpy()) == 0:
        raise ReliabilityError("every rating has the same value, so the ICC is undefined. Fix: report percent agreement instead.")
    long = df.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="rater", value_name="score")
    long["rater"] = long["rater"].astype(str)
    res = pg.intraclass_corr(long, targets="unit", raters="rater", ratings="score", nan_policy="raise")
    # pingouin renamed the forms in 0.7 (ICC(A,1), ICC(C,1), ...); accept both spellings.
    names = {"ICC1": "ICC(1,1)", "ICC2": "ICC(2,1)", "ICC3": "ICC(3,1)", "ICC1k": "ICC(1,k)", "ICC2k": "ICC(2,k)",
             "ICC3k": "ICC(3,k)", "ICC(1,1)": "ICC(1,1)", "ICC(A,1)": "ICC(2,1)", "ICC(C,1)": "ICC(3,1)",
             "ICC(1,k)": "ICC(1,k)", "ICC(A,k)": "ICC(2,k)", "ICC(C,k)": "ICC(3,k)"}
    ci_col = [c for c in res.columns if c.startswith("CI")][0]
    rows = []
    for _, r in res.iterrows():
        lo, hi = r[ci_col]
        rows.append([names[r["Type"]], float(r["ICC"]), np.nan, float(lo), float(hi),
                     "F distribution (Shrout & Fleiss 1979)", len(df), df.shape[1]])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


# -- per element, as the consultant reads it -------------------------------------------
Coefficient = Literal["alpha", "fleiss", "ac1", "percent"]
COEFFICIENTS = ("alpha", "fleiss", "ac1", "percent")
RELIABLE, TENTATIVE = 0.800, 0.667
TOO_FEW = "too few units to judge"


def verdict(estimate: float) -> str:
    """Krippendorff's (2004, §11.4) thresholds: ≥ .800 reliable, .667–.800 tentative, below unreliable.

    :func:`by_element` applies them to the lower limit of the interval.
    """
    if not np.isfinite(estimate):
        return "undefined"
    if estimate >= RELIABLE:
        return "reliable"
    if estimate >= TENTATIVE:
        return "tentative"
    return "unreliable"


def ratings_matrix(scores: pd.DataFrame, element: str | None = None) -> pd.DataFrame:
    """Long scores → units × raters points for one element (N/A counts as not rated)."""
    s = scores if element is None else scores[scores["element"] == element]
    return s.pivot_table(index="interaction_id", columns="rater", values="points", aggfunc="first")


def by_element(scores: pd.DataFrame, rubric=None, coefficient: Coefficient = "alpha", level: Level = "ordinal",
               n_boot: int = 1000, seed: int | None = 0, confidence: float = 0.95, elements=None) -> pd.DataFrame:
    """Agreement per element: the table ``qcikit reliability DIR`` prints.

    Only interactions scored by two or more raters count.  Points left empty
    (not applicable) count as not rated for the coefficient; whether raters
    agree that an element applies at all is ``applicability_agreement`` (the
    share of rater pairs agreeing on applicable vs not applicable).  When every rating of an element is
    the same, the coefficient is undefined: the row says so in ``note`` and
    the verdict is ``undefined``, while percent agreement is still given.

    The ``verdict`` applies Krippendorff's thresholds to the interval's *lower
    limit*: reliable when ``ci_low`` ≥ .800, tentative when ≥ .667, otherwise
    unreliable; "too few units to judge" when alpha is defined but its lower
    limit is not (undefined resamples reach into the lower tail: too few varied
    units, such as a handful rated all alike).

    Returns
    -------
    DataFrame
        ``element``, ``dimension``, ``n_units``, ``n_raters``, ``coefficient``,
        ``estimate``, ``ci_low``, ``ci_high``, ``percent_agreement``,
        ``applicability_agreement``, ``verdict``, ``note``.
    """
    if coefficient not in COEFFICIENTS:
        raise ReliabilityError(f"coefficient {coefficient!r} is not known. Fix: use one of {', '.join(COEFFICIENTS)}.")
    need = {"interaction_id", "rater", "element", "points"}
    if not need <= set(scores.columns):
        raise ReliabilityError(f"scores need the columns {', '.join(sorted(need))}. Fix: pass scores.csv as loaded by Engagement.")
    multi = scores.groupby("interaction_id")["rater"].nunique()
    shared = scores[scores["interaction_id"].isin(multi.index[multi >= 2])]
    if elements is None:
        elements = rubric.element_ids if rubric is not None else sorted(shared["element"].unique())
    rows = []
    for e in elements:
        mat = ratings_matrix(shared, e)
        cats = None
        if rubric is not None:
            m = float(rubric.max_points[e])
            seen = mat.to_numpy(dtype=float)
            seen = seen[~np.isnan(seen)]  # (pandas 3's stack() keeps NaN, which made this test always false)
            if m.is_integer() and (seen % 1 == 0).all():
                cats = np.arange(0, int(m) + 1, dtype=float)
        # Do raters agree on whether the element applies at all? (N/A is "not rated" for the coefficient.)
        rated = shared[shared["element"] == e]
        applies = rated.assign(applies=rated["points"].notna().astype(float)).pivot_table(
            index="interaction_id", columns="rater", values="applies", aggfunc="first")
        row = {"element": e, "dimension": rubric.elements.loc[e, "dimension"] if rubric is not None else "",
               "n_units": int((mat.notna().sum(axis=1) >= 2).sum()), "n_raters": int(mat.notna().any().sum()),
               "coefficient": coefficient, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "percent_agreement": np.nan, "applicability_agreement": np.nan, "note": ""}
        try:
            if len(applies) and (applies.notna().sum(axis=1) >= 2).sum() >= 2:
                row["applicability_agreement"] = float(percent_agreement(applies, confidence)["estimate"].iloc[0])
        except ReliabilityError:
            pass
        try:
            row["percent_agreement"] = float(percent_agreement(mat, confidence)["estimate"].iloc[0])
            if coefficient == "alpha":
                res = krippendorff_alpha(mat, level, confidence, n_boot, seed, categories=cats)
            elif coefficient == "fleiss":
                res = fleiss_kappa(mat, confidence, categories=cats)
            elif coefficient == "ac1":
                res = gwet_ac1(mat, None if level == "nominal" else "quadratic", confidence, categories=cats)
            else:
                res = percent_agreement(mat, confidence)
            row.update(estimate=float(res["estimate"].iloc[0]), ci_low=float(res["ci_low"].iloc[0]),
                       ci_high=float(res["ci_high"].iloc[0]), coefficient=res["coefficient"].iloc[0])
        except ReliabilityError as exc:
            row["note"] = str(exc).split(". Fix:")[0] + "."
        # Decisions read the interval, not the point estimate: alpha = .81 with a lower limit of .68 is not
        # "reliable" (Krippendorff 2004, §11.4; 2019, §12.2 recommends judging the smallest acceptable alpha).
        row["verdict"] = verdict(row["ci_low"])
        if np.isfinite(row["estimate"]) and not np.isfinite(row["ci_low"]):
            # Alpha is defined but too many resamples have nothing left to agree on (e.g. 20 units all alike).
            row["verdict"] = TOO_FEW
            row["note"] = row["note"] or "too few varied units to judge agreement."
        rows.append(row)
    cols = ["element", "dimension", "n_units", "n_raters", "coefficient", "estimate", "ci_low", "ci_high",
            "percent_agreement", "applicability_agreement", "verdict", "note"]
    return pd.DataFrame(rows, columns=cols)


def disagreement_drivers(scores: pd.DataFrame, rubric, elements, level: Level = "ordinal", n_boot: int = 1000,
                         seed: int | None = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Which rater drives the disagreement on each element: agreement with each rater left out in turn.

    For every element and every rater, :func:`by_element` is computed on the other raters' ratings (the
    leave-one-rater-out diagnostic). The rater whose absence raises alpha the most is the element's driver;
    when alpha without them reaches a verdict of reliable or tentative, the disagreement is that rater's
    reading, and calibrating them (not rewriting the rule) is the fix. With fewer than three raters nobody can
    be left out and the table is empty.

    Returns
    -------
    DataFrame
        One row per element: ``element``, ``left_out`` (the driver), ``estimate`` (alpha without them),
        ``ci_low``, ``ci_high``, ``verdict``, ``n_units``, and ``with_all`` (alpha with every rater).
    """
    raters = sorted(scores["rater"].dropna().unique())
    elements = list(elements)
    cols = ["element", "left_out", "estimate", "ci_low", "ci_high", "verdict", "n_units", "with_all"]
    if len(raters) < 3 or not elements:
        return pd.DataFrame(columns=cols)
    kw = dict(level=level, n_boot=n_boot, seed=seed, confidence=confidence, elements=elements)
    with_all = by_element(scores, rubric, **kw).set_index("element")["estimate"]
    tables = [by_element(scores[scores["rater"] != r], rubric, **kw).assign(left_out=r) for r in raters]
    table = pd.concat(tables, ignore_index=True).dropna(subset=["estimate"])
    best = table.sort_values(["estimate", "left_out"], ascending=[False, True]).groupby("element", sort=False).head(1)
    best = best.assign(with_all=best["element"].map(with_all))
    order = {e: k for k, e in enumerate(elements)}
    return best.sort_values("element", key=lambda s: s.map(order), ignore_index=True)[cols]


# -- calibration against gold ---------------------------------------------------------------
def _mean_ci(d: pd.Series, confidence: float) -> tuple[float, float]:
    """t interval of a mean of paired differences (NaN with fewer than two)."""
    d = d.dropna()
    if len(d) < 2 or not np.isfinite(d.std(ddof=1)):
        return np.nan, np.nan
    half = t_ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def _excludes_zero(lo: float, hi: float) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def calibrate(scores: pd.DataFrame, gold: pd.DataFrame, rubric, max_bias: float = 5.0, max_share_bias: float = 0.10,
              confidence: float = 0.95) -> pd.DataFrame:
    """Each rater against the gold standard, overall and per element.

    For every rater and element scored on the gold interactions: ``n``,
    ``bias`` (mean rater − gold, in points) with its t interval
    (``bias_low``, ``bias_high``; paired differences), ``share_bias`` (the bias
    as a share of the element's maximum), ``exact`` (share of identical points),
    the QA platforms' ``alignment`` score

    .. math:: A = 1 - \frac{\sum |r_e - g_e|}{\sum m_e}

    and ``alpha``: Krippendorff's alpha (interval) between rater and gold on
    that element's points as shares of its maximum, so elements of different
    scales are never pooled.  Rows with ``element == "(all)"`` summarize the
    rater: alignment over all elements, ``qci_bias`` (mean QCI difference on
    the same interactions, 0–100) with its t interval, and ``alpha`` as the
    n-weighted mean of the per-element alphas.

    A coaching flag is a decision about a person, so it needs evidence beyond
    noise: ``coaching`` is True only when the bias interval excludes 0 *and*
    the bias exceeds ``max_share_bias`` of the element's scale (default 10 %)
    — overall, when the QCI-bias interval excludes 0 and ``|qci_bias|`` exceeds
    ``max_bias`` points of the 0–100 scale (default 5).
    """
    for name, df in (("scores", scores), ("gold", gold)):
        missing = {"interaction_id", "element", "points"} - set(df.columns)
        if missing:
            raise ReliabilityError(f"{name} lacks the column(s) {', '.join(sorted(missing))}. Fix: load it with Engagement.")
    g = gold[["interaction_id", "element", "points"]].rename(columns={"points": "gold"})
    m = scores.merge(g, on=["interaction_id", "element"], how="inner")
    m = m[m["points"].notna() & m["gold"].notna()]
    if m.empty:
        raise ReliabilityError("no rater scored any gold interaction. Fix: have each rater score the gold set.")
    m["max"] = m["element"].map(rubric.max_points)
    m["diff"] = m["points"] - m["gold"]
    rows = []
    for (rater, element), part in m.groupby(["rater", "element"], sort=True):
        lo, hi = _mean_ci(part["diff"], confidence)
        maxp = float(part["max"].iloc[0])
        bias = float(part["diff"].mean())
        pair = pd.DataFrame({"rater": part["points"].to_numpy() / maxp, "gold": part["gold"].to_numpy() / maxp})
        try:
            a = float(krippendorff_alpha(pair, "interval", n_boot=0)["estimate"].iloc[0])
        except ReliabilityError:
            a = np.nan  # e.g. every share identical: agreement is undefined, not perfect
        rows.append({"rater": rater, "element": element, "n": len(part), "bias": bias, "bias_low": lo, "bias_high": hi,
                     "share_bias": bias / maxp, "exact": float((part["diff"] == 0).mean()),
                     "alignment": float(1 - part["diff"].abs().sum() / part["max"].sum()), "alpha": a,
                     "coaching": _excludes_zero(lo, hi) and abs(bias / maxp) > max_share_bias})
    per = pd.DataFrame(rows)
    from .scoring import score

    gold_ids = set(g["interaction_id"])
    rater_qci = score(scores[scores["interaction_id"].isin(gold_ids)], rubric)
    gold_qci = score(gold.assign(rater="gold"), rubric).set_index("interaction_id")["qci"]
    rater_qci["qci_diff"] = rater_qci["qci"] - rater_qci["interaction_id"].map(gold_qci)
    summary = []
    for rater, part in m.groupby("rater"):
        d = rater_qci.loc[rater_qci["rater"] == rater, "qci_diff"]
        lo, hi = _mean_ci(d, confidence)
        qb = float(d.mean())
        mine = per[(per["rater"] == rater) & per["alpha"].notna()]
        summary.append({"rater": rater, "element": "(all)", "n": int(part["interaction_id"].nunique()),
                        "bias": float(part["diff"].mean()), "share_bias": float((part["diff"] / part["max"]).mean()),
                        "exact": float((part["diff"] == 0).mean()),
                        "alignment": float(1 - part["diff"].abs().sum() / part["max"].sum()), "qci_bias": qb,
                        "qci_bias_low": lo, "qci_bias_high": hi,
                        "alpha": float(np.average(mine["alpha"], weights=mine["n"])) if len(mine) else np.nan,
                        "coaching": _excludes_zero(lo, hi) and abs(qb) > max_bias})
    out = pd.concat([pd.DataFrame(summary), per], ignore_index=True)
    return out[["rater", "element", "n", "bias", "bias_low", "bias_high", "share_bias", "exact", "alignment",
                "qci_bias", "qci_bias_low", "qci_bias_high", "alpha", "coaching"]]


def qci_without(scores: pd.DataFrame, rubric, raters, inventory: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the left-out ``raters`` do to the mean QCI, on the same interactions.

    Only interactions that someone other than ``raters`` also scored count, so
    both rows compare the same set: the difference is the raters' effect on the
    score, not a change of sample (an interaction scored only by them could not
    be measured without them and is left out of both; ``n_interactions`` says
    how many remain).  Each interaction's QCI is the mean over its raters.
    """
    from .scoring import score

    raters = [raters] if isinstance(raters, str) else list(raters)
    scored = score(scores, rubric, inventory)
    others = scored[~scored["rater"].isin(raters)]
    same = set(others["interaction_id"])
    rows = []
    for label, keep in (("all raters", scored), (f"without {', '.join(raters)}", others)):
        per = keep[keep["interaction_id"].isin(same)].groupby("interaction_id")["qci"].mean()
        rows.append({"scores": label, "n_interactions": len(per), "mean_qci": float(per.mean())})
    out = pd.DataFrame(rows)
    out["change"] = out["mean_qci"] - out["mean_qci"].iloc[0]
    return out
