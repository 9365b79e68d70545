"""`qcikit import`: helpdesk, chat and call exports become interactions.csv rows.

The fixtures under tests/data/exports/ are written from the vendors' public API references:
Zendesk Support API (Tickets, Ticket Comments, Users, Groups), Intercom REST API 2.x
(Conversation, Conversation Part), Freshdesk API v2 (Tickets, Conversations; source codes from
"Ticket properties"), W3C WebVTT (voice spans ``<v Name>``).
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

import qcikit
from qcikit.cli import main
from qcikit.errors import QcikitError
from qcikit.importers import import_export
from qcikit.importers._text import clean, html_to_text, strip_quoted

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
WAVE = "2026-Q3"


@pytest.fixture
def eng(tmp_path):
    """A fresh engagement in Europe/London time, its Zendesk billing group mapped to a team."""
    from qcikit.scaffold import new_engagement

    folder = new_engagement(tmp_path / "acme", "Acme Outdoors", notebooks=False)
    cfg = yaml.safe_load((folder / "engagement.yaml").read_text())
    cfg.update(waves=["2026-Q2", WAVE], timezone="Europe/London")
    (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    (folder / "import.yaml").write_text("teams:\n  360001234: Billing\n")
    return folder


def rows(folder) -> dict[str, dict]:
    with (folder / "interactions.csv").open(encoding="utf-8", newline="") as fh:
        return {r["interaction_id"]: r for r in csv.DictReader(fh)}


def accounted(result) -> bool:
    """Every conversation read is a row (added, updated, unchanged) or a conversation-level skip."""
    skipped = sum(n for k, n in result.skipped.items() if k.startswith("conversation: "))
    return result.conversations == result.added + result.updated + result.unchanged + skipped


# --- text cleaning -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # Gmail, English
    ("Thanks, that worked!\n\nOn Mon, Jun 3, 2026 at 10:00 AM Northwind <s@nw.example> wrote:\n> Please reset it.",
     "Thanks, that worked!"),
    # Gmail, German / French / Spanish / Dutch as Gmail writes them
    ("Danke.\n\nAm Mo., 3. Juni 2026 um 10:00 Uhr schrieb Northwind <s@nw.example>:\n> Bitte.", "Danke."),
    ("Merci.\n\nLe lun. 3 juin 2026 à 10:00, Northwind <s@nw.example> a écrit :\n> Essayez.", "Merci."),
    ("Gracias.\n\nEl lun, 3 jun 2026 a las 10:00, Northwind (<s@nw.example>) escribió:\n> Pruebe.", "Gracias."),
    ("Bedankt.\n\nOp ma 3 jun. 2026 om 10:00 schreef Northwind <s@nw.example>:\n> Probeer.", "Bedankt."),
    # Outlook's header block, no '>' at all
    ("Still broken.\n\nFrom: Northwind <s@nw.example>\nSent: Monday, June 3, 2026 10:00 AM\nTo: Anna\n"
     "Subject: RE: order\n\nPlease try the reset.", "Still broken."),
    ("Thanks\n\n-----Original Message-----\nFrom: a\nSent: x\nold words", "Thanks"),
    # device signatures go; the agent's own sign-off stays (the rubric scores it)
    ("Great.\n\nSent from my iPhone", "Great."),
    ("Danke.\n\nVon meinem iPhone gesendet", "Danke."),
    ("Hi Anna,\n\nPlease reset it.\n\nHappy trails!\nYour Northwind crew\n\nOn Mon, Jun 3, 2026 at 10:00 AM Anna "
     "<a@x.example> wrote:\n> broken", "Hi Anna,\n\nPlease reset it.\n\nHappy trails!\nYour Northwind crew"),
    # nothing but history
    ("On Mon, Jun 3, 2026 at 10:00 AM X <x@y.example> wrote:\n> old", ""),
    ("> only\n> quoted", ""),
])
def test_quoted_history_and_device_lines_are_stripped(text, expected):
    assert strip_quoted(text) == expected


def test_html_becomes_readable_text_without_quoted_blocks():
    markup = ("<p>Hi Zoë,</p><p>Thanks &amp; sorry &#8212; it&#39;s refunded.</p><ol><li>Check the statement.</li>"
              "<li>Keep the notice.</li></ol><p>Happy trails!<br>Your crew</p><div class='gmail_quote'>On Mon, "
              "Anna &lt;a@x.example&gt; wrote:<blockquote>old text</blockquote></div>")
    text = html_to_text(markup)
    assert text == ("Hi Zoë,\n\nThanks & sorry — it's refunded.\n\n 1. Check the statement.\n 2. Keep the notice.\n\n"
                    "Happy trails!\nYour crew")
    outlook = ('<div>Still broken.</div><div id="appendonsend"></div><div id="divRplyFwdMsg"><b>From:</b> NW<br>'
               '<b>Sent:</b> Monday</div><div>Please try the reset.</div>')
    assert clean(outlook, True) == "Still broken."
    assert clean("<script>alert(1)</script><p>ok &lt;b&gt;</p>", True) == "ok <b>"


# --- Zendesk -----------------------------------------------------------------------------------------------

def test_zendesk_tickets_comments_users_and_groups(eng, tmp_path):
    log = tmp_path / "skipped.csv"
    result = import_export(eng, "zendesk", WAVE, [EXPORTS / "zendesk"], log=log)
    got = rows(eng)
    assert sorted(got) == ["101", "102", "103"]
    assert (result.added, result.updated, result.unchanged) == (3, 0, 0)
    assert accounted(result) and result.conversations == 7
    assert result.skipped == {"conversation: merged ticket": 1, "conversation: bot-only conversation": 1,
                              "conversation: no agent reply": 1, "conversation: duplicate": 1,
                              "message: internal note": 1, "message: system event": 1,
                              "message: empty after quote stripping": 1}
    t101 = got["101"]
    # UTC and +02:00 stamps both written in the engagement's Europe/London time; the private note and the
    # trigger's comment gone; the HTML laid out with its entities and list; the German Gmail quote cut; the
    # reply that was only quoted history dropped; the description not repeated.
    assert t101["transcript"] == (
        "[2026-07-01 09:00:00] Customer: Why was I charged twice for order 36283?\n"
        "[2026-07-01 10:30:00] Agent (7001):\nHi Zoë,\n\nThanks for waiting & sorry for the double charge — it's "
        "refunded.\n\nTo finish:\n\n 1. Check the refund on your next statement.\n 2. Keep the refund notice we "
        "e-mailed.\n\nHappy trails!\nYour Northwind crew\n"
        "[2026-07-01 10:45:00] Customer: Danke, das hat geklappt!")
    assert (t101["started_at"], t101["touchpoint"], t101["team"], t101["agent_id"]) == \
        ("2026-07-01 09:00:00", "email", "Billing", "7001")
    assert (t101["customer_name"], t101["agent_name"], t101["subject"]) == \
        ("Zoë Müller", "Tom Baker", "Charged twice for order 36283")
    t102 = got["102"]["transcript"]
    assert "Sent from my iPhone" not in t102 and "schreef" not in t102 and "From: Northwind" not in t102
    assert t102.endswith("[2026-07-04 08:30:00] Customer: Great, thank you.\n[2026-07-05 08:30:00] Customer: Still waiting.")
    assert "Happy trails!\nYour Northwind crew" in t102  # the agent's sign-off is kept
    assert got["102"]["team"] == "Unassigned" and got["102"]["channel_detail"] == "web"
    # One chat transcript comment, split into turns; its UTC clock times are 14:xx in London in July.
    assert got["103"]["transcript"] == (
        "[2026-07-02 14:37:55] Customer: Hi, where is my order 51234?\n"
        "[2026-07-02 14:38:05] Agent (7001): Hi Aoife, thanks for waiting! Let me check.\n"
        "[2026-07-02 14:39:40] Agent (7001):\nIt left our warehouse today and arrives\nby Friday.\n"
        "[2026-07-02 14:40:02] Customer: Lovely, thanks – grand.\n"
        "[2026-07-02 14:40:30] Agent (7001): Happy trails!")
    assert got["103"]["touchpoint"] == "chat" and got["103"]["team"] == "Live chat"
    logged = list(csv.DictReader(log.open(encoding="utf-8")))
    assert {(r["record"], r["reason"]) for r in logged} >= {("104", "merged ticket"), ("101/1002", "internal note"),
                                                            ("106", "bot-only conversation"), ("101", "duplicate")}
    assert len(logged) == sum(result.skipped.values())


def test_zendesk_ndjson_with_embedded_comments_gives_the_same_rows(eng, tmp_path):
    """The account export's NDJSON (one ticket per line, comments embedded) reads like the API's pages."""
    src = EXPORTS / "zendesk"
    text = (src / "tickets.json").read_text()
    pages = [json.loads(p) for p in text.replace("}\n{\"tickets\"", "}\u0000{\"tickets\"").split("\u0000")]
    out = tmp_path / "ndjson"
    out.mkdir()
    shutil.copy(src / "users.json", out)
    shutil.copy(src / "groups.json", out)
    with (out / "tickets.json").open("w") as fh:
        for page in pages:
            for t in page["tickets"]:
                f = src / "comments" / f"{t['id']}.json"
                if f.is_file():
                    t = {**t, "comments": json.loads(f.read_text())["comments"]}
                fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    other = eng.parent / "other"
    shutil.copytree(eng, other)
    import_export(eng, "zendesk", WAVE, [src])
    import_export(other, "zendesk", WAVE, [out])
    assert rows(eng) == rows(other)


def test_import_twice_changes_nothing_and_a_later_export_updates(eng, tmp_path, capsys):
    import_export(eng, "zendesk", WAVE, [EXPORTS / "zendesk"])
    before = (eng / "interactions.csv").read_bytes()
    assert main(["import", str(eng), "--from", "zendesk", "--wave", WAVE, str(EXPORTS / "zendesk")]) == 0
    assert "0 added, 0 updated, 3 unchanged" in capsys.readouterr().out
    assert (eng / "interactions.csv").read_bytes() == before
    # A later export: ticket 102 has one more comment; nothing else changed.
    later = tmp_path / "later"
    shutil.copytree(EXPORTS / "zendesk", later)
    data = json.loads((later / "tickets.json").read_text().split("\n{\"tickets\"")[0])
    t = next(t for t in data["tickets"] if t["id"] == 102)
    t["comments"].append({"id": 2005, "author_id": 7002, "public": True, "created_at": "2026-07-05T10:00:00+02:00",
                          "body": "A courier brings it tomorrow.", "via": {"channel": "web"}})
    (later / "tickets.json").write_text(json.dumps(data))
    result = import_export(eng, "zendesk", WAVE, [later])
    assert (result.added, result.updated, result.unchanged) == (0, 1, 2)
    got = rows(eng)
    assert got["102"]["transcript"].endswith("[2026-07-05 09:00:00] Agent (7002): A courier brings it tomorrow.")
    assert list(got) == ["101", "102", "103"]  # updated in place, order kept


def test_existing_population_is_kept_and_new_columns_added(eng):
    (eng / "interactions.csv").write_text(
        "interaction_id,started_at,touchpoint,agent_id,team,wave,transcript,effort\n"
        "OLD-1,2026-05-01 10:00,email,A1,Billing,2026-Q2,\"[10:00] Customer: hi\",3\n", encoding="utf-8")
    result = import_export(eng, "zendesk", WAVE, [EXPORTS / "zendesk"], prefix="ZD-")
    got = rows(eng)
    assert list(got) == ["OLD-1", "ZD-101", "ZD-102", "ZD-103"] and result.added == 3
    assert got["OLD-1"]["effort"] == "3" and got["OLD-1"]["customer_name"] == ""
    assert qcikit.Engagement.validate(eng) == []


def test_a_wave_clash_writes_nothing(eng):
    import_export(eng, "zendesk", WAVE, [EXPORTS / "zendesk"])
    before = (eng / "interactions.csv").read_bytes()
    with pytest.raises(QcikitError, match=r"interaction 101 is already in wave 2026-Q3.*Nothing was written.*--prefix"):
        import_export(eng, "zendesk", "2026-Q2", [EXPORTS / "zendesk"])
    assert (eng / "interactions.csv").read_bytes() == before
    assert not [p for p in eng.iterdir() if p.name.endswith(".tmp")]


def test_malformed_line_exits_2_naming_file_and_line_and_writes_nothing(eng, tmp_path, capsys):
    good = {"id": 1, "created_at": "2026-07-01T08:00:00Z", "via": {"channel": "email"}, "requester_id": 5,
            "comments": [{"id": 1, "author_id": 5, "body": "hi", "created_at": "2026-07-01T08:00:00Z"},
                         {"id": 2, "author_id": 6, "body": "hello", "created_at": "2026-07-01T09:00:00Z"}]}
    bad = tmp_path / "tickets.ndjson"
    bad.write_text("\n".join([json.dumps(good)] * 4811 + ['{"id": 2, "created_at": ']) + "\n")
    before = (eng / "interactions.csv").read_bytes()
    assert main(["import", str(eng), "--from", "zendesk", "--wave", WAVE, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "tickets.ndjson, line 4,812: not valid JSON" in err and "Fix:" in err and "Traceback" not in err
    assert (eng / "interactions.csv").read_bytes() == before


@pytest.mark.parametrize("channel, message", [
    ("api", r"channel 'api' does not map to a touchpoint of this engagement\. Fix: add `touchpoints: \{api: LEVEL\}` "
            r"to import.yaml with LEVEL one of email, chat, phone, face_to_face"),
])
def test_unmapped_channel_lists_the_levels_and_import_yaml_maps_it(eng, tmp_path, channel, message):
    t = {"id": 7, "created_at": "2026-07-01T08:00:00Z", "via": {"channel": channel}, "requester_id": 5,
         "comments": [{"id": 1, "author_id": 5, "body": "hi", "created_at": "2026-07-01T08:00:00Z"},
                      {"id": 2, "author_id": 6, "body": "hello", "created_at": "2026-07-01T09:00:00Z"}]}
    f = tmp_path / "t.ndjson"
    f.write_text(json.dumps(t) + "\n")
    with pytest.raises(QcikitError, match=message):
        import_export(eng, "zendesk", WAVE, [f])
    (eng / "import.yaml").write_text(f"touchpoints:\n  {channel}: email\n")
    import_export(eng, "zendesk", WAVE, [f])
    assert rows(eng)["7"]["touchpoint"] == "email"
    (eng / "import.yaml").write_text("touchpoints:\n  api: e-mail\n")
    with pytest.raises(QcikitError, match=r"import.yaml, touchpoints.api: 'e-mail' is not a level"):
        import_export(eng, "zendesk", WAVE, [f])
    # `qcikit validate` reports it too, before anyone imports.
    [problem] = qcikit.Engagement.validate(eng)
    assert str(problem).startswith("import.yaml, touchpoints.api: 'e-mail' is not a level of the touchpoint facet")
    assert "Fix: map it to one of email, chat, phone, face_to_face." in str(problem)
    (eng / "import.yaml").write_text("channels:\n  api: email\n")
    [problem] = qcikit.Engagement.validate(eng)
    assert str(problem).startswith("import.yaml, channels: Extra inputs are not permitted.") and "Fix: keep to" in str(problem)


def test_redact_removes_names_emails_and_phones_and_keeps_no_name_columns(eng, tmp_path):
    t = {"id": 8, "created_at": "2026-07-01T08:00:00Z", "via": {"channel": "email"}, "requester_id": 9001,
         "comments": [{"id": 1, "author_id": 9001, "body": "I'm Zoë Müller, call me on +44 20 7946 0958 or "
                                                             "zoe@example.de", "created_at": "2026-07-01T08:00:00Z"},
                      {"id": 2, "author_id": 7001, "body": "Hi Zoë, Tom here.", "created_at": "2026-07-01T09:00:00Z"}]}
    folder = tmp_path / "z"
    folder.mkdir()
    (folder / "t.ndjson").write_text(json.dumps(t) + "\n")
    shutil.copy(EXPORTS / "zendesk" / "users.json", folder)
    result = import_export(eng, "zendesk", WAVE, [folder / "t.ndjson"], redact=True)
    row = rows(eng)["8"]
    assert row["transcript"] == ("[2026-07-01 09:00:00] Customer: I'm [name], call me on [phone] or [e-mail]\n"
                                 "[2026-07-01 10:00:00] Agent (7001): Hi [name], [name] here.")
    assert row["customer_name"] == "" and row["agent_name"] == ""
    assert result.redacted == {"name": 3, "phone number": 1, "e-mail address": 1}
    assert any("Redacted in transcripts: 1 e-mail address, 3 name, 1 phone number" in line for line in result.summary())
    # The report's label counts what the import removed: its placeholders are personal data removed.
    loaded = qcikit.Engagement.load(eng)
    _, counts = loaded.redact_counted(row["transcript"], "8")
    assert counts == {"name": 3, "e-mail address": 1, "phone number": 1} and "names" in loaded.redaction_kinds()


def test_dates_outside_the_wave_are_left_out(eng):
    result = import_export(eng, "zendesk", WAVE, [EXPORTS / "zendesk"], since="2026-07-02", until="2026-07-02")
    assert sorted(rows(eng)) == ["103"]
    # 101 and its copy, 102, 105 and 106 (dates are checked first); 104 is a merged ticket whatever its date.
    assert result.skipped["conversation: outside the wave's dates"] == 5
    assert accounted(result)


@pytest.mark.parametrize("source, key, path", [("zendesk", "tickets", "zendesk/tickets.json"),
                                               ("intercom", "conversations", "intercom/conversations.json"),
                                               ("freshdesk", "tickets", "freshdesk/tickets.json")])
def test_ndjson_duplicate_and_malformed_lines(eng, tmp_path, source, key, path):
    """Per source: a line repeated counts once, as a duplicate; a broken line names its number; a JSON file
    cut short says so. Nothing is written by the failing imports."""
    text = (EXPORTS / path).read_text()
    records = [r for doc in ([json.loads(text)] if text.lstrip().startswith("[") else
                             [json.loads(p) for p in text.replace("}\n{\"" + key, "}\u0000{\"" + key).split("\u0000")])
               for r in (doc if isinstance(doc, list) else doc[key])]
    folder = tmp_path / source
    shutil.copytree((EXPORTS / path).parent, folder)
    (folder / Path(path).name).unlink()
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    (folder / "export.ndjson").write_text("\n".join(lines + [lines[0]]) + "\n", encoding="utf-8")
    one = import_export(eng, source, WAVE, [folder])
    assert one.skipped["conversation: duplicate"] == (2 if source == "zendesk" else 1)  # Zendesk's pages repeat 101
    assert accounted(one)
    before = (eng / "interactions.csv").read_bytes()
    (folder / "export.ndjson").write_text("\n".join(lines[:2] + [lines[2][:-7]] + lines[3:]) + "\n", encoding="utf-8")
    with pytest.raises(QcikitError, match=r"export.ndjson, line 3: not valid JSON .*Fix:"):
        import_export(eng, source, WAVE, [folder])
    (folder / "export.ndjson").unlink()
    (folder / "cut.json").write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    with pytest.raises(QcikitError, match=r"cut.json: not valid JSON after .*Fix: re-export the file"):
        import_export(eng, source, WAVE, [folder])
    assert (eng / "interactions.csv").read_bytes() == before


# --- Intercom ----------------------------------------------------------------------------------------------

def test_intercom_conversations(eng):
    result = import_export(eng, "intercom", WAVE, [EXPORTS / "intercom" / "conversations.json"])
    got = rows(eng)
    assert sorted(got) == ["1911149811", "1911149812"] and accounted(result)
    assert result.skipped == {"conversation: bot-only conversation": 1, "conversation: no agent reply": 1,
                              "message: internal note": 1, "message: system event": 2}
    # UNIX seconds 1783072800 = 2026-07-03 10:00 UTC = 11:00 in London. The bot is an agent marked as a bot;
    # the assignment that carries a message is kept, the bare one and the close event are not; the note is gone.
    assert got["1911149811"]["transcript"] == (
        "[2026-07-03 11:00:00] Customer: Hi, my smart meter from order 23306 stopped working this morning. "
        "It's showing E-83.\n"
        "[2026-07-03 11:00:03] Agent (bot1, bot): Hi there 👋 I'm Fin, an AI agent. Have you tried turning it off "
        "and on?\n"
        "[2026-07-03 11:02:00] Agent (814860): Hi Émile, I'm Sam and I've picked this up.\n"
        "[2026-07-03 11:03:20] Agent (814860):\nA reset fixes this:\n\n  * Hold the power button for 10 seconds.\n"
        "  * Unplug it after the reset.\n\nAnything else I can do?\n"
        "[2026-07-03 11:05:00] Customer: That worked & thanks!")
    assert got["1911149811"]["agent_id"] == "814860" and got["1911149811"]["touchpoint"] == "chat"
    assert "JIRA" not in got["1911149811"]["transcript"]
    # An e-mail conversation from a lead: the French quoted reply is cut, the agent's sign-off kept.
    assert got["1911149812"]["transcript"].endswith("Kind regards,\nJo\n[2026-07-04 13:00:00] Customer: Merci, c'est clair.")
    assert got["1911149812"]["touchpoint"] == "email" and got["1911149812"]["subject"] == "Bill question"


def test_intercom_unknown_author_type_names_the_part(eng, tmp_path):
    conv = json.loads((EXPORTS / "intercom" / "conversations.json").read_text())["conversations"][0]
    conv["conversation_parts"]["conversation_parts"][0]["author"]["type"] = "robot"
    f = tmp_path / "c.ndjson"
    f.write_text(json.dumps(conv) + "\n")
    with pytest.raises(QcikitError, match=r"c.ndjson, line 1, conversation 1911149811, part p1: author type 'robot'"):
        import_export(eng, "intercom", WAVE, [f])


# --- Freshdesk ---------------------------------------------------------------------------------------------

def test_freshdesk_tickets_and_conversations(eng):
    result = import_export(eng, "freshdesk", WAVE, [EXPORTS / "freshdesk"])
    got = rows(eng)
    assert sorted(got) == ["501", "502", "504"] and accounted(result)
    assert result.skipped == {"conversation: deleted or spam": 1, "message: internal note": 1}
    t = got["501"]["transcript"]
    # description_text preferred over the HTML; the Spanish Gmail quote cut; the private note gone; the
    # forwarded message with incoming=true is the agent's, told by user_id against the requester.
    assert t == ("[2026-08-03 08:00:00] Customer: Hola, I returned the boots on 28 July & still no refund.\n"
                 "[2026-08-03 10:00:00] Agent (43000900):\nHi Lucía,\n\nYour refund of €89.00 was sent today.\n\n"
                 "Best,\nRosa\nNorthwind crew\n"
                 "[2026-08-03 11:00:00] Customer: Gracias!\n"
                 "[2026-08-04 11:00:00] Agent (43000900): Forwarding the bank's note: the refund arrived.")
    assert got["501"]["team"] == "Returns" and got["501"]["touchpoint"] == "email"
    assert got["502"]["touchpoint"] == "chat" and got["502"]["transcript"].startswith(
        "[2026-08-05 15:00:00] Customer: Is the Trail 40 pack waterproof?")  # +01:00 is London's BST
    # Source 10 (outbound e-mail) starts with the agent.
    assert got["504"]["transcript"].startswith("[2026-08-07 10:00:00] Agent (43000900):\nHi Ana,")


# --- messages ----------------------------------------------------------------------------------------------

def test_messages_table(eng):
    result = import_export(eng, "messages", WAVE, [EXPORTS / "messages" / "messages.csv"])
    got = rows(eng)
    assert sorted(got) == ["SF-5001", "SF-5002"] and accounted(result)
    assert result.skipped == {"conversation: no agent reply": 1, "message: internal note": 1, "message: system event": 1}
    # Ordered by sent_at (the note came earlier in the file than its time), the bot marked, Europe/London time.
    assert got["SF-5001"]["transcript"] == (
        "[2026-07-10 08:00:00] Customer: Hallo, meine Rechnung für Juli ist doppelt so hoch wie sonst. Warum?\n"
        "[2026-07-10 08:00:04] Agent (bot-1, bot): Thanks! An agent will join shortly.\n"
        "[2026-07-10 08:02:30] Agent (A-12): Hi Jürgen, I'm sorry about the surprise. Your July bill includes the "
        "meter reading from June.\n"
        "[2026-07-10 08:04:10] Customer: Ah okay – danke!")
    assert got["SF-5001"]["team"] == "Billing" and got["SF-5001"]["customer_name"] == "Jürgen Weiß"
    # Times without an offset are the engagement's own; HTML laid out; the Dutch quote cut.
    assert got["SF-5002"]["transcript"] == (
        "[2026-07-11 14:00:00] Customer:\nMy address changed.\n\nNew: 12 Rose Lane\n"
        "[2026-07-11 16:30:00] Agent (A-12):\nHi Sam,\n\nDone — the new address is on your account.\n\nBest,\nMia\n"
        "[2026-07-12 08:00:00] Customer: Bedankt!")
    assert got["SF-5002"]["touchpoint"] == "email" and got["SF-5002"]["team"] == "Unassigned"


def test_messages_parquet_reads_like_csv(eng, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    df = pd.read_csv(EXPORTS / "messages" / "messages.csv", dtype=str)
    df.to_parquet(tmp_path / "m.parquet", index=False)
    other = eng.parent / "other"
    shutil.copytree(eng, other)
    import_export(eng, "messages", WAVE, [EXPORTS / "messages" / "messages.csv"])
    import_export(other, "messages", WAVE, [tmp_path / "m.parquet"])
    assert rows(eng) == rows(other)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace(",note,", ",memo,"), r"messages.csv, line 6: author_role 'memo' is not one of customer, agent, "
                                              r"bot, note, system\. Fix:"),
    (lambda t: t.replace("author_role", "role", 1), r"messages.csv: the column author_role is missing\. Fix:"),
    (lambda t: t.replace("2026-07-10T09:04:10+02:00", "10/07/2026 9am"),
     r"messages.csv, line 7, sent_at: '10/07/2026 9am' is not a date and time\. Fix:"),
])
def test_messages_mistakes_name_the_line(eng, tmp_path, edit, message):
    f = tmp_path / "messages.csv"
    f.write_text(edit((EXPORTS / "messages" / "messages.csv").read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(QcikitError, match=message):
        import_export(eng, "messages", WAVE, [f])
    assert (eng / "interactions.csv").read_text().count("\n") == 1  # the header only: nothing written


def test_messages_without_channel_take_the_touchpoint_flag(eng, tmp_path):
    text = (EXPORTS / "messages" / "messages.csv").read_text(encoding="utf-8")
    df = list(csv.DictReader(io.StringIO(text)))
    f = tmp_path / "m.csv"
    with f.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, [k for k in df[0] if k != "channel"], extrasaction="ignore")
        w.writeheader()
        w.writerows(df)
    with pytest.raises(QcikitError, match=r"no channel does not map.*or pass --touchpoint LEVEL"):
        import_export(eng, "messages", WAVE, [f])
    import_export(eng, "messages", WAVE, [f], touchpoint="chat")
    assert {r["touchpoint"] for r in rows(eng).values()} == {"chat"}


# --- WebVTT ------------------------------------------------------------------------------------------------

def test_vtt_calls_with_queue_wait(eng):
    result = import_export(eng, "vtt", WAVE, [EXPORTS / "vtt"])
    got = rows(eng)
    assert sorted(got) == ["CALL-1", "CALL-2"] and accounted(result)
    assert result.skipped == {"conversation: call without a transcript file": 1,
                              "conversation: transcript without a row in the calls file": 1}
    # Cue times count from started_at; the queue wait is the pick-up line, as in the sample engagements;
    # one speaker's consecutive cues are one turn; entities unescaped.
    assert got["CALL-1"]["transcript"] == (
        "[2026-07-14 11:00:00] Customer calls and waits in the queue.\n"
        "[2026-07-14 11:02:12] Agent (VO-A114) picks up the call.\n"
        "[2026-07-14 11:02:13] Agent (VO-A114): Good morning, Voltania, this is Sam. How can I help?\n"
        "[2026-07-14 11:02:17] Customer: Hi, my smart meter from order 23306 stopped working & shows E-83. "
        "It's the second time this month.\n"
        "[2026-07-14 11:02:25] Agent (VO-A114): I'm sorry about that. A reset fixes this: hold the power button "
        "for 10 seconds.")
    # queue_seconds instead of answered_at; the agent's voice is their name, the other voice the customer.
    assert got["CALL-2"]["transcript"].split("\n")[1:4] == [
        "[2026-07-14 12:00:45] Agent (VO-A115) picks up the call.",
        "[2026-07-14 12:00:46] Agent (VO-A115): Voltania billing, Dana speaking.",
        "[2026-07-14 12:00:49] Customer: Hi Dana, why did my direct debit go up?"]
    assert {got[c]["touchpoint"] for c in got} == {"phone"} and got["CALL-2"]["team"] == "Billing"


@pytest.mark.parametrize("vtt, message", [
    ("WEBVTT\n", r"CALL-3.vtt: a WebVTT without cues\. Fix:"),
    ("not a vtt at all\n", r"CALL-3.vtt: not a WebVTT file .*Fix:"),
    ("WEBVTT\n\n00:00:11.000 --> 00:00:12.000\n<v Alex>Hello\n\n00:00:13.000 --> 00:00:14.000\n<v Robin>Hi\n",
     r"CALL-3.vtt: which of the voices 'Alex', 'Robin' is the agent cannot be told\. Fix: add an agent_voice column"),
])
def test_vtt_mistakes_name_the_file(eng, tmp_path, vtt, message):
    shutil.copy(EXPORTS / "vtt" / "calls.csv", tmp_path / "calls.csv")
    (tmp_path / "CALL-3.vtt").write_text(vtt)
    with pytest.raises(QcikitError, match=message):
        import_export(eng, "vtt", WAVE, [tmp_path / "calls.csv", tmp_path / "CALL-3.vtt"])


# --- the whole step --------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["zendesk", "intercom", "freshdesk"])
def test_workers_give_the_same_rows(eng, source):
    """Normalising in two forked processes gives what one gives, in the same order."""
    other = eng.parent / "other"
    shutil.copytree(eng, other)
    one = import_export(eng, source, WAVE, [EXPORTS / source], workers=1)
    two = import_export(other, source, WAVE, [EXPORTS / source], workers=2)
    assert (eng / "interactions.csv").read_bytes() == (other / "interactions.csv").read_bytes()
    assert one.skipped == two.skipped


def test_a_mistake_found_in_a_worker_stops_the_import(eng, tmp_path):
    conv = json.loads((EXPORTS / "intercom" / "conversations.json").read_text())["conversations"][0]
    f = tmp_path / "c.ndjson"
    lines = [json.dumps({**conv, "id": str(i)}) for i in range(200)]
    bad = json.loads(lines[150])
    bad["conversation_parts"]["conversation_parts"][0]["author"]["type"] = "robot"
    lines[150] = json.dumps(bad)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(QcikitError, match=r"c.ndjson, line 151, conversation 150, part p1: author type 'robot'"):
        import_export(eng, "intercom", WAVE, [f], workers=2)
    assert (eng / "interactions.csv").read_text().count("\n") == 1


def test_every_source_is_idempotent(eng):
    for source, path in [("intercom", "intercom"), ("freshdesk", "freshdesk"), ("messages", "messages/messages.csv"),
                         ("vtt", "vtt")]:
        first = import_export(eng, source, WAVE, [EXPORTS / path])
        before = (eng / "interactions.csv").read_bytes()
        again = import_export(eng, source, WAVE, [EXPORTS / path])
        assert (again.added, again.updated, again.unchanged) == (0, 0, first.added), source
        assert (eng / "interactions.csv").read_bytes() == before, source


def test_parquet_population_is_merged_in_place(eng):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import_export(eng, "vtt", WAVE, [EXPORTS / "vtt"])
    pd.read_csv(eng / "interactions.csv", dtype=str).to_parquet(eng / "interactions.parquet", index=False)
    (eng / "interactions.csv").unlink()
    result = import_export(eng, "freshdesk", WAVE, [EXPORTS / "freshdesk"])
    assert result.target.name == "interactions.parquet" and result.added == 3
    again = import_export(eng, "freshdesk", WAVE, [EXPORTS / "freshdesk"])
    assert (again.added, again.unchanged) == (0, 3)
    assert sorted(pd.read_parquet(eng / "interactions.parquet")["interaction_id"]) == \
        ["501", "502", "504", "CALL-1", "CALL-2"]


def test_import_can_start_a_parquet_population(eng, capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    assert main(["import", str(eng), "--from", "vtt", "--wave", WAVE, "--parquet", str(EXPORTS / "vtt")]) == 0
    assert "interactions.parquet: 2 added" in capsys.readouterr().out
    assert sorted(pd.read_parquet(eng / "interactions.parquet")["interaction_id"]) == ["CALL-1", "CALL-2"]
    assert qcikit.Engagement.validate(eng) == []
    # Later imports go to the same file, with or without the flag.
    import_export(eng, "freshdesk", WAVE, [EXPORTS / "freshdesk"])
    assert len(pd.read_parquet(eng / "interactions.parquet")) == 5


def test_parquet_is_refused_when_the_population_is_a_csv(eng):
    import_export(eng, "vtt", WAVE, [EXPORTS / "vtt"])
    with pytest.raises(QcikitError, match=r"already in interactions.csv; --parquet would start a second file"):
        import_export(eng, "freshdesk", WAVE, [EXPORTS / "freshdesk"], parquet=True)


def test_command_line_refusals(eng, tmp_path, capsys):
    args = ["import", str(eng), "--from", "zendesk", str(EXPORTS / "zendesk")]
    assert main([*args[:4], "--wave", "2027-Q1", *args[4:]]) == 2
    assert "wave '2027-Q1' is not in engagement.yaml's waves (2026-Q2, 2026-Q3)" in capsys.readouterr().err
    assert main(["import", str(tmp_path), "--from", "zendesk", "--wave", WAVE, str(EXPORTS / "zendesk")]) == 2
    assert "no engagement.yaml" in capsys.readouterr().err
    assert main([*args[:4], "--wave", WAVE, str(tmp_path / "missing")]) == 2
    assert "missing: no such file or folder" in capsys.readouterr().err
    # The wrong --from: an Intercom file read as Zendesk tickets.
    assert main(["import", str(eng), "--from", "zendesk", "--wave", WAVE,
                 str(EXPORTS / "intercom" / "conversations.json")]) == 2
    assert "conversations.json: no tickets found" in capsys.readouterr().err
    # One conversation per line read as Zendesk, Freshdesk tickets read as Intercom: named, with the right --from.
    convs = json.loads((EXPORTS / "intercom" / "conversations.json").read_text())["conversations"]
    (tmp_path / "c.ndjson").write_text("\n".join(json.dumps(c) for c in convs) + "\n")
    assert main(["import", str(eng), "--from", "zendesk", "--wave", WAVE, str(tmp_path / "c.ndjson")]) == 2
    assert ("c.ndjson: the records look like Intercom's export, not Zendesk's. Nothing was written. "
            "Fix: run the import with --from intercom.") in capsys.readouterr().err
    assert main(["import", str(eng), "--from", "intercom", "--wave", WAVE, str(EXPORTS / "freshdesk" / "tickets.json")]) == 2
    assert "tickets.json: the records look like Freshdesk's export, not Intercom's" in capsys.readouterr().err
    assert main(["import", str(eng), "--from", "freshdesk", "--wave", WAVE, str(EXPORTS / "zendesk" / "tickets.json")]) == 2
    assert "tickets.json: the records look like Zendesk's export, not Freshdesk's" in capsys.readouterr().err


def test_round_trip_import_validate_sample_score_render(eng, tmp_path):
    """import → validate → sample → score one interaction in the form → render."""
    from qcikit.report import render_reports
    from qcikit.widgets import ScoringForm

    for source, path in [("zendesk", "zendesk"), ("intercom", "intercom"), ("freshdesk", "freshdesk"),
                         ("messages", "messages"), ("vtt", "vtt")]:
        import_export(eng, source, WAVE, [EXPORTS / path])
    assert qcikit.Engagement.validate(eng) == []
    assert main(["sample", str(eng)]) == 0
    loaded = qcikit.Engagement.load(eng)
    assert len(loaded.sample) == len(loaded.interactions) == 12
    cfg = yaml.safe_load((eng / "engagement.yaml").read_text())
    cfg["raters"] = [{"name": "ana", "role": "lead"}]
    (eng / "engagement.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    loaded = qcikit.Engagement.load(eng)
    from qcikit.inventory import save_classification

    save_classification(eng, "101", {"touchpoint": "email", "customer_type": "existing", "inquiry_type": "billing",
                                     "emotional_state": "calm", "objective": "resolve_problem"}, loaded.schema)
    loaded = qcikit.Engagement.load(eng)
    form = ScoringForm(loaded)
    form.rater.value = "ana"
    form.interaction.value = "101"
    assert "Danke, das hat geklappt!" in form.transcript.value
    for dd in form.points.values():
        if not dd.disabled:
            dd.value = "1"
    form.save.click()
    assert "Saved" in form.status.value, form.status.value
    [result] = render_reports([eng], tmp_path / "out", workers=1, progress=False)
    assert result.ok, result.error
    html = Path(result.html).read_text(encoding="utf-8")
    assert "Acme Outdoors" in html and "1 of 12 sampled interactions scored" in html
