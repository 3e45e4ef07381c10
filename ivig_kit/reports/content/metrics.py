"""Per-patient and per-site metrics of a visit table: the visit pattern, one row per patient, aggregates per site
and responders by scheduled week (what :mod:`.site` computes for one site and for the pooled summary).

Responders are patients whose last follow-up visit with a complete TIS reaches the population's
minimal-improvement threshold. The visit pattern (scheduled weeks) is read from the registry: the weeks at
which at least a quarter of all patients were seen (:data:`PATTERN_SHARE`); other weeks are out of pattern.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.inference.proportions import clopper_pearson_interval
from ivig_kit.score.measures import ENZYMES
from ivig_kit.score.visits import VAS_COLUMNS

#: A week is part of the visit pattern when at least this share of the registry's patients was seen then.
PATTERN_SHARE = 0.25
CSM_INPUTS = (*VAS_COLUMNS, "haq", "mmt")  # measured CSMs besides the enzyme


def arm_order(arm: str):
    """Sort key of arm names: IVIg arms first, then the others by name."""
    return (0 if arm.lower().startswith("ivig") else 1, arm)


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


def patient_table(
    visits: pd.DataFrame, scores: pd.DataFrame, events: pd.DataFrame, pattern, threshold: float
) -> pd.DataFrame:
    """One row per patient: visits, last week, last complete TIS, responder, deterioration, data quality."""
    key = ["site", "patient_id"]
    missing = missing_csm_counts(visits)
    per_visit = visits[key + ["week"]].assign(
        missing_csm=missing.any(axis=1).to_numpy(), out_of_pattern=~visits["week"].isin(pattern).to_numpy()
    )
    patients = per_visit.groupby(key, sort=False).agg(
        visits=("week", "size"),
        first_week=("week", "min"),
        last_week=("week", "max"),
        missing_csm_visits=("missing_csm", "sum"),
        out_of_pattern_visits=("out_of_pattern", "sum"),
    )
    seen = set(zip(visits["site"], visits["patient_id"], visits["week"]))
    pattern_weeks = np.asarray(pattern, dtype=float)
    patients["missed_visits"] = [
        sum((site, patient, w) not in seen for w in pattern_weeks[(pattern_weeks > first) & (pattern_weeks < last)])
        for (site, patient), first, last in zip(patients.index, patients["first_week"], patients["last_week"])
    ]
    patients["stopped_early"] = patients["last_week"] < (max(pattern) if len(pattern) else 0)
    for column in ("arm", "subtype"):
        if column in visits:
            patients[column] = visits.groupby(key, sort=False)[column].first()
    scored = scores[scores["tis"].notna()].sort_values(key + ["week"])
    last = scored.groupby(key, sort=False).tail(1).set_index(key)
    patients["last_scored_week"] = last["week"]
    patients["last_tis"] = last["tis"]
    patients["responder"] = patients["last_tis"] >= threshold
    confirmed = scores[scores["confirmed_deterioration"].fillna(False).astype(bool)].groupby(key)["week"].min()
    patients["confirmed_deterioration_week"] = confirmed
    if len(events):
        counts = (
            events.assign(serious=events["serious"].fillna(False).astype(bool))
            .groupby(key)
            .agg(
                adverse_events=("event", "size"),
                serious_adverse_events=("serious", "sum"),
                thromboembolic_events=("thromboembolic", "sum"),
            )
        )
        patients = patients.join(counts)
    for column in ("adverse_events", "serious_adverse_events", "thromboembolic_events"):
        patients[column] = patients[column].fillna(0).astype(int) if column in patients else 0
    return patients.reset_index()


def site_metrics(patients: pd.DataFrame, visits: pd.DataFrame, events: pd.DataFrame, pattern) -> pd.DataFrame:
    """Aggregates per site (index: site name): counts and percentages only, no patient identifiers."""
    grouped = patients.groupby("site", sort=False)
    metrics = grouped.agg(
        patients=("patient_id", "size"),
        visits=("visits", "sum"),
        last_week=("last_week", "max"),
        patients_scored=("last_tis", "count"),
        responders=("responder", "sum"),
        mean_last_tis=("last_tis", "mean"),
        confirmed_deteriorations=("confirmed_deterioration_week", "count"),
        missing_csm_visits=("missing_csm_visits", "sum"),
        missed_visits=("missed_visits", "sum"),
        out_of_pattern_visits=("out_of_pattern_visits", "sum"),
        stopped_early=("stopped_early", "sum"),
        serious_adverse_events=("serious_adverse_events", "sum"),
        thromboembolic_events=("thromboembolic_events", "sum"),
    )
    # events of patients missing from the visit table still count for their site
    metrics["adverse_events"] = events.groupby("site").size().reindex(metrics.index).fillna(0).astype(int)
    metrics["responder_percent"] = (
        100 * metrics["responders"] / metrics["patients_scored"].where(metrics["patients_scored"] > 0)
    )
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


def responders_by_week(scores: pd.DataFrame, pattern, threshold: float, by_arm: bool) -> pd.DataFrame:
    """Responders (last complete TIS at the threshold so far) by scheduled week, per arm when ``by_arm``,
    with Clopper-Pearson intervals and the median TIS."""
    scored = scores[scores["tis"].notna() & scores["week"].isin(pattern)]
    keys = ["week", "arm"] if by_arm and "arm" in scored else ["week"]
    table = (
        scored.groupby(keys, sort=True)
        .agg(n=("tis", "size"), responders=("tis", lambda t: int((t >= threshold).sum())), median_tis=("tis", "median"))
        .reset_index()
    )
    table["percent"] = 100 * table["responders"] / table["n"]
    intervals = [responder_interval(k, n) for k, n in zip(table["responders"], table["n"])]
    table["ci_low"] = [100 * low for low, _ in intervals]
    table["ci_high"] = [100 * high for _, high in intervals]
    table = table[keys + ["n", "responders", "percent", "ci_low", "ci_high", "median_tis"]]
    if "arm" in keys:
        table = table.sort_values(["week", "arm"], key=lambda s: s.map(arm_order) if s.name == "arm" else s)
    return table.reset_index(drop=True)
