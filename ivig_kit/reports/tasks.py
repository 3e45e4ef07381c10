"""What the batch runs and what it gets back: one site's task and result, a batch, safe file names."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from pathlib import Path

from ivig_kit.reports.parameters import REPORT_PARAMETERS

#: Longest a single cell of a site's notebook may run before the site fails.
CELL_TIMEOUT_S = 600


# --- Names and files --------------------------------------------------------------------------------------


def site_slug(site: str) -> str:
    """A safe, unique file stem for a site: ASCII letters, digits and ``-`` plus a short hash of the exact name.

    Slashes, ``..``, spaces and accents cannot leave the output folder or clash: ``"Zürich"`` becomes
    ``zurich-<hash>``, and two names that simplify alike (``"A/B"``, ``"A B"``) keep different hashes.
    """
    ascii_name = unicodedata.normalize("NFKD", site).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "site"
    return f"{stem}-{hashlib.sha256(site.encode('utf-8')).hexdigest()[:8]}"


# --- One site ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SiteTask:
    """Everything a worker needs to report on one site (picklable, absolute paths)."""

    site: str
    slug: str
    notebook: str
    out_dir: str
    data_path: str
    adverse_events_path: str = ""
    population: str = "adult"
    cell_timeout_s: float = CELL_TIMEOUT_S

    def parameters(self, summary_path: Path) -> dict:
        values = {"site": self.site, "data_path": self.data_path, "adverse_events_path": self.adverse_events_path,
                  "population": self.population, "summary_path": str(summary_path)}
        return {name: values[name] for name in REPORT_PARAMETERS}

    def files(self) -> dict[str, str]:
        """Output file names (relative to the output folder)."""
        return {"html": f"{self.slug}.html", "notebook": f"{self.slug}.ipynb", "summary": f"{self.slug}.json",
                "failed_notebook": f"{self.slug}.failed.ipynb"}


@dataclasses.dataclass
class SiteResult:
    """How one site went: status ``ok`` or ``failed``, its summary, or the error that stopped it."""

    site: str
    slug: str
    status: str
    seconds: float
    attempts: int
    files: dict
    summary: dict | None = None
    error: dict | None = None  # kind (cell | kernel-start | runner), ename, evalue, cell_index

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def error_line(self) -> str:
        if not self.error:
            return ""
        where = f" (cell {self.error['cell_index']})" if self.error.get("cell_index") is not None else ""
        return f"{self.error['ename']}: {self.error['evalue']}{where}".strip()


# --- The batch --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReportBatch:
    """A validated batch: what to run, where, and on which data."""

    data_path: Path
    out_dir: Path
    notebook: Path
    tasks: list[SiteTask]
    all_sites: list[str]
    adverse_events_path: Path | None
    population: str
    data_sha256: str


@dataclasses.dataclass
class BatchResult:
    results: list[SiteResult]
    index_path: Path
    seconds: float

    @property
    def failed(self) -> list[SiteResult]:
        return [r for r in self.results if not r.ok]
