"""Notebooks stay thin, valid and parameterized; each step notebook runs for each sample client."""
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from conftest import ROOT, SAMPLES
from foreign import make_foreign, sample_ids

NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))


def parameters_source(path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


# Every notebook whose parameters name an engagement (steps and training; the report has its own tests).
STEPS = [p for p in NOTEBOOKS if p.name != "client_report.ipynb" and "engagement" in parameters_source(p)]


def test_there_are_step_and_training_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_identify_opportunities.ipynb", "02_take_inventory.ipynb", "03_criteria_and_measurement.ipynb",
            "04_model_answers_and_metrics.ipynb", "client_report.ipynb"} <= names
    assert len([p for p in NOTEBOOKS if p.parent.name == "training"]) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_thin_valid_and_clean(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata  # no stale widget state
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        assert len(lines) <= 15, cell.source
        assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), cell.source
        assert "NBVAL_SKIP" not in cell.source and "NBVAL_IGNORE_OUTPUT" not in cell.source
        assert cell.get("outputs") is not None
        assert not [o for o in cell.outputs if o.get("output_type") == "error"]
    assert any(c.cell_type == "code" and c.outputs for c in nb.cells), "committed without outputs"
    if path.parent.name != "training" and path.name != "client_report.ipynb":
        assert nb.cells[0].cell_type == "markdown" and "What to decide now" in nb.cells[-1].source


def test_training_solutions_are_hidden():
    for path in (ROOT / "notebooks" / "training").glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        if solutions:
            assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)


@pytest.fixture(scope="session")
def harbor(tmp_path_factory):
    """The hotel engagement: no element, facet, level, touchpoint, team or rater of the samples."""
    return make_foreign(SAMPLES / "brightwave", tmp_path_factory.mktemp("foreign") / "harbor")


def test_the_second_engagement_shares_no_id_with_the_samples(harbor):
    import yaml

    rubric = yaml.safe_load((harbor / "rubric.yaml").read_text())
    schema = yaml.safe_load((harbor / "scenarios.yaml").read_text())
    cfg = yaml.safe_load((harbor / "engagement.yaml").read_text())
    ids = {e["id"] for e in rubric["elements"]} | {v for lv in schema["facets"].values() for v in lv}
    ids |= {d["name"] for d in rubric["dimensions"]}
    ids |= {f for f in schema["facets"] if f != "touchpoint"} | {r["name"] for r in cfg["raters"]}
    ids |= set(pd.read_csv(harbor / "interactions.csv", usecols=["team"])["team"])
    assert len(rubric["elements"]) == 14 and len(rubric["dimensions"]) == 3
    assert ids & sample_ids(SAMPLES) == set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT / "notebooks")) for p in NOTEBOOKS])
def test_no_client_id_outside_the_parameters_cell(path):
    """Notebooks run on any engagement: no sample's element, facet, level, team or rater is written in a cell."""
    from typing import get_args

    from qcikit.answers import AnswerKind

    # The kinds of model answer ("email", "checklist" …) are the kit's own words, not a client's touchpoint.
    ids = sample_ids(SAMPLES) - set(get_args(AnswerKind))
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        words = set(re.findall(r"[\w-]+", cell.source))
        assert not words & ids, (path.name, sorted(words & ids), cell.source)


# Northwind is what nbval re-runs every notebook with; the foreign engagement (no sample id) runs here
# (the other samples render in the report, demo and wheel tests).
@pytest.mark.parametrize("client", ["harbor"])
@pytest.mark.parametrize("path", STEPS, ids=[str(p.relative_to(ROOT / "notebooks")) for p in STEPS])
def test_step_notebook_runs_for_each_client(path, client, tmp_path, request):
    import papermill

    folder = request.getfixturevalue("harbor") if client == "harbor" else SAMPLES / client
    params = {"engagement": str(folder)}
    if "store_path" in papermill.inspect_notebook(str(path)):
        params["store_path"] = str(tmp_path / "scores.sqlite")
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), parameters=params, cwd=str(path.parent), progress_bar=False,
                               kernel_name="python3")
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_client_report_renders_for_the_second_engagement(harbor, tmp_path):
    from qcikit.report import render_reports

    [result] = render_reports([harbor], tmp_path, workers=1, progress=False)
    assert result.ok, result.error
    text = Path(result.html).read_text(encoding="utf-8")
    assert "Harbor Hotels" in text and "Hotel Greeting" in text


def test_workspace_notebooks_run_from_their_own_folder(harbor, tmp_path):
    """`qcikit notebooks DIR` writes notebooks whose default engagement is DIR; papermill runs them there."""
    import shutil

    import papermill

    from qcikit.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(harbor, ws)
    assert main(["notebooks", str(ws)]) == 0
    nb = ws / "notebooks" / "04_model_answers_and_metrics.ipynb"
    assert 'engagement = ".."' in parameters_source(nb)
    papermill.execute_notebook(str(nb), str(tmp_path / "run.ipynb"), cwd=str(nb.parent), progress_bar=False,
                               kernel_name="python3")
    assert "Hotel" in (tmp_path / "run.ipynb").read_text(encoding="utf-8")


def test_step_one_runs_before_any_scoring(tmp_path):
    """Issue 17: notebook 01 failed on a fresh workspace ("scores.csv is missing"). Step 1 comes before
    scoring: without scores the partial audit is empty and the concepts serve every dimension."""
    import shutil

    import papermill

    folder = tmp_path / "unscored"
    shutil.copytree(SAMPLES / "northwind", folder)
    for name in ("scores.csv", "scores.sqlite", "gold.csv"):
        (folder / name).unlink(missing_ok=True)
    path = ROOT / "notebooks" / "01_identify_opportunities.ipynb"
    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(str(path), str(out), parameters={"engagement": str(folder)}, cwd=str(path.parent),
                               progress_bar=False, kernel_name="python3")
    nb = json.loads(out.read_text())
    assert not [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    text = out.read_text()
    assert "Managing expectations" in text  # concepts shown for the dimensions, with no audit to rank them
