"""The exercise machinery: every known mistake of every registered exercise is tested against the value it
names (computed here, not typed), each mistake has its own scale-aware tolerance, a boolean is no number."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import ivig_kit.design.exercises
import ivig_kit.teaching.core_set_exercises
import ivig_kit.teaching.exercises
import ivig_kit.trials.exercises  # noqa: F401  (registers notebooks 02-03's exercises)
from ivig_kit.exercises import EXERCISES, Exercise, Mistake, check_answer, mistake_tolerances, register_exercises
from ivig_kit.facts import published_count, published_fact
from ivig_kit.score.engine import category, relative_percent_improvement
from ivig_kit.score.measures import CORE_SET
from ivig_kit.teaching.patients import CMAS_PATIENT, RESPONDER, score_patient


def band_points(measure, band):
    return CORE_SET[measure].band_points[band]


def naive_float_points(measure, percent):
    """Points from a float percent compared naively (the floating-point trap)."""
    return band_points(measure, sum(percent > edge for edge in CORE_SET[measure].band_edges_percent))


def responder_tis_relative():
    """The responder scored on changes relative to baseline (the wrong quantity)."""
    total = 0.0
    for name in CORE_SET:
        b, f = RESPONDER.baseline[name], RESPONDER.followup[name]
        total += naive_float_points(name, relative_percent_improvement(name, b, f))
    return total


def responder_tis_patient_global_in_band_3():
    score = score_patient(RESPONDER)
    points = score.breakdown["points"]
    return score.tis - points["patient_global"] + band_points("patient_global", 2)


def deterioration_confirmed_week(inclusive: bool):
    """First confirmed week of the deterioration example, with inclusive or exclusive thresholds (0 if never)."""
    from ivig_kit.teaching.deterioration_lessons import deterioration_example

    visits = deterioration_example()
    base = visits.iloc[0]
    met = []
    for _, visit in visits.iloc[1:].iterrows():
        physician = round(visit["physician_global"] - base["physician_global"], 6)
        mmt = round(100 * (base["mmt"] - visit["mmt"]) / base["mmt_max"], 6)
        met.append((visit["week"], physician >= 2 and mmt >= 20 if inclusive else physician > 2 and mmt > 20))
    confirmed = [w for (_, before), (w, now) in itertools.pairwise(met) if before and now]
    return confirmed[0] if confirmed else 0.0


def t_power(n_per_arm, one_sided=False):
    """Power of the two-sample t-test for d = 20 / 22.3 from the noncentral t (not statsmodels)."""
    df, nc = 2 * n_per_arm - 2, 20 / 22.3 * math.sqrt(n_per_arm / 2)
    if one_sided:
        return stats.nct.sf(stats.t.isf(0.05, df), df, nc)
    crit = stats.t.isf(0.025, df)
    return stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)


def n_total(dropout, round_completers_first=False):
    d = 20 / 22.3
    n = next(n for n in range(2, 500) if t_power(n) >= 0.9) - 1  # bracket, then solve continuously
    from scipy.optimize import brentq

    completers = brentq(
        lambda m: (
            (
                lambda df, nc: (
                    stats.nct.sf(stats.t.isf(0.025, df), df, nc) + stats.nct.cdf(-stats.t.isf(0.025, df), df, nc)
                )
            )(2 * m - 2, d * math.sqrt(m / 2))
            - 0.9
        ),
        2,
        n + 2,
    )
    if round_completers_first:
        completers = math.ceil(completers)
    return 2 * math.ceil(completers / (1 - dropout))


def pilot_cp(confidence, side):
    x, n = published_count("pilot", "primary_responders"), published_count("pilot", "analysed_n")
    alpha = 1 - confidence
    return 100 * (stats.beta.ppf(alpha / 2, x, n - x + 1) if side == "low" else stats.beta.isf(alpha / 2, x + 1, n - x))


def proderm_counts():
    return (
        published_count("proderm", "primary_ivig_responders"),
        published_count("proderm", "primary_ivig_n"),
        published_count("proderm", "primary_placebo_responders"),
        published_count("proderm", "primary_placebo_n"),
    )


def wald_lower_95():
    x1, n1, x2, n2 = proderm_counts()
    p1, p2 = x1 / n1, x2 / n2
    return 100 * (p1 - p2 - stats.norm.isf(0.025) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))


def santner_snell(confidence):
    from ivig_kit.inference.exact import exact_unconditional_interval

    return 100 * exact_unconditional_interval(*proderm_counts(), method="santner_snell", confidence=confidence)[0]


def splits_summary():
    from ivig_kit.trials.sponsor_p_value import stratified_p_value_question

    return stratified_p_value_question().summary


def partition_share():
    from ivig_kit.inference.stratified_splits import stratified_p_by_imbalance

    return (
        100
        * stratified_p_by_imbalance(*proderm_counts(), "0.0008", imbalances=(None,), both_arms=True)[
            "share_of_partitions"
        ].iloc[0]
    )


def pilot_tis20_at_end():
    from ivig_kit.trials.pilot import patient_courses
    from ivig_kit.trials.reconstruct import read_reconstructed_cohort

    courses = patient_courses(read_reconstructed_cohort())
    analysed = courses[courses["analysed"]]
    return int((analysed["end_tis"] >= 20).sum()), int((analysed["end_tis"] >= 40).sum())


#: (exercise, mistake) -> the value the mistake's message names, computed independently of the key.
NAMED_VALUES = {
    ("absolute_percent", 50.0): lambda: 100 * (1.5 - 0.75) / 1.5,  # relative to baseline
    ("absolute_percent", 0.75): lambda: 1.5 - 0.75,  # the change in HAQ units
    ("points_at_edge", 15.0): lambda: band_points("physician_global", 2),  # band 3
    ("points_at_edge", 17.5): lambda: band_points("physician_global", 3),  # more than 25%
    ("total_tis", 50.0): responder_tis_patient_global_in_band_3,
    ("total_tis", 62.5): responder_tis_relative,
    ("juvenile_category", "major"): lambda: category(62.5, "adult"),
    ("float_trap", 10.0): lambda: naive_float_points("mmt", (41.6 - 40) / 80 * 100),
    ("ceiling", 32.5): lambda: CORE_SET["mmt"].max_points,
    ("ceiling", 10.0): lambda: band_points("mmt", 1),  # the band '>2-10%' that 1.9% does not reach
    ("deterioration", 4.0): lambda: 4.0 if deterioration_confirmed_week(True) == 8 else np.nan,  # first met
    ("deterioration", 0.0): lambda: deterioration_confirmed_week(inclusive=False),
    ("deterioration", 12.0): lambda: 12.0,  # the recovered visit (its criteria are tested in test_lessons)
    ("jdm_cmas", 27.5): lambda: band_points("mmt", 3),
    ("jdm_cmas", 32.5): lambda: naive_float_points(
        "mmt", 100 * (CMAS_PATIENT.followup["mmt"] - CMAS_PATIENT.baseline["mmt"]) / CMAS_PATIENT.baseline["mmt"]
    ),
    ("jdm_cmas", 10.0): lambda: band_points("mmt", 1),
    ("pilot.ci", 20.3): lambda: pilot_cp(0.95, "low"),
    ("pilot.ci", 19.6): lambda: float(published_fact("pilot", "primary_ci_low_printed")["value"]),
    ("pilot.ci", 63.2): lambda: pilot_cp(0.90, "high"),
    ("pilot.ci", 0.23): lambda: pilot_cp(0.90, "low") / 100,
    ("pilot.fidelity", "exact"): lambda: "exact",
    ("pilot.fidelity", "not reproduced"): lambda: "not reproduced",
    ("pilot.by_week9", 9): lambda: pilot_tis20_at_end()[0],
    ("pilot.by_week9", 8): lambda: pilot_tis20_at_end()[1],
    ("pilot.claim", "yes"): lambda: "yes",
    ("proderm.exact_interval", 15.6): lambda: santner_snell(0.95),
    ("proderm.exact_interval", 16.7): wald_lower_95,
    ("proderm.exact_interval", 0.187): lambda: santner_snell(0.90) / 100,
    ("proderm.reproduction", "score"): lambda: "score",
    ("proderm.reproduction", "newcombe"): lambda: "newcombe",
    ("proderm.news_claim", 12.8): lambda: 100 * 6 / 47,
    ("proderm.news_claim", 1.9): lambda: 100 * 1 / 52,
    ("proderm.splits", 0.027): lambda: splits_summary().share_printing_as,
    ("proderm.splits", 89.1): lambda: 100 * splits_summary().share_below_005,
    ("proderm.splits", 4.25): partition_share,
    ("design.power_48", "per arm"): lambda: t_power(48),
    ("design.power_48", "one-sided"): lambda: t_power(24, one_sided=True),
    ("design.n_90_dropout", 56): lambda: n_total(0.0),
    ("design.mc_se", 0.0004): lambda: 0.8 * 0.2 / 400,  # the variance
    ("design.mc_se", 0.4): lambda: math.sqrt(0.8 * 0.2),  # the SD of one trial's verdict
    ("haq_cane", 0.875): lambda: (7 * 1 + 0) / 8,  # HAQ-ADI: the cane ignored, walking stays 0
    ("haq_cane", 1.0): lambda: (7 * 1 + (0 + 1)) / 8,  # the '+1' variant: walking 0 + 1
    ("haq_six_answered", 1.125): lambda: (2 + 1 + 1 + 2 + 1 + 2) / 8,  # divided by 8, not by the 6 answered
    ("haq_six_answered", 0.0): lambda: 0.0,  # no index at all (a minimum of 7 categories), read as zero
    ("mmt_left_biceps", 57.0): lambda: 9 + 6 * 8,  # the biceps left out
    ("mmt_left_biceps", 65.0): lambda: 9 + 7 * 8,  # the biceps taken as 8
    ("doi_veto", "yes"): lambda: "yes",
}
#: the design.power_48 mistakes are keyed by their computed powers; named here by what they are
POWER_KEYS = {"per arm": 0, "one-sided": 1}


def registered_mistakes():
    for key, spec in EXERCISES.items():
        for position, wrong in enumerate(spec.mistakes):
            label = (
                next((name for name, i in POWER_KEYS.items() if i == position), wrong)
                if key == "design.power_48"
                else wrong
            )
            yield key, label, wrong


def test_every_registered_mistake_names_a_computed_value():
    assert {(key, label) for key, label, _ in registered_mistakes()} == set(NAMED_VALUES)


@pytest.mark.parametrize("key, label, wrong", list(registered_mistakes()), ids=lambda v: str(v))
def test_each_mistake_message_is_given_for_the_value_it_names(key, label, wrong):
    spec = EXERCISES[key]
    named = NAMED_VALUES[(key, label)]()
    message = spec.mistakes[wrong]
    message = message.message if isinstance(message, Mistake) else message
    feedback = check_answer(key, named)
    assert feedback.status == "incorrect" and message in feedback.message, (named, feedback.message)
    if not isinstance(named, str):  # the key sits within its own tolerance of the value it names
        assert abs(float(wrong) - float(named)) <= mistake_tolerances(spec)[wrong] + 1e-12, (wrong, named)


def test_the_issue_cases_get_no_wrong_diagnosis():
    assert "variance" not in check_answer("design.mc_se", 0.04).message  # the variance is 0.0004
    for answer in (0.874, 0.90):
        assert "one-sided" not in check_answer("design.power_48", answer).message  # one-sided is 0.922
    assert "per arm" not in check_answer("design.power_48", 0.95).message  # nobs1 = 48 gives 0.992
    assert "one-sided" in check_answer("design.power_48", 0.92).message
    assert "per arm" in check_answer("design.power_48", 0.99).message


def test_both_dropout_conventions_are_accepted_and_named():
    assert check_answer("design.n_90_dropout", n_total(0.10)) and n_total(0.10) == 62
    other = check_answer("design.n_90_dropout", n_total(0.10, round_completers_first=True))
    assert other and n_total(0.10, round_completers_first=True) == 64 and "rounding the completers" in other.message
    assert "convention" in EXERCISES["design.n_90_dropout"].question


def test_a_boolean_is_not_a_number_answer():
    exercise = Exercise(question="one?", answer=lambda: 1.0, explanation="one", tolerance=0.1, mistakes={0.0: "zero"})
    register_exercises({"test.boolean": exercise})
    try:
        assert check_answer("test.boolean", 1.0) and check_answer("test.boolean", 1)
        for answer in (True, np.bool_(True)):
            assert check_answer("test.boolean", answer).status == "incorrect"
        assert "zero" not in check_answer("test.boolean", False).message
        assert check_answer("float_trap", False).status == "incorrect"  # the answer is 0.0
    finally:
        EXERCISES.pop("test.boolean")


def test_mistake_tolerances_are_scale_aware_and_never_reach_another_value():
    exercise = Exercise(
        question="?",
        answer=lambda: 0.02,
        explanation="",
        tolerance=0.002,
        mistakes={0.0004: "variance", 0.4: "sd", 0.021: Mistake("near", tolerance=1.0)},
    )
    tolerances = mistake_tolerances(exercise)
    assert tolerances[0.0004] == pytest.approx(4e-6) and tolerances[0.4] == pytest.approx(0.004)
    assert tolerances[0.021] == pytest.approx(0.0005)  # capped at half the way to the answer 0.02
