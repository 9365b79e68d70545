"""The report's content: every number computed once from one engagement folder,
and every piece of client text escaped (and personal data redacted) on its
way into HTML.

``ReportContext.load(engagement, wave)`` is what ``client_report.ipynb``
calls; its methods return small HTML fragments (``IPython.display.HTML``) or
DataFrames, so the notebook stays a list of one-line cells.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import answers, metrics, reliability
from .engagement import Engagement
from .redaction import redact

def esc(value) -> str:
    """HTML-escape any value (client text never reaches a report unescaped)."""
    return html.escape("" if value is None else str(value), quote=True)


def p_value(p: float) -> str:
    """A p-value as a reader expects it: three decimals, or "<0.001".

    >>> p_value(0.0004), p_value(0.0312)
    ('<0.001', '0.031')
    """
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def table_html(df: pd.DataFrame, formats: dict | None = None, classes: str = "qci-table") -> str:
    """A DataFrame as an HTML table with every cell escaped and numbers formatted
    (``formats`` maps a column to a format string or a function)."""
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
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
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


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

    @classmethod
    def load(cls, engagement: str | Path, wave: str | None = None) -> "ReportContext":
        eng = Engagement.load(engagement)
        wave = wave or eng.config.waves[-1]
        if wave not in eng.config.waves:
            from .errors import MetricsError

            raise MetricsError(f"{engagement}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
        inter = metrics.interaction_table(eng)
        try:  # the wave before this one, never simply the last two waves present
            change = metrics.wave_change(eng, wave)
        except metrics.MetricsError:
            change = None  # the first measured wave: the report says there is nothing to compare with
        return cls(eng, wave, inter, change)

    @property
    def level(self) -> str:
        """The confidence level as the texts print it, e.g. "95%"."""
        return f"{100 * self.eng.config.confidence:g}%"

    @property
    def current(self) -> pd.DataFrame:
        return self.interactions[self.interactions["wave"] == self.wave]

    # -- executive summary ---------------------------------------------------------
    def headline(self) -> dict:
        cur = self.current
        r = metrics.weighted_mean_ci(cur["qci"], cur["weight"], self.eng.config.confidence, strata=cur["stratum"], fpc=cur["fpc"])
        out = {"qci": r}
        if self.change is not None:
            out["change"] = self.change[self.change["kind"] == "overall"].iloc[0].to_dict()
        return out

    def summary_html(self) -> Fragment:
        cfg = self.eng.config
        h = self.headline()
        parts = [f'<div class="headline"><h1>{esc(cfg.client)}</h1>'
                 f'<p class="sub">Quality of Customer Interaction — wave {esc(self.wave)} · {esc(cfg.industry)}</p>'
                 f'<div class="kpi"><span class="big">{h["qci"]["estimate"]:.1f}</span>'
                 f'<span class="label">QCI (0–100), {self.level} CI {h["qci"]["ci_low"]:.1f}–{h["qci"]["ci_high"]:.1f}, '
                 f'{h["qci"]["n"]} interactions; target {cfg.target_qci:g}</span></div>']
        if "change" in h:
            c = h["change"]
            # The words follow the interval printed beside them: "real" exactly when it excludes 0.
            sig = f"a real change (p = {p_value(c['p_adj'])})" if c["significant"] else f"within noise (p = {p_value(c['p_adj'])})"
            parts.append(f'<p>Change since {esc(self.change.attrs["before"])}: <b>{c["change"]:+.1f}</b> points '
                         f'({self.level} CI {c["ci_low"]:+.1f} to {c["ci_high"]:+.1f}) — {sig}.</p>')
            parts.append(self.what_changed())
        else:
            parts.append(f"<p>Wave {esc(self.wave)} is the first measured wave: there is no earlier wave to compare with.</p>")
        try:
            ce = metrics.customer_effort(self.eng).set_index("wave").loc[self.wave]
            parts.append(f'<p>Customer Effort: mean {ce["mean_effort"]:.2f} on 1–7 (lower is easier), '
                         f'{100 * ce["low_effort_share"]:.0f}% low-effort answers (n = {int(ce["n"])}).</p>')
        except (KeyError, metrics.MetricsError):
            parts.append("<p>Customer Effort: no answers this wave.</p>")
        if self.eng.mystery_shops is not None:
            parts.append(self.edge_html())
        pr = metrics.priorities(self.eng, self.wave, top=5)
        items = "".join(f"<li><b>{esc(r.name)}</b> ({esc(r.dimension)}): scores {r.score:.0f}; "
                        f"reaching target adds {r.potential:.1f} QCI points</li>" for r in pr.itertuples())
        parts.append(f"<h3>Fix first</h3><ol>{items}</ol></div>")
        return Fragment("".join(parts))

    def edge_html(self) -> str:
        """Competitive Edge in words: the same wave's shops, their number, the interval, or "not enough shops"."""
        try:
            edge = metrics.competitive_edge(self.eng, self.wave)
        except metrics.MetricsError:
            return "<p>Competitive Edge: no mystery shops of this wave or earlier.</p>"
        q = edge[edge["measure"] == "QCI"]
        items = []
        for r in q.itertuples():
            if r.note:
                items.append(f"<li>vs {esc(r.competitor)}: {esc(r.note)} ({r.n_shops}) for an interval</li>")
            else:
                verdict = "ahead" if r.significant and r.edge > 0 else "behind" if r.significant else "no clear difference"
                items.append(f"<li>vs {esc(r.competitor)}: {r.edge:+.1f} points ({self.level} CI {r.ci_low:+.1f} to "
                             f"{r.ci_high:+.1f}; {r.n_shops} shops) — {verdict}</li>")
        shops = edge.attrs["shops_wave"]
        when = "" if shops == self.wave else f" (the latest shops are of wave {esc(shops)})"
        return f"<p>Competitive Edge (client QCI − competitor's mystery shops{when}):</p><ul>{''.join(items)}</ul>"

    def what_changed(self) -> str:
        """The elements whose change interval excludes 0 (Bonferroni across the elements), in words."""
        el = self.change[(self.change["kind"] == "element") & self.change["significant"]]
        up = el[el["change"] > 0].sort_values("change", ascending=False)
        down = el[el["change"] < 0].sort_values("change")
        fmt = lambda t: ", ".join(f"{esc(r.name)} {r.change:+.1f}" for r in t.itertuples())
        better = f"better: {fmt(up)}" if len(up) else "no element improved beyond noise"
        worse = f"worse: {fmt(down)}" if len(down) else "no element got significantly worse"
        m = int(self.change.loc[self.change["kind"] == "element", "comparisons"].max())
        return (f"<p>What changed (elements whose interval, adjusted for {m} comparisons, excludes 0): "
                f"{better}; {worse}.</p>")

    # -- detail ------------------------------------------------------------------------
    def dimensions(self) -> pd.DataFrame:
        cur = self.current
        rows = [metrics.summarize(cur, d, confidence=self.eng.config.confidence).assign(dimension=d) for d in self.eng.rubric.dimensions]
        return pd.concat(rows, ignore_index=True)[["dimension", "n", "estimate", "ci_low", "ci_high", "small"]]

    def by(self, column: str) -> pd.DataFrame:
        return metrics.summarize(self.current, "qci", by=column, confidence=self.eng.config.confidence)

    def elements(self) -> pd.DataFrame:
        el = metrics.element_table(self.eng)
        el = el[el["wave"] == self.wave]
        s = metrics.summarize(el, "score", confidence=self.eng.config.confidence, measure="element")
        s["name"] = s["element"].map(self.eng.rubric.elements["name"])
        return s

    def detail_html(self) -> Fragment:
        dims = self.dimensions()
        parts = ["<h3>Dimensions</h3>", table_html(dims.rename(columns={"estimate": "score"}), {"n": "{:d}"})]
        if self.change is not None:
            ch = self.change[self.change["kind"] != "overall"][["name", "before", "after", "change", "ci_low", "ci_high", "p_adj", "significant"]]
            parts += [f"<h3>Change since {esc(self.change.attrs['before'])}</h3>",
                      f"<p>Intervals ({self.level}) and p-values are adjusted together (Bonferroni across the elements, and "
                      "across the dimensions): a row marked yes is a change to report, and its interval excludes 0.</p>",
                      table_html(ch, {"p_adj": p_value})]
        for col, title in (("team", "Teams"), ("touchpoint", "Touchpoints"), ("scenario", "Scenarios (largest 10)")):
            if col in self.current:
                t = self.by(col).sort_values("n", ascending=False).head(10)
                parts += [f"<h3>{title}</h3>", "<p>Cells with fewer than 30 interactions are flagged small: read them with care.</p>",
                          table_html(t.drop(columns=["se"]).rename(columns={"estimate": "qci"}), {"n": "{:d}"})]
        return Fragment("".join(parts))

    # -- coaching pages -------------------------------------------------------------------
    def example_interaction(self, team: str, element: str) -> tuple[str, str]:
        """The team's lowest-scoring interaction on ``element`` this wave: its id and redacted transcript."""
        el = metrics.element_table(self.eng)
        part = el[(el["wave"] == self.wave) & (el["team"] == team) & (el["element"] == element)].dropna(subset=["score"])
        if part.empty:
            return "", ""
        worst = part.sort_values(["score", "interaction_id"]).iloc[0]["interaction_id"]
        text = self.eng.interactions.set_index("interaction_id").loc[worst, "transcript"]
        return worst, redact(str(text), self.eng.config.country)

    def coaching_html(self) -> Fragment:
        parts = []
        teams = sorted(self.current["team"].dropna().unique())
        for team in teams:
            weak = metrics.team_weakest(self.eng, team, self.wave)
            items = "".join(f"<li>{esc(r.name)}: {r.estimate:.0f} ({self.level} CI {r.ci_low:.0f}–{r.ci_high:.0f}, n = {r.n})</li>"
                            for r in weak.itertuples())
            first = weak.iloc[0]["element"]
            iid, text = self.example_interaction(team, first)
            guide = answers.model_answer(self.eng, None, "conversation_outline", elements=list(weak["element"]), html=False)
            parts.append(
                f'<section class="coaching"><h3>Coaching page — {esc(team)}</h3>'
                f"<p>Weakest elements this wave:</p><ol>{items}</ol>"
                f"<p>An example to discuss ({esc(iid)}, personal data redacted):</p><blockquote><pre>{esc(text)}</pre></blockquote>"
                f"<p>The model answer to aim for:</p><pre class='answer'>{esc(guide)}</pre></section>")
        return Fragment("".join(parts))

    def save_tables(self, out: str | Path) -> Path:
        """Write the headline numbers of this report as ``<slug>_summary.csv`` in ``out`` (for audit)."""
        from ._io import write_csv

        rows = [{"measure": "QCI", **self.headline()["qci"]}]
        rows += [{"measure": r["dimension"], **{k: r[k] for k in ("estimate", "ci_low", "ci_high", "n")}}
                 for _, r in self.dimensions().iterrows()]
        return write_csv(pd.DataFrame(rows).assign(wave=self.wave), Path(out) / f"{self.eng.slug}_summary.csv")

    # -- data notes ---------------------------------------------------------------------------
    def data_notes_html(self, limit: int = 5) -> Fragment:
        """Transcripts this wave that hold markup or personal data: shown escaped and redacted."""
        inter = self.eng.interactions
        cur = inter[inter["wave"] == self.wave]
        t = cur["transcript"].astype(str)
        markup = t.str.contains(r"<[a-zA-Z/!]", regex=True)
        personal = t.map(lambda x: redact(x, self.eng.config.country)) != t
        rows = cur[markup | personal].head(limit)
        items = "".join(f"<li>{esc(r.interaction_id)}: <code>{esc(redact(r.transcript, self.eng.config.country)[:300])}</code></li>" for r in rows.itertuples())
        return Fragment(f"<h3>Data notes</h3><p>{int(markup.sum())} transcript(s) this wave contain markup and "
                        f"{int(personal.sum())} contain e-mail addresses or phone numbers. Quoted below as plain text, "
                        f"personal data redacted:</p><ul>{items}</ul>")

    # -- method notes ------------------------------------------------------------------------
    def method_html(self) -> Fragment:
        eng = self.eng
        n_pop = int((eng.interactions["wave"] == self.wave).sum())
        n = int(len(self.current))
        qci = self.headline()["qci"]
        own = eng.own_ratings
        rel = reliability.by_element(own[own["wave"] == self.wave], eng.rubric, n_boot=1000, seed=eng.config.seed,
                                     confidence=eng.config.confidence)
        rel = rel[["element", "n_units", "estimate", "ci_low", "ci_high", "verdict"]]
        parts = ["<h3>Method</h3>",
                 f"<p>{n} of {n_pop} interactions in wave {esc(self.wave)} were sampled at random within touchpoints "
                 f"(seed {eng.config.seed}) and scored on rubric {esc(eng.rubric.version)}. Estimates are design-weighted "
                 f"(stratified, with each stratum's finite population correction); the QCI's margin of error achieved "
                 f"this wave is ±{(qci['ci_high'] - qci['ci_low']) / 2:.1f} points at {self.level} confidence.</p>",
                 f"<p>Agreement between raters per element (Krippendorff's alpha, ordinal, {self.level} bootstrap interval "
                 "of 1,000 resamples). The verdict reads the interval's lower limit: reliable when it is at least .800, "
                 "tentative when at least .667, otherwise unreliable (Krippendorff's thresholds).</p>",
                 table_html(rel, {"n_units": "{:d}", "estimate": "{:.3f}", "ci_low": "{:.3f}", "ci_high": "{:.3f}"})]
        return Fragment("".join(parts))
