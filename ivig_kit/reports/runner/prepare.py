"""Preparing a batch: everything read, validated and scored once, in the parent, before any kernel starts.

The visit and adverse-event tables are validated (a bad one is an :class:`InputError`: one located
line per problem, exit 2), per-site parameters are read and checked against the notebook's declared
parameters, and each site's task gets a hash of its inputs so an unchanged site can be re-used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import unicodedata
from pathlib import Path

from ivig_kit import __version__
from ivig_kit.errors import ReportSetupError
from ivig_kit.files import file_sha256
from ivig_kit.reports.content.parameters import REPORT_PARAMETERS
from ivig_kit.reports.runner.kernels import _source, notebook_cells
from ivig_kit.reports.runner.ledger import read_ledger, refuse_if_locked
from ivig_kit.reports.runner.params_file import notebook_defaults, read_site_parameters
from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S, ReportBatch, SiteTask, site_slug
from ivig_kit.resources import notebook_path
from ivig_kit.score.measures import POPULATIONS

#: The report notebook `ivig-kit reports` runs unless told otherwise.
DEFAULT_NOTEBOOK = notebook_path("site_report.ipynb")
#: Sites with fewer patients are never shown with their own figures in another site's report.
DEFAULT_MIN_CELL_SIZE = 5


# --- Preparing a batch: everything read, validated and scored once ------------------------------------------


def default_adverse_events(data_path: Path) -> Path | None:
    """The adverse-event table that goes with a visit table, if there is one beside it:
    ``demo_registry.csv`` -> ``demo_adverse_events.csv`` (also ``*_visits`` -> ``*_adverse_events``)."""
    for word in ("registry", "visits"):
        if word in data_path.stem:
            candidate = data_path.with_name(data_path.stem.replace(word, "adverse_events") + ".csv")
            if candidate.is_file():
                return candidate
    return None


def _parquet_bytes(frame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def input_hash(visits, events, notebook: bytes, parameters: dict) -> str:
    """SHA-256 of what a site's report is made from: its rows (visits and adverse events, values and column
    types), its parameters, the notebook and the kit's version."""
    import pandas as pd

    digest = hashlib.sha256()
    for frame in (visits, events):
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(hashlib.sha256(notebook).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode("utf-8"))
    digest.update(__version__.encode("utf-8"))
    return digest.hexdigest()


def prepare_batch(data_path, out_dir, sites=None, notebook=None, population: str = "adult",
                  adverse_events_path="auto", min_cell_size: int = DEFAULT_MIN_CELL_SIZE, params_path=None,
                  force: bool = False, cell_timeout_s: float = CELL_TIMEOUT_S) -> ReportBatch:
    """Read, validate and score everything once, before any kernel starts; raise :class:`InputError` on bad input.

    ``adverse_events_path``: a path, ``""``/``None`` for none, or ``"auto"`` for the table beside the data
    (:func:`default_adverse_events`). ``params_path``: a per-site parameters file
    (:func:`ivig_kit.reports.runner.params_file.read_site_parameters`).
    """
    from ivig_kit.reports.content.site import (
        pooled_summary,
        read_adverse_events,
        registry_aggregates,
    )
    from ivig_kit.score.engine import total_improvement_score
    from ivig_kit.score.visits import read_visits

    data_path = Path(data_path).resolve()
    if population not in POPULATIONS:
        raise ReportSetupError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, int) or min_cell_size < 1:
        raise ReportSetupError(f"the minimum cell size must be a whole number >= 1, got {min_cell_size!r}")
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportSetupError(f"{out_dir.name}: exists and is not a folder")
    if out_dir.is_dir():
        refuse_if_locked(out_dir)  # another batch is writing there: say so before reading the registry
        read_ledger(out_dir, force=force)  # a folder the kit did not make is refused before anything runs

    notebook = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not notebook.is_file():
        raise ReportSetupError(f"{notebook.name}: report notebook not found")
    declared = notebook_parameters(notebook)
    missing = [name for name in REPORT_PARAMETERS if name not in declared]
    if missing:
        raise ReportSetupError(f"{notebook.name}: its 'parameters' cell lacks {', '.join(missing)}; a report "
                               f"notebook declares {', '.join(REPORT_PARAMETERS)}")

    visits = read_visits(data_path)  # VisitTableError (an InputError) names file, row and column
    known = list(dict.fromkeys(visits["site"]))
    if sites:
        sites = [unicodedata.normalize("NFC", str(s).strip()) for s in sites]
        unknown = [s for s in sites if s not in known]
        if unknown:
            shown = ", ".join(repr(s) for s in known[:20]) + (" ..." if len(known) > 20 else "")
            raise ReportSetupError(f"{data_path.name}: no site {', '.join(repr(s) for s in unknown)}; "
                                   f"the sites are {shown}")
        sites = list(dict.fromkeys(sites))
    else:
        sites = known

    if adverse_events_path == "auto":
        adverse_events = default_adverse_events(data_path)
    elif adverse_events_path:
        adverse_events = Path(adverse_events_path).resolve()
        if not adverse_events.is_file():
            raise ReportSetupError(f"{Path(adverse_events_path).name}: adverse-event table not found")
    else:
        adverse_events = None
    events = read_adverse_events(adverse_events) if adverse_events else None  # located error, exit 2

    per_site = (read_site_parameters(params_path, declared, known, notebook.name) if params_path else {})
    notebook_bytes = notebook.read_bytes()
    registry = {"data_file": data_path.name, "data_sha256": file_sha256(data_path),
                "adverse_events_file": adverse_events.name if adverse_events else "",
                "adverse_events_sha256": file_sha256(adverse_events) if adverse_events else ""}
    populations = {site: per_site.get(site, {}).get("population", population) for site in sites}
    no_events = events if events is not None else read_adverse_events_empty()
    by_site = dict(tuple(visits.groupby("site", sort=False)))
    events_by_site = dict(tuple(events.groupby("site", sort=False))) if events is not None else {}
    tasks = []
    for site in sites:
        extra = {k: v for k, v in per_site.get(site, {}).items() if k != "population"}
        parameters = {"population": populations[site], "min_cell_size": min_cell_size, **extra}
        site_events = events_by_site.get(site, no_events.iloc[:0]) if events is not None else None
        tasks.append(SiteTask(site=site, slug=site_slug(site), notebook_name=notebook.name, notebook=notebook_bytes,
                              visits_slice=b"", events_slice=b"", pooled_summary=b"", population=populations[site],
                              min_cell_size=min_cell_size, extra_parameters=tuple(sorted(extra.items())),
                              cell_timeout_s=cell_timeout_s,
                              input_hash=input_hash(by_site[site], site_events, notebook_bytes, parameters)))
    aggregates = {}

    def with_inputs(chosen: list[SiteTask]) -> list[SiteTask]:
        """The tasks with their slices and pooled summaries as bytes (built only for the sites that run)."""
        for used in dict.fromkeys(task.population for task in chosen):
            if used not in aggregates:
                scores = total_improvement_score(visits, population=used, validate=False)
                aggregates[used] = registry_aggregates(visits, scores, no_events, used, min_cell_size, registry)
        return [dataclasses.replace(
            task, visits_slice=_parquet_bytes(by_site[task.site]),
            events_slice=_parquet_bytes(events_by_site.get(task.site, no_events.iloc[:0])) if events is not None
            else b"",
            pooled_summary=json.dumps(pooled_summary(aggregates[task.population], task.site), ensure_ascii=False,
                                      allow_nan=False).encode("utf-8")) for task in chosen]

    return ReportBatch(data_path=data_path, out_dir=out_dir, notebook=notebook, tasks=tasks, all_sites=known,
                       adverse_events_path=adverse_events, population=population,
                       data_sha256=registry["data_sha256"], min_cell_size=min_cell_size,
                       adverse_events_sha256=registry["adverse_events_sha256"],
                       notebook_sha256=hashlib.sha256(notebook_bytes).hexdigest(), force=force,
                       with_inputs=with_inputs)


def read_adverse_events_empty():
    from ivig_kit.reports.content.site import _empty_adverse_events

    return _empty_adverse_events()


def notebook_parameters(notebook: Path) -> dict:
    """The names and literal defaults the notebook's ``parameters`` cell assigns (read with ``ast``: papermill's
    own reader gives up on a line whose comment holds a quote, although injection works)."""
    try:
        cells = notebook_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReportSetupError(f"{notebook.name}: not a readable notebook ({type(error).__name__}: {error})") from None
    tagged = [c for c in cells
              if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ReportSetupError(f"{notebook.name}: no code cell is tagged 'parameters'; a report notebook declares "
                               f"{', '.join(REPORT_PARAMETERS)} there")
    try:
        return notebook_defaults(_source(tagged[0]))
    except SyntaxError as error:
        raise ReportSetupError(f"{notebook.name}: the 'parameters' cell is not valid Python ({error.msg}, "
                               f"line {error.lineno})") from None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def capped_jobs(jobs: int) -> tuple[int, str]:
    """``jobs`` capped at the available CPUs, and a one-line note when it was."""
    cpus = available_cpus()
    if jobs > cpus:
        return cpus, f"--jobs {jobs} capped at {cpus}: the CPUs available to this process"
    return max(1, jobs), ""
