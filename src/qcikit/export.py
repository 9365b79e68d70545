"""Tidy scored tables for the client's own BI tools (``qcikit export``)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from ._io import atomic_write_bytes, write_csv
from .engagement import Engagement
from .errors import QcikitError
from .scoring import row_weights

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS = ("csv", "parquet")


def element_table(eng: Engagement) -> pd.DataFrame:
    """One row per interaction, rater and element: points, share of max, dimension,
    effective weight (after N/A and scenario rules), wave, team, touchpoint, scenario, design weight."""
    if eng.scores is None:
        raise QcikitError(f"{eng.path}: there are no scores yet, so nothing to export. Fix: score the sample first.")
    s = eng.scores[["interaction_id", "rater", "element", "points", "wave"]].copy()
    el = eng.rubric.elements
    s["dimension"] = s["element"].map(el["dimension"])
    s["max_points"] = s["element"].map(el["max_points"])
    s["share"] = s["points"] / s["max_points"]
    s["weight"] = row_weights(s, eng.rubric, eng.inventory_facets())
    info = eng.interactions.set_index("interaction_id")[["team", "touchpoint", "agent_id"]]
    s = s.join(info, on="interaction_id")
    if eng.inventory is not None and "scenario" in eng.inventory:
        s = s.join(eng.inventory.set_index("interaction_id")["scenario"], on="interaction_id")
    if eng.sample is not None:
        s = s.join(eng.sample.set_index("interaction_id")["weight"].rename("design_weight"), on="interaction_id")
    return s


def export(eng: Engagement, out_dir: str | Path, fmt: ExportFormat = "csv", force: bool = False) -> list[Path]:
    """Write ``<slug>_elements`` and ``<slug>_interactions`` tables in ``fmt`` to ``out_dir``.

    Existing files are replaced only with ``force=True``; each file is written atomically.
    """
    if fmt not in EXPORT_FORMATS:
        raise QcikitError(f"format '{fmt}' is not supported. Fix: use one of {', '.join(EXPORT_FORMATS)}.")
    out_dir = Path(out_dir)
    targets = [out_dir / f"{eng.slug}_{name}.{fmt}" for name in ("elements", "interactions")]
    there = [str(t) for t in targets if t.exists()]
    if there and not force:
        raise QcikitError(f"{', '.join(there)} already exist(s); nothing was written. "
                          "Fix: pass --force to replace them, or choose another folder with --out.")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise QcikitError("parquet export needs pyarrow, which a plain install leaves out. "
                              "Fix: pip install 'qcikit[parquet]', or use --format csv.") from None
    tables = {"elements": element_table(eng), "interactions": eng.scored()}
    written = []
    for name, df in tables.items():
        target = out_dir / f"{eng.slug}_{name}.{fmt}"
        if fmt == "csv":
            write_csv(df, target)
        else:
            import io

            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            atomic_write_bytes(target, buf.getvalue())
        written.append(target)
    return written
