"""Exercises of notebook 01 (the score itself), registered with the kit's exercise machinery
(:mod:`ivig_kit.exercises`); importing this module registers them. The machinery's names are
re-exported here because notebook 01 imports them from its own module.
"""

from __future__ import annotations

from ivig_kit.exercises import (
    EXERCISES,
    Exercise,
    Feedback,
    check_answer,
    register_exercises,
    solution_button,
    solution_outputs,
    solution_text,
)
from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.engine import (
    absolute_percent_improvement,
    best_reachable_mmt_points,
    category,
    improvement_points,
    score_measure,
)
from ivig_kit.score.measures import SCALE_RANGE
from ivig_kit.teaching.deterioration_lessons import deterioration_example, deterioration_table
from ivig_kit.teaching.patients import CMAS_PATIENT, RESPONDER, score_patient

__all__ = [
    "EXERCISES",
    "TIS_EXERCISES",
    "Exercise",
    "Feedback",
    "check_answer",
    "solution_button",
    "solution_outputs",
    "solution_text",
]


#: The exercises of notebook 01 (the score itself).
TIS_EXERCISES: dict[str, Exercise] = {
    "absolute_percent": Exercise(
        question="A patient's HAQ (0-3) goes from 1.5 to 0.75. What is its absolute percent improvement?",
        answer=lambda: float(absolute_percent_improvement("haq", 1.5, 0.75, SCALE_RANGE["haq"])),
        tolerance=0.05,
        mistakes={
            50.0: "50% is the relative change (0.75 / 1.5 baseline). The TIS divides by the instrument's range, 3.",
            0.75: "0.75 is the change in HAQ units; express it as a percent of the range 0-3.",
        },
        hint="Change divided by the instrument's range, times 100.",
        explanation="(1.5 - 0.75) / 3 x 100 = 25%. (Relative to baseline it would be 50%.)",
    ),
    "points_at_edge": Exercise(
        question="How many points does a physician global improvement of exactly 15% earn?",
        answer=lambda: improvement_points("physician_global", 15),
        mistakes={
            15.0: "15 points is band 3 (>15-25%). Bands are right-closed: exactly 15% is still band 2.",
            17.5: "17.5 points needs more than 25%.",
        },
        hint="Band 2 is '>5-15%': does it include 15?",
        explanation="Band 2 is >5-15%, right-closed, so exactly 15% earns 7.5 points.",
    ),
    "total_tis": Exercise(
        question="Score the responder (RESPONDER): what is its TIS?",
        answer=lambda: score_patient(RESPONDER).tis,
        mistakes={
            50.0: "Check the patient global: 7.0 -> 5.5 cm is exactly 15%, still band 2 (2.5 points).",
            62.5: "That is what relative changes (change / baseline) would give; the TIS uses the range.",
        },
        hint="Score each of the six CSMs from its absolute percent improvement, then add the points.",
        explanation="15 (physician 18%) + 2.5 (patient exactly 15%) + 10 (MMT 7.3%) + 5 (HAQ 12.5%) "
        "+ 7.5 (CK 57%) + 7.5 (extramuscular 10%) = 47.5.",
    ),
    "juvenile_category": Exercise(
        question="A child with juvenile dermatomyositis has a TIS of 62.5. Which category "
        "(none, minimal, moderate or major)?",
        answer=lambda: category(62.5, "juvenile"),
        mistakes={"major": "Major is right for an adult (>= 60); the juvenile threshold for major is 70."},
        hint="Juvenile thresholds are 30 / 45 / 70.",
        explanation="Juvenile: minimal >= 30, moderate >= 45, major >= 70; 62.5 is moderate (an adult would be major).",
    ),
    "float_trap": Exercise(
        question="MMT-8 on one side (0-80) goes from 40 to 41.6. How many MMT points?",
        answer=lambda: float(score_measure("mmt", [40], [41.6], [80]).points[0]),
        mistakes={
            10.0: "That is what plain floating point gives (2.0000000000000018%). "
            "The change is exactly 2% of 80, and 'worsening to 2%' scores 0."
        },
        hint="1.6 / 80 x 100 is exactly 2%. Which band is exactly 2% in, for MMT?",
        explanation="1.6 / 80 x 100 = 2% exactly, in the right-closed band 'worsening to 2%': 0 points.",
    ),
    "ceiling": Exercise(
        question="On the Kendall scale (0-260), a patient starts at MMT 255. What is the most the MMT can "
        "add to the TIS, however strong they become?",
        answer=lambda: float(best_reachable_mmt_points(255, 260)),
        mistakes={
            32.5: "32.5 is the MMT's maximum, but from 255 the most it can rise is 5 of 260.",
            10.0: "5 / 260 is 1.9%: below the 2% edge.",
        },
        hint="The largest possible rise is 260 - 255; what percent of 260 is that?",
        explanation="(260 - 255) / 260 = 1.9%, not more than 2%: 0 points. The patient is at an effective ceiling.",
    ),
    "deterioration": Exercise(
        question="The synthetic patient of the deterioration section (MMT-8 both sides, 0-150) has baseline "
        "physician global 3.0 cm and MMT 120; week 4: 5.0 cm and MMT 90; week 8: 5.2 cm and MMT 88; "
        "week 12: 3.5 cm and MMT 110. At which week is deterioration first confirmed? (0 if never)",
        answer=lambda: _first_confirmed_week(),
        mistakes={
            4.0: "Week 4 meets the criteria (physician +2.0 cm, MMT 30 of 150 = 20% worse), but one visit is "
            "not enough: it must be met at two consecutive visits.",
            0.0: "The thresholds are inclusive: exactly 2 cm and exactly 20% of the range count as worsening.",
            12.0: "By week 12 the patient has recovered (physician +0.5 cm, MMT 6.7% worse).",
        },
        hint="Check physician >= 2 cm worse and MMT >= 20% (of 150) worse against baseline at each visit; "
        "then look for two consecutive visits.",
        explanation="Week 4: +2.0 cm and 30/150 = 20% worse, criteria met (thresholds inclusive). Week 8: +2.2 cm "
        "and 32/150 = 21.3%, met again: deterioration is confirmed at week 8.",
    ),
    "jdm_cmas": Exercise(
        question="A child's CMAS (0-52, higher is better) goes from 30 to 40.4. How many points does the strength "
        "row (MMT or CMAS) earn?",
        answer=lambda: float(score_patient(CMAS_PATIENT, "juvenile").breakdown.loc["mmt", "points"]),
        mistakes={
            27.5: "10.4 / 52 is exactly 20%: the band '>10-20%' is right-closed, so it scores 20, not 27.5.",
            32.5: "That would be a relative change (10.4 / 30 = 34.7%); the TIS divides by the range, 52.",
            10.0: "10 points is the band '>2-10%'. Divide the rise by the CMAS range, 52: that is 20%.",
        },
        hint=f"CMAS range: {INSTRUMENTS['cmas'].fixed_range:g}. The MMT row's bands are 2 / 10 / 20 / 30%.",
        explanation="(40.4 - 30) / 52 x 100 = 20% exactly, in the right-closed band '>10-20%': 20 points.",
    ),
}


def _first_confirmed_week() -> float:
    """The first week at which the deterioration example is confirmed, from the engine (0 if never)."""
    table = deterioration_table(deterioration_example())
    confirmed = table.loc[table["confirmed deterioration"].fillna(False).astype(bool), "week"]
    return float(confirmed.iloc[0]) if len(confirmed) else 0.0


register_exercises(TIS_EXERCISES)
