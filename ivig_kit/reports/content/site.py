"""One site's data inside a report kernel: loading, scoring and the per-patient and per-site tables.

The notebook is run by papermill (``ivig-kit reports``) with the parameters in
:data:`ivig_kit.reports.content.parameters.REPORT_PARAMETERS`, validated right after injection by
:func:`ivig_kit.reports.content.parameters.validate_report_parameters`.
:func:`load_site` reads the registry once, scores every visit with
:func:`ivig_kit.score.total_improvement_score`, keeps the site's own visits, scores and adverse events,
and reduces all sites to **aggregates without patient identifiers** (counts, percentages, per-site
rates with the site names dropped). Nothing a report shows or writes can therefore name another
site's patient. The tables (:mod:`.tables`) and figures (:mod:`.figures`) each take the loaded :class:`SiteReport`; the
per-patient and per-site metrics are computed in :mod:`.metrics`.

Responders are patients whose last follow-up visit with a complete TIS reaches the population's
minimal-improvement threshold (TIS >= 20 for adults, >= 30 for juvenile DM). The visit pattern
(scheduled weeks) is read from the registry: the weeks at which at least a quarter of all patients
were seen; other weeks are out of pattern.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ivig_kit.errors import ReportParameterError
from ivig_kit.files import file_sha256
from ivig_kit.reports.content.adverse_events import (  # noqa: F401  (read_adverse_events: part of this face)
    ADVERSE_EVENT_REQUIRED,
    THROMBOEMBOLIC_PATTERN,
    check_event_patients,
    empty_adverse_events,
    read_adverse_events,
)
from ivig_kit.reports.content.json_values import json_ready
from ivig_kit.reports.content.metrics import (
    arm_order,
    patient_table,
    responders_by_week,
    site_metrics,
    visit_pattern,
)
from ivig_kit.reports.content.parameters import MIN_CELL_SIZE, ReportParameters, validate_report_parameters
from ivig_kit.reports.content.small_cells import hold_back_merged, rounded_for_sites, small_cell_groups
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.measures import CATEGORY_THRESHOLDS
from ivig_kit.score.visits import read_visits

# --- Loading -------------------------------------------------------------------------------------------------


@dataclass
class SiteReport:
    """One site's data and the registry's aggregates (no other site's patient appears here)."""

    site: str
    population: str
    parameters: ReportParameters
    visits: pd.DataFrame  # this site's visits
    scores: pd.DataFrame  # this site's follow-up visits, scored
    patients: pd.DataFrame  # one row per patient of this site (course, responder, data quality)
    adverse_events: pd.DataFrame  # this site's adverse events (empty when none were supplied)
    adverse_events_supplied: bool
    visit_pattern: tuple[float, ...]
    site_metrics: dict
    pooled_metrics: dict  # all sites pooled (this one included)
    other_sites: pd.DataFrame  # one row of metrics per other site, names dropped
    pooled_by_week: pd.DataFrame  # responders by scheduled week, all sites and arms pooled
    source: dict
    synthetic: bool
    data_sources: tuple[str, ...]
    run_time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    @property
    def threshold(self) -> float:
        """TIS of minimal improvement for the population (the responder definition)."""
        return CATEGORY_THRESHOLDS[self.population][0]

    _arms: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def arms(self) -> list[str]:
        """The arms of the site's visits, IVIg arms first (found once per visit table: every table and figure
        asks for them)."""
        if self._arms is None or self._arms[0] is not self.visits:
            arms = (
                sorted(self.visits["arm"].dropna().astype(str).unique(), key=arm_order) if "arm" in self.visits else []
            )
            self._arms = (self.visits, tuple(arms))
        return list(self._arms[1])


def load_site(
    site,
    data_path=None,
    adverse_events_path=None,
    population: str = "adult",
    pooled_summary_path=None,
    min_cell_size: int = MIN_CELL_SIZE,
) -> SiteReport:
    """The site's data and the aggregates of the other sites that are safe to share.

    Two ways in, one result:

    - from a **site slice** (``data_path``: a visit table holding this site's rows, as ``ivig-kit reports``
      writes it, and ``adverse_events_path``: this site's events) plus the batch's **pooled summary**
      (``pooled_summary_path``, JSON from :func:`pooled_summary`): the kernel never sees another site's rows;
    - on its own, from the whole registry (``pooled_summary_path`` empty): the pooled summary is then
      computed here exactly as the batch computes it (:func:`registry_aggregates`).

    ``site`` may be a :class:`ReportParameters` from :func:`validate_report_parameters` instead.

    Parameters
    ----------
    site : str or ReportParameters
        The site to report on.
    data_path, adverse_events_path : path, optional
        The visit table (whole registry or the site's slice) and the adverse-event table.
    population : {"adult", "juvenile"}
        TIS thresholds.
    pooled_summary_path : path, optional
        The pooled summary of all sites written by the batch; empty: compute it from ``data_path``.
    min_cell_size : int
        Sites with fewer patients are merged or left out of the pooled figures (used only without a
        pooled summary; the batch's summary carries the size it was made with).

    Returns
    -------
    SiteReport

    Examples
    --------
    >>> from ivig_kit.resources import data_path as bundled
    >>> report = load_site("Amsterdam", bundled("demo_registry.csv"))
    >>> report.site, set(report.visits["site"])
    ('Amsterdam', {'Amsterdam'})
    """
    if isinstance(site, ReportParameters):
        parameters = site
    else:
        parameters = validate_report_parameters(
            site,
            data_path,
            adverse_events_path or "",
            population,
            pooled_summary_path=pooled_summary_path or "",
            min_cell_size=min_cell_size,
        )
    site, population = parameters.site, parameters.population
    visits = read_visits(parameters.data_path)
    events = (
        read_adverse_events(parameters.adverse_events_path)
        if parameters.adverse_events_path
        else empty_adverse_events()
    )
    if parameters.pooled_summary_path:
        summary = read_pooled_summary(parameters.pooled_summary_path, site, population)
    else:
        scores = total_improvement_score(visits, population=population, validate=False)
        registry = registry_files(parameters.data_path, parameters.adverse_events_path)
        aggregates = registry_aggregates(visits, scores, events, population, parameters.min_cell_size, registry)
        summary = pooled_summary(aggregates, site)
    return site_report_from_slice(
        parameters,
        visits[visits["site"] == site].reset_index(drop=True),
        events[events["site"] == site].reset_index(drop=True),
        summary,
    )


def registry_files(data_path: Path, adverse_events_path: Path | None = None) -> dict[str, str]:
    """Where the registry's numbers come from: the visit table's and the adverse-event table's file names and
    SHA-256 (empty for no adverse-event table). The batch and a stand-alone report both record these in the
    pooled summary, and the report's provenance shows them."""
    data_path = Path(data_path)
    return {
        "data_file": data_path.name,
        "data_sha256": file_sha256(data_path),
        "adverse_events_file": Path(adverse_events_path).name if adverse_events_path else "",
        "adverse_events_sha256": file_sha256(adverse_events_path) if adverse_events_path else "",
    }


def site_report_from_slice(
    parameters: ReportParameters, visits: pd.DataFrame, events: pd.DataFrame, summary: dict
) -> SiteReport:
    """Build the report of one site from its own rows and the pooled summary (no other site's rows)."""
    site, population = parameters.site, parameters.population
    scores = total_improvement_score(visits, population=population, validate=False)
    threshold = CATEGORY_THRESHOLDS[population][0]
    pattern = tuple(float(w) for w in summary["visit_pattern"])
    patients = patient_table(visits, scores, events, pattern, threshold)
    metrics = site_metrics(patients, visits, events, pattern)
    data_sources = tuple(sorted(visits["data_source"].dropna().astype(str).unique())) if "data_source" in visits else ()
    registry = summary["registry"]
    source = {
        "data_path": parameters.data_path.name,
        "data_file": registry["data_file"],
        "data_sha256": registry["data_sha256"],
        "slice_sha256": file_sha256(parameters.data_path),
        "data_rows": registry["visits_pooled"],
        "data_sites": registry["sites_pooled"],
        "data_patients": registry["patients_pooled"],
        "sites_merged": registry["sites_merged"],
        "sites_left_out": registry["sites_left_out"],
        "min_cell_size": summary["min_cell_size"],
        "adverse_events_path": registry["adverse_events_file"],
        "adverse_events_file": registry["adverse_events_file"],
        "adverse_events_sha256": registry["adverse_events_sha256"],
        "adverse_events_rows": registry["adverse_events_pooled"],
    }
    return SiteReport(
        site=site,
        population=population,
        parameters=parameters,
        visits=visits,
        scores=scores,
        patients=patients[patients["site"] == site].reset_index(drop=True),
        adverse_events=events,
        adverse_events_supplied=parameters.adverse_events_path is not None,
        visit_pattern=pattern,
        site_metrics=_row(metrics, site) if site in metrics.index else {},
        pooled_metrics=dict(summary["pooled_metrics"]),
        other_sites=pd.DataFrame(summary["other_sites"], columns=summary["metric_columns"]),
        pooled_by_week=pd.DataFrame(
            summary["pooled_by_week"], columns=["week", "n", "responders", "percent", "ci_low", "ci_high", "median_tis"]
        ).astype({"n": int, "responders": int}),
        source=source,
        synthetic=bool(registry["synthetic"]) or _is_synthetic(data_sources),
        data_sources=data_sources,
    )


def _is_synthetic(data_sources) -> bool:
    return any("synthetic" in s.lower() or "reconstructed" in s.lower() for s in data_sources)


# --- The pooled summary: what a site may learn about the others ----------------------------------------------


@dataclass
class RegistryAggregates:
    """Per-site metrics of the whole registry and which sites are pooled, merged or left out (batch side)."""

    population: str
    min_cell_size: int
    pattern: tuple[float, ...]
    patients: pd.DataFrame  # one row per patient of every site
    metrics: pd.DataFrame  # one row per site (index: site name)
    large: list[str]  # sites with at least min_cell_size patients: shown on their own (names dropped)
    merged: list[str]  # smaller sites shown only as one merged group
    left_out: list[str]  # smaller sites left out of every pooled figure
    pooled_metrics: dict
    pooled_by_week: pd.DataFrame
    registry: dict
    events_pooled: int
    rows: dict = field(default_factory=dict)  # site -> its metrics as JSON-ready values (computed once)
    shown: dict = field(default_factory=dict)  # site -> its row as other sites see it (made on first use)
    merged_held_back: bool = False  # the merged group changed too little since an earlier run: left out


def registry_aggregates(
    visits: pd.DataFrame,
    scores: pd.DataFrame,
    events: pd.DataFrame,
    population: str,
    min_cell_size: int = MIN_CELL_SIZE,
    registry: dict | None = None,
    published_groups: list[dict] = (),
) -> RegistryAggregates:
    """Everything the pooled summaries need, computed once (``published_groups``: see :mod:`.small_cells`)."""
    threshold = CATEGORY_THRESHOLDS[population][0]
    pattern = visit_pattern(visits)
    patients = patient_table(visits, scores, events, pattern, threshold)
    metrics = site_metrics(patients, visits, events, pattern)
    large, merged, left_out = small_cell_groups(metrics["patients"].to_dict(), min_cell_size)
    merged, left_out, held_back = hold_back_merged(
        merged, left_out, metrics["patients"], published_groups, min_cell_size
    )
    pooled_sites = set(large) | set(merged)
    in_pool = patients["site"].isin(pooled_sites)
    visits_pool = visits[visits["site"].isin(pooled_sites)]
    events_pool = events[events["site"].isin(pooled_sites)]
    if in_pool.any():
        pooled = _row(
            site_metrics(
                patients[in_pool].assign(site="all"),
                visits_pool.assign(site="all"),
                events_pool.assign(site="all"),
                pattern,
            ),
            "all",
        )
    else:
        pooled = {column: None for column in metrics.columns}
    pooled_by_week = responders_by_week(scores[scores["site"].isin(pooled_sites)], pattern, threshold, by_arm=False)
    data_sources = visits_pool["data_source"].dropna().astype(str).unique() if "data_source" in visits else ()
    info = {
        "data_file": "",
        "data_sha256": "",
        "adverse_events_file": "",
        "adverse_events_sha256": "",
        **(registry or {}),
        "sites_pooled": len(pooled_sites),
        "patients_pooled": int(in_pool.sum()),
        "visits_pooled": len(visits_pool),
        "sites_merged": len(merged),
        "sites_left_out": len(left_out),
        "adverse_events_pooled": len(events_pool),
        "synthetic": _is_synthetic(data_sources),
    }
    return RegistryAggregates(
        population=population,
        min_cell_size=int(min_cell_size),
        pattern=pattern,
        patients=patients,
        metrics=metrics,
        large=large,
        merged=merged,
        left_out=left_out,
        pooled_metrics=pooled,
        pooled_by_week=pooled_by_week,
        registry=info,
        events_pooled=len(events_pool),
        merged_held_back=held_back,
        rows={site: json_ready(row) for site, row in metrics.to_dict("index").items()},
    )


def pooled_summary(aggregates: RegistryAggregates, site: str) -> dict:
    """What the report of ``site`` may know of the registry, as JSON-ready values (no site names, no rows).

    Other sites under the minimum cell size appear only inside one merged row (without ``site``, when it
    holds at least ``min_cell_size`` other patients) or not at all; pooled figures leave out the sites that
    are left out, so no difference of two shown figures reveals one of them.
    """
    metrics = aggregates.metrics
    columns = [*metrics.columns, "merged_sites"]
    if not aggregates.shown:  # each large site's row as others see it, rounded once for all the summaries
        for shown_site in aggregates.large:
            shown = rounded_for_sites(dict(aggregates.rows[shown_site], merged_sites=1))
            aggregates.shown[shown_site] = json_ready([shown.get(c) for c in columns])
    other_sites = [aggregates.shown[s] for s in aggregates.large if s != site]
    others = []
    merged = [s for s in aggregates.merged if s != site]
    if merged:
        mask = aggregates.patients["site"].isin(merged)
        patients = aggregates.patients[mask].assign(site="merged")
        group = site_metrics(patients, _visits_for(patients), _no_events_like(patients), aggregates.pattern)
        row = _row(group, "merged")
        if row["patients"] >= aggregates.min_cell_size:
            # events are counted per site in site_metrics; sum the merged sites' own counts
            row["adverse_events"] = int(metrics.loc[merged, "adverse_events"].sum())
            row["adverse_events_per_patient"] = row["adverse_events"] / row["patients"]
            others.append(dict(row, merged_sites=len(merged)))
    summary = json_ready(
        {
            "kind": "ivig-kit pooled summary",
            "format": 1,
            "site": site,
            "population": aggregates.population,
            "min_cell_size": aggregates.min_cell_size,
            "visit_pattern": list(aggregates.pattern),
            "registry": aggregates.registry,
            "metric_columns": columns,
            "pooled_metrics": rounded_for_sites(aggregates.pooled_metrics),
            "other_sites": [],
            "pooled_by_week": aggregates.pooled_by_week[
                ["week", "n", "responders", "percent", "ci_low", "ci_high", "median_tis"]
            ]
            .to_numpy()
            .tolist(),
        }
    )
    summary["other_sites"] = other_sites + json_ready(
        [[rounded_for_sites(row).get(c) for c in columns] for row in others]
    )
    return summary


def _visits_for(patients: pd.DataFrame) -> pd.DataFrame:
    """Stand-in visits for :func:`site_metrics` of a merged group (only ``site`` is used without visit dates)."""
    return pd.DataFrame({"site": patients["site"]})


def _no_events_like(patients: pd.DataFrame) -> pd.DataFrame:
    return empty_adverse_events()


def read_pooled_summary(path, site: str, population: str) -> dict:
    """Read a pooled summary written by the batch and check it is the one for ``site`` and ``population``."""
    import json

    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportParameterError(
            f"pooled_summary_path: {path.name} is not a readable pooled summary ({type(error).__name__})"
        ) from None
    if not isinstance(summary, dict) or summary.get("kind") != "ivig-kit pooled summary":
        raise ReportParameterError(f"pooled_summary_path: {path.name} is not an ivig-kit pooled summary")
    if summary.get("site") != site or summary.get("population") != population:
        raise ReportParameterError(
            f"pooled_summary_path: {path.name} was made for site {summary.get('site')!r} and population "
            f"{summary.get('population')!r}, not for site {site!r} and population {population!r}"
        )
    return summary


def _row(table: pd.DataFrame, label) -> dict:
    """One row as a dict of plain Python values, keeping each column's type (counts stay integers)."""
    return {
        column: table.at[label, column].item() if hasattr(table.at[label, column], "item") else table.at[label, column]
        for column in table.columns
    }
