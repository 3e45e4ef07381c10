"""The output folder of a batch: one batch at a time (a lock), its ledger (``index.json``), and the clean-up of
what an earlier, killed batch left behind.

- **Lock**: ``DIR/.ivig-kit.lock`` is held with ``fcntl.flock`` for the whole batch; a second batch into the
  same folder fails at once. The operating system releases the lock when the holder dies, even on SIGKILL.
- **Ledger**: ``index.json`` is the source of truth of the folder: one row per site ever reported there,
  each with what it was made with (population, parameters, the hash of its inputs). A run on some sites
  updates their rows and keeps the others; ``index.html`` is drawn from the ledger.
- **Ownership**: a folder the kit did not make (an ``index.html`` without the kit's ``index.json``) is refused.
- **Stale files**: partial files (``.<name>.<random>.partial.<ext>``, see :func:`ivig_kit.files.partial_path`)
  in a locked folder can only be left by a dead batch, and are removed; temporary folders of the kit carry
  an owner file (pid and start time of the process that made them) and are removed when that process is gone.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from ivig_kit.errors import LedgerError, ReportSetupError
from ivig_kit.files import write_atomically
from ivig_kit.reports.runner.ledger_schema import LEDGER_FORMAT, LEDGER_KIND, check_record, read_record

LOCK_NAME = ".ivig-kit.lock"
OWNER_FILE = ".ivig-kit-owner"
TEMP_PREFIX = "ivig-kit-"
_PARTIAL = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.partial(\.[A-Za-z0-9]+)?$")


# --- One batch per folder -----------------------------------------------------------------------------------


@contextlib.contextmanager
def batch_lock(out_dir: Path):
    """Hold ``out_dir/.ivig-kit.lock`` for the duration; raise :class:`ReportSetupError` if another batch has it."""
    path = Path(out_dir) / LOCK_NAME
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ReportSetupError(f"{path}: is a symbolic link; the kit does not follow it") from None
        raise ReportSetupError(f"{path}: cannot create the batch's lock file ({error.strerror})") from None
    try:
        _lock(handle, out_dir)
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode("ascii"), 0)
        yield path
    finally:
        os.close(handle)  # releases the lock


def check_output_folder(out_dir: Path) -> None:
    """Raise :class:`ReportSetupError` now, in the kit's words, if ``out_dir`` is not a folder or cannot be
    created (an ancestor that is a file, a read-only or unwritable parent), before the registry is read."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink():
        raise ReportSetupError(f"{out_dir}: is a symbolic link; give the folder itself as --out")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ReportSetupError(f"{out_dir}: exists and is not a folder; choose a folder for --out")
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ReportSetupError(
                f"{out_dir}: the output folder is not writable (read-only or no permission); choose another --out"
            )
        return
    parent = out_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportSetupError(f"{out_dir}: cannot create the output folder: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportSetupError(
            f"{out_dir}: cannot create the output folder: {parent} is not writable (read-only "
            f"or no permission); choose another --out"
        )


def refuse_inputs_among_outputs(out_dir: Path, inputs, names) -> None:
    """Raise :class:`ReportSetupError` if an input (the notebook, the data, the parameters) is one of the files
    the batch would write in ``out_dir`` (``names``), so that a batch never overwrites its own input."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    for source in filter(None, inputs):
        for name in names:
            with contextlib.suppress(OSError):
                if os.path.samefile(source, out_dir / name):
                    raise ReportSetupError(
                        f"{source}: is the batch's own output {out_dir.name}/{name}; an input is "
                        f"never overwritten: copy it out of --out (or rename it) first"
                    )


def refuse_if_locked(out_dir: Path) -> None:
    """Raise :class:`ReportSetupError` now if another batch holds ``out_dir``'s lock, before the registry is read
    (:func:`batch_lock` still takes the lock itself when the batch starts)."""
    try:
        handle = os.open(Path(out_dir) / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # no lock file (or one batch_lock will refuse with its own message)
    try:
        _lock(handle, out_dir)
    finally:
        os.close(handle)


def _lock(handle: int, out_dir: Path) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(handle, 64, 0).decode("ascii", "replace").strip() or "unknown"
        raise ReportSetupError(
            f"{Path(out_dir).name}: another ivig-kit reports batch (process {holder}) is writing to this "
            f"folder; wait for it to finish or choose another --out"
        ) from None


# --- Temporary folders the kit can prove are its own --------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or ``None`` if there is no such process.

    A zombie (dead, not yet reaped by its parent or by init) counts as no process: it holds nothing.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def owned_tempdir(kind: str) -> str:
    """A fresh private temporary folder with an owner file naming this process (pid and start time)."""
    folder = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{kind}-")
    Path(folder, OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n", encoding="ascii")
    return folder


def owner_is_gone(folder: Path, mine_too: bool = False) -> bool:
    """True when ``folder`` has the kit's owner file and the process it names no longer exists (or, with
    ``mine_too``, is this process)."""
    try:
        pid, started = Path(folder, OWNER_FILE).read_text(encoding="ascii").split()
        if mine_too and int(pid) == os.getpid() and _start_time(os.getpid()) == started:
            return True
        return _start_time(int(pid)) != started
    except (OSError, ValueError):
        return False  # not provably ours: leave it


def sweep_stale_tempdirs(root: str | None = None, mine_too: bool = False) -> list[Path]:
    """Remove the kit's temporary folders whose owner process is gone (and, with ``mine_too``, this process's
    own, once everything it started is stopped); return what was removed."""
    removed = []
    folder_root = Path(root or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for folder in folder_root.iterdir():
            if (
                folder.name.startswith(TEMP_PREFIX)
                and not folder.is_symlink()
                and folder.is_dir()
                and owner_is_gone(folder, mine_too)
            ):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def sweep_partial_files(out_dir: Path) -> list[Path]:
    """Remove partial files left in ``out_dir`` by a batch that died (call only while holding the lock)."""
    removed = []
    for path in Path(out_dir).iterdir():
        if _PARTIAL.match(path.name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def partial_files(out_dir: Path) -> list[Path]:
    """The partial files in ``out_dir`` (for tests and checks)."""
    return [p for p in Path(out_dir).iterdir() if _PARTIAL.match(p.name)]


# --- The ledger ---------------------------------------------------------------------------------------------


def read_ledger(out_dir: Path, force: bool = False) -> dict:
    """The folder's ledger: ``{"sites": {site: row}}``, every row checked against the schema of
    :mod:`.ledger_schema`; empty for a new folder.

    Raises :class:`LedgerError` (nothing run, nothing rewritten) for a ledger that is a symbolic link, not a
    regular file, too large, or whose rows break the schema; and :class:`ReportSetupError` for a folder holding
    an ``index.html`` or ``index.json`` the kit did not write (unless ``force``), so a batch never overwrites
    somebody else's page.
    """
    out_dir = Path(out_dir)
    index_json, index_html = out_dir / "index.json", out_dir / "index.html"
    if index_html.is_symlink():
        raise LedgerError(
            f"{out_dir.name}/index.html: is a symbolic link; the kit neither follows nor replaces it: "
            f"remove it, or choose another --out"
        )
    try:
        record = read_record(index_json)
    except LedgerError:
        raise
    except (ValueError, RecursionError):  # not JSON (or not UTF-8): not a ledger of the kit
        record = "not JSON"
    ours = isinstance(record, dict) and (
        record.get("kind") == LEDGER_KIND or ("kind" not in record and {"data_sha256", "sites"} <= set(record))
    )
    if not ours:
        if record is not None and not force:
            raise ReportSetupError(
                f"{out_dir.name}: holds an index.json that is not a ledger of ivig-kit (kind {LEDGER_KIND!r}); "
                f"choose an empty folder for --out, or pass --force to replace it"
            )
        if index_html.exists() and record is None and not force:
            raise ReportSetupError(
                f"{out_dir.name}: holds an index.html that ivig-kit did not write (no index.json of the kit "
                f"beside it); choose an empty folder for --out, or pass --force to replace it"
            )
        return {"sites": {}}
    return {"sites": check_record(record)}


def write_ledger(out_dir: Path, rows: list[dict], run: dict) -> Path:
    """Write ``index.json``: every site's row (in the given order) and the facts of the latest run."""
    record = {
        "kind": LEDGER_KIND,
        "format": LEDGER_FORMAT,
        "updated_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "latest_run": run,
        "sites": rows,
    }
    path = Path(out_dir) / "index.json"
    write_atomically(path, json.dumps(record, indent=1, default=str, ensure_ascii=False))
    return path
