"""MMT from Kendall grades: MMT-8 on one side (0-80), on both sides (0-150), and Total MMT (0-260).

IMACS Form 04: MMT-8 is tested unilaterally, "generally on right side (unless cannot be tested on
right, then use left side)"; the kit applies that per group (the right grade, the left where the
right is empty). Bilateral MMT-8 adds both sides of the seven paired groups and the neck flexors
once (7 x 20 + 10 = 150; an inference from the form and ProDERM's "MMT-8 < 142", stated nowhere in
words). Total MMT (MMT-24) is axial 0-20 + proximal 0-160 + distal 0-80 = 260. No IMACS rule
prorates a missing group, so a total with a missing group is missing; ``prorate=True`` is the
kit's labelled option (see :func:`mmt_total`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ivig_kit.instruments.items import (
    MMT8_PAIRED,
    MMT24_AXIAL_EXTRA,
    MMT24_PAIRED_EXTRA,
    MMT_SCALE_MAX,
    SIDES,
    mmt8_column,
    mmt24_column,
)
from ivig_kit.instruments.result import InstrumentScore, column_values, row_count

#: The share of a scale's groups that must be graded before a prorated total is given (kit's choice).
PRORATE_MINIMUM_SHARE = 0.75
MMT_RULES = {
    "unilateral": "MMT-8 unilateral 0-80 (right, left where the right is empty; IMACS Form 04)",
    "bilateral": "MMT-8 bilateral 0-150 (both sides, neck flexors once)",
    "total": "Total MMT 0-260 (MMT-24, IMACS Form 04)",
}


def _scale_grades(items, scale: str, n: int) -> list[np.ndarray]:
    """One array per graded group of a scale (each 0-10), NaN where not graded."""
    neck = column_values(items, mmt8_column("neck_flexors"), n)
    if scale == "unilateral":
        grades = [neck]
        for group in MMT8_PAIRED:
            right = column_values(items, mmt8_column(group, "right"), n)
            grades.append(np.where(np.isnan(right), column_values(items, mmt8_column(group, "left"), n), right))
        return grades
    grades = [neck] + [column_values(items, mmt8_column(g, s), n) for g in MMT8_PAIRED for s in SIDES]
    if scale == "total":
        grades += [column_values(items, mmt24_column(g), n) for g in MMT24_AXIAL_EXTRA]
        grades += [column_values(items, mmt24_column(g, s), n) for g in MMT24_PAIRED_EXTRA for s in SIDES]
    return grades


def mmt_total(items, scale="unilateral", prorate: bool = False) -> InstrumentScore:
    """MMT totals from Kendall 0-10 grades, vectorised over visits.

    Parameters
    ----------
    items : pandas.DataFrame or mapping
        Canonical grade columns (``mmt8_neck_flexors``, ``mmt8_deltoid_right``, ...,
        ``mmt24_iliopsoas_left``); absent columns are ungraded.
    scale : str or array of str
        ``unilateral`` (0-80), ``bilateral`` (0-150) or ``total`` (0-260), for all visits or per visit.
    prorate : bool
        Missing groups make the total missing (default). With ``True``, a visit with at least 75% of
        the scale's groups graded gets ``sum x (groups of the scale / groups graded)``, labelled
        "prorated" (the kit's option: no IMACS rule exists).

    Returns
    -------
    InstrumentScore
        ``values`` (NaN when missing), ``maximum`` (80, 150 or 260), ``rule``, ``answered`` (groups graded).

    Examples
    --------
    >>> import numpy as np
    >>> grades = {
    ...     c: np.array([8.0])
    ...     for c in ["mmt8_neck_flexors"]
    ...     + [
    ...         f"mmt8_{g}_right"
    ...         for g in (
    ...             "deltoid",
    ...             "biceps",
    ...             "wrist_extensors",
    ...             "gluteus_maximus",
    ...             "gluteus_medius",
    ...             "quadriceps",
    ...             "ankle_dorsiflexors",
    ...         )
    ...     ]
    ... }
    >>> float(mmt_total(grades).values[0])
    64.0
    """
    n = row_count(items)
    scales = np.broadcast_to(np.asarray(scale, dtype=object), (n,))
    values, maximum, answered = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    codes, labels = np.full(n, -1, dtype=np.int8), list[str]()
    for name, top in MMT_SCALE_MAX.items():
        rows = scales == name
        if not rows.any():
            continue
        graded, total = np.zeros(n, dtype=np.int64), np.zeros(n)
        groups = 0
        for grade in _scale_grades(items, name, n):
            known = ~np.isnan(grade)
            graded += known
            total += np.where(known, grade, 0.0)
            groups += 1
        complete = graded == groups
        value = np.where(complete, total, np.nan)
        code = np.full(n, len(labels), dtype=np.int8)
        labels.append(MMT_RULES[name])
        if prorate:
            enough = ~complete & (graded >= np.ceil(PRORATE_MINIMUM_SHARE * groups))
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.where(enough, np.round(total * groups / np.maximum(graded, 1), 6), value)
            code[enough] = len(labels)
            labels.append(MMT_RULES[name] + ", prorated over the groups graded (kit option)")
        values[rows], maximum[rows], answered[rows] = value[rows], top, graded[rows]
        codes[rows] = np.where(graded[rows] > 0, code[rows], -1)
    return InstrumentScore(
        "mmt", values, maximum, pd.Categorical.from_codes(codes, categories=pd.Index(labels)), answered
    )
