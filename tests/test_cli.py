import shutil
import subprocess
import sys

import pandas as pd
import pytest

import qcikit
from qcikit.cli import main

from conftest import DATA, SAMPLES


def test_help_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "qcikit.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for cmd in ("new", "validate", "sample", "reliability", "render", "export", "demo"):
        assert cmd in proc.stdout


def test_new_scaffolds_from_templates(tmp_path, capsys):
    target = tmp_path / "acme"
    assert main(["new", str(target), "--client", "Acme Ltd"]) == 0
    for name in ("engagement.yaml", "rubric.yaml", "scenarios.yaml", "answers.yaml", "interactions.csv"):
        assert (target / name).is_file()
    assert "slug: acme-ltd" in (target / "engagement.yaml").read_text()
    qcikit.load_rubric(target / "rubric.yaml")
    # A second `new` into the same folder refuses and changes nothing.
    before = (target / "rubric.yaml").read_text()
    assert main(["new", str(target), "--client", "Other"]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert (target / "rubric.yaml").read_text() == before


def test_validate_clean_prints_summary(capsys):
    assert main(["validate", str(DATA / "good")]) == 0
    assert "clean — 12 interactions" in capsys.readouterr().out


def test_validate_several_folders_exit_2_if_any_bad(capsys):
    assert main(["validate", str(DATA / "good"), str(DATA / "bad" / "bad_date")]) == 2
    out = capsys.readouterr().out
    assert "clean" in out and "not a date" in out


def test_sample_refuses_to_overwrite_then_redraws(tmp_path, capsys):
    f = tmp_path / "nw"
    shutil.copytree(SAMPLES / "brightwave", f)
    assert main(["sample", str(f)]) == 2
    assert "--force" in capsys.readouterr().err
    old = (f / "sample.csv").read_text()
    assert main(["sample", str(f), "--force"]) == 0
    out = capsys.readouterr().out
    assert "Drew 297 interactions" in out and "2026-Q2 / email" in out
    # Same seed, same sample: the committed sample was drawn the same way.
    assert (f / "sample.csv").read_text() == old


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_tidy_tables(tmp_path, fmt):
    assert main(["export", str(SAMPLES / "brightwave"), "--format", fmt, "--out", str(tmp_path)]) == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    el = read(tmp_path / f"brightwave_elements.{fmt}")
    assert {"interaction_id", "element", "dimension", "wave", "team", "weight", "design_weight"} <= set(el.columns)
    # Effective weights of one scored interaction sum to 1.
    sums = el.groupby(["interaction_id", "rater"])["weight"].sum()
    assert sums.round(9).eq(1).all()
    inter = read(tmp_path / f"brightwave_interactions.{fmt}")
    assert inter["qci"].between(0, 100).all()


def test_demo_prints_three_qci_tables(capsys):
    assert main(["demo", "--samples", str(SAMPLES), "--no-render"]) == 0
    out = capsys.readouterr().out
    for client in ("Northwind Outfitters", "Brightwave Analytics", "Voltania Energy"):
        assert client in out
    assert out.count("qci") == 3


def test_demo_without_samples_exits_2(tmp_path, capsys):
    assert main(["demo", "--samples", str(tmp_path)]) == 2
    assert "no sample engagements found" in capsys.readouterr().err


def test_reliability_prints_table_and_calibration(capsys):
    assert main(["reliability", str(SAMPLES / "brightwave"), "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "agreement by element" in out and "greeting" in out
    assert "Calibration against gold.csv" in out and "without chloe" in out
