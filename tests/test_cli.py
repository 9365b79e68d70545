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
    text = (target / "engagement.yaml").read_text()
    assert 'slug: "acme-ltd"' in text and 'client: "Acme Ltd"' in text
    # Every key of the scaffolded engagement.yaml has a comment on the line above it.
    lines = text.splitlines()
    keys = [k for k, line in enumerate(lines) if line and not line.startswith((" ", "#", "-"))]
    assert len(keys) >= 15
    assert all(lines[k - 1].lstrip().startswith("#") for k in keys), [lines[k] for k in keys if not lines[k - 1].startswith("#")]
    assert sorted(p.name for p in (target / "notebooks").glob("0*.ipynb")) == [
        "01_identify_opportunities.ipynb", "02_take_inventory.ipynb", "03_criteria_and_measurement.ipynb",
        "04_model_answers_and_metrics.ipynb"]
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
    """Issue 17: one row per interaction with the settled scores and the design weight; rater rows apart;
    numbers rounded to the report's precision. The weighted mean of the table is the report's headline."""
    from qcikit.sections import ReportContext

    folder = SAMPLES / "brightwave"
    assert main(["export", str(folder), "--format", fmt, "--out", str(tmp_path)]) == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    inter = read(tmp_path / f"brightwave_interactions.{fmt}")
    assert inter["interaction_id"].is_unique
    assert {"design_weight", "stratum", "n_raters", "qci", "Timing"} <= set(inter.columns)
    assert inter["qci"].between(0, 100).all()
    assert (inter["qci"] * 10).round(9).mod(1).eq(0).all()  # 0.1 points, never 89.99999999999999
    r = ReportContext.load(folder)
    cur = inter[inter["wave"] == r.wave]
    headline = float((cur["qci"] * cur["design_weight"]).sum() / cur["design_weight"].sum())
    # The export holds the raters' scores: its mean is the raters' QCI (the headline itself, when the report is
    # model-assisted as Brightwave's is, corrects the machine instead, and stands beside it on the method page).
    h = r.headline()
    assert headline == pytest.approx(h.get("human_qci", h["qci"])["estimate"], abs=0.05)
    el = read(tmp_path / f"brightwave_elements.{fmt}")
    assert not el.duplicated(["interaction_id", "element"]).any()
    assert {"interaction_id", "element", "dimension", "wave", "team", "score", "design_weight"} <= set(el.columns)
    ratings = read(tmp_path / f"brightwave_ratings.{fmt}")
    assert {"interaction_id", "rater", "element", "points", "weight"} <= set(ratings.columns)
    # Effective weights of one scored form sum to 1.
    sums = ratings.groupby(["interaction_id", "rater"])["weight"].sum()
    assert sums.round(9).eq(1).all()


def test_demo_prints_three_qci_tables(capsys):
    assert main(["demo", "--samples", str(SAMPLES), "--no-render"]) == 0
    out = capsys.readouterr().out
    for client in ("Northwind Outfitters", "Brightwave Analytics", "Voltania Energy"):
        assert client in out
    assert out.count("qci") == 3


def test_demo_writes_the_samples_where_there_are_none(tmp_path, capsys):
    target = tmp_path / "samples"
    assert main(["demo", "--samples", str(target), "--no-render"]) == 0
    assert "Writing the three sample engagements" in capsys.readouterr().out
    # The package's own generator gives the committed samples, byte for byte, plus workspace notebooks.
    for client in ("northwind", "brightwave", "voltania"):
        for f in (SAMPLES / client).iterdir():
            assert (target / client / f.name).read_bytes() == f.read_bytes(), f
        assert (target / client / "notebooks" / "03_criteria_and_measurement.ipynb").is_file()


def test_every_argument_has_help():
    from qcikit.cli import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if action.dest in ("help", "version", "command", "action"):
                continue
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")
                continue
            yield path, action

    missing = [f"{path}: {a.dest}" for path, a in walk(build_parser(), "qcikit") if not a.help]
    assert missing == []


def test_help_shows_the_workflow_in_order():
    proc = subprocess.run([sys.executable, "-m", "qcikit.cli", "--help"], capture_output=True, text=True)
    order = [proc.stdout.index(f"qcikit {c}") for c in ("new DIR", "validate DIR", "sample DIR", "reliability DIR",
                                                          "render DIR", "export DIR")]
    assert order == sorted(order)


def test_reliability_prints_table_and_calibration(capsys):
    assert main(["reliability", str(SAMPLES / "brightwave"), "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "agreement by element" in out and "greeting" in out
    assert "Calibration against gold.csv" in out and "without chloe" in out


def test_reliability_defaults_to_the_reports_wave_and_says_what_it_covers(capsys):
    """Issue 17: the CLI pooled both waves and called an element reliable while the report (current wave) called
    it tentative, and neither said which waves it covered. One default, stated; the report's verdicts match."""
    from qcikit.sections import ReportContext

    folder = SAMPLES / "brightwave"
    assert main(["reliability", str(folder), "--n-boot", "1000"]) == 0
    out = capsys.readouterr().out
    assert "agreement by element, wave 2026-Q3 (the current wave, as in the report" in out
    report = ReportContext.load(folder).agreement.set_index("element")["verdict"]
    for element, verdict in report.items():
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(element + " "))
        assert verdict.split()[0] in line, (element, verdict, line)
    assert main(["reliability", str(folder), "--n-boot", "100", "--all-waves"]) == 0
    assert "all waves pooled (2026-Q2, 2026-Q3)" in capsys.readouterr().out
    assert main(["reliability", str(folder), "--wave", "2027-Q1"]) == 2
    assert "wave '2027-Q1' is not in engagement.yaml" in capsys.readouterr().err


def test_notebooks_refuses_to_overwrite_edited_notebooks(tmp_path, capsys):
    ws = tmp_path / "ws"
    shutil.copytree(SAMPLES / "brightwave", ws)
    data = {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()}
    assert main(["notebooks", str(ws)]) == 0
    assert main(["notebooks", str(ws)]) == 0  # untouched notebooks are simply rewritten
    nb = ws / "notebooks" / "02_take_inventory.ipynb"
    nb.write_text(nb.read_text().replace("margins = [", "margins = [0.02, "))
    assert main(["notebooks", str(ws)]) == 2
    assert "notebooks/02_take_inventory.ipynb was edited" in capsys.readouterr().err
    assert "0.02" in nb.read_text()
    assert main(["notebooks", str(ws), "--force"]) == 0
    assert "0.02" not in nb.read_text()
    assert {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()} == data  # engagement data untouched


def test_sample_sized_for_a_mean_qci_margin(tmp_path, capsys):
    """Cochran (1977, eq. 4.2 with the FPC) for a mean: n0 = (z sd / e)^2, sd from the latest scored wave."""
    from qcikit import metrics, sampling

    f = tmp_path / "bw"
    shutil.copytree(SAMPLES / "brightwave", f)
    eng = qcikit.Engagement.load(f)
    t = metrics.interaction_table(eng)
    last = t[t["wave"] == "2026-Q3"]
    sd = metrics.weighted_sd(last["qci"], last["weight"])
    assert main(["sample", str(f), "--qci-margin", "3", "--force"]) == 0
    assert f"standard deviation {sd:.1f} from wave 2026-Q3" in capsys.readouterr().out
    drawn = pd.read_csv(f / "sample.csv")
    sizes = eng.interactions.groupby("wave").size()
    for wave, n in drawn.groupby("wave").size().items():
        assert n >= sampling.sample_size(3, 0.95, int(sizes[wave]), sd=sd)
