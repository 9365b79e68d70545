"""What every source shares: the normalised conversation, dates, channel mapping, record reading, skips.

A source module reads its files and yields :class:`Conversation` objects made by pure ``normalise_*``
functions; :func:`to_row` turns one into an ``interactions.csv`` row in the transcript format the
sample engagements use, and the writer (``_writer``) merges rows by id. Every record the sources
read is either imported or counted under one of :data:`REASONS`.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal
from zoneinfo import ZoneInfo

from ..errors import QcikitError

Role = Literal["customer", "agent", "bot"]

# Why a record was not imported. A record is a conversation (ticket, call) or one of its messages.
INTERNAL_NOTE = "internal note"
SYSTEM_EVENT = "system event"
BOT_ONLY = "bot-only conversation"
NO_AGENT_REPLY = "no agent reply"
QUOTED_ONLY = "empty after quote stripping"
DUPLICATE = "duplicate"
MERGED = "merged ticket"
OUTSIDE_DATES = "outside the wave's dates"
DELETED = "deleted or spam"
NO_TRANSCRIPT = "call without a transcript file"
NOT_IN_CALLS = "transcript without a row in the calls file"
EMPTY = "empty message (no text)"
REASONS = (INTERNAL_NOTE, SYSTEM_EVENT, BOT_ONLY, NO_AGENT_REPLY, QUOTED_ONLY, DUPLICATE, MERGED,
           OUTSIDE_DATES, DELETED, NO_TRANSCRIPT, NOT_IN_CALLS, EMPTY)

# The usual channel names of helpdesks, chat tools and contact-centre systems, per touchpoint. A level of
# the engagement's touchpoint facet takes a channel when its own name (or one of these) matches; import.yaml
# maps anything else.
CHANNEL_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail", "web", "web form", "webform", "portal", "web_form", "outbound email",
              "feedback widget", "help_center", "contact form"),
    "chat": ("chat", "native_messaging", "messaging", "live chat", "livechat", "web chat", "conversation",
             "messenger", "whatsapp", "sms", "facebook", "instagram", "twitter", "chat_transcript"),
    "phone": ("phone", "voice", "call", "phone_call", "telephone", "callback", "phone_switch"),
    "face_to_face": ("face_to_face", "face to face", "in person", "in_person", "walk-in", "walk_in", "store",
                     "branch", "desk"),
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


@dataclass(frozen=True)
class Message:
    """One message of a conversation, its time already in the engagement's time zone."""

    at: datetime
    role: Role
    text: str
    author_id: str = ""
    author_name: str = ""


@dataclass
class Conversation:
    """A conversation normalised from any source, before it becomes an interactions.csv row."""

    id: str
    channel: str
    messages: list[Message]
    started_at: datetime | None = None
    team: str = ""
    agent_id: str = ""
    customer_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # A line before the first message, e.g. the queue wait of a call, in the transcript's own words.
    opening: list[tuple[datetime, str]] = field(default_factory=list)


class Skips:
    """Counts of what was not imported, by reason, and (with ``--log``) one row per record."""

    def __init__(self, keep_rows: bool = False):
        self.counts: Counter[str] = Counter()
        self.rows: list[tuple[str, str, str, str]] | None = [] if keep_rows else None

    def add(self, reason: str, file: str | Path, record: str, level: str = "message") -> None:
        if reason not in REASONS:  # a reason outside the documented list would not add up in the summary
            raise AssertionError(f"unknown skip reason {reason!r}")
        self.counts[f"{level}: {reason}"] += 1
        if self.rows is not None:
            self.rows.append((Path(file).name, record, level, reason))


@dataclass
class Context:
    """What a source needs besides its files: the engagement's time zone, the skip counter, the mapping."""

    tz: ZoneInfo
    skips: Skips
    workers: int = 1


# What forked workers read without it being sent with every record: each source's lookups (users, groups)
# and the time zone, set by the source before its pool starts.
SHARED: dict[str, Any] = {}


def parallel(work, jobs, workers: int):
    """``work(job)`` for every job, in order: in ``workers`` forked processes when more than one.

    Laying out HTML and cutting quoted history are most of an import's time and are pure per record, so a
    large export is normalised on every core while this process reads, maps and writes. Records go to the
    workers in chunks and come back in the export's order, so the result does not depend on ``workers``.
    """
    if workers <= 1:
        yield from map(work, jobs)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(work, jobs, chunksize=32)


def parse_time(value: Any, tz: ZoneInfo, where: str) -> datetime:
    """A timestamp of any export as a naive datetime in the engagement's time zone.

    ISO 8601 strings with ``Z`` or an offset are converted; naive strings are read as already in the
    engagement's time zone; numbers are UNIX seconds (Intercom). One place, so every source agrees.
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        else:
            text = str(value).strip()
            if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
                moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        raise QcikitError(f"{where}: '{value}' is not a date and time. Fix: export dates as ISO 8601 "
                          "(2026-06-03T13:37:55Z) or UNIX seconds.") from None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(tz).replace(tzinfo=None)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def speaker(message: Message) -> str:
    if message.role == "customer":
        return "Customer"
    who = message.author_id or message.author_name or "unknown"
    return f"Agent ({who}, bot)" if message.role == "bot" else f"Agent ({who})"


def transcript(conv: Conversation) -> str:
    """The sample engagements' transcript format: ``[time] Customer: …`` / ``[time] Agent (id): …`` in time
    order. A message of several lines (an e-mail) starts on the line after its speaker, as the samples do."""
    lines = [f"[{stamp(at)}] {text}" for at, text in conv.opening]
    for m in conv.messages:
        head = f"[{stamp(m.at)}] {speaker(m)}:"
        lines.append(f"{head}\n{m.text}" if "\n" in m.text else f"{head} {m.text}")
    return "\n".join(lines)


def finish(conv: Conversation, ctx: Context) -> str | None:
    """Order the messages and drop empty ones; the reason no rater could score the conversation, if any."""
    conv.messages = sorted((m for m in conv.messages if m.text.strip()), key=lambda m: m.at)
    roles = {m.role for m in conv.messages}
    if "agent" not in roles:
        return BOT_ONLY if "bot" in roles else NO_AGENT_REPLY
    human = [m.author_id or m.author_name for m in conv.messages if m.role == "agent"]
    if not conv.agent_id or conv.agent_id not in human:
        # The agent who answered, not the one the ticket was last assigned to: coaching is per author.
        conv.agent_id = human[0]
    if conv.started_at is None or (conv.messages and conv.messages[0].at < conv.started_at):
        conv.started_at = conv.messages[0].at
    return None


def read_records(path: Path, key: str) -> Iterator[tuple[int, dict]]:
    """The objects of an export file, streamed: NDJSON (one per line, as account exports write them),
    or JSON pages ``{key: [...]}`` or a bare array, several documents in one file allowed.

    Yields ``(line or record number, object)``. A malformed line stops the import naming file and line.
    """
    import ijson
    import orjson

    with path.open("rb") as fh:
        first = fh.readline()
        while first and not first.strip():
            first = fh.readline()
        try:
            head = orjson.loads(first) if first.strip() else None
        except orjson.JSONDecodeError:
            head = None
        ndjson = isinstance(head, dict) and key not in head
        fh.seek(0)
        if ndjson:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise QcikitError(f"{path.name}, line {number:,}: not valid JSON ({exc}). Fix: re-export the "
                                      "file, or remove the broken line (every other line is one object).") from None
                if not isinstance(record, dict):
                    raise QcikitError(f"{path.name}, line {number:,}: expected one object per line, found "
                                      f"{type(record).__name__}. Fix: export one {key[:-1]} per line.")
                yield number, record
            return
        start = fh.read(1024).lstrip()[:1]
        fh.seek(0)
        prefix = "item" if start == b"[" else f"{key}.item"
        number = 0
        try:
            for record in ijson.items(fh, prefix, multiple_values=True, use_float=True):
                number += 1
                if not isinstance(record, dict):
                    raise QcikitError(f"{path.name}, {key[:-1]} {number:,}: expected an object, found "
                                      f"{type(record).__name__}. Fix: export {key} as JSON objects.")
                yield number, record
        except ijson.JSONError as exc:
            detail = (str(exc).strip().splitlines() or ["unreadable"])[0]  # yajl draws a caret over three lines
            raise QcikitError(f"{path.name}: not valid JSON after {key[:-1]} {number:,} ({detail}). Fix: re-export "
                              "the file; a download cut short leaves it unfinished.") from None
    if number == 0 and not ndjson:
        raise QcikitError(f"{path.name}: no {key} found. Fix: give the export's {key} file "
                          f"({{\"{key}\": [...]}}, a JSON array or one object per line).")


def vendor_of(record: dict) -> str | None:
    """Which helpdesk's export a record looks like, by the fields each vendor documents (None: cannot tell)."""
    source = record.get("source")
    if "conversation_parts" in record or (isinstance(source, dict) and "author" in source):
        return "intercom"
    if isinstance(record.get("via"), dict):
        return "zendesk"
    if isinstance(record.get("source"), int) and "requester_id" in record:
        return "freshdesk"
    return None


def records(path: Path, key: str, source: str) -> Iterator[tuple[int, dict]]:
    """:func:`read_records`, refusing at the first record a file that is another vendor's export: read with the
    wrong ``--from`` it would import nothing and leave every record "skipped"."""
    for number, record in read_records(path, key):
        if number == 1:
            seen = vendor_of(record)
            if seen is not None and seen != source:
                raise QcikitError(f"{path.name}: the records look like {seen.capitalize()}'s export, not "
                                  f"{source.capitalize()}'s. Nothing was written. Fix: run the import with --from {seen}.")
        yield number, record


def stream(source: str, files: list[Path], key: str, side_files: tuple[str, ...], work, ctx: "Context"):
    """A JSON source's records through ``work`` (a module-level normaliser), on ``ctx.workers`` processes.

    The side files (users.json, groups.json …) of each record file's folder are read once, into :data:`SHARED`
    with the time zone, before any worker forks."""
    SHARED["tz"] = ctx.tz
    SHARED[source] = {folder: {n.removesuffix(".json"): lookup(folder, n) for n in side_files}
                      for folder in dict.fromkeys(f.parent for f in files)}
    jobs = ((file, number, raw) for file in files for number, raw in records(file, key, source))
    yield from parallel(work, jobs, ctx.workers)


def export_files(paths: list[Path], what: str, source: str, skip: tuple[str, ...] = ()) -> list[Path]:
    """The record files among ``paths``: files as given, and a folder's own .json/.ndjson/.jsonl files
    (lookups such as users.json, and the per-record subfolders, excluded)."""
    out = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".ndjson", ".jsonl")
                           and p.name not in skip)
            if not found:
                raise QcikitError(f"{path}: no {what} file (.json, .ndjson or .jsonl) in the folder. Fix: give the "
                                  f"folder of the {source} export, or the {what} file itself.")
            out += found
        elif path.name not in skip:
            out.append(path)
    return out


def lookup(folder: Path, name: str) -> dict[str, dict]:
    """An export's side file (users.json, groups.json …) by id; empty when the export has none."""
    path = folder / name
    if not path.is_file():
        return {}
    return {ident(r.get("id")): r for _, r in read_records(path, name.removesuffix(".json"))}


def read_table(path: Path):
    """A CSV of text cells (a messages or calls file), empty cells as None: NaN is truthy and pd.NA raises."""
    import io

    import pandas as pd

    from .._io import read_text

    df = pd.read_csv(io.StringIO(read_text(path)), dtype=str, keep_default_na=False, na_values=[""])
    return none_for_empty(df)


def none_for_empty(df):
    return df.astype(object).where(df.notna(), None)


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


def ident(value: Any) -> str:
    """Ids as text: 360001234 and 360001234.0 are the same id (JSON numbers read as floats)."""
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
