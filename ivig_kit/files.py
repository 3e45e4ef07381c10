"""Writing output files safely and fingerprinting input files.

Reports are written under a temporary name in the target folder and renamed into place, so a
reader (or a failed run) never sees a half-written file where a good one was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path


def new_file_mode() -> int:
    """The mode a new file gets under the current umask (``mkstemp`` alone would make it private)."""
    with contextlib.suppress(OSError):
        found = re.search(r"^Umask:\s*([0-7]+)", Path("/proc/self/status").read_text(), flags=re.MULTILINE)
        if found:
            return 0o666 & ~int(found.group(1), 8)
    return 0o644


def write_atomically(path: Path | str, content: str | bytes) -> Path:
    """Write to a temporary name in the same folder, then rename over ``path`` (never a half-written file)."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        os.fchmod(handle, new_file_mode())
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return path


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, for provenance."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
