"""The batch: validate once, run the site-report notebook once per site in parallel, build the index.

For every site of a visit table the notebook runs under papermill in a fresh ``python3``
kernel (parameters as a dict, so ``"007"`` stays a string; absolute paths; the kernel starts in
the notebook's folder without any process-wide ``chdir``). The executed notebook is exported to one
self-contained HTML file (code hidden, images embedded, table of contents), written beside the
executed notebook and the site's JSON summary, and ``index.html`` links them all.

Sites run in parallel on ``jobs`` worker processes, or on a dask.distributed cluster through its
``concurrent.futures`` executor. A failing site is recorded (the failed cell's ``ename``/``evalue``)
and never stops the others; every file is written under a temporary name in the same folder and
renamed into place, so a failure never replaces an earlier good report. A kernel that fails to
start (port race, early death, start-up timeout) is retried once, with a plainly started kernel.

Speed: each worker keeps papermill, nbconvert and a compiled HTML template loaded, and each site's
kernel is forked from a "zygote" process that has imported ipykernel and the notebook's modules
once (see :class:`KernelZygote`), so a site costs its own computation rather than seconds of imports.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from ivig_kit.errors import KernelStartError, ReportSetupError, SummaryError
from ivig_kit.files import file_sha256, partial_path, write_atomically
from ivig_kit.reports.kernels import (
    KERNEL_NAME,
    KernelZygote,
    _source,
    _start_kernel,
    _stop_kernel,
    notebook_cells,
    notebook_imports,
)
from ivig_kit.reports.pages import (
    _html_exporter,
    export_html,
    export_site_pdfs,
    write_index,
)
from ivig_kit.reports.parameters import REPORT_PARAMETERS
from ivig_kit.reports.tasks import (
    BatchResult,
    ReportBatch,
    SiteResult,
    SiteTask,
    site_slug,
)
from ivig_kit.resources import notebook_path
from ivig_kit.score.measures import POPULATIONS
from ivig_kit.score.visits import read_visits

#: The report notebook `ivig-kit reports` runs unless told otherwise.
DEFAULT_NOTEBOOK = notebook_path("site_report.ipynb")
KERNEL_START_ATTEMPTS = 2  # a kernel that fails to start is retried once


def _execute(task: SiteTask, notebook_partial: Path, summary_partial: Path, warm: bool = True):
    """Run the notebook for one site in a fresh kernel; return the executed notebook node."""
    import papermill

    manager = _start_kernel(cwd=str(Path(task.notebook).parent), warm=warm, notebook=task.notebook)
    try:
        return papermill.execute_notebook(
            task.notebook, str(notebook_partial), parameters=task.parameters(summary_partial),
            kernel_name=KERNEL_NAME, progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=task.cell_timeout_s, km=manager)
    finally:
        _stop_kernel(manager)


def run_site_report(task: SiteTask) -> SiteResult:
    """Report on one site: execute, export, then rename the HTML, notebook and summary into place.

    Never raises for a site's own failure: the result says ``failed`` with the error. The files of an
    earlier good run stay untouched when this one fails; the failed notebook is kept as
    ``<slug>.failed.ipynb`` for inspection.
    """
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    out_dir = Path(task.out_dir)
    files = task.files()
    partials = []

    def result(status, attempts, summary=None, error=None):
        return SiteResult(site=task.site, slug=task.slug, status=status, seconds=time.perf_counter() - started,
                          attempts=attempts, files=files, summary=summary, error=error)

    attempt = 0
    try:
        while True:
            attempt += 1
            notebook_partial = partial_path(out_dir, files["notebook"])
            summary_partial = partial_path(out_dir, files["summary"])
            partials += [notebook_partial, summary_partial]
            summary_partial.unlink()  # the notebook must write it; an empty file would hide that it did not
            try:
                executed = _execute(task, notebook_partial, summary_partial, warm=attempt == 1)
                break
            except KernelStartError as error:
                if attempt >= KERNEL_START_ATTEMPTS:
                    return result("failed", attempt, error={
                        "kind": "kernel-start", "ename": type(error.__cause__ or error).__name__,
                        "evalue": str(error.__cause__ or error), "cell_index": None})
            except PapermillExecutionError as error:
                if notebook_partial.exists() and notebook_partial.stat().st_size:
                    os.replace(notebook_partial, out_dir / files["failed_notebook"])
                return result("failed", attempt, error={
                    "kind": "cell", "ename": error.ename, "evalue": error.evalue, "cell_index": error.cell_index,
                    "exec_count": error.exec_count})

        summary = _read_summary(summary_partial, task.site)
        page = export_html(executed, title=f"Site report: {task.site}")
        # Summary and notebook first, HTML last: the HTML is what people open.
        os.replace(summary_partial, out_dir / files["summary"])
        os.replace(notebook_partial, out_dir / files["notebook"])
        write_atomically(out_dir / files["html"], page)
        with contextlib.suppress(FileNotFoundError):
            (out_dir / files["failed_notebook"]).unlink()
        return result("ok", attempt, summary=summary)
    except Exception as error:  # a dead kernel, a timeout, a broken summary, an export error
        return result("failed", attempt, error={"kind": "runner", "ename": type(error).__name__,
                                                "evalue": str(error), "cell_index": None})
    finally:
        for partial in partials:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()


def _read_summary(path: Path, site: str) -> dict:
    if not path.exists():
        raise SummaryError(f"the notebook wrote no summary to summary_path ({path.name})")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(summary, dict) or summary.get("site") != site:
        found = summary.get("site") if isinstance(summary, dict) else summary
        raise SummaryError(f"the summary is for site {found!r}, expected {site!r}")
    return summary


def default_adverse_events(data_path: Path) -> Path | None:
    """The adverse-event table that goes with a visit table, if there is one beside it:
    ``demo_registry.csv`` -> ``demo_adverse_events.csv`` (also ``*_visits`` -> ``*_adverse_events``)."""
    for word in ("registry", "visits"):
        if word in data_path.stem:
            candidate = data_path.with_name(data_path.stem.replace(word, "adverse_events") + ".csv")
            if candidate.is_file():
                return candidate
    return None


def prepare_batch(data_path, out_dir, sites=None, notebook=None, population: str = "adult",
                  adverse_events_path="auto") -> ReportBatch:
    """Read and validate everything once, before any kernel starts; raise :class:`InputError` on bad input.

    ``adverse_events_path``: a path, ``""``/``None`` for none, or ``"auto"`` for the table beside the data
    (:func:`default_adverse_events`).
    """
    data_path = Path(data_path).resolve()
    visits = read_visits(data_path)  # VisitTableError (an InputError) names file, row and column
    known = list(dict.fromkeys(visits["site"]))
    if sites:
        sites = [str(s) for s in sites]
        unknown = [s for s in sites if s not in known]
        if unknown:
            shown = ", ".join(repr(s) for s in known[:20]) + (" ..." if len(known) > 20 else "")
            raise ReportSetupError(f"{data_path.name}: no site {', '.join(repr(s) for s in unknown)}; "
                                   f"the sites are {shown}")
        sites = list(dict.fromkeys(sites))
    else:
        sites = known
    if population not in POPULATIONS:
        raise ReportSetupError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")

    if adverse_events_path == "auto":
        adverse_events = default_adverse_events(data_path)
    elif adverse_events_path:
        adverse_events = Path(adverse_events_path).resolve()
        if not adverse_events.is_file():
            raise ReportSetupError(f"{adverse_events_path}: adverse-event table not found")
    else:
        adverse_events = None

    notebook = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not notebook.is_file():
        raise ReportSetupError(f"{notebook}: report notebook not found")
    declared = declared_parameters(notebook)
    missing = [name for name in REPORT_PARAMETERS if name not in declared]
    if missing:
        raise ReportSetupError(f"{notebook.name}: its 'parameters' cell lacks {', '.join(missing)}; a report "
                               f"notebook declares {', '.join(REPORT_PARAMETERS)}")

    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportSetupError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [SiteTask(site=site, slug=site_slug(site), notebook=str(notebook), out_dir=str(out_dir),
                      data_path=str(data_path), adverse_events_path=str(adverse_events or ""), population=population)
             for site in sites]
    return ReportBatch(data_path=data_path, out_dir=out_dir, notebook=notebook, tasks=tasks, all_sites=known,
                       adverse_events_path=adverse_events, population=population,
                       data_sha256=file_sha256(data_path))


def declared_parameters(notebook: Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns (read with ``ast``: papermill's own reader
    gives up on a line whose comment holds a quote, although injection works)."""
    import ast

    try:
        cells = notebook_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReportSetupError(f"{notebook.name}: not a readable notebook ({type(error).__name__}: {error})") from None
    tagged = [c for c in cells
              if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ReportSetupError(f"{notebook.name}: no code cell is tagged 'parameters'; a report notebook declares "
                               f"{', '.join(REPORT_PARAMETERS)} there")
    try:
        tree = ast.parse(_source(tagged[0]))
    except SyntaxError as error:
        raise ReportSetupError(f"{notebook.name}: the 'parameters' cell is not valid Python ({error.msg}, "
                               f"line {error.lineno})") from None
    names = []
    for statement in tree.body:
        targets = (statement.targets if isinstance(statement, ast.Assign)
                   else [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def _preload_worker(notebook: str, zygote_socket: str | None) -> None:
    """Use the batch's kernel zygote (or start one), and import what every site needs once per worker."""
    if zygote_socket:
        KernelZygote.shared(notebook, zygote_socket)
    else:
        KernelZygote.for_notebook(notebook)
    import papermill  # noqa: F401

    _html_exporter()


#: Imported once by the fork server the local worker processes are forked from.
WORKER_PRELOAD = ("ivig_kit.reports.batch", "papermill", "nbconvert", "jupyter_client", "tqdm")


def _executor(jobs: int, scheduler: str | None, notebook: str, zygote: KernelZygote | None):
    """A ``concurrent.futures`` executor: local worker processes sharing one kernel zygote, forked from a
    server that has imported the runner once; or a dask.distributed cluster's (each worker its own zygote)."""
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as error:
            raise ReportSetupError(f"cannot use the dask scheduler at {scheduler!r}: {error}") from None
        executor = client.get_executor(pure=False)
        return executor, client
    context = multiprocessing.get_context("forkserver")  # workers from a clean process, whatever our threads
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_preload_worker,
        initargs=(notebook, zygote.socket_path if zygote else None)), None


def run_batch(batch: ReportBatch, jobs: int = 2, scheduler: str | None = None, progress: bool = True,
              pdf: bool = False) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, print each report to ``<slug>.pdf`` when ``pdf``, then write ``index.html``."""
    from tqdm.auto import tqdm

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    results = []
    with contextlib.ExitStack() as cleanup:
        zygote = None
        if not scheduler:  # local workers share one zygote, started first so its imports overlap theirs
            zygote = KernelZygote(notebook_imports(str(batch.notebook)))
            cleanup.callback(zygote.close)
        executor, client = _executor(max(1, jobs), scheduler, str(batch.notebook), zygote)
        if client is not None:
            cleanup.callback(client.close)
        if client is None:  # on an interrupt, sites not yet started are dropped rather than waited for
            cleanup.callback(executor.shutdown, wait=True, cancel_futures=True)
        else:
            cleanup.callback(executor.shutdown, wait=True)
        futures = {executor.submit(run_site_report, task): task for task in batch.tasks}
        bar = cleanup.enter_context(tqdm(total=len(futures), unit="site", desc="site reports", disable=not progress,
                                         file=sys.stderr))
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # the worker itself died (killed, out of memory, lost by dask)
                outcome = SiteResult(site=task.site, slug=task.slug, status="failed", seconds=0.0, attempts=1,
                                     files=task.files(), error={"kind": "runner", "ename": type(error).__name__,
                                                                "evalue": str(error), "cell_index": None})
            results.append(outcome)
            bar.update()
            if progress:
                bar.write(_log_line(outcome), file=sys.stdout)
            else:
                print(_log_line(outcome), flush=True)
    order = {task.site: i for i, task in enumerate(batch.tasks)}
    results.sort(key=lambda r: order[r.site])
    if pdf:
        export_site_pdfs(batch.out_dir, results)
    seconds = time.perf_counter() - started
    index = write_index(batch, results, started_at=started_at, seconds=seconds,
                        runner=f"dask scheduler {scheduler}" if scheduler else f"{jobs} local process(es)")
    return BatchResult(results=results, index_path=index, seconds=seconds)


def _log_line(result: SiteResult) -> str:
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.ok:
        return f"ok      {result.site!r} -> {result.files['html']} ({result.seconds:.1f} s{retried})"
    return f"FAILED  {result.site!r}: {result.error_line()} ({result.seconds:.1f} s{retried})"


def run_reports(data_path, out_dir, sites=None, jobs: int = 2, scheduler: str | None = None, notebook=None,
                population: str = "adult", adverse_events_path="auto", progress: bool = True) -> BatchResult:
    """Validate the inputs, report on every site and write ``out_dir/index.html`` (see the module docstring)."""
    batch = prepare_batch(data_path, out_dir, sites=sites, notebook=notebook, population=population,
                          adverse_events_path=adverse_events_path)
    return run_batch(batch, jobs=jobs, scheduler=scheduler, progress=progress)
