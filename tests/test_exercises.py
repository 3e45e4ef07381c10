"""The exercise machinery (ivig_kit.exercises): registry, verdicts, solutions revealed only on a click, and the
leak check of executed notebooks."""

from __future__ import annotations

import html

import nbformat
import pytest

from ivig_kit.errors import InputError, UnknownFactError
from ivig_kit.exercises import (
    EXERCISES,
    Exercise,
    Feedback,
    register_exercises,
    solution_text,
)
from ivig_kit.teaching import exercises  # notebook 01's exercises, registered on import
from ivig_kit.teaching.exercises import check_answer

#: A tiny exercise set of the test's own, registered for one test at a time.
OWN = {
    "machinery.number": Exercise(
        question="2 + 2?",
        answer=lambda: 4.0,
        explanation="4, by counting <fingers>.",
        tolerance=0.1,
        mistakes={22.0: "That is the digits side by side."},
        hint="Add.",
    ),
    "machinery.word": Exercise(
        question="Colour of the sky?", answer=lambda: "blue", explanation="Blue.", hint="Look up."
    ),
}


@pytest.fixture
def own_exercises():
    register_exercises(OWN)
    yield OWN
    for key in OWN:
        EXERCISES.pop(key)


def test_check_answer_gives_a_verdict_only_to_an_answer(own_exercises):
    unanswered = check_answer("machinery.number", None)
    assert unanswered.status == "unanswered" and not unanswered and "Hint: Add." in unanswered.message
    assert check_answer("machinery.number", 4.1) and check_answer("machinery.number", "4")
    assert not check_answer("machinery.number", 4.2)  # outside the tolerance of 0.1
    mistake = check_answer("machinery.number", 22.04)  # a known mistake matches within 0.05
    assert mistake.status == "incorrect" and "digits side by side" in mistake.message
    assert "Hint: Add." in check_answer("machinery.number", "four").message
    assert check_answer("machinery.word", "  BLUE ") and not check_answer("machinery.word", 4)
    with pytest.raises(UnknownFactError, match=r"no exercise 'machinery.nope'"):
        check_answer("machinery.nope", 1)


def test_feedback_is_true_only_when_correct_and_escapes_its_html():
    right, wrong = Feedback("correct", "Correct: <b>"), Feedback("incorrect", "Not quite")
    assert right and not wrong and repr(right) == str(right) == "Correct: <b>"
    assert "&lt;b&gt;" in right._repr_html_() and "<b>" not in right._repr_html_()


def test_a_key_is_registered_once(own_exercises):
    register_exercises({"machinery.word": OWN["machinery.word"]})  # the same exercise again: fine
    other = Exercise(question="?", answer=lambda: 1, explanation="1.")
    with pytest.raises(InputError, match=r"machinery.word"):
        register_exercises({"machinery.word": other})
    assert EXERCISES["machinery.word"] is OWN["machinery.word"]


def test_solution_text_is_the_explanation(own_exercises):
    assert solution_text("machinery.number") == "Solution: 4, by counting <fingers>."


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
    assert (
        exercises.solution_outputs(
            executed(
                [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"text/html": verdict._repr_html_(), "text/plain": repr(verdict)},
                    }
                ]
            )
        )
        != []
    )
    text = exercises.EXERCISES["deterioration"].explanation
    leaks = exercises.solution_outputs(executed([{"output_type": "stream", "name": "stdout", "text": text}]))
    assert leaks == [f"cell 1: the solution {text[:40]!r}..."]
    unanswered = check_answer("jdm_cmas", None)
    clean = executed(
        [
            {
                "output_type": "execute_result",
                "execution_count": 1,
                "metadata": {},
                "data": {"text/html": unanswered._repr_html_(), "text/plain": repr(unanswered)},
            },
            {"output_type": "stream", "name": "stdout", "text": "Corrected Miettinen-Nurminen interval"},
        ]
    )
    assert exercises.solution_outputs(clean) == []
