"""Kernels behind one small interface: start a kernel for a notebook in a folder, run code in it, stop it,
close. Warm kernels are forks of the zygote, asked for through jupyter_client's provisioner."""

from __future__ import annotations

import os

import psutil
import pytest

from ivig_kit import errors
from ivig_kit.reports.runner import kernels
from ivig_kit.reports.runner.provisioner import ZygoteProvisioner

from ..helpers import FIXTURES

pytestmark = pytest.mark.slow  # each test runs kernels: seconds, not milliseconds


def run(manager, code: str, timeout: float = 60) -> dict:
    """Execute ``code`` in the kernel; the text it printed and the reply's status."""
    client = manager.client()
    client.start_channels()
    try:
        from jupyter_core.utils import run_sync

        run_sync(client.wait_for_ready)(timeout=timeout)
        printed = []
        reply = run_sync(client.execute_interactive)(
            code, timeout=timeout, output_hook=lambda m: printed.append(m["content"].get("text", ""))
        )
        return {"status": reply["content"]["status"], "text": "".join(printed), "ename": reply["content"].get("ename")}
    finally:
        client.stop_channels()


@pytest.fixture(scope="module")
def notebook_kernels():
    made = kernels.NotebookKernels(FIXTURES / "imports.ipynb")
    yield made
    made.close()


def test_a_warm_kernel_is_a_fork_of_the_zygote_in_its_own_folder_with_an_empty_namespace(notebook_kernels, tmp_path):
    first = notebook_kernels.start(str(tmp_path))
    second = notebook_kernels.start(str(tmp_path))
    try:
        assert isinstance(first.provisioner, ZygoteProvisioner)
        pid = first.provisioner.pid
        assert psutil.Process(pid).ppid() != os.getpid()  # forked by the zygote, not started here
        assert os.getpgid(pid) == pid  # leads its own process group, which the provisioner signals
        out = run(
            first,
            "import os, sys, numpy\nprint(os.getcwd(), 'json' in sys.modules, 'x' in dir())\n"
            "print(numpy.random.randint(10**9))",
        )
        assert out["status"] == "ok"
        cwd, preloaded, leaked = out["text"].split("\n")[0].split()
        assert (cwd, preloaded, leaked) == (str(tmp_path), "True", "False")  # the notebook's imports preloaded
        other = run(second, "import numpy\nprint(numpy.random.randint(10**9))")
        assert out["text"].split("\n")[1] != other["text"].strip()  # each fork reseeded
    finally:
        notebook_kernels.stop(first)
        notebook_kernels.stop(second)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_an_interrupt_reaches_a_warm_kernel_through_the_provisioner(notebook_kernels, tmp_path):
    import asyncio
    import threading

    manager = notebook_kernels.start(str(tmp_path))
    try:
        # the timer's thread runs the interrupt in an event loop of its own, closed after it (a loop left open in
        # that thread is a ResourceWarning when it is collected, in whichever test that happens)
        timer = threading.Timer(1.5, lambda: asyncio.run(manager.interrupt_kernel()))
        timer.start()
        out = run(manager, "import time\ntime.sleep(30)")
        timer.join()
        assert (out["status"], out["ename"]) == ("error", "KeyboardInterrupt")
        assert run(manager, "print('still here')")["text"].strip() == "still here"
    finally:
        notebook_kernels.stop(manager)


def test_a_plain_kernel_is_an_ordinary_ipykernel_process(notebook_kernels, tmp_path):
    manager = notebook_kernels.start(str(tmp_path), warm=False)
    try:
        assert not isinstance(manager.provisioner, ZygoteProvisioner)
        assert psutil.Process(manager.provisioner.pid).ppid() == os.getpid()
        assert run(manager, "print(6 * 7)")["text"].strip() == "42"
    finally:
        notebook_kernels.stop(manager)


def test_a_kernel_that_cannot_start_is_a_kernel_start_error(tmp_path):
    dead = kernels.NotebookKernels(zygote_socket=str(tmp_path / "gone.sock"))  # no such zygote: its own is started
    try:
        with pytest.raises(errors.KernelStartError, match="closed the connection before forking a kernel"):
            dead.start(str(tmp_path / "no-such-folder"), timeout_s=20)  # the fork cannot enter the folder
    finally:
        dead.close()


def test_kernels_for_is_one_per_notebook_and_remembers_the_shared_zygote(tmp_path):
    key = f"test-{os.getpid()}"
    first = kernels.kernels_for(key, zygote_socket=str(tmp_path / "z.sock"))
    assert kernels.kernels_for(key, notebook=FIXTURES / "imports.ipynb") is first
    assert first.shared_socket == str(tmp_path / "z.sock") and first.notebook.endswith("imports.ipynb")


# A manager whose kernel died under it (the zygote closed first) leaves its ZMQ sockets and event loop to the
# garbage collector inside jupyter_client; the batch never does this (it stops kernels before the zygote).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_close_stops_the_zygote_and_its_kernels(tmp_path):
    made = kernels.NotebookKernels()
    manager = made.start(str(tmp_path))
    pid = manager.provisioner.pid
    zygote = psutil.Process(psutil.Process(pid).ppid())
    made.close()
    assert zygote.wait(timeout=10) is not None or not zygote.is_running()
    _gone, alive = psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [], timeout=10)
    assert not alive
    made.stop(manager)  # a kernel already gone is stopped quietly


def test_a_site_report_kernel_starts_with_the_data_free_caches_warm(tmp_path):
    """The zygote of the site-report notebook runs warm_kernel_caches once: its kernels find the package versions
    already looked up, the modules a report imports on first use already there and the report figures' empty
    axes made (one TIS figure of one panel, one of two, and the other three figures), which a figure function
    takes although the kernel set its own backend after the fork."""
    from ivig_kit.resources import notebook_path

    made = kernels.NotebookKernels(notebook_path("site_report.ipynb"))
    manager = made.start(str(tmp_path))
    try:
        out = run(
            manager,
            "import sys, matplotlib\nfrom ivig_kit.reports.content import figure_templates, figures, summary\n"
            "made = sum(map(len, figure_templates._pool.values()))\n"
            "with matplotlib.rc_context(figures.LITERAL_TEXT):\n"
            "    taken = [figure_templates.take(shape) for shape in list(figure_templates._pool)]\n"
            "print(summary._package_versions.cache_info().currsize, 'jsonschema' in sys.modules, "
            "'scipy.stats' in sys.modules, made, sum(t is not None for t in taken), matplotlib.get_backend())",
        )
        assert out["status"] == "ok", out
        assert out["text"].split() == ["1", "True", "False", "5", "5", "inline"]
    finally:
        made.stop(manager)
        made.close()
