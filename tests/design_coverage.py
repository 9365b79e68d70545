"""Coverage simulations of the kit's design-based intervals: a small version runs in the test suite
(tests/test_coverage.py), the long one in bench/coverage.py. Shared here so both run the same designs."""
from __future__ import annotations

import warnings

import numpy as np

from qcikit import metrics

# Stratum sizes and sample sizes: unequal strata, FPC noticeable in the small ones (one sampled at 50 %).
DESIGNS = {
    "stratified": {"N": [600, 240, 60, 12], "n": [30, 18, 10, 6], "mean": [55, 70, 40, 62], "sd": [14, 10, 18, 9]},
    # The last two strata hold one sampled interaction each: they are collapsed into a pair for the variance.
    "singletons": {"N": [500, 300, 40, 30], "n": [25, 15, 1, 1], "mean": [55, 60, 45, 70], "sd": [12, 12, 12, 12]},
}


def population(design: dict, rng) -> list[np.ndarray]:
    return [np.clip(rng.normal(m, s, N), 0, 100) for N, m, s in zip(design["N"], design["mean"], design["sd"])]


def coverage(design_name: str, reps: int, seed: int = 0, confidence: float = 0.95) -> dict:
    """Share of ``reps`` stratified samples whose interval holds the population mean (one fixed population)."""
    design = DESIGNS[design_name]
    rng = np.random.default_rng(seed)
    pop = population(design, rng)
    truth = float(np.concatenate(pop).mean())
    strata = np.repeat(np.arange(len(pop)), design["n"]).astype(str)
    weight = np.repeat([N / n for N, n in zip(design["N"], design["n"])], design["n"])
    fpc = np.repeat([1 - n / N for N, n in zip(design["N"], design["n"])], design["n"])
    hits = 0
    widths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            y = np.concatenate([rng.choice(p, n, replace=False) for p, n in zip(pop, design["n"])])
            r = metrics.weighted_mean_ci(y, weight, confidence, strata=strata, fpc=fpc)
            hits += r["ci_low"] <= truth <= r["ci_high"]
            widths.append(r["ci_high"] - r["ci_low"])
    return {"coverage": hits / reps, "mean_width": float(np.mean(widths))}


def change_coverage(reps: int, seed: int = 0, confidence: float = 0.95) -> float:
    """Coverage of :func:`metrics.compare`'s interval for the change between two independent waves."""
    design = DESIGNS["stratified"]
    rng = np.random.default_rng(seed)
    before, after = population(design, rng), [np.clip(p + 3, 0, 100) for p in population(design, rng)]
    truth = float(np.concatenate(after).mean() - np.concatenate(before).mean())
    strata = np.repeat(np.arange(len(before)), design["n"]).astype(str)
    weight = np.repeat([N / n for N, n in zip(design["N"], design["n"])], design["n"])
    fpc = np.repeat([1 - n / N for N, n in zip(design["N"], design["n"])], design["n"])
    hits = 0
    for _ in range(reps):
        est = [metrics.weighted_mean_ci(np.concatenate([rng.choice(p, n, replace=False) for p, n in zip(pop, design["n"])]),
                                        weight, confidence, strata=strata, fpc=fpc) for pop in (before, after)]
        c = metrics.compare(est[0], est[1], confidence)
        hits += c["ci_low"] <= truth <= c["ci_high"]
    return hits / reps
