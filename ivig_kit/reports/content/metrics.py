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
    grouped = visits.groupby(key, sort=False)
    patients = grouped.size().to_frame("visits")  # patients in order of their first visit
    codes = grouped.ngroup().to_numpy()
    count = len(patients)
    week = visits["week"].to_numpy(dtype=float)
    patients["first_week"] = _group_reduce(np.fmin, codes, week, count)
    patients["last_week"] = _group_reduce(np.fmax, codes, week, count)
    missing = missing_csm_counts(visits).any(axis=1).to_numpy()
    pattern_weeks = np.asarray(pattern, dtype=float)
    at_pattern_week = week[:, None] == pattern_weeks[None, :]
    patients["missing_csm_visits"] = np.bincount(codes, weights=missing, minlength=count).astype(np.int64)
    out_of_pattern = ~at_pattern_week.any(axis=1)
    patients["out_of_pattern_visits"] = np.bincount(codes, weights=out_of_pattern, minlength=count).astype(np.int64)
    seen = np.zeros((count, len(pattern_weeks)), dtype=bool)
    rows, columns = np.nonzero(at_pattern_week)
    seen[codes[rows], columns] = True
    first, last = patients["first_week"].to_numpy()[:, None], patients["last_week"].to_numpy()[:, None]
    missed = (pattern_weeks > first) & (pattern_weeks < last) & ~seen
    patients["missed_visits"] = missed.sum(axis=1).astype(np.int64)
    patients["stopped_early"] = patients["last_week"] < (max(pattern) if len(pattern) else 0)
    described = [column for column in ("arm", "subtype") if column in visits]
    if described:
        patients[described] = grouped[described].first()
    score_codes = _codes_of(patients.index, scores)
    complete = scores["tis"].notna().to_numpy() & (score_codes >= 0)
    score_weeks, tis = scores["week"].to_numpy(dtype=float), scores["tis"].to_numpy(dtype=float)
    order = np.flatnonzero(complete)
    order = order[np.lexsort((score_weeks[order], score_codes[order]))]  # stable: a tie keeps the later row
    ends = order[np.r_[score_codes[order][1:] != score_codes[order][:-1], True]] if len(order) else order
    last_scored_week, last_tis = np.full(count, np.nan), np.full(count, np.nan)
    last_scored_week[score_codes[ends]], last_tis[score_codes[ends]] = score_weeks[ends], tis[ends]
    patients["last_scored_week"] = last_scored_week
    patients["last_tis"] = last_tis
    patients["responder"] = patients["last_tis"] >= threshold
    confirmed = scores["confirmed_deterioration"].fillna(False).astype(bool).to_numpy() & (score_codes >= 0)
    patients["confirmed_deterioration_week"] = _group_reduce(
        np.fmin, score_codes[confirmed], score_weeks[confirmed], count
    )
    event_codes = _codes_of(patients.index, events) if len(events) else np.zeros(0, dtype=np.intp)
    known = event_codes >= 0
    flags = {
        "adverse_events": np.ones(len(events)),
        "serious_adverse_events": events["serious"].fillna(False).astype(bool).to_numpy(dtype=float),
        "thromboembolic_events": events["thromboembolic"].to_numpy(dtype=float),
    }
    for column, flag in flags.items():
        patients[column] = np.bincount(event_codes[known], weights=flag[known], minlength=count).astype(np.int64)
    return patients.reset_index()


def _group_reduce(function: np.ufunc, codes: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """``function`` (``np.fmin``, ``np.fmax``) of ``values`` per group code; NaN for a group without a value."""
    reduced = np.full(count, np.nan)
    function.at(reduced, codes, values)
    return reduced


def _codes_of(patients: pd.MultiIndex, rows: pd.DataFrame) -> np.ndarray:
    """Each row's position in ``patients`` (site, patient_id), -1 for a patient who is not there."""
    return patients.get_indexer(pd.MultiIndex.from_arrays([rows["site"], rows["patient_id"]]))


#: The per-site sums of :func:`site_metrics`: metric -> column of the patient table.
_SUMMED = {
    "visits": "visits",
    "responders": "responder",
    "missing_csm_visits": "missing_csm_visits",
    "missed_visits": "missed_visits",
    "out_of_pattern_visits": "out_of_pattern_visits",
    "stopped_early": "stopped_early",
    "serious_adverse_events": "serious_adverse_events",
    "thromboembolic_events": "thromboembolic_events",
}


def site_metrics(patients: pd.DataFrame, visits: pd.DataFrame, events: pd.DataFrame, pattern) -> pd.DataFrame:
    """Aggregates per site (index: site name): counts and percentages only, no patient identifiers."""
    grouped = patients.groupby("site", sort=False)
    sums = grouped[list(_SUMMED.values())].sum()  # one pass for every count (named aggregations: one each)
    counts = grouped[["last_tis", "confirmed_deterioration_week"]].count()
    metrics = pd.DataFrame(
        {
            "patients": grouped.size(),
            "visits": sums["visits"],
            "last_week": grouped["last_week"].max(),
            "patients_scored": counts["last_tis"],
            "responders": sums["responder"],
            "mean_last_tis": grouped["last_tis"].mean(),
            "confirmed_deteriorations": counts["confirmed_deterioration_week"],
            **{name: sums[column] for name, column in _SUMMED.items() if name not in ("visits", "responders")},
        }
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
    columns = [c for c in ("week", "arm", "tis") if c in scores]  # not every score column: a copy of each is slow
    scored = scores.loc[scores["tis"].notna() & scores["week"].isin(pattern), columns]
    keys = ["week", "arm"] if by_arm and "arm" in scored else ["week"]
    table = _responders_per_group(scored, keys, threshold)
    table["percent"] = 100 * table["responders"] / table["n"]
    intervals = [responder_interval(k, n) for k, n in zip(table["responders"], table["n"])]
    table["ci_low"] = [100 * low for low, _ in intervals]
    table["ci_high"] = [100 * high for _, high in intervals]
    table = table[keys + ["n", "responders", "percent", "ci_low", "ci_high", "median_tis"]]
    if "arm" in keys:
        table = table.sort_values(["week", "arm"], key=lambda s: s.map(arm_order) if s.name == "arm" else s)
    return table.reset_index(drop=True)


def _responders_per_group(scored: pd.DataFrame, keys: list[str], threshold: float) -> pd.DataFrame:
    """Per group of ``keys`` (sorted; a row with a missing key in no group): n, responders, median TIS."""
    codes, labels = zip(*(pd.factorize(scored[k], sort=True) for k in keys))
    group = np.zeros(len(scored), dtype=np.int64)
    for code, label in zip(codes, labels):
        group = group * len(label) + code
    kept = np.all(np.stack(codes) >= 0, axis=0)
    if not kept.any():  # no group: the types a groupby gives then
        return pd.DataFrame({**{k: scored[k] for k in keys}, "n": 0, "responders": 0.0, "median_tis": 0.0})[:0]
    ids, positions, inverse = np.unique(group[kept], return_index=True, return_inverse=True)
    tis = scored["tis"].to_numpy(dtype=float)[kept]
    first = np.flatnonzero(kept)[positions]  # a row of each group, for its keys
    table = pd.DataFrame({k: np.asarray(label)[code[first]] for k, code, label in zip(keys, codes, labels)})
    table["n"] = np.bincount(inverse, minlength=len(ids))
    table["responders"] = np.bincount(inverse, weights=tis >= threshold, minlength=len(ids)).astype(np.int64)
    by_group = np.split(tis[np.argsort(inverse, kind="stable")], np.cumsum(table["n"].to_numpy())[:-1])
    table["median_tis"] = [np.median(values) for values in by_group]
    return table
