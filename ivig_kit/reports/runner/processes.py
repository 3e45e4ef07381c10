"""Process ownership: everything the batch starts dies with it and can be stopped at once.

- :func:`die_with_parent` asks Linux to kill a process when its parent dies (``prctl(PR_SET_PDEATHSIG)``),
  so nothing outlives a batch that is SIGKILLed; the fork server of the workers, the workers, the kernel
  zygote and each kernel call it.
- :func:`at_exit` runs a clean-up when a process ends, also in a pool worker (which skips ``atexit``).
- :func:`started_processes` and :func:`kill_started_processes` stop, on Ctrl-C or SIGTERM, every process
  started since a snapshot: all suspended first, then killed, so no worker sees its kernel die and prints.
- :func:`keep_multiprocessing_files_in` has multiprocessing keep its files in a temporary folder of ours.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(signum: int | None = None) -> None:
    """Ask Linux to send ``signum`` (default SIGKILL) to this process when its parent dies; end now if the
    parent is already gone (this process was adopted by init). Does nothing where ``prctl`` is missing."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum or signal.SIGKILL))
        if os.getppid() == 1:
            os._exit(1)


def in_fork_server() -> bool:
    """True in multiprocessing's fork server process (read from this process's command line)."""
    try:
        return b"multiprocessing.forkserver" in Path("/proc/self/cmdline").read_bytes()
    except OSError:
        return False


def at_exit(cleanup) -> None:
    """Run ``cleanup`` when this process ends, also in a pool worker (which skips ``atexit`` handlers)."""
    from multiprocessing import util

    atexit.register(cleanup)
    util.Finalize(None, cleanup, exitpriority=10)


def remove_at_exit(folder: str) -> None:
    """Remove ``folder`` (and everything in it) when this process ends."""
    at_exit(lambda: shutil.rmtree(folder, ignore_errors=True))


def started_processes() -> set[tuple[int, float]]:
    """Every descendant of this process now, as (pid, start time) pairs (a pid alone may be reused)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        return {(p.pid, p.create_time()) for p in psutil.Process().children(recursive=True)}
    return set()


#: The warning filter the resource tracker is started with: after a SIGKILLed batch it still removes the
#: semaphores the batch left, without writing "leaked semaphore objects" to a terminal whose prompt is back.
QUIET_RESOURCE_TRACKER = "ignore:resource_tracker:UserWarning"


def keep_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, quiet, so a snapshot taken after this holds it.

    :func:`kill_started_processes` must leave the tracker to exit with this process (it reads a pipe from
    it): killed, it would be started again by the next semaphore this process releases, and print
    tracebacks. Taking the snapshot after this call makes it one of the processes that were already there.

    The tracker outlives a batch killed by SIGKILL by a moment: it sees its pipe close, removes the named
    semaphores the worker pool's queues left in ``/dev/shm`` and warns about them on the stderr it shares
    with the batch, after the shell has shown its prompt. It is started with that warning filtered (through
    ``PYTHONWARNINGS``, the one setting its interpreter reads at start-up); a tracker already running is
    left as it is.
    """
    from multiprocessing import resource_tracker

    earlier = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = f"{earlier},{QUIET_RESOURCE_TRACKER}" if earlier else QUIET_RESOURCE_TRACKER
    try:
        resource_tracker.ensure_running()
    finally:
        if earlier is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = earlier


def kill_started_processes(before: set[tuple[int, float]]) -> int:
    """SIGKILL every descendant of this process that was not there at ``before`` (workers, fork server,
    zygote, kernels); return how many.

    All are suspended first, again until no new one appears (a process may start one before it is
    stopped), and only then killed: no worker sees its kernel die and prints about it.
    """
    import psutil

    stopped, seen = [], set(before)
    while new := started_processes() - seen:
        seen |= new
        for pid, created in new:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.create_time() == created:
                    process.suspend()
                    stopped.append(process)
    for process in stopped:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(stopped, timeout=3)
    forget_fork_server()
    return len(stopped)


def forget_fork_server() -> None:
    """After the fork server is killed (or its socket's folder removed), make multiprocessing start a new one for
    the next batch of this process (it would otherwise connect to the dead one's socket); closing its "alive"
    pipe ends one that still runs.

    multiprocessing has no public way to reset its process-wide fork server, so this is the one place that
    touches ``forkserver._forkserver``'s private attributes; without it a second batch in the same process
    (the tests, a notebook) fails after the first was interrupted or hit a full disk.
    """
    import os
    from multiprocessing import forkserver

    import psutil

    def alive(pid: int) -> bool:
        with contextlib.suppress(psutil.Error):
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        return False

    server: Any = forkserver._forkserver  # the singleton behind get_context("forkserver")
    with server._lock:
        address = server._forkserver_address
        if server._forkserver_pid is None or (
            alive(server._forkserver_pid) and isinstance(address, str) and os.path.exists(address)
        ):
            return
        with contextlib.suppress(OSError, TypeError):
            os.close(server._forkserver_alive_fd)
        with contextlib.suppress(OSError, TypeError):
            os.unlink(server._forkserver_address)
        server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None


def keep_multiprocessing_files_in(make_folder) -> None:
    """Have multiprocessing keep its temporary files (the fork server's socket) in ``make_folder()``, a
    folder of ours that the next run can remove after a SIGKILL (its own ``pymp-*`` folder is not provably
    ours); the folder is removed when this process ends."""
    from multiprocessing import process, util

    # multiprocessing has no documented way to choose the folder util.get_temp_dir() makes: it keeps it in
    # the current process's private ``_config["tempdir"]``, so that is where ours is put (this is the only
    # place in the kit that touches it).
    config = process.current_process()._config  # type: ignore[attr-defined]
    if config.get("tempdir") is None or not os.path.isdir(config["tempdir"]):
        folder = make_folder()
        config["tempdir"] = folder
        util.Finalize(None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, exitpriority=-100)
