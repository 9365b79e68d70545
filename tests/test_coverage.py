"""The level of every design-based interval, checked by simulation at modest size (bench/coverage.py runs the
long version). With 1,000 samples the binomial standard error of a 95 % coverage is 0.7 points."""
from design_coverage import change_coverage, coverage


def test_stratified_interval_covers_95_percent():
    assert 0.93 <= coverage("stratified", 1000, seed=1)["coverage"] <= 0.97


def test_collapsed_singletons_cover_at_least_95_percent():
    """Two single-interaction strata (the case where they swapped partners and covered 90.9 %): paired, the
    interval is slightly conservative (Wolter 2007, §2.5), never short."""
    assert 0.935 <= coverage("singletons", 1000, seed=2)["coverage"] <= 0.995


def test_wave_change_interval_covers_95_percent():
    assert 0.93 <= change_coverage(1000, seed=3) <= 0.97
