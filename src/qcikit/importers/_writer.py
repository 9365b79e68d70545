"""The one writer every source shares: rows merged into interactions.csv by id, atomically, idempotently.

Rows are spooled to a temporary SQLite file keyed by id while the export is read, so memory stays flat
however large the export, and a repeated record is told from a changed one by a digest. The merge then
streams the existing population once: an id the export holds again is unchanged (the same columns) or
updated in place; ids new to the file are appended in the export's order. Nothing is written when nothing
changed, and nothing at all when the import fails: the new file is renamed over the old one only at the end.
"""
from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..engagement import delimiter
from ..errors import QcikitError

# The columns an import writes; an existing row equal on all of them is unchanged.
COLUMNS = ["interaction_id", "started_at", "touchpoint", "channel_detail", "agent_id", "team", "wave", "transcript",
           "customer_name", "agent_name", "subject"]


class Spool:
    """The imported rows by id, on disk."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="qcikit-import-")
        self.db = sqlite3.connect(Path(self._dir.name) / "spool.sqlite")
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                              "CREATE TABLE rows (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, digest BLOB, row BLOB,"
                              " seen INTEGER DEFAULT 0);")

    def add(self, row: dict[str, str]) -> bool:
        """Spool ``row``; False when its id was already read in this import (the last copy read wins)."""
        import orjson

        data = orjson.dumps(row)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        hit = self.db.execute("SELECT digest FROM rows WHERE id = ?", (row["interaction_id"],)).fetchone()
        if hit is None:
            self.db.execute("INSERT INTO rows (id, digest, row) VALUES (?, ?, ?)", (row["interaction_id"], digest, data))
            return True
        # The same record twice (a line repeated, pages overlapping), or a later copy of it.
        if hit[0] != digest:
            self.db.execute("UPDATE rows SET digest = ?, row = ? WHERE id = ?", (digest, data, row["interaction_id"]))
        return False

    def get(self, interaction_id: str) -> dict | None:
        import orjson

        hit = self.db.execute("SELECT row FROM rows WHERE id = ?", (interaction_id,)).fetchone()
        return None if hit is None else orjson.loads(hit[0])

    def seen(self, interaction_id: str) -> None:
        self.db.execute("UPDATE rows SET seen = 1 WHERE id = ?", (interaction_id,))

    def unseen(self) -> Iterator[dict]:
        import orjson

        for (data,) in self.db.execute("SELECT row FROM rows WHERE seen = 0 ORDER BY seq"):
            yield orjson.loads(data)

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()


@dataclass
class Merged:
    target: Path
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    updated_ids: list[str] = field(default_factory=list)


def _same(old: dict, new: dict) -> bool:
    return all(str(old.get(c) or "") == str(new.get(c) or "") for c in COLUMNS)


def _wave_clash(interaction_id: str, old_wave: str, new_wave: str) -> QcikitError:
    return QcikitError(f"interactions: interaction {interaction_id} is already in wave {old_wave}; this import puts "
                       f"it in {new_wave}. Nothing was written. Fix: import the export into {old_wave}, cut it to the "
                       "wave's dates with --since/--until, or give the new ids a --prefix.")


def _reconcile(old: dict, spool: Spool, result: Merged) -> dict:
    """An existing row as the merged file holds it: unchanged, or updated by the export's copy of it."""
    new = spool.get(str(old.get("interaction_id") or ""))
    if new is None:
        return old
    spool.seen(new["interaction_id"])
    if (old.get("wave") or "") != new["wave"]:
        raise _wave_clash(new["interaction_id"], old.get("wave") or "(none)", new["wave"])
    if _same(old, new):
        result.unchanged += 1
        return old
    result.updated += 1
    result.updated_ids.append(new["interaction_id"])
    return {**old, **new}


def merge(folder: Path, spool: Spool, parquet: bool = False) -> Merged:
    """Merge the spooled rows into the population file: interactions.parquet when it exists (or ``parquet`` asks
    for it), else interactions.csv."""
    target = folder / "interactions.parquet"
    if target.is_file():
        return _merge_parquet(target, spool)
    if parquet:
        csv_file = folder / "interactions.csv"
        if csv_file.is_file() and len(csv_file.read_bytes()[:4096].splitlines()) > 1:
            raise QcikitError(f"{csv_file}: the population is already in interactions.csv; --parquet would start a "
                              "second file. Nothing was written. Fix: import without --parquet, or convert the file "
                              "first (pandas: read_csv(..., dtype=str).to_parquet('interactions.parquet')).")
        return _merge_parquet(target, spool)
    target = folder / "interactions.csv"
    result = Merged(target)
    fd, tmp = tempfile.mkstemp(prefix=".interactions.csv.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            if target.is_file() and target.stat().st_size:
                with target.open(encoding="utf-8-sig", newline="") as fh:
                    sep = delimiter(fh.readline())
                    fh.seek(0)
                    reader = csv.reader(fh, delimiter=sep)
                    header = next(reader, [])
                    if "interaction_id" not in header:
                        raise QcikitError(f"{target.name}: the header has no interaction_id column, so rows cannot be "
                                          "merged by id. Nothing was written. Fix: correct the header (docs/formats.md).")
                    columns = header + [c for c in COLUMNS if c not in header]
                    writer.writerow(columns)
                    for record in reader:
                        row = _reconcile(dict(zip(header, record)), spool, result)
                        writer.writerow([row.get(c) or "" for c in columns])
            else:
                columns = COLUMNS
                writer.writerow(columns)
            for new in spool.unseen():
                writer.writerow([new.get(c) or "" for c in columns])
                result.added += 1
            out.flush()
            os.fsync(out.fileno())
        if result.added or result.updated:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return result


def _merge_parquet(target: Path, spool: Spool) -> Merged:
    import pandas as pd

    from .._io import atomic_write_bytes

    result = Merged(target)
    old = pd.read_parquet(target).astype("string") if target.is_file() else pd.DataFrame(columns=COLUMNS, dtype="string")
    rows = old.to_dict("records")
    columns = list(old.columns) + [c for c in COLUMNS if c not in old.columns]
    rows = [_reconcile({k: (None if v is pd.NA else v) for k, v in row.items()}, spool, result) for row in rows]
    added = list(spool.unseen())
    result.added = len(added)
    if result.added or result.updated:
        import io

        frame = pd.DataFrame(rows + added, columns=columns).astype("string")
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        atomic_write_bytes(target, buffer.getvalue())
    return result
