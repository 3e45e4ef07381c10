"""Notebook 04, planning the follow-on trial with the kit's own engine: :mod:`.simulation` (simulated
trials scored by the engine), :mod:`.planning` (closed-form and simulated power, assurance),
:mod:`.figures` and :mod:`.exercises`."""
