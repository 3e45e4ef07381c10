"""The kernel zygote: it becomes ready, serves forks, ignores a broken request, and ends with the process
that started it."""

from __future__ import annotations

import os
import socket
import time

import psutil
import pytest

from ivig_kit.reports.runner.zygote import KernelZygote

pytestmark = pytest.mark.slow  # each test runs kernels: seconds, not milliseconds


@pytest.fixture(scope="module")
def zygote():
    started = KernelZygote([])  # ipykernel only: the quickest zygote
    yield started
    started.close()


def test_a_zygote_is_ready_once_its_socket_is_there_and_survives_a_broken_request(zygote):
    path = zygote.wait_until_ready()
    assert path == zygote.socket_path and os.path.exists(path) and zygote.alive()
    for request in (b"", b"no separator\n", b"a\0b\0c\n"):
        link = socket.socket(socket.AF_UNIX)
        link.connect(path)
        link.sendall(request)
        link.shutdown(socket.SHUT_WR)
        assert link.recv(64) == b""  # closed without a fork
        link.close()
    assert zygote.alive()
    assert not [c for c in psutil.Process(zygote.process.pid).children() if c.status() != psutil.STATUS_ZOMBIE]


def test_close_stops_the_zygote_and_removes_its_folder():
    zygote = KernelZygote([])
    zygote.wait_until_ready()
    folder, pid = zygote.folder, zygote.process.pid
    zygote.close()
    assert not os.path.exists(folder) and not zygote.alive() and not psutil.pid_exists(pid)
    zygote.close()  # twice is harmless


def test_a_zygote_ends_when_the_process_that_started_it_closes_its_stdin():
    zygote = KernelZygote([])
    try:
        zygote.wait_until_ready()
        zygote.process.stdin.close()  # as when the batch dies: its end of the pipe closes
        assert zygote.process.wait(timeout=10) == 0
    finally:
        zygote.close()


def test_a_zygote_that_cannot_start_says_so(monkeypatch):
    from ivig_kit import errors

    zygote = KernelZygote(["ivig_kit.reports.runner.zygote_that_is_not_there"])  # a missing module is skipped
    zygote.wait_until_ready()
    zygote.close()
    broken = KernelZygote([])
    broken.process.kill()
    broken.process.wait()
    started = time.monotonic()
    with pytest.raises(errors.KernelStartError, match="the kernel zygote did not start"):
        broken.wait_until_ready()
    assert time.monotonic() - started < 5 and not os.path.exists(broken.folder)
    broken.close()  # its pipes
