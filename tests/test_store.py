"""The append-only SQLite score store: history, disputes, concurrency, crash safety."""
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


def test_latest_wins_and_history_stays(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.save("I1", "ana", {"e0": 1, "e1": 2}, wave="w1", rubric_version="v1")
    s.save("I1", "ana", {"e0": 3}, note="correction")
    latest = s.latest().set_index("element")["points"]
    assert latest["e0"] == 3 and latest["e1"] == 2
    hist = s.history("I1")
    assert list(hist["points"]) == [1, 2, 3] and hist["note"].iloc[-1] == "correction"


def test_store_refuses_update_and_delete(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.save("I1", "ana", {"e0": 1})
    con = sqlite3.connect(s.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE scores SET points = 4")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM scores")
    con.close()
    assert s.latest()["points"].tolist() == [1]


def test_dispute_and_settlement_by_a_second_rater(tmp_path):
    s = Store(tmp_path / "s.sqlite")
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


def test_export_csv_is_the_latest_table(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.save("I1", "ana", {"e0": 1, "e1": None}, wave="w1", rubric_version="v1")
    s.save("I1", "ana", {"e0": 2}, wave="w1", rubric_version="v1")
    path = s.export_csv(tmp_path / "scores.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == ["interaction_id", "rater", "element", "points", "wave", "rubric_version"]
    pts = df.set_index("element")["points"]
    assert pts["e0"] == 2.0 and pd.isna(pts["e1"])
    assert not list(tmp_path.glob(".*.tmp"))


def _writer(path, rater, n):
    s = Store(path)
    for k in range(n):
        s.save(f"I{k}", rater, {e: k % 5 for e in ELEMENTS}, by=rater)


def test_two_processes_scoring_at_once(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, r, 150)) for r in ("ana", "ben")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    latest = Store(path).latest()
    assert len(latest) == 2 * 150 * len(ELEMENTS)
    assert latest.groupby("rater").size().tolist() == [150 * len(ELEMENTS)] * 2


def _big_saver(path, ready):
    s = Store(path)
    s.save("before", "ana", {e: 1 for e in ELEMENTS})
    ready.set()
    while True:  # keep saving large forms until killed
        s.save("victim", "ana", {f"x{i}": 1 for i in range(20000)})


def test_process_killed_mid_save_loses_nothing_committed(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_big_saver, args=(path, ready))
    p.start()
    assert ready.wait(60)
    time.sleep(0.4)
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    s = Store(path)
    hist = s.history()
    assert (hist["interaction_id"] == "before").sum() == len(ELEMENTS)
    # Every form is whole or absent: the victim's rows come in complete forms of 20,000.
    assert (hist["interaction_id"] == "victim").sum() % 20000 == 0
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


def test_a_form_saved_by_mistake_is_retracted(tmp_path):
    s = Store(tmp_path / "s.sqlite")
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
