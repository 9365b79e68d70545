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

from ._dist import t_ppf, t_sf
from ._frame import filter_rows, in_wave, isin
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
    if strata is None:
        h, labels = np.zeros(len(y), dtype=np.int64), None
    else:
        h, labels = pd.factorize(np.asarray(strata), sort=True)
    f = np.ones(len(y)) if fpc is None else np.asarray(fpc, dtype=float)
    # Each stratum's size N_h = n_h / (1 - f_h), from all its rows (before values left empty are dropped):
    # the FPC was computed from those rows, and a merged group's FPC needs its strata's sizes.
    rows_h = np.bincount(h, minlength=len(labels) if labels is not None else 1).astype(float)
    f_h = np.divide(np.bincount(h, weights=f, minlength=len(rows_h)), rows_h, out=np.ones(len(rows_h)), where=rows_h > 0)
    keep = ~np.isnan(y) & ~np.isnan(w)
    y, w, d, h = y[keep], w[keep], d[keep], h[keep]
    n = int(d.sum())
    empty = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": n, "df": np.nan}
    if n == 0:
        return empty
    if (w <= 0).any():
        raise MetricsError("design weights must be greater than 0. Fix: redraw the sample with `qcikit sample`.")
    wd = w * d
    mean = float(np.sum(wd * y) / np.sum(wd))
    if n < 2:
        return {**empty, "estimate": mean}
    z = wd * (y - mean) / np.sum(wd)
    var, groups = _design_variance(z, h, rows_h, f_h, labels)
    se = float(np.sqrt(var))
    df = max(len(y) - groups, 1)
    t = t_ppf(0.5 + confidence / 2, df)
    return {"estimate": mean, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se, "n": n, "df": float(df)}


def _design_variance(z: np.ndarray, h: np.ndarray, rows_h: np.ndarray, f_h: np.ndarray, labels=None) -> tuple[float, int]:
    """The stratified with-FPC variance of a total of linearized values ``z`` (one per sampled unit, already
    multiplied by its design weight): :math:`\sum_h (1 - f_h) \frac{n_h}{n_h - 1} \sum_{i \in h} (z_i - \bar z_h)^2`,
    over the variance groups of :func:`_variance_groups`. Returns the variance and the number of groups
    that hold a unit (the design degrees of freedom are n minus that)."""
    g, f_g = _variance_groups(h, rows_h, f_h, labels)
    n_g = np.bincount(g, minlength=len(f_g))
    # Merged strata leave empty codes behind (n_g = 0): they contribute nothing.
    z_bar = np.divide(np.bincount(g, weights=z, minlength=len(f_g)), n_g, out=np.zeros(len(n_g)), where=n_g > 0)
    ss = np.bincount(g, weights=(z - z_bar[g]) ** 2, minlength=len(f_g))
    multi = n_g > 1  # a group of one is a census stratum (no variance) or the only unit there is
    return float(np.sum(f_g[multi] * n_g[multi] / (n_g[multi] - 1) * ss[multi])), int((n_g > 0).sum())


def _variance_groups(h: np.ndarray, rows_h: np.ndarray, f_h: np.ndarray, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Variance groups of the strata: each stratum alone, except single-interaction strata, which are
    collapsed (Wolter 2007, §2.5; Lohr 2019, §7.5.1). Returns each unit's group and each group's FPC.

    - A census stratum (FPC 0: every interaction of it sampled) adds no variance, so it is never
      collapsed and never absorbs another stratum's variance.
    - The other single-interaction strata are paired with each other in label order (an odd one out
      joins the last pair); a lone one joins its neighbour in label order (the next, else the previous)
      among the strata that are not a census.
    - A group's FPC is :math:`1 - n_g/N_g` from its own totals, :math:`N_h = n_h / (1 - f_h)`, never
      one row's value, so the result does not depend on the order of the rows.

    Collapsing is slightly conservative (it adds the between-strata spread of the group); a warning
    names the strata merged.
    """
    n_h = np.bincount(h, minlength=len(rows_h))
    with np.errstate(divide="ignore"):
        N_h = np.where(f_h < 1, rows_h / np.maximum(1 - f_h, 0), np.inf)
    census = (f_h <= 0) & (n_h > 0)
    single = np.flatnonzero((n_h == 1) & ~census)
    group = np.arange(len(n_h))
    if len(single) >= 2:
        for i in range(0, len(single) - len(single) % 2, 2):
            group[single[i + 1]] = single[i]
        if len(single) % 2:
            group[single[-1]] = single[-3]
    elif len(single) == 1:
        k = single[0]
        others = np.flatnonzero((n_h > 0) & ~census)
        others = others[others != k]
        if len(others) == 0:
            others = np.flatnonzero(n_h > 0)
            others = others[others != k]
        if len(others):
            later = others[others > k]
            group[k] = later[0] if len(later) else others[-1]
    merged = np.flatnonzero(group != np.arange(len(n_h)))
    if len(merged):
        import warnings

        from .errors import CollapsedStrataWarning

        names = [str(labels[k]) if labels is not None else str(k) for k in sorted(set(single))]
        warnings.warn(f"{len(single)} sampling stratum/strata held a single interaction ({', '.join(names[:6])}"
                      f"{'…' if len(names) > 6 else ''}) and were collapsed into groups of at least two for the "
                      "variance.", CollapsedStrataWarning, stacklevel=4)
    n_g = np.bincount(group, weights=rows_h, minlength=len(n_h))
    N_g = np.bincount(group, weights=np.where(rows_h > 0, N_h, 0.0), minlength=len(n_h))
    with np.errstate(invalid="ignore", divide="ignore"):
        f_g = np.where(np.isfinite(N_g) & (N_g > 0), 1 - n_g / N_g, 1.0)
    return group[h], np.clip(f_g, 0.0, 1.0)


def compare(before: dict, after: dict, confidence: float = 0.95, comparisons: int = 1) -> dict:
    """``after − before`` for two independent design-based estimates: one estimate, one test, one interval.

    The two estimates come from disjoint strata (two waves, or the client's sample
    and a competitor's shops), so the variance of the difference is the sum of
    their variances; its degrees of freedom are Welch–Satterthwaite's on each
    estimate's design degrees of freedom (n − H):

    .. math:: \nu = \frac{(v_a + v_b)^2}{v_a^2/\nu_a + v_b^2/\nu_b}, \qquad
              t = \frac{\hat\theta_b - \hat\theta_a}{\sqrt{v_a + v_b}}

    (Satterthwaite 1946; Lohr 2019, §3.4 and §9.5). With ``comparisons = m`` the
    test and the interval are Bonferroni-adjusted together: ``p_adj = min(1, m·p)``
    and the interval has level 1 − (1 − confidence)/m, so ``significant`` (the
    interval excludes 0) holds exactly when ``p_adj < 1 − confidence``.

    With one stratum, equal weights and no finite population correction this is
    Welch's t-test (checked against scipy in the tests).

    Examples
    --------
    >>> a = weighted_mean_ci([60, 62, 58, 61])
    >>> b = weighted_mean_ci([70, 69, 73, 71])
    >>> r = compare(a, b)
    >>> round(r["change"], 2), r["significant"]
    (10.5, True)
    """
    diff = after["estimate"] - before["estimate"]
    va, vb = before["se"] ** 2, after["se"] ** 2
    out = {"change": diff, "se": np.nan, "df": np.nan, "t": np.nan, "p": np.nan, "p_adj": np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "significant": False}
    if not (np.isfinite(va) and np.isfinite(vb) and np.isfinite(diff)) or va + vb <= 0:
        return out  # too few interactions (or shops) on one side: no interval, never a certain change
    se = float(np.sqrt(va + vb))
    df = (va + vb) ** 2 / (va ** 2 / before["df"] + vb ** 2 / after["df"])
    t = diff / se
    p = float(2 * t_sf(abs(t), df))
    q = t_ppf(1 - (1 - confidence) / (2 * comparisons), df)
    lo, hi = diff - q * se, diff + q * se
    return {**out, "se": se, "df": float(df), "t": float(t), "p": p, "p_adj": min(1.0, comparisons * p),
            "ci_low": lo, "ci_high": hi, "significant": bool(lo > 0 or hi < 0)}


def _strata_codes(sample: np.ndarray, population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sampled and each population interaction's stratum as a code into the sorted labels of both, as
    ``np.unique(..., return_inverse=True)`` of the two together gives them. A categorical population is coded
    through its few categories; other labels are hashed (half a million sorted took 0.35 s)."""
    population = population.array if isinstance(population, pd.Series) else population
    if isinstance(population, pd.Categorical):
        used = np.bincount(population.codes[population.codes >= 0], minlength=len(population.categories)) > 0
        names = np.asarray(population.categories.astype(str), dtype=object).astype(str)
        labels = np.unique(np.concatenate([names[used], sample]))
        # A missing label reads "nan", as NumPy's astype(str) of a missing value does.
        if (population.codes < 0).any():
            labels = np.unique(np.append(labels, "nan"))
            names = np.append(names, "nan")
        return np.searchsorted(labels, sample), np.searchsorted(labels, names)[population.codes], labels
    p_str = np.asarray(population).astype(str)
    codes, labels = pd.factorize(np.concatenate([sample, p_str]), sort=True)
    return codes[: len(sample)], codes[len(sample):], np.asarray(labels).astype(str)


def assisted_mean_ci(y, y_hat, strata, population_y_hat, population_strata, lam: float | str = "tuned",
                     confidence: float = 0.95, fpc: bool = True, tune_min: int = SMALL_CELL) -> dict:
    """Model-assisted mean: human scores on a stratified sample corrected by machine scores on every unit.

    In each stratum *h* of *N_h* interactions, *n_h* of them human-scored, the machine's total over the
    whole stratum is corrected by the human-minus-machine residuals of the sample (the difference
    estimator, Cochran 1977 §7.2; its tuned form is the GREG estimator of Särndal, Swensson & Wretman
    1992 §6.4, rediscovered as PPI++ by Angelopoulos, Duchi & Zrnic 2023):

    .. math:: \hat T_h = \lambda_h \sum_{U_h} \hat y + \frac{N_h}{n_h} \sum_{s_h} (y - \lambda_h \hat y),
              \qquad \hat{\bar Y} = \frac{\sum_h \hat T_h}{\sum_h \hat A_h}

    where :math:`\hat A_h` is the same estimator of the number of interactions the measure applies to
    (empty values are "not applicable"; for the QCI every interaction counts and :math:`\hat A_h = N_h`).
    Its variance is the stratified design variance of the linearized residuals
    :math:`e = [(y - \lambda \hat y) - \hat{\bar Y}(a - \lambda \hat a)] / \hat A` with the finite population
    correction, and the interval is t on the design's degrees of freedom less one per tuned λ (the kit's
    convention; see the module docstring). The machine's scores of the population are a census: they add
    no variance, whatever their quality. A machine that is wrong makes the residuals wide, never the
    estimate biased.

    Parameters
    ----------
    y, y_hat : array-like
        Human score (mean over raters) and machine score of each human-scored interaction; NaN = not
        applicable.
    strata : array-like
        The sampling stratum of each human-scored interaction.
    population_y_hat, population_strata : array-like
        The machine score and stratum of every interaction of the population (the sampled ones included). The
        strata may be a pandas Categorical: a population of a million is then coded through its categories.
    lam : "tuned", "difference", "human" or a number
        λ = 0 ("human") is the human-only estimate, λ = 1 ("difference") the plain difference estimator.
        "tuned" takes per stratum the λ that minimizes the variance, :math:`\lambda_h = \widehat{Cov}(e_0,
        \hat e_0) / \widehat{Var}(\hat e_0)`, clipped to [0, 1]; a stratum with fewer than ``tune_min``
        human scores shares one λ with the other small strata (their variance-weighted pooled coefficient),
        so a noisy λ from a handful of points does not cost coverage.
    fpc : bool
        True (design-based): the population is the finite set of the client's interactions. False: it is
        itself a sample from a larger one, and the machine's mean over it adds :math:`\lambda^2 S^2_{\hat y}/N`
        (this is prediction-powered inference; with one stratum and λ fixed it equals ``ppi_py.ppi_mean_ci``
        up to that library's ddof = 0 and normal quantile).

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``, ``N``; the human-only ``human_estimate``,
        ``human_se``, ``human_ci_low``, ``human_ci_high``, ``human_df``; ``n_effective`` (n × human-only
        variance ÷ assisted variance, the usual effective sample size, which ignores the FPC and can pass N),
        ``n_equivalent`` (the number of human-scored interactions that would give the same variance under the
        same design, FPC included: at most N) and
        ``strata``, a DataFrame per stratum: ``N``, ``n``, ``lam``, ``tuned`` (own λ or pooled), ``r`` (the
        correlation of human and machine scores) and ``n_effective`` (n_h × the residual variance without the
        machine ÷ with it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(70, 15, 2000); machine = truth + rng.normal(0, 5, 2000)
    >>> s = rng.choice(2000, 100, replace=False)
    >>> r = assisted_mean_ci(truth[s], machine[s], np.zeros(100), machine, np.zeros(2000))
    >>> r["n_effective"] > 5 * r["n"]
    True
    """
    y, yh = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)
    pop = np.asarray(population_y_hat, dtype=float)
    s_str = np.asarray(strata).astype(str)
    if not (len(y) == len(yh) == len(s_str)) or len(pop) != len(population_strata):
        raise MetricsError("human scores, machine scores and strata must have one value per interaction. "
                           "Fix: pass arrays of equal length.")
    h, hp, labels = _strata_codes(s_str, population_strata)
    H = len(labels)
    n_h = np.bincount(h, minlength=H).astype(float)
    N_h = np.bincount(hp, minlength=H).astype(float)
    over = np.flatnonzero(n_h > N_h)
    if len(over):
        k = over[0]
        raise MetricsError(f"stratum '{labels[k]}' has {int(n_h[k])} human-scored interactions but {int(N_h[k])} in the "
                           "population the machine scored. Fix: give the machine scores of every interaction of the "
                           "population, sampled ones included.")
    if isinstance(lam, str) and lam not in ("tuned", "difference", "human"):
        raise MetricsError(f"lam '{lam}' is not one of tuned, difference, human or a number. Fix: pick one.")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_h > 0, N_h / n_h, 0.0)[h]
        fpc_h = np.clip(1 - n_h / N_h, 0, 1) if fpc else np.ones(H)
    fpc_h = np.where(N_h > 0, fpc_h, 1.0)
    # Numerator and denominator of the ratio, for the sample (human, machine) and the population (machine).
    z1, z2 = np.nan_to_num(y), np.isfinite(y).astype(float)
    m1, m2 = np.nan_to_num(yh), np.isfinite(yh).astype(float)
    p1, p2 = np.nan_to_num(pop), np.isfinite(pop).astype(float)
    X1, X2 = np.bincount(hp, weights=p1, minlength=H), np.bincount(hp, weights=p2, minlength=H)

    def fit(lam_h: np.ndarray, tuned: int) -> dict:
        r1, r2 = z1 - lam_h[h] * m1, z2 - lam_h[h] * m2
        t1, t2 = np.sum(lam_h * X1) + np.sum(w * r1), np.sum(lam_h * X2) + np.sum(w * r2)
        if not t2 > 0:
            return {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "df": np.nan}
        ratio = t1 / t2
        var, groups = _design_variance(w * (r1 - ratio * r2) / t2, h, n_h, fpc_h, labels)
        if not fpc:  # the machine's population mean is itself an estimate (see fpc above)
            u = p1 - ratio * p2
            s2 = np.nan_to_num(_within_cov(u, u, hp, H))  # a stratum of one machine score adds nothing
            var += float(np.sum(lam_h**2 * N_h * s2)) / t2**2
        df = max(len(y) - groups - tuned, 1)
        se = float(np.sqrt(var))
        t = t_ppf(0.5 + confidence / 2, df)
        return {"estimate": float(ratio), "se": se, "ci_low": ratio - t * se, "ci_high": ratio + t * se, "df": float(df)}

    human = fit(np.zeros(H), 0)
    own = np.zeros(H, dtype=bool)
    if lam == "tuned":
        lam_h, own, pooled = _tuned_lambda(human["estimate"], z1, z2, m1, m2, h, n_h, N_h, fpc_h, fpc, tune_min)
        tuned = int(own.sum()) + int(pooled)
    else:
        value = {"human": 0.0, "difference": 1.0}.get(lam, lam)
        lam_h, tuned = np.full(H, float(value)), 0
    est = fit(lam_h, tuned)
    both = np.isfinite(y) & np.isfinite(yh)
    r = [_corr(y[both & (h == k)], yh[both & (h == k)]) for k in range(H)]
    # Per stratum, what the machine is worth: n_h × the residuals' variance without it ÷ with it.
    ratio0, ratio1 = human["estimate"], est["estimate"]
    r0 = z1 - ratio0 * z2
    r1 = (z1 - lam_h[h] * m1) - ratio1 * (z2 - lam_h[h] * m2)
    v0, v1 = _within_cov(r0, r0, h, H), _within_cov(r1, r1, h, H)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff_h = np.where(v1 > 0, n_h * v0 / v1, np.nan)
    table = pd.DataFrame({"stratum": labels, "N": N_h.astype(int), "n": n_h.astype(int), "lam": lam_h,
                          "tuned": np.where(own, "own", np.where(n_h > 0, "pooled", "")) if lam == "tuned" else "fixed",
                          "r": r, "n_effective": n_eff_h})
    n = int(np.isfinite(y).sum())
    ratio = human["se"] ** 2 / est["se"] ** 2 if est["se"] > 0 else np.nan
    # The same precision from raters alone under the same design: the per-interaction variance the human
    # design implies, S² = V_h n / (1 − n/N), and the n' with (1 − n'/N) S² / n' = V_assisted.
    N, f = float(N_h.sum()), (n / float(N_h.sum()) if fpc and N_h.sum() > 0 else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = human["se"] ** 2 * n / (1 - f) if f < 1 else np.nan
        equivalent = 1 / (est["se"] ** 2 / s2 + (1 / N if fpc else 0.0)) if s2 > 0 else np.nan
    return {**est, "n": n, "N": int(N), **{f"human_{k}": v for k, v in human.items()},
            "n_effective": float(n * ratio), "n_equivalent": float(equivalent), "strata": table}


def _within_cov(x: np.ndarray, y: np.ndarray, h: np.ndarray, H: int) -> np.ndarray:
    """The sample covariance (ddof 1) of ``x`` and ``y`` within each stratum code 0..H-1 (their variance when
    ``y`` is ``x``); NaN in a stratum with fewer than two values."""
    n = np.bincount(h, minlength=H).astype(float)
    mx = np.bincount(h, weights=x, minlength=H) / np.maximum(n, 1)
    my = np.bincount(h, weights=y, minlength=H) / np.maximum(n, 1)
    ss = np.bincount(h, weights=(x - mx[h]) * (y - my[h]), minlength=H)
    return np.where(n > 1, ss / np.maximum(n - 1, 1), np.nan)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r, NaN with fewer than three pairs or no spread (nothing to correlate)."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def _tuned_lambda(ratio, z1, z2, m1, m2, h, n_h, N_h, fpc_h, fpc, tune_min):
    """Per stratum the λ that minimizes the assisted variance, from the linearized human and machine values
    :math:`e_0 = z_1 - \hat R z_2`, :math:`\hat e_0 = m_1 - \hat R m_2`: :math:`\lambda_h = C_h / (k_h V_h)`
    (covariance over machine variance; :math:`k_h = 1 + n_h/N_h` without the FPC, as in PPI++, else 1).
    Strata with fewer than ``tune_min`` human scores share the λ minimizing their summed variance,
    :math:`\sum a_h C_h / \sum a_h k_h V_h` with :math:`a_h = N_h^2 f_h / n_h`. Clipped to [0, 1].

    Returns (λ per stratum, which strata have their own λ, whether a pooled λ was used)."""
    H = len(n_h)
    e, eh = z1 - ratio * z2, m1 - ratio * m2
    if not np.isfinite(ratio):
        return np.zeros(H), np.zeros(H, dtype=bool), False
    C, V = _within_cov(e, eh, h, H), _within_cov(eh, eh, h, H)
    k = 1 + n_h / np.maximum(N_h, 1) if not fpc else np.ones(H)
    own = (n_h >= tune_min) & (V > 0)
    lam = np.zeros(H)
    lam[own] = C[own] / (k[own] * V[own])
    small = ~own & (n_h >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(n_h > 0, N_h**2 * fpc_h / np.maximum(n_h, 1), 0.0)
    pooled = bool(small.any() and np.sum(a[small] * k[small] * V[small]) > 0)
    if pooled:
        lam[small] = np.sum(a[small] * C[small]) / np.sum(a[small] * k[small] * V[small])
    return np.clip(lam, 0.0, 1.0), own, pooled


def weighted_sd(values, weights=None) -> float:
    """Design-weighted standard deviation :math:`\sqrt{\sum w (y - \bar y_w)^2 / \sum w}` (NaN values left out)."""
    y = np.asarray(values, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(w)
    y, w = y[keep], w[keep]
    if len(y) < 2:
        return np.nan
    m = np.average(y, weights=w)
    return float(np.sqrt(np.average((y - m) ** 2, weights=w)))


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
    pop = eng.interactions
    keep = [c for c in ("wave", "team", "touchpoint", "agent_id", "effort", "started_at") if c in pop]
    # The scored interactions' rows of the population alone: a join against a million-row index would hash it.
    info = filter_rows(pop, isin(pop["interaction_id"], pd.Series(per.index.astype(str))), ["interaction_id", *keep])
    per = per.join(info.set_index("interaction_id"))
    if eng.inventory is not None and "scenario" in eng.inventory:
        per = per.join(eng.inventory.set_index("interaction_id")["scenario"])
    if eng.sample is not None:
        per = per.join(eng.sample.set_index("interaction_id")[["stratum"]])
        # Sampled interactions not scored yet are nonresponse within their stratum: the scored ones
        # stand for the whole stratum (weight N_h / m_h) and the FPC counts what was scored (1 - m_h / N_h).
        # Weights from the number *sampled* would leave the stratum short of its size and the SE too small.
        resp = _response(eng.sample, per.index).set_index("stratum")
        per["weight"] = per["stratum"].map(resp["N"] / resp["scored"])
        per["fpc"] = per["stratum"].map(1 - resp["scored"] / resp["N"])
    else:
        per["weight"], per["stratum"], per["fpc"] = 1.0, "all", 1.0
    per["weight"] = per["weight"].fillna(1.0)
    per["stratum"] = per["stratum"].fillna("unsampled")
    per["fpc"] = per["fpc"].fillna(1.0)
    return per.reset_index()


def _response(sample: pd.DataFrame, scored_ids) -> pd.DataFrame:
    """Per stratum of sample.csv: its size ``N`` (the sum of its design weights), the interactions
    ``sampled`` and those ``scored`` (any score in the store)."""
    s = sample.assign(scored=sample["interaction_id"].isin(pd.Index(scored_ids)))
    out = s.groupby("stratum", sort=True).agg(N=("weight", "sum"), sampled=("interaction_id", "size"),
                                              scored=("scored", "sum"))
    return out.reset_index()


def scoring_progress(eng, wave: str | None = None) -> pd.DataFrame:
    """How much of each stratum's sample is scored: ``stratum``, ``N`` (interactions), ``sampled``,
    ``scored`` and ``share`` (scored ÷ sampled), for ``wave`` (default: every wave).

    ``attrs`` holds the totals (``sampled``, ``scored``). Estimates treat the unscored part of a
    stratum as nonresponse (see :func:`interaction_table`); engagement.yaml's ``min_scored_share``
    refuses a report while any stratum is below it (:func:`check_scored_share`).

    Examples
    --------
    >>> import qcikit
    >>> eng = qcikit.Engagement.load("data/samples/northwind")  # doctest: +SKIP
    >>> scoring_progress(eng, "2026-Q3").attrs["scored"]  # doctest: +SKIP
    287
    """
    if eng.sample is None:
        raise MetricsError(f"{eng.path}: sample.csv is missing, so there is no sample to score. Fix: run `qcikit sample`.")
    sample = eng.sample
    if wave is not None and "wave" in eng.interactions:
        pop = eng.interactions
        ids = pop["interaction_id"][in_wave(pop, wave)]
        sample = sample[isin(sample["interaction_id"], ids)]
    out = _response(sample, eng.scores["interaction_id"].unique())
    out["share"] = out["scored"] / out["sampled"]
    out.attrs.update(sampled=int(out["sampled"].sum()), scored=int(out["scored"].sum()))
    return out


def check_scored_share(eng, wave: str) -> None:
    """Refuse (``MetricsError``) while a stratum of ``wave`` has less than engagement.yaml's
    ``min_scored_share`` of its sample scored; a no-op when the key is 0 (the default)."""
    need = float(getattr(eng.config, "min_scored_share", 0.0) or 0.0)
    if need <= 0 or eng.sample is None:
        return
    prog = scoring_progress(eng, wave)
    short = prog[prog["share"] < need]
    if len(short):
        first = short.iloc[0]
        raise MetricsError(f"{eng.path}: wave '{wave}': {len(short)} stratum/strata are scored below "
                           f"min_scored_share {100 * need:g} % in engagement.yaml (first: '{first['stratum']}', "
                           f"{int(first['scored'])} of {int(first['sampled'])} sampled interactions scored). "
                           "Fix: score the rest of the sample, or lower min_scored_share to report mid-wave.")


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
    out = pd.DataFrame(rows).drop(columns="df", errors="ignore")
    if bounds is not None and len(out):
        out["ci_low"] = out["ci_low"].clip(lower=bounds[0])
        out["ci_high"] = out["ci_high"].clip(upper=bounds[1])
    out["small"] = out["n"] < SMALL_CELL
    return out


def trend(eng, confidence: float | None = None) -> pd.DataFrame:
    """The QCI of every scored wave, in engagement.yaml's order: one design-based estimate per wave.

    Each wave is its own sample (its own strata and weights), so each row is
    :func:`weighted_mean_ci` on that wave's interactions alone, never a domain of
    a pooled table.  Returns ``wave``, ``n``, ``estimate``, ``ci_low``, ``ci_high``.
    """
    confidence = eng.config.confidence if confidence is None else confidence
    inter = interaction_table(eng)
    rows = []
    for w in eng.config.waves:
        part = inter[inter["wave"] == w]
        if len(part):
            r = weighted_mean_ci(part["qci"], part["weight"], confidence, part["stratum"], fpc=part["fpc"])
            rows.append({"wave": w, "n": r["n"], "estimate": r["estimate"],
                         "ci_low": max(r["ci_low"], 0.0), "ci_high": min(r["ci_high"], 100.0)})
    out = pd.DataFrame(rows, columns=["wave", "n", "estimate", "ci_low", "ci_high"])
    out.attrs["confidence"] = confidence
    return out


def scored_waves(eng) -> list[str]:
    """engagement.yaml's waves that have scores, in its order."""
    inter = interaction_table(eng)
    return [w for w in eng.config.waves if (inter["wave"] == w).any()]


def previous_wave(eng, wave: str | None = None) -> tuple[str, str]:
    """(the wave before ``wave``, ``wave``) among the waves that have scores; ``wave`` defaults to the latest.

    Raises :class:`MetricsError` when ``wave`` is the first scored wave (there is nothing to compare with).
    """
    present = scored_waves(eng)
    if wave is None:
        if len(present) < 2:
            raise MetricsError(f"{eng.path}: scores cover {len(present)} wave(s); a change needs two. "
                               "Fix: score the next wave's sample, or read the single-wave summary.")
        wave = present[-1]
    if wave not in eng.config.waves:
        raise MetricsError(f"{eng.path}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
    earlier = [w for w in present if eng.config.waves.index(w) < eng.config.waves.index(wave)]
    if wave not in present or not earlier:
        raise MetricsError(f"{eng.path}: wave '{wave}' has no earlier scored wave to compare with; a change needs two. "
                           "Fix: report the wave on its own, or pick a later wave.")
    return earlier[-1], wave


def wave_change(eng, wave: str | None = None, confidence: float | None = None) -> pd.DataFrame:
    """Change from the wave before ``wave`` to ``wave`` in QCI, each dimension and each element.

    Every row is one design-based comparison (:func:`compare`): the two waves'
    design-weighted means with their stratified Taylor-linearized standard errors,
    the difference, a t test on Welch–Satterthwaite degrees of freedom and the
    interval, all from the same estimate. Multiplicity is handled by Bonferroni
    within each family — the elements, the dimensions; the headline QCI is its own
    family — applied to the test *and* the interval alike, so ``significant`` is
    true exactly when the reported interval excludes 0. (Holm's method is more
    powerful but has no interval that agrees with it row by row.)

    Parameters
    ----------
    eng : Engagement
    wave : str, optional
        The wave to report (default: the latest scored wave); it is compared with the
        scored wave before it.
    confidence : float, optional
        Default: engagement.yaml's ``confidence``.
    """
    before, after = previous_wave(eng, wave)
    confidence = eng.config.confidence if confidence is None else confidence
    inter = interaction_table(eng)
    measures = [("QCI", "overall", inter, "qci")]
    measures += [(d, "dimension", inter, d) for d in eng.rubric.dimensions]
    el = element_table(eng)
    for e in eng.rubric.element_ids:
        measures.append((e, "element", el[el["element"] == e], "score"))
    family = {"overall": 1, "dimension": len(eng.rubric.dimensions), "element": len(eng.rubric.element_ids)}
    rows = []
    for name, kind, table, col in measures:
        a = table[table["wave"] == before]
        b = table[table["wave"] == after]
        ra = weighted_mean_ci(a[col], a["weight"], confidence, a["stratum"], fpc=a["fpc"])
        rb = weighted_mean_ci(b[col], b["weight"], confidence, b["stratum"], fpc=b["fpc"])
        c = compare(ra, rb, confidence, family[kind])
        rows.append({"measure": name, "kind": kind, "before": ra["estimate"], "after": rb["estimate"], **c,
                     "n_before": ra["n"], "n_after": rb["n"], "comparisons": family[kind]})
    out = pd.DataFrame(rows)
    names = eng.rubric.elements["name"]
    out.insert(1, "name", [names.get(m, m) for m in out["measure"]])
    out.attrs.update(before=before, after=after, confidence=confidence, adjustment="bonferroni")
    return out


def qci_estimate(eng, wave: str | None = None, assisted=None, measure: str = "qci",
                 confidence: float | None = None, team: str | None = None) -> pd.DataFrame:
    """The wave's design-based QCI (or a dimension, or an element) with its interval; with ``assisted``, the
    model-assisted estimate that corrects a machine's scores of every interaction by the human-scored sample.

    Parameters
    ----------
    wave : str, optional
        Default: the latest wave with scores.
    assisted : str or DataFrame, optional
        An auto-scorer whose scores the engagement holds (``qcikit autoscore``), or a run not kept yet (what
        ``qcikit.assist.autoscore`` returns). None: human scores only.
    measure : str
        ``"qci"``, a dimension's name or an element id (its score 0–100, over the interactions it applies to).
    team : str, optional
        A team's interactions only (a domain of the wave: the whole sample still counts for the variance).

    Returns
    -------
    DataFrame
        One row: ``wave``, ``measure``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n`` (human-scored
        interactions), ``N`` (the wave's population); with a scorer also ``scorer``, ``version``, the human-only
        ``human_estimate``, ``human_se``, ``human_ci_low``, ``human_ci_high`` and ``n_effective``. ``attrs["strata"]``
        holds λ, the machine–human correlation and N, n per stratum (:func:`assisted_mean_ci`).

    Examples
    --------
    >>> import qcikit
    >>> eng = qcikit.Engagement.load("data/samples/northwind")  # doctest: +SKIP
    >>> qci_estimate(eng, "2026-Q3", assisted="rules")[["estimate", "human_estimate", "n_effective"]]  # doctest: +SKIP
    """
    conf = confidence or eng.config.confidence
    inter = interaction_table(eng)
    if wave is None:
        present = scored_waves(eng)
        if not present:
            raise MetricsError(f"{eng.path}: no wave has scores yet. Fix: score the sample first.")
        wave = present[-1]
    if wave not in eng.config.waves:
        raise MetricsError(f"{eng.path}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
    elements = list(eng.rubric.element_ids)
    if measure != "qci" and measure not in eng.rubric.dimensions and measure not in elements:
        raise MetricsError(f"measure '{measure}' is neither qci, a dimension nor an element of the rubric. Fix: use qci, "
                           f"{', '.join(eng.rubric.dimensions)} or an element id.")
    if measure in elements:
        el = element_table(eng)
        el = el[el["element"] == measure].set_index("interaction_id")
        table = inter.set_index("interaction_id")[["wave", "team", "weight", "stratum", "fpc"]].assign(value=el["score"])
    else:
        table = inter.set_index("interaction_id").assign(value=lambda t: t[measure])
    table = table[table["wave"] == wave]
    if table.empty:
        raise MetricsError(f"{eng.path}: wave '{wave}' has no scored interactions. Fix: score its sample first.")
    domain = None if team is None else (table["team"] == team).to_numpy()
    row = {"wave": wave, "measure": measure}
    if assisted is None:
        r = weighted_mean_ci(table["value"], table["weight"], conf, table["stratum"], domain, table["fpc"])
        N = int(round(table["weight"].sum()))  # each scored interaction stands for N_h / m_h of its stratum
        return pd.DataFrame([{**row, **r, "N": N}])
    from . import assist

    if eng.sample is None:
        raise MetricsError(f"{eng.path}: the assisted estimate corrects the machine by a random sample of human scores, "
                           "and there is no sample.csv. Fix: draw it with `qcikit sample`, then score it.")
    machine = assist.kept_machine_table(eng, assisted, wave)  # read here, never changed
    frozen = machine.attrs["frozen"]
    assist.check_frozen(eng, frozen, wave)
    col = f"el:{measure}" if measure in elements else measure
    name = str(frozen["scorer"].iloc[0])
    if col not in machine:
        raise MetricsError(f"{eng.path}: scorer '{name}' scores no '{measure}'. Fix: pick a measure it scores, or "
                           "give its rules patterns.")
    pop_strata, pop_team = _wave_population(eng, wave)
    missing = machine[col].index[machine["qci"].isna().to_numpy()]
    if len(missing):
        raise MetricsError(f"{eng.path}: scorer '{name}' has not scored {len(missing)} of wave '{wave}''s "
                           f"{len(pop_strata)} interactions (first: '{missing[0]}'). Fix: run `qcikit autoscore {eng.path} "
                           f"--scorer {name} --wave {wave}`.")
    strata_col = eng.config.strata
    unknown = set(table["stratum"]) - set(pop_strata.categories)  # the few strata, not half a million strings
    if unknown:
        raise MetricsError(f"{eng.path}: sample.csv's stratum '{sorted(unknown)[0]}' is not one of wave '{wave}''s "
                           f"{strata_col or 'strata'} in the population. Fix: redraw the sample with `qcikit sample --force`.")
    # The machine's table holds the wave's interactions in the population's order (machine_table reindexes it
    # so), the order of _wave_population: its column is the population's values as they stand.
    pop_value = machine[col].to_numpy(dtype=float)
    y_hat = machine[col].reindex(table.index.astype(str)).to_numpy(dtype=float)
    y = table["value"].to_numpy(dtype=float)
    if domain is not None:
        # A team is a domain: outside it both the human and the machine value count as "does not apply".
        in_team = pop_team == team
        y, y_hat, pop_value = np.where(domain, y, np.nan), np.where(domain, y_hat, np.nan), np.where(in_team, pop_value, np.nan)
    r = assisted_mean_ci(y, y_hat, table["stratum"].to_numpy(), pop_value, pop_strata, confidence=conf)
    strata = r.pop("strata")
    out = pd.DataFrame([{**row, **r, "scorer": str(frozen["scorer"].iloc[0]), "version": str(frozen["version"].iloc[0])}])
    out.attrs["strata"] = strata
    return out


def _wave_population(eng, wave: str) -> tuple[pd.Categorical, np.ndarray | None]:
    """The wave's interactions in the population's order: each one's sampling stratum ("<wave> / <level>", as
    sample.csv names them) as a categorical, and its team (None without a team column). Kept on the engagement
    while its population is the same: an assisted report asks for them once per measure, and half a million
    labels cost a second each time."""
    cache = eng.__dict__.setdefault("_wave_population", {})
    everyone = eng.interactions
    key = (wave, id(everyone))
    if key not in cache or cache[key][0] is not everyone:
        strata_col = eng.config.strata
        used = [c for c in (strata_col, "team") if c and c in everyone]
        mask = in_wave(everyone, wave)
        pop = filter_rows(everyone, mask, used) if used else None
        if strata_col:
            codes, levels = pd.factorize(pop[strata_col].astype(str), use_na_sentinel=False)
            strata = pd.Categorical.from_codes(codes, [f"{wave} / {level}" for level in levels])
        else:
            strata = pd.Categorical.from_codes(np.zeros(int(mask.sum()), dtype=np.int8), [f"{wave} / all"])
        team = pop["team"].to_numpy() if pop is not None and "team" in pop else None
        cache[key] = (everyone, (strata, team))
    return cache[key][1]


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
    # The answered rows' effort (and grouping column) alone: the population's rows hold every transcript.
    data = filter_rows(inter, inter["effort"].notna().to_numpy(), ["effort", *([by] if by and by in inter else [])])
    groups = [("all", data)] if by is None else data.groupby(by, sort=True)
    rows = []
    for key, part in groups:
        r = weighted_mean_ci(part["effort"], None, confidence)
        k = float((part["effort"] <= LOW_EFFORT_MAX).sum())
        lo, hi = (float(x) for x in wilson_interval(k / len(part), len(part), confidence))
        rows.append({by or "group": key, "n": len(part), "mean_effort": r["estimate"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "low_effort_share": k / len(part), "share_low": lo, "share_high": hi})
    return pd.DataFrame(rows)


def competitive_edge(eng, wave: str | None = None, confidence: float | None = None) -> pd.DataFrame:
    """The client against each competitor's mystery shops of the same wave, on the same rubric.

    One row per competitor and measure (``QCI`` and every element, 0–100): the
    client's design-weighted mean in ``wave`` (default: the latest), the
    competitor's mean over its shops, and the edge (client − competitor) from
    :func:`compare` — one estimate, test and interval, Welch–Satterthwaite
    degrees of freedom, Bonferroni over the elements of each competitor (the QCI
    is its own family). A competitor with fewer than 2 shops has no interval and
    ``note`` says "not enough shops": never a certain edge.

    Shops are those of ``wave`` when mystery_shops.csv has a ``wave`` column (else
    all shops); when no shop has that wave, the latest earlier wave with shops is
    used and named in ``attrs["shops_wave"]``. A competitor of engagement.yaml with
    no shops in that wave keeps one ``QCI`` row without numbers whose ``note`` says
    "no shops since <its latest wave>" (or "no shops yet"): it never silently vanishes.

    Both sides are scored with the rubric's *base* weights: shops are not classified
    into scenarios, so the client's scenario weights would compare unlike with unlike.
    The client's QCI here can therefore differ slightly from the headline QCI, which
    uses the scenario weights (``attrs["weighting"]`` says so).
    """
    if eng.mystery_shops is None:
        raise MetricsError(f"{eng.path}: mystery_shops.csv is missing. Fix: add competitors' mystery shops scored on the rubric.")
    wave = wave or eng.config.waves[-1]
    confidence = eng.config.confidence if confidence is None else confidence
    inter = interaction_table(eng)
    inter = inter[inter["wave"] == wave]
    el = element_table(eng)
    el = el[el["wave"] == wave]
    # The client's QCI on the base weights, like the shops' (mean over raters per interaction).
    base = score(eng.scores, eng.rubric).groupby("interaction_id")["qci"].mean()
    inter = inter.assign(qci=inter["interaction_id"].map(base))
    ms, shops_wave = eng.mystery_shops, None
    all_shops = ms
    if "wave" in ms and ms["wave"].notna().any():
        order = eng.config.waves
        candidates = [w for w in order[: order.index(wave) + 1] if (ms["wave"] == w).any()] if wave in order else []
        if not candidates:
            raise MetricsError(f"{eng.path}: mystery_shops.csv has no shops of wave '{wave}' or earlier. "
                               "Fix: add that wave's shops, or report without Competitive Edge.")
        shops_wave = candidates[-1]
        ms = ms[ms["wave"] == shops_wave]
    m = len(eng.rubric.element_ids)
    rows = []
    for comp, shops in ms.groupby("competitor", sort=True):
        comp_qci = score(shops, eng.rubric, by=("interaction_id",), source="mystery_shops.csv")
        items = [("QCI", inter["qci"], inter["weight"], inter["stratum"], inter["fpc"], comp_qci["qci"], 1)]
        share = shops.assign(score=100 * shops["points"] / shops["element"].map(eng.rubric.max_points))
        for e in eng.rubric.element_ids:
            mine = el[el["element"] == e]
            items.append((e, mine["score"], mine["weight"], mine["stratum"], mine["fpc"],
                          share.loc[share["element"] == e, "score"], m))
        for name, y, w, h, f, theirs, family in items:
            c = weighted_mean_ci(y, w, confidence, h, fpc=f)
            k = weighted_mean_ci(theirs, None, confidence)
            r = compare(k, c, confidence, family)
            rows.append({"competitor": comp, "measure": name, "client": c["estimate"], "competitor_score": k["estimate"],
                         "edge": r["change"], "se": r["se"], "df": r["df"], "p": r["p"], "p_adj": r["p_adj"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"], "significant": r["significant"],
                         "n_client": c["n"], "n_shops": k["n"],
                         "note": "not enough shops" if k["n"] < 2 else ""})
    present = set(ms["competitor"])
    for comp in [c for c in dict.fromkeys([*eng.config.competitors, *all_shops["competitor"]]) if c not in present]:
        theirs = all_shops[all_shops["competitor"] == comp]
        waves = [w for w in eng.config.waves if "wave" in theirs and (theirs["wave"] == w).any()]
        rows.append({"competitor": comp, "measure": "QCI", "client": np.nan, "competitor_score": np.nan,
                     "edge": np.nan, "se": np.nan, "df": np.nan, "p": np.nan, "p_adj": np.nan, "ci_low": np.nan,
                     "ci_high": np.nan, "significant": False, "n_client": len(inter), "n_shops": 0,
                     "note": f"no shops since {waves[-1]}" if waves else "no shops yet"})
    out = pd.DataFrame(rows)
    names = eng.rubric.elements["name"]
    out.insert(2, "name", [names.get(m, m) for m in out["measure"]])
    out.attrs.update(wave=wave, shops_wave=shops_wave or wave, confidence=confidence, adjustment="bonferroni",
                     weighting="base")
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
    summary = summarize(el, "score", confidence=eng.config.confidence, measure="element").set_index("element")
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
    s = summarize(el, "score", by="team", confidence=eng.config.confidence, measure="element")
    s = s[s["team"] == team].drop(columns="team")
    s["name"] = s["element"].map(eng.rubric.elements["name"])
    return s.sort_values(["estimate", "element"], ignore_index=True).head(top)


def rater_effect(eng, raters, wave: str | None = None, bias: dict | None = None,
                 confidence: float | None = None) -> pd.DataFrame:
    """What flagged ``raters`` do to the client's headline QCI of ``wave``.

    The headline is the design-based QCI with every rater's scores averaged per
    interaction. Without the flagged raters, an interaction that someone else
    also scored takes the others' mean; an interaction the flagged raters scored
    alone ("solo") keeps their QCI minus their calibrated QCI bias against gold
    (``bias``: rater → QCI points; default :func:`qcikit.reliability.calibrate`'s
    ``qci_bias`` on the engagement's gold set). Leaving the solo interactions out
    would understate the effect: they are exactly where the rater alone sets the
    score. Without a bias for a rater (no gold), their solo interactions stay as
    scored and ``bias_corrected`` is False.

    Returns two rows, ``as reported`` and ``without <raters>``: ``estimate``,
    ``ci_low``, ``ci_high``, ``n``, ``n_replaced`` (interactions re-read from other
    raters), ``n_solo``, ``bias_corrected`` and ``change`` (from the headline).
    """
    from . import reliability

    raters = [raters] if isinstance(raters, str) else list(raters)
    wave = wave or eng.config.waves[-1]
    confidence = eng.config.confidence if confidence is None else confidence
    if bias is None:
        bias = {}
        if eng.gold is not None:
            cal = reliability.calibrate(eng.own_ratings, eng.gold, eng.rubric, confidence=confidence)
            overall = cal[cal["element"] == "(all)"].set_index("rater")["qci_bias"]
            bias = {r: float(overall[r]) for r in raters if r in overall.index and np.isfinite(overall[r])}
    inter = interaction_table(eng)
    inter = inter[inter["wave"] == wave].set_index("interaction_id")
    per = eng.scored()[["interaction_id", "rater", "qci"]]
    per = per[per["interaction_id"].isin(inter.index)]
    flagged = per["rater"].isin(raters)
    others = per[~flagged].groupby("interaction_id")["qci"].mean()
    corrected = per[flagged].assign(qci=per.loc[flagged, "qci"] - per.loc[flagged, "rater"].map(bias).fillna(0.0))
    solo = corrected[~corrected["interaction_id"].isin(others.index)].groupby("interaction_id")["qci"].mean()
    touched = set(per.loc[flagged, "interaction_id"])
    alt = inter["qci"].copy()
    alt.loc[others.index] = others
    alt.loc[solo.index] = solo
    rows = []
    for label, y in (("as reported", inter["qci"]), (f"without {', '.join(raters)}", alt)):
        r = weighted_mean_ci(y, inter["weight"], confidence, inter["stratum"], fpc=inter["fpc"])
        rows.append({"scores": label, "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "n": r["n"]})
    out = pd.DataFrame(rows)
    out["n_replaced"] = [0, len(touched & set(others.index))]
    out["n_solo"] = [0, len(solo)]
    out["bias_corrected"] = [False, bool(len(solo)) and all(r in bias for r in raters)]
    out["change"] = out["estimate"] - out["estimate"].iloc[0]
    out.attrs.update(wave=wave, bias=bias)
    return out
