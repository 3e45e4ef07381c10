"""Confirmed deterioration (ProDERM definition) on the engine's baseline/follow-up pairs.

Moved out of :mod:`ivig_kit.score.engine`: the engine pairs each follow-up with its baseline,
this module says whether a follow-up meets the worsening definition and whether it is confirmed.
``pairs`` are the engine's per-CSM pairs in micro-units (``improvement(name)``, ``missing``,
``scale_range``).
"""

from __future__ import annotations

import numpy as np

from ivig_kit.score.measures import to_micro

#: Worsening thresholds of the ProDERM confirmed-deterioration definition.
DETERIORATION_VAS_CM = 2.0
DETERIORATION_MMT_PERCENT = 20
DETERIORATION_ANY_THREE_PERCENT = 30


def deterioration_criteria(pairs: dict, instrument_codes: dict | None = None) -> np.ndarray:
    """Per follow-up visit: does it meet the ProDERM worsening definition against baseline?

    Physician global worse by >= 2 cm and MMT worse by >= 20% (of the scale's range), or
    extramuscular activity worse by >= 2 cm, or any three of the five non-enzyme CSMs worse
    by >= 30% (of range). A CSM that is missing cannot meet a criterion. Exact like the TIS.
    With the JDM instruments the percents are of their ranges too (CMAS for MMT), and the 2 cm
    extramuscular criterion applies only where the MDAAT VAS is the instrument (not the DAS):
    an extension of ours, the ProDERM definition is for adults.
    """
    worsening = {name: -pairs[name].improvement(name)
                 for name in ("physician_global", "patient_global", "mmt", "haq", "extramuscular")}
    known = {name: ~pairs[name].missing for name in worsening}
    if instrument_codes is not None:
        known_vas = known["extramuscular"] & (instrument_codes["extramuscular"] == 0)
    else:
        known_vas = known["extramuscular"]
    worse_by_30 = sum((known[name] & (worse * 100 >= pairs[name].scale_range * DETERIORATION_ANY_THREE_PERCENT))
                      .astype(np.int8) for name, worse in worsening.items())
    two_cm = to_micro(DETERIORATION_VAS_CM)
    physician_and_mmt = (known["physician_global"] & (worsening["physician_global"] >= two_cm)
                         & known["mmt"]
                         & (worsening["mmt"] * 100 >= pairs["mmt"].scale_range * DETERIORATION_MMT_PERCENT))
    extramuscular_worse = known_vas & (worsening["extramuscular"] >= two_cm)
    return physician_and_mmt | extramuscular_worse | (worse_by_30 >= 3)


def confirm_deterioration(criteria: np.ndarray, same_patient_as_previous: np.ndarray) -> np.ndarray:
    """Confirmed at a follow-up when the criteria are met there and at the patient's previous follow-up."""
    previous = np.concatenate([[False], criteria[:-1]])
    return criteria & previous & same_patient_as_previous
