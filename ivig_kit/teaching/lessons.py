"""The lessons of the TIS notebook as tables: the core set, the band table, absolute against relative
change, the floating-point trap, the ceiling effect and the enzyme question.

Everything computes through :mod:`ivig_kit.score`; this module only arranges the engine's answers
for a learner. Every patient here is synthetic.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd

from ivig_kit.errors import VisitTableError
from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.engine import (
    absolute_percent_improvement,
    best_reachable_mmt_points,
    category,
    effective_mmt_ceiling,  # noqa: F401  (notebook 01 uses lessons.effective_mmt_ceiling)
    improvement_points,
    relative_percent_improvement,
    score_measure,
    total_improvement_score,
)
from ivig_kit.score.enzymes import enzyme_scale_range
from ivig_kit.score.measures import CATEGORIES, CATEGORY_THRESHOLDS, CORE_SET, ENZYME_ULN, EnzymeNormalisation
from ivig_kit.score.visits import validate_visits
from ivig_kit.teaching.patients import (
    RESPONDER,
    PatientScore,
    PatientVisits,
    scale_ranges,
    score_patient,
)

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
    "mmt": "0 to the scale maximum: 80 (MMT-8 one side), 150 (MMT-8 both sides), 260 (13 groups both sides)",
    "haq": "0-3",
    "enzyme": "U/l (no upper limit)",
    "extramuscular": "VAS 0-10 cm",
}


# --- Tables for the notebook ----------------------------------------------------------


def core_set_table() -> pd.DataFrame:
    """The six core set measures: what each measures, its scale, direction and maximum points."""
    return pd.DataFrame(
        [
            {
                "measure": name,
                "instrument": spec.label,
                "measures": MEASURES_WHAT[name],
                "scale": SCALES[name],
                "improvement is": "an increase" if spec.improves_by == "increase" else "a decrease",
                "max points": spec.max_points,
            }
            for name, spec in CORE_SET.items()
        ]
    ).set_index("measure")


def band_table() -> pd.DataFrame:
    """The ACR/EULAR scoring table: points per band of absolute percent improvement."""
    rows = {}
    for name, spec in CORE_SET.items():
        edges = spec.band_edges_percent
        labels = (
            [f"worsening to {edges[0]}%"] + [f">{a}-{b}%" for a, b in itertools.pairwise(edges)] + [f">{edges[-1]}%"]
        )
        rows[name] = {
            f"band {i + 1}": f"{label}: {points:g}" for i, (label, points) in enumerate(zip(labels, spec.band_points))
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def band_steps(percent_from: float = -10.0, percent_to: float = 60.0) -> pd.DataFrame:
    """Points against percent improvement at every band edge, for a right-closed step plot.

    Each row's points hold on the interval ending at its percent (``drawstyle="steps-pre"``),
    which is exactly the right-closed rule; the points come from the engine.
    """
    rows = []
    for name, spec in CORE_SET.items():
        for percent in (percent_from, *spec.band_edges_percent, percent_to):
            rows.append(
                {
                    "measure": name,
                    "label": spec.label,
                    "percent": float(percent),
                    "points": improvement_points(name, percent),
                }
            )
    return pd.DataFrame(rows)


def category_thresholds_table() -> pd.DataFrame:
    """Minimal / moderate / major thresholds by population (TIS >= threshold)."""
    return pd.DataFrame(CATEGORY_THRESHOLDS, index=CATEGORIES[1:]).T.rename_axis("population")


def category_by_population(tis: float) -> pd.Series:
    """The category a total earns under the adult and the juvenile thresholds."""
    return pd.Series({population: category(tis, population) for population in CATEGORY_THRESHOLDS}, name=f"TIS {tis:g}")


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
        rows.append(
            {
                "measure": name,
                "baseline": baseline,
                "followup": followup,
                "range": ranges[name],
                "absolute %": absolute,
                "points (absolute, official)": improvement_points(name, absolute),
                "relative %": relative,
                "points if relative were used": improvement_points(name, relative),
            }
        )
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
        rows.append(
            {
                "measure": measure,
                "baseline": baseline,
                "followup": followup,
                "range": scale_range,
                "naive percent": repr(naive),
                "naive points": naive_points(measure, naive),
                "exact percent": str(exact.numerator if exact.denominator == 1 else exact),
                "kit points": float(kit.points[0]),
            }
        )
    return pd.DataFrame(rows)


def _exact_percent(measure, baseline, followup, scale_range) -> Fraction:
    """The decimals as typed, in rational arithmetic (used to show the exact value)."""
    b, f, r = (Fraction(repr(float(v))) for v in (baseline, followup, scale_range))
    change = f - b if CORE_SET[measure].improves_by == "increase" else b - f
    return change * 100 / r


# --- The ceiling effect ---------------------------------------------------------------


def best_reachable_tis(
    patient: PatientVisits, population: str = "adult", enzyme_normalisation: EnzymeNormalisation | str = "relative"
) -> PatientScore:
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
        rows.append(
            {
                "mmt_max": mmt_max,
                "mmt baseline": baseline,
                "room to improve %": absolute_percent_improvement("mmt", baseline, mmt_max, mmt_max),
                "best MMT points": mmt_points,
                "best TIS reachable": best,
                "best adult category": category(best, "adult"),
                "best juvenile category": category(best, "juvenile"),
            }
        )
    return pd.DataFrame(rows)


# --- The enzyme question --------------------------------------------------------------


def most_abnormal_enzyme_table(enzymes: Mapping[str, tuple[float, float, float]]) -> pd.DataFrame:
    """Which enzyme the engine follows: ``{name: (baseline, followup, uln)}`` -> one row per enzyme.

    The engine picks the one with the highest multiple of its ULN at baseline; the largest
    number in U/l need not be it.
    """
    base = {
        "site": "teaching",
        "patient_id": "synthetic",
        "physician_global": 5,
        "patient_global": 5,
        "extramuscular": 2,
        "haq": 1,
        "mmt": 100,
        "mmt_max": 150,
    }
    rows = [{**base, "week": 0}, {**base, "week": 4}]
    for name, (baseline, followup, uln) in enzymes.items():
        rows[0].update({name: baseline, ENZYME_ULN[name]: uln})
        rows[1].update({name: followup, ENZYME_ULN[name]: uln})
    chosen = total_improvement_score(pd.DataFrame(rows)).iloc[0]["enzyme"]
    return pd.DataFrame(
        [
            {
                "enzyme": name,
                "baseline U/l": baseline,
                "ULN U/l": uln,
                "baseline x ULN": baseline / uln,
                "followed": name == chosen,
            }
            for name, (baseline, followup, uln) in enzymes.items()
        ]
    ).set_index("enzyme")


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
            rows.append(
                {
                    "baseline U/l": baseline,
                    "followup U/l": followup,
                    "option": str(option),
                    "divided by": scale_range,
                    "percent": float(score.percent[0]),
                    "points": float(score.points[0]),
                }
            )
    return pd.DataFrame(rows)


def normal_enzyme_example() -> pd.DataFrame:
    """The responder with CK 150 -> 90 U/l (ULN 200): normal at baseline, full enzyme points, and the flag."""
    visits = RESPONDER.visit_table()
    visits["ck"] = [150.0, 90.0]
    visits["data_source"] = "synthetic teaching patient (responder, CK normal at baseline)"
    scores = total_improvement_score(visits)
    return scores[
        [
            "week",
            "enzyme",
            "enzyme_baseline_x_uln",
            "enzyme_percent",
            "enzyme_points",
            "enzyme_normal_at_baseline",
            "data_source",
        ]
    ]


# --- Missing measures -----------------------------------------------------------------


def missing_measure_example() -> pd.DataFrame:
    """The responder with its follow-up patient global not recorded: what the engine reports."""
    visits = RESPONDER.visit_table()
    visits.loc[1, "patient_global"] = np.nan
    scores = total_improvement_score(visits)
    columns = [
        "week",
        "patient_global_missing",
        "n_missing_csms",
        "tis",
        "points_of_scored_measures",
        "category",
        "data_source",
    ]
    return scores[[c for c in columns if c in scores.columns]]


# --- Units ----------------------------------------------------------------------------


def vas_mm_to_cm(millimetres):
    """A VAS read in millimetres (0-100) as centimetres (0-10), the unit the kit and the criteria use."""
    return np.asarray(millimetres, dtype=float) / 10


def validation_message(visits: pd.DataFrame) -> str:
    """What the validator says about a visit table (empty when it is valid)."""
    try:
        validate_visits(visits, source="visits.csv", line_offset=2)
    except VisitTableError as error:
        return str(error)
    return ""


def vas_in_mm_example() -> pd.DataFrame:
    """The responder's two visits with the physician global typed in millimetres (60 and 42)."""
    visits = RESPONDER.visit_table()
    visits["physician_global"] = visits["physician_global"] * 10
    return visits


#: A 5-point Likert global (0 inactive ... 4 extremely severe), as the IMACS global activity forms offer.
LIKERT_RANGE = 4


def likert_versus_vas_table() -> pd.DataFrame:
    """One step better on a 0-4 Likert scale and one centimetre better on the 10 cm VAS: different percents.

    Each is scored against its own range; mixing them (baseline on one, follow-up on the other)
    has no range to divide by at all, which is why a patient must stay on one scale.
    """
    rows = []
    for scale, baseline, followup, scale_range in (("Likert 0-4", 3, 2, LIKERT_RANGE), ("VAS 0-10 cm", 6.0, 5.0, 10.0)):
        percent = absolute_percent_improvement("physician_global", baseline, followup, scale_range)
        rows.append(
            {
                "scale": scale,
                "baseline": baseline,
                "followup": followup,
                "range": scale_range,
                "absolute %": percent,
                "physician global points": improvement_points("physician_global", percent),
            }
        )
    return pd.DataFrame(rows).set_index("scale")


# --- JDM instruments ------------------------------------------------------------------


def instruments_table() -> pd.DataFrame:
    """Every instrument the engine can score: the CSM row it stands in, range, direction, core sets, source."""
    rows = []
    for instrument in INSTRUMENTS.values():
        if instrument.fixed_range is not None:
            scale = f"{instrument.scale_min:g}-{instrument.scale_max:g} {instrument.unit}".strip()
        else:
            scale = (
                "explicit: " + ", ".join(instrument.range_columns) if instrument.range_columns else "U/l, see section 7"
            )
        rows.append(
            {
                "instrument": instrument.name,
                "stands for": instrument.measure,
                "label": instrument.label,
                "scale": scale,
                "better is": "higher" if instrument.improves_by == "increase" else "lower",
                "core sets": ", ".join(instrument.core_sets),
                "source": instrument.source,
            }
        )
    return pd.DataFrame(rows).set_index("instrument")


# --- The enzyme conventions -----------------------------------------------------------

#: The only other public implementation we know of (in R) divides the enzyme's fall by k x ULN with
#: k = 15 for CK and 3 for AST, ALT and LDH (aldolase not stated there); a convention, not a rule.
R_PRESET = EnzymeNormalisation.preset("r-implementation")


def enzyme_conventions_table(changes) -> pd.DataFrame:
    """Percent and points of enzyme changes under the kit's default and the R preset, side by side.

    ``changes`` is a list of (enzyme, baseline, followup, uln). Columns: relative to baseline (the
    kit's default), range-normalised with the R preset's k for that enzyme, and range-normalised with
    k = 10 (the kit's default multiplier, which has no source).
    """
    rows = []
    for enzyme, baseline, followup, uln in changes:
        options = {
            "relative to baseline (kit default)": EnzymeNormalisation("relative"),
            f"of {R_PRESET.multiplier(enzyme):g} x ULN (R preset)": R_PRESET,
            "of 10 x ULN (kit's default k: no source)": EnzymeNormalisation("uln_range", 10.0),
        }
        for name, option in options.items():
            scale_range = float(enzyme_scale_range(baseline, uln, option, enzyme=enzyme))
            score = score_measure("enzyme", [baseline], [followup], [scale_range])
            rows.append(
                {
                    "change": f"{enzyme.upper()} {baseline:g} -> {followup:g} U/l (ULN {uln:g})",
                    "convention": name,
                    "divided by (U/l)": scale_range,
                    "percent": float(score.percent[0]),
                    "points": float(score.points[0]),
                }
            )
    return pd.DataFrame(rows).set_index(["change", "convention"])
