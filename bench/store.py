"""The team store under load, on both backends (issue 22).

    python bench/store.py [ROWS]          # ROWS for the latest() case, default 500,000

1. Form-save latency, median and p95, for 1, 4 and 8 raters saving at once (separate processes, each
   saving forms of 16 elements as fast as it can, which is far harsher than people clicking Save).
   Target: p95 under 100 ms at 8 raters on PostgreSQL.
2. ``Store.latest()`` on an engagement with ROWS score rows, against a plain ``pandas.read_sql`` of the
   same rows (what a user would do instead). Target: within 2x.

The PostgreSQL server is a throwaway cluster (tests/pgcluster.py) with fsync on, as a real server runs.
Nothing here asserts a time: these machines are shared and noisy, so only ratios taken in one run mean much.
"""
from __future__ import annotations

import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pgcluster  # noqa: E402
from run import best  # noqa: E402  (bench/run.py: best of several timings)
from qcikit.store import Store  # noqa: E402

ELEMENTS = [f"e{i}" for i in range(16)]
FORMS = 150


def _rater(where, rater, start, out):
    s = Store(where[0], key=where[1], create=False)
    s.save("warm-up", rater, {"e0": 1}, by=rater)  # the first connection is not a save's cost
    start.wait(60)
    times = []
    for k in range(FORMS):
        t = time.perf_counter()
        s.save(f"I{k % 60}", rater, {e: (k + i) % 5 for i, e in enumerate(ELEMENTS)}, by=rater)
        times.append(time.perf_counter() - t)
    out.put(times)


def save_latency(where, raters: int) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_rater, args=(where, f"r{i}", start, out)) for i in range(raters)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # every process connected and warmed up
    start.set()
    times = np.concatenate([out.get(timeout=600) for _ in procs])
    for p in procs:
        p.join(60)
    return float(np.median(times) * 1000), float(np.percentile(times, 95) * 1000)


def _fill(store: Store, rows: int) -> None:
    """ROWS score rows: interactions x 4 raters x 16 elements, every tenth form corrected once."""
    rng = np.random.default_rng(22)
    n_forms = rows // len(ELEMENTS)
    iids = np.arange(n_forms) // 4
    raters = np.array(["ana", "bo", "cy", "dev"])[np.arange(n_forms) % 4]
    data = []
    for f in range(n_forms):
        pts = rng.integers(0, 5, len(ELEMENTS))
        data.extend((f"I{iids[f]:07d}", raters[f], e, float(p), "w1", "v1", raters[f], "2026-01-01T00:00:00+00:00",
                     "", "form", None, None) for e, p in zip(ELEMENTS, pts))
    cols = ["interaction_id", "rater", "element", "points", "wave", "rubric_version", "saved_by", "saved_at", "note",
            "source", "rules", "evidence"]
    with store._transaction() as tx:
        tx.insert_many("scores", cols, data[:rows])


def latest_ratio(where, rows: int) -> tuple[float, float]:
    store = Store(where[0], key=where[1])
    _fill(store, rows)
    plain = "SELECT interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, source, rules, evidence FROM scores"

    def read_plain():
        if where[1] is None:
            con = sqlite3.connect(where[0])
            try:
                return pd.read_sql(plain, con)
            finally:
                con.close()
        import warnings

        import psycopg

        # pandas warns that it tests only SQLAlchemy connections; a psycopg connection is what a user without
        # SQLAlchemy passes, and pandas reads it through the DBAPI cursor.
        con = psycopg.connect(where[0], options=f"-c search_path={where[1]}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return pd.read_sql(plain, con)
        finally:
            con.close()

    assert len(store.latest()) == rows  # every row is the latest of its key
    return best(store.latest), best(read_plain)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    with tempfile.TemporaryDirectory() as tmp, pgcluster.cluster() as admin:
        backends = {"sqlite": lambda name: (str(Path(tmp) / f"{name}.sqlite"), None),
                    "postgresql": lambda name: (pgcluster.new_database(admin), "acme")}
        print(f"form saves of {len(ELEMENTS)} elements, {FORMS} per rater, raters saving back to back")
        for backend, where_of in backends.items():
            for raters in (1, 4, 8):
                where = where_of(f"save{raters}")
                Store(where[0], key=where[1])
                med, p95 = save_latency(where, raters)
                target = f"  (target p95 < 100 ms: {'meets' if p95 < 100 else 'MISSES'})" if backend == "postgresql" and raters == 8 else ""
                print(f"  {backend:<10} {raters} rater(s): median {med:6.1f} ms  p95 {p95:6.1f} ms{target}")
        print(f"latest() on {rows:,} score rows against pandas.read_sql of the same rows")
        for backend, where_of in backends.items():
            ours, theirs = latest_ratio(where_of("latest"), rows)
            ratio = ours / theirs
            print(f"  {backend:<10} latest() {ours:6.2f} s  read_sql {theirs:6.2f} s  ratio {ratio:4.2f}  "
                  f"(target <= 2: {'meets' if ratio <= 2 else 'MISSES'})")


if __name__ == "__main__":
    main()
