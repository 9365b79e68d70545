"""Each sample report opened in headless Chromium (Debian's package, driven by playwright).

Checks, per client: no console errors and no network request; the ``<script>``
quoted from a transcript shows as text and never runs; axe-core finds no serious
or critical accessibility violation, headings never skip a level and every
figure has alt text that says what it shows; nothing internal (QA notes, column
names, file names, seeds) is in the client's page; the PDF printed by
``render(pdf=True)`` has page numbers, a page per section and the headline in its
text. A screenshot of page one is kept under ``test-artifacts/`` for a person to look at.
"""
import os
import re
from pathlib import Path

import pytest

from conftest import CHROMIUM, CLIENTS, ROOT, pdf_page_fill

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (make test installs it)")

# What a client must never read: the analysis' column names, the engagement's file names, the seed.
INTERNAL = ["ci_low", "ci_high", "n_units", "p_adj", "p_holm", "std_diff", "n_shops", "interaction_id",
            "_summary.csv", "summary.csv", "scores.csv", "scores.sqlite", "engagement.yaml", "inventory.csv",
            "sample.csv", "rubric.yaml", "seed", "Data notes", "QA notes"]


def _open(p, html: Path):
    """Load ``html`` in a fresh page that records console errors, requests to other hosts and dialogs."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    seen = {"errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))

    def guard(route):
        url = route.request.url
        if not url.startswith(("file:", "data:")):
            seen["requests"].append(url)
            return route.abort()
        return route.continue_()

    page.route("**/*", guard)
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return browser, page, seen


def _ids(eng) -> set[str]:
    """Every id with an underscore a client could see raw: elements, facets, levels, teams."""
    ids = set(eng.rubric.element_ids) | set(eng.schema.names) | {lv for v in eng.schema.facets.values() for lv in v}
    ids |= set(eng.interactions["team"].dropna().astype(str))
    return {i for i in ids if "_" in i}


@pytest.mark.parametrize("client", CLIENTS)
def test_report_in_headless_chromium(rendered, client):
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    import qcikit
    from conftest import SAMPLES

    assert CHROMIUM, "chromium is missing: `make test` installs it with apt-get"
    out, results = rendered
    result = next(r for r in results if r.slug == client)
    html = Path(result.html)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser, page, seen = _open(p, html)
        text, title = page.inner_text("body"), page.title()
        page.screenshot(path=str(artifacts / f"{client}.png"), full_page=False)
        headings = page.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "els => els.map(e => Number(e.tagName[1]))")
        alts = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('alt') || '')")
        axe = Axe().run(page).response
        browser.close()
        # The QA page quotes the transcripts that hold markup: as text, never run.
        browser, qa_page, qa_seen = _open(p, Path(result.qa))
        qa_text = qa_page.inner_text("body")
        browser.close()
    assert seen == {"errors": [], "requests": [], "dialogs": []}
    assert qa_seen == {"errors": [], "requests": [], "dialogs": []}  # the transcript's alert('hacked') never ran
    assert "<script>alert('hacked')</script>" in qa_text  # shown as text

    # Accessible: axe-core (WCAG rules) finds nothing serious or critical; headings go down one level at a time.
    bad = [(v["id"], v["impact"], len(v["nodes"])) for v in axe["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == []
    assert headings[0] == 1 and headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(headings, headings[1:])), headings
    # Figures say what they show (numbers, not the word "figure"): trend, elements, change, competitive edge.
    assert len(alts) >= 4 and all(len(a) > 40 and re.search(r"\d", a) for a in alts), alts

    # Page one: client, wave, the QCI with its interval and target, what the QCI is, effort and edge with n.
    eng = qcikit.Engagement.load(SAMPLES / client)
    assert title == f"{eng.config.client} — Quality of Customer Interaction, wave {eng.config.waves[-1]}"
    assert html.name == f"{client}-{eng.config.waves[-1]}.html" and Path(result.pdf).name == f"{client}-{eng.config.waves[-1]}.pdf"
    top = text[: text.index("Detail for managers")]
    assert eng.config.client in top and f"wave {eng.config.waves[-1]}" in top
    assert re.search(r"QCI out of 100 · 95 % CI \d+\.\d–\d+\.\d · [\d,]+ of [\d,]+ sampled interactions scored · target \d+", top)
    assert all(f"{d.name} {100 * d.weight:.0f} %" in top for d in eng.rubric.model.dimensions)
    assert re.search(r"Customer Effort: .* n = [\d,]+ answers", top)
    assert re.search(r"n = \d+ mystery shops", top) and "Fix first" in top

    # Nothing internal in the client's page: no QA notes, column names, file names, seeds or raw ids.
    low = text.lower()
    assert [w for w in INTERNAL if w.lower() in low] == []
    assert [i for i in _ids(eng) if re.search(rf"\b{re.escape(i)}\b", text)] == []
    assert "Data notes" in qa_text and f"seed {eng.config.seed}" in qa_text and "summary.csv" in qa_text

    # Print: the PDF has every page numbered, more pages than sections, and page one's headline as text.
    from pypdf import PdfReader

    pdf = PdfReader(result.pdf)
    pages = [pg.extract_text() for pg in pdf.pages]
    n = len(pages)
    teams = eng.interactions.loc[eng.interactions["wave"] == eng.config.waves[-1], "team"].nunique()
    # page one, detail (≥ 2), coaching (one page per team), method: at least 4 + teams pages
    assert n >= 4 + teams
    assert all(f"Page {i} of {n}" in t for i, t in enumerate(pages, 1))
    assert eng.config.client in pages[0] and "Summary for executives" in pages[0]
    assert re.search(r"\d+\.\d QCI out of 100", pages[0])
    # Page one is one page, whole: the priorities end on it and the detail starts on page two.
    assert "Fix first" in pages[0] and "Detail for managers" not in pages[0] and "Detail for managers" in pages[1]
    # each team's coaching page starts a page of its own
    starts = [t for t in pages if re.search(r"^(Page \d+ of \d+\s*)?Coaching page — ", t)]
    assert len(starts) >= teams - 1
    assert (artifacts / f"{client}.png").stat().st_size > 10_000
    # No page mostly blank (issue 17): text and figures span at least a third of every page, the last included.
    fills = pdf_page_fill(result.pdf)
    assert min(fills) >= 1 / 3, [round(f, 2) for f in fills]
    # Each team's coaching fits its own page: the next page never holds a spill-over of a few lines.
    assert len(starts) == teams


def test_foreign_engagement_pdf_pages_are_full(tmp_path):
    """The engagement that shares no id or dimension name with the samples prints without a near-empty page."""
    from pypdf import PdfReader

    from conftest import SAMPLES
    from foreign import make_foreign
    from qcikit.report import render_reports

    assert CHROMIUM, "chromium is missing: `make test` installs it with apt-get"
    harbor = make_foreign(SAMPLES / "brightwave", tmp_path / "harbor")
    [result] = render_reports([harbor], tmp_path / "out", workers=1, progress=False, pdf=True)
    assert result.ok, result.error
    fills = pdf_page_fill(result.pdf)
    assert min(fills) >= 1 / 3, [round(f, 2) for f in fills]
    text = " ".join(p.extract_text() for p in PdfReader(result.pdf).pages)
    assert not re.search(r"\b(Timing|Connection|Differentiation)\b", text)
