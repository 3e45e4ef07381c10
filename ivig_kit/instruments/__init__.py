"""Items -> core set totals: MMT (MMT-8 one or both sides, Total MMT), HAQ-DI / HAQ-ADI / CHAQ, CMAS and
MYOACT, each returning the totals and the rule that made them. Every item fact lives in :mod:`.items`.

This subpackage sits below :mod:`ivig_kit.score`: it needs numpy and pandas only, never the TIS engine.
"""

from ivig_kit.instruments.cmas import cmas_total, timed_item_score
from ivig_kit.instruments.haq import childhood_disability_index, disability_index
from ivig_kit.instruments.mmt8 import mmt_total
from ivig_kit.instruments.myoact import myoact_score
from ivig_kit.instruments.result import InstrumentScore

__all__ = ["InstrumentScore", "childhood_disability_index", "cmas_total", "disability_index", "mmt_total",
           "myoact_score", "timed_item_score"]
