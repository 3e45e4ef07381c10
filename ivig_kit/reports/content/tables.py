"""The tables of one site's report, each computed from a loaded :class:`~ivig_kit.reports.content.site.SiteReport`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.reports.content.metrics import (
    CSM_INPUTS,
    missing_csm_counts,
    responder_interval,
    responders_by_week,
)
from ivig_kit.reports.content.site import SiteReport
from ivig_kit.score.measures import CORE_SET

# --- Number formats (the one home; :mod:`ivig_kit.reports.content.display` formats every table cell with these) ---

#: Decimals shown for each numeric kind: counts as integers, percentages and scores to one decimal, rates
#: (events per patient) to two; p values get two significant figures and weeks are shown as written.
DECIMALS = {"count": 0, "percent": 1, "score": 1, "rate": 2}
MISSING = "–"


def format_value(value, kind: str, missing: str = MISSING) -> str:
    """One value as text (not yet escaped) by kind (``text``, ``count``, ``percent``, ``score``, ``rate``,
    ``p``, ``week``; see :data:`DECIMALS`); a missing value becomes ``missing``, never ``nan``."""
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, (float, np.floating)) and np.isnan(value))
    ):
        return missing
    if kind == "text":
        return str(value)
    if kind == "week":
        return f"{float(value):g}"
    if kind == "p":
        if value < 0.001:
            return "<0.001"
        digits = max(1, 1 - int(np.floor(np.log10(float(value)))))  # two significant figures
        text = f"{float(value):.{digits}f}"
        return "1.0" if float(text) >= 1 else text
    text = f"{float(value):.{DECIMALS[kind]}f}"
    return "0" if kind == "count" and text == "-0" else text


# --- Tables --------------------------------------------------------------------------------------------------


def _median_iqr(values, digits: int = 1) -> str:
    """Median (IQR) of the values that are not missing (a Series or floats)."""
    array = values.to_numpy(dtype=float, na_value=np.nan) if isinstance(values, pd.Series) else values
    array = array[~np.isnan(array)]
    if not array.size:
        return "–"
    q1, median, q3 = np.percentile(array, [25.0, 50.0, 75.0])  # what Series.quantile computes, without its frames
    return f"{median:.{digits}f} ({q1:.{digits}f}–{q3:.{digits}f})"


def _n_percent(k: int, n: int) -> str:
    return f"{k} ({format_value(100 * k / n, 'percent')}%)" if n else "0"


def enrolment_table(report: SiteReport) -> pd.DataFrame:
    """Enrolment and baseline characteristics by arm: n (%), median (IQR) of the baseline CSMs."""
    baseline = report.visits.sort_values("week").groupby("patient_id", sort=False).head(1)
    # each column once as floats (or text), then each arm's rows of them: no frame per arm
    numbers = {name: baseline[name] for name in CSM_INPUTS} | {"mmt": 100 * baseline["mmt"] / baseline["mmt_max"]}
    if "age" in baseline:
        numbers["age"] = baseline["age"].astype(float)
    if "ck" in baseline:
        numbers["ck"] = baseline["ck"] / baseline["ck_uln"]
    numbers = {name: values.to_numpy(dtype=float, na_value=np.nan) for name, values in numbers.items()}
    female = (baseline["sex"] == "F").to_numpy(dtype=bool) if "sex" in baseline else None
    mmt_max, ids = baseline["mmt_max"].to_numpy(), baseline["patient_id"].to_numpy()
    followed = ~report.patients["stopped_early"].to_numpy(dtype=bool)
    patient_ids = report.patients["patient_id"].to_numpy()
    arms = baseline["arm"].to_numpy() if "arm" in baseline else None
    columns = {}
    for label in [*report.arms, "All"]:
        mask = np.ones(len(baseline), dtype=bool) if label == "All" else (arms == label)
        n = int(mask.sum())
        column = {"Patients, n": str(n)}
        if "visit_date" in baseline:
            dates = baseline["visit_date"][mask]
            column["First visits (enrolment)"] = f"{dates.min()} to {dates.max()}"
        if female is not None:
            column["Female, n (%)"] = _n_percent(int(female[mask].sum()), n)
        if "age" in numbers:
            column["Age, years, median (IQR)"] = _median_iqr(numbers["age"][mask], 0)
        if "subtype" in baseline:
            for subtype, count in baseline["subtype"][mask].value_counts().sort_index().items():
                column[f"Subtype {subtype}, n (%)"] = _n_percent(int(count), n)
        column["MMT scale (maximum)"] = ", ".join(f"{m:g}" for m in sorted(pd.unique(mmt_max[mask])))
        for name in CSM_INPUTS:
            unit = "% of scale" if name == "mmt" else ("0-3" if name == "haq" else "cm")
            column[f"Baseline {CORE_SET[name].label.split(' (')[0].lower()}, {unit}, median (IQR)"] = _median_iqr(
                numbers[name][mask], 0 if name == "mmt" else (2 if name == "haq" else 1)
            )
        if "ck" in numbers:
            column["Baseline CK, x ULN, median (IQR)"] = _median_iqr(numbers["ck"][mask])
        in_group = np.isin(patient_ids, ids[mask])
        column["Followed to the last scheduled week, n (%)"] = _n_percent(int(followed[in_group].sum()), n)
        columns[label] = column
    table = pd.DataFrame(columns)
    table.index.name = "characteristic"
    return table.fillna("–")


def tis_by_patient(report: SiteReport) -> pd.DataFrame:
    """Each patient's TIS at the scheduled weeks (rows: patients); empty cells are missed visits or missing CSMs.

    Out-of-pattern visits are left out here (they are listed under data quality)."""
    weeks = [w for w in report.visit_pattern if w > 0]
    scores = report.scores[["patient_id", "week", "tis"]]
    table = scores.pivot_table(index="patient_id", columns="week", values="tis", aggfunc="first", dropna=False)
    table = table.reindex(index=report.patients["patient_id"], columns=weeks)
    table.columns = [f"week {w:g}" for w in table.columns]
    return table


def responders_by_visit(report: SiteReport) -> pd.DataFrame:
    """Responders (TIS >= the minimal threshold) at each scheduled follow-up week, by arm, with 95% CIs.

    Columns: week, arm, n (patients with a complete TIS that week), responders, percent, ci_low and
    ci_high (Clopper-Pearson, percent), median_tis.
    """
    return responders_by_week(report.scores, report.visit_pattern, report.threshold, by_arm=True)


def csm_contributions(report: SiteReport) -> pd.DataFrame:
    """Which CSMs drive the scores: mean points per CSM at each patient's last complete TIS, by arm."""
    last = report.patients.dropna(subset=["last_scored_week"])
    last_week = dict(zip(last["patient_id"], last["last_scored_week"]))
    scores = report.scores
    at_last = np.array(
        [last_week.get(patient) == week for patient, week in zip(scores["patient_id"], scores["week"])], dtype=bool
    )
    points = {m: scores[f"{m}_points"][at_last] for m in CORE_SET}  # each patient's row at the last complete TIS
    table = pd.DataFrame(
        {"CSM": [CORE_SET[m].label for m in CORE_SET], "maximum points": [CORE_SET[m].max_points for m in CORE_SET]}
    )
    arms = scores["arm"][at_last].to_numpy() if report.arms else None
    groups = [(arm, arms == arm) for arm in report.arms] + [("All", np.ones(int(at_last.sum()), dtype=bool))]
    for label, mask in groups:
        table[f"mean points, {label} (n={int(mask.sum())})"] = [points[m][mask].mean() for m in CORE_SET]
    total = table.iloc[:, -1].sum()
    table["share of the mean TIS, All, %"] = 100 * table.iloc[:, -1] / total if total else np.nan
    return table.set_index("CSM")


def confirmed_deteriorations(report: SiteReport) -> pd.DataFrame:
    """Patients with a confirmed deterioration (ProDERM definition): first confirmed week and the course."""
    scores = report.scores
    worse = scores["deterioration_criteria_met"].fillna(False).astype(bool).to_numpy()
    criteria_weeks: dict = {}
    for patient, week in zip(scores["patient_id"][worse], scores["week"][worse]):
        criteria_weeks.setdefault(patient, []).append(week)
    tis_at: dict = {}
    for patient, week, tis in zip(scores["patient_id"], scores["week"], scores["tis"]):
        tis_at.setdefault((patient, week), tis)  # the first row of the patient at that week
    patients = report.patients.dropna(subset=["confirmed_deterioration_week"])
    described = {c: patients[c] if c in patients else ["–"] * len(patients) for c in ("arm", "subtype")}
    rows = [
        {
            "patient_id": patient,
            "arm": arm,
            "subtype": subtype,
            "confirmed at week": first_week,
            "criteria met at weeks": ", ".join(f"{w:g}" for w in criteria_weeks.get(patient, [])),
            "TIS at confirmation": tis_at.get((patient, first_week), np.nan),
            "last visit week": last_week,
        }
        for patient, arm, subtype, first_week, last_week in zip(
            patients["patient_id"],
            described["arm"],
            described["subtype"],
            patients["confirmed_deterioration_week"],
            patients["last_week"],
        )
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "patient_id",
            "arm",
            "subtype",
            "confirmed at week",
            "criteria met at weeks",
            "TIS at confirmation",
            "last visit week",
        ],
    )


def adverse_event_table(report: SiteReport) -> pd.DataFrame:
    """Adverse events by event and arm: events (patients), of which serious and related.

    An arm without any event at the site gets ``0 (0)`` and 0 in every row (a per-group ``apply`` would
    return a frame, not a column, for it).
    """
    events = report.adverse_events
    if events.empty:
        return pd.DataFrame(columns=["event"]).set_index("event")
    arm_of = report.patients.set_index("patient_id")["arm"] if "arm" in report.patients else None
    events = events.assign(
        arm=events["patient_id"].map(arm_of) if arm_of is not None else "All",
        is_serious=events["serious"].fillna(False).astype(bool),
        is_related=events["related"].fillna(False).astype(bool),
    )
    order = events["event"].value_counts().index
    codes = order.get_indexer(events["event"])
    patient_codes, patient_ids = pd.factorize(events["patient_id"])
    serious, related = events["is_serious"].to_numpy(dtype=float), events["is_related"].to_numpy(dtype=float)
    table = pd.DataFrame(index=order)
    for label in [*report.arms, "All"]:
        mask = np.ones(len(events), dtype=bool) if label == "All" else (events["arm"] == label).to_numpy(dtype=bool)
        counts = np.bincount(codes[mask], minlength=len(order))
        pairs = np.unique(codes[mask] * len(patient_ids) + patient_codes[mask])  # (event, patient), each once
        patients = np.bincount(pairs // max(len(patient_ids), 1), minlength=len(order))
        table[f"{label}: events (patients)"] = [f"{n} ({p})" for n, p in zip(counts, patients)]
        table[f"{label}: serious"] = np.bincount(codes[mask], weights=serious[mask], minlength=len(order)).astype(int)
    table["related (all arms)"] = np.bincount(codes, weights=related, minlength=len(order)).astype(int)
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
    rows = [
        ("Visits", n_visits, ""),
        ("Visits with at least one missing CSM value", int(missing.any(axis=1).sum()), f"of {n_visits} visits"),
        (
            "Follow-up visits without a complete TIS",
            int(report.scores["tis"].isna().sum()),
            f"of {n_followups} follow-up visits",
        ),
    ]
    for name in missing.columns:
        rows.append((f"  missing: {CORE_SET[name].label}", int(missing[name].sum()), "visits"))
    rows += [
        (
            "Missed scheduled visits",
            int(patients["missed_visits"].sum()),
            "scheduled weeks " + ", ".join(f"{w:g}" for w in report.visit_pattern),
        ),
        ("Out-of-pattern visits", int(patients["out_of_pattern_visits"].sum()), "visits at unscheduled weeks"),
        (
            "Patients whose last visit is before the last scheduled week",
            int(patients["stopped_early"].sum()),
            f"of {len(patients)} patients",
        ),
    ]
    if report.adverse_events_supplied:
        known = set(zip(report.visits["patient_id"], report.visits["week"]))
        orphan = sum(
            (p, w) not in known for p, w in zip(report.adverse_events["patient_id"], report.adverse_events["week"])
        )
        rows.append(
            (
                "Adverse events at a week without a visit of that patient",
                orphan,
                f"of {len(report.adverse_events)} events",
            )
        )
    return pd.DataFrame(rows, columns=["check", "count", "out of"]).set_index("check")


def data_quality_listing(report: SiteReport) -> pd.DataFrame:
    """One row per problem (patient, week, what), for the site's data manager."""
    rows = []
    missing = missing_csm_counts(report.visits)
    flags = missing.to_numpy(dtype=bool)
    visit_ids, visit_weeks = report.visits["patient_id"].to_numpy(), report.visits["week"].to_numpy()
    for position in np.flatnonzero(flags.any(axis=1)):
        names = ", ".join(name for name, flag in zip(missing.columns, flags[position]) if flag)
        rows.append((visit_ids[position], visit_weeks[position], "missing CSM", names))
    pattern = np.asarray(report.visit_pattern, dtype=float)
    seen: dict = {}
    for patient, week in zip(report.visits["patient_id"], report.visits["week"]):
        seen.setdefault(patient, set()).add(week)
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
    text = format_value(value, {"int": "count", "pct": "percent", "rate": "rate", "num": "score"}[kind])
    return text + "%" if kind == "pct" and text != MISSING else text


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
    if metrics.get("responders") is None or metrics.get("patients_scored") is None:  # suppressed: too few patients
        return ""
    low, high = responder_interval(metrics["responders"], metrics["patients_scored"])
    return (
        ""
        if np.isnan(low)
        else (f" (95% CI {format_value(100 * low, 'percent')}–{format_value(100 * high, 'percent')})")
    )


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
        spread = (
            f"{_format_value(others[key].min(), kind)} to {_format_value(others[key].max(), kind)}"
            if len(others)
            else "–"
        )
        rows.append((label, mine_text, pooled_text, spread))
    columns = [
        report.site,
        f"all {report.source['data_sites']} sites pooled",
        f"range over the {len(others)} other sites",
    ]
    return pd.DataFrame([r[1:] for r in rows], index=pd.Index([r[0] for r in rows], name="metric"), columns=columns)
