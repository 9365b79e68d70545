import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import qcikit
from qcikit import ValidationError
from qcikit.cli import main

from conftest import DATA, SAMPLES

BAD = sorted(p for p in (DATA / "bad").iterdir() if p.is_dir())
CLIENTS = ["northwind", "brightwave", "voltania"]


def test_bad_corpus_has_at_least_fifteen_kinds():
    assert len(BAD) >= 15


@pytest.mark.parametrize("folder", BAD, ids=[p.name for p in BAD])
def test_each_bad_folder_gives_its_message_and_exit_2(folder, capsys):
    expected = (folder / "EXPECT").read_text(encoding="utf-8").strip()
    problems = qcikit.Engagement.validate(folder)
    assert any(expected in str(p) for p in problems), [str(p) for p in problems]
    with pytest.raises(ValidationError, match="problem"):
        qcikit.Engagement.load(folder)
    assert main(["validate", str(folder)]) == 2
    out = capsys.readouterr()
    assert expected in out.out
    assert "Traceback" not in out.out + out.err


def test_one_mistake_gives_one_message():
    """Issue 17: one typo gave 12 messages, and a rater typo in gold.csv gave false "missing row" complaints.
    Each folder of the corpus holds one mistake; validation reports its root cause once."""
    for folder in BAD:
        problems = qcikit.Engagement.validate(folder)
        assert len(problems) == 1 or folder.name == "duplicate_ids", (folder.name, [str(p) for p in problems])
    # A renamed id leaves the other id missing: that is a second, real finding.
    assert len(qcikit.Engagement.validate(DATA / "bad" / "duplicate_ids")) == 2


def test_a_new_validation_miss_is_pinned():
    """Issue 17's misses, each with its message (the corpus folders are made by tests/data/make_corpus.py)."""
    expected = {
        "gold_evidence_not_verbatim": "is not a verbatim quote of interaction T-001's transcript",
        "gold_rules_without_evidence": "fired for 'greeting' but evidence is empty",
        "excluded_element_scored": "excludes in their scenario, so the row would be silently ignored",
        "rule_above_max": "more than the element's maximum of 4",
        "score_not_in_sample": "is not in interactions.csv, so it cannot have been sampled",
        "interactions_header_only": "it is required, since the sample is drawn from it",
    }
    for name, text in expected.items():
        [problem] = qcikit.Engagement.validate(DATA / "bad" / name)
        assert text in str(problem), (name, str(problem))
    [typo] = qcikit.Engagement.validate(DATA / "bad" / "score_not_in_sample")
    assert "add the interaction to sample.csv" not in str(typo)


@pytest.mark.parametrize("folder", BAD[:3], ids=[p.name for p in BAD[:3]])
def test_cli_subprocess_exit_2_without_traceback(folder):
    proc = subprocess.run([sys.executable, "-m", "qcikit.cli", "validate", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (folder / "EXPECT").read_text(encoding="utf-8").strip() in proc.stdout


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    import shutil

    f = tmp_path / "many"
    shutil.copytree(DATA / "good", f)
    (f / "rubric.yaml").write_text((f / "rubric.yaml").read_text().replace("weight: 0.25", "weight: 0.35", 1))
    text = (f / "scores.csv").read_text()
    (f / "scores.csv").write_text(text.replace(",greeting,", ",smile,", 1))
    inter = (f / "interactions.csv").read_text().replace("2026-05-03 10:00", "not-a-date")
    (f / "interactions.csv").write_text(inter)
    problems = [str(p) for p in qcikit.Engagement.validate(f)]
    assert any("dimension weights sum to 1.1" in p for p in problems)
    assert any("not-a-date" in p for p in problems)
    assert len(problems) >= 2


def test_good_folder_loads_typed_frames():
    eng = qcikit.Engagement.load(DATA / "good")
    assert pd.api.types.is_datetime64_any_dtype(eng.interactions["started_at"])
    assert eng.scores["points"].dtype == float
    assert eng.interactions["interaction_id"].iloc[0] == "T-001"
    assert "scenario" in eng.inventory.columns
    assert eng.gold["rater"].eq("gold").all()


def test_load_calls_its_hooks_with_the_rubric_then_the_population_and_only_on_a_clean_rubric(tmp_path):
    """``on_rubric`` once engagement.yaml and rubric.yaml are read, ``on_population`` once interactions.csv is;
    neither when the rubric has a problem, and an error a hook raises does not stop the load."""
    import shutil

    calls = []

    def on_rubric(config, rubric):
        calls.append(("rubric", config.client, len(rubric.element_ids)))
        raise RuntimeError("a hook's own failure")

    def on_population(frame, config, rubric):
        calls.append(("population", len(frame), config.client))

    eng = qcikit.Engagement.load(DATA / "good", on_population=on_population, on_rubric=on_rubric)
    assert calls == [("rubric", eng.config.client, len(eng.rubric.element_ids)),
                     ("population", len(eng.interactions), eng.config.client)]
    f = tmp_path / "bad_rubric"
    shutil.copytree(DATA / "good", f)
    (f / "rubric.yaml").write_text((f / "rubric.yaml").read_text().replace("weight: 0.25", "weight: 0.35", 1))
    calls.clear()
    with pytest.raises(ValidationError, match="dimension weights sum to 1.1"):
        qcikit.Engagement.load(f, on_population=on_population, on_rubric=on_rubric)
    assert calls == []


def test_missing_folder_is_a_problem(tmp_path):
    problems = qcikit.Engagement.validate(tmp_path / "nope")
    assert "the engagement folder does not exist" in str(problems[0])


def test_unknown_extra_columns_are_kept(tmp_path):
    import shutil

    f = tmp_path / "x"
    shutil.copytree(DATA / "good", f)
    lines = (f / "interactions.csv").read_text().splitlines()
    lines = [lines[0] + ",language"] + [l + ",en" for l in lines[1:]]
    (f / "interactions.csv").write_text("\n".join(lines) + "\n")
    eng = qcikit.Engagement.load(f)
    assert (eng.interactions["language"] == "en").all()


@pytest.mark.parametrize("client", CLIENTS)
def test_samples_validate_clean_and_score(client):
    eng = qcikit.Engagement.load(SAMPLES / client)
    scored = eng.scored()
    assert scored["qci"].between(0, 100).all()
    assert set(scored["wave"]) == set(eng.config.waves)
    # Every sampled interaction is scored and classified.
    assert set(eng.sample["interaction_id"]) == set(scored["interaction_id"]) == set(eng.inventory["interaction_id"])
    # Design weights sum to the population of each wave.
    w = eng.sample.groupby("wave")["weight"].sum()
    n = eng.interactions.groupby("wave").size()
    assert (w - n).abs().max() < 0.01


def test_to_number_reads_text_cells_as_pandas_to_numeric_does():
    """The Arrow path must give pandas' answer, cell for cell: the scores' checks and their messages rest on it."""
    import numpy as np
    import pandas as pd

    from qcikit._frame import to_number

    cells = [" 2 ", "", None, "x", "1e2", ".5", "2.", "inf", "-Infinity", "nan", "+3", "1,5", "0x1", "3.25", "-0"]
    for dtype in ("str", object):
        values = pd.Series(cells, dtype=dtype, index=range(10, 10 + len(cells)))
        got = to_number(values)
        want = pd.to_numeric(values, errors="coerce").astype(float)
        assert np.array_equal(got.to_numpy(), want.to_numpy(), equal_nan=True) and got.index.equals(values.index)


def test_lookup_is_map_with_each_value_looked_up_once():
    import numpy as np
    import pandas as pd

    from qcikit._frame import lookup

    table = pd.Series({"greeting": 2.0, "tone": 4.0})
    values = pd.Series(["tone", "greeting", "nope", None, "tone"], dtype="str")
    assert np.array_equal(lookup(values, table), values.map(table).to_numpy(dtype=float), equal_nan=True)
    flags = pd.Series({"greeting": True, "tone": False})
    assert lookup(pd.Series(["tone", "greeting"], dtype="str"), flags).tolist() == [False, True]


def test_isin_hands_back_a_writable_array():
    """Callers combine its result in place (`keep &= …`); Arrow's is_in can return a read-only view, which made
    `qcikit demo` fail from a plain wheel install."""
    import pandas as pd

    from qcikit._frame import isin

    for values in (pd.Series(["a", "b", None], dtype="str"), pd.Series(["a", "b", None], dtype=object)):
        got = isin(values, pd.Series(["a"], dtype="str"))
        assert got.tolist() == [True, False, False] and got.flags.writeable
        got &= False


def test_isin_on_categoricals_is_pandas_isin():
    """A machine run's ids are codes into the population (a categorical): decided per category, as pandas would."""
    import numpy as np
    import pandas as pd

    from qcikit._frame import isin

    values = pd.Series(pd.Categorical(["b", "a", None, "c", "b"], categories=["a", "b", "c", "d"]))
    for allowed in (["b", "d"], pd.Series(["b", "x"], dtype="str"),
                    pd.Series(pd.Categorical(["b", "b"], categories=["a", "b"]))):  # "a" unused: not allowed
        plain = values.astype(object).isin(list(pd.Series(allowed).dropna().unique()) if not isinstance(allowed, list) else allowed)
        got = isin(values, allowed)
        assert np.array_equal(got, plain.to_numpy(dtype=bool)) and got.flags.writeable
    assert isin(pd.Series(["a", "b"], dtype="str"), pd.Series(pd.Categorical(["b"], categories=["a", "b"]))).tolist() == [False, True]


def test_isin_against_a_population_of_ids_is_pandas_isin():
    """A few hundred ids looked up in a population of millions: the population's matching ids are found first
    (no hash of the million); the answer is pandas', missing values and repeats included."""
    import numpy as np
    import pandas as pd

    from qcikit._frame import isin

    rng = np.random.default_rng(11)
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    population = pd.Series([f"X{k}" for k in rng.integers(0, 400_000, 250_000)] + [None], dtype=text)
    for values in (pd.Series([f"X{k}" for k in rng.integers(0, 400_000, 700)] + [None, "zz", "X1"], dtype=text),
                   pd.Series([None, None], dtype=text), pd.Series([], dtype=text)):
        got = isin(values, population)
        assert np.array_equal(got, values.isin(population).to_numpy(dtype=bool)) and got.flags.writeable
    assert isin(pd.Series(["X1", None], dtype=text), pd.Series(["X1"] * 200_000, dtype=text)).tolist() == [True, False]


def test_filter_rows_is_loc_without_joining_the_chunks():
    """A population's transcripts come in Arrow chunks; filter_rows keeps the frame .loc[mask, columns] gives
    (index, dtypes, values) and leaves each column in chunks."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from qcikit._frame import filter_rows, from_arrow

    chunks = [pa.array([f"t{k}-{j}" for j in range(50)], type=pa.large_string()) for k in range(20)]
    frame = from_arrow(pa.table({"transcript": pa.chunked_array(chunks), "n": np.arange(1000)}))
    frame.index = frame.index * 3
    mask = np.random.default_rng(2).random(1000) < 0.1
    got = filter_rows(frame, mask)
    pd.testing.assert_frame_equal(got, frame.loc[mask])
    pd.testing.assert_frame_equal(filter_rows(frame, mask, ["n"]), frame.loc[mask, ["n"]])
    assert got["transcript"].array._pa_array.num_chunks == 20  # filtered in place, never concatenated


def test_decode_turns_a_categorical_into_arrow_text_row_by_row():
    import pandas as pd

    from qcikit._frame import decode

    values = pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"]), index=[3, 4, 5, 6], name="x")
    got = decode(values)
    assert isinstance(got.dtype, pd.StringDtype) and got.index.tolist() == [3, 4, 5, 6] and got.name == "x"
    assert got.tolist()[0] == "b" and pd.isna(got.iloc[1]) and got.tolist()[2:] == ["a", "b"]
    plain = pd.Series(["a"], dtype="str")
    assert decode(plain) is plain


def test_group_codes_numbers_row_combinations_as_factorize_of_tuples_does():
    import numpy as np

    from qcikit._frame import group_codes

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.choice(["x", "y", None], 2000), "b": rng.choice(["p", "q", "r"], 2000),
                          "c": rng.integers(0, 3, 2000)})
    frame["a"] = frame["a"].astype("string")
    codes, first = group_codes(frame, ["a", "b", "c"])
    expected, uniques = pd.factorize(pd.Series(list(frame.itertuples(index=False, name=None))).map(
        lambda t: tuple("<NA>" if v is pd.NA or v is None else v for v in t)))
    assert codes.tolist() == expected.tolist()
    assert [codes[k] for k in first] == list(range(len(uniques)))  # each group's first row, in order
    assert all(first[g] == np.flatnonzero(codes == g)[0] for g in range(len(uniques)))


def _malformed_csvs():
    """Score files past the size from which Arrow reads them, each sound or broken in one way a client's export
    can be: the name and the bytes."""
    header = "interaction_id,rater,element,points,wave\n"
    rows = "".join(f"I{k:05d},ana,response_time,{k % 3},2026-Q2\n" for k in range(3000))
    broken = {
        "sound": header + rows,
        "crlf_and_bom": "\ufeff" + (header + rows).replace("\n", "\r\n"),
        "semicolons": (header + rows).replace(",", ";"),
        "quoted_newline": header + rows + 'I99999,ana,response_time,1,"2026\nQ2"\n',
        "short_row": header + rows + "I99999,ana\n",
        "long_row": header + rows + "I99999,ana,response_time,1,2026-Q2,extra\n",
        "unclosed_quote": header + rows + 'I99999,"ana,response_time,1,2026-Q2\n',
        "blank_lines": header + rows.replace("\n", "\n\n", 50),
        "spaces_only_line": header + rows + "   \n",
        "blank_header_name": header.replace(",wave", ",") + rows,
        "repeated_header_name": header.replace("wave", "rater") + rows,
        "padded_header": header.replace("points", " points ") + rows,
        "empty_cells": header + rows.replace(",ana,", ",,", 40),
        "header_only_long": header.replace("\n", "," + "x" * 70_000 + "\n"),
        "no_newline_at_end": (header + rows).rstrip("\n"),
    }
    out = {name: text.encode("utf-8") for name, text in broken.items()}
    out["latin1"] = (header + rows + "I99999,andré,response_time,1,2026-Q2\n").encode("latin-1")
    out["nul_byte"] = (header + rows + "I99999,a\0na,response_time,1,2026-Q2\n").encode()
    return out


@pytest.mark.parametrize("name", sorted(_malformed_csvs()))
def test_arrow_and_careful_csv_readers_agree(tmp_path, name, monkeypatch):
    """From ARROW_CSV_BYTES on a CSV is read by Arrow; whatever the file, the frame and the problems are those of
    the careful pandas reader (a file Arrow cannot read falls back to it)."""
    from qcikit import engagement

    (tmp_path / "scores.csv").write_bytes(_malformed_csvs()[name])
    assert (tmp_path / "scores.csv").stat().st_size >= engagement.ARROW_CSV_BYTES
    got = {}
    for reader, threshold in (("arrow", engagement.ARROW_CSV_BYTES), ("careful", 10**12)):
        monkeypatch.setattr(engagement, "ARROW_CSV_BYTES", threshold)
        loader = engagement._Loader(tmp_path)
        got[reader] = (loader.csv("scores.csv", required=False), [str(p) for p in loader.problems])
    (arrow, arrow_problems), (careful, careful_problems) = got["arrow"], got["careful"]
    monkeypatch.setattr(engagement, "ARROW_CSV_BYTES", 65_536)
    took = engagement._Loader(tmp_path)._arrow_csv("scores.csv") is not None
    # These Arrow reads itself; the others (and only those) go to the careful reader.
    assert took == (name in {"sound", "crlf_and_bom", "semicolons", "quoted_newline", "blank_lines", "padded_header",
                             "empty_cells", "no_newline_at_end", "header_only_long", "nul_byte"})
    assert arrow_problems == careful_problems
    if careful is None:
        assert arrow is None
    else:
        pd.testing.assert_frame_equal(arrow, careful)


def test_decode_gives_each_row_its_category_whether_the_categories_are_arrow_or_python_strings():
    """A run's ids are Arrow-backed categories, read in chunks; other categoricals hold Python strings. Both
    decode to the same text, missing values stay missing, and both give the Parquet writer the same array."""
    import pyarrow as pa

    from qcikit._frame import arrow_categories, decode

    words = ["b", "a", "é", "c d"]
    arrow = pd.Index(pd.array(pa.chunked_array([["b", "a"], ["é", "c d"]]), dtype=pd.StringDtype("pyarrow")))
    codes = np.array([2, 0, -1, 3, 1, 2])
    expected = [words[k] if k >= 0 else None for k in codes]
    for categories in (arrow, pd.Index(words, dtype=object)):
        values = pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories)))
        got = decode(values)
        assert [None if v is np.nan or v is None or v != v else v for v in got] == expected
        assert arrow_categories(categories).to_pylist() == words
        assert arrow_categories(categories, large=True).type == pa.large_string()


def test_isin_and_lookup_on_a_run_s_categories_answer_as_pandas_does():
    """A run's ids checked against the very ids it scored (one comparison), against the same ids in another
    order or with one changed (hashed), and its elements' maxima looked up per category: pandas' answers."""
    from qcikit._frame import isin, lookup

    text = pd.StringDtype("pyarrow", na_value=np.nan)
    population = pd.Series([f"X{k:03d}" for k in range(50)], dtype=text)
    codes = np.random.default_rng(3).integers(-1, 50, 400)
    run = pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(population))))
    for allowed in (population, population[::-1].reset_index(drop=True), population.replace("X007", "Y007")):
        np.testing.assert_array_equal(isin(run, allowed), run.astype(object).isin(list(allowed)).to_numpy())
    elements = pd.Series(pd.Categorical.from_codes(np.where(codes < 0, -1, codes % 3), ["greeting", "smile", "close"]))
    maxima = pd.Series({"greeting": 2.0, "close": 4.0})
    np.testing.assert_array_equal(lookup(elements, maxima), elements.astype(str).map(maxima).to_numpy(dtype=float))


def test_distinct_counts_as_pandas_nunique_does():
    """The summary's count on codes agrees with pandas' ``nunique``: missing values, unused categories, a mask."""
    from qcikit._frame import distinct

    rng = np.random.default_rng(7)
    codes = rng.integers(-1, 6, 500)  # -1: missing; categories 6-9 never used
    values = pd.Series(pd.Categorical.from_codes(codes, [f"c{k}" for k in range(10)]))
    mask = rng.random(500) < 0.3
    assert distinct(values) == values.nunique() == 6
    assert distinct(values, mask) == values[mask].nunique()
    assert distinct(values, np.zeros(500, dtype=bool)) == 0
    text = values.astype(str)
    assert distinct(text, mask) == text[mask].nunique()
