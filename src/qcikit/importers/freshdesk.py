"""Freshdesk tickets and their conversations, as the Freshdesk API v2 documents them.

A ticket has ``id``, ``created_at``, ``description`` (HTML) and ``description_text``, ``source`` (a
code), ``requester_id``, ``responder_id``, ``group_id``, ``deleted``/``spam`` and ``tags``; a
conversation has ``id``, ``body``/``body_text``, ``private``, ``user_id`` and ``created_at``.
Tickets come as a JSON array (or one per line) with ``conversations/<id>.json`` arrays beside them,
or with ``conversations`` embedded. Authors are told apart by ``user_id`` against the requester:
``incoming`` is also true of a reply an agent forwards in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import QcikitError
from . import _base as b
from ._text import clean

KEY = "tickets"
# Freshdesk's ticket source codes (API v2, "Ticket properties").
SOURCES = {1: "email", 2: "portal", 3: "phone", 4: "forum", 5: "twitter", 6: "facebook", 7: "chat",
           8: "mobihelp", 9: "feedback widget", 10: "outbound email", 11: "ecommerce", 12: "bot"}
LOOKUP_FILES = ("groups.json", "agents.json", "contacts.json")


def _body(item: dict, plain: str, markup: str) -> tuple[str, bool]:
    """The plain-text field where the source has one, else the HTML one; and whether there was any body."""
    if item.get(plain):
        return clean(b.text_of(item[plain]), False), True
    return clean(b.text_of(item.get(markup)), True), bool(item.get(markup))


def normalise_ticket(raw: dict, conversations: list[dict] | None, lookups: dict[str, dict[str, dict]], tz,
                     where: str) -> tuple[b.Conversation | None, list[tuple[str, str, str]]]:
    """One ticket and its conversations as a :class:`Conversation`, and what was left out. Pure."""
    tid = b.ident(raw.get("id"))
    if not tid:
        raise QcikitError(f"{where}: a ticket has no id. Fix: export tickets with their id field.")
    where = f"{where}, ticket {tid}"
    if raw.get("deleted") or raw.get("spam"):
        return None, [(b.DELETED, tid, "conversation")]
    code = raw.get("source")
    channel = SOURCES.get(int(code), str(code)) if isinstance(code, (int, float)) or str(code).isdigit() else str(code or "")
    requester = b.ident(raw.get("requester_id"))
    agents = lookups.get("agents", {})
    skipped: list[tuple[str, str, str]] = []
    messages: list[b.Message] = []
    text, had = _body(raw, "description_text", "description")
    requester_name = str((raw.get("requester") or {}).get("name") or "")
    first_role: b.Role = "agent" if channel == "outbound email" else "customer"
    if text:
        author = b.ident(raw.get("responder_id")) if first_role == "agent" else ""
        messages.append(b.Message(b.parse_time(raw.get("created_at"), tz, where), first_role, text, author,
                                  requester_name if first_role == "customer" else ""))
    elif had:
        skipped.append((b.QUOTED_ONLY, f"{tid}/description", "message"))
    items = conversations if conversations is not None else (raw.get("conversations") or [])
    for i, c in enumerate(items):
        cid = f"{tid}/{b.ident(c.get('id')) or i}"
        if c.get("private"):
            skipped.append((b.INTERNAL_NOTE, cid, "message"))
            continue
        text, had = _body(c, "body_text", "body")
        if not text:
            skipped.append((b.QUOTED_ONLY if had else b.EMPTY, cid, "message"))
            continue
        user = b.ident(c.get("user_id"))
        role: b.Role = "customer" if user == requester else "agent"
        name = requester_name if role == "customer" else str(
            (agents.get(user, {}).get("contact") or {}).get("name") or agents.get(user, {}).get("name") or "")
        messages.append(b.Message(b.parse_time(c.get("created_at"), tz, f"{where}, conversation {cid}"), role, text,
                                  user if role == "agent" else "", name))
    group = b.ident(raw.get("group_id"))
    agent_names = {m.author_name for m in messages if m.role == "agent" and m.author_name}
    conv = b.Conversation(
        id=tid, channel=channel, messages=messages,
        started_at=b.parse_time(raw["created_at"], tz, where) if raw.get("created_at") else None,
        team=group, agent_id=b.ident(raw.get("responder_id")), customer_name=requester_name,
        extra={"subject": b.text_of(raw.get("subject")),
               "group_name": str(lookups.get("groups", {}).get(group, {}).get("name") or ""),
               "agent_name": "; ".join(sorted(agent_names))})
    return conv, skipped


def _conversations_file(folder: Path, tid: str, where: str) -> list[dict] | None:
    path = folder / "conversations" / f"{tid}.json"
    if not path.is_file():
        return None
    return [c for _, c in b.read_records(path, "conversations")]


def _work(job: tuple[Path, int, dict]) -> tuple[Path, b.Conversation | None, list]:
    file, number, raw = job
    where = f"{file.name}, record {number:,}"
    tid = b.ident(raw.get("id"))
    conv, skipped = normalise_ticket(raw, _conversations_file(file.parent, tid, where) if tid else None,
                                     b.SHARED["freshdesk"][file.parent], b.SHARED["tz"], where)
    return file, conv, skipped


def conversations(paths: list[Path], ctx: b.Context) -> Iterator[tuple[Path, b.Conversation | None, list]]:
    files = b.export_files(paths, "tickets", "Freshdesk", LOOKUP_FILES)
    yield from b.stream("freshdesk", files, KEY, ("groups.json", "agents.json"), _work, ctx)


def team_names(conv: b.Conversation) -> tuple[str, ...]:
    return (conv.team, conv.extra.get("group_name", ""))
