"""Items -> core set totals: MMT (MMT-8 one or both sides, Total MMT), HAQ-DI / HAQ-ADI / CHAQ, CMAS and
MYOACT, each returning the totals and the rule that made them. Every item fact lives in :mod:`.items`
(plain Python, no numpy: the command line reads its option choices from there).

This subpackage sits below :mod:`ivig_kit.score`: it needs numpy and pandas only, never the TIS engine.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "cmas": ["cmas_total", "timed_item_score"],
        "haq": ["childhood_disability_index", "disability_index"],
        "mmt8": ["mmt_total"],
        "myoact": ["myoact_score"],
        "result": ["InstrumentScore"],
    },
)
