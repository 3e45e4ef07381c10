"""What would it take? The smallest further improvement of one CSM that lifts a teaching patient's
total into the next category, searched on the values the instrument can record and confirmed by the
engine (:func:`ivig_kit.teaching.patients.score_patient`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ivig_kit.score.core_set_instruments import INSTRUMENTS, Instrument
from ivig_kit.score.engine import score_measure
from ivig_kit.score.measures import CATEGORIES, CATEGORY_THRESHOLDS, CORE_SET, MICRO, EnzymeNormalisation, to_micro
from ivig_kit.teaching.patients import PatientVisits, as_enzyme_normalisation, scale_ranges, score_patient
from ivig_kit.teaching.plain_numbers import plain_number


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
    instrument: str = ""  # the instrument in the measure's row (default: the adult one)

    @property
    def message(self) -> str:
        """The answer in one sentence, as the calculator shows it."""
        spec = INSTRUMENTS[self.instrument or CORE_SET[self.measure].instruments[0]]
        label = spec.label
        unit = f" {spec.unit}" if spec.unit else ""
        if self.target_category is None:
            return f"TIS {self.current_tis:g} is already {self.current_category}: there is no higher category."
        if not self.reachable:
            return (
                f"{label} alone cannot lift TIS {self.current_tis:g} to {self.target_category} "
                f"(>= {self.threshold:g}): {self.reason}"
            )
        direction = "raise" if spec.improves_by == "increase" else "lower"
        return (
            f"To reach {self.target_category} (TIS >= {self.threshold:g}), {direction} {label} at follow-up "
            f"by a further {plain_number(self.further_improvement)}{unit}, from "
            f"{plain_number(self.current_followup)} to {plain_number(self.needed_followup)}{unit}: "
            f"the TIS becomes {self.new_tis:g}."
        )


def what_would_it_take(
    patient: PatientVisits,
    measure: str,
    population: str = "adult",
    enzyme_normalisation: EnzymeNormalisation | str = "relative",
    resolution: float | None = None,
) -> NextCategoryAnswer:
    """The smallest further improvement in ``measure`` that moves the TIS into the next category.

    Candidates are the values the instrument can record (multiples of ``resolution``, by
    default the instrument's resolution) strictly better than the current follow-up, up to the
    instrument's limit; the other five CSMs stay as they are. Each candidate is scored by the
    engine and the first that reaches the threshold is re-scored as a whole patient.
    """
    normalisation = as_enzyme_normalisation(enzyme_normalisation)
    current = score_patient(patient, population, normalisation)
    thresholds = CATEGORY_THRESHOLDS[population]
    followup = float(patient.followup[measure])
    higher = [t for t in thresholds if t > current.tis]
    instrument = patient.instrument(measure)
    common = dict(
        measure=measure,
        current_category=current.category,
        current_tis=current.tis,
        current_followup=followup,
        instrument=instrument.name,
    )
    if not higher:
        return NextCategoryAnswer(target_category=None, threshold=None, reachable=False, **common)
    threshold = higher[0]
    target = CATEGORIES[thresholds.index(threshold) + 1]
    candidates = _better_recordable_values(
        instrument, followup, patient.limits(measure), instrument.resolution if resolution is None else resolution
    )
    if len(candidates) == 0:
        return NextCategoryAnswer(
            target_category=target,
            threshold=threshold,
            reachable=False,
            reason="the follow-up value is already at the instrument's limit.",
            **common,
        )
    scale_range = scale_ranges(patient, normalisation)[measure]
    # the row's bands, in the instrument's direction (a rising CHQ PhS in the falling enzyme row: negate both)
    sign = -1.0 if instrument.improves_by != CORE_SET[measure].improves_by else 1.0
    points = score_measure(
        measure,
        np.full(len(candidates), sign * patient.baseline[measure]),
        sign * candidates,
        np.full(len(candidates), scale_range),
    ).points
    others = current.tis - float(current.breakdown.loc[measure, "points"])
    reaches = others + points >= threshold
    if not reaches.any():
        limit = "ceiling" if instrument.improves_by == "increase" else "floor"
        why = (
            f"its baseline is at the instrument's {limit}"
            if current.breakdown.loc[measure, "at_limit"]
            else f"even its best value gives {points.max():g} points, a TIS of {others + points.max():g}"
        )
        return NextCategoryAnswer(
            target_category=target, threshold=threshold, reachable=False, reason=why + ".", **common
        )
    needed = float(candidates[np.argmax(reaches)])
    confirmed = score_patient(patient.with_followup(measure, needed), population, normalisation)
    if confirmed.category != target:  # the per-measure search and the whole-patient score must agree
        raise RuntimeError(f"search found {needed} for {measure} but the patient scores {confirmed.category}")
    further = abs(int(to_micro(needed)) - int(to_micro(followup))) / MICRO
    return NextCategoryAnswer(
        target_category=target,
        threshold=threshold,
        reachable=True,
        needed_followup=needed,
        further_improvement=further,
        new_tis=confirmed.tis,
        **common,
    )


def _better_recordable_values(
    instrument: Instrument, followup: float, limits: tuple[float, float], resolution: float
) -> np.ndarray:
    """Multiples of ``resolution`` strictly better than ``followup``, nearest first, up to the limit.

    The limit is the instrument's floor for those that improve by falling and its ceiling
    (``mmt_max`` for MMT, 52 for CMAS, ...) for those that improve by rising, included even when it
    is not a multiple of the resolution. Exact in micro-units.
    """
    step, start = int(to_micro(resolution)), int(to_micro(followup))
    if instrument.improves_by == "decrease":
        floor = int(to_micro(limits[0]))
        values = np.arange((start - 1) // step, floor // step - 1, -1, dtype=np.int64) * step
        values = values[values >= floor]
    else:
        limit = int(to_micro(limits[1]))
        values = np.arange(start // step + 1, limit // step + 1, dtype=np.int64) * step
        if limit % step and start < limit:
            values = np.append(values, limit)
    return values / MICRO


def what_would_it_take_table(
    patient: PatientVisits, population: str = "adult", enzyme_normalisation: EnzymeNormalisation | str = "relative"
) -> pd.DataFrame:
    """The "what would it take" answer for every CSM, one row each."""
    answers = [what_would_it_take(patient, m, population, enzyme_normalisation) for m in CORE_SET]
    return pd.DataFrame(
        [
            {
                "measure": a.measure,
                "target": a.target_category,
                "reachable alone": a.reachable,
                "current follow-up": a.current_followup,
                "needed follow-up": a.needed_followup,
                "further improvement": a.further_improvement,
                "new TIS": a.new_tis,
            }
            for a in answers
        ]
    ).set_index("measure")
