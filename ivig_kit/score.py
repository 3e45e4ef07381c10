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
    baseline = np.asarray(baseline, dtype=float)
    followup = np.asarray(followup, dtype=float)
    scale_range = np.broadcast_to(np.asarray(scale_range, dtype=float), baseline.shape)
    missing = np.isnan(baseline) | np.isnan(followup) | np.isnan(scale_range)
    return _score_micro(measure, _MicroPair(to_micro(baseline), to_micro(followup), to_micro(scale_range), missing))


@dataclass
class _MicroPair:
    """Baseline and follow-up of one CSM in micro-units, aligned per follow-up visit."""

    baseline: np.ndarray
    followup: np.ndarray
    scale_range: np.ndarray
    missing: np.ndarray


def _score_micro(measure: str, pair: _MicroPair) -> CoreSetScore:
    spec = CORE_SET[measure]
    if spec.improves_by == "decrease":
        at_limit = pair.baseline <= 0
    else:
        at_limit = pair.baseline >= pair.scale_range
    unscorable = pair.scale_range <= 0
    at_limit = (at_limit | unscorable) & ~pair.missing
    improvement = _improvement_micro(measure, pair.baseline, pair.followup)
    safe_range = np.where(unscorable, 1, pair.scale_range)
    band = _band_index(improvement, safe_range, spec.band_edges_percent)
    points = points_for_band(measure, band)
    points[unscorable] = 0.0
    points[pair.missing] = np.nan
    percent = improvement * 100 / safe_range
    percent[pair.missing | unscorable] = np.nan
    return CoreSetScore(percent=percent, points=points, missing=pair.missing, at_limit=at_limit)


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
    n_followups = len(followup_rows)

    def pair(column, scale_range) -> _MicroPair:
        values = visits[column].to_numpy(dtype=float)
        micro, unknown = to_micro(values), np.isnan(values)
        return _MicroPair(micro[baseline_rows], micro[followup_rows], scale_range,
                          unknown[baseline_rows] | unknown[followup_rows])

    pairs = {name: pair(name, np.full(n_followups, to_micro(SCALE_RANGE[name])))
             for name in ("physician_global", "patient_global", "haq", "extramuscular")}
    mmt_max = visits["mmt_max"].to_numpy(dtype=float)[baseline_rows]
    pairs["mmt"] = pair("mmt", to_micro(mmt_max))
    pairs["mmt"].missing |= np.isnan(mmt_max)
    enzyme_choice, enzyme_names, enzyme_baseline, enzyme_followup, enzyme_uln = _most_abnormal_enzyme(
        visits, baseline_rows, followup_rows)
    enzyme_range = enzyme_scale_range(enzyme_baseline, enzyme_uln, enzyme_normalisation)
    pairs["enzyme"] = _MicroPair(to_micro(enzyme_baseline), to_micro(enzyme_followup), to_micro(enzyme_range),
                                 np.isnan(enzyme_baseline) | np.isnan(enzyme_followup) | np.isnan(enzyme_range))

    result = {column: visits[column].array.take(followup_rows) for column in ID_COLUMNS}
    week = visits["week"].to_numpy(dtype=float)
    result["week"], result["baseline_week"] = week[followup_rows], week[baseline_rows]
    scores = {name: _score_micro(name, pairs[name]) for name in CORE_SET}
    for name, score in scores.items():
        result[f"{name}_percent"] = score.percent
        result[f"{name}_points"] = score.points
    for name, score in scores.items():
        result[f"{name}_missing"] = score.missing
        result[f"{name}_at_limit"] = score.at_limit
    result["enzyme"] = pd.Categorical.from_codes(enzyme_choice, categories=enzyme_names)
    with np.errstate(divide="ignore", invalid="ignore"):
        result["enzyme_baseline_x_uln"] = enzyme_baseline / enzyme_uln
    tis = total_improvement_score_of_points({m: s.points for m, s in scores.items()})
    result["tis"] = tis
    result["tis_available"] = sum(np.nan_to_num(s.points, nan=0.0) for s in scores.values())
    result["n_missing_csms"] = sum(s.missing.astype(np.int8) for s in scores.values())
    result["category"] = _category_codes(tis, population)
    criteria = _deterioration_criteria(pairs)
    result["deterioration_criteria_met"] = criteria
    previous = np.concatenate([[False], criteria[:-1]])
    result["confirmed_deterioration"] = criteria & previous & same_patient_as_previous
    result["population"] = pd.Categorical.from_codes(np.zeros(n_followups, dtype=np.int8), [population])
    result["enzyme_normalisation"] = pd.Categorical.from_codes(np.zeros(n_followups, dtype=np.int8),
                                                               [str(enzyme_normalisation)])
    for column in visits.columns.difference([*REQUIRED_COLUMNS, *ENZYMES, *ENZYME_ULN.values()], sort=False):
        result[column] = visits[column].array.take(followup_rows)
    return pd.DataFrame(result)


def _category_codes(tis: np.ndarray, population: str) -> pd.Categorical:
    thresholds = np.asarray(CATEGORY_THRESHOLDS[population])
    codes = np.searchsorted(thresholds, np.nan_to_num(tis, nan=-1.0), side="right").astype(np.int8)
    codes[np.isnan(tis)] = -1
    return pd.Categorical.from_codes(codes, categories=CATEGORIES)


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
    Returns the choice per follow-up visit as codes into the enzyme names (-1: none
    measured), the names, and the baseline value, follow-up value and baseline ULN.
    """
    present = [e for e in ENZYMES if e in visits.columns]
    take = np.arange(len(baseline_rows))
    best_ratio = np.full(len(baseline_rows), -np.inf)
    choice = np.full(len(baseline_rows), -1, dtype=np.int8)
    for code, enzyme in enumerate(present):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (visits[enzyme].to_numpy(dtype=float)[baseline_rows]
                     / visits[ENZYME_ULN[enzyme]].to_numpy(dtype=float)[baseline_rows])
        better = ratio > best_ratio  # NaN never wins; ties keep the earlier enzyme
        best_ratio[better] = ratio[better]
        choice[better] = code
    values = visits[present].to_numpy(dtype=float)
    ulns = visits[[ENZYME_ULN[e] for e in present]].to_numpy(dtype=float)
    safe_choice = np.maximum(choice, 0)
    none_measured = choice < 0
    baseline = values[baseline_rows, safe_choice]
    followup = values[followup_rows, safe_choice]
    uln = ulns[baseline_rows, safe_choice]
    for array in (baseline, followup, uln):
        array[none_measured] = np.nan
    return choice, present, baseline, followup, uln


def _deterioration_criteria(pairs: dict[str, _MicroPair]) -> np.ndarray:
    """Per follow-up visit: does it meet the ProDERM worsening definition against baseline?

    Physician global worse by >= 2 cm and MMT worse by >= 20% (of the scale's range), or
    extramuscular activity worse by >= 2 cm, or any three of the five non-enzyme CSMs worse
    by >= 30% (of range). A CSM that is missing cannot meet a criterion. Exact like the TIS.
    """
    worsening = {name: -_improvement_micro(name, pairs[name].baseline, pairs[name].followup)
                 for name in ("physician_global", "patient_global", "mmt", "haq", "extramuscular")}
    known = {name: ~pairs[name].missing for name in worsening}
    worse_by_30 = sum((known[name] & (worse * 100 >= pairs[name].scale_range * DETERIORATION_ANY_THREE_PERCENT))
                      .astype(np.int8) for name, worse in worsening.items())
    two_cm = to_micro(DETERIORATION_VAS_CM)
    physician_and_mmt = (known["physician_global"] & (worsening["physician_global"] >= two_cm)
                         & known["mmt"]
                         & (worsening["mmt"] * 100 >= pairs["mmt"].scale_range * DETERIORATION_MMT_PERCENT))
    extramuscular_worse = known["extramuscular"] & (worsening["extramuscular"] >= two_cm)
    return physician_and_mmt | extramuscular_worse | (worse_by_30 >= 3)
