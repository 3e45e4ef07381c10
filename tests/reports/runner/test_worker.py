"""One site in a worker: kernel-start retries, the cell time-out, nothing held after many sites."""

from __future__ import annotations

import json
import os

import pytest

from ivig_kit import errors
from ivig_kit.reports.runner import kernels, worker

from ..helpers import one_site_task

pytestmark = pytest.mark.slow  # each test runs kernels: seconds, not milliseconds


def test_a_kernel_start_error_is_retried_once_with_a_plain_kernel(tmp_path, monkeypatch):
    import zmq

    real_start, calls = kernels.NotebookKernels.start, []

    def flaky_start(self, cwd, warm=True, **kwargs):
        calls.append(warm)
        if len(calls) == 1:
            raise errors.KernelStartError("ZMQError: Address already in use") from zmq.ZMQError(98)
        return real_start(self, cwd, warm=warm, **kwargs)

    monkeypatch.setattr(kernels.NotebookKernels, "start", flaky_start)
    result = worker.run_site_report(one_site_task(tmp_path))
    assert (result.status, result.attempts, calls) == ("ok", 2, [True, False])  # the retry uses a plain kernel
    assert b"Fixture site report" in result.outputs["html"] and json.loads(result.outputs["summary"])["site"] == "AMS"


def test_a_kernel_that_never_starts_fails_the_site_after_one_retry(tmp_path, monkeypatch):
    calls = []

    def dead_start(self, cwd, warm=True, **kwargs):
        calls.append(warm)
        raise errors.KernelStartError("RuntimeError: Kernel died before replying to kernel_info") from RuntimeError(
            "Kernel died before replying to kernel_info"
        )

    monkeypatch.setattr(kernels.NotebookKernels, "start", dead_start)
    result = worker.run_site_report(one_site_task(tmp_path))
    assert (result.status, result.attempts, calls) == ("failed", 2, [True, False])
    assert result.error["kind"] == "kernel-start" and "Kernel died" in result.error["evalue"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixture_report.ipynb", "registry.csv"]


def test_a_cell_time_out_says_the_real_limit(tmp_path):
    import dataclasses

    task = dataclasses.replace(one_site_task(tmp_path), extra_parameters=(("sleep_s", 30),), cell_timeout_s=2)
    result = worker.run_site_report(task)
    assert (result.status, result.error["kind"]) == ("failed", "timeout")
    assert result.error["evalue"] == "a cell ran longer than the cell time-out of 2 s (--cell-timeout)"
    assert result.seconds < 25


def test_a_worker_holds_no_more_files_or_threads_after_many_sites(tmp_path):
    """Each site's kernel client used to leave a zmq context open (its I/O thread and about 12 file
    descriptors): a worker of a 200-site batch slowed down as it went and would hit a 1024-file limit."""

    task = one_site_task(tmp_path)

    def held() -> tuple[int, int]:
        return len(os.listdir("/proc/self/fd")), len(os.listdir("/proc/self/task"))

    assert worker.run_site_report(task).ok  # the first site starts the zygote and imports everything
    after_first = held()
    for _ in range(3):
        assert worker.run_site_report(task).ok
    assert held() == after_first
