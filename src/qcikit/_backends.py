"""Where the score store lives: one SQLite file, or one schema of a PostgreSQL database.

The store writes its SQL once, in the dialect both engines read (``?`` placeholders, standard
joins and subqueries); a backend only connects, runs one transaction at a time, and turns its
engine's errors into a message naming the store and the fix. Only what cannot be shared is
per engine here: the identity column, the append-only triggers and the writers' lock.

Why no ORM: every query of the store already reads the same on both engines, and the store's
guarantees (append-only by trigger, one transaction per form, commit order = id order) are
properties of the database, which an ORM would only wrap. psycopg 3 is the driver; it is an
optional extra (``qcikit[postgres]``), imported only when a PostgreSQL URL is used.
"""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from .errors import QcikitError

URL_SCHEMES = ("postgresql://", "postgres://")
# The tables of a store, in the order a migration copies them; each has an integer ``id`` in save order.
TABLES = ("scores", "events", "drafts", "certifications", "corrections", "rule_notes", "autoscores")
# The store's layout, recorded in the store (SQLite's user_version; a table on PostgreSQL): a store made by a
# newer qcikit is refused by an older one instead of being misread, and a later layout change knows what to upgrade.
SCHEMA_VERSION = 1


def _newer(where: str, found: int) -> "StoreError":
    return StoreError(f"{where}: the store was made by a newer qcikit (layout {found}, this one reads up to "
                      f"{SCHEMA_VERSION}). Fix: upgrade qcikit (pip install -U qcikit) on this machine.")


class StoreError(QcikitError):
    """The score store cannot be reached, read or written."""


def is_url(location) -> bool:
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """The URL without its password: what every message and report may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def frame(cursor) -> pd.DataFrame:
    """A query's rows as a DataFrame, built the same way for both engines (as ``pandas.read_sql`` does),
    so a report reads identical tables from either store."""
    columns = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)


class _Tx:
    """One open transaction: the store's SQL runs through it unchanged on either engine."""

    def __init__(self, con, dialect: "SqliteBackend | PostgresBackend"):
        self.con, self.dialect = con, dialect

    def execute(self, sql: str, params: Sequence = ()):
        return self.con.execute(self.dialect.sql(sql), tuple(params))

    def one(self, sql: str, params: Sequence = ()):
        return self.execute(sql, params).fetchone()

    def insert(self, sql: str, params: Sequence = ()) -> int:
        """Insert one row and return its id."""
        return self.dialect.insert_id(self.con, sql, tuple(params))

    def insert_many(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        self.dialect.insert_many(self.con, table, columns, rows)

    def frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        return frame(self.execute(sql, params))


class SqliteBackend:
    """``scores.sqlite`` in the engagement folder: WAL, a busy timeout, ``BEGIN IMMEDIATE`` per write."""

    name = "sqlite"

    def __init__(self, path: Path, timeout: float):
        self.path, self.timeout = Path(path), timeout

    def __str__(self) -> str:
        return str(self.path)

    @staticmethod
    def sql(sql: str) -> str:
        return sql

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")  # a saved form survives a power cut, not only a crash
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return con

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self, schema: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self.connect()
        try:
            con.executescript(schema)
            # A store made by an earlier qcikit: add the columns, keep every row.
            cols = {r[1] for r in con.execute("PRAGMA table_info(scores)")}
            if "source" not in cols:
                con.execute("ALTER TABLE scores ADD COLUMN source TEXT NOT NULL DEFAULT 'form'")
            for col in ("rules", "evidence"):
                if col not in cols:
                    con.execute(f"ALTER TABLE scores ADD COLUMN {col} TEXT")
            if "session" not in {r[1] for r in con.execute("PRAGMA table_info(drafts)")}:
                con.execute("ALTER TABLE drafts ADD COLUMN session TEXT")
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise _newer(str(self.path), found)
            if found < SCHEMA_VERSION:  # made by an earlier qcikit, upgraded above
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            con.close()

    @contextmanager
    def transaction(self, write: bool = True):
        con = self.connect()
        try:
            # IMMEDIATE takes the write lock at once: writers queue, and ids follow commit order.
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield _Tx(con, self)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    @staticmethod
    def latest_sql(columns: Sequence[str], source: str, key: Sequence[str], where: str = "") -> str:
        """The latest row (largest id) of every key. SQLite answers this fastest with a grouped MAX(id)."""
        return (f"SELECT {', '.join(columns)} FROM {source} WHERE id IN "
                f"(SELECT MAX(id) FROM {source} {where} GROUP BY {', '.join(key)})")

    @staticmethod
    def insert_id(con, sql: str, params: tuple) -> int:
        return int(con.execute(sql, params).lastrowid)

    @staticmethod
    def insert_many(con, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    def reset_ids(self, tx: _Tx, table: str) -> None:
        """Nothing to do: SQLite's AUTOINCREMENT continues after the largest id inserted."""


# PostgreSQL's append-only guard: one trigger function per schema, fired before any change of a row
# and before TRUNCATE (which row triggers do not see).
_PG_GUARD = """
CREATE OR REPLACE FUNCTION qcikit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the score store is append-only' USING ERRCODE = 'integrity_constraint_violation'; END $$;
"""


def postgres_schema(sqlite_schema: str) -> str:
    """The SQLite schema in PostgreSQL's words: identity ids, double precision, and the append-only triggers
    for exactly the tables SQLite guards (drafts may be neither updated nor, here too, truncated)."""
    ddl = "\n".join(line for line in sqlite_schema.splitlines() if not line.startswith("CREATE TRIGGER"))
    ddl = ddl.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    ddl = re.sub(r"\bREAL\b", "DOUBLE PRECISION", ddl)
    guards = [_PG_GUARD]
    for table, op in re.findall(r"CREATE TRIGGER IF NOT EXISTS (\w+)_no_(update|delete)", sqlite_schema):
        guards.append(f"CREATE TRIGGER {table}_no_{op} BEFORE {op.upper()} ON {table} "
                      "FOR EACH ROW EXECUTE FUNCTION qcikit_append_only();")
    for table in sorted(set(re.findall(r"CREATE TRIGGER IF NOT EXISTS (\w+)_no_", sqlite_schema))):
        guards.append(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                      "FOR EACH STATEMENT EXECUTE FUNCTION qcikit_append_only();")
    version = ("CREATE TABLE qcikit_schema (version INTEGER NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
               f"INSERT INTO qcikit_schema (version) VALUES ({SCHEMA_VERSION});")
    return ddl + "\n" + "\n".join(guards) + "\n" + version


class PostgresBackend:
    """One engagement's schema in a PostgreSQL database.

    The schema is the engagement's key (its slug): every connection sets ``search_path`` to it, so the
    store's SQL never names a schema and one engagement's rows cannot reach another's queries. Writers
    take a transaction-level advisory lock on the schema, so forms commit one after the other and a
    later id is always a later save (what "the latest wins" needs), while readers never wait.
    """

    name = "postgresql"

    def __init__(self, url: str, key: str, timeout: float):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key or ""):
            raise StoreError(f"{safe_url(url)}: the engagement key '{key}' is not a valid name. "
                             "Fix: use the engagement's slug (lower-case letters, digits, '-' and '_').")
        self.url, self.key, self.timeout = url, key, timeout
        self._local = threading.local()
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError(f"{safe_url(url)}: a PostgreSQL store needs the psycopg driver, which is not installed. "
                             "Fix: pip install 'qcikit[postgres]'.") from None

    def __str__(self) -> str:
        return f"{safe_url(self.url)} (engagement '{self.key}')"

    @staticmethod
    def sql(sql: str) -> str:
        # psycopg's placeholder is %s, so a literal % (as in LIKE '...%') doubles.
        return sql.replace("%", "%%").replace("?", "%s")

    def _error(self, exc: Exception) -> StoreError:
        """One message per way a server can refuse us, naming the URL without its password."""
        text = str(exc).strip()
        low = text.lower()
        where = safe_url(self.url)
        if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
            fix = ("check the user name, and put the password in ~/.pgpass or PGPASSWORD "
                   "(never in engagement.yaml)")
            what = "the server refused the user name or password"
        elif "does not exist" in low and "database" in low:
            fix = "ask the consultancy's IT to create the database (docs/store.md), or correct its name in the URL"
            what = "the database does not exist"
        elif any(s in low for s in ("connection refused", "could not connect", "timeout expired", "could not translate",
                                    "name or service not known", "no route to host", "connection timed out")):
            fix = "check the host and port in the URL and that the server is running (or unset QCIKIT_STORE)"
            what = "the server cannot be reached"
        elif "permission denied" in low:
            fix = "ask the consultancy's IT for the grants in docs/store.md"
            what = "the database role lacks a permission"
        else:
            fix = "check the URL and the server's log"
            what = "the database refused the request"
        first = text.splitlines()[0] if text else type(exc).__name__
        return StoreError(f"{where}: {what} ({first}). Fix: {fix}.")

    def connect(self):
        import psycopg

        try:
            con = psycopg.connect(self.url, connect_timeout=max(1, int(self.timeout)))
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return con

    def _use_schema(self, con) -> None:
        from psycopg import sql

        con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.key)))

    def _session(self):
        """This thread's open connection, set to the engagement's schema: a form save then costs one round of
        statements, not a new login. A forked child, or a connection the server dropped, gets a new one."""
        import psycopg

        con = getattr(self._local, "con", None)
        if con is not None and time.monotonic() - self._local.used > 30:
            # A kernel left open over lunch: the server or a firewall may have dropped the line meanwhile.
            try:
                con.execute("SELECT 1")
            except psycopg.Error:
                con.close()
        if con is None or con.closed or con.broken or self._local.pid != os.getpid():
            con = self.connect()
            con.autocommit = True  # transactions are explicit (con.transaction()), one per store call
            try:
                self._use_schema(con)
            except Exception:
                con.close()
                raise
            self._local.con, self._local.pid = con, os.getpid()
        self._local.used = time.monotonic()
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None and self._local.pid == os.getpid():
            con.close()
        self._local = threading.local()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_local")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    def exists(self) -> bool:
        con = self.connect()
        try:
            row = con.execute("SELECT to_regclass(%s) IS NOT NULL",
                              (f'"{self.key}".scores',)).fetchone()
            return bool(row[0])
        except Exception as exc:  # noqa: BLE001 - mapped to a message with a fix
            raise self._error(exc) from None
        finally:
            con.close()

    def create(self, schema: str) -> None:
        import psycopg
        from psycopg import sql

        con = self.connect()
        try:
            with con.transaction():
                # Two first users at once: the lock makes the second wait, then find the tables made.
                con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.key,))
                con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.key)))
                self._use_schema(con)
                if not con.execute("SELECT to_regclass('scores') IS NOT NULL").fetchone()[0]:
                    con.execute(postgres_schema(schema))
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            con.close()

    def check_version(self) -> None:
        """Refuse a schema laid out by a newer qcikit (its ``qcikit_schema`` says which layout it has)."""
        with self.transaction(write=False) as tx:
            found = tx.one("SELECT MAX(version) FROM qcikit_schema")[0]
        if found is not None and found > SCHEMA_VERSION:
            raise _newer(str(self), found)

    def missing(self) -> StoreError:
        return StoreError(f"{self}: there is no store for this engagement in the database (no schema "
                          f"'{self.key}'). Fix: run `qcikit store init DIR` to create it, `qcikit store migrate DIR "
                          "--to URL` to move a scores.sqlite there, or correct the slug or QCIKIT_STORE.")

    @contextmanager
    def transaction(self, write: bool = True):
        import psycopg

        try:
            con = self._session()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        try:
            with con.transaction():
                if write:
                    con.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
                yield _Tx(con, self)
        except psycopg.errors.UndefinedTable:
            raise self.missing() from None
        except psycopg.errors.IntegrityError:
            raise  # the append-only guard and constraints: the caller's to see, as with SQLite
        except psycopg.Error as exc:
            self.close()  # a connection in an unknown state is not reused
            raise self._error(exc) from None
        except BaseException:
            if con.broken:
                self.close()
            raise

    @staticmethod
    def latest_sql(columns: Sequence[str], source: str, key: Sequence[str], where: str = "") -> str:
        """The latest row (largest id) of every key. PostgreSQL answers this in one pass with a window (the
        grouped MAX(id) form spills to disk there: 2.4 s against 4.2 s on 500,000 rows, bench/store.py)."""
        cols = ", ".join(columns)
        return (f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {', '.join(key)} ORDER BY id DESC) "
                f"AS latest FROM {source} {where}) ranked WHERE latest = 1")

    def insert_id(self, con, sql: str, params: tuple) -> int:
        return int(con.execute(self.sql(sql) + " RETURNING id", params).fetchone()[0])

    @staticmethod
    def insert_many(con, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        # COPY: a machine run of millions of rows streams in one statement.
        with con.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def reset_ids(self, tx: _Tx, table: str) -> None:
        """After rows were copied in with their own ids, new saves continue after the largest."""
        tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}")
