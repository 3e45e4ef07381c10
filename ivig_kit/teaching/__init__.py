"""Teaching the TIS: patients and their scores (:mod:`.patients`), lessons as tables
(:mod:`.lessons`), exercises (:mod:`.exercises`), the calculator widget (:mod:`.calculator`) and
figures (:mod:`.figures`). Every patient here is synthetic."""
