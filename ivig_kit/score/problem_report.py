"""The problem report of a table: every problem found, one located line per kind and column.

Validation adds each problem as a mask of rows; the report names the first rows (and, where known,
their file lines), the column, what was expected and what was found, then a line with the total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: At most this many problem lines are printed; the last line gives the total.
MAX_PROBLEM_LINES = 20


class ProblemReport:
    """Collects every problem as one line per kind and column; renders the first rows and a total."""

    def __init__(self, source: str, line_of_row):
        self.source, self.line_of_row = source, line_of_row
        self.lines: list[str] = []
        self.columns: set[str] = set()
        self.count = 0

    def __bool__(self) -> bool:
        return bool(self.lines)

    def any_in(self, columns) -> bool:
        return bool(self.columns & set(columns))

    def add(self, mask, column, expected, values, extra=None, extra_name=None, hint=""):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        first = int(np.argmax(mask))
        got = values.iloc[first] if isinstance(values, pd.Series) else values[first]
        got_text = (
            "an empty cell" if got is None or (isinstance(got, float) and np.isnan(got)) else repr(plain_value(got))
        )
        if extra is not None:
            got_text += f" with {extra_name} {plain_value(extra.iloc[first])!r}"
        self.lines.append(
            f"{self.source}: {self.row_list(mask)}, column {column!r}: expected {expected}, got {got_text}{hint}"
        )
        self.columns.add(column)
        self.count += int(mask.sum())

    def row_list(self, mask, limit: int = 3) -> str:
        """``row 2 (line 3)``, ``rows 2 and 4 (lines 3 and 5)``,
        ``rows 2, 3, 4 and 3 more (lines 3, 4, 5 and 3 more)``."""
        positions = np.flatnonzero(np.asarray(mask))
        shown, rest = [int(p) for p in positions[:limit]], len(positions) - limit

        def join(numbers):
            numbers = [str(n) for n in numbers]
            if rest > 0:
                return ", ".join(numbers) + f" and {rest} more"
            return numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]

        plural = "s" if len(positions) > 1 else ""
        text = f"row{plural} {join(p + 1 for p in shown)}"
        if self.line_of_row is not None:
            lines = self.line_of_row(shown)
            if all(line is not None for line in lines):
                text += f" (line{plural} {join(lines)})"
        return text

    def render(self) -> str:
        lines = self.lines[:MAX_PROBLEM_LINES]
        if len(self.lines) > MAX_PROBLEM_LINES:
            lines.append(f"{self.source}: ... and {len(self.lines) - MAX_PROBLEM_LINES} more kinds of problem")
        if len(self.lines) > 1:
            cells = f" ({self.count} cells or rows)" if self.count else ""
            lines.append(f"{self.source}: {len(self.lines)} problems{cells}; nothing was scored")
        return "\n".join(lines)


def plain_value(value):
    """A cell's value as a message shows it: whole floats as integers, numpy scalars as Python values."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
