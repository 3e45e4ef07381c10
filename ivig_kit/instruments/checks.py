"""What an item-level visit may hold: every item in its range, one instrument per measure, one source
per item. Vectorised; returns every problem at once, for the reader to locate (file, row, line)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ivig_kit.instruments.items import (
    CMAS_ITEMS,
    ITEM_COLUMNS,
    MMT_SCALE_COLUMN,
    MMT_SCALE_MAX,
    cmas_column,
)
from ivig_kit.instruments.result import any_given

#: Item families that build the same core set measure: a visit may use only one of each pair.
RIVAL_INSTRUMENTS = {"mmt": (("mmt8", "mmt24"), ("cmas",)), "haq": (("haq",), ("chaq",))}
#: Total columns that may not sit beside items of their measure on the same visit.
TOTAL_COLUMNS = {"mmt": ("mmt", "cmas"), "haq": ("haq", "chaq"), "myoact": ("myoact",)}
FAMILY_LABEL = {"mmt8": "MMT-8", "mmt24": "Total MMT", "cmas": "CMAS", "haq": "HAQ", "chaq": "CHAQ", "myoact": "MYOACT"}


@dataclass(frozen=True)
class ItemProblem:
    """Rows of one column that break one rule: ``mask`` marks them, ``expected`` says what was expected."""

    column: str
    mask: np.ndarray
    expected: str
    values: pd.Series


def item_columns_in(columns) -> list[str]:
    """The canonical item columns among ``columns``, in data-dictionary order."""
    present = set(columns)
    return [c.column for c in ITEM_COLUMNS if c.column in present]


def items_given(frame: pd.DataFrame, family: str) -> np.ndarray:
    """Per visit, whether any item of an instrument family (``mmt8``, ``cmas``, ``haq`` ...) has a value."""
    columns = [c.column for c in ITEM_COLUMNS if c.instrument == family and c.column in frame.columns]
    return any_given([frame[c].to_numpy(dtype=float) for c in columns], len(frame))


def item_problems(frame: pd.DataFrame) -> list[ItemProblem]:
    """Every item problem of a visit table whose item columns are numbers (NaN = empty).

    Ranges and whole numbers come from :data:`~ivig_kit.instruments.items.ITEM_COLUMNS` (a CMAS item's
    label names its 1999-sheet range where that differs); an item given both as a score
    and in seconds, items of two instruments for one measure (MMT or MMT-24 grades with CMAS items, HAQ
    with CHAQ items), a total beside its own items, and an unknown ``mmt_scale`` are refused.
    """
    problems = []
    given: dict[str, np.ndarray] = {}

    def family_given(family: str) -> np.ndarray:  # each family's items looked at once, not once per rule
        if family not in given:
            given[family] = items_given(frame, family)
        return given[family]

    for spec in ITEM_COLUMNS:
        if spec.column not in frame.columns:
            continue
        series = frame[spec.column]
        values = series.to_numpy(dtype=float)
        kind = "a whole number " if spec.whole else "a number "
        expected = f"{kind}in {spec.low:g}-{spec.high:g} ({spec.label})"
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ((values < spec.low) | (values > spec.high) | ~np.isfinite(values))
            if spec.whole:
                bad |= np.isfinite(values) & (values != np.round(values))
        problems.append(ItemProblem(spec.column, bad, expected, series))
    for item in CMAS_ITEMS:
        score, seconds = cmas_column(item.number), cmas_column(item.number, True)
        if item.timed and score in frame.columns and seconds in frame.columns:
            both = (frame[score].notna() & frame[seconds].notna()).to_numpy()
            problems.append(
                ItemProblem(seconds, both, f"either {score!r} or {seconds!r} on a visit, not both", frame[seconds])
            )
    for measure, (first, second) in RIVAL_INSTRUMENTS.items():
        one = np.logical_or.reduce([family_given(f) for f in first])
        other = np.logical_or.reduce([family_given(f) for f in second])
        names = " or ".join(FAMILY_LABEL[f] for f in first)
        column = next((c.column for c in ITEM_COLUMNS if c.instrument in second and c.column in frame.columns), None)
        if column:
            problems.append(
                ItemProblem(
                    column,
                    one & other,
                    f"items of one instrument for {measure!r} on a visit "
                    f"({names} or {FAMILY_LABEL[second[0]]}, not both)",
                    frame[column],
                )
            )
    families = {"mmt": ("mmt8", "mmt24", "cmas"), "haq": ("haq", "chaq"), "myoact": ("myoact",)}
    for measure, totals in TOTAL_COLUMNS.items():
        measure_given = np.logical_or.reduce([family_given(f) for f in families[measure]])
        for total in totals:
            if total in frame.columns:
                clash = measure_given & frame[total].notna().to_numpy()
                problems.append(
                    ItemProblem(
                        total,
                        clash,
                        f"a {total!r} total or its items on a visit, not both (the kit computes it from the items)",
                        frame[total],
                    )
                )
    if MMT_SCALE_COLUMN in frame.columns:
        scale = frame[MMT_SCALE_COLUMN].astype("string").str.strip().str.lower()
        unknown = (scale.notna() & (scale != "") & ~scale.isin(list(MMT_SCALE_MAX))).to_numpy(dtype=bool)
        problems.append(
            ItemProblem(
                MMT_SCALE_COLUMN,
                unknown,
                "an MMT scale: " + ", ".join(f"{k} (0-{v})" for k, v in MMT_SCALE_MAX.items()) + ", or empty",
                frame[MMT_SCALE_COLUMN],
            )
        )
    return [p for p in problems if p.mask.any()]
