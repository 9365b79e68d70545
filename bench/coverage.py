"""Long coverage studies of the kit's intervals and verdicts (``make simulate``); the test suite runs a
reduced version of each (tests/test_coverage.py, tests/test_reliability.py).

Prints, per design: the coverage of the 95 % interval over many simulated samples with its binomial
standard error, and for Krippendorff's alpha the rate of false "reliable" verdicts at a true alpha of
.79 with 20 units and 3 raters, for several category distributions.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from design_coverage import DESIGNS, change_coverage, coverage  # noqa: E402

from qcikit import reliability  # noqa: E402


def false_reliable(probs, reps: int, n_units: int = 20, p_keep: float = 0.89, seed: int = 0) -> float:
    """Raters copy the true category with probability p_keep (.89 gives alpha ≈ .79), else guess from probs."""
    rng = np.random.default_rng(seed)
    cats = np.arange(len(probs), dtype=float)
    hits = 0
    for s in range(reps):
        truth = rng.choice(len(probs), size=n_units, p=probs)
        keep = rng.random((n_units, 3)) < p_keep
        data = pd.DataFrame(np.where(keep, truth[:, None], rng.choice(len(probs), size=(n_units, 3), p=probs)).astype(float))
        try:
            r = reliability.krippendorff_alpha(data, "ordinal", seed=s, categories=cats)
        except reliability.ReliabilityError:
            continue
        hits += reliability.verdict(r["ci_low"].iloc[0]) == "reliable"
    return hits / reps


def main(reps: int = 10_000) -> None:
    warnings.simplefilter("ignore")
    for name in DESIGNS:
        c = coverage(name, reps, seed=11)["coverage"]
        print(f"{name:<12} coverage {100 * c:5.1f} %  (± {100 * np.sqrt(c * (1 - c) / reps):.1f}; {reps:,} samples)")
    c = change_coverage(reps // 2, seed=12)
    print(f"{'wave change':<12} coverage {100 * c:5.1f} %  (± {100 * np.sqrt(c * (1 - c) / (reps // 2)):.1f}; {reps // 2:,} pairs)")
    for probs in ((0.85, 0.10, 0.05), (0.9, 0.1), (0.7, 0.3), (0.5, 0.5), (0.2, 0.3, 0.5), (0.1, 0.2, 0.3, 0.25, 0.15)):
        rate = false_reliable(probs, 2000, seed=13)
        print(f"alpha ≈ .79, 20 units × 3 raters, categories {probs}: 'reliable' {100 * rate:4.1f} % (target ≤ 5 %)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
