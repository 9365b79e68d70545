"""Scenario inventory: facets, feasible scenarios, classification, frequencies, coverage.

A *scenario* is one feasible combination of facet levels — by default
touchpoint × customer type × inquiry type (the concern as the customer sees
it) × emotional state × objective — minus the exclusions (combinations that
cannot occur).  The schema lives in ``scenarios.yaml``::

    facets:
      touchpoint: [email, chat, phone, face_to_face]
      emotional_state: [calm, confused, frustrated, angry]
      ...
    exclusions:
      - {touchpoint: face_to_face, inquiry_type: password_reset}
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._dist import norm_ppf
from ._io import read_yaml
from .errors import InventoryError, Problem


SEPARATOR = " / "
DEFAULT_FACETS = ("touchpoint", "customer_type", "inquiry_type", "emotional_state", "objective")


@dataclass
class ScenarioSchema:
    """Facets with their levels, and the excluded combinations."""

    facets: dict[str, list[str]]
    exclusions: list[dict[str, list[str]]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, source: str = "scenarios.yaml") -> "ScenarioSchema":
        problems = validate_schema_dict(data, source)
        if problems:
            raise InventoryError("\n".join(str(p) for p in problems))
        facets = {str(k): [str(x) for x in v] for k, v in data["facets"].items()}
        excl = [
            {str(k): [str(v)] if not isinstance(v, list) else [str(x) for x in v] for k, v in e.items()}
            for e in (data.get("exclusions") or [])
        ]
        labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
        return cls(facets, excl, labels)

    @property
    def names(self) -> list[str]:
        return list(self.facets)

    def label(self, value) -> str:
        """How a report names a facet, level or team: ``labels:`` in scenarios.yaml, else a tidy id.

        >>> ScenarioSchema({"touchpoint": ["face_to_face"]}, labels={"face_to_face": "At the desk"}).label("face_to_face")
        'At the desk'
        >>> ScenarioSchema({"touchpoint": ["email"]}).label("customer_type")
        'Customer type'
        """
        return self.labels.get(str(value)) or tidy_label(value)

    def scenario_label(self, scenario: str) -> str:
        """A scenario name (levels joined by ' / ') with each level's label, joined by ' · '."""
        return " · ".join(self.label(v) for v in str(scenario).split(SEPARATOR))

    def excluded_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """True for rows of ``frame`` (facet columns) that an exclusion forbids."""
        mask = np.zeros(len(frame), dtype=bool)
        for e in self.exclusions:
            m = np.ones(len(frame), dtype=bool)
            for facet, levels in e.items():
                m &= frame[facet].isin(levels).to_numpy()
            mask |= m
        return mask


def tidy_label(value) -> str:
    """An id as a reader would write it: underscores become spaces, first letter capital.

    >>> tidy_label("front_desk"), tidy_label("get_information"), tidy_label("VIP_desk")
    ('Front desk', 'Get information', 'VIP desk')
    """
    text = re.sub(r"[_]+", " ", str(value)).strip()
    return text[:1].upper() + text[1:]


def validate_schema_dict(data: Any, source: str = "scenarios.yaml") -> list[Problem]:
    """Every problem in a scenario schema mapping (empty list when sound)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("facets"), Mapping) or not data["facets"]:
        return [Problem(source, "key facets", "the schema needs a 'facets' mapping of facet name to a list of levels.",
                        "Start from src/qcikit/templates/scenarios.yaml.")]
    p = []
    facets = data["facets"]
    for name, levels in facets.items():
        if not isinstance(levels, list) or not levels:
            p.append(Problem(source, f"key facets.{name}", "a facet needs a non-empty list of levels.",
                             "Write the levels as a YAML list, e.g. [email, chat, phone]."))
        elif len(set(map(str, levels))) != len(levels):
            p.append(Problem(source, f"key facets.{name}", "a level appears twice.", "Remove the repeated level."))
    excl = data.get("exclusions") or []
    if not isinstance(excl, list):
        return p + [Problem(source, "key exclusions", "exclusions must be a list of mappings.",
                            "Write one '- {facet: level, ...}' line per impossible combination.")]
    labels = data.get("labels")
    if labels is not None and (not isinstance(labels, Mapping)
                               or not all(isinstance(v, (str, int, float)) for v in labels.values())):
        p.append(Problem(source, "key labels", "labels must map an id (a facet, level or team) to the text a report shows.",
                         "Write one 'id: Label' line per id, e.g. 'face_to_face: At the desk'."))
    for i, e in enumerate(excl):
        if not isinstance(e, Mapping) or not e:
            p.append(Problem(source, f"key exclusions.{i}", "an exclusion must map facets to levels.",
                             "Write it as {facet: level, other_facet: [level, level]}."))
            continue
        for facet, levels in e.items():
            if facet not in facets:
                p.append(Problem(source, f"key exclusions.{i}", f"facet '{facet}' is not defined.",
                                 f"Use one of {', '.join(map(str, facets))}."))
                continue
            for lv in levels if isinstance(levels, list) else [levels]:
                if isinstance(facets[facet], list) and str(lv) not in map(str, facets[facet]):
                    p.append(Problem(source, f"key exclusions.{i}", f"level '{lv}' is not a level of facet '{facet}'.",
                                     f"Use one of {', '.join(map(str, facets[facet]))}."))
    return p


def load_schema(path: str | Path) -> ScenarioSchema:
    """Read and validate ``scenarios.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise InventoryError(f"{path}: the scenario schema does not exist. Fix: copy src/qcikit/templates/scenarios.yaml.")
    return ScenarioSchema.from_dict(read_yaml(path, InventoryError), path.name)


def scenario_names(frame: pd.DataFrame, facets: list[str]) -> pd.Series:
    """The scenario name of each row: its facet levels joined by ' / '."""
    out = frame[facets[0]].astype(str)
    for f in facets[1:]:
        out = out + SEPARATOR + frame[f].astype(str)
    return out.rename("scenario")


def scenarios(schema: ScenarioSchema) -> pd.DataFrame:
    """Every feasible scenario: one row per facet combination not excluded.

    Examples
    --------
    >>> s = ScenarioSchema({"touchpoint": ["email", "chat"], "mood": ["calm", "angry"]},
    ...                    [{"touchpoint": ["chat"], "mood": ["angry"]}])
    >>> scenarios(s)["scenario"].tolist()
    ['email / calm', 'email / angry', 'chat / calm']
    """
    idx = pd.MultiIndex.from_product(list(schema.facets.values()), names=schema.names)
    frame = idx.to_frame(index=False)
    frame = frame[~schema.excluded_mask(frame)].reset_index(drop=True)
    frame["scenario"] = scenario_names(frame, schema.names)
    return frame


def classification_problems(inventory_df: pd.DataFrame, schema: ScenarioSchema, source: str = "inventory.csv") -> list[Problem]:
    """Every problem in a classification table: missing facet columns, unknown levels, excluded combinations."""
    p = []
    missing = [f for f in schema.names if f not in inventory_df.columns]
    if missing:
        return [Problem(source, "header", f"missing facet column(s) {', '.join(missing)}.",
                        f"Add one column per facet of scenarios.yaml ({', '.join(schema.names)}).")]
    for f, levels in schema.facets.items():
        col = inventory_df[f].astype("string")
        bad = ~col.isin(levels).fillna(False).to_numpy()
        for i in np.flatnonzero(bad)[:20]:
            p.append(Problem(source, f"row {i + 2}", f"{f} '{inventory_df[f].iloc[i]}' is not a level of facet '{f}'.",
                             f"Use one of {', '.join(levels)}, or add the level to scenarios.yaml."))
    if not p:
        excl = schema.excluded_mask(inventory_df)
        for i in np.flatnonzero(excl)[:20]:
            combo = SEPARATOR.join(str(inventory_df[f].iloc[i]) for f in schema.names)
            p.append(Problem(source, f"row {i + 2}", f"the combination '{combo}' is excluded in scenarios.yaml.",
                             "Correct the classification, or remove the exclusion if this scenario does occur."))
    return p


def assign(inventory_df: pd.DataFrame, schema: ScenarioSchema, source: str = "inventory.csv") -> pd.DataFrame:
    """Validate classifications and add the ``scenario`` column.

    Raises
    ------
    InventoryError
        Listing every row with an unknown level or an excluded combination.
    """
    problems = classification_problems(inventory_df, schema, source)
    if problems:
        raise InventoryError("\n".join(str(p) for p in problems))
    out = inventory_df.copy()
    out["scenario"] = scenario_names(out, schema.names)
    return out


def wilson_interval(share, n, confidence: float = 0.95):
    """Wilson score interval for a share from n observations (n may be an effective, non-integer size).

    The one Wilson interval of the kit (statsmodels' ``proportion_confint``), used for
    scenario shares and Customer Effort shares alike.
    """
    from statsmodels.stats.proportion import proportion_confint

    share, n = np.asarray(share, dtype=float), np.asarray(n, dtype=float)
    lo, hi = proportion_confint(share * n, n, alpha=1 - confidence, method="wilson")
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def frequencies(
    assigned: pd.DataFrame,
    weights: pd.Series | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Scenario frequencies in the sample and design-weighted population estimates.

    The population share of scenario *s* is :math:`\\hat p_s = \\sum_i w_i 1[s_i = s] / \\sum_i w_i`
    with a Wilson interval on Kish's effective sample size
    :math:`n_{eff} = (\\sum w)^2 / \\sum w^2` (Kish 1965, *Survey Sampling*, §11.7).

    Parameters
    ----------
    assigned : DataFrame
        Output of :func:`assign` (needs ``scenario``).
    weights : Series, optional
        Design weights aligned with ``assigned`` (default: 1 each).

    Returns
    -------
    DataFrame
        ``scenario``, ``n`` (in the sample), ``share`` (weighted), ``ci_low``,
        ``ci_high``, ``population`` (estimated count), sorted by share.
    """
    if "scenario" not in assigned.columns:
        raise InventoryError("frequencies: the table has no 'scenario' column. Fix: pass the output of inventory.assign().")
    w = np.ones(len(assigned)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(assigned) or np.isnan(w).any() or (w <= 0).any():
        raise InventoryError("frequencies: weights must be positive numbers, one per classified interaction. "
                             "Fix: pass the 'weight' column of sample.csv aligned with the inventory.")
    g = pd.DataFrame({"scenario": assigned["scenario"].to_numpy(), "w": w})
    agg = g.groupby("scenario", sort=False)["w"].agg(["size", "sum"])
    total = w.sum()
    n_eff = total**2 / (w**2).sum()
    share = agg["sum"].to_numpy() / total
    lo, hi = wilson_interval(share, np.full(len(share), n_eff), confidence)
    out = pd.DataFrame({
        "scenario": agg.index, "n": agg["size"].to_numpy(), "share": share,
        "ci_low": lo, "ci_high": hi, "population": agg["sum"].to_numpy(),
    })
    return out.sort_values(["share", "scenario"], ascending=[False, True], ignore_index=True)


def coverage(assigned: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """How complete is the scenario inventory?

    Sample coverage is Good–Turing's :math:`\\hat C = 1 - \\frac{f_1}{n}` with
    Chao & Jost's (2012) refinement

    .. math:: \\hat C = 1 - \\frac{f_1}{n}\\left[\\frac{(n-1) f_1}{(n-1) f_1 + 2 f_2}\\right]

    where :math:`f_1` and :math:`f_2` are the numbers of scenarios seen once
    and twice; :math:`1 - \\hat C` estimates the share of the population that
    falls in scenarios not yet seen.  The total number of scenarios is the
    bias-corrected Chao1 estimate (Chao 1987; Colwell 2013, *EstimateS* user
    guide, appendix B)

    .. math:: \\hat S = S_{obs} + \\frac{f_1 (f_1 - 1)}{2 (f_2 + 1)}

    with its variance and Chao's log-normal confidence interval (the form
    scikit-bio implements; EstimateS multiplies the second term by
    :math:`(n-1)/n`, which changes nothing at inventory sample sizes).

    Returns
    -------
    DataFrame
        One row: ``n``, ``observed``, ``singletons``, ``doubletons``,
        ``coverage``, ``unseen_share``, ``chao1``, ``chao1_low``, ``chao1_high``.

    References
    ----------
    Good, I. J. (1953). The population frequencies of species. *Biometrika* 40, 237–264.
    Chao, A. (1987). Estimating the population size for capture–recapture data
    with unequal catchability. *Biometrics* 43, 783–791.
    Chao, A. & Jost, L. (2012). Coverage-based rarefaction and extrapolation.
    *Ecology* 93, 2533–2547.
    """
    if "scenario" not in assigned.columns:
        raise InventoryError("coverage: the table has no 'scenario' column. Fix: pass the output of inventory.assign().")
    counts = assigned["scenario"].value_counts().to_numpy()
    return coverage_from_counts(counts, confidence)


def coverage_from_counts(counts: np.ndarray, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`coverage` from the count of each observed scenario (see there)."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts > 0]
    n = counts.sum()
    if n < 2:
        raise InventoryError("coverage: fewer than two classified interactions. Fix: classify more of the sample first.")
    s_obs = len(counts)
    f1 = float((counts == 1).sum())
    f2 = float((counts == 2).sum())
    if f1 == 0:
        cov = 1.0
    else:
        cov = 1 - (f1 / n) * ((n - 1) * f1 / ((n - 1) * f1 + 2 * f2))
    chao1 = s_obs + f1 * (f1 - 1) / (2 * (f2 + 1))
    # Variance of the bias-corrected estimator (Chao 2005; EstimateS user guide, appendix B),
    # with Chao's (1987) log-normal interval around the unseen part.
    var = (f1 * (f1 - 1) / (2 * (f2 + 1)) + f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
           + f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4))
    t = chao1 - s_obs
    z = norm_ppf(0.5 + confidence / 2)
    if t > 0 and var > 0:
        k = np.exp(z * np.sqrt(np.log(1 + var / t**2)))
        lo, hi = s_obs + t / k, s_obs + t * k
    else:
        lo = hi = float(chao1)
    return pd.DataFrame([{
        "n": int(n), "observed": s_obs, "singletons": int(f1), "doubletons": int(f2),
        "coverage": cov, "unseen_share": 1 - cov, "chao1": chao1, "chao1_low": lo, "chao1_high": hi,
    }])


def excluded_pairs(schema: ScenarioSchema, rows: str, cols: str) -> pd.DataFrame:
    """Level pairs of two facets that no feasible scenario has (greyed out on the scenario map)."""
    feasible = scenarios(schema)[[rows, cols]].drop_duplicates()
    every = pd.MultiIndex.from_product([schema.facets[rows], schema.facets[cols]], names=[rows, cols]).to_frame(index=False)
    merged = every.merge(feasible, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"][[rows, cols]].reset_index(drop=True)


def save_classification(folder: str | Path, interaction_id: str, levels: Mapping[str, str], schema: ScenarioSchema) -> Path:
    """Write one interaction's classification into ``folder/inventory.csv`` (atomically).

    A re-classification replaces that interaction's row; other rows and any
    extra columns are kept. Unknown levels and excluded combinations are refused.
    """
    from ._io import write_csv

    missing = [f for f in schema.names if not levels.get(f)]
    if missing:
        raise InventoryError(f"interaction {interaction_id}: no level chosen for {', '.join(missing)}. Fix: choose one for each facet.")
    row = pd.DataFrame([{"interaction_id": str(interaction_id), **{f: str(levels[f]) for f in schema.names}}])
    problems = classification_problems(row, schema, "the classification")
    if problems:
        raise InventoryError(f"interaction {interaction_id}: {problems[0].message} Fix: {problems[0].fix}")
    path = Path(folder) / "inventory.csv"
    if path.is_file():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        old = old[old["interaction_id"] != str(interaction_id)]
        row = pd.concat([old, row], ignore_index=True).fillna("")
    return write_csv(row, path)
