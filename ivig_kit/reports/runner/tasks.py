"""What the batch runs and what it gets back: one site's task and result, a batch, safe file names."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from ivig_kit.reports.content.parameters import MIN_CELL_SIZE

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
    """Everything a worker needs to report on one site, carried as bytes: no shared file system needed.

    The worker writes the notebook, the site's slice and the pooled summary into a private temporary
    folder, runs the notebook there and sends the outputs back (:attr:`SiteResult.outputs`); only the
    batch's parent writes into the output folder.
    """

    site: str
    slug: str
    notebook_name: str
    notebook: bytes
    visits_slice: bytes  # this site's validated visits (Parquet)
    events_slice: bytes  # this site's adverse events (Parquet), b"" when no table was supplied
    pooled_summary: bytes  # JSON from ivig_kit.reports.content.site.pooled_summary
    population: str = "adult"
    min_cell_size: int = MIN_CELL_SIZE
    extra_parameters: tuple = ()  # (name, value) pairs from --params for parameters the runner does not set
    cell_timeout_s: float = CELL_TIMEOUT_S
    input_hash: str = ""

    def input_files(self) -> dict[str, str]:
        """Names of the inputs in the worker's folder (fixed names: provenance never shows a temporary name)."""
        return {
            "visits": f"{self.slug}.visits.parquet",
            "events": f"{self.slug}.adverse_events.parquet",
            "pooled": f"{self.slug}.pooled.json",
        }

    def parameters(self, summary_name: str) -> dict:
        """The values papermill injects: file names relative to the kernel's working folder, which holds them
        (so the executed notebook shows no local or temporary folder)."""
        names = self.input_files()
        values = {
            "site": self.site,
            "data_path": names["visits"],
            "adverse_events_path": names["events"] if self.events_slice else "",
            "pooled_summary_path": names["pooled"],
            "population": self.population,
            "min_cell_size": self.min_cell_size,
            "summary_path": summary_name,
        }
        values.update(dict(self.extra_parameters))
        return values

    def files(self) -> dict[str, str]:
        """Output file names (relative to the output folder)."""
        return {
            "html": f"{self.slug}.html",
            "notebook": f"{self.slug}.ipynb",
            "summary": f"{self.slug}.json",
            "failed_notebook": f"{self.slug}.failed.ipynb",
        }

    def made_with(self) -> dict:
        """What the report depends on besides the kit and the notebook, for the index's ledger."""
        return {
            "population": self.population,
            "min_cell_size": self.min_cell_size,
            "parameters": dict(self.extra_parameters),
            "input_hash": self.input_hash,
        }


@dataclasses.dataclass
class SiteResult:
    """How one site went: status ``ok``, ``failed`` or ``interrupted``, its summary, or the error that stopped it."""

    site: str
    slug: str
    status: str
    seconds: float
    attempts: int
    files: dict
    summary: dict | None = None
    error: dict | None = None  # kind (cell | kernel-start | runner | interrupted), ename, evalue, cell_index
    outputs: dict | None = None  # file key -> bytes, sent back by the worker; never stored in the index
    reused: bool = False  # an earlier report made from the same inputs was kept
    made_with: dict = dataclasses.field(default_factory=dict)
    made_at: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def error_line(self) -> str:
        if not self.error:
            return ""
        where = f" (cell {self.error['cell_index']})" if self.error.get("cell_index") is not None else ""
        return f"{self.error['ename']}: {self.error['evalue']}{where}".strip()

    def record(self) -> dict:
        """The row of the index's ledger (JSON-ready, without the output bytes)."""
        row = dataclasses.asdict(dataclasses.replace(self, outputs=None))
        del row["outputs"]
        return row

    @classmethod
    def from_record(cls, row: dict) -> SiteResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in fields})


# --- The batch --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReportBatch:
    """A validated batch: what to run, where, and on which data (file names and checksums, no paths shown)."""

    data_path: Path
    out_dir: Path
    notebook: Path
    tasks: list[SiteTask]
    all_sites: list[str]
    adverse_events_path: Path | None
    population: str
    data_sha256: str
    min_cell_size: int = MIN_CELL_SIZE
    adverse_events_sha256: str = ""
    notebook_sha256: str = ""
    force: bool = False
    with_inputs: Callable[[list[SiteTask]], list[SiteTask]] | None = None  # tasks -> the same tasks with their
    # slices and pooled summaries as bytes (built only for the sites that run)
    registry_state: dict = dataclasses.field(default_factory=dict)  # aggregates and history for the registry report


@dataclasses.dataclass
class BatchResult:
    results: list[SiteResult]
    index_path: Path | None
    seconds: float
    interrupted: int = 0  # the signal that stopped the batch, 0 when it ran to the end

    @property
    def failed(self) -> list[SiteResult]:
        return [r for r in self.results if not r.ok]

    @property
    def reused(self) -> list[SiteResult]:
        return [r for r in self.results if r.reused]
