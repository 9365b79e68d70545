"""An engagement folder as a consultant's workspace: its own notebooks, and the
defaults those notebooks take from the engagement.

The step and training notebooks ship inside the package (``qcikit.notebooks``),
so a plain ``pip install`` has them.  ``write_notebooks(DIR)`` copies them into
``DIR/notebooks/`` with their ``engagement`` parameter pointing at ``DIR``
(relative, so the folder can be moved or shared), outputs cleared.  A copy
records a hash of its cells; a notebook the consultant has edited is never
overwritten without ``force=True``.

Notebook parameters left as ``None`` are filled from the engagement by the
``default_*`` functions below — a notebook never names an element, facet
level, touchpoint, team or rater of one particular client.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ._io import atomic_write_text
from .errors import QcikitError

STEP_NOTEBOOKS = ("01_identify_opportunities.ipynb", "02_take_inventory.ipynb", "03_criteria_and_measurement.ipynb",
                  "04_model_answers_and_metrics.ipynb")
TRAINING_NOTEBOOKS = ("training/01_score_like_gold.ipynb", "training/02_precise_rules.ipynb",
                      "training/03_reading_a_report.ipynb")
REPORT = "client_report.ipynb"
_ENGAGEMENT_LINE = re.compile(r"^engagement\s*=.*$", re.M)


def notebooks_dir() -> Path:
    """The folder of the shipped notebooks.

    In an installed wheel they are package data of ``qcikit.notebooks``; in a
    checkout (editable install) they are the project's ``notebooks/`` folder.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks", here.parents[1] / "notebooks"):
        if (candidate / REPORT).is_file():
            return candidate
    raise QcikitError(f"the qcikit notebooks are not installed next to {here}. "
                      "Fix: reinstall qcikit (`pip install --force-reinstall qcikit`).")


def report_notebook() -> Path:
    """Path of ``client_report.ipynb``, the notebook ``qcikit render`` executes."""
    return notebooks_dir() / REPORT


def _cells_hash(nb: dict) -> str:
    src = [(c.get("cell_type"), "".join(c.get("source", ""))) for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(src).encode()).hexdigest()


_RECORD_LINE = re.compile(r"^record = False.*$", re.M)


def _workspace_copy(source: Path, engagement_ref: str) -> str:
    """The shipped notebook with its outputs cleared and ``engagement`` pointing at the workspace."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            src = "".join(cell["source"])
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                src = _ENGAGEMENT_LINE.sub(f'engagement = "{engagement_ref}"  # this workspace\'s engagement folder', src, count=1)
                # In a workspace, a certification is kept in the engagement's store (the sample notebooks do not write).
                src = _RECORD_LINE.sub("record = True  # keep the certification result in the engagement's score store",
                                       src, count=1)
            cell["source"] = src
    nb.get("metadata", {}).pop("widgets", None)
    nb["metadata"]["qcikit"] = {"cells_sha256": _cells_hash(nb)}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def edited(path: Path) -> bool:
    """True when a workspace notebook's cells differ from what qcikit wrote (the consultant changed it)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    recorded = nb.get("metadata", {}).get("qcikit", {}).get("cells_sha256")
    return recorded != _cells_hash(nb)


def write_notebooks(folder: str | Path, force: bool = False, training: bool = True) -> list[Path]:
    """(Re)write the workspace notebooks of the engagement in ``folder``.

    Step notebooks go to ``folder/notebooks/`` and training notebooks to
    ``folder/notebooks/training/``; engagement data are never touched.

    Parameters
    ----------
    folder : path
        An engagement folder (it must hold ``engagement.yaml``).
    force : bool
        Overwrite notebooks the consultant has edited. Without it, an edited
        notebook stops the whole call before anything is written.
    training : bool
        Also write the training notebooks.

    Returns
    -------
    list of Path, the notebooks written.
    """
    folder = Path(folder)
    if not (folder / "engagement.yaml").is_file():
        raise QcikitError(f"{folder}: there is no engagement.yaml, so this is not an engagement folder. "
                          "Fix: pass the engagement's folder, or create one with `qcikit new DIR --client NAME`.")
    names = list(STEP_NOTEBOOKS) + (list(TRAINING_NOTEBOOKS) if training else [])
    src_dir, out_dir = notebooks_dir(), folder / "notebooks"
    changed = [out_dir / n for n in names if (out_dir / n).exists() and edited(out_dir / n)]
    if changed and not force:
        listed = ", ".join(str(p.relative_to(folder)) for p in changed)
        raise QcikitError(f"{folder}: {listed} {'was' if len(changed) == 1 else 'were'} edited since qcikit wrote "
                          f"{'it' if len(changed) == 1 else 'them'}; nothing was changed. "
                          "Fix: rename your edited copies first, or pass --force to replace them.")
    written = []
    for n in names:
        ref = "../.." if n.startswith("training/") else ".."
        written.append(atomic_write_text(out_dir / n, _workspace_copy(src_dir / n, ref)))
    return written


# -- defaults a notebook takes from its engagement ------------------------------------------------
def resolve_engagement(engagement: str | Path | None) -> Path:
    """The engagement folder a notebook works on: ``engagement`` when given, else the
    workspace the notebook sits in (``..`` or ``../..`` holding engagement.yaml)."""
    if engagement is not None:
        return Path(engagement)
    for up in (Path(".."), Path("../..")):
        if (up / "engagement.yaml").is_file():
            return up
    raise QcikitError("this notebook is not inside an engagement workspace and no engagement was given. "
                      "Fix: set the `engagement` parameter to the engagement folder, or run `qcikit notebooks DIR`.")


def default_scenario(eng) -> dict:
    """The most frequent classified scenario (facet → level); the first feasible one when nothing is classified."""
    facets = eng.schema.names
    inv = eng.inventory_facets()
    if inv is not None and len(inv):
        top = inv.groupby(facets, dropna=False).size().sort_values(ascending=False, kind="stable")
        return dict(zip(facets, top.index[0] if len(facets) > 1 else (top.index[0],)))
    from .inventory import scenarios

    return scenarios(eng.schema).iloc[0][facets].to_dict()


def default_wave(eng, wave: str | None = None, scored: bool = True) -> str:
    """``wave`` when given; else the latest wave that has scores (or the latest declared)."""
    if wave is not None:
        return wave
    waves = eng.config.waves
    if scored and eng.scores is not None and "wave" in eng.scores:
        present = [w for w in waves if (eng.scores["wave"] == w).any()]
        if present:
            return present[-1]
    return waves[-1]


def weakest_elements(eng, n: int = 4, wave: str | None = None) -> list[str]:
    """The ``n`` elements with the lowest mean share of their maximum in ``wave`` (default: latest scored);
    the ``n`` heaviest elements when there are no scores yet."""
    el = eng.rubric.elements
    if eng.scores is None:
        return list(eng.rubric.weights().sort_values(ascending=False, kind="stable").index[:n])
    s = eng.scores
    if "wave" in s:
        s = s[s["wave"] == default_wave(eng, wave)]
    share = (s["points"] / s["element"].map(el["max_points"])).groupby(s["element"]).mean().dropna()
    return list(share.sort_values(kind="stable").index[:n])


def heatmap_facets(schema) -> tuple[str, str]:
    """Two facets worth crossing in the scenario map: the pair with the most exclusions
    (where the schema says combinations cannot occur), else the last two facets."""
    names = schema.names
    if len(names) < 2:
        raise QcikitError("scenarios.yaml has fewer than two facets, so there is no map to draw. Fix: add a facet.")
    counts: dict[tuple[str, str], int] = {}
    for rule in schema.exclusions:
        keys = [k for k in names if k in rule]
        if len(keys) == 2:
            counts[tuple(keys)] = counts.get(tuple(keys), 0) + 1
    if counts:
        return max(counts, key=lambda k: (counts[k], names.index(k[0])))
    return names[-2], names[-1]


def discordant_rater(eng) -> str:
    """The rater whose scores differ from gold most often (the one a trainer reviews first)."""
    if eng.scores is None or eng.gold is None:
        raise QcikitError(f"{eng.path}: scores and gold.csv are both needed to compare a rater with gold. "
                          "Fix: add gold.csv (reference scores) and score some of its interactions.")
    m = eng.scores.merge(eng.gold[["interaction_id", "element", "points"]], on=["interaction_id", "element"],
                         suffixes=("", "_gold"))
    if m.empty:
        raise QcikitError(f"{eng.path}: no rater scored a gold interaction. Fix: have raters score gold.csv's interactions.")
    differs = (m["points"] != m["points_gold"]) & ~(m["points"].isna() & m["points_gold"].isna())
    rate = differs.groupby(m["rater"]).mean()
    return str(rate.sort_values(ascending=False, kind="stable").index[0])


def gold_interactions(eng, n: int = 10) -> list[str]:
    """The first ``n`` gold interactions (sorted ids), the training set of notebook 1."""
    if eng.gold is None:
        raise QcikitError(f"{eng.path}: gold.csv is missing. Fix: add reference scores for some interactions.")
    return sorted(eng.gold["interaction_id"].unique())[:n]

