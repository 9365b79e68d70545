"""Each sample report opened in headless Chromium (Debian's package, driven by playwright).

Checks: no console errors, no network request, the ``<script>`` quoted from a
transcript shows as text and never runs, and a screenshot is kept under
``test-artifacts/`` for a person to look at.
"""
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (make test installs it)")


@pytest.mark.parametrize("client", ["northwind", "brightwave", "voltania"])
def test_report_in_headless_chromium(rendered, client):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is missing: `make test` installs it with apt-get"
    out, results = rendered
    html = next(Path(r.html) for r in results if r.slug == client)
    errors, requests, dialogs = [], [], []
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        def guard(route):
            url = route.request.url
            if not url.startswith(("file:", "data:")):
                requests.append(url)
                return route.abort()
            return route.continue_()

        page.route("**/*", guard)
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        text = page.inner_text("body")
        page.screenshot(path=str(artifacts / f"{client}.png"), full_page=False)
        browser.close()
    assert errors == []
    assert requests == []
    assert dialogs == []  # the transcript's alert('hacked') never ran
    assert "<script>alert('hacked')</script>" in text  # shown as text
    assert "Summary for executives" in text
    assert (artifacts / f"{client}.png").stat().st_size > 10_000
