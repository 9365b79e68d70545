"""Intercom conversations, as the Intercom REST API (2.x) documents the Conversation object.

A conversation has ``id``, ``created_at`` (UNIX seconds), ``source`` (the first message: ``type``,
``body`` as HTML, ``author``), ``conversation_parts.conversation_parts`` (each with ``id``,
``part_type``, ``body``, ``created_at`` and ``author.type``), ``team_assignee_id`` and
``admin_assignee_id``. Files hold ``{"conversations": [...]}`` pages or one conversation per line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ..errors import QcikitError
from . import _base as b
from ._text import clean

KEY = "conversations"
CUSTOMER_TYPES = {"user", "lead", "contact"}
AGENT_TYPES = {"admin", "team"}
# Kept: what the customer and the agents wrote. Notes are internal; everything else is an event.
KEPT_PARTS = {"comment", "assignment"}


def _role(author: dict | None, where: str) -> b.Role:
    kind = str((author or {}).get("type") or "")
    if kind in CUSTOMER_TYPES:
        return "customer"
    if kind in AGENT_TYPES:
        return "agent"
    if kind == "bot":
        return "bot"
    raise QcikitError(f"{where}: author type '{kind}' is not one Intercom documents (user, lead, contact, admin, "
                      "bot). Fix: re-export the conversations unchanged, or correct the author's type.")


def normalise_conversation(raw: dict, tz, where: str) -> tuple[b.Conversation | None, list[tuple[str, str, str]]]:
    """One conversation as a :class:`Conversation`, and what was left out ``(reason, record, level)``. Pure."""
    cid = b.ident(raw.get("id"))
    if not cid:
        raise QcikitError(f"{where}: a conversation has no id. Fix: export conversations with their id field.")
    where = f"{where}, conversation {cid}"
    source = raw.get("source") or {}
    skipped: list[tuple[str, str, str]] = []
    messages: list[b.Message] = []
    customer_name = ""

    def add(part_id: str, author: dict | None, body, created) -> None:
        nonlocal customer_name
        role = _role(author, f"{where}, part {part_id}")
        text = clean(b.text_of(body), True)
        if not text:
            skipped.append((b.QUOTED_ONLY if body else b.EMPTY, f"{cid}/{part_id}", "message"))
            return
        author = author or {}
        if role == "customer" and not customer_name:
            customer_name = str(author.get("name") or "")
        messages.append(b.Message(b.parse_time(created, tz, f"{where}, part {part_id}"), role, text,
                                  b.ident(author.get("id")) if role != "customer" else "", str(author.get("name") or "")))

    add("source", source.get("author"), source.get("body"), raw.get("created_at"))
    parts = (raw.get("conversation_parts") or {}).get("conversation_parts") or []
    for i, part in enumerate(parts):
        pid = b.ident(part.get("id")) or str(i)
        kind = part.get("part_type")
        if kind == "note":
            skipped.append((b.INTERNAL_NOTE, f"{cid}/{pid}", "message"))
        elif kind in KEPT_PARTS and (kind == "comment" or part.get("body")):
            add(pid, part.get("author"), part.get("body"), part.get("created_at"))
        else:
            skipped.append((b.SYSTEM_EVENT, f"{cid}/{pid}", "message"))
    agent_names = {m.author_name for m in messages if m.role == "agent" and m.author_name}
    conv = b.Conversation(
        id=cid, channel=str(source.get("type") or ""), messages=messages,
        started_at=b.parse_time(raw["created_at"], tz, where) if raw.get("created_at") else None,
        team=b.ident(raw.get("team_assignee_id")), agent_id=b.ident(raw.get("admin_assignee_id")),
        customer_name=customer_name,
        extra={"subject": clean(b.text_of(source.get("subject")), True), "agent_name": "; ".join(sorted(agent_names))})
    return conv, skipped


def _work(job: tuple[Path, int, dict]) -> tuple[Path, b.Conversation | None, list]:
    file, number, raw = job
    conv, skipped = normalise_conversation(raw, b.SHARED["tz"], f"{file.name}, line {number:,}")
    return file, conv, skipped


def conversations(paths: list[Path], ctx: b.Context) -> Iterator[tuple[Path, b.Conversation | None, list]]:
    files = b.export_files(paths, "conversations", "Intercom")
    yield from b.stream("intercom", files, KEY, (), _work, ctx)


def team_names(conv: b.Conversation) -> tuple[str, ...]:
    return (conv.team,)
