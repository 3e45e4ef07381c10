"""The report's tables, checked by hand on the tiny two-site registry, and their number formats."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ivig_kit.reports.content import display, tables
from ivig_kit.reports.content import site as report_site

from ..helpers import BETTER_POINTS, TINY_EVENTS


def test_responders_by_visit_with_clopper_pearson_intervals(report):
    table = tables.responders_by_visit(report).set_index(["week", "arm"])
    assert table.loc[(4.0, "IVIg"), ["n", "responders", "percent"]].tolist() == [1, 1, 100]
    assert table.loc[(4.0, "placebo"), ["n", "responders", "percent"]].tolist() == [2, 0, 0]
    assert (8.0, "IVIg") not in table.index  # A-01 missed week 8; week 6 is out of the pattern
    assert table.loc[(8.0, "placebo"), "n"] == 1  # A-02's week 8 has no complete TIS
    # exact intervals: 1/1 -> [0.025^(1/1)... ] i.e. lower = 0.025; 0/2 -> upper = 1 - 0.025^(1/2)
    assert table.loc[(4.0, "IVIg"), "ci_low"] == pytest.approx(2.5)
    assert table.loc[(4.0, "placebo"), "ci_high"] == pytest.approx(100 * (1 - 0.025**0.5))


def test_csm_contributions_are_mean_points_at_the_last_complete_tis(report):
    table = tables.csm_contributions(report)
    ivig = table["mean points, IVIg (n=1)"]
    assert list(ivig) == list(BETTER_POINTS.values())
    assert list(table["mean points, placebo (n=2)"]) == [0.0] * 6
    assert list(table["mean points, All (n=3)"]) == pytest.approx([p / 3 for p in BETTER_POINTS.values()])
    assert table["share of the mean TIS, All, %"].sum() == pytest.approx(100)
    assert table.loc["Manual muscle testing (MMT)", "share of the mean TIS, All, %"] == pytest.approx(20 / 72.5 * 100)


def test_confirmed_deterioration_listing(report):
    table = tables.confirmed_deteriorations(report)
    assert table.to_dict("records") == [
        {
            "patient_id": "A-03",
            "arm": "placebo",
            "subtype": "DM",
            "confirmed at week": 8.0,
            "criteria met at weeks": "4, 8",
            "TIS at confirmation": 0.0,
            "last visit week": 8.0,
        }
    ]


def test_enrolment_table(report):
    table = tables.enrolment_table(report)
    assert list(table.columns) == ["IVIg", "placebo", "All"]
    assert table.loc["Patients, n"].tolist() == ["1", "2", "3"]
    assert table.loc["Baseline CK, x ULN, median (IQR)", "All"] == "5.0 (5.0–5.0)"
    assert table.loc["Baseline manual muscle testing, % of scale, median (IQR)", "All"] == "67 (67–67)"
    assert table.loc["Followed to the last scheduled week, n (%)"].tolist() == ["1 (100.0%)", "1 (50.0%)", "2 (66.7%)"]


def test_adverse_event_tables(report):
    table = tables.adverse_event_table(report)
    assert table.loc["pulmonary embolism", "placebo: events (patients)"] == "1 (1)"
    assert table.loc["pulmonary embolism", "placebo: serious"] == 1
    assert table.loc["headache", "IVIg: serious"] == 0 and table.loc["headache", "related (all arms)"] == 1
    notable = tables.notable_adverse_events(report)
    assert notable[["patient_id", "event", "thromboembolic"]].to_numpy().tolist() == [
        ["A-03", "pulmonary embolism", "yes"]
    ]


def test_data_quality(report):
    summary = tables.data_quality_summary(report)["count"]
    assert summary["Visits with at least one missing CSM value"] == 1
    assert summary["Follow-up visits without a complete TIS"] == 1
    assert summary["Missed scheduled visits"] == 1 and summary["Out-of-pattern visits"] == 1
    listing = tables.data_quality_listing(report)
    assert listing[["patient_id", "week", "problem"]].to_numpy().tolist() == [
        ["A-01", 6.0, "out-of-pattern visit"],
        ["A-01", 8.0, "missed scheduled visit"],
        ["A-02", 8.0, "missing CSM"],
        ["A-03", 8.0, "last visit before the last scheduled week"],
    ]
    assert listing.loc[2, "detail"] == "haq"


def test_tis_by_patient_keeps_scheduled_weeks(report):
    table = tables.tis_by_patient(report)
    assert list(table.columns) == ["week 4", "week 8", "week 12"]
    assert table.loc["A-01"].tolist()[::2] == [72.5, 72.5] and math.isnan(table.loc["A-01", "week 8"])


def test_site_against_pooled(report):
    table = tables.site_against_pooled(report)
    assert list(table.columns) == ["A b", "all 2 sites pooled", "range over the 1 other sites"]
    assert table.loc["Patients"].tolist() == ["3", "5", "2 to 2"]
    assert table.loc["Responders at the last complete TIS", "A b"].startswith("33.3% (95% CI 0.8–90.6)")


def test_adverse_event_table_with_an_arm_that_had_no_event(tiny):
    """Found on a 200-site registry: a site whose placebo patients had no adverse event failed its report."""
    data, events = tiny
    TINY_EVENTS[TINY_EVENTS["patient_id"] != "A-03"].to_csv(events, index=False)  # A-03 is the placebo patient
    report = report_site.load_site("A b", data, events, min_cell_size=1)
    table = tables.adverse_event_table(report)
    assert table.loc["headache"].tolist() == ["1 (1)", 0, "0 (0)", 0, "1 (1)", 0, 1]
    assert list(table.columns) == [
        "IVIg: events (patients)",
        "IVIg: serious",
        "placebo: events (patients)",
        "placebo: serious",
        "All: events (patients)",
        "All: serious",
        "related (all arms)",
    ]


@pytest.mark.parametrize(
    "value, kind, text",
    [
        (69.230769, "percent", "69.2"),
        (69.25, "score", "69.2"),
        (3.0, "count", "3"),
        (np.int64(12), "count", "12"),
        (0.33333, "rate", "0.33"),
        (6.5, "week", "6.5"),
        (4.0, "week", "4"),
        (0.0123, "p", "0.012"),
        (0.5, "p", "0.50"),
        (0.04999, "p", "0.050"),
        (0.0004, "p", "<0.001"),
        (np.nan, "score", "–"),
        (None, "text", "–"),
        (pd.NA, "count", "–"),
        ("AMS-002", "text", "AMS-002"),
    ],
)
def test_format_value(value, kind, text):
    assert display.format_value(value, kind) == text
