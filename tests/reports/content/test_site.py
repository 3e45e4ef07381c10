"""One site's data in its kernel, checked by hand on a tiny two-site registry; the pooled summary
and its small cells; privacy (a site's report never holds another site's patient)."""

from __future__ import annotations

import json
import math
import unicodedata

import numpy as np
import pandas as pd
import pytest

from ivig_kit import errors
from ivig_kit.reports.content import display, metrics, tables
from ivig_kit.reports.content import site as report_site
from ivig_kit.reports.content import summary as report_summary
from ivig_kit.score.visits import read_visits

from ..helpers import BASE, BETTER, visit


def test_visit_pattern_is_the_weeks_most_patients_attended(report):
    # weeks 0 and 4: 5 of 5 patients; 8 and 12: 4 of 5; week 6: 1 of 5 (< 25%)
    assert report.visit_pattern == (0.0, 4.0, 8.0, 12.0)


def test_site_metrics_by_hand(report):
    m = report.site_metrics
    assert (m["patients"], m["visits"], m["last_week"]) == (3, 11, 12)
    assert (m["patients_scored"], m["responders"]) == (3, 1)  # A-01 72.5; A-02 0 (week 12); A-03 0 (week 8)
    assert m["responder_percent"] == pytest.approx(100 / 3)
    assert m["mean_last_tis"] == pytest.approx(72.5 / 3)
    assert m["confirmed_deteriorations"] == 1
    assert (m["missing_csm_visits"], m["missed_visits"], m["out_of_pattern_visits"], m["stopped_early"]) == (1, 1, 1, 1)
    assert (m["adverse_events"], m["serious_adverse_events"], m["thromboembolic_events"]) == (2, 1, 1)
    assert m["data_cutoff"] == "2023-01-13"


def test_pooled_metrics_and_other_sites_are_aggregates(report):
    assert report.pooled_metrics["patients"] == 5
    assert report.pooled_metrics["responders"] == 3 and report.pooled_metrics["responder_percent"] == 60
    assert report.pooled_metrics["thromboembolic_events"] == 2
    assert len(report.other_sites) == 1 and "site" not in report.other_sites.columns
    assert report.other_sites.loc[0, "responder_percent"] == 100
    pooled_week_4 = report.pooled_by_week.set_index("week").loc[4.0]
    assert (pooled_week_4["n"], pooled_week_4["responders"]) == (5, 3)


def test_patient_rows(report):
    patients = report.patients.set_index("patient_id")
    assert list(patients["last_tis"]) == [72.5, 0.0, 0.0]
    assert list(patients["last_scored_week"]) == [12.0, 12.0, 8.0]
    assert patients.loc["A-03", "confirmed_deterioration_week"] == 8
    assert math.isnan(patients.loc["A-01", "confirmed_deterioration_week"])


def test_responder_interval_one_of_three():
    low, high = metrics.responder_interval(1, 3)
    assert low == pytest.approx(1 - 0.975 ** (1 / 3))
    # upper limit p solves P(X <= 1 | n=3, p) = 0.025: (1-p)^3 + 3p(1-p)^2 = 0.025
    assert (1 - high) ** 3 + 3 * high * (1 - high) ** 2 == pytest.approx(0.025)
    assert all(math.isnan(v) for v in metrics.responder_interval(0, 0))


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (17, 36), (37, 47)])
def test_responder_interval_matches_statsmodels_clopper_pearson(k, n):
    from statsmodels.stats.proportion import proportion_confint

    assert metrics.responder_interval(k, n) == pytest.approx(proportion_confint(k, n, method="beta"), abs=1e-12)


def test_missing_enzyme_everywhere_counts_as_a_missing_csm():
    visits = pd.DataFrame(
        {
            "physician_global": [1.0],
            "patient_global": [1.0],
            "extramuscular": [1.0],
            "haq": [1.0],
            "mmt": [1.0],
            "ck": [np.nan],
            "aldolase": [np.nan],
        }
    )
    assert metrics.missing_csm_counts(visits).loc[0].to_dict() == {
        "physician_global": False,
        "patient_global": False,
        "extramuscular": False,
        "haq": False,
        "mmt": False,
        "enzyme": True,
    }


def test_adverse_event_table_errors(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("site,patient_id,event\nA,1,rash\n", encoding="utf-8")
    with pytest.raises(errors.AdverseEventTableError, match=r"missing column.*'week'"):
        report_site.read_adverse_events(path)
    path.write_text("site,patient_id,week,event,serious\nA,001,4,rash,maybe\n", encoding="utf-8")
    with pytest.raises(errors.AdverseEventTableError, match="row 1, column 'serious': expected yes or no"):
        report_site.read_adverse_events(path)
    path.write_text("site,patient_id,week,event\nA,001,4,Deep vein thrombosis\n", encoding="utf-8")
    events = report_site.read_adverse_events(path)
    assert events.loc[0, "patient_id"] == "001" and bool(events.loc[0, "thromboembolic"])


def test_loaded_report_and_its_tables_hold_no_other_sites_patient(report):
    texts = [
        report.visits.to_csv(),
        report.scores.to_csv(),
        report.patients.to_csv(),
        report.adverse_events.to_csv(),
        report.other_sites.to_csv(),
        report.pooled_by_week.to_csv(),
        repr(report.pooled_metrics),
        repr(report.site_metrics),
        json.dumps(report_summary.site_summary(report)),
        display.header_html(report),
        display.key_findings(report),
    ]
    for table in (
        tables.enrolment_table,
        tables.tis_by_patient,
        tables.responders_by_visit,
        tables.csm_contributions,
        tables.confirmed_deteriorations,
        tables.adverse_event_table,
        tables.notable_adverse_events,
        tables.data_quality_summary,
        tables.data_quality_listing,
        tables.site_against_pooled,
        report_summary.provenance,
    ):
        texts.append(table(report).to_csv())
    text = "\n".join(texts)
    assert "A-01" in text  # the check can see identifiers
    assert "Z-01" not in text and "Z-02" not in text


def registry_with_sizes(sizes: dict[str, int]) -> pd.DataFrame:
    """Every patient a responder (TIS 72.5 at week 4) so a site's rate is 100% and its n is its size."""
    rows = [
        visit(name, f"{name}-{i:02d}", week, BASE if week == 0 else BETTER, "IVIg")
        for name, size in sizes.items()
        for i in range(size)
        for week in (0, 4)
    ]
    return pd.DataFrame(rows)


def summary_for(sizes: dict[str, int], reporting_site: str, min_cell_size: int = 5) -> dict:
    visits = registry_with_sizes(sizes)
    from ivig_kit.score.engine import total_improvement_score

    scores = total_improvement_score(visits, validate=False)
    aggregates = report_site.registry_aggregates(
        visits, scores, report_site.empty_adverse_events(), "adult", min_cell_size
    )
    return report_site.pooled_summary(aggregates, reporting_site)


def test_a_one_patient_site_is_never_shown_to_another_site():
    summary = summary_for({"Big": 20, "Other": 12, "Tiny": 1}, "Big")
    column = summary["metric_columns"].index("patients")
    shown = sorted(row[column] for row in summary["other_sites"])
    assert shown == [12]  # "Other" alone; the one-patient site is neither a row nor merged
    # and it is left out of the pooled figures too, so pooled minus shown sites cannot reveal it
    assert summary["pooled_metrics"]["patients"] == 32
    assert summary["registry"]["sites_left_out"] == 1 and summary["registry"]["patients_pooled"] == 32
    assert sum(row[1] for row in summary["pooled_by_week"] if row[0] == 4.0) == 32


def test_small_sites_are_merged_when_the_group_hides_each_member():
    summary = summary_for({"Big": 20, "S1": 3, "S2": 3, "S3": 4}, "Big")
    columns = summary["metric_columns"]
    rows = [dict(zip(columns, row)) for row in summary["other_sites"]]
    assert [(r["patients"], r["merged_sites"]) for r in rows] == [(10, 3)]  # one merged row, not 3, 3, 4
    assert summary["pooled_metrics"]["patients"] == 30
    # a merged site sees the group without itself (still >= 5 patients), never its own figures twice
    own = summary_for({"Big": 20, "S1": 3, "S2": 3, "S3": 4}, "S3")
    rows = [dict(zip(columns, row)) for row in own["other_sites"]]
    assert sorted((r["patients"], r["merged_sites"]) for r in rows) == [(6, 2), (20, 1)]


def test_small_cell_groups_left_out_when_merging_would_not_hide_the_largest():
    # 4 + 2 = 6 >= 5, but without the site of 4 only 2 remain: the site of 2 could read the other off
    assert report_site.small_cell_groups({"A": 9, "B": 4, "C": 2}, 5) == (["A"], [], ["B", "C"])
    assert report_site.small_cell_groups({"A": 9, "B": 4, "C": 2}, 1) == (["A", "B", "C"], [], [])


def test_identifiers_are_nfc_normalised_so_one_site_stays_one(tmp_path):
    composed, decomposed = "Z\u00fcrich", unicodedata.normalize("NFD", "Z\u00fcrich")
    assert composed != decomposed
    rows = pd.DataFrame([visit(composed, "Z-01", 0, BASE, "IVIg"), visit(decomposed, "Z-01", 4, BETTER, "IVIg")])
    rows.to_csv(tmp_path / "visits.csv", index=False)
    visits = read_visits(tmp_path / "visits.csv")
    assert visits["site"].tolist() == [composed, composed]


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u0007"])
def test_invisible_or_bidirectional_characters_in_identifiers_are_rejected(tmp_path, character):
    rows = pd.DataFrame(
        [visit("Leiden", "L-01", 0, BASE, "IVIg"), visit(f"Lei{character}den", "L-01", 4, BETTER, "IVIg")]
    )
    rows.to_csv(tmp_path / "visits.csv", index=False)
    with pytest.raises(errors.VisitTableError) as error:
        read_visits(tmp_path / "visits.csv")
    assert "visits.csv: row 2 (line 3), column 'site'" in str(error.value)
    assert "control characters" in str(error.value)


def test_arms_are_found_once_per_visit_table_and_are_those_of_the_visits(report):
    expected = sorted(report.visits["arm"].dropna().astype(str).unique(), key=metrics.arm_order)
    assert report.arms == expected
    report.arms.append("changed by a caller")  # each call gets its own list
    assert report.arms == expected
    report.visits = report.visits.assign(arm="Placebo")  # a new visit table: found again
    assert report.arms == ["Placebo"]
    report.visits = report.visits.drop(columns="arm")
    assert report.arms == []


def test_patient_table_counts_each_patients_own_rows_only(report):
    """The per-patient columns against a plain per-patient reading of the visits, scores and events."""
    visits, scores, events = report.visits, report.scores, report.adverse_events
    stranger = events.iloc[:1].assign(patient_id="not-a-patient")  # an event of a patient without visits
    patients = metrics.patient_table(
        visits, scores, pd.concat([events, stranger]), report.visit_pattern, report.threshold
    ).set_index("patient_id")
    assert list(patients.index) == list(dict.fromkeys(visits["patient_id"]))
    pattern = np.asarray(report.visit_pattern)
    for patient, row in patients.iterrows():
        weeks = visits.loc[visits["patient_id"] == patient, "week"]
        scored = scores[(scores["patient_id"] == patient) & scores["tis"].notna()].sort_values("week")
        between = pattern[(pattern > weeks.min()) & (pattern < weeks.max())]
        own_events = events[events["patient_id"] == patient]
        assert (row["visits"], row["first_week"], row["last_week"]) == (len(weeks), weeks.min(), weeks.max())
        assert row["missed_visits"] == sum(w not in set(weeks) for w in between)
        assert row["out_of_pattern_visits"] == (~weeks.isin(report.visit_pattern)).sum()
        if len(scored):
            assert (row["last_scored_week"], row["last_tis"]) == tuple(scored.iloc[-1][["week", "tis"]])
        else:
            assert np.isnan(row["last_scored_week"]) and np.isnan(row["last_tis"])
        assert row["adverse_events"] == len(own_events)
        assert row["serious_adverse_events"] == own_events["serious"].fillna(False).sum()
    assert patients["adverse_events"].sum() == len(events)  # the stranger's event is nobody's here


@pytest.mark.parametrize("arms", ["as given", "one missing", "all missing"])
@pytest.mark.parametrize("by_arm", [True, False])
def test_responders_by_week_counts_and_medians_are_those_of_a_plain_groupby(report, arms, by_arm):
    scores = report.scores.copy()
    if arms == "one missing":
        scores.loc[scores.index[0], "arm"] = np.nan
    elif arms == "all missing":
        scores["arm"] = np.nan
    table = metrics.responders_by_week(scores, report.visit_pattern, report.threshold, by_arm=by_arm)
    scored = scores[scores["tis"].notna() & scores["week"].isin(report.visit_pattern)]
    keys = ["week", "arm"] if by_arm else ["week"]
    expected = scored.groupby(keys).agg(
        n=("tis", "size"),
        responders=("tis", lambda t: int((t >= report.threshold).sum())),
        median_tis=("tis", "median"),
    )
    assert len(table) == len(expected)
    for row in table.itertuples():
        want = expected.loc[tuple(getattr(row, k) for k in keys) if by_arm else row.week]
        assert (row.n, row.responders, row.median_tis) == (want["n"], want["responders"], want["median_tis"])
