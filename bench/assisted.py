"""The model-assisted QCI's simulation study (issue 21), in full: 1,000 simulated engagements per machine
(pass another number as the first argument). Prints coverage of the 95 % interval (target 93.5–96.5 %), the
human-only interval's beside it, the width against human-only and the effective sample size; writes
bench/results/assisted.json. The test suite runs the same study on 200 engagements."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from simulate_assisted import CASES, SAMPLED, SIZES, study  # noqa: E402


def main(k: int) -> None:
    print(f"strata N_h = {SIZES.tolist()}, human-scored n_h = {SAMPLED.tolist()}; {k:,} engagements per machine")
    print(f"{'machine':<10} {'coverage':>9} {'human':>7} {'width/human':>12} {'n':>5} {'effective n':>12}  target")
    rows = []
    for case in CASES:
        t = time.perf_counter()
        r = study(case, k, seed=2026)
        r["seconds"] = round(time.perf_counter() - t, 1)
        ok = 0.935 <= r["coverage"] <= 0.965
        extra = ""
        if case in ("good", "biased"):
            ok &= r["n_effective"] >= 2 * r["n"]
            extra = ", effective n >= 2n"
        if case == "useless":
            ok &= r["width_ratio"] <= 1.05
            extra = ", width <= 1.05x"
        print(f"{case:<10} {r['coverage']:9.3f} {r['human_coverage']:7.3f} {r['width_ratio']:12.3f} {r['n']:5d} "
              f"{r['n_effective']:12.0f}  coverage 93.5-96.5 %{extra}: {'meets' if ok else 'MISSES'}")
        rows.append({key: (float(v) if hasattr(v, "__float__") and not isinstance(v, (int, str)) else v) for key, v in r.items()})
    out = ROOT / "bench" / "results" / "assisted.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
