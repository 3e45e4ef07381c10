"""The kernel zygote: it becomes ready, serves forks, ignores a broken request, and ends with the process
that started it."""

from __future__ import annotations

import os
import socket
import time

import psutil
import pytest

from ivig_kit.reports.runner.zygote import KernelZygote, left_out

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


_RUN_CELLS = """
import contextlib, io, json, os, sys
os.environ["MPLBACKEND"] = "agg"
from ivig_kit.reports.runner.notebook_file import cell_source, notebook_cells
namespace = {}
with contextlib.redirect_stdout(io.StringIO()):
    for cell in notebook_cells(sys.argv[1]):
        if cell.get("cell_type") == "code":
            exec(cell_source(cell), namespace)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("notebook", ["site_report.ipynb", "registry_report.ipynb"])
def test_no_report_imports_what_the_zygote_leaves_out(notebook, tmp_path):
    """The zygote skips NOT_PRELOADED (imported by kit functions no report calls): each report notebook, run
    with its defaults (the bundled demo registry) in a new interpreter, imports none of them, so no kernel
    pays for their import itself."""
    import json
    import subprocess
    import sys

    from ivig_kit.resources import notebook_path

    run = subprocess.run(
        [sys.executable, "-c", _RUN_CELLS, str(notebook_path(notebook))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    imported = json.loads(run.stdout.strip().splitlines()[-1])
    assert "ivig_kit.inference.funnel" in imported and "scipy.special" in imported  # the cells did run
    assert [m for m in imported if left_out(m)] == []
