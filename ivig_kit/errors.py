"""Every exception type of the kit.

:class:`InputError` is the base of every mistake in user input (a table, a parameter, a count, an
option): the command line prints its message without a traceback and exits with status 2. Errors
of the kit's own machinery (a kernel that will not start) are not input errors.
"""

import contextlib
import signal
import threading
from typing import Any


class InputError(ValueError):
    """A user's input the kit cannot use; its message is for people, so the CLI prints it without a traceback."""


class VisitTableError(InputError):
    """A visit table that cannot be used; ``str()`` is one located line per problem."""


class ReportParameterError(InputError):
    """A report parameter that cannot be used; one line per problem."""


class AdverseEventTableError(InputError):
    """An adverse-event table that cannot be used."""


class ReportSetupError(InputError):
    """The batch cannot start (bad data, unknown site, unusable notebook); said in one line per problem."""


class LedgerError(ReportSetupError):
    """An output folder's ledger (``index.json``) that is not what the kit wrote: located, nothing run or rewritten."""


class ConfigFileError(InputError):
    """A parameters or mapping file (YAML/CSV) that cannot be used: over a size or node budget, an alias, a
    duplicate key, a value of the wrong type; one located line per problem."""


class KernelStartError(RuntimeError):
    """The kernel did not start or did not answer in time (ports taken, died early, timed out)."""


class BatchWriteError(OSError):
    """The output folder could not be written (disk full, I/O error) while a batch ran: the batch stopped, each
    site's files are all there or none, and ``result`` (a ``BatchResult``) says which sites finished."""

    def __init__(self, folder, error: OSError, finished: int, total: int, index_written: bool):
        reason = error.strerror or str(error)
        index = "the index marks the others" if index_written else "no index could be written either"
        super().__init__(
            error.errno, f"could not write to {folder}: {reason}; {finished} of {total} site(s) finished, {index}"
        )
        self.result: Any = None  # the BatchResult of what finished, set by the batch

    def __str__(self) -> str:
        return self.strerror or ""


class SummaryError(RuntimeError):
    """The notebook ran but its JSON summary is missing or is not about the site it was run for."""


class UnknownFactError(InputError, KeyError):
    """No published fact, trial or exercise of that name (a ``KeyError`` too, for lookups)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM stopped a command; ``signum`` says which, ``result`` holds what a report
    batch finished before it stopped (``None`` if nothing ran).

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` on the way turns a stop
    into an error message or a failed site."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.result: Any = None  # the BatchResult of what finished, set by the batch

    @staticmethod
    @contextlib.contextmanager
    def on_signals():
        """While active (in the main thread), the first SIGINT or SIGTERM raises :class:`Interrupted` and later
        ones are ignored, so the clean-up runs undisturbed; the previous handlers come back after."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum, frame):
            for other in (signal.SIGINT, signal.SIGTERM):
                signal.signal(other, signal.SIG_IGN)
            raise Interrupted(signum)

        previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
