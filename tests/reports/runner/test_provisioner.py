"""The provisioner's view of a forked kernel: a process that is not our child, watched through a pidfd and
signalled by it, as jupyter_client's LocalProvisioner expects of a Popen."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import psutil
import pytest

from ivig_kit.reports.runner.provisioner import ForkedKernel


@pytest.fixture
def forked():
    """A stand-in kernel (a sleeping process) and its end of a connection."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours, theirs = socket.socketpair()
    kernel = ForkedKernel(process.pid, ours)
    yield kernel, process
    theirs.close()
    kernel.close()
    process.kill()
    process.wait()


def test_a_live_kernel_polls_none_and_a_wait_can_time_out(forked):
    kernel, _ = forked
    assert kernel.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        kernel.wait(timeout=0.1)


def test_signals_go_to_the_very_process_and_its_end_is_seen(forked):
    kernel, process = forked
    kernel.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == -signal.SIGTERM  # reaped here, as the zygote reaps a real kernel
    assert kernel.wait(timeout=10) == -signal.SIGKILL and kernel.poll() == -signal.SIGKILL  # status unknown
    kernel.kill()  # a kernel already gone is not signalled (no ProcessLookupError, no other process hit)


def test_close_closes_the_connection_and_the_pidfd_once(forked):
    kernel, _ = forked
    pidfd = kernel.pidfd
    kernel.close()
    kernel.close()
    assert kernel.link.fileno() == -1 and kernel.pidfd == -1
    assert pidfd not in [f.fd for f in psutil.Process().open_files()]
    assert kernel.poll() is None  # alive, and no select on a closed descriptor (which would raise)
