"""The batch: read, validate and score the registry once, then run the site-report notebook once per site in
parallel on that site's rows only, and keep the output folder's ledger.

The parent reads the visit table and the adverse-event table once (any problem: a located
:class:`InputError`, exit 2, before any kernel starts), scores every visit once per population in use, and
builds per site a **slice** (its own visits and adverse events, as Parquet bytes) and a **pooled summary**
of the registry that is safe to share (:func:`ivig_kit.reports.site.pooled_summary`: sites under the minimum
cell size are merged or left out). A :class:`SiteTask` carries those bytes and the notebook itself, so a
worker needs no shared file system (local processes or a dask.distributed cluster alike): it writes them
into a private temporary folder, runs the notebook there under papermill in a fresh ``python3`` kernel
(forked from a warm "zygote", see :mod:`.kernels`), exports one self-contained HTML page, and sends the
outputs back. Only the parent writes into the output folder, each file under a temporary name renamed into
place, while it holds the folder's lock (:mod:`.ledger`).

A site whose inputs (slice, parameters, notebook, kit version) hash to what made its existing report is
not run again (unless ``force``); the index says it was re-used. Its pooled comparison is then the one of
the run that made it (the index row records when and from which registry file).

Ctrl-C or SIGTERM stops the batch within seconds: every process it started is killed, its partial files
and temporary folders are removed, and the index marks the sites that did not finish.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import functools
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import unicodedata
from pathlib import Path

from ivig_kit import __version__
from ivig_kit.errors import KernelStartError, ReportSetupError, SummaryError
from ivig_kit.files import file_sha256, write_atomically
from ivig_kit.reports.kernels import (
    KERNEL_NAME,
    KernelZygote,
    _source,
    _at_exit,
    _start_kernel,
    _stop_kernel,
    die_with_parent,
    notebook_cells,
    notebook_imports,
)
from ivig_kit.reports.ledger import (
    batch_lock,
    owned_tempdir,
    read_ledger,
    write_ledger,
    sweep_partial_files,
    sweep_stale_tempdirs,
)
from ivig_kit.reports.pages import _html_exporter, export_html, export_site_pdfs, write_index
from ivig_kit.reports.parameters import REPORT_PARAMETERS
from ivig_kit.reports.site_parameters import notebook_defaults, read_site_parameters
from ivig_kit.reports.tasks import CELL_TIMEOUT_S, BatchResult, ReportBatch, SiteResult, SiteTask, site_slug
from ivig_kit.resources import notebook_path
from ivig_kit.score.measures import POPULATIONS

#: The report notebook `ivig-kit reports` runs unless told otherwise.
DEFAULT_NOTEBOOK = notebook_path("site_report.ipynb")
KERNEL_START_ATTEMPTS = 2  # a kernel that fails to start is retried once
#: Sites with fewer patients are never shown with their own figures in another site's report.
DEFAULT_MIN_CELL_SIZE = 5
LEDGER_SAVE_INTERVAL_S = 1.0  # index.json is rewritten at most this often while sites finish


class BatchInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the batch; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.result: BatchResult | None = None


# --- One site, in a worker ----------------------------------------------------------------------------------

_notebook_copies: dict[str, str] = {}


def _notebook_copy(task: SiteTask) -> tuple[str, str]:
    """This worker's copy of the task's notebook, written once per worker: (path, key of its zygote)."""
    key = hashlib.sha256(task.notebook).hexdigest()
    path = _notebook_copies.get(key)
    if path is None or not os.path.exists(path):
        folder = owned_tempdir("notebook")
        _at_exit(functools.partial(shutil.rmtree, folder, ignore_errors=True))
        path = os.path.join(folder, task.notebook_name)
        Path(path).write_bytes(task.notebook)
        _notebook_copies[key] = path
    return path, key


def _execute(task: SiteTask, folder: Path, executed: Path, summary: Path, warm: bool = True):
    """Run the notebook for one site in a fresh kernel whose working folder is ``folder``."""
    import papermill

    notebook, key = _notebook_copy(task)
    manager = _start_kernel(cwd=str(folder), warm=warm, notebook=notebook, key=key)
    try:
        return papermill.execute_notebook(
            str(folder / task.notebook_name), str(executed), parameters=task.parameters(summary.name),
            kernel_name=KERNEL_NAME, progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=task.cell_timeout_s, km=manager)
    finally:
        _stop_kernel(manager)


def run_site_report(task: SiteTask) -> SiteResult:
    """Report on one site in a private temporary folder; return the outputs as bytes in the result.

    Never raises for a site's own failure: the result says ``failed`` with the error (and carries the
    failed notebook for inspection). The folder is removed whatever happens.
    """
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    files = task.files()
    made_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    def result(status, attempts, summary=None, error=None, outputs=None):
        return SiteResult(site=task.site, slug=task.slug, status=status, seconds=time.perf_counter() - started,
                          attempts=attempts, files=files, summary=summary, error=error, outputs=outputs,
                          made_with=task.made_with(), made_at=made_at)

    folder = Path(owned_tempdir("site"))
    attempt = 0
    try:
        (folder / task.notebook_name).write_bytes(task.notebook)
        names = task.input_files()
        (folder / names["visits"]).write_bytes(task.visits_slice)
        (folder / names["pooled"]).write_bytes(task.pooled_summary)
        if task.events_slice:
            (folder / names["events"]).write_bytes(task.events_slice)
        executed, summary_path = folder / files["notebook"], folder / files["summary"]
        while True:
            attempt += 1
            with contextlib.suppress(FileNotFoundError):
                summary_path.unlink()
            try:
                node = _execute(task, folder, executed, summary_path, warm=attempt == 1)
                break
            except KernelStartError as error:
                if attempt >= KERNEL_START_ATTEMPTS:
                    return result("failed", attempt, error={
                        "kind": "kernel-start", "ename": type(error.__cause__ or error).__name__,
                        "evalue": str(error.__cause__ or error), "cell_index": None})
            except PapermillExecutionError as error:
                failed = _failed_outputs(executed, task)
                return result("failed", attempt, outputs=failed, error={
                    "kind": "cell", "ename": error.ename, "evalue": error.evalue, "cell_index": error.cell_index,
                    "exec_count": error.exec_count})
            except CellTimeoutError:
                failed = _failed_outputs(executed, task)
                return result("failed", attempt, outputs=failed, error={
                    "kind": "timeout", "ename": "CellTimeoutError",
                    "evalue": f"a cell ran longer than the cell time-out of {task.cell_timeout_s:g} s "
                              f"(--cell-timeout)", "cell_index": None})

        summary = _read_summary(summary_path, task.site)
        _forget_folders(node, task)
        page = export_html(node, title=f"Site report: {task.site}")
        outputs = {"summary": summary_path.read_bytes(), "notebook": _notebook_bytes(node),
                   "html": page.encode("utf-8")}
        return result("ok", attempt, summary=summary, outputs=outputs)
    except Exception as error:  # a dead kernel, a broken summary, an export error
        return result("failed", attempt, error={"kind": "runner", "ename": type(error).__name__,
                                                "evalue": str(error), "cell_index": None})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _forget_folders(node, task: SiteTask) -> None:
    """Papermill records the absolute input and output paths: keep only the file names (no temporary folder)."""
    record = node.metadata.get("papermill", {})
    if "input_path" in record:
        record["input_path"] = task.notebook_name
    if "output_path" in record:
        record["output_path"] = task.files()["notebook"]


def _failed_outputs(executed: Path, task: SiteTask) -> dict:
    import nbformat

    if not executed.exists() or not executed.stat().st_size:
        return {}
    node = nbformat.read(executed, as_version=4)
    _forget_folders(node, task)
    return {"failed_notebook": _notebook_bytes(node)}


def _notebook_bytes(node) -> bytes:
    import nbformat

    return nbformat.writes(node).encode("utf-8")


def _read_summary(path: Path, site: str) -> dict:
    if not path.exists():
        raise SummaryError(f"the notebook wrote no summary to summary_path ({path.name})")
    summary = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(summary, dict) or summary.get("site") != site:
        found = summary.get("site") if isinstance(summary, dict) else summary
        raise SummaryError(f"the summary is for site {found!r}, expected {site!r}")
    return summary


def store_outputs(result: SiteResult, out_dir: Path) -> SiteResult:
    """Write a worker's outputs into the output folder (summary and notebook first, the HTML people open
    last), each atomically; a failed site keeps its earlier report."""
    outputs, result.outputs = result.outputs or {}, None
    files = result.files
    if result.ok:
        for key in ("summary", "notebook", "html"):
            write_atomically(out_dir / files[key], outputs[key])
        with contextlib.suppress(FileNotFoundError):
            (out_dir / files["failed_notebook"]).unlink()
    elif "failed_notebook" in outputs:
        write_atomically(out_dir / files["failed_notebook"], outputs["failed_notebook"])
    return result


# --- Preparing a batch: everything read, validated and scored once ------------------------------------------


def default_adverse_events(data_path: Path) -> Path | None:
    """The adverse-event table that goes with a visit table, if there is one beside it:
    ``demo_registry.csv`` -> ``demo_adverse_events.csv`` (also ``*_visits`` -> ``*_adverse_events``)."""
    for word in ("registry", "visits"):
        if word in data_path.stem:
            candidate = data_path.with_name(data_path.stem.replace(word, "adverse_events") + ".csv")
            if candidate.is_file():
                return candidate
    return None


def _parquet_bytes(frame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def input_hash(visits, events, notebook: bytes, parameters: dict) -> str:
    """SHA-256 of what a site's report is made from: its rows (visits and adverse events, values and column
    types), its parameters, the notebook and the kit's version."""
    import pandas as pd

    digest = hashlib.sha256()
    for frame in (visits, events):
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
        digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    digest.update(hashlib.sha256(notebook).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode("utf-8"))
    digest.update(__version__.encode("utf-8"))
    return digest.hexdigest()


def prepare_batch(data_path, out_dir, sites=None, notebook=None, population: str = "adult",
                  adverse_events_path="auto", min_cell_size: int = DEFAULT_MIN_CELL_SIZE, params_path=None,
                  force: bool = False, cell_timeout_s: float = CELL_TIMEOUT_S) -> ReportBatch:
    """Read, validate and score everything once, before any kernel starts; raise :class:`InputError` on bad input.

    ``adverse_events_path``: a path, ``""``/``None`` for none, or ``"auto"`` for the table beside the data
    (:func:`default_adverse_events`). ``params_path``: a per-site parameters file
    (:func:`ivig_kit.reports.site_parameters.read_site_parameters`).
    """
    from ivig_kit.reports.site import pooled_summary, read_adverse_events, registry_aggregates
    from ivig_kit.score.engine import total_improvement_score
    from ivig_kit.score.visits import read_visits

    data_path = Path(data_path).resolve()
    if population not in POPULATIONS:
        raise ReportSetupError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, int) or min_cell_size < 1:
        raise ReportSetupError(f"the minimum cell size must be a whole number >= 1, got {min_cell_size!r}")
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportSetupError(f"{out_dir.name}: exists and is not a folder")
    if out_dir.is_dir():
        read_ledger(out_dir, force=force)  # a folder the kit did not make is refused before anything runs

    notebook = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not notebook.is_file():
        raise ReportSetupError(f"{notebook.name}: report notebook not found")
    declared = notebook_parameters(notebook)
    missing = [name for name in REPORT_PARAMETERS if name not in declared]
    if missing:
        raise ReportSetupError(f"{notebook.name}: its 'parameters' cell lacks {', '.join(missing)}; a report "
                               f"notebook declares {', '.join(REPORT_PARAMETERS)}")

    visits = read_visits(data_path)  # VisitTableError (an InputError) names file, row and column
    known = list(dict.fromkeys(visits["site"]))
    if sites:
        sites = [unicodedata.normalize("NFC", str(s).strip()) for s in sites]
        unknown = [s for s in sites if s not in known]
        if unknown:
            shown = ", ".join(repr(s) for s in known[:20]) + (" ..." if len(known) > 20 else "")
            raise ReportSetupError(f"{data_path.name}: no site {', '.join(repr(s) for s in unknown)}; "
                                   f"the sites are {shown}")
        sites = list(dict.fromkeys(sites))
    else:
        sites = known

    if adverse_events_path == "auto":
        adverse_events = default_adverse_events(data_path)
    elif adverse_events_path:
        adverse_events = Path(adverse_events_path).resolve()
        if not adverse_events.is_file():
            raise ReportSetupError(f"{Path(adverse_events_path).name}: adverse-event table not found")
    else:
        adverse_events = None
    events = read_adverse_events(adverse_events) if adverse_events else None  # located error, exit 2

    per_site = (read_site_parameters(params_path, declared, known, notebook.name) if params_path else {})
    notebook_bytes = notebook.read_bytes()
    registry = {"data_file": data_path.name, "data_sha256": file_sha256(data_path),
                "adverse_events_file": adverse_events.name if adverse_events else "",
                "adverse_events_sha256": file_sha256(adverse_events) if adverse_events else ""}
    populations = {site: per_site.get(site, {}).get("population", population) for site in sites}
    no_events = events if events is not None else read_adverse_events_empty()
    by_site = dict(tuple(visits.groupby("site", sort=False)))
    events_by_site = dict(tuple(events.groupby("site", sort=False))) if events is not None else {}
    tasks = []
    for site in sites:
        extra = {k: v for k, v in per_site.get(site, {}).items() if k != "population"}
        parameters = {"population": populations[site], "min_cell_size": min_cell_size, **extra}
        site_events = events_by_site.get(site, no_events.iloc[:0]) if events is not None else None
        tasks.append(SiteTask(site=site, slug=site_slug(site), notebook_name=notebook.name, notebook=notebook_bytes,
                              visits_slice=b"", events_slice=b"", pooled_summary=b"", population=populations[site],
                              min_cell_size=min_cell_size, extra_parameters=tuple(sorted(extra.items())),
                              cell_timeout_s=cell_timeout_s,
                              input_hash=input_hash(by_site[site], site_events, notebook_bytes, parameters)))
    aggregates = {}

    def with_inputs(chosen: list[SiteTask]) -> list[SiteTask]:
        """The tasks with their slices and pooled summaries as bytes (built only for the sites that run)."""
        for used in dict.fromkeys(task.population for task in chosen):
            if used not in aggregates:
                scores = total_improvement_score(visits, population=used, validate=False)
                aggregates[used] = registry_aggregates(visits, scores, no_events, used, min_cell_size, registry)
        return [dataclasses.replace(
            task, visits_slice=_parquet_bytes(by_site[task.site]),
            events_slice=_parquet_bytes(events_by_site.get(task.site, no_events.iloc[:0])) if events is not None
            else b"",
            pooled_summary=json.dumps(pooled_summary(aggregates[task.population], task.site), ensure_ascii=False,
                                      allow_nan=False).encode("utf-8")) for task in chosen]

    return ReportBatch(data_path=data_path, out_dir=out_dir, notebook=notebook, tasks=tasks, all_sites=known,
                       adverse_events_path=adverse_events, population=population,
                       data_sha256=registry["data_sha256"], min_cell_size=min_cell_size,
                       adverse_events_sha256=registry["adverse_events_sha256"],
                       notebook_sha256=hashlib.sha256(notebook_bytes).hexdigest(), force=force,
                       with_inputs=with_inputs)


def read_adverse_events_empty():
    from ivig_kit.reports.site import _empty_adverse_events

    return _empty_adverse_events()


def notebook_parameters(notebook: Path) -> dict:
    """The names and literal defaults the notebook's ``parameters`` cell assigns (read with ``ast``: papermill's
    own reader gives up on a line whose comment holds a quote, although injection works)."""
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
        return notebook_defaults(_source(tagged[0]))
    except SyntaxError as error:
        raise ReportSetupError(f"{notebook.name}: the 'parameters' cell is not valid Python ({error.msg}, "
                               f"line {error.lineno})") from None


def declared_parameters(notebook: Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns."""
    return list(notebook_parameters(notebook))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def capped_jobs(jobs: int) -> tuple[int, str]:
    """``jobs`` capped at the available CPUs, and a one-line note when it was."""
    cpus = available_cpus()
    if jobs > cpus:
        return cpus, f"--jobs {jobs} capped at {cpus}: the CPUs available to this process"
    return max(1, jobs), ""


# --- Running a batch ----------------------------------------------------------------------------------------


def _preload_worker(key: str, zygote_socket: str | None) -> None:
    """Die with the batch; use the batch's kernel zygote; import what every site needs once per worker."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    if zygote_socket:
        KernelZygote.shared(key, zygote_socket)
    import papermill  # noqa: F401

    _html_exporter()


#: Imported once by the fork server the local worker processes are forked from.
WORKER_PRELOAD = ("ivig_kit.reports._die_with_parent", "ivig_kit.reports.batch", "papermill", "nbconvert",
                  "jupyter_client", "tqdm")


def _executor(jobs: int, scheduler: str | None, key: str, zygote: KernelZygote | None):
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
        initargs=(key, zygote.socket_path if zygote else None)), None


def _reusable(task: SiteTask, row: dict | None, out_dir: Path) -> SiteResult | None:
    """The ledger's result for ``task`` if its report was made from the same inputs and its files are there."""
    if not row or row.get("status") != "ok" or row.get("made_with", {}).get("input_hash") != task.input_hash:
        return None
    previous = SiteResult.from_record(row)
    if not all((out_dir / previous.files[key]).is_file() for key in ("html", "notebook", "summary")):
        return None
    previous.reused, previous.seconds = True, 0.0
    return previous


class _Interrupts:
    """While active, SIGINT and SIGTERM raise :class:`BatchInterrupted` in the main thread."""

    def __init__(self):
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        for other in (signal.SIGINT, signal.SIGTERM):
            signal.signal(other, signal.SIG_IGN)  # one interrupt is enough: clean up undisturbed
        raise BatchInterrupted(signum)

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False


def _children() -> set:
    import psutil

    with contextlib.suppress(psutil.Error):
        return {(p.pid, p.create_time()) for p in psutil.Process().children(recursive=True)}
    return set()


def kill_started_processes(before: set) -> int:
    """SIGKILL every descendant of this process that was not there at ``before`` (workers, fork server,
    zygote, kernels, trampolines); return how many."""
    import psutil

    from multiprocessing import resource_tracker

    # The resource tracker is left to exit with this process (it reads a pipe from it): killed, it would be
    # started again by the next semaphore this process releases, and print tracebacks.
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    killed = []
    for pid, created in _children() - before:
        if pid == tracker:
            continue
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == created:
                process.kill()
                killed.append(process)
    psutil.wait_procs(killed, timeout=3)
    return len(killed)


def run_batch(batch: ReportBatch, jobs: int = 2, scheduler: str | None = None, progress: bool = True,
              pdf: bool = False) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, print each new report to ``<slug>.pdf`` when ``pdf``, then write the
    index (``index.json`` ledger and ``index.html``).

    Raises :class:`BatchInterrupted` (after cleaning up and writing the index) on SIGINT or SIGTERM.
    """

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    out = batch.out_dir
    out.mkdir(parents=True, exist_ok=True)
    sweep_stale_tempdirs()
    before = _children()
    runner = f"dask scheduler {scheduler}" if scheduler else f"{jobs} local process(es)"
    with batch_lock(out), _Interrupts():
        ledger = read_ledger(out, force=batch.force)["sites"]
        sweep_partial_files(out)
        results: dict[str, SiteResult] = {}
        todo = []
        for task in batch.tasks:
            previous = None if batch.force else _reusable(task, ledger.get(task.site), out)
            if previous is not None:
                results[task.site] = previous
                _report(previous, None, progress)
            else:
                todo.append(task)
        interrupted = None
        order = {task.site: i for i, task in enumerate(batch.tasks)}
        known = {site: i for i, site in enumerate(batch.all_sites)}

        def all_rows() -> list[SiteResult]:
            kept = [SiteResult.from_record(row) for site, row in ledger.items() if site not in results]
            return sorted([*results.values(), *kept], key=lambda r: (known.get(r.site, len(known)), r.site))

        last_saved = [time.monotonic()]

        def save_progress() -> None:
            """Keep index.json current while the batch runs, so a batch that is killed still has a ledger."""
            if time.monotonic() - last_saved[0] >= LEDGER_SAVE_INTERVAL_S:
                write_ledger(out, [r.record() for r in all_rows()], {"in_progress": True})
                last_saved[0] = time.monotonic()

        try:
            if todo:
                _run_tasks(batch, todo, results, jobs, scheduler, progress, save_progress)
        except BatchInterrupted as error:
            interrupted = error
            kill_started_processes(before)
            sweep_stale_tempdirs(mine_too=True)  # also a zygote folder made just as the signal came
            sweep_partial_files(out)
        for task in batch.tasks:
            if task.site not in results:
                results[task.site] = SiteResult(
                    site=task.site, slug=task.slug, status="interrupted", seconds=0.0, attempts=0, files=task.files(),
                    error={"kind": "interrupted", "ename": "Interrupted",
                           "evalue": f"the batch was stopped ({interrupted}) before this site finished",
                           "cell_index": None}, made_with=task.made_with())
        if pdf and not interrupted:  # new reports, and re-used ones that have no PDF yet
            export_site_pdfs(out, [r for r in results.values() if r.ok and (
                not r.reused or not (out / Path(r.files["html"]).with_suffix(".pdf")).exists())])
        ours = sorted(results.values(), key=lambda r: order[r.site])
        rows = all_rows()
        seconds = time.perf_counter() - started
        index = write_index(batch, rows, started_at=started_at, seconds=seconds, runner=runner)
    result = BatchResult(results=ours, index_path=index, seconds=seconds,
                         interrupted=interrupted.signum if interrupted else 0)
    if interrupted:
        interrupted.result = result
        raise interrupted
    return result


def _report(outcome: SiteResult, bar, progress: bool) -> None:
    if bar is not None:
        bar.update()
    if progress and bar is not None:
        bar.write(_log_line(outcome), file=sys.stdout)
    else:
        print(_log_line(outcome), flush=True)


def _run_tasks(batch: ReportBatch, todo: list[SiteTask], results: dict, jobs: int, scheduler: str | None,
               progress: bool, save_progress=lambda: None) -> None:
    from tqdm.auto import tqdm

    with contextlib.ExitStack() as cleanup:
        zygote = None
        key = batch.notebook_sha256 or hashlib.sha256(batch.notebook.read_bytes()).hexdigest()
        if not scheduler:  # local workers share one zygote, started first so its imports overlap theirs
            zygote = KernelZygote(notebook_imports(str(batch.notebook)))
            cleanup.callback(zygote.close)
        executor, client = _executor(max(1, min(jobs, len(todo))), scheduler, key, zygote)
        if client is not None:
            cleanup.callback(client.close)
            # on an interrupt, futures still queued on the cluster are cancelled rather than waited for
            cleanup.push(lambda kind, error, tb: executor.shutdown(wait=kind is None))
        else:
            cleanup.push(lambda kind, error, tb: executor.shutdown(wait=kind is None, cancel_futures=True))
        futures = {executor.submit(run_site_report, task): task
                   for task in (batch.with_inputs(todo) if batch.with_inputs else todo)}
        bar = cleanup.enter_context(tqdm(total=len(futures), unit="site", desc="site reports", disable=not progress,
                                         file=sys.stderr))
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # the worker itself died (killed, out of memory, lost by dask)
                outcome = SiteResult(site=task.site, slug=task.slug, status="failed", seconds=0.0, attempts=1,
                                     files=task.files(), error={"kind": "runner", "ename": type(error).__name__,
                                                                "evalue": str(error), "cell_index": None},
                                     made_with=task.made_with())
            results[task.site] = store_outputs(outcome, batch.out_dir)
            save_progress()
            _report(outcome, bar, progress)


def _log_line(result: SiteResult) -> str:
    if result.reused:
        return f"re-used {result.site!r} -> {result.files['html']} (inputs unchanged)"
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.ok:
        return f"ok      {result.site!r} -> {result.files['html']} ({result.seconds:.1f} s{retried})"
    return f"FAILED  {result.site!r}: {result.error_line()} ({result.seconds:.1f} s{retried})"


def run_reports(data_path, out_dir, sites=None, jobs: int = 2, scheduler: str | None = None, notebook=None,
                population: str = "adult", adverse_events_path="auto", progress: bool = True,
                min_cell_size: int = DEFAULT_MIN_CELL_SIZE, params_path=None, force: bool = False,
                cell_timeout_s: float = CELL_TIMEOUT_S) -> BatchResult:
    """Validate the inputs, report on every site and write ``out_dir/index.html`` (see the module docstring)."""
    batch = prepare_batch(data_path, out_dir, sites=sites, notebook=notebook, population=population,
                          adverse_events_path=adverse_events_path, min_cell_size=min_cell_size,
                          params_path=params_path, force=force, cell_timeout_s=cell_timeout_s)
    return run_batch(batch, jobs=jobs, scheduler=scheduler, progress=progress)
