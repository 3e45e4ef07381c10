"""Statistics named for what they return: one proportion (:mod:`.proportions`), two arms
(:mod:`.two_arm`), the posterior of a risk difference (:mod:`.posterior`), exact unconditional
intervals (:mod:`.exact`), how many outcomes a two-arm result hinges on (:mod:`.fragility`), paired
changes (:mod:`.paired`), printed numbers read back (:mod:`.printed`), the CMH p of every two-stratum
split (:mod:`.stratified_splits`) and funnel-plot limits (:mod:`.funnel`). Every interval comes back
as an :class:`~.interval.Interval` (low, high).

``funnel_limits`` and ``overdispersion`` are found by name here (``ivig_kit.inference.funnel_limits``),
imported on first use.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "funnel": ["FunnelLimits", "Overdispersion", "funnel_flag", "funnel_limits", "overdispersion"],
    },
)
