"""The trial notebooks' exercises: right answers accepted, known and unknown wrong answers rejected."""

import pytest
from scipy import stats

from ivig_kit.teaching.exercises import EXERCISES, check_answer, solution_text
from ivig_kit.trials.exercises import PILOT_EXERCISES, PRODERM_EXERCISES

ALL = {**PILOT_EXERCISES, **PRODERM_EXERCISES}

# What a learner would type: independent computations where they are cheap, else the kit's pinned result.
RIGHT_ANSWERS = {
    "pilot.ci": round(100 * stats.beta.ppf(0.05, 8, 12), 1),  # 90% Clopper-Pearson lower limit for 8/19
    "pilot.fidelity": "close",
    "pilot.by_week9": 12,
    "pilot.claim": "No",
    "proderm.exact_interval": 18.7,
    "proderm.reproduction": "wald",
    "proderm.news_claim": round(100 * 6 / 95, 1),
    "proderm.splits": 2.7,
}
UNRELATED_WRONG = {
    "pilot.ci": 42.1,
    "pilot.fidelity": "maybe",
    "pilot.by_week9": 19,
    "pilot.claim": "perhaps",
    "proderm.exact_interval": 35.0,
    "proderm.reproduction": "bayes",
    "proderm.news_claim": 50.0,
    "proderm.splits": 50.0,
}


def test_registered_with_namespaced_keys_at_least_three_per_notebook():
    assert all(key.startswith("pilot.") for key in PILOT_EXERCISES) and len(PILOT_EXERCISES) >= 3
    assert all(key.startswith("proderm.") for key in PRODERM_EXERCISES) and len(PRODERM_EXERCISES) >= 3
    assert all(EXERCISES[key] is exercise for key, exercise in ALL.items())
    assert set(RIGHT_ANSWERS) == set(ALL)


@pytest.mark.parametrize("key", sorted(ALL))
def test_right_answer_is_accepted(key):
    feedback = check_answer(key, RIGHT_ANSWERS[key])
    assert feedback.status == "correct", feedback.message


@pytest.mark.parametrize("key", sorted(ALL))
def test_known_mistakes_are_rejected_with_their_explanation(key):
    for wrong, why in ALL[key].mistakes.items():
        feedback = check_answer(key, wrong)
        assert feedback.status == "incorrect" and getattr(why, "message", why) in feedback.message


@pytest.mark.parametrize("key", sorted(ALL))
def test_unrelated_wrong_answer_is_rejected_and_unanswered_gets_no_verdict(key):
    assert check_answer(key, UNRELATED_WRONG[key]).status == "incorrect"
    unanswered = check_answer(key, None)
    assert unanswered.status == "unanswered" and ALL[key].explanation not in unanswered.message


@pytest.mark.parametrize("key", sorted(k for k, v in RIGHT_ANSWERS.items() if isinstance(v, float)))
def test_numeric_solutions_state_the_computed_answer(key):
    assert f"{ALL[key].answer():.1f}" in solution_text(key)
