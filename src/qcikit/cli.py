"""The ``qcikit`` command.

A user error never shows a traceback: the command prints one clear message
naming the file, the row or key and the fix, and exits 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .errors import QcikitError

SAMPLES = Path("data/samples")


def _engagement(path):
    from .engagement import Engagement

    return Engagement.load(path)


def cmd_new(args) -> int:
    from .scaffold import new_engagement

    folder = new_engagement(args.dir, args.client)
    print(f"Created {folder}. Next: put the client's interactions in interactions.csv, then run `qcikit validate {folder}`.")
    return 0


def cmd_validate(args) -> int:
    from .engagement import Engagement

    bad = 0
    for d in args.dirs:
        problems = Engagement.validate(d)
        if problems:
            bad += 1
            print(f"{d}: {len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
            for p in problems:
                print(f"  - {p}")
        else:
            eng = Engagement.load(d)
            n_scores = 0 if eng.scores is None else len(eng.scores)
            n_sample = 0 if eng.sample is None else len(eng.sample)
            print(f"{d}: clean — {len(eng.interactions)} interactions, {n_sample} sampled, {n_scores} score rows, "
                  f"rubric {eng.rubric.version} with {len(eng.rubric.element_ids)} elements.")
    return 2 if bad else 0


def cmd_sample(args) -> int:
    from . import sampling
    from ._io import write_csv

    eng = _engagement(args.dir)
    cfg = eng.config
    margin = args.margin or cfg.margin
    confidence = args.confidence or cfg.confidence
    strata = cfg.strata
    seed = cfg.seed if args.seed is None else args.seed
    target = Path(args.dir) / "sample.csv"
    if target.exists() and not args.force:
        raise QcikitError(f"{target}: a sample already exists and may already be scored; nothing was changed. "
                          "Fix: pass --force to draw a new one (the old file is replaced).")
    drawn = sampling.draw_by_wave(eng.interactions, margin, confidence, strata=strata, seed=seed, minimum=args.minimum)
    cols = ["interaction_id", "wave"] + ([strata] if strata else []) + ["stratum", "weight"]
    out = drawn[cols].copy()
    out["weight"] = out["weight"].map(lambda x: f"{x:.6f}")
    write_csv(out, target)
    plan = drawn.groupby("stratum").agg(n_h=("weight", "size"), N_h=("weight", "sum")).reset_index()
    plan["N_h"] = plan["N_h"].round().astype(int)
    plan["margin"] = [sampling.margin_of_error(n, confidence, N) for n, N in zip(plan["n_h"], plan["N_h"])]
    print(f"Drew {len(out)} interactions (margin ±{margin:.0%} per wave at {confidence:.0%} confidence, seed {seed}) into {target}.")
    print(plan.to_string(index=False, formatters={"margin": "±{:.1%}".format}))
    return 0


def cmd_reliability(args) -> int:
    from . import reliability

    eng = _engagement(args.dir)
    if eng.scores is None:
        raise QcikitError(f"{args.dir}/scores.csv is missing, so there is nothing to compare. Fix: score the sample first.")
    table = reliability.by_element(eng.scores, eng.rubric, coefficient=args.coefficient, level=args.level,
                                   n_boot=args.n_boot, seed=eng.config.seed)
    shown = table.drop(columns=["note"] if not table["note"].any() else [])
    print(f"{eng.config.client}: agreement by element ({table['coefficient'].iloc[0]}, 95% CI; "
          f"≥ .800 reliable, .667–.800 tentative)")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if eng.gold is not None:
        cal = reliability.calibrate(eng.scores, eng.gold, eng.rubric)
        overall = cal[cal["element"] == "(all)"].drop(columns="element")
        print("\nCalibration against gold.csv (bias in points; qci_bias in QCI points):")
        print(overall.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        flagged = overall.loc[overall["coaching"], "rater"].tolist()
        if flagged:
            print("\n" + reliability.qci_without(eng.scores, eng.rubric, flagged, eng.inventory_facets())
                  .to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


def cmd_export(args) -> int:
    from .export import export

    eng = _engagement(args.dir)
    for p in export(eng, args.out or Path(args.dir) / "export", args.format):
        print(p)
    return 0


def _print_results(results) -> int:
    table = pd.DataFrame([{"client": r.slug, "status": "ok" if r.ok else "FAILED", "seconds": round(r.seconds, 1),
                           "output": r.html or r.notebook or "", "error": r.error} for r in results])
    print(table.to_string(index=False))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"\n{r.summary()}", file=sys.stderr)
        for p in r.problems[:10]:
            print(f"  - {p}", file=sys.stderr)
    return 1 if failed else 0


def cmd_render(args) -> int:
    from .report import render_reports

    results = render_reports(args.dirs, args.out, workers=args.workers, wave=args.wave, progress=not args.quiet)
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
        raise QcikitError(f"{root}: no sample engagements found. Fix: run `python -m qcikit.samples {root}` or pass --samples.")
    for d in dirs:
        eng = _engagement(d)
        print(f"\n{eng.config.client} ({eng.config.industry}) — QCI by wave, rubric {eng.rubric.version}")
        print(qci_table(eng).to_string())
    if args.no_render:
        return 0
    print(f"\nRendering {len(dirs)} reports into {Path(args.out).resolve()} ...")
    code = _print_results(render_reports(dirs, args.out, workers=args.workers, progress=not args.quiet))
    if code == 0:
        print(f"\nOpen the reports: {', '.join(str((Path(args.out) / (d.name + '.html')).resolve()) for d in dirs)}")
    return code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qcikit", description="Quality of Customer Interaction methodology kit.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("new", help="scaffold an engagement from templates")
    s.add_argument("dir")
    s.add_argument("--client", required=True)
    s.set_defaults(func=cmd_new)
    s = sub.add_parser("validate", help="check every file; list every problem found")
    s.add_argument("dirs", nargs="+", metavar="DIR")
    s.set_defaults(func=cmd_validate)
    s = sub.add_parser("sample", help="draw sample.csv from interactions.csv")
    s.add_argument("dir")
    s.add_argument("--margin", type=float, default=None)
    s.add_argument("--confidence", type=float, default=None)
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--minimum", type=int, default=0, help="at least this many per stratum")
    s.add_argument("--force", action="store_true", help="replace an existing sample.csv")
    s.set_defaults(func=cmd_sample)
    s = sub.add_parser("reliability", help="print the per-element agreement table and calibration")
    s.add_argument("dir")
    s.add_argument("--coefficient", choices=["alpha", "fleiss", "ac1", "percent"], default="alpha")
    s.add_argument("--level", choices=["nominal", "ordinal", "interval", "ratio"], default="ordinal")
    s.add_argument("--n-boot", type=int, default=1000, dest="n_boot")
    s.set_defaults(func=cmd_reliability)
    s = sub.add_parser("export", help="tidy scored tables for the client's BI tools")
    s.add_argument("dir")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")
    s.add_argument("--out", default=None)
    s.set_defaults(func=cmd_export)
    s = sub.add_parser("render", help="render one HTML report per engagement, in parallel")
    s.add_argument("dirs", nargs="+", metavar="DIR")
    s.add_argument("--out", required=True)
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("--wave", default=None, help="the wave to report (default: the latest)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_render)
    s = sub.add_parser("demo", help="show the sample engagements and render their reports")
    s.add_argument("--samples", default=str(SAMPLES))
    s.add_argument("--out", default="reports")
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("--no-render", action="store_true", help="print the QCI tables only")
    s.add_argument("--quiet", action="store_true")
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
