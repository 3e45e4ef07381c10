"""Preparing a batch: everything read, validated and scored once, in the parent, before any kernel starts.

The visit and adverse-event tables are validated (a bad one is an :class:`InputError`: one located
line per problem, exit 2), per-site parameters are read and checked against the notebook's declared
parameters, and each site's task gets a hash of its inputs so an unchanged site can be re-used.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import io
import json
import unicodedata
from pathlib import Path
from typing import cast

from ivig_kit import __version__
from ivig_kit.config_files import check_regular_file
from ivig_kit.errors import ReportSetupError
from ivig_kit.reports.content.parameters import MIN_CELL_SIZE, REPORT_PARAMETERS, min_cell_size_problem
from ivig_kit.reports.runner.ledger import (
    check_output_folder,
    read_ledger,
    refuse_if_locked,
    refuse_inputs_among_outputs,
)
from ivig_kit.reports.runner.ledger_schema import site_files
from ivig_kit.reports.runner.notebook_file import cell_source, notebook_cells
from ivig_kit.reports.runner.pages import published_url_setting
from ivig_kit.reports.runner.params_file import notebook_defaults, read_site_parameters
from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S, ReportBatch, SiteTask, site_slug
from ivig_kit.resources import notebook_path
from ivig_kit.score.measures import POPULATIONS, Population

#: The report notebook `ivig-kit reports` runs unless told otherwise.
DEFAULT_NOTEBOOK = notebook_path("site_report.ipynb")


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


def input_hash(visits, events, notebook: bytes, parameters: dict, row_hashes=(None, None)) -> str:
    """SHA-256 of what a site's report is made from: its rows (visits and adverse events, values and column
    types), its parameters, the notebook and the kit's version.

    ``row_hashes``: ``pandas.util.hash_pandas_object`` of the whole visit and event tables (index ``False``),
    computed once for every site: a row's hash does not depend on the other rows, so the site's rows of it
    are the hashes of its own frame."""
    import pandas as pd

    digest = hashlib.sha256()
    for frame, hashes in zip((visits, events), row_hashes):
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
        own = hashes.loc[frame.index] if hashes is not None else pd.util.hash_pandas_object(frame, index=False)
        digest.update(own.to_numpy().tobytes())
    digest.update(hashlib.sha256(notebook).digest())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode("utf-8"))
    digest.update(__version__.encode("utf-8"))
    return digest.hexdigest()


def site_key(name: str) -> str:
    """A site name without accents and case, for suggestions: ``Zürich`` -> ``zurich``."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def closest_site(name: str, known: list[str]) -> str | None:
    """The known site closest to a mistyped one (accent- and case-insensitive, difflib), or ``None``."""
    keys = {site_key(site): site for site in known}
    match = difflib.get_close_matches(site_key(name), list(keys), n=1, cutoff=0.6)
    return keys[match[0]] if match else None


def prepare_batch(
    data_path,
    out_dir,
    sites=None,
    notebook=None,
    population: str = "adult",
    adverse_events_path="auto",
    min_cell_size: int = MIN_CELL_SIZE,
    params_path=None,
    force: bool = False,
    cell_timeout_s: float = CELL_TIMEOUT_S,
    registry: bool | None = None,
) -> ReportBatch:
    """Read, validate and score everything once, before any kernel starts; raise :class:`InputError` on bad input.

    ``adverse_events_path``: a path, ``""``/``None`` for none, or ``"auto"`` for the table beside the data
    (:func:`default_adverse_events`). ``params_path``: a per-site parameters file
    (:func:`ivig_kit.reports.runner.params_file.read_site_parameters`). ``registry``: keep the folder's history
    and make the registry report after the sites (default: when the site notebook is the bundled one, whose
    summaries carry the figures the history keeps).
    """
    import pandas as pd

    from ivig_kit.reports.content.site import (
        check_event_patients,
        empty_adverse_events,
        read_adverse_events,
        registry_aggregates,
        registry_files,
    )
    from ivig_kit.reports.content.trends import (
        empty_history,
        previous_entry,
        published_groups,
    )
    from ivig_kit.reports.runner.history import load_history
    from ivig_kit.score.engine import total_improvement_score
    from ivig_kit.score.identifiers import normalise_identifier
    from ivig_kit.score.visits import read_visits

    data_path = Path(data_path).resolve()
    if population not in POPULATIONS:
        raise ReportSetupError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}")
    if (problem := min_cell_size_problem(min_cell_size)) is not None:
        raise ReportSetupError(problem)
    out_dir = Path(out_dir).absolute()
    check_output_folder(out_dir)  # not a folder, or cannot be created: said before the registry is read
    history = empty_history()
    if out_dir.is_dir():
        refuse_if_locked(out_dir)  # another batch is writing there: say so before reading the registry
        read_ledger(out_dir, force=force)  # a folder the kit did not make is refused before anything runs
        history = load_history(out_dir, force=force)  # a broken history.json is refused too

    notebook = check_regular_file(Path(notebook or DEFAULT_NOTEBOOK).resolve(), "report notebook")
    published_url_setting()  # IVIG_KIT_PUBLISHED_URL: http(s) only, refused before anything runs
    declared = notebook_parameters(notebook)
    missing = [name for name in REPORT_PARAMETERS if name not in declared]
    if missing:
        raise ReportSetupError(
            f"{notebook.name}: its 'parameters' cell lacks {', '.join(missing)}; a report "
            f"notebook declares {', '.join(REPORT_PARAMETERS)}"
        )

    visits = read_visits(data_path)  # VisitTableError (an InputError) names file, row and column
    known = list(dict.fromkeys(visits["site"]))
    if sites:
        sites = [normalise_identifier(s) for s in sites]
        unknown = [s for s in sites if s not in known]
        if unknown:
            shown = ", ".join(repr(s) for s in known[:20]) + (" ..." if len(known) > 20 else "")
            hints = [f"{s!r} -> did you mean {closest_site(s, known)!r}?" for s in unknown if closest_site(s, known)]
            raise ReportSetupError(
                f"{data_path.name}: no site {', '.join(repr(s) for s in unknown)}"
                + (f" ({'; '.join(hints)})" if hints else "")
                + f"; the sites are {shown}"
            )
        sites = list(dict.fromkeys(sites))
    else:
        sites = known

    if adverse_events_path == "auto":
        adverse_events = default_adverse_events(data_path)
    elif adverse_events_path:
        adverse_events = check_regular_file(Path(adverse_events_path).resolve(), "adverse-event table")
    else:
        adverse_events = None
    events = read_adverse_events(adverse_events) if adverse_events else None  # located error, exit 2
    if events is not None and adverse_events is not None:
        check_event_patients(events, visits, adverse_events.name, data_path.name)

    per_site = read_site_parameters(params_path, declared, known, notebook.name) if params_path else {}
    notebook_bytes = notebook.read_bytes()
    files = registry_files(data_path, adverse_events)
    populations = {site: per_site.get(site, {}).get("population", population) for site in sites}
    no_events = events if events is not None else empty_adverse_events()
    by_site = dict(tuple(visits.groupby("site", sort=False)))
    events_by_site = dict(tuple(events.groupby("site", sort=False))) if events is not None else {}
    aggregates = {}
    for used in dict.fromkeys([population, *populations.values()]):  # scored once per population in use
        scores = total_improvement_score(visits, population=cast(Population, used), validate=False)
        aggregates[used] = registry_aggregates(
            visits, scores, no_events, used, min_cell_size, files, published_groups=published_groups(history)
        )
    refuse_inputs_among_outputs(
        out_dir,
        [notebook, data_path, adverse_events, params_path],
        [name for site in sites for name in site_files(site_slug(site))],
    )
    fingerprints = {used: comparison_fingerprint(shared) for used, shared in aggregates.items()}
    row_hashes = tuple(
        None if frame is None else pd.util.hash_pandas_object(frame, index=False) for frame in (visits, events)
    )
    tasks = []
    for site in sites:
        extra = {k: v for k, v in per_site.get(site, {}).items() if k != "population"}
        # a changed pooled comparison is a reason to run a site's report again, as changed rows are
        pooled_sha256 = fingerprints[populations[site]]
        parameters = {
            "population": populations[site],
            "min_cell_size": min_cell_size,
            **extra,
            "pooled_summary_sha256": pooled_sha256,
        }
        site_events = events_by_site.get(site, no_events.iloc[:0]) if events is not None else None
        tasks.append(
            SiteTask(
                site=site,
                slug=site_slug(site),
                notebook_name=notebook.name,
                notebook=notebook_bytes,
                visits_slice=b"",
                events_slice=b"",
                pooled_summary=b"",
                population=populations[site],
                min_cell_size=min_cell_size,
                extra_parameters=tuple(sorted(extra.items())),
                cell_timeout_s=cell_timeout_s,
                input_hash=input_hash(by_site[site], site_events, notebook_bytes, parameters, row_hashes),
            )
        )

    def with_inputs(chosen: list[SiteTask]) -> list[SiteTask]:
        """The tasks with their slices and pooled summaries as bytes (built only for the sites that run); the
        pooled summary carries the site's figures of the previous run ("since your last report")."""
        return [
            dataclasses.replace(
                task,
                visits_slice=_parquet_bytes(by_site[task.site]),
                events_slice=_parquet_bytes(events_by_site.get(task.site, no_events.iloc[:0]))
                if events is not None
                else b"",
                pooled_summary=_pooled_json(aggregates[task.population], task.site, previous_entry(history, task.site)),
            )
            for task in chosen
        ]

    return ReportBatch(
        data_path=data_path,
        out_dir=out_dir,
        notebook=notebook,
        tasks=tasks,
        all_sites=known,
        adverse_events_path=adverse_events,
        population=population,
        data_sha256=files["data_sha256"],
        min_cell_size=min_cell_size,
        adverse_events_sha256=files["adverse_events_sha256"],
        notebook_sha256=hashlib.sha256(notebook_bytes).hexdigest(),
        force=force,
        with_inputs=with_inputs,
        registry_state={"aggregates": aggregates[population], "history": history}
        if (notebook == Path(DEFAULT_NOTEBOOK).resolve() if registry is None else registry)
        else {},
    )


def comparison_fingerprint(aggregates) -> str:
    """SHA-256 of what the sites' reports are compared with: the pooled summary of every site shown (no site's own
    row left out, so one fingerprint serves all sites: a change in a site's own rows changes its input hash
    anyway), without the registry file's name and checksum (provenance that changes with any row, not the
    comparison itself). Computed once per population: once per site cost O(sites) each at 1,000 sites."""
    from ivig_kit.reports.content.site import pooled_summary

    summary = pooled_summary(aggregates, "")
    summary["registry"] = {k: v for k, v in summary["registry"].items() if not k.endswith(("_file", "_sha256"))}
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode("utf-8")).hexdigest()


def _pooled_json(aggregates, site: str, previous: dict | None = None) -> bytes:
    """A site's pooled summary as JSON bytes; ``previous`` (its figures of the last run) added when given."""
    from ivig_kit.reports.content.site import pooled_summary

    summary = pooled_summary(aggregates, site)
    if previous is not None:
        summary["previous"] = previous
    return json.dumps(summary, ensure_ascii=False, allow_nan=False).encode("utf-8")


def notebook_parameters(notebook: Path) -> dict:
    """The names and literal defaults the notebook's ``parameters`` cell assigns (read with ``ast``: papermill's
    own reader gives up on a line whose comment holds a quote, although injection works)."""
    try:
        cells = notebook_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReportSetupError(f"{notebook.name}: not a readable notebook ({type(error).__name__}: {error})") from None
    tagged = [
        c for c in cells if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if not tagged:
        raise ReportSetupError(
            f"{notebook.name}: no code cell is tagged 'parameters'; a report notebook declares "
            f"{', '.join(REPORT_PARAMETERS)} there"
        )
    try:
        return notebook_defaults(cell_source(tagged[0]))
    except SyntaxError as error:
        raise ReportSetupError(
            f"{notebook.name}: the 'parameters' cell is not valid Python ({error.msg}, line {error.lineno})"
        ) from None
