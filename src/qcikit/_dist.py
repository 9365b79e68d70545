"""Quantiles and tails of the t and normal distributions, from :mod:`scipy.special`.

These are the functions ``scipy.stats.t`` and ``scipy.stats.norm`` call themselves (``stdtrit``, ``stdtr``,
``ndtri``, ``ndtr``), so the values are the same to the last bit (tests/test_reliability.py compares them).
Importing scipy.stats takes about 0.9 s, scipy.special a quarter of that: a command whose statistics need
only a quantile (``qcikit autoscore``'s agreement with the raters) no longer waits for it.
"""
from __future__ import annotations


def t_ppf(p, df):
    """Student's t quantile: ``scipy.stats.t.ppf(p, df)``."""
    from scipy import special

    return special.stdtrit(df, p)


def t_sf(x, df):
    """Student's t upper tail: ``scipy.stats.t.sf(x, df)``."""
    from scipy import special

    return special.stdtr(df, -x)


def norm_ppf(p):
    """The standard normal quantile: ``scipy.stats.norm.ppf(p)``."""
    from scipy import special

    return special.ndtri(p)


def norm_cdf(x):
    """The standard normal distribution function: ``scipy.stats.norm.cdf(x)``."""
    from scipy import special

    return special.ndtr(x)
