"""The synthetic teaching patients (ivig_kit.teaching.patients): worked scores checked by hand and against the
whole-table engine, and what it would take to reach the next category."""

from __future__ import annotations

import numpy as np
import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.teaching import next_category, patients
from ivig_kit.teaching.patients import (
    EDGE_PATIENT,
    MEDIAN_PATIENT,
    RESPONDER,
    PatientVisits,
)

from .helpers import engine_row

CSMS = ("physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular")


def engine_tis(patient: PatientVisits, population: str = "adult") -> tuple[float, str]:
    row = engine_row(patient.baseline, patient.followup, patient.mmt_max, patient.enzyme_uln, population)
    return float(row["tis"]), str(row["category"])


# Median patient (pilot medians, Kendall 0-260): physician 1.5/10 = 15% -> 7.5 (right-closed);
# patient 1.5/10 = 15% -> 2.5; MMT 16/260 = 6.15% -> 10; HAQ 0.4/3 = 13.3% -> 5;
# CK 1003/1199 = 83.7% -> 7.5; extramuscular 1.2/10 = 12% -> 7.5. Total 40.
MEDIAN_POINTS = {
    "physician_global": 7.5,
    "patient_global": 2.5,
    "mmt": 10.0,
    "haq": 5.0,
    "enzyme": 7.5,
    "extramuscular": 7.5,
}


# Responder (MMT-8 0-150): physician 1.8/10 = 18% -> 15; patient 1.5/10 = 15% -> 2.5; MMT 11/150 = 7.3% -> 10;
# HAQ 0.3/3 = 10% -> 5; CK 2400/4200 = 57% -> 7.5; extramuscular 1/10 = 10% -> 7.5. Total 47.5.
RESPONDER_POINTS = {
    "physician_global": 15.0,
    "patient_global": 2.5,
    "mmt": 10.0,
    "haq": 5.0,
    "enzyme": 7.5,
    "extramuscular": 7.5,
}


# Edge patient: physician 0.5/10 = 5% -> 0; patient 0.5/10 = 5% -> 0; MMT 1.6/80 = 2% -> 0; HAQ 0 -> 0;
# CK 50/900 = 5.6% -> 2.5; extramuscular 1.5/10 = 15% -> 7.5. Total 10.
EDGE_POINTS = {
    "physician_global": 0.0,
    "patient_global": 0.0,
    "mmt": 0.0,
    "haq": 0.0,
    "enzyme": 2.5,
    "extramuscular": 7.5,
}


@pytest.mark.parametrize(
    "patient, points, adult, juvenile",
    [
        (MEDIAN_PATIENT, MEDIAN_POINTS, "moderate", "minimal"),
        (RESPONDER, RESPONDER_POINTS, "moderate", "moderate"),
        (EDGE_PATIENT, EDGE_POINTS, "none", "none"),
    ],
    ids=["median", "responder", "edges"],
)
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
    assert breakdown.loc["haq", "percent"] == 12.5  # 2.0 -> 1.625 (the printed 1.6 on the 1/8 grid) of 3
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


def test_what_would_it_take_physician_for_a_child():
    # Median patient as JDM: TIS 40 (minimal), moderate needs 45. Physician 3.8 -> 2.3 is exactly 15% (7.5);
    # 2.2 is 16% (15 points): TIS 47.5.
    answer = next_category.what_would_it_take(MEDIAN_PATIENT, "physician_global", "juvenile")
    assert answer.reachable and (answer.current_category, answer.target_category) == ("minimal", "moderate")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (2.2, 0.1, 47.5)
    assert answer.message == (
        "To reach moderate (TIS >= 45), lower Physician global activity (VAS 0-10 cm) at "
        "follow-up by a further 0.1 cm, from 2.3 to 2.2 cm: the TIS becomes 47.5."
    )


def test_what_would_it_take_mmt_for_the_responder():
    # Responder: TIS 47.5 (adult moderate), major needs 60, so MMT must go from 10 to 27.5 points:
    # more than 20% of 150 = 30, i.e. 110 -> 141 (140 is exactly 20%, still 20 points). TIS 65.
    answer = next_category.what_would_it_take(RESPONDER, "mmt")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (141, 20, 65)
    assert answer.message.startswith("To reach major (TIS >= 60), raise Manual muscle testing (MMT)")
    assert engine_tis(RESPONDER.with_followup("mmt", 140)) == (57.5, "moderate")
    assert engine_tis(RESPONDER.with_followup("mmt", 141)) == (65.0, "major")


def test_what_would_it_take_moves_on_the_instruments_grid():
    # HAQ is recorded in eighths. Median child: HAQ 2.0 -> 1.625 (the printed 1.6 on its grid) scores 5; moderate
    # (45) needs 10 points: more than 40% of 3 = 1.2, so a follow-up below 0.8: 0.75, seven eighths further.
    answer = next_category.what_would_it_take(MEDIAN_PATIENT, "haq", "juvenile")
    assert (answer.needed_followup, answer.further_improvement, answer.new_tis) == (0.75, 0.875, 45)
    coarse = next_category.what_would_it_take(MEDIAN_PATIENT, "physician_global", "juvenile", resolution=0.5)
    assert coarse.needed_followup == 2.0  # the first multiple of 0.5 below 2.3


def test_what_would_it_take_when_nothing_alone_suffices():
    # Median adult: TIS 40, major needs 60. The physician's best is 3.8 -> 0 = 38% (17.5): TIS 50.
    answer = next_category.what_would_it_take(MEDIAN_PATIENT, "physician_global")
    assert not answer.reachable and answer.target_category == "major"
    assert answer.message.endswith("even its best value gives 17.5 points, a TIS of 50.")
    enzyme = next_category.what_would_it_take(MEDIAN_PATIENT, "enzyme", "juvenile")  # already at its 7.5 maximum
    assert not enzyme.reachable and "gives 7.5 points, a TIS of 40" in enzyme.message


def test_what_would_it_take_at_the_limits():
    top = next_category.what_would_it_take(RESPONDER.with_followup("mmt", 141), "haq")
    assert top.target_category is None and not top.reachable
    assert top.message == "TIS 65 is already major: there is no higher category."
    at_max = next_category.what_would_it_take(MEDIAN_PATIENT.with_followup("mmt", 260), "mmt", "juvenile")
    assert not at_max.reachable and "already at the instrument's limit" in at_max.message
    ceiling = PatientVisits(
        baseline={**RESPONDER.baseline, "mmt": 150}, followup=RESPONDER.followup, mmt_max=150, label="synthetic"
    )
    stuck = next_category.what_would_it_take(ceiling, "mmt")
    assert not stuck.reachable and "baseline is at the instrument's ceiling" in stuck.message


#: Synthetic, TIS 35 (adult minimal): every CSM alone can reach moderate (40).
NEAR_MODERATE = PatientVisits(
    baseline={
        "physician_global": 5.0,
        "patient_global": 5.0,
        "mmt": 100,
        "haq": 1.5,
        "enzyme": 1000,
        "extramuscular": 4.0,
    },
    followup={
        "physician_global": 4.0,
        "patient_global": 4.4,
        "mmt": 110,
        "haq": 1.3,
        "enzyme": 900,
        "extramuscular": 3.0,
    },
    mmt_max=150,
    label="synthetic test patient",
)


STEP = {"physician_global": 0.1, "patient_global": 0.1, "extramuscular": 0.1, "haq": 0.125, "mmt": 1, "enzyme": 1}


@pytest.mark.parametrize(
    "patient, population",
    [
        (MEDIAN_PATIENT, "juvenile"),
        (RESPONDER, "adult"),
        (EDGE_PATIENT, "adult"),
        (EDGE_PATIENT, "juvenile"),
        (NEAR_MODERATE, "adult"),
    ],
    ids=["median-juvenile", "responder-adult", "edges-adult", "edges-juvenile", "near-moderate"],
)
@pytest.mark.parametrize("measure", CSMS)
def test_what_would_it_take_is_minimal(patient, population, measure):
    answer = next_category.what_would_it_take(patient, measure, population)
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
    table = next_category.what_would_it_take_table(NEAR_MODERATE)
    assert table["needed follow-up"].to_dict() == {
        "physician_global": 3.4,
        "patient_global": 2.4,
        "mmt": 116,
        "haq": 0.25,
        "enzyme": 749,
        "extramuscular": 2.4,
    }
    assert table["new TIS"].to_dict() == {
        "physician_global": 42.5,
        "patient_global": 40,
        "mmt": 45,
        "haq": 40,
        "enzyme": 40,
        "extramuscular": 40,
    }


def test_what_would_it_take_table_has_a_row_per_csm():
    table = next_category.what_would_it_take_table(MEDIAN_PATIENT, "juvenile")
    assert list(table.index) == list(CSMS)
    assert table["reachable alone"].to_dict() == {
        "physician_global": True,
        "patient_global": True,
        "mmt": True,
        "haq": True,
        "enzyme": False,
        "extramuscular": True,
    }
    # MMT: more than 10% of 260 = 26 above 211, i.e. 238 (20 points): TIS 50.
    assert table.loc["mmt", "needed follow-up"] == 238 and table.loc["mmt", "new TIS"] == 50
    assert np.isnan(table.loc["enzyme", "new TIS"])


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
    answer = next_category.what_would_it_take(patients.PRINTO_PATIENT, "enzyme", "juvenile")
    assert not answer.reachable and "even its best value gives 7.5 points, a TIS of 65" in answer.message


def test_scale_ranges_are_the_ranges_each_change_is_divided_by():
    # MMT-8 0-150; the VAS 0-10 cm and HAQ 0-3 are fixed; the enzyme's range is its baseline (relative)
    # or k x ULN (uln_range, k = 10 by default)
    ranges = patients.scale_ranges(RESPONDER)
    assert ranges.to_dict() == {
        "physician_global": 10.0,
        "patient_global": 10.0,
        "mmt": 150.0,
        "haq": 3.0,
        "enzyme": RESPONDER.baseline["enzyme"],
        "extramuscular": 10.0,
    }
    assert ranges.name == "scale_range" and list(ranges.index) == list(CSMS)
    assert patients.scale_ranges(RESPONDER, "uln_range")["enzyme"] == 10 * RESPONDER.enzyme_uln
    assert RESPONDER.limits("mmt") == (0.0, 150.0) and RESPONDER.limits("mmt").high == 150.0


def test_a_patient_score_cannot_be_changed_after_the_fact():
    score = patients.score_patient(RESPONDER)
    with pytest.raises(AttributeError):
        score.tis = 100.0  # type: ignore[misc]
