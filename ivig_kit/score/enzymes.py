"""The muscle enzyme row: which enzyme is followed, and what its percent change is divided by.

The enzyme most abnormal at baseline (highest multiple of its ULN; ties go to the table
footnote's order CK, aldolase, ALT, AST, LDH, decided exactly by cross-multiplied integers) is
followed at later visits. Its normalisation is an explicit option (:class:`EnzymeNormalisation`),
because the published sources do not settle it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ivig_kit.score.measures import (
    ENZYME_ULN,
    ENZYMES,
    EnzymeNormalisation,
    to_micro,
)


def enzyme_scale_range(baseline_value, baseline_uln, normalisation: EnzymeNormalisation, enzyme=None):
    """Range the enzyme's change is divided by, under the chosen normalisation.

    ``enzyme`` (a name, or an array of names per visit) picks per-enzyme ULN multipliers
    (:meth:`EnzymeNormalisation.multiplier`); without it the common ``uln_multiplier`` applies.
    """
    if normalisation.method == "relative":
        return np.asarray(baseline_value, dtype=float)
    multiplier: float | np.ndarray
    if enzyme is None or np.ndim(enzyme) == 0:
        multiplier = normalisation.multiplier(None if enzyme is None else str(enzyme))
    else:
        multiplier = np.array([normalisation.multiplier(e) for e in ENZYMES] + [np.nan])[
            np.array([ENZYMES.index(e) if e in ENZYMES else len(ENZYMES) for e in enzyme], dtype=np.intp)
        ]
    return np.asarray(baseline_uln, dtype=float) * multiplier


class FollowedEnzyme(NamedTuple):
    """The enzyme followed per follow-up visit and its values (see :func:`most_abnormal_enzyme`).

    Attributes
    ----------
    choice : numpy.ndarray
        Per follow-up visit, the code of the enzyme followed: an index into ``names`` (-1: none measured).
    names : list of str
        The enzymes present in the table (with their ULN column), in the footnote's order.
    baseline, followup, uln : numpy.ndarray
        The followed enzyme's baseline and follow-up values (U/l) and its baseline ULN; NaN where none.
    """

    choice: np.ndarray
    names: list[str]
    baseline: np.ndarray
    followup: np.ndarray
    uln: np.ndarray


def most_abnormal_enzyme(visits: pd.DataFrame, baseline_rows: np.ndarray, followup_rows: np.ndarray) -> FollowedEnzyme:
    """The enzyme most abnormal at baseline (highest multiple of its ULN), followed over time.

    Multiples are compared exactly: value_a / uln_a > value_b / uln_b as the cross-multiplied
    integers value_a x uln_b > value_b x uln_a of the micro-unit values. The float quotients of
    those integers decide every case they separate (correct rounding is monotone, so a strict
    float order is the true order); equal quotients are settled by Python's unbounded integers,
    on those rows only. An exact tie goes to the first in the table footnote's order (CK,
    aldolase, ALT, AST, LDH).

    Parameters
    ----------
    visits : pandas.DataFrame
        A validated visit table.
    baseline_rows, followup_rows : numpy.ndarray
        Row positions of each follow-up visit's baseline and of the follow-up itself.

    Returns
    -------
    FollowedEnzyme
        The choice per follow-up visit as codes into the enzyme names (-1: none measured), the
        names, and the baseline value, follow-up value and baseline ULN.
    """
    present = [e for e in ENZYMES if e in visits.columns and ENZYME_ULN[e] in visits.columns]
    n = len(baseline_rows)
    if not present:
        nothing = np.full(n, np.nan)
        return FollowedEnzyme(np.full(n, -1, dtype=np.int8), present, nothing, nothing.copy(), nothing.copy())
    best_value = np.zeros(n, dtype=np.int64)
    best_uln = np.ones(n, dtype=np.int64)
    best_ratio = np.full(n, -np.inf)
    choice = np.full(n, -1, dtype=np.int8)
    for code, enzyme in enumerate(present):
        value_float = visits[enzyme].to_numpy(dtype=float)[baseline_rows]
        uln_float = visits[ENZYME_ULN[enzyme]].to_numpy(dtype=float)[baseline_rows]
        usable = ~np.isnan(value_float) & (uln_float > 0)  # NaN never wins
        value, uln = to_micro(value_float), to_micro(uln_float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(usable, value.astype(float) / np.where(uln > 0, uln, 1).astype(float), -np.inf)
        better = usable & (ratio > best_ratio)
        tied = np.flatnonzero(usable & (ratio == best_ratio) & (choice >= 0))
        if len(tied):
            better[tied] = _cross_multiplied_greater(value[tied], best_uln[tied], best_value[tied], uln[tied])
        best_ratio[better], best_value[better], best_uln[better] = ratio[better], value[better], uln[better]
        choice[better] = code
    values = visits[present].to_numpy(dtype=float)
    ulns = visits[[ENZYME_ULN[e] for e in present]].to_numpy(dtype=float)
    safe_choice = np.maximum(choice, 0)
    none_measured = choice < 0
    baseline = values[baseline_rows, safe_choice]
    followup = values[followup_rows, safe_choice]
    uln = ulns[baseline_rows, safe_choice]
    for array in (baseline, followup, uln):
        array[none_measured] = np.nan
    return FollowedEnzyme(choice, present, baseline, followup, uln)


def _cross_multiplied_greater(a, d, c, b) -> np.ndarray:
    """Exactly ``a*d > c*b`` for non-negative int64 arrays: in int64 where the products fit, else in Python ints."""
    fits = (a.astype(float) * d < 2.0**62) & (c.astype(float) * b < 2.0**62)
    result = np.zeros(len(a), dtype=bool)
    result[fits] = a[fits] * d[fits] > c[fits] * b[fits]
    for i in np.flatnonzero(~fits):
        result[i] = int(a[i]) * int(d[i]) > int(c[i]) * int(b[i])
    return result
