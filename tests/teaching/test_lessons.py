"""Tests for ivig_kit.teaching (patients, lessons, exercises): worked patients, teaching tables,
"what would it take" and exercises.

Expected values are computed by hand in the comments (change / range x 100, then the band
table of tis.md), or by the engine on a visit table written out here, never through the
teaching helper under test.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.teaching import exercises, lessons, patients
from ivig_kit.teaching.exercises import check_answer
from ivig_kit.teaching.patients import (
    EDGE_PATIENT,
    MEDIAN_PATIENT,
    RESPONDER,
    PatientVisits,
)

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_total_improvement_score.ipynb"
CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")


def engine_row(baseline: dict, followup: dict, mmt_max: float, uln: float = 200.0, population: str = "adult",
               enzyme_normalisation="relative") -> pd.Series:
    """The engine's score of a two-visit table written out by hand (CK as the enzyme)."""
    visits = pd.DataFrame({
        "site": ["s", "s"], "patient_id": ["p", "p"], "week": [0, 4],
        "physician_global": [baseline["physician_global"], followup["physician_global"]],
        "patient_global": [baseline["patient_global"], followup["patient_global"]],
        "extramuscular": [baseline["extramuscular"], followup["extramuscular"]],
        "haq": [baseline["haq"], followup["haq"]], "mmt": [baseline["mmt"], followup["mmt"]],
        "mmt_max": [mmt_max, mmt_max], "ck": [baseline["enzyme"], followup["enzyme"]], "ck_uln": [uln, uln]})
    return total_improvement_score(visits, population=population, enzyme_normalisation=enzyme_normalisation).iloc[0]


def engine_tis(patient: PatientVisits, population: str = "adult") -> tuple[float, str]:
    row = engine_row(patient.baseline, patient.followup, patient.mmt_max, patient.enzyme_uln, population)
    return float(row["tis"]), str(row["category"])


# --- Worked patients -----------------------------------------------------------------

# Median patient (pilot medians, Kendall 0-260): physician 1.5/10 = 15% -> 7.5 (right-closed);
# patient 1.5/10 = 15% -> 2.5; MMT 16/260 = 6.15% -> 10; HAQ 0.4/3 = 13.3% -> 5;
# CK 1003/1199 = 83.7% -> 7.5; extramuscular 1.2/10 = 12% -> 7.5. Total 40.
MEDIAN_POINTS = {"physician_global": 7.5, "patient_global": 2.5, "mmt": 10.0, "haq": 5.0, "enzyme": 7.5,
                 "extramuscular": 7.5}
# Responder (MMT-8 0-150): physician 1.8/10 = 18% -> 15; patient 1.5/10 = 15% -> 2.5; MMT 11/150 = 7.3% -> 10;
# HAQ 0.3/3 = 10% -> 5; CK 2400/4200 = 57% -> 7.5; extramuscular 1/10 = 10% -> 7.5. Total 47.5.
RESPONDER_POINTS = {"physician_global": 15.0, "patient_global": 2.5, "mmt": 10.0, "haq": 5.0, "enzyme": 7.5,
                    "extramuscular": 7.5}
# Edge patient: physician 0.5/10 = 5% -> 0; patient 0.5/10 = 5% -> 0; MMT 1.6/80 = 2% -> 0; HAQ 0 -> 0;
# CK 50/900 = 5.6% -> 2.5; extramuscular 1.5/10 = 15% -> 7.5. Total 10.
EDGE_POINTS = {"physician_global": 0.0, "patient_global": 0.0, "mmt": 0.0, "haq": 0.0, "enzyme": 2.5,
               "extramuscular": 7.5}


@pytest.mark.parametrize("patient, points, adult, juvenile", [
    (MEDIAN_PATIENT, MEDIAN_POINTS, "moderate", "minimal"),
    (RESPONDER, RESPONDER_POINTS, "moderate", "moderate"),
    (EDGE_PATIENT, EDGE_POINTS, "none", "none"),
], ids=["median", "responder", "edges"])
def test_worked_patients_score_as_computed_by_hand(patient, points, adult, juvenile):
    for population, expected_category in (("adult", adult), ("juvenile", juvenile)):
        score = patients.score_patient(patient, population)
        assert score.breakdown["points"].to_dict() == points
        assert score.tis == sum(points.values())
        assert score.category == expected_category
        assert (score.tis, score.category) == engine_tis(patient, population)


def test_breakdown_shows_change_range_and_percent():
    breakdown = patients.score_patient(MEDIAN_PATIENT).breakdown
    assert breakdown.loc["physician_global", "change"] == 1.5  # 3.8 - 2.3, shown without float noise
    assert breakdown.loc["mmt", "change"] == 16  # an increase is the improvement for MMT
    assert breakdown.loc["mmt", "scale_range"] == 260
    assert breakdown.loc["enzyme", "scale_range"] == 1199  # relative: the baseline CK
    assert breakdown.loc["haq", "percent"] == pytest.approx(40 / 3)
    assert breakdown.loc["enzyme", "percent"] == pytest.approx(100 * 1003 / 1199)
    assert breakdown["max_points"].sum() == 100
    assert not breakdown["at_limit"].any()


def test_enzyme_option_changes_the_breakdown():
    # uln_range x10 with ULN 200: range 2000, 1003/2000 = 50.15% -> still 7.5 points.
    score = patients.score_patient(MEDIAN_PATIENT, enzyme_normalisation="uln_range")
    assert score.breakdown.loc["enzyme", "scale_range"] == 2000
    assert score.breakdown.loc["enzyme", "percent"] == pytest.approx(50.15)
    assert str(score.enzyme_normalisation) == "uln_range(x10)"


def test_visit_table_is_labelled_synthetic_and_scored_by_the_engine():
    table = RESPONDER.visit_table()
    assert list(table["week"]) == [0, 4]
    assert table["data_source"].str.contains("synthetic").all()
    assert list(table["ck"]) == [4200, 1800] and list(table["mmt_max"]) == [150, 150]
    for patient in (MEDIAN_PATIENT, RESPONDER, EDGE_PATIENT):
        assert "synthetic" in patient.label


def test_patient_visits_need_the_six_csms_and_a_known_enzyme():
    with pytest.raises(ValueError, match="missing \\['haq'\\]"):
        PatientVisits(baseline={m: 1 for m in CSMS if m != "haq"}, followup={m: 1 for m in CSMS})
    with pytest.raises(ValueError, match="enzyme must be one of"):
        PatientVisits(baseline={m: 1 for m in CSMS}, followup={m: 1 for m in CSMS}, enzyme="troponin")
    changed = RESPONDER.with_followup("mmt", 130)
    assert changed.followup["mmt"] == 130 and RESPONDER.followup["mmt"] == 121


# --- Tables ---------------------------------------------------------------------------


def test_core_set_table_directions_and_weights():
    table = lessons.core_set_table()
    assert list(table.index) == list(CSMS)
    assert table.loc["mmt", "improvement is"] == "an increase"
    assert (table.drop("mmt")["improvement is"] == "a decrease").all()
    assert table["max points"].to_dict() == {"physician_global": 20, "patient_global": 10, "mmt": 32.5, "haq": 10,
                                             "enzyme": 7.5, "extramuscular": 20}
    assert "VAS 0-10 cm" in table.loc["extramuscular", "scale"] and "260" in table.loc["mmt", "scale"]


def test_band_table_matches_the_published_rows():
    table = lessons.band_table()
    assert list(table.loc["physician_global"]) == ["worsening to 5%: 0", ">5-15%: 7.5", ">15-25%: 15",
                                                   ">25-40%: 17.5", ">40%: 20"]
    assert list(table.loc["mmt"]) == ["worsening to 2%: 0", ">2-10%: 10", ">10-20%: 20", ">20-30%: 27.5",
                                      ">30%: 32.5"]
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
    near = PatientVisits(baseline={**MEDIAN_PATIENT.baseline, "mmt": 258}, followup=MEDIAN_PATIENT.followup,
                         mmt_max=260, label="synthetic")
    best = lessons.best_reachable_tis(near)
    assert best.breakdown["followup"].to_dict() == {"physician_global": 0, "patient_global": 0, "mmt": 260,
                                                    "haq": 0, "enzyme": 0, "extramuscular": 0}
    assert best.breakdown["points"].tolist() == [17.5, 10, 0, 10, 7.5, 12.5]
    assert (best.tis, best.category) == (57.5, "moderate")


def test_a_patient_at_the_mmt_ceiling_like_the_pilots_patient_2():
    # The pilot excluded patient 2 for a ceiling effect of MMT. A patient starting at the maximum can
    # earn no MMT points, the engine flags it, and the other five CSMs must carry any response.
    at_ceiling = PatientVisits(baseline={**RESPONDER.baseline, "mmt": 150}, followup={**RESPONDER.followup, "mmt": 150},
                               mmt_max=150, label="synthetic")
    score = patients.score_patient(at_ceiling)
    assert bool(score.breakdown.loc["mmt", "at_limit"])
    assert score.breakdown.loc["mmt", "points"] == 0
    assert score.tis == 47.5 - 10  # the responder without its MMT points
    assert lessons.best_reachable_tis(at_ceiling).breakdown.loc["mmt", "points"] == 0


# --- The enzyme question --------------------------------------------------------------


def test_most_abnormal_enzyme_is_judged_by_multiple_of_uln():
    # CK 450/200 = 2.25 x ULN, aldolase 30/7.6 = 3.95 x ULN, ALT 90/45 = 2 x ULN: aldolase is followed.
    table = lessons.most_abnormal_enzyme_table({"ck": (450, 300, 200), "aldolase": (30, 12, 7.6),
                                                 "alt": (90, 60, 45)})
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


def test_what_would_it_take_physician_for_a_child():
    # Median patient as JDM: TIS 40 (minimal), moderate needs 45. Physician 3.8 -> 2.3 is exactly 15% (7.5);
    # 2.2 is 16% (15 points): TIS 47.5.
    answer = patients.what_would_it_take(MEDIAN_PATIENT, "physician_global", "juvenile")
    assert answer.reachable and (answer.current_category, answer.target_category) == ("minimal", "moderate")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (2.2, 0.1, 47.5)
    assert answer.message == ("To reach moderate (TIS >= 45), lower Physician global activity (VAS 0-10 cm) at "
                              "follow-up by a further 0.1 cm, from 2.3 to 2.2 cm: the TIS becomes 47.5.")


def test_what_would_it_take_mmt_for_the_responder():
    # Responder: TIS 47.5 (adult moderate), major needs 60, so MMT must go from 10 to 27.5 points:
    # more than 20% of 150 = 30, i.e. 110 -> 141 (140 is exactly 20%, still 20 points). TIS 65.
    answer = patients.what_would_it_take(RESPONDER, "mmt")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (141, 20, 65)
    assert answer.message.startswith("To reach major (TIS >= 60), raise Manual muscle testing (MMT)")
    assert engine_tis(RESPONDER.with_followup("mmt", 140)) == (57.5, "moderate")
    assert engine_tis(RESPONDER.with_followup("mmt", 141)) == (65.0, "major")


def test_what_would_it_take_moves_on_the_instruments_grid():
    # HAQ is recorded in eighths. Median child: HAQ 2.0 -> 1.6 scores 5; moderate (45) needs 10 points:
    # more than 40% of 3 = 1.2, so a follow-up below 0.8: 0.75 (0.85 further), not 1.6 - 7 x 0.125 = 0.725.
    answer = patients.what_would_it_take(MEDIAN_PATIENT, "haq", "juvenile")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (0.75, 0.85, 45)
    coarse = patients.what_would_it_take(MEDIAN_PATIENT, "physician_global", "juvenile", resolution=0.5)
    assert coarse.needed_followup == 2.0  # the first multiple of 0.5 below 2.3


def test_what_would_it_take_when_nothing_alone_suffices():
    # Median adult: TIS 40, major needs 60. The physician's best is 3.8 -> 0 = 38% (17.5): TIS 50.
    answer = patients.what_would_it_take(MEDIAN_PATIENT, "physician_global")
    assert not answer.reachable and answer.target_category == "major"
    assert answer.message.endswith("even its best value gives 17.5 points, a TIS of 50.")
    enzyme = patients.what_would_it_take(MEDIAN_PATIENT, "enzyme", "juvenile")  # already at its 7.5 maximum
    assert not enzyme.reachable and "gives 7.5 points, a TIS of 40" in enzyme.message


def test_what_would_it_take_at_the_limits():
    top = patients.what_would_it_take(RESPONDER.with_followup("mmt", 141), "haq")
    assert top.target_category is None and not top.reachable
    assert top.message == "TIS 65 is already major: there is no higher category."
    at_max = patients.what_would_it_take(MEDIAN_PATIENT.with_followup("mmt", 260), "mmt", "juvenile")
    assert not at_max.reachable and "already at the instrument's limit" in at_max.message
    ceiling = PatientVisits(baseline={**RESPONDER.baseline, "mmt": 150}, followup=RESPONDER.followup,
                            mmt_max=150, label="synthetic")
    stuck = patients.what_would_it_take(ceiling, "mmt")
    assert not stuck.reachable and "baseline is at the instrument's ceiling" in stuck.message


#: Synthetic, TIS 35 (adult minimal): every CSM alone can reach moderate (40).
NEAR_MODERATE = PatientVisits(
    baseline={"physician_global": 5.0, "patient_global": 5.0, "mmt": 100, "haq": 1.5, "enzyme": 1000,
              "extramuscular": 4.0},
    followup={"physician_global": 4.0, "patient_global": 4.4, "mmt": 110, "haq": 1.3, "enzyme": 900,
              "extramuscular": 3.0},
    mmt_max=150, label="synthetic test patient")

STEP = {"physician_global": 0.1, "patient_global": 0.1, "extramuscular": 0.1, "haq": 0.125, "mmt": 1, "enzyme": 1}


@pytest.mark.parametrize("patient, population", [(MEDIAN_PATIENT, "juvenile"), (RESPONDER, "adult"),
                                                 (EDGE_PATIENT, "adult"), (EDGE_PATIENT, "juvenile"),
                                                 (NEAR_MODERATE, "adult")],
                         ids=["median-juvenile", "responder-adult", "edges-adult", "edges-juvenile", "near-moderate"])
@pytest.mark.parametrize("measure", CSMS)
def test_what_would_it_take_is_minimal(patient, population, measure):
    answer = patients.what_would_it_take(patient, measure, population)
    if not answer.reachable:
        return
    thresholds = {"adult": (20, 40, 60), "juvenile": (30, 45, 70)}[population]
    needed_tis, needed_category = engine_tis(patient.with_followup(measure, answer.needed_followup), population)
    assert needed_category == answer.target_category and needed_tis == answer.new_tis
    assert needed_tis >= answer.threshold and answer.threshold in thresholds
    # one recordable step less (towards the current follow-up) does not reach the threshold
    sign = 1 if measure == "mmt" else -1
    one_less = round(answer.needed_followup - sign * STEP[measure], 6)
    if sign * (one_less - answer.current_followup) > 0:
        less_tis, _ = engine_tis(patient.with_followup(measure, one_less), population)
        assert less_tis < answer.threshold
    assert answer.further_improvement == pytest.approx(abs(answer.needed_followup - answer.current_followup))


def test_near_moderate_patient_can_get_there_by_any_csm():
    # 7.5 + 2.5 + 10 + 5 + 2.5 + 7.5 = 35. Moderate (40) by hand: physician below 3.5 (>15%): 3.4 -> 42.5;
    # patient below 2.5 (>25%): 2.4 -> 40; MMT above 115 (>10%): 116 -> 45; HAQ below 0.3 (>40%): 0.25 -> 40;
    # CK below 750 (>25% of 1000): 749 -> 40; extramuscular below 2.5 (>15%): 2.4 -> 40.
    assert engine_tis(NEAR_MODERATE) == (35.0, "minimal")
    table = patients.what_would_it_take_table(NEAR_MODERATE)
    assert table["needed follow-up"].to_dict() == {"physician_global": 3.4, "patient_global": 2.4, "mmt": 116,
                                                   "haq": 0.25, "enzyme": 749, "extramuscular": 2.4}
    assert table["new TIS"].to_dict() == {"physician_global": 42.5, "patient_global": 40, "mmt": 45, "haq": 40,
                                          "enzyme": 40, "extramuscular": 40}


def test_what_would_it_take_table_has_a_row_per_csm():
    table = patients.what_would_it_take_table(MEDIAN_PATIENT, "juvenile")
    assert list(table.index) == list(CSMS)
    assert table["reachable alone"].to_dict() == {"physician_global": True, "patient_global": True, "mmt": True,
                                                  "haq": True, "enzyme": False, "extramuscular": True}
    # MMT: more than 10% of 260 = 26 above 211, i.e. 238 (20 points): TIS 50.
    assert table.loc["mmt", "needed follow-up"] == 238 and table.loc["mmt", "new TIS"] == 50
    assert np.isnan(table.loc["enzyme", "new TIS"])


# --- Exercises --------------------------------------------------------------------------

#: exercise -> (right answer by hand, {known wrong answer: words its feedback must contain})
ANSWERS = {
    "absolute_percent": (20, {40: "relative change", 0.6: "percent of the range"}),  # 0.6 / 3
    "points_at_edge": (7.5, {15: "right-closed", 17.5: "more than 25%"}),
    "total_tis": (47.5, {50: "exactly 15%", 62.5: "relative changes"}),
    "juvenile_category": ("moderate", {"major": "juvenile threshold for major is 70"}),
    "float_trap": (0, {10: "plain floating point"}),
    "ceiling": (0, {32.5: "5 of 260", 10: "below the 2% edge"}),
    # week 4: +2.0 cm and 30/150 = 20% (inclusive) met; week 8 met again: confirmed at 8
    "deterioration": (8, {4: "two consecutive visits", 0: "inclusive", 12: "recovered"}),
    # CMAS 30 -> 40.4: 10.4 / 52 = exactly 20%, right-closed band '>10-20%': 20
    "jdm_cmas": (20, {27.5: "right-closed", 32.5: "relative change", 10: "range, 52"}),
}


def test_every_exercise_is_tested():
    assert set(ANSWERS) == set(exercises.TIS_EXERCISES)


@pytest.mark.parametrize("exercise", sorted(ANSWERS))
def test_check_answer_right_wrong_and_unanswered(exercise):
    right, mistakes = ANSWERS[exercise]
    feedback = check_answer(exercise, right)
    assert feedback and feedback.status == "correct" and feedback.message.startswith("Correct: ")
    assert 'class="tis-feedback"' in feedback._repr_html_()
    for wrong, words in mistakes.items():
        feedback = check_answer(exercise, wrong)
        assert not feedback and feedback.status == "incorrect"
        assert words in feedback.message, (wrong, feedback.message)
    other = check_answer(exercise, "something else" if isinstance(right, (int, float)) else 12345)
    assert other.status == "incorrect" and "Hint: " in other.message
    unanswered = check_answer(exercise, None)
    assert unanswered.status == "unanswered" and "Hint: " in unanswered.message


def test_check_answer_tolerance_and_case():
    assert check_answer("absolute_percent", 20.04)  # within 0.05 percentage points
    assert not check_answer("absolute_percent", 20.2)
    assert check_answer("juvenile_category", "  Moderate ")
    assert not check_answer("points_at_edge", 7.4)
    with pytest.raises(KeyError, match="no exercise 'nope'"):
        check_answer("nope", 1)


def test_notebook_exercises_each_have_a_check_and_a_solution_button():
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    checks = [i for i, c in enumerate(cells) if c.cell_type == "code" and "check_answer(" in c.source]
    assert len(checks) >= 8
    for i in checks:
        exercise = cells[i].source.split('check_answer("')[1].split('"')[0]
        # the learner's answer starts as None: running all cells gives no verdict ...
        variable = cells[i].source.split(f'check_answer("{exercise}", ')[1].split(")")[0]
        assert f"{variable} = None" in cells[i].source, cells[i].source
        # ... and the next cell only offers the solution behind a button
        assert cells[i + 1].source.strip() == f'solution_button("{exercise}")'
    used = {cells[i].source.split('check_answer("')[1].split('"')[0] for i in checks}
    assert used == set(exercises.TIS_EXERCISES)
    assert not [c for c in cells if "solution" in c.metadata.get("tags", [])]  # no hidden cells that print answers


def test_solution_button_reveals_only_on_click():
    box = exercises.solution_button("jdm_cmas")
    button, shown = box.children
    assert shown.value == "" and button.layout.display != "none"
    button.click()
    assert exercises.EXERCISES["jdm_cmas"].explanation in html.unescape(shown.value)
    assert button.layout.display == "none"


def executed(outputs: list[dict]):
    """A one-cell executed notebook with the given outputs (for the leak check)."""
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Correct: markdown is not output"), cell])


def test_solution_outputs_finds_verdicts_and_solutions():
    verdict = check_answer("jdm_cmas", 20)
    assert exercises.solution_outputs(executed([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                                 "data": {"text/html": verdict._repr_html_(),
                                                          "text/plain": repr(verdict)}}])) != []
    text = exercises.EXERCISES["deterioration"].explanation
    leaks = exercises.solution_outputs(executed([{"output_type": "stream", "name": "stdout", "text": text}]))
    assert leaks == [f"cell 1: the solution {text[:40]!r}..."]
    unanswered = check_answer("jdm_cmas", None)
    clean = executed([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                       "data": {"text/html": unanswered._repr_html_(), "text/plain": repr(unanswered)}},
                      {"output_type": "stream", "name": "stdout", "text": "Corrected Miettinen-Nurminen interval"}])
    assert exercises.solution_outputs(clean) == []


# --- Deterioration, missing measures, units, JDM, enzyme conventions --------------------


def test_deterioration_table_of_the_example():
    table = lessons.deterioration_table(lessons.deterioration_example())
    # baseline physician 3.0 cm, MMT 120 of 150: week 4 +2.0 cm and 30/150 = 20%; week 8 +2.2 cm and 32/150;
    # week 12 +0.5 cm and 10/150
    assert table["week"].tolist() == [4, 8, 12]
    assert table["physician worse (cm)"].tolist() == pytest.approx([2.0, 2.2, 0.5])
    assert table["MMT worse (% of range)"].tolist() == pytest.approx([20, 64 / 3, 20 / 3])
    assert table["criteria met"].tolist() == [True, True, False]
    assert table["confirmed deterioration"].tolist() == [False, True, False]
    assert (table["data_source"] == lessons.DETERIORATION_LABEL).all()


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
        "most values are above 10: if the VAS was recorded in mm (0-100), pass --vas-unit mm")
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


def test_jdm_patients_score_as_computed_by_hand():
    cmas = patients.score_patient(patients.CMAS_PATIENT, "juvenile")
    assert cmas.breakdown["points"].tolist() == [15, 5, 20, 5, 5, 7.5] and cmas.tis == 57.5  # see test_engine
    assert cmas.breakdown.loc["mmt", "instrument"] == "cmas"
    printo = patients.score_patient(patients.PRINTO_PATIENT, "juvenile")
    assert printo.breakdown["points"].tolist() == [15, 5, 20, 5, 5, 12.5] and printo.tis == 62.5
    # the visit tables of the JDM patients score the same through the whole-table engine
    for patient, score in ((patients.CMAS_PATIENT, cmas), (patients.PRINTO_PATIENT, printo)):
        assert total_improvement_score(patient.visit_table(), "juvenile").iloc[0]["tis"] == score.tis
    # what would it take, with the CHQ PhS (rising) in the enzyme's (falling) row: 20 -> 30 is 16.7% (5 points);
    # 7.5 points need more than 25% of 60 = 15, i.e. 35.1; the total then is 65, still moderate (< 70)
    answer = patients.what_would_it_take(patients.PRINTO_PATIENT, "enzyme", "juvenile")
    assert not answer.reachable and "even its best value gives 7.5 points, a TIS of 65" in answer.message


def test_enzyme_conventions_side_by_side():
    table = lessons.enzyme_conventions_table([("ck", 400, 300, 200), ("ast", 120, 80, 40)])
    ck = table.loc["CK 400 -> 300 U/l (ULN 200)"]
    # 100 / 400 = 25% -> 5; 100 / (15 x 200) = 3.3% -> 0; 100 / (10 x 200) = 5% -> 0
    assert ck["percent"].tolist() == pytest.approx([25, 10 / 3, 5])
    assert ck["points"].tolist() == [5, 0, 0]
    assert list(ck.index) == ["relative to baseline (kit default)", "of 15 x ULN (R preset)",
                              "of 10 x ULN (kit's default k: no source)"]
    ast = table.loc["AST 120 -> 80 U/l (ULN 40)"]
    assert ast["divided by (U/l)"].tolist() == [120, 120, 400]  # x3 ULN = 120
