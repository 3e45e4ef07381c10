"""Writing output files safely and fingerprinting input files.

Reports are written under a temporary name in the target folder and renamed into place, so a
reader (or a failed run) never sees a half-written file where a good one was.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

from ivig_kit.errors import InputError


def new_file_mode() -> int:
    """The mode a new file gets under the current umask (``mkstemp`` alone would make it private)."""
    with contextlib.suppress(OSError):
        found = re.search(r"^Umask:\s*([0-7]+)", Path("/proc/self/status").read_text(), flags=re.MULTILINE)
        if found:
            return 0o666 & ~int(found.group(1), 8)
    return 0o644


def partial_path(folder: Path | str, name: str) -> Path:
    """A fresh, unique temporary file in ``folder`` for content that will be renamed to ``name``.

    The name starts with a dot and carries ``.partial`` so a later run can recognise and remove it.
    """
    stem, extension = os.path.splitext(name)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=f".partial{extension}")
    os.fchmod(handle, new_file_mode())
    os.close(handle)
    return Path(partial)


def check_output_path(path: Path | str, inputs=()) -> Path:
    """Refuse an output path that is one of ``inputs``, a symlink, or anything but a regular file or a new path.

    Raises :class:`~ivig_kit.errors.InputError` naming the path and why; returns it as a ``Path``.
    A folder that does not exist yet is fine (the caller creates it).
    """
    path = Path(path)
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(status.st_mode):
        raise InputError(
            f"{path}: is a symbolic link; refusing to replace it (write to a new file or the link's target itself)"
        )
    if not stat.S_ISREG(status.st_mode):
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file (a device, pipe or socket)"
        raise InputError(f"{path}: is {kind}; refusing to write over it, expected a file name")
    for source in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, source):
                raise InputError(
                    f"{path}: is the input file {source}; refusing to overwrite an input, choose another output name"
                )
    return path


@contextlib.contextmanager
def atomic_output(path: Path | str):
    """Yield a unique temporary path beside ``path``; on success it is fsynced and renamed over ``path``.

    On any failure (including Ctrl-C) the temporary file is removed and ``path`` is untouched. A
    ``path`` that is (or has become) a symlink or not a regular file is never replaced.
    """
    path = Path(path)
    check_output_path(path)
    sweep_stale_partials(path)
    while True:  # locked while it is written, so that another run can tell it from a dead run's leftover
        partial = partial_path(path.parent, path.name)
        lock = os.open(partial, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.fstat(lock).st_nlink:
            break
        os.close(lock)  # removed by another run's sweep before it was locked: make another
    try:
        yield partial
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        check_output_path(path)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    finally:
        os.close(lock)


def sweep_stale_partials(path: Path | str) -> list[Path]:
    """Remove the partial files of ``path`` (``.<stem>.<random>.partial<ext>`` beside it) that no running
    process holds: what a killed run (SIGKILL, power loss) of ``ivig-kit tis --out path`` left behind."""
    path = Path(path)
    stem, extension = os.path.splitext(path.name)
    removed = []
    with contextlib.suppress(OSError):
        for candidate in path.parent.glob(f".{glob.escape(stem)}.*.partial{glob.escape(extension)}"):
            try:
                handle = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if stat.S_ISREG(os.fstat(handle).st_mode):
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by a live writer: BlockingIOError
                    os.unlink(candidate)
                    removed.append(candidate)
            except OSError:
                pass
            finally:
                os.close(handle)
    return removed


def write_atomically(path: Path | str, content: str | bytes) -> Path:
    """Write to a temporary name in the same folder, then rename over ``path`` (never a half-written file)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_output(path) as partial:
        partial.write_bytes(data)
    return Path(path)


def write_all_or_none(folder: Path | str, contents: dict[str, bytes]) -> None:
    """Write several files of ``folder`` together: every one to a temporary name first (where a full disk or an
    I/O error shows), then each renamed into place in the given order; on a failure before the renames nothing
    is replaced and every temporary file is removed."""
    folder = Path(folder)
    partials = {}
    try:
        for name, data in contents.items():
            check_output_path(folder / name)
            partial = partials[name] = partial_path(folder, name)
            with open(partial, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for name, partial in partials.items():
            check_output_path(folder / name)
            os.replace(partial, folder / name)
    finally:
        for partial in partials.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, for provenance."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
