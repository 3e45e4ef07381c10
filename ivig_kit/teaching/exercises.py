"""Exercises of the notebooks: questions whose answers the kit computes, feedback for the mistakes
people make, and solutions that appear only when a learner asks for them.

Every notebook's exercises live in one registry (:data:`EXERCISES`); a module adds its own with
:func:`register_exercises`. In a notebook, an exercise cell calls :func:`check_answer` with the
learner's answer (``None`` until they fill it in), and :func:`solution_button` shows a button that
reveals the worked solution on click, so running all cells never gives an answer away.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ivig_kit.errors import InputError, UnknownFactError
from ivig_kit.score.engine import (
    absolute_percent_improvement,
    best_reachable_mmt_points,
    category,
    improvement_points,
    score_measure,
)
from ivig_kit.score.measures import INSTRUMENTS, SCALE_RANGE
from ivig_kit.teaching.lessons import deterioration_example, deterioration_table
from ivig_kit.teaching.patients import CMAS_PATIENT, RESPONDER, score_patient

# --- Exercises ------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """A question with an engine-computed answer, and feedback for the mistakes people make."""

    question: str
    answer: Callable[[], Any]
    explanation: str
    tolerance: float = 0.0
    #: known wrong answers -> what the learner probably did
    mistakes: Mapping[Any, str] = field(default_factory=dict)
    hint: str = ""


@dataclass(frozen=True)
class Feedback:
    """What :func:`check_answer` says; shows as coloured text in a notebook."""

    status: str  # "correct", "incorrect" or "unanswered"
    message: str

    def __bool__(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "incorrect": "#b35900", "unanswered": "#555555"}[self.status]
        return f'<div class="tis-feedback" style="color:{colour}">{html.escape(self.message)}</div>'


#: The exercises of notebook 01 (the score itself).
TIS_EXERCISES: dict[str, Exercise] = {
    "absolute_percent": Exercise(
        question="A patient's HAQ (0-3) goes from 1.5 to 0.9. What is its absolute percent improvement?",
        answer=lambda: float(absolute_percent_improvement("haq", 1.5, 0.9, SCALE_RANGE["haq"])),
        tolerance=0.05,
        mistakes={40.0: "40% is the relative change (0.6 / 1.5 baseline). The TIS divides by the "
                        "instrument's range, 3.",
                  0.6: "0.6 is the change in HAQ units; express it as a percent of the range 0-3."},
        hint="Change divided by the instrument's range, times 100.",
        explanation="(1.5 - 0.9) / 3 x 100 = 20%. (Relative to baseline it would be 40%.)"),
    "points_at_edge": Exercise(
        question="How many points does a physician global improvement of exactly 15% earn?",
        answer=lambda: improvement_points("physician_global", 15),
        mistakes={15.0: "15 points is band 3 (>15-25%). Bands are right-closed: exactly 15% is still band 2.",
                  17.5: "17.5 points needs more than 25%."},
        hint="Band 2 is '>5-15%': does it include 15?",
        explanation="Band 2 is >5-15%, right-closed, so exactly 15% earns 7.5 points."),
    "total_tis": Exercise(
        question="Score the responder (RESPONDER): what is its TIS?",
        answer=lambda: score_patient(RESPONDER).tis,
        mistakes={50.0: "Check the patient global: 7.0 -> 5.5 cm is exactly 15%, still band 2 (2.5 points).",
                  62.5: "That is what relative changes (change / baseline) would give; the TIS uses the range."},
        hint="Score each of the six CSMs from its absolute percent improvement, then add the points.",
        explanation="15 (physician 18%) + 2.5 (patient exactly 15%) + 10 (MMT 7.3%) + 5 (HAQ 10%) "
                    "+ 7.5 (CK 57%) + 7.5 (extramuscular 10%) = 47.5."),
    "juvenile_category": Exercise(
        question="A child with juvenile dermatomyositis has a TIS of 62.5. Which category "
                 "(none, minimal, moderate or major)?",
        answer=lambda: category(62.5, "juvenile"),
        mistakes={"major": "Major is right for an adult (>= 60); the juvenile threshold for major is 70."},
        hint="Juvenile thresholds are 30 / 45 / 70.",
        explanation="Juvenile: minimal >= 30, moderate >= 45, major >= 70; 62.5 is moderate (an adult would be major)."),
    "float_trap": Exercise(
        question="MMT-8 on one side (0-80) goes from 40 to 41.6. How many MMT points?",
        answer=lambda: float(score_measure("mmt", [40], [41.6], [80]).points[0]),
        mistakes={10.0: "That is what plain floating point gives (2.0000000000000018%). "
                        "The change is exactly 2% of 80, and 'worsening to 2%' scores 0."},
        hint="1.6 / 80 x 100 is exactly 2%. Which band is exactly 2% in, for MMT?",
        explanation="1.6 / 80 x 100 = 2% exactly, in the right-closed band 'worsening to 2%': 0 points."),
    "ceiling": Exercise(
        question="On the Kendall scale (0-260), a patient starts at MMT 255. What is the most the MMT can "
                 "add to the TIS, however strong they become?",
        answer=lambda: float(best_reachable_mmt_points(255, 260)),
        mistakes={32.5: "32.5 is the MMT's maximum, but from 255 the most it can rise is 5 of 260.",
                  10.0: "5 / 260 is 1.9%: below the 2% edge."},
        hint="The largest possible rise is 260 - 255; what percent of 260 is that?",
        explanation="(260 - 255) / 260 = 1.9%, not more than 2%: 0 points. The patient is at an effective ceiling."),
    "deterioration": Exercise(
        question="The synthetic patient of the deterioration section (MMT-8 both sides, 0-150) has baseline "
                 "physician global 3.0 cm and MMT 120; week 4: 5.0 cm and MMT 90; week 8: 5.2 cm and MMT 88; "
                 "week 12: 3.5 cm and MMT 110. At which week is deterioration first confirmed? (0 if never)",
        answer=lambda: _first_confirmed_week(),
        mistakes={4.0: "Week 4 meets the criteria (physician +2.0 cm, MMT 30 of 150 = 20% worse), but one visit is "
                       "not enough: it must be met at two consecutive visits.",
                  0.0: "The thresholds are inclusive: exactly 2 cm and exactly 20% of the range count as worsening.",
                  12.0: "By week 12 the patient has recovered (physician +0.5 cm, MMT 6.7% worse)."},
        hint="Check physician >= 2 cm worse and MMT >= 20% (of 150) worse against baseline at each visit; "
             "then look for two consecutive visits.",
        explanation="Week 4: +2.0 cm and 30/150 = 20% worse, criteria met (thresholds inclusive). Week 8: +2.2 cm "
                    "and 32/150 = 21.3%, met again: deterioration is confirmed at week 8."),
    "jdm_cmas": Exercise(
        question="A child's CMAS (0-52, higher is better) goes from 30 to 40.4. How many points does the strength "
                 "row (MMT or CMAS) earn?",
        answer=lambda: float(score_patient(CMAS_PATIENT, "juvenile").breakdown.loc["mmt", "points"]),
        mistakes={27.5: "10.4 / 52 is exactly 20%: the band '>10-20%' is right-closed, so it scores 20, not 27.5.",
                  32.5: "That would be a relative change (10.4 / 30 = 34.7%); the TIS divides by the range, 52.",
                  10.0: "10 points is the band '>2-10%'. Divide the rise by the CMAS range, 52: that is 20%."},
        hint=f"CMAS range: {INSTRUMENTS['cmas'].fixed_range:g}. The MMT row's bands are 2 / 10 / 20 / 30%.",
        explanation="(40.4 - 30) / 52 x 100 = 20% exactly, in the right-closed band '>10-20%': 20 points."),
}
#: Every registered exercise of every notebook, by key.
EXERCISES: dict[str, Exercise] = dict(TIS_EXERCISES)


def _first_confirmed_week() -> float:
    """The first week at which the deterioration example is confirmed, from the engine (0 if never)."""
    table = deterioration_table(deterioration_example())
    confirmed = table.loc[table["confirmed deterioration"], "week"]
    return float(confirmed.iloc[0]) if len(confirmed) else 0.0


def register_exercises(exercises: Mapping[str, Exercise]) -> None:
    """Add a notebook's exercises to the registry; a key may be registered only once."""
    clash = sorted(set(exercises) & set(EXERCISES))
    if clash and any(EXERCISES[key] is not exercises[key] for key in clash):
        raise InputError(f"exercise keys already registered: {', '.join(clash)}")
    EXERCISES.update(exercises)


def _exercise(key: str) -> Exercise:
    if key not in EXERCISES:
        raise UnknownFactError(f"no exercise {key!r}; choose from {sorted(EXERCISES)}")
    return EXERCISES[key]


def check_answer(exercise: str, answer) -> Feedback:
    """Check a learner's answer to one of :data:`EXERCISES`.

    Parameters
    ----------
    exercise : str
        Key of the exercise.
    answer : object or None
        The learner's answer; ``None`` means not answered yet (no verdict, only the hint).

    Returns
    -------
    Feedback
        ``correct``, ``incorrect`` (with what probably went wrong) or ``unanswered``.

    Examples
    --------
    >>> check_answer("points_at_edge", 15.0).status
    'incorrect'
    >>> check_answer("points_at_edge", None).status
    'unanswered'
    """
    spec = _exercise(exercise)
    if answer is None:
        return Feedback("unanswered", f"Not answered yet: put your answer in place of None and run the cell again. "
                                      f"Hint: {spec.hint}")
    expected = spec.answer()
    if _matches(answer, expected, spec.tolerance):
        return Feedback("correct", f"Correct: {spec.explanation}")
    for wrong, why in spec.mistakes.items():
        if _matches(answer, wrong, max(spec.tolerance, 0.05 if isinstance(wrong, float) else 0)):
            return Feedback("incorrect", f"Not quite ({answer!r}). {why}")
    return Feedback("incorrect", f"Not quite ({answer!r}). Hint: {spec.hint}")


def _matches(answer, expected, tolerance: float) -> bool:
    """Strings match ignoring case and surrounding spaces; numbers within ``tolerance``."""
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.lower()
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return math.isclose(value, float(expected), rel_tol=0, abs_tol=tolerance) or value == float(expected)


def solution_text(exercise: str) -> str:
    """The worked solution of an exercise, as a learner sees it after asking."""
    spec = _exercise(exercise)
    return f"Solution: {spec.explanation}"


def solution_button(exercise: str):
    """A "Show the solution" button that reveals the worked solution only when clicked.

    Running all cells of a notebook displays the button, never the solution: the text is put into
    the page by the click (in the live kernel), so an executed notebook holds no answer.
    """
    import ipywidgets as widgets

    button = widgets.Button(description="Show the solution", icon="eye", tooltip="reveal the worked solution")
    shown = widgets.HTML()
    button.add_class("exercise-solution-button")
    shown.add_class("exercise-solution")

    def reveal(_):
        shown.value = f'<div class="exercise-solution-text" style="color:#1a7f37">{html.escape(solution_text(exercise))}</div>'
        button.layout.display = "none"

    button.on_click(reveal)
    box = widgets.VBox([button, shown])
    box.add_class("exercise-" + re.sub(r"[^a-z0-9]+", "-", exercise.lower()))
    return box


def solution_outputs(notebook) -> list[str]:
    """Outputs of an executed notebook that give an answer away: a "Correct" verdict or a solution text.

    Looks at every text output (``text/plain``, ``text/html``, streams) of every code cell, for the
    word "Correct" (the verdict :func:`check_answer` prints for a right answer) and for the worked
    solution of every registered exercise. Empty when running all cells revealed nothing.
    """
    solutions = [spec.explanation for spec in EXERCISES.values()]
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [value for kind, value in output.get("data", {}).items()
                                                if kind.startswith("text/")]
            text = html.unescape("\n".join(t if isinstance(t, str) else "".join(t) for t in texts))
            if re.search(r"\bCorrect\b", text):
                found.append(f"cell {index}: a 'Correct' verdict")
            found += [f"cell {index}: the solution {s[:40]!r}..." for s in solutions if s in text]
    return found
