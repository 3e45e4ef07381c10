"""Teaching helpers for the Total Improvement Score notebook and calculator.

Everything here computes through :mod:`ivig_kit.score`; this module only arranges the
engine's answers for a learner: worked patients broken down measure by measure, the band
tables as data, the floating-point trap, the ceiling effect, the enzyme question, the
"what would it take" search, and exercise checkers. Every patient here is synthetic.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ivig_kit.score import (
    CATEGORIES,
    CATEGORY_THRESHOLDS,
    CORE_SET,
    MICRO,
    SCALE_RANGE,
    EnzymeNormalisation,
    absolute_percent_improvement,
    best_reachable_mmt_points,
    category,
    enzyme_scale_range,
    improvement_points,
    relative_percent_improvement,
    score_measure,
    to_micro,
    total_improvement_score,
)
from ivig_kit.trials import pilot_table2
from ivig_kit.visits import ENZYME_ULN, ENZYMES

SYNTHETIC = "synthetic teaching patient"

#: What each instrument measures, for the core-set table.
MEASURES_WHAT = {
    "physician_global": "the physician's overall judgement of disease activity, all organs together",
    "patient_global": "the patient's (in JDM the parent's) overall judgement of disease activity",
    "mmt": "strength of a fixed set of muscle groups, each graded 0-10 by the examiner (JDM: MMT or CMAS)",
    "haq": "physical function in daily life: the HAQ disability index (JDM: CHAQ)",
    "enzyme": "serum level of the muscle enzyme most abnormal at baseline: CK, aldolase, ALT, AST or LDH",
    "extramuscular": "activity outside muscle (skin, joints, lungs, heart, gut, constitutional): MDAAT VAS",
}
SCALES = {
    "physician_global": "VAS 0-10 cm",
    "patient_global": "VAS 0-10 cm",
    "mmt": "0 to the scale maximum: 80 (MMT-8 one side), 150 (MMT-8 both sides), 260 (Kendall, 13 groups)",
    "haq": "0-3",
    "enzyme": "U/l (no upper limit)",
    "extramuscular": "VAS 0-10 cm",
}
#: Smallest step an instrument is recorded in; the "what would it take" search moves in these steps.
RESOLUTION = {"physician_global": 0.1, "patient_global": 0.1, "extramuscular": 0.1, "haq": 0.125,
              "mmt": 1.0, "enzyme": 1.0}


# --- Patients ------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientVisits:
    """Baseline and one follow-up of a (synthetic) patient: the six CSMs and their scales.

    ``baseline`` and ``followup`` map each CSM name to its value; the enzyme value is in
    U/l of ``enzyme`` (the one most abnormal at baseline), with upper limit ``enzyme_uln``.
    """

    baseline: Mapping[str, float]
    followup: Mapping[str, float]
    mmt_max: float = 150
    enzyme: str = "ck"
    enzyme_uln: float = 200.0
    followup_week: float = 9
    label: str = SYNTHETIC

    def __post_init__(self):
        """Both visits must name exactly the six CSMs, and the enzyme must be one the engine knows."""
        for name, values in (("baseline", self.baseline), ("followup", self.followup)):
            unknown = set(values) - set(CORE_SET)
            missing = set(CORE_SET) - set(values)
            if unknown or missing:
                raise ValueError(f"{name} needs exactly the six CSMs; missing {sorted(missing)}, "
                                 f"unknown {sorted(unknown)}")
        if self.enzyme not in ENZYMES:
            raise ValueError(f"enzyme must be one of {ENZYMES}, not {self.enzyme!r}")

    def with_followup(self, measure: str, value: float) -> "PatientVisits":
        """The same patient with one follow-up value changed."""
        return replace(self, followup={**self.followup, measure: value})

    def visit_table(self) -> pd.DataFrame:
        """The two visits as a visit table the engine scores (see ``data/README.md``)."""
        rows = []
        for week, values in ((0, self.baseline), (self.followup_week, self.followup)):
            row = {"site": "teaching", "patient_id": "synthetic", "week": week,
                   **{m: values[m] for m in CORE_SET if m != "enzyme"}, "mmt_max": self.mmt_max,
                   self.enzyme: values["enzyme"], ENZYME_ULN[self.enzyme]: self.enzyme_uln,
                   "data_source": self.label}
            rows.append(row)
        return pd.DataFrame(rows)


#: A synthetic patient whose values are the pilot's published medians at baseline and at the end
#: (Lim et al. 2021, Table 2; Kendall MMT on 0-260, CK ULN taken as 200 U/l). Medians of different
#: patients, not a real patient; the TIS of the medians is not the median TIS.
def _pilot_medians(timepoint: str) -> dict[str, float]:
    medians = pilot_table2().query("timepoint == @timepoint").set_index("measure")["median"]
    return {("enzyme" if measure == "ck" else measure): float(value) for measure, value in medians.items()}


MEDIAN_PATIENT = PatientVisits(
    baseline=_pilot_medians("baseline"), followup=_pilot_medians("end"), mmt_max=260, followup_week=9,
    label="synthetic: the pilot's median baseline and end values, not a real patient")

#: A synthetic responder with dermatomyositis, MMT-8 on both sides.
RESPONDER = PatientVisits(
    baseline={"physician_global": 6.0, "patient_global": 7.0, "mmt": 110, "haq": 1.8, "enzyme": 4200,
              "extramuscular": 3.0},
    followup={"physician_global": 4.2, "patient_global": 5.5, "mmt": 121, "haq": 1.5, "enzyme": 1800,
              "extramuscular": 2.0},
    mmt_max=150, followup_week=4, label="synthetic teaching patient (responder)")

#: A synthetic patient whose changes land exactly on band edges, MMT-8 on one side.
EDGE_PATIENT = PatientVisits(
    baseline={"physician_global": 1.1, "patient_global": 4.0, "mmt": 40, "haq": 1.0, "enzyme": 900,
              "extramuscular": 2.2},
    followup={"physician_global": 0.6, "patient_global": 3.5, "mmt": 41.6, "haq": 1.0, "enzyme": 850,
              "extramuscular": 0.7},
    mmt_max=80, followup_week=4, label="synthetic teaching patient (band edges)")


@dataclass
class PatientScore:
    """The engine's score of one follow-up, arranged measure by measure for teaching."""

    patient: PatientVisits
    population: str
    enzyme_normalisation: EnzymeNormalisation
    breakdown: pd.DataFrame  # one row per CSM
    tis: float
    category: str | None


def _normalisation(option) -> EnzymeNormalisation:
    """Accept the option by name (``"relative"``, ``"uln_range"``) or as an object."""
    return EnzymeNormalisation(option) if isinstance(option, str) else option


def score_patient(patient: PatientVisits, population: str = "adult",
                  enzyme_normalisation: EnzymeNormalisation | str = "relative") -> PatientScore:
    """Score a patient's follow-up with :func:`~ivig_kit.score.total_improvement_score`.

    The breakdown has, per CSM: baseline, follow-up, change (positive = better), the range
    the change is divided by, the absolute percent improvement, the points, the maximum
    points and whether the baseline was at the floor/ceiling.
    """
    normalisation = _normalisation(enzyme_normalisation)
    row = total_improvement_score(patient.visit_table(), population=population,
                                  enzyme_normalisation=normalisation).iloc[0]
    ranges = scale_ranges(patient, normalisation)
    records = []
    for name, spec in CORE_SET.items():
        baseline, followup = patient.baseline[name], patient.followup[name]
        change = followup - baseline if spec.improves_by == "increase" else baseline - followup
        records.append({"measure": name, "label": spec.label, "baseline": baseline, "followup": followup,
                        "change": _tidy(change), "scale_range": ranges[name],
                        "percent": row[f"{name}_percent"], "points": row[f"{name}_points"],
                        "max_points": spec.max_points, "at_limit": bool(row[f"{name}_at_limit"])})
    breakdown = pd.DataFrame(records).set_index("measure")
    tis = float(row["tis"])
    return PatientScore(patient, population, normalisation, breakdown, tis,
                        None if pd.isna(row["category"]) else str(row["category"]))


def scale_ranges(patient: PatientVisits, normalisation: EnzymeNormalisation | str = "relative") -> dict:
    """The range each CSM's change is divided by: fixed, the MMT maximum, or the enzyme option's."""
    normalisation = _normalisation(normalisation)
    enzyme_range = float(enzyme_scale_range(patient.baseline["enzyme"], patient.enzyme_uln, normalisation))
    return {**SCALE_RANGE, "mmt": float(patient.mmt_max), "enzyme": enzyme_range}


def _tidy(value: float) -> float:
    """Round a displayed difference to the engine's micro-unit resolution (1.1 - 0.6 shows 0.5)."""
    return round(value, 6)


# --- Tables for the notebook ----------------------------------------------------------


def core_set_table() -> pd.DataFrame:
    """The six core set measures: what each measures, its scale, direction and maximum points."""
    return pd.DataFrame([
        {"measure": name, "instrument": spec.label, "measures": MEASURES_WHAT[name], "scale": SCALES[name],
         "improvement is": "an increase" if spec.improves_by == "increase" else "a decrease",
         "max points": spec.max_points}
        for name, spec in CORE_SET.items()]).set_index("measure")


def band_table() -> pd.DataFrame:
    """The ACR/EULAR scoring table: points per band of absolute percent improvement."""
    rows = {}
    for name, spec in CORE_SET.items():
        edges = spec.band_edges_percent
        labels = [f"worsening to {edges[0]}%"] + [f">{a}-{b}%" for a, b in zip(edges, edges[1:])] + [f">{edges[-1]}%"]
        rows[name] = {f"band {i + 1}": f"{label}: {points:g}"
                      for i, (label, points) in enumerate(zip(labels, spec.band_points))}
    return pd.DataFrame.from_dict(rows, orient="index")


def band_steps(percent_from: float = -10.0, percent_to: float = 60.0) -> pd.DataFrame:
    """Points against percent improvement at every band edge, for a right-closed step plot.

    Each row's points hold on the interval ending at its percent (``drawstyle="steps-pre"``),
    which is exactly the right-closed rule; the points come from the engine.
    """
    rows = []
    for name, spec in CORE_SET.items():
        for percent in (percent_from, *spec.band_edges_percent, percent_to):
            rows.append({"measure": name, "label": spec.label, "percent": float(percent),
                         "points": improvement_points(name, percent)})
    return pd.DataFrame(rows)


def category_thresholds_table() -> pd.DataFrame:
    """Minimal / moderate / major thresholds by population (TIS >= threshold)."""
    return pd.DataFrame(CATEGORY_THRESHOLDS, index=CATEGORIES[1:]).T.rename_axis("population")


def category_by_population(tis: float) -> pd.Series:
    """The category a total earns under the adult and the juvenile thresholds."""
    return pd.Series({population: category(tis, population) for population in CATEGORY_THRESHOLDS},
                     name=f"TIS {tis:g}")


def percent_change_comparison(patient: PatientVisits) -> pd.DataFrame:
    """Absolute (official) against relative percent improvement, and the points each would give.

    The enzyme is left out: under the default normalisation its "absolute" change already is
    relative to baseline (see :func:`enzyme_normalisation_table`).
    """
    ranges = scale_ranges(patient)
    rows = []
    for name in CORE_SET:
        if name == "enzyme":
            continue
        baseline, followup = patient.baseline[name], patient.followup[name]
        absolute = absolute_percent_improvement(name, baseline, followup, ranges[name])
        relative = relative_percent_improvement(name, baseline, followup)
        rows.append({"measure": name, "baseline": baseline, "followup": followup,
                     "range": ranges[name], "absolute %": absolute,
                     "points (absolute, official)": improvement_points(name, absolute),
                     "relative %": relative, "points if relative were used": improvement_points(name, relative)})
    return pd.DataFrame(rows).set_index("measure")


# --- The floating-point trap ----------------------------------------------------------

#: Changes that land exactly on a band edge, and what plain doubles make of them (tis.md).
FLOAT_TRAP_CASES = (
    ("physician_global", 1.1, 0.6, 10),
    ("physician_global", 2.2, 0.7, 10),
    ("mmt", 40, 41.6, 80),
)


def naive_percent_improvement(measure: str, baseline: float, followup: float, scale_range: float) -> float:
    """The obvious float computation, ``change / range * 100``: NOT what the kit does."""
    change = followup - baseline if CORE_SET[measure].improves_by == "increase" else baseline - followup
    return change / scale_range * 100


def naive_points(measure: str, percent: float) -> float:
    """Band lookup with float comparisons on a float percent: wrong just above an edge."""
    spec = CORE_SET[measure]
    band = sum(percent > edge for edge in spec.band_edges_percent)
    return spec.band_points[band]


def floating_point_trap_table(cases=FLOAT_TRAP_CASES) -> pd.DataFrame:
    """For each case: the naive float percent and points next to the exact percent and the kit's points."""
    rows = []
    for measure, baseline, followup, scale_range in cases:
        naive = naive_percent_improvement(measure, baseline, followup, scale_range)
        exact = _exact_percent(measure, baseline, followup, scale_range)
        kit = score_measure(measure, [baseline], [followup], [scale_range])
        rows.append({"measure": measure, "baseline": baseline, "followup": followup, "range": scale_range,
                     "naive percent": repr(naive), "naive points": naive_points(measure, naive),
                     "exact percent": str(exact.numerator if exact.denominator == 1 else exact),
                     "kit points": float(kit.points[0])})
    return pd.DataFrame(rows)


def _exact_percent(measure, baseline, followup, scale_range) -> Fraction:
    """The decimals as typed, in rational arithmetic (used to show the exact value)."""
    b, f, r = (Fraction(repr(float(v))) for v in (baseline, followup, scale_range))
    change = f - b if CORE_SET[measure].improves_by == "increase" else b - f
    return change * 100 / r


# --- The ceiling effect ---------------------------------------------------------------


def best_reachable_tis(patient: PatientVisits, population: str = "adult",
                       enzyme_normalisation: EnzymeNormalisation | str = "relative") -> PatientScore:
    """The score if every CSM improved as far as its instrument allows (VAS 0, HAQ 0, MMT at maximum, enzyme 0)."""
    best = {name: (patient.mmt_max if spec.improves_by == "increase" else 0.0) for name, spec in CORE_SET.items()}
    return score_patient(replace(patient, followup=best), population, enzyme_normalisation)


def ceiling_effect_table(mmt_max: float, mmt_baselines) -> pd.DataFrame:
    """For MMT baselines on one scale: room left, best MMT points and best TIS still reachable.

    The best TIS assumes the five other CSMs earn their maximum (67.5 points together),
    so it is an upper bound that only the MMT's ceiling limits.
    """
    others = sum(spec.max_points for name, spec in CORE_SET.items() if name != "mmt")
    rows = []
    for baseline in mmt_baselines:
        mmt_points = float(best_reachable_mmt_points(baseline, mmt_max))
        best = others + mmt_points
        rows.append({"mmt_max": mmt_max, "mmt baseline": baseline,
                     "room to improve %": absolute_percent_improvement("mmt", baseline, mmt_max, mmt_max),
                     "best MMT points": mmt_points, "best TIS reachable": best,
                     "best adult category": category(best, "adult"),
                     "best juvenile category": category(best, "juvenile")})
    return pd.DataFrame(rows)


def effective_mmt_ceiling(mmt_max: float) -> float:
    """The lowest whole MMT baseline from which no MMT points can be earned any more.

    MMT scores only above 2% of the range, so a baseline within 2% of the maximum is at an
    effective ceiling. Found with the engine, searching whole scores downwards.
    """
    baselines = np.arange(int(mmt_max), -1, -1, dtype=float)
    points = score_measure("mmt", baselines, np.full_like(baselines, mmt_max), np.full_like(baselines, mmt_max)).points
    return float(baselines[np.argmax(points > 0)] + 1)


# --- The enzyme question --------------------------------------------------------------


def most_abnormal_enzyme_table(enzymes: Mapping[str, tuple[float, float, float]]) -> pd.DataFrame:
    """Which enzyme the engine follows: ``{name: (baseline, followup, uln)}`` -> one row per enzyme.

    The engine picks the one with the highest multiple of its ULN at baseline; the largest
    number in U/l need not be it.
    """
    base = {"site": "teaching", "patient_id": "synthetic", "physician_global": 5, "patient_global": 5,
            "extramuscular": 2, "haq": 1, "mmt": 100, "mmt_max": 150}
    rows = [{**base, "week": 0}, {**base, "week": 4}]
    for name, (baseline, followup, uln) in enzymes.items():
        rows[0].update({name: baseline, ENZYME_ULN[name]: uln})
        rows[1].update({name: followup, ENZYME_ULN[name]: uln})
    chosen = total_improvement_score(pd.DataFrame(rows)).iloc[0]["enzyme"]
    return pd.DataFrame([{"enzyme": name, "baseline U/l": baseline, "ULN U/l": uln,
                          "baseline x ULN": baseline / uln, "followed": name == chosen}
                         for name, (baseline, followup, uln) in enzymes.items()]).set_index("enzyme")


def enzyme_normalisation_table(changes, uln: float, multipliers=(5.0, 10.0)) -> pd.DataFrame:
    """Percent improvement and points of enzyme changes under each normalisation option.

    ``changes`` is a list of (baseline, followup) in U/l with one ULN. ``relative`` divides
    the fall by the baseline value; ``uln_range (x k)`` divides it by k x ULN.
    """
    options = [EnzymeNormalisation("relative")] + [EnzymeNormalisation("uln_range", k) for k in multipliers]
    rows = []
    for baseline, followup in changes:
        for option in options:
            scale_range = float(enzyme_scale_range(baseline, uln, option))
            score = score_measure("enzyme", [baseline], [followup], [scale_range])
            rows.append({"baseline U/l": baseline, "followup U/l": followup, "option": str(option),
                         "divided by": scale_range, "percent": float(score.percent[0]),
                         "points": float(score.points[0])})
    return pd.DataFrame(rows)


# --- What would it take? ----------------------------------------------------------------


@dataclass(frozen=True)
class NextCategoryAnswer:
    """The smallest further improvement of one CSM that lifts the total into the next category."""

    measure: str
    current_category: str | None
    target_category: str | None  # None when already in the top category
    threshold: float | None
    current_tis: float
    reachable: bool
    current_followup: float
    needed_followup: float | None = None
    further_improvement: float | None = None
    new_tis: float | None = None
    reason: str = ""

    @property
    def message(self) -> str:
        """The answer in one sentence, as the calculator shows it."""
        label = CORE_SET[self.measure].label
        unit = _unit(self.measure)
        if self.target_category is None:
            return f"TIS {self.current_tis:g} is already {self.current_category}: there is no higher category."
        if not self.reachable:
            return (f"{label} alone cannot lift TIS {self.current_tis:g} to {self.target_category} "
                    f"(>= {self.threshold:g}): {self.reason}")
        direction = "raise" if CORE_SET[self.measure].improves_by == "increase" else "lower"
        return (f"To reach {self.target_category} (TIS >= {self.threshold:g}), {direction} {label} at follow-up "
                f"by a further {self.further_improvement:g}{unit}, from {self.current_followup:g} to "
                f"{self.needed_followup:g}{unit}: the TIS becomes {self.new_tis:g}.")


def _unit(measure: str) -> str:
    """The unit a CSM's value is shown in (none for MMT and HAQ scores)."""
    return {"physician_global": " cm", "patient_global": " cm", "extramuscular": " cm", "enzyme": " U/l"}.get(measure, "")


def what_would_it_take(patient: PatientVisits, measure: str, population: str = "adult",
                       enzyme_normalisation: EnzymeNormalisation | str = "relative",
                       resolution: float | None = None) -> NextCategoryAnswer:
    """The smallest further improvement in ``measure`` that moves the TIS into the next category.

    Candidates are the values the instrument can record (multiples of ``resolution``, by
    default :data:`RESOLUTION`) strictly better than the current follow-up, up to the
    instrument's limit; the other five CSMs stay as they are. Each candidate is scored by the
    engine and the first that reaches the threshold is re-scored as a whole patient.
    """
    normalisation = _normalisation(enzyme_normalisation)
    current = score_patient(patient, population, normalisation)
    thresholds = CATEGORY_THRESHOLDS[population]
    followup = float(patient.followup[measure])
    higher = [t for t in thresholds if t > current.tis]
    common = dict(measure=measure, current_category=current.category, current_tis=current.tis,
                  current_followup=followup)
    if not higher:
        return NextCategoryAnswer(target_category=None, threshold=None, reachable=False, **common)
    threshold = higher[0]
    target = CATEGORIES[thresholds.index(threshold) + 1]
    candidates = _better_recordable_values(measure, followup, patient.mmt_max,
                                           RESOLUTION[measure] if resolution is None else resolution)
    if len(candidates) == 0:
        return NextCategoryAnswer(target_category=target, threshold=threshold, reachable=False,
                                  reason="the follow-up value is already at the instrument's limit.", **common)
    scale_range = scale_ranges(patient, normalisation)[measure]
    points = score_measure(measure, np.full(len(candidates), patient.baseline[measure]), candidates,
                           np.full(len(candidates), scale_range)).points
    others = current.tis - float(current.breakdown.loc[measure, "points"])
    reaches = others + points >= threshold
    if not reaches.any():
        limit = "ceiling" if CORE_SET[measure].improves_by == "increase" else "floor"
        why = (f"its baseline is at the instrument's {limit}" if current.breakdown.loc[measure, "at_limit"]
               else f"even its best value gives {points.max():g} points, a TIS of {others + points.max():g}")
        return NextCategoryAnswer(target_category=target, threshold=threshold, reachable=False,
                                  reason=why + ".", **common)
    needed = float(candidates[np.argmax(reaches)])
    confirmed = score_patient(patient.with_followup(measure, needed), population, normalisation)
    if confirmed.category != target:  # the per-measure search and the whole-patient score must agree
        raise RuntimeError(f"search found {needed} for {measure} but the patient scores {confirmed.category}")
    further = abs(int(to_micro(needed)) - int(to_micro(followup))) / MICRO
    return NextCategoryAnswer(target_category=target, threshold=threshold, reachable=True,
                              needed_followup=needed, further_improvement=further, new_tis=confirmed.tis, **common)


def _better_recordable_values(measure: str, followup: float, mmt_max: float, resolution: float) -> np.ndarray:
    """Multiples of ``resolution`` strictly better than ``followup``, nearest first, up to the limit.

    The limit is 0 for the measures that improve by falling and ``mmt_max`` for MMT (included
    even when it is not a multiple of the resolution). Exact in micro-units.
    """
    step, start = int(to_micro(resolution)), int(to_micro(followup))
    if CORE_SET[measure].improves_by == "decrease":
        values = np.arange((start - 1) // step, -1, -1, dtype=np.int64) * step
    else:
        limit = int(to_micro(mmt_max))
        values = np.arange(start // step + 1, limit // step + 1, dtype=np.int64) * step
        if limit % step and start < limit:
            values = np.append(values, limit)
    return values / MICRO


def what_would_it_take_table(patient: PatientVisits, population: str = "adult",
                             enzyme_normalisation: EnzymeNormalisation | str = "relative") -> pd.DataFrame:
    """The "what would it take" answer for every CSM, one row each."""
    answers = [what_would_it_take(patient, m, population, enzyme_normalisation) for m in CORE_SET]
    return pd.DataFrame([{"measure": a.measure, "target": a.target_category, "reachable alone": a.reachable,
                          "current follow-up": a.current_followup, "needed follow-up": a.needed_followup,
                          "further improvement": a.further_improvement, "new TIS": a.new_tis}
                         for a in answers]).set_index("measure")


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


EXERCISES: dict[str, Exercise] = {
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
}


def check_answer(exercise: str, answer) -> Feedback:
    """Check a learner's answer to one of :data:`EXERCISES`; ``None`` means not answered yet."""
    if exercise not in EXERCISES:
        raise KeyError(f"no exercise {exercise!r}; choose from {sorted(EXERCISES)}")
    spec = EXERCISES[exercise]
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
