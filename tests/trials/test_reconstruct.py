"""The reconstructed pilot cohort: deterministic, labelled synthetic, and true to the paper's counts."""

import numpy as np
import pytest

from ivig_kit.score.engine import best_reachable_mmt_points
from ivig_kit.score.measures import CORE_SET
from ivig_kit.trials.pilot import (
    CourseFacts,
    course_facts,
    cumulative_responders,
    patient_courses,
    pilot_scores,
    responders_above,
)
from ivig_kit.trials.reconstruct import (
    DATA_SOURCE,
    PILOT_MMT_MAX,
    RECONSTRUCTED_PATH,
    effective_mmt_ceiling,
    quantile_values,
    read_reconstructed_cohort,
    reconstruct_pilot_cohort,
)


@pytest.fixture(scope="module")
def cohort():
    return read_reconstructed_cohort()


@pytest.fixture(scope="module")
def courses(cohort):
    return patient_courses(cohort)


@pytest.mark.slow
def test_committed_file_equals_a_fresh_generation():
    assert reconstruct_pilot_cohort().to_csv(index=False) == RECONSTRUCTED_PATH.read_text(encoding="utf-8")


def test_every_row_is_labelled_reconstructed(cohort):
    assert set(cohort["data_source"]) == {DATA_SOURCE}
    assert "reconstructed" in DATA_SOURCE and "not the trial" in DATA_SOURCE


def test_cohort_shape_and_subtype_mix(cohort):
    patients = cohort.groupby("patient_id").first()
    assert len(patients) == 20
    assert patients["subtype"].value_counts().to_dict() == {"DM": 9, "IMNM": 6, "NM/OM": 4, "ASS": 1}
    assert set(cohort["mmt_max"]) == {PILOT_MMT_MAX}
    assert set(cohort["week"]) == {0, 3, 4, 6, 9}


def test_patient_2_has_minimal_weakness_at_an_effective_ceiling_and_is_excluded(cohort):
    two = cohort[cohort["patient_id"] == "02"].sort_values("week")
    baseline = two.iloc[0]
    assert baseline["mmt"] < baseline["mmt_max"]  # minimal weakness, not none (the paper)
    assert best_reachable_mmt_points(baseline["mmt"], baseline["mmt_max"]) == 0  # yet no MMT points to earn
    assert best_reachable_mmt_points(baseline["mmt"] - 1, baseline["mmt_max"]) > 0  # the highest such score
    assert baseline["mmt"] == effective_mmt_ceiling() == 255
    assert not two["analysed"].any() and two["subtype"].iloc[0] == "DM"


def test_haq_is_on_its_one_eighth_grid(cohort):
    step = CORE_SET["haq"].resolution
    assert step == 0.125
    assert np.allclose(cohort["haq"] / step, np.round(cohort["haq"] / step))


def test_the_amendment_rule_holds_as_the_paper_states_it(cohort):
    scores = pilot_scores(cohort)
    week4 = scores[scores["week"] == 4].set_index("patient_id")
    amended = week4["regimen"].str.startswith("amended")
    assert amended.sum() == 3
    assert (week4.loc[amended, "tis"] < 40).all() and (week4.loc[~amended, "tis"] >= 40).all()
    # every patient after the amendment without a week-4 assessment ended before week 4
    post = cohort[cohort["patient_id"].astype(int) >= 11].groupby("patient_id")["week"].max()
    assert (post.drop(index=week4.index) < 4).all()


def test_one_amended_patient_ends_early(courses):
    assert int((courses["amended"] & courses["rescue"]).sum()) == 1


def test_week4_visits_only_after_the_amendment(cohort):
    week4 = cohort.loc[cohort["week"] == 4, "patient_id"].astype(int)
    assert len(week4) and (week4 >= 11).all()


def test_the_papers_counts_hold(courses):
    assert course_facts(courses) == CourseFacts(
        analysed=19,
        excluded=1,
        responders_tis40=8,
        responders_by_week3=6,
        responders_at_week4=1,
        responders_at_week6=1,
        tis20_at_end=9,
        transient_minimal=3,
        amended_regimen=3,
        early_end_rescue=7,
        confirmed_deterioration=0,
    )


def test_cumulative_responders_by_week(courses):
    cumulative = cumulative_responders(courses)
    assert cumulative["responders"].tolist() == [6, 7, 8, 8]
    assert cumulative["share"].iloc[-1] == pytest.approx(8 / 19)


def test_responders_are_counted_at_the_end_for_both_thresholds(courses):
    analysed = courses[courses["analysed"]]
    assert (analysed["responder"] == (analysed["end_tis"] >= 40)).all()
    reached_40_ever = analysed["first_week_tis40"].notna()
    assert (reached_40_ever == analysed["responder"]).all()  # no responder lost TIS >= 40 before the end


def test_rescue_patients_end_before_week_9(courses):
    rescue = courses[courses["rescue"]]
    assert len(rescue) == 7 and (rescue["last_week"] < 9).all() and not rescue["responder"].any()


def test_sensitivity_with_patients_2_and_4_is_the_documented_gap(courses):
    # The paper's Discussion: 55% (11/20) with TIS > 20 including patients 2 and 4. Nine analysed patients
    # end at TIS >= 20 (Results), so 11/20 needs two more: patient 2 gives one; the paper does not say why
    # patient 4 was set apart, and in this reconstruction patient 4 stays below 20. Pinned: 10/20.
    result = responders_above(courses, threshold=20, include=("02", "04"))
    assert (result.responders, result.patients) == (10, 20)


@pytest.mark.parametrize(
    "median, q1, q3, low, high",
    [(3.8, 3.2, 4.0, 0, 10), (1199, 179, 6500, 10, 50_000), (-103, -3066, -12, -50_000, 50_000)],
)
def test_quantile_values_hit_median_and_quartiles_in_order(median, q1, q3, low, high):
    values = quantile_values(median, q1, q3, 19, low, high)
    assert (np.diff(values) >= 0).all(), "values must come out in order, or sorting moves the quartiles"
    assert np.quantile(values, [0.25, 0.5, 0.75]) == pytest.approx([q1, median, q3])
    assert values.min() >= low and values.max() <= high


@pytest.mark.slow
def test_another_seed_gives_another_cohort_with_the_same_counts(courses):
    other = reconstruct_pilot_cohort(seed=7)
    assert not other[["physician_global", "mmt"]].equals(reconstruct_pilot_cohort()[["physician_global", "mmt"]])
    assert course_facts(patient_courses(other)) == course_facts(courses)
