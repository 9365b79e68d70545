"""Auto-scorers (qcikit.assist), their storage, and the assisted QCI on an engagement (metrics.qci_estimate)."""
import importlib.util
import shutil
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

import qcikit
from qcikit import assist, metrics
from qcikit._schema import SchemaError
from qcikit.cli import main
from qcikit.errors import MetricsError, QcikitError
from qcikit.templates import starter_rubric


@pytest.fixture
def northwind(tmp_path):
    d = tmp_path / "northwind"
    shutil.copytree(SAMPLES / "northwind", d)
    return d


class Brand:
    signature_phrases = ["Happy trails!"]
    sign_off = "Your Northwind crew"
    avoid = ["unfortunately"]


CHAT = """Case facts (for the rater): none.
[23:59:30] Customer: Where is my parcel? I need it before my trip.
[23:59:50] Agent (A1): Hi Mateo, thank you for your patience. I have your order in front of me now.
[00:02:10] Agent (A1): It arrives on Thursday. Does that answer your question?
[00:02:30] Agent (A1): Happy trails! Your Northwind crew"""
EMAIL = """[2026-06-24 09:22] Customer (e-mail): Why was I charged twice?
[2026-06-24 19:40] Agent (A2) (e-mail):
Hello.
Unfortunately that is our policy.
[2026-06-24 19:41] Agent (A2) (e-mail): Could you send me your order number?"""


def _one(frame, iid, element):
    got = frame[(frame["interaction_id"] == iid) & (frame["element"] == element)]["points"]
    return float(got.iloc[0])


def test_turns_read_clock_times_across_midnight_and_email_bodies():
    tr = assist.turns(pd.Series([CHAT, EMAIL]))
    chat = tr[tr["unit"] == 0]
    assert chat["seconds"].tolist() == [0, 20, 160, 180]  # 23:59:30 → 00:02:30 is 180 s later, not a day earlier
    assert chat["speaker"].tolist() == ["Customer", "Agent", "Agent", "Agent"]
    email = tr[tr["unit"] == 1]
    assert email["seconds"].tolist() == [0, 37080, 37140]
    # the e-mail's body lines belong to the agent's turn above them; the case-facts header to nobody
    text = assist.agent_text(pd.Series([CHAT, EMAIL, None]))
    assert text[1] == "\nHello.\nUnfortunately that is our policy.\nCould you send me your order number?"
    assert text[0].startswith("Hi Mateo, thank you") and text[2] == ""
    assert "Case facts" not in "".join(text)


def test_a_transcript_with_a_date_that_is_no_date_is_read_not_refused():
    tr = assist.turns(pd.Series(["[2026-13-45 09:00] Customer: hi\n[2026-13-45 09:01] Agent (A): hello", None, ""]))
    assert tr["seconds"].tolist() == [0, 60]


def test_rules_scorer_decides_timing_and_phrases_by_the_rubric_arithmetic():
    rubric = starter_rubric()
    frame = pd.DataFrame({"interaction_id": ["c", "e"], "touchpoint": ["chat", "email"], "transcript": [CHAT, EMAIL]})
    got = assist.score_rules(frame, rubric, Brand())
    # chat: first response 20 s (within 60 s: +3) and "thank you for your patience" (+1) → 4 of 4
    assert _one(got, "c", "response_time") == 4
    # e-mail: answered after 10 h 18 min, more than twice the 4 h standard: 0 + 0 − 2, clamped at 0
    assert _one(got, "e", "response_time") == 0
    # chat: confirms receipt (+2) but a silent gap of 140 s (−1) → 1
    assert _one(got, "c", "acknowledgement") == 1
    # greeting by name and the brand's phrase and sign-off from engagement.yaml's brand voice
    assert _one(got, "c", "greeting") >= 1
    assert _one(got, "e", "greeting") == 0
    assert _one(got, "c", "branded_statements") > _one(got, "e", "branded_statements")
    # "that is our policy" hides behind policy; asking for the order number again costs efficiency
    assert _one(got, "e", "policy_reason") == 0
    assert _one(got, "e", "efficient_resolution") < _one(got, "c", "efficient_resolution")
    # no rule of complete_accurate has a pattern: that element is left undecided (no row), not guessed
    assert "complete_accurate" not in set(got["element"])


def test_re2_and_python_re_agree_on_every_pattern_of_the_sample_population():
    """The rules scorer matches with Arrow's RE2 for speed; Python's re is the reference reading."""
    import re
    import warnings

    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    text = assist.agent_text(eng.interactions["transcript"].iloc[:3000])
    for e in eng.rubric.model.elements:
        for r in [*e.rules.additive, *e.rules.subtractive]:
            for p in r.patterns:
                p = assist._expand(p, eng.config.brand_voice)
                if p is None:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    ref = text.str.contains(p, flags=re.IGNORECASE | re.MULTILINE, regex=True).to_numpy(dtype=bool)
                assert (assist._contains(text, p) == ref).all(), (e.id, r.id, p)


def test_a_pattern_re2_cannot_read_falls_back_to_python():
    text = pd.Series(["Thanks, Anna", "Thanks"])
    assert assist._contains(text, r"thanks(?=, )").tolist() == [True, False]  # a look-ahead: Python's re


def test_model_scorer_is_cross_fitted(northwind):
    """A sampled interaction's prediction comes from a model that never saw it: changing its own human score
    leaves its prediction as it was, while the other folds' models (which saw it) move."""
    eng = qcikit.Engagement.load(northwind)
    first = assist.score_model(eng, eng.interactions[["interaction_id", "touchpoint", "transcript"]])
    changed = eng.scores.copy()
    greet = changed[changed["element"] == "greeting"]
    target = greet.loc[greet["points"] == 0, "interaction_id"].iloc[0]
    rows = (changed["interaction_id"] == target) & (changed["element"] == "greeting")
    changed.loc[rows, "points"] = 2.0  # from 0 to the maximum
    eng.scores = changed
    second = assist.score_model(eng, eng.interactions[["interaction_id", "touchpoint", "transcript"]])
    key = ["interaction_id", "element"]
    both = first.merge(second, on=key, suffixes=("_a", "_b"))
    greeting = both[both["element"] == "greeting"].set_index("interaction_id")
    assert greeting.loc[target, "points_a"] == greeting.loc[target, "points_b"]
    assert (greeting["points_a"] != greeting["points_b"]).sum() > 100  # unsampled ones average all folds
    assert ((first["points"] >= 0) & (first["points"] <= first["element"].map(eng.rubric.max_points))).all()


def test_model_scorer_needs_human_scores(tmp_path):
    d = tmp_path / "nw"
    shutil.copytree(SAMPLES / "northwind", d)
    (d / "scores.csv").unlink()
    (d / "gold.csv").unlink()
    eng = qcikit.Engagement.load(d)
    with pytest.raises(QcikitError, match="learns from human scores and there are none"):
        assist.autoscore(eng, "model")


def test_plugin_scorer_is_registered_and_checked(northwind):
    eng = qcikit.Engagement.load(northwind)
    assist.register_scorer("thanks", lambda t, r: {"apology_courtesy": 2.0 if "thank" in t.lower() else 0.0}, "v7")
    rows = assist.autoscore(eng, "thanks", wave="2026-Q3")
    assert set(rows["version"]) == {"v7"} and set(rows["element"]) == {"apology_courtesy"}
    assert rows["interaction_id"].nunique() == (eng.interactions["wave"] == "2026-Q3").sum()
    assist.register_scorer("wild", lambda t, r: {"greeting": 9.0})
    with pytest.raises(QcikitError, match="gave 9.0 points to 'greeting' .* outside 0–2"):
        assist.autoscore(eng, "wild")
    assist.register_scorer("lost", lambda t, r: {"smile": 1.0})
    with pytest.raises(QcikitError, match="returned element 'smile'"):
        assist.autoscore(eng, "lost")
    with pytest.raises(QcikitError, match="'rules' is a built-in scorer"):
        assist.register_scorer("rules", lambda t, r: {})


def test_autoscores_csv_then_store_keep_runs_apart_from_human_scores(northwind):
    eng = qcikit.Engagement.load(northwind)
    rows = assist.autoscore(eng, "rules")
    where = assist.save_autoscores(eng, rows)
    assert where.endswith("autoscores.csv")
    again = assist.save_autoscores(eng, assist.autoscore(eng, "rules"))  # a re-run replaces, never doubles
    assert again == where
    held = assist.load_autoscores(eng, "rules")
    assert len(held) == len(rows)
    # the version's first run is remembered: frozen_at does not move on a re-run
    assert set(held["frozen_at"]) == set(rows["frozen_at"])
    human_before = qcikit.Engagement.load(northwind).scores
    pd.testing.assert_frame_equal(human_before, eng.scores)
    # with a store, runs go there, append-only
    from qcikit.store import Store

    store = Store(northwind / "scores.sqlite")
    store.import_scores(eng.scores)
    assert assist.save_autoscores(eng, rows.assign(scorer="rules2")).endswith("scores.sqlite")
    assert len(assist.load_autoscores(eng, "rules2")) == len(rows)
    con = sqlite3.connect(northwind / "scores.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE autoscores SET points = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM autoscores")
    con.close()
    # the store's scores are still only the human ones
    assert set(qcikit.Engagement.load(northwind).scores["rater"]) == set(eng.scores["rater"])


def test_parquet_writer_keeps_chunked_ids_and_marks_columns_without_nulls_required(tmp_path):
    """A run's ids come from a population Arrow read in blocks (a chunked column): they are written as they
    are, and read back the same. A column without a null is a required field (no definition level per row);
    one with a null stays optional, and the null reads back as an empty cell."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pd.StringDtype("pyarrow", na_value=np.nan)
    chunked = pa.chunked_array([["NO-3", "NO-1"], ["NO-2"]], type=pa.large_string())
    ids = pd.Index(pd.array(chunked, dtype=text))
    n = 6
    rows = pd.DataFrame({
        "interaction_id": pd.Categorical.from_codes(np.array([0, 1, 2, 0, 1, 2], dtype=np.int32),
                                                    dtype=pd.CategoricalDtype(ids)),
        "element": pd.Categorical.from_codes(np.repeat(np.array([0, 1], dtype=np.int16), 3), ["greeting", "close"]),
        "points": [1.0, np.nan, 2.0, 0.0, 1.0, 3.0],
        "scorer": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), ["rules"]),
        "version": pd.Categorical.from_codes(np.array([0, 0, 0, -1, 0, 0], dtype=np.int8), ["v1"]),
        "crossfit": np.zeros(n, dtype=bool),
        "frozen_at": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), ["2026-12-03T00:00:00+00:00"]),
    })
    path = assist.write_autoscores_parquet(rows, tmp_path / "autoscores.parquet")
    schema = pq.read_schema(path)
    assert {f.name for f in schema if not f.nullable} == {"interaction_id", "element", "scorer", "crossfit", "frozen_at"}
    back = assist.read_autoscores(path)
    assert back["interaction_id"].astype(str).tolist() == ["NO-3", "NO-1", "NO-2", "NO-3", "NO-1", "NO-2"]
    assert back["element"].astype(str).tolist() == ["greeting"] * 3 + ["close"] * 3
    assert back["version"].astype(str).tolist() == ["v1", "v1", "v1", "", "v1", "v1"]
    np.testing.assert_array_equal(back["points"].to_numpy(dtype=float), rows["points"].to_numpy())


def test_a_parquet_file_whose_row_groups_hold_different_dictionaries_reads_as_its_text(tmp_path):
    """A client's Parquet file may encode each row group with a dictionary of its own, with nulls, or (another
    writer's) a dictionary that repeats a value: each row reads as the text it holds, the ids as categories."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = ["NO-2", "NO-1", None, "NO-3", "NO-1", "NO-2"]
    path = tmp_path / "autoscores.parquet"
    groups = [pa.table({"interaction_id": pa.array(part).dictionary_encode(), "element": pa.array(["greeting"] * 3),
                        "points": [1.0, 2.0, None], "scorer": pa.array(["acme"] * 3).dictionary_encode()})
              for part in (ids[:3], ids[3:])]
    with pq.ParquetWriter(path, groups[0].schema) as writer:
        for group in groups:
            writer.write_table(group)
    assert pq.ParquetFile(path).num_row_groups == 2
    back = assist._read_autoscores_parquet(path, assist.COLUMNS[:4])
    assert isinstance(back["interaction_id"].dtype, pd.CategoricalDtype)
    assert back["interaction_id"].astype(str).tolist() == [i or "" for i in ids]  # a null is an empty cell
    assert back["scorer"].astype(str).tolist() == ["acme"] * 6
    # A dictionary that repeats a value cannot be categories: Arrow's own conversion reads it instead.
    repeated = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int32()), pa.array(["NO-1", "NO-2", "NO-1"]))
    assert assist._dictionary_categorical(pa.chunked_array([repeated])) is None
    pq.write_table(pa.table({"interaction_id": repeated, "element": ["greeting"] * 3, "points": [1.0, 2.0, 3.0],
                             "scorer": ["acme"] * 3}), path)
    assert assist._read_autoscores_parquet(path, assist.COLUMNS[:4])["interaction_id"].astype(str).tolist() == \
        ["NO-1", "NO-2", "NO-1"]


def test_a_run_longer_than_a_spreadsheet_is_kept_as_parquet(northwind, tmp_path, monkeypatch, capsys):
    """Fifteen million rows are no CSV: past a spreadsheet's rows the run goes to autoscores.parquet, read back
    as the same table, replaced (never doubled) on a re-run, and checked by validate like the CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    as_csv = tmp_path / "as_csv"
    shutil.copytree(northwind, as_csv)
    eng = qcikit.Engagement.load(northwind)
    rows = assist.autoscore(eng, "rules")
    assert assist.save_autoscores(qcikit.Engagement.load(as_csv), rows).endswith("autoscores.csv")
    monkeypatch.setattr(assist, "SPREADSHEET_ROWS", len(rows) - 1)
    where = assist.save_autoscores(eng, rows)
    assert where.endswith("autoscores.parquet") and not (northwind / "autoscores.csv").exists()
    key = ["scorer", "interaction_id", "element"]
    # Read back, the ids and the run's constant columns stay codes (categoricals); the analyses see text.
    assert isinstance(assist.load_autoscores(eng)["interaction_id"].dtype, pd.CategoricalDtype)
    from_parquet = assist.runs(eng, "rules").sort_values(key, ignore_index=True)
    from_csv = assist.runs(qcikit.Engagement.load(as_csv), "rules").sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    table = pq.read_table(northwind / "autoscores.parquet")
    assert table.schema.field("points").type == pa.float64() and table.schema.field("crossfit").type == pa.bool_()
    monkeypatch.setattr(assist, "SPREADSHEET_ROWS", 10**9)  # the file already there decides, not the run's length
    assert assist.save_autoscores(eng, assist.autoscore(eng, "rules")) == where
    assert len(assist.load_autoscores(eng, "rules")) == len(rows)
    assert set(assist.load_autoscores(eng, "rules")["frozen_at"]) == set(rows["frozen_at"])
    assert main(["validate", str(northwind)]) == 0
    capsys.readouterr()
    # A client's own Parquet: typed points, integer ids of no interaction, an element of no rubric.
    client = tmp_path / "acme.parquet"
    pq.write_table(pa.table({"interaction_id": ["NO-000001", "NO-000002"], "element": ["greeting", "smile"],
                             "points": [1.0, None], "scorer": ["acme", "acme"]}), client)
    assert main(["autoscore", str(northwind), "--import", str(client)]) == 2
    assert "not in the rubric (first: 'smile')" in capsys.readouterr().err
    (northwind / "autoscores.parquet").unlink()
    shutil.copy(client, northwind / "autoscores.parquet")
    (northwind / "autoscores.csv").write_text("interaction_id,element,points,scorer\n")
    assert main(["validate", str(northwind)]) == 2
    assert "both autoscores.csv and autoscores.parquet hold machine scores" in capsys.readouterr().out
    with pytest.raises(QcikitError, match="both autoscores.csv and autoscores.parquet"):
        assist.load_autoscores(eng)
    (northwind / "autoscores.csv").unlink()
    assert main(["validate", str(northwind)]) == 2
    out = capsys.readouterr().out
    assert "autoscores.parquet" in out and "not in the rubric (first: 'smile')" in out
    (northwind / "autoscores.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(QcikitError, match="cannot be read as Parquet"):
        assist.read_autoscores(northwind / "autoscores.parquet")


def test_a_scorer_frozen_after_human_scoring_began_is_refused(northwind):
    from qcikit.store import Store

    eng = qcikit.Engagement.load(northwind)
    Store(northwind / "scores.sqlite").import_scores(eng.scores)  # human scoring begins now
    eng = qcikit.Engagement.load(northwind)
    assist.save_autoscores(eng, assist.autoscore(eng, "rules"))  # the rules were frozen after it began
    with pytest.raises(QcikitError, match="may be tuned on the scores that judge it"):
        metrics.qci_estimate(eng, "2026-Q3", assisted="rules")
    # declared frozen before (e.g. an AutoQA tool's version fixed last quarter): accepted
    early = assist.autoscore(eng, "rules").assign(scorer="vendor", frozen_at="2020-01-01T00:00:00+00:00")
    assist.save_autoscores(eng, early)
    assert metrics.qci_estimate(eng, "2026-Q3", assisted="vendor")["n_effective"].iloc[0] > 0
    # the cross-fitted model is honest by construction, whenever it ran
    assist.save_autoscores(eng, assist.autoscore(eng, "model"))
    assert metrics.qci_estimate(eng, "2026-Q3", assisted="model")["estimate"].notna().all()


def test_assisted_qci_on_a_sample(northwind):
    eng = qcikit.Engagement.load(northwind)
    plain = metrics.qci_estimate(eng, "2026-Q3")
    trend = metrics.trend(eng).set_index("wave").loc["2026-Q3"]
    assert plain["estimate"].iloc[0] == pytest.approx(trend["estimate"], abs=1e-9)
    assist.save_autoscores(eng, assist.autoscore(eng, "rules"))
    r = metrics.qci_estimate(eng, "2026-Q3", assisted="rules")
    # the human-only figure beside it is the plain design-based estimate (to sample.csv's six-decimal weights:
    # the assisted estimate counts each stratum's N in the population itself)
    assert r["human_estimate"].iloc[0] == pytest.approx(plain["estimate"].iloc[0], rel=1e-7)
    assert r["human_se"].iloc[0] == pytest.approx(plain["se"].iloc[0], rel=1e-6)
    assert r["N"].iloc[0] == (eng.interactions["wave"] == "2026-Q3").sum()
    assert r["se"].iloc[0] < r["human_se"].iloc[0]
    assert r["n_effective"].iloc[0] > 2 * r["n"].iloc[0]
    strata = r.attrs["strata"]
    assert set(strata.columns) >= {"stratum", "N", "n", "lam", "r"}
    # a dimension, an element and a team the same way
    dim = metrics.qci_estimate(eng, "2026-Q3", assisted="rules", measure="Timing")
    assert 0 <= dim["estimate"].iloc[0] <= 100
    el = metrics.qci_estimate(eng, "2026-Q3", assisted="rules", measure="greeting")
    el_plain = metrics.qci_estimate(eng, "2026-Q3", measure="greeting")
    assert el["human_estimate"].iloc[0] == pytest.approx(el_plain["estimate"].iloc[0], rel=1e-7)
    team = eng.interactions["team"].iloc[0]
    t = metrics.qci_estimate(eng, "2026-Q3", assisted="rules", team=team)
    assert t["n"].iloc[0] < r["n"].iloc[0]
    # the change between waves: two independent assisted estimates, compared as the kit compares waves
    q2 = metrics.qci_estimate(eng, "2026-Q2", assisted="rules").iloc[0]
    change = metrics.compare(q2, r.iloc[0])
    assert change["se"] < metrics.compare(metrics.qci_estimate(eng, "2026-Q2").iloc[0], plain.iloc[0])["se"]


def test_assisted_qci_refuses_what_it_cannot_estimate(northwind):
    eng = qcikit.Engagement.load(northwind)
    with pytest.raises(QcikitError, match="no auto-scores of scorer 'rules'"):
        metrics.qci_estimate(eng, "2026-Q3", assisted="rules")
    assist.save_autoscores(eng, assist.autoscore(eng, "rules", wave="2026-Q2"))
    with pytest.raises(QcikitError, match="decided no element of wave '2026-Q3'"):
        metrics.qci_estimate(eng, "2026-Q3", assisted="rules")
    q3 = assist.autoscore(eng, "rules", wave="2026-Q3")
    assist.save_autoscores(eng, q3[q3["interaction_id"] != q3["interaction_id"].iloc[0]])
    with pytest.raises(MetricsError, match="has not scored 1 of wave '2026-Q3''s"):
        metrics.qci_estimate(eng, "2026-Q3", assisted="rules")
    with pytest.raises(MetricsError, match="measure 'smile' is neither"):
        metrics.qci_estimate(eng, "2026-Q3", measure="smile")
    eng.sample = None
    with pytest.raises(MetricsError, match="there is no sample.csv"):
        metrics.qci_estimate(eng, "2026-Q3", assisted="rules")


def test_machine_agreement_is_alpha_with_bias(northwind):
    eng = qcikit.Engagement.load(northwind)
    run = assist.autoscore(eng, "rules")
    assist.save_autoscores(eng, run)
    table = assist.agreement(eng, "rules", n_boot=200).set_index("element")
    # `qcikit autoscore` judges the run in hand (its human-scored rows alone): the same table as the kept scores'.
    pd.testing.assert_frame_equal(assist.agreement(eng, run, n_boot=200).set_index("element"), table)
    assert {"estimate", "ci_low", "ci_high", "bias", "verdict", "percent_agreement"} <= set(table.columns)
    assert "complete_accurate" not in table.index  # undecided: no agreement to show
    assert table.loc["response_time", "estimate"] > 0.8  # timestamps decide it
    assert (table["ci_low"] <= table["estimate"]).all()


def test_cli_autoscore_and_import(northwind, tmp_path, capsys):
    assert main(["autoscore", str(northwind), "--scorer", "rules", "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "Scored 2400 interactions with 'rules'" in out and "Agreement with the human scores" in out
    vendor = tmp_path / "vendor.csv"
    vendor.write_text("interaction_id,element,points,scorer\nNO-000001,greeting,2,acme\nNO-000002,greeting,,acme\n")
    assert main(["autoscore", str(northwind), "--import", str(vendor)]) == 0
    assert "Took 2 machine scores" in capsys.readouterr().out
    eng = qcikit.Engagement.load(northwind)
    assert len(assist.load_autoscores(eng, "acme")) == 2 and len(assist.load_autoscores(eng, "rules")) > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("interaction_id,element,points,scorer\nNO-000001,greeting,7,acme\nZZ-1,smile,1,acme\n")
    assert main(["autoscore", str(northwind), "--import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not in the population (first: 'ZZ-1')" in err and "not in the rubric (first: 'smile')" in err
    assert main(["autoscore", str(northwind), "--scorer", "gpt"]) == 2
    assert "scorer 'gpt' is not known" in capsys.readouterr().err
    assert main(["autoscore", str(northwind), "--scorer", "x", "--plugin", "nosuchmodule:fn"]) == 2
    assert "cannot load it" in capsys.readouterr().err


def test_validate_lists_every_autoscores_problem(northwind, capsys):
    (northwind / "autoscores.csv").write_text(
        "interaction_id,element,points,scorer\nNO-000001,greeting,9,acme\nZZ,greeting,1,acme\nNO-000001,nope,1,acme\n")
    assert main(["validate", str(northwind)]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "3 problems found" in text
    assert "not in the population" in text and "not in the rubric" in text and "outside the element's 0–max" in text


def test_rubric_patterns_must_compile(make_rubric, small_rubric_dict):
    from qcikit.rubric import Rubric, RubricError

    d = small_rubric_dict
    d["elements"][0]["rules"]["additive"][0]["patterns"] = ["thank(s"]
    with pytest.raises(RubricError, match="is not a valid regular expression"):
        Rubric.from_dict(d)
    d["elements"][0]["rules"]["additive"][0]["patterns"] = ["{signature_phrases}", r"\bthanks?\b"]
    d["elements"][0]["rules"]["additive"][0]["timing"] = "within_standard"
    assert Rubric.from_dict(d).model.elements[0].rules.additive[0].timing == "within_standard"


def test_arrow_csv_writer_writes_the_kits_csv_bytes(tmp_path):
    """Machine scores are written by Arrow (millions of rows); the bytes are those of the kit's pandas writer,
    quoting only what needs it."""
    import pyarrow as pa

    from qcikit._io import write_arrow_csv, write_csv

    for values in (["BR-1", "BR-2"], ['say "hi", then', "two\nlines"]):
        df = pd.DataFrame({"interaction_id": values, "points": ["1", ""]})
        write_arrow_csv(pa.table({c: pa.array(df[c].tolist(), type=pa.string()) for c in df}), tmp_path / "a.csv")
        write_csv(df, tmp_path / "b.csv")
        assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_response_standards_name_the_clients_own_touchpoints():
    """A client whose touchpoints are its own ('webchat') gives their standards in engagement.yaml; without
    one, a timing rule cannot be read and does not fire."""
    rubric = starter_rubric()
    frame = pd.DataFrame({"interaction_id": ["c"], "touchpoint": ["webchat"], "transcript": [CHAT]})
    unknown = assist.score_rules(frame, rubric, Brand())
    known = assist.score_rules(frame, rubric, Brand(), standards={"webchat": 30})
    assert _one(known, "c", "response_time") == _one(unknown, "c", "response_time") + 3  # 20 s within 30 s
    assert assist.rules_version(rubric, Brand(), {"webchat": 30}) != assist.rules_version(rubric, Brand())
    with pytest.raises(SchemaError, match="response_standards: Value error, response standards must be seconds greater than 0"):
        qcikit.engagement.EngagementConfig.validate(
            {"client": "a", "slug": "a", "waves": ["w"], "response_standards": {"chat": 0}})


def test_the_reports_detail_tables_are_model_assisted_like_the_headline(tmp_path):
    """Issue 21: with `assisted:`, the dimension, element and team tables give the machine-corrected estimate
    (what qci_estimate gives for that measure) with the raters' figure beside it; a measure the machine never
    decides, and a team too small to correct, stay on raters' scores and say so."""
    import shutil

    from conftest import SAMPLES
    from qcikit.sections import ReportContext

    folder = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", folder)
    ctx = ReportContext.load(folder)
    eng, wave = ctx.eng, ctx.wave
    dims = ctx.dimensions().set_index("dimension")
    for d in eng.rubric.dimensions:
        r = metrics.qci_estimate(eng, wave, assisted="rules", measure=d).iloc[0]
        assert dims.loc[d, "estimate"] == pytest.approx(r["estimate"], abs=1e-12)
        assert dims.loc[d, "human_estimate"] == pytest.approx(r["human_estimate"], abs=1e-6)
    el = ctx.elements().set_index("element")
    undecided = [e for e in eng.rubric.element_ids if not el.loc[e, "assisted"]]
    assert undecided  # the starter rubric's rules leave at least one element to the raters
    for e in undecided:
        with pytest.raises(qcikit.QcikitError, match="scores no"):
            metrics.qci_estimate(eng, wave, assisted="rules", measure=e)
        assert el.loc[e, "estimate"] == el.loc[e, "human_estimate"]
    html = str(ctx.detail_html())
    assert html.count("<th scope=\"col\">Raters alone</th>") == 2 and "same (not machine-scored)" in html
    teams = ctx.current["team"].value_counts()
    big, small = teams.index[0], teams.index[-1]
    t = metrics.qci_estimate(eng, wave, assisted="rules", team=big).iloc[0]
    table = str(ctx.group_table("team", "Teams", "Team"))
    assert f"<td>{big}</td><td>{t['estimate']:.1f}</td>" in table and f"raters alone: {t['human_estimate']:.1f}" in table
    ctx.min_cell = int(teams[small]) + 1  # the smaller team now has too few rated interactions to correct
    table = str(ctx.group_table("team", "Teams", "Team"))
    assert "raters&#39; scores only" in table and f"<td>{big}</td><td>{t['estimate']:.1f}</td>" in table
    # Without `assisted:`, nothing of the machine appears.
    plain = ReportContext.load(SAMPLES / "northwind")
    assert "Raters alone" not in str(plain.detail_html()) and not plain.elements()["assisted"].any()


def test_the_change_since_the_wave_before_is_model_assisted_where_the_machine_scored_both(tmp_path):
    """Issue 21: with `assisted:` and machine scores in both waves, each change row compares the two waves'
    assisted estimates (metrics.compare, Bonferroni within the same families), page one's headline change is
    the table's QCI row, and "what changed" in words follows the same table."""
    from conftest import SAMPLES
    from qcikit.sections import ReportContext

    ctx = ReportContext.load(SAMPLES / "brightwave")
    eng, ch = ctx.eng, ctx.change_detail
    before, conf = ch.attrs["before"], eng.config.confidence
    assert ch["assisted"].sum() >= 10 and not ch.loc[ch["kind"] == "overall", "assisted"].eq(False).any()
    for r in ch[ch["assisted"]].itertuples():
        m = "qci" if r.kind == "overall" else r.measure
        a = metrics.qci_estimate(eng, before, assisted="rules", measure=m).iloc[0].to_dict()
        b = metrics.qci_estimate(eng, ctx.wave, assisted="rules", measure=m).iloc[0].to_dict()
        c = metrics.compare(a, b, conf, r.comparisons)
        assert (r.change, r.ci_low, r.ci_high, r.significant) == pytest.approx(
            (c["change"], c["ci_low"], c["ci_high"], c["significant"]), abs=1e-9)
    human = ctx.change.set_index("measure")
    for r in ch[~ch["assisted"]].itertuples():  # undecided by the machine: the raters' comparison, untouched
        assert r.change == human.loc[r.measure, "change"]
    assert ctx.headline()["change"]["change"] == pytest.approx(ch.iloc[0]["change"], abs=1e-12)
    words = str(ctx.what_changed())
    for r in ch[(ch["kind"] == "element") & ch["significant"].astype(bool)].itertuples():
        assert ctx.element_name(r.measure) in words
    html = str(ctx.change_html())
    assert "Estimated from" in html and "machine + raters" in html
    plain = ReportContext.load(SAMPLES / "northwind")
    assert "Estimated from" not in str(plain.change_html()) and not plain.change_detail["assisted"].any()


# Patterns chosen to take every path of the matcher: the one-pass set, a long counted repetition read line by
# line (and only on long enough lines), a pattern that spans lines, a look-ahead RE2 refuses (Python's re),
# a case-sensitive island, and line anchors.
MATCHER_PATTERNS = [r"thank(s| you)\b", r"[^\n]{90,}", r"policy\s+reason", r"order(?= number)",
                    r"(?-i:\bA[0-9]\b)", r"^(yes|no)\b", r"sorry if", r"\bcould you\b", r"^hello\.$",
                    r"y[^\n]{95,}", r"[^\r\n]{20,}?"]
MATCHER_TEXTS = [CHAT, EMAIL, None, "",
                 "[10:00] Customer: hi\n[10:01] Agent (A9): Yes, this is a line that is long enough to be a wall of text, as one line of ninety characters or more (ref A7).",
                 "[10:00] Agent (A1): policy\n[10:00] Agent (A1): reason: a1 a9 Thanks"]


def test_rule_matcher_answers_as_one_pattern_at_a_time_on_every_path():
    reading = assist.read_agent(pd.Series(MATCHER_TEXTS))
    joined = reading.agent
    matcher = assist.RuleMatcher(MATCHER_PATTERNS)
    assert matcher.needs_widths
    # the paths are what the patterns' shapes say: the set holds the plain ones
    assert sorted(MATCHER_PATTERNS[k] for k in matcher.single) == sorted(
        [r"[^\n]{90,}", r"order(?= number)", r"y[^\n]{95,}", r"[^\r\n]{20,}?"])
    assert assist._shape(r"[^\n]{90,}").one_line and not assist._shape(r"policy\s+reason").one_line
    # a run of anything but "\n" is decided by the line's length; a letter before it, or "\r" refused, is not
    assert assist._shape(r"[^\n]{90,}").length_only and assist._shape(r"(?:.{3,9})").length_only
    assert not assist._shape(r"y[^\n]{95,}").length_only and not assist._shape(r"[^\r\n]{20,}?").length_only
    assert not assist._shape(r"(?s).{90,}").length_only and not assist._shape(r"[^\n]{90,}|x").length_only
    assert not assist._shape(r"policy[[:space:]]{2,40}reason").one_line  # an RE2 class Python would misread
    got = matcher(reading)
    for k, regex in enumerate(MATCHER_PATTERNS):
        assert got[:, k].tolist() == assist._contains(joined, regex).tolist(), regex
    # Without the longest lines (not asked for), the long-line patterns are matched on the whole text: the same.
    assert (matcher(assist.read_agent(pd.Series(MATCHER_TEXTS), widths=False)) == got).all()
    assert got[4, 1] and not got[0, 1]  # the long line, and only it
    assert got[4, 9] and not got[5, 9]  # "Yes, this is a line ..." holds 95 characters after its "Y"
    assert got[4, 5] and got[5, 2] and got[5, 0]  # "Yes" opens a line once the stamp is gone; across two lines
    assert got[4, 4] and not got[5, 4]  # "A7" counts, "a1" does not, nor the agent's "(A1)" stamp: case holds


def test_rule_matcher_rematches_texts_the_set_gave_up_on(monkeypatch):
    """RE2 answers nothing when its automaton runs out of memory: the sentinel shows it, and those texts are
    matched one pattern at a time, so the answer does not change."""
    reading = assist.read_agent(pd.Series(MATCHER_TEXTS))
    matcher = assist.RuleMatcher(MATCHER_PATTERNS)
    expected = matcher(reading)
    real = matcher._set
    # what the check relies on: a search that ran to the end reports the sentinel, whatever the text
    assert all(0 in real.Match(memoryview(t.encode())) for t in ["", "\n", "é", "thank you", "x" * 5000])

    class GivesUp:
        calls = 0

        def Match(self, text):
            GivesUp.calls += 1
            return [] if GivesUp.calls % 2 else real.Match(text)

    matcher._set = GivesUp()
    assert (matcher(reading) == expected).all()


def test_rules_scorer_is_the_same_with_and_without_the_one_pass_set(monkeypatch):
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    pop = eng.interactions.iloc[:3000][["interaction_id", "touchpoint", "transcript"]]
    cfg = eng.config
    fast = assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=700, standards=cfg.response_standards)
    # Every pattern read as RE2-only: one Arrow pass per rule over the joined text, the plainest path.
    monkeypatch.setattr(assist, "_shape", lambda regex: assist._Shape(parsed=False))
    assert not assist.RuleMatcher(MATCHER_PATTERNS).members
    slow = assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=700, standards=cfg.response_standards)
    assert fast["points"].notna().any()
    pd.testing.assert_frame_equal(fast, slow)


def _same_reading(a, b):
    import numpy as np

    assert a.n == b.n
    for field in ("answered", "has_customer", "silent", "widest"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        assert x is None or (x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)), field
    assert a.agent.to_pylist() == b.agent.to_pylist()


# Lines that try each choice of the stamp and agent-name regexes: a date that is no date, a date without a
# clock, one- and three-digit hours, "T" and space separators, seconds or none, RE2's whitespace (\t \f \r but
# not \v), "Agents", a name in parentheses that never closes, two and three parentheses, non-ASCII letters,
# "\r\n" line ends, empty and null transcripts, a trailing line break.
ODD_TRANSCRIPTS = [
    "[2026-13-45 10:00] Customer: x\n[10:01] Agent (A): y", "[23:59] Customer: hi\n[00:01] Agent (B) (chat): yo\n[foo] Agent (C): z",
    "", None, "\n\n", "[10:00]Agent(x)  ( y ):  hi", "[10:00] Agent (x) (y: hi", "[10:00] Agent (x ( y) : hi\n[link] body",
    "[1:05:07] Customer\n[12:5] Agent (a): no\n[123:45] Agent (a): no", "[2026-05-30T9:05] Agents (q): r",
    "[2026-05-30] Agent (a): no stamp", "[ 9:05] Agent\t(a)\x0b: vt", "[T09:05:07]  CustomerX", "[09:05:07 ] Agent (a): x",
    "é[10:00] Agent (a): x\n[10:00] Agent (ü) (é): ñ\r\n[10:01] Agent (a):\r", "[10:00] Agent (a", "[10:00] Agent", "[10:00]",
    "[", "[2026-05-30 10:00:00] Agent (a) (b) (c): d", "[2024-02-29 10:00] Customer: leap\n[10:02]\x0cAgent\x0c(a)\x0c:\x0cok\n",
]


def _fuzzed_transcripts(n: int, seed: int = 7) -> list[str]:
    """Transcripts built from the pieces of a stamped agent line: each piece is usually the well-formed one
    (first in its list) and sometimes one of its variants (seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    choices = [["[", ""], ["", "2026-05-30", "2026-5-30", "2026-13-01", "20260530"], ["", " ", "T", "  ", "t"],
               ["12", "1", "123", "", "x"], [":", "", "::"], ["05", "5", "055", ""], ["", ":07", ":7", ":", ":077"],
               ["]", "", "]]", " ]"], [" ", "", "\t", "\x0c", "\x0b", "  "], ["Agent", "Customer", "agent", "Agen", "Customers", ""],
               [" ", "", "\t"], ["(A1)", "(A1", "A1)", "", "()", "(a(b)"], ["", " (e-mail)", "(x)", " (y", "  "],
               [":", "", " : ", "::", " "], [" hello", "", "[x] y", " ]z", "é", "thanks for waiting"]]

    def line():
        return "".join(c[0] if rng.random() < .75 else str(rng.choice(c[1:])) for c in choices)

    return ["\n".join(line() for _ in range(int(rng.integers(0, 8)))) for _ in range(n)]


def _timed_transcripts(n: int, seed: int = 11) -> list[str]:
    """Transcripts of stamped turns whose times try the reading of dates and clocks: dated lines (real dates, a
    30th of February, months 00 and 13, days 00 and 32, years 0000 to 9999), clock-only lines that go back
    (midnight), customer and agent turns in any order, and gaps either side of the silence limit (seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def transcript():
        clock = int(rng.choice([rng.integers(0, 86400), 86400 - int(rng.integers(1, 600))]))  # some start near midnight
        turns = []
        for _ in range(int(rng.integers(0, 12))):
            clock = (clock + int(rng.choice([rng.integers(0, 50), rng.integers(55, 70), rng.integers(0, 4000)]))) % 86400
            h, m, sec = clock // 3600, clock // 60 % 60, clock % 60
            stamp = f"{h:02d}:{m:02d}" + (f":{sec:02d}" if rng.random() < .7 else "")
            if rng.random() < .15:
                date = f"{rng.choice([rng.integers(1990, 2030), rng.integers(0, 10000)])}".zfill(4)
                date += f"-{rng.choice([rng.integers(1, 13), 0, 13]):02d}-{rng.choice([rng.integers(1, 32), 0, 32]):02d}"
                stamp = f"{date}{rng.choice([' ', 'T'])}{stamp}"
            who = rng.choice(["Customer", "Agent (A1)", "Agent (B2) (chat)", "System"], p=[.4, .3, .2, .1])
            turns.append(f"[{stamp}] {who}: {rng.choice(['hello', 'thanks for waiting', 'é' * int(rng.integers(1, 9))])}")
        return "\n".join(turns)

    return [transcript() for _ in range(n)]


def test_the_compiled_reader_reads_every_transcript_as_arrow_does():
    """qcikit._scan spells the stamp and agent-name regexes out as byte tests and works out the times, the
    silences and the agent's words in one pass: on the three samples, on planted oddities, on 5,000 fuzzed
    lines and on 3,000 fuzzed timelines, its reading equals Arrow's and numpy's, field by field."""
    import numpy as np

    pytest.importorskip("numba")
    from qcikit import _scan

    assert _scan.kernel() is not None  # else read_agent(compiled=True) reads with Arrow, and this compares nothing
    fuzzed = _fuzzed_transcripts(5000)
    timed = _timed_transcripts(3000)
    sets = [qcikit.Engagement.load(SAMPLES / name).interactions["transcript"] for name in ("northwind", "brightwave")]
    # The most stamped lines a transcript can hold (the reader's buffers are sized by it, never grown): every line
    # the shortest stamp, with and without a speaker, and one longest transcript among short ones.
    dense = ["\n".join(["[0:00]"] * 700), "\n".join(["[9:59]Agent (a):x", "[0:00]", "[1:00]Customer"] * 300), "[0:00]", "[0:00]\n"]
    sets += [qcikit.Engagement.load(SAMPLES / "voltania").interactions["transcript"].iloc[:4000], pd.Series(ODD_TRANSCRIPTS),
             pd.Series(fuzzed), pd.Series(timed), pd.Series(dense)]
    for transcripts in sets:
        for widths in (True, False):
            _same_reading(assist.read_agent(transcripts, compiled=True, widths=widths),
                          assist.read_agent(transcripts, compiled=False, widths=widths))
    fuzz = assist.read_lines(pd.Series(fuzzed))
    assert fuzz.stamped.sum() > 2000 and (fuzz.owner == assist.AGENT).sum() > 1000  # the fuzz reaches both regexes
    odd = assist.read_agent(pd.Series(ODD_TRANSCRIPTS), compiled=True).agent.to_pylist()
    assert "(y: hi" in odd[6] and "\x0b: vt" in odd[11]  # kept as RE2 keeps them
    # The timelines reach every branch of the times: silences, unanswered customers, answers before them.
    t = assist.read_agent(pd.Series(timed), compiled=True)
    assert t.silent.sum() > 300 and (~t.silent & ~np.isnan(t.answered)).sum() > 300
    assert (t.has_customer & np.isnan(t.answered)).sum() > 20 and (np.nan_to_num(t.answered) > 86400).sum() > 20
    # A chunked column is read chunk by chunk, where it lies: the same reading as the joined column.
    import pyarrow as pa

    for kind in (pa.string(), pa.large_string()):  # 32- and 64-bit offsets, a slice, an empty chunk, a null
        pieces = pa.chunked_array([pa.array(timed[:1000], kind), pa.array(timed[1000:1001], kind), pa.array([], kind),
                                   pa.array([None, *timed[1001:2000], None], kind).slice(1)])
        _same_reading(assist.read_agent(pieces, compiled=True),
                      assist.read_agent(pd.Series([*timed[:2000], ""]), compiled=False))


def test_the_rules_scorer_gives_the_same_scores_with_the_compiled_scan(monkeypatch):
    pytest.importorskip("numba")
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    pop = eng.interactions.iloc[:3000][["interaction_id", "touchpoint", "transcript"]]
    cfg = eng.config
    monkeypatch.setattr(assist, "COMPILED_FROM", 1)
    compiled = assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=700, standards=cfg.response_standards)
    monkeypatch.setattr(assist, "COMPILED_FROM", 10**12)
    pd.testing.assert_frame_equal(compiled, assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=700,
                                                               standards=cfg.response_standards))
    assert isinstance(compiled["interaction_id"].dtype, pd.CategoricalDtype)  # codes into the population's ids
    assert compiled["interaction_id"].astype(str).tolist()[:3] == pop["interaction_id"].astype(str).tolist()[:3]


def test_the_rules_scorer_gives_the_same_scores_in_forked_processes(monkeypatch):
    """A population's chunks shared between forked processes give the frame the threaded pipeline gives."""
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    pop = eng.interactions.iloc[:6000][["interaction_id", "touchpoint", "transcript"]]
    cfg = eng.config
    monkeypatch.setattr(assist, "PROCESSES_FROM", 1)
    calls = []
    real = assist._shared_chunks
    monkeypatch.setattr(assist, "_shared_chunks", lambda *a, **k: calls.append(len(a[0])) or real(*a, processes=3, **k))
    forked = assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=500, standards=cfg.response_standards)
    assert calls == [12]
    if importlib.util.find_spec("numba") is not None:  # the compiled reader and automaton, made before the fork
        monkeypatch.setattr(assist, "COMPILED_FROM", 1)
        pd.testing.assert_frame_equal(forked, assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=500,
                                                                 standards=cfg.response_standards))
        assert calls == [12, 12]
    monkeypatch.setattr(assist, "FORK", False)
    pd.testing.assert_frame_equal(forked, assist.score_rules(pop, eng.rubric, cfg.brand_voice, chunk=500,
                                                             standards=cfg.response_standards))


class _Runs(list):
    prepared: list


def _early_spy(monkeypatch):
    """``start_rules`` with small chunks (a sample is no million), each run it returned kept for the test, and
    what ``prepare_rules`` made for it (``runs.prepared``)."""
    runs = _Runs()
    runs_prepared = runs.prepared = []
    real, real_prepare = assist.start_rules, assist.prepare_rules
    monkeypatch.setattr(assist, "PROCESSES_FROM", 1)
    monkeypatch.setattr(assist, "start_rules", lambda *a, **k: runs.append(real(*a, chunk=500, **k)) or runs[-1])
    monkeypatch.setattr(assist, "prepare_rules", lambda *a, **k: runs_prepared.append(real_prepare(*a, **k)) or runs_prepared[-1])
    return runs


@pytest.mark.parametrize("compiled", [False, True])
def test_autoscore_scores_while_the_folder_is_still_checked(tmp_path, monkeypatch, capsys, compiled):
    """`qcikit autoscore` starts the rules scorer's forked processes as soon as interactions.csv is read; the
    run they give is the one scored after the load (same rows, same points), and none of them outlives it.
    Compiled, the reader and the automaton are made before the fork, as for score_rules."""
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    if compiled:
        pytest.importorskip("numba")
        monkeypatch.setattr(assist, "COMPILED_FROM", 1)
    import multiprocessing as mp

    folder = tmp_path / "voltania"
    shutil.copytree(SAMPLES / "voltania", folder)
    runs = _early_spy(monkeypatch)
    assert main(["autoscore", str(folder), "--scorer", "rules"]) == 0
    assert "Scored 20000 interactions with 'rules'" in capsys.readouterr().out
    assert len(runs) == 1 and runs[0] is not None and runs[0]._shared is not None  # it forked during the load
    assert runs[0].compiled is compiled
    # The rules were made on a thread while the population was read, and that run used them; no thread is left.
    assert len(runs.prepared) == 1 and runs[0].matcher is runs.prepared[0].get().matcher
    assert not [t for t in threading.enumerate() if t.name == "qcikit-rules"]
    assert not mp.active_children()
    eng = qcikit.Engagement.load(folder)
    kept = assist.load_autoscores(eng, "rules")
    monkeypatch.setattr(assist, "FORK", False)
    monkeypatch.setattr(assist, "COMPILED_FROM", 10**12)  # the reference: Arrow's kernels and RE2, in one process
    after = assist.autoscore(eng, "rules")
    assert len(kept) == len(after) == 20000 * 15
    key = ["interaction_id", "element"]
    left = kept.assign(**{c: kept[c].astype(str) for c in key}).sort_values(key, ignore_index=True)
    right = after.assign(**{c: after[c].astype(str) for c in key}).sort_values(key, ignore_index=True)
    np.testing.assert_array_equal(left[key].to_numpy(), right[key].to_numpy())
    np.testing.assert_array_equal(left["points"].to_numpy(dtype=float), right["points"].to_numpy(dtype=float))


def test_a_folder_found_invalid_after_the_early_start_stops_its_scorers(tmp_path, monkeypatch, capsys):
    """A repeated interaction id is found after the scorer started: the command says so and exits 2, and the
    processes it forked are stopped; nothing is kept."""
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    import multiprocessing as mp

    folder = tmp_path / "voltania"
    shutil.copytree(SAMPLES / "voltania", folder)
    inter = pd.read_csv(folder / "interactions.csv", dtype=str, keep_default_na=False)
    pd.concat([inter, inter.iloc[[5]]]).to_csv(folder / "interactions.csv", index=False)
    runs = _early_spy(monkeypatch)
    assert main(["autoscore", str(folder), "--scorer", "rules"]) == 2
    assert f"interaction_id {inter['interaction_id'].iloc[5]} appears again" in capsys.readouterr().err
    assert len(runs) == 1 and runs[0] is not None and runs[0]._shared is not None
    assert not mp.active_children()
    assert assist.autoscores_file(folder) is None


def test_rules_made_on_a_thread_are_the_rules_a_run_makes(monkeypatch):
    """``prepare_rules`` makes on a thread what a run would make itself (the same rules and patterns); when
    making them fails, ``get`` answers None and the run makes its own."""
    eng = qcikit.Engagement.load(SAMPLES / "voltania")
    cfg = eng.config
    made = assist.prepare_rules(cfg, eng.rubric).get()
    own = assist._Rules(eng.rubric, cfg.brand_voice, cfg.response_standards)
    assert made.fired_rules == own.fired_rules and made.decided == own.decided
    assert made.matcher.regexes == own.matcher.regexes and made.column == own.column

    def broken(*args, **kwargs):
        raise RuntimeError("no rules today")

    monkeypatch.setattr(assist, "_Rules", broken)
    failed = assist.prepare_rules(cfg, eng.rubric)
    assert failed.get() is None and not failed._thread.is_alive()


def test_numba_is_loaded_early_only_for_a_population_file_of_a_contact_centres_size(tmp_path):
    """Before the population is read, its file's size tells whether the compiled reader will be wanted."""
    assert not assist._looks_large(tmp_path)  # no population file at all
    with open(tmp_path / "interactions.csv", "wb") as fh:
        fh.truncate(assist.COMPILED_FROM * 1000 - 1)  # sparse: no disk is written
    assert not assist._looks_large(tmp_path)
    with open(tmp_path / "interactions.csv", "wb") as fh:
        fh.truncate(assist.COMPILED_FROM * 1000)
    assert assist._looks_large(tmp_path)
    (tmp_path / "interactions.csv").unlink()
    with open(tmp_path / "interactions.parquet", "wb") as fh:  # Parquet compresses: a fifth of the bytes will do
        fh.truncate(assist.COMPILED_FROM * 200)
    assert assist._looks_large(tmp_path)


def _pid_work(child_does=None):
    """Each chunk's values are the id of the process that computed it; ``child_does`` runs first in a child."""
    import os

    parent = os.getpid()

    def work(chunk):
        if os.getpid() != parent and child_does is not None:
            child_does()
        return np.full(len(chunk) * 2, float(os.getpid()))
    return work


def test_shared_chunks_are_computed_side_by_side_and_come_back_in_order():
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    import os
    import time

    def slow(chunk):  # long enough per chunk that the children start before the parent has taken them all
        time.sleep(0.05)
        return np.full(len(chunk) * 2, float(os.getpid()))

    chunks = [np.arange(k, k + 3) for k in range(0, 60, 3)]
    out = assist._shared_chunks(chunks, slow, 2, processes=3)
    assert len(out) == 60 * 2
    pids = set(out.tolist())
    assert float(os.getpid()) in pids and len(pids) == 3  # the parent and two children each did chunks
    # In chunk order: each chunk's six values come from one process.
    assert all(len(set(out[k * 6:(k + 1) * 6].tolist())) == 1 for k in range(20))


@pytest.mark.parametrize("fate", ["raises", "dies", "hangs"])
def test_a_child_that_fails_costs_time_never_rows(fate):
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    import os
    import time

    def fail():
        if fate == "raises":
            raise RuntimeError("boom")
        if fate == "dies":
            os._exit(3)
        time.sleep(600)

    chunks = [np.arange(5) for _ in range(8)]
    t = time.monotonic()
    out = assist._shared_chunks(chunks, _pid_work(fail), 2, processes=2, patience=1.0)
    assert time.monotonic() - t < 60  # a hung child is stopped, not waited for
    assert out.tolist() == [float(os.getpid())] * 80  # every chunk done, by the parent


def test_a_parent_that_fails_stops_its_children():
    if not assist.sys_can_fork():
        pytest.skip("fork is used on Linux only")
    import multiprocessing as mp
    import os

    parent = os.getpid()

    def work(chunk):
        if os.getpid() == parent:
            raise ValueError("the parent's chunk failed")
        import time
        time.sleep(600)

    with pytest.raises(ValueError, match="the parent's chunk failed"):
        assist._shared_chunks([np.arange(3)] * 4, work, 1, processes=2)
    assert not mp.active_children()


def test_a_scan_numba_cannot_build_falls_back_to_arrow(monkeypatch):
    pytest.importorskip("numba")
    from qcikit import _scan, _scan_kernel

    def broken(*args):
        raise RuntimeError("no compiler here")

    _scan.kernel.cache_clear()
    monkeypatch.setattr(_scan_kernel, "read_agent", broken)
    try:
        with pytest.warns(RuntimeWarning, match="compiled transcript scan could not be built"):
            assert _scan.kernel() is None
        reading = assist.read_agent(pd.Series(ODD_TRANSCRIPTS), compiled=True)  # asked for, not there: Arrow reads
        _same_reading(reading, assist.read_agent(pd.Series(ODD_TRANSCRIPTS), compiled=False))
    finally:
        _scan.kernel.cache_clear()


def test_a_versions_freezing_time_is_its_earliest_run(northwind):
    """`frozen_at` of a version already run is its earliest time (each distinct time parsed once); when none of
    them reads as a time, the first row's stands."""
    rows = ["interaction_id,element,points,scorer,version,frozen_at",
            "NO-000001,greeting,1,acme,v1,2026-05-02T00:00:00+00:00", "NO-000002,greeting,1,acme,v1,not a time",
            "NO-000003,greeting,1,acme,v1,2026-05-01T09:00:00+00:00", "NO-000004,greeting,1,acme,v2,someday",
            "NO-000005,greeting,1,acme,v2,later", "NO-000006,greeting,1,acme,v1,2026-05-02T00:00:00+00:00"]
    (northwind / "autoscores.csv").write_text("\n".join(rows) + "\n")
    eng = qcikit.Engagement.load(northwind)
    assert assist._frozen_at(eng, "acme", "v1") == "2026-05-01T09:00:00+00:00"
    assert assist._frozen_at(eng, "acme", "v2") == "someday"
    assert assist._frozen_at(eng, "acme", "v3") > "2026"  # never run: now


def test_machine_table_is_the_plain_pivot_and_score_of_the_rows(northwind):
    """machine_table works on codes (a million interactions are fifteen million rows); its table is the one a
    plain pandas reading gives: the rubric's arithmetic on the decided rows, a pivot of each element's mean
    0–100, the wave's interactions in population order. A named scorer's table is kept until its file changes."""
    from qcikit.scoring import score

    eng = qcikit.Engagement.load(northwind)
    run = assist.autoscore(eng, "rules")
    assist.save_autoscores(eng, run)
    wave = eng.config.waves[-1]
    rows = assist.runs(eng, "rules")
    ids = eng.interactions.loc[eng.interactions["wave"] == wave, "interaction_id"].astype(str)
    rows = rows[rows["interaction_id"].isin(ids)]
    decided = rows.dropna(subset=["points"])
    plain = score(decided.assign(rater="rules")[["interaction_id", "rater", "element", "points"]], eng.rubric)
    plain = plain.set_index("interaction_id")[["qci", *eng.rubric.dimensions]]
    el = (rows.assign(v=100 * rows["points"] / rows["element"].map(eng.rubric.max_points))
          .pivot_table(index="interaction_id", columns="element", values="v", aggfunc="mean", dropna=False))
    el.columns = [f"el:{c}" for c in el.columns]
    plain = plain.join(el, how="outer").reindex(ids)
    for scorer in ("rules", run):
        got = assist.machine_table(eng, scorer, wave)
        pd.testing.assert_frame_equal(got, plain)
        assert list(got.attrs["frozen"]["scorer"]) == ["rules"] and got.attrs["version"] == str(run["version"].iloc[0])
    # Kept for the next call, and read again once the file changes.
    kept = assist.machine_table(eng, "rules", wave)
    kept.iloc[:, :] = 0.0  # a copy: the kept table is not touched
    assert assist.machine_table(eng, "rules", wave)["qci"].equals(plain["qci"])
    halved = run.assign(points=run["points"] / 2)
    assist.save_autoscores(eng, halved)
    assert np.allclose(assist.machine_table(eng, "rules", wave)["el:greeting"].dropna(),
                       plain["el:greeting"].dropna() / 2)


def test_the_engagement_keeps_the_machine_score_file_it_read(northwind, monkeypatch):
    """The load reads autoscores.parquet to check it and keeps the rows: the machine tables, the agreement and a
    new run's merge take them from there while the file is unchanged, and read the file again once it changes."""
    eng = qcikit.Engagement.load(northwind)
    run = assist.autoscore(eng, "rules")
    assist.save_autoscores(eng, run)
    assert "_autoscores_file" not in eng.__dict__  # what the engagement read is no longer what the file holds
    eng = qcikit.Engagement.load(northwind)
    path = assist.autoscores_file(northwind)
    read = assist.read_autoscores(path)
    reads = []
    real = assist.read_autoscores
    monkeypatch.setattr(assist, "read_autoscores", lambda *a, **k: reads.append(a) or real(*a, **k))
    pd.testing.assert_frame_equal(assist.load_autoscores(eng, "rules"), read)
    assert assist._frozen_at(eng, "rules", str(run["version"].iloc[0])) == str(read["frozen_at"].iloc[0])
    assist.agreement(eng, "rules", n_boot=10)
    assist.machine_table(eng, "rules", eng.config.waves[-1])
    assert reads == []  # every one of them from the rows the load kept
    # A file changed behind the engagement's back is read again.
    write = assist.write_autoscores_parquet if path.suffix == ".parquet" else assist.write_autoscores_csv
    write(run.assign(points=0.0), path)
    assert (assist.load_autoscores(eng, "rules")["points"] == 0).all() and len(reads) == 1
