"""The exercise machinery of every notebook: questions whose answers the kit computes, feedback for
the mistakes people make, and solutions that appear only when a learner asks for them.

Every notebook's exercises live in one registry (:data:`EXERCISES`); a module adds its own with
:func:`register_exercises` (notebook 01's in :mod:`ivig_kit.teaching.exercises`, 02-03's in
:mod:`ivig_kit.trials.exercises`, 04's in :mod:`ivig_kit.design.exercises`). In a notebook, an exercise
cell calls :func:`check_answer` with the learner's answer (``None`` until they fill it in), and
:func:`solution_button` shows a button that reveals the worked solution on click, so running all cells
never gives an answer away.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ivig_kit.errors import InputError, UnknownFactError

#: A numeric mistake matches answers within this fraction of its own size (unless it gives a tolerance).
MISTAKE_RELATIVE_TOLERANCE = 0.01


class Mistake(NamedTuple):
    """Feedback for a known wrong answer, with how close an answer must be to count as that mistake.

    ``tolerance`` None is scale-aware: 1% of the mistake's own value (:data:`MISTAKE_RELATIVE_TOLERANCE`),
    so "that is the variance" (0.0004) is never said of 0.04. Either way a mistake never reaches
    more than halfway to the right answer or to another known mistake.
    """

    message: str
    tolerance: float | None = None


@dataclass(frozen=True)
class Exercise:
    """A question with an engine-computed answer, and feedback for the mistakes people make."""

    question: str
    answer: Callable[[], Any]
    explanation: str
    #: how far a numeric answer may be from the computed one (in the answer's unit)
    tolerance: float = 0.0
    #: known wrong answers (the value each names) -> what the learner probably did (text or :class:`Mistake`)
    mistakes: Mapping[Any, str | Mistake] = field(default_factory=dict)
    hint: str = ""
    #: other answers also right under another stated convention -> which convention (said with the verdict)
    accepted: Mapping[Any, str] = field(default_factory=dict)


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


#: Every registered exercise of every notebook, by key.
EXERCISES: dict[str, Exercise] = {}


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
    >>> import ivig_kit.teaching.exercises  # registers notebook 01's exercises
    >>> check_answer("points_at_edge", 15.0).status
    'incorrect'
    >>> check_answer("points_at_edge", None).status
    'unanswered'
    """
    spec = _exercise(exercise)
    if answer is None:
        return Feedback(
            "unanswered",
            f"Not answered yet: put your answer in place of None and run the cell again. Hint: {spec.hint}",
        )
    expected = spec.answer()
    if _matches(answer, expected, spec.tolerance):
        return Feedback("correct", f"Correct: {spec.explanation}")
    for other, convention in spec.accepted.items():
        if _matches(answer, other, spec.tolerance):
            return Feedback("correct", f"Correct ({convention}): {spec.explanation}")
    for wrong, tolerance in mistake_tolerances(spec).items():
        if _matches(answer, wrong, tolerance):
            why = spec.mistakes[wrong]
            return Feedback("incorrect", f"Not quite ({answer!r}). {why.message if isinstance(why, Mistake) else why}")
    return Feedback("incorrect", f"Not quite ({answer!r}). Hint: {spec.hint}")


def mistake_tolerances(spec: Exercise) -> dict:
    """How close an answer must be to each known mistake of ``spec`` to get that mistake's message.

    A mistake's own tolerance, or 1% of its value; capped at half the distance to the right answer and
    to every other numeric mistake, so no message is given for a value another one names.
    """
    expected = spec.answer()
    numbers = [float(v) for v in (expected, *spec.accepted, *spec.mistakes) if _is_number(v)]
    tolerances = {}
    for wrong, why in spec.mistakes.items():
        if not _is_number(wrong):
            tolerances[wrong] = 0.0
            continue
        own = (
            why.tolerance
            if isinstance(why, Mistake) and why.tolerance is not None
            else (MISTAKE_RELATIVE_TOLERANCE * abs(float(wrong)))
        )
        gaps = [abs(float(wrong) - n) / 2 for n in numbers if n != float(wrong)]
        tolerances[wrong] = min([own, *gaps])
    return tolerances


def _is_number(value) -> bool:
    """A real number, or text that reads as one ("4"); not a boolean (True is not an answer of 1)."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # numpy 2 names it bool
        return False
    try:
        return math.isfinite(float(value.strip() if isinstance(value, str) else value))
    except (TypeError, ValueError):
        return False


def _matches(answer, expected, tolerance: float) -> bool:
    """Strings match ignoring case and surrounding spaces; numbers within ``tolerance``; a boolean is no number."""
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.lower()
    if not (_is_number(answer) and _is_number(expected)):
        return False
    value = float(answer.strip() if isinstance(answer, str) else answer)
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
        shown.value = (
            f'<div class="exercise-solution-text" style="color:#1a7f37">{html.escape(solution_text(exercise))}</div>'
        )
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
            texts = [output.get("text", "")] + [
                value for kind, value in output.get("data", {}).items() if kind.startswith("text/")
            ]
            text = html.unescape("\n".join(t if isinstance(t, str) else "".join(t) for t in texts))
            if re.search(r"\bCorrect\b", text):
                found.append(f"cell {index}: a 'Correct' verdict")
            found += [f"cell {index}: the solution {s[:40]!r}..." for s in solutions if s in text]
    return found
