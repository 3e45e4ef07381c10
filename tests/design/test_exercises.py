"""Notebook 04's exercises (ivig_kit.design.exercises): prompts, answers, mistakes and solutions shown on a click."""

from __future__ import annotations

import pytest

from ivig_kit.design.exercises import DESIGN_EXERCISES
from ivig_kit.exercises import check_answer, solution_button


@pytest.mark.parametrize("exercise", list(DESIGN_EXERCISES))
def test_checks_prompt_when_unanswered_accept_right_and_reject_wrong_answers(exercise):
    spec = DESIGN_EXERCISES[exercise]
    unanswered = check_answer(exercise, None)
    assert unanswered.status == "unanswered" and "Not answered yet" in repr(unanswered)
    assert "Correct" not in repr(unanswered) and spec.explanation not in repr(unanswered)
    assert check_answer(exercise, spec.answer())
    assert not check_answer(exercise, 12345)
    assert not check_answer(exercise, "a lot")
    for wrong, why in spec.mistakes.items():
        verdict = check_answer(exercise, wrong)
        assert verdict.status == "incorrect" and getattr(why, "message", why) in repr(verdict)


def test_exercise_answers():
    assert check_answer("design.power_48", 0.86) and not check_answer("design.power_48", 0.99)
    assert check_answer("design.n_90_dropout", 62) and not check_answer("design.n_90_dropout", 56)
    assert check_answer("design.n_90_dropout", 64)  # the other convention: completers rounded up first
    assert check_answer("design.mc_se", 0.02) and not check_answer("design.mc_se", 0.0004)


def test_solution_is_shown_only_after_a_click():
    box = solution_button("design.mc_se")
    button, shown = box.children
    assert shown.value == ""
    button.click()
    assert DESIGN_EXERCISES["design.mc_se"].explanation.split(":")[0] in shown.value
