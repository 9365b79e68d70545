"""The ``qcikit`` command.

A user error never shows a traceback: the command prints one clear message
naming the file, the row or key and the fix, and exits 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import QcikitError

# When a YAML file needs pydantic (qcikit._schema: a file with something to coerce or to report), pydantic's
# first model build looks through every installed distribution's entry points for plug-ins (13 ms on a
# data-science environment); a qcikit command runs none. A user who sets the variable keeps their own value.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

if TYPE_CHECKING:  # pandas is imported by the commands that read data, not by `qcikit --help`
    import pandas as pd

def _engagement(path, on_population=None, on_rubric=None):
    from .engagement import Engagement

    return Engagement.load(path, on_population, on_rubric)


def cmd_new(args) -> int:
    from .scaffold import new_engagement

    folder = new_engagement(args.dir, args.client, notebooks=not args.no_notebooks)
    print(f"Created {folder} with engagement.yaml (every key explained), rubric.yaml, scenarios.yaml, answers.yaml"
          + ("" if args.no_notebooks else " and the step notebooks in notebooks/") + ".")
    print(f"Next: fill in interactions.csv (see docs/formats.md), then run `qcikit validate {folder}`.")
    return 0


def cmd_notebooks(args) -> int:
    from .workspace import write_notebooks

    written = write_notebooks(args.dir, force=args.force, training=not args.no_training)
    print(f"Wrote {len(written)} notebooks into {Path(args.dir) / 'notebooks'}; engagement data were not touched.")
    print(f"Open them with `jupyter lab {args.dir}` and run each from the top.")
    return 0


def cmd_import(args) -> int:
    from .importers import import_export

    result = import_export(args.dir, args.source, args.wave, args.paths, prefix=args.prefix, redact=args.redact,
                           log=args.log, since=args.since, until=args.until, touchpoint=args.touchpoint,
                           parquet=args.parquet)
    print("\n".join(result.summary()))
    if args.log:
        print(f"Wrote {args.log}: one row per record left out.")
    if result.added or result.updated:
        print(f"Next: `qcikit validate {args.dir}`, then `qcikit sample {args.dir}`.")
    return 0


def cmd_autoscore(args) -> int:
    if args.plugin:
        _register_plugin(args.plugin)
    started = []
    try:
        return _autoscore(args, started)
    finally:
        for run in started:  # the load failed (or the run did): forked scorers do not outlive the command
            if run is not None:
                run.cancel()


def _autoscore(args, started: list) -> int:
    from . import assist
    from ._frame import distinct

    prepared = []

    def prepare(config, rubric) -> None:
        # The rubric is read: its rules (and numba) are made on a thread while interactions.csv is parsed.
        prepared.append(assist.prepare_rules(config, rubric, args.dir))

    def begin(population, config, rubric) -> None:
        # interactions.csv is read: the rules scorer starts on it while the rest of the folder is checked.
        started.append(assist.start_rules(population, config, rubric, args.wave, prepared=prepared[0] if prepared else None))

    rules = args.scorer == "rules" and not args.import_file
    try:
        eng = _engagement(args.dir, begin if rules else None, prepare if rules else None)
    finally:
        for made in prepared:  # no thread outlives the load: the scorer may fork next
            made.get()
    if args.import_file:
        n, where = assist.import_autoscores(eng, args.import_file)
        print(f"Took {n} machine scores from {args.import_file} into {where}; human scores were not touched.")
    else:
        from concurrent.futures import ThreadPoolExecutor

        rows = assist.autoscore(eng, args.scorer, wave=args.wave, started=started[0] if started else None)
        # The run is written (Arrow's writer, without the GIL) while its agreement with the raters is worked out
        # from the run in hand: a million interactions' fifteen million rows take seconds to write.
        with ThreadPoolExecutor(max_workers=1) as pool:
            saving = pool.submit(assist.save_autoscores, eng, rows)
            decided = rows["points"].notna().to_numpy()  # fifteen million rows: counted on codes, no copy of the frame
            summary = (f"Scored {distinct(rows['interaction_id'])} interactions with '{args.scorer}' (version "
                       f"{rows['version'].iloc[0]}): {distinct(rows['element'], decided)} of {len(eng.rubric.element_ids)} "
                       "elements decided")
            table = None
            if eng.scores is not None and not eng.scores.empty:
                table = assist.agreement(eng, rows, n_boot=args.n_boot)  # the run in hand: its file is not read back
            where = saving.result()
        print(f"{summary}; kept in {where}.")
        scorer = args.scorer
        if table is not None:
            print("Agreement with the human scores (alpha, interval; bias = machine minus human points):")
            print(table[["element", "n_units", "estimate", "ci_low", "ci_high", "bias", "verdict"]]
                  .to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        print(f"Next: read the assisted QCI with qcikit.metrics.qci_estimate(eng, assisted='{scorer}'), or set "
              f"`assisted: {scorer}` in engagement.yaml for the report.")
    return 0


def _register_plugin(spec: str) -> None:
    """``module:function[@version]``: import a plug-in scorer and register it under the function's name."""
    import importlib

    from . import assist

    target, _, version = spec.partition("@")
    module, _, name = target.partition(":")
    if not module or not name:
        raise QcikitError(f"--plugin '{spec}' is not module:function[@version]. Fix: write e.g. "
                          "--plugin myscorers:llm_scorer@2026-12.")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise QcikitError(f"--plugin '{spec}': cannot load it ({exc}). Fix: put the module on PYTHONPATH and check "
                          "the function's name.") from None
    assist.register_scorer(name, fn, version or "1")


def cmd_validate(args) -> int:
    from .engagement import Engagement

    bad = 0
    for d in args.dirs:
        problems, eng = Engagement.check(d)
        if problems:
            bad += 1
            print(f"{d}: {len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
            for p in problems:
                print(f"  - {p}")
        else:
            n_scores = 0 if eng.scores is None else len(eng.scores)
            n_sample = 0 if eng.sample is None else len(eng.sample)
            print(f"{d}: clean — {len(eng.interactions)} interactions, {n_sample} sampled, {n_scores} score rows "
                  f"read from {eng.scores_source}, rubric {eng.rubric.version} with {len(eng.rubric.element_ids)} elements.")
        _rubric_warnings(d, None if eng is None else eng.rubric)
    return 2 if bad else 0


def _rubric_warnings(folder, rubric) -> None:
    """Rubric words that allow two readings: warnings, not problems (the engagement stays usable)."""
    from .rubric import ambiguities, load_rubric

    if rubric is None:
        try:
            rubric = load_rubric(Path(folder) / "rubric.yaml")
        except (QcikitError, OSError):
            return  # the problems above already say what is wrong with it
    found = ambiguities(rubric)
    if found:
        print(f"{folder}: {len(found)} warning{'s' if len(found) != 1 else ''} — rubric words that allow two readings:")
        for w in found:
            print(f"  - {w}")


def cmd_sample(args) -> int:
    from .batch import sample_engagement

    drawn = sample_engagement(args.dir, force=args.force, margin=args.margin, confidence=args.confidence,
                              seed=args.seed, minimum=2 if args.minimum is None else args.minimum,
                              qci_margin=args.qci_margin)
    if drawn.sd is not None:
        print(f"Sizing for the mean QCI: ±{drawn.margin:g} points, with the QCI's standard deviation {drawn.sd:.1f} "
              f"from {drawn.sd_source}.")
    shown = f"±{drawn.margin:g} QCI points" if drawn.sd is not None else f"±{drawn.margin:.0%}"
    print(f"Drew {drawn.size} interactions (margin {shown} per wave at {drawn.confidence:.0%} confidence, "
          f"seed {drawn.seed}) into {drawn.path}.")
    print(drawn.plan.to_string(index=False, formatters={"margin": "±{:.1%}".format}))
    return 0


def cmd_reliability(args) -> int:
    from . import reliability

    eng = _engagement(args.dir)
    if eng.scores is None:
        raise QcikitError(f"{args.dir}: there are no scores yet, so nothing to compare. Fix: score the sample first.")
    # Agreement reads each rater's own ratings, before any dispute was settled (settling would inflate it).
    # One default with the report: the current wave (engagement.yaml's last), so both give the same verdicts.
    own = eng.own_ratings
    if args.all_waves:
        covers, wave = f"all waves pooled ({', '.join(eng.config.waves)})", eng.config.waves[-1]
    else:
        wave = args.wave or eng.config.waves[-1]
        if wave not in eng.config.waves:
            raise QcikitError(f"{args.dir}: wave '{wave}' is not in engagement.yaml; nothing to compute. "
                              f"Fix: use one of {', '.join(eng.config.waves)}, or --all-waves.")
        own = own[own["wave"] == wave] if "wave" in own else own
        if own.empty:
            raise QcikitError(f"{args.dir}: wave '{wave}' has no scores yet. Fix: pass --wave with a scored wave, "
                              "or --all-waves.")
        covers = f"wave {wave}" + ("" if args.wave else " (the current wave, as in the report; --all-waves pools every wave)")
    print(f"Scores read from {eng.scores_source}.")
    table = reliability.by_element(own, eng.rubric, coefficient=args.coefficient, level=args.level,
                                   n_boot=args.n_boot, seed=eng.config.seed,
                                   confidence=eng.config.confidence)
    shown = table.drop(columns=["note"] if not table["note"].any() else [])
    print(f"{eng.config.client}: agreement by element, {covers} ({table['coefficient'].iloc[0]}, "
          f"{100 * eng.config.confidence:g}% CI; "
          f"verdict from the interval's lower limit: ≥ .800 reliable, ≥ .667 tentative)")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if eng.gold is not None:
        cal = reliability.calibrate(eng.own_ratings, eng.gold, eng.rubric, confidence=eng.config.confidence)
        overall = cal[cal["element"] == "(all)"].drop(columns="element").dropna(axis=1, how="all")
        print("\nCalibration against gold.csv, on every gold interaction whatever its wave (bias in points; qci_bias in "
              "QCI points with its interval; coaching when that interval excludes 0 and the bias exceeds 5 points):")
        print(overall.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        flagged = overall.loc[overall["coaching"], "rater"].tolist()
        if flagged:
            from . import metrics

            effect = metrics.rater_effect(eng, flagged, wave)
            print(f"\nThe flagged rater(s) on the headline QCI of wave {effect.attrs['wave']} (without them: other "
                  "raters' scores where they exist, else their own corrected by their bias against gold):")
            print(effect.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


def cmd_export(args) -> int:
    from .export import export

    eng = _engagement(args.dir)
    for p in export(eng, args.out or Path(args.dir) / "export", args.format, force=args.force):
        print(p)
    return 0


def cmd_scores_import(args) -> int:
    from .engagement import read_scores_csv
    from .store import Store, locate

    folder = Path(args.dir)
    default = folder / "scores.csv"
    src = Path(args.file) if args.file else default
    if not src.is_file():
        raise QcikitError(f"{src}: there is no such file to import. Fix: pass the CSV's path as FILE.")
    location, key = locate(folder)
    new = key is None and not Path(location).exists()
    # A store created now also takes in scores.csv (as the scoring form does), so no CSV row is left behind.
    sources = [default, src] if new and default.is_file() and default.resolve() != src.resolve() else [src]
    tables = [(f, read_scores_csv(f)) for f in sources]  # every file is checked before anything is written
    store = Store(location, key=key, create=key is None)  # a server's schema is made by `qcikit store init`
    before = store.n_rows
    for f, rows in tables:
        added = store.import_scores(rows, by=f"import:{f.name}")
        print(f"Imported {added} new row(s) from {f} ({len(rows) - added} already there).")
    print(f"The store {store.location} now holds {store.n_rows} row(s), {before} before.")
    try:
        _engagement(folder)
    except QcikitError as exc:
        print(f"The engagement now has problems to fix (the rows are stored, nothing was lost):\n{exc}", file=sys.stderr)
        return 2
    return 0


def cmd_scores_export(args) -> int:
    from .engagement import read_scores_csv
    from .store import open_store

    folder = Path(args.dir)
    store = open_store(folder, create=False)
    target = Path(args.out) if args.out else folder / "scores.csv"
    if target.exists():
        old = read_scores_csv(target)
        pending = store.holds(old)
        if len(pending):
            raise QcikitError(f"{target}: {len(pending)} row(s) of this file are not in the store and would be lost; "
                              f"nothing was written. Fix: run `qcikit scores import {folder} {target}` first.")
        if not args.force:
            raise QcikitError(f"{target} already exists; nothing was written. "
                              "Fix: pass --force to replace it (every row of it is in the store), or choose --out.")
    store.export_csv(target)
    print(f"Wrote the latest score of every interaction, rater and element ({len(store.latest())} rows) to {target}.")
    return 0


def _declared_raters(folder: Path) -> list[str]:
    """engagement.yaml's raters, read alone: a correction must work while the store holds a wrong name."""
    import yaml

    from .engagement import EngagementConfig

    try:
        cfg = EngagementConfig.validate(yaml.safe_load((folder / "engagement.yaml").read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - any problem with the file is the user's to fix
        raise QcikitError(f"{folder / 'engagement.yaml'}: cannot be read ({str(exc).splitlines()[0]}). "
                          f"Fix: run `qcikit validate {folder}` and correct the file.") from None
    return cfg.rater_names


def _store_of(folder: Path):
    from .store import open_store

    return open_store(folder, create=False)


def cmd_store_init(args) -> int:
    from .engagement import read_scores_csv
    from .store import Store, locate

    folder = Path(args.dir)
    location, key = locate(folder)
    if key is None:
        raise QcikitError(f"{folder / 'engagement.yaml'}: no server is named, so the store is {location}, made at the "
                          "first save. Fix: add `store: postgresql://host/database` to engagement.yaml (or set "
                          "QCIKIT_STORE) to share the store with a team.")
    store = Store(location, key=key, create=True)
    print(f"The store {store.location} is ready ({store.n_rows} score row(s)).")
    csv = folder / "scores.csv"
    if csv.is_file() and not store.n_rows:
        added = store.import_scores(read_scores_csv(csv), by="import:scores.csv")
        print(f"Imported {added} row(s) from {csv}.")
    return 0


def cmd_store_migrate(args) -> int:
    from ._backends import is_url, safe_url
    from .store import DEFAULT, Store, store_setting, locate, migrate

    folder = Path(args.dir)
    to = args.to.strip()
    if to == "sqlite":
        location, key = locate(folder)
        if key is None:
            raise QcikitError(f"{folder / 'engagement.yaml'}: no server is named, so the store already is {location}. "
                              "Fix: name the server in `store:` or QCIKIT_STORE to move its scores into a file.")
        source = Store(location, key=key, create=False)
        target_path = Path(args.file) if args.file else folder / DEFAULT
        target = Store(target_path)
    else:
        if not is_url(to):
            raise QcikitError(f"--to '{safe_url(to)}' is neither a PostgreSQL URL nor 'sqlite'. "
                              "Fix: --to postgresql://host/database, or --to sqlite to archive into a file.")
        path = Path(args.file) if args.file else folder / DEFAULT
        if not path.is_file():
            raise QcikitError(f"{path}: there is no score store to migrate. Fix: check the engagement folder, or pass "
                              "--file with the SQLite store's path.")
        key = store_setting(folder)[1]
        if not key:
            raise QcikitError(f"{folder / 'engagement.yaml'}: the engagement has no slug, which names its rows on the "
                              "server. Fix: add `slug:` to engagement.yaml.")
        source = Store(path, create=False)
        target = Store(to, key=key, create=True)
    counts = migrate(source, target)
    print(counts.to_string(index=False))
    print(f"Copied {int(counts['copied'].sum())} row(s) from {source.location} to {target.location}; every table now "
          "holds every row of the source.")
    if to != "sqlite":
        print(f"Next: put `store: {safe_url(to)}` in {folder / 'engagement.yaml'} (the password goes in ~/.pgpass or "
              f"PGPASSWORD, never in the file). {source.location} is left as it was.")
    return 0


def cmd_scores_correct(args) -> int:
    import getpass

    folder = Path(args.dir)
    declared = _declared_raters(folder)
    if declared and args.to not in declared:
        raise QcikitError(f"{folder / 'engagement.yaml'}: '{args.to}' is not a declared rater; nothing was changed. "
                          f"Fix: use one of {', '.join(declared)}, or add '{args.to}' to 'raters' first.")
    n = _store_of(folder).rename_rater(args.rater, args.to, by=args.by or getpass.getuser(), reason=args.reason)
    print(f"Rater '{args.rater}' now reads as '{args.to}' in {n} stored row(s); the history keeps what was typed "
          "(a correction event, nothing rewritten).")
    return 0


def cmd_scores_retract(args) -> int:
    import getpass

    folder = Path(args.dir)
    n = _store_of(folder).retract(args.interaction, args.rater, by=args.by or getpass.getuser(), reason=args.reason)
    print(f"Withdrew {n} row(s) of {args.rater}'s form for {args.interaction}; the history keeps them.")
    return 0


def _print_results(results) -> int:
    """One line per client; a failure gets one short summary (≤ 100 columns a line) and where to look."""
    import textwrap

    for r in results:
        where = r.html if r.ok else (r.notebook or "")
        print(f"{'ok' if r.ok else 'FAILED':6} {r.slug:20} {r.seconds:5.1f} s  {where}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        if r.problems:
            text = (f"{r.slug}: the engagement folder has {len(r.problems)} problem(s); first: {r.problems[0]} "
                    f"List them all with `qcikit validate {r.engagement}`.")
        else:
            cell = f" at cell {r.cell}" if r.cell is not None else ""
            text = f"{r.slug}: the report failed{cell}: {r.error}" + (f" Open {r.notebook} to see where." if r.notebook else "")
        print("\n" + textwrap.fill(text, width=100, subsequent_indent="  ", break_on_hyphens=False, break_long_words=True),
              file=sys.stderr)
    return 1 if failed else 0


def cmd_render(args) -> int:
    from .report import render_reports

    results = render_reports(args.dirs, args.out, workers=args.workers, wave=args.wave, progress=not args.quiet,
                             pdf=args.pdf)
    return _print_results(results)


def qci_table(eng) -> pd.DataFrame:
    """QCI per wave and dimension (mean over raters' scores), the demo's table."""
    scored = eng.scored()
    cols = ["qci", *eng.rubric.dimensions]
    table = scored.groupby("wave")[cols].mean().round(1)
    table.insert(0, "interactions", scored.groupby("wave")["interaction_id"].nunique())
    return table


def cmd_demo(args) -> int:
    from .report import render_reports

    root = Path(args.samples)
    dirs = sorted(p for p in root.iterdir() if (p / "engagement.yaml").is_file()) if root.is_dir() else []
    if not dirs:
        from .samples import generate
        from .workspace import write_notebooks

        print(f"Writing the three sample engagements into {root.resolve()} (seeded; the same every time) ...")
        dirs = generate(root)
        for d in dirs:
            write_notebooks(d)
    for d in dirs:
        eng = _engagement(d)
        print(f"\n{eng.config.client} ({eng.config.industry}) — QCI by wave, rubric {eng.rubric.version}")
        print(qci_table(eng).to_string())
    if args.no_render:
        return 0
    print(f"\nRendering {len(dirs)} reports into {Path(args.out).resolve()} ...")
    results = render_reports(dirs, args.out, workers=args.workers, progress=not args.quiet)
    code = _print_results(results)
    if code == 0:
        print("\nOpen the reports in a browser; each engagement folder also holds notebooks/ to open in JupyterLab.")
    return code


WORKFLOW = """\
the workflow, in order:
  qcikit new DIR --client NAME    1  scaffold an engagement workspace (files + notebooks)
  qcikit import DIR --from SOURCE --wave W PATH...
                                  2  add a helpdesk, chat or call export's interactions
  qcikit validate DIR             2  check every file, list every problem
  qcikit sample DIR               2  draw the stratified sample (sample.csv)
  qcikit notebooks DIR               (re)write the workspace notebooks; score in notebook 03
  qcikit scores import DIR [FILE] 3  add scores from a CSV to the engagement's store
  qcikit reliability DIR          3  agreement per element, calibration against gold
  qcikit render DIR... --out OUT  5  one report per engagement and wave (HTML, --pdf)
  qcikit export DIR               5  tidy tables for the client's BI tools
  qcikit scores export DIR           write the store's latest scores to scores.csv
  qcikit demo                        write and render the three sample engagements

`qcikit COMMAND --help` explains each command. File formats: docs/formats.md."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qcikit", description="Quality of Customer Interaction (QCI) methodology kit.",
                                epilog=WORKFLOW, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"qcikit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("new", help="scaffold an engagement workspace from the shipped templates",
                       description="Create an engagement folder: engagement.yaml (every key explained), rubric.yaml, "
                                   "scenarios.yaml, answers.yaml, an interactions.csv header and notebooks/.")
    s.add_argument("dir", metavar="DIR", help="the folder to create (must be new or empty)")
    s.add_argument("--client", required=True, metavar="NAME", help="the client's name, e.g. 'Harbor Hotels'")
    s.add_argument("--no-notebooks", action="store_true", help="do not write the workspace notebooks")
    s.set_defaults(func=cmd_new)
    s = sub.add_parser("import", help="add a helpdesk, chat or call export's interactions to interactions.csv",
                       description="Add the interactions of a client's export (Zendesk, Intercom, Freshdesk, a "
                                   "message table, WebVTT call transcripts) to DIR's interactions.csv for one wave. "
                                   "Importing the same export twice changes nothing; a later export updates the "
                                   "interactions it holds again. See docs/formats.md, 'Importing a client's export'.")
    s.add_argument("dir", help="the engagement folder")
    s.add_argument("--from", dest="source", required=True, choices=["zendesk", "intercom", "freshdesk", "messages", "vtt"],
                   help="the export's kind")
    s.add_argument("--wave", required=True, help="the wave the interactions belong to (one of engagement.yaml's waves)")
    s.add_argument("paths", nargs="+", metavar="PATH", help="the export's files or folders")
    s.add_argument("--prefix", default="", help="put before every id (keeps two systems' ids apart)")
    s.add_argument("--redact", action="store_true",
                   help="replace names, e-mail addresses and phone numbers in transcripts; write no name columns")
    s.add_argument("--log", metavar="FILE", help="write one row per record left out, with its reason")
    s.add_argument("--since", metavar="DATE", help="keep conversations that started on or after this date")
    s.add_argument("--until", metavar="DATE", help="keep conversations that started on or before this date")
    s.add_argument("--touchpoint", metavar="LEVEL", help="the touchpoint of conversations that name no channel")
    s.add_argument("--parquet", action="store_true",
                   help="write the population as interactions.parquet (millions of contacts)")
    s.set_defaults(func=cmd_import)
    s = sub.add_parser("autoscore", help="machine scores for every interaction (rules, model or a plug-in), kept "
                                        "apart from the human ones",
                       description="Score every interaction of the population with an auto-scorer, or take an AutoQA "
                                   "tool's file, and show its agreement with the human scores per element.")
    s.add_argument("dir", help="the engagement folder")
    how = s.add_mutually_exclusive_group(required=True)
    how.add_argument("--scorer", help="rules, model, or a plug-in's name (see --plugin)")
    how.add_argument("--import", dest="import_file", metavar="FILE",
                     help="an autoscores.csv (or .parquet) file (interaction_id, element, points, scorer) from the client's AutoQA tool")
    s.add_argument("--wave", help="score only this wave's interactions")
    s.add_argument("--plugin", metavar="MODULE:FUNCTION[@VERSION]",
                   help="register a plug-in scorer, a callable (transcript, rubric) -> {element: points}")
    s.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the agreement intervals")
    s.set_defaults(func=cmd_autoscore)
    s = sub.add_parser("validate", help="check every file; list every problem found",
                       description="Check every file of each engagement and list every problem at once.")
    s.add_argument("dirs", nargs="+", metavar="DIR", help="engagement folder(s)")
    s.set_defaults(func=cmd_validate)
    s = sub.add_parser("sample", help="draw sample.csv from interactions.csv",
                       description="Draw a stratified, seeded random sample per wave and write sample.csv with design weights.")
    s.add_argument("dir", metavar="DIR", help="the engagement folder")
    s.add_argument("--margin", type=float, default=None, help="margin of error, e.g. 0.05 (default: engagement.yaml)")
    s.add_argument("--qci-margin", type=float, default=None, dest="qci_margin", metavar="POINTS",
                   help="size for the mean QCI instead: margin in QCI points, e.g. 3, with the spread of the "
                        "latest scored wave")
    s.add_argument("--confidence", type=float, default=None, help="confidence level, e.g. 0.95 (default: engagement.yaml)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: engagement.yaml)")
    s.add_argument("--minimum", type=int, default=None, help="at least this many per stratum (default: 2)")
    s.add_argument("--force", action="store_true", help="replace an existing sample.csv")
    s.set_defaults(func=cmd_sample)
    s = sub.add_parser("notebooks", help="(re)write an engagement's workspace notebooks",
                       description="Write the step and training notebooks into DIR/notebooks/, their engagement "
                                   "parameter pointing at DIR. Engagement data are never touched.")
    s.add_argument("dir", metavar="DIR", help="the engagement folder")
    s.add_argument("--force", action="store_true", help="replace notebooks you have edited")
    s.add_argument("--no-training", action="store_true", help="write the step notebooks only")
    s.set_defaults(func=cmd_notebooks)
    s = sub.add_parser("scores", help="import, export or correct scores in the store",
                       description="The engagement's store (scores.sqlite) holds every score; scores.csv is the "
                                   "import/export format.")
    ssub = s.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = ssub.add_parser("import", help="add a CSV's score rows to the store (importing twice adds nothing)",
                        description="Add the rows of a scores CSV to the engagement's store. Rows already in the "
                                    "store are skipped, so importing the same file twice adds nothing.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.add_argument("file", nargs="?", default=None, metavar="FILE", help="the CSV to import (default: DIR/scores.csv)")
    t.set_defaults(func=cmd_scores_import)
    t = ssub.add_parser("export", help="write the store's latest scores to a CSV, atomically",
                        description="Write the latest score of every interaction, rater and element to a CSV.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.add_argument("--out", default=None, metavar="FILE", help="where to write (default: DIR/scores.csv)")
    t.add_argument("--force", action="store_true", help="replace an existing file")
    t.set_defaults(func=cmd_scores_export)
    t = ssub.add_parser("correct", help="correct a rater name typed wrong, as an append-only event",
                        description="Every row saved so far under --rater reads as --to from now on. The store stays "
                                    "append-only: the correction is an event, and the history keeps what was typed.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.add_argument("--rater", required=True, help="the name as it was typed (e.g. devv)")
    t.add_argument("--to", required=True, help="the declared name it should be (e.g. dev)")
    t.add_argument("--reason", default="", help="why (kept with the event)")
    t.add_argument("--by", default=None, help="who corrects (default: your login)")
    t.set_defaults(func=cmd_scores_correct)
    t = ssub.add_parser("retract", help="withdraw a form saved by mistake, as an append-only event",
                        description="The rows a rater saved so far for one interaction no longer count; the history "
                                    "keeps them.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.add_argument("--interaction", required=True, help="the interaction id")
    t.add_argument("--rater", required=True, help="whose form")
    t.add_argument("--reason", required=True, help="why it is withdrawn")
    t.add_argument("--by", default=None, help="who withdraws it (default: your login)")
    t.set_defaults(func=cmd_scores_retract)
    s = sub.add_parser("store", help="set up or move the score store (a team's PostgreSQL, or a file)",
                       description="The score store is scores.sqlite in the folder, or, for a rater team, a schema on "
                                   "PostgreSQL named in engagement.yaml (`store: postgresql://host/db`) or QCIKIT_STORE.")
    ssub = s.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = ssub.add_parser("init", help="create the engagement's schema on the configured server",
                        description="Create the engagement's tables on the server named by engagement.yaml's store "
                                    "(or QCIKIT_STORE), and take in scores.csv when the store is empty.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.set_defaults(func=cmd_store_init)
    t = ssub.add_parser("migrate", help="copy every row of the store to a server, or back to a file",
                        description="Copy every score, event, draft and timestamp, verify the counts; re-running adds "
                                    "nothing twice. --to postgresql://host/db moves scores.sqlite to the server; "
                                    "--to sqlite archives the server's rows into scores.sqlite.")
    t.add_argument("dir", metavar="DIR", help="the engagement folder")
    t.add_argument("--to", required=True, metavar="URL|sqlite", help="postgresql://host/database, or sqlite")
    t.add_argument("--file", default=None, metavar="FILE",
                   help="the SQLite file to read (to a server) or write (to sqlite); default DIR/scores.sqlite")
    t.set_defaults(func=cmd_store_migrate)
    s = sub.add_parser("reliability", help="print the per-element agreement table and calibration",
                       description="Agreement between raters per element (with intervals) and calibration against gold.")
    s.add_argument("dir", metavar="DIR", help="the engagement folder")
    s.add_argument("--coefficient", choices=["alpha", "fleiss", "ac1", "percent"], default="alpha",
                   help="agreement coefficient (default: Krippendorff's alpha)")
    s.add_argument("--level", choices=["nominal", "ordinal", "interval", "ratio"], default="ordinal",
                   help="level of measurement of the points (default: ordinal)")
    s.add_argument("--n-boot", type=int, default=1000, dest="n_boot", help="bootstrap resamples for the intervals")
    covers = s.add_mutually_exclusive_group()
    covers.add_argument("--wave", default=None, help="the wave to compute (default: the current wave, as the report)")
    covers.add_argument("--all-waves", action="store_true", dest="all_waves", help="pool every wave's scores")
    s.set_defaults(func=cmd_reliability)
    s = sub.add_parser("export", help="tidy scored tables for the client's BI tools",
                       description="Write <slug>_elements and <slug>_interactions tables (CSV, or parquet with "
                                   "`pip install 'qcikit[parquet]'`).")
    s.add_argument("dir", metavar="DIR", help="the engagement folder")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format (default: csv)")
    s.add_argument("--out", default=None, metavar="OUT", help="output folder (default: DIR/export)")
    s.add_argument("--force", action="store_true", help="replace existing export files")
    s.set_defaults(func=cmd_export)
    s = sub.add_parser("render", help="render one HTML report per engagement, in parallel",
                       description="Execute the client report notebook for each engagement and write a "
                                   "self-contained HTML report (and the executed notebook, for audit).")
    s.add_argument("dirs", nargs="+", metavar="DIR", help="engagement folder(s)")
    s.add_argument("--out", required=True, metavar="OUT", help="the folder the reports go to")
    s.add_argument("--workers", type=int, default=None, help="parallel worker processes (default: the machine's cores)")
    s.add_argument("--wave", default=None, help="the wave to report (default: the latest)")
    s.add_argument("--pdf", action="store_true",
                   help="also print each report to PDF with headless Chromium (QCIKIT_CHROMIUM, or chromium on PATH)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_render)
    s = sub.add_parser("demo", help="write and render the sample engagements",
                       description="Show the sample engagements' QCI and render their reports. When the samples "
                                   "folder holds none, the three sample engagements are written there first.")
    s.add_argument("--samples", default="qcikit-samples", metavar="DIR",
                   help="where the sample engagements are, or are written (default: ./qcikit-samples)")
    s.add_argument("--out", default="reports", metavar="OUT", help="the folder the reports go to (default: ./reports)")
    s.add_argument("--workers", type=int, default=None, help="parallel worker processes (default: the machine's cores)")
    s.add_argument("--no-render", action="store_true", help="print the QCI tables only")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except QcikitError as exc:
        print(f"qcikit {args.command}: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"qcikit {args.command}: cannot read {exc.filename}: {exc.strerror}. Fix: check the path and its permissions.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qcikit: interrupted; files already written are complete (writes are atomic).", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
