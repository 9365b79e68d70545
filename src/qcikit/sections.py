"""The report's content: every number computed once from one engagement folder,
and every piece of client text escaped (and personal data redacted) on its
way into HTML.

``ReportContext.load(engagement, wave)`` is what ``client_report.ipynb``
calls; its methods return small HTML fragments, so the notebook stays a list
of one-line cells.  Two audiences read the result: the client's board and
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

from . import answers, metrics, redaction, reliability
from .engagement import Engagement
from .redaction import redact  # noqa: F401 - part of this module's surface (tests import it from here)

# A cell (team, touchpoint, scenario, facet level) is shown on its own from this many interactions;
# smaller ones are pooled, so a director never reads a number built on a handful of interactions.
MIN_CELL = metrics.SMALL_CELL


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


class Fragment(str):
    """An HTML fragment that Jupyter displays as HTML (and the exporter embeds as is)."""

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

    def ci(self, low: float, high: float, signed: bool = False, digits: int = 1) -> str:
        """"95 % CI 57.7–62.6"."""
        return f"{self.level} CI {interval(low, high, signed, digits)}"

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

    def caveat(self, element: str) -> str:
        if element not in self.unreliable:
            return ""
        return (' <em class="caveat">Caveat: raters do not yet agree on this element; confirm it in a calibration '
                "session first.</em>")

    # -- page one, for executives ------------------------------------------------------------
    def headline(self) -> dict:
        cur = self.current
        r = metrics.weighted_mean_ci(cur["qci"], cur["weight"], self.eng.config.confidence, strata=cur["stratum"], fpc=cur["fpc"])
        out = {"qci": r}
        if self.change is not None:
            out["change"] = self.change[self.change["kind"] == "overall"].iloc[0].to_dict()
        return out

    def definition(self) -> str:
        """What the QCI is, in one paragraph: elements, the four dimensions with their weights, 0 and 100."""
        rub = self.eng.rubric
        dims = rub.model.dimensions
        parts = ", ".join(f"{esc(d.name)} {100 * d.weight:.0f} %" for d in dims)
        example = self.scenario_example()
        varies = (f" Some scenarios weight them differently (for example, {example}), as the rubric sets out."
                  if example else "")
        return (f"<p class='define'><b>What the QCI measures.</b> Every sampled interaction is scored on "
                f"{len(rub.element_ids)} elements of good service, grouped in {len(dims)} dimensions weighted "
                f"{parts}.{varies} The weighted total is one score from 0 (no element done) to 100 (every element "
                f"done in full); the target is {self.eng.config.target_qci:g}.</p>")

    def scenario_example(self) -> str:
        """The rubric's first scenario rule in words, from its own facets, levels, dimensions and elements:
        "when the emotional state is frustrated or angry, Connection weighs 1.5 times as much" ("" without rules)."""
        for rule in self.eng.rubric.model.scenario_rules:
            conds = []
            for facet, levels in rule.when.items():
                levels = [levels] if isinstance(levels, str) else list(levels)
                conds.append(f"the {esc(self.label(facet).lower())} is "
                             + " or ".join(esc(self.label(v)) for v in levels))
            when = "when " + " and ".join(conds)
            if rule.dimension_factors:
                d, f = next(iter(rule.dimension_factors.items()))
                return f"{when}, {esc(d)} weighs {f:g} times as much"
            if rule.element_factors:
                e, f = next(iter(rule.element_factors.items()))
                return f"{when}, {esc(self.element_name(e))} counts {f:g} times as much"
            if rule.exclude:
                names = [esc(self.element_name(e)) for e in rule.exclude]
                return f"{when}, {', '.join(names)} {'does' if len(names) == 1 else 'do'} not apply"
        return ""

    def change_sentence(self) -> str:
        h = self.headline()
        if "change" not in h:
            return (f"<p>Wave {esc(self.wave)} is the first measured wave: there is no earlier wave to compare "
                    "with.</p>")
        c = h["change"]
        # The words follow the interval printed beside them: "a real change" exactly when it excludes 0.
        verdict = ("a real change, beyond sampling noise" if c["significant"]
                   else "within sampling noise: no real change can be claimed")
        return (f"<p class='lead'>Change since {esc(self.change.attrs['before'])}: <b>{signed_number(c['change'])}</b> "
                f"points ({self.ci(c['ci_low'], c['ci_high'], signed=True)}) — {verdict}.</p>")

    def what_changed(self) -> str:
        """The elements whose change interval excludes 0 (Bonferroni across the elements), in words."""
        el = self.change[(self.change["kind"] == "element") & self.change["significant"]]
        up = el[el["change"] > 0].sort_values("change", ascending=False)
        down = el[el["change"] < 0].sort_values("change")
        fmt = lambda t: ", ".join(f"{esc(self.element_name(r.measure))} {signed_number(r.change)}" for r in t.itertuples())
        better = f"better — {fmt(up)}" if len(up) else "no element improved beyond noise"
        worse = f"worse — {fmt(down)}" if len(down) else "no element got significantly worse"
        return f"<p>What changed, element by element: {better}; {worse}.</p>"

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
            return "<p><b>Customer Effort:</b> no answers this wave.</p>"
        # Only the customers who answered were asked: the share is of them, never of all customers.
        return (f"<p><b>Customer Effort:</b> {ce['mean_effort']:.2f} on a 1–7 scale where 1 is very easy "
                f"({self.ci(ce['ci_low'], ce['ci_high'], digits=2)}); "
                f"{100 * ce['low_effort_share']:.0f} % of the customers who answered found it easy (1–3); "
                f"n = {int(ce['n']):,} answers.</p>")

    def _edge(self) -> pd.DataFrame | None:
        if self.eng.mystery_shops is None:
            return None
        try:
            return metrics.competitive_edge(self.eng, self.wave)
        except metrics.MetricsError:
            return None

    def edge_html(self) -> str:
        """Competitive Edge in words: the same wave's shops, their number, the interval, or "not enough shops"."""
        edge = self._edge()
        if edge is None:
            return ("<p><b>Competitive Edge:</b> no mystery shops of this wave or earlier.</p>"
                    if self.eng.mystery_shops is not None else "")
        items = []
        for r in edge[edge["measure"] == "QCI"].itertuples():
            if r.n_shops == 0:
                items.append(f"<li>vs {esc(r.competitor)}: {esc(r.note)}, so no comparison this wave</li>")
                continue
            if r.note:
                items.append(f"<li>vs {esc(r.competitor)}: {r.n_shops} mystery shop(s), not enough for an interval</li>")
                continue
            verdict = ("ahead" if r.edge > 0 else "behind") if r.significant else "no clear difference"
            items.append(f"<li>vs {esc(r.competitor)}: <b>{signed_number(r.edge)}</b> points "
                         f"({self.ci(r.ci_low, r.ci_high, signed=True)}; n = {r.n_shops} mystery shops) — {verdict}</li>")
        shops = edge.attrs["shops_wave"]
        when = "" if shops == self.wave else f" The latest shops are of wave {esc(shops)}."
        return (f"<p><b>Competitive Edge</b> (the client's QCI minus each competitor's, on the same rubric):{when}</p>"
                f"<ul>{''.join(items)}</ul>")

    def priorities_html(self, top: int = 3) -> str:
        pr = metrics.priorities(self.eng, self.wave, top=top)
        items = "".join(
            f"<li><b>{esc(r.name)}</b> ({esc(r.dimension)}): scores {r.score:.0f} of 100; reaching the target adds "
            f"{r.potential:.1f} QCI points.{self.caveat(r.element)}</li>" for r in pr.itertuples())
        return f"<h3>Fix first</h3><ol class='priorities'>{items}</ol>"

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
        q = self.headline()["qci"]
        industry = f" · {esc(cfg.industry)}" if cfg.industry else ""
        parts = [
            '<header class="cover">',
            f"<h1>{esc(cfg.client)}</h1>",
            f'<p class="sub">Quality of Customer Interaction · wave {esc(self.wave)}{industry}</p></header>',
            '<section class="page-one"><h2>Summary for executives</h2>',
            f'<div class="kpi"><span class="big">{q["estimate"]:.1f}</span>'
            f'<span class="label">QCI out of 100 · {self.ci(q["ci_low"], q["ci_high"])} · '
            f'{self.scored_phrase()} · target {cfg.target_qci:g}</span></div>',
            self.change_sentence(),
            self.definition(),
            self.trend_html(),
        ]
        if self.change is not None:
            parts.append(self.what_changed())
        parts += [self.effort_sentence(), self.edge_html(), self.priorities_html(), "</section>"]
        return Fragment("".join(parts))

    # -- detail for managers --------------------------------------------------------------------
    def dimensions(self) -> pd.DataFrame:
        cur = self.current
        rows = [metrics.summarize(cur, d, confidence=self.eng.config.confidence).assign(dimension=d) for d in self.eng.rubric.dimensions]
        return pd.concat(rows, ignore_index=True)[["dimension", "n", "estimate", "ci_low", "ci_high", "small"]]

    def elements(self) -> pd.DataFrame:
        el = metrics.element_table(self.eng)
        el = el[el["wave"] == self.wave]
        s = metrics.summarize(el, "score", confidence=self.eng.config.confidence, measure="element")
        s["name"] = s["element"].map(self.eng.rubric.elements["name"])
        return s

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

    def group_table(self, column: str, title: str, first: str) -> str:
        """One table of this wave's QCI by ``column``, its first column headed ``first``: every level with its n."""
        t = self.by(column)
        rows = pd.DataFrame({
            first: t["group"],
            "QCI": t["estimate"],
            self.level + " CI": [interval(a, b) for a, b in zip(t["ci_low"], t["ci_high"])],
            "Interactions": t["n"],
            "Note": ["one interaction: no interval" if n < 2 else "few interactions: wide interval" if s else ""
                     for n, s in zip(t["n"], t["small"])],
        })
        missing = self.unscored_levels(column)
        inter = self.eng.interactions
        wave = inter[inter["wave"] == self.wave]
        gone = ""
        if missing:
            parts = [f"{esc(self.label(v))} ({int((wave[column] == v).sum()) if column in wave else 0:,} in the wave)"
                     for v in missing]
            gone = (f"<p>No estimate for {', '.join(parts)}: no interaction of "
                    f"{'it' if len(missing) == 1 else 'them'} was scored this wave.</p>")
        return f"<h3>{esc(title)}</h3>" + table_html(rows, {"Interactions": "{:d}"}) + gone

    def detail_html(self) -> Fragment:
        from . import plots

        conf = self.eng.config.confidence
        dims = self.dimensions()
        weights = {d.name: d.weight for d in self.eng.rubric.model.dimensions}
        parts = ["<h3>Dimensions</h3>", table_html(pd.DataFrame({
            "Dimension": dims["dimension"], "Weight": [f"{100 * weights[d]:.0f} %" for d in dims["dimension"]],
            "Score": dims["estimate"], self.level + " CI": [interval(a, b) for a, b in zip(dims["ci_low"], dims["ci_high"])],
            "Interactions": dims["n"]}), {"Interactions": "{:d}"})]
        el = self.elements()
        a = self.agreement.set_index("element")["verdict"]
        dim_of = self.eng.rubric.elements["dimension"]
        order = el.assign(d=el["element"].map(dim_of)).sort_values(["d", "estimate"])
        parts += ["<h3>Elements</h3>",
                  "<p>Each element's score is the share of its points earned, 0–100. Where raters do not yet agree "
                  "on an element, its score is less certain than its interval shows (see How this was measured).</p>",
                  table_html(pd.DataFrame({
                      "Element": order["name"], "Dimension": order["d"], "Score": order["estimate"],
                      self.level + " CI": [interval(x, y) for x, y in zip(order["ci_low"], order["ci_high"])],
                      "Raters agree": [{"reliable": "yes", "tentative": "tentatively", "unreliable": "not yet",
                                        reliability.TOO_FEW: "too few to judge"}.get(a.get(e), "not measured")
                                       for e in order["element"]]})),
                  ]
        low = el.sort_values("estimate").head(3)
        ax = plots.estimates_with_ci(el, "name", "", target=self.eng.config.target_qci, confidence=conf)
        alt = (f"Dot plot of the {len(el)} element scores with {self.level} intervals and the target "
               f"{self.eng.config.target_qci:g}; lowest: " +
               ", ".join(f"{n} {v:.0f}" for n, v in zip(low["name"], low["estimate"])) + ". The table above lists them all.")
        parts.append(figure_html(ax, alt, f"Element scores this wave ({self.level} intervals; dashed: target)."))
        if self.change is not None:
            parts.append(self.change_html())
        edge = self._edge()
        if edge is not None:
            parts.append(self.edge_detail_html(edge))
        parts.append(f"<p>Every team, touchpoint and level is shown with its number of scored interactions; below "
                     f"{self.min_cell} its interval is wide, so read it with care.</p>")
        for col, title, first in (("team", "Teams", "Team"), ("touchpoint", "Touchpoints", "Touchpoint")):
            if col in self.current:
                parts.append(self.group_table(col, title, first))
        for f in self.eng.schema.names:
            if f != "touchpoint" and f in self.current:
                parts.append(self.group_table(f, f"By {self.label(f).lower()}", self.label(f)))
        if "scenario" in self.current:
            parts.append(self.scenario_html())
        return Fragment("".join(parts))

    def scenario_html(self) -> str:
        counts = self.current["scenario"].value_counts()
        big = counts[counts >= self.min_cell]
        lead = (f"<h3>Scenarios</h3><p>A scenario is one combination of {', '.join(esc(self.label(f).lower()) for f in self.eng.schema.names)}. "
                f"Scenarios are shown on their own from {self.min_cell} scored interactions; ")
        if big.empty:
            return lead + (f"none reaches that this wave ({len(counts)} scenarios seen, the largest with {int(counts.max())} "
                           "interactions), so the facets above are the finer view.</p>")
        t = self.by("scenario", pool=True)
        rows = pd.DataFrame({"Scenario": t["group"], "QCI": t["estimate"],
                             self.level + " CI": [interval(a, b) for a, b in zip(t["ci_low"], t["ci_high"])],
                             "Interactions": t["n"]})
        return lead + "the others are pooled.</p>" + table_html(rows, {"Interactions": "{:d}"})

    def change_html(self) -> str:
        from . import plots

        ch = self.change[self.change["kind"] != "overall"]
        m = int(ch.loc[ch["kind"] == "element", "comparisons"].max())
        names = [self.element_name(x) if k == "element" else x for x, k in zip(ch["measure"], ch["kind"])]
        rows = pd.DataFrame({
            "Measure": names, self.change.attrs["before"]: ch["before"].to_numpy(), self.change.attrs["after"]: ch["after"].to_numpy(),
            "Change": [signed_number(x) for x in ch["change"]],
            self.level + " CI (adjusted)": [interval(a, b, signed=True) for a, b in zip(ch["ci_low"], ch["ci_high"])],
            "p (adjusted)": [p_value(p) for p in ch["p_adj"]],
            "Real change": ["yes" if s else "" for s in ch["significant"]]})
        ax = plots.wave_change(self.change.assign(name=[self.element_name(x) for x in self.change["measure"]]))
        moved = int((ch["significant"] & (ch["kind"] == "element")).sum())
        alt = (f"Dot plot of each element's change from {self.change.attrs['before']} to {self.change.attrs['after']} "
               f"with adjusted intervals; {moved} of {m} elements changed beyond noise (coloured).")
        return (f"<h3>Change since {esc(self.change.attrs['before'])}</h3>"
                f"<p>Intervals ({self.level}) and p-values are adjusted together for the number of comparisons "
                f"({m} elements; the dimensions as one more family): a change marked real has an interval that "
                "excludes 0.</p>" + table_html(rows) +
                figure_html(ax, alt, "Change per element (coloured: beyond noise; grey: within noise)."))

    def edge_detail_html(self, edge: pd.DataFrame) -> str:
        from . import plots

        q = edge[edge["measure"] == "QCI"]
        rows = pd.DataFrame({
            "Competitor": q["competitor"], "Mystery shops": q["n_shops"], "Client QCI": q["client"],
            "Competitor QCI": q["competitor_score"], "Edge": [signed_number(x) for x in q["edge"]],
            self.level + " CI": [interval(a, b, signed=True) if not n else n
                                 for a, b, n in zip(q["ci_low"], q["ci_high"], q["note"])]})
        ax = plots.competitive_edge(edge, label=self.element_name)
        alt = ("Dot plot of the client's edge over each competitor, QCI first then each element, with intervals; "
               + "; ".join(f"{r.competitor}: QCI edge {signed_number(r.edge)} ({r.n_shops} shops)" for r in q.itertuples()) + ".")
        shops = edge.attrs["shops_wave"]
        when = ("of the same wave" if shops == self.wave
                else f"of wave {esc(shops)}, the latest with shops (none in wave {esc(self.wave)})")
        return ("<h3>Competitive Edge</h3><p>The client's interactions of this wave against competitors' mystery "
                f"shops {when}, scored on the same rubric with its base weights on both sides (shops have no "
                "scenario), so the client's QCI here can differ slightly from the headline, which applies the "
                "scenario weights. Element intervals are adjusted for the number of elements.</p>"
                + table_html(rows, {"Mystery shops": "{:d}"}) +
                figure_html(ax, alt, "Edge over each competitor (> 0: the client is ahead), with intervals."))

    # -- coaching pages -------------------------------------------------------------------
    def example_interaction(self, team: str, element: str) -> dict:
        """An interaction of ``team`` that shows its weakness on ``element``, for the coaching page.

        Gold interactions of the team come first (lowest gold points, below the element's maximum): gold
        says which rule fired and quotes the words, so the page can show exactly what cost the points.
        Otherwise the team's lowest-scoring interaction of this wave. Transcripts are redacted.
        """
        inter = self.eng.interactions.set_index("interaction_id")
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

    def coaching_html(self) -> Fragment:
        parts = []
        teams = sorted(self.current["team"].dropna().unique())
        for i, team in enumerate(teams):
            weak = metrics.team_weakest(self.eng, team, self.wave)
            items = "".join(f"<li>{esc(r.name)}: {r.estimate:.0f} of 100 ({self.ci(r.ci_low, r.ci_high, digits=0)}, "
                            f"n = {r.n}){self.caveat(r.element)}</li>" for r in weak.itertuples())
            first = weak.iloc[0]["element"]
            ex = self.example_interaction(team, first)
            guide = answers.element_guidance(self.eng.rubric, self.eng.answers, first)
            maxp = float(self.eng.rubric.max_points[first])
            if ex:
                what = [f"<p>Interaction {esc(ex['id'])} (wave {esc(ex['wave'])}): {ex['points']:g} of {maxp:g} points "
                        f"on {esc(self.element_name(first))}.</p>"]
                if ex["rationale"]:
                    what.append(f"<p><b>The rule as scored:</b> {esc(ex['rationale'])}</p>")
                if ex["evidence"]:
                    what.append(f"<blockquote class='evidence'>“{esc(ex['evidence'])}”</blockquote>")
                done = redaction.describe(ex["redacted"], self.eng.redaction_kinds())
                what.append(f"<details open><summary>The whole interaction ({esc(done)})</summary>"
                            f"<pre>{esc(ex['transcript'])}</pre></details>")
            else:
                what = ["<p>No scored interaction of this team on this element.</p>"]
            aim = [f"<p><b>Do:</b> {esc(guide['do'])}</p>"]
            if guide["example"]:
                aim.append(f"<p><b>For example:</b> {esc(guide['example'])}</p>")
            if guide["snippet"]:
                aim.append(f"<p><b>In {esc(self.eng.config.client)}'s words:</b> {esc(guide['snippet'])}</p>")
            if guide["avoid"]:
                aim.append(f"<p><b>Avoid:</b> {esc(guide['avoid'])}</p>")
            outline = answers.model_answer(self.eng, None, "conversation_outline", elements=list(weak["element"]), html=False)
            parts.append(
                f'<section class="coaching{" first" if i == 0 else ""}"><h3>Coaching page — {esc(self.label(team))}</h3>'
                f"<p>Weakest elements this wave:</p><ol>{items}</ol>"
                f"<h4>To discuss together: {esc(self.element_name(first))}</h4>"
                f"<div class='side-by-side'><div><p><b>What happened</b></p>{''.join(what)}</div>"
                f"<div class='aim'><p><b>The behaviour to aim for</b></p>{''.join(aim)}</div></div>"
                f"<p>The model answer for all three elements:</p><pre class='answer'>{esc(outline)}</pre></section>")
        return Fragment("".join(parts))

    # -- how this was measured ------------------------------------------------------------------
    def method_html(self) -> Fragment:
        eng = self.eng
        n_pop = int((eng.interactions["wave"] == self.wave).sum())
        n = int(len(self.current))
        qci = self.headline()["qci"]
        rel = self.agreement
        words = {"reliable": "reliable", "tentative": "tentative", "unreliable": "unreliable", "undefined": "not measurable",
                 reliability.TOO_FEW: "too few varied interactions to judge"}
        table = pd.DataFrame({
            "Element": [self.element_name(e) for e in rel["element"]],
            "Interactions scored twice or more": rel["n_units"],
            "Agreement (α)": rel["estimate"],
            self.level + " CI": [interval(a, b, digits=2) for a, b in zip(rel["ci_low"], rel["ci_high"])],
            "Verdict": [words.get(v, v) for v in rel["verdict"]]})
        sampled = self.progress.attrs["sampled"] if self.progress is not None else n
        unscored = ""
        if self.progress is not None and self.progress.attrs["scored"] < sampled:
            empty = self.progress[self.progress["scored"] == 0]
            unscored = (f" The {sampled - self.progress.attrs['scored']:,} sampled interactions not scored yet are "
                        "treated as nonresponse within their stratum: the scored ones stand for the whole stratum.")
            if len(empty):
                unscored += (f" {len(empty)} stratum/strata have no scored interaction yet, so the estimates leave "
                             "them out.")
        parts = [f"<p>{sampled:,} of {n_pop:,} interactions in wave {esc(self.wave)} were sampled at random within "
                 f"{esc(self.label(eng.config.strata or 'touchpoint').lower())}s; {self.scored_phrase()} by trained "
                 f"raters on rubric version {esc(eng.rubric.version)}.{unscored} Estimates are weighted to the whole "
                 "wave (stratified, with each stratum's finite population correction); intervals are t intervals on "
                 "the number of scored interactions minus the number of strata as degrees of freedom, and changes "
                 "and Competitive Edge use Welch–Satterthwaite degrees of freedom. The QCI's margin of error this "
                 f"wave is ±{(qci['ci_high'] - qci['ci_low']) / 2:.1f} points at {self.level} confidence. Customer "
                 "Effort counts every customer who answered, not only the sample.</p>",
                 f"<p>Agreement between raters in wave {esc(self.wave)}, per element (each rater's own ratings before "
                 f"any dispute was settled; Krippendorff's alpha on the points, ordinal; {self.level} "
                 "bootstrap interval, bias-corrected and accelerated). The verdict reads the interval's lower limit: "
                 "reliable from .800, tentative from .667, otherwise unreliable (Krippendorff's thresholds); where "
                 "too few interactions vary for the lower limit to exist, no verdict is given. Recommendations on an unreliable element "
                 "carry a caveat in this report.</p>",
                 table_html(table, {"Interactions scored twice or more": "{:d}", "Agreement (α)": "{:.2f}"})]
        return Fragment("".join(parts))

    # -- QA notes: the consultant's page, never in the client's HTML ------------------------------------
    def data_notes_html(self, limit: int = 5) -> Fragment:
        """Transcripts this wave that hold markup or personal data: shown escaped and redacted."""
        inter = self.eng.interactions
        cur = inter[inter["wave"] == self.wave]
        t = cur["transcript"].astype(str)
        markup = t.str.contains(r"<[a-zA-Z/!]", regex=True)
        personal = pd.Series([self.eng.redact(x, i) != x for x, i in zip(t, cur["interaction_id"])], index=cur.index)
        rows = cur[markup | personal].head(limit)

        def flagged(text: str, iid) -> str:
            # The lines that hold the markup or the personal data, not the transcript's opening.
            lines = [ln for ln in str(text).splitlines()
                     if re.search(r"<[a-zA-Z/!]", ln) or self.eng.redact(ln, iid) != ln]
            return "\n".join(self.eng.redact(ln, iid) for ln in lines[:3])[:400]

        items = "".join(f"<li>{esc(r.interaction_id)}: <code>{esc(flagged(r.transcript, r.interaction_id))}</code></li>"
                        for r in rows.itertuples())
        return Fragment(f"<h3>Data notes</h3><p>{int(markup.sum())} transcript(s) this wave contain markup and "
                        f"{int(personal.sum())} contain personal data ({esc(', '.join(self.eng.redaction_kinds()))} are "
                        "looked for). The lines concerned, quoted "
                        f"as plain text, personal data redacted:</p><ul>{items}</ul>")

    def save_tables(self, out: str | Path) -> Path:
        """Write the headline numbers of this report as ``<slug>-<wave>-summary.csv`` in ``out`` (for audit)."""
        from ._io import write_csv
        from .report import report_stem

        rows = [{"measure": "QCI", **self.headline()["qci"]}]
        rows += [{"measure": r["dimension"], **{k: r[k] for k in ("estimate", "ci_low", "ci_high", "n")}}
                 for _, r in self.dimensions().iterrows()]
        return write_csv(pd.DataFrame(rows).assign(wave=self.wave), Path(out) / f"{report_stem(self.eng.slug, self.wave)}-summary.csv")

    def qa_html(self, out: str | Path | None = None) -> Fragment:
        """The consultant's checks: sources, seed, rubric version, data notes; writes the summary CSV to ``out``."""
        eng = self.eng
        a = self.agreement
        items = [f"engagement folder: <code>{esc(eng.path)}</code>",
                 f"scores read from: {esc(eng.scores_source)}",
                 f"rubric version {esc(eng.rubric.version)}; sampling seed {eng.config.seed}; "
                 f"agreement bootstrap: 1,000 resamples, seed {eng.config.seed}",
                 f"unreliable elements this wave: {esc(', '.join(sorted(self.unreliable)) or 'none')} "
                 f"({int((a['verdict'] == 'undefined').sum())} not measurable)"]
        if out is not None:
            items.append(f"headline numbers written to <code>{esc(self.save_tables(out).name)}</code>")
        return Fragment(f"<h3>Sources</h3><ul>{''.join(f'<li>{i}</li>' for i in items)}</ul>" + self.data_notes_html())
