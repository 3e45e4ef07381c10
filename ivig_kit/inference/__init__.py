"""Statistics named for what they return: one proportion (:mod:`.proportions`), two arms
(:mod:`.two_arm`), paired changes (:mod:`.paired`) and printed numbers read back (:mod:`.printed`)."""
