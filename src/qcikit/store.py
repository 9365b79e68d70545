"""The score store: append-only, one SQLite file per engagement or one schema on a team's PostgreSQL.

Every save is a new row with who saved it and when; a correction is simply a
later row for the same interaction, rater and element, and the latest wins.
Nothing is ever updated or deleted (triggers refuse it), so the history of
every score — including disputes and how they were settled — stays in the file.

The database runs in WAL mode with a busy timeout, so two consultants can
score at once; each save of a form is one ``BEGIN IMMEDIATE`` transaction, so
a process killed mid-save leaves either the whole form or none of it.
``export_csv`` writes scores.csv atomically from the latest rows.

A rater team on several machines shares a PostgreSQL server instead: engagement.yaml's
``store: postgresql://host/db`` (or the environment's ``QCIKIT_STORE``) puts the same tables in
a schema named by the engagement's slug, guarded by the same append-only triggers, behind the
same methods (:func:`open_store` chooses; :mod:`qcikit._backends` holds what differs).
"""
from __future__ import annotations

import getpass
import itertools
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ._backends import TABLES, PostgresBackend, SqliteBackend, StoreError, is_url, safe_url
from ._io import write_csv
from .errors import QcikitError

DEFAULT = "scores.sqlite"
ENV = "QCIKIT_STORE"

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
    at TEXT NOT NULL,
    session TEXT
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
LATEST_COLUMNS = ["interaction_id", "rater", "element", "points", "wave", "rubric_version", "saved_by", "saved_at", "source",
                  "rules", "evidence"]
KEY = ["interaction_id", "rater", "element"]
COLUMNS = ["interaction_id", "rater", "element", "points", "wave", "rubric_version"]
# What a rater may attach to a score: the rule ids they applied (space-separated) and a verbatim quote.
EVIDENCE_COLUMNS = ["rules", "evidence"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def this_session() -> str:
    """Who is at the keyboard, as a draft records it: user, machine and process."""
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"


def store_setting(folder: Path) -> tuple[str | None, str | None]:
    """engagement.yaml's ``store`` and ``slug``, read alone: the store must open while other keys are wrong."""
    import yaml

    try:
        # libyaml's loader when PyYAML has it: several times faster than the pure-Python one.
        data = yaml.load((Path(folder) / "engagement.yaml").read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    store, slug = data.get("store"), data.get("slug")
    return (str(store) if store else None), (str(slug) if slug else None)


def locate(folder: str | Path, configured: str | None = None, key: str | None = None) -> tuple[str | Path, str | None]:
    """Where an engagement's store is: ``QCIKIT_STORE`` first, then engagement.yaml's ``store``, else
    ``scores.sqlite`` in the folder. Returns the path or URL and, for a server, the engagement's key (its slug).
    ``configured`` and ``key`` are engagement.yaml's ``store`` ("" for none) and ``slug`` when the caller has
    read them; None reads them here.

    A configured server is never swapped for the SQLite file: when it cannot be reached, that is an error.
    """
    folder = Path(folder)
    if configured is None or key is None:
        yaml_store, slug = store_setting(folder)
        configured = configured if configured is not None else yaml_store
        key = key if key is not None else slug
    url = os.environ.get(ENV) or configured
    if not url:
        return folder / DEFAULT, None
    if not is_url(url):
        source = ENV if os.environ.get(ENV) else f"{folder / 'engagement.yaml'}: store"
        raise StoreError(f"{source}: '{safe_url(url)}' is not a PostgreSQL URL. Fix: write postgresql://host/database "
                         f"(or remove it to keep the scores in {DEFAULT} in the folder).")
    if not key:
        raise StoreError(f"{folder / 'engagement.yaml'}: the engagement has no slug, which names its rows on "
                         f"{safe_url(url)}. Fix: add `slug:` to engagement.yaml.")
    return url, key


def in_use(location: str | Path | None, key: str | None) -> bool:
    """Whether a located store (:func:`locate`) holds the engagement's scores: a configured server always, the
    folder's file once it exists. Otherwise the scores are in scores.csv."""
    return key is not None or (location is not None and Path(location).is_file())


def open_store(folder: str | Path, configured: str | None = None, key: str | None = None, create: bool = True) -> "Store":
    """The engagement's store, wherever it lives (see :func:`locate`).

    ``create`` makes a missing SQLite file. A schema on a server is never made here, only by
    ``qcikit store init`` or ``migrate``: a mistyped slug must not quietly start an empty store.
    """
    location, key = locate(folder, configured, key)
    return Store(location, key=key, create=create and key is None)


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

    def __init__(self, path: str | Path, timeout: float = 30.0, key: str | None = None, create: bool = True):
        self.timeout = timeout
        if is_url(str(path)):
            self._db = PostgresBackend(str(path), key, timeout)
            self.path = None
            if create:
                self._db.create(SCHEMA)
            elif not self._db.exists():
                raise self._db.missing()
            self._db.check_version()
        else:
            self.path = Path(path)
            self._db = SqliteBackend(self.path, timeout)
            if create or self.path.is_file():
                self._db.create(SCHEMA)
            else:
                raise StoreError(f"{self.path}: there is no score store yet, so nothing to read or correct. Fix: score "
                                 f"in notebook 03's form, or run `qcikit scores import {self.path.parent}`.")

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.name

    @property
    def location(self) -> str:
        """Where the store is, fit to print: the file, or the URL without its password and the engagement's key."""
        return str(self._db)

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    def _transaction(self, write: bool = True):
        return self._db.transaction(write)

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
        rules, evidence = rules or {}, evidence or {}
        with self._transaction() as tx:  # one form, one transaction: all of it or nothing
            # Stamped once the writers' lock is held, so a later saved_at is always a later id (commit order).
            at = _now()
            rows = [(str(interaction_id), str(rater), str(e),
                     None if p is None or (isinstance(p, float) and np.isnan(p)) else float(p),
                     None if wave is None else str(wave), rubric_version, by, at, note, rules.get(e) or None,
                     evidence.get(e) or None) for e, p in points.items()]
            tx.insert_many("scores", ["interaction_id", "rater", "element", "points", "wave", "rubric_version", "saved_by",
                                      "saved_at", "note", "rules", "evidence"], rows)
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
        opt = lambda col: new[col] if col in new else pd.Series([None] * len(new), index=new.index)  # noqa: E731
        text = lambda v: None if pd.isna(v) or str(v) == "" else str(v)  # noqa: E731
        with self._transaction() as tx:
            at = _now()
            rows = [(str(i), str(r), str(e), None if pd.isna(p) else float(p), text(w), text(v), by, at, "", "import",
                     text(ru), text(ev))
                    for i, r, e, p, w, v, ru, ev in zip(new["interaction_id"], new["rater"], new["element"], new["points"],
                                                        opt("wave"), opt("rubric_version"), opt("rules"), opt("evidence"))]
            tx.insert_many("scores", ["interaction_id", "rater", "element", "points", "wave", "rubric_version", "saved_by",
                                      "saved_at", "note", "source", "rules", "evidence"], rows)
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

    def save_draft(self, interaction_id: str, rater: str, values: Mapping[str, str], session: str | None = None) -> None:
        """Keep what the form holds right now (called on every change), so nothing typed is lost
        if the kernel dies before Save. ``session`` tells one open form from another (default: this process)."""
        import json

        with self._transaction() as tx:
            tx.execute("INSERT INTO drafts (interaction_id, rater, payload, at, session) VALUES (?, ?, ?, ?, ?)",
                       (str(interaction_id), str(rater), json.dumps(dict(values), sort_keys=True), _now(),
                        session or this_session()))

    def draft(self, interaction_id: str, rater: str) -> dict | None:
        """The latest draft of this form if it is newer than the last save of it, else None."""
        import json

        with self._transaction(write=False) as tx:
            d = tx.one("SELECT payload, at FROM drafts WHERE interaction_id = ? AND rater = ? ORDER BY id DESC LIMIT 1",
                       (interaction_id, rater))
            saved = tx.one("SELECT MAX(saved_at) FROM scores WHERE interaction_id = ? AND rater = ?",
                           (interaction_id, rater))[0]
        if d is None or (saved is not None and saved >= d[1]):
            return None
        return json.loads(d[0])

    def scoring_now(self, interaction_id: str, minutes: float = 10.0, session: str | None = None) -> pd.DataFrame:
        """Who else has a form of this interaction open: drafts from other sessions in the last ``minutes``
        that were not saved since, one row per rater and session (``rater``, ``session``, ``at``), newest first.

        The scoring form shows them, so two raters on different machines know of each other, and one rater
        name open in two places is seen before one save silently replaces the other.
        """
        since = (datetime.now(timezone.utc) - pd.Timedelta(minutes=minutes).to_pytimedelta()).isoformat(timespec="microseconds")
        session = session or this_session()
        out = self._query("SELECT d.rater, d.session, MAX(d.at) AS at FROM drafts d WHERE d.interaction_id = ? AND d.at >= ? "
                          "AND COALESCE(d.session, '') <> ? GROUP BY d.rater, d.session ORDER BY MAX(d.at) DESC",
                          (str(interaction_id), since, session))
        if out.empty:
            return out
        saved = self._query("SELECT rater, MAX(saved_at) AS saved_at FROM scores WHERE interaction_id = ? GROUP BY rater",
                            (str(interaction_id),))
        out = out.merge(saved, on="rater", how="left")
        return out[out["saved_at"].isna() | (out["saved_at"] < out["at"])][["rater", "session", "at"]].reset_index(drop=True)

    def dispute(self, interaction_id: str, rater: str, element: str, by: str, comment: str) -> int:
        """Raise a dispute on one score; returns the dispute's id."""
        if not comment.strip():
            raise QcikitError("a dispute needs a comment. Fix: say what you think is wrong and why.")
        if self.latest_score(interaction_id, rater, element) is None:
            raise QcikitError(f"there is no score for {interaction_id}, {rater}, {element} to dispute. Fix: check the ids.")
        with self._transaction() as tx:
            return tx.insert("INSERT INTO events (kind, interaction_id, rater, element, by, at, comment) VALUES "
                             "('dispute', ?, ?, ?, ?, ?, ?)", (interaction_id, rater, element, by, _now(), comment))

    def settle(self, dispute_id: int, by: str, points: float | None, comment: str = "") -> None:
        """Settle a dispute: a second rater's decision becomes the latest score; the history stays."""
        with self._transaction() as tx:
            row = tx.one("SELECT interaction_id, rater, element, by FROM events WHERE id = ? AND kind = 'dispute'",
                         (int(dispute_id),))
            if row is None:
                raise QcikitError(f"there is no dispute #{dispute_id}. Fix: pick one from store.disputes().")
            done = tx.one("SELECT 1 FROM events WHERE kind = 'settle' AND dispute_id = ?", (int(dispute_id),))
            if done:
                raise QcikitError(f"dispute #{dispute_id} is already settled. Fix: raise a new dispute to reopen it.")
            interaction_id, rater, element, raised_by = row
            if by in (raised_by, rater):
                raise QcikitError(f"dispute #{dispute_id} must be settled by a second rater, not {by}. "
                                  "Fix: ask a rater who neither scored nor disputed it.")
            prev = tx.one("SELECT wave, rubric_version FROM scores WHERE interaction_id = ? AND rater = ? AND element = ? "
                          "ORDER BY id DESC LIMIT 1", (interaction_id, rater, element))
            at = _now()
            tx.execute("INSERT INTO scores (interaction_id, rater, element, points, wave, rubric_version, saved_by, saved_at, "
                        "note, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'settlement')",
                        (interaction_id, rater, element, None if points is None else float(points), prev[0], prev[1], by, at,
                         f"settles dispute #{dispute_id}"))
            tx.execute("INSERT INTO events (kind, interaction_id, rater, element, by, at, comment, points, dispute_id)"
                       " VALUES ('settle', ?, ?, ?, ?, ?, ?, ?, ?)",
                       (interaction_id, rater, element, by, at, comment, None if points is None else float(points),
                        int(dispute_id)))

    def rename_rater(self, rater: str, to: str, by: str, reason: str = "") -> int:
        """Correct a rater name typed wrong: every row saved so far under ``rater`` reads as ``to`` from now on.

        An append-only event (the rows keep the name they were saved with; :meth:`history` shows both).
        Returns the number of score rows the correction covers.
        """
        if not str(to).strip() or to == rater:
            raise QcikitError(f"rename '{rater}' to what? Fix: give the declared name, e.g. --to {rater[:-1] or 'ana'}.")
        with self._transaction() as tx:
            n = tx.one("SELECT COUNT(*) FROM scores WHERE rater = ?", (rater,))[0]
            if not n:
                known = [r[0] for r in tx.execute("SELECT DISTINCT rater FROM scores ORDER BY rater").fetchall()]
                raise QcikitError(f"the store has no score by rater '{rater}'. Fix: use one of {', '.join(known) or '(none)'}.")
            upto = tx.one("SELECT MAX(id) FROM scores")[0]
            tx.execute("INSERT INTO corrections (kind, rater, to_rater, upto_id, by, at, reason) VALUES "
                        "('rename_rater', ?, ?, ?, ?, ?, ?)", (rater, to, upto, by, _now(), reason))
        return int(n)

    def retract(self, interaction_id: str, rater: str, by: str, reason: str = "") -> int:
        """Withdraw a form saved by mistake: the rows ``rater`` saved so far for ``interaction_id`` no longer
        count (an append-only event; the history keeps them). Returns the number of rows withdrawn."""
        if not reason.strip():
            raise QcikitError("a retraction needs a reason. Fix: say why the form is withdrawn (--reason).")
        with self._transaction() as tx:
            n = tx.one("SELECT COUNT(*) FROM scores WHERE interaction_id = ? AND rater = ?", (interaction_id, rater))[0]
            if not n:
                raise QcikitError(f"the store has no form by '{rater}' for interaction '{interaction_id}'. "
                                  "Fix: check the interaction id and the rater name.")
            upto = tx.one("SELECT MAX(id) FROM scores")[0]
            tx.execute("INSERT INTO corrections (kind, rater, interaction_id, upto_id, by, at, reason) VALUES "
                        "('retract', ?, ?, ?, ?, ?, ?)", (rater, interaction_id, upto, by, _now(), reason))
        return int(n)

    def note_rule(self, element: str, rule: str, by: str, note: str, interaction_id: str | None = None) -> int:
        """Mark a rule as read two ways (a calibration session's finding); the notes feed the rubric's changelog."""
        if not str(note).strip():
            raise QcikitError("a note on a rule needs words. Fix: say which two readings the rule allows.")
        if not str(by).strip():
            raise QcikitError("a note on a rule needs who wrote it. Fix: give the lead's name.")
        with self._transaction() as tx:
            return tx.insert("INSERT INTO rule_notes (element, rule, interaction_id, by, at, note) VALUES (?, ?, ?, ?, ?, ?)",
                             (element, rule, interaction_id, by, _now(), note.strip()))

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
        with self._transaction() as tx:
            return tx.insert("INSERT INTO certifications (trainee, rubric_version, at, n_interactions, alpha, ci_low, "
                              "ci_high, passed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              (trainee, rubric_version, _now(), int(n_interactions), float(alpha), float(ci_low),
                               float(ci_high), int(bool(passed))))

    def certifications(self) -> pd.DataFrame:
        """Every certification check, oldest first."""
        out = self._query("SELECT trainee, rubric_version, at, n_interactions, alpha, ci_low, ci_high, passed "
                          "FROM certifications ORDER BY id")
        out["passed"] = out["passed"].astype(bool)
        return out

    def _query(self, sql: str, params: Iterable = ()) -> pd.DataFrame:
        with self._transaction(write=False) as tx:
            return tx.frame(sql, tuple(params))

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
        where = "" if settled else f"WHERE NOT {SETTLEMENT}"
        with self._transaction(write=False) as tx:
            # Without corrections (the usual store) the rows are the scores themselves: no per-row lookup.
            corrected = bool(tx.one("SELECT EXISTS (SELECT 1 FROM corrections)")[0])
            sql = (EFFECTIVE if corrected else "") + self._db.latest_sql(LATEST_COLUMNS, "eff" if corrected else "scores",
                                                                         KEY, where)
            out = tx.frame(sql)
        # Sorted here, not by the database: a server's collation (en_US, say) orders text otherwise than
        # SQLite, and the report must not depend on where the scores were kept.
        out = out.sort_values(KEY, ignore_index=True, kind="stable")
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

        def text(column: str) -> list[str]:  # a categorical hands its values over without a copy per row
            values = rows[column]
            return (values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype(str)).tolist()

        points = rows["points"].to_numpy(dtype=float)
        given = points.astype(object)
        given[np.isnan(points)] = None  # not applicable is NULL, not NaN
        # Column by column, then zipped: a machine run over a million interactions is fifteen million rows.
        data = list(zip(text("interaction_id"), text("element"), given.tolist(), text("scorer"), text("version"),
                        rows["crossfit"].astype(bool).astype(int).tolist(), text("frozen_at"),
                        itertools.repeat(now, len(rows))))
        with self._transaction() as tx:
            tx.insert_many("autoscores", ["interaction_id", "element", "points", "scorer", "version", "crossfit", "frozen_at",
                                          "saved_at"], data)
        return len(data)

    def autoscores(self, scorer: str | None = None) -> pd.DataFrame:
        """The latest machine score of every interaction and element per scorer (a later run replaces an earlier)."""
        where, params = ("WHERE scorer = ?", (scorer,)) if scorer else ("", ())
        key = ["scorer", "interaction_id", "element"]
        out = self._query(self._db.latest_sql(["interaction_id", "element", "points", "scorer", "version", "crossfit",
                                               "frozen_at"], "autoscores", key, where), params)
        out = out.sort_values(key, ignore_index=True, kind="stable")  # as latest(): the same order on every engine
        out["points"] = out["points"].astype(float)
        out["crossfit"] = out["crossfit"].astype(bool)
        return out

    @property
    def n_rows(self) -> int:
        with self._transaction(write=False) as tx:
            return int(tx.one("SELECT COUNT(*) FROM scores")[0])

    def _rows(self, name: str) -> tuple[list[str], list[tuple]]:
        """One table's column names and rows as the engine returns them (ids and integers stay integers)."""
        if name not in TABLES:
            raise StoreError(f"{self.location}: there is no table '{name}'. Fix: use one of {', '.join(TABLES)}.")
        with self._transaction(write=False) as tx:
            cur = tx.execute(f"SELECT * FROM {name} ORDER BY id")
            return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]

    def table(self, name: str) -> pd.DataFrame:
        """Every row of one of the store's tables, in id order (what a migration copies and verifies)."""
        if name not in TABLES:
            raise StoreError(f"{self.location}: there is no table '{name}'. Fix: use one of {', '.join(TABLES)}.")
        return self._query(f"SELECT * FROM {name} ORDER BY id")


def migrate(source: Store, target: Store) -> pd.DataFrame:
    """Copy every row of every table from ``source`` into ``target`` with its id and timestamps, in one
    transaction, and verify the counts. Returns per table: rows in the source, in the target before, copied, after.

    Re-running copies nothing twice: rows whose ids the target holds are skipped, after checking they are the
    same rows. A target that holds rows the source lacks (scores saved there since) is refused, because the two
    histories can no longer be laid end to end.
    """
    if source.location == target.location:
        raise StoreError(f"{source.location}: the source and the target are the same store. Fix: name another target.")
    plan = []
    for name in TABLES:
        cols, rows = source._rows(name)
        target_cols, held = target._rows(name)
        common = [c for c in cols if c in target_cols]
        take = [cols.index(c) for c in common]
        have = {r[target_cols.index("id")]: tuple(r[target_cols.index(c)] for c in common) for r in held}
        ids = {r[0] for r in rows}
        extra = sorted(set(have) - ids)
        if extra:
            raise StoreError(f"{target.location}: table {name} holds {len(extra)} row(s) the source {source.location} lacks "
                             f"(first id {extra[0]}); nothing was copied. Fix: migrate into an empty store, or from the "
                             "store that is ahead.")
        new = []
        for r in rows:
            row = tuple(r[i] for i in take)
            if r[0] not in have:
                new.append(row)
            elif have[r[0]] != row:  # the same id with other content: two different histories
                raise StoreError(f"{target.location}: table {name} row id {r[0]} differs from the source's; nothing "
                                 "was copied. Fix: migrate into an empty store.")
        plan.append((name, common, len(rows), len(held), new))
    with target._transaction() as tx:
        for name, common, _, _, new in plan:
            if new:
                tx.insert_many(name, common, new)
                target._db.reset_ids(tx, name)
    out = pd.DataFrame([{"table": name, "source": n, "target_before": before, "copied": len(new),
                         "target_after": len(target._rows(name)[1])} for name, _, n, before, new in plan])
    short = out[out["target_after"] != out["source"]]
    if len(short):
        raise StoreError(f"{target.location}: table {short['table'].iloc[0]} holds {short['target_after'].iloc[0]} rows after "
                         f"the copy, the source {short['source'].iloc[0]}. Fix: re-run the migration.")
    return out
