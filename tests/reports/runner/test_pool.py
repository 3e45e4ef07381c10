"""The batch's local runners (kernel zygote, fork server, worker processes): started at once, and stopped at
once when the batch stops before its first site (bad input, an interrupt)."""

from __future__ import annotations

import time

import psutil
import pytest

from ivig_kit.reports.runner.pool import LocalRunners
from ivig_kit.reports.runner.processes import started_processes
from ivig_kit.resources import notebook_path

pytestmark = pytest.mark.slow  # each test starts a zygote and a fork server: seconds


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("after_s", [0.0, 0.2, 1.0])
def test_stopping_at_once_while_workers_start_leaves_no_process_and_no_waiting_thread(after_s):
    """A worker forked while the others are being killed breaks the pool, whose thread then waits for that
    worker for ever: at the latest when this process exits (a CI run hung there). Whenever the stop comes,
    nothing the runners started is left, and the pool's thread ends."""
    runners = LocalRunners(notebook_path("site_report.ipynb"), 2)
    time.sleep(after_s)
    runners.close(wait=False)
    manager = runners.executor._executor_manager_thread  # the thread concurrent.futures joins at exit
    if manager is not None:
        manager.join(timeout=30)
        assert not manager.is_alive()
    deadline = time.monotonic() + 10
    while (left := [pid for pid, _ in started_processes() - runners.before if _alive(pid)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert left == []
