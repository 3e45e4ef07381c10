"""The batch: read, validate and score the registry once, then run the site-report notebook once per site in
parallel on that site's rows only, and keep the output folder's ledger.

The parent reads the visit table and the adverse-event table once (any problem: a located
:class:`InputError`, exit 2, before any kernel starts), scores every visit once per population in use, and
builds per site a **slice** (its own visits and adverse events, as Parquet bytes) and a **pooled summary**
of the registry that is safe to share (:func:`ivig_kit.reports.content.site.pooled_summary`: sites under the minimum
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
import datetime
import errno
import hashlib
import multiprocessing
import signal
import sys
import time
from pathlib import Path

from ivig_kit.errors import BatchWriteError, Interrupted, ReportSetupError
from ivig_kit.reports.runner.index_page import write_index
from ivig_kit.reports.runner.kernels import NotebookKernels, kernels_for
from ivig_kit.reports.runner.ledger import (
    batch_lock,
    owned_tempdir,
    read_ledger,
    sweep_partial_files,
    sweep_stale_tempdirs,
)
from ivig_kit.reports.runner.pages import html_exporter
from ivig_kit.reports.runner.pdf import export_site_pdfs
from ivig_kit.reports.runner.processes import (
    die_with_parent,
    keep_multiprocessing_files_in,
    keep_resource_tracker,
    kill_started_processes,
    started_processes,
)
from ivig_kit.reports.runner.registry_run import run_registry_report
from ivig_kit.reports.runner.scheduler import check_scheduler
from ivig_kit.reports.runner.tasks import (
    BatchResult,
    ReportBatch,
    SiteResult,
    SiteTask,
)
from ivig_kit.reports.runner.worker import run_site_report, store_outputs

LEDGER_SAVE_INTERVAL_S = 1.0
#: Errors of writing the output folder that stop a batch with one line (disk full, quota, I/O, read-only, too big).
WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EROFS,
    errno.EFBIG,
}  # index.json is rewritten at most this often while sites finish


# --- Running a batch ----------------------------------------------------------------------------------------


def _preload_worker(key: str, zygote_socket: str | None) -> None:
    """Die with the batch; use the batch's kernel zygote; import what every site needs once per worker."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    if zygote_socket:
        kernels_for(key, zygote_socket=zygote_socket)
    import papermill  # noqa: F401

    html_exporter()


#: Imported once by the fork server the local worker processes are forked from.
WORKER_PRELOAD = (
    "ivig_kit.reports.runner._die_with_parent",
    "ivig_kit.reports.runner.batch",
    "ivig_kit.reports.runner.worker",
    "papermill",
    "nbconvert",
    "jupyter_client",
    "tqdm",
)


def _executor(jobs: int, scheduler: str | None, key: str, zygote_socket: str | None):
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
    keep_multiprocessing_files_in(lambda: owned_tempdir("mp"))
    context = multiprocessing.get_context("forkserver")  # workers from a clean process, whatever our threads
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_preload_worker, initargs=(key, zygote_socket)
    ), None


def _reusable(task: SiteTask, row: dict | None, out_dir: Path) -> SiteResult | None:
    """The ledger's result for ``task`` if its report was made from the same inputs and its files are there."""
    if not row or row.get("status") != "ok" or row.get("made_with", {}).get("input_hash") != task.input_hash:
        return None
    previous = SiteResult.from_record(row)
    if not all((out_dir / previous.files[key]).is_file() for key in ("html", "notebook", "summary")):
        return None
    previous.reused, previous.seconds = True, 0.0
    return previous


def run_batch(
    batch: ReportBatch, jobs: int = 2, scheduler: str | None = None, progress: bool = True, pdf: bool = False
) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, print each new report to ``<slug>.pdf`` when ``pdf``, then write the
    index (``index.json`` ledger and ``index.html``).

    Raises :class:`Interrupted` (after cleaning up and writing the index) on SIGINT or SIGTERM.
    """

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    out = batch.out_dir
    if scheduler:  # a bounded handshake first: dask's client waits forever on a silent socket
        check_scheduler(scheduler)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportSetupError(f"{out}: cannot create the output folder ({error.strerror or error})") from None
    sweep_stale_tempdirs()
    keep_resource_tracker()  # before the snapshot: an interrupt must not kill it
    before = started_processes()
    runner = f"dask scheduler {scheduler}" if scheduler else f"{jobs} local process(es)"
    with batch_lock(out), Interrupted.on_signals():
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

        def save_progress(now: bool = False) -> None:
            """Keep index.json and index.html current while the batch runs, the sites still running marked, so a
            batch that is killed (even by SIGKILL) leaves an index that says which sites did not finish."""
            if now or time.monotonic() - last_saved[0] >= LEDGER_SAVE_INTERVAL_S:
                unfinished = {
                    t.site: _unfinished(
                        t, "the batch was still running this site (if no batch runs now, it was killed)"
                    )
                    for t in todo
                    if t.site not in results
                }
                rows = [unfinished.pop(r.site, r) for r in all_rows()]
                rows = sorted([*rows, *unfinished.values()], key=lambda r: (known.get(r.site, len(known)), r.site))
                write_index(batch, rows, started_at=started_at, seconds=time.perf_counter() - started, runner=runner)
                last_saved[0] = time.monotonic()

        write_failure = None
        try:
            if todo:
                save_progress(now=True)
                _run_tasks(
                    batch,
                    todo,
                    results,
                    jobs,
                    scheduler,
                    progress,
                    save_progress,
                    stop_started=lambda: kill_started_processes(before),
                )
            run_registry_report(batch, all_rows(), pdf=pdf)  # the history, then the coordinating centre's report
        except Interrupted as error:
            interrupted = error
            kill_started_processes(before)
            sweep_stale_tempdirs(mine_too=True)  # also a zygote folder made just as the signal came
            sweep_partial_files(out)
        except OSError as error:  # the output folder cannot be written (disk full, I/O error): stop, say so
            if error.errno not in WRITE_ERRNOS:
                kill_started_processes(before)
                raise
            write_failure = error
            kill_started_processes(before)
            sweep_stale_tempdirs()  # the killed workers' folders (this process's own stay in use)
            with contextlib.suppress(OSError):
                sweep_partial_files(out)
        for task in batch.tasks:
            if task.site not in results:
                reason = (
                    f"the batch was stopped ({interrupted}) before this site finished"
                    if not write_failure
                    else f"not written: {write_failure.strerror or write_failure} in the output folder"
                )
                results[task.site] = _unfinished(task, reason, "write" if write_failure else "interrupted")
        if pdf and not interrupted and not write_failure:  # new reports, and re-used ones that have no PDF yet
            try:
                export_site_pdfs(
                    out,
                    [
                        r
                        for r in results.values()
                        if r.ok and (not r.reused or not (out / Path(r.files["html"]).with_suffix(".pdf")).exists())
                    ],
                )
            except Interrupted as error:  # the PDF phase: the reports are there; the index says what has a PDF
                interrupted = error
                kill_started_processes(before)
                sweep_partial_files(out)
        ours = sorted(results.values(), key=lambda r: order[r.site])
        rows = all_rows()
        seconds = time.perf_counter() - started
        try:
            index = write_index(batch, rows, started_at=started_at, seconds=seconds, runner=runner)
        except OSError as error:
            if write_failure is None and interrupted is None:
                raise BatchWriteError(out, error, sum(r.ok for r in ours), len(ours), False) from None
            index, write_failure = None, write_failure or error
    result = BatchResult(
        results=ours, index_path=index, seconds=seconds, interrupted=interrupted.signum if interrupted else 0
    )
    if write_failure is not None:
        failure = BatchWriteError(out, write_failure, sum(r.ok for r in ours), len(ours), index is not None)
        failure.result = result
        raise failure
    if interrupted:
        interrupted.result = result
        raise interrupted
    return result


def _unfinished(task: SiteTask, reason: str, kind: str = "interrupted") -> SiteResult:
    """The row of a site that did not finish (still running, stopped, or not written)."""
    return SiteResult(
        site=task.site,
        slug=task.slug,
        status="interrupted" if kind == "interrupted" else "failed",
        seconds=0.0,
        attempts=0,
        files=task.files(),
        error={
            "kind": kind,
            "ename": "Interrupted" if kind == "interrupted" else "OSError",
            "evalue": reason,
            "cell_index": None,
        },
        made_with=task.made_with(),
    )


def _report(outcome: SiteResult, bar, progress: bool) -> None:
    if bar is not None:
        bar.update()
    if progress and bar is not None:
        bar.write(_log_line(outcome), file=sys.stdout)
    else:
        print(_log_line(outcome), flush=True)


def _run_tasks(
    batch: ReportBatch,
    todo: list[SiteTask],
    results: dict,
    jobs: int,
    scheduler: str | None,
    progress: bool,
    save_progress=lambda: None,
    stop_started=lambda: None,
) -> None:
    """Run ``todo`` and put each outcome into ``results`` as it comes (stored in the output folder).

    On an interrupt, every process the batch started is stopped first (``stop_started``), before the
    executor and the zygote are closed: closing the zygote first would end kernels under workers that
    would then print about it."""
    from tqdm.auto import tqdm

    key = batch.notebook_sha256 or hashlib.sha256(batch.notebook.read_bytes()).hexdigest()
    kernels = executor = client = None
    interrupted = False
    try:
        if not scheduler:  # local workers share one zygote, started first so its imports overlap theirs
            kernels = NotebookKernels(batch.notebook)
            zygote_socket = kernels.start_zygote()
        else:
            zygote_socket = None
        executor, client = _executor(max(1, min(jobs, len(todo))), scheduler, key, zygote_socket)
        futures = {
            executor.submit(run_site_report, task): task
            for task in (batch.with_inputs(todo) if batch.with_inputs else todo)
        }
        with tqdm(total=len(futures), unit="site", desc="site reports", disable=not progress, file=sys.stderr) as bar:
            for future in concurrent.futures.as_completed(futures):
                task = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # the worker itself died (killed, out of memory, lost by dask)
                    outcome = SiteResult(
                        site=task.site,
                        slug=task.slug,
                        status="failed",
                        seconds=0.0,
                        attempts=1,
                        files=task.files(),
                        error={
                            "kind": "runner",
                            "ename": type(error).__name__,
                            "evalue": str(error),
                            "cell_index": None,
                        },
                        made_with=task.made_with(),
                    )
                results[task.site] = store_outputs(outcome, batch.out_dir)
                save_progress()
                _report(outcome, bar, progress)
    except BaseException as error:
        interrupted = True
        if isinstance(error, Interrupted):
            stop_started()
        raise
    finally:
        if executor is not None:  # on an interrupt or error, queued sites are cancelled rather than waited for
            if client is not None:
                executor.shutdown(wait=not interrupted)
            else:
                executor.shutdown(wait=not interrupted, cancel_futures=True)
        if client is not None:
            client.close()
        if kernels is not None:
            kernels.close()


def _log_line(result: SiteResult) -> str:
    if result.reused:
        return f"re-used {result.site!r} -> {result.files['html']} (inputs unchanged)"
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.ok:
        return f"ok      {result.site!r} -> {result.files['html']} ({result.seconds:.1f} s{retried})"
    return f"FAILED  {result.site!r}: {result.error_line()} ({result.seconds:.1f} s{retried})"
