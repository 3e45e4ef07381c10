"""Tests for ivig_kit.teaching (patients, lessons, exercises): worked patients, teaching tables,
"what would it take" and exercises.

Expected values are computed by hand in the comments (change / range x 100, then the band
table of tis.md), or by the engine on a visit table written out here, never through the
teaching helper under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ivig_kit.teaching import deterioration_lessons, lessons, patients
from ivig_kit.teaching.patients import (
    MEDIAN_PATIENT,
    RESPONDER,
    PatientVisits,
)

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_total_improvement_score.ipynb"
CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")


# --- Worked patients -----------------------------------------------------------------


# --- Tables ---------------------------------------------------------------------------


def test_core_set_table_directions_and_weights():
    table = lessons.core_set_table()
    assert list(table.index) == list(CSMS)
    assert table.loc["mmt", "improvement is"] == "an increase"
    assert (table.drop("mmt")["improvement is"] == "a decrease").all()
    assert table["max points"].to_dict() == {
        "physician_global": 20,
        "patient_global": 10,
        "mmt": 32.5,
        "haq": 10,
        "enzyme": 7.5,
        "extramuscular": 20,
    }
    assert "VAS 0-10 cm" in table.loc["extramuscular", "scale"] and "260" in table.loc["mmt", "scale"]


def test_band_table_matches_the_published_rows():
    table = lessons.band_table()
    assert list(table.loc["physician_global"]) == [
        "worsening to 5%: 0",
        ">5-15%: 7.5",
        ">15-25%: 15",
        ">25-40%: 17.5",
        ">40%: 20",
    ]
    assert list(table.loc["mmt"]) == ["worsening to 2%: 0", ">2-10%: 10", ">10-20%: 20", ">20-30%: 27.5", ">30%: 32.5"]
    assert list(table.loc["enzyme"])[-2:] == [">25-40%: 7.5", ">40%: 7.5"]


def test_band_steps_hold_the_lower_level_at_each_edge():
    steps = lessons.band_steps()
    physician = steps[steps["measure"] == "physician_global"]
    assert list(physician["percent"]) == [-10, 5, 15, 25, 40, 60]
    assert list(physician["points"]) == [0, 0, 7.5, 15, 17.5, 20]
    mmt = steps[steps["measure"] == "mmt"]
    assert list(mmt["percent"]) == [-10, 2, 10, 20, 30, 60]
    assert list(mmt["points"]) == [0, 0, 10, 20, 27.5, 32.5]
    assert len(steps) == 6 * 6


def test_category_tables():
    thresholds = lessons.category_thresholds_table()
    assert thresholds.loc["adult"].tolist() == [20, 40, 60]
    assert thresholds.loc["juvenile"].tolist() == [30, 45, 70]
    assert lessons.category_by_population(40).to_dict() == {"adult": "moderate", "juvenile": "minimal"}
    assert lessons.category_by_population(62.5).to_dict() == {"adult": "major", "juvenile": "moderate"}
    assert lessons.category_by_population(19.99).to_dict() == {"adult": "none", "juvenile": "none"}


def test_absolute_and_relative_percent_change_disagree():
    table = lessons.percent_change_comparison(MEDIAN_PATIENT)
    assert "enzyme" not in table.index
    physician = table.loc["physician_global"]
    assert physician["absolute %"] == pytest.approx(15)  # 1.5 / 10
    assert physician["relative %"] == pytest.approx(100 * 1.5 / 3.8)  # 39.5%
    assert (physician["points (absolute, official)"], physician["points if relative were used"]) == (7.5, 17.5)
    extramuscular = table.loc["extramuscular"]
    assert extramuscular["absolute %"] == pytest.approx(12)
    assert extramuscular["relative %"] == pytest.approx(100 * 1.2 / 2.2)  # 54.5%
    assert (extramuscular["points (absolute, official)"], extramuscular["points if relative were used"]) == (7.5, 20)
    mmt = table.loc["mmt"]  # MMT improves upwards: 16/260 absolute, 16/211 relative, both band 2
    assert mmt["relative %"] == pytest.approx(100 * 16 / 211)
    assert mmt["points (absolute, official)"] == mmt["points if relative were used"] == 10


# --- Floating-point trap --------------------------------------------------------------


def test_the_float_trap_is_real_in_plain_python():
    assert (1.1 - 0.6) / 10 * 100 > 5
    assert (2.2 - 0.7) / 10 * 100 > 15
    assert (41.6 - 40) / 80 * 100 > 2


def test_floating_point_trap_table_naive_goes_wrong_kit_is_exact():
    table = lessons.floating_point_trap_table()
    assert list(table["naive percent"]) == ["5.000000000000001", "15.000000000000002", "2.0000000000000018"]
    assert list(table["exact percent"]) == ["5", "15", "2"]
    assert list(table["naive points"]) == [7.5, 15.0, 10.0]  # one band too high each time
    assert list(table["kit points"]) == [0.0, 7.5, 0.0]  # exactly on the edge: the lower band


def test_naive_helpers_agree_with_the_kit_away_from_edges():
    assert lessons.naive_percent_improvement("mmt", 40, 48, 80) == 10.0
    assert lessons.naive_points("mmt", 10.0) == 10.0
    assert lessons.naive_points("physician_global", 41.0) == 20.0


# --- Ceiling effect -------------------------------------------------------------------


def test_ceiling_effect_table_on_the_kendall_scale():
    table = lessons.ceiling_effect_table(260, [211, 254, 255, 260]).set_index("mmt baseline")
    # 211: at most 49/260 = 18.8% -> 20 points; 254: 6/260 = 2.3% -> 10; 255: 5/260 = 1.9% -> 0; 260: 0.
    assert table["best MMT points"].tolist() == [20, 10, 0, 0]
    assert table["room to improve %"].tolist() == pytest.approx([100 * 49 / 260, 100 * 6 / 260, 100 * 5 / 260, 0])
    # the five other CSMs add at most 20 + 10 + 10 + 7.5 + 20 = 67.5
    assert table["best TIS reachable"].tolist() == [87.5, 77.5, 67.5, 67.5]
    assert table.loc[260, "best adult category"] == "major"
    assert table.loc[260, "best juvenile category"] == "moderate"  # 67.5 < 70


@pytest.mark.parametrize("mmt_max, ceiling", [(80, 79), (150, 147), (260, 255)])
def test_effective_mmt_ceiling(mmt_max, ceiling):
    # 2% of the range: 1.6 of 80, 3 of 150, 5.2 of 260; a rise must be MORE than that to score.
    assert lessons.effective_mmt_ceiling(mmt_max) == ceiling
    rise_from_ceiling = 100 * (mmt_max - ceiling) / mmt_max
    rise_from_below = 100 * (mmt_max - ceiling + 1) / mmt_max
    assert rise_from_ceiling <= 2 < rise_from_below


def test_best_reachable_tis_near_the_ceiling():
    # Median patient with MMT 258 of 260. At best: physician 3.8 -> 0 = 38% -> 17.5; patient 61% -> 10;
    # MMT 2/260 = 0.8% -> 0; HAQ 2/3 = 67% -> 10; CK 100% -> 7.5; extramuscular 22% -> 12.5. Total 57.5.
    near = PatientVisits(
        baseline={**MEDIAN_PATIENT.baseline, "mmt": 258},
        followup=MEDIAN_PATIENT.followup,
        mmt_max=260,
        label="synthetic",
    )
    best = lessons.best_reachable_tis(near)
    assert best.breakdown["followup"].to_dict() == {
        "physician_global": 0,
        "patient_global": 0,
        "mmt": 260,
        "haq": 0,
        "enzyme": 0,
        "extramuscular": 0,
    }
    assert best.breakdown["points"].tolist() == [17.5, 10, 0, 10, 7.5, 12.5]
    assert (best.tis, best.category) == (57.5, "moderate")


def test_a_patient_at_the_mmt_ceiling_like_the_pilots_patient_2():
    # The pilot excluded patient 2 for a ceiling effect of MMT. A patient starting at the maximum can
    # earn no MMT points, the engine flags it, and the other five CSMs must carry any response.
    at_ceiling = PatientVisits(
        baseline={**RESPONDER.baseline, "mmt": 150},
        followup={**RESPONDER.followup, "mmt": 150},
        mmt_max=150,
        label="synthetic",
    )
    score = patients.score_patient(at_ceiling)
    assert bool(score.breakdown.loc["mmt", "at_limit"])
    assert score.breakdown.loc["mmt", "points"] == 0
    assert score.tis == 47.5 - 10  # the responder without its MMT points
    assert lessons.best_reachable_tis(at_ceiling).breakdown.loc["mmt", "points"] == 0


# --- The enzyme question --------------------------------------------------------------


def test_most_abnormal_enzyme_is_judged_by_multiple_of_uln():
    # CK 450/200 = 2.25 x ULN, aldolase 30/7.6 = 3.95 x ULN, ALT 90/45 = 2 x ULN: aldolase is followed.
    table = lessons.most_abnormal_enzyme_table({"ck": (450, 300, 200), "aldolase": (30, 12, 7.6), "alt": (90, 60, 45)})
    assert table["followed"].to_dict() == {"ck": False, "aldolase": True, "alt": False}
    assert table.loc["aldolase", "baseline x ULN"] == pytest.approx(30 / 7.6)


def test_most_abnormal_enzyme_tie_goes_to_the_footnote_order():
    table = lessons.most_abnormal_enzyme_table({"alt": (90, 60, 45), "ck": (400, 300, 200)})  # both 2 x ULN
    assert table["followed"].to_dict() == {"alt": False, "ck": True}


def test_enzyme_normalisation_table():
    table = lessons.enzyme_normalisation_table([(400, 300), (1199, 196)], uln=200, multipliers=(5, 10))
    small = table[table["baseline U/l"] == 400].set_index("option")
    # 100 U/l fall: /400 = 25% -> 5 (band >15-25); /1000 = 10% -> 2.5; /2000 = 5% -> 0 (right-closed).
    assert small["divided by"].to_dict() == {"relative": 400, "uln_range(x5)": 1000, "uln_range(x10)": 2000}
    assert small["percent"].tolist() == pytest.approx([25, 10, 5])
    assert small["points"].tolist() == [5, 2.5, 0]
    large = table[table["baseline U/l"] == 1199]
    assert large["points"].tolist() == [7.5, 7.5, 7.5]  # 83.7%, 100.3%, 50.2%: the maximum either way


# --- What would it take? ----------------------------------------------------------------


# --- Exercises --------------------------------------------------------------------------


# --- Deterioration, missing measures, units, JDM, enzyme conventions --------------------


def test_deterioration_table_of_the_example():
    table = deterioration_lessons.deterioration_table(deterioration_lessons.deterioration_example())
    # baseline physician 3.0 cm, MMT 120 of 150: week 4 +2.0 cm and 30/150 = 20%; week 8 +2.2 cm and 32/150;
    # week 12 +0.5 cm and 10/150
    assert table["week"].tolist() == [4, 8, 12]
    assert table["physician worse (cm)"].tolist() == pytest.approx([2.0, 2.2, 0.5])
    assert table["MMT worse (% of range)"].tolist() == pytest.approx([20, 64 / 3, 20 / 3])
    assert table["criteria met"].tolist() == [True, True, False]
    assert table["confirmed deterioration"].tolist() == [False, True, False]
    assert (table["data_source"] == deterioration_lessons.DETERIORATION_LABEL).all()


def test_deterioration_readings_table_splits_the_low_baseline_patient():
    table = deterioration_lessons.deterioration_readings_table().set_index("reading")
    kit, relative = table.index
    assert "kit's reading" in kit and "baseline" in relative
    # 2 -> 3 cm of 10 cm is 10% of the range and 50% of the baseline; HAQ 0.25 of 3 is 8.3%, of 0.5 is 50%
    assert table.loc[kit].iloc[:3].tolist() == [10.0, 10.0, 8.3]
    assert table.loc[relative].iloc[:3].tolist() == [50.0, 50.0, 50.0]
    assert table.loc[kit, "criteria met at weeks 4 and 8"] == "False, False"
    assert table.loc[kit, "confirmed at week"] == "never" and table.loc[relative, "confirmed at week"] == 8


def test_deterioration_gap_example_is_unknown_not_not_deteriorated():
    table = deterioration_lessons.deterioration_gap_example()
    assert table["week"].tolist() == [4, 8, 12, 16]
    assert table["mmt_missing"].tolist() == [False, True, False, False]
    met = [None if v is pd.NA else bool(v) for v in table["deterioration_criteria_met"].array]
    confirmed = [None if v is pd.NA else bool(v) for v in table["confirmed_deterioration"].array]
    assert met == [True, None, True, True] and confirmed == [False, None, None, True]
    assert table["deterioration_unknown"].tolist() == [False, True, True, False]


def test_missing_measure_makes_the_tis_missing_and_points_of_scored_measures_a_partial_sum():
    row = lessons.missing_measure_example().iloc[0]
    # the responder without its patient global (2.5 points): 47.5 - 2.5 = 45 scored, TIS missing
    assert row["patient_global_missing"] and row["n_missing_csms"] == 1
    assert np.isnan(row["tis"]) and pd.isna(row["category"]) and row["points_of_scored_measures"] == 45


def test_units():
    assert lessons.vas_mm_to_cm([60, 42, 55]).tolist() == [6.0, 4.2, 5.5]
    message = lessons.validation_message(lessons.vas_in_mm_example())
    assert message.splitlines()[0] == (
        "visits.csv: rows 1 and 2 (lines 2 and 3), column 'physician_global': expected a VAS value in 0-10 cm, got 60; "
        "most values are above 10: if the VAS was recorded in mm (0-100), pass --vas-unit mm"
    )
    assert lessons.validation_message(patients.RESPONDER.visit_table()) == ""
    table = lessons.likert_versus_vas_table()
    # one Likert step of 4 is 25% (exactly the edge: 15 points); 1 cm of 10 is 10% (7.5 points)
    assert table["absolute %"].tolist() == [25.0, 10.0]
    assert table["physician global points"].tolist() == [15.0, 7.5]


def test_instruments_table_lists_every_instrument_with_a_source():
    table = lessons.instruments_table()
    assert table.loc["cmas", "scale"] == "0-52" and table.loc["cmas", "better is"] == "higher"
    assert table.loc["das", "scale"] == "0-20" and table.loc["chq_phs", "scale"].startswith("explicit")
    assert table["source"].str.len().min() > 10


def test_enzyme_conventions_side_by_side():
    table = lessons.enzyme_conventions_table([("ck", 400, 300, 200), ("ast", 120, 80, 40)])
    ck = table.loc["CK 400 -> 300 U/l (ULN 200)"]
    # 100 / 400 = 25% -> 5; 100 / (15 x 200) = 3.3% -> 0; 100 / (10 x 200) = 5% -> 0
    assert ck["percent"].tolist() == pytest.approx([25, 10 / 3, 5])
    assert ck["points"].tolist() == [5, 0, 0]
    assert list(ck.index) == [
        "relative to baseline (kit default)",
        "of 15 x ULN (R preset)",
        "of 10 x ULN (kit's default k: no source)",
    ]
    ast = table.loc["AST 120 -> 80 U/l (ULN 40)"]
    assert ast["divided by (U/l)"].tolist() == [120, 120, 400]  # x3 ULN = 120


def test_normal_enzyme_example_earns_full_points_and_is_flagged():
    row = lessons.normal_enzyme_example().iloc[0]
    assert row["enzyme_baseline_x_uln"] == 0.75 and row["enzyme_percent"] == 40.0
    assert row["enzyme_points"] == 7.5 and bool(row["enzyme_normal_at_baseline"])
