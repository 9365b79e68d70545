"""A rater team's store on a real PostgreSQL server (issue 22): configuration, isolation, migration, bad
settings, the form's view of who else is scoring, and the report read from the server."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import yaml

import qcikit
from qcikit import QcikitError
from qcikit.cli import main
from qcikit.store import Store, locate

from conftest import SAMPLES


def _no_password(url: str) -> tuple[str, str]:
    """The URL as engagement.yaml may hold it, and the password for PGPASSWORD."""
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", "@"), parts.password


def _engagement(tmp_path, name="bw", client="brightwave", store=None) -> Path:
    folder = tmp_path / name
    shutil.copytree(SAMPLES / client, folder)
    if store:
        cfg = yaml.safe_load((folder / "engagement.yaml").read_text())
        cfg["store"] = store
        (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return folder


def _set_store(folder: Path, url: str | None) -> None:
    cfg = yaml.safe_load((folder / "engagement.yaml").read_text())
    cfg.pop("store", None)
    if url:
        cfg["store"] = url
    (folder / "engagement.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture
def team(pg_url, monkeypatch):
    """The server's URL as a consultant writes it (no password) with the password in the environment."""
    url, password = _no_password(pg_url)
    monkeypatch.setenv("PGPASSWORD", password)
    monkeypatch.delenv("QCIKIT_STORE", raising=False)
    return url


def test_the_store_is_chosen_by_environment_then_file_then_default(tmp_path, monkeypatch):
    folder = _engagement(tmp_path)
    monkeypatch.delenv("QCIKIT_STORE", raising=False)
    assert locate(folder) == (folder / "scores.sqlite", None)
    _set_store(folder, "postgresql://qa@db.example/consultancy")
    assert locate(folder) == ("postgresql://qa@db.example/consultancy", "brightwave")
    monkeypatch.setenv("QCIKIT_STORE", "postgresql://hub@hub.example/qa")
    assert locate(folder) == ("postgresql://hub@hub.example/qa", "brightwave")
    monkeypatch.setenv("QCIKIT_STORE", "/mnt/share/scores.sqlite")
    with pytest.raises(QcikitError, match=r"QCIKIT_STORE: '/mnt/share/scores.sqlite' is not a PostgreSQL URL\. Fix: write"):
        locate(folder)


def teststore_setting_never_holds_a_password(tmp_path, monkeypatch):
    monkeypatch.delenv("QCIKIT_STORE", raising=False)
    folder = _engagement(tmp_path, store="postgresql://qa:hunter2@db.example/consultancy")
    problems = qcikit.Engagement.validate(folder)
    [p] = [p for p in problems if "store" in str(p)]
    assert "must not hold a password" in str(p) and "~/.pgpass" in str(p)
    _set_store(folder, "sqlite:///scores.sqlite")
    [p] = [p for p in qcikit.Engagement.validate(folder) if "store" in str(p)]
    assert "must be a PostgreSQL URL" in str(p)


@pytest.mark.parametrize("case", ["unreachable", "credentials", "database", "key"])
def test_a_server_that_refuses_is_one_message_with_a_fix(case, team, pg_server, tmp_path, monkeypatch, capsys):
    """Issue 22's bad input: one message naming the URL without its password, a fix, exit 2, no traceback, and
    no scores.sqlite written in the folder by mistake."""
    parts = urlsplit(team)
    url = {"unreachable": f"postgresql://qcikit@127.0.0.1:1{parts.path}",
           "credentials": team, "database": team.rsplit("/", 1)[0] + "/no_such_db", "key": team}[case]
    if case == "credentials":
        monkeypatch.setenv("PGPASSWORD", "wrong-secret")
    folder = _engagement(tmp_path)
    main(["scores", "import", str(folder)])  # a SQLite store beside it, which must stay as it is
    before = (folder / "scores.sqlite").read_bytes()
    capsys.readouterr()
    _set_store(folder, url)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "Traceback" not in text and "wrong-secret" not in text and "qcikit-test-secret" not in text
    assert url in text
    expect = {"unreachable": "the server cannot be reached", "credentials": "refused the user name or password",
              "database": "the database does not exist", "key": "there is no store for this engagement"}[case]
    assert expect in text and "Fix:" in text
    if case == "key":
        assert "qcikit store init DIR" in text
    assert main(["scores", "export", str(folder), "--out", str(tmp_path / "x.csv")]) == 2
    assert expect in capsys.readouterr().err
    assert (folder / "scores.sqlite").read_bytes() == before  # never touched, never used instead
    assert not (tmp_path / "x.csv").exists()


def test_migrate_keeps_every_row_and_can_be_rerun(team, tmp_path, capsys):
    folder = _engagement(tmp_path)
    assert main(["scores", "import", str(folder)]) == 0
    local = Store(folder / "scores.sqlite")
    eng = qcikit.Engagement.load(folder)
    iid = eng.sample["interaction_id"].iloc[0]
    rater, element = eng.scores.loc[eng.scores["interaction_id"] == iid, ["rater", "element"]].iloc[0]
    did = local.dispute(iid, rater, element, "lead" if rater != "lead" else "ana", "too generous")
    local.settle(did, "gold" if rater != "gold" else "bo", 0, "settled in calibration")
    local.save_draft(iid, rater, {element: "1"})
    local.note_rule(element, "r1", by="lead", note="read two ways")
    local.record_certification("trainee", eng.rubric.version, 20, .81, .7, .9, True)
    capsys.readouterr()

    assert main(["store", "migrate", str(folder), "--to", team]) == 0
    out = capsys.readouterr().out
    assert f"store: {team}" in out
    remote = Store(team, key="brightwave", create=False)
    for table in ("scores", "events", "drafts", "certifications", "rule_notes", "corrections", "autoscores"):
        a, b = local.table(table), remote.table(table)
        pd.testing.assert_frame_equal(a, b[a.columns], check_dtype=False)  # every row, id and timestamp
    assert main(["store", "migrate", str(folder), "--to", team]) == 0  # again: nothing doubles
    assert remote.n_rows == local.n_rows
    # New saves on the server continue after the copied ids.
    remote.save(iid, rater, {element: 2}, by=rater)
    assert remote.history()["id"].is_unique and remote.latest_score(iid, rater, element) == 2
    # The local file is now behind the server: migrating it again would interleave two histories.
    local.save(iid, rater, {element: 3}, by=rater)
    assert main(["store", "migrate", str(folder), "--to", team]) == 2
    assert "differs from the source's; nothing was copied" in capsys.readouterr().err
    # And back to a single file for the archive, through the engagement's own setting.
    _set_store(folder, team)
    archive = tmp_path / "archive.sqlite"
    assert main(["store", "migrate", str(folder), "--to", "sqlite", "--file", str(archive)]) == 0
    back = Store(archive, create=False)
    pd.testing.assert_frame_equal(back.history(), remote.history(), check_dtype=False)
    pd.testing.assert_frame_equal(back.disputes(), remote.disputes(), check_dtype=False)
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # the archive keeps the file's own guards
        sqlite3.connect(archive).execute("DELETE FROM scores")


def test_two_engagements_in_one_database_never_meet(team, tmp_path, capsys):
    a = _engagement(tmp_path, "a", "brightwave", store=team)
    b = _engagement(tmp_path, "b", "northwind", store=team)
    from qcikit.store import open_store

    with pytest.raises(QcikitError, match="there is no store for this engagement.*qcikit store init DIR"):
        open_store(a)  # a server's schema is made by `store init` or `migrate` only, never on first use
    for folder in (a, b):
        assert main(["store", "init", str(folder)]) == 0
    capsys.readouterr()
    assert open_store(a).n_rows == len(pd.read_csv(a / "scores.csv"))
    ea, eb = qcikit.Engagement.load(a), qcikit.Engagement.load(b)
    assert ea.scores_source.startswith(f"{team} (engagement 'brightwave')")
    assert set(ea.scores["interaction_id"]).isdisjoint(eb.scores["interaction_id"])
    before = eb.scores.copy()
    iid = ea.sample["interaction_id"].iloc[0]
    ea.open_store().save(iid, "ana", {ea.rubric.element_ids[0]: 0}, by="ana")
    pd.testing.assert_frame_equal(qcikit.Engagement.load(b).scores, before)
    assert not (a / "scores.sqlite").exists() and not (b / "scores.sqlite").exists()


def test_the_form_shows_who_else_is_scoring(team, tmp_path):
    from qcikit.widgets import ScoringForm

    folder = _engagement(tmp_path, store=team)
    assert main(["store", "init", str(folder)]) == 0
    eng = qcikit.Engagement.load(folder)
    store = eng.open_store()
    iid = eng.sample["interaction_id"].iloc[3]
    first = eng.rubric.element_ids[0]
    # Two other people, on other machines, have this interaction open; one of them under the same name as ours.
    store.save_draft(iid, "bo", {first: "2"}, session="bo@laptop:1")
    store.save_draft(iid, "ana", {first: "1"}, session="ana@hub:9")
    store.save_draft(iid, "cy", {first: "1"}, session="cy@laptop:2")
    store.save(iid, "cy", {first: 1}, by="cy")  # cy saved since: no longer scoring
    now = store.scoring_now(iid)
    assert sorted(now["rater"]) == ["ana", "bo"]
    form = ScoringForm(eng)
    form.rater.value = "ana"
    form.interaction.value = iid
    assert "Also scoring this interaction now" in form.others.value and "bo (draft at" in form.others.value
    assert "<b>ana</b> in another window" in form.others.value
    form.interaction.value = eng.sample["interaction_id"].iloc[4]
    assert form.others.value == ""
    assert store.scoring_now(iid, minutes=0).empty


def test_the_report_from_the_server_is_the_report_from_the_file(team, tmp_path):
    """The same scores, disputes and settlement in SQLite and on PostgreSQL give byte-identical reports, apart
    from the rendering timestamps."""
    a = _engagement(tmp_path, "file")
    assert main(["scores", "import", str(a)]) == 0
    local = Store(a / "scores.sqlite")
    eng = qcikit.Engagement.load(a)
    sc = eng.scores[eng.scores["wave"] == eng.config.waves[-1]]
    decided = []
    for k in range(3):
        iid, rater, element = sc[["interaction_id", "rater", "element"]].iloc[k * 40]
        first = sc.set_index(["interaction_id", "rater", "element"])["points"][(iid, rater, element)]
        decided.append(((iid, rater, element), 0.0 if first > 0 else 1.0))  # always a change
        did = local.dispute(iid, rater, element, "lead", "check against the rule")
        local.settle(did, "gold", decided[-1][1], "calibration")
    b = tmp_path / "server"
    shutil.copytree(a, b)
    assert main(["store", "migrate", str(b), "--to", team]) == 0
    _set_store(b, team)
    (b / "scores.sqlite").unlink()  # the report can only have read the server
    env = {**os.environ, "PGPASSWORD": os.environ["PGPASSWORD"]}
    procs = [subprocess.Popen([sys.executable, "-m", "qcikit.cli", "render", str(d), "--out", str(tmp_path / f"out-{d.name}"),
                               "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for d in (a, b)]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out
    stem = f"brightwave-{eng.config.waves[-1]}"
    clean = lambda t: re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z| UTC)?", "<time>", t)  # noqa: E731
    html_a, html_b = ((tmp_path / f"out-{d}" / f"{stem}.html").read_text() for d in ("file", "server"))
    assert clean(html_a) == clean(html_b)  # the client's report: identical
    qa_a, qa_b = ((tmp_path / f"out-{d}" / f"{stem}-qa.html").read_text() for d in ("file", "server"))
    # The consultant's QA page names where the scores were read; that line alone differs, and without the password.
    server = f"{team} (engagement &#39;brightwave&#39;)"
    assert f"scores read from: {server} (" in qa_b and "qcikit-test-secret" not in qa_b
    assert clean(qa_a).replace("scores read from: scores.sqlite (", f"scores read from: {server} (") == clean(qa_b).replace(str(b), str(a))
    # Both read the settled points (the three disputes' decisions), not the points first scored.
    pd.testing.assert_frame_equal(qcikit.Engagement.load(a).scores, qcikit.Engagement.load(b).scores)
    settled = qcikit.Engagement.load(b).scores.set_index(["interaction_id", "rater", "element"])["points"]
    assert [settled[k] for k, _ in decided] == [v for _, v in decided]


def test_the_grants_of_docs_store_md_let_a_rater_append_and_nothing_else(team, tmp_path, monkeypatch):
    """docs/store.md's roles: the owner makes the schema, a rater's login saves and reads, and is refused
    every change; a login without the grants gets the permission message, not a traceback."""
    import psycopg

    folder = _engagement(tmp_path, store=team)
    assert main(["store", "init", str(folder)]) == 0
    admin = team.replace("qcikit@", f"qcikit:{os.environ['PGPASSWORD']}@")
    with psycopg.connect(admin, autocommit=True) as con:
        for sql in ("CREATE ROLE qcikit_rater NOLOGIN", "CREATE ROLE ana_r LOGIN PASSWORD 'ana-pw' IN ROLE qcikit_rater",
                    "CREATE ROLE nobody_r LOGIN PASSWORD 'nobody-pw'",
                    "GRANT USAGE ON SCHEMA brightwave TO qcikit_rater",
                    "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA brightwave TO qcikit_rater",
                    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA brightwave TO qcikit_rater"):
            con.execute(sql)
    eng = qcikit.Engagement.load(folder)
    rater_url = team.replace("qcikit@", "ana_r@")
    monkeypatch.setenv("PGPASSWORD", "ana-pw")
    s = Store(rater_url, key="brightwave", create=False)
    iid = eng.sample["interaction_id"].iloc[0]
    s.save(iid, "ana", {eng.rubric.element_ids[0]: 1}, by="ana")
    assert s.latest_score(iid, "ana", eng.rubric.element_ids[0]) == 1
    did = s.dispute(iid, "ana", eng.rubric.element_ids[0], "bo", "check")
    s.settle(did, "cy", 0)
    with psycopg.connect(rater_url.replace("ana_r@", "ana_r:ana-pw@"), autocommit=True) as con:
        con.execute("SET search_path TO brightwave")
        for sql in ("UPDATE scores SET points = 4", "DELETE FROM events", "TRUNCATE drafts"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(sql)
    monkeypatch.setenv("PGPASSWORD", "nobody-pw")
    with pytest.raises(QcikitError, match=r"the database role lacks a permission .*Fix: ask the consultancy's IT"):
        Store(team.replace("qcikit@", "nobody_r@"), key="brightwave", create=False).latest()


def test_a_hub_wide_qcikit_store_serves_every_engagement(pg_url, tmp_path, monkeypatch, capsys):
    """On a JupyterHub the environment names the server once (password included, as an environment may);
    engagement.yaml says nothing, each engagement gets its own schema, and no message shows the password."""
    monkeypatch.setenv("QCIKIT_STORE", pg_url)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    a, b = _engagement(tmp_path, "a", "brightwave"), _engagement(tmp_path, "b", "voltania")
    for folder in (a, b):
        assert main(["store", "init", str(folder)]) == 0
        assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "qcikit-test-secret" not in out and f"{_no_password(pg_url)[0]} (engagement 'voltania')" in out
    ea = qcikit.Engagement.load(a)
    assert ea.scores_source.startswith(f"{_no_password(pg_url)[0]} (engagement 'brightwave')")
    assert len(ea.scores) == len(pd.read_csv(a / "scores.csv"))
    assert not (a / "scores.sqlite").exists() and not (b / "scores.sqlite").exists()
    monkeypatch.delenv("QCIKIT_STORE")
    assert qcikit.Engagement.load(a).scores_source == "scores.csv"  # without it, the folder's own files again


def test_the_form_survives_a_server_that_goes_away(team, tmp_path, monkeypatch):
    """A team's server out of reach mid-session: the form says so where it would show the others and the
    draft, keeps what is typed, and Save refuses with the message instead of raising."""
    from qcikit.widgets import ScoringForm

    folder = _engagement(tmp_path, store=team)
    assert main(["store", "init", str(folder)]) == 0
    eng = qcikit.Engagement.load(folder)
    form = ScoringForm(eng)
    form.rater.value = "ana"
    # From here on the server is out of reach (a port nothing listens on), and the form opens the store anew.
    monkeypatch.setenv("QCIKIT_STORE", f"postgresql://qcikit@127.0.0.1:1/{urlsplit(team).path.lstrip('/')}")
    form._store = None
    form.interaction.value = eng.sample["interaction_id"].iloc[5]
    assert "Cannot see who else is scoring" in form.others.value and "the server cannot be reached" in form.others.value
    first = eng.rubric.element_ids[0]
    form.points[first].value = form.points[first].options[1]
    assert "Draft not kept" in form.status.value
    assert form.points[first].value == form.points[first].options[1]  # what is typed stays
