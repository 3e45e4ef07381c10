"""The instruments that may stand in each row (core set measure) of the scoring table, and the core sets.

The adult IMACS core set has one instrument per row; the IMACS and PRINTO juvenile core sets put
CMAS, CHAQ, the parent's global, CHQ PhS or DAS in some rows (Rider et al. 2017). Each
:class:`Instrument` carries its range, direction and resolution with the source that fixes them;
the rows themselves live in :mod:`ivig_kit.score.measures`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivig_kit.errors import InputError
from ivig_kit.score.measures import CORE_SET, Direction


@dataclass(frozen=True)
class Instrument:
    """One instrument that can fill a row (a CSM) of the scoring table, with its sourced facts.

    ``column`` is the visit-table column holding its value (``None`` for the muscle enzyme, which
    comes from the enzyme columns). The range is ``scale_max - scale_min`` when both are known;
    where no fixed range could be sourced, ``range_columns`` names the columns that must give it
    on every visit (``mmt_max``; ``chq_phs_min`` and ``chq_phs_max``).
    """

    name: str
    measure: str  # the CSM (row of the scoring table) it stands in
    label: str
    improves_by: Direction
    scale_min: float | None
    scale_max: float | None
    resolution: float
    unit: str
    source: str
    column: str | None = None
    range_columns: tuple[str, ...] = ()
    #: which core sets use it: "adult" (IMACS), "imacs_jdm", "printo_jdm"
    core_sets: tuple[str, ...] = ()
    #: a short name for narrow tables
    short: str = ""

    @property
    def fixed_range(self) -> float | None:
        """``scale_max - scale_min`` when both are sourced; ``None`` when the range is an input."""
        if self.scale_min is None or self.scale_max is None:
            return None
        return self.scale_max - self.scale_min


_CRITERIA = "Aggarwal et al. 2017 (adult), Rider et al. 2017 (JDM); shared/reference/tis.md"
_JR_TABLE = (
    "J Rheumatol, Table 1 of a JDM cohort (jrheum.org, 20 patients): 'Patient's/parent's global "
    "activity score, 0-10 cm VAS', 'HAQ or CHAQ, 0-3', 'CMAS, 0-52', 'Disease Activity Score Total, 0-20'"
)

INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument(
            "physician_global",
            "physician_global",
            "Physician global activity (VAS 0-10 cm)",
            "decrease",
            0.0,
            10.0,
            0.1,
            "cm",
            _CRITERIA,
            "physician_global",
            (),
            ("adult", "imacs_jdm", "printo_jdm"),
            short="Physician global",
        ),
        Instrument(
            "patient_global",
            "patient_global",
            "Patient global activity (VAS 0-10 cm)",
            "decrease",
            0.0,
            10.0,
            0.1,
            "cm",
            _CRITERIA,
            "patient_global",
            (),
            ("adult",),
            short="Patient global",
        ),
        Instrument(
            "parent_global",
            "patient_global",
            "Parent global activity (VAS 0-10 cm)",
            "decrease",
            0.0,
            10.0,
            0.1,
            "cm",
            f"{_CRITERIA}; {_JR_TABLE}",
            "parent_global",
            (),
            ("imacs_jdm", "printo_jdm"),
            short="Parent global",
        ),
        Instrument(
            "mmt",
            "mmt",
            "Manual muscle testing (MMT)",
            "increase",
            0.0,
            None,
            1.0,
            "",
            "range is the scale's maximum, an explicit input (tis.md: MMT-8 0-80 or 0-150, ...)",
            "mmt",
            ("mmt_max",),
            ("adult", "imacs_jdm", "printo_jdm"),
            short="MMT",
        ),
        Instrument(
            "cmas",
            "mmt",
            "Childhood Myositis Assessment Scale (CMAS 0-52)",
            "increase",
            0.0,
            52.0,
            1.0,
            "",
            "Huber et al., Arthritis Rheum 2004 (doi:10.1002/art.20179): '0-52-point scale', higher is "
            f"better (52 = normal strength, function and endurance); {_JR_TABLE}",
            "cmas",
            (),
            ("imacs_jdm", "printo_jdm"),
            short="CMAS",
        ),
        Instrument(
            "haq",
            "haq",
            "Health Assessment Questionnaire (HAQ 0-3)",
            "decrease",
            0.0,
            3.0,
            0.125,
            "",
            _CRITERIA,
            "haq",
            (),
            ("adult",),
            short="HAQ",
        ),
        Instrument(
            "chaq",
            "haq",
            "Childhood Health Assessment Questionnaire (CHAQ 0-3)",
            "decrease",
            0.0,
            3.0,
            0.125,
            "",
            f"{_JR_TABLE}; Huber et al. 2004: CHAQ falls as CMAS rises (rs = -0.73)",
            "chaq",
            (),
            ("imacs_jdm", "printo_jdm"),
            short="CHAQ",
        ),
        Instrument(
            "enzyme",
            "enzyme",
            "Most abnormal muscle enzyme",
            "decrease",
            0.0,
            None,
            1.0,
            "U/l",
            "most abnormal at baseline (x ULN) is the kit's reading; normalisation unsettled (EnzymeNormalisation)",
            None,
            (),
            ("adult", "imacs_jdm"),
            short="Muscle enzyme",
        ),
        Instrument(
            "chq_phs",
            "enzyme",
            "Child Health Questionnaire physical summary score (CHQ PhS)",
            "increase",
            None,
            None,
            0.1,
            "",
            "norm-based summary (50 = mean of a US reference population, higher = better physical health; "
            "observed -8.6 to 67.2 in a Dutch population sample, Raat et al., Qual Life Res 2013, PMC3636439 "
            "Table 1): no fixed range could be sourced, so chq_phs_min and chq_phs_max are explicit inputs",
            "chq_phs",
            ("chq_phs_min", "chq_phs_max"),
            ("printo_jdm",),
            short="CHQ PhS",
        ),
        Instrument(
            "extramuscular",
            "extramuscular",
            "Extramuscular activity (MDAAT VAS 0-10 cm)",
            "decrease",
            0.0,
            10.0,
            0.1,
            "cm",
            _CRITERIA,
            "extramuscular",
            (),
            ("adult", "imacs_jdm"),
            short="Extramuscular (MDAAT)",
        ),
        Instrument(
            "das",
            "extramuscular",
            "JDM Disease Activity Score (DAS 0-20)",
            "decrease",
            0.0,
            20.0,
            1.0,
            "",
            f"{_JR_TABLE}; Bode et al., Arthritis Rheum (Arthritis Care Res) 2003;49:7-15 (higher = more active)",
            "das",
            (),
            ("printo_jdm",),
            short="DAS",
        ),
    )
}

#: The instruments of each core set, by CSM. The criteria allow MMT or CMAS in both JDM sets.
CORE_SETS: dict[str, dict[str, str]] = {
    "adult": {m: m for m in CORE_SET},
    "imacs_jdm": {
        "physician_global": "physician_global",
        "patient_global": "parent_global",
        "mmt": "cmas",
        "haq": "chaq",
        "enzyme": "enzyme",
        "extramuscular": "extramuscular",
    },
    "printo_jdm": {
        "physician_global": "physician_global",
        "patient_global": "parent_global",
        "mmt": "cmas",
        "haq": "chaq",
        "enzyme": "chq_phs",
        "extramuscular": "das",
    },
}
#: Columns that give a range no source fixes.
RANGE_COLUMNS = tuple(c for i in INSTRUMENTS.values() for c in i.range_columns)


def instrument_for(measure: str, name: str) -> Instrument:
    """The instrument ``name`` standing in the row of ``measure``; an InputError if it cannot."""
    if name not in CORE_SET[measure].instruments:
        raise InputError(f"{name!r} cannot stand for {measure!r}; choose one of {CORE_SET[measure].instruments}")
    return INSTRUMENTS[name]
