"""Notebook 01's exercises (ivig_kit.teaching.exercises): each answer computed by hand, each known mistake
explained, and the notebook checks every answer and hides every solution behind a button."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ivig_kit.teaching import exercises
from ivig_kit.teaching.exercises import check_answer

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_total_improvement_score.ipynb"


#: exercise -> (right answer by hand, {known wrong answer: words its feedback must contain})
ANSWERS = {
    "absolute_percent": (25, {50: "relative change", 0.75: "percent of the range"}),  # 0.75 / 3, on the 1/8 grid
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
    assert check_answer("absolute_percent", 25.04)  # within 0.05 percentage points
    assert not check_answer("absolute_percent", 25.2)
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
