"""The schema of a batch's ledger (``index.json``), checked every time it is read: the ledger is input too.

A ledger is what a previous batch wrote, but anybody who can write to the folder can edit it, so nothing
in it is trusted: a row's file names become links in ``index.html`` and paths that ``--pdf`` reads and
writes. Every row is checked against this schema before anything runs; any problem is a located
:class:`~ivig_kit.errors.LedgerError` (exit 2, nothing run or rewritten).

.. code-block:: text

    {"kind": "ivig-kit report index", "format": 2, "updated_at": str, "latest_run": {...}, "sites": [row, ...]}

    row = {"site": str (1-1000 characters, each site once),
           "slug": str, exactly tasks.site_slug(site) (e.g. "zurich-4251685e"),
           "status": "ok" | "failed" | "interrupted",
           "seconds": number >= 0 (finite), "attempts": whole number >= 0,
           "files": {"html": "<slug>.html", "notebook": "<slug>.ipynb", "summary": "<slug>.json",
                     "failed_notebook": "<slug>.failed.ipynb", ["pdf": "<slug>.pdf"]},
           "summary": null | {str: JSON value} (shown escaped),
           "error": null | {"kind": str, "ename": str, "evalue": str, "cell_index": int | null, ...},
           "reused": bool, "made_at": str,
           "made_with": {"population": str, "min_cell_size": int, "parameters": {str: scalar},
                         "input_hash": 64 hex digits or ""}}

File names are the kit's own plain names of the row's site (no folder, no ``..``, no scheme), so a link or a
path made from them can only point at a file of that site inside the output folder.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from ivig_kit.errors import LedgerError
from ivig_kit.reports.runner.tasks import site_slug

LEDGER_KIND = "ivig-kit report index"
LEDGER_FORMAT = 2
#: A ledger larger than this is refused before it is parsed (about 30,000 sites' rows).
LEDGER_MAX_BYTES = 32 * 1024 * 1024
#: The kit's own file of each kind, after the site's slug.
OWN_SUFFIXES = {
    "html": ".html",
    "notebook": ".ipynb",
    "summary": ".json",
    "failed_notebook": ".failed.ipynb",
    "pdf": ".pdf",
}
REQUIRED_FILES = ("html", "notebook", "summary", "failed_notebook")
STATUSES = ("ok", "failed", "interrupted")
ROW_KEYS = {
    "site",
    "slug",
    "status",
    "seconds",
    "attempts",
    "files",
    "summary",
    "error",
    "outputs",
    "reused",
    "made_with",
    "made_at",
}
MAX_TEXT = 20_000
_SHOWN = 60
_MAX_PROBLEMS = 10


def own_file_name(slug: str, kind: str) -> str:
    """The kit's own plain file name of ``kind`` (``html``, ``pdf``...) for a site's slug."""
    return slug + OWN_SUFFIXES[kind]


def site_files(slug: str) -> list[str]:
    """Every file name the batch may write for a site (its report, notebook, summary, failed notebook, PDF)."""
    return [own_file_name(slug, kind) for kind in OWN_SUFFIXES]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "...'"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value, limit: int = MAX_TEXT) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _scalar(value) -> bool:
    return value is None or isinstance(value, bool) or _number(value) or _text(value)


def check_row(row, where: str) -> list[str]:
    """Every problem of one ledger row, each located (``sites[3] ('North'), key 'files.html': ...``)."""
    if not isinstance(row, dict):
        return [f"{where}: expected an object (a site's row), got {type(row).__name__}"]
    site = row.get("site")
    if not isinstance(site, str) or not 0 < len(site) <= 1000:
        return [f"{where}, key 'site': expected the site's name (text of 1-1000 characters), got {_short(site)}"]
    where = f"{where} ({_short(site)})"
    problems = []

    def bad(key, expected, value):
        problems.append(f"{where}, key {key!r}: expected {expected}, got {_short(value)}")

    unknown = sorted(str(k) for k in set(row) - ROW_KEYS)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(map(_short, unknown[:5]))}")
    slug = site_slug(site)
    if row.get("slug") != slug:
        bad("slug", f"{slug!r} (the kit's name for this site)", row.get("slug"))
    if row.get("status") not in STATUSES:
        bad("status", " or ".join(STATUSES), row.get("status"))
    if not (_number(row.get("seconds")) and row["seconds"] >= 0):
        bad("seconds", "a number >= 0", row.get("seconds"))
    if not (_whole(row.get("attempts")) and row["attempts"] >= 0):
        bad("attempts", "a whole number >= 0", row.get("attempts"))
    files = row.get("files")
    if not isinstance(files, dict):
        bad("files", "an object of the site's file names", files)
    else:
        for kind in sorted(set(files) | set(REQUIRED_FILES), key=str):
            if kind not in OWN_SUFFIXES:
                bad(f"files.{kind}", f"one of {', '.join(OWN_SUFFIXES)}", kind)
            elif kind not in files:
                bad(f"files.{kind}", repr(own_file_name(slug, kind)), None)
            elif files[kind] != own_file_name(slug, kind):
                bad(
                    f"files.{kind}",
                    f"{own_file_name(slug, kind)!r} (the kit's own file name, in the folder)",
                    files[kind],
                )
    summary = row.get("summary")
    if summary is not None and (not isinstance(summary, dict) or not all(isinstance(k, str) for k in summary)):
        bad("summary", "null or an object", summary)
    error = row.get("error")
    if error is not None:
        if not isinstance(error, dict):
            bad("error", "null or an object (kind, ename, evalue, cell_index)", error)
        else:
            for key in ("kind", "ename", "evalue"):
                if not _text(error.get(key), MAX_TEXT if key != "evalue" else LEDGER_MAX_BYTES):
                    bad(f"error.{key}", "text", error.get(key))
            for key in ("cell_index", "exec_count"):
                if error.get(key) is not None and not _whole(error.get(key)):
                    bad(f"error.{key}", "a whole number or null", error.get(key))
    if row.get("outputs") is not None:
        bad("outputs", "null (outputs are never stored)", row.get("outputs"))
    if not isinstance(row.get("reused"), bool):
        bad("reused", "true or false", row.get("reused"))
    if not _text(row.get("made_at"), 64):
        bad("made_at", "a time stamp (text)", row.get("made_at"))
    made = row.get("made_with")
    if not isinstance(made, dict):
        bad("made_with", "an object", made)
    elif made:
        if not _text(made.get("population"), 100):
            bad("made_with.population", "text", made.get("population"))
        if not _whole(made.get("min_cell_size")):
            bad("made_with.min_cell_size", "a whole number", made.get("min_cell_size"))
        parameters = made.get("parameters")
        if not isinstance(parameters, dict) or not all(
            isinstance(k, str) and _scalar(v) for k, v in parameters.items()
        ):
            bad("made_with.parameters", "an object of parameter names and values", parameters)
        digest = made.get("input_hash")
        if not (
            isinstance(digest, str)
            and (digest == "" or (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)))
        ):
            bad("made_with.input_hash", "64 hexadecimal digits", digest)
    return problems


def check_record(record, name: str = "index.json") -> dict[str, dict]:
    """The rows of a parsed ledger by site, or a :class:`LedgerError` naming every problem (at most ten)."""
    if not isinstance(record, dict):
        raise LedgerError(f"{name}: expected an object with kind {LEDGER_KIND!r}, got {type(record).__name__}")
    problems = []
    if record.get("kind") == LEDGER_KIND and record.get("format") != LEDGER_FORMAT:
        problems.append(f"{name}, key 'format': expected {LEDGER_FORMAT}, got {_short(record.get('format'))}")
    rows = record.get("sites")
    if isinstance(rows, dict) and "kind" not in record:  # the first ledgers kept rows by site
        rows = list(rows.values())
    if not isinstance(rows, list):
        raise LedgerError(f"{name}, key 'sites': expected a list of site rows, got {_short(rows)}; {_WAY_OUT}")
    by_site: dict[str, dict] = {}
    for number, row in enumerate(rows):
        where = f"{name}: sites[{number}]"
        found = check_row(row, where)
        if not found and row["site"] in by_site:
            found = [f"{where}: site {_short(row['site'])} has a row already"]
        problems += found
        if not found:
            by_site[row["site"]] = row
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        if len(problems) > _MAX_PROBLEMS:
            shown.append(f"{name}: ... and {len(problems) - _MAX_PROBLEMS} more problems")
        raise LedgerError("\n".join(shown + [f"{name}: not the ledger ivig-kit wrote; {_WAY_OUT}"]))
    return by_site


_WAY_OUT = (
    "nothing was run or rewritten: restore index.json, or move it (and index.html) away to start a new "
    "ledger in this folder"
)


def read_record(path: Path):
    """The parsed ledger at ``path`` (``None`` if there is none), read without following a symbolic link and
    only if it is a regular file under :data:`LEDGER_MAX_BYTES`; ``ValueError`` if it is not JSON."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        if os.path.islink(path):
            raise LedgerError(
                f"{path.parent.name}/{path.name}: is a symbolic link; the kit neither follows nor "
                f"replaces it: remove it, or choose another --out"
            ) from None
        raise LedgerError(f"{path.parent.name}/{path.name}: cannot be read ({error.strerror})") from None
    with os.fdopen(handle, "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise LedgerError(
                f"{path.parent.name}/{path.name}: is not a regular file (a folder, device or pipe); "
                f"remove it, or choose another --out"
            )
        if status.st_size > LEDGER_MAX_BYTES:
            raise LedgerError(
                f"{path.parent.name}/{path.name}: {status.st_size:,} bytes, over the ledger's limit of "
                f"{LEDGER_MAX_BYTES:,}; {_WAY_OUT}"
            )
        data = stream.read(LEDGER_MAX_BYTES + 1)
    return json.loads(data.decode("utf-8"))  # NaN is allowed: a summary's figure may be undefined
