"""Writing output files safely and fingerprinting input files.

Reports are written under a temporary name in the target folder and renamed into place, so a
reader (or a failed run) never sees a half-written file where a good one was.
"""

from __future__ import annotations

import contextlib
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
        raise InputError(f"{path}: is a symbolic link; refusing to replace it (write to a new file or the link's "
                         f"target itself)")
    if not stat.S_ISREG(status.st_mode):
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file (a device, pipe or socket)"
        raise InputError(f"{path}: is {kind}; refusing to write over it, expected a file name")
    for source in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, source):
                raise InputError(f"{path}: is the input file {source}; refusing to overwrite an input, "
                                 f"choose another output name")
    return path


@contextlib.contextmanager
def atomic_output(path: Path | str):
    """Yield a unique temporary path beside ``path``; on success it is fsynced and renamed over ``path``.

    On any failure (including Ctrl-C) the temporary file is removed and ``path`` is untouched. A
    ``path`` that is (or has become) a symlink or not a regular file is never replaced.
    """
    path = Path(path)
    check_output_path(path)
    partial = partial_path(path.parent, path.name)
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


def write_atomically(path: Path | str, content: str | bytes) -> Path:
    """Write to a temporary name in the same folder, then rename over ``path`` (never a half-written file)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_output(path) as partial:
        partial.write_bytes(data)
    return Path(path)


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, for provenance."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
