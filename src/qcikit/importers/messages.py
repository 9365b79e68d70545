"""The fallback for every other system: a CSV or Parquet file with one row per message.

Required columns ``conversation_id``, ``sent_at``, ``author_role`` (customer, agent, bot, note,
system) and ``text``; optional ``author_id``, ``author_name``, ``channel``, ``team``, ``agent_id``,
``customer_name``. ``sent_at`` without an offset is read in the engagement's time zone. Text that is
HTML is laid out as text; quoted e-mail history is stripped as for the helpdesks.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..errors import QcikitError
from . import _base as b
from ._text import clean

REQUIRED = ("conversation_id", "sent_at", "author_role", "text")
ROLES = {"customer": "customer", "agent": "agent", "bot": "bot", "note": None, "system": None}
_HTML = re.compile(r"</?(?:p|br|div|ul|ol|li|span|b|i|a|table|blockquote)\b[^>]*>", re.I)


def _read(path: Path):
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise QcikitError(f"{path.name}: reading Parquet needs pyarrow. Fix: pip install 'qcikit[parquet]', "
                              "or export the messages as CSV.") from None
        df = b.none_for_empty(pq.read_table(path).to_pandas().astype("string"))
    else:
        df = b.read_table(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise QcikitError(f"{path.name}: the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"{'are' if len(missing) > 1 else 'is'} missing. Fix: name the columns {', '.join(REQUIRED)} "
                          "(docs/formats.md, 'messages').")
    return df


def normalise_conversation(cid: str, rows: list[dict], tz, where: str) -> tuple[b.Conversation, list[tuple[str, str, str]]]:
    """The rows of one conversation (``where`` names each by line) as a :class:`Conversation`. Pure."""
    skipped: list[tuple[str, str, str]] = []
    messages: list[b.Message] = []
    first = {}
    for row in rows:
        line = row["_line"]
        raw_role = str(row.get("author_role") or "").strip().lower()
        if raw_role not in ROLES:
            raise QcikitError(f"{where}, line {line:,}: author_role '{row.get('author_role')}' is not one of "
                              f"{', '.join(ROLES)}. Fix: map the system's roles onto these five.")
        role = ROLES[raw_role]
        record = f"{cid}/line {line}"
        if role is None:
            skipped.append((b.INTERNAL_NOTE if raw_role == "note" else b.SYSTEM_EVENT, record, "message"))
            continue
        for key in ("channel", "team", "customer_name"):
            if row.get(key) and key not in first:
                first[key] = str(row[key])
        if role == "agent" and row.get("agent_id") and "agent_id" not in first:
            first["agent_id"] = str(row["agent_id"])
        if role == "customer" and row.get("author_name") and "author_name" not in first:
            first["author_name"] = str(row["author_name"])
        body = b.text_of(row.get("text"))
        text = clean(body, bool(_HTML.search(body)))
        if not text:
            skipped.append((b.QUOTED_ONLY if body.strip() else b.EMPTY, record, "message"))
            continue
        author = str(row.get("agent_id") or row.get("author_id") or "") if role != "customer" else ""
        messages.append(b.Message(b.parse_time(row["sent_at"], tz, f"{where}, line {line:,}, sent_at"), role, text,
                                  author, str(row.get("author_name") or "")))
    agent_names = {m.author_name for m in messages if m.role == "agent" and m.author_name}
    return b.Conversation(id=cid, channel=first.get("channel", ""), messages=messages, team=first.get("team", ""),
                          agent_id=first.get("agent_id", ""), customer_name=first.get("customer_name") or first.get("author_name", ""),
                          extra={"agent_name": "; ".join(sorted(agent_names))}), skipped


def conversations(paths: list[Path], ctx: b.Context) -> Iterator[tuple[Path, b.Conversation | None, list]]:
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".parquet")) if path.is_dir() else [path]
        for file in files:
            df = _read(file)
            df["_line"] = range(2, len(df) + 2)  # the spreadsheet's line: the header is line 1
            empty = df["conversation_id"].isna()
            if empty.any():
                line = int(df.loc[empty, "_line"].iloc[0])
                raise QcikitError(f"{file.name}, line {line:,}: conversation_id is empty. Fix: give every message "
                                  "the id of its conversation.")
            # Messages of a conversation may be anywhere in the file; their order within it is the file's
            # (sent_at decides in the end) so equal timestamps keep the export's order.
            for cid, group in df.groupby("conversation_id", sort=False):
                rows = group.to_dict("records")
                conv, skipped = normalise_conversation(str(cid), rows, ctx.tz, file.name)
                yield file, conv, skipped


def team_names(conv: b.Conversation) -> tuple[str, ...]:
    return (conv.team,)
