"""The kernel zygote: a process that has imported ipykernel and a notebook's modules once and forks one
kernel per request (asked by :class:`ivig_kit.reports.runner.provisioner.ZygoteProvisioner`).

Starting a kernel and importing pandas, matplotlib, seaborn and the kit costs seconds of CPU per site, more
than running the report itself; a fork of the zygote costs milliseconds and is still a new process per
site with an empty namespace.

The protocol, over a Unix socket in the zygote's private folder: the provisioner (in the process that runs
the notebook) connects and sends ``connection_file NUL cwd NL``; the zygote forks; the child becomes an
ordinary ipykernel process, answers with its pid and keeps the connection open. The provisioner signals and
kills the kernel by pid (it leads its own process group) and watches it through a pidfd; each side ends
when the other goes away (the kernel when the connection closes, the zygote when the process that started
it closes its stdin).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from ivig_kit.errors import KernelStartError
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.processes import die_with_parent

#: Longest a zygote may take to import before its first kernel.
ZYGOTE_START_TIMEOUT_S = 60
#: What a kernel imports while it initialises (its shell, debugger, history, inline figures), imported once by
#: the zygote instead of once per kernel (0.15 s a site).
KERNEL_MODULES = (
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.magics.execution",
    "IPython.extensions.storemagic",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "matplotlib_inline.backend_inline",
    "tornado.queues",
    "PIL.features",
    # what a kernel still imported after its fork (0.01 s a site): its debugger, inspector, logger, asyncio loop
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "faulthandler",
    "pdb",
    "tornado.platform.asyncio",
)
#: Imported inside functions of the kit that no report calls (statistics offered as options, such as the mid-p
#: interval's root finder, spreadsheet reading and writing), so left out of what the zygote imports: scipy.stats
#: alone is 0.8 s of its start-up, the critical path of a batch's, scipy.optimize 0.15 s. A test runs both report
#: notebooks and checks that neither imports any of them.
NOT_PRELOADED = ("scipy.stats", "scipy.optimize", "statsmodels", "openpyxl")


def left_out(module: str) -> bool:
    """Whether ``module`` is one of :data:`NOT_PRELOADED` or inside one of them."""
    return module in NOT_PRELOADED or module.startswith(tuple(f"{name}." for name in NOT_PRELOADED))


#: How a notebook whose imports the zygote loads is told apart from a module on its command line.
NOTEBOOK_ARGUMENT = "notebook="
#: A batch's kernels keep no input history: nothing of a site's session outlives its kernel.
KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)


class KernelZygote:
    """A zygote process this process started (and stops: :meth:`close`, or when this process ends, since
    the zygote exits when its stdin closes)."""

    def __init__(self, modules: list[str], notebooks: tuple = ()):
        """Start a zygote importing ``modules`` and what ``notebooks`` import (read by the zygote itself, so
        that reading the kit's sources for their imports costs the starting process nothing)."""
        self.folder = owned_tempdir("zygote")
        self.socket_path = os.path.join(self.folder, "zygote.sock")
        code = (
            "import sys; from ivig_kit.reports.runner.zygote import zygote_main; zygote_main(sys.argv[1], sys.argv[2:])"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, self.socket_path, *modules, *(NOTEBOOK_ARGUMENT + str(n) for n in notebooks)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_until_ready(self, timeout_s: float = ZYGOTE_START_TIMEOUT_S) -> str:
        """Block until the zygote accepts requests (it imports in the background meanwhile); its socket path."""
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.socket_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                status = self.process.poll()
                self.close()
                raise KernelStartError(f"the kernel zygote did not start (exit status {status})")
            time.sleep(0.02)
        return self.socket_path

    def close(self) -> None:
        """Stop the zygote (its kernels go with it) and remove its folder."""
        import shutil

        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):  # its end of the pipe: closing it asks the zygote to stop
                self.process.stdin.close()
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.process.wait(timeout=5)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()  # reaped: no zombie, no "subprocess is still running" ResourceWarning
        shutil.rmtree(self.folder, ignore_errors=True)


# --- In the zygote process ---------------------------------------------------------------------------------


def zygote_main(socket_path: str, modules: list[str]) -> None:
    """The zygote: import once, then fork one kernel per connection; end when stdin closes."""
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the batch, which stops everything itself
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # like ipykernel_launcher; the kernel's shell puts its own folder back
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    # debugpy (imported with the kernel's debugger) warns on stderr about frozen modules at import
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import ipykernel.kernelapp  # noqa: F401

    from ivig_kit.reports.runner.notebook_file import notebook_imports

    notebooks = [m[len(NOTEBOOK_ARGUMENT) :] for m in modules if m.startswith(NOTEBOOK_ARGUMENT)]
    modules = [m for m in modules if not m.startswith(NOTEBOOK_ARGUMENT)]
    modules += [module for path in notebooks for module in notebook_imports(path)]
    for module in dict.fromkeys((*KERNEL_MODULES, *modules)):
        if left_out(module):
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    if "ivig_kit.reports.content.summary" in sys.modules:  # the report notebooks' data-free work, done once
        with contextlib.suppress(Exception):
            sys.modules["ivig_kit.reports.content.summary"].warm_kernel_caches()
    import gc

    gc.collect()
    gc.freeze()  # a kernel's collector then never walks (and so copies) the zygote's objects
    if threading.active_count() > 1:
        sys.exit("ivig-kit: a preloaded module started a thread; forking kernels would not be safe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped automatically
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path + ".binding")
    listener.listen(64)
    os.rename(socket_path + ".binding", socket_path)  # the path appears only once it accepts connections
    while True:
        ready, _, _ = select.select([listener, 0], [], [])  # type: ignore[type-var]  # a socket and fd 0
        if 0 in ready and not os.read(0, 4096):
            return  # the process that started us has gone
        if listener in ready:
            link, _ = listener.accept()
            request = _read_request(link)
            if request is None:
                link.close()
                continue
            if os.fork() == 0:
                listener.close()
                _forked_kernel(link, *request)
            link.close()


def _read_request(link: socket.socket) -> tuple[str, str] | None:
    """(connection file, working folder) of one request, or ``None`` for a broken one."""
    link.settimeout(5)
    request = b""
    with contextlib.suppress(OSError):
        while not request.endswith(b"\n"):
            chunk = link.recv(4096)
            if not chunk:
                break
            request += chunk
    parts = request[:-1].decode("utf-8", "replace").split("\0")
    if not request.endswith(b"\n") or len(parts) != 2:
        return None
    link.settimeout(None)
    return parts[0], parts[1]


def _forked_kernel(link: socket.socket, connection_file: str, cwd: str) -> None:
    """In the forked child: become an ordinary ipykernel process for ``connection_file``; never returns."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a kernel is interrupted as usual
        die_with_parent()  # the zygote: it goes when the batch (or dask worker) that started it goes
        os.setsid()  # its own process group, which the provisioner signals
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.chdir(cwd)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # a fork would otherwise share the zygote's random state
        link.sendall(b"%d\n" % os.getpid())

        def follow_provisioner():
            with contextlib.suppress(OSError):
                while link.recv(64):
                    pass
            os._exit(1)  # the process that asked for this kernel has closed the connection or gone

        threading.Thread(target=follow_provisioner, daemon=True, name="provisioner").start()
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = ["ipykernel_launcher", "-f", connection_file, *KERNEL_ARGUMENTS]
        app = IPKernelApp.instance()
        app.initialize(sys.argv[1:])
        if "matplotlib_inline.backend_inline" in sys.modules and app.shell is not None:
            # imported by the zygote before this shell existed, so its import-time hook into the shell did
            # nothing: hook it now, as `%matplotlib inline` does
            app.shell.enable_matplotlib("inline")
        app.start()
    finally:
        os._exit(0)
