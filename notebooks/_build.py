"""Write the notebooks' cells (their outputs come from executing them).

Run from the repository root: ``make notebooks`` (writes and executes each
notebook).  Keeping the cells here keeps every notebook's source reviewable as
code.  Plot cells assign the returned Axes (``ax = plots...``) instead of
ending with ``;``: nbval runs cells without IPython's input history, where a
trailing semicolon cannot be seen and the Axes repr would leak into outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def nb(cells, path):
    book = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(book)
    (HERE / path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, str(HERE / path))


def params(src):
    return new_code_cell(src, metadata={"tags": ["parameters"]})


md, code = new_markdown_cell, new_code_cell

NOTEBOOKS = {}

NOTEBOOKS["client_report.ipynb"] = [
    params('# The report\'s interface: `qcikit render` sets these three.\nengagement = "../data/samples/northwind"\nwave = None  # None: the latest wave in engagement.yaml\nout = "../reports"'),
    code("from qcikit import metrics, plots\nfrom qcikit.sections import ReportContext\n\nr = ReportContext.load(engagement, wave)"),
    md("## Summary for executives"),
    code("r.summary_html()"),
    md("## Detail for managers"),
    code("r.detail_html()"),
    code('ax = plots.estimates_with_ci(r.elements(), "name", "Elements this wave", target=r.eng.config.target_qci)'),
    code("if r.change is not None:\n    ax = plots.wave_change(r.change)"),
    code("if r.eng.mystery_shops is not None:\n    ax = plots.competitive_edge(metrics.competitive_edge(r.eng, r.wave))"),
    md("## Coaching pages\n\nOne page per team: the elements to work on first, an interaction to discuss together, and the model answer to aim for."),
    code("r.coaching_html()"),
    md("## Method notes"),
    code("r.method_html()"),
    code("r.data_notes_html()"),
    code("r.save_tables(out).name"),
]

def execute(path: Path) -> None:
    """Run a notebook in its own folder and save it with its outputs (what nbval then re-checks)."""
    from nbclient import NotebookClient

    book = nbformat.read(str(path), as_version=4)
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in book.cells:  # execution timing metadata would make every run a diff
        cell.metadata.pop("execution", None)
    nbformat.write(book, str(path))


if __name__ == "__main__":
    only = set(sys.argv[1:])
    for path, cells in NOTEBOOKS.items():
        if not only or path in only:
            nb(cells, path)
            execute(HERE / path)
            print(HERE / path)
