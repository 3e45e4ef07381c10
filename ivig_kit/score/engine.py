"""The 2016 ACR/EULAR Total Improvement Score (TIS) for myositis: the exact engine.

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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ivig_kit.errors import InputError
from ivig_kit.score.columns import KIT_COLUMNS
from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.deterioration import (
    DeteriorationConfirmation,
    DeteriorationReading,
    as_confirmation,
    as_reading,
    confirm_deterioration,
    deterioration_criteria,
)
from ivig_kit.score.enzymes import most_abnormal_enzyme
from ivig_kit.score.measures import (
    CATEGORIES,
    CATEGORY_THRESHOLDS,
    CORE_SET,
    ENZYMES,
    MICRO,
    EnzymeNormalisation,
    Population,
    to_micro,
)
from ivig_kit.score.visits import ID_COLUMNS, validate_visits


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
        result = np.where(
            baseline_micro != 0, improvement * 100 / np.where(baseline_micro == 0, 1, baseline_micro), np.nan
        )
    return float(result) if np.ndim(result) == 0 else result


def _improvement_micro(measure: str, baseline_micro, followup_micro):
    if CORE_SET[measure].improves_by == "decrease":
        return baseline_micro - followup_micro
    return followup_micro - baseline_micro


def category(tis, population: Population = "adult"):
    """Improvement category (none / minimal / moderate / major) of totals; NaN stays missing."""
    thresholds = CATEGORY_THRESHOLDS[check_population(population)]
    tis_arr = np.asarray(tis, dtype=float)
    index = np.searchsorted(np.asarray(thresholds), np.nan_to_num(tis_arr, nan=-1.0), side="right")
    labels = np.asarray(CATEGORIES, dtype=object)[index]
    labels = np.asarray(np.where(np.isnan(tis_arr), None, labels))
    return labels.item() if labels.ndim == 0 else labels


def check_population(population: str) -> str:
    """The population, checked: ``"adult"`` or ``"juvenile"`` (the TIS thresholds differ).

    Raises
    ------
    InputError
        For any other population, naming the two accepted.
    """
    if population not in CATEGORY_THRESHOLDS:
        raise InputError(f"population must be 'adult' or 'juvenile', not {population!r}")
    return population


@dataclass(frozen=True)
class CoreSetScore:
    """Vectorised result for one CSM over many visits."""

    percent: np.ndarray  # absolute percent improvement, NaN where missing or not computable
    points: np.ndarray  # NaN where missing
    missing: np.ndarray  # baseline or follow-up value missing
    at_limit: np.ndarray  # baseline at floor/ceiling: no improvement possible
    change: np.ndarray  # signed improvement in instrument units (positive = better)
    scale_range: np.ndarray  # the range the change was divided by


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
    return score_micro(measure, MicroPair(to_micro(baseline), to_micro(followup), to_micro(scale_range), missing))


@dataclass
class MicroPair:
    """Baseline and follow-up of one CSM in integer micro-units, aligned per follow-up visit, so band edges are
    compared exactly (see :data:`~ivig_kit.score.measures.MICRO`)."""

    baseline: np.ndarray
    followup: np.ndarray
    scale_range: np.ndarray
    missing: np.ndarray
    #: per visit, whether the instrument standing in this row improves by rising (None: the CSM's direction)
    increases: np.ndarray | None = None
    #: per visit, the floor (falling instruments) or ceiling (rising ones) in micro-units
    #: (None: 0, or the range for a rising instrument whose scale starts at 0)
    limit: np.ndarray | None = None

    def improvement(self, measure: str) -> np.ndarray:
        """Signed improvement in micro-units, in each visit's instrument direction (positive = better)."""
        if self.increases is None:
            return _improvement_micro(measure, self.baseline, self.followup)
        return np.where(self.increases, self.followup - self.baseline, self.baseline - self.followup)


def score_micro(measure: str, pair: MicroPair) -> CoreSetScore:
    """Score one CSM from a :class:`MicroPair`: the exact core of :func:`score_measure`.

    Parameters
    ----------
    measure : str
        The CSM (a key of :data:`~ivig_kit.score.measures.CORE_SET`).
    pair : MicroPair
        Its baseline, follow-up and scale range in micro-units, with per-visit direction and limit if given.

    Returns
    -------
    CoreSetScore
        Percent, points, missing and at-limit flags per visit.
    """
    spec = CORE_SET[measure]
    increases = (
        pair.increases
        if pair.increases is not None
        else np.full(np.shape(pair.baseline), spec.improves_by == "increase")
    )
    limit = pair.limit if pair.limit is not None else np.where(increases, pair.scale_range, 0)
    at_limit = np.where(increases, pair.baseline >= limit, pair.baseline <= limit)
    unscorable = pair.scale_range <= 0
    at_limit = (at_limit | unscorable) & ~pair.missing
    improvement = pair.improvement(measure)
    safe_range = np.where(unscorable, 1, pair.scale_range)
    band = _band_index(improvement, safe_range, spec.band_edges_percent)
    points = points_for_band(measure, band)
    points[unscorable] = 0.0
    points[pair.missing] = np.nan
    percent = improvement * 100 / safe_range
    percent[pair.missing | unscorable] = np.nan
    change = improvement / MICRO
    change[pair.missing] = np.nan
    scale_range = pair.scale_range / MICRO
    scale_range[pair.missing] = np.nan
    return CoreSetScore(
        percent=percent, points=points, missing=pair.missing, at_limit=at_limit, change=change, scale_range=scale_range
    )


def total_improvement_score_of_points(points_by_measure: Mapping[str, ArrayLike]):
    """Sum CSM points; the total is NaN when any CSM is missing (never silently 0)."""
    return sum(np.asarray(points_by_measure[m], dtype=float) for m in CORE_SET)


def best_reachable_mmt_points(mmt_baseline, mmt_max):
    """MMT points still reachable from a baseline: the ceiling effect in one number."""
    return score_measure("mmt", [mmt_baseline], [mmt_max], [mmt_max]).points[0]


def effective_mmt_ceiling(mmt_max: float) -> float:
    """The lowest whole MMT baseline from which no MMT points can be earned any more.

    MMT scores only above 2% of the range, so a baseline within 2% of the maximum is at an
    effective ceiling. Found with the engine, searching whole scores downwards.
    """
    baselines = np.arange(int(mmt_max), -1, -1, dtype=float)
    points = score_measure("mmt", baselines, np.full_like(baselines, mmt_max), np.full_like(baselines, mmt_max)).points
    return float(baselines[np.argmax(points > 0)] + 1)


# --- Whole visit tables -------------------------------------------------------------


def total_improvement_score(
    visits: pd.DataFrame,
    population: Population = "adult",
    enzyme_normalisation: EnzymeNormalisation | str = "relative",
    validate: bool = True,
    deterioration_reading: DeteriorationReading | str = DeteriorationReading.RANGE,
    deterioration_confirmation: DeteriorationConfirmation | str = DeteriorationConfirmation.ANY,
) -> pd.DataFrame:
    """Score every follow-up visit of a visit table against its patient's baseline.

    Returns one row per follow-up visit: ``site, patient_id, week, tis, category`` first (``tis``
    is NaN when a CSM is missing: the official rule is undocumented, so it is reported, not
    guessed), then each CSM's points, ``points_of_scored_measures`` (the sum of the points that
    could be scored: not a TIS) and ``n_missing_csms``, then ``baseline_week``, each CSM's
    absolute percent improvement, the followed enzyme, the flags (``_missing``, ``_at_limit``,
    ``enzyme_normal_at_baseline``: no enzyme above its ULN at baseline),
    the confirmed-deterioration columns (nullable booleans, empty where a missing measure leaves them
    unknown, flagged by ``deterioration_unknown``; options in :mod:`ivig_kit.score.deterioration`),
    the scoring choices and every optional column of the visit.
    """
    check_population(population)
    if isinstance(enzyme_normalisation, str):
        enzyme_normalisation = EnzymeNormalisation(enzyme_normalisation)  # type: ignore[arg-type]  # checked there
    if validate:
        visits = validate_visits(visits)
    baseline_rows, followup_rows, same_patient_as_previous = _pair_with_baseline(visits)
    n_followups = len(followup_rows)
    enzyme_choice = np.full(n_followups, -1, dtype=np.int8)
    enzyme_names: list[str] = []
    enzyme_baseline = enzyme_uln = np.full(n_followups, np.nan)
    pairs, instrument_codes = {}, {}
    for name, spec in CORE_SET.items():
        candidates = {}
        for instrument in spec.instruments:
            if instrument == "enzyme":
                if any(e in visits.columns for e in ENZYMES):
                    enzyme_choice, enzyme_names, enzyme_baseline, enzyme_followup, enzyme_uln = most_abnormal_enzyme(
                        visits, baseline_rows, followup_rows
                    )
                    if enzyme_normalisation.method == "relative":
                        enzyme_range = enzyme_baseline
                    else:
                        multipliers = np.array([enzyme_normalisation.multiplier(e) for e in enzyme_names] + [np.nan])
                        enzyme_range = (
                            enzyme_uln * multipliers[np.where(enzyme_choice < 0, len(enzyme_names), enzyme_choice)]
                        )
                    candidates[instrument] = (
                        MicroPair(
                            to_micro(enzyme_baseline),
                            to_micro(enzyme_followup),
                            to_micro(enzyme_range),
                            np.isnan(enzyme_baseline) | np.isnan(enzyme_followup) | np.isnan(enzyme_range),
                        ),
                        ~np.isnan(enzyme_baseline),
                    )
            elif INSTRUMENTS[instrument].column in visits.columns:
                candidates[instrument] = _instrument_pair(visits, INSTRUMENTS[instrument], baseline_rows, followup_rows)
        if candidates:
            pairs[name], instrument_codes[name] = _choose_instrument(spec.instruments, candidates)
        else:  # no column for this CSM at all (validation flagged it): missing on every visit
            zeros = np.zeros(n_followups, dtype=np.int64)
            pairs[name] = MicroPair(
                zeros, zeros, np.full(n_followups, MICRO, dtype=np.int64), np.ones(n_followups, dtype=bool)
            )
            instrument_codes[name] = np.zeros(n_followups, dtype=np.int8)
    enzyme_choice = np.where(instrument_codes["enzyme"] == 0, enzyme_choice, -1).astype(np.int8)

    result = {column: visits[column].array.take(followup_rows) for column in ID_COLUMNS}
    week = visits["week"].to_numpy(dtype=float)
    result["week"] = week[followup_rows]
    scores = {name: score_micro(name, pairs[name]) for name in CORE_SET}
    tis = total_improvement_score_of_points({m: s.points for m, s in scores.items()})
    result["tis"] = tis
    result["category"] = _category_codes(tis, population)
    for name, score in scores.items():
        result[f"{name}_points"] = score.points
    result["points_of_scored_measures"] = sum(np.nan_to_num(s.points, nan=0.0) for s in scores.values())
    result["n_missing_csms"] = sum(s.missing.astype(np.int8) for s in scores.values())
    result["baseline_week"] = week[baseline_rows]
    for name, score in scores.items():
        result[f"{name}_percent"] = score.percent
    result["enzyme"] = pd.Categorical.from_codes(enzyme_choice, categories=pd.Index(enzyme_names))
    with np.errstate(divide="ignore", invalid="ignore"):
        result["enzyme_baseline_x_uln"] = np.where(enzyme_choice >= 0, enzyme_baseline / enzyme_uln, np.nan)
    for name, codes in instrument_codes.items():
        result[f"{name}_instrument"] = pd.Categorical.from_codes(codes, categories=pd.Index(CORE_SET[name].instruments))
    for name, score in scores.items():
        result[f"{name}_missing"] = score.missing
        result[f"{name}_at_limit"] = score.at_limit
    # the followed enzyme is the most abnormal: at or below its ULN, no enzyme was abnormal at baseline
    # (it can still earn the enzyme's points; flagged like the MMT ceiling, no source gives another rule)
    result["enzyme_normal_at_baseline"] = (enzyme_choice >= 0) & (
        to_micro(np.nan_to_num(enzyme_baseline)) <= to_micro(np.nan_to_num(enzyme_uln))
    )
    criteria = deterioration_criteria(pairs, instrument_codes, deterioration_reading)
    result["deterioration_criteria_met"] = criteria.met
    result["confirmed_deterioration"] = confirm_deterioration(
        criteria, same_patient_as_previous, deterioration_confirmation
    )
    result["deterioration_unknown"] = np.asarray(criteria.met.isna() | result["confirmed_deterioration"].isna())
    from ivig_kit.score.improvement_2004 import imacs_2004_improved

    result["imacs_2004_improved"] = imacs_2004_improved(pairs)  # the 2004 IMACS DOI; <NA> when a missing CSM decides
    result["population"] = pd.Categorical.from_codes(np.zeros(n_followups, dtype=np.int8), pd.Index([population]))
    result["enzyme_normalisation"] = pd.Categorical.from_codes(
        np.zeros(n_followups, dtype=np.int8), pd.Index([str(enzyme_normalisation)])
    )
    for option, value in (
        ("deterioration_reading", as_reading(deterioration_reading)),
        ("deterioration_confirmation", as_confirmation(deterioration_confirmation)),
    ):
        result[option] = pd.Categorical.from_codes(np.zeros(n_followups, dtype=np.int8), pd.Index([str(value)]))
    for column in visits.columns.difference(list(KIT_COLUMNS), sort=False):  # the other columns pass through
        result[column] = visits[column].array.take(followup_rows)
    return pd.DataFrame(result, copy=False)  # one block per column: no 800k x 40 consolidation copy


def _instrument_pair(visits: pd.DataFrame, instrument, baseline_rows, followup_rows):
    """The baseline/follow-up pair of one instrument's column, with its range and floor or ceiling.

    Returns the pair and whether each follow-up's baseline value is known (to choose instruments).
    """
    values = visits[instrument.column].to_numpy(dtype=float)
    n = len(followup_rows)
    if instrument.fixed_range is not None:
        scale_range = np.full(n, instrument.fixed_range)
        low, high = np.full(n, instrument.scale_min), np.full(n, instrument.scale_max)
    elif instrument.range_columns == ("mmt_max",):
        high = visits["mmt_max"].to_numpy(dtype=float)[baseline_rows]
        low, scale_range = np.zeros(n), high
    else:
        low = visits[instrument.range_columns[0]].to_numpy(dtype=float)[baseline_rows]
        high = visits[instrument.range_columns[1]].to_numpy(dtype=float)[baseline_rows]
        scale_range = high - low
    baseline, followup = values[baseline_rows], values[followup_rows]
    increases = instrument.improves_by == "increase"
    missing = np.isnan(baseline) | np.isnan(followup) | np.isnan(scale_range)
    pair = MicroPair(
        to_micro(baseline),
        to_micro(followup),
        to_micro(scale_range),
        missing,
        np.full(n, increases),
        to_micro(high if increases else low),
    )
    return pair, ~np.isnan(baseline)


def _choose_instrument(instruments: tuple[str, ...], candidates: dict):
    """Per follow-up, the first instrument (in the CSM's order) whose value is known at the patient's baseline.

    Validation makes sure a patient has at most one of them at baseline. Returns the combined pair
    and, per follow-up, the index of the chosen instrument in ``instruments``.
    """
    present = list(candidates)
    n = len(next(iter(candidates.values()))[1])
    chosen = np.full(n, -1)
    for position, name in enumerate(present):
        chosen[(chosen < 0) & candidates[name][1]] = position
    chosen[chosen < 0] = 0
    pairs = [candidates[name][0] for name in present]

    def pick(field, default):
        arrays = [getattr(p, field) if getattr(p, field) is not None else default(p) for p in pairs]
        return np.choose(chosen, arrays) if len(arrays) > 1 else arrays[0]

    combined = MicroPair(
        pick("baseline", None),
        pick("followup", None),
        pick("scale_range", None),
        pick("missing", None),
        pick("increases", lambda p: np.full(n, False)),
        pick("limit", lambda p: np.zeros(n, dtype=np.int64)),
    )
    codes = np.asarray([instruments.index(name) for name in present], dtype=np.int8)[chosen]
    return combined, codes


def _category_codes(tis: np.ndarray, population: str) -> pd.Categorical[str]:
    thresholds = np.asarray(CATEGORY_THRESHOLDS[population])
    codes = np.searchsorted(thresholds, np.nan_to_num(tis, nan=-1.0), side="right").astype(np.int8)
    codes[np.isnan(tis)] = -1
    return pd.Categorical.from_codes(codes, categories=pd.Index(CATEGORIES))


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
