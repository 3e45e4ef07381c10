"""One site's report: what ``notebooks/site_report.ipynb`` shows, computed here where it is tested.

The notebook is run by papermill (``ivig-kit reports``) with the parameters in
:data:`REPORT_PARAMETERS`, validated right after injection by :func:`validate_report_parameters`.
:func:`load_site` reads the registry once, scores every visit with
:func:`ivig_kit.score.total_improvement_score`, keeps the site's own visits, scores and adverse events,
and reduces all sites to **aggregates without patient identifiers** (counts, percentages, per-site
rates with the site names dropped). Nothing a report shows or writes can therefore name another
site's patient. The tables and figures below each take the loaded :class:`SiteReport`.

Responders are patients whose last follow-up visit with a complete TIS reaches the population's
minimal-improvement threshold (TIS >= 20 for adults, >= 30 for juvenile DM). The visit pattern
(scheduled weeks) is read from the registry: the weeks at which at least a quarter of all patients
were seen; other weeks are out of pattern.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import io
import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass, field
from difflib import get_close_matches
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import betaincinv

from ivig_kit.errors import InputError
from ivig_kit.files import file_sha256, write_atomically
from ivig_kit.score import CATEGORY_THRESHOLDS, CORE_SET, total_improvement_score
from ivig_kit.visits import ENZYMES, VAS_COLUMNS, read_visits

#: The names of the notebook's literal-only ``parameters`` cell, in order (the batch runner injects them).
REPORT_PARAMETERS = ("site", "data_path", "adverse_events_path", "population", "summary_path")
POPULATIONS = tuple(CATEGORY_THRESHOLDS)
#: A week is part of the visit pattern when at least this share of the registry's patients was seen then.
PATTERN_SHARE = 0.25
ADVERSE_EVENT_REQUIRED = ("site", "patient_id", "week", "event")
THROMBOEMBOLIC_PATTERN = re.compile(r"thromb|embol|stroke|infarct", flags=re.IGNORECASE)
CSM_INPUTS = (*VAS_COLUMNS, "haq", "mmt")  # measured CSMs besides the enzyme
FIGURE_DPI = 80
PACKAGES = ("ivig-kit", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "pandera", "papermill", "nbconvert")
ARM_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")


class ReportParameterError(InputError):
    """A report parameter that cannot be used; one line per problem."""


class AdverseEventTableError(InputError):
    """An adverse-event table that cannot be used."""


# --- Parameters ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportParameters:
    """The validated parameters: the site as text, existing input files, optional outputs as ``None``."""

    site: str
    data_path: Path
    adverse_events_path: Path | None
    population: str
    summary_path: Path | None

    def as_dict(self) -> dict:
        return {name: "" if getattr(self, name) is None else str(getattr(self, name)) for name in REPORT_PARAMETERS}


def validate_report_parameters(site, data_path, adverse_events_path="", population="adult",
                               summary_path="") -> ReportParameters:
    """Check injected parameters and say clearly what is wrong (unknown site, bad population, missing file)."""
    problems = []
    if not isinstance(site, str):
        problems.append(f"site must be text, got {type(site).__name__} {site!r}: pass identifiers as strings "
                        f"(papermill -r site 007, or a parameters dict), so '007' does not become 7")
    elif not site.strip():
        problems.append("site is empty; expected a site name from the visit table")
    if population not in POPULATIONS:
        problems.append(f"population must be one of {', '.join(POPULATIONS)}, not {population!r}")
    data = _existing_file("data_path", data_path, problems)
    events = None
    if adverse_events_path not in ("", None):
        events = _existing_file("adverse_events_path", adverse_events_path, problems)
    summary = None
    if summary_path not in ("", None):
        summary = Path(summary_path).expanduser().resolve()
        if summary.is_dir():
            problems.append(f"summary_path {str(summary_path)!r} is a folder; expected a file name such as site.json")
        elif not summary.parent.is_dir():
            problems.append(f"summary_path {str(summary_path)!r}: folder {str(summary.parent)!r} does not exist")
    if data is not None and isinstance(site, str) and site.strip():
        sites = registry_sites(data)
        if site not in sites:
            close = get_close_matches(site, sites, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"site {site!r} is not in {data.name}{hint}; its sites are: "
                            + ", ".join(repr(s) for s in sites))
    if problems:
        raise ReportParameterError("\n".join(problems))
    return ReportParameters(site, data, events, population, summary)


def _existing_file(name: str, value, problems: list[str]) -> Path | None:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        problems.append(f"{name} must be the path of a file, got {value!r}")
        return None
    path = Path(value).expanduser().resolve()
    if not path.exists():
        problems.append(f"{name}: file not found: {str(value)!r} (looked in {str(path)!r})")
    elif not path.is_file():
        problems.append(f"{name}: {str(value)!r} is not a file")
    else:
        return path
    return None


def registry_sites(path: Path | str) -> list[str]:
    """The site names of a visit table in order of appearance, read cheaply (only the ``site`` column)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            column = pd.read_parquet(path, columns=["site"])["site"]
        else:
            column = pd.read_csv(path, usecols=["site"], dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig")["site"]
    except Exception:
        read_visits(path)  # raises the located error of an unusable table
        raise
    return list(dict.fromkeys(str(s).strip() for s in column if str(s).strip()))


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


# --- Intervals -----------------------------------------------------------------------------------------------


def proportion_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of k/n, as proportions: the beta quantiles of the exact test.

    The same numbers as statsmodels' ``proportion_confint(k, n, method="beta")`` (checked in the tests),
    computed with ``scipy.special.betaincinv``, which saves each report kernel a second of imports.
    """
    if n == 0:
        return (np.nan, np.nan)
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
    return low, high


def _responders_by_week(scores: pd.DataFrame, pattern, threshold: float, by_arm: bool) -> pd.DataFrame:
    scored = scores[scores["tis"].notna() & scores["week"].isin(pattern)]
    keys = ["week", "arm"] if by_arm and "arm" in scored else ["week"]
    table = scored.groupby(keys, sort=True).agg(
        n=("tis", "size"), responders=("tis", lambda t: int((t >= threshold).sum())),
        median_tis=("tis", "median")).reset_index()
    table["percent"] = 100 * table["responders"] / table["n"]
    intervals = [proportion_interval(k, n) for k, n in zip(table["responders"], table["n"])]
    table["ci_low"] = [100 * low for low, _ in intervals]
    table["ci_high"] = [100 * high for _, high in intervals]
    table = table[keys + ["n", "responders", "percent", "ci_low", "ci_high", "median_tis"]]
    if "arm" in keys:
        table = table.sort_values(["week", "arm"], key=lambda s: s.map(_arm_order) if s.name == "arm" else s)
    return table.reset_index(drop=True)


# --- Tables --------------------------------------------------------------------------------------------------


def _groups(report: SiteReport) -> list[tuple[str, pd.Series]]:
    """(label, mask over the site's visits) for each arm, then all patients."""
    groups = [(arm, report.visits["arm"] == arm) for arm in report.arms]
    return groups + [("All", pd.Series(True, index=report.visits.index))]


def _median_iqr(values: pd.Series, digits: int = 1) -> str:
    values = values.dropna()
    if values.empty:
        return "–"
    q1, median, q3 = values.quantile([0.25, 0.5, 0.75])
    return f"{median:.{digits}f} ({q1:.{digits}f}–{q3:.{digits}f})"


def _n_percent(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.0f}%)" if n else "0"


def enrolment_table(report: SiteReport) -> pd.DataFrame:
    """Enrolment and baseline characteristics by arm: n (%), median (IQR) of the baseline CSMs."""
    baseline = report.visits.sort_values("week").groupby("patient_id", sort=False).head(1)
    columns = {}
    for label, mask in _groups(report):
        first = baseline[mask.loc[baseline.index]]
        n = len(first)
        column = {"Patients, n": str(n)}
        if "visit_date" in first:
            column["First visits (enrolment)"] = f"{first['visit_date'].min()} to {first['visit_date'].max()}"
        if "sex" in first:
            column["Female, n (%)"] = _n_percent(int((first["sex"] == "F").sum()), n)
        if "age" in first:
            column["Age, years, median (IQR)"] = _median_iqr(first["age"].astype(float), 0)
        if "subtype" in first:
            for subtype, count in first["subtype"].value_counts().sort_index().items():
                column[f"Subtype {subtype}, n (%)"] = _n_percent(int(count), n)
        column["MMT scale (maximum)"] = ", ".join(f"{m:g}" for m in sorted(first["mmt_max"].unique()))
        for name in CSM_INPUTS:
            unit = "% of scale" if name == "mmt" else ("0-3" if name == "haq" else "cm")
            values = 100 * first["mmt"] / first["mmt_max"] if name == "mmt" else first[name]
            column[f"Baseline {CORE_SET[name].label.split(' (')[0].lower()}, {unit}, median (IQR)"] = \
                _median_iqr(values, 0 if name == "mmt" else (2 if name == "haq" else 1))
        if "ck" in first:
            column["Baseline CK, x ULN, median (IQR)"] = _median_iqr(first["ck"] / first["ck_uln"])
        patients = report.patients[report.patients["patient_id"].isin(first["patient_id"])]
        column["Followed to the last scheduled week, n (%)"] = _n_percent(int((~patients["stopped_early"]).sum()), n)
        columns[label] = column
    table = pd.DataFrame(columns)
    table.index.name = "characteristic"
    return table.fillna("–")


def tis_by_patient(report: SiteReport) -> pd.DataFrame:
    """Each patient's TIS at the scheduled weeks (rows: patients); empty cells are missed visits or missing CSMs.

    Out-of-pattern visits are left out here (they are listed under data quality)."""
    weeks = [w for w in report.visit_pattern if w > 0]
    table = report.scores.pivot_table(index="patient_id", columns="week", values="tis", aggfunc="first",
                                      dropna=False)
    table = table.reindex(index=report.patients["patient_id"], columns=weeks)
    table.columns = [f"week {w:g}" for w in table.columns]
    return table


def responders_by_visit(report: SiteReport) -> pd.DataFrame:
    """Responders (TIS >= the minimal threshold) at each scheduled follow-up week, by arm, with 95% CIs.

    Columns: week, arm, n (patients with a complete TIS that week), responders, percent, ci_low and
    ci_high (Clopper-Pearson, percent), median_tis.
    """
    return _responders_by_week(report.scores, report.visit_pattern, report.threshold, by_arm=True)


def csm_contributions(report: SiteReport) -> pd.DataFrame:
    """Which CSMs drive the scores: mean points per CSM at each patient's last complete TIS, by arm."""
    last = report.patients.dropna(subset=["last_scored_week"])
    rows = report.scores.merge(last[["patient_id", "last_scored_week"]], left_on=["patient_id", "week"],
                               right_on=["patient_id", "last_scored_week"])
    table = pd.DataFrame({"CSM": [CORE_SET[m].label for m in CORE_SET],
                          "maximum points": [CORE_SET[m].max_points for m in CORE_SET]})
    groups = [(arm, rows["arm"] == arm) for arm in report.arms] + [("All", pd.Series(True, index=rows.index))]
    for label, mask in groups:
        table[f"mean points, {label} (n={int(mask.sum())})"] = [rows.loc[mask, f"{m}_points"].mean() for m in CORE_SET]
    total = table.iloc[:, -1].sum()
    table["share of the mean TIS, All, %"] = 100 * table.iloc[:, -1] / total if total else np.nan
    return table.set_index("CSM")


def confirmed_deteriorations(report: SiteReport) -> pd.DataFrame:
    """Patients with a confirmed deterioration (ProDERM definition): first confirmed week and the course."""
    worse = report.scores[report.scores["deterioration_criteria_met"]]
    rows = []
    for patient, first_week in report.patients.dropna(subset=["confirmed_deterioration_week"]) \
            .set_index("patient_id")["confirmed_deterioration_week"].items():
        info = report.patients.set_index("patient_id").loc[patient]
        at = report.scores[(report.scores["patient_id"] == patient) & (report.scores["week"] == first_week)]
        rows.append({"patient_id": patient, "arm": info.get("arm", "–"), "subtype": info.get("subtype", "–"),
                     "confirmed at week": first_week,
                     "criteria met at weeks": ", ".join(f"{w:g}" for w in worse.loc[worse["patient_id"] == patient,
                                                                                     "week"]),
                     "TIS at confirmation": at["tis"].iloc[0] if len(at) else np.nan,
                     "last visit week": info["last_week"]})
    return pd.DataFrame(rows, columns=["patient_id", "arm", "subtype", "confirmed at week", "criteria met at weeks",
                                       "TIS at confirmation", "last visit week"])


def adverse_event_table(report: SiteReport) -> pd.DataFrame:
    """Adverse events by event and arm: events (patients), of which serious and related."""
    events = report.adverse_events
    if events.empty:
        return pd.DataFrame(columns=["event"]).set_index("event")
    arm_of = report.patients.set_index("patient_id")["arm"] if "arm" in report.patients else None
    events = events.assign(arm=events["patient_id"].map(arm_of) if arm_of is not None else "All")
    columns = {}
    for label in [*report.arms, "All"]:
        group = events if label == "All" else events[events["arm"] == label]
        columns[f"{label}: events (patients)"] = group.groupby("event").apply(
            lambda g: f"{len(g)} ({g['patient_id'].nunique()})", include_groups=False)
        columns[f"{label}: serious"] = group.groupby("event")["serious"].apply(lambda s: int(s.fillna(False).sum()))
    columns["related (all arms)"] = events.groupby("event")["related"].apply(lambda s: int(s.fillna(False).sum()))
    table = pd.DataFrame(columns)
    order = events["event"].value_counts()
    table = table.loc[order.index]
    for column in table.columns:
        table[column] = table[column].fillna("0 (0)") if "events" in column else table[column].fillna(0).astype(int)
    table.index.name = "event"
    return table


def notable_adverse_events(report: SiteReport) -> pd.DataFrame:
    """Serious or thromboembolic adverse events, one row each."""
    events = report.adverse_events
    notable = events[events["serious"].fillna(False).astype(bool) | events["thromboembolic"]]
    arm_of = report.patients.set_index("patient_id")["arm"] if "arm" in report.patients else None
    table = notable.assign(arm=notable["patient_id"].map(arm_of) if arm_of is not None else "–")
    columns = ["patient_id", "arm", "week", "event", "serious", "related", "thromboembolic"]
    table = table[columns].reset_index(drop=True)
    for flag in ("serious", "related", "thromboembolic"):
        table[flag] = table[flag].map({True: "yes", False: "no"}).fillna("unknown")
    return table


def data_quality_summary(report: SiteReport) -> pd.DataFrame:
    """Counts of data problems at this site: missing CSMs, missed and out-of-pattern visits, early stops."""
    missing = missing_csm_counts(report.visits)
    patients = report.patients
    n_visits, n_followups = len(report.visits), len(report.scores)
    rows = [("Visits", n_visits, ""),
            ("Visits with at least one missing CSM value", int(missing.any(axis=1).sum()), f"of {n_visits} visits"),
            ("Follow-up visits without a complete TIS", int(report.scores["tis"].isna().sum()),
             f"of {n_followups} follow-up visits")]
    for name in missing.columns:
        rows.append((f"  missing: {CORE_SET[name].label}", int(missing[name].sum()), "visits"))
    rows += [("Missed scheduled visits", int(patients["missed_visits"].sum()),
              "scheduled weeks " + ", ".join(f"{w:g}" for w in report.visit_pattern)),
             ("Out-of-pattern visits", int(patients["out_of_pattern_visits"].sum()), "visits at unscheduled weeks"),
             ("Patients whose last visit is before the last scheduled week", int(patients["stopped_early"].sum()),
              f"of {len(patients)} patients")]
    if report.adverse_events_supplied:
        known = set(zip(report.visits["patient_id"], report.visits["week"]))
        orphan = sum((p, w) not in known for p, w in zip(report.adverse_events["patient_id"],
                                                          report.adverse_events["week"]))
        rows.append(("Adverse events at a week without a visit of that patient", orphan,
                     f"of {len(report.adverse_events)} events"))
    return pd.DataFrame(rows, columns=["check", "count", "out of"]).set_index("check")


def data_quality_listing(report: SiteReport) -> pd.DataFrame:
    """One row per problem (patient, week, what), for the site's data manager."""
    rows = []
    missing = missing_csm_counts(report.visits)
    for index, row in missing[missing.any(axis=1)].iterrows():
        names = ", ".join(name for name in missing.columns if row[name])
        rows.append((report.visits.at[index, "patient_id"], report.visits.at[index, "week"], "missing CSM", names))
    pattern = np.asarray(report.visit_pattern, dtype=float)
    seen = report.visits.groupby("patient_id")["week"].apply(set)
    for patient in report.patients.itertuples():
        weeks = seen[patient.patient_id]
        for week in pattern[(pattern > patient.first_week) & (pattern < patient.last_week)]:
            if week not in weeks:
                rows.append((patient.patient_id, week, "missed scheduled visit", ""))
        for week in sorted(w for w in weeks if w not in report.visit_pattern):
            rows.append((patient.patient_id, week, "out-of-pattern visit", "week not in the visit pattern"))
        if patient.stopped_early:
            rows.append((patient.patient_id, patient.last_week, "last visit before the last scheduled week", ""))
    table = pd.DataFrame(rows, columns=["patient_id", "week", "problem", "detail"])
    return table.sort_values(["patient_id", "week", "problem"], kind="stable").reset_index(drop=True)


def _format_value(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return {"int": f"{value:.0f}", "pct": f"{value:.0f}%", "rate": f"{value:.2f}", "num": f"{value:.1f}"}[kind]


#: Rows of the site-against-pooled table: (metric key, label, format).
COMPARISON_METRICS = (
    ("patients", "Patients", "int"),
    ("visits_per_patient", "Visits per patient", "num"),
    ("responder_percent", "Responders at the last complete TIS", "pct"),
    ("mean_last_tis", "Mean TIS at the last complete TIS", "num"),
    ("confirmed_deterioration_percent", "Patients with a confirmed deterioration", "pct"),
    ("adverse_events_per_patient", "Adverse events per patient", "rate"),
    ("serious_adverse_events_per_patient", "Serious adverse events per patient", "rate"),
    ("thromboembolic_events", "Thromboembolic events", "int"),
    ("missing_csm_visit_percent", "Visits with a missing CSM value", "pct"),
    ("stopped_early_percent", "Patients whose last visit is before the last scheduled week", "pct"),
)


def _interval_text(metrics: dict) -> str:
    low, high = proportion_interval(metrics["responders"], metrics["patients_scored"])
    return "" if np.isnan(low) else f" (95% CI {100 * low:.0f}–{100 * high:.0f})"


def site_against_pooled(report: SiteReport) -> pd.DataFrame:
    """This site next to all sites pooled and the range over the other sites (aggregates only)."""
    others = report.other_sites
    rows = []
    for key, label, kind in COMPARISON_METRICS:
        if key.startswith(("adverse", "serious", "thrombo")) and not report.adverse_events_supplied:
            continue
        mine, pooled = report.site_metrics[key], report.pooled_metrics[key]
        if key == "responder_percent":
            mine_text = _format_value(mine, kind) + _interval_text(report.site_metrics)
            pooled_text = _format_value(pooled, kind) + _interval_text(report.pooled_metrics)
        else:
            mine_text, pooled_text = _format_value(mine, kind), _format_value(pooled, kind)
        spread = (f"{_format_value(others[key].min(), kind)} to {_format_value(others[key].max(), kind)}"
                  if len(others) else "–")
        rows.append((label, mine_text, pooled_text, spread))
    columns = [report.site, f"all {report.source['data_sites']} sites pooled",
               f"range over the {len(others)} other sites"]
    return pd.DataFrame([r[1:] for r in rows], index=pd.Index([r[0] for r in rows], name="metric"), columns=columns)


# --- Provenance and summary ----------------------------------------------------------------------------------


def git_commit(directory: Path | str | None = None) -> str:
    """The git commit of the kit's checkout ("unknown" outside a git checkout)."""
    directory = Path(directory) if directory else Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True)
        commit = result.stdout.strip()
        dirty = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions(packages=PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(report: SiteReport) -> pd.DataFrame:
    """Where the numbers come from: input files and their SHA-256, rows, parameters, versions, git commit."""
    source = report.source
    rows = [("site", report.site),
            ("run time (UTC)", report.run_time.strftime("%Y-%m-%d %H:%M:%S")),
            ("visit table", source["data_path"]),
            ("visit table SHA-256", source["data_sha256"]),
            ("visit table rows (all sites)", str(source["data_rows"])),
            ("visit table rows (this site)", str(len(report.visits))),
            ("sites / patients in the table", f"{source['data_sites']} / {source['data_patients']}"),
            ("data source", "; ".join(report.data_sources) or "not stated (no data_source column)")]
    if report.adverse_events_supplied:
        rows += [("adverse-event table", source["adverse_events_path"]),
                 ("adverse-event table SHA-256", source["adverse_events_sha256"]),
                 ("adverse-event rows (all sites / this site)",
                  f"{source['adverse_events_rows']} / {len(report.adverse_events)}")]
    else:
        rows.append(("adverse-event table", "none supplied"))
    rows += [(f"parameter {name}", repr(value)) for name, value in report.parameters.as_dict().items()]
    rows += [("visit pattern (weeks)", ", ".join(f"{w:g}" for w in report.visit_pattern)),
             ("responder definition", f"last complete TIS >= {report.threshold:g} ({report.population} threshold)"),
             ("enzyme normalisation", "relative to baseline (ivig_kit default)")]
    rows += [(f"version of {name}", version) for name, version in package_versions().items()]
    rows.append(("git commit of ivig-kit", git_commit()))
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else round(float(value), 4)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def site_summary(report: SiteReport) -> dict:
    """The site's key figures for the batch index (JSON-ready; aggregates only, no patient identifiers)."""
    metrics = report.site_metrics
    low, high = proportion_interval(metrics["responders"], metrics["patients_scored"])
    summary = {
        "site": report.site, "population": report.population, "patients": metrics["patients"],
        "visits": metrics["visits"], "last_week": metrics["last_week"],
        "data_cutoff": metrics.get("data_cutoff"), "patients_scored": metrics["patients_scored"],
        "responder_threshold": report.threshold, "responders": metrics["responders"],
        "responder_percent": metrics["responder_percent"], "responder_ci_low": 100 * low,
        "responder_ci_high": 100 * high, "mean_last_tis": metrics["mean_last_tis"],
        "confirmed_deteriorations": metrics["confirmed_deteriorations"],
        "adverse_events": metrics["adverse_events"] if report.adverse_events_supplied else None,
        "serious_adverse_events": metrics["serious_adverse_events"] if report.adverse_events_supplied else None,
        "thromboembolic_events": metrics["thromboembolic_events"] if report.adverse_events_supplied else None,
        "missing_csm_visits": metrics["missing_csm_visits"], "missed_visits": metrics["missed_visits"],
        "out_of_pattern_visits": metrics["out_of_pattern_visits"],
        "pooled_responder_percent": report.pooled_metrics["responder_percent"],
        "synthetic": report.synthetic, "data_file": report.source["data_file"],
        "data_sha256": report.source["data_sha256"], "generated_at": report.run_time.isoformat(timespec="seconds"),
    }
    return {key: _plain(value) for key, value in summary.items()}


def write_site_summary(path, summary: dict) -> Path:
    """Write the summary as UTF-8 JSON atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    text = json.dumps(summary, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return write_atomically(path, text)


# --- Header and findings -------------------------------------------------------------------------------------


SYNTHETIC_BANNER = ('<div style="background:#fff3cd;border:2px solid #d4a72c;padding:8px 12px;margin:6px 0;'
                    'font-size:1.1em" class="synthetic-banner"><strong>SYNTHETIC DATA</strong> &mdash; this report '
                    'is built from {source}. No real patient is described.</div>')


def header_html(report: SiteReport) -> str:
    """The report header: site, data cut-off, run time, and a banner when the data are synthetic."""
    metrics = report.site_metrics
    cutoff = f"week {metrics['last_week']:g}"
    if metrics.get("data_cutoff"):
        cutoff = f"{metrics['data_cutoff']} (last visit at this site; {cutoff})"
    rows = [("Site", report.site), ("Data cut-off", cutoff),
            ("Run time", report.run_time.strftime("%Y-%m-%d %H:%M UTC")),
            ("Patients / visits", f"{metrics['patients']} / {metrics['visits']}"),
            ("TIS thresholds", f"{report.population} ("
                               f"{', '.join(f'{t:g}' for t in CATEGORY_THRESHOLDS[report.population])})"),
            ("Visit table", f"{report.source['data_file']} (SHA-256 {report.source['data_sha256'][:12]}…)")]
    table = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th><td style='text-align:left'>"
                    f"{escape(str(v))}</td></tr>" for k, v in rows)
    banner = SYNTHETIC_BANNER.format(source=escape("; ".join(report.data_sources))) if report.synthetic else ""
    return f"{banner}<table class='site-report-header'>{table}</table>"


def key_findings(report: SiteReport) -> str:
    """The summary in a few Markdown bullet points."""
    summary = site_summary(report)
    lines = [f"- **{summary['patients']} patients** with {summary['visits']} visits up to week "
             f"{summary['last_week']:g}"
             + (f" (data cut-off {summary['data_cutoff']})." if summary["data_cutoff"] else ".")]
    if summary["patients_scored"]:
        lines.append(f"- **Responders** (last complete TIS >= {summary['responder_threshold']:g}): "
                     f"{summary['responders']} of {summary['patients_scored']} "
                     f"({summary['responder_percent']:.0f}%, 95% CI {summary['responder_ci_low']:.0f}–"
                     f"{summary['responder_ci_high']:.0f}%); all sites pooled: "
                     f"{summary['pooled_responder_percent']:.0f}%.")
    lines.append(f"- **Confirmed deteriorations**: {summary['confirmed_deteriorations']} patient(s).")
    if summary["adverse_events"] is not None:
        lines.append(f"- **Adverse events**: {summary['adverse_events']}, of which {summary['serious_adverse_events']} "
                     f"serious and {summary['thromboembolic_events']} thromboembolic.")
    lines.append(f"- **Data quality**: {summary['missing_csm_visits']} visit(s) with a missing CSM value, "
                 f"{summary['missed_visits']} missed scheduled visit(s), {summary['out_of_pattern_visits']} "
                 f"out-of-pattern visit(s).")
    if report.synthetic:
        lines.append("- These data are **synthetic**: the numbers illustrate the report, not any real site.")
    return "\n".join(lines)


# --- Figures -------------------------------------------------------------------------------------------------


def _figure(width: float, height: float, columns: int = 1, left: float = 0.8):
    """A figure with fixed margins (``left`` in inches); a layout engine would cost a third of the drawing time."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=FIGURE_DPI)
    axes = figure.subplots(1, columns, sharey=True, squeeze=False)[0]
    figure.subplots_adjust(left=left / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - 0.35 / height,
                           wspace=0.06)
    return figure, axes


def _colour(report: SiteReport, arm: str) -> str:
    arms = report.arms
    return ARM_COLOURS[arms.index(arm) % len(ARM_COLOURS)] if arm in arms else "#444444"


def _threshold_lines(ax, report: SiteReport) -> None:
    for threshold, name in zip(CATEGORY_THRESHOLDS[report.population], ("minimal", "moderate", "major")):
        ax.axhline(threshold, color="grey", lw=0.8, ls="--")
        ax.text(0.99, threshold, f" {name} ({threshold:g})", transform=ax.get_yaxis_transform(), ha="right",
                va="bottom", fontsize=7, color="grey")


def tis_over_time_figure(report: SiteReport):
    """Each patient's TIS at every follow-up visit, one panel per arm; x marks a confirmed deterioration."""
    groups = report.arms or ["All"]
    figure, axes = _figure(4.2 * len(groups), 3.4, len(groups))
    scores = report.scores.dropna(subset=["tis"])
    for ax, arm in zip(axes, groups):
        mine = scores if arm == "All" else scores[scores["arm"] == arm]
        colour = _colour(report, arm)
        for _, course in mine.groupby("patient_id"):
            ax.plot(course["week"], course["tis"], color=colour, alpha=0.35, lw=0.9, marker=".", ms=3)
        median = mine[mine["week"].isin(report.visit_pattern)].groupby("week")["tis"].median()
        ax.plot(median.index, median.values, color="black", lw=2, label="median")
        worse = mine[mine["confirmed_deterioration"]]
        ax.plot(worse["week"], worse["tis"], "x", color="crimson", ms=7, mew=2, label="confirmed deterioration")
        _threshold_lines(ax, report)
        ax.set(title=f"{arm} (n={mine['patient_id'].nunique()})", xlabel="week", ylim=(-2, 102),
               xticks=[w for w in report.visit_pattern if w > 0])
    axes[0].set_ylabel("Total Improvement Score")
    axes[0].legend(loc="upper left", fontsize=7, frameon=False)
    return figure


def responders_figure(report: SiteReport, table: pd.DataFrame | None = None):
    """Responder percentage by scheduled week and arm with 95% CIs, next to all sites pooled."""
    table = responders_by_visit(report) if table is None else table
    figure, axes = _figure(6.5, 3.2)
    ax = axes[0]
    arms = report.arms or [None]
    for offset, arm in zip(np.linspace(-0.5, 0.5, len(arms)), arms):
        rows = table if arm is None else table[table["arm"] == arm]
        ax.errorbar(rows["week"] + offset, rows["percent"],
                    yerr=[rows["percent"] - rows["ci_low"], rows["ci_high"] - rows["percent"]],
                    fmt="o-", capsize=3, color=_colour(report, arm), label=arm or report.site)
    pooled = report.pooled_by_week
    ax.plot(pooled["week"], pooled["percent"], color="grey", ls=":", marker="s", ms=4,
            label="all sites pooled (both arms)")
    ax.set(xlabel="week", ylabel=f"% with TIS >= {report.threshold:g}", ylim=(0, 100),
           xticks=[w for w in report.visit_pattern if w > 0])
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return figure


def csm_contributions_figure(report: SiteReport, table: pd.DataFrame | None = None):
    """Mean points per CSM by arm, against each CSM's maximum."""
    table = csm_contributions(report) if table is None else table
    figure, axes = _figure(7.0, 3.0, left=2.4)
    ax = axes[0]
    labels = [label.split(" (")[0] for label in table.index]
    positions = np.arange(len(table))
    columns = [c for c in table.columns if c.startswith("mean points") and "All" not in c] or \
        [c for c in table.columns if c.startswith("mean points")]
    height = 0.8 / len(columns)
    ax.barh(positions, table["maximum points"], color="none", edgecolor="grey", ls="--", label="maximum")
    for number, column in enumerate(columns):
        arm = column.removeprefix("mean points, ").split(" (")[0]
        ax.barh(positions - 0.4 + height * (number + 0.5), table[column].fillna(0), height=height,
                color=_colour(report, arm), label=column.removeprefix("mean points, "))
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("points (at each patient's last complete TIS)")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return figure


def funnel_figure(report: SiteReport):
    """Responder percentage of every site against its number of scored patients, with pooled control limits.

    Other sites are unnamed grey points: the report compares, it does not rank named sites."""
    figure, axes = _figure(6.0, 3.2)
    ax = axes[0]
    pooled = report.pooled_metrics["responder_percent"] / 100
    n_max = max([report.site_metrics["patients_scored"], *report.other_sites["patients_scored"], 2])
    n = np.linspace(2, n_max * 1.1, 200)
    for z, style in ((1.96, "--"), (3.09, ":")):
        spread = z * np.sqrt(pooled * (1 - pooled) / n)
        ax.plot(n, 100 * np.clip(pooled - spread, 0, 1), color="grey", ls=style, lw=0.8)
        ax.plot(n, 100 * np.clip(pooled + spread, 0, 1), color="grey", ls=style, lw=0.8,
                label=f"{'95' if z < 2 else '99.8'}% limits")
    ax.axhline(100 * pooled, color="grey", lw=1, label="all sites pooled")
    ax.scatter(report.other_sites["patients_scored"], report.other_sites["responder_percent"], color="lightgrey",
               edgecolor="grey", label="other sites", zorder=3)
    ax.scatter([report.site_metrics["patients_scored"]], [report.site_metrics["responder_percent"]], color="crimson",
               s=60, label=report.site, zorder=4)
    ax.set(xlabel="patients with a complete TIS", ylabel=f"% responders (TIS >= {report.threshold:g})", ylim=(0, 100))
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return figure


# --- Display in a notebook -----------------------------------------------------------------------------------


def figure_png(figure) -> bytes:
    """The figure as PNG bytes (deterministic: no timestamps in the file)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def show_figure(figure, caption: str) -> None:
    """Display a figure as a PNG image followed by its caption."""
    from IPython.display import Image, Markdown, display

    display(Image(data=figure_png(figure), format="png"))
    display(Markdown(f"*{caption}*"))


#: Readable headings for the column names of the tables above (applied when a table is shown).
COLUMN_LABELS = {"n": "n with a complete TIS", "percent": "% responders", "ci_low": "95% CI low (%)",
                 "ci_high": "95% CI high (%)", "median_tis": "median TIS", "patient_id": "patient"}


def show_table(table: pd.DataFrame, caption: str, precision: int = 1, index: bool = True) -> None:
    """Display a table with its caption and readable column headings (an empty table says "none")."""
    from IPython.display import Markdown, display

    if table.empty:
        display(Markdown(f"*{caption}*: none."))
        return
    table = table.rename(columns=COLUMN_LABELS)
    weeks = {column: _format_week for column in table.columns
             if "week" in str(column).lower() and pd.api.types.is_float_dtype(table[column])
             and not str(column).startswith("week ")}
    styler = table.style.format(precision=precision, na_rep="–").format(weeks).set_caption(caption)
    if not index:
        styler = styler.hide(axis="index")
    styler = styler.set_table_styles([{"selector": "caption", "props": "caption-side: top; text-align: left; "
                                                                      "font-style: italic; padding: 4px 0;"}])
    display(styler)


def _format_week(value) -> str:
    return "–" if pd.isna(value) else f"{value:g}"


def show_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))
