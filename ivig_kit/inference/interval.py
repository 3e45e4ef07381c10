"""The shape every interval function of the kit returns: a (low, high) pair with names.

A NamedTuple, so ``low, high = clopper_pearson_interval(8, 19)`` keeps working and the limits can
also be read by name (``interval.low``) or as a width.
"""

from __future__ import annotations

from typing import NamedTuple


class Interval(NamedTuple):
    """A two-sided interval; the scale (fraction, percent, difference) is the returning function's.

    Attributes
    ----------
    low, high : float
        The lower and upper limits, ``low <= high``.
    """

    low: float
    high: float

    @property
    def width(self) -> float:
        """Total width, high - low."""
        return self.high - self.low

    def scaled(self, factor: float) -> Interval:
        """Both limits times ``factor`` (100 for percent)."""
        return Interval(factor * self.low, factor * self.high)
