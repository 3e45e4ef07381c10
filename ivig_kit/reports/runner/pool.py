"""The processes a batch runs its notebooks in: a kernel zygote and worker processes on this machine, or a
dask.distributed cluster's workers.

The local ones are started first, before the registry is read (:class:`LocalRunners`): the zygote's imports
(pandas, matplotlib, the kit, ipykernel) and the workers' (papermill, nbconvert) then overlap the parent's
reading, validation and scoring instead of following them, which is most of a small registry's start-up.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import os
import signal
import threading
from pathlib import Path

from ivig_kit.errors import ReportSetupError
from ivig_kit.reports.runner.kernels import NotebookKernels, kernels_for
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.pages import html_exporter
from ivig_kit.reports.runner.processes import (
    die_with_parent,
    forget_fork_server,
    keep_multiprocessing_files_in,
    keep_resource_tracker,
    kill_started_processes,
    started_processes,
)

#: Imported once by the fork server the local worker processes are forked from.
WORKER_PRELOAD = (
    "ivig_kit.reports.runner._die_with_parent",
    "ivig_kit.reports.runner._warm_exporter",
    "ivig_kit.reports.runner.batch",
    "ivig_kit.reports.runner.worker",
    "ivig_kit.reports.runner.registry_task",
    "papermill",
    "nbconvert",
    "jupyter_client",
    "tqdm",
)


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


def _preload_worker(key: str, zygote_socket: str | None) -> None:
    """Die with the batch; use the batch's kernel zygote; import what every site needs once per worker."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    if zygote_socket:
        kernels_for(key, zygote_socket=zygote_socket)
    import papermill  # noqa: F401

    html_exporter()


def _started() -> bool:
    """A task that only makes a worker process start (and run its initializer)."""
    return True


def make_executor(jobs: int, scheduler: str | None, key: str, zygote_socket: str | None):
    """A ``concurrent.futures`` executor and the dask client behind it (``None`` for local processes): local
    worker processes sharing one kernel zygote, forked from a server that has imported the runner once; or a
    dask.distributed cluster's (each worker its own zygote)."""
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as error:
            raise ReportSetupError(f"cannot use the dask scheduler at {scheduler!r}: {error}") from None
        return client.get_executor(pure=False), client
    forget_fork_server()  # one left by an earlier batch of this process whose socket has gone
    keep_multiprocessing_files_in(lambda: owned_tempdir("mp"))
    context = multiprocessing.get_context("forkserver")  # workers from a clean process, whatever our threads
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_preload_worker, initargs=(key, zygote_socket)
    )
    return executor, None


class LocalRunners:
    """The batch's kernel zygote and ``jobs`` worker processes on this machine, started at once.

    Parameters
    ----------
    notebook : path
        The site-report notebook (its hash is the workers' key for the zygote; its imports, and the registry
        notebook's, are what the zygote preloads).
    jobs : int
        Worker processes (each starts now, with a task that only starts it).
    preload : iterable of paths
        Further notebooks whose imports the zygote loads (the registry report's).

    Everything they start is a descendant of this process started after :attr:`before`, so an interrupt
    kills it (:func:`~ivig_kit.reports.runner.processes.kill_started_processes`); :meth:`close` stops them.
    """

    def __init__(self, notebook: Path, jobs: int, preload=()):
        keep_resource_tracker()  # before the snapshot: an interrupt must not kill it
        self.before = started_processes()
        self.notebook = Path(notebook)
        self.key = hashlib.sha256(self.notebook.read_bytes()).hexdigest()
        self.jobs = jobs
        self.kernels = NotebookKernels(self.notebook, preload=tuple(preload))
        self.zygote_socket = self.kernels.start_zygote()
        try:
            self.executor, _ = make_executor(jobs, None, self.key, self.zygote_socket)
        except BaseException:
            self.kernels.close()
            raise
        # the fork server is started here, in the main thread (its death signal follows the thread that starts
        # it); the first submit then waits for its imports in a thread of its own, not in the batch
        from multiprocessing import forkserver

        forkserver.ensure_running()
        self._starter = threading.Thread(target=self._start_workers, name="start-workers", daemon=True)
        self._starter.start()

    def _start_workers(self) -> None:
        """Start every worker now (one per task submitted while none is idle) so they import meanwhile."""
        with contextlib.suppress(Exception):  # a pool closed or killed meanwhile: the batch says what happened
            for _ in range(self.jobs):
                self.executor.submit(_started)

    def close(self, wait: bool = True) -> None:
        """Stop the workers and the zygote: after the batch (``wait``), or at once, killing every process they
        started (bad input found while they were starting, or an interrupt): an error is then said at once."""
        if not wait:
            kill_started_processes(self.before)
        self._starter.join()
        if not wait:  # a worker the starting thread forked while the others were being killed: its pool is
            # broken, and the pool's thread would wait for it for ever (at the latest when this process exits)
            kill_started_processes(self.before)
        self.executor.shutdown(wait=wait, cancel_futures=not wait)
        self.kernels.close()
