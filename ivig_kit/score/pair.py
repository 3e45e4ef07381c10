"""Scoring one baseline/follow-up pair: the calculator's fast path, without a visit table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ivig_kit.errors import InputError
from ivig_kit.score.core_set_instruments import instrument_for
from ivig_kit.score.engine import (
    MicroPair,
    category,
    check_population,
    score_micro,
    total_improvement_score_of_points,
)
from ivig_kit.score.enzymes import enzyme_scale_range
from ivig_kit.score.measures import CORE_SET, EnzymeNormalisation, Population, to_micro


@dataclass(frozen=True)
class MeasureScore:
    """One CSM of one follow-up: what the engine computed, for display and teaching."""

    measure: str
    baseline: float
    follow_up: float
    change: float  # signed improvement in the instrument's units, positive = better
    scale_range: float  # what the change is divided by
    percent: float  # absolute percent improvement
    points: float
    at_limit: bool  # baseline at the floor/ceiling (or an unusable range): no improvement possible
    instrument: str = ""  # the instrument that stood in this row (see ``score.core_set_instruments.INSTRUMENTS``)


@dataclass(frozen=True)
class PairScore:
    """The score of one follow-up against its baseline."""

    measures: dict[str, MeasureScore]
    tis: float
    category: str | None
    population: str
    enzyme_normalisation: EnzymeNormalisation


def score_pair(
    baseline,
    follow_up,
    mmt_max: float,
    enzyme_uln: float,
    population: Population = "adult",
    enzyme_normalisation: EnzymeNormalisation | str = "relative",
    instruments=None,
    chq_phs_range: tuple[float, float] | None = None,
) -> PairScore:
    """Score one follow-up against its baseline without building or validating a visit table.

    The fast path for an interactive calculator: the same exact arithmetic as
    :func:`total_improvement_score`, for one patient whose enzyme has already been chosen.

    Parameters
    ----------
    baseline, follow_up : Mapping[str, float]
        Value of each of the six CSMs (keys of :data:`~ivig_kit.score.measures.CORE_SET`);
        ``enzyme`` is the followed enzyme in U/l. NaN marks a missing measurement.
    mmt_max : float
        Maximum of the MMT scale (80, 150, 260, ...): the MMT's range.
    enzyme_uln : float
        Upper limit of normal of the followed enzyme at baseline.
    population : {"adult", "juvenile"}
        Which category thresholds apply.
    enzyme_normalisation : EnzymeNormalisation or str
        How the enzyme's percent change is normalised.
    instruments : Mapping[str, str], optional
        Which instrument stands in a CSM's row (e.g. ``{"mmt": "cmas", "haq": "chaq"}``; see
        :data:`~ivig_kit.score.core_set_instruments.CORE_SETS`); the IMACS adult instrument where not given.
        ``mmt_max`` is then ignored for CMAS, and ``enzyme_uln`` for the CHQ physical summary.
    chq_phs_range : (float, float), optional
        Lowest and highest CHQ physical summary score of the scale used; required when ``chq_phs``
        stands for the enzyme (no fixed range could be sourced).

    Returns
    -------
    PairScore
        Per-measure change, range, percent, points and flags; the total (NaN when a CSM is
        missing) and its category.

    Examples
    --------
    >>> values = {
    ...     "physician_global": 6.0,
    ...     "patient_global": 7.0,
    ...     "mmt": 110,
    ...     "haq": 1.8,
    ...     "enzyme": 4200,
    ...     "extramuscular": 3.0,
    ... }
    >>> later = {
    ...     "physician_global": 4.2,
    ...     "patient_global": 5.5,
    ...     "mmt": 121,
    ...     "haq": 1.5,
    ...     "enzyme": 1800,
    ...     "extramuscular": 2.0,
    ... }
    >>> score_pair(values, later, mmt_max=150, enzyme_uln=200).tis
    47.5
    """
    check_population(population)
    if isinstance(enzyme_normalisation, str):
        enzyme_normalisation = EnzymeNormalisation(enzyme_normalisation)  # type: ignore[arg-type]  # checked there
    instruments = dict(instruments or {})
    measures = {}
    for name, spec in CORE_SET.items():
        instrument = instrument_for(name, instruments.get(name, spec.instruments[0]))
        low, high = instrument.scale_min, instrument.scale_max
        if instrument.name == "mmt":
            high = float(mmt_max)
        elif instrument.name == "chq_phs":
            if chq_phs_range is None:
                raise InputError("the CHQ physical summary score has no sourced range: give chq_phs_range=(min, max)")
            low, high = (float(v) for v in chq_phs_range)
            if not high > low:
                raise InputError(f"chq_phs_range must be (min, max) with max > min, not {chq_phs_range!r}")
        if instrument.name == "enzyme":
            scale_range = float(enzyme_scale_range(baseline[name], enzyme_uln, enzyme_normalisation))
        elif low is None or high is None:  # only the enzyme, the MMT and the CHQ PHS lack a fixed range
            raise InputError(f"{instrument.label} has no fixed range")
        else:
            scale_range = high - low
        increases = instrument.improves_by == "increase"
        pair_values = np.asarray([baseline[name]], dtype=float), np.asarray([follow_up[name]], dtype=float)
        missing = np.isnan(pair_values[0]) | np.isnan(pair_values[1]) | np.isnan([scale_range])
        score = score_micro(
            name,
            MicroPair(
                to_micro(pair_values[0]),
                to_micro(pair_values[1]),
                to_micro([scale_range]),
                missing,
                np.asarray([increases]),
                to_micro([high if increases else (low or 0.0)]),
            ),
        )
        measures[name] = MeasureScore(
            name,
            float(baseline[name]),
            float(follow_up[name]),
            float(score.change[0]),
            scale_range,
            float(score.percent[0]),
            float(score.points[0]),
            bool(score.at_limit[0]),
            instrument.name,
        )
    tis = float(total_improvement_score_of_points({m: s.points for m, s in measures.items()}))
    return PairScore(measures, tis, category(tis, population), population, enzyme_normalisation)
