"""Interactive widgets for the notebooks (ipywidgets).

Each widget is a small class holding its controls as attributes, so it can be
driven from Python exactly as a person drives it in JupyterLab (set
``.value``, call ``.click()``) — that is how the tests use them.

- :class:`ScoringForm` — pick rater and interaction, read the transcript, score
  each element with its rules beside it, save to the append-only store;
  dispute a score with a comment.
- :class:`PracticeForm` — the scoring form on gold interactions for trainees: immediate feedback per
  element (gold's points, rule and evidence) or, for certification, answers kept for the check; writes nothing.
- :class:`ClassificationForm` — classify interactions into scenarios (writes inventory.csv).
- :class:`RubricExplorer` — filter by dimension and scenario, see effective weights.
- :class:`SampleSizeWhatIf` — margin, confidence, population and cost → n.
- :class:`Dashboard` — element metrics by wave, team and touchpoint.
"""
from __future__ import annotations

import html

import ipywidgets as w
import numpy as np
import pandas as pd

from . import metrics, sampling
from .errors import QcikitError
from .scoring import quotes
from .sections import table_html
from .store import Store

NA = "N/A"


def _voice_html(voice) -> str:
    """The brand voice beside the rubric: the Differentiation elements are scored against it."""
    parts = [f"<b>Brand voice:</b> {html.escape(voice.tone)}" if voice.tone else ""]
    if voice.signature_phrases:
        parts.append("<b>signature phrases:</b> " + "; ".join(f"“{html.escape(p)}”" for p in voice.signature_phrases))
    if voice.sign_off:
        parts.append(f"<b>sign-off:</b> “{html.escape(voice.sign_off)}”")
    if voice.avoid:
        parts.append("<b>avoid:</b> " + ", ".join(f"“{html.escape(p)}”" for p in voice.avoid))
    return "<small>" + " · ".join(p for p in parts if p) + "</small>"


# The scoring arithmetic, stated once where raters read it (the training notebook says the same).
ARITHMETIC_HTML = (
    "<details><summary><b>How points add up</b></summary><small><ul>"
    "<li>An element starts at its <i>start</i> points when the rubric gives one, else at 0.</li>"
    "<li>Each rule that applies adds or takes away its points once, however often the behaviour occurs.</li>"
    "<li>The result is kept within 0 and the element's maximum.</li>"
    "<li><i>n/a</i> means the element does not apply to this interaction (not that it was done badly): its weight "
    "is shared among the other elements. A 0 is a score.</li>"
    "<li>A critical element below its pass mark caps or zeroes the QCI (or its dimension), as the rubric says.</li>"
    "<li>Weights and scenario rules act on the QCI, never on an element's points: score what the transcript shows.</li>"
    "<li>Evidence, when you give it, is the transcript's own words, pasted; the rules are the ones you applied.</li>"
    "</ul></small></details>")


def _rules_html(element) -> str:
    items = [f"<li>+{r.points:g}: {html.escape(r.text)} <i>e.g. {html.escape(r.example)}</i></li>" for r in element.rules.additive]
    items += [f"<li>−{r.points:g}: {html.escape(r.text)} <i>e.g. {html.escape(r.example)}</i></li>" for r in element.rules.subtractive]
    start = f"starts at {element.start:g}; " if element.start else ""
    return f"<small>{start}max {element.max_points:g}<ul>{''.join(items)}</ul></small>"


def _point_options(element) -> list[str]:
    """The points a form offers for an element: empty (not chosen yet), n/a where allowed, 0 … max."""
    options = [str(int(p)) if float(p).is_integer() else str(p) for p in np.arange(0, element.max_points + 1)]
    return [""] + ([NA] if element.na_allowed else []) + options


class _StoreWidget:
    """What the forms that write to an engagement's store share: display, and the store opened on first use."""

    eng = None
    _store: Store | None = None

    def _ipython_display_(self):  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)

    @property
    def store(self) -> Store:
        """The store, opened (and, for the engagement's own store, created) on first use."""
        if self._store is None:
            self._store = self.eng.open_store()
        return self._store


class ScoringForm(_StoreWidget):
    """Score one interaction at a time into the engagement's store.

    Parameters
    ----------
    eng : Engagement
    store : Store, optional
        Defaults to the engagement's own store (``scores.sqlite`` in its folder),
        created at the first save or draft — never a path relative to the kernel.
    raters : list of str, optional
        Names offered in the rater box (default: the raters declared in engagement.yaml).
    """

    def __init__(self, eng, store: Store | None = None, raters: list[str] | None = None):
        self.eng = eng
        self._store = store
        ids = list(eng.sample["interaction_id"]) if eng.sample is not None else list(eng.interactions["interaction_id"])
        # Only declared raters: a typo saved into the append-only store would need a correction event.
        known = raters or eng.config.rater_names
        self.rater = w.Dropdown(options=["", *known], value="", description="Rater")
        self.rater.add_class("qcikit-rater")
        self.interaction = w.Dropdown(options=ids, description="Interaction")
        self.interaction.add_class("qcikit-interaction")
        self.voice = w.HTML(_voice_html(eng.config.brand_voice))
        self.transcript = w.HTML()
        self.points: dict[str, w.Dropdown] = {}
        self.evidence: dict[str, w.Text] = {}
        self.rules: dict[str, w.TagsInput] = {}
        rows = []
        for e in eng.rubric.model.elements:
            dd = w.Dropdown(options=_point_options(e), description=e.name[:28], layout=w.Layout(width="330px"),
                            style={"description_width": "180px"})
            dd.add_class(f"qcikit-points-{e.id}")
            self.points[e.id] = dd
            # Optional: the words that earned or cost the points, and the rules applied (what calibration compares).
            ev = w.Text(placeholder="evidence: paste the transcript's words", layout=w.Layout(width="300px"))
            ev.add_class(f"qcikit-evidence-{e.id}")
            rl = w.TagsInput(value=[], allowed_tags=[r.id for r in (*e.rules.additive, *e.rules.subtractive)],
                             allow_duplicates=False, layout=w.Layout(width="300px"))
            rl.add_class(f"qcikit-rules-{e.id}")
            self.evidence[e.id], self.rules[e.id] = ev, rl
            rows.append(w.HBox([dd, w.VBox([ev, rl]), w.HTML(_rules_html(e))]))
        self.save = w.Button(description="Save", button_style="primary")
        self.save.add_class("qcikit-save")
        self.status = w.HTML()
        # Who else has this interaction open (a team's shared store): drafts of the last minutes, not saved since.
        self.others = w.HTML()
        self.others.add_class("qcikit-others")
        self.dispute_element = w.Dropdown(options=eng.rubric.element_ids, description="Element")
        self.dispute_rater = w.Dropdown(options=["", *known], value="", description="Scored by")
        self.comment = w.Textarea(description="Comment", placeholder="what is wrong, and why")
        self.dispute = w.Button(description="Dispute")
        self.save.on_click(self._on_save)
        self.dispute.on_click(self._on_dispute)
        self._restoring = False
        self.interaction.observe(self._on_interaction, names="value")
        self.rater.observe(self._restore_draft, names="value")
        for box in (*self.points.values(), *self.evidence.values(), *self.rules.values()):
            box.observe(self._keep_draft, names="value")
        self._on_interaction()
        self.status.add_class("qcikit-status")
        self.arithmetic = w.HTML(ARITHMETIC_HTML)
        self.widget = w.VBox([w.HBox([self.rater, self.interaction]), self.others, self.voice, self.arithmetic, self.transcript, *rows,
                              self.save, self.status,
                              w.HTML("<b>Dispute a score</b>"), w.HBox([self.dispute_element, self.dispute_rater]),
                              self.comment, self.dispute])

    def _has_store(self) -> bool:
        return self._store is not None or self.eng.has_store()

    def _scenario(self) -> dict | None:
        inv = self.eng.inventory_facets()
        if inv is None:
            return None
        row = inv[inv["interaction_id"] == self.interaction.value]
        return None if row.empty else row.iloc[0].drop("interaction_id").to_dict()

    def _shown_text(self) -> str:
        """The chosen interaction's transcript as the form shows it: redacted."""
        inter = self.eng.interactions
        iid = self.interaction.value
        row = inter.loc[inter["interaction_id"] == iid, "transcript"]
        return self.eng.redact(str(row.iloc[0]), iid) if len(row) else ""

    def _on_interaction(self, *_):
        self.transcript.value = f"<pre style='white-space:pre-wrap'>{html.escape(self._shown_text())}</pre>"
        active = set(self.eng.rubric.active_elements(self._scenario()))
        self._restoring = True
        for e, dd in self.points.items():
            dd.value = ""
            self.evidence[e].value, self.rules[e].value = "", []
            dd.disabled = self.evidence[e].disabled = e not in active
        self._restoring = False
        self.status.value = ""
        self._restore_draft()

    def _show_others(self) -> None:
        """Name the raters with an unsaved form of this interaction open elsewhere, so two people scoring the
        same interaction know of each other before either saves."""
        if not self._has_store() or not self.interaction.value:
            self.others.value = ""
            return
        try:
            now = self.store.scoring_now(self.interaction.value)
        except QcikitError as exc:  # a team's server out of reach: say so here, the form stays usable
            self.others.value = f"<span style='color:#e76f51'>Cannot see who else is scoring: {html.escape(str(exc))}</span>"
            return
        me = self.rater.value.strip()
        said = [f"<b>{html.escape(r.rater)}</b> in another window (draft at {str(r.at)[11:16]} UTC): saving here makes "
                "this form the latest" if r.rater == me else f"{html.escape(r.rater)} (draft at {str(r.at)[11:16]} UTC)"
                for r in now.itertuples(index=False)]
        self.others.value = ("<span style='color:#8a5300'>Also scoring this interaction now: " + "; ".join(said)
                             + ".</span>") if said else ""

    def _keep_draft(self, *_):
        """Every change is written to the store's drafts at once: a dead kernel loses nothing typed."""
        rater = self.rater.value.strip()
        if self._restoring or not rater:
            return
        draft = {e: dd.value for e, dd in self.points.items() if dd.value != ""}
        draft.update({f"evidence:{e}": t.value for e, t in self.evidence.items() if t.value.strip()})
        draft.update({f"rules:{e}": " ".join(t.value) for e, t in self.rules.items() if t.value})
        try:
            self.store.save_draft(self.interaction.value, rater, draft)
        except QcikitError as exc:  # the server is out of reach: what is typed stays in the form until Save
            self.status.value = f"<span style='color:#e76f51'>Draft not kept: {html.escape(str(exc))}</span>"

    def _restore_draft(self, *_):
        self._show_others()
        rater = self.rater.value.strip()
        try:
            draft = self.store.draft(self.interaction.value, rater) if rater and self._has_store() else None
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Cannot read drafts: {html.escape(str(exc))}</span>"
            return
        if not draft:
            return
        self._restoring = True
        for e, v in draft.items():
            if e in self.points and v in self.points[e].options and not self.points[e].disabled:
                self.points[e].value = v
            kind, _, element = e.partition(":")
            if kind == "evidence" and element in self.evidence:
                self.evidence[element].value = v
            elif kind == "rules" and element in self.rules:
                self.rules[element].value = [r for r in v.split() if r in self.rules[element].allowed_tags]
        self._restoring = False
        self.status.value = f"Restored an unsaved draft from the store ({len(draft)} element(s))."

    def evidence_values(self) -> tuple[dict[str, str], dict[str, str]]:
        """The rules applied (space-separated ids) and the evidence quoted, per scored element that has them."""
        rules = {e: " ".join(t.value) for e, t in self.rules.items() if t.value and not self.points[e].disabled}
        quotes = {e: t.value.strip() for e, t in self.evidence.items() if t.value.strip() and not self.points[e].disabled}
        return rules, quotes

    def values(self) -> dict[str, float | None]:
        out = {}
        for e, dd in self.points.items():
            if dd.disabled or dd.value == "":
                continue
            out[e] = None if dd.value == NA else float(dd.value)
        return out

    def _on_save(self, *_):
        try:
            rater = self.rater.value.strip()
            if not rater:
                raise QcikitError("choose your name as rater before saving."
                                  + ("" if self.rater.options[1:] else " No rater is declared: add 'raters:' to engagement.yaml."))
            vals = self.values()
            missing = [e for e, dd in self.points.items() if not dd.disabled and dd.value == ""]
            if missing:
                raise QcikitError(f"{len(missing)} element(s) are not scored yet: {', '.join(missing)}.")
            inter = self.eng.interactions.set_index("interaction_id").loc[self.interaction.value]
            rules, evidence = self.evidence_values()
            # The quote must be the transcript's words: as shown here (redacted) or as the export holds them.
            shown = self.eng.redact(str(inter["transcript"]), self.interaction.value)
            wrong = [e for e, q in evidence.items() if not (quotes(q, shown) or quotes(q, inter["transcript"]))]
            if wrong:
                raise QcikitError(f"the evidence for {', '.join(wrong)} is not a verbatim quote of the transcript. "
                                  "Paste the words from the transcript exactly, or leave the evidence empty.")
            n = self.store.save(self.interaction.value, rater, vals, wave=inter["wave"], rubric_version=self.eng.rubric.version,
                                by=rater, rules=rules, evidence=evidence)
            self.status.value = f"<span style='color:#2a9d8f'>Saved {n} scores for {html.escape(self.interaction.value)}.</span>"
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Not saved: {html.escape(str(exc))}</span>"

    def _on_dispute(self, *_):
        try:
            by = self.rater.value.strip()
            if not by:
                raise QcikitError("enter your name as rater before disputing.")
            did = self.store.dispute(self.interaction.value, self.dispute_rater.value.strip(), self.dispute_element.value,
                                     by, self.comment.value)
            self.status.value = f"Dispute #{did} raised; a second rater settles it with store.settle({did}, ...)."
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Not raised: {html.escape(str(exc))}</span>"


class PracticeForm(ScoringForm):
    """The scoring form in practice mode: gold interactions only, and nothing written anywhere.

    With ``feedback=True`` (practice), "Check" shows at once, per element, the
    trainee's points, gold's, the rule that fired and the quoted evidence
    (:func:`qcikit.training.explain`). With ``feedback=False`` (the certification
    set), "Record" keeps the answers for :func:`qcikit.training.certify` and shows
    nothing of gold. Answers live in the form (``answers()``), never in the
    engagement's score store.
    """

    def __init__(self, eng, interactions: list[str], trainee: str = "", feedback: bool = True):
        if not interactions:
            raise QcikitError("a practice form needs at least one gold interaction. Fix: pass training.practice_split(eng)[0].")
        self._answers: dict[str, dict] = {}
        self.give_feedback = feedback
        super().__init__(eng, raters=[trainee] if trainee else [])
        self.rater.description, self.rater.value = "Trainee", trainee
        self.interaction.options = list(interactions)
        self.save.description = "Check" if feedback else "Record"
        self.feedback = w.HTML()
        self.feedback.add_class("qcikit-feedback")
        rows = [c for c in self.widget.children if isinstance(c, w.HBox) and c.children and c.children[0] in self.points.values()]
        self.widget = w.VBox([w.HBox([self.rater, self.interaction]), self.voice, self.arithmetic, self.transcript, *rows,
                              self.save, self.status, self.feedback])

    # Practice never touches the store: no drafts either way.
    def _keep_draft(self, *_):
        return None

    def _restore_draft(self, *_):
        return None

    def _on_interaction(self, *_):
        super()._on_interaction()
        if hasattr(self, "feedback"):
            self.feedback.value = ""

    def _on_save(self, *_):
        from .training import explain, highlight

        try:
            missing = [e for e, dd in self.points.items() if not dd.disabled and dd.value == ""]
            if missing:
                raise QcikitError(f"{len(missing)} element(s) are not scored yet: {', '.join(missing)}.")
            vals = self.values()
            self._answers[self.interaction.value] = vals
            n = len(self.interaction.options)
            done = sum(i in self._answers for i in self.interaction.options)
            self.status.value = f"Recorded {done} of {n} interaction(s) (kept in this form only)."
            if self.give_feedback:
                table = explain(self.eng, self.interaction.value, vals)
                agree = int((table["agree"] == "yes").sum())
                self.feedback.value = (f"<p><b>{agree} of {len(table)} elements as gold.</b></p>" + table_html(
                    table[["name", "yours", "gold", "agree", "rule", "evidence"]].rename(columns={"name": "element"}),
                    {"yours": "{:g}", "gold": "{:g}"}))
                # The words that decided gold's points, marked in the transcript where the trainee differed.
                missed = table[(table["agree"] == "no") & (table["evidence"] != "")]
                quotes = [(q, f"{n}: gold {g:g}, yours {'n/a' if pd.isna(y) else format(y, 'g')}")
                          for q, n, g, y in zip(missed["evidence"], missed["name"], missed["gold"], missed["yours"])]
                self.transcript.value = f"<pre style='white-space:pre-wrap'>{highlight(self._shown_text(), quotes)}</pre>"
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Not recorded: {html.escape(str(exc))}</span>"

    def answers(self) -> pd.DataFrame:
        """The trainee's points so far: ``interaction_id``, ``element``, ``points`` (NaN = not applicable)."""
        rows = [(i, e, np.nan if p is None else p) for i, vals in self._answers.items() for e, p in vals.items()]
        return pd.DataFrame(rows, columns=["interaction_id", "element", "points"])


class ClassificationForm:
    """Classify sampled interactions into scenarios: one level per facet, saved to inventory.csv.

    Facets that interactions.csv already holds (e.g. touchpoint) are filled in
    from it and locked, so the two files cannot disagree. Each save rewrites
    inventory.csv atomically; excluded combinations are refused with the reason.
    """

    def __init__(self, eng):
        self.eng = eng
        ids = list(eng.sample["interaction_id"]) if eng.sample is not None else list(eng.interactions["interaction_id"])
        self.interaction = w.Dropdown(options=ids, description="Interaction")
        self.transcript = w.HTML()
        self.facets = {f: w.Dropdown(options=[""] + levels, description=f[:16], style={"description_width": "120px"})
                       for f, levels in eng.schema.facets.items()}
        self.save = w.Button(description="Save classification", button_style="primary")
        self.status = w.HTML()
        self._classified = {} if eng.inventory is None else eng.inventory.set_index("interaction_id")[eng.schema.names].to_dict("index")
        self.interaction.observe(self._show, names="value")
        self.save.on_click(self._on_save)
        self._show()
        self.widget = w.VBox([self.interaction, self.transcript, *self.facets.values(), self.save, self.status])

    def _ipython_display_(self):  # pragma: no cover - display only
        from IPython.display import display

        display(self.widget)

    def _show(self, *_):
        inter = self.eng.interactions.set_index("interaction_id")
        iid = self.interaction.value
        row = inter.loc[iid] if iid in inter.index else None
        text = self.eng.redact(str(row["transcript"]), iid) if row is not None else ""
        self.transcript.value = f"<pre style='white-space:pre-wrap;max-height:16em;overflow:auto'>{html.escape(text)}</pre>"
        known = self._classified.get(iid, {})
        for f, dd in self.facets.items():
            fixed = row is not None and f in inter.columns and row[f] in dd.options
            dd.value = row[f] if fixed else known.get(f, "") if known.get(f, "") in dd.options else ""
            dd.disabled = fixed
        self.status.value = "already classified; saving replaces it" if known else ""

    def _on_save(self, *_):
        from .inventory import save_classification

        levels = {f: dd.value for f, dd in self.facets.items()}
        try:
            save_classification(self.eng.path, self.interaction.value, levels, self.eng.schema)
        except QcikitError as exc:
            self.status.value = f"<span style='color:#b3261e'>Not saved: {html.escape(str(exc))}</span>"
            return
        self._classified[self.interaction.value] = levels
        self.status.value = f"<span style='color:#1b6e5a'>Saved {html.escape(self.interaction.value)} to inventory.csv.</span>"


class RubricExplorer:
    """The rubric's elements with their effective weights for a chosen scenario.

    ``scenario`` (facet → level) presets the facet boxes.
    """

    def __init__(self, eng, scenario: dict | None = None):
        self.eng = eng
        scenario = scenario or {}
        unknown = {f: v for f, v in scenario.items() if v not in eng.schema.facets.get(f, [])}
        if unknown:
            raise QcikitError(f"scenario {unknown} does not match scenarios.yaml. "
                              f"Fix: use facets {', '.join(eng.schema.names)} with their levels.")
        self.dimension = w.Dropdown(options=["(all)"] + eng.rubric.dimensions, description="Dimension")
        self.facets = {f: w.Dropdown(options=["(any)"] + levels, value=scenario.get(f, "(any)"), description=f[:12])
                       for f, levels in eng.schema.facets.items()}
        self.table = w.HTML()
        for c in [self.dimension, *self.facets.values()]:
            c.observe(self.refresh, names="value")
        self.refresh()
        self.widget = w.VBox([self.dimension, w.HBox(list(self.facets.values())[:3]), w.HBox(list(self.facets.values())[3:]), self.table])

    def _ipython_display_(self):  # pragma: no cover
        from IPython.display import display

        display(self.widget)

    def frame(self) -> pd.DataFrame:
        scenario = {f: dd.value for f, dd in self.facets.items() if dd.value != "(any)"}
        weights = self.eng.rubric.weights(scenario or None)
        el = self.eng.rubric.elements
        out = pd.DataFrame({"element": el["name"], "dimension": el["dimension"], "max_points": el["max_points"],
                            "weight_%": 100 * weights.reindex(el.index)})
        if self.dimension.value != "(all)":
            out = out[out["dimension"] == self.dimension.value]
        return out.reset_index(drop=True)

    def refresh(self, *_):
        self.table.value = table_html(self.frame(), {"weight_%": "{:.1f}", "max_points": "{:g}"})


class SampleSizeWhatIf:
    """Sliders for margin, confidence and population → sample size and scoring cost."""

    def __init__(self, population: int = 10000, cost_per_interaction: float = 6.0):
        self.margin = w.FloatSlider(value=0.05, min=0.01, max=0.15, step=0.005, description="Margin ±", readout_format=".3f")
        self.confidence = w.SelectionSlider(options=[0.8, 0.9, 0.95, 0.99], value=0.95, description="Confidence")
        self.population = w.BoundedIntText(value=population, min=1, max=10**9, description="Population")
        self.cost = w.BoundedFloatText(value=cost_per_interaction, min=0, max=10**6, description="Cost each")
        self.result = w.HTML()
        for c in (self.margin, self.confidence, self.population, self.cost):
            c.observe(self.refresh, names="value")
        self.refresh()
        self.widget = w.VBox([self.margin, self.confidence, self.population, self.cost, self.result])

    def _ipython_display_(self):  # pragma: no cover
        from IPython.display import display

        display(self.widget)

    @property
    def n(self) -> int:
        return sampling.sample_size(self.margin.value, self.confidence.value, self.population.value)

    def refresh(self, *_):
        n = self.n
        self.result.value = (f"<b>{n}</b> interactions to score per wave (cost {n * self.cost.value:,.0f}); "
                             f"margin ±{100 * sampling.margin_of_error(n, self.confidence.value, self.population.value):.1f} points.")


class Dashboard:
    """Element metrics (design-weighted, at the engagement's confidence) filtered by wave, team and touchpoint."""

    def __init__(self, eng):
        self.eng = eng
        self.elements = metrics.element_table(eng)
        self.wave = w.Dropdown(options=list(eng.config.waves), value=eng.config.waves[-1], description="Wave")
        self.team = w.Dropdown(options=["(all)"] + sorted(self.elements["team"].dropna().unique()), description="Team")
        self.touchpoint = w.Dropdown(options=["(all)"] + sorted(self.elements["touchpoint"].dropna().unique()), description="Touchpoint")
        self.table = w.HTML()
        for c in (self.wave, self.team, self.touchpoint):
            c.observe(self.refresh, names="value")
        self.refresh()
        self.widget = w.VBox([w.HBox([self.wave, self.team, self.touchpoint]), self.table])

    def _ipython_display_(self):  # pragma: no cover
        from IPython.display import display

        display(self.widget)

    def frame(self) -> pd.DataFrame:
        el = self.elements[self.elements["wave"] == self.wave.value]
        filters = {c: dd.value for c, dd in (("team", self.team), ("touchpoint", self.touchpoint)) if dd.value != "(all)"}
        if el.empty or any(not (el[c] == v).any() for c, v in filters.items()):
            return pd.DataFrame(columns=["name", "n", "estimate", "ci_low", "ci_high", "small"])
        # The chosen team/touchpoint is a domain of the wave's sample (design-based interval).
        domain = np.logical_and.reduce([el[c] == v for c, v in filters.items()]) if filters else np.ones(len(el), bool)
        s = metrics.summarize(el.assign(_in=domain), "score", by="_in", confidence=self.eng.config.confidence,
                              measure="element")
        s = s[s["_in"]].drop(columns="_in")
        s["name"] = s["element"].map(self.eng.rubric.elements["name"])
        return s[["name", "n", "estimate", "ci_low", "ci_high", "small"]].sort_values("estimate", ignore_index=True)

    def refresh(self, *_):
        self.table.value = table_html(self.frame(), {"n": "{:d}"})


class CalibrationSession(_StoreWidget):
    """The calibration meeting, one disagreement at a time, worst first.

    Pick a disagreement; the table shows every rater's points, the rules they applied (with the rule texts)
    and the words they quoted, and gold's where gold scored it. The lead settles it with points and a reason
    (the store's dispute and settlement events: the report then uses the settled points, agreement still
    reads each rater's own), or marks a rule as read two ways, which feeds the rubric's changelog
    (:func:`qcikit.calibration.changelog_draft`).

    Parameters
    ----------
    eng : Engagement
    lead : str
        Who settles (a rater declared as lead); a lead cannot settle their own differing score.
    store : Store, optional
        Defaults to the engagement's own store.
    wave : str, optional
        Defaults to the engagement's current (last) wave.
    """

    def __init__(self, eng, lead: str, store: Store | None = None, wave: str | None = None):
        from . import calibration

        self.eng, self.lead, self.wave = eng, lead, wave
        self._store = store
        self.items = calibration.disagreements(eng, wave)
        labels = [(f"{r.interaction_id} · {r.name} · {r.points}", k) for k, r in enumerate(self.items.itertuples())]
        self.pick = w.Dropdown(options=labels, description="Disagreement", layout=w.Layout(width="640px"))
        self.table = w.HTML()
        self.points = w.Dropdown(description="Settle on", options=[""])
        self.reason = w.Textarea(description="Reason", placeholder="which words decided it, by which rule")
        self.settle = w.Button(description="Settle", button_style="primary")
        self.rule = w.Dropdown(description="Unclear rule", options=[""])
        self.note = w.Textarea(description="Two readings", placeholder="the two ways careful raters read it")
        self.mark = w.Button(description="Mark rule unclear")
        self.status = w.HTML()
        self.pick.observe(self._show, names="value")
        self.settle.on_click(self._on_settle)
        self.mark.on_click(self._on_mark)
        self._show()
        self.widget = w.VBox([self.pick, self.table, w.HBox([self.points, self.reason, self.settle]),
                              w.HBox([self.rule, self.note, self.mark]), self.status])

    def current(self):
        return None if self.items.empty or self.pick.value is None else self.items.iloc[self.pick.value]

    def _show(self, *_):
        from . import calibration

        row = self.current()
        if row is None:
            self.table.value = "<p>No disagreement in this wave: every rater gave the same points.</p>"
            return
        self.table.value = table_html(calibration.side_by_side(self.eng, row["interaction_id"], row["element"], self.wave))
        e = self.eng.rubric.element(row["element"])
        self.points.options = _point_options(e)
        self.rule.options = [""] + [r.id for r in (*e.rules.additive, *e.rules.subtractive)]
        self.status.value = ""

    def _on_settle(self, *_):
        from . import calibration

        row = self.current()
        try:
            if row is None or self.points.value == "":
                raise QcikitError("choose the points to settle on.")
            points = None if self.points.value == NA else float(self.points.value)
            ids = calibration.settle(self.eng, self.store, row["interaction_id"], row["element"], points, self.lead,
                                     self.reason.value, self.wave)
            self.status.value = (f"<span style='color:#2a9d8f'>Settled {len(ids)} score(s) on "
                                 f"{html.escape(row['interaction_id'])} at {html.escape(self.points.value)}.</span>")
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Not settled: {html.escape(str(exc))}</span>"

    def _on_mark(self, *_):
        row = self.current()
        try:
            if row is None or not self.rule.value:
                raise QcikitError("choose the rule that was read two ways.")
            self.store.note_rule(row["element"], self.rule.value, self.lead, self.note.value, row["interaction_id"])
            self.status.value = (f"<span style='color:#2a9d8f'>Noted: rule {html.escape(self.rule.value)} is read two "
                                 "ways; it is listed for the rubric's next version.</span>")
        except QcikitError as exc:
            self.status.value = f"<span style='color:#e76f51'>Not noted: {html.escape(str(exc))}</span>"
