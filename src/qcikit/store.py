"""The score store: one SQLite file per engagement, append-only.

Every save is a new row with who saved it and when; a correction is simply a
later row for the same interaction, rater and element, and the latest wins.
Nothing is ever updated or deleted (triggers refuse it), so the history of
every score — including disputes and how they were settled — stays in the file.

The database runs in WAL mode with a busy timeout, so two consultants can
score at once; each save of a form is one ``BEGIN IMMEDIATE`` transaction, so
a process killed mid-save leaves either the whole form or none of it.
``export_csv`` writes scores.csv atomically from the latest rows.
"""
from __future__ import annotations

import getpass
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ._io import write_csv
from .errors import QcikitError

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id TEXT NOT NULL,
    rater TEXT NOT NULL,
    element TEXT NOT NULL,
    points REAL,
    wave TEXT,
    rubric_version TEXT,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'form',
    rules TEXT,
    evidence TEXT
);
CREATE INDEX IF NOT EXISTS scores_key ON scores (interaction_id, rater, element, id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('dispute', 'settle')),
    interaction_id TEXT NOT NULL,
    rater TEXT NOT NULL,
    element TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    points REAL,
    dispute_id INTEGER
);
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id TEXT NOT NULL,
    rater TEXT NOT NULL,
    payload TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS certifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trainee TEXT NOT NULL,
    rubric_version TEXT NOT NULL,
    at TEXT NOT NULL,
    n_interactions INTEGER NOT NULL,
    alpha REAL,
    ci_low REAL,
    ci_high REAL,
    passed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('rename_rater', 'retract')),
    rater TEXT NOT NULL,
    to_rater TEXT,
    interaction_id TEXT,
    upto_id INTEGER NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rule_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    element TEXT NOT NULL,
    rule TEXT NOT NULL,
    interaction_id TEXT,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS autoscores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id TEXT NOT NULL,
    element TEXT NOT NULL,
    points REAL,
    scorer TEXT NOT NULL,
    version TEXT NOT NULL,
    crossfit INTEGER NOT NULL DEFAULT 0,
    frozen_at TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS autoscores_key ON autoscores (scorer, interaction_id, element, id);
CREATE TRIGGER IF NOT EXISTS autoscores_no_update BEFORE UPDATE ON autoscores BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS autoscores_no_delete BEFORE DELETE ON autoscores BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rule_notes_no_update BEFORE UPDATE ON rule_notes BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rule_notes_no_delete BEFORE DELETE ON rule_notes BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS corrections_no_update BEFORE UPDATE ON corrections BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS corrections_no_delete BEFORE DELETE ON corrections BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS certifications_no_update BEFORE UPDATE ON certifications BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS certifications_no_delete BEFORE DELETE ON certifications BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS drafts_no_update BEFORE UPDATE ON drafts BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS scores_no_update BEFORE UPDATE ON scores BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS scores_no_delete BEFORE DELETE ON scores BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'the score store is append-only'); END;
"""

# A settlement row carries the original rater's name (it replaces that rater's score in the metrics)
# but is marked as one, so agreement can be read from each rater's own ratings before adjudication.
# Stores written before the `source` column existed marked settlements in `note` only.
SETTLEMENT = "(source = 'settlement' OR note LIKE 'settles dispute #%')"
# Corrections are events too: a rater name typed wrong is renamed for every row saved before the correction
# (upto_id), and a retracted form's rows saved before it are left out; the rows themselves never change.
EFFECTIVE = """
WITH eff AS (
  SELECT s.id, s.interaction_id, s.element, s.points, s.wave, s.rubric_version, s.saved_by, s.saved_at, s.source,
         s.note, s.rules, s.evidence,
         COALESCE((SELECT c.to_rater FROM corrections c WHERE c.kind = 'rename_rater' AND c.rater = s.rater
                   AND s.id <= c.upto_id ORDER BY c.id DESC LIMIT 1), s.rater) AS rater
  FROM scores s
  WHERE NOT EXISTS (SELECT 1 FROM corrections c WHERE c.kind = 'retract' AND c.rater = s.rater
                    AND c.interaction_id = s.interaction_id AND s.id <= c.upto_id)
)
"""
LATEST = EFFECTIVE + """
SELECT interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, source, rules, evidence
FROM eff WHERE id IN (SELECT MAX(id) FROM eff {where} GROUP BY interaction_id, rater, element)
ORDER BY interaction_id, rater, element
"""
COLUMNS = ["interaction_id", "rater", "element", "points", "wave", "rubric_version"]
# What a rater may attach to a score: the rule ids they applied (space-separated) and a verbatim quote.
EVIDENCE_COLUMNS = ["rules", "evidence"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class Store:
    """The append-only score store of one engagement (``scores.sqlite``).

    Examples
    --------
    >>> import tempfile, os
    >>> s = Store(os.path.join(tempfile.mkdtemp(), "scores.sqlite"))
    >>> s.save("I-1", "ana", {"greeting": 2, "tone": None}, wave="w1", by="ana")
    2
    >>> s.save("I-1", "ana", {"greeting": 1}, by="ana", note="typo")
    1
    >>> s.latest()[["element", "points"]].values.tolist()
    [['greeting', 1.0], ['tone', nan]]
    """

    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect()
        try:
            con.executescript(SCHEMA)
            cols = {r[1] for r in con.execute("PRAGMA table_info(scores)")}
            # A store made by an earlier qcikit: add the columns, keep every row.
            if "source" not in cols:
                con.execute("ALTER TABLE scores ADD COLUMN source TEXT NOT NULL DEFAULT 'form'")
            for col in ("rules", "evidence"):
                if col not in cols:
                    con.execute(f"ALTER TABLE scores ADD COLUMN {col} TEXT")
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")  # a saved form survives a power cut, not only a crash
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return con

    @contextmanager
    def _transaction(self):
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # -- writing ---------------------------------------------------------------------
    def save(self, interaction_id: str, rater: str, points: Mapping[str, float | None], wave: str | None = None,
             rubric_version: str | None = None, by: str | None = None, note: str = "",
             rules: Mapping[str, str] | None = None, evidence: Mapping[str, str] | None = None) -> int:
        """Append one form: ``points`` maps element → points (None = not applicable); ``rules`` and ``evidence``
        map an element to the rule ids applied (space-separated) and a verbatim quote. Returns rows written."""
        if not points:
            raise QcikitError("nothing to save: no element was scored. Fix: score at least one element.")
        if not str(interaction_id).strip() or not str(rater).strip():
            raise QcikitError("a score needs an interaction and a rater. Fix: choose both before saving.")
        by = by or rater or getpass.getuser()
        at = _now()
        rules, evidence = rules or {}, evidence or {}
        rows = [(str(interaction_id), str(rater), str(e), None if p is None or (isinstance(p, float) and np.isnan(p)) else float(p),
                 None if wave is None else str(wave), rubric_version, by, at, note, rules.get(e) or None,
                 evidence.get(e) or None) for e, p in points.items()]
        with self._transaction() as con:  # one form, one transaction: all of it or nothing
            con.executemany("INSERT INTO scores (interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, note,"
                            " rules, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def import_scores(self, scores: pd.DataFrame, by: str = "import") -> int:
        """Append the rows of a scores table (e.g. scores.csv) that the store does not hold yet.

        A row is skipped when the store has ever held the same points for its
        interaction, rater and element: importing a file twice adds nothing, and
        re-importing an old export never undoes a correction made since.
        Returns the number of rows added.
        """
        missing = [c for c in COLUMNS[:4] if c not in scores.columns]
        if missing:
            raise QcikitError(f"scores lack column(s) {', '.join(missing)}. Fix: pass a table like scores.csv.")
        new = self._not_held(scores)
        if new.empty:
            return 0
        at = _now()
        opt = lambda col: new[col] if col in new else pd.Series([None] * len(new), index=new.index)  # noqa: E731
        text = lambda v: None if pd.isna(v) or str(v) == "" else str(v)  # noqa: E731
        rows = [(str(i), str(r), str(e), None if pd.isna(p) else float(p), text(w), text(v), by, at, "", "import",
                 text(ru), text(ev))
                for i, r, e, p, w, v, ru, ev in zip(new["interaction_id"], new["rater"], new["element"], new["points"],
                                                    opt("wave"), opt("rubric_version"), opt("rules"), opt("evidence"))]
        with self._transaction() as con:
            con.executemany("INSERT INTO scores (interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, "
                            "note, source, rules, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def _not_held(self, scores: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``scores`` whose points the store has never held for that interaction, rater and element
        (with the same rules and evidence, when the table has those columns: evidence added later is news)."""
        extra = [c for c in EVIDENCE_COLUMNS if c in scores.columns]
        held = self._query(EFFECTIVE + "SELECT DISTINCT interaction_id, rater, element, points"
                           + "".join(f", {c}" for c in extra) + " FROM eff")

        def key(df):
            k = (df["interaction_id"].astype(str) + "\x1f" + df["rater"].astype(str) + "\x1f" + df["element"].astype(str)
                 + "\x1f" + pd.to_numeric(df["points"], errors="coerce").map(lambda x: "" if pd.isna(x) else repr(float(x))))
            for c in extra:
                k = k + "\x1f" + df[c].fillna("").astype(str)
            return k
        return scores[~key(scores).isin(set(key(held)))] if len(held) else scores

    def save_draft(self, interaction_id: str, rater: str, values: Mapping[str, str]) -> None:
        """Keep what the form holds right now (called on every change), so nothing typed is lost
        if the kernel dies before Save."""
        import json

        with self._transaction() as con:
            con.execute("INSERT INTO drafts (interaction_id, rater, payload, at) VALUES (?, ?, ?, ?)",
                        (str(interaction_id), str(rater), json.dumps(dict(values), sort_keys=True), _now()))

    def draft(self, interaction_id: str, rater: str) -> dict | None:
        """The latest draft of this form if it is newer than the last save of it, else None."""
        import json

        con = self._connect()
        try:
            d = con.execute("SELECT payload, at FROM drafts WHERE interaction_id = ? AND rater = ? ORDER BY id DESC LIMIT 1",
                            (interaction_id, rater)).fetchone()
            saved = con.execute("SELECT MAX(saved_at) FROM scores WHERE interaction_id = ? AND rater = ?",
                                (interaction_id, rater)).fetchone()[0]
        finally:
            con.close()
        if d is None or (saved is not None and saved >= d[1]):
            return None
        return json.loads(d[0])

    def dispute(self, interaction_id: str, rater: str, element: str, by: str, comment: str) -> int:
        """Raise a dispute on one score; returns the dispute's id."""
        if not comment.strip():
            raise QcikitError("a dispute needs a comment. Fix: say what you think is wrong and why.")
        if self.latest_score(interaction_id, rater, element) is None:
            raise QcikitError(f"there is no score for {interaction_id}, {rater}, {element} to dispute. Fix: check the ids.")
        with self._transaction() as con:
            cur = con.execute("INSERT INTO events (kind, interaction_id, rater, element, by, at, comment) VALUES ('dispute', ?, ?, ?, ?, ?, ?)",
                              (interaction_id, rater, element, by, _now(), comment))
            return int(cur.lastrowid)

    def settle(self, dispute_id: int, by: str, points: float | None, comment: str = "") -> None:
        """Settle a dispute: a second rater's decision becomes the latest score; the history stays."""
        with self._transaction() as con:
            row = con.execute("SELECT interaction_id, rater, element, by FROM events WHERE id = ? AND kind = 'dispute'",
                              (dispute_id,)).fetchone()
            if row is None:
                raise QcikitError(f"there is no dispute #{dispute_id}. Fix: pick one from store.disputes().")
            done = con.execute("SELECT 1 FROM events WHERE kind = 'settle' AND dispute_id = ?", (dispute_id,)).fetchone()
            if done:
                raise QcikitError(f"dispute #{dispute_id} is already settled. Fix: raise a new dispute to reopen it.")
            interaction_id, rater, element, raised_by = row
            if by in (raised_by, rater):
                raise QcikitError(f"dispute #{dispute_id} must be settled by a second rater, not {by}. "
                                  "Fix: ask a rater who neither scored nor disputed it.")
            prev = con.execute("SELECT wave, rubric_version FROM scores WHERE interaction_id = ? AND rater = ? AND element = ? "
                               "ORDER BY id DESC LIMIT 1", (interaction_id, rater, element)).fetchone()
            at = _now()
            con.execute("INSERT INTO scores (interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, "
                        "note, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'settlement')",
                        (interaction_id, rater, element, None if points is None else float(points), prev[0], prev[1], by, at,
                         f"settles dispute #{dispute_id}"))
            con.execute("INSERT INTO events (kind, interaction_id, rater, element, by, at, comment, points, dispute_id)"
                        " VALUES ('settle', ?, ?, ?, ?, ?, ?, ?, ?)",
                        (interaction_id, rater, element, by, at, comment, points, dispute_id))

    def rename_rater(self, rater: str, to: str, by: str, reason: str = "") -> int:
        """Correct a rater name typed wrong: every row saved so far under ``rater`` reads as ``to`` from now on.

        An append-only event (the rows keep the name they were saved with; :meth:`history` shows both).
        Returns the number of score rows the correction covers.
        """
        if not str(to).strip() or to == rater:
            raise QcikitError(f"rename '{rater}' to what? Fix: give the declared name, e.g. --to {rater[:-1] or 'ana'}.")
        with self._transaction() as con:
            n = con.execute("SELECT COUNT(*) FROM scores WHERE rater = ?", (rater,)).fetchone()[0]
            if not n:
                known = [r[0] for r in con.execute("SELECT DISTINCT rater FROM scores ORDER BY rater")]
                raise QcikitError(f"the store has no score by rater '{rater}'. Fix: use one of {', '.join(known) or '(none)'}.")
            upto = con.execute("SELECT MAX(id) FROM scores").fetchone()[0]
            con.execute("INSERT INTO corrections (kind, rater, to_rater, upto_id, by, at, reason) VALUES "
                        "('rename_rater', ?, ?, ?, ?, ?, ?)", (rater, to, upto, by, _now(), reason))
        return int(n)

    def retract(self, interaction_id: str, rater: str, by: str, reason: str = "") -> int:
        """Withdraw a form saved by mistake: the rows ``rater`` saved so far for ``interaction_id`` no longer
        count (an append-only event; the history keeps them). Returns the number of rows withdrawn."""
        if not reason.strip():
            raise QcikitError("a retraction needs a reason. Fix: say why the form is withdrawn (--reason).")
        with self._transaction() as con:
            n = con.execute("SELECT COUNT(*) FROM scores WHERE interaction_id = ? AND rater = ?",
                            (interaction_id, rater)).fetchone()[0]
            if not n:
                raise QcikitError(f"the store has no form by '{rater}' for interaction '{interaction_id}'. "
                                  "Fix: check the interaction id and the rater name.")
            upto = con.execute("SELECT MAX(id) FROM scores").fetchone()[0]
            con.execute("INSERT INTO corrections (kind, rater, interaction_id, upto_id, by, at, reason) VALUES "
                        "('retract', ?, ?, ?, ?, ?, ?)", (rater, interaction_id, upto, by, _now(), reason))
        return int(n)

    def note_rule(self, element: str, rule: str, by: str, note: str, interaction_id: str | None = None) -> int:
        """Mark a rule as read two ways (a calibration session's finding); the notes feed the rubric's changelog."""
        if not str(note).strip():
            raise QcikitError("a note on a rule needs words. Fix: say which two readings the rule allows.")
        if not str(by).strip():
            raise QcikitError("a note on a rule needs who wrote it. Fix: give the lead's name.")
        with self._transaction() as con:
            cur = con.execute("INSERT INTO rule_notes (element, rule, interaction_id, by, at, note) VALUES (?, ?, ?, ?, ?, ?)",
                              (element, rule, interaction_id, by, _now(), note.strip()))
            return int(cur.lastrowid)

    def rule_notes(self) -> pd.DataFrame:
        """Every note on an unclear rule, oldest first."""
        return self._query("SELECT element, rule, interaction_id, by, at, note FROM rule_notes ORDER BY id")

    def corrections(self) -> pd.DataFrame:
        """Every correction event (renamed raters, retracted forms), oldest first."""
        return self._query("SELECT kind, rater, to_rater, interaction_id, upto_id, by, at, reason FROM corrections ORDER BY id")

    # -- reading -----------------------------------------------------------------------
    def record_certification(self, trainee: str, rubric_version: str, n_interactions: int, alpha: float,
                             ci_low: float, ci_high: float, passed: bool) -> int:
        """Append one certification check (the trainee's agreement with gold); never touches the scores."""
        with self._transaction() as con:
            cur = con.execute("INSERT INTO certifications (trainee, rubric_version, at, n_interactions, alpha, ci_low, "
                              "ci_high, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              (trainee, rubric_version, _now(), int(n_interactions), float(alpha), float(ci_low),
                               float(ci_high), int(bool(passed))))
            return int(cur.lastrowid)

    def certifications(self) -> pd.DataFrame:
        """Every certification check, oldest first."""
        out = self._query("SELECT trainee, rubric_version, at, n_interactions, alpha, ci_low, ci_high, passed "
                          "FROM certifications ORDER BY id")
        out["passed"] = out["passed"].astype(bool)
        return out

    def _query(self, sql: str, params: Iterable = ()) -> pd.DataFrame:
        con = self._connect()
        try:
            return pd.read_sql_query(sql, con, params=tuple(params))
        finally:
            con.close()

    def history(self, interaction_id: str | None = None) -> pd.DataFrame:
        """Every row ever saved (optionally for one interaction), oldest first."""
        if interaction_id is None:
            return self._query("SELECT * FROM scores ORDER BY id")
        return self._query("SELECT * FROM scores WHERE interaction_id = ? ORDER BY id", (interaction_id,))

    def latest(self, settled: bool = True) -> pd.DataFrame:
        """The current score of every interaction, rater and element (the latest row wins).

        Parameters
        ----------
        settled : bool
            True (the default, what metrics and reports use): a settled dispute's decision
            replaces the rater's score. False (what agreement coefficients use): each
            rater's own latest rating, before adjudication — settlement rows are left out,
            so adjudication cannot inflate agreement.
        """
        out = self._query(LATEST.format(where="" if settled else f"WHERE NOT {SETTLEMENT}"))
        out["points"] = out["points"].astype(float)
        return out

    def holds(self, scores: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``scores`` (a CSV table) that are *not* in the store's history: what an import would add."""
        return self._not_held(scores)

    def latest_score(self, interaction_id: str, rater: str, element: str):
        df = self._query("SELECT points FROM scores WHERE interaction_id = ? AND rater = ? AND element = ? ORDER BY id DESC LIMIT 1",
                         (interaction_id, rater, element))
        return None if df.empty else df["points"].iloc[0]

    def disputes(self, open_only: bool = False) -> pd.DataFrame:
        """Disputes with how they were settled (``settled_by`` empty while open)."""
        d = self._query("SELECT d.id, d.interaction_id, d.rater, d.element, d.by AS raised_by, d.comment, d.at AS raised_at, "
                        "s.by AS settled_by, s.points AS settled_points, s.comment AS settlement, s.at AS settled_at "
                        "FROM events d LEFT JOIN events s ON s.kind = 'settle' AND s.dispute_id = d.id "
                        "WHERE d.kind = 'dispute' ORDER BY d.id")
        return d[d["settled_by"].isna()] if open_only else d

    def export_csv(self, path: str | Path) -> Path:
        """Write the latest (settled) scores as a scores CSV, atomically; with ``rules`` and ``evidence`` columns
        when any rater gave them."""
        latest = self.latest()
        latest = latest[COLUMNS + [c for c in EVIDENCE_COLUMNS if latest[c].notna().any()]]
        latest = latest.assign(points=latest["points"].map(lambda x: "" if pd.isna(x) else f"{x:g}"))
        return write_csv(latest, path)

    # -- machine scores (never mixed with the human ones) ---------------------------------
    def save_autoscores(self, rows: pd.DataFrame) -> int:
        """Append one auto-scorer run: ``interaction_id``, ``element``, ``points`` (NaN = not decided or not
        applicable), ``scorer``, ``version``, ``crossfit`` and ``frozen_at``, in one transaction. Returns rows written."""
        now = _now()
        data = [(str(r.interaction_id), str(r.element), None if pd.isna(r.points) else float(r.points), str(r.scorer),
                 str(r.version), int(bool(r.crossfit)), str(r.frozen_at), now) for r in rows.itertuples(index=False)]
        with self._transaction() as con:
            con.executemany("INSERT INTO autoscores (interaction_id, element, points, scorer, version, crossfit, frozen_at, "
                            "saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
        return len(data)

    def autoscores(self, scorer: str | None = None) -> pd.DataFrame:
        """The latest machine score of every interaction and element per scorer (a later run replaces an earlier)."""
        where, params = ("WHERE scorer = ?", (scorer,)) if scorer else ("", ())
        out = self._query("SELECT interaction_id, element, points, scorer, version, crossfit, frozen_at FROM autoscores "
                          f"WHERE id IN (SELECT MAX(id) FROM autoscores {where} GROUP BY scorer, interaction_id, element) "
                          "ORDER BY scorer, interaction_id, element", params)
        out["points"] = out["points"].astype(float)
        out["crossfit"] = out["crossfit"].astype(bool)
        return out

    @property
    def n_rows(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
        finally:
            con.close()
