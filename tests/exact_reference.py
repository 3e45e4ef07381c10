"""A row-by-row TIS scorer in exact rational arithmetic, written from tis.md's table.

It shares no code with ``ivig_kit.score`` on purpose: the property tests compare the
vectorised engine against it.
"""

from fractions import Fraction

BANDS = {  # measure: (edges, points)
    "physician_global": ((5, 15, 25, 40), ("0", "7.5", "15", "17.5", "20")),
    "patient_global": ((5, 15, 25, 40), ("0", "2.5", "5", "7.5", "10")),
    "mmt": ((2, 10, 20, 30), ("0", "10", "20", "27.5", "32.5")),
    "haq": ((5, 15, 25, 40), ("0", "5", "7.5", "7.5", "10")),
    "enzyme": ((5, 15, 25, 40), ("0", "2.5", "5", "7.5", "7.5")),
    "extramuscular": ((5, 15, 25, 40), ("0", "7.5", "12.5", "15", "20")),
}
INCREASING = {"mmt"}
#: The JDM instruments, by hand from tis.md and data/README.md: the row they stand in and whether
#: they improve by rising.
JDM_INSTRUMENTS = {  # instrument: (row, increases)
    "parent_global": ("patient_global", False),
    "cmas": ("mmt", True),
    "chaq": ("haq", False),
    "chq_phs": ("enzyme", True),
    "das": ("extramuscular", False),
}


def exact(value) -> Fraction:
    """The decimal a person typed: ``repr`` of a float is its shortest round-trip decimal."""
    return Fraction(repr(float(value)))


def exact_percent(measure, baseline, followup, scale_range, increasing=None) -> Fraction:
    """Absolute percent improvement; ``increasing`` overrides the row's direction (for an instrument)."""
    rises = measure in INCREASING if increasing is None else increasing
    change = exact(followup) - exact(baseline) if rises else exact(baseline) - exact(followup)
    return change * 100 / exact(scale_range)


def exact_points(measure, percent: Fraction) -> Fraction:
    edges, points = BANDS[measure]
    band = sum(1 for edge in edges if percent > edge)
    return Fraction(points[band])


def exact_tis(baseline: dict, followup: dict, ranges: dict) -> Fraction:
    return sum(exact_points(m, exact_percent(m, baseline[m], followup[m], ranges[m])) for m in BANDS)


def exact_instrument_points(instrument, baseline, followup, scale_range) -> Fraction:
    """Points of a JDM instrument: its own direction, the band row it stands in."""
    row, increases = JDM_INSTRUMENTS[instrument]
    return exact_points(row, exact_percent(row, baseline, followup, scale_range, increases))
