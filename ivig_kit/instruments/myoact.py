"""MYOACT: the MDAAT's physician VAS per organ system, summed and rescaled over the systems assessed.

A proposed MYOACT score sums the six 10-cm VAS (0-60); a system not assessed is dropped and the sum
rescaled to the maximum possible from those assessed, here expressed on 0-60: ``sum x 6 / assessed``.
MYOACT is **not** a TIS core set measure: the TIS's extramuscular measure is the physician's single
extramuscular global activity VAS of the MDAAT (the ``extramuscular`` column), which stays as given.
"""

from __future__ import annotations

import numpy as np

from ivig_kit.instruments.items import MYOACT_MAX, MYOACT_SYSTEMS, myoact_column
from ivig_kit.instruments.result import (
    InstrumentScore,
    column_values,
    labelled,
    row_count,
)

MYOACT_RULE = (
    "MYOACT 0-60: sum of the organ-system VAS assessed x 6 / systems assessed "
    "(not the TIS extramuscular measure, which is the extramuscular global VAS)"
)


def myoact_score(items) -> InstrumentScore:
    """MYOACT per visit, 0-60, NaN when no system was assessed.

    Examples
    --------
    >>> import numpy as np
    >>> float(myoact_score({"myoact_cutaneous": np.array([3.0]), "myoact_skeletal": np.array([1.0])}).values[0])
    12.0
    """
    n = row_count(items)
    vas = np.column_stack([column_values(items, myoact_column(s), n) for s in MYOACT_SYSTEMS])
    assessed = (~np.isnan(vas)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(assessed > 0, np.round(np.nansum(vas, axis=1) * len(MYOACT_SYSTEMS) / assessed, 6), np.nan)
    return InstrumentScore("myoact", values, np.full(n, MYOACT_MAX), labelled(MYOACT_RULE, assessed > 0), assessed)
