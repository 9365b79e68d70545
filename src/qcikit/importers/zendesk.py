"""Zendesk Support exports: tickets with their comments, users and groups.

Field names as the Zendesk Support API documents them (Tickets, Ticket Comments, Users, Groups):
a ticket has ``id``, ``created_at``, ``description``, ``requester_id``, ``assignee_id``,
``group_id``, ``status``, ``tags`` and ``via.channel``; a comment has ``id``, ``author_id``,
``body`` / ``plain_body`` / ``html_body``, ``public``, ``created_at`` and ``via.channel``; a user
has ``id``, ``name`` and ``role`` (end-user, agent, admin).

Accepted layouts: a tickets file (``{"tickets": [...]}`` pages, or NDJSON as the account export
writes it) with comments embedded (``"comments": [...]``) or in ``comments/<ticket_id>.json``
(``{"comments": [...]}``), and optional ``users.json`` and ``groups.json`` beside the tickets.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from ..errors import QcikitError
from . import _base as b
from ._text import clean

KEY = "tickets"
LOOKUP_FILES = ("users.json", "groups.json", "organizations.json", "ticket_fields.json")
# Comments a trigger, automation or merge wrote: not a person's words.
SYSTEM_CHANNELS = {"rule", "system", "merge", "closed_ticket", "side_conversation", "linked_problem"}
BOT_CHANNELS = {"answer_bot", "answer_bot_for_agents", "answer_bot_for_sdk", "answer_bot_for_slack",
                "answer_bot_for_web_widget", "answer_bot_api", "ai_agent", "bot"}
MERGED_TAG = "closed_by_merge"

# Zendesk Chat's transcript in one comment: "(1:38:05 PM) Jane Doe: text", after "Chat started: …".
_CHAT_LINE = re.compile(r"^\((\d{1,2}:\d{2}(?::\d{2})?)\s*([AaPp]\.?[Mm]\.?)?\)\s+([^:\n]{1,80}?):\s?(.*)$")
_CHAT_STARTED = re.compile(r"Chat started:\s*(\d{4}-\d{2}-\d{2})", re.I)


def _role(comment: dict, ticket: dict, users: dict[str, dict]) -> b.Role:
    if str((comment.get("via") or {}).get("channel") or "") in BOT_CHANNELS:
        return "bot"
    author = b.ident(comment.get("author_id"))
    user = users.get(author)
    if user is not None and user.get("role") in ("end-user", "end_user", "agent", "admin"):
        return "customer" if user["role"] in ("end-user", "end_user") else "agent"
    return "customer" if author == b.ident(ticket.get("requester_id")) else "agent"


def _chat_turns(text: str, day: datetime, requester_name: str, users: dict[str, dict], tz) -> list[b.Message] | None:
    """A chat transcript stored as one comment, split into turns; None when the text is not one.

    Zendesk Chat writes the clock times in the zone its "Chat started" line names (UTC in exports); they are
    converted to the engagement's. Without that line the comment's own date is the day, in the engagement's zone.
    """
    lines = text.split("\n")
    hits = [(_CHAT_LINE.match(line.strip()), line) for line in lines]
    if sum(1 for m, _ in hits if m) < 2:
        return None
    started = _CHAT_STARTED.search(text)
    base = datetime.fromisoformat(started.group(1)) if started else day.replace(hour=0, minute=0, second=0)
    agents = {str(u.get("name")): b.ident(u.get("id")) for u in users.values() if u.get("role") in ("agent", "admin")}
    turns: list[list] = []
    previous: datetime | None = None
    first_speaker = next(m.group(3).strip() for m, _ in hits if m)
    customer = requester_name or first_speaker
    for m, line in hits:
        if m is None:
            if turns and line.strip():  # a turn continued on the next line
                turns[-1][3] += "\n" + line.strip()
            continue
        clock, ampm, name, said = m.groups()
        fmt = "%I:%M:%S %p" if ampm else "%H:%M:%S"
        parts = clock if clock.count(":") == 2 else clock + ":00"
        try:
            t = datetime.strptime(f"{parts} {ampm.replace('.', '').upper()}" if ampm else parts, fmt)
        except ValueError:
            return None
        at = base.replace(hour=t.hour, minute=t.minute, second=t.second)
        while previous is not None and at < previous:  # the chat ran past midnight
            at += timedelta(days=1)
        previous = at
        if started:
            at = b.parse_time(at.isoformat() + "+00:00", tz, "chat transcript")
        name = name.strip()
        role: b.Role = "customer" if name == customer else "agent"
        turns.append([at, role, name, said.strip()])
    return [b.Message(at, role, said, agents.get(name, name) if role == "agent" else "", name)
            for at, role, name, said in turns]


def normalise_ticket(raw: dict, comments: list[dict] | None, lookups: dict[str, dict[str, dict]], tz,
                     where: str) -> tuple[b.Conversation | None, list[tuple[str, str, str]]]:
    """One ticket and its comments as a :class:`Conversation`, and what was left out ``(reason, record, level)``.

    Pure: reads ``raw``, ``comments`` and ``lookups`` without changing them.
    """
    tid = b.ident(raw.get("id"))
    if not tid:
        raise QcikitError(f"{where}: a ticket has no id. Fix: export tickets with their id field.")
    skipped: list[tuple[str, str, str]] = []
    if raw.get("status") == "deleted":
        return None, [(b.DELETED, tid, "conversation")]
    if MERGED_TAG in (raw.get("tags") or []):
        return None, [(b.MERGED, tid, "conversation")]
    users, groups = lookups.get("users", {}), lookups.get("groups", {})
    requester = users.get(b.ident(raw.get("requester_id")), {})
    channel = str((raw.get("via") or {}).get("channel") or "")
    comments = comments if comments is not None else raw.get("comments")
    messages: list[b.Message] = []
    if not comments:
        text = clean(b.text_of(raw.get("description")), False)
        if text:
            messages.append(b.Message(b.parse_time(raw.get("created_at"), tz, f"{where}, ticket {tid}"), "customer",
                                      text, "", str(requester.get("name") or "")))
    else:
        public = [c for c in comments if c.get("public") is not False
                  and str((c.get("via") or {}).get("channel") or "") not in SYSTEM_CHANNELS]
        one_transcript = channel in ("chat", "chat_transcript") and len(public) == 1
        for i, c in enumerate(sorted(comments, key=lambda c: str(c.get("created_at") or ""))):
            cid = f"{tid}/{b.ident(c.get('id')) or i}"
            if c.get("public") is False:
                skipped.append((b.INTERNAL_NOTE, cid, "message"))
                continue
            if str((c.get("via") or {}).get("channel") or "") in SYSTEM_CHANNELS:
                skipped.append((b.SYSTEM_EVENT, cid, "message"))
                continue
            plain = c.get("plain_body") or c.get("body")
            body = clean(b.text_of(plain), False) if plain else clean(b.text_of(c.get("html_body")), True)
            if not body:
                skipped.append((b.QUOTED_ONLY if (plain or c.get("html_body")) else b.EMPTY, cid, "message"))
                continue
            at = b.parse_time(c.get("created_at"), tz, f"{where}, ticket {tid}, comment {cid}")
            turns = _chat_turns(body, at, str(requester.get("name") or ""), users, tz) if one_transcript else None
            if turns:
                messages += turns
                continue
            role = _role(c, raw, users)
            author = b.ident(c.get("author_id"))
            messages.append(b.Message(at, role, body, author if role != "customer" else "",
                                      str(users.get(author, {}).get("name") or "")))
    group = b.ident(raw.get("group_id"))
    agent_names = {m.author_name for m in messages if m.role == "agent" and m.author_name}
    conv = b.Conversation(
        id=tid, channel=channel, messages=messages,
        started_at=b.parse_time(raw["created_at"], tz, f"{where}, ticket {tid}") if raw.get("created_at") else None,
        team=group, agent_id=b.ident(raw.get("assignee_id")), customer_name=str(requester.get("name") or ""),
        extra={"subject": b.text_of(raw.get("subject")), "group_name": str(groups.get(group, {}).get("name") or ""),
               "agent_name": "; ".join(sorted(agent_names))})
    return conv, skipped


def _comments_file(folder: Path, tid: str) -> list[dict] | None:
    path = folder / "comments" / f"{tid}.json"
    if not path.is_file():
        return None
    return [c for _, c in b.read_records(path, "comments")]


def _work(job: tuple[Path, int, dict]) -> tuple[Path, b.Conversation | None, list]:
    file, number, raw = job
    folder = file.parent
    tid = b.ident(raw.get("id"))
    conv, skipped = normalise_ticket(raw, _comments_file(folder, tid) if tid else None, b.SHARED["zendesk"][folder],
                                     b.SHARED["tz"], f"{file.name}, line {number:,}")
    return file, conv, skipped


def conversations(paths: list[Path], ctx: b.Context) -> Iterator[tuple[Path, b.Conversation | None, list]]:
    files = b.export_files(paths, "tickets", "Zendesk", LOOKUP_FILES)
    yield from b.stream("zendesk", files, KEY, ("users.json", "groups.json"), _work, ctx)


def team_names(conv: b.Conversation) -> tuple[str, ...]:
    return (conv.team, conv.extra.get("group_name", ""))

