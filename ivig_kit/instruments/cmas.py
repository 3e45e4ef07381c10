"""CMAS (Childhood Myositis Assessment Scale) from its 14 items, 0-52.

Items and ranges: :data:`ivig_kit.instruments.items.CMAS_ITEMS`, from IMACS Form 05c (the 52-point
sheet; :data:`~ivig_kit.instruments.items.CMAS_SOURCE`). Timed items (1 head elevation, 3 straight leg
lift, 8 arm raise duration) may be given as seconds (``cmas_<n>_seconds``) and are then scored with the
sheet's bands. The total is given only when all 14 items are. The 1999 sheet (0-51) scored supine to
prone 0-2: its items are valid here, and its best total is 51, not 52.
"""

from __future__ import annotations

import numpy as np

from ivig_kit.instruments.items import (
    CMAS_ITEMS,
    CMAS_MAX,
    CMAS_TIMED_BANDS,
    cmas_column,
)
from ivig_kit.instruments.result import (
    InstrumentScore,
    column_values,
    labelled,
    row_count,
)

CMAS_RULE = "CMAS 0-52 (IMACS Form 05c: supine to prone 0-3), all 14 items"


def timed_item_score(item: int, seconds) -> np.ndarray:
    """Score of a timed CMAS item from seconds held (0 = unable): 1-9 s 1, 10-29 s 2, 30-59 s 3, ...

    Examples
    --------
    >>> timed_item_score(1, [0, 9.9, 10, 59, 60, 119, 120]).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 5.0]
    """
    seconds = np.asarray(seconds, dtype=float)
    score = np.searchsorted(np.asarray(CMAS_TIMED_BANDS[item], dtype=float), seconds, side="right").astype(float)
    return np.where(np.isnan(seconds), np.nan, score)


def item_scores(items) -> dict[int, np.ndarray]:
    """Each item's score per visit; a timed item's seconds are used where its score is empty."""
    n = row_count(items)
    scores = {}
    for item in CMAS_ITEMS:
        score = column_values(items, cmas_column(item.number), n)
        if item.timed:
            from_seconds = timed_item_score(item.number, column_values(items, cmas_column(item.number, True), n))
            score = np.where(np.isnan(score), from_seconds, score)
        scores[item.number] = score
    return scores


def cmas_total(items) -> InstrumentScore:
    """CMAS totals per visit: the sum of the 14 items, NaN unless all are given.

    Examples
    --------
    >>> import numpy as np
    >>> full = {f"cmas_{i.number}": np.array([float(i.maximum)]) for i in CMAS_ITEMS}
    >>> float(cmas_total(full).values[0])
    52.0
    """
    n = row_count(items)
    answered, total = np.zeros(n, dtype=np.int64), np.zeros(n)
    for score in item_scores(items).values():
        answered += ~np.isnan(score)
        total += np.nan_to_num(score)
    values = np.where(answered == len(CMAS_ITEMS), total, np.nan)
    return InstrumentScore("cmas", values, np.full(n, float(CMAS_MAX)), labelled(CMAS_RULE, answered > 0), answered)
