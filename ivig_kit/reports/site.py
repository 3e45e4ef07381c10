"""One site's data inside a report kernel: loading, scoring and the per-patient and per-site tables.

The notebook is run by papermill (``ivig-kit reports``) with the parameters in
:data:`ivig_kit.reports.parameters.REPORT_PARAMETERS`, validated right after injection by :func:`ivig_kit.reports.parameters.validate_report_parameters`.
:func:`load_site` reads the registry once, scores every visit with
:func:`ivig_kit.score.total_improvement_score`, keeps the site's own visits, scores and adverse events,
and reduces all sites to **aggregates without patient identifiers** (counts, percentages, per-site
rates with the site names dropped). Nothing a report shows or writes can therefore name another
site's patient. The tables (:mod:`.tables`) and figures (:mod:`.figures`) each take the loaded :class:`SiteReport`.

Responders are patients whose last follow-up visit with a complete TIS reaches the population's
minimal-improvement threshold (TIS >= 20 for adults, >= 30 for juvenile DM). The visit pattern
(scheduled weeks) is read from the registry: the weeks at which at least a quarter of all patients
were seen; other weeks are out of pattern.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ivig_kit.errors import AdverseEventTableError
from ivig_kit.files import file_sha256
from ivig_kit.inference.proportions import clopper_pearson_interval
from ivig_kit.reports.parameters import ReportParameters, validate_report_parameters
from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.measures import CATEGORY_THRESHOLDS, ENZYMES
from ivig_kit.score.visits import VAS_COLUMNS, read_visits

#: A week is part of the visit pattern when at least this share of the registry's patients was seen then.
PATTERN_SHARE = 0.25
ADVERSE_EVENT_REQUIRED = ("site", "patient_id", "week", "event")
THROMBOEMBOLIC_PATTERN = re.compile(r"thromb|embol|stroke|infarct", flags=re.IGNORECASE)
CSM_INPUTS = (*VAS_COLUMNS, "haq", "mmt")  # measured CSMs besides the enzyme


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
    run_time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))

    @property
    def threshold(self) -> float:
        """TIS of minimal improvement for the population (the responder definition)."""
        return CATEGORY_THRESHOLDS[self.population][0]

    @property
    def arms(self) -> list[str]:
        if "arm" not in self.visits:
            return []
        return sorted(self.visits["arm"].dropna().astype(str).unique(), key=_arm_order)


def _arm_order(arm: str):
    return (0 if arm.lower().startswith("ivig") else 1, arm)


def load_site(site, data_path=None, adverse_events_path=None, population: str = "adult") -> SiteReport:
    """Read the registry once and return the site's data with pooled aggregates of all sites.

    ``site`` may be a :class:`ReportParameters` from :func:`validate_report_parameters` instead.
    """
    if isinstance(site, ReportParameters):
        parameters = site
    else:
        parameters = validate_report_parameters(site, data_path, adverse_events_path or "", population)
    site, population = parameters.site, parameters.population
    all_visits = read_visits(parameters.data_path)
    all_scores = total_improvement_score(all_visits, population=population, validate=False)
    threshold = CATEGORY_THRESHOLDS[population][0]
    pattern = visit_pattern(all_visits)
    events = (read_adverse_events(parameters.adverse_events_path) if parameters.adverse_events_path
              else _empty_adverse_events())
    all_patients = patient_table(all_visits, all_scores, events, pattern, threshold)
    metrics = site_metrics(all_patients, all_visits, events, pattern)
    pooled = _row(site_metrics(all_patients.assign(site="all"), all_visits.assign(site="all"),
                               events.assign(site="all"), pattern), "all")
    data_sources = tuple(sorted(all_visits["data_source"].dropna().astype(str).unique())) \
        if "data_source" in all_visits else ()
    source = {"data_path": str(parameters.data_path), "data_file": parameters.data_path.name,
              "data_sha256": file_sha256(parameters.data_path), "data_rows": len(all_visits),
              "data_sites": int(all_visits["site"].nunique()),
              "data_patients": int(all_visits[["site", "patient_id"]].drop_duplicates().shape[0]),
              "adverse_events_path": str(parameters.adverse_events_path or ""),
              "adverse_events_sha256": file_sha256(parameters.adverse_events_path)
              if parameters.adverse_events_path else "", "adverse_events_rows": len(events)}
    mine = all_visits["site"] == site
    report = SiteReport(
        site=site, population=population, parameters=parameters,
        visits=all_visits[mine].reset_index(drop=True),
        scores=all_scores[all_scores["site"] == site].reset_index(drop=True),
        patients=all_patients[all_patients["site"] == site].reset_index(drop=True),
        adverse_events=events[events["site"] == site].reset_index(drop=True),
        adverse_events_supplied=parameters.adverse_events_path is not None,
        visit_pattern=pattern,
        site_metrics=_row(metrics, site), pooled_metrics=pooled,
        other_sites=metrics.drop(index=site).reset_index(drop=True),
        pooled_by_week=_responders_by_week(all_scores, pattern, threshold, by_arm=False),
        source=source, synthetic=any("synthetic" in s.lower() or "reconstructed" in s.lower()
                                     for s in data_sources),
        data_sources=data_sources)
    return report


def _row(table: pd.DataFrame, label) -> dict:
    """One row as a dict of plain Python values, keeping each column's type (counts stay integers)."""
    return {column: table.at[label, column].item() if hasattr(table.at[label, column], "item")
            else table.at[label, column] for column in table.columns}


def read_adverse_events(path) -> pd.DataFrame:
    """Read an adverse-event table (CSV or Parquet): site, patient_id, week, event, [serious], [related].

    Identifiers stay text; ``serious`` and ``related`` become booleans (yes/no, true/false, 1/0; empty is
    unknown).
    """
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as error:
        raise AdverseEventTableError(f"{path.name}: not a readable adverse-event table ({error})") from None
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [c for c in ADVERSE_EVENT_REQUIRED if c not in raw.columns]
    if missing:
        raise AdverseEventTableError(f"{path.name}: missing column(s) {', '.join(map(repr, missing))}; expected "
                                     f"{', '.join(ADVERSE_EVENT_REQUIRED)} and optionally serious, related")
    events = raw.copy()
    for column in ("site", "patient_id", "event"):
        events[column] = events[column].map(lambda v: "" if v is None else str(v).strip())
    week = pd.to_numeric(events["week"], errors="coerce")
    if week.isna().any():
        row = int(np.flatnonzero(week.isna().to_numpy())[0])
        raise AdverseEventTableError(f"{path.name}: row {row + 1}, column 'week': expected a number, "
                                     f"got {events['week'].iloc[row]!r}")
    events["week"] = week.astype(float)
    flags = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}
    for column in ("serious", "related"):
        if column not in events:
            events[column] = pd.NA
            continue
        text = events[column].map(lambda v: "" if v is None or v is pd.NA else str(v).strip().lower())
        unknown = ~text.isin([*flags, "", "na", "nan"])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise AdverseEventTableError(f"{path.name}: row {row + 1}, column {column!r}: expected yes or no, "
                                         f"got {events[column].iloc[row]!r}")
        events[column] = text.map(flags).astype("boolean")
    events["thromboembolic"] = events["event"].str.contains(THROMBOEMBOLIC_PATTERN)
    return events


def _empty_adverse_events() -> pd.DataFrame:
    return pd.DataFrame({"site": pd.Series(dtype=object), "patient_id": pd.Series(dtype=object),
                         "week": pd.Series(dtype=float), "event": pd.Series(dtype=object),
                         "serious": pd.Series(dtype="boolean"), "related": pd.Series(dtype="boolean"),
                         "thromboembolic": pd.Series(dtype=bool)})


def visit_pattern(visits: pd.DataFrame, share: float = PATTERN_SHARE) -> tuple[float, ...]:
    """The scheduled weeks: those at which at least ``share`` of all patients had a visit."""
    patients = visits[["site", "patient_id"]].drop_duplicates().shape[0]
    counts = visits.groupby("week").size()
    return tuple(float(w) for w in counts.index[counts >= share * patients])


def missing_csm_counts(visits: pd.DataFrame) -> pd.DataFrame:
    """Per visit, which CSM values are missing (the enzyme counts as missing when no enzyme was measured)."""
    missing = visits[list(CSM_INPUTS)].isna()
    enzymes = [e for e in ENZYMES if e in visits]
    missing["enzyme"] = visits[enzymes].isna().all(axis=1) if enzymes else True
    return missing


def patient_table(visits: pd.DataFrame, scores: pd.DataFrame, events: pd.DataFrame, pattern, threshold: float
                  ) -> pd.DataFrame:
    """One row per patient: visits, last week, last complete TIS, responder, deterioration, data quality."""
    key = ["site", "patient_id"]
    missing = missing_csm_counts(visits)
    per_visit = visits[key + ["week"]].assign(missing_csm=missing.any(axis=1).to_numpy(),
                                              out_of_pattern=~visits["week"].isin(pattern).to_numpy())
    patients = per_visit.groupby(key, sort=False).agg(
        visits=("week", "size"), first_week=("week", "min"), last_week=("week", "max"),
        missing_csm_visits=("missing_csm", "sum"), out_of_pattern_visits=("out_of_pattern", "sum"))
    seen = set(zip(visits["site"], visits["patient_id"], visits["week"]))
    pattern_weeks = np.asarray(pattern, dtype=float)
    patients["missed_visits"] = [
        sum((site, patient, w) not in seen for w in pattern_weeks[(pattern_weeks > first) & (pattern_weeks < last)])
        for (site, patient), first, last in zip(patients.index, patients["first_week"], patients["last_week"])]
    patients["stopped_early"] = patients["last_week"] < (max(pattern) if len(pattern) else 0)
    for column in ("arm", "subtype"):
        if column in visits:
            patients[column] = visits.groupby(key, sort=False)[column].first()
    scored = scores[scores["tis"].notna()].sort_values(key + ["week"])
    last = scored.groupby(key, sort=False).tail(1).set_index(key)
    patients["last_scored_week"] = last["week"]
    patients["last_tis"] = last["tis"]
    patients["responder"] = patients["last_tis"] >= threshold
    confirmed = scores[scores["confirmed_deterioration"]].groupby(key)["week"].min()
    patients["confirmed_deterioration_week"] = confirmed
    if len(events):
        counts = events.groupby(key).agg(adverse_events=("event", "size"),
                                         serious_adverse_events=("serious", lambda s: int(s.fillna(False).sum())),
                                         thromboembolic_events=("thromboembolic", "sum"))
        patients = patients.join(counts)
    for column in ("adverse_events", "serious_adverse_events", "thromboembolic_events"):
        patients[column] = patients[column].fillna(0).astype(int) if column in patients else 0
    return patients.reset_index()


def site_metrics(patients: pd.DataFrame, visits: pd.DataFrame, events: pd.DataFrame, pattern) -> pd.DataFrame:
    """Aggregates per site (index: site name): counts and percentages only, no patient identifiers."""
    grouped = patients.groupby("site", sort=False)
    metrics = grouped.agg(patients=("patient_id", "size"), visits=("visits", "sum"), last_week=("last_week", "max"),
                          patients_scored=("last_tis", "count"), responders=("responder", "sum"),
                          mean_last_tis=("last_tis", "mean"),
                          confirmed_deteriorations=("confirmed_deterioration_week", "count"),
                          missing_csm_visits=("missing_csm_visits", "sum"), missed_visits=("missed_visits", "sum"),
                          out_of_pattern_visits=("out_of_pattern_visits", "sum"),
                          stopped_early=("stopped_early", "sum"),
                          serious_adverse_events=("serious_adverse_events", "sum"),
                          thromboembolic_events=("thromboembolic_events", "sum"))
    # events of patients missing from the visit table still count for their site
    metrics["adverse_events"] = events.groupby("site").size().reindex(metrics.index).fillna(0).astype(int)
    metrics["responder_percent"] = 100 * metrics["responders"] / metrics["patients_scored"].where(
        metrics["patients_scored"] > 0)
    metrics["confirmed_deterioration_percent"] = 100 * metrics["confirmed_deteriorations"] / metrics["patients"]
    metrics["missing_csm_visit_percent"] = 100 * metrics["missing_csm_visits"] / metrics["visits"]
    metrics["visits_per_patient"] = metrics["visits"] / metrics["patients"]
    metrics["adverse_events_per_patient"] = metrics["adverse_events"] / metrics["patients"]
    metrics["serious_adverse_events_per_patient"] = metrics["serious_adverse_events"] / metrics["patients"]
    metrics["stopped_early_percent"] = 100 * metrics["stopped_early"] / metrics["patients"]
    if "visit_date" in visits:
        metrics["data_cutoff"] = visits.groupby("site", sort=False)["visit_date"].max().astype(str)
    return metrics


def responder_interval(k: int, n: int) -> tuple[float, float]:
    """Exact 95% interval of k responders of n; none (NaN, NaN) when no patient could be scored."""
    return (np.nan, np.nan) if n == 0 else clopper_pearson_interval(k, n)


def _responders_by_week(scores: pd.DataFrame, pattern, threshold: float, by_arm: bool) -> pd.DataFrame:
    scored = scores[scores["tis"].notna() & scores["week"].isin(pattern)]
    keys = ["week", "arm"] if by_arm and "arm" in scored else ["week"]
    table = scored.groupby(keys, sort=True).agg(
        n=("tis", "size"), responders=("tis", lambda t: int((t >= threshold).sum())),
        median_tis=("tis", "median")).reset_index()
    table["percent"] = 100 * table["responders"] / table["n"]
    intervals = [responder_interval(k, n) for k, n in zip(table["responders"], table["n"])]
    table["ci_low"] = [100 * low for low, _ in intervals]
    table["ci_high"] = [100 * high for _, high in intervals]
    table = table[keys + ["n", "responders", "percent", "ci_low", "ci_high", "median_tis"]]
    if "arm" in keys:
        table = table.sort_values(["week", "arm"], key=lambda s: s.map(_arm_order) if s.name == "arm" else s)
    return table.reset_index(drop=True)
