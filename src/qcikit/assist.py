"""Auto-scorers: a machine score for every interaction, beside the human ones and never mixed with them.

A machine score is an auxiliary variable, not a measurement: :func:`qcikit.metrics.qci_estimate` corrects it
by the human scores of the sample (the difference / GREG estimator), so the QCI's interval stays valid
whatever the machine's quality, and a good machine narrows it. Three kinds of scorer:

- ``rules``: the rubric's own rules decided from the transcript. Timing rules (``timing:`` in rubric.yaml)
  come from the timestamps: the first response against the channel standard, and silent gaps of more than
  a minute in live channels. Phrase rules come from their ``patterns:`` (regular expressions matched,
  case-insensitive, against the agent's lines; ``{signature_phrases}``, ``{sign_off}`` and ``{avoid}`` stand
  for the brand voice's lists). An element's points follow the rubric's arithmetic from the rules decided;
  an element none of whose rules can be decided is left empty.
- ``model``: per element, a TF-IDF + ridge regression of the human points on the agent's words, trained on
  the human-scored sample by *cross-fitting* (Zrnic & Candès 2024): the sample is cut in folds, each sampled
  interaction is predicted by the model that did not see its fold, and every other interaction by the
  average of the fold models. Each residual on the sample is then honest.
- a plug-in: any callable ``(transcript, rubric) -> {element: points}`` registered with
  :func:`register_scorer` (a consultant's own LLM client, say). The kit ships no network client.

A run records the scorer's ``version`` (for ``rules`` a hash of the patterns, the brand voice and the
standards) and ``frozen_at``, the first time that version ran. A scorer that is not cross-fitted must be
frozen before the wave's human scoring began; otherwise it may have been tuned on the very scores that
judge it, and :func:`check_frozen` refuses the estimate.

References
----------
Zrnic, T. & Candès, E. J. (2024). Cross-prediction-powered inference. *PNAS* 121(15), e2322083121.
Angelopoulos, A. N., Bates, S., Fannjiang, C., Jordan, M. I. & Zrnic, T. (2023). Prediction-powered
inference. *Science* 382, 669–674.
"""
from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal, Mapping

import numpy as np
import pandas as pd

from .errors import QcikitError
from .rubric import BRAND_PLACEHOLDERS, Rubric

AUTOSCORES = "autoscores.csv"
COLUMNS = ["interaction_id", "element", "points", "scorer", "version", "crossfit", "frozen_at"]
# The channel standards of the starter rubric's `within_standard` rule, in seconds.
STANDARD_SECONDS = {"email": 4 * 3600, "chat": 60, "phone": 90, "face_to_face": 180}
LIVE = ("chat", "phone", "face_to_face")
SILENT_GAP_SECONDS = 60
FOLDS = 5
MIN_TRAINING = 20  # fewer human-scored interactions with an element than this: the model leaves it empty
BuiltIn = Literal["rules", "model"]

_STAMP = r"^\[(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?\]\s*(Customer|Agent)?"


@dataclass(frozen=True)
class Scorer:
    """A registered plug-in scorer: ``fn(transcript, rubric) -> {element: points}`` and its version."""

    name: str
    fn: Callable[[str, Rubric], Mapping[str, float | None]]
    version: str


_REGISTRY: dict[str, Scorer] = {}


def register_scorer(name: str, fn: Callable[[str, Rubric], Mapping[str, float | None]], version: str = "1") -> Scorer:
    """Register a plug-in auto-scorer under ``name`` (any name but ``rules`` and ``model``).

    Bump ``version`` whenever the scorer changes (a new prompt, a new model): the version is stored with every
    score, and a scorer changed after the wave's human scoring began is refused for that wave.

    Examples
    --------
    >>> def polite(transcript, rubric):
    ...     return {"apology_courtesy": 2.0 if "thank" in transcript.lower() else 0.0}
    >>> register_scorer("polite", polite, version="2026-12").version
    '2026-12'
    """
    if name in ("rules", "model"):
        raise QcikitError(f"'{name}' is a built-in scorer. Fix: register the plug-in under another name.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise QcikitError(f"scorer name '{name}' is not a plain name. Fix: use letters, digits, '.', '_' or '-'.")
    _REGISTRY[name] = Scorer(name, fn, str(version))
    return _REGISTRY[name]


def scorers() -> list[str]:
    """The names ``autoscore`` accepts: the built-in ones and every registered plug-in."""
    return ["rules", "model", *sorted(_REGISTRY)]


# -- reading transcripts ------------------------------------------------------------------
def turns(transcripts: pd.Series) -> pd.DataFrame:
    """One row per transcript line that starts with a timestamp: ``unit`` (the position in ``transcripts``),
    ``seconds`` (since the first line of that transcript, days carried over when a clock-only time goes
    back), ``speaker`` (Customer, Agent or empty for an event line) and ``text``. Vectorized over all lines."""
    s = pd.Series(transcripts, copy=False).fillna("").astype(str).reset_index(drop=True)
    lines = s.str.split("\n").explode()
    unit = lines.index.to_numpy()
    lines = lines.reset_index(drop=True).astype(str)
    parts = lines.str.extract(_STAMP)
    keep = parts[1].notna().to_numpy()
    # A line without a timestamp continues the turn above it (an e-mail's body): its text joins that turn's.
    turn = np.cumsum(keep) - 1
    first_of_unit = np.r_[True, unit[1:] != unit[:-1]]
    before_any = pd.Series(np.where(first_of_unit, ~keep, False)).where(first_of_unit | keep).ffill().to_numpy(dtype=bool)
    cont = ~keep & ~before_any & (turn >= 0)
    if cont.any():
        body = lines[cont].groupby(turn[cont]).agg("\n".join)
        extra = pd.Series("", index=range(int(keep.sum())))
        extra[body.index] = "\n" + body
        lines = lines[keep].reset_index(drop=True) + extra.to_numpy()
        parts, unit = parts[keep].reset_index(drop=True), unit[keep]
    else:
        parts, lines, unit = parts[keep], lines[keep], unit[keep]
    date = pd.to_datetime(parts[0], format="%Y-%m-%d", errors="coerce")
    days = ((date - pd.Timestamp("2000-01-01")).dt.days).to_numpy(dtype=float)
    clock = (parts[1].astype(float) * 3600 + parts[2].astype(float) * 60 + parts[3].fillna("0").astype(float)).to_numpy()
    secs = np.where(np.isnan(days), clock, days * 86400 + clock)
    out = pd.DataFrame({"unit": unit, "seconds": secs, "speaker": parts[4].fillna("").to_numpy(),
                        "text": lines.str.replace(r"^\[[^\]]*\]\s*", "", regex=True).to_numpy()})
    # Clock-only times (chat, phone) that go back cross midnight: carry a day over.
    undated = np.isnan(days)
    step = np.diff(out["seconds"].to_numpy(), prepend=np.nan)
    new_unit = np.diff(out["unit"].to_numpy(), prepend=-1) != 0
    wrap = undated & ~new_unit & (step < 0)
    carry = pd.Series(wrap.astype(float) * 86400).groupby(out["unit"].to_numpy()).cumsum().to_numpy()
    out["seconds"] = out["seconds"].to_numpy() + carry
    first = out.groupby("unit")["seconds"].transform("min")
    out["seconds"] = out["seconds"] - first
    return out


def _agent_text(tr: pd.DataFrame, n: int) -> pd.Series:
    """Each transcript's agent lines, joined by newlines ("" where the agent never spoke)."""
    agent = tr[tr["speaker"] == "Agent"]
    text = agent["text"].str.replace(r"^Agent\s*\([^)]*\)(\s*\([^)]*\))?\s*:?\s*", "", regex=True)
    joined = text.groupby(agent["unit"].to_numpy()).agg("\n".join)
    return joined.reindex(range(n), fill_value="")


def _timing(tr: pd.DataFrame, touchpoints: np.ndarray) -> dict[str, np.ndarray]:
    """Per transcript: the first response in seconds (NaN when it cannot be read), and whether a live channel
    left the customer without word for more than a minute after the first response."""
    n = len(touchpoints)
    cust = tr[tr["speaker"] == "Customer"].groupby("unit")["seconds"].min()
    # The first agent line, or an event line that answers ("picks up the call"): any line after the customer's.
    agent = tr[tr["speaker"] == "Agent"].groupby("unit")["seconds"].min()
    event = tr[(tr["speaker"] == "") & tr["text"].str.contains(r"^Agent\b", regex=True)].groupby("unit")["seconds"].min()
    answered = pd.concat([agent, event], axis=1).min(axis=1)
    start = tr.groupby("unit")["seconds"].min()  # the customer's arrival: the first line of the transcript
    first = (answered.reindex(range(n)) - start.reindex(range(n))).to_numpy(dtype=float, copy=True)
    first[np.isnan(cust.reindex(range(n)).to_numpy())] = np.nan
    gap = tr["seconds"].diff().to_numpy()
    same = np.diff(tr["unit"].to_numpy(), prepend=-1) == 0
    is_agent = (tr["speaker"] == "Agent").to_numpy()
    after_first = tr["seconds"].to_numpy() > answered.reindex(tr["unit"]).to_numpy()
    silent = same & is_agent & after_first & (gap > SILENT_GAP_SECONDS)
    any_silent = np.bincount(tr["unit"].to_numpy()[silent], minlength=n) > 0
    live = np.isin(touchpoints, LIVE)
    return {"first_response": first, "silent_gap": np.where(live, any_silent, False), "live": live}


def _expand(pattern: str, brand) -> str | None:
    """A rule pattern with the brand voice's lists put in (escaped, as alternatives); None when a list is empty."""
    lists = {"{signature_phrases}": brand.signature_phrases, "{sign_off}": [brand.sign_off] if brand.sign_off else [],
             "{avoid}": brand.avoid}
    for key in BRAND_PLACEHOLDERS:
        if key in pattern:
            items = [x for x in lists[key] if str(x).strip()]
            if not items:
                return None
            pattern = pattern.replace(key, "(?:" + "|".join(re.escape(str(x).strip()) for x in items) + ")")
    return pattern


def _contains(text: pd.Series, regex: str) -> np.ndarray:
    """Whether each text matches ``regex`` (case-insensitive, ``^``/``$`` at line ends). Arrow's RE2 engine does
    it in C over the whole column, ten times faster than Python's re row by row; a pattern RE2 cannot read
    (a look-around, a back-reference) falls back to Python's re with the same flags."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
        return pc.match_substring_regex(arr, "(?im)" + regex).to_numpy(zero_copy_only=False).astype(bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        with warnings.catch_warnings():  # the rubric's groups are for reading, not for extracting
            warnings.simplefilter("ignore", UserWarning)
            return text.str.contains(regex, flags=re.IGNORECASE | re.MULTILINE, regex=True).to_numpy(dtype=bool)


def rules_version(rubric: Rubric, brand, standards: Mapping[str, float] | None = None) -> str:
    """The ``rules`` scorer's version: a hash of everything that decides its scores."""
    spec = {e.id: [(r.id, r.patterns, r.timing) for r in [*e.rules.additive, *e.rules.subtractive]]
            for e in rubric.model.elements}
    blob = json.dumps([spec, brand.signature_phrases, brand.sign_off, brand.avoid,
                       {**STANDARD_SECONDS, **(standards or {})}, SILENT_GAP_SECONDS],
                      sort_keys=True, default=str)
    return "rules-" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def score_rules(interactions: pd.DataFrame, rubric: Rubric, brand, chunk: int = 50_000,
                standards: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The ``rules`` scorer on ``interactions`` (``interaction_id``, ``touchpoint``, ``transcript``): long
    ``interaction_id``, ``element``, ``points``. Works in chunks so memory stays bounded on a million rows.

    ``standards`` (seconds per touchpoint level, over :data:`STANDARD_SECONDS`) decide the timing rules; a
    touchpoint without a standard leaves the timing rules of its interactions unfired."""
    std_of = {**STANDARD_SECONDS, **(standards or {})}
    fired_rules = {}
    for e in rubric.model.elements:
        for sign, rules in ((1, e.rules.additive), (-1, e.rules.subtractive)):
            for r in rules:
                pats = [p for p in (_expand(p, brand) for p in r.patterns) if p]
                if pats or r.timing:
                    fired_rules[(e.id, r.id)] = (sign * r.points, "|".join(f"(?:{p})" for p in pats) if pats else None, r.timing)
    decided = sorted({e for e, _ in fired_rules})
    el = {e.id: e for e in rubric.model.elements}
    parts = []
    for lo in range(0, len(interactions), chunk):
        part = interactions.iloc[lo:lo + chunk]
        n = len(part)
        tr = turns(part["transcript"])
        text = _agent_text(tr, n)
        tp = part["touchpoint"].astype(str).to_numpy() if "touchpoint" in part else np.full(n, "")
        timing = _timing(tr, tp)
        std = pd.Series(tp).map(std_of).to_numpy(dtype=float)
        points = {e: np.full(n, el[e].start, dtype=float) for e in decided}
        for (e, _), (delta, regex, measure) in fired_rules.items():
            if measure == "within_standard":
                hit = timing["first_response"] <= std
            elif measure == "over_double_standard":
                hit = timing["first_response"] > 2 * std
            elif measure == "silent_gap":
                hit = timing["silent_gap"]
            else:
                hit = _contains(text, regex)
            points[e] = points[e] + delta * np.asarray(hit, dtype=bool)
        frame = pd.DataFrame({e: np.clip(points[e], 0, el[e].max_points) for e in decided})
        frame["interaction_id"] = part["interaction_id"].astype(str).to_numpy()
        parts.append(frame.melt(id_vars="interaction_id", var_name="element", value_name="points"))
    if not parts:
        return pd.DataFrame(columns=["interaction_id", "element", "points"])
    return pd.concat(parts, ignore_index=True)


def score_model(eng, population: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
    """The cross-fitted ``model`` scorer: long ``interaction_id``, ``element``, ``points`` for ``population``.

    Per element, a ridge regression on TF-IDF features of the agent's words (word 1–2-grams), trained on the
    human-scored interactions' mean points. The human-scored ones are cut in ``FOLDS`` folds (seeded); each
    is predicted by the model fitted without its fold, every other interaction by the mean of the fold
    models. Predictions are clipped to the element's 0–max.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    if eng.scores is None or eng.scores.empty:
        raise QcikitError(f"{eng.path}: the model scorer learns from human scores and there are none. "
                          "Fix: score part of the sample first, or use --scorer rules.")
    seed = eng.config.seed if seed is None else seed
    human = (eng.scores.groupby(["interaction_id", "element"], sort=True)["points"].mean().unstack("element"))
    pop_ids = population["interaction_id"].astype(str).to_numpy()
    text = _agent_text(turns(population["transcript"]), len(population)).to_numpy()
    labelled = np.flatnonzero(pd.Index(human.index).get_indexer(pop_ids) >= 0)
    if len(labelled) < MIN_TRAINING:
        raise QcikitError(f"{eng.path}: only {len(labelled)} human-scored interactions are in the population to learn "
                          f"from; the model scorer needs {MIN_TRAINING}. Fix: score more of the sample first.")
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_lab = vec.fit_transform(text[labelled])  # vocabulary from the labelled text only: no label leaks into it
    x_all = vec.transform(text)
    y_all = human.reindex(pop_ids[labelled])
    folds = list(KFold(FOLDS, shuffle=True, random_state=seed).split(labelled))
    maxp = eng.rubric.max_points
    out = {}
    for e in eng.rubric.element_ids:
        y = y_all[e].to_numpy(dtype=float) if e in y_all else np.full(len(labelled), np.nan)
        ok = np.isfinite(y)
        if ok.sum() < MIN_TRAINING:
            continue  # too few human scores of this element to learn it: left empty
        pred = np.zeros(len(pop_ids))
        own = np.full(len(labelled), np.nan)
        for train, test in folds:
            tr = train[ok[train]]
            if len(tr) < 2:
                continue
            model = Ridge(alpha=1.0).fit(x_lab[tr], y[tr])
            pred += model.predict(x_all) / len(folds)
            own[test] = model.predict(x_lab[test])
        pred[labelled] = np.where(np.isfinite(own), own, pred[labelled])
        out[e] = np.clip(pred, 0, float(maxp[e]))
    frame = pd.DataFrame(out)
    frame["interaction_id"] = pop_ids
    return frame.melt(id_vars="interaction_id", var_name="element", value_name="points")


def score_plugin(scorer: Scorer, population: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """A plug-in scorer on every transcript; its elements must be the rubric's and its points within 0–max."""
    rows = []
    maxp = rubric.max_points
    for iid, text in zip(population["interaction_id"].astype(str), population["transcript"].fillna("").astype(str)):
        got = scorer.fn(text, rubric) or {}
        for e, pts in got.items():
            if e not in maxp.index:
                raise QcikitError(f"scorer '{scorer.name}' returned element '{e}' for interaction {iid}, which the rubric "
                                  f"does not have. Fix: return the rubric's element ids ({', '.join(maxp.index[:5])}, …).")
            if pts is not None and not (0 <= float(pts) <= maxp[e]):
                raise QcikitError(f"scorer '{scorer.name}' gave {pts} points to '{e}' on interaction {iid}, outside "
                                  f"0–{maxp[e]:g}. Fix: clip the plug-in's points to the element's maximum.")
            rows.append((iid, e, np.nan if pts is None else float(pts)))
    return pd.DataFrame(rows, columns=["interaction_id", "element", "points"])


# -- running and keeping them ------------------------------------------------------------
def autoscore(eng, scorer: str, wave: str | None = None) -> pd.DataFrame:
    """Score every interaction of the population (or of ``wave``) with ``scorer``: rows ready for
    :func:`save_autoscores` (``interaction_id``, ``element``, ``points``, ``scorer``, ``version``,
    ``crossfit``, ``frozen_at``)."""
    if scorer not in scorers():
        raise QcikitError(f"scorer '{scorer}' is not known. Fix: use one of {', '.join(scorers())}, or register a "
                          "plug-in with qcikit.assist.register_scorer.")
    pop = eng.interactions
    if wave is not None:
        if wave not in eng.config.waves:
            raise QcikitError(f"{eng.path}: wave '{wave}' is not in engagement.yaml. Fix: use one of {', '.join(eng.config.waves)}.")
        pop = pop[pop["wave"].astype(str) == wave]
    if "transcript" not in pop:
        raise QcikitError(f"{eng.path}: the population has no transcript column, and every scorer reads transcripts. "
                          "Fix: add the transcripts to interactions.csv (or .parquet).")
    cols = [c for c in ("interaction_id", "touchpoint", "transcript") if c in pop]
    pop = pop[cols]
    crossfit = False
    if scorer == "rules":
        cfg = eng.config
        rows = score_rules(pop, eng.rubric, cfg.brand_voice, standards=cfg.response_standards)
        version = rules_version(eng.rubric, cfg.brand_voice, cfg.response_standards)
    elif scorer == "model":
        rows, crossfit = score_model(eng, pop), True
        version = "model-crossfit-" + hashlib.sha256(f"{FOLDS}|{eng.config.seed}|{eng.rubric.version}".encode()).hexdigest()[:8]
    else:
        plug = _REGISTRY[scorer]
        rows, version = score_plugin(plug, pop, eng.rubric), plug.version
    rows = rows.assign(scorer=scorer, version=version, crossfit=crossfit)
    rows["frozen_at"] = _frozen_at(eng, scorer, version)
    return rows[COLUMNS]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _frozen_at(eng, scorer: str, version: str) -> str:
    """When this scorer version first ran on the engagement (now, when it never did)."""
    old = load_autoscores(eng, scorer)
    old = old[old["version"] == version]
    return str(old["frozen_at"].min()) if len(old) else _now()


def save_autoscores(eng, rows: pd.DataFrame) -> str:
    """Keep a run: in the score store when the engagement has one (append-only, a later run wins), else in
    autoscores.csv (atomically; this scorer's rows for the same interactions are replaced, others kept).
    Returns where they went."""
    from .engagement import STORE

    store_path = Path(eng.path) / STORE
    if store_path.is_file():
        from .store import Store

        Store(store_path).save_autoscores(rows)
        return str(store_path)
    path = Path(eng.path) / AUTOSCORES
    old = read_autoscores(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)
    key = old["scorer"].astype(str) + "\x00" + old["interaction_id"].astype(str)
    new_key = set(rows["scorer"].astype(str) + "\x00" + rows["interaction_id"].astype(str))
    keep = old[~key.isin(new_key)]
    write_autoscores_csv(pd.concat([keep, rows[COLUMNS]], ignore_index=True) if len(keep) else rows[COLUMNS], path)
    return str(path)


def write_autoscores_csv(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write machine scores in the autoscores.csv format, atomically, sorted by scorer, interaction and element."""
    from ._io import write_csv

    out = rows[COLUMNS].copy()
    out["points"] = out["points"].map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
    out["crossfit"] = out["crossfit"].map(lambda v: "true" if str(v).lower() in ("true", "1") else "false")
    return write_csv(out.sort_values(["scorer", "interaction_id", "element"], kind="stable"), path)


def read_autoscores(path: str | Path) -> pd.DataFrame:
    """autoscores.csv as a table; ``version`` (default ``imported``), ``crossfit`` (default false) and
    ``frozen_at`` (default: the file's modification time) are optional columns."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise QcikitError(f"{path}: cannot be read as CSV ({exc}). Fix: save it as UTF-8 CSV with a header row.") from None
    missing = [c for c in ("interaction_id", "element", "points", "scorer") if c not in df.columns]
    if missing:
        raise QcikitError(f"{path}: column(s) {', '.join(missing)} missing. Fix: give interaction_id, element, points, scorer "
                          "(empty points = not applicable).")
    if "version" not in df:
        df["version"] = "imported"
    if "crossfit" not in df:
        df["crossfit"] = "false"
    if "frozen_at" not in df:
        df["frozen_at"] = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    bad = df["points"].str.strip().ne("") & pd.to_numeric(df["points"], errors="coerce").isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise QcikitError(f"{path}, row {row}: points '{df['points'][bad].iloc[0]}' is not a number. Fix: write a number, "
                          "or leave the cell empty for not applicable.")
    empty = df["scorer"].str.strip().eq("") | df["interaction_id"].str.strip().eq("")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 2
        raise QcikitError(f"{path}, row {row}: interaction_id and scorer must not be empty. Fix: fill them in.")
    df["points"] = pd.to_numeric(df["points"], errors="coerce")
    df["crossfit"] = df["crossfit"].str.lower().isin(["true", "1", "yes"])
    return df[COLUMNS]


def autoscore_problems(eng, rows: pd.DataFrame) -> list[tuple[str, str]]:
    """Every problem of machine scores, as (message, fix): unknown interactions or elements, points outside 0–max."""
    out = []
    ids = pd.Index(eng.interactions["interaction_id"].astype(str))
    unknown = ~rows["interaction_id"].astype(str).isin(ids)
    if unknown.any():
        first = rows.loc[unknown, "interaction_id"].iloc[0]
        out.append((f"{int(unknown.sum())} row(s) name interactions that are not in the population (first: '{first}').",
                    "Score only interactions of interactions.csv."))
    maxp = eng.rubric.max_points
    el = rows["element"].astype(str)
    bad_el = ~el.isin(maxp.index)
    if bad_el.any():
        out.append((f"{int(bad_el.sum())} row(s) name elements that are not in the rubric (first: '{el[bad_el].iloc[0]}').",
                    "Use the rubric's element ids."))
    over = ~bad_el & ((rows["points"] < 0) | (rows["points"] > el.map(maxp).astype(float)))
    if over.any():
        r = rows[over].iloc[0]
        out.append((f"{int(over.sum())} row(s) give points outside the element's 0–max (first: {r['points']:g} for "
                    f"'{r['element']}' on {r['interaction_id']}, max {maxp[r['element']]:g}).",
                    "Give points within the element's maximum."))
    return out


def check_autoscores(eng, rows: pd.DataFrame, source: str) -> None:
    """Refuse (``QcikitError``) machine scores with any problem of :func:`autoscore_problems`, naming them all."""
    problems = autoscore_problems(eng, rows)
    if problems:
        raise QcikitError(f"{source}: " + " ".join(m for m, _ in problems) + " Fix: " + " ".join(f for _, f in problems))


def import_autoscores(eng, path: str | Path) -> tuple[int, str]:
    """Take an AutoQA tool's file (the autoscores.csv format) into the engagement: checked, then kept."""
    rows = read_autoscores(path)
    check_autoscores(eng, rows, str(path))
    return len(rows), save_autoscores(eng, rows)


def load_autoscores(eng, scorer: str | None = None) -> pd.DataFrame:
    """The engagement's machine scores (``scorer`` only, when given): the store's latest run per scorer, and
    autoscores.csv's scorers the store does not hold."""
    from .engagement import STORE

    parts = []
    held: set[str] = set()
    store_path = Path(eng.path) / STORE
    if store_path.is_file():
        from .store import Store

        got = Store(store_path).autoscores(scorer)
        held = set(got["scorer"])
        parts.append(got)
    csv = Path(eng.path) / AUTOSCORES
    if csv.is_file():
        got = read_autoscores(csv)
        got = got[~got["scorer"].isin(held)]
        parts.append(got[got["scorer"] == scorer] if scorer else got)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "points" else object) for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def check_frozen(eng, rows: pd.DataFrame, wave: str) -> None:
    """Refuse a scorer that may have been tuned on the scores that judge it: one that is not cross-fitted and
    whose version first ran after the wave's human scoring began (the store's first save of the wave)."""
    from .engagement import STORE

    if rows.empty or rows["crossfit"].all():
        return
    store_path = Path(eng.path) / STORE
    if not store_path.is_file():
        return  # scores.csv carries no times: nothing to check against
    from .store import Store

    hist = Store(store_path).history()
    if "wave" in hist:
        hist = hist[hist["wave"].astype(str) == wave]
    if hist.empty:
        return
    began = str(hist["saved_at"].min())
    frozen = str(rows["frozen_at"].max())
    if frozen > began:
        scorer, version = rows["scorer"].iloc[0], rows["version"].iloc[0]
        raise QcikitError(f"{eng.path}: scorer '{scorer}' (version {version}) was frozen at {frozen}, after the human "
                          f"scoring of wave '{wave}' began ({began}): it may be tuned on the scores that judge it. "
                          "Fix: use it from the next wave on, or use the cross-fitted model scorer.")


def runs(eng, scorer) -> pd.DataFrame:
    """A scorer's machine scores: the engagement's kept ones for a name, or a run itself (what :func:`autoscore`
    returns, e.g. tried in a notebook before it is kept)."""
    if isinstance(scorer, pd.DataFrame):
        missing = [c for c in COLUMNS if c not in scorer.columns]
        if missing:
            raise QcikitError(f"the machine scores lack column(s) {', '.join(missing)}. Fix: pass what "
                              "qcikit.assist.autoscore returns, or a scorer's name.")
        return scorer[COLUMNS]
    rows = load_autoscores(eng, scorer)
    if rows.empty:
        raise QcikitError(f"{eng.path}: there are no auto-scores of scorer '{scorer}'. Fix: run "
                          f"`qcikit autoscore {eng.path} --scorer {scorer}` (or --import FILE) first.")
    return rows


def machine_table(eng, scorer, wave: str | None = None) -> pd.DataFrame:
    """Per interaction of the population (``wave`` only, when given): the machine's QCI and dimensions (through
    the rubric's own arithmetic, as for a rater) and each element's score 0–100 (columns ``el:<id>``).
    ``scorer`` is a name (the kept scores) or a run (:func:`runs`)."""
    from .scoring import score

    rows = runs(eng, scorer)
    scorer = str(rows["scorer"].iloc[0]) if len(rows) else str(scorer)
    pop = eng.interactions
    if wave is not None:
        pop = pop[pop["wave"].astype(str) == wave]
    ids = pop["interaction_id"].astype(str)
    rows = rows[rows["interaction_id"].isin(ids)]
    decided = rows.dropna(subset=["points"])
    if decided.empty:
        raise QcikitError(f"{eng.path}: scorer '{scorer}' decided no element of wave '{wave}'. Fix: give its rules "
                          "patterns or timings, or run it on this wave.")
    scored = score(decided.assign(rater=scorer)[["interaction_id", "rater", "element", "points"]], eng.rubric)
    out = scored.set_index("interaction_id")[["qci", *eng.rubric.dimensions]]
    maxp = eng.rubric.max_points
    el = (rows.assign(v=100 * rows["points"] / rows["element"].map(maxp))
          .pivot_table(index="interaction_id", columns="element", values="v", aggfunc="mean", dropna=False))
    el.columns = [f"el:{c}" for c in el.columns]
    out = out.join(el, how="outer").reindex(ids)
    out.attrs.update(version=str(rows["version"].iloc[0]), frozen=rows[["scorer", "version", "crossfit", "frozen_at"]]
                     .drop_duplicates())
    return out


def agreement(eng, scorer, wave: str | None = None, n_boot: int = 1000) -> pd.DataFrame:
    """How far the machine agrees with the humans, element by element, the way the kit shows rater agreement:
    Krippendorff's alpha (interval) with its interval between the human score (the raters' mean) and the
    machine's, both rounded to the half point (the coincidence matrix needs categories), and the machine's
    ``bias`` (mean machine minus human points). Raw agreement is given as ``percent_agreement`` and never
    called accuracy: a machine can agree often and still be biased where it matters.
    """
    from .reliability import by_element

    rows = runs(eng, scorer)
    scorer = str(rows["scorer"].iloc[0])
    if eng.scores is None or eng.scores.empty:
        raise QcikitError(f"{eng.path}: there are no human scores to compare the machine with. Fix: score the sample first.")
    human = eng.scores
    if wave is not None:
        human = human[human["wave"].astype(str) == wave]
    human = human.groupby(["interaction_id", "element"], sort=True)["points"].mean().reset_index()
    machine = rows[rows["interaction_id"].isin(human["interaction_id"])][["interaction_id", "element", "points"]]
    both = human.merge(machine, on=["interaction_id", "element"], suffixes=("_human", "_machine"))
    long = pd.concat([both.assign(rater="humans", points=both["points_human"]),
                      both.assign(rater=scorer, points=both["points_machine"])], ignore_index=True)
    long["points"] = (long["points"] * 2).round() / 2
    decided = sorted(both.dropna(subset=["points_machine"])["element"].unique())
    order = [e for e in eng.rubric.element_ids if e in decided]
    table = by_element(long[["interaction_id", "rater", "element", "points"]], eng.rubric, level="interval",
                       n_boot=n_boot, seed=eng.config.seed, elements=order)
    diff = both.dropna(subset=["points_human", "points_machine"])
    bias = (diff["points_machine"] - diff["points_human"]).groupby(diff["element"]).mean()
    table["bias"] = table["element"].map(bias)
    table.insert(0, "scorer", scorer)
    return table.drop(columns=["n_raters", "coefficient"])
