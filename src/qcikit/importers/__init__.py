"""The client's own export in: helpdesk tickets, chat conversations, message tables and call transcripts
become ``interactions.csv`` rows.

One module per source yields :class:`~qcikit.importers._base.Conversation` objects made by pure
``normalise_*`` functions; :func:`import_export` maps channels and groups onto the engagement's
touchpoints and teams (``import.yaml``), writes the sample engagements' transcript format, and merges
by id through one writer: idempotent, atomic, and counting every record it leaves out with its reason.

Examples
--------
>>> from qcikit.importers import import_export
>>> result = import_export("clients/acme", "zendesk", "2026-Q3", ["exports/zendesk"])  # doctest: +SKIP
>>> print("\\n".join(result.summary()))  # doctest: +SKIP
"""
from __future__ import annotations

import csv
import importlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from ..errors import QcikitError
from . import _base as b
from ._mapping import Mapper, load_settings
from ._writer import Spool, merge

# Below this an export is read in one process: starting workers costs more than it saves.
PARALLEL_BYTES = 8_000_000

Source = Literal["zendesk", "intercom", "freshdesk", "messages", "vtt"]
SOURCES: tuple[str, ...] = get_args(Source)


@dataclass
class ImportResult:
    """What an import did: rows added, updated and unchanged, and every record left out by reason."""

    target: Path
    source: str
    wave: str
    conversations: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    messages: int = 0
    skipped: Counter = field(default_factory=Counter)
    redacted: Counter = field(default_factory=Counter)
    sampled_updated: int = 0
    timezone: str = "UTC"

    def summary(self) -> list[str]:
        lines = [f"{self.target}: {self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged "
                 f"({self.conversations:,} conversations read from the {self.source} export into wave {self.wave}; "
                 f"{self.messages:,} messages kept, times in {self.timezone})."]
        if self.skipped:
            lines.append("Left out: " + "; ".join(f"{n:,} {reason}" for reason, n in sorted(self.skipped.items())) + ".")
        if self.redacted:
            lines.append("Redacted in transcripts: " + ", ".join(f"{n:,} {kind}" for kind, n in sorted(self.redacted.items()))
                         + "; names were not written to the file.")
        if self.sampled_updated:
            lines.append(f"Note: {self.sampled_updated:,} updated interactions are in sample.csv; scores already given "
                         "to them were made on the earlier transcript.")
        return lines


def _engagement(folder: Path):
    from .._io import read_yaml
    from ..engagement import EngagementConfig
    from ..inventory import ScenarioSchema, validate_schema_dict

    if not (folder / "engagement.yaml").is_file():
        raise QcikitError(f"{folder}: no engagement.yaml, so this is not an engagement folder. "
                          f"Fix: create one with `qcikit new {folder} --client NAME`, then import into it.")
    from .._schema import SchemaError

    try:
        config = EngagementConfig.validate(read_yaml(folder / "engagement.yaml"))
    except SchemaError:
        raise QcikitError(f"{folder}/engagement.yaml has problems. Fix: run `qcikit validate {folder}` and correct "
                          "what it lists, then import.") from None
    data = read_yaml(folder / "scenarios.yaml") if (folder / "scenarios.yaml").is_file() else None
    problems = validate_schema_dict(data) if data is not None else []
    if data is None or problems or "touchpoint" not in (data.get("facets") or {}):
        raise QcikitError(f"{folder}/scenarios.yaml: the touchpoint facet is needed to map the export's channels. "
                          "Fix: list the touchpoints under facets (email, chat, phone …); `qcikit validate` names "
                          "any other problem.")
    return config, ScenarioSchema.from_dict(data)


def _day(value: str | date | None, flag: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise QcikitError(f"{flag} '{value}' is not a date. Fix: write it as 2026-07-01.") from None


def import_export(folder: str | Path, source: Source, wave: str, paths: list[str | Path], *, prefix: str = "",
                  redact: bool = False, log: str | Path | None = None, since: str | date | None = None,
                  until: str | date | None = None, touchpoint: str | None = None,
                  workers: int | None = None, parquet: bool = False) -> ImportResult:
    """Add the interactions of an export to ``folder``'s interactions.csv for ``wave``.

    Parameters
    ----------
    folder : path
        The engagement folder (engagement.yaml and scenarios.yaml must exist; interactions.csv need not).
    source : {"zendesk", "intercom", "freshdesk", "messages", "vtt"}
        The export's kind (docs/formats.md, "Importing a client's export").
    wave : str
        One of engagement.yaml's ``waves``.
    paths : list of paths
        The export's files or folders.
    prefix : str
        Put before every id (to keep two systems' ids apart).
    redact : bool
        Replace the customer's and agents' names, e-mail addresses and phone numbers in transcripts, and
        leave the name columns empty.
    log : path
        Write one row per record left out (file, record, level, reason).
    since, until : date
        Keep conversations that started on or after ``since`` and before the end of ``until``.
    touchpoint : str
        The touchpoint of conversations without a channel (a messages file without ``channel``).
    parquet : bool
        Write the population as interactions.parquet (for millions of contacts) when the folder has none yet.
    workers : int
        Processes that normalise records (default: every core for exports over 8 MB, else one). The
        result is the same whatever the number.

    Returns
    -------
    ImportResult
        Counts of rows added, updated, unchanged and of everything left out; nothing is written when the
        export holds a malformed record (a :class:`~qcikit.QcikitError` names it) or nothing changed.
    """
    if source not in SOURCES:
        raise QcikitError(f"source '{source}' is not one the kit reads. Fix: use one of {', '.join(SOURCES)}.")
    folder = Path(folder)
    config, schema = _engagement(folder)
    if wave not in config.waves:
        raise QcikitError(f"wave '{wave}' is not in engagement.yaml's waves ({', '.join(config.waves)}). "
                          "Fix: add it to waves, or import into one of those.")
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise QcikitError(f"{p}: no such file or folder. Fix: give the path of the {source} export.")
    start, end = _day(since, "--since"), _day(until, "--until")
    if end is not None and len(str(until)) <= 10:
        end += timedelta(days=1)  # --until 2026-09-30 keeps the whole last day
    tz_name = config.timezone
    settings = load_settings(folder)
    mapper = Mapper(settings, schema.facets["touchpoint"], touchpoint)
    skips = b.Skips(keep_rows=log is not None)
    if workers is None:
        size = sum(f.stat().st_size for p in paths for f in (p.rglob("*") if p.is_dir() else [p]) if f.is_file())
        workers = (os.cpu_count() or 1) if size > PARALLEL_BYTES else 1
    ctx = b.Context(ZoneInfo(tz_name), skips, workers)
    module = importlib.import_module(f"{__name__}.{source}")
    result = ImportResult(folder / "interactions.csv", source, wave, timezone=tz_name)
    redaction = None
    if redact:
        from ..redaction import redact_counted

        redaction = redact_counted
    spool = Spool()
    try:
        for file, conv, skipped in module.conversations(paths, ctx):
            result.conversations += 1
            reason = b.OUTSIDE_DATES if conv is not None and _outside(conv, start, end) else None
            reason = reason or (b.finish(conv, ctx) if conv is not None else None)
            if conv is None or reason:
                for why, record, level in skipped:
                    skips.add(why, file, record, level)
                if reason:
                    skips.add(reason, file, conv.id, "conversation")
                continue
            row = _row(conv, module, mapper, wave, prefix, f"{Path(file).name}, conversation {conv.id}")
            if redaction is not None:
                names = [conv.customer_name, *row["agent_name"].split("; ")]
                row["transcript"], counts = redaction(row["transcript"], config.country, config.redact.patterns, names)
                result.redacted.update(counts)
                row["customer_name"] = row["agent_name"] = ""
            if spool.add(row):
                result.messages += len(conv.messages)
                for why, record, level in skipped:
                    skips.add(why, file, record, level)
            else:  # a copy of a record already read: counted once, as a duplicate, whatever it held
                skips.add(b.DUPLICATE, file, conv.id, "conversation")
        merged = merge(folder, spool, parquet)
    finally:
        spool.close()
    result.target, result.added, result.updated, result.unchanged = (merged.target, merged.added, merged.updated,
                                                                      merged.unchanged)
    result.skipped = Counter(skips.counts)
    if merged.updated_ids and (folder / "sample.csv").is_file():
        with (folder / "sample.csv").open(encoding="utf-8-sig", newline="") as fh:
            sampled = {r.get("interaction_id") for r in csv.DictReader(fh)}
        result.sampled_updated = sum(1 for i in merged.updated_ids if i in sampled)
    if log is not None:
        from .._io import atomic_write_text
        import io

        buffer = io.StringIO()
        w = csv.writer(buffer, lineterminator="\n")
        w.writerow(["file", "record", "level", "reason"])
        w.writerows(skips.rows or [])
        atomic_write_text(log, buffer.getvalue())
    return result


def _outside(conv: b.Conversation, start: datetime | None, end: datetime | None) -> bool:
    first = conv.started_at or min((m.at for m in conv.messages), default=None)
    return first is not None and ((start is not None and first < start) or (end is not None and first >= end))


def _row(conv: b.Conversation, module, mapper: Mapper, wave: str, prefix: str, where: str) -> dict[str, str]:
    return {
        "interaction_id": f"{prefix}{conv.id}",
        "started_at": b.stamp(conv.started_at),
        "touchpoint": mapper.touchpoint(conv.channel, where),
        "channel_detail": conv.channel,
        "agent_id": conv.agent_id,
        "team": mapper.team(*module.team_names(conv)),
        "wave": wave,
        "transcript": b.transcript(conv),
        "customer_name": conv.customer_name,
        "agent_name": conv.extra.get("agent_name", ""),
        "subject": conv.extra.get("subject", ""),
    }
