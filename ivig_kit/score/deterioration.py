"""Confirmed deterioration (ProDERM definition) on the engine's baseline/follow-up pairs.

The engine pairs each follow-up with its baseline; this module says whether a follow-up meets
the worsening definition and whether it is confirmed at two consecutive visits. ``pairs`` are
the engine's per-CSM pairs in micro-units (``improvement(name)``, ``baseline``, ``missing``,
``scale_range``).

The source (ProDERM safety paper, Fig. 1 legend; ``tis.md``) says "worsening by >= 20%" and
">= 30%" without saying of what, and does not say whether both visits must meet the same
criterion. Both are therefore explicit, recorded options; the defaults are *the kit's
readings*, not ProDERM's printed rule:

- :class:`DeteriorationReading`: ``range`` (percent of the scale's range, as the TIS measures
  change; the kit's reading) or ``baseline`` (percent of the baseline value, as worsening
  criteria of this family are usually applied). With a low baseline they disagree completely:
  physician global 2 -> 3 cm is 50% worse relative to baseline but 10% of the range.
- :class:`DeteriorationConfirmation`: ``any`` (any criterion at each of the two visits; the
  kit's reading) or ``same`` (the same criterion at both).

Unknown stays unknown: a criterion that a missing measure could decide either way is unknown
(pandas ``<NA>``), and the confirmation and the composite endpoint propagate it (Kleene logic:
unknown and false is false, unknown or true is true).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

import numpy as np
import pandas as pd

from ivig_kit.errors import InputError
from ivig_kit.score.measures import to_micro

#: Worsening thresholds of the ProDERM confirmed-deterioration definition.
DETERIORATION_VAS_CM = 2.0
DETERIORATION_MMT_PERCENT = 20
DETERIORATION_ANY_THREE_PERCENT = 30

#: The CSMs the "any three of five" criterion looks at (every CSM except the enzyme).
NON_ENZYME_CSMS = ("physician_global", "patient_global", "mmt", "haq", "extramuscular")


class DeteriorationReading(StrEnum):
    """What a percent worsening of the ProDERM definition is a percent of (not said by the source)."""

    #: percent of the instrument's range, like the TIS's change (the kit's reading, the default)
    RANGE = "range"
    #: percent of the baseline value (how worsening criteria of this family are usually applied)
    BASELINE = "baseline"

    def __str__(self) -> str:
        return self.value


class DeteriorationConfirmation(StrEnum):
    """Which criteria two consecutive visits must meet for a confirmed deterioration (not said by the source)."""

    #: any criterion at each visit, not necessarily the same one (the kit's reading, the default)
    ANY = "any"
    #: the same criterion at both visits
    SAME = "same"

    def __str__(self) -> str:
        return self.value


#: Labels for tables and the command line: which option is the kit's reading.
READING_LABELS = {
    DeteriorationReading.RANGE: "percent of the scale's range (the kit's reading, default)",
    DeteriorationReading.BASELINE: "percent of the baseline value",
}
CONFIRMATION_LABELS = {
    DeteriorationConfirmation.ANY: "any criterion at each visit (the kit's reading, default)",
    DeteriorationConfirmation.SAME: "the same criterion at both visits",
}


def as_reading(value: DeteriorationReading | str) -> DeteriorationReading:
    """The reading named by ``value``; an :class:`InputError` names the choices otherwise."""
    try:
        return DeteriorationReading(value)
    except ValueError:
        raise InputError(
            f"deterioration reading must be one of {', '.join(r.value for r in DeteriorationReading)}, not {value!r}"
        ) from None


def as_confirmation(value: DeteriorationConfirmation | str) -> DeteriorationConfirmation:
    """The confirmation rule named by ``value``; an :class:`InputError` names the choices otherwise."""
    try:
        return DeteriorationConfirmation(value)
    except ValueError:
        raise InputError(
            f"deterioration confirmation must be one of "
            f"{', '.join(c.value for c in DeteriorationConfirmation)}, not {value!r}"
        ) from None


class DeteriorationCriteria(NamedTuple):
    """Per follow-up visit, each ProDERM criterion as a nullable boolean (``<NA>``: a missing measure decides it).

    Attributes
    ----------
    physician_and_mmt
        Physician global worse by >= 2 cm and MMT worse by >= 20%.
    extramuscular
        Extramuscular activity (MDAAT VAS) worse by >= 2 cm.
    any_three
        At least three of the five non-enzyme CSMs worse by >= 30%.
    """

    physician_and_mmt: pd.arrays.BooleanArray
    extramuscular: pd.arrays.BooleanArray
    any_three: pd.arrays.BooleanArray

    @property
    def met(self) -> pd.arrays.BooleanArray:
        """Any criterion met (Kleene or: true if one is true, unknown if none is true and one is unknown)."""
        return self.physician_and_mmt | self.extramuscular | self.any_three  # type: ignore[operator]  # Kleene or (pandas-stubs lacks it)


def _nullable(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~np.asarray(known, dtype=bool))


def _worse_by_percent(pair, name: str, percent: float, reading: DeteriorationReading) -> np.ndarray:
    """Worse by >= ``percent`` of the range or of the baseline value, compared exactly in micro-units."""
    worsening = -pair.improvement(name)
    base = pair.scale_range if reading is DeteriorationReading.RANGE else np.abs(pair.baseline)
    return (worsening > 0) & (worsening * 100 >= base * percent)


def deterioration_criteria(
    pairs: dict, instrument_codes: dict | None = None, reading: DeteriorationReading | str = DeteriorationReading.RANGE
) -> DeteriorationCriteria:
    """Per follow-up visit: each criterion of the ProDERM worsening definition against baseline.

    Physician global worse by >= 2 cm and MMT worse by >= 20%, or extramuscular activity worse by
    >= 2 cm, or any three of the five non-enzyme CSMs worse by >= 30%; the percents are of the
    scale's range or of the baseline value (``reading``). A missing CSM leaves a criterion unknown
    unless the known measures settle it. Exact like the TIS. With the JDM instruments the percents
    are of their own ranges or baselines (CMAS for MMT), and the 2 cm extramuscular criterion
    applies only where the MDAAT VAS is the instrument (not the DAS): an extension of ours, the
    ProDERM definition is for adults.
    """
    reading = as_reading(reading)
    known = {name: ~np.asarray(pairs[name].missing, dtype=bool) for name in NON_ENZYME_CSMS}
    two_cm = to_micro(DETERIORATION_VAS_CM)
    physician = _nullable(
        -pairs["physician_global"].improvement("physician_global") >= two_cm, known["physician_global"]
    )
    mmt = _nullable(_worse_by_percent(pairs["mmt"], "mmt", DETERIORATION_MMT_PERCENT, reading), known["mmt"])
    extramuscular_worse = -pairs["extramuscular"].improvement("extramuscular") >= two_cm
    if instrument_codes is not None:  # the DAS stands in: the 2 cm criterion does not apply (false, known)
        not_vas = np.asarray(instrument_codes["extramuscular"]) != 0
        extramuscular = _nullable(extramuscular_worse & ~not_vas, known["extramuscular"] | not_vas)
    else:
        extramuscular = _nullable(extramuscular_worse, known["extramuscular"])
    worse = [
        known[name] & _worse_by_percent(pairs[name], name, DETERIORATION_ANY_THREE_PERCENT, reading)
        for name in NON_ENZYME_CSMS
    ]
    n_worse = sum(w.astype(np.int8) for w in worse)
    n_unknown = sum((~known[name]).astype(np.int8) for name in NON_ENZYME_CSMS)
    any_three_known = (n_worse >= 3) | (n_worse + n_unknown < 3)
    any_three = _nullable(n_worse >= 3, any_three_known)
    return DeteriorationCriteria(physician & mmt, extramuscular, any_three)


def _with_previous(values: pd.arrays.BooleanArray, same_patient_as_previous: np.ndarray) -> pd.arrays.BooleanArray:
    """``values`` and the same at the patient's previous follow-up (false at a patient's first follow-up)."""
    previous = pd.array(np.zeros(len(values), dtype=bool), dtype="boolean")
    if len(values) > 1:
        previous[1:] = values[:-1]
    previous[~np.asarray(same_patient_as_previous, dtype=bool)] = False
    return values & previous


def confirm_deterioration(
    criteria: DeteriorationCriteria,
    same_patient_as_previous: np.ndarray,
    confirmation: DeteriorationConfirmation | str = DeteriorationConfirmation.ANY,
) -> pd.arrays.BooleanArray:
    """Confirmed at a follow-up when the criteria are met there and at the patient's previous follow-up.

    ``any`` (the kit's reading): any criterion at each visit; ``same``: one criterion at both.
    Unknown propagates: met then unknown is unknown, unknown then not met is not confirmed.
    """
    if as_confirmation(confirmation) is DeteriorationConfirmation.ANY:
        return _with_previous(criteria.met, same_patient_as_previous)
    confirmed = pd.array(np.zeros(len(criteria.met), dtype=bool), dtype="boolean")
    for criterion in criteria:
        confirmed = confirmed | _with_previous(criterion, same_patient_as_previous)  # type: ignore[operator]  # Kleene or
    return confirmed


def composite_response(scores: pd.DataFrame, week: float, threshold: float = 20.0) -> pd.DataFrame:
    """ProDERM-style composite per patient: TIS >= ``threshold`` at ``week`` and no confirmed deterioration up to it.

    ``scores`` is the output of ``total_improvement_score``. A patient is a responder (true), a
    non-responder (false: TIS below the threshold, no visit at ``week``, or a confirmed
    deterioration up to ``week``), or unknown (``<NA>``: the TIS at ``week`` is unknown, or no
    deterioration is confirmed but one could be, because a missing measure left a confirmation
    unknown). Unknown is never counted as a responder.

    Returns
    -------
    pandas.DataFrame
        One row per patient: ``site, patient_id, tis, confirmed_deterioration, responder``.
    """
    key = ["site", "patient_id"]
    up_to = scores[scores["week"] <= week]
    confirmed = up_to.groupby(key, sort=False)["confirmed_deterioration"].agg(_any_kleene)
    at_week = scores[scores["week"] == week].set_index(key)["tis"]
    patients = scores[key].drop_duplicates().set_index(key)
    patients["tis"] = at_week.reindex(patients.index)
    patients["confirmed_deterioration"] = confirmed.reindex(patients.index).astype("boolean")
    reached = pd.array(np.asarray(patients["tis"] >= threshold), dtype="boolean")
    reached[np.asarray(patients["tis"].isna()) & np.asarray(patients.index.isin(at_week.index))] = pd.NA
    patients["responder"] = reached & ~patients["confirmed_deterioration"].array
    return patients.reset_index()


def _any_kleene(values: pd.Series) -> bool | object:
    """True if any is true, else unknown (``pd.NA``) if any is unknown, else false."""
    return pd.array(values.to_numpy(dtype=object), dtype="boolean").any(skipna=False)
