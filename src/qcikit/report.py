"""Batch rendering of client reports: papermill parameters, warm kernels, HTML export.

``render_reports(engagement_dirs, out_dir)`` executes ``client_report.ipynb``
once per engagement in parallel worker processes and writes, per client,
``<slug>-<wave>.html`` (self-contained: inputs hidden, figures embedded, no request
to any other host) and ``<slug>-<wave>.ipynb`` (the executed notebook, for audit).
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

import jinja2
import nbformat

from ._io import atomic_write_text
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
    seconds: float = 0.0
    error: str = ""
    cell: int | None = None
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return f"{self.slug}: rendered {self.html} in {self.seconds:.1f}s"
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


def to_html(nb, title: str) -> str:
    """A self-contained HTML page of the executed notebook's outputs, inputs hidden.

    Only outputs the report itself produces are kept: HTML fragments (built
    escaped by :mod:`qcikit.sections`), PNG figures (embedded as data URIs)
    and plain text (escaped).  JavaScript and widget outputs are dropped, and
    no link to another host is written.
    """
    import html as _html

    blocks = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            blocks.append(_markdown(cell.source))
            continue
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []) or "injected-parameters" in cell.metadata.get("tags", []):
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
    return page.render(title=title, css=template_path("report.css").read_text(encoding="utf-8"),
                       body=jinja2.utils.markupsafe.Markup("\n".join(blocks)))


# -- one engagement ------------------------------------------------------------------------
def report_stem(slug: str, wave: str) -> str:
    """``<slug>-<wave>``: each wave of each engagement has its own files, so no report overwrites another.

    >>> report_stem("northwind", "2026-Q3"), report_stem("acme", "wave 1/2")
    ('northwind-2026-Q3', 'acme-wave-1-2')
    """
    return f"{slug}-{re.sub(r'[^A-Za-z0-9._-]+', '-', str(wave)).strip('-')}"


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
               notebook: str | os.PathLike | None = None, warm: bool = True) -> RenderResult:
    """Validate, execute and export one engagement's report (never raises for a client's problem)."""
    t0 = time.perf_counter()
    engagement, out_dir = Path(engagement).resolve(), Path(out_dir).resolve()
    notebook = Path(notebook).resolve() if notebook else report_notebook()
    slug = engagement.name
    problems = Engagement.validate(engagement)
    if problems:
        return RenderResult(str(engagement), slug, False, error=f"{len(problems)} problem(s) in the engagement folder; "
                            f"first: {problems[0]}", problems=[str(p) for p in problems], seconds=time.perf_counter() - t0)
    eng = Engagement.load(engagement)
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
    html_path, nb_path = out_dir / f"{stem}.html", out_dir / f"{stem}.ipynb"
    stale = out_dir / f"{stem}.failed.ipynb"
    if stale.exists():
        stale.unlink()
    atomic_write_text(nb_path, nbformat.writes(nb))
    atomic_write_text(html_path, to_html(nb, f"{eng.config.client} — Quality of Customer Interaction, wave {wave}"))
    return RenderResult(str(engagement), slug, True, html=str(html_path), notebook=str(nb_path),
                        seconds=time.perf_counter() - t0)


def _render_safely(engagement, out_dir, wave, notebook, warm):
    try:
        return render_one(engagement, out_dir, wave, notebook, warm)
    except Exception as exc:  # noqa: BLE001 - one client's failure must not stop the batch
        return RenderResult(str(engagement), Path(engagement).name, False, error=f"{type(exc).__name__}: {exc}")


def render_reports(engagement_dirs, out_dir, workers: int | None = None, executor: Executor | None = None,
                   wave: str | None = None, notebook=None, progress: bool = True, warm: bool = True) -> list[RenderResult]:
    """Render one report per engagement, in parallel; failures are isolated.

    Parameters
    ----------
    engagement_dirs : iterable of paths
    out_dir : path
        Where ``<slug>-<wave>.html`` and ``<slug>-<wave>.ipynb`` go.
    workers : int, optional
        Worker processes (default: the machine's cores, at most one per engagement).
    executor : concurrent.futures.Executor, optional
        Any executor, including a ``dask.distributed.Client`` (``pip install qcikit[dask]``),
        to render on a cluster; paths must then be visible to its workers.
    progress : bool
        Show a tqdm progress bar (terminal or Jupyter).

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
    out_dir = str(Path(out_dir).resolve())
    nb = str(Path(notebook).resolve()) if notebook else None
    results: dict[str, RenderResult] = {}
    bar = tqdm(total=len(dirs), desc="reports", unit="client", disable=not progress)
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(dirs)))
    try:
        futures = {executor.submit(_render_safely, d, out_dir, wave, nb, warm): d for d in dirs}
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
