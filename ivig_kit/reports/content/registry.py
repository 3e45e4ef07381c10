"""The coordinating centre's report: every site of the registry at once, inside the registry report's kernel.

The registry report (``notebooks/registry_report.ipynb``) is for the people who run the registry, who see
every site by name: which sites stand out from the pooled responder proportion and whether that is
chance (a funnel plot with exact limits, :mod:`ivig_kit.inference.funnel` and :mod:`.registry_funnel`, never
a league table), how data quality differs (:mod:`.registry_quality`), confirmed deteriorations and adverse
events per patient-time, the 2004 IMACS definition of improvement when the scored table carries it, and each
site's trend across runs (:mod:`.trends`). Its machine-readable summary is ``registry.json`` (:data:`REGISTRY_SCHEMA`).

Definitions (ours, stated in the report):

- **responder**: last complete TIS at or above the population's minimal-improvement threshold (as in the
  site reports);
- **baseline-only patient**: one visit, or no visit after the first;
- **measure at floor or ceiling**: a VAS at 0 or 10 cm, a HAQ at 0 or 3, an MMT at 0 or its scale maximum,
  as a share of the measured values;
- **late visit**: a visit outside the visit pattern whose preceding scheduled week the patient missed;
- **patient-time**: weeks from each patient's first to last visit, summed, in patient-years (52.1775 weeks).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.errors import ReportParameterError
from ivig_kit.files import file_sha256
from ivig_kit.inference.funnel import (
    OUTLIER_POLICY,
    Overdispersion,
    overdispersion,
)
from ivig_kit.reports.content.adverse_events import empty_adverse_events
from ivig_kit.reports.content.registry_funnel import funnel_table
from ivig_kit.reports.content.registry_quality import site_quality
from ivig_kit.reports.content.site import (
    read_adverse_events,
    registry_aggregates,
)
from ivig_kit.reports.content.trends import (
    empty_history,
    published_groups,
    read_history,
)
from ivig_kit.resources import data_path as bundled_data
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.measures import CATEGORY_THRESHOLDS, POPULATIONS
from ivig_kit.score.visits import read_visits

#: The names of the registry notebook's literal-only ``parameters`` cell (``ivig-kit reports`` injects them).
REGISTRY_PARAMETERS = (
    "data_path",
    "adverse_events_path",
    "population",
    "min_cell_size",
    "history_path",
    "widen_for_overdispersion",
    "summary_path",
)
#: The column the 2004 IMACS definition of improvement adds to the scored table (issue "From the case report
#: form to the core set"); the registry report shows it the same way when it is there.
IMPROVEMENT_2004_COLUMN = "imacs_2004_improved"


@dataclass(frozen=True)
class RegistryParameters:
    """The registry report's validated parameters (``""`` paths resolved, ``None`` when absent)."""

    data_path: Path
    adverse_events_path: Path | None
    population: str
    min_cell_size: int
    history_path: Path | None
    widen_for_overdispersion: bool
    summary_path: Path | None


def validate_registry_parameters(
    data_path="",
    adverse_events_path="",
    population="adult",
    min_cell_size=5,
    history_path="",
    widen_for_overdispersion=False,
    summary_path="",
) -> RegistryParameters:
    """Check the injected parameters; ``data_path`` ``""`` is the bundled demo registry (and its adverse events).

    Raises
    ------
    ReportParameterError
        Every problem at once, one line each.
    """
    problems = []
    if data_path in ("", None):
        data, events = bundled_data("demo_registry.csv"), bundled_data("demo_adverse_events.csv")
    else:
        data = _file("data_path", data_path, problems)
        events = _file("adverse_events_path", adverse_events_path, problems) if adverse_events_path else None
    if population not in POPULATIONS:
        problems.append(f"population must be one of {', '.join(POPULATIONS)}, not {population!r}")
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, int) or min_cell_size < 1:
        problems.append(f"min_cell_size must be a whole number >= 1, got {min_cell_size!r}")
    if not isinstance(widen_for_overdispersion, bool):
        problems.append(f"widen_for_overdispersion must be True or False, got {widen_for_overdispersion!r}")
    history = _file("history_path", history_path, problems) if history_path else None
    summary = None
    if summary_path:
        summary = Path(summary_path).expanduser().resolve()
        if summary.is_dir() or not summary.parent.is_dir():
            problems.append(f"summary_path {str(summary_path)!r}: expected a file name in an existing folder")
    if problems:
        raise ReportParameterError("\n".join(problems))
    return RegistryParameters(data, events, population, min_cell_size, history, widen_for_overdispersion, summary)


def _file(name: str, value, problems: list) -> Path | None:
    path = Path(str(value)).expanduser().resolve()
    if not path.is_file():
        problems.append(f"{name}: file not found: {str(value)!r}")
        return None
    return path


@dataclass
class RegistryReport:
    """Every site's figures, the funnel around the pooled proportion, and the history of earlier runs."""

    parameters: RegistryParameters
    population: str
    threshold: float
    sites: pd.DataFrame  # one row per site (index: site, in the registry's order)
    target: float  # the pooled responder proportion of all sites
    dispersion: Overdispersion
    phi_used: float  # 1 unless the limits are widened for over-dispersion
    funnel: pd.DataFrame  # responders per site with limits and flags (index: site)
    funnel_2004: pd.DataFrame | None  # the same for the 2004 definition, None when the column is absent
    target_2004: float | None
    history: dict
    source: dict
    synthetic: bool
    merged_held_back: bool
    run_time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))


def load_registry(parameters: RegistryParameters) -> RegistryReport:
    """Read, score and summarise the whole registry for the coordinating centre.

    Parameters
    ----------
    parameters : RegistryParameters
        From :func:`validate_registry_parameters`.

    Returns
    -------
    RegistryReport

    Examples
    --------
    >>> report = load_registry(validate_registry_parameters())
    >>> report.funnel.index[0], 0 < report.target < 1
    ('Amsterdam', True)
    """
    visits = read_visits(parameters.data_path)
    events = read_adverse_events(parameters.adverse_events_path) if parameters.adverse_events_path else None
    scores = total_improvement_score(visits, population=parameters.population, validate=False)
    history = read_history(parameters.history_path) if parameters.history_path else empty_history()
    aggregates = registry_aggregates(
        visits,
        scores,
        events if events is not None else empty_adverse_events(),
        parameters.population,
        parameters.min_cell_size,
        published_groups=published_groups(history),
    )
    sites = site_quality(visits, aggregates.patients, aggregates.metrics, aggregates.pattern)
    target = _target(sites["responders"], sites["patients_scored"])
    dispersion = (
        overdispersion(sites["responders"], sites["patients_scored"], target)
        if 0 < target < 1
        else Overdispersion(float("nan"), np.array([]), np.array([]), 0, float("nan"))
    )
    phi_used = max(1.0, dispersion.phi) if parameters.widen_for_overdispersion and np.isfinite(dispersion.phi) else 1.0
    funnel = funnel_table(sites["responders"], sites["patients_scored"], target, phi_used)
    funnel_2004 = target_2004 = None
    if IMPROVEMENT_2004_COLUMN in scores:
        improved = improvement_2004_by_site(scores, sites.index)
        target_2004 = _target(improved["improved"], improved["patients_scored"])
        funnel_2004 = funnel_table(improved["improved"], improved["patients_scored"], target_2004, 1.0)
    data_sources = visits["data_source"].dropna().astype(str).unique() if "data_source" in visits else ()
    source = {
        "data_file": parameters.data_path.name,
        "data_sha256": file_sha256(parameters.data_path),
        "adverse_events_file": parameters.adverse_events_path.name if parameters.adverse_events_path else "",
        "adverse_events_supplied": events is not None,
        "visit_rows": len(visits),
        "data_sources": sorted(data_sources),
        "visit_pattern": list(aggregates.pattern),
    }
    synthetic = any("synthetic" in s.lower() or "reconstructed" in s.lower() for s in data_sources)
    return RegistryReport(
        parameters=parameters,
        population=parameters.population,
        threshold=CATEGORY_THRESHOLDS[parameters.population][0],
        sites=sites,
        target=target,
        dispersion=dispersion,
        phi_used=phi_used,
        funnel=funnel,
        funnel_2004=funnel_2004,
        target_2004=target_2004,
        history=history,
        source=source,
        synthetic=synthetic,
        merged_held_back=aggregates.merged_held_back,
    )


def _target(events: pd.Series, n: pd.Series) -> float:
    total = float(n.sum())
    return float(events.sum()) / total if total else float("nan")


# --- Per-site figures ---------------------------------------------------------------------------------------


def improvement_2004_by_site(scores: pd.DataFrame, sites) -> pd.DataFrame:
    """Per site: patients with a 2004 IMACS result and those improved at their last visit that has one."""
    known = scores[scores[IMPROVEMENT_2004_COLUMN].notna()].sort_values(["site", "patient_id", "week"])
    last = known.groupby(["site", "patient_id"], sort=False).tail(1)
    table = last.groupby("site", sort=False).agg(
        patients_scored=(IMPROVEMENT_2004_COLUMN, "size"),
        improved=(IMPROVEMENT_2004_COLUMN, lambda s: int(s.astype(bool).sum())),
    )
    return table.reindex(sites).fillna(0).astype(int)


# --- Tables and text ----------------------------------------------------------------------------------------


def data_quality_table(report: RegistryReport) -> pd.DataFrame:
    """Per-site data quality with readable headings (registry order)."""
    sites = report.sites
    return pd.DataFrame(
        {
            "patients": sites["patients"],
            "visits": sites["visits"],
            "visits with a missing CSM (%)": sites["missing_csm_visit_percent"],
            "baseline-only patients": sites["baseline_only"],
            "measures at floor or ceiling (%)": sites["floor_ceiling_percent"],
            "late visits": sites["late_visits"],
            "missed scheduled visits": sites["missed_visits"],
        }
    )


def safety_table(report: RegistryReport) -> pd.DataFrame:
    """Per-site confirmed deteriorations and adverse events, as counts and per patient-year."""
    sites = report.sites
    table = pd.DataFrame(
        {
            "patient-years": sites["patient_years"],
            "confirmed deteriorations": sites["confirmed_deteriorations"],
            "deteriorations per patient-year": sites["deteriorations_per_patient_year"],
        }
    )
    if report.source["adverse_events_supplied"]:
        table["adverse events"] = sites["adverse_events"]
        table["serious adverse events"] = sites["serious_adverse_events"]
        table["adverse events per patient-year"] = sites["adverse_events_per_patient_year"]
    return table


SAFETY_KINDS = {
    "patient-years": "rate",
    "deteriorations per patient-year": "rate",
    "adverse events per patient-year": "rate",
}


def overdispersion_text(report: RegistryReport) -> str:
    """One paragraph on over-dispersion: phi, its test, and whether the limits were widened (plain text)."""
    d = report.dispersion
    if not np.isfinite(d.phi):
        return "Over-dispersion cannot be estimated: the pooled proportion is 0 or 1, or no site has a scored patient."
    spread = (
        f"Over-dispersion: phi = {d.phi:.2f} from {d.sites} sites (mean squared z-score after winsorising "
        f"10% in each tail; chi-squared test of the unwinsorised z-scores p = {d.p_value:.2g}). "
    )
    if report.phi_used > 1:
        return spread + (
            f"The limits below are widened by sqrt(phi) = {np.sqrt(report.phi_used):.2f} around the "
            "pooled proportion (widen_for_overdispersion = True)."
        )
    return spread + (
        "The limits are the exact binomial ones"
        + (
            " (phi is below 1: the sites vary no more than chance allows)."
            if d.phi <= 1
            else "; set widen_for_overdispersion = True to widen them by sqrt(phi)."
        )
    )


def overdispersion_html(report: RegistryReport) -> str:
    """:func:`overdispersion_text` as an escaped HTML paragraph."""
    from html import escape

    return f'<p class="ivig-overdispersion">{escape(overdispersion_text(report))}</p>'


def key_findings(report: RegistryReport) -> str:
    """The registry in a few plain sentences, one per line."""
    funnel = report.funnel
    lines = [
        (
            f"{len(report.sites)} sites, {int(report.sites['patients'].sum())} patients, "
            f"{int(report.sites['visits'].sum())} visits."
        ),
        (
            f"Pooled responders (last complete TIS >= {report.threshold:g}): "
            f"{int(report.sites['responders'].sum())} of {int(report.sites['patients_scored'].sum())} "
            f"({100 * report.target:.1f}%)."
        ),
        f"Alerts (outside 95%): {_names(funnel, 'alert')}; alarms (outside 99.8%): {_names(funnel, 'alarm')}.",
    ]
    runs = len(report.history["runs"])
    lines.append(
        f"History: {runs} earlier run(s) of this output folder."
        if runs
        else "History: this is the first run of this output folder."
    )
    if report.merged_held_back:
        lines.append(
            "Small cells: the merged group of small sites changed by fewer patients than the minimum cell "
            "size since an earlier run, so it is left out of the pooled figures sites see this run."
        )
    return "\n".join(lines)


def _names(funnel: pd.DataFrame, flag: str) -> str:
    names = [f"{site} ({row.direction})" for site, row in funnel[funnel["flag"] == flag].iterrows()]
    return ", ".join(names) or "none"


# --- Header, findings, provenance (rendered through the escaped display path) -------------------------------


def header_html(report: RegistryReport) -> str:
    """The report header (data file, run time, sites, population, policy) and a synthetic-data banner, escaped."""
    from html import escape

    from ivig_kit.reports.content.display import SYNTHETIC_BANNER, table_html

    rows = pd.DataFrame(
        {
            "value": [
                report.source["data_file"] + f" (SHA-256 {report.source['data_sha256'][:12]}…)",
                report.run_time.strftime("%Y-%m-%d %H:%M UTC"),
                (f"{len(report.sites)} sites, {int(report.sites['patients'].sum())} patients"),
                (f"{report.population} (responder: last complete TIS >= {report.threshold:g})"),
                OUTLIER_POLICY,
            ]
        },
        index=pd.Index(["Visit table", "Run time", "Registry", "Population", "Outlier policy"], name="item"),
    )
    banner = (
        SYNTHETIC_BANNER.format(source=escape("; ".join(report.source["data_sources"]))) if report.synthetic else ""
    )
    return banner + table_html(rows, "Registry report: what it was made from.")


def key_findings_html(report: RegistryReport) -> str:
    """The key findings as an escaped HTML list."""
    from html import escape

    items = []
    for line in key_findings(report).splitlines():
        head, colon, rest = line.partition(": ")
        items.append(
            f"<li><strong>{escape(head)}</strong>: {escape(rest)}</li>" if colon else f"<li>{escape(line)}</li>"
        )
    return '<ul class="ivig-key-findings">' + "".join(items) + "</ul>"


def provenance(report: RegistryReport) -> pd.DataFrame:
    """Input files and checksums, rows, parameters, versions and the kit's git commit."""
    from ivig_kit.reports.content.summary import git_commit, package_versions

    rows = [
        ("visit table", report.source["data_file"]),
        ("visit table SHA-256", report.source["data_sha256"]),
        ("visit table rows", str(report.source["visit_rows"])),
        ("adverse-event table", report.source["adverse_events_file"] or "none supplied"),
        ("data source", "; ".join(report.source["data_sources"]) or "not stated"),
        ("visit pattern (weeks)", ", ".join(f"{w:g}" for w in report.source["visit_pattern"])),
        ("runs in the history", str(len(report.history["runs"]))),
    ]
    for name in REGISTRY_PARAMETERS:
        value = getattr(report.parameters, name)
        rows.append((f"parameter {name}", repr(value.name if isinstance(value, Path) else value)))
    rows += [(f"version of {name}", version) for name, version in package_versions().items()]
    rows.append(("git commit of ivig-kit", git_commit()))
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")
