"""Hand-outs: one zip per site holding only what that site may see.

The output folder of a batch is the coordinating centre's view: its index lists every site's patients and
outcomes, small sites included. Sharing that folder hands every site the others' figures. ``ivig-kit reports
... --handout DIR`` writes ``DIR/<slug>.zip`` per site instead: its report (HTML, and PDF when there is
one), its executed notebook and its JSON summary, and a note saying what the zip is; never the index or
another site's file.
"""

from __future__ import annotations

import datetime
import os
import stat
import zipfile
from pathlib import Path

from ivig_kit.errors import ReportSetupError
from ivig_kit.files import atomic_output
from ivig_kit.reports.runner.file_names import is_own_file_name
from ivig_kit.reports.runner.tasks import SiteResult

#: What a site's hand-out holds, in this order (a key missing from the site's files is skipped).
HANDOUT_FILES = ("html", "pdf", "notebook", "summary")


def check_handout_folder(handout_dir: Path, out_dir: Path) -> Path:
    """``handout_dir`` as an absolute path; a :class:`ReportSetupError` if it is, or is inside, the output folder
    (a hand-out must not be shared along with the coordinator's view) or is not a folder."""
    handout_dir, out_dir = Path(handout_dir).absolute(), Path(out_dir).absolute()
    if handout_dir == out_dir or out_dir in handout_dir.parents or handout_dir in out_dir.parents:
        raise ReportSetupError(
            f"--handout {handout_dir}: must be a folder outside --out {out_dir} (the output "
            f"folder is the coordinator's view, not to be shared)"
        )
    if handout_dir.exists() and (handout_dir.is_symlink() or not handout_dir.is_dir()):
        raise ReportSetupError(f"--handout {handout_dir}: exists and is not a folder")
    return handout_dir


def _read_own(out_dir: Path, name: str) -> bytes | None:
    """The bytes of the kit's own file ``name`` in ``out_dir`` (a regular file, never through a link)."""
    if not is_own_file_name(name):
        return None
    try:
        handle = os.open(out_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        return stream.read()


def write_handouts(out_dir, results: list[SiteResult], handout_dir) -> list[Path]:
    """Write ``handout_dir/<slug>.zip`` for every finished site of ``results`` with only that site's files.

    Parameters
    ----------
    out_dir : path
        The batch's output folder (the files are read from there).
    results : list of SiteResult
        The sites of the run; those not ``ok`` get no hand-out.
    handout_dir : path
        Created if missing; must be outside ``out_dir``.

    Returns
    -------
    list of Path
        The zips written, in the order of ``results``.
    """
    out_dir = Path(out_dir)
    handout_dir = check_handout_folder(handout_dir, out_dir)
    handout_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        if not result.ok:
            continue
        members = [
            (result.files[key], data)
            for key in HANDOUT_FILES
            if result.files.get(key) and (data := _read_own(out_dir, result.files[key])) is not None
        ]
        if not any(name.endswith(".html") for name, _ in members):
            continue
        note = (
            f"Site report of {result.site}, made {result.made_at or 'by ivig-kit'}.\n"
            f"This archive holds only this site's own files: its report ({', '.join(n for n, _ in members)}).\n"
            f"It holds no other site's figures and not the coordinator's index.\n"
            f"Written {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M} by ivig-kit reports --handout.\n"
        )
        target = handout_dir / f"{result.slug}.zip"
        with atomic_output(target) as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{result.slug}/README.txt", note)
            for name, data in members:
                archive.writestr(f"{result.slug}/{name}", data)
        written.append(target)
    return written
