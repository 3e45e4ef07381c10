"""Warm kernels for the batch: start a ``python3`` kernel for one site, by forking it from a "zygote"
that has imported ipykernel and the notebook's modules once, or plainly as a fallback.

The zygote and its kernels talk over IPC sockets, so concurrent starts cannot race on TCP ports.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

from ivig_kit.errors import KernelStartError
from ivig_kit.reports.runner.ledger import owned_tempdir

KERNEL_NAME = "python3"
KERNEL_START_TIMEOUT_S = 60


def _start_kernel(cwd: str, warm: bool = True, timeout_s: float = KERNEL_START_TIMEOUT_S, notebook: str = "",
                  key: str | None = None):
    """Start a fresh ``python3`` kernel whose working folder is ``cwd`` and wait until it answers.

    The kernel talks over IPC sockets (no TCP ports to race for). With ``warm`` it is forked from this
    process's :class:`KernelZygote`, which has already imported ipykernel and the notebook's modules;
    it is still a new process per site with an empty namespace. Any failure here is a kernel-start failure.
    """
    from jupyter_core.utils import run_sync

    async def start():
        specs = KernelZygote.for_notebook(notebook, key=key).kernel_specs() if warm else None
        prefix = _ipc_prefix()  # sockets and connection file in this process's own folder, never loose in /tmp
        manager = _site_kernel_manager()(kernel_name=KERNEL_NAME, transport="ipc", ip=prefix,
                                     connection_file=prefix + "-connection.json",
                                     **({"kernel_spec_manager": specs} if specs else {}))
        await manager.start_kernel(cwd=cwd)
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=timeout_s)
        except BaseException:
            await manager.shutdown_kernel(now=True)
            raise
        finally:
            client.stop_channels()
        return manager

    try:
        return run_sync(start)()
    except Exception as error:  # ZMQError, RuntimeError("Kernel died before replying"), TimeoutError, ...
        raise KernelStartError(f"{type(error).__name__}: {error}") from error


_ipc_folder = None


def _at_exit(cleanup) -> None:
    """Run ``cleanup`` when this process ends, also in a pool worker (which skips ``atexit``)."""
    from multiprocessing import util

    atexit.register(cleanup)
    util.Finalize(None, cleanup, exitpriority=10)


def _ipc_prefix() -> str:
    """A unique absolute prefix for one kernel's IPC sockets, in a private folder of this process
    (jupyter_client's default, ``kernel-ipc``, is relative and the same for every kernel)."""
    global _ipc_folder
    import shutil
    import uuid

    with KernelZygote._lock:
        if _ipc_folder is None or not os.path.isdir(_ipc_folder):
            _ipc_folder = owned_tempdir("kernels")
            _at_exit(functools.partial(shutil.rmtree, _ipc_folder, ignore_errors=True))
    return os.path.join(_ipc_folder, uuid.uuid4().hex[:12])


@functools.cache
def _site_kernel_manager():
    """An ``AsyncKernelManager`` that remembers the clients it hands out, so that stopping its kernel closes
    them too: nbclient leaves open a client of a manager it was given, and each such client keeps a zmq
    context, its I/O thread and a dozen file descriptors, which a worker running a hundred sites runs out of."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import List

    class SiteKernelManager(AsyncKernelManager):
        handed_out = List()

        def client(self, **kwargs):
            client = super().client(**kwargs)
            self.handed_out.append(client)
            return client

    return SiteKernelManager


def _stop_kernel(manager) -> None:
    from jupyter_core.utils import run_sync

    async def stop():
        try:
            if await manager.is_alive():
                await manager.shutdown_kernel(now=True)
        finally:
            for client in getattr(manager, "handed_out", ()):
                with contextlib.suppress(Exception):
                    client.stop_channels()  # also destroys the zmq context the client made
            await manager.cleanup_resources()

    with contextlib.suppress(Exception):
        run_sync(stop)()


# --- Warm kernels -----------------------------------------------------------------------------------------
# Starting a kernel and importing pandas, matplotlib, seaborn and the kit costs seconds of CPU per site,
# more than running the report itself. A zygote process imports all that once; each site's kernel is a
# fork of it. The kernel manager launches a tiny stdlib-only trampoline (its "kernel process"), which asks
# the zygote for a fork and stays connected to it: signals sent to the trampoline are passed on to the
# kernel, and each side exits when the other goes away.

_TRAMPOLINE = """\
import ctypes, os, signal, socket, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the worker
except Exception:
    pass
if os.getppid() == 1:
    sys.exit(1)
link = socket.socket(socket.AF_UNIX)
try:
    link.connect(sys.argv[1])
except OSError:
    sys.exit(1)  # no zygote (the batch is stopping): the kernel manager sees a kernel that died
link.sendall((sys.argv[2] + "\\0" + os.getcwd() + "\\n").encode())
def forward(signum, frame):
    link.sendall(b"%d\\n" % signum)
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(signum, forward)
try:
    while link.recv(64):
        pass
except OSError:
    pass  # the kernel was killed (connection reset): end as quietly as on a closed connection
"""


class KernelZygote:
    """A process that has imported ipykernel and a notebook's modules and forks a kernel on request."""

    _by_notebook: ClassVar[dict[str, KernelZygote]] = {}
    _lock = threading.Lock()

    def __init__(self, modules: list[str]):
        import subprocess

        self.folder = owned_tempdir("zygote")
        self.owned = True
        self.socket_path = os.path.join(self.folder, "zygote.sock")
        code = ("import sys; from ivig_kit.reports.runner.kernels import _zygote_main; "
                "_zygote_main(sys.argv[1], sys.argv[2:])")
        # stdin stays open: the zygote exits when this process (its only writer) goes away.
        self.process = subprocess.Popen([sys.executable, "-c", code, self.socket_path, *modules],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

    @classmethod
    def shared(cls, notebook: str, socket_path: str) -> KernelZygote:  # notebook: the key it is known by
        """Use the zygote another process started (the batch's parent) for ``notebook`` in this process."""
        zygote = cls.__new__(cls)
        zygote.folder, zygote.socket_path, zygote.process, zygote.owned = None, socket_path, None, False
        with cls._lock:
            cls._by_notebook[notebook] = zygote
        return zygote

    def alive(self) -> bool:
        return self.process.poll() is None if self.owned else os.path.exists(self.socket_path)

    def wait_until_ready(self, timeout_s: float = KERNEL_START_TIMEOUT_S) -> None:
        """Block until the zygote accepts requests (it imports in the background meanwhile)."""
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.socket_path):
            if not self.owned or self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                status = self.process.poll() if self.owned else "unknown"
                raise KernelStartError(f"the kernel zygote did not start (exit status {status})")
            time.sleep(0.02)

    @classmethod
    def for_notebook(cls, notebook: str, key: str | None = None) -> KernelZygote:
        """This process's zygote for ``notebook`` (known by ``key``, default its path; started on first use,
        stopped at exit)."""
        key = key or notebook
        with cls._lock:
            zygote = cls._by_notebook.get(key)
            if zygote is None or not zygote.alive():
                zygote = cls._by_notebook[key] = cls(notebook_imports(notebook))
                _at_exit(zygote.close)
            return zygote

    def kernel_specs(self):
        """A kernel-spec manager whose ``python3`` spec launches the trampoline to this zygote."""
        from jupyter_client.kernelspec import KernelSpecManager

        self.wait_until_ready()
        trampoline = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, self.socket_path, "{connection_file}"]

        class ZygoteKernelSpecs(KernelSpecManager):
            def get_kernel_spec(self, kernel_name):
                spec = super().get_kernel_spec(kernel_name)
                spec.argv = trampoline
                return spec

        return ZygoteKernelSpecs()

    def close(self) -> None:
        import shutil

        if not self.owned:
            return
        if self.process.poll() is None:
            self.process.stdin.close()
            with contextlib.suppress(Exception):
                self.process.wait(timeout=5)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()  # reaped: no zombie, no "subprocess is still running" ResourceWarning
        shutil.rmtree(self.folder, ignore_errors=True)


def notebook_cells(notebook) -> list[dict]:
    """The cells of a notebook file, read as plain JSON (cheaper than importing nbformat in every process)."""
    with open(notebook, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]
    if not isinstance(cells, list):
        raise TypeError("'cells' is not a list")
    return cells


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_imports(notebook: str) -> list[str]:
    """The modules a notebook's code cells import, and those the kit's own modules they use import
    (also inside functions: a report module often imports matplotlib or statsmodels lazily)."""
    modules = []
    for cell in notebook_cells(notebook):
        if cell.get("cell_type") == "code":
            modules += _imports_in("\n".join(line for line in _source(cell).splitlines()
                                             if not line.lstrip().startswith(("%", "!"))))
    seen, todo = [], list(modules)
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        seen.append(module)
        if module.split(".")[0] == __name__.split(".")[0]:
            source = _module_source(module)
            todo += _imports_in(source, package=module if source and _is_package(module) else
                                module.rpartition(".")[0])
    return seen


def _imports_in(source: str | None, package: str = "") -> list[str]:
    """Absolute names of every module ``source`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    import ast
    import importlib.util

    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                except (ImportError, ValueError):
                    continue
            if base:
                found += [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return found


def _module_source(module: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def _is_package(module: str) -> bool:
    import importlib.util

    spec = importlib.util.find_spec(module)
    return bool(spec and spec.submodule_search_locations is not None)


def _zygote_main(socket_path: str, modules: list[str]) -> None:
    """The zygote: import once, then fork one kernel per trampoline that connects."""
    import importlib
    import select
    import signal
    import socket

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the batch, which stops everything itself
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # like ipykernel_launcher; the kernel's shell puts its own folder back
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    import ipykernel.kernelapp  # noqa: F401

    for module in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    if threading.active_count() > 1:
        sys.exit("ivig-kit: a preloaded module started a thread; forking kernels would not be safe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped automatically
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(socket_path + ".binding")
    listener.listen(64)
    os.rename(socket_path + ".binding", socket_path)  # the path appears only once it accepts connections
    while True:
        ready, _, _ = select.select([listener, 0], [], [])
        if 0 in ready and not os.read(0, 4096):
            return  # the worker that started us has gone
        if listener in ready:
            link, _ = listener.accept()
            request = b""
            while not request.endswith(b"\n"):
                chunk = link.recv(4096)
                if not chunk:
                    break
                request += chunk
            if not request.endswith(b"\n"):
                link.close()
                continue
            connection_file, cwd = request[:-1].decode().split("\0")
            if os.fork() == 0:
                listener.close()
                _forked_kernel(link, connection_file, cwd)
            link.close()


def die_with_parent(signum: int | None = None) -> None:
    """Ask Linux to send ``signum`` (default SIGKILL) to this process when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``), so nothing the batch started outlives it, even when it is SIGKILLed."""
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signum or signal.SIGKILL))
        if os.getppid() == 1:
            os._exit(1)


def _forked_kernel(link, connection_file: str, cwd: str) -> None:
    """In the forked child: become an ordinary ipykernel process for ``connection_file``; never returns."""
    import signal

    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a kernel is interrupted as usual
        die_with_parent()  # the zygote: it goes when the batch (or dask worker) that started it goes
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.chdir(cwd)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # a fork would otherwise share the zygote's random state

        def follow_trampoline():
            buffer = b""
            while True:
                chunk = link.recv(64)
                if not chunk:
                    os._exit(1)  # the kernel manager killed the trampoline: the kernel goes too
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    os.kill(os.getpid(), int(line))

        threading.Thread(target=follow_trampoline, daemon=True, name="trampoline").start()
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = ["ipykernel_launcher", "-f", connection_file]
        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file])
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        if inline is not None:  # imported before the shell existed: hook it to the shell now
            inline._enable_matplotlib_integration()
        app.start()
    finally:
        os._exit(0)
