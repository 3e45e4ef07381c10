"""The one result shape of every instrument scorer: the totals and the rule that made them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class InstrumentScore:
    """Totals of one instrument over many visits, and how they were made.

    Attributes
    ----------
    instrument : str
        ``mmt``, ``haq``, ``chaq``, ``cmas`` or ``myoact``.
    values : numpy.ndarray
        One total per visit, NaN where the rule leaves it missing.
    maximum : numpy.ndarray
        The scale's maximum per visit (MMT: 80, 150 or 260 as chosen).
    rule : pandas.Categorical
        Per visit, the name of the rule that made the total (missing where nothing was given).
    answered : numpy.ndarray
        Per visit, how many parts (groups, categories, items, systems) were answered.
    """

    instrument: str
    values: np.ndarray
    maximum: np.ndarray
    rule: pd.Categorical[str]
    answered: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """``<instrument>``, ``<instrument>_max``, ``<instrument>_rule``, ``<instrument>_answered``."""
        name = self.instrument
        return pd.DataFrame(
            {
                name: self.values,
                f"{name}_max": self.maximum,
                f"{name}_rule": self.rule,
                f"{name}_answered": self.answered,
            }
        )


def column_values(items, column: str, n: int) -> np.ndarray:
    """A column of ``items`` (DataFrame or mapping) as floats; all NaN when the column is absent."""
    if column in items:
        return np.asarray(items[column], dtype=float)
    return np.full(n, np.nan)


def row_count(items) -> int:
    """Number of visits in ``items`` (a DataFrame or a mapping of equal-length columns)."""
    if isinstance(items, pd.DataFrame):
        return len(items)
    return len(next(iter(items.values()))) if len(items) else 0


def labelled(rule: str, given: np.ndarray) -> pd.Categorical[str]:
    """The rule's name where anything was given, else missing (a categorical: one string, not one per visit)."""
    return pd.Categorical.from_codes(np.where(given, 0, -1).astype(np.int8), categories=pd.Index([rule]))


def any_given(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Per visit, whether any of ``columns`` has a value."""
    given = np.zeros(n, dtype=bool)
    for values in columns:
        given |= ~np.isnan(values)
    return given
