"""Sample size, margin of error, allocation to strata and reproducible draws.

Sample sizes follow Cochran (1977, *Sampling Techniques*, 3rd ed., eqs. 4.1–4.2):

.. math:: n_0 = \\frac{z^2 p (1-p)}{e^2}, \\qquad n = \\frac{n_0}{1 + (n_0 - 1)/N}

rounded up (with ``sd`` the numerator is :math:`z^2 \\sigma^2` and the margin
is in the score's units).  This is the formula behind Krejcie & Morgan's
(1970) table.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

from .errors import SamplingError


AllocationMethod = Literal["proportional", "neyman", "equal"]
ALLOCATION_METHODS = ("proportional", "neyman", "equal")


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise SamplingError(f"confidence {confidence!r} is outside (0, 1). Fix: pass e.g. confidence=0.95.")
    # The standard library's inverse normal (Wichura's AS241, accurate to ~1e-16): `qcikit sample` then needs no scipy.
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _variance(proportion: float, sd: float | None) -> float:
    if sd is not None:
        if not sd > 0:
            raise SamplingError(f"sd {sd!r} must be greater than 0. Fix: pass the score's standard deviation from a pilot or last wave.")
        return float(sd) ** 2
    if not 0 < proportion < 1:
        raise SamplingError(f"proportion {proportion!r} is outside (0, 1). Fix: pass 0.5 when unsure (the most conservative).")
    return proportion * (1 - proportion)


def _check_population(population) -> float | None:
    if population is None:
        return None
    if not population >= 1:
        raise SamplingError(f"population {population!r} must be at least 1. Fix: pass the number of interactions, or None for a very large one.")
    return float(population)


def cochran_n(margin: float, confidence: float = 0.95, population: int | None = None,
              proportion: float = 0.5, sd: float | None = None) -> float:
    """Cochran's sample size before rounding (see :func:`sample_size`)."""
    if sd is None and not 0 < margin < 1:
        raise SamplingError(f"margin {margin!r} is outside (0, 1) for a proportion. Fix: pass e.g. margin=0.05 for ±5 points.")
    if not margin > 0:
        raise SamplingError(f"margin {margin!r} must be greater than 0. Fix: pass the half-width you can accept, in the score's units.")
    z = _z(confidence)
    n0 = z**2 * _variance(proportion, sd) / margin**2
    N = _check_population(population)
    return n0 if N is None else n0 / (1 + (n0 - 1) / N)


def sample_size(margin: float = 0.05, confidence: float = 0.95, population: int | None = None,
                proportion: float = 0.5, sd: float | None = None) -> int:
    """Smallest sample giving at most ``margin`` at ``confidence``.

    Parameters
    ----------
    margin : float
        Half-width of the confidence interval: a share in (0, 1) for a
        proportion, or in the score's units when ``sd`` is given.
    confidence : float
        Confidence level, e.g. 0.95.
    population : int, optional
        Population size *N* for the finite population correction.
    proportion : float
        Expected proportion (0.5 is the most conservative).
    sd : float, optional
        Standard deviation of the score: size for a mean instead.

    Returns
    -------
    int
        :math:`\\lceil n \\rceil` (never more than the population).

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., Wiley, §4.4.
    Krejcie, R. V. & Morgan, D. W. (1970). Determining sample size for research
    activities. *Educational and Psychological Measurement* 30, 607–610.

    Examples
    --------
    >>> sample_size(0.05, 0.95)
    385
    >>> sample_size(0.05, 0.95, population=1000)
    278
    >>> sample_size(2.0, sd=15)  # QCI points: ±2 with a spread of 15
    217
    """
    n = math.ceil(cochran_n(margin, confidence, population, proportion, sd) - 1e-9)
    return int(min(n, population)) if population is not None else int(n)


def margin_of_error(n: int, confidence: float = 0.95, population: int | None = None,
                    proportion: float = 0.5, sd: float | None = None) -> float:
    """Half-width of the confidence interval for a sample of ``n`` (inverse of :func:`sample_size`).

    .. math:: e = z \\sqrt{\\frac{p(1-p)}{n} \\cdot \\frac{N - n}{N - 1}}

    Examples
    --------
    >>> round(margin_of_error(385), 4)
    0.0499
    """
    if not n >= 1:
        raise SamplingError(f"n {n!r} must be at least 1. Fix: pass the number of interactions in the sample.")
    N = _check_population(population)
    if N is not None and n > N:
        raise SamplingError(f"n ({n}) is larger than the population ({int(N)}). Fix: the sample cannot exceed the population.")
    z = _z(confidence)
    fpc = 1.0 if N is None or N <= 1 else (N - n) / (N - 1)
    return float(z * math.sqrt(_variance(proportion, sd) / n * fpc))


def _stratum_sizes(strata) -> pd.Series:
    s = pd.Series(strata)
    if not pd.api.types.is_numeric_dtype(s):
        if s.isna().any():
            raise SamplingError("strata: the stratum column has empty values. Fix: give every interaction a stratum (e.g. 'unknown').")
        s = s.value_counts(sort=False)
    if s.isna().any() or (s < 0).any():
        raise SamplingError("strata: stratum sizes must be counts of at least 0. Fix: pass a Series of stratum sizes indexed by stratum.")
    return s.astype(float)


def allocate(strata, n: int, method: AllocationMethod = "proportional", sd=None, minimum: int = 2) -> pd.Series:
    """Allocate a sample of ``n`` to strata; integers that sum to exactly ``n``.

    Parameters
    ----------
    strata : Series
        Stratum sizes :math:`N_h` indexed by stratum (or a column of stratum labels).
    n : int
        Total sample size.
    method : {"proportional", "neyman", "equal"}
        ``proportional``: :math:`n_h \\propto N_h`; ``neyman``: :math:`n_h \\propto N_h S_h`
        (Cochran 1977, eq. 5.60; needs ``sd``); ``equal``: the same in each.
    sd : Series or float, optional
        Standard deviation per stratum for Neyman allocation.
    minimum : int
        At least this many in every stratum that has interactions (or the whole
        stratum when smaller); default 2, the fewest that give a stratum a variance
        (Cochran 1977, §5A.12). A small stratum rounded to 0 would drop out of every
        estimate and leave the weights short of the population. ``minimum=0`` switches it off.

    Returns
    -------
    Series of int
        :math:`n_h`, never more than :math:`N_h`; rounding by largest remainder.

    Examples
    --------
    >>> allocate(pd.Series({"email": 600, "chat": 300, "phone": 100}), 50).tolist()
    [30, 15, 5]
    """
    if method not in ALLOCATION_METHODS:
        raise SamplingError(f"method {method!r} is not known. Fix: use one of {', '.join(ALLOCATION_METHODS)}.")
    sizes = _stratum_sizes(strata)
    if len(sizes) == 0:
        raise SamplingError("strata: there are no strata. Fix: pass at least one stratum.")
    if int(n) != n or n < 0:
        raise SamplingError(f"n {n!r} must be a whole number of at least 0. Fix: round the sample size.")
    n = int(n)
    N = sizes.to_numpy()
    if n > N.sum():
        raise SamplingError(f"n ({n}) is larger than the population ({int(N.sum())}). Fix: ask for at most {int(N.sum())}.")
    lower = np.minimum(minimum, N)  # an empty stratum gets 0 whatever the minimum
    if lower.sum() > n:
        raise SamplingError(f"a minimum of {minimum} per stratum needs {int(lower.sum())} interactions, more than n ({n}). "
                            f"Fix: raise n to at least {int(lower.sum())} or lower the minimum.")
    if method == "proportional":
        target = N.copy()
    elif method == "equal":
        target = (N > 0).astype(float)
    else:
        if sd is None:
            raise SamplingError("method 'neyman' needs sd (the standard deviation per stratum). Fix: pass sd=Series indexed by stratum.")
        s = pd.Series(sd, index=sizes.index) if np.isscalar(sd) else pd.Series(sd).reindex(sizes.index)
        if s.isna().any() or (s < 0).any():
            raise SamplingError("sd: a stratum has no standard deviation or a negative one. Fix: give a value of at least 0 for every stratum.")
        target = N * s.to_numpy(dtype=float)
        if target.sum() == 0:
            target = N.copy()
    alloc = _bounded_allocation(target, n, lower.astype(float), N)
    return pd.Series(alloc, index=sizes.index, name="n").astype(int)


def _water_fill(target: np.ndarray, n: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Continuous shares :math:`x_h = \\mathrm{clip}(\\lambda t_h, l_h, u_h)` with :math:`\\sum x_h = n`.

    The sum is a non-decreasing piecewise-linear function of :math:`\\lambda` with breakpoints at
    :math:`l_h/t_h` and :math:`u_h/t_h`, so :math:`\\lambda` is found exactly on the segment that
    holds n (no iteration that could fix a stratum at a bound too early and never free it). Strata
    whose target is 0 (Neyman with a standard deviation of 0) stay at their lower bound unless the
    others are all at their upper bound; then they take the rest in proportion to their size.
    """
    pos = target > 0
    top = np.where(pos, upper, lower)
    if n >= top.sum():
        # Every stratum with a positive target is full: the zero-target strata share what is left.
        rest = n - top.sum()
        if rest <= 0 or not (~pos).any():
            return top.astype(float)
        room = np.where(pos, 0.0, upper - lower)
        return top + _water_fill(np.where(pos, 0.0, upper), rest, np.zeros_like(room), room)
    t = target[pos]
    breaks = np.unique(np.concatenate([lower[pos] / t, upper[pos] / t]))
    totals = (np.clip(breaks[:, None] * t[None, :], lower[pos], upper[pos]).sum(axis=1)
              + lower[~pos].sum())
    k = int(np.searchsorted(totals, n))  # first breakpoint whose total reaches n (totals[-1] = top.sum() > n)
    if k == 0:
        lam = breaks[0]
    else:
        # The total is linear between two breakpoints: interpolate to hit n exactly.
        lam = breaks[k - 1] + (n - totals[k - 1]) * (breaks[k] - breaks[k - 1]) / (totals[k] - totals[k - 1])
    return np.where(pos, np.clip(lam * target, lower, upper), lower).astype(float)


def _bounded_allocation(target: np.ndarray, n: int, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Split n in proportion to target, within [lower, upper], as integers summing to n.

    The continuous solution comes from :func:`_water_fill`; it is rounded by largest remainder
    (ties broken by stratum order, so the result is stable), never past a stratum's bounds.
    """
    ideal = _water_fill(np.asarray(target, dtype=float), float(n), lower, upper)
    floor = np.clip(np.floor(ideal + 1e-9), lower, upper)
    short = int(round(n - floor.sum()))
    frac = np.where(floor < upper, ideal - floor, -np.inf)
    order = np.argsort(-frac, kind="stable")
    floor[order[:max(short, 0)]] += 1
    return floor


def draw_sample(frame: pd.DataFrame, n: int, strata: str | None = None, method: AllocationMethod = "proportional",
                seed: int | None = None, sd=None, minimum: int = 2) -> pd.DataFrame:
    """Reproducible stratified random sample without replacement.

    Parameters
    ----------
    frame : DataFrame
        The population (e.g. interactions.csv).
    n : int
        Sample size.
    strata : str, optional
        Column to stratify by (None: one stratum, simple random sampling).
    method, sd, minimum
        See :func:`allocate`.
    seed : int, optional
        The same seed gives the same sample.

    Returns
    -------
    DataFrame
        The drawn rows in population order with two more columns: ``stratum``
        and ``weight`` (the design weight :math:`N_h / n_h`); the weights of a
        stratum sum to its size.

    Examples
    --------
    >>> pop = pd.DataFrame({"id": range(100), "channel": ["email"] * 60 + ["chat"] * 40})
    >>> s = draw_sample(pop, 10, strata="channel", seed=1)
    >>> s.groupby("stratum")["weight"].sum().to_dict()
    {'chat': 40.0, 'email': 60.0}
    """
    if strata is None:
        labels = np.zeros(len(frame), dtype=np.int64)
        names = pd.Index(["all"])
    else:
        if strata not in frame.columns:
            raise SamplingError(f"strata column '{strata}' is not in the frame. Fix: use one of {', '.join(map(str, frame.columns))}.")
        col = frame[strata]
        if col.isna().any():
            i = int(np.argmax(col.isna().to_numpy()))
            raise SamplingError(f"strata column '{strata}' is empty at row {i + 2} ({int(col.isna().sum())} empty). "
                                "Fix: give every interaction a stratum (e.g. 'unknown').")
        labels, names = pd.factorize(col, sort=True)
    sizes = np.bincount(labels, minlength=len(names))
    alloc = allocate(pd.Series(sizes, index=names), n, method=method, sd=sd, minimum=minimum).to_numpy()
    rng = np.random.default_rng(seed)
    # Group rows by stratum with one stable integer sort, then draw n_h positions
    # without replacement inside each stratum: a loop over strata, not rows.
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picks = [order[starts[h] + rng.choice(sizes[h], alloc[h], replace=False)] for h in range(len(sizes)) if alloc[h]]
    chosen = np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)
    out = frame.iloc[chosen].copy()
    lab = labels[chosen]
    out["stratum"] = np.asarray(names)[lab]
    out["weight"] = sizes[lab] / alloc[lab]
    return out


def plan(frame: pd.DataFrame, n: int, strata: str | None = None, method: AllocationMethod = "proportional",
         confidence: float = 0.95, sd=None, minimum: int = 2) -> pd.DataFrame:
    """The sampling plan: per stratum N_h, n_h, design weight and margin of error (proportion, with FPC).

    ``note`` names the strata raised to ``minimum`` above their share and those capped at their size.
    """
    sizes = frame[strata].value_counts().sort_index() if strata else pd.Series({"all": len(frame)})
    alloc = allocate(sizes, n, method=method, sd=sd, minimum=minimum)
    free = allocate(sizes, n, method=method, sd=sd, minimum=0)
    rows = []
    for h, N_h in sizes.items():
        n_h = int(alloc[h])
        note = (f"raised to the minimum of {minimum}" if n_h > int(free[h]) and n_h <= minimum
                else "the whole stratum" if n_h == N_h and n_h > 0 else "")
        rows.append({"stratum": h, "N_h": int(N_h), "n_h": n_h,
                     "weight": N_h / n_h if n_h else np.nan,
                     "margin": margin_of_error(n_h, confidence, N_h) if n_h else np.nan, "note": note})
    out = pd.DataFrame(rows)
    total = {"stratum": "total", "N_h": int(sizes.sum()), "n_h": int(alloc.sum()), "note": "",
             "weight": sizes.sum() / max(alloc.sum(), 1),
             "margin": margin_of_error(int(alloc.sum()), confidence, int(sizes.sum())) if alloc.sum() else np.nan}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def draw_by_wave(frame: pd.DataFrame, margin: float = 0.05, confidence: float = 0.95, strata: str | None = "touchpoint",
                 seed: int | None = None, wave: str = "wave", minimum: int = 2, sd: float | None = None) -> pd.DataFrame:
    """Draw a wave-by-wave stratified sample sized for ``margin`` at ``confidence``.

    With ``sd`` (the QCI's standard deviation, from a pilot or an earlier wave) the
    sample is sized for a mean: ``margin`` is then in QCI points (e.g. 3 for ±3).

    Each wave is its own population (a report compares waves), sized with
    :func:`sample_size` and allocated proportionally to ``strata`` inside the
    wave.  The ``stratum`` column reads ``"<wave> / <stratum>"`` and the design
    weights of a wave sum to that wave's number of interactions.
    """
    if wave not in frame.columns:
        raise SamplingError(f"the frame has no '{wave}' column. Fix: add the wave of each interaction.")
    parts = []
    for k, (w, part) in enumerate(frame.groupby(wave, sort=True)):
        n = sample_size(margin, confidence, population=len(part), sd=sd)
        if strata is not None:
            n = max(n, min(minimum * part[strata].nunique(), len(part)))
        drawn = draw_sample(part, n, strata=strata, seed=None if seed is None else seed + k, minimum=minimum)
        drawn["stratum"] = f"{w} / " + drawn["stratum"].astype(str)
        parts.append(drawn)
    return pd.concat(parts, ignore_index=True)


def planning_table(population: int | None, margins=(0.03, 0.05, 0.07, 0.10), confidences=(0.90, 0.95, 0.99)) -> pd.DataFrame:
    """Sample size for each margin × confidence (proportion 0.5, finite population correction).

    >>> planning_table(1000, margins=(0.05,), confidences=(0.95,))["n"].tolist()
    [278]
    """
    rows = [{"margin": m, "confidence": c, "n": sample_size(m, c, population)} for c in confidences for m in margins]
    return pd.DataFrame(rows)
