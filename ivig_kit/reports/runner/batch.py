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
import itertools
import sys
import time
from pathlib import Path

from ivig_kit.errors import BatchWriteError, Interrupted, ReportSetupError
from ivig_kit.reports.runner.index_page import write_index
from ivig_kit.reports.runner.ledger import (
    batch_lock,
    read_ledger,
    sweep_partial_files,
    sweep_stale_tempdirs,
)
from ivig_kit.reports.runner.pdf import SitePdfs
from ivig_kit.reports.runner.pool import LocalRunners, make_executor
from ivig_kit.reports.runner.processes import (
    keep_resource_tracker,
    kill_started_processes,
    started_processes,
)
from ivig_kit.reports.runner.registry_run import REGISTRY_NOTEBOOK, run_registry_report
from ivig_kit.reports.runner.scheduler import check_scheduler
from ivig_kit.reports.runner.tasks import (
    BatchResult,
    ReportBatch,
    SiteResult,
    SiteTask,
)
from ivig_kit.reports.runner.worker import run_site_report, store_outputs

#: index.json and index.html are rewritten at most this often while sites finish.
LEDGER_SAVE_INTERVAL_S = 1.0
#: Tasks sent to each worker ahead of the one it runs (the rest wait, unmade, in the parent).
IN_FLIGHT_PER_WORKER = 2
#: The index is rewritten while sites finish at most once per this many times as long as a rewrite takes.
SAVE_SHARE = 20
#: Errors of writing the output folder that stop a batch with one line (disk full, quota, I/O, read-only, too big).
WRITE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EROFS,
    errno.EFBIG,
}


# --- Running a batch ----------------------------------------------------------------------------------------


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
    batch: ReportBatch,
    jobs: int = 2,
    scheduler: str | None = None,
    progress: bool = True,
    pdf: bool = False,
    runners: LocalRunners | None = None,
) -> BatchResult:
    """Run every site of ``batch`` (``jobs`` at a time, or on the dask cluster at ``scheduler``), print one
    line per site as it finishes, print each new report to ``<slug>.pdf`` when ``pdf``, then write the
    index (``index.json`` ledger and ``index.html``).

    ``runners``: local worker processes and kernel zygote started earlier (by ``ivig-kit reports``, before
    the registry was read) and closed by the caller; by default the batch starts its own when it runs
    anything locally.

    Raises :class:`Interrupted` (after cleaning up and writing the index) on SIGINT or SIGTERM.
    """
    own = None
    if runners is None and not scheduler:
        own = _LazyRunners(batch.notebook, jobs)
    try:
        return _run_batch(batch, jobs, scheduler, progress, pdf, own or runners)
    finally:
        if own is not None:
            own.close()


class _LazyRunners:
    """:class:`LocalRunners` started on first use (a batch whose sites are all re-used may need none)."""

    def __init__(self, notebook, jobs: int):
        self.notebook, self.jobs = notebook, jobs
        self._runners: LocalRunners | None = None

    def get(self, tasks: int) -> LocalRunners:
        if self._runners is None:  # no more workers than tasks
            self._runners = LocalRunners(self.notebook, max(1, min(self.jobs, tasks)), preload=(REGISTRY_NOTEBOOK,))
        return self._runners

    def close(self, wait: bool = True) -> None:
        if self._runners is not None:
            self._runners.close(wait=wait)


def _run_batch(batch, jobs, scheduler, progress, pdf, runners) -> BatchResult:

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
    if isinstance(runners, LocalRunners):  # started earlier: what they started is the batch's too
        before &= runners.before
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
        printer = SitePdfs(out) if pdf else None  # new reports, and re-used ones that have no PDF yet
        if printer is not None:
            for previous in results.values():
                if not (out / Path(previous.files["html"]).with_suffix(".pdf")).exists():
                    printer.add(previous)
        interrupted = None
        order = {task.site: i for i, task in enumerate(batch.tasks)}
        known = {site: i for i, site in enumerate(batch.all_sites)}

        def all_rows() -> list[SiteResult]:
            kept = [SiteResult.from_record(row) for site, row in ledger.items() if site not in results]
            return sorted([*results.values(), *kept], key=lambda r: (known.get(r.site, len(known)), r.site))

        last_saved = [time.monotonic(), 0.0]  # when, and how long the save took

        def save_progress(now: bool = False) -> None:
            """Keep index.json and index.html current while the batch runs, the sites still running marked, so a
            batch that is killed (even by SIGKILL) leaves an index that says which sites did not finish."""
            # at most every second, and never more than 1/SAVE_SHARE of the time: the index of a large registry
            # takes longer to write, so it is written less often (the total time writing it stays linear)
            wait = max(LEDGER_SAVE_INTERVAL_S, last_saved[1] * SAVE_SHARE)
            if now or time.monotonic() - last_saved[0] >= wait:
                began = time.monotonic()
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
                last_saved[:] = [time.monotonic(), time.monotonic() - began]

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
                    runners=_local(runners, len(todo)),
                    stored=printer.add if printer else lambda result: None,
                )
            # the history, then the coordinating centre's report
            run_registry_report(
                batch, all_rows(), printer=printer, runners=_local(runners) if batch.registry_state else None
            )
            if printer is not None:  # the last PDFs (each was started as soon as its report was written)
                printer.finish()
        except Interrupted as error:
            interrupted = error
            kill_started_processes(before)  # Chromium too: the PDF thread ends
            if printer is not None:
                printer.stop()
            sweep_stale_tempdirs(mine_too=True)  # also a zygote folder made just as the signal came
            sweep_partial_files(out)
        except OSError as error:  # the output folder cannot be written (disk full, I/O error): stop, say so
            if error.errno not in WRITE_ERRNOS:
                kill_started_processes(before)
                raise
            write_failure = error
            kill_started_processes(before)
            if printer is not None:
                printer.stop()
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


def _local(runners, tasks: int = 1) -> LocalRunners | None:
    """The batch's local runners, started now (for ``tasks`` tasks) if they were waiting for a first use."""
    return runners.get(tasks) if isinstance(runners, _LazyRunners) else runners


def _run_tasks(
    batch: ReportBatch,
    todo: list[SiteTask],
    results: dict,
    jobs: int,
    scheduler: str | None,
    progress: bool,
    save_progress=lambda: None,
    stop_started=lambda: None,
    runners: LocalRunners | None = None,
    stored=lambda result: None,
) -> None:
    """Run ``todo`` and put each outcome into ``results`` as it comes (stored in the output folder), on the
    local ``runners`` or the dask cluster at ``scheduler``.

    On an interrupt, every process the batch started is stopped first (``stop_started``), before the
    executor is closed."""
    from tqdm.auto import tqdm

    executor = client = None
    interrupted = False
    try:
        if scheduler:
            executor, client = make_executor(jobs, scheduler, batch.notebook_sha256, None)
        else:
            assert runners is not None
            executor = runners.executor
        # a few tasks per worker in flight, each made (its slice as bytes) just before it is sent: the parent's
        # memory does not grow with the number of sites, and the first site starts at once
        waiting = iter(todo)
        in_flight: dict = {}

        def send(count: int) -> None:
            for task in itertools.islice(waiting, count):
                if batch.with_inputs:
                    task = batch.with_inputs([task])[0]
                in_flight[executor.submit(run_site_report, task)] = task

        send(IN_FLIGHT_PER_WORKER * max(1, jobs))
        with tqdm(total=len(todo), unit="site", desc="site reports", disable=not progress, file=sys.stderr) as bar:
            while in_flight:
                done, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                future = next(iter(done))
                task = in_flight.pop(future)
                send(1)
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
                stored(outcome)
                save_progress()
                _report(outcome, bar, progress)
    except BaseException as error:
        interrupted = True
        if isinstance(error, Interrupted):
            stop_started()
        raise
    finally:
        if client is not None and executor is not None:  # on an interrupt or error, queued sites are cancelled
            executor.shutdown(wait=not interrupted)
            client.close()
        elif interrupted and executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _log_line(result: SiteResult) -> str:
    if result.reused:
        return f"re-used {result.site!r} -> {result.files['html']} (inputs unchanged)"
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.ok:
        return f"ok      {result.site!r} -> {result.files['html']} ({result.seconds:.1f} s{retried})"
    return f"FAILED  {result.site!r}: {result.error_line()} ({result.seconds:.1f} s{retried})"
