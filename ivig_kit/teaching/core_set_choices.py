"""What the calculator offers: the core sets (each with its thresholds and synthetic starting patient),
the strength instruments and the enzyme options."""

from __future__ import annotations

from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.measures import MMT_SCALES
from ivig_kit.teaching.patients import CMAS_PATIENT, PRINTO_PATIENT, RESPONDER

#: The core sets the calculator offers: label, key of :data:`~ivig_kit.score.core_set_instruments.CORE_SETS`.
CORE_SET_CHOICES = [
    ("adult DM/PM (IMACS core set)", "adult"),
    ("juvenile DM: IMACS core set (CMAS, CHAQ, parent global)", "imacs_jdm"),
    ("juvenile DM: PRINTO core set (CMAS, CHAQ, parent global, CHQ PhS, DAS)", "printo_jdm"),
]
#: Which category thresholds each core set is judged by.
POPULATION_OF = {"adult": "adult", "imacs_jdm": "juvenile", "printo_jdm": "juvenile"}
#: The synthetic patient each core set starts on (and a reset returns to).
STARTING_PATIENTS = {"adult": RESPONDER, "imacs_jdm": CMAS_PATIENT, "printo_jdm": PRINTO_PATIENT}
#: Strength instruments: MMT on its scales, or CMAS (0-52).
STRENGTH_CHOICES = [(label, f"mmt:{maximum:g}") for label, maximum in MMT_SCALES.items()] + [
    (INSTRUMENTS["cmas"].label, "cmas")
]
NORMALISATIONS = [("relative to the baseline value", "relative"), ("range-normalised: of k x ULN", "uln_range")]
