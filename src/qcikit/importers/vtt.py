"""Call transcripts: one WebVTT file per call (``<call_id>.vtt``, speakers as ``<v Name>`` voices) and a
calls CSV with ``call_id``, ``started_at``, ``answered_at`` or ``queue_seconds``, ``agent_id``, ``team``
(optional ``agent_voice``, ``customer_voice``, ``agent_name``, ``customer_name``, ``channel``).

Cue times are offsets from the start of the call (``started_at``). The queue wait becomes the lines
"Customer calls and waits in the queue." and "Agent (id) picks up the call.", as in the sample
engagements, so timing rules can be scored. Consecutive cues of one speaker are one turn.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Iterator

from ..errors import QcikitError
from . import _base as b

REQUIRED = ("call_id", "started_at", "agent_id", "team")
AGENT_VOICES = {"agent", "advisor", "adviser", "representative", "rep", "operator", "associate", "staff"}
CUSTOMER_VOICES = {"customer", "caller", "client", "member", "patient", "guest"}
_CUE_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})(?:\.(\d{1,3}))?$")


def _seconds(stamp: str) -> float:
    m = _CUE_TIME.match(stamp.strip())
    if not m:
        raise ValueError(stamp)
    hours, minutes, seconds, millis = m.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int((millis or "0").ljust(3, "0")) / 1000


def _calls(paths: list[Path]):
    import pandas as pd

    csvs = [p for path in paths for p in (sorted(path.glob("*.csv")) if path.is_dir() else [path]) if p.suffix.lower() == ".csv"]
    if not csvs:
        raise QcikitError("no calls CSV among the paths given. Fix: add the calls file (call_id, started_at, "
                          "answered_at or queue_seconds, agent_id, team) to the command.")
    frames = []
    for path in csvs:
        df = b.read_table(path)
        missing = [c for c in REQUIRED if c not in df.columns]
        if "answered_at" not in df.columns and "queue_seconds" not in df.columns:
            missing.append("answered_at or queue_seconds")
        if missing:
            raise QcikitError(f"{path.name}: the calls file lacks {', '.join(missing)}. Fix: add the column"
                              f"{'s' if len(missing) > 1 else ''} (docs/formats.md, 'vtt').")
        df["_file"] = path.name
        df["_line"] = range(2, len(df) + 2)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _voice_roles(voices: list[str], call: dict, where: str) -> dict[str, b.Role]:
    named_agent = {str(call.get(k) or "").strip().lower() for k in ("agent_voice", "agent_id", "agent_name")} - {""}
    named_customer = {str(call.get(k) or "").strip().lower() for k in ("customer_voice", "customer_name")} - {""}
    roles: dict[str, b.Role] = {}
    for voice in voices:
        key = voice.strip().lower()
        if key in named_agent or key in AGENT_VOICES:
            roles[voice] = "agent"
        elif key in named_customer or key in CUSTOMER_VOICES:
            roles[voice] = "customer"
    unknown = [v for v in voices if v not in roles]
    if unknown and len(unknown) == 1 and "customer" not in roles.values():
        roles[unknown[0]] = "customer"
    elif unknown and len(unknown) == 1 and "agent" not in roles.values():
        roles[unknown[0]] = "agent"
    elif unknown:
        raise QcikitError(f"{where}: which of the voices {', '.join(repr(v) for v in unknown)} is the agent cannot be "
                          "told. Fix: add an agent_voice column to the calls file naming the agent's voice.")
    return roles


def normalise_call(call: dict, captions: list[tuple[float, str, str]], tz, where: str) -> b.Conversation:
    """One call and its cues ``(offset seconds, voice, text)`` as a :class:`Conversation`. Pure."""
    cid = str(call["call_id"])
    start = b.parse_time(call["started_at"], tz, f"{call['_file']}, line {call['_line']:,}, started_at")
    if call.get("answered_at"):
        answered = b.parse_time(call["answered_at"], tz, f"{call['_file']}, line {call['_line']:,}, answered_at")
    else:
        try:
            answered = start + timedelta(seconds=float(call.get("queue_seconds") or 0))
        except ValueError:
            raise QcikitError(f"{call['_file']}, line {call['_line']:,}: queue_seconds '{call['queue_seconds']}' is not "
                              "a number. Fix: give the seconds the caller waited, e.g. 42.") from None
    voices = list(dict.fromkeys(v for _, v, _ in captions if v))
    if not voices:
        raise QcikitError(f"{where}: the cues name no speaker. Fix: export the transcript with speaker voices "
                          "(<v Agent>…, <v Customer>…).")
    roles = _voice_roles(voices, call, where)
    agent = str(call["agent_id"])
    messages: list[b.Message] = []
    previous = None
    for offset, voice, text in captions:
        voice = voice or previous  # a cue without a voice continues the last speaker
        if voice is None:
            raise QcikitError(f"{where}: the first cue names no speaker. Fix: start it with <v Name>.")
        if messages and voice == previous:
            last = messages[-1]
            messages[-1] = b.Message(last.at, last.role, f"{last.text} {text}", last.author_id, last.author_name)
        else:
            role = roles[voice]
            messages.append(b.Message(start + timedelta(seconds=offset), role, text, agent if role == "agent" else "",
                                      voice))
        previous = voice
    return b.Conversation(
        id=cid, channel=str(call.get("channel") or "phone"), messages=messages, started_at=start,
        team=str(call["team"]), agent_id=agent, customer_name=str(call.get("customer_name") or ""),
        extra={"agent_name": str(call.get("agent_name") or "")},
        opening=[(start, "Customer calls and waits in the queue."), (answered, f"Agent ({agent}) picks up the call.")])


def read_cues(path: Path) -> list[tuple[float, str, str]]:
    import webvtt

    try:
        captions = webvtt.read(str(path)).captions
    except Exception as exc:  # webvtt-py raises MalformedFileError and, on odd input, plain errors
        raise QcikitError(f"{path.name}: not a WebVTT file ({exc}). Fix: export the transcript as WebVTT "
                          "(a 'WEBVTT' first line, then cues 00:00:01.000 --> 00:00:04.000).") from None
    if not captions:
        raise QcikitError(f"{path.name}: a WebVTT without cues. Fix: re-export the call's transcript; "
                          "an empty file holds no conversation to score.")
    out = []
    for c in captions:
        try:
            offset = _seconds(c.start)
        except ValueError:
            raise QcikitError(f"{path.name}: cue time '{c.start}' cannot be read. Fix: write cue times as "
                              "hh:mm:ss.ttt.") from None
        text = html.unescape(re.sub(r"<[^>]+>", "", c.text)).replace("\n", " ").strip()
        if text:
            out.append((offset, (c.voice or "").strip(), text))
    return out


def conversations(paths: list[Path], ctx: b.Context) -> Iterator[tuple[Path, b.Conversation | None, list]]:
    calls = _calls(paths)
    vtts = {p.stem: p for path in paths for p in (sorted(path.glob("*.vtt")) if path.is_dir() else [path])
            if p.suffix.lower() == ".vtt"}
    known = set()
    for call in calls.to_dict("records"):
        cid = str(call["call_id"])
        known.add(cid)
        file = vtts.get(cid)
        if file is None:
            yield Path(call["_file"]), None, [(b.NO_TRANSCRIPT, cid, "conversation")]
            continue
        yield file, normalise_call(call, read_cues(file), ctx.tz, file.name), []
    for stem, file in vtts.items():
        if stem not in known:
            yield file, None, [(b.NOT_IN_CALLS, stem, "conversation")]


def team_names(conv: b.Conversation) -> tuple[str, ...]:
    return (conv.team,)
