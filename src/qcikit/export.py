"""Tidy scored tables for the client's own BI tools (``qcikit export``).

Three tables, so an analyst cannot double-count by accident:

- ``<slug>_interactions``: one row per scored interaction — the settled QCI and
  dimension scores (mean over its raters), the design weight the kit's estimates
  use (N_h / m_h, scored interactions standing for their stratum), stratum,
  wave, team, touchpoint, agent, scenario, number of raters. A weighted mean of
  ``qci`` by ``design_weight`` over one wave is the kit's headline QCI.
- ``<slug>_elements``: one row per scored interaction and element — points and
  score (0–100) as the mean over raters, the element's dimension and the same
  design weight.
- ``<slug>_ratings``: one row per interaction, rater and element — each rater's
  settled points and the element's effective weight in that interaction (after
  not-applicable and scenario rules), for rater-level analysis only.

Numbers are rounded to what the report prints (scores to 0.1 points, weights to 4
decimals), so no 89.99999999999999 reaches a dashboard.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from . import metrics
from ._io import atomic_write_bytes, write_csv
from .engagement import Engagement
from .errors import QcikitError
from .scoring import row_weights

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS = ("csv", "parquet")
TABLES = ("interactions", "elements", "ratings")
SCORE_DIGITS, WEIGHT_DIGITS = 1, 4


def _require_scores(eng: Engagement) -> None:
    if eng.scores is None:
        raise QcikitError(f"{eng.path}: there are no scores yet, so nothing to export. Fix: score the sample first.")


def interaction_table(eng: Engagement) -> pd.DataFrame:
    """One row per scored interaction with its settled scores and design weight (see the module docstring)."""
    _require_scores(eng)
    t = metrics.interaction_table(eng)
    dims = list(eng.rubric.dimensions)
    cols = ["interaction_id", "wave", "team", "touchpoint", "agent_id", "scenario", "stratum", "weight", "n_raters",
            "qci", *dims]
    out = t[[c for c in cols if c in t.columns]].rename(columns={"weight": "design_weight"})
    out[["qci", *dims]] = out[["qci", *dims]].round(SCORE_DIGITS)
    out["design_weight"] = out["design_weight"].round(WEIGHT_DIGITS)
    return out.reset_index(drop=True)


def element_table(eng: Engagement) -> pd.DataFrame:
    """One row per scored interaction and element: mean points over raters, score 0–100, dimension, design weight."""
    _require_scores(eng)
    s = eng.scores
    el = eng.rubric.elements
    per = s.groupby(["interaction_id", "element"], sort=False)["points"].mean().reset_index()
    per["dimension"] = per["element"].map(el["dimension"])
    per["max_points"] = per["element"].map(el["max_points"])
    per["score"] = (100 * per["points"] / per["max_points"]).round(SCORE_DIGITS)
    per["points"] = per["points"].round(2)
    info = interaction_table(eng).set_index("interaction_id")[["wave", "team", "touchpoint", "stratum", "design_weight"]]
    return per.join(info, on="interaction_id")


def rating_table(eng: Engagement) -> pd.DataFrame:
    """One row per interaction, rater and element: the rater's settled points and the element's effective
    weight in that interaction (after not-applicable and scenario rules; the weights of one form sum to 1)."""
    _require_scores(eng)
    s = eng.scores[["interaction_id", "rater", "element", "points", "wave"]].copy()
    el = eng.rubric.elements
    s["dimension"] = s["element"].map(el["dimension"])
    s["max_points"] = s["element"].map(el["max_points"])
    s["share"] = (s["points"] / s["max_points"]).round(WEIGHT_DIGITS)
    s["weight"] = row_weights(s, eng.rubric, eng.inventory_facets())
    return s


def export(eng: Engagement, out_dir: str | Path, fmt: ExportFormat = "csv", force: bool = False) -> list[Path]:
    """Write ``<slug>_interactions``, ``<slug>_elements`` and ``<slug>_ratings`` in ``fmt`` to ``out_dir``.

    Existing files are replaced only with ``force=True``; each file is written atomically.
    """
    if fmt not in EXPORT_FORMATS:
        raise QcikitError(f"format '{fmt}' is not supported. Fix: use one of {', '.join(EXPORT_FORMATS)}.")
    out_dir = Path(out_dir)
    targets = {name: out_dir / f"{eng.slug}_{name}.{fmt}" for name in TABLES}
    there = [str(t) for t in targets.values() if t.exists()]
    if there and not force:
        raise QcikitError(f"{', '.join(there)} already exist(s); nothing was written. "
                          "Fix: pass --force to replace them, or choose another folder with --out.")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise QcikitError("parquet export needs pyarrow, which a plain install leaves out. "
                              "Fix: pip install 'qcikit[parquet]', or use --format csv.") from None
    tables = {"interactions": interaction_table(eng), "elements": element_table(eng), "ratings": rating_table(eng)}
    written = []
    for name, df in tables.items():
        target = targets[name]
        if fmt == "csv":
            write_csv(df, target)
        else:
            import io

            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            atomic_write_bytes(target, buf.getvalue())
        written.append(target)
    return written
