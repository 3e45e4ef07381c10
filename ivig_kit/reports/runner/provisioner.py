"""jupyter_client's documented launch hook, a kernel provisioner, for kernels forked by a zygote
(:mod:`.zygote`): the kernel manager asks the zygote for a fork instead of starting a new
``python -m ipykernel_launcher`` process, and signals, kills and watches that fork by its pid.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import socket
import subprocess

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from ivig_kit.errors import KernelStartError

#: Longest the zygote may take to answer a request with the pid of its fork.
FORK_TIMEOUT_S = 60


class ForkedKernel:
    """A kernel forked by a zygote, seen as the ``Popen`` a :class:`LocalProvisioner` expects.

    It is not a child of this process, so its exit status is not known: :meth:`poll` gives ``-SIGKILL``
    once it has gone (the zygote reaps it)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, link: socket.socket):
        self.pid, self.link = pid, link
        self.pidfd = os.pidfd_open(pid)  # follows this very process, even if its pid is reused later
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self.pidfd >= 0 and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if self.pidfd >= 0 and not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0.0)
            self.returncode = -signal.SIGKILL
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self.pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """Close the connection (the kernel ends if it has not) and the pidfd."""
        self.link.close()
        if self.pidfd >= 0:
            pidfd, self.pidfd = self.pidfd, -1  # never close a number the system may have given to another file
            os.close(pidfd)


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's kernel provisioner (its documented launch hook) for a kernel forked by the zygote
    at :attr:`zygote_socket` instead of a new ``python -m ipykernel_launcher`` process.

    Everything else is :class:`LocalProvisioner`'s: the connection file it writes, signals to the kernel's
    process group (the forked kernel leads its own), kill and wait."""

    zygote_socket = Unicode(help="the zygote's Unix socket").tag(config=True)
    forked: ForkedKernel | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        """Ask the zygote for a kernel on the manager's connection file in ``kwargs["cwd"]``."""
        cwd = str(kwargs.get("cwd") or os.getcwd())
        link = socket.socket(socket.AF_UNIX)
        try:
            link.settimeout(FORK_TIMEOUT_S)
            link.connect(self.zygote_socket)
            link.sendall((self.parent.connection_file + "\0" + cwd + "\n").encode())  # type: ignore[union-attr]
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = link.recv(64)
                if not chunk:
                    raise KernelStartError("the kernel zygote closed the connection before forking a kernel")
                answer += chunk
            link.settimeout(None)
            self.forked = ForkedKernel(int(answer), link)
        except BaseException:
            link.close()
            raise
        self.process = self.forked  # type: ignore[assignment]  # what LocalProvisioner polls, signals and waits for
        self.pid = self.pgid = self.forked.pid
        self.cwd = cwd
        return self.connection_info

    async def wait(self) -> int | None:
        """Wait until the kernel has gone, then close the connection and the pidfd.

        ``LocalProvisioner.wait`` polls every 0.1 s, a tenth of a second per site after the kill; the pidfd
        says at once when the process has gone."""
        try:
            if self.forked is not None and self.forked.pidfd >= 0:
                gone = asyncio.Event()
                loop = asyncio.get_running_loop()
                loop.add_reader(self.forked.pidfd, gone.set)
                try:
                    if self.forked.poll() is None:
                        await gone.wait()
                finally:
                    loop.remove_reader(self.forked.pidfd)
            return await super().wait()
        finally:
            if self.forked is not None and self.process is None:
                self.forked.close()

    async def cleanup(self, restart: bool = False) -> None:
        if self.forked is not None:
            self.forked.close()
        await super().cleanup(restart=restart)
