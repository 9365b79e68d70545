"""The report's content: every number computed once from one engagement folder,
and every piece of client text escaped (and personal data redacted) on its
way into HTML.

``ReportContext.load(engagement, wave)`` is what ``client_report.ipynb``
calls; its methods compute a section's numbers and hand them to that section's
Jinja template in ``templates/report/`` (one environment, autoescaped, strict
about undefined names), so the notebook stays a list of one-line cells and a
consultant can reword a sentence without touching a statistic. Formatting is
done by the small filters below (``interval``, ``signed``, ``pct``, …).  Two audiences read the result: the client's board and
managers (:meth:`ReportContext.page_one`, :meth:`~ReportContext.detail_html`,
:meth:`~ReportContext.coaching_html`, :meth:`~ReportContext.method_html`) and
the consultant (:meth:`~ReportContext.qa_html`: data notes, seeds, files),
whose cells the client's HTML leaves out.

What the client reads is worded for people: element names and facet labels
(``labels:`` in scenarios.yaml), "95 % CI 57.7–62.6" rather than two columns,
no internal column names, ids or file names.
"""
from __future__ import annotations

import base64
import functools
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from . import answers, metrics, redaction, reliability
from ._frame import filter_rows, in_wave, isin
from ._schema import as_dict
from .engagement import Engagement
from .errors import QcikitError
from .redaction import redact  # noqa: F401 - part of this module's surface (tests import it from here)

# A cell (team, touchpoint, scenario, facet level) is shown on its own from this many interactions;
# smaller ones are pooled, so a director never reads a number built on a handful of interactions.
MIN_CELL = metrics.SMALL_CELL


def _one(x) -> str:
    """A score as the report prints it: one decimal, or empty when there is none."""
    return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.1f}"


def pct(share: float, digits: int = 0) -> str:
    """A share as a percentage: "58 %".

    >>> pct(0.575), pct(0.25, 1)
    ('57 %', '25.0 %')
    """
    return f"{100 * share:.{digits}f} %"


def fixed(x: float, digits: int) -> str:
    """A number with ``digits`` decimals ("3.26")."""
    return f"{x:.{digits}f}"


def count(n) -> str:
    """A count with thousands separators: "1,040"."""
    return f"{int(n):,}"


@functools.cache
def _environment():
    import jinja2

    from .templates import path as template_path

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_path("report"))), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(interval=interval, signed=signed_number, pvalue=p_value, pct=pct, fixed=fixed, count=count,
                       one=_one, g=lambda x: f"{x:g}")
    return env


def render(template: str, **ctx) -> str:
    """Render one of the report's section templates (``templates/report/<template>``) with ``ctx``."""
    return _environment().get_template(template).render(**ctx).strip()


def esc(value) -> str:
    """HTML-escape any value (client text never reaches a report unescaped)."""
    return html.escape("" if value is None else str(value), quote=True)


def p_value(p: float) -> str:
    """A p-value as a reader expects it: three decimals, or "<0.001".

    >>> p_value(0.0004), p_value(0.0312)
    ('<0.001', '0.031')
    """
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(low: float, high: float, signed: bool = False, digits: int = 1) -> str:
    """An interval as one cell: "57.7–62.6", or "+1.2 to +7.0" for changes (a dash would read as minus).

    >>> interval(57.66, 62.61), interval(-2.04, 3.5, signed=True)
    ('57.7–62.6', '−2.0 to +3.5')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval"
    if signed:
        return f"{signed_number(low, digits)} to {signed_number(high, digits)}"
    return f"{low:.{digits}f}–{high:.{digits}f}"


def signed_number(x: float, digits: int = 1) -> str:
    """A change with its sign, with a true minus sign: "+4.1", "−0.3".

    >>> signed_number(4.07), signed_number(-0.3)
    ('+4.1', '−0.3')
    """
    return f"{x:+.{digits}f}".replace("-", "−")


def table_html(df: pd.DataFrame, formats: dict | None = None, classes: str = "qci-table", caption: str = "") -> str:
    """A DataFrame as an HTML table with every cell escaped and numbers formatted
    (``formats`` maps a column to a format string or a function); columns are named as the reader reads them."""
    formats = formats or {}
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if c in formats and v is not None and not (isinstance(v, float) and np.isnan(v)):
                f = formats[c]
                v = f(v) if callable(f) else f.format(v)
            elif isinstance(v, (bool, np.bool_)):
                v = "yes" if v else ""
            elif isinstance(v, float):
                v = "" if np.isnan(v) else f"{v:.1f}"
            cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<table class="{classes}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def figure_html(ax, alt: str, caption: str = "", css_class: str = "") -> str:
    """A matplotlib figure as an embedded PNG with its alt text (the numbers it shows, in words).

    The figure is closed afterwards, so a notebook shows it once, inside the report's HTML.
    """
    import matplotlib.pyplot as plt

    fig = ax.figure
    buf = io.BytesIO()
    # No "Software" metadata: the same numbers give the same bytes on any matplotlib version's run.
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f'<figure{cls}><img alt="{esc(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


class Fragment(Markup):
    """An HTML fragment that Jupyter displays as HTML (and the exporter embeds as is); safe markup, so a
    template that receives it does not escape it twice."""

    def _repr_html_(self) -> str:
        return str(self)


@dataclass
class ReportContext:
    """All the numbers of one client's report for one wave."""

    eng: Engagement
    wave: str
    interactions: pd.DataFrame = field(repr=False)
    change: pd.DataFrame | None = field(repr=False, default=None)
    min_cell: int = MIN_CELL

    @classmethod
    def load(cls, engagement: str | Path, wave: str | None = None) -> "ReportContext":
        eng = Engagement.load(engagement)
        wave = wave or eng.config.waves[-1]
        if wave not in eng.config.waves:
            from .errors import MetricsError

            raise MetricsError(f"{engagement}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
        metrics.check_scored_share(eng, wave)
        inter = metrics.interaction_table(eng)
        try:  # the wave before this one, never simply the last two waves present
            change = metrics.wave_change(eng, wave)
        except metrics.MetricsError:
            change = None  # the first measured wave: the report says there is nothing to compare with
        return cls(eng, wave, inter, change)

    # -- words ---------------------------------------------------------------------------
    @property
    def level(self) -> str:
        """The confidence level as the texts print it, e.g. "95 %"."""
        return f"{100 * self.eng.config.confidence:g} %"

    def label(self, value) -> str:
        """A facet, level or team as the client names it (scenarios.yaml ``labels:``, else a tidy id)."""
        return self.eng.schema.label(value)

    def element_name(self, element: str) -> str:
        return str(self.eng.rubric.elements["name"].get(element, self.label(element)))

    @property
    def current(self) -> pd.DataFrame:
        """This wave's scored interactions, with the inventory's facets beside them."""
        cur = self.interactions[self.interactions["wave"] == self.wave]
        inv = self.eng.inventory
        facets = [f for f in self.eng.schema.names if inv is not None and f in inv.columns and f not in cur.columns]
        if facets:
            cur = cur.merge(inv[["interaction_id", *facets]], on="interaction_id", how="left")
        return cur

    # -- agreement, computed once: the method notes show it, the priorities carry its caveats ---------
    @functools.cached_property
    def agreement(self) -> pd.DataFrame:
        own = self.eng.own_ratings
        return reliability.by_element(own[own["wave"] == self.wave], self.eng.rubric, n_boot=1000,
                                      seed=self.eng.config.seed, confidence=self.eng.config.confidence)

    @property
    def unreliable(self) -> set[str]:
        """Elements whose agreement interval's lower limit is below .667 this wave."""
        a = self.agreement
        return set(a.loc[a["verdict"] == "unreliable", "element"])

    # -- the model-assisted QCI, when engagement.yaml opts in (`assisted: SCORER`) ---------------------
    @functools.cached_property
    def assisted(self) -> dict | None:
        """This wave's assisted QCI (``metrics.qci_estimate``), with the wave before's when the machine scored it
        too, so the change compares like with like; None when the engagement does not opt in."""
        scorer = self.eng.config.assisted
        if not scorer:
            return None
        now = metrics.qci_estimate(self.eng, self.wave, assisted=scorer)
        out = {"now": now.iloc[0].to_dict(), "strata": now.attrs["strata"], "before": None}
        if self.change is not None:
            try:
                out["before"] = metrics.qci_estimate(self.eng, self.change.attrs["before"], assisted=scorer).iloc[0].to_dict()
            except QcikitError:
                pass  # the machine did not score the earlier wave: the change stays on human scores, and says so
        return out

    @functools.cached_property
    def assisted_measures(self) -> pd.DataFrame | None:
        """The machine-corrected estimate of every dimension and element the scorer decides, one row each
        (``metrics.qci_estimate`` with ``measure=``); None when the report is on human scores only. A measure
        the machine never decides is left out: its row in the report stays on raters' scores and says so."""
        if self.assisted is None:
            return None
        scorer = self.eng.config.assisted
        rows = []
        for m in [*self.eng.rubric.dimensions, *self.eng.rubric.element_ids]:
            try:
                rows.append(metrics.qci_estimate(self.eng, self.wave, assisted=scorer, measure=m).iloc[0])
            except QcikitError:
                continue
        cols = ["measure", "estimate", "ci_low", "ci_high", "human_estimate", "n", "N", "n_equivalent"]
        return pd.DataFrame(rows, columns=None if rows else cols)[cols] if rows else pd.DataFrame(columns=cols)

    @functools.cached_property
    def change_detail(self) -> pd.DataFrame | None:
        """The change since the wave before, per measure, as the report words and tabulates it: ``self.change``
        (raters' scores), with the machine-corrected comparison in place of a row wherever the engagement opts in
        and the scorer decided that measure in both waves (``assisted`` says which rows). The multiplicity
        adjustment and the families are the same; None when there is no earlier wave."""
        if self.change is None:
            return None
        out = self.change.copy()
        out["assisted"] = False
        a = self.assisted
        if a is None or a["before"] is None:
            return out
        scorer, before = self.eng.config.assisted, self.change.attrs["before"]
        conf = self.eng.config.confidence
        cols = ["change", "se", "df", "t", "p", "p_adj", "ci_low", "ci_high", "significant"]
        for i, r in out.iterrows():
            measure = "qci" if r["kind"] == "overall" else r["measure"]
            try:
                rb = metrics.qci_estimate(self.eng, before, assisted=scorer, measure=measure).iloc[0].to_dict()
                ra = (a["now"] if measure == "qci" else
                      metrics.qci_estimate(self.eng, self.wave, assisted=scorer, measure=measure).iloc[0].to_dict())
            except QcikitError:
                continue  # the machine does not decide this measure: the raters' comparison stands
            c = metrics.compare(rb, ra, conf, int(r["comparisons"]))
            out.loc[i, ["before", "after"]] = [rb["estimate"], ra["estimate"]]
            for col in cols:
                out.at[i, col] = c[col]
            out.at[i, "assisted"] = True
        out.attrs = dict(self.change.attrs)
        return out

    def _with_machine(self, table: pd.DataFrame, key: str) -> pd.DataFrame:
        """``table`` (raters' estimates per ``key``) with the machine-corrected estimate and interval in their
        place where the scorer decides the measure; ``human_estimate`` keeps the raters' own figure and
        ``assisted`` says which rows were corrected."""
        a = self.assisted_measures
        out = table.assign(human_estimate=table["estimate"], assisted=False)
        if a is None or a.empty:
            return out
        m = a.set_index("measure")
        hit = out[key].isin(m.index)
        for col in ("estimate", "ci_low", "ci_high"):
            out.loc[hit, col] = out.loc[hit, key].map(m[col]).clip(0.0, 100.0)
        out.loc[hit, "assisted"] = True
        return out

    # -- page one, for executives ------------------------------------------------------------
    def headline(self) -> dict:
        cur = self.current
        r = metrics.weighted_mean_ci(cur["qci"], cur["weight"], self.eng.config.confidence, strata=cur["stratum"], fpc=cur["fpc"])
        out = {"qci": r}
        if self.change is not None:
            out["change"] = self.change[self.change["kind"] == "overall"].iloc[0].to_dict()
        a = self.assisted
        if a is not None:
            now = a["now"]
            out["human_qci"] = r
            out["qci"] = {"estimate": now["estimate"], "se": now["se"], "ci_low": max(now["ci_low"], 0.0),
                          "ci_high": min(now["ci_high"], 100.0), "n": now["n"], "df": now["df"]}
            if a["before"] is not None and "change" in out:
                c = metrics.compare(a["before"], now, self.eng.config.confidence)
                out["change"] = {**out["change"], **c, "before": a["before"]["estimate"], "after": now["estimate"]}
        return out

    def assisted_sentence(self) -> str:
        """How the headline was made, in one sentence (empty when the report is on human scores only)."""
        a = self.assisted
        if a is None:
            return ""
        now = a["now"]
        return self._render("assisted.html.j2", scorer=now["scorer"], N=int(now["N"]), n=int(now["n"]),
                            n_equivalent=now["n_equivalent"], change_assisted=a["before"] is not None,
                            has_change=self.change is not None)

    def _render(self, template: str, **ctx) -> Fragment:
        """A section's template filled with its numbers (the wording lives in templates/report/)."""
        return Fragment(render(template, wave=self.wave, level=self.level, **ctx))

    def definition(self) -> str:
        """What the QCI is, in one paragraph: elements, the rubric's own dimensions with their weights, 0 and 100."""
        rub = self.eng.rubric
        return self._render("definition.html.j2", n_elements=len(rub.element_ids), dimensions=rub.model.dimensions,
                            example=self.scenario_example(), target=self.eng.config.target_qci)

    def scenario_example(self) -> str:
        """The rubric's first scenario rule in words, from its own facets, levels, dimensions and elements:
        "when the emotional state is frustrated or angry, Connection weighs 1.5 times as much" ("" without rules)."""
        for rule in self.eng.rubric.model.scenario_rules:
            conditions = [{"facet": self.label(facet),
                           "levels": [self.label(v) for v in ([levels] if isinstance(levels, str) else levels)]}
                          for facet, levels in rule.when.items()]
            if rule.dimension_factors:
                (name, factor), = list(rule.dimension_factors.items())[:1]
                return self._render("scenario_example.txt.j2", conditions=conditions, kind="dimension", name=name,
                                    factor=factor, names=[])
            if rule.element_factors:
                (e, factor), = list(rule.element_factors.items())[:1]
                return self._render("scenario_example.txt.j2", conditions=conditions, kind="element",
                                    name=self.element_name(e), factor=factor, names=[])
            if rule.exclude:
                return self._render("scenario_example.txt.j2", conditions=conditions, kind="exclude", name="",
                                    factor=0, names=[self.element_name(e) for e in rule.exclude])
        return ""

    def change_sentence(self) -> str:
        h = self.headline()
        # The words follow the interval printed beside them: "a real change" exactly when it excludes 0.
        before = self.change.attrs["before"] if self.change is not None else ""
        return self._render("change_sentence.html.j2", change=h.get("change"), before=before,
                            rubric_changes=self.rubric_changes(before) if before else [])

    def wave_version(self, wave: str) -> str | None:
        """The rubric version a wave was scored under (one per wave: validation refuses a mix)."""
        s = self.eng.scores
        if s is None or "rubric_version" not in s.columns:
            return None
        v = s.loc[s["wave"] == wave, "rubric_version"].dropna()
        return str(v.iloc[0]) if len(v) else None

    def rubric_changes(self, before: str) -> list[dict]:
        """The changelog entries between the rubric the earlier wave was scored under and this wave's: a change
        across them may be the wording as well as the service, and the report says so."""
        old, new = self.wave_version(before), self.wave_version(self.wave)
        if not old or not new or old == new:
            return []
        return [{"old": old, "new": new, **as_dict(c)} for c in self.eng.rubric.changes_between(old, new)] or \
            [{"old": old, "new": new, "version": new, "date": "", "what": "not recorded in rubric.yaml's changes", "why": ""}]

    def what_changed(self) -> str:
        """The elements whose change interval excludes 0 (Bonferroni across the elements), in words."""
        ch = self.change_detail
        el = ch[(ch["kind"] == "element") & ch["significant"].astype(bool)]
        rows = lambda t: [{"name": self.element_name(r.measure), "change": r.change} for r in t.itertuples()]  # noqa: E731
        return self._render("what_changed.html.j2",
                            up=rows(el[el["change"] > 0].sort_values("change", ascending=False)),
                            down=rows(el[el["change"] < 0].sort_values("change")))

    def trend_html(self) -> str:
        from . import plots

        t = metrics.trend(self.eng)
        ax = plots.qci_trend(t, target=self.eng.config.target_qci)
        words = "; ".join(f"{r.wave} {r.estimate:.1f} ({interval(r.ci_low, r.ci_high)})" for r in t.itertuples())
        alt = (f"Chart of the QCI by wave with {self.level} confidence intervals: {words}; "
               f"dashed line at the target {self.eng.config.target_qci:g}.")
        return figure_html(ax, alt, f"The QCI wave by wave (bars: {self.level} confidence interval).", "trend")

    def effort_sentence(self) -> str:
        try:
            ce = metrics.customer_effort(self.eng, confidence=self.eng.config.confidence).set_index("wave").loc[self.wave]
        except (KeyError, metrics.MetricsError):
            ce = None
        return self._render("effort.html.j2", effort=None if ce is None else ce.to_dict())

    def _edge(self) -> pd.DataFrame | None:
        if self.eng.mystery_shops is None:
            return None
        try:
            return metrics.competitive_edge(self.eng, self.wave)
        except metrics.MetricsError:
            return None

    def edge_html(self) -> str:
        """Competitive Edge in words: the shops' wave, their number, the interval, or why there is none."""
        edge = self._edge()
        rows = None if edge is None else edge[edge["measure"] == "QCI"].to_dict("records")
        return self._render("edge.html.j2", has_shops=self.eng.mystery_shops is not None, rows=rows,
                            shops_wave=edge.attrs["shops_wave"] if edge is not None else "")

    @functools.cached_property
    def drivers(self) -> pd.DataFrame:
        """For each unreliable element, the rater whose absence raises agreement most, and alpha without them."""
        own = self.eng.own_ratings
        return reliability.disagreement_drivers(own[own["wave"] == self.wave], self.eng.rubric, sorted(self.unreliable),
                                                n_boot=1000, seed=self.eng.config.seed,
                                                confidence=self.eng.config.confidence).set_index("element")

    def _driven(self, element: str):
        """The element's driver row when leaving that one rater out makes agreement at least tentative."""
        d = self.drivers
        if element not in d.index or d.loc[element, "verdict"] not in ("reliable", "tentative"):
            return None
        return d.loc[element]

    def caveat(self, element: str) -> str:
        if element not in self.unreliable:
            return ""
        d = self._driven(element)
        return self._render("caveat.html.j2", rater=d["left_out"] if d is not None else "",
                            without=float(d["estimate"]) if d is not None else 0.0)

    def agreement_note(self) -> str:
        """Page one, when agreement is poor: the elements, and the rater who drives it with what leaving them out
        does to agreement and to the QCI (the same interactions on both sides, :func:`reliability.qci_without`)."""
        if not self.unreliable:
            return ""
        names = [self.element_name(e) for e in self.eng.rubric.element_ids if e in self.unreliable]
        fixed = [self._driven(e) for e in self.unreliable]
        fixed = [d["left_out"] for d in fixed if d is not None]
        driver = max(set(fixed), key=lambda r: (fixed.count(r), r)) if fixed else ""
        ctx = {"n": len(names), "total": len(self.eng.rubric.element_ids), "names": names if len(names) <= 5 else [],
               "driver": driver, "fixed_n": fixed.count(driver) if driver else 0, "qci_all": 0.0, "qci_without": 0.0}
        if driver:
            scores = self.eng.scores[self.eng.scores["wave"] == self.wave]
            q = reliability.qci_without(scores, self.eng.rubric, [driver], self.eng.inventory_facets())
            ctx.update(qci_all=float(q["mean_qci"].iloc[0]), qci_without=float(q["mean_qci"].iloc[1]))
        return self._render("agreement_note.html.j2", **ctx)

    def priorities_html(self, top: int = 3) -> str:
        pr = metrics.priorities(self.eng, self.wave, top=top)
        rows = [{**r, "caveat": self.caveat(r["element"])} for r in pr.to_dict("records")]
        return self._render("priorities.html.j2", rows=rows)

    @functools.cached_property
    def progress(self) -> pd.DataFrame | None:
        """This wave's scoring progress per stratum (``metrics.scoring_progress``), None without a sample."""
        return None if self.eng.sample is None else metrics.scoring_progress(self.eng, self.wave)

    def scored_phrase(self) -> str:
        """"287 of 300 sampled interactions scored" (or "287 interactions scored" without a sample)."""
        if self.progress is None:
            return f"{int(self.headline()['qci']['n']):,} interactions scored"
        p = self.progress.attrs
        return f"{p['scored']:,} of {p['sampled']:,} sampled interactions scored"

    def page_one(self) -> Fragment:
        """Page one: the client, the wave, the QCI and what it is, the trend, effort, edge and what to fix first."""
        cfg = self.eng.config
        return self._render(
            "page_one.html.j2", client=cfg.client, industry=cfg.industry, qci=self.headline()["qci"],
            scored=self.scored_phrase(), target=cfg.target_qci, change=self.change_sentence(),
            definition=self.definition(), trend=Markup(self.trend_html()),
            what_changed=self.what_changed() if self.change is not None else "",
            effort=self.effort_sentence(), edge=self.edge_html(), priorities=self.priorities_html(),
            agreement=self.agreement_note(), assisted=self.assisted_sentence())

    # -- detail for managers --------------------------------------------------------------------
    def dimensions(self) -> pd.DataFrame:
        cur = self.current
        rows = [metrics.summarize(cur, d, confidence=self.eng.config.confidence).assign(dimension=d) for d in self.eng.rubric.dimensions]
        table = pd.concat(rows, ignore_index=True)[["dimension", "n", "estimate", "ci_low", "ci_high", "small"]]
        return self._with_machine(table, "dimension")

    def elements(self) -> pd.DataFrame:
        """This wave's score per element; machine-corrected where the engagement opts in and the scorer decides it."""
        el = metrics.element_table(self.eng)
        el = el[el["wave"] == self.wave]
        s = metrics.summarize(el, "score", confidence=self.eng.config.confidence, measure="element")
        s["name"] = s["element"].map(self.eng.rubric.elements["name"])
        return self._with_machine(s, "element")

    def by(self, column: str, pool: bool = False) -> pd.DataFrame:
        """This wave's QCI per level of ``column``. With ``pool`` (scenarios: many tiny combinations), levels
        under ``min_cell`` interactions are pooled into one row; a team, touchpoint or facet level the client
        asked about is never pooled away: it is shown with its n, and ``small`` marks a wide interval."""
        cur = self.current.dropna(subset=[column])
        counts = cur[column].value_counts()
        small = set(counts.index[counts < self.min_cell]) if pool else set()
        other = f"Other ({len(small)} with fewer than {self.min_cell} interactions each)"
        name = self.eng.schema.scenario_label if column == "scenario" else self.label
        group = cur[column].map(lambda v: other if v in small else name(v))
        out = metrics.summarize(cur.assign(group=group), "qci", by="group", confidence=self.eng.config.confidence)
        out["pooled"] = out["group"] == other
        return out.sort_values(["pooled", "estimate"], ascending=[True, False], ignore_index=True)

    def unscored_levels(self, column: str) -> list[str]:
        """Levels of ``column`` (scenarios.yaml's levels for a facet, else the wave's values in
        interactions.csv) with no scored interaction this wave: named, never silently left out."""
        levels = list(self.eng.schema.facets.get(column, []))
        inter = self.eng.interactions
        if not levels and column in inter:
            levels = sorted(inter.loc[inter["wave"] == self.wave, column].dropna().unique())
        seen = set(self.current[column].dropna()) if column in self.current else set()
        return [v for v in levels if v not in seen]

    def team_machine(self, team: str) -> dict | None:
        """A team's machine-corrected QCI, when the engagement opts in and the team has enough rated interactions
        (``min_cell``) for its own correction to be trusted; else None (its row stays on raters' scores)."""
        if self.assisted is None:
            return None
        n = int((self.current["team"] == team).sum())
        if n < self.min_cell:
            return None
        try:
            return metrics.qci_estimate(self.eng, self.wave, assisted=self.eng.config.assisted, team=team).iloc[0].to_dict()
        except QcikitError:
            return None

    def group_table(self, column: str, title: str, first: str) -> str:
        """One table of this wave's QCI by ``column``, its first column headed ``first``: every level with its n.
        With a machine (``assisted``), a team with enough rated interactions shows its machine-corrected QCI."""
        t = self.by(column)
        rows, corrected = [], 0
        for g, e, lo, hi, n, small in zip(t["group"], t["estimate"], t["ci_low"], t["ci_high"], t["n"], t["small"]):
            note = "one interaction: no interval" if n < 2 else "few interactions: wide interval" if small else ""
            machine = self.team_machine(g) if column == "team" else None
            if machine is not None:
                e, lo, hi = machine["estimate"], max(machine["ci_low"], 0.0), min(machine["ci_high"], 100.0)
                note, corrected = f"raters alone: {_one(machine['human_estimate'])}", corrected + 1
            elif column == "team" and self.assisted is not None:
                note = (note + "; " if note else "") + "raters' scores only"
            rows.append([g, _one(e), interval(lo, hi), f"{int(n):d}", note])
        inter = self.eng.interactions
        # One column of the wave, not the wave's rows: those hold every transcript of the population.
        wave = inter.loc[inter["wave"] == self.wave, column] if column in inter else None
        missing = [{"label": self.label(v), "in_wave": int((wave == v).sum()) if wave is not None else 0}
                   for v in self.unscored_levels(column)]
        return self._render("group_table.html.j2", title=title, first=first, rows=rows, missing=missing,
                            corrected=corrected, min_cell=self.min_cell,
                            scorer=self.eng.config.assisted if corrected else None)

    def detail_html(self) -> Fragment:
        from . import plots

        conf = self.eng.config.confidence
        dims = self.dimensions()
        weights = {d.name: d.weight for d in self.eng.rubric.model.dimensions}
        machine = self.assisted is not None
        # With a machine, the raters' own figure stands beside the corrected one, as on the method page.
        human = lambda r: (_one(r.human_estimate) if r.assisted else "same (not machine-scored)") if machine else None  # noqa: E731
        dim_rows = [[r.dimension, pct(weights[r.dimension]), _one(r.estimate), interval(r.ci_low, r.ci_high),
                     *([human(r)] if machine else []), f"{int(r.n):d}"] for r in dims.itertuples(index=False)]
        el = self.elements()
        a = self.agreement.set_index("element")["verdict"]
        words = {"reliable": "yes", "tentative": "tentatively", "unreliable": "not yet",
                 reliability.TOO_FEW: "too few to judge"}
        dim_of = self.eng.rubric.elements["dimension"]
        order = el.assign(d=el["element"].map(dim_of)).sort_values(["d", "estimate"])
        el_rows = [[r.name, r.d, _one(r.estimate), interval(r.ci_low, r.ci_high), *([human(r)] if machine else []),
                    words.get(a.get(r.element), "not measured")] for r in order.itertuples(index=False)]
        low = el.sort_values("estimate").head(3)
        ax = plots.estimates_with_ci(el, "name", "", target=self.eng.config.target_qci, confidence=conf)
        alt = (f"Dot plot of the {len(el)} element scores with {self.level} intervals and the target "
               f"{self.eng.config.target_qci:g}; lowest: " +
               ", ".join(f"{n} {v:.0f}" for n, v in zip(low["name"], low["estimate"])) + ". The table above lists them all.")
        figure = Markup(figure_html(ax, alt, f"Element scores this wave ({self.level} intervals; dashed: target)."))
        edge = self._edge()
        groups = [self.group_table(col, title, first) for col, title, first in
                  (("team", "Teams", "Team"), ("touchpoint", "Touchpoints", "Touchpoint")) if col in self.current]
        groups += [self.group_table(f, f"By {self.label(f).lower()}", self.label(f))
                   for f in self.eng.schema.names if f != "touchpoint" and f in self.current]
        return self._render("detail.html.j2", dimensions=dim_rows, elements=el_rows, element_figure=figure,
                            machine=self.eng.config.assisted if machine else None,
                            N=int(self.assisted["now"]["N"]) if machine else 0,
                            change=self.change_html() if self.change is not None else "",
                            edge=self.edge_detail_html(edge) if edge is not None else "",
                            min_cell=self.min_cell, groups=groups,
                            scenarios=self.scenario_html() if "scenario" in self.current else "")

    def scenario_html(self) -> str:
        counts = self.current["scenario"].value_counts()
        facets = [self.label(f).lower() for f in self.eng.schema.names]
        rows = None
        if (counts >= self.min_cell).any():
            t = self.by("scenario", pool=True)
            rows = [[g, _one(e), interval(lo, hi), f"{int(n):d}"]
                    for g, e, lo, hi, n in zip(t["group"], t["estimate"], t["ci_low"], t["ci_high"], t["n"])]
        return self._render("scenarios.html.j2", facets=facets, min_cell=self.min_cell, rows=rows,
                            seen=len(counts), largest=int(counts.max()) if len(counts) else 0)

    def change_html(self) -> str:
        from . import plots

        full = self.change_detail
        ch = full[full["kind"] != "overall"]
        m = int(ch.loc[ch["kind"] == "element", "comparisons"].max())
        names = [self.element_name(x) if k == "element" else x for x, k in zip(ch["measure"], ch["kind"])]
        machine = bool(ch["assisted"].any())
        rows = [[n, _one(b), _one(a), signed_number(c), interval(lo, hi, signed=True), p_value(p), "yes" if sig else "",
                 *(["machine + raters" if x else "raters"] if machine else [])]
                for n, b, a, c, lo, hi, p, sig, x in zip(names, ch["before"], ch["after"], ch["change"], ch["ci_low"],
                                                         ch["ci_high"], ch["p_adj"], ch["significant"], ch["assisted"])]
        ax = plots.wave_change(full.assign(name=[self.element_name(x) for x in full["measure"]],
                                           significant=full["significant"].astype(bool)))
        moved = int((ch["significant"] & (ch["kind"] == "element")).sum())
        alt = (f"Dot plot of each element's change from {self.change.attrs['before']} to {self.change.attrs['after']} "
               f"with adjusted intervals; {moved} of {m} elements changed beyond noise (coloured).")
        figure = Markup(figure_html(ax, alt, "Change per element (coloured: beyond noise; grey: within noise)."))
        return self._render("change.html.j2", before=self.change.attrs["before"], after=self.change.attrs["after"],
                            m=m, rows=rows, figure=figure, machine=self.eng.config.assisted if machine else None)

    def edge_detail_html(self, edge: pd.DataFrame) -> str:
        from . import plots

        q = edge[edge["measure"] == "QCI"]
        rows = [[c, f"{int(k):d}", _one(cl), _one(co), signed_number(e) if k else "",
                 interval(lo, hi, signed=True) if not note else note]
                for c, k, cl, co, e, lo, hi, note in zip(q["competitor"], q["n_shops"], q["client"], q["competitor_score"],
                                                         q["edge"], q["ci_low"], q["ci_high"], q["note"])]
        ax = plots.competitive_edge(edge, label=self.element_name)
        shown = q[q["n_shops"] > 0]
        alt = ("Dot plot of the client's edge over each competitor, QCI first then each element, with intervals; "
               + "; ".join(f"{r.competitor}: QCI edge {signed_number(r.edge)} ({r.n_shops} shops)" for r in shown.itertuples()) + ".")
        figure = Markup(figure_html(ax, alt, "Edge over each competitor (> 0: the client is ahead), with intervals."))
        return self._render("edge_detail.html.j2", shops_wave=edge.attrs["shops_wave"], rows=rows, figure=figure)

    # -- coaching pages -------------------------------------------------------------------
    def example_interaction(self, team: str, element: str) -> dict:
        """An interaction of ``team`` that shows its weakness on ``element``, for the coaching page.

        Gold interactions of the team come first (lowest gold points, below the element's maximum): gold
        says which rule fired and quotes the words, so the page can show exactly what cost the points.
        Otherwise the team's lowest-scoring interaction of this wave. Transcripts are redacted.
        """
        inter = self.quotable
        g = self.eng.gold

        def transcript(iid):
            text, counts = self.eng.redact_counted(str(inter.loc[iid, "transcript"]), iid)
            return {"transcript": text, "redacted": counts}
        maxp = float(self.eng.rubric.max_points[element])
        if g is not None and "rationale" in g:
            mine = g[(g["element"] == element) & g["points"].notna() & (g["points"] < maxp)
                     & g["interaction_id"].map(inter["team"]).eq(team)]
            if len(mine):
                r = mine.sort_values(["points", "interaction_id"]).iloc[0]
                ev = "" if pd.isna(r.get("evidence")) else str(r.get("evidence"))
                return {"id": r["interaction_id"], "wave": inter.loc[r["interaction_id"], "wave"], "points": r["points"],
                        "evidence": self.eng.redact(ev, r["interaction_id"]), "rationale": str(r["rationale"]),
                        **transcript(r["interaction_id"])}
        el = metrics.element_table(self.eng)
        part = el[(el["wave"] == self.wave) & (el["team"] == team) & (el["element"] == element)].dropna(subset=["score"])
        if part.empty:
            return {}
        worst = part.sort_values(["score", "interaction_id"]).iloc[0]
        return {"id": worst["interaction_id"], "wave": self.wave, "points": worst["score"] * maxp / 100,
                "evidence": "", "rationale": "", **transcript(worst["interaction_id"])}

    @functools.cached_property
    def quotable(self) -> pd.DataFrame:
        """The population's rows of the gold and scored interactions, by id: the ones a coaching page may quote,
        found once (a million transcripts are neither copied nor indexed for a few hundred)."""
        pop = self.eng.interactions
        ids = [self.interactions["interaction_id"]]
        if self.eng.gold is not None:
            ids.append(self.eng.gold["interaction_id"])
        wanted = isin(pop["interaction_id"], pd.concat(ids, ignore_index=True).astype(str))
        return filter_rows(pop, wanted).set_index("interaction_id")

    def coaching_html(self) -> Fragment:
        teams = []
        for team in sorted(self.current["team"].dropna().unique()):
            weak = metrics.team_weakest(self.eng, team, self.wave)
            first = weak.iloc[0]["element"]
            ex = self.example_interaction(team, first)
            if ex:
                ex["redaction"] = redaction.describe(ex["redacted"], self.eng.redaction_kinds())
            teams.append({
                "team": self.label(team), "focus": self.element_name(first),
                "weakest": [{**w, "caveat": self.caveat(w["element"])} for w in weak.to_dict("records")],
                "example": ex or None, "max_points": float(self.eng.rubric.max_points[first]),
                "guide": answers.element_guidance(self.eng.rubric, self.eng.answers, first),
                "outline": answers.model_answer(self.eng, None, "conversation_outline", elements=list(weak["element"]),
                                                html=False)})
        return self._render("coaching.html.j2", teams=teams, client=self.eng.config.client)

    # -- how this was measured ------------------------------------------------------------------
    def method_html(self) -> Fragment:
        eng = self.eng
        n_pop = int((eng.interactions["wave"] == self.wave).sum())
        n = int(len(self.current))
        qci = self.headline()["qci"]
        rel = self.agreement
        words = {"reliable": "reliable", "tentative": "tentative", "unreliable": "unreliable", "undefined": "not measurable",
                 reliability.TOO_FEW: "too few varied interactions to judge"}
        rows = [[self.element_name(e), f"{int(u):d}", "" if not np.isfinite(a) else f"{a:.2f}", interval(lo, hi, digits=2),
                 words.get(v, v)]
                for e, u, a, lo, hi, v in zip(rel["element"], rel["n_units"], rel["estimate"], rel["ci_low"],
                                              rel["ci_high"], rel["verdict"])]
        progress = self.progress
        sampled = progress.attrs["sampled"] if progress is not None else n
        unscored = sampled - progress.attrs["scored"] if progress is not None else 0
        return self._render(
            "method.html.j2", sampled=sampled, population=n_pop,
            strata_label=self.label(eng.config.strata or "touchpoint").lower(), scored=self.scored_phrase(),
            version=eng.rubric.version, unscored=unscored,
            empty_strata=int((progress["scored"] == 0).sum()) if progress is not None else 0,
            margin=(qci["ci_high"] - qci["ci_low"]) / 2, rows=rows, assisted=self.assisted_method())

    def assisted_method(self) -> str:
        """The method page's paragraph on the model-assisted estimate, with the human-only figure beside it."""
        a = self.assisted
        return "" if a is None else self._render("assisted_method.html.j2", now=a["now"])

    def assisted_qa(self) -> str:
        """The QA page's view of the machine: per stratum λ, the machine–human correlation and the effective n;
        per element the machine's agreement with the raters (alpha with its interval) and its bias."""
        a = self.assisted
        if a is None:
            return ""
        from . import assist

        num = lambda v, fmt: "" if not np.isfinite(v) else format(v, fmt)  # noqa: E731
        rows = [[self.label(str(r.stratum).split(" / ", 1)[-1]), f"{int(r.N):,}", f"{int(r.n):,}", f"{r.lam:.2f}",
                 num(r.r, ".2f"), num(r.n_effective, ",.0f")] for r in a["strata"].itertuples()]
        agree = assist.agreement(self.eng, a["now"]["scorer"], self.wave, seed=self.eng.config.seed)
        agree_rows = [[self.element_name(r.element), f"{int(r.n_units):d}", num(r.estimate, ".2f"),
                       interval(r.ci_low, r.ci_high, digits=2), num(r.bias, "+.2f")] for r in agree.itertuples()]
        return self._render("assisted_qa.html.j2", now=a["now"], rows=rows, agree_rows=agree_rows)

    # -- QA notes: the consultant's page, never in the client's HTML ------------------------------------
    def data_notes_html(self, limit: int = 5) -> Fragment:
        """Transcripts this wave that hold markup or personal data, their lines shown escaped and redacted.

        Markup and e-mail addresses are searched in the whole wave (vectorized); phone numbers, names and the
        client's patterns in the sampled transcripts (which the report may quote) and the flagged ones: a phone
        parser per transcript would make a population of millions cost minutes per report."""
        inter = self.eng.interactions
        # The searches run over the population's own column, masked to the wave: the wave's rows are never
        # copied (a million transcripts), and only the rows looked at closely are taken out.
        this_wave = in_wave(inter, self.wave)
        t = inter["transcript"].fillna("")
        markup = t.str.contains(r"<[a-zA-Z/!]", regex=True).to_numpy(dtype=bool) & this_wave
        ids = self.eng.sample["interaction_id"] if self.eng.sample is not None else self.current["interaction_id"]
        sampled = isin(inter["interaction_id"], ids) & this_wave
        # Every transcript with an "@" is checked (one vectorized search finds them); phone numbers, names and
        # the client's patterns in the sampled and markup-flagged ones. As a regex: RE2 skips to each "@" (0.3 s
        # for a million transcripts), where Arrow's plain substring search took 4.3 s.
        look = sampled | markup | (t.str.contains("@", regex=True).to_numpy(dtype=bool) & this_wave)
        near = filter_rows(inter, look, ["interaction_id", "transcript"])
        personal = np.zeros(len(inter), dtype=bool)
        personal[look] = [self.eng.redact(x, i) != x for x, i in zip(near["transcript"].fillna("").astype(str).tolist(),
                                                                      near["interaction_id"].tolist())]

        def flagged(text: str, iid) -> str:
            # The lines that hold the markup or the personal data, not the transcript's opening.
            lines = [ln for ln in str(text).splitlines()
                     if re.search(r"<[a-zA-Z/!]", ln) or self.eng.redact(ln, iid) != ln]
            return "\n".join(self.eng.redact(ln, iid) for ln in lines[:3])[:400]

        shown = np.zeros(len(inter), dtype=bool)
        shown[np.flatnonzero(markup | personal)[:limit]] = True
        rows = [{"id": r.interaction_id, "lines": flagged(r.transcript, r.interaction_id)}
                for r in filter_rows(inter, shown, ["interaction_id", "transcript"]).itertuples()]
        return self._render("data_notes.html.j2", markup=int(markup.sum()), personal=int(personal.sum()),
                            sampled=int(sampled.sum()), kinds=self.eng.redaction_kinds(), rows=rows)

    def save_tables(self, out: str | Path) -> Path:
        """Write the headline numbers of this report as ``<slug>-<wave>-summary.csv`` in ``out`` (for audit)."""
        from ._io import write_csv
        from ._io import report_stem

        h = self.headline()
        rows = [{"measure": "QCI", **h["qci"]}]
        if "human_qci" in h:
            rows.append({"measure": "QCI (human scores only)", **h["human_qci"]})
        rows += [{"measure": r["dimension"], **{k: r[k] for k in ("estimate", "ci_low", "ci_high", "n")}}
                 for _, r in self.dimensions().iterrows()]
        return write_csv(pd.DataFrame(rows).assign(wave=self.wave), Path(out) / f"{report_stem(self.eng.slug, self.wave)}-summary.csv")

    def qa_html(self, out: str | Path | None = None) -> Fragment:
        """The consultant's checks: sources, seed, rubric version, data notes; writes the summary CSV to ``out``."""
        eng = self.eng
        a = self.agreement
        return self._render("qa.html.j2", folder=str(eng.path), scores_source=eng.scores_source,
                            version=eng.rubric.version, seed=eng.config.seed, unreliable=sorted(self.unreliable),
                            undefined=int((a["verdict"] == "undefined").sum()),
                            summary_csv=self.save_tables(out).name if out is not None else "",
                            data_notes=self.data_notes_html(), assisted=self.assisted_qa())
