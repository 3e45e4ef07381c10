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
import hashlib
import multiprocessing
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from ivig_kit.errors import Interrupted, ReportSetupError
from ivig_kit.reports.runner.kernels import KernelZygote, die_with_parent, notebook_imports
from ivig_kit.reports.runner.ledger import (
    batch_lock,
    owned_tempdir,
    read_ledger,
    sweep_partial_files,
    sweep_stale_tempdirs,
    write_ledger,
)
from ivig_kit.reports.runner.pages import _html_exporter, export_site_pdfs, write_index
from ivig_kit.reports.runner.tasks import (
    BatchResult,
    ReportBatch,
    SiteResult,
    SiteTask,
)
from ivig_kit.reports.runner.worker import run_site_report, store_outputs

LEDGER_SAVE_INTERVAL_S = 1.0  # index.json is rewritten at most this often while sites finish


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
WORKER_PRELOAD = ("ivig_kit.reports.runner._die_with_parent", "ivig_kit.reports.runner.batch",
                  "ivig_kit.reports.runner.worker",
                  "papermill", "nbconvert",
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
    _multiprocessing_tempdir()
    context = multiprocessing.get_context("forkserver")  # workers from a clean process, whatever our threads
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_preload_worker,
        initargs=(key, zygote.socket_path if zygote else None)), None


def _multiprocessing_tempdir() -> None:
    """Have multiprocessing keep its fork server's socket in a temporary folder of ours (owner file and all),
    so that the next run can remove it after a SIGKILL; its own ``pymp-*`` folder is not provably ours."""
    from multiprocessing import process, util

    config = process.current_process()._config  # where multiprocessing.util.get_temp_dir() keeps its folder
    if config.get("tempdir") is None or not os.path.isdir(config["tempdir"]):
        folder = owned_tempdir("mp")
        config["tempdir"] = folder
        util.Finalize(None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, exitpriority=-100)


def _reusable(task: SiteTask, row: dict | None, out_dir: Path) -> SiteResult | None:
    """The ledger's result for ``task`` if its report was made from the same inputs and its files are there."""
    if not row or row.get("status") != "ok" or row.get("made_with", {}).get("input_hash") != task.input_hash:
        return None
    previous = SiteResult.from_record(row)
    if not all((out_dir / previous.files[key]).is_file() for key in ("html", "notebook", "summary")):
        return None
    previous.reused, previous.seconds = True, 0.0
    return previous


def _children() -> set:
    import psutil

    with contextlib.suppress(psutil.Error):
        return {(p.pid, p.create_time()) for p in psutil.Process().children(recursive=True)}
    return set()


def kill_started_processes(before: set) -> int:
    """SIGKILL every descendant of this process that was not there at ``before`` (workers, fork server,
    zygote, kernels, trampolines); return how many."""
    from multiprocessing import resource_tracker

    import psutil

    # The resource tracker is left to exit with this process (it reads a pipe from it): killed, it would be
    # started again by the next semaphore this process releases, and print tracebacks.
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    started, seen = [], set(before)
    while new := _children() - seen:  # again until nothing new: a process may start one before it is stopped
        seen |= new
        for pid, created in new:
            if pid == tracker:
                continue
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.create_time() == created:
                    process.suspend()  # all stopped first: no worker sees its kernel die and prints about it
                    started.append(process)
    for process in started:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(started, timeout=3)
    return len(started)


def run_batch(batch: ReportBatch, jobs: int = 2, scheduler: str | None = None, progress: bool = True,
              pdf: bool = False) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, print each new report to ``<slug>.pdf`` when ``pdf``, then write the
    index (``index.json`` ledger and ``index.html``).

    Raises :class:`Interrupted` (after cleaning up and writing the index) on SIGINT or SIGTERM.
    """

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    out = batch.out_dir
    out.mkdir(parents=True, exist_ok=True)
    sweep_stale_tempdirs()
    before = _children()
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

        def save_progress() -> None:
            """Keep index.json current while the batch runs, so a batch that is killed still has a ledger."""
            if time.monotonic() - last_saved[0] >= LEDGER_SAVE_INTERVAL_S:
                write_ledger(out, [r.record() for r in all_rows()], {"in_progress": True})
                last_saved[0] = time.monotonic()

        try:
            if todo:
                _run_tasks(batch, todo, results, jobs, scheduler, progress, save_progress,
                           stop_started=lambda: kill_started_processes(before))
        except Interrupted as error:
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
               progress: bool, save_progress=lambda: None, stop_started=lambda: None) -> None:
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

        def stop_on_interrupt(kind, error, tb) -> bool:
            """On an interrupt, first of all (exit callbacks run last-in first-out): stop every process started,
            before closing the zygote ends kernels under workers that would then print about it."""
            if kind is Interrupted:
                stop_started()
            return False  # the interrupt goes on

        cleanup.push(stop_on_interrupt)
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
