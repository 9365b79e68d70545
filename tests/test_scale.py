"""A population of 100,000 interactions (transcripts included): loaded by Arrow's reader in bounded memory,
with the same values as the careful line-aware reader. Not a speed assertion: the bound is generous, so that
only a fall back to per-row Python shows (bench/scale.py measures the ratios against pyarrow's floor)."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scale import make, measure  # noqa: E402


def test_a_hundred_thousand_interactions_load_in_bounded_memory(tmp_path):
    folder = make(tmp_path / "big", 100_000)
    size_mb = (folder / "interactions.csv").stat().st_size / 1e6
    seconds, rss_mb, _ = measure(f"import qcikit; e = qcikit.Engagement.load({str(folder)!r}); "
                              "assert len(e.interactions) == 100_000")
    floor_s, floor_mb, _ = measure(f"import pyarrow.csv as c; c.read_csv({str(folder / 'interactions.csv')!r}, "
                                "parse_options=c.ParseOptions(newlines_in_values=True))")
    print(f"100k interactions ({size_mb:.0f} MB): load {seconds:.2f} s, {rss_mb:.0f} MB; "
          f"pyarrow floor {floor_s:.2f} s, {floor_mb:.0f} MB")
    assert seconds < 60  # generous: per-row Python would take minutes
    assert rss_mb < 3 * floor_mb  # was 3.0x before Arrow strings were read directly; now about 1.3x


def test_the_arrow_reader_reads_what_the_careful_reader_reads(tmp_path):
    from qcikit.engagement import _Loader

    folder = make(tmp_path / "big", 12_000)
    loader = _Loader(folder)
    fast = loader.csv("interactions.csv", required=True)
    careful = pd.read_csv(folder / "interactions.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert fast is not None and not loader.problems
    pd.testing.assert_frame_equal(fast.astype(object).where(fast.notna(), None),
                                  careful.astype(object).where(careful.notna(), None))


def test_a_malformed_big_file_still_gets_its_line_named(tmp_path):
    """Arrow's reader gives up on a broken row; the careful reader then names the problem, as for any file."""
    folder = make(tmp_path / "big", 12_000)
    text = (folder / "interactions.csv").read_text(encoding="utf-8")
    (folder / "interactions.csv").write_text(text + 'X99,"unclosed quote\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "qcikit.cli", "validate", str(folder)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stdout + out.stderr
    assert "interactions.csv" in out.stdout


def test_interactions_parquet_is_read_like_the_csv(tmp_path):
    """Issue 19: a population may come as interactions.parquet (typed columns: timestamps, integers); the
    engagement loads to the same numbers as from interactions.csv, and holding both is one clear message."""
    import shutil

    import qcikit
    from qcikit import metrics

    from conftest import SAMPLES

    folder = tmp_path / "pq"
    shutil.copytree(SAMPLES / "brightwave", folder)
    inter = pd.read_csv(folder / "interactions.csv", dtype=str, keep_default_na=False)
    typed = inter.assign(started_at=pd.to_datetime(inter["started_at"]),
                         effort=pd.to_numeric(inter["effort"].replace("", None)).astype("Int64"))
    typed.to_parquet(folder / "interactions.parquet", index=False)
    problems = qcikit.Engagement.validate(folder)
    assert len(problems) == 1 and "both interactions.csv and interactions.parquet hold interactions" in str(problems[0])
    (folder / "interactions.csv").unlink()
    from_parquet = qcikit.Engagement.load(folder)
    from_csv = qcikit.Engagement.load(SAMPLES / "brightwave")
    assert (from_parquet.interactions["started_at"] == from_csv.interactions["started_at"]).all()
    assert from_parquet.interactions["effort"].equals(from_csv.interactions["effort"])
    a, b = metrics.trend(from_parquet), metrics.trend(from_csv)
    pd.testing.assert_frame_equal(a, b)
    # Messages about ids name the file that holds the population.
    sample = (folder / "sample.csv").read_text(encoding="utf-8").splitlines()
    (folder / "sample.csv").write_text("\n".join([sample[0], sample[1].replace(sample[1].split(",")[0], "BR-999999", 1),
                                                  *sample[2:]]) + "\n", encoding="utf-8")
    problems = [str(p) for p in qcikit.Engagement.validate(folder)]
    assert any("interaction 'BR-999999' is not in interactions.parquet" in p for p in problems), problems
    assert not any("interactions.csv" in p for p in problems), problems
