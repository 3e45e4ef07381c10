"""Exercises of notebook 05 (the core set from the case report form), registered with the kit's exercise
machinery (:mod:`ivig_kit.exercises`) when this module is imported. Every answer is computed by the
library; the known mistakes are the rules other calculators apply."""

from __future__ import annotations

import numpy as np

from ivig_kit.exercises import Exercise, register_exercises
from ivig_kit.instruments.haq import disability_index
from ivig_kit.instruments.items import HAQ_CATEGORIES
from ivig_kit.instruments.mmt8 import mmt_total
from ivig_kit.teaching.core_set_lessons import (
    disagreeing_patients,
    doi_versus_tis,
    example_grades,
    haq_visit,
)

#: Exercise 1: a cane for walking, every other category answered 1, walking answered 0.
CANE_VISIT = haq_visit({**{c: (1,) * n for c, n in HAQ_CATEGORIES.items()}, "walking": (0, 0)}, aids=("walking",))
#: Exercise 2: grip and reach unanswered; the six answered categories score 2, 1, 1, 2, 1, 2.
SIX_ANSWERED = haq_visit(
    {
        "dressing": (2, 1),
        "arising": (1, 0),
        "eating": (1, 1, 0),
        "walking": (2, 2),
        "hygiene": (0, 1, 0),
        "activities": (2, 0, 1),
    }
)
#: Exercise 3: the right biceps could not be tested; the left one was graded 6.
NO_RIGHT_BICEPS = example_grades(right={"biceps": np.nan}, left={"biceps": 6.0}, neck=9.0)

CORE_SET_EXERCISES = {
    "haq_cane": Exercise(
        question="Every category is answered 1 except walking, answered 0 with a cane. What is the HAQ-DI "
        "(standard rule)?",
        answer=lambda: float(disability_index(CANE_VISIT).values[0]),
        tolerance=0.001,
        mistakes={
            0.875: "0.875 ignores the cane: that is the HAQ-ADI. The standard HAQ-DI raises walking's 0 to 2.",
            1.0: "1.0 adds one point for the cane (the '+1' textbook variant); the standard rule raises a 0 or 1 to 2.",
        },
        hint="Category = highest answer; an aid for the category raises a 0 or 1 to 2; divide by 8.",
        explanation="Seven categories score 1 and walking 2 (the cane raises its 0 to 2): 9 / 8 = 1.125.",
    ),
    "haq_six_answered": Exercise(
        question="Grip and reach are unanswered; the six answered categories score 2, 1, 1, 2, 1 and 2. "
        "What is the HAQ-DI?",
        answer=lambda: float(disability_index(SIX_ANSWERED).values[0]),
        tolerance=0.001,
        mistakes={
            1.125: "1.125 divides by 8, as some calculators do: divide by the categories answered.",
            0.0: "Six answered categories are enough (the usual minimum is 6).",
        },
        hint="Sum of the category scores, divided by the number of categories answered.",
        explanation="(2 + 1 + 1 + 2 + 1 + 2) / 6 = 1.5: off the 1/8 grid, because only 6 categories were "
        "answered. (A minimum of 7 would leave it missing.)",
    ),
    "mmt_left_biceps": Exercise(
        question="MMT-8 on one side: the neck flexors score 9, the right side 8 in every group except the "
        "biceps, which could not be tested on the right; the left biceps scores 6. What is the MMT-8?",
        answer=lambda: float(mmt_total(NO_RIGHT_BICEPS).values[0]),
        mistakes={
            57.0: "57 leaves the biceps out: a total with a missing group is not a smaller total on the "
            "same 0-80 scale. Form 04 says to test the left side instead.",
            65.0: "65 assumes the biceps scores 8; it was graded 6 on the left.",
        },
        hint="IMACS Form 04: right side, the left where the right cannot be tested.",
        explanation="9 + 6 x 8 (six right-side groups) + 6 (left biceps) = 63 of 80.",
    ),
    "doi_veto": Exercise(
        question="Patient A improves on five measures by 20-50% of baseline, and the MMT-8 falls from 60 to 44. "
        "Is the 2004 IMACS definition of improvement met? Answer 'yes' or 'no'.",
        answer=lambda: "yes" if bool(doi_versus_tis(disagreeing_patients()).loc["A", "2004 improved"]) else "no",
        mistakes={
            "yes": "Five measures improved, but MMT fell by 27% of its baseline: MMT may not be among the "
            "worse (the veto). The 2016 TIS scores that worsening 0 and gives 47.5."
        },
        hint="Check the veto before counting.",
        explanation="No: 16 / 60 = 27% worse is at least 25%, and MMT may not be among the worse measures. "
        "The TIS still reaches 47.5 (moderate): it scores worsening 0, with no penalty.",
    ),
}

register_exercises(CORE_SET_EXERCISES)
