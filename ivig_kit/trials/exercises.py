"""Exercises of the two trial notebooks (02: the pilot, 03: ProDERM), registered in the shared registry.

Each answer is computed by the kit when a learner checks one (never at import), so an exercise cannot
drift from the analysis it asks about. Keys are namespaced: ``pilot.*`` and ``proderm.*``. In a
notebook: ``check_answer("pilot.ci", answer)`` in the exercise cell, ``solution_button("pilot.ci")``
in the next.
"""

from __future__ import annotations

from functools import cache

from ivig_kit.exercises import Exercise, Mistake, register_exercises


def _pilot_exact_lower_limit_90() -> float:
    from ivig_kit.facts import published_count
    from ivig_kit.inference.proportions import clopper_pearson_interval

    return (
        100
        * clopper_pearson_interval(
            published_count("pilot", "primary_responders"), published_count("pilot", "analysed_n"), confidence=0.90
        )[0]
    )


@cache  # deterministic and slow-ish: computed once per kernel
def _pilot_fidelity_status(key: str) -> str:
    from ivig_kit.trials.pilot import pilot_fidelity_table
    from ivig_kit.trials.reconstruct import read_reconstructed_cohort

    return pilot_fidelity_table(read_reconstructed_cohort()).set_index("key").at[key, "status"]


@cache  # deterministic and slow-ish: computed once per kernel
def _pilot_tis20_at_any_visit() -> int:
    from ivig_kit.trials.pilot import patient_courses
    from ivig_kit.trials.reconstruct import read_reconstructed_cohort

    courses = patient_courses(read_reconstructed_cohort())
    return int(courses.loc[courses["analysed"], "first_week_tis20"].notna().sum())


@cache  # deterministic and slow-ish: computed once per kernel
def _proderm_santner_snell_lower_90() -> float:
    from ivig_kit.inference.exact import exact_unconditional_interval
    from ivig_kit.trials.proderm import primary_counts

    return 100 * exact_unconditional_interval(*primary_counts(), method="santner_snell", confidence=0.90)[0]


@cache  # deterministic and slow-ish: computed once per kernel
def _proderm_website_method() -> str:
    from ivig_kit.trials.proderm import reproducing_methods

    methods = reproducing_methods()["sponsor website, primary"]
    return methods[0] if len(methods) == 1 else ", ".join(methods)


def _proderm_thromboembolic_percent() -> float:
    from ivig_kit.facts import published_count

    return (
        100
        * published_count("proderm", "safety_thromboembolic_patients")
        / published_count("proderm", "safety_ivig_exposed_n")
    )


@cache  # deterministic and slow-ish: computed once per kernel
def _proderm_share_printing_as_label() -> float:
    from ivig_kit.trials.sponsor_p_value import stratified_p_value_question

    return 100 * stratified_p_value_question().summary.share_printing_as


PILOT_EXERCISES = {
    "pilot.ci": Exercise(
        question="Compute the exact (Clopper-Pearson) 90% interval for 8/19 with "
        "proportions.clopper_pearson_interval(8, 19, confidence=0.90). What is its lower limit, in percent, "
        "to one decimal?",
        answer=_pilot_exact_lower_limit_90,
        tolerance=0.05,
        mistakes={
            20.3: Mistake("20.3 is the lower limit of the 95% interval; a 90% interval is narrower.", 0.05),
            19.6: Mistake(
                "19.6 is the 95% interval the paper printed; it is not a Clopper-Pearson interval for 8/19.", 0.05
            ),
            63.2: Mistake("63.2 is the upper limit; the question asks for the lower one.", 0.05),
            0.23: "That is a proportion; give the percent (multiply by 100).",
        },
        hint="clopper_pearson_interval(8, 19, confidence=0.90) returns proportions; multiply by 100.",
        explanation="The exact 90% interval for 8/19 is 23.0% to 63.2%, inside the 95% interval (20.3% to "
        "66.5%): less confidence, a narrower interval.",
    ),
    "pilot.fidelity": Exercise(
        question="In the fidelity table, what is the status of the end-of-study upper quartile of the physician "
        "global (key table2_physician_global_end_q3, printed 4.0): exact, close or not reproduced?",
        answer=lambda: _pilot_fidelity_status("table2_physician_global_end_q3"),
        mistakes={
            "exact": "Compare at the printed precision: the reconstructed 4.05, rounded half up to one decimal, "
            "prints as 4.1, not 4.0.",
            "not reproduced": "Look at the gap: it is within a tenth of the published IQR.",
        },
        hint="fidelity.set_index('key').loc['table2_physician_global_end_q3'] shows the row.",
        explanation="Close: the reconstructed 4.05 prints as 4.1 at Table 2's one decimal (rounded half up), so it "
        "is not exact, but the gap of 0.05 is within a tenth of the published IQR (1.0-4.0).",
    ),
    "pilot.by_week9": Exercise(
        question="In the reconstructed cohort, how many of the 19 analysed patients reached TIS >= 20 at *some* "
        "visit, whether or not they still had it at the end?",
        answer=_pilot_tis20_at_any_visit,
        mistakes={
            9: "9 is TIS >= 20 at the last assessment, the kit's (and the paper's) 'by week 9'; the question "
            "asks about any visit.",
            8: "8 is TIS >= 40 at the end.",
        },
        hint="courses['first_week_tis20'] is the first week a patient reached 20 (missing if never); count the "
        "analysed patients who have one.",
        explanation="12: the 9 with TIS >= 20 at the end plus the 3 whose improvement after the loading dose was "
        "not maintained. Counting 'at any visit' would turn the paper's 9 into 12, which is why one "
        "definition, at the last assessment, is used for both thresholds.",
    ),
    "pilot.claim": Exercise(
        question="A colleague reads responders per subtype off this notebook's reconstructed cohort and says: "
        "'In the pilot, dermatomyositis responded best.' Is that claim supported? Answer yes or no.",
        answer=lambda: "no",
        mistakes={
            "yes": "The paper constrains the subtype mix and the number of responders, not which subtypes "
            "responded: in the reconstruction that split follows the random seed."
        },
        hint="Which published number constrains responders per subtype in the synthetic cohort?",
        explanation="No. Nothing the paper publishes pins responders per subtype in a reconstructed cohort; another "
        "seed gives another split. Only the paper's own per-patient figures could say.",
    ),
}

PRODERM_EXERCISES = {
    "proderm.exact_interval": Exercise(
        question="Compute the Santner-Snell exact unconditional **90%** interval for the primary endpoint with "
        "exact.exact_unconditional_interval(x1, n1, x2, n2, method='santner_snell', confidence=0.90). "
        "What is its lower limit, in percentage points, to one decimal?",
        answer=_proderm_santner_snell_lower_90,
        tolerance=0.05,
        mistakes={
            15.6: Mistake("15.6 is the lower limit of the 95% interval; a 90% interval is narrower.", 0.05),
            16.7: Mistake("16.7 is the 95% Wald interval (the NEJM's 17 and the sponsor website's 16.70).", 0.05),
            0.187: "That is a proportion; give percentage points (multiply by 100).",
        },
        hint="The function returns proportions; multiply the first by 100.",
        explanation="18.7 (to 50.6): inside the 95% interval (15.6 to 53.3), and far above 0.",
    ),
    "proderm.reproduction": Exercise(
        question="Read the reproduction table: which single method reproduces the sponsor website's interval "
        "34.97 (16.70, 53.24) to two decimals? Give its key (e.g. newcombe).",
        answer=_proderm_website_method,
        mistakes={
            "score": "The Miettinen-Nurminen score interval is lower (15.60, 51.84).",
            "newcombe": "Newcombe's interval is (15.45, 50.99).",
        },
        hint="proderm.reproducing_methods(endpoint_intervals) lists the methods per published interval.",
        explanation="wald: the printed interval is the unpooled Wald interval, estimate +/- 1.96 standard errors.",
    ),
    "proderm.news_claim": Exercise(
        question="A news piece says 'six of the 47 IVIG patients' had thromboembolic events, i.e. 12.8%. Using the "
        "safety paper's numbers, what percentage of patients exposed to IVIg had a thromboembolic event "
        "(one decimal)?",
        answer=_proderm_thromboembolic_percent,
        tolerance=0.05,
        mistakes={
            12.8: Mistake(
                "6/47 uses the news piece's denominator, which is wrong: the six events were "
                "counted among all 95 patients who ever received IVIg (first period plus "
                "extension).",
                0.05,
            ),
            1.9: Mistake("1/52 is the first period only; the question asks about all IVIg exposure.", 0.05),
        },
        hint="published_count('proderm', 'safety_thromboembolic_patients') and 'safety_ivig_exposed_n'.",
        explanation="6 of 95 = 6.3%. The news piece divided by 47, the IVIg arm of the first period, and doubled "
        "the apparent risk.",
    ),
    "proderm.splits": Exercise(
        question="Count every two-stratum configuration of 37/47 vs 21/48 once (the summary above: both arms in "
        "both strata, any size). What percentage of them (one decimal) gives a stratified (CMH) p value "
        "that prints as 0.0008?",
        answer=_proderm_share_printing_as_label,
        tolerance=0.05,
        mistakes={
            0.027: "That is a fraction; give a percentage.",
            89.1: Mistake(
                "That is the share of configurations with p < 0.05; the question asks about printing as 0.0008.", 0.05
            ),
            4.25: Mistake(
                "That weights each way of putting the 95 patients into strata (patient "
                "partitions); the question counts each configuration once.",
                0.06,
            ),
        },
        hint="stratified_p_value_question().summary.share_printing_as is a fraction.",
        explanation="2.7% of count configurations, but that number settles little: weighting patient partitions "
        "gives 4.2%, and with the arms kept within 2 of each other in each stratum (as randomisation "
        "would) 0.02% print as 0.0008. The counts cannot say whether a stratified test, a "
        "covariate-adjusted model or more strata produced the website's p.",
    ),
}

register_exercises(PILOT_EXERCISES)
register_exercises(PRODERM_EXERCISES)
