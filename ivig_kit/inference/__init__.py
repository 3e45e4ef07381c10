"""Statistics named for what they return: one proportion (:mod:`.proportions`), two arms
(:mod:`.two_arm`), exact unconditional intervals (:mod:`.exact`), how many outcomes a two-arm result
hinges on (:mod:`.fragility`), paired changes (:mod:`.paired`) and printed numbers read back
(:mod:`.printed`). Every interval comes back as an :class:`~.interval.Interval` (low, high)."""
