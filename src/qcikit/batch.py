"""Many engagements at once: validate and draw samples in parallel, on this machine or a dask cluster.

Rendering already takes an ``executor`` (:func:`qcikit.report.render_reports`); validation and sampling take
the same one. Any :class:`concurrent.futures.Executor` works, and so does a ``dask.distributed.Client``
(``pip install qcikit[dask]``), whose workers must see the engagement folders (a shared disk). Each
engagement is one task: a million-row population is read once, in one worker, in the memory of one load.

Examples
--------
>>> from dask.distributed import Client  # doctest: +SKIP
>>> from qcikit import batch
>>> with Client("scheduler:8786") as client:  # doctest: +SKIP
...     problems = batch.validate_many(["clients/acme", "clients/globex"], executor=client)
...     drawn = batch.sample_many(["clients/acme", "clients/globex"], executor=client)
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import Problem, QcikitError


@dataclass
class Drawn:
    """A sample written by :func:`sample_engagement`: where, and its plan per stratum."""

    path: Path
    plan: pd.DataFrame  # stratum, n_h, N_h, margin
    size: int
    margin: float
    confidence: float
    seed: int
    sd: float | None = None
    sd_source: str = ""


def qci_sd(eng) -> tuple[float, str]:
    """The design-weighted standard deviation of the QCI in the latest scored wave (a pilot or an earlier wave)."""
    from . import metrics

    if eng.scores is None:
        raise QcikitError(f"{eng.path}: --qci-margin needs the QCI's spread from scored interactions (a pilot or an "
                          "earlier wave), and there are no scores yet. Fix: score a pilot, or size with --margin.")
    table = metrics.interaction_table(eng)
    wave = [w for w in eng.config.waves if (table["wave"] == w).any()][-1]
    part = table[table["wave"] == wave]
    return metrics.weighted_sd(part["qci"], part["weight"]), f"wave {wave} ({len(part)} scored interactions)"


def sample_engagement(folder: str | Path, *, force: bool = False, margin: float | None = None,
                      confidence: float | None = None, seed: int | None = None, minimum: int = 2,
                      qci_margin: float | None = None) -> Drawn:
    """Draw ``folder``'s sample.csv from its population, per wave, stratified and seeded (what `qcikit sample` does).

    Refuses to replace an existing sample without ``force`` (it may already be scored).
    """
    from . import sampling
    from ._io import write_csv
    from .engagement import Engagement

    eng = Engagement.load(folder)
    cfg = eng.config
    margin = margin or cfg.margin
    confidence = confidence or cfg.confidence
    strata = cfg.strata
    seed = cfg.seed if seed is None else seed
    target = Path(folder) / "sample.csv"
    if target.exists() and not force:
        raise QcikitError(f"{target}: a sample already exists and may already be scored; nothing was changed. "
                          "Fix: pass --force to draw a new one (the old file is replaced).")
    sd, source = None, ""
    if qci_margin is not None:
        sd, source = qci_sd(eng)
        margin = qci_margin
    # Only the columns the draw needs: the transcripts (the bulk of a population file) are never copied.
    frame = eng.interactions[[c for c in dict.fromkeys(["interaction_id", "wave", strata]) if c]]
    drawn = sampling.draw_by_wave(frame, margin, confidence, strata=strata, seed=seed, sd=sd, minimum=minimum)
    cols = ["interaction_id", "wave"] + ([strata] if strata else []) + ["stratum", "weight"]
    out = drawn[cols].copy()
    out["weight"] = out["weight"].map(lambda x: f"{x:.6f}")
    write_csv(out, target)
    plan = drawn.groupby("stratum").agg(n_h=("weight", "size"), N_h=("weight", "sum")).reset_index()
    plan["N_h"] = plan["N_h"].round().astype(int)
    plan["margin"] = [sampling.margin_of_error(n, confidence, N) for n, N in zip(plan["n_h"], plan["N_h"])]
    return Drawn(target, plan, len(out), margin, confidence, seed, sd, source)


def _validate(folder: str) -> list[Problem]:
    from .engagement import Engagement

    return Engagement.validate(folder)


def _sample(folder: str, force: bool) -> Drawn | str:
    try:
        return sample_engagement(folder, force=force)
    except QcikitError as exc:  # one engagement's mistake is its own result, never the batch's end
        return str(exc)


def _run(fn, items: list[tuple], executor: Executor | None, workers: int | None) -> list:
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=max(1, min(workers or os.cpu_count() or 1, len(items))))
    try:
        futures = [executor.submit(fn, *item) for item in items]
        return [f.result() for f in futures]  # concurrent.futures and dask futures alike
    finally:
        if own:
            executor.shutdown()


def validate_many(engagement_dirs, executor: Executor | None = None, workers: int | None = None
                  ) -> dict[str, list[Problem]]:
    """Every problem of each engagement folder (an empty list when it is clean), one task per folder."""
    dirs = [str(d) for d in engagement_dirs]
    return dict(zip(dirs, _run(_validate, [(d,) for d in dirs], executor, workers)))


def sample_many(engagement_dirs, executor: Executor | None = None, workers: int | None = None,
                force: bool = False) -> dict[str, Drawn | str]:
    """Draw each engagement's sample.csv, one task per folder; a folder that cannot be sampled gives its message."""
    dirs = [str(d) for d in engagement_dirs]
    return dict(zip(dirs, _run(_sample, [(d, force) for d in dirs], executor, workers)))
