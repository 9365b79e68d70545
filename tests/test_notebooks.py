"""Notebooks stay thin, valid and parameterized; each step notebook runs for each sample client."""
import json
import re

import nbformat
import pytest

from conftest import ROOT, SAMPLES

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


@pytest.mark.parametrize("client", ["northwind", "brightwave", "voltania"])
@pytest.mark.parametrize("path", STEPS, ids=[str(p.relative_to(ROOT / "notebooks")) for p in STEPS])
def test_step_notebook_runs_for_each_client(path, client, tmp_path):
    import papermill

    params = {"engagement": str(SAMPLES / client)}
    if "store_path" in papermill.inspect_notebook(str(path)):
        params["store_path"] = str(tmp_path / "scores.sqlite")
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), parameters=params, cwd=str(path.parent), progress_bar=False,
                               kernel_name="python3")
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
