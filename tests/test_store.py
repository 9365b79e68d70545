"""The append-only score store, on both backends: history, disputes, concurrency, crash safety.

Every test that takes ``where`` runs twice, against a SQLite file and against a real PostgreSQL
server (a throwaway cluster, tests/pgcluster.py): the same API must behave the same on both.
"""
import multiprocessing as mp
import os
import signal
import sqlite3
import time

import pandas as pd
import pytest

from qcikit import QcikitError
from qcikit.store import Store

ELEMENTS = [f"e{i}" for i in range(16)]


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path):
    """Where a store lives, as picklable arguments of Store (a subprocess opens its own)."""
    if request.param == "sqlite":
        return (str(tmp_path / "s.sqlite"), None)
    return (request.getfixturevalue("pg_url"), "acme")


def _open(where, create=True) -> Store:
    return Store(where[0], key=where[1], create=create)


def _raw(where):
    """A plain connection to the store's tables, as an intruder would open one, and the error it must meet."""
    if where[1] is None:
        return sqlite3.connect(where[0], isolation_level=None), sqlite3.DatabaseError
    import psycopg

    con = psycopg.connect(where[0], autocommit=True)
    con.execute(f'SET search_path TO "{where[1]}"')
    return con, psycopg.errors.IntegrityError


def test_latest_wins_and_history_stays(where):
    s = _open(where)
    s.save("I1", "ana", {"e0": 1, "e1": 2}, wave="w1", rubric_version="v1")
    s.save("I1", "ana", {"e0": 3}, note="correction")
    latest = s.latest().set_index("element")["points"]
    assert latest["e0"] == 3 and latest["e1"] == 2
    hist = s.history("I1")
    assert list(hist["points"]) == [1, 2, 3] and hist["note"].iloc[-1] == "correction"


def test_store_refuses_update_and_delete(where):
    s = _open(where)
    s.save("I1", "ana", {"e0": 1})
    did = s.dispute("I1", "ana", "e0", "ben", "why 1?")
    s.record_certification("tia", "v1", 20, .8, .7, .9, True)
    s.rename_rater("ana", "anna", by="lead")
    s.note_rule("e0", "r", by="lead", note="two readings")
    s.save_autoscores(pd.DataFrame({"interaction_id": ["I1"], "element": ["e0"], "points": [1.0], "scorer": ["rules"],
                                    "version": ["1"], "crossfit": [False], "frozen_at": ["2026-01-01T00:00:00+00:00"]}))
    con, refused = _raw(where)
    for table in ("scores", "events", "certifications", "corrections", "rule_notes", "autoscores"):
        with pytest.raises(refused, match="append-only"):
            con.execute(f"UPDATE {table} SET id = id + 100")
        with pytest.raises(refused, match="append-only"):
            con.execute(f"DELETE FROM {table}")
    if where[1] is not None:  # PostgreSQL's TRUNCATE skips row triggers; a statement trigger refuses it
        with pytest.raises(refused, match="append-only"):
            con.execute("TRUNCATE scores")
    con.close()
    assert s.latest()["points"].tolist() == [1] and s.disputes()["id"].tolist() == [did]


def test_dispute_and_settlement_by_a_second_rater(where):
    s = _open(where)
    s.save("I1", "ana", {"e0": 1, "e1": None})
    with pytest.raises(QcikitError, match="needs a comment"):
        s.dispute("I1", "ana", "e0", "ben", " ")
    did = s.dispute("I1", "ana", "e0", "ben", "the agent did give a next step")
    with pytest.raises(QcikitError, match="must be settled by a second rater, not ben"):
        s.settle(did, "ben", 3)
    s.settle(did, "chloe", 3, "agreed with ben")
    with pytest.raises(QcikitError, match="already settled"):
        s.settle(did, "dev", 2)
    assert s.latest_score("I1", "ana", "e0") == 3
    d = s.disputes().iloc[0]
    assert d["raised_by"] == "ben" and d["settled_by"] == "chloe" and d["settled_points"] == 3
    assert len(s.history("I1")) == 3  # the original two rows and the settlement
    assert s.disputes(open_only=True).empty


def test_export_csv_is_the_latest_table(where, tmp_path):
    s = _open(where)
    s.save("I1", "ana", {"e0": 1, "e1": None}, wave="w1", rubric_version="v1")
    s.save("I1", "ana", {"e0": 2}, wave="w1", rubric_version="v1")
    path = s.export_csv(tmp_path / "scores.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == ["interaction_id", "rater", "element", "points", "wave", "rubric_version"]
    pts = df.set_index("element")["points"]
    assert pts["e0"] == 2.0 and pd.isna(pts["e1"])
    assert not list(tmp_path.glob(".*.tmp"))


def _writer(where, rater, n, start=None):
    """Save n forms of 16 elements; forms k and k + 1 of every writer share interactions with the others',
    so the latest row of a key is decided by which save came last. Points encode (writer, form)."""
    s = _open(where, create=False)
    if start is not None:
        start.wait(60)
    for k in range(n):
        s.save(f"I{k % 40}", "shared" if k % 2 else rater, {e: (k * 7 + len(rater)) % 50 for e in ELEMENTS}, by=rater,
               note=f"{rater}:{k}")


RATERS = ["ana", "ben", "chloe", "dev", "eva", "finn", "gus", "hana"]


def test_eight_raters_saving_at_once(where):
    """Issue 22: 8 processes each save 200 forms of 16 elements into one engagement at once. Every row arrives,
    every form is whole, and latest() is what the last save of each key said."""
    _open(where)
    # Another engagement in the same database (PostgreSQL: another schema) must come out untouched.
    other = Store(where[0], key="globex") if where[1] else None
    if other is not None:
        other.save("G1", "ana", {e: 1 for e in ELEMENTS}, by="ana")
        other_before = other.history()
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(where, r, 200, start)) for r in RATERS]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * len(RATERS)
    s = _open(where, create=False)
    hist = s.history()
    assert len(hist) == len(RATERS) * 200 * len(ELEMENTS)
    forms = hist.groupby("note")
    assert forms.size().eq(len(ELEMENTS)).all() and forms.ngroups == len(RATERS) * 200
    assert forms["saved_at"].nunique().eq(1).all() and forms["id"].agg(lambda i: i.max() - i.min()).eq(15).all()
    # The last save of each key, in commit order (= id order on both backends), is what latest() holds.
    last = hist.sort_values("id").groupby(["interaction_id", "rater", "element"]).tail(1)
    expect = last.set_index(["interaction_id", "rater", "element"])["points"].sort_index()
    got = s.latest().set_index(["interaction_id", "rater", "element"])["points"].sort_index()
    pd.testing.assert_series_equal(got, expect, check_names=False)
    # Commit order: a later id is never saved earlier, so no save is hidden behind one that finished before it.
    ordered = hist.sort_values("id")
    assert ordered["saved_at"].is_monotonic_increasing
    assert (got.index.get_level_values("rater") == "shared").sum() == 40 * len(ELEMENTS) // 2
    if other is not None:
        pd.testing.assert_frame_equal(other.history(), other_before)
        assert not hist["interaction_id"].eq("G1").any()


def _big_saver(where, ready):
    s = _open(where, create=False)
    s.save("before", "ana", {e: 1 for e in ELEMENTS})
    ready.set()
    while True:  # keep saving large forms until killed
        s.save("victim", "ana", {f"x{i}": 1 for i in range(20000)})


def test_process_killed_mid_save_loses_nothing_committed(where):
    _open(where)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    others = [ctx.Process(target=_writer, args=(where, r, 60)) for r in ("ben", "chloe")]
    p = ctx.Process(target=_big_saver, args=(where, ready))
    p.start()
    assert ready.wait(60)
    for o in others:
        o.start()
    time.sleep(0.6)
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    for o in others:
        o.join(120)
    assert [o.exitcode for o in others] == [0, 0]  # the others are unaffected
    if where[1] is None:
        con = sqlite3.connect(where[0])
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    s = _open(where, create=False)
    hist = s.history()
    assert (hist["interaction_id"] == "before").sum() == len(ELEMENTS)
    # Every form is whole or absent: the victim's rows come in complete forms of 20,000.
    assert (hist["interaction_id"] == "victim").sum() % 20000 == 0
    assert hist["note"].str.startswith(("ben:", "chloe:")).sum() == 2 * 60 * len(ELEMENTS)
    s.save("after", "ana", {"e0": 2})  # the store still works
    assert s.latest_score("after", "ana", "e0") == 2


def test_a_mistyped_rater_is_corrected_by_an_event_not_an_edit(tmp_path, capsys):
    """Issue 17: the form saved rater "devv"; validate's fix ("correct the name") was impossible in an
    append-only store. Now validate names the correction command, and the command keeps the history."""
    import shutil

    import qcikit
    from qcikit.cli import main

    from conftest import SAMPLES

    folder = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", folder)
    assert main(["scores", "import", str(folder)]) == 0
    eng = qcikit.Engagement.load(folder)
    iid = eng.sample["interaction_id"].iloc[0]
    store = Store(folder / "scores.sqlite")
    store.save(iid, "devv", {e: 1 for e in eng.rubric.element_ids}, wave=eng.config.waves[-1],
               rubric_version=eng.rubric.version)
    problems = qcikit.Engagement.validate(folder)
    [typo] = [p for p in problems if "devv" in str(p)]
    assert f"qcikit scores correct {folder} --rater devv --to dev" in typo.fix
    assert main(["scores", "correct", str(folder), "--rater", "devv", "--to", "deev"]) == 2
    assert "'deev' is not a declared rater; nothing was changed" in capsys.readouterr().err
    assert main(["scores", "correct", str(folder), "--rater", "devv", "--to", "dev", "--reason", "typo"]) == 0
    assert qcikit.Engagement.validate(folder) == []
    latest = store.latest()
    assert "devv" not in set(latest["rater"]) and (latest.loc[latest["interaction_id"] == iid, "rater"] == "dev").any()
    assert "devv" in set(store.history(iid)["rater"])  # nothing rewritten
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite3.connect(folder / "scores.sqlite").execute("DELETE FROM corrections")
    # Importing an export made after the correction adds nothing.
    store.export_csv(tmp_path / "after.csv")
    assert main(["scores", "import", str(folder), str(tmp_path / "after.csv")]) == 0
    assert "Imported 0 new row(s)" in capsys.readouterr().out


def test_a_form_saved_by_mistake_is_retracted(where):
    s = _open(where)
    s.save("I1", "ana", {"e0": 1, "e1": 2}, wave="w1")
    s.save("I2", "ana", {"e0": 4}, wave="w1")
    with pytest.raises(QcikitError, match="a retraction needs a reason"):
        s.retract("I1", "ana", by="lead")
    with pytest.raises(QcikitError, match="no form by 'ana' for interaction 'I9'"):
        s.retract("I9", "ana", by="lead", reason="wrong id")
    assert s.retract("I1", "ana", by="lead", reason="scored the wrong interaction") == 2
    assert set(s.latest()["interaction_id"]) == {"I2"}
    s.save("I1", "ana", {"e0": 3}, wave="w1")  # a later save of the same form counts again
    assert s.latest().set_index("interaction_id").loc["I1", "points"] == 3
    assert len(s.history("I1")) == 3 and s.corrections()["kind"].tolist() == ["retract"]


def test_machine_runs_are_kept_apart_and_the_later_run_wins(where):
    s = _open(where)
    run = lambda scorer, version, pts: pd.DataFrame({  # noqa: E731
        "interaction_id": ["I1", "I1", "I2"], "element": ["e0", "e1", "e0"], "points": pts, "scorer": scorer,
        "version": version, "crossfit": False, "frozen_at": "2026-01-01T00:00:00+00:00"})
    assert s.save_autoscores(run("rules", "1", [1.0, None, 2.0])) == 3
    s.save_autoscores(run("model", "a", [3.0, 3.0, 3.0]))
    s.save_autoscores(run("rules", "2", [4.0, 0.0, None]))
    got = s.autoscores("rules")
    assert got["version"].tolist() == ["2"] * 3 and got["points"].tolist()[:2] == [4.0, 0.0] and pd.isna(got["points"].iloc[2])
    assert s.autoscores()["scorer"].value_counts().to_dict() == {"model": 3, "rules": 3}
    assert s.latest().empty  # machine scores never reach the human ones


def test_a_store_laid_out_by_a_newer_qcikit_is_refused(where):
    """The layout is recorded in the store; an older qcikit refuses a newer one rather than misread it."""
    s = _open(where)
    s.save("I1", "ana", {"e0": 1})
    con, _ = _raw(where)
    if where[1] is None:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        con.execute("PRAGMA user_version = 7")
    else:
        assert con.execute("SELECT MAX(version) FROM qcikit_schema").fetchone()[0] == 1
        con.execute("INSERT INTO qcikit_schema (version) VALUES (7)")
    con.close()
    with pytest.raises(QcikitError, match=r"made by a newer qcikit \(layout 7, this one reads up to 1\)\. Fix: upgrade"):
        _open(where, create=False)
