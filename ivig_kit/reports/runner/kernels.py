"""Kernels for the batch, behind one small interface: :class:`NotebookKernels` starts a ``python3`` kernel for
a notebook in a given working folder, stops it, and is closed at the end.

A warm kernel is forked from a zygote that has imported ipykernel and the notebook's modules once
(:mod:`.zygote`); a plain one (``warm=False``, the retry when a warm start fails) is an ordinary
``ipykernel`` process. Either way the kernel talks over IPC sockets in a private folder of this process,
so concurrent starts cannot race on TCP ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid

from ivig_kit.errors import KernelStartError
from ivig_kit.reports.runner.ledger import owned_tempdir
from ivig_kit.reports.runner.processes import at_exit, remove_at_exit
from ivig_kit.reports.runner.zygote import ZYGOTE_START_TIMEOUT_S, KernelZygote

KERNEL_NAME = "python3"
#: Longest a kernel may take to answer its first message.
KERNEL_START_TIMEOUT_S = 60
#: Longest a killed kernel may take to go.
KILL_WAIT_S = 5
#: How long a new kernel's IOPub status may lag its ``kernel_info`` reply before the request is repeated.
IOPUB_JOIN_S = 0.2
#: How soon a client's socket retries to connect to a kernel that has not bound its socket yet.
RECONNECT_MS = 5


class NotebookKernels:
    """Kernels for one notebook, in this process.

    Parameters
    ----------
    notebook : path, optional
        The notebook whose imports a zygote of this process would preload (none: a bare ipykernel zygote).
    zygote_socket : str, optional
        The socket of a zygote another process started (the batch's parent, for its local workers); used
        while it is there, else this process starts its own zygote on first use.
    preload : tuple of paths, optional
        Further notebooks whose imports a zygote of this process preloads too.
    """

    def __init__(self, notebook=None, zygote_socket: str | None = None, preload: tuple = ()):
        self.notebook = str(notebook) if notebook else None
        self.preload = tuple(str(path) for path in preload)
        self.shared_socket = zygote_socket
        self._zygote: KernelZygote | None = None
        self._lock = threading.Lock()

    def start_zygote(self) -> str:
        """Start this process's zygote now (it imports in the background) and return its socket path, to be
        shared with other processes; :meth:`close` stops it."""
        return self._own_zygote().socket_path

    def _own_zygote(self) -> KernelZygote:
        with self._lock:
            if self._zygote is None or not self._zygote.alive():
                notebooks = [self.notebook, *self.preload] if self.notebook else list(self.preload)
                self._zygote = KernelZygote([], notebooks=tuple(notebooks))
            return self._zygote

    def _warm_socket(self) -> str:
        """The shared zygote's socket once it accepts (it may still be importing: its folder is there, the
        socket not yet), else this process's own zygote's."""
        if self.shared_socket:
            deadline = time.monotonic() + ZYGOTE_START_TIMEOUT_S
            while os.path.isdir(os.path.dirname(self.shared_socket)) and time.monotonic() < deadline:
                if os.path.exists(self.shared_socket):
                    return self.shared_socket
                time.sleep(0.02)
        return self._own_zygote().wait_until_ready()

    def start(self, cwd: str, warm: bool = True, timeout_s: float = KERNEL_START_TIMEOUT_S):
        """A fresh kernel whose working folder is ``cwd``, ready to run cells (an ``AsyncKernelManager``).

        Raises :class:`KernelStartError` for any failure to start (the caller may retry with ``warm=False``).
        """
        from jupyter_core.utils import run_sync

        from ivig_kit.reports.runner.provisioner import ZygoteProvisioner

        async def start():
            prefix = _ipc_prefix()  # sockets and connection file in this process's own folder, never loose in /tmp
            manager = _site_kernel_manager()(
                kernel_name=KERNEL_NAME, transport="ipc", ip=prefix, connection_file=prefix + "-connection.json"
            )
            if warm:
                manager.kernel_id = str(uuid.uuid4())
                manager.provisioner = ZygoteProvisioner(
                    kernel_id=manager.kernel_id,
                    kernel_spec=manager.kernel_spec,
                    parent=manager,
                    zygote_socket=self._warm_socket(),
                )
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

    @staticmethod
    def stop(manager) -> None:
        """Kill the kernel of ``manager`` and release everything it holds (never raises)."""
        from jupyter_core.utils import run_sync

        async def stop():
            try:
                provisioner = manager.provisioner
                if provisioner is not None and provisioner.has_process:  # kill and watch it go (see wait)
                    await provisioner.kill()
                    await asyncio.wait_for(provisioner.wait(), timeout=KILL_WAIT_S)
                if await manager.is_alive():  # the manager's way, which polls every 0.1 s
                    await manager.shutdown_kernel(now=True)
            finally:
                for client in getattr(manager, "handed_out", ()):
                    with contextlib.suppress(Exception):
                        client.stop_channels()  # also destroys the zmq context the client made
                await manager.cleanup_resources()

        with contextlib.suppress(Exception):
            run_sync(stop)()

    def close(self) -> None:
        """Stop this process's zygote, if it started one (the kernels forked from it go with it)."""
        with self._lock:
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None


_by_key: dict[str, NotebookKernels] = {}
_by_key_lock = threading.Lock()


def kernels_for(key: str, notebook=None, zygote_socket: str | None = None) -> NotebookKernels:
    """This process's :class:`NotebookKernels` for the notebook known by ``key`` (its hash), made on first
    use and closed when the process ends; ``zygote_socket`` (a zygote another process started) is
    remembered for the kernels made later."""
    with _by_key_lock:
        kernels = _by_key.get(key)
        if kernels is None:
            kernels = _by_key[key] = NotebookKernels(notebook, zygote_socket)
            at_exit(kernels.close)
        if notebook and not kernels.notebook:
            kernels.notebook = str(notebook)
        if zygote_socket:
            kernels.shared_socket = zygote_socket
        return kernels


_ipc_folder: str | None = None


def _ipc_prefix() -> str:
    """A unique absolute prefix for one kernel's IPC sockets, in a private folder of this process
    (jupyter_client's default, ``kernel-ipc``, is relative and the same for every kernel)."""
    global _ipc_folder

    with _by_key_lock:
        if _ipc_folder is None or not os.path.isdir(_ipc_folder):
            _ipc_folder = owned_tempdir("kernels")
            remove_at_exit(_ipc_folder)
    return os.path.join(_ipc_folder, uuid.uuid4().hex[:12])


_manager_class = None


def _site_kernel_manager():
    """An ``AsyncKernelManager`` that remembers the clients it hands out, so that stopping its kernel closes
    them too: nbclient leaves open a client of a manager it was given, and each such client keeps a zmq
    context, its I/O thread and a dozen file descriptors, which a worker running a hundred sites runs out of."""
    global _manager_class
    if _manager_class is None:
        from jupyter_client.manager import AsyncKernelManager
        from traitlets import List, default

        class SiteKernelManager(AsyncKernelManager):
            handed_out: List = List()

            @default("client_factory")
            def _ready_client(self):
                return _ready_client_class()

            def client(self, **kwargs):
                client = super().client(**kwargs)
                self.handed_out.append(client)
                return client

        _manager_class = SiteKernelManager
    return _manager_class


_client_class: type | None = None


def _ready_client_class():
    """A kernel client that is ready sooner, made on first use (jupyter_client is imported only by the processes
    that run kernels)."""
    global _client_class
    if _client_class is not None:
        return _client_class
    from queue import Empty

    import zmq
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        """A kernel client whose :meth:`wait_for_ready` returns as soon as the kernel is ready.

        jupyter_client's waits for 0.2 s of silence on IOPub after the ``kernel_info`` reply, and nbclient waits
        again for the client it makes: 0.4 s of every site spent waiting. Here the kernel is ready once it has
        replied to ``kernel_info`` on the shell channel and its IOPub status for that request has arrived
        (so IOPub is connected: no output of the first cell can be lost); nothing else is waited for.
        """

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # a subscriber that connects before the kernel has bound its socket retries every 100 ms by default
            self.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                request = self.kernel_info()
                if await self._reply_and_idle(request, deadline):
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

        async def _reply_and_idle(self, request: str, deadline: float) -> bool:
            """Whether the reply to ``request`` and its IOPub idle status both came (within a second each)."""
            reply = None
            while reply is None:
                try:
                    message = await self.shell_channel.get_msg(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
                except Empty:
                    return False
                if message["parent_header"].get("msg_id") == request and message["msg_type"] == "kernel_info_reply":
                    reply = message
            while True:
                try:
                    message = await self.iopub_channel.get_msg(timeout=IOPUB_JOIN_S)
                except Empty:
                    return False  # IOPub was not connected yet when the kernel answered: ask again
                if (
                    message["parent_header"].get("msg_id") == request
                    and message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"
                ):
                    self._handle_kernel_info_reply(reply)
                    return True

    _client_class = ReadyClient
    return ReadyClient
