"""Checking a dask.distributed scheduler address before a batch hands it any patient rows.

``--scheduler`` sends every site's rows (and the notebook) to the cluster at that address: over ``tcp://`` in
plain text, over ``tls://`` encrypted and authenticated with the certificates of dask's configuration
(``distributed.comm.tls``). The cluster must be one the registry's data may go to.

dask's own client waits as long as the other end keeps the connection open without answering (a silent
socket), and some answers (a dashboard's HTTP, junk bytes) end in a traceback; so the batch first makes one
connection and reads the scheduler's handshake within :data:`HANDSHAKE_S` seconds, and anything else ends
in the same one-line :class:`~ivig_kit.errors.ReportSetupError`.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from ivig_kit.errors import ReportSetupError

#: Longest the scheduler may take to connect and send its handshake.
HANDSHAKE_S = 10.0


async def _handshake(address: str, timeout: float) -> dict:
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
    try:
        return dict(comm.remote_info)
    finally:
        comm.abort()


def _probe(address: str, timeout: float) -> dict:
    quiet = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_handshake(address, timeout))
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)


def check_scheduler(address: str, timeout: float | None = None) -> None:
    """Raise :class:`ReportSetupError` unless a dask scheduler at ``address`` completes its handshake within
    ``timeout`` seconds; the message is the same whatever answered (nothing, HTTP, junk)."""
    timeout = HANDSHAKE_S if timeout is None else timeout
    message = (
        f"cannot use the dask scheduler at {address!r}: no dask scheduler completed a handshake there "
        f"within {timeout:g} s; give the scheduler's own address (tcp://host:8786, or tls://host:8786 "
        f"with certificates), not its dashboard"
    )
    outcome: dict = {}

    def probe() -> None:
        try:
            outcome["info"] = _probe(address, timeout)
        except BaseException as error:
            outcome["error"] = error

    # its own event loop in a daemon thread, whatever the caller runs; a hung connection never holds the exit
    thread = threading.Thread(target=probe, name="ivig-kit-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    info = outcome.get("info")
    if not isinstance(info, dict):
        raise ReportSetupError(message)
    if "python" not in info or "pickle-protocol" not in info:  # a dask peer, but not one that says what it runs
        raise ReportSetupError(message)
