"""The column vocabulary of the kit's visit table: identifiers, the numeric columns it reads, the
tokens that mean "not measured" and the VAS units. The reader, the mapping and validation share it,
so it sits below all three.
"""

from __future__ import annotations

from ivig_kit.instruments.items import ITEM_COLUMN_NAMES
from ivig_kit.score.core_set_instruments import INSTRUMENTS, RANGE_COLUMNS
from ivig_kit.score.measures import ENZYME_ULN, ENZYMES

ID_COLUMNS = ("site", "patient_id")
VAS_COLUMNS = ("physician_global", "patient_global", "extramuscular")
#: Every numeric column the kit reads (the rest pass through as found).
NUMERIC_COLUMNS = ("week", *VAS_COLUMNS, "haq", "mmt", "mmt_max", *ENZYMES, *ENZYME_ULN.values())
#: The alternative instruments' value columns (JDM: CMAS, CHAQ, parent global, CHQ PhS, DAS) and the
#: columns that give a range where none could be sourced (``chq_phs_min``, ``chq_phs_max``).
INSTRUMENT_COLUMNS = tuple(
    dict.fromkeys(
        [i.column for i in INSTRUMENTS.values() if i.column and i.column not in NUMERIC_COLUMNS]
        + [c for c in RANGE_COLUMNS if c not in NUMERIC_COLUMNS]
    )
)
NUMERIC_COLUMNS = (*NUMERIC_COLUMNS, *INSTRUMENT_COLUMNS)
#: The canonical item columns of the case report form (MMT grades, HAQ/CHAQ answers, CMAS items, MYOACT VAS):
#: read as numbers and mappable like the totals; turned into totals by :mod:`ivig_kit.score.core_set`.
ITEM_COLUMNS = ITEM_COLUMN_NAMES
NUMERIC_COLUMNS = (*NUMERIC_COLUMNS, *ITEM_COLUMNS)
KIT_COLUMNS = (*ID_COLUMNS, *NUMERIC_COLUMNS)
#: Cell texts that mean "not measured" (any letter case).
MISSING_TOKENS = ("", "na", "nan", "null", "none", "n/a")
#: Units a mapping or ``--vas-unit`` may give, as factors to the kit's unit.
VAS_UNITS = {"cm": 1.0, "mm": 0.1}
