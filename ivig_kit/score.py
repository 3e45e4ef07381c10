"""The 2016 ACR/EULAR Total Improvement Score (TIS) for myositis.

Each of the six IMACS core set measures (CSMs) is scored by its *absolute* percent
improvement from baseline (change / range of the instrument x 100), read off a band
table, and the points are summed to a total of 0-100 (Aggarwal et al. 2017; Rider et
al. 2017). Bands are right-closed: "worsening to 5%" scores 0, so exactly 5.0% scores 0.

Band edges must be exact whatever floating point does (VAS 1.1 -> 0.6 cm is 5% exactly,
not 5.000000000000001%). Every measurement is therefore quantised to integer
micro-units (six decimal places, far finer than any instrument reports) and every band
comparison is done in int64 arithmetic: ``change * 100 > edge * range``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ivig_kit.visits import ENZYME_ULN, ENZYMES, ID_COLUMNS, REQUIRED_COLUMNS, validate_visits

Direction = Literal["decrease", "increase"]
Population = Literal["adult", "juvenile"]

#: Values are quantised to this many units per instrument unit before any comparison.
MICRO = 1_000_000


@dataclass(frozen=True)
class CoreSetMeasure:
    """One IMACS core set measure and its row of the ACR/EULAR scoring table."""

    name: str
    label: str
    improves_by: Direction
    #: right-closed upper edges (percent) of bands 1-4; band 5 is everything above the last
    band_edges_percent: tuple[int, int, int, int]
    band_points: tuple[float, float, float, float, float]

    @property
    def max_points(self) -> float:
        return self.band_points[-1]


CORE_SET: dict[str, CoreSetMeasure] = {
    m.name: m
    for m in (
        CoreSetMeasure("physician_global", "Physician global activity (VAS 0-10 cm)",
                       "decrease", (5, 15, 25, 40), (0.0, 7.5, 15.0, 17.5, 20.0)),
        CoreSetMeasure("patient_global", "Patient global activity (VAS 0-10 cm)",
                       "decrease", (5, 15, 25, 40), (0.0, 2.5, 5.0, 7.5, 10.0)),
        CoreSetMeasure("mmt", "Manual muscle testing (MMT)",
                       "increase", (2, 10, 20, 30), (0.0, 10.0, 20.0, 27.5, 32.5)),
        CoreSetMeasure("haq", "Health Assessment Questionnaire (HAQ 0-3)",
                       "decrease", (5, 15, 25, 40), (0.0, 5.0, 7.5, 7.5, 10.0)),
        CoreSetMeasure("enzyme", "Most abnormal muscle enzyme",
                       "decrease", (5, 15, 25, 40), (0.0, 2.5, 5.0, 7.5, 7.5)),
        CoreSetMeasure("extramuscular", "Extramuscular activity (MDAAT VAS 0-10 cm)",
                       "decrease", (5, 15, 25, 40), (0.0, 7.5, 12.5, 15.0, 20.0)),
    )
}

#: Fixed instrument ranges; MMT's range is the patient's ``mmt_max`` and the enzyme's
#: depends on the chosen :class:`EnzymeNormalisation`.
SCALE_RANGE = {"physician_global": 10.0, "patient_global": 10.0, "extramuscular": 10.0, "haq": 3.0}

#: Minimal / moderate / major improvement thresholds (TIS >= threshold).
CATEGORY_THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "adult": (20.0, 40.0, 60.0),
    "juvenile": (30.0, 45.0, 70.0),
}
CATEGORIES = ("none", "minimal", "moderate", "major")

#: Common MMT scales: MMT-8 one side, MMT-8 both sides, Kendall 13 groups both sides.
MMT_SCALES = {"MMT-8 unilateral (0-80)": 80, "MMT-8 bilateral (0-150)": 150,
              "Kendall MMT, 13 groups bilateral (0-260)": 260}


@dataclass(frozen=True)
class EnzymeNormalisation:
    """How the most abnormal enzyme's percent change is normalised.

    The published sources do not settle this (see ``tis.md``), so it is an explicit,
    recorded choice: ``relative`` divides the change by the baseline value (the default);
    ``uln_range`` divides it by ``uln_multiplier`` x ULN, treating 0..k x ULN as the range.
    """

    method: Literal["relative", "uln_range"] = "relative"
    uln_multiplier: float = 10.0

    def __post_init__(self):
        if self.method not in ("relative", "uln_range"):
            raise ValueError(f"enzyme normalisation must be 'relative' or 'uln_range', not {self.method!r}")
        if self.method == "uln_range" and not self.uln_multiplier > 0:
            raise ValueError(f"uln_multiplier must be positive, not {self.uln_multiplier!r}")

    def __str__(self) -> str:
        return "relative" if self.method == "relative" else f"uln_range(x{self.uln_multiplier:g})"


def to_micro(values) -> np.ndarray:
    """Quantise measurements to int64 micro-units; NaN becomes 0 (track missingness separately)."""
    arr = np.asarray(values, dtype=float)
    return np.rint(np.nan_to_num(arr, nan=0.0) * MICRO).astype(np.int64)


def _band_index(improvement_micro, range_micro, edges) -> np.ndarray:
    """Band (0-4) reached by an improvement, compared exactly: ``change*100 > edge*range``."""
    scaled = np.asarray(improvement_micro, dtype=np.int64) * 100
    range_micro = np.asarray(range_micro, dtype=np.int64)
    band = np.zeros(np.broadcast(scaled, range_micro).shape, dtype=np.int8)
    for edge in edges:
        band += scaled > range_micro * edge
    return band


def points_for_band(measure: str, band) -> np.ndarray:
    """Points of a CSM for band indices 0-4."""
    return np.asarray(CORE_SET[measure].band_points)[np.asarray(band)]


def improvement_points(measure: str, percent_improvement):
    """Points a CSM earns for a given absolute percent improvement (negative = worsening).

    Works on scalars and arrays; the percent is compared exactly after quantisation, so
    ``improvement_points("physician_global", 5.0) == 0.0`` and 5.000001 scores 7.5.
    """
    band = _band_index(to_micro(percent_improvement), 100 * MICRO, CORE_SET[measure].band_edges_percent)
    points = points_for_band(measure, band)
    return float(points) if np.ndim(points) == 0 else points


def absolute_percent_improvement(measure: str, baseline, followup, scale_range):
    """Improvement as percent of the instrument's range (positive = better).

    ``scale_range`` is explicit: 10 for the VAS measures, 3 for HAQ, ``mmt_max`` for MMT.
    Exact for inputs given to six decimal places.
    """
    improvement = _improvement_micro(measure, to_micro(baseline), to_micro(followup))
    result = improvement * 100 / to_micro(scale_range)
    return float(result) if np.ndim(result) == 0 else result


def relative_percent_improvement(measure: str, baseline, followup):
    """Improvement as percent of the baseline value: a different quantity, taught for contrast."""
    baseline_micro = to_micro(baseline)
    improvement = _improvement_micro(measure, baseline_micro, to_micro(followup))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(baseline_micro != 0, improvement * 100 / np.where(baseline_micro == 0, 1, baseline_micro), np.nan)
    return float(result) if np.ndim(result) == 0 else result


def _improvement_micro(measure: str, baseline_micro, followup_micro):
    if CORE_SET[measure].improves_by == "decrease":
        return baseline_micro - followup_micro
    return followup_micro - baseline_micro


def category(tis, population: Population = "adult"):
    """Improvement category (none / minimal / moderate / major) of totals; NaN stays missing."""
    thresholds = CATEGORY_THRESHOLDS[_check_population(population)]
    tis_arr = np.asarray(tis, dtype=float)
    index = np.searchsorted(np.asarray(thresholds), np.nan_to_num(tis_arr, nan=-1.0), side="right")
    labels = np.asarray(CATEGORIES, dtype=object)[index]
    labels = np.where(np.isnan(tis_arr), None, labels)
    return labels.item() if labels.ndim == 0 else labels


def _check_population(population: str) -> str:
    if population not in CATEGORY_THRESHOLDS:
        raise ValueError(f"population must be 'adult' or 'juvenile', not {population!r}")
    return population


@dataclass
class CoreSetScore:
    """Vectorised result for one CSM over many visits."""

    percent: np.ndarray  # absolute percent improvement, NaN where missing or not computable
    points: np.ndarray  # NaN where missing
    missing: np.ndarray  # baseline or follow-up value missing
    at_limit: np.ndarray  # baseline at floor/ceiling: no improvement possible


def score_measure(measure: str, baseline, followup, scale_range) -> CoreSetScore:
    """Score one CSM for arrays of baseline/follow-up values against ``scale_range``.

    ``scale_range`` may be an array (per-visit MMT maximum or enzyme range). A range of
    0 (e.g. a relative enzyme change from a baseline of 0) cannot be scored and is
    flagged ``at_limit`` with no points, instead of dividing by zero.
    """
    spec = CORE_SET[measure]
    baseline = np.asarray(baseline, dtype=float)
    followup = np.asarray(followup, dtype=float)
    scale_range = np.broadcast_to(np.asarray(scale_range, dtype=float), baseline.shape)
    baseline_micro, followup_micro, range_micro = to_micro(baseline), to_micro(followup), to_micro(scale_range)
    missing = np.isnan(baseline) | np.isnan(followup) | np.isnan(scale_range)
    if spec.improves_by == "decrease":
        at_limit = baseline_micro <= 0
    else:
        at_limit = baseline_micro >= range_micro
    unscorable = range_micro <= 0
    at_limit = (at_limit | unscorable) & ~missing
    improvement = _improvement_micro(measure, baseline_micro, followup_micro)
    band = _band_index(improvement, np.where(unscorable, 1, range_micro), spec.band_edges_percent)
    points = np.where(missing, np.nan, np.where(unscorable, 0.0, points_for_band(measure, band)))
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(missing | unscorable, np.nan, improvement * 100 / np.where(unscorable, 1, range_micro))
    return CoreSetScore(percent=percent, points=points, missing=missing, at_limit=at_limit)


def enzyme_scale_range(baseline_value, baseline_uln, normalisation: EnzymeNormalisation):
    """Range the enzyme's change is divided by, under the chosen normalisation."""
    if normalisation.method == "relative":
        return np.asarray(baseline_value, dtype=float)
    return np.asarray(baseline_uln, dtype=float) * normalisation.uln_multiplier


def total_improvement_score_of_points(points_by_measure: dict[str, np.ndarray]):
    """Sum CSM points; the total is NaN when any CSM is missing (never silently 0)."""
    return sum(np.asarray(points_by_measure[m], dtype=float) for m in CORE_SET)


def best_reachable_mmt_points(mmt_baseline, mmt_max):
    """MMT points still reachable from a baseline: the ceiling effect in one number."""
    return score_measure("mmt", [mmt_baseline], [mmt_max], [mmt_max]).points[0]


# --- Whole visit tables -------------------------------------------------------------

#: Worsening thresholds of the ProDERM confirmed-deterioration definition.
DETERIORATION_VAS_CM = 2.0
DETERIORATION_MMT_PERCENT = 20
DETERIORATION_ANY_THREE_PERCENT = 30


def total_improvement_score(visits: pd.DataFrame, population: Population = "adult",
                            enzyme_normalisation: EnzymeNormalisation | str = "relative",
                            validate: bool = True) -> pd.DataFrame:
    """Score every follow-up visit of a visit table against its patient's baseline.

    Returns one row per follow-up visit with, for each CSM, its absolute percent
    improvement, points and flags (``_missing``, ``_at_limit``), then ``tis`` (NaN when a
    CSM is missing: the official rule is undocumented, so it is reported, not guessed),
    ``tis_available`` (sum of the points that could be scored), ``category``, the
    confirmed-deterioration columns and every optional column of the visit.
    """
    _check_population(population)
    if isinstance(enzyme_normalisation, str):
        enzyme_normalisation = EnzymeNormalisation(enzyme_normalisation)
    if validate:
        visits = validate_visits(visits)
    baseline_rows, followup_rows, same_patient_as_previous = _pair_with_baseline(visits)

    def pair(column):
        values = visits[column].to_numpy(dtype=float)
        return values[baseline_rows], values[followup_rows]

    mmt_max = visits["mmt_max"].to_numpy(dtype=float)[baseline_rows]
    enzyme_name, enzyme_baseline, enzyme_followup, enzyme_uln = _most_abnormal_enzyme(visits, baseline_rows, followup_rows)
    measure_inputs = {
        name: (*pair(name), SCALE_RANGE[name]) for name in ("physician_global", "patient_global", "haq", "extramuscular")
    }
    measure_inputs["mmt"] = (*pair("mmt"), mmt_max)
    measure_inputs["enzyme"] = (enzyme_baseline, enzyme_followup,
                                enzyme_scale_range(enzyme_baseline, enzyme_uln, enzyme_normalisation))

    ids = {column: visits[column].to_numpy(dtype=object)[followup_rows] for column in ID_COLUMNS}
    result = {**ids, "week": visits["week"].to_numpy(dtype=float)[followup_rows],
              "baseline_week": visits["week"].to_numpy(dtype=float)[baseline_rows]}
    scores = {}
    for name in CORE_SET:
        baseline, followup, scale_range = measure_inputs[name]
        scores[name] = score_measure(name, baseline, followup, scale_range)
        result[f"{name}_percent"] = scores[name].percent
        result[f"{name}_points"] = scores[name].points
    for name in CORE_SET:
        result[f"{name}_missing"] = scores[name].missing
        result[f"{name}_at_limit"] = scores[name].at_limit
    result["enzyme"] = enzyme_name
    with np.errstate(divide="ignore", invalid="ignore"):
        result["enzyme_baseline_x_uln"] = enzyme_baseline / enzyme_uln
    tis = total_improvement_score_of_points({m: s.points for m, s in scores.items()})
    result["tis"] = tis
    result["tis_available"] = sum(np.nan_to_num(s.points, nan=0.0) for s in scores.values())
    result["n_missing_csms"] = sum(s.missing.astype(np.int8) for s in scores.values())
    result["category"] = pd.Categorical(category(tis, population), categories=CATEGORIES)
    criteria = _deterioration_criteria(measure_inputs)
    result["deterioration_criteria_met"] = criteria
    previous = np.concatenate([[False], criteria[:-1]])
    result["confirmed_deterioration"] = criteria & previous & same_patient_as_previous
    result["population"] = population
    result["enzyme_normalisation"] = str(enzyme_normalisation)
    for column in visits.columns.difference([*REQUIRED_COLUMNS, *ENZYMES, *ENZYME_ULN.values()], sort=False):
        result[column] = visits[column].to_numpy()[followup_rows]
    return pd.DataFrame(result)


def _pair_with_baseline(visits: pd.DataFrame):
    """Row positions of each follow-up visit and its patient's baseline (earliest week).

    Follow-ups come out ordered by patient and week; the third array says whether the
    previous follow-up in that order belongs to the same patient (for "two consecutive
    visits").
    """
    site_codes = pd.factorize(visits["site"])[0].astype(np.int64)
    patient_codes = pd.factorize(visits["patient_id"])[0].astype(np.int64)
    patient = site_codes * (patient_codes.max() + 1) + patient_codes
    order = np.lexsort((visits["week"].to_numpy(dtype=float), patient))
    patient_sorted = patient[order]
    is_baseline = np.ones(len(order), dtype=bool)
    is_baseline[1:] = patient_sorted[1:] != patient_sorted[:-1]
    baseline_position = np.maximum.accumulate(np.where(is_baseline, np.arange(len(order)), 0))
    followup = ~is_baseline
    followup_patient = patient_sorted[followup]
    same_as_previous = np.zeros(len(followup_patient), dtype=bool)
    same_as_previous[1:] = followup_patient[1:] == followup_patient[:-1]
    return order[baseline_position[followup]], order[followup], same_as_previous


def _most_abnormal_enzyme(visits: pd.DataFrame, baseline_rows, followup_rows):
    """The enzyme most abnormal at baseline (highest multiple of its ULN), followed over time.

    Ties go to the first in the table footnote's order (CK, aldolase, ALT, AST, LDH).
    """
    present = [e for e in ENZYMES if e in visits.columns]
    values = visits[present].to_numpy(dtype=float)
    ulns = visits[[ENZYME_ULN[e] for e in present]].to_numpy(dtype=float)
    baseline_values, baseline_ulns = values[baseline_rows], ulns[baseline_rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = baseline_values / baseline_ulns
    ratio = np.where(np.isnan(ratio), -np.inf, ratio)
    choice = np.argmax(ratio, axis=1)
    none_available = np.isneginf(ratio.max(axis=1))
    take = np.arange(len(choice))
    name = np.asarray(present, dtype=object)[choice]
    name[none_available] = None
    baseline = np.where(none_available, np.nan, baseline_values[take, choice])
    followup = np.where(none_available, np.nan, values[followup_rows][take, choice])
    uln = np.where(none_available, np.nan, baseline_ulns[take, choice])
    return name, baseline, followup, uln


def _deterioration_criteria(measure_inputs) -> np.ndarray:
    """Per follow-up visit: does it meet the ProDERM worsening definition against baseline?

    Physician global worse by >= 2 cm and MMT worse by >= 20% (of the scale's range), or
    extramuscular activity worse by >= 2 cm, or any three of the five non-enzyme CSMs worse
    by >= 30% (of range). A CSM that is missing cannot meet a criterion. Exact like the TIS.
    """
    worsening = {}
    worse_by_30 = []
    for name in ("physician_global", "patient_global", "mmt", "haq", "extramuscular"):
        baseline, followup, scale_range = measure_inputs[name]
        known = ~(np.isnan(baseline) | np.isnan(followup))
        worse = -_improvement_micro(name, to_micro(baseline), to_micro(followup))
        range_micro = to_micro(np.broadcast_to(scale_range, baseline.shape))
        worsening[name] = (worse, range_micro, known)
        worse_by_30.append(known & (worse * 100 >= range_micro * DETERIORATION_ANY_THREE_PERCENT))
    two_cm = to_micro(DETERIORATION_VAS_CM)
    physician, _, physician_known = worsening["physician_global"]
    mmt, mmt_range, mmt_known = worsening["mmt"]
    extramuscular, _, extramuscular_known = worsening["extramuscular"]
    physician_and_mmt = (physician_known & (physician >= two_cm)
                         & mmt_known & (mmt * 100 >= mmt_range * DETERIORATION_MMT_PERCENT))
    extramuscular_worse = extramuscular_known & (extramuscular >= two_cm)
    any_three = np.sum(worse_by_30, axis=0) >= 3
    return physician_and_mmt | extramuscular_worse | any_three
