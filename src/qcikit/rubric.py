"""The rubric: dimensions, elements, scoring rules and per-scenario weights.

A rubric file (``rubric.yaml``) names four dimensions (by default Timing,
Information, Connection and Differentiation) with weights summing to 1, and
8–20 elements.  Each element belongs to one dimension and has a maximum number
of points, a relative weight inside its dimension, additive and subtractive
scoring rules (each with an example), whether "not applicable" is allowed and
an optional ``critical`` block that states what a fail does to the score.

Weights
-------
The effective weight of element *e* in dimension *d* for one interaction is

.. math:: w_e = W_d' \\, \\frac{v_e}{\\sum_{k \\in d,\\ k \\text{ applicable}} v_k}

where :math:`v_e` is the element's relative weight (times any scenario
factor) and :math:`W_d'` the dimension weight (times any scenario factor)
renormalized over the dimensions that have at least one applicable element.
So a not-applicable element shares its weight among the rest of its
dimension, and a dimension with nothing applicable shares its weight among
the other dimensions.  The effective weights of one interaction sum to 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd
from ._io import read_yaml
from ._schema import SchemaError, record, spec, validate
from .errors import Problem, RubricError

MIN_ELEMENTS = 8
MAX_ELEMENTS = 20
DEFAULT_DIMENSIONS = ("Timing", "Information", "Connection", "Differentiation")
CriticalEffect = Literal["zero_interaction", "zero_dimension", "cap"]
CRITICAL_EFFECTS = ("zero_interaction", "zero_dimension", "cap")


Timing = Literal["within_standard", "over_double_standard", "silent_gap"]
TIMINGS = ("within_standard", "over_double_standard", "silent_gap")
BRAND_PLACEHOLDERS = ("{signature_phrases}", "{sign_off}", "{avoid}")


class _Model:
    # Unknown keys are refused (a misspelt key would silently do nothing) and values lose surrounding spaces.
    __extra__ = "forbid"
    __strip__ = True


def _compiles(value: list[str]) -> list[str]:
    for pattern in value:
        probe = pattern
        for key in BRAND_PLACEHOLDERS:
            probe = probe.replace(key, "x")
        check_regex(probe, f"the pattern '{pattern}'", "or as a plain phrase")
    return value


def check_positive(values: dict[str, float], what: str) -> dict[str, float]:
    """``values`` unchanged, or ``ValueError`` (a field check's error) naming the keys whose value is not above 0."""
    bad = [k for k, x in values.items() if not x > 0]
    if bad:
        raise ValueError(f"{what} (see {', '.join(bad)})")
    return values


def check_regex(pattern: str, what: str, example: str) -> None:
    """Raise ``ValueError`` (a field check's error) naming ``what`` when ``pattern`` is not a regular expression."""
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} is not a valid regular expression ({exc}); write it as Python's re module "
                         f"reads it, {example}") from None


@record
class Rule(_Model):
    """One scoring rule: a behaviour that adds or removes points, with an example.

    ``patterns`` and ``timing`` are optional and only for the ``rules`` auto-scorer (:mod:`qcikit.assist`):
    regular expressions that show the rule fired in an agent's words (case-insensitive; a plain phrase is one;
    ``{signature_phrases}``, ``{sign_off}`` and ``{avoid}`` stand for the brand voice's lists), or a measure
    read from the transcript's timestamps.
    """

    id: str
    text: str = spec(min_length=1)
    points: float = spec(gt=0)
    example: str = spec(min_length=1)
    patterns: list[str] = spec(factory=list)
    timing: Timing | None = None

    __checks__ = {"patterns": _compiles}


@record
class Rules(_Model):
    additive: list[Rule] = spec(factory=list)
    subtractive: list[Rule] = spec(factory=list)


@record
class Critical(_Model):
    """What a fail of a critical element does.

    ``zero_interaction`` sets the QCI to 0, ``zero_dimension`` sets the
    element's dimension to 0, ``cap`` caps the QCI at ``cap``.  An element
    fails when its points are below ``fail_below``.
    """

    effect: CriticalEffect
    cap: float | None = spec(None, ge=0, le=100)
    fail_below: float = spec(1.0, gt=0)


@record
class Element(_Model):
    id: str
    name: str
    dimension: str
    description: str = ""
    max_points: float = spec(gt=0)
    weight: float = spec(1.0, gt=0)
    start: float = spec(0.0, ge=0)
    na_allowed: bool = False
    critical: Critical | None = None
    concepts: list[str] = spec(factory=list)
    rules: Rules


@record
class Dimension(_Model):
    name: str
    weight: float = spec(gt=0)
    description: str = ""
    # Concepts of the step-1 catalogue this dimension serves, when its words do not say so.
    concepts: list[str] = spec(factory=list)


def _positive_factors(v: dict[str, float]) -> dict[str, float]:
    return check_positive(v, "factors must be greater than 0")


@record
class ScenarioRule(_Model):
    """Weight changes for the scenarios that match ``when``.

    ``when`` maps a facet to one level or a list of levels; all facets must
    match.  ``dimension_factors`` and ``element_factors`` multiply weights;
    ``exclude`` lists elements that do not apply in the matching scenarios.
    """

    name: str
    when: dict[str, str | list[str]]
    dimension_factors: dict[str, float] = spec(factory=dict)
    element_factors: dict[str, float] = spec(factory=dict)
    exclude: list[str] = spec(factory=list)

    __checks__ = {"dimension_factors": _positive_factors, "element_factors": _positive_factors}


@record
class Change(_Model):
    """One entry of the rubric's changelog: the version it made, when, what changed and why."""

    version: str
    date: str = spec(pattern=r"^\d{4}-\d{2}-\d{2}$")
    what: str = spec(min_length=1)
    why: str = spec(min_length=1)


@record
class RubricModel(_Model):
    version: str
    name: str = "Rubric"
    dimensions: list[Dimension]
    elements: list[Element]
    scenario_rules: list[ScenarioRule] = spec(factory=list)
    # The changelog, oldest first: rewording a rule makes a new version and an entry here.
    changes: list[Change] = spec(factory=list)


def schema_problems(file: str, exc: SchemaError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "missing":
            fix = f"add the key '{err['loc'][-1]}'."
        elif kind == "extra_forbidden":
            fix = "remove or rename this key (check its spelling against src/qcikit/templates/rubric.yaml)."
        else:
            fix = "correct this value."
        msg = err["msg"].rstrip(".")
        out.append(Problem(file, f"key {loc}", f"{msg}.", fix[0].upper() + fix[1:]))
    return out


@dataclass
class Rubric:
    """A validated rubric.  Build one with :func:`load_rubric` or :meth:`from_dict`."""

    model: RubricModel
    source: str = "rubric.yaml"
    _elements: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = []
        for e in self.model.elements:
            rows.append(
                {
                    "element": e.id,
                    "name": e.name,
                    "dimension": e.dimension,
                    "max_points": e.max_points,
                    "weight": e.weight,
                    "na_allowed": e.na_allowed,
                    "critical": e.critical.effect if e.critical else None,
                    "critical_cap": e.critical.cap if e.critical else None,
                    "fail_below": e.critical.fail_below if e.critical else None,
                }
            )
        self._elements = pd.DataFrame(rows).set_index("element")

    # -- construction -------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "rubric.yaml") -> "Rubric":
        """Validate a rubric given as a mapping; raise :class:`RubricError` listing every problem."""
        model, problems = checked_rubric(data, source)
        if problems:
            raise RubricError("\n".join(str(p) for p in problems))
        return cls(model, source)

    # -- views ----------------------------------------------------------
    @property
    def version(self) -> str:
        return self.model.version

    @property
    def elements(self) -> pd.DataFrame:
        """One row per element: name, dimension, max_points, weight, na_allowed, critical."""
        return self._elements.copy()

    @property
    def element_ids(self) -> list[str]:
        # Asked for in every loop over elements: built once (the rubric does not change once loaded).
        ids = self.__dict__.get("_element_ids")
        if ids is None:
            ids = self.__dict__["_element_ids"] = tuple(self._elements.index)
        return list(ids)

    @property
    def versions(self) -> list[str]:
        """Every version this rubric has had, oldest first (its changelog's, then the current one)."""
        return list(dict.fromkeys([*(c.version for c in self.model.changes), self.version]))

    def changes_between(self, old: str, new: str) -> list[Change]:
        """The changelog entries that lead from version ``old`` to ``new`` (empty when either is unknown)."""
        v = self.versions
        if old not in v or new not in v or v.index(old) >= v.index(new):
            return []
        return [c for c in self.model.changes if v.index(old) < v.index(c.version) <= v.index(new)]

    @property
    def dimensions(self) -> list[str]:
        return [d.name for d in self.model.dimensions]

    @property
    def max_points(self) -> pd.Series:
        return self._elements["max_points"].copy()

    def element(self, element_id: str) -> Element:
        for e in self.model.elements:
            if e.id == element_id:
                return e
        raise RubricError(
            f"{self.source}: there is no element '{element_id}'. "
            f"Fix: use one of {', '.join(self.element_ids)}."
        )

    def to_frame(self, elements: list[str] | None = None) -> pd.DataFrame:
        """The rubric as a readable long table: one row per scoring rule (of ``elements``, ids; default all)."""
        rows = []
        for e in self.model.elements:
            if elements is not None and e.id not in elements:
                continue
            for kind in ("additive", "subtractive"):
                for r in getattr(e.rules, kind):
                    rows.append(
                        {
                            "dimension": e.dimension,
                            "element": e.name,
                            "max_points": e.max_points,
                            "kind": kind,
                            "points": r.points if kind == "additive" else -r.points,
                            "rule": r.text,
                            "example": r.example,
                        }
                    )
        return pd.DataFrame(rows)

    # -- weights ---------------------------------------------------------
    def _factors(self, scenario: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """Dimension weights and element relative weights after scenario rules (0 = off)."""
        # Called per distinct scenario by validation and scoring: the base weights and positions are built once.
        base = self.__dict__.get("_base_factors")
        if base is None:
            base = self.__dict__["_base_factors"] = (
                np.array([d.weight for d in self.model.dimensions], dtype=float),
                self._elements["weight"].to_numpy(dtype=float).copy(),
                {d: k for k, d in enumerate(self.dimensions)}, {e: k for k, e in enumerate(self.element_ids)})
        dim_w, el_w = base[0].copy(), base[1].copy()
        if scenario:
            dim_at, el_at = base[2], base[3]
            for rule in self.model.scenario_rules:
                if _matches(rule.when, scenario):
                    for d, f in rule.dimension_factors.items():
                        dim_w[dim_at[d]] *= f
                    for e, f in rule.element_factors.items():
                        el_w[el_at[e]] *= f
                    for e in rule.exclude:
                        el_w[el_at[e]] = 0.0
        return dim_w, el_w

    def excluded_by(self, scenario: Mapping[str, Any] | None) -> dict[str, str]:
        """Elements a scenario rule switches off in ``scenario``, each with the name of the rule that does."""
        out: dict[str, str] = {}
        for rule in self.model.scenario_rules if scenario else ():
            if _matches(rule.when, scenario):
                out.update({e: rule.name for e in rule.exclude})
        return out

    def active_elements(self, scenario: Mapping[str, Any] | None = None) -> list[str]:
        """Elements that apply in ``scenario`` (not switched off by a scenario rule)."""
        _, el_w = self._factors(scenario)
        return [e for e, w in zip(self.element_ids, el_w) if w > 0]

    def weights(
        self,
        scenario: Mapping[str, Any] | None = None,
        na: Iterable[str] = (),
    ) -> pd.Series:
        """Effective element weights for one interaction; they sum to 1.

        Parameters
        ----------
        scenario : mapping of facet to level, optional
            The interaction's classification (``{"emotional_state": "angry", ...}``);
            scenario rules whose ``when`` matches change the weights.
        na : iterable of element ids
            Elements scored "not applicable" for this interaction.

        Returns
        -------
        pandas.Series
            Indexed by element id; elements that do not apply have weight 0.

        Examples
        --------
        >>> from qcikit.templates import starter_rubric
        >>> w = starter_rubric().weights()
        >>> round(float(w.sum()), 6)
        1.0
        """
        na = set(na)
        unknown = na - set(self.element_ids)
        if unknown:
            raise RubricError(
                f"{self.source}: unknown element(s) {', '.join(sorted(unknown))} in na. "
                f"Fix: use element ids from the rubric ({', '.join(self.element_ids)})."
            )
        dim_w, el_w = self._factors(scenario)
        mask = np.array([e not in na for e in self.element_ids])
        w = effective_weights(dim_w, el_w[None, :] * mask[None, :], self.dimension_codes)[0]
        return pd.Series(w, index=pd.Index(self.element_ids, name="element"), name="weight")

    @property
    def dimension_codes(self) -> np.ndarray:
        """For each element, the position of its dimension in :attr:`dimensions`."""
        dims = self.dimensions
        return np.array([dims.index(d) for d in self._elements["dimension"]], dtype=int)

    def scenario_factor_arrays(self, scenarios: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Dimension and element weight arrays, one row per row of ``scenarios``.

        Vectorized over the scenarios: each scenario rule is one comparison per facet of its ``when`` and one
        product over the rows it matches, never a loop over scenarios or interactions. A facet value is
        compared as text, as :meth:`weights` compares it.
        """
        n = len(scenarios)
        dim_w, el_w = self._factors(None)
        dim_w, el_w = np.tile(dim_w, (n, 1)), np.tile(el_w, (n, 1))
        if scenarios.shape[1] == 0 or not self.model.scenario_rules or n == 0:
            return dim_w, el_w
        dim_at = {d: k for k, d in enumerate(self.dimensions)}
        el_at = {e: k for k, e in enumerate(self.element_ids)}
        text = {}
        for rule in self.model.scenario_rules:
            hit = np.ones(n, dtype=bool)
            for facet, levels in rule.when.items():
                if facet not in scenarios:
                    hit[:] = False
                    break
                if facet not in text:
                    text[facet] = scenarios[facet].astype(str)
                hit &= text[facet].isin([levels] if isinstance(levels, str) else list(levels)).to_numpy()
            if not hit.any():
                continue
            for d, f in rule.dimension_factors.items():
                dim_w[hit, dim_at[d]] *= f
            for e, f in rule.element_factors.items():
                el_w[hit, el_at[e]] *= f
            for e in rule.exclude:
                el_w[hit, el_at[e]] = 0.0
        return dim_w, el_w

    # -- rule engine -------------------------------------------------------
    def points_from_rules(self, hits: pd.DataFrame) -> pd.DataFrame:
        """Turn rule hits into element points.

        ``hits`` is long: ``interaction_id``, ``rater``, ``element``, ``rule``
        (a rule id).  Points are ``start + Σ additive − Σ subtractive``,
        clipped to ``[0, max_points]`` — a subtractive rule never takes an
        element below 0.
        """
        need = {"interaction_id", "rater", "element", "rule"}
        missing = need - set(hits.columns)
        if missing:
            raise RubricError(
                f"rule hits: missing column(s) {', '.join(sorted(missing))}. "
                "Fix: give one row per applied rule with interaction_id, rater, element, rule."
            )
        table = []
        for e in self.model.elements:
            for r in e.rules.additive:
                table.append((e.id, r.id, r.points))
            for r in e.rules.subtractive:
                table.append((e.id, r.id, -r.points))
        lookup = pd.DataFrame(table, columns=["element", "rule", "delta"])
        merged = hits.merge(lookup, on=["element", "rule"], how="left", indicator=True)
        bad = merged[merged["_merge"] != "both"]
        if len(bad):
            first = bad.iloc[0]
            raise RubricError(
                f"rule hits: rule '{first['rule']}' is not a rule of element '{first['element']}' "
                f"({len(bad)} such row(s)). Fix: use the rule ids from {self.source}."
            )
        keys = ["interaction_id", "rater", "element"]
        total = merged.groupby(keys, sort=True)["delta"].sum().reset_index()
        start = self._start_points()
        total["points"] = np.clip(
            total["element"].map(start).to_numpy() + total["delta"].to_numpy(),
            0.0,
            total["element"].map(self._elements["max_points"]).to_numpy(),
        )
        return total.drop(columns="delta")

    def rule_deltas(self, element_id: str) -> dict[str, float]:
        """Signed points of each rule of one element: additive positive, subtractive negative."""
        e = self.element(element_id)
        return {**{r.id: float(r.points) for r in e.rules.additive}, **{r.id: -float(r.points) for r in e.rules.subtractive}}

    def points_for(self, element_id: str, rules) -> float:
        """One element's points from the rules that fired: ``start + Σ additive − Σ subtractive``, clipped
        to ``[0, max_points]`` (the arithmetic of :meth:`points_from_rules`, for one element).

        >>> from qcikit.templates import starter_rubric
        >>> starter_rubric().points_for("greeting", ["personal_greeting", "warm_opening"])
        2.0
        """
        e, deltas = self.element(element_id), self.rule_deltas(element_id)
        unknown = [r for r in rules if r not in deltas]
        if unknown:
            raise RubricError(f"rule(s) {', '.join(unknown)} are not rules of element '{element_id}'. "
                              f"Fix: use one of {', '.join(deltas)}.")
        return float(np.clip(e.start + sum(deltas[r] for r in rules), 0, e.max_points))

    def _start_points(self) -> pd.Series:
        return pd.Series({e.id: e.start for e in self.model.elements})


def effective_weights(dim_w: np.ndarray, el_w: np.ndarray, dim_codes: np.ndarray) -> np.ndarray:
    """Effective element weights, row by row (see the module docstring).

    Parameters
    ----------
    dim_w : array (n_dims,) or (n, n_dims)
        Dimension weights (any positive scale).
    el_w : array (n, n_elements)
        Relative element weights; 0 where the element does not apply.
    dim_codes : array (n_elements,)
        The dimension of each element.

    Returns
    -------
    array (n, n_elements)
        Rows sum to 1 (or 0 where nothing applies).
    """
    el_w = np.asarray(el_w, dtype=float)
    n_dims = int(np.max(dim_codes)) + 1 if len(dim_codes) else 0
    onehot = np.zeros((len(dim_codes), n_dims))
    onehot[np.arange(len(dim_codes)), dim_codes] = 1.0
    dim_sum = el_w @ onehot  # (n, n_dims): applicable weight per dimension
    dim_w = np.broadcast_to(np.asarray(dim_w, dtype=float), dim_sum.shape)
    live = np.where(dim_sum > 0, dim_w, 0.0)
    live_total = live.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dim_share = np.where(live_total > 0, live / live_total, 0.0)
        per_dim = np.where(dim_sum > 0, dim_share / dim_sum, 0.0)
    return el_w * per_dim[:, dim_codes]


def _matches(when: Mapping[str, Any], scenario: Mapping[str, Any]) -> bool:
    for facet, levels in when.items():
        value = scenario.get(facet)
        allowed = [levels] if isinstance(levels, str) else list(levels)
        if value not in allowed:
            return False
    return True


def validate_rubric_dict(data: Any, source: str = "rubric.yaml", facets: Mapping[str, list[str]] | None = None) -> list[Problem]:
    """Every problem in a rubric mapping, as a list (empty when the rubric is sound).

    ``facets`` (from the scenario schema) lets scenario rules be checked
    against real facet levels.
    """
    return checked_rubric(data, source, facets)[1]


def checked_rubric(data: Any, source: str = "rubric.yaml",
                   facets: Mapping[str, list[str]] | None = None) -> tuple[RubricModel | None, list[Problem]]:
    """The rubric's record and every problem (see :func:`validate_rubric_dict`); the record is None when the
    mapping does not even fit its schema."""
    if not isinstance(data, Mapping):
        return None, [Problem(source, "", "the rubric must be a mapping with version, dimensions and elements.",
                        "Start from src/qcikit/templates/rubric.yaml.")]
    try:
        model = validate(RubricModel, data)
    except SchemaError as exc:
        return None, schema_problems(source, exc)
    p: list[Problem] = []
    dims = [d.name for d in model.dimensions]
    if len(set(dims)) != len(dims):
        p.append(Problem(source, "key dimensions", "a dimension name appears twice.", "Give each dimension a unique name."))
    total = sum(d.weight for d in model.dimensions)
    if abs(total - 1.0) > 1e-6:
        p.append(Problem(source, "key dimensions", f"dimension weights sum to {total:g}, not 1.",
                         "Adjust the dimension weights so that they add up to 1."))
    ids = [e.id for e in model.elements]
    seen: set[str] = set()
    for i, e in enumerate(model.elements):
        key = f"key elements.{i} ({e.id})"
        if e.id in seen:
            p.append(Problem(source, key, f"element id '{e.id}' appears twice.", "Give each element a unique id."))
        seen.add(e.id)
        if e.dimension not in dims:
            p.append(Problem(source, key, f"dimension '{e.dimension}' is not one of the rubric's dimensions.",
                             f"Use one of {', '.join(dims)}."))
        if not e.rules.additive and not e.rules.subtractive:
            p.append(Problem(source, key, "the element has no scoring rules.",
                             "Add at least one additive or subtractive rule with an example, so raters score it alike."))
        rule_ids = [r.id for r in e.rules.additive + e.rules.subtractive]
        if len(set(rule_ids)) != len(rule_ids):
            p.append(Problem(source, key, "two rules share an id.", "Give each rule of the element a unique id."))
        for r in e.rules.additive + e.rules.subtractive:
            if r.points > e.max_points:
                # A rule worth more than the element can hold is clamped: raters cannot tell what it is worth.
                p.append(Problem(source, f"{key}, rule {r.id}", f"the rule is worth {r.points:g} point(s), more than the "
                                 f"element's maximum of {e.max_points:g}.",
                                 f"Lower the rule's points to at most {e.max_points:g}, or raise max_points."))
        if e.start > e.max_points:
            p.append(Problem(source, key, f"start ({e.start:g}) is above max_points ({e.max_points:g}).",
                             "Lower start to at most max_points."))
        if e.critical is not None:
            if e.critical.effect == "cap" and e.critical.cap is None:
                p.append(Problem(source, key, "critical effect 'cap' has no cap value.",
                                 "Add critical.cap: the highest QCI (0–100) an interaction can keep after this fail."))
            if e.critical.fail_below > e.max_points:
                p.append(Problem(source, key, f"critical.fail_below ({e.critical.fail_below:g}) is above max_points.",
                                 "Set fail_below to at most max_points."))
    for i, r in enumerate(model.scenario_rules):
        key = f"key scenario_rules.{i} ({r.name})"
        for d in r.dimension_factors:
            if d not in dims:
                p.append(Problem(source, key, f"dimension '{d}' in dimension_factors is not in the rubric.",
                                 f"Use one of {', '.join(dims)}."))
        for e in list(r.element_factors) + list(r.exclude):
            if e not in ids:
                p.append(Problem(source, key, f"element '{e}' is not in the rubric.", "Use an element id from this rubric."))
        if facets is not None:
            for facet, levels in r.when.items():
                if facet not in facets:
                    p.append(Problem(source, key, f"facet '{facet}' in when is not in scenarios.yaml.",
                                     f"Use one of {', '.join(facets)}."))
                    continue
                for lv in [levels] if isinstance(levels, str) else levels:
                    if lv not in facets[facet]:
                        p.append(Problem(source, key, f"level '{lv}' of facet '{facet}' is not in scenarios.yaml.",
                                         f"Use one of {', '.join(facets[facet])}."))
    seen: set[str] = set()
    for i, c in enumerate(model.changes):
        if c.version in seen:
            p.append(Problem(source, f"key changes.{i}", f"version '{c.version}' has two changelog entries.",
                             "Give every change its own version (e.g. acme-2, acme-3)."))
        seen.add(c.version)
    if model.changes and model.changes[-1].version != model.version:
        p.append(Problem(source, "key version", f"version '{model.version}' is not the last entry of changes "
                         f"('{model.changes[-1].version}'), so what changed in it is not recorded.",
                         f"Add {{version: {model.version}, date, what, why}} at the end of changes, or set version to "
                         f"'{model.changes[-1].version}'."))
    n = len(model.elements)
    if not MIN_ELEMENTS <= n <= MAX_ELEMENTS:
        p.append(Problem(source, "key elements", f"the rubric has {n} elements; a scenario needs {MIN_ELEMENTS}–{MAX_ELEMENTS}.",
                         "Split broad elements or merge narrow ones until there are 8 to 20."))
    elif not any(x.where.startswith("key scenario_rules") for x in p):
        for i, r in enumerate(model.scenario_rules):
            active = n - len(set(r.exclude))
            if active < MIN_ELEMENTS:
                p.append(Problem(source, f"key scenario_rules.{i} ({r.name})",
                                 f"excluding {len(set(r.exclude))} elements leaves {active}; a scenario needs at least {MIN_ELEMENTS}.",
                                 "Switch fewer elements off for this scenario."))
    return model, p


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate ``rubric.yaml``.

    Raises
    ------
    RubricError
        Listing every problem, each naming the key and the fix.

    Examples
    --------
    >>> import qcikit
    >>> rubric = qcikit.load_rubric("src/qcikit/templates/rubric.yaml")  # doctest: +SKIP
    >>> rubric.weights().sum()  # doctest: +SKIP
    1.0
    """
    path = Path(path)
    if not path.is_file():
        raise RubricError(f"{path}: the rubric file does not exist. Fix: create it with `qcikit new` or copy src/qcikit/templates/rubric.yaml.")
    data = read_yaml(path, RubricError)
    model, problems = checked_rubric(data, path.name)
    if problems:
        raise RubricError("\n".join(str(p) for p in problems))
    return Rubric(model, path.name)


# Words that carry no behaviour: left out when rule texts and examples are compared.
_STOP = frozenset("""a an and are as at be by for from has have if in is it its of on or so that the their them then this
to was were when where which who will with without you your customer customers agent agents any all what how""".split())


def _content_words(text: str) -> set[str]:
    import re

    return {w for w in re.findall(r"[a-z0-9][a-z0-9'’-]*", str(text).lower()) if len(w) > 2 and w not in _STOP}


def ambiguities(rubric: "Rubric") -> list[Problem]:
    """Rubric text that lets two careful raters read a rule differently, where the words themselves show it.

    Two checks per element (warnings for `qcikit validate`, never errors):

    - **an example that reads like another rule**: half or more of another rule's content words (at least
      three) appear in this rule's example, and more of them than of its own rule's words. A rater holding the
      example cannot tell which rule it illustrates (the kind of overlap where one rule's example describes
      what a second rule of the element scores);
    - **one behaviour under two rules**: two rules of the same sign whose texts share most of their content
      words (Jaccard similarity .6 or more), or whose examples are the same: the points can be given twice or
      either way.

    (A rule worth more than its element's maximum is an error, found by :func:`validate_rubric_dict`.)
    """
    out: list[Problem] = []
    for k, e in enumerate(rubric.model.elements):
        rules = [(kind, r) for kind in ("additive", "subtractive") for r in getattr(e.rules, kind)]
        words = {r.id: (_content_words(r.text), _content_words(r.example)) for _, r in rules}
        for kind_a, a in rules:
            own_text, example = words[a.id]
            for kind_b, b in rules:
                if a.id == b.id:
                    continue
                text_b = words[b.id][0]
                shared = example & text_b
                if len(shared) >= 3 and len(shared) >= len(text_b) / 2 and len(shared) > len(example & own_text):
                    out.append(Problem(rubric.source, f"elements[{k}].rules ({e.id})",
                                       f"the example of rule '{a.id}' reads like rule '{b.id}' (both speak of "
                                       f"{', '.join(sorted(shared)[:4])}), so a rater cannot tell which rule it shows.",
                                       f"Give '{a.id}' an example of its own behaviour, one that '{b.id}' would not credit."))
                if kind_a == kind_b and a.id < b.id:
                    union = own_text | text_b
                    same_text = union and len(own_text & text_b) / len(union) >= 0.6
                    same_example = " ".join(a.example.lower().split()) == " ".join(b.example.lower().split())
                    if same_text or same_example:
                        out.append(Problem(rubric.source, f"elements[{k}].rules ({e.id})",
                                           f"rules '{a.id}' and '{b.id}' credit the same behaviour ("
                                           + ("the same example" if same_example else "nearly the same words")
                                           + "), so its points can be given twice or under either rule.",
                                           "Merge the two rules, or say in each what the other does not cover."))
    return out
