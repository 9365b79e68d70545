"""Write the notebooks' cells (their outputs come from executing them).

Run from the repository root: ``make notebooks`` (writes and executes each
notebook).  Keeping the cells here keeps every notebook's source reviewable as
code.  Plot cells assign the returned Axes (``ax = plots...``) instead of
ending with ``;``: nbval runs cells without IPython's input history, where a
trailing semicolon cannot be seen and the Axes repr would leak into outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"


def nb(cells, path):
    book = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(book)
    (HERE / path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, str(HERE / path))


def params(src):
    return new_code_cell(src, metadata={"tags": ["parameters"]})


def md(src, tags=None):
    return new_markdown_cell(src, metadata={"tags": tags} if tags else {})


def code(src, tags=None):
    return new_code_cell(src, metadata={"tags": tags} if tags else {})

NOTEBOOKS = {}

NOTEBOOKS["client_report.ipynb"] = [
    params('# The report\'s interface: `qcikit render` sets these three.\nengagement = "../data/samples/northwind"\nwave = None  # None: the latest wave in engagement.yaml\nout = "../reports"'),
    code("from qcikit.sections import ReportContext\n\nr = ReportContext.load(engagement, wave)"),
    code("r.page_one()"),
    md("## Detail for managers"),
    code("r.detail_html()"),
    md("## Coaching pages\n\nOne page per team: the elements to work on first, an interaction to discuss together, "
       "and the model answer to aim for."),
    code("r.coaching_html()"),
    md("## How this was measured"),
    code("r.method_html()"),
    # Cells tagged "qa" are the consultant's: the executed notebook and <slug>-<wave>-qa.html keep them,
    # the client's HTML never shows them.
    md("## QA notes (consultant only)\n\nSources, seeds and data checks behind this report. Not part of the "
       "client's HTML.", tags=["qa"]),
    code("r.qa_html(out)", tags=["qa"]),
]

def execute(path: Path) -> None:
    """Run a notebook in its own folder and save it with its outputs (what nbval then re-checks)."""
    from nbclient import NotebookClient

    book = nbformat.read(str(path), as_version=4)
    NotebookClient(book, timeout=600, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in book.cells:  # execution timing metadata would make every run a diff
        cell.metadata.pop("execution", None)
    nbformat.write(book, str(path))



NOTEBOOKS["01_identify_opportunities.ipynb"] = [
    md("""# Step 1 — Identify opportunities

Before measuring anything, agree with the client **where quality can add value**: branded content,
education, loyalty, spreading happiness. Then brainstorm **specific extras** — small, concrete things
only this client would do (a care tip for the boots just bought, a next-day call to a vulnerable
customer). Finally run a **partial audit**: score a small random sample (real interactions or mystery
shops) with the starter rubric, and see which dimensions and elements are weakest.

A partial audit is a *conversation starter*, not a verdict: with 30 interactions the confidence
intervals are wide, and two elements a few points apart are not really different. Use it to choose
where to look first, and to show the client what the full measurement will give."""),
    params('engagement = "../data/samples/northwind"  # the client folder\naudit_size = 30  # interactions in the mini-rating\nseed = None  # None: the engagement\'s seed\nfocus_dimensions = None  # None: the two weakest dimensions of the partial audit'),
    code("import qcikit\nfrom qcikit import opportunities, plots\n\neng = qcikit.Engagement.load(engagement)\nopportunities.brief(eng)"),
    md("## Partial audit: the mini-rating"),
    md("The audit is optional here: step 1 comes before any scoring. On a new engagement with no scores yet the table below is empty; score a few interactions in notebook 03's form and re-run this notebook to see it."),
    code("audit = opportunities.partial_audit(eng, n=audit_size, seed=seed, optional=True)\nby_dimension = opportunities.rank_opportunities(audit, eng.rubric, level=\"dimension\")\nby_dimension.round(1)"),
    md("## Brainstorm: concepts that serve the client's value focus\n\nThe catalogue maps service-improvement concepts to the rubric's dimensions by what they do: a concept serves a dimension when the dimension's or its elements' words say what the concept does, or when the dimension tags it in rubric.yaml (`concepts: [...]`); the `why` column says which. Below are those serving the weakest dimensions of the audit (every dimension before there is one). Use the prompts in the workshop; write the extras you agree on into `engagement.yaml` (`specific_extras`)."),
    code('focus_dimensions = focus_dimensions or opportunities.focus_dimensions(eng.rubric, by_dimension)\nopportunities.concept_prompts(focus_dimensions, eng.rubric)'),
    code('by_element = opportunities.rank_opportunities(audit, eng.rubric)\nn_audited = 0 if audit is None else audit["interaction_id"].nunique()\nax = plots.estimates_with_ci(by_element, "name", f"Partial audit, {n_audited} interactions (weakest at the bottom)") if n_audited else None'),
    code('by_element.head(5)[["name", "dimension", "estimate", "ci_low", "ci_high"]].round(1)'),
    md("""## What to decide now

- Which **two or three elements** will the engagement focus on first? Pick among the weakest — and
  where intervals overlap, let the client's value focus break the tie.
- Which **specific extras** go into the rubric (as Differentiation elements or rules)?
- Is a **mystery-shop** audit of competitors wanted (Competitive Edge in step 5)?
- Sign off the scope, then go to step 2 to take a proper inventory."""),
]

NOTEBOOKS["02_take_inventory.ipynb"] = [
    md("""# Step 2 — Take inventory

A **statistically valid sample** of real interactions is the ground the whole method stands on.
Decide the margin of error the client needs (±5 points at 95 % confidence is common), draw a
**stratified random sample** (each touchpoint in proportion, with design weights so that estimates
speak for the whole population), and **classify** each sampled interaction by touchpoint, customer
type, inquiry type (the concern *as the customer sees it*), emotional state and objective.

The feasible combinations are the **scenarios** — often hundreds. Some never occur (an angry
customer who only wants information about a complaint…) and are excluded. The inventory shows which
scenarios are frequent, and — through the coverage estimate — how much of the population still falls
in scenarios the sample has not seen yet."""),
    params('engagement = "../data/samples/northwind"\nwave = None  # None: the first wave\nmargins = [0.03, 0.05, 0.07, 0.10]\nconfidences = [0.90, 0.95, 0.99]\nmap_facets = None  # None: the two facets whose combinations scenarios.yaml excludes most'),
    code("import qcikit\nfrom qcikit import inventory, plots, sampling, widgets, workspace\n\neng = qcikit.Engagement.load(engagement)\nwave = wave or eng.config.waves[0]\npopulation = eng.interactions[eng.interactions[\"wave\"] == wave]\nlen(population)"),
    md("## How many interactions to score?\n\nCochran's formula with the finite population correction: the table gives *n* for each margin and confidence."),
    code('table = sampling.planning_table(len(population), margins, confidences)\ntable.pivot(index="margin", columns="confidence", values="n")'),
    code("ax = plots.sample_size_curve(table)"),
    md("## The stratified draw\n\nThe plan allocates the sample to touchpoints in proportion; each stratum's design weight is N_h / n_h. (`qcikit sample DIR` draws and writes `sample.csv`; here we only show the plan.)"),
    code("n = sampling.sample_size(eng.config.margin, eng.config.confidence, len(population))\nplan = sampling.plan(population, n, strata=eng.config.strata, confidence=eng.config.confidence)\nplan.round(3)"),
    md("## Classification\n\nEach sampled interaction is classified by reading it: one level per facet of `scenarios.yaml`. The form below writes `inventory.csv` (atomically; a re-classification replaces that interaction's row). Combinations the schema excludes are refused."),
    code("classify = widgets.ClassificationForm(eng)\nclassify.widget"),
    md("## The scenario map"),
    code("classified = eng.inventory.merge(eng.sample[[\"interaction_id\", \"wave\", \"weight\"]], on=\"interaction_id\")\nclassified = classified[classified[\"wave\"] == wave]\nfrequent = inventory.frequencies(classified, classified[\"weight\"])\nfrequent.head(10).round(3)"),
    code('rows, cols = map_facets or workspace.heatmap_facets(eng.schema)\nexcluded = inventory.excluded_pairs(eng.schema, rows, cols)\nax = plots.scenario_heatmap(classified, rows, cols, excluded=excluded)'),
    md("## Coverage: have we seen the scenarios that matter?\n\nGood–Turing coverage estimates the share of the population in scenarios the sample has already seen; Chao1 estimates how many scenarios exist in total."),
    code("print(f\"{len(inventory.scenarios(eng.schema))} feasible scenarios in the schema\")\ninventory.coverage(classified).round(3)"),
    md("""## What to decide now

- Is the margin acceptable to the client for the budget? (Each scored interaction costs rater time.)
- Does unseen coverage exceed a few percent? Then enlarge the sample or add targeted draws for rare
  but important scenarios (complaints, angry customers).
- Are any "excluded" combinations actually occurring? Correct `scenarios.yaml` before step 3."""),
]

NOTEBOOKS["03_criteria_and_measurement.ipynb"] = [
    md("""# Step 3 — Define precise criteria and measure

Four dimensions — **Timing** (treating the customer's time as valuable), **Information** (complete,
relevant, clear answers), **Connection** (interest in the customer and their situation) and
**Differentiation** (branded language and key differences) — are broken into weighted elements, each
with additive and subtractive rules and an example. Precise rules are what make **different raters
get nearly the same result**; the agreement table below is how we check it, element by element.

The weighted total is one **QCI** score, 0–100, per interaction. A "not applicable" element shares
its weight within its dimension; scenario rules shift weights (an upset customer weighs Connection
more); a critical element caps or zeroes the score when it fails."""),
    params('engagement = "../data/samples/northwind"\nlevel = "ordinal"  # level of measurement for agreement\nn_boot = 1000  # bootstrap resamples for the alpha intervals\nscenario = None  # None: the most frequent scenario in the inventory\nstore_path = None  # None: the engagement\'s own store, scores.sqlite in its folder\nlead = None  # who settles in the calibration session (None: the lead declared in engagement.yaml)\ncalibration_wave = None  # None: the current (last) wave\nscorer = "rules"  # the auto-scorer to try: rules, model or a registered plug-in'),
    code("import qcikit\nfrom qcikit import metrics, plots, reliability, widgets, workspace\nfrom qcikit.store import Store\n\neng = qcikit.Engagement.load(engagement)\nrules = eng.rubric.to_frame()\nrules.head(8)"),
    md("## Effective weights per scenario\n\nChoose a dimension and scenario facets to see each element's weight in that scenario."),
    code("explorer = widgets.RubricExplorer(eng, scenario or workspace.default_scenario(eng))\nexplorer.frame().round(1)"),
    md("## QCI per interaction and dimension"),
    code("scored = eng.scored()\nscored.groupby(\"rater\")[[\"qci\", *eng.rubric.dimensions]].mean().round(1)"),
    md("## Do raters agree? Reliability by element\n\nKrippendorff's alpha with a bootstrap interval, computed on each rater's own ratings (before any dispute was settled). The verdict reads the interval's lower limit: ≥ .800 reliable, ≥ .667 tentative. Elements below that need sharper rules or rater calibration."),
    code("agreement = reliability.by_element(eng.own_ratings, eng.rubric, level=level, n_boot=n_boot, seed=eng.config.seed)\nagreement.drop(columns=\"note\").round(3)"),
    md("## Calibration against the gold standard\n\nEach rater against the lead consultant's reference scores. A coaching flag is a decision about a person, so it needs evidence beyond noise: the rater's QCI bias interval must exclude 0 *and* the bias exceed 5 points (per element: 10 % of the element's scale). Agreement with gold (alpha) is computed per element on shares of its maximum, then averaged."),
    code('calibration = reliability.calibrate(eng.own_ratings, eng.gold, eng.rubric, confidence=eng.config.confidence)\ncalibration[calibration["element"] == "(all)"].round(3)'),
    code("ax = plots.rater_bias(calibration)"),
    md("### What a flagged rater does to the client's headline\n\nThe latest wave's QCI as reported, and without the flagged raters: where someone else scored the interaction, their scores; where a flagged rater scored alone, that rater's QCI corrected by their bias against gold. Leaving those solo interactions out would hide exactly the ones where the rater alone sets the score."),
    code('flagged = calibration.loc[(calibration["element"] == "(all)") & calibration["coaching"], "rater"].tolist()\nmetrics.rater_effect(eng, flagged).round(2) if flagged else "no rater flagged"'),
    md("## The scoring form\n\nPick your name and an interaction, read the transcript, score each element (rules and examples beside it), save. Saves go to an append-only SQLite store: corrections are new rows, nothing typed is lost."),
    code("form = widgets.ScoringForm(eng, Store(store_path) if store_path else None)\nform.widget"),
    md("""## The calibration session

Where raters disagree most, worst first: each rater's own points, before any settlement. In the meeting,
open one disagreement and read, side by side, every rater's points, the rules they applied and the words
they quoted, with gold's where gold scored it. The lead settles it with a reason: a dispute and its
settlement in the store, so the report uses the settled points while agreement keeps each rater's own.
A rule that careful people read two ways is marked unclear; those notes draft the rubric's next version
(`qcikit.calibration.changelog_draft`)."""),
    code("from qcikit.calibration import disagreements, side_by_side\n\nwidest = disagreements(eng, wave=calibration_wave)\n"
         "print(f\"{len(widest)} interaction/element pairs scored differently\")\nwidest.head(8)"),
    code('with_gold = widest[widest["gold"] != ""]  # where gold scored it too, its rules and evidence are the reference\n'
         'first = (with_gold if len(with_gold) else widest).head(1)\n'
         'side_by_side(eng, *first[["interaction_id", "element"]].iloc[0], wave=calibration_wave) if len(first) else "no disagreement"'),
    code("lead = lead or next((r.name for r in eng.config.raters if r.role == \"lead\"), eng.config.rater_names[0])\n"
         "session = widgets.CalibrationSession(eng, lead, Store(store_path) if store_path else None, wave=calibration_wave)\nsession.widget"),
    md("""## A machine beside the raters: the model-assisted QCI

An auto-scorer scores **every** interaction of the wave; the raters' scores of the random sample then
correct it (the difference estimator of survey statistics, known in machine learning as
prediction-powered inference). The correction keeps the QCI unbiased and its interval valid whatever the
machine's quality; a machine that agrees with the raters narrows the interval, and the **effective n** says
how many rated interactions it is worth. Nothing here is kept: try a scorer, read its agreement, decide.

- `rules`: the rubric's own rules read from the transcript — timings from the timestamps, phrases from
  each rule's `patterns:` in rubric.yaml. Elements none of whose rules can be read are left to the raters.
- `model`: a text model per element, trained on the rated sample by cross-fitting (each rated interaction
  is predicted by a model that never saw it)."""),
    code("from qcikit import assist\n\nmachine = assist.autoscore(eng, scorer)  # every interaction; not kept\n"
         "assist.agreement(eng, machine, n_boot=n_boot)[[\"element\", \"n_units\", \"estimate\", \"ci_low\", \"ci_high\", \"bias\", \"verdict\"]].round(2)"),
    md("Agreement is read as for raters (alpha with its interval), with the machine's **bias** in points beside it. "
       "A biased or weak element does not spoil the estimate below; it only makes the machine worth less."),
    code("assisted = metrics.qci_estimate(eng, assisted=machine)\n"
         "assisted[[\"wave\", \"estimate\", \"ci_low\", \"ci_high\", \"human_estimate\", \"human_ci_low\", \"human_ci_high\", \"n\", \"N\", \"n_effective\"]].round(1)"),
    code("assisted.attrs[\"strata\"].round(2)  # per stratum: the weight λ given to the machine and its correlation with the raters"),
    md("""To use it: freeze the scorer **before** the raters start a wave (`qcikit autoscore DIR --scorer rules`
records its version and the time), then write `assisted: rules` in engagement.yaml. The report then heads
with the assisted QCI and names the human-only figure on its method page. A scorer changed after the raters
began is refused for that wave: it could have been tuned on the very scores that judge it."""),
    md("""## What to decide now

- Which elements are **unreliable**? Rewrite their rules (see the training notebook on precise rules)
  before the next wave; settle the widest disagreements in a calibration session first.
- Which raters **need coaching**, and what does their bias do to the client's QCI?
- Freeze the rubric version for the wave; scores under another version are never mixed."""),
]

NOTEBOOKS["04_model_answers_and_metrics.ipynb"] = [
    md("""# Step 4 — Model answers and specific metrics

A model answer shows **the structure behind a good reply**, not a script: the elements that apply in
the scenario, in order of weight, with the rule that earns the points, the brand's phrases and the
consultant's own snippets. Give associates conversation outlines, branded e-mail templates, talking
points and checklists per scenario.

Then replace vague NPS/CSAT with **element-level metrics**: which specific behaviours are improving,
by team and touchpoint, with intervals so nobody chases noise."""),
    params('engagement = "../data/samples/northwind"\nscenario = None  # None: the most frequent scenario in the inventory, e.g. {"touchpoint": "email"}\nelements = None  # None: the four weakest elements in the latest wave'),
    code("import qcikit\nfrom qcikit import answers, metrics, plots, widgets, workspace\n\neng = qcikit.Engagement.load(engagement)\nscenario = scenario or workspace.default_scenario(eng)\nelements = elements or workspace.weakest_elements(eng, 4)\nprint(answers.model_answer(eng, scenario, \"conversation_outline\"))"),
    code('print(answers.model_answer(eng, scenario, "email", elements=elements))'),
    code('print(answers.model_answer(eng, scenario, "checklist"))'),
    md("## The element-level dashboard"),
    code("dashboard = widgets.Dashboard(eng)\ndashboard.frame().round(1)"),
    code('change = metrics.wave_change(eng)\nax = plots.wave_change(change)'),
    code('change[change["significant"]][["name", "before", "after", "change", "ci_low", "ci_high", "p_adj"]].round(3)'),
    md("""## What to decide now

- Which model answers go to which teams first (match them to each team's weakest elements)?
- Which element metrics go on the client's dashboard — and at what target?
- Agree the reporting rhythm for step 5 (every wave, same sample design)."""),
]

NOTEBOOKS["training/01_score_like_gold.ipynb"] = [
    md("""# Training 1 — Scoring like gold

The **gold standard** is the lead consultant's reference scoring: for every element of every gold
interaction, the points, the rule that fired and the words in the transcript that earned or cost them.
You will

1. read how gold scored one interaction, rule by rule;
2. score the practice interactions yourself in the **practice form** — after each, it shows your points
   beside gold's, the rule and the quoted evidence (nothing you enter goes near the real scores);
3. see why the engagement's own raters disagree with gold — each for a reason you can name;
4. take the **certification check**: score the held-out interactions without feedback; you pass when
   your agreement with gold (Krippendorff's alpha) has a lower confidence limit of at least .667.

Each transcript opens with the **case facts** (the right answer, the steps, any policy) and carries
timestamps: everything a rule needs is on the page. The brand voice — signature phrases, sign-off,
words to avoid — is shown above the transcript in the form.

### How points add up

- An element starts at its **start** points when the rubric gives one, else at **0**.
- Each rule that applies adds or takes away its points **once**, however often the behaviour occurs.
- The result is kept **within 0 and the element's maximum**.
- **n/a** means the element does not apply to this interaction, not that it was done badly: its weight is
  shared among the other elements. A 0 is a score.
- A **critical** element below its pass mark caps or zeroes the QCI (or its dimension), as the rubric says.
- **Weights and scenario rules act on the QCI**, never on an element's points: score what the transcript shows.
- In the scoring form you may paste the **evidence** (the transcript's own words; anything else is refused)
  and pick the **rules** you applied: calibration sessions compare them, rater by rater."""),
    params('engagement = "../../data/samples/northwind"\ntrainee = "trainee"  # your name, as the certification records it\n'
           'record = False  # True: keep the certification result in the engagement\'s score store'),
    code("import qcikit\nfrom qcikit import training, widgets, workspace\n\neng = qcikit.Engagement.load(engagement)\n"
         "practice, held_out = training.practice_split(eng)\nprint(f\"{len(practice)} practice interactions, {len(held_out)} held out for certification\")"),
    md("## 1. How gold scored one interaction\n\nRead the transcript, then the table: every row names the rule that fired and quotes its evidence."),
    code('example = practice[0]\nprint(eng.interactions.set_index("interaction_id").loc[example, "transcript"])'),
    code("training.explain(eng, example)"),
    md("## 2. Practise with feedback\n\nPick an interaction, score every element with the rules beside it, press **Check**."),
    code("form = widgets.PracticeForm(eng, practice, trainee=trainee)\nform"),
    md("## 3. Why the engagement's raters differ from gold\n\nEach row is a disagreement on the practice set, "
       "with gold's rule and evidence. Look for the pattern: crediting near misses (a bare \"Hi.\", "
       "\"sorry for any inconvenience\", \"we'll be in touch soon\") is leniency; missing an implied apology "
       "is strictness; missing what comes late in a long transcript is skimming."),
    code("rater = workspace.discordant_rater(eng)\nnotes = training.feedback(eng.own_ratings, eng.gold, eng.rubric, rater, interactions=practice)\n"
         "print(f\"{rater}: {len(notes)} disagreements on {len(practice)} interactions\")\n"
         'notes.groupby("element")["difference"].agg(["count", "mean"]).sort_values("count", ascending=False).round(2)'),
    code('notes[["interaction_id", "element", "yours", "gold", "gold\'s rule", "evidence"]].head(8)'),
    md("## 4. Certification\n\nScore every held-out interaction in this form (no feedback), then run the check. "
       "Below, two simulated trainees show what passing and failing look like: one applies the rules as written, "
       "one credits weak evidence."),
    code("certification = widgets.PracticeForm(eng, held_out, trainee=trainee, feedback=False)\ncertification"),
    code('import pandas as pd\n\nsimulated = {habit: training.simulate_trainee(eng, held_out, habit, seed=3) for habit in ("careful", "lenient")}\n'
         'pd.concat([training.certify(eng, f"simulated ({habit})", pts, held_out) for habit, pts in simulated.items()],\n'
         '          ignore_index=True).round(3)'),
    md("When you have scored all held-out interactions, run the next cell: it checks *your* answers and, with "
       "`record = True`, keeps the result (with the rubric version and the date) in the engagement's store."),
    code("if len(certification.answers()):\n    result = training.certify(eng, trainee, certification.answers(), held_out,\n"
         "                              store=eng.open_store() if record else None)\n    display(result.round(3))\n"
         "else:\n    print(f\"Score the {len(held_out)} held-out interactions above first.\")"),
]

NOTEBOOKS["training/02_precise_rules.ipynb"] = [
    md("""# Training 2 — Writing scoring rules that raters apply alike

A vague rule ("shows a friendly tone") is read differently by each rater; a precise rule ("greets the
customer by name: +1; uses a warm opening line before business: +1", each with an example) is read
alike. First on the engagement's own gold transcripts, then in general."""),
    params('engagement = "../../data/samples/northwind"\nseed = 7'),
    md("""## On real transcripts

Take the element where gold most often gives partial credit. Under a vague rule (only its description),
one reader scores as the rules do, one gives full marks for any of the behaviours, one gives nothing
unless all are there. Under the precise rules — each behaviour its points, with an example — everyone
reads it alike. The transcripts and gold are the engagement's; the three readings are simulated."""),
    code("import qcikit\nfrom qcikit import reliability, training\n\neng = qcikit.Engagement.load(engagement)\n"
         "training.vague_vs_precise(eng, seed=seed).round(3)"),
    md("## In general: agreement rises with the precision of the rule\n\nThe same interactions rated under "
       "rules of growing precision (the spread of how raters read the rule shrinks):"),
    code("effect = training.precision_effect(seed=seed)\neffect.round(3)"),
    md("**Exercise.** Rewrite this vague rule as additive and subtractive rules with examples: *\"The agent is helpful.\"* Then compare with the solution."),
    new_code_cell('# Solution: one way to make "helpful" precise\nprint("+2 Answers the question asked in the first reply (e.g. \\"Yes, you can return it until 30 June.\\")")\nprint("+1 Solves the next likely question (e.g. sends the return label with the answer)")\nprint("-2 Sends a template that misses the question (e.g. returns policy to a where-is-my-parcel question)")',
                  metadata={"tags": ["solution"], "jupyter": {"source_hidden": True}}),
    md("**Check yourself:** could two raters who never met score your rule the same way on the same transcript? If not, add an example — including one that earns *nothing*."),
]

NOTEBOOKS["training/03_reading_a_report.ipynb"] = [
    md("""# Training 3 — Reading a client report

A report has one headline for executives and the detail managers act on. Read the summary below and
answer the questions; the answers are in the hidden cells."""),
    params('engagement = "../../data/samples/northwind"'),
    code("from qcikit.sections import ReportContext\n\nr = ReportContext.load(engagement)\nr.page_one()"),
    md("**Question 1.** Is the QCI change since the last wave a real improvement or noise? How do you know?"),
    new_code_cell('# Answer: read the change row — a real change exactly when its interval excludes 0\nr.change[r.change["kind"] == "overall"][["before", "after", "change", "ci_low", "ci_high", "p_adj", "significant"]].round(3)',
                  metadata={"tags": ["solution"], "jupyter": {"source_hidden": True}}),
    md("**Question 2.** A team's score is 8 points above another's, but it is flagged *small*. What do you tell the manager?"),
    new_code_cell('# Answer: small cells have wide intervals; compare the intervals, not the points\nr.by("team").round(1)',
                  metadata={"tags": ["solution"], "jupyter": {"source_hidden": True}}),
]

if __name__ == "__main__":
    only = set(sys.argv[1:])
    for path, cells in NOTEBOOKS.items():
        if not only or path in only:
            nb(cells, path)
            execute(HERE / path)
            print(HERE / path)
