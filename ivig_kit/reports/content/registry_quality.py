"""Per-site data quality and patient-time of the registry report (one row per site, registry order).

Definitions (ours, stated in the report; see :mod:`.registry`): a **baseline-only patient** has one visit,
or no visit after the first; a **measure at floor or ceiling** is a VAS at 0 or 10 cm, a HAQ at 0 or 3, an
MMT at 0 or its scale maximum, as a share of the measured values; a **late visit** is a visit outside the
visit pattern whose preceding scheduled week the patient missed; **patient-time** is the weeks from each
patient's first to last visit, summed, in patient-years (:data:`WEEKS_PER_YEAR`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.score.measures import SCALE_RANGE

WEEKS_PER_YEAR = 52.1775


def floor_ceiling_counts(visits: pd.DataFrame) -> pd.DataFrame:
    """Per site: measured CSM values (VAS, HAQ, MMT) and how many sit at their scale's floor or ceiling."""
    measured = pd.Series(0, index=visits.index)
    extreme = pd.Series(0, index=visits.index)
    for column, top in SCALE_RANGE.items():
        if column in visits:
            values = visits[column]
            measured += values.notna()
            extreme += (values == 0) | (values == top)
    if "mmt" in visits and "mmt_max" in visits:
        measured += visits["mmt"].notna()
        extreme += (visits["mmt"] == 0) | (visits["mmt"] == visits["mmt_max"])
    return (
        pd.DataFrame({"site": visits["site"], "measured": measured, "extreme": extreme})
        .groupby("site", sort=False)
        .sum()
    )


def late_visits(visits: pd.DataFrame, pattern) -> pd.Series:
    """Per site: visits outside the pattern whose preceding scheduled week the patient missed."""
    weeks = np.asarray(sorted(pattern), dtype=float)
    seen = set(zip(visits["site"], visits["patient_id"], visits["week"]))
    late = []
    for site, patient, week in zip(visits["site"], visits["patient_id"], visits["week"]):
        earlier = weeks[weeks < week]
        late.append(week not in weeks and len(earlier) > 0 and (site, patient, earlier[-1]) not in seen)
    return pd.Series(late, index=visits.index).groupby(visits["site"], sort=False).sum().astype(int)


def site_quality(visits: pd.DataFrame, patients: pd.DataFrame, metrics: pd.DataFrame, pattern) -> pd.DataFrame:
    """One row per site: patients, responders, data quality, and events per patient-year."""
    table = metrics[
        [
            "patients",
            "visits",
            "patients_scored",
            "responders",
            "responder_percent",
            "confirmed_deteriorations",
            "adverse_events",
            "serious_adverse_events",
            "missing_csm_visits",
            "missed_visits",
            "out_of_pattern_visits",
        ]
    ].copy()
    grouped = patients.groupby("site", sort=False)
    table["baseline_only"] = grouped.apply(
        lambda p: int((p["last_week"] <= p["first_week"]).sum()), include_groups=False
    )
    extremes = floor_ceiling_counts(visits)
    table["floor_ceiling_percent"] = 100 * extremes["extreme"] / extremes["measured"].where(extremes["measured"] > 0)
    table["late_visits"] = late_visits(visits, pattern).reindex(table.index).fillna(0).astype(int)
    table["missing_csm_visit_percent"] = 100 * table["missing_csm_visits"] / table["visits"]
    years = (
        grouped.apply(lambda p: float((p["last_week"] - p["first_week"]).sum()), include_groups=False) / WEEKS_PER_YEAR
    )
    table["patient_years"] = years
    table["deteriorations_per_patient_year"] = table["confirmed_deteriorations"] / years.where(years > 0)
    table["adverse_events_per_patient_year"] = table["adverse_events"] / years.where(years > 0)
    table.index.name = "site"
    return table
