"""JupyterLab driven as a person drives it: open notebook 03 of an engagement workspace in headless
Chromium, run all cells, score an interaction in the scoring form and find the rows in the store."""
import json
import os
import shutil

import pytest

from conftest import ROOT, SAMPLES, jupyter_lab
from test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (make test installs it)")


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on loopback whose root is a fresh engagement workspace."""
    from qcikit.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(SAMPLES / "brightwave", ws)
    assert main(["notebooks", str(ws)]) == 0
    settings = tmp_path / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    # Render every cell (no virtual scrolling), as the test reads widgets far down the notebook.
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    token = "qcikit-form-test"
    with jupyter_lab(ws, tmp_path, token, settings) as base:
        yield ws, base, token


def test_scoring_form_saves_into_the_engagement_store(lab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    import qcikit
    from qcikit.store import Store

    assert CHROMIUM, "chromium is missing: `make test` installs it with apt-get"
    ws, base, token = lab
    eng = qcikit.Engagement.load(ws)
    iid = eng.sample["interaction_id"].iloc[3]
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/notebooks/03_criteria_and_measurement.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        # JupyterLab asks which kernel to start, as it does for a person opening the notebook: accept Python 3.
        # (It asks only when no kernel session exists yet for the file, so the dialog may not come.)
        select = page.locator(".jp-Dialog button", has_text="Select")
        try:
            select.wait_for(timeout=20_000)
            select.click()
            page.wait_for_selector(".jp-Dialog", state="detached", timeout=30_000)
        except PlaywrightTimeout:
            pass
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # The form renders as live widgets (a text repr like "VBox(children=...)" would not have these).
        try:
            page.wait_for_selector(".qcikit-rater select", timeout=180_000)
        except Exception:
            page.screenshot(path=str(artifacts / "jupyterlab-failure.png"), full_page=True)
            raise
        assert page.locator("text=VBox(children").count() == 0
        page.locator(".qcikit-rater select").select_option(label="ana")
        page.locator(".qcikit-interaction select").select_option(label=iid)
        scored = []
        for e in eng.rubric.element_ids:
            box = page.locator(f".qcikit-points-{e} select")
            if box.is_disabled():
                continue
            box.select_option(label="1")
            scored.append(e)
        page.locator(".qcikit-save").click()
        page.wait_for_selector(".qcikit-status :text('Saved')", timeout=30_000)
        page.screenshot(path=str(artifacts / "jupyterlab-scoring-form.png"))
        browser.close()
    rows = Store(ws / "scores.sqlite").latest()
    mine = rows[(rows["interaction_id"] == iid) & (rows["rater"] == "ana")].set_index("element")["points"]
    assert sorted(mine.index) == sorted(scored) and (mine == 1.0).all()
    # The next load of the engagement reads those rows from its own store.
    again = qcikit.Engagement.load(ws)
    assert again.scores_source.startswith("scores.sqlite")
    assert (again.scores[(again.scores["interaction_id"] == iid) & (again.scores["rater"] == "ana")]["points"] == 1.0).all()
