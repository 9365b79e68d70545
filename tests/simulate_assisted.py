"""The simulation study of the model-assisted QCI (issue 21), shared by the test suite (a reduced run) and
bench/assisted.py (the full one).

Each simulated engagement is a finite population of interactions in four strata of unequal size, the
smallest sampled at a third (so its finite population correction matters), with a known population QCI.
Humans score a stratified sample; a machine scores every interaction with a chosen quality.
"""
from __future__ import annotations

import numpy as np

from qcikit.metrics import assisted_mean_ci

SIZES = np.array([3000, 1200, 400, 60])  # N_h
SAMPLED = np.array([80, 40, 25, 20])  # n_h
MEANS = np.array([72.0, 64.0, 58.0, 80.0])
SD = 14.0

# Machine quality per case: its correlation with the human score in each stratum, and its bias in points.
CASES = {
    "good": ([0.9] * 4, [0.0] * 4),
    "mediocre": ([0.5] * 4, [0.0] * 4),
    "biased": ([0.8] * 4, [10.0] * 4),
    "useless": ([0.0] * 4, [0.0] * 4),
    "uneven": ([0.95, 0.3, 0.7, 0.0], [0.0, 8.0, -5.0, 20.0]),
}


def engagement(rng: np.random.Generator, case: str):
    """One population and its stratified sample: (y of the sample, ŷ of the sample, strata of the sample,
    ŷ of the population, strata of the population, the population's true mean)."""
    r, bias = (np.asarray(v, dtype=float) for v in CASES[case])
    strata = np.repeat(np.arange(len(SIZES)), SIZES)
    y = np.clip(rng.normal(MEANS[strata], SD), 0, 100)
    noise = rng.normal(0, SD, len(y))
    rr = r[strata]
    # ŷ = bias + a linear mix with correlation r to y (y's spread, so a good machine is on the same scale)
    centred = (y - MEANS[strata]) / SD
    machine = MEANS[strata] + bias[strata] + SD * (rr * centred + np.sqrt(1 - rr**2) * noise / SD)
    picks = np.concatenate([rng.choice(np.flatnonzero(strata == k), m, replace=False) for k, m in enumerate(SAMPLED)])
    return y[picks], machine[picks], strata[picks], machine, strata, float(y.mean())


def study(case: str, n_engagements: int, seed: int = 0, confidence: float = 0.95) -> dict:
    """Coverage of the assisted and the human-only interval, and their mean widths and the mean effective n."""
    rng = np.random.default_rng(seed)
    cover = human_cover = 0
    width = human_width = n_eff = 0.0
    for _ in range(n_engagements):
        ys, ms, ss, mp, sp, truth = engagement(rng, case)
        r = assisted_mean_ci(ys, ms, ss, mp, sp, confidence=confidence)
        cover += r["ci_low"] <= truth <= r["ci_high"]
        human_cover += r["human_ci_low"] <= truth <= r["human_ci_high"]
        width += r["ci_high"] - r["ci_low"]
        human_width += r["human_ci_high"] - r["human_ci_low"]
        n_eff += r["n_effective"]
    k = n_engagements
    return {"case": case, "engagements": k, "coverage": cover / k, "human_coverage": human_cover / k,
            "width": width / k, "human_width": human_width / k, "width_ratio": width / human_width,
            "n": int(SAMPLED.sum()), "n_effective": n_eff / k}
