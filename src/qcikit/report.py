"""Batch rendering of client reports: papermill parameters, warm kernels, HTML export.

``render_reports(engagement_dirs, out_dir)`` executes ``client_report.ipynb``
once per engagement in parallel worker processes and writes, per client,
``<slug>-<wave>.html`` (self-contained: inputs hidden, figures embedded, no request
to any other host; the client's), ``<slug>-<wave>-qa.html`` (the consultant's QA
notes: the cells tagged ``qa``), ``<slug>-<wave>.ipynb`` (the executed notebook,
for audit) and, with ``pdf=True``, ``<slug>-<wave>.pdf`` printed by headless Chromium.
A failure is isolated: that client's result says which cell failed and why,
``<slug>-<wave>.failed.ipynb`` shows where, and the other clients still render.

Each worker process keeps one Jupyter kernel warm and wipes its namespace
(``%reset -f``) before every client, so the kernel start and the
pandas/seaborn imports are paid once per worker, not once per report, while
no variable of one client survives into the next.
"""
from __future__ import annotations

import atexit
import base64
import os
import re
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2
import nbformat

from ._io import atomic_write_text, report_stem
from .engagement import Engagement
from .errors import RenderError
from .templates import path as template_path
from .workspace import report_notebook

KERNEL = "python3"
# Each client starts from an empty namespace. Collapsed-strata warnings are the consultant's, not the
# client's: the report shows no stray stderr lines (the QA notebook keeps every output).
RESET = ("%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
         "import warnings as _w\nfrom qcikit.errors import CollapsedStrataWarning as _C\n"
         "_w.simplefilter('ignore', _C)\ndel _w, _C")


@dataclass
class RenderResult:
    """What happened to one engagement."""

    engagement: str
    slug: str
    ok: bool
    html: str | None = None
    notebook: str | None = None
    qa: str | None = None
    pdf: str | None = None
    seconds: float = 0.0
    error: str = ""
    cell: int | None = None
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            extra = f" and {Path(self.pdf).name}" if self.pdf else ""
            return f"{self.slug}: rendered {self.html}{extra} in {self.seconds:.1f}s"
        where = f" (cell {self.cell})" if self.cell is not None else ""
        return f"{self.slug}: FAILED{where}: {self.error}" + (f" — see {self.notebook}" if self.notebook else "")


# -- parameters ------------------------------------------------------------------------------
def check_parameters(notebook: Path, parameters: dict) -> None:
    """Refuse parameters the notebook does not declare (papermill itself only warns)."""
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise RenderError(f"{notebook.name}: unknown parameter(s) {', '.join(unknown)}. "
                          f"Fix: use the notebook's parameters ({', '.join(declared)}).")


# -- warm kernel, one per worker process -----------------------------------------------------
_KM = None


def _kernel():
    global _KM
    import multiprocessing.util
    import tempfile

    from jupyter_client.manager import KernelManager

    if _KM is None or not _KM.is_alive():
        # IPC sockets in a private folder: nothing listens on a TCP port, so the kernel has no
        # unencrypted-transport warning to print, and no other user of the machine can connect.
        sockets = tempfile.mkdtemp(prefix="qcikit-kernel-")
        _KM = KernelManager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(sockets, "k"))
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # keep the inline backend: figures become PNGs
        _KM.start_kernel(extra_arguments=["--HistoryManager.enabled=False"], env=env)
        # A pool's worker process ends with os._exit, which skips atexit; multiprocessing's own
        # finalizers do run, so the kernel is shut down instead of noticing its parent has gone.
        multiprocessing.util.Finalize(None, _shutdown, exitpriority=10)
        atexit.register(_shutdown)
    return _KM


def _shutdown():
    global _KM
    if _KM is not None:
        try:
            _KM.shutdown_kernel(now=False)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass
        _KM = None


def execute(notebook: Path, parameters: dict, cwd: Path, warm: bool = True, timeout: int = 600):
    """Execute ``notebook`` with papermill-style injected parameters; returns (nb, error, cell)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(notebook))  # papermill's reader also gives every cell a tags list
    nb = parameterize_notebook(nb, parameters)
    km = _kernel()
    if warm:
        nb.cells.insert(0, nbformat.v4.new_code_cell(RESET, metadata={"tags": ["qcikit-reset"]}))
    client = NotebookClient(nb, km=km, kernel_name=KERNEL, timeout=timeout, resources={"metadata": {"path": str(cwd)}},
                            allow_errors=False, record_timing=False)
    error, cell = "", None
    try:
        if warm:
            client.reset_execution_trackers()
            with client.setup_kernel(cleanup_kc=False):
                for i, c in enumerate(nb.cells):
                    cell = i
                    client.execute_cell(c, i)
            cell = None
        else:
            client.execute(cleanup_kc=False)
            client.km.restart_kernel(now=True)  # a cold run leaves nothing behind for the next client
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
        if cell is None:
            cell = next((i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"), None)
    if warm:
        nb.cells = [c for c in nb.cells if "qcikit-reset" not in c.metadata.get("tags", [])]
        cell = None if cell is None else cell - 1
    if not error:
        for i, c in enumerate(nb.cells):
            for o in c.get("outputs", []):
                if o.get("output_type") == "error":  # an exit status alone misses some failures
                    return nb, f"{o.get('ename')}: {o.get('evalue')}", i
    return nb, error, cell


# -- HTML export ---------------------------------------------------------------------------
def _markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    # Headings get "¶" anchor links from nbconvert's renderer; a client report does not need them.
    return re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", markdown2html_mistune(text))


Audience = Literal["client", "qa"]
AUDIENCES = ("client", "qa")


def to_html(nb, title: str, audience: Audience = "client") -> str:
    """A self-contained HTML page of the executed notebook's outputs, inputs hidden.

    Only outputs the report itself produces are kept: HTML fragments (built
    escaped by :mod:`qcikit.sections`), PNG figures (embedded as data URIs)
    and plain text (escaped).  JavaScript and widget outputs are dropped, and
    no link to another host is written.

    ``audience="client"`` leaves out the cells tagged ``qa`` (the consultant's
    sources, seeds and data notes); ``"qa"`` keeps only those, under the title.
    """
    import html as _html

    if audience not in AUDIENCES:
        raise RenderError(f"audience {audience!r} is not known. Fix: use one of {', '.join(AUDIENCES)}.")
    blocks = [f"<h1>{_html.escape(title)}</h1>"] if audience == "qa" else []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if ("qa" in tags) != (audience == "qa"):
            continue
        if cell.cell_type == "markdown":
            blocks.append(_markdown(cell.source))
            continue
        if cell.cell_type != "code" or "parameters" in tags or "injected-parameters" in tags:
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                blocks.append(f"<pre>{_html.escape(out.get('text', ''))}</pre>")
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                if "image/png" in data:
                    png = data["image/png"]
                    png = png if isinstance(png, str) else base64.b64encode(png).decode()
                    blocks.append(f'<img alt="figure" src="data:image/png;base64,{png.strip()}">')
                elif "text/html" in data:
                    blocks.append(data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"]))
                elif "text/plain" in data:
                    blocks.append(f"<pre>{_html.escape(data['text/plain'])}</pre>")
    env = jinja2.Environment(autoescape=True)
    page = env.from_string(template_path("report.html.j2").read_text(encoding="utf-8"))
    # The stylesheet is the package's own file, not client text: escaping it would break its quoted strings.
    css = jinja2.utils.markupsafe.Markup(template_path("report.css").read_text(encoding="utf-8"))
    return page.render(title=title, css=css,
                       body=jinja2.utils.markupsafe.Markup("\n".join(blocks)))


# -- PDF through headless Chromium ------------------------------------------------------------
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser() -> str:
    """The Chromium-based browser that prints PDFs: ``QCIKIT_CHROMIUM``, else the first on PATH."""
    import shutil

    env = os.environ.get("QCIKIT_CHROMIUM")
    if env:
        if shutil.which(env):
            return shutil.which(env)
        raise RenderError(f"QCIKIT_CHROMIUM is set to {env}, which is not an executable. "
                          "Fix: point it at Chromium or Chrome, or unset it to search PATH.")
    for name in BROWSERS:
        if shutil.which(name):
            return shutil.which(name)
    raise RenderError("--pdf prints through a Chromium-based browser and none was found on PATH "
                      f"({', '.join(BROWSERS)}). Fix: install one (Debian: apt-get install chromium) "
                      "or set QCIKIT_CHROMIUM to its path; the HTML reports need no browser.")


def to_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, browser: str | None = None,
           timeout: int = 180) -> Path:
    """Print a report's HTML to PDF with headless Chromium (its print CSS: A4, page numbers, breaks).

    The page numbers come from the stylesheet's ``@page`` margin boxes, so
    Chromium's own header and footer (date, file URL) are switched off. Written
    atomically: a half-printed PDF never replaces a good one.
    """
    import subprocess
    import tempfile

    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    exe = browser or find_browser()
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="qcikit-chromium-") as profile:
        args = [exe, "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
                "--no-pdf-header-footer", f"--print-to-pdf={tmp}", html_path.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            run = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tmp.unlink(missing_ok=True)
            raise RenderError(f"{pdf_path.name}: the browser {exe} could not print the report ({exc}). "
                              "Fix: check that it starts (`chromium --headless --version`).") from None
    if run.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        last = (run.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise RenderError(f"{pdf_path.name}: the browser {exe} did not print the report (exit {run.returncode}: "
                          f"{last[0]}). Fix: check that it starts (`chromium --headless --version`).")
    os.replace(tmp, pdf_path)
    return pdf_path


# -- one engagement ------------------------------------------------------------------------
def _check_slugs(dirs: list[str]) -> None:
    """Two engagements with one slug would write the same file names: refuse the batch, naming both folders."""
    import yaml

    seen: dict[str, str] = {}
    for d in dirs:
        try:
            slug = (yaml.safe_load((Path(d) / "engagement.yaml").read_text(encoding="utf-8")) or {}).get("slug")
        except (OSError, yaml.YAMLError, AttributeError):
            continue  # the engagement's own validation reports it, for that client alone
        if slug in seen:
            raise RenderError(f"{seen[slug]} and {d} both have slug '{slug}', so their reports would overwrite each "
                              "other; nothing was rendered. Fix: give each engagement its own slug in engagement.yaml.")
        if slug:
            seen[slug] = d


def render_one(engagement: str | os.PathLike, out_dir: str | os.PathLike, wave: str | None = None,
               notebook: str | os.PathLike | None = None, warm: bool = True, pdf: bool = False) -> RenderResult:
    """Validate, execute and export one engagement's report (never raises for a client's problem)."""
    t0 = time.perf_counter()
    engagement, out_dir = Path(engagement).resolve(), Path(out_dir).resolve()
    notebook = Path(notebook).resolve() if notebook else report_notebook()
    slug = engagement.name
    # One read checks the folder and gives the engagement (a million interactions: one load, not two). The
    # kernel loads it again: it is another process.
    problems, eng = Engagement.check(engagement)
    if problems:
        return RenderResult(str(engagement), slug, False, error=f"{len(problems)} problem(s) in the engagement folder; "
                            f"first: {problems[0]}", problems=[str(p) for p in problems], seconds=time.perf_counter() - t0)
    slug, wave = eng.slug, wave or eng.config.waves[-1]
    stem = report_stem(slug, wave)
    params = {"engagement": str(engagement), "wave": wave, "out": str(out_dir)}
    check_parameters(notebook, params)
    nb, error, cell = execute(notebook, params, engagement, warm=warm)
    out_dir.mkdir(parents=True, exist_ok=True)
    if error:
        failed = out_dir / f"{stem}.failed.ipynb"
        # The header shifts every cell by one; report the index as it stands in the failed notebook.
        cell = None if cell is None else cell + 1
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**Rendering failed** at cell {cell}: `{error}`. The cells below show the outputs up to the failure."))
        atomic_write_text(failed, nbformat.writes(nb))
        return RenderResult(str(engagement), slug, False, notebook=str(failed), error=error, cell=cell,
                            seconds=time.perf_counter() - t0)
    html_path, nb_path, qa_path = out_dir / f"{stem}.html", out_dir / f"{stem}.ipynb", out_dir / f"{stem}-qa.html"
    stale = out_dir / f"{stem}.failed.ipynb"
    if stale.exists():
        stale.unlink()
    title = f"{eng.config.client} — Quality of Customer Interaction, wave {wave}"
    atomic_write_text(nb_path, nbformat.writes(nb))
    atomic_write_text(html_path, to_html(nb, title))
    atomic_write_text(qa_path, to_html(nb, f"{title}: QA notes (consultant only)", audience="qa"))
    pdf_path = None
    if pdf:
        try:
            pdf_path = str(to_pdf(html_path, out_dir / f"{stem}.pdf"))
        except RenderError as exc:
            return RenderResult(str(engagement), slug, False, html=str(html_path), notebook=str(nb_path),
                                qa=str(qa_path), error=str(exc), seconds=time.perf_counter() - t0)
    return RenderResult(str(engagement), slug, True, html=str(html_path), notebook=str(nb_path), qa=str(qa_path),
                        pdf=pdf_path, seconds=time.perf_counter() - t0)


def _render_safely(engagement, out_dir, wave, notebook, warm, pdf=False):
    try:
        return render_one(engagement, out_dir, wave, notebook, warm, pdf)
    except Exception as exc:  # noqa: BLE001 - one client's failure must not stop the batch
        return RenderResult(str(engagement), Path(engagement).name, False, error=f"{type(exc).__name__}: {exc}")


def render_reports(engagement_dirs, out_dir, workers: int | None = None, executor: Executor | None = None,
                   wave: str | None = None, notebook=None, progress: bool = True, warm: bool = True,
                   pdf: bool = False) -> list[RenderResult]:
    """Render one report per engagement, in parallel; failures are isolated.

    Parameters
    ----------
    engagement_dirs : iterable of paths
    out_dir : path
        Where ``<slug>-<wave>.html`` (the client's), ``<slug>-<wave>-qa.html`` (the consultant's QA notes)
        and ``<slug>-<wave>.ipynb`` (the executed notebook, for audit) go.
    workers : int, optional
        Worker processes (default: the machine's cores, at most one per engagement).
    executor : concurrent.futures.Executor, optional
        Any executor, including a ``dask.distributed.Client`` (``pip install qcikit[dask]``),
        to render on a cluster; paths must then be visible to its workers.
    progress : bool
        Show a tqdm progress bar (terminal or Jupyter).
    pdf : bool
        Also print ``<slug>-<wave>.pdf`` through headless Chromium (:func:`to_pdf`).

    Returns
    -------
    list of RenderResult, in the order given.
    """
    from tqdm.auto import tqdm

    dirs = [str(Path(d).resolve()) for d in engagement_dirs]
    if not dirs:
        raise RenderError("no engagement folders were given. Fix: pass one or more folders, e.g. data/samples/*.")
    _check_slugs(dirs)
    if notebook is not None and not Path(notebook).is_file():
        raise RenderError(f"the report notebook {notebook} does not exist. "
                          "Fix: pass notebook= the path of a client_report.ipynb, or leave it out to use the installed one.")
    report_notebook()  # the installed notebook is there, or a clear error says how to reinstall
    if pdf:
        find_browser()  # one clear message before any work, not one failure per client
    out_dir = str(Path(out_dir).resolve())
    nb = str(Path(notebook).resolve()) if notebook else None
    results: dict[str, RenderResult] = {}
    bar = tqdm(total=len(dirs), desc="reports", unit="client", disable=not progress)
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(dirs)))
    try:
        futures = {executor.submit(_render_safely, d, out_dir, wave, nb, warm, pdf): d for d in dirs}
        if hasattr(executor, "gather"):  # dask.distributed.Client
            from dask.distributed import as_completed as dask_completed

            done = dask_completed(list(futures))
        else:
            done = as_completed(futures)
        for fut in done:
            res = fut.result()
            results[futures[fut]] = res
            bar.update(1)
            bar.set_postfix_str(res.slug)
    finally:
        bar.close()
        if own:
            executor.shutdown()
    return [results[d] for d in dirs]
