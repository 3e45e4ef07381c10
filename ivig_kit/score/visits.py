"""The visit table: the kit's one input format, how it is read and how it is validated.

One row per patient visit. ``site`` and ``patient_id`` are strings end to end ("007" stays
"007"); the earliest ``week`` of a patient is the baseline. See ``data/README.md``.

Files are read by :mod:`ivig_kit.score.readers` (typed, columnar). Validation is vectorised and
finds every problem in one pass: a :class:`VisitTableError` has one line per kind of problem and
column, naming the file, the first rows (and, for CSV, their lines), the column and what was
expected, then a line with the total count. A core set measure whose column is absent is missing
on every visit (flagged in the scores), unless none of the six has a column.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ivig_kit.errors import VisitTableError
from ivig_kit.score.core_set_instruments import INSTRUMENTS
from ivig_kit.score.identifiers import control_character_cells, identifier_text
from ivig_kit.score.mapping import ColumnMapping
from ivig_kit.score.measures import (
    CORE_SET,
    ENZYME_ULN,
    ENZYME_ULN_MAX,
    ENZYME_VALUE_MAX,
    ENZYMES,
    MMT_MAX_LIMIT,
    SCALE_RANGE,
    WEEK_MAX,
    off_haq_di_grid,
)
from ivig_kit.score.problem_report import ProblemReport, plain_value
from ivig_kit.score.readers import (
    ID_COLUMNS,
    KIT_COLUMNS,
    MISSING_TOKENS,
    VAS_COLUMNS,
    RawTable,
    ReadOptions,
    read_table,
)
from ivig_kit.score.visit_consistency import cross_row_problems

#: The kit's columns besides the enzymes (only ``site``, ``patient_id`` and ``week`` must be present).
REQUIRED_COLUMNS = ("site", "patient_id", "week", *VAS_COLUMNS, "haq", "mmt", "mmt_max")
#: Columns without which a table is not a visit table.
IDENTIFYING_COLUMNS = ("site", "patient_id", "week")
#: Measure columns whose absence makes their CSM missing on every visit.
MEASURE_COLUMNS = {
    "physician_global": "physician_global",
    "patient_global": "patient_global",
    "extramuscular": "extramuscular",
    "haq": "haq",
    "mmt": "mmt",
}
#: Largest CHQ physical summary score (and range limit) accepted: a plausibility limit of ours that
#: catches entry errors; the score is norm-based (50 = reference mean) and has no sourced range.
CHQ_PHS_LIMIT = 1000.0

#: What each numeric column must hold: (lower, upper, description); every bound is inclusive and
#: every value must be finite. Upper bounds beyond the instruments' own are the plausible maxima of
#: :mod:`ivig_kit.score.measures`, which keep the exact integer arithmetic free of overflow.
NUMERIC_RULES: dict[str, tuple[float, float, str]] = {
    "week": (0, WEEK_MAX, f"a week in 0-{WEEK_MAX:g}"),
    **{c: (0, SCALE_RANGE[c], f"a VAS value in 0-{SCALE_RANGE[c]:g} cm") for c in VAS_COLUMNS},
    "haq": (0, SCALE_RANGE["haq"], f"a HAQ score in 0-{SCALE_RANGE['haq']:g}"),
    "mmt": (0, MMT_MAX_LIMIT, "an MMT score >= 0"),
    "mmt_max": (1, MMT_MAX_LIMIT, f"the MMT scale maximum (e.g. 80, 150, 260), in 1-{MMT_MAX_LIMIT:g}"),
    **{e: (0, ENZYME_VALUE_MAX, f"a {e.upper()} value in 0-{ENZYME_VALUE_MAX:,.0f} U/l") for e in ENZYMES},
    **{
        u: (0, ENZYME_ULN_MAX, f"an upper limit of normal > 0 and <= {ENZYME_ULN_MAX:,.0f}")
        for u in ENZYME_ULN.values()
    },
    # the JDM instruments (ranges from score.core_set_instruments.INSTRUMENTS; see data/README.md)
    # (mypy cannot see that fixed_range is not None means both bounds are set: hence the ignore)
    **{
        i.column: (
            i.scale_min,
            i.scale_max,
            f"a {i.label.split(' (')[0]} value in "  # type: ignore[misc]
            f"{i.scale_min:g}-{i.scale_max:g}{' ' + i.unit if i.unit else ''}",
        )
        for i in INSTRUMENTS.values()
        if i.column and i.column != i.measure and i.fixed_range is not None
    },
    "chq_phs": (-CHQ_PHS_LIMIT, CHQ_PHS_LIMIT, "a CHQ physical summary score"),
    "chq_phs_min": (-CHQ_PHS_LIMIT, CHQ_PHS_LIMIT, "the lowest CHQ physical summary score of the scale used"),
    "chq_phs_max": (-CHQ_PHS_LIMIT, CHQ_PHS_LIMIT, "the highest CHQ physical summary score of the scale used"),
}
#: Columns that may be empty on a visit (a missing CSM is reported, never scored as 0).
NULLABLE = set(NUMERIC_RULES) - {"week", "mmt_max"}

__all__ = [
    "ID_COLUMNS",
    "MISSING_TOKENS",
    "NUMERIC_RULES",
    "REQUIRED_COLUMNS",
    "VAS_COLUMNS",
    "ColumnMapping",
    "ReadOptions",
    "read_visits",
    "validate_visits",
]


def read_visits(path, options: ReadOptions | None = None, **read_options) -> pd.DataFrame:
    """Read a visit table (CSV, Parquet or Excel) and validate it.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (UTF-8, UTF-16 with BOM, or any encoding given; comma, semicolon or tab separated,
        detected), ``.parquet`` or ``.xlsx``.
    options : ReadOptions, optional
        Separator, decimal mark, encoding, VAS unit, column mapping, Excel sheet; keyword
        arguments of :class:`~ivig_kit.score.readers.ReadOptions` may be given instead.

    Returns
    -------
    pandas.DataFrame
        Identifiers as text, measures as floats (NaN = missing); a measure whose column was absent
        is all NaN and named in ``attrs["absent_measures"]``.

    Raises
    ------
    VisitTableError
        Every problem of the table at once, one line per kind of problem and column.
    """
    options = options or ReadOptions(**read_options)
    if options.mapping is not None:
        _check_constants(options.mapping)
    return _validate(read_table(path, options))


def _check_constants(mapping: ColumnMapping) -> None:
    """A mapping's constants within their column's bounds, blamed on the mapping file and key (not on the
    data file's rows, which would all show the same value)."""
    problems = []
    for column, value in mapping.constants.items():
        if column in NUMERIC_RULES:
            low, high, expected = NUMERIC_RULES[column]
            if not (np.isfinite(value) and low <= value <= high) or (column in ENZYME_ULN.values() and value <= 0):
                problems.append(
                    f"{mapping.source}: constant {column!r}: expected {expected}, got {plain_value(value)!r}"
                )
    if problems:
        raise VisitTableError("\n".join(problems))


def validate_visits(frame: pd.DataFrame, source: str = "<visits>", line_offset: int | None = None) -> pd.DataFrame:
    """Check a raw visit table and return a typed copy (ids as strings, measures as floats).

    ``line_offset`` maps a 0-based row to a file line (2 for a CSV with one header line),
    so messages can say ``row 5 (line 6)``.
    """
    frame = frame.reset_index(drop=True).copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    raw = RawTable(frame, source)
    if line_offset is not None:
        raw.line_of_row = lambda positions: [int(p) + line_offset for p in positions]
    seen: dict[str, list[int]] = {}
    for i, column in enumerate(frame.columns):
        seen.setdefault(column, []).append(i + 1)
    raw.header_problems = [
        f"{source}: column {c!r} appears {len(w)} times (columns {', '.join(map(str, w))}); expected each column once"
        for c, w in seen.items()
        if len(w) > 1
    ]
    if raw.header_problems:
        raise VisitTableError("\n".join(raw.header_problems))
    return _validate(raw)  # converts the measure columns that are not numbers yet


def validate_table(raw: RawTable) -> pd.DataFrame:
    """Validate a table already read by :func:`~ivig_kit.score.readers.read_table`, with its file lines
    (e.g. after :mod:`ivig_kit.score.core_set` turned its item columns into totals)."""
    return _validate(raw)


def _as_number(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers from any column, vectorised; returns the floats and which cells were not numbers."""
    if pd.api.types.is_bool_dtype(column):
        return pd.Series(np.nan, index=column.index), column.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float), np.zeros(len(column), dtype=bool)
    text = column.astype("str").str.strip()
    blank = column.isna().to_numpy() | text.str.lower().isin(MISSING_TOKENS).to_numpy()
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
    return values, values.isna().to_numpy() & ~blank


def _validate(raw: RawTable) -> pd.DataFrame:
    frame, source = raw.frame, raw.source
    problems = ProblemReport(source, raw.line_of_row)
    problems.lines += raw.header_problems
    if len(frame.columns) == 0 or len(frame) == 0:
        raise VisitTableError(f"{source}: no visits; expected a header row and at least one row per visit")
    if frame.columns.duplicated().any():  # reported by the reader; check the first of each
        frame = raw.frame = frame.loc[:, ~frame.columns.duplicated()]
    columns = list(frame.columns)
    if not set(columns) & set(KIT_COLUMNS):
        found = ", ".join(repr(c) for c in columns[:4])
        hint = ""
        if len(columns) == 1 and re.search(r"[;\t|]", columns[0]):
            hint = "; the header looks separated by another character: pass --sep"
        raise VisitTableError(
            f"{source}: not a visit table: its header ({found}) has none of the expected columns "
            f"{', '.join(REQUIRED_COLUMNS)}{hint}"
        )

    missing = [c for c in IDENTIFYING_COLUMNS if c not in columns]
    if missing:
        problems.lines.append(
            f"{source}: missing required column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected site, patient_id, week and the core set measures (data/README.md)"
        )
    absent = [m for m in MEASURE_COLUMNS if not _measure_has_column(m, columns)]
    if "mmt" in columns and "mmt_max" not in columns:
        problems.lines.append(
            f"{source}: column 'mmt' has no 'mmt_max' column; the MMT scale's maximum (80, 150, "
            f"260) is required on every row, never guessed"
        )
    enzymes = [e for e in ENZYMES if e in columns]
    problems.lines += [
        f"{source}: column {e!r} has no {ENZYME_ULN[e]!r} column; each enzyme needs its upper limit of normal"
        for e in enzymes
        if ENZYME_ULN[e] not in columns
    ]
    if "chq_phs" in columns:
        problems.lines += [
            f"{source}: column 'chq_phs' needs a {c!r} column: the CHQ physical summary score has no "
            "sourced range, so its lowest and highest score must be given"
            for c in INSTRUMENTS["chq_phs"].range_columns
            if c not in columns
        ]
    if not enzymes and "chq_phs" not in columns:
        absent.append("enzyme")
    if len(absent) == 6:
        problems.lines.append(
            f"{source}: none of the six core set measures has a column; expected "
            f"{', '.join(VAS_COLUMNS)}, haq, mmt with mmt_max, or an enzyme ({', '.join(ENZYMES)}) "
            f"with its _uln"
        )

    typed = frame
    for column in ID_COLUMNS:
        if column in columns:
            typed[column] = identifier_text(typed[column])
            problems.add(typed[column].isna().to_numpy(), column, "a non-empty identifier", typed[column])
            problems.add(
                control_character_cells(typed[column]),
                column,
                "an identifier without invisible or bidirectional control characters (Unicode Cc/Cf, e.g. U+202E)",
                typed[column],
            )
    numeric = [c for c in NUMERIC_RULES if c in columns]
    empty = {}
    for column in numeric:
        if not pd.api.types.is_float_dtype(typed[column]):
            numbers, bad = _as_number(typed[column])
            if bad.any() and column not in raw.unparsed:
                positions = np.flatnonzero(bad)
                raw.unparsed[column] = (positions, [typed[column].iloc[p] for p in positions[:20]])
            typed[column] = numbers
        values = typed[column].to_numpy(dtype=float)
        unparsed = np.zeros(len(values), dtype=bool)
        if column in raw.unparsed:
            positions, texts = raw.unparsed[column]
            unparsed[positions] = True
            problems.add(
                unparsed,
                column,
                "a number" + _decimal_hint(texts, raw.decimal),
                pd.Series(_spread(positions, texts, len(values)), dtype=object),
            )
        infinite = np.isinf(values)
        problems.add(infinite, column, "a finite number", typed[column])
        low, high, expected = NUMERIC_RULES[column]
        finite = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            below = (values <= 0) if column in ENZYME_ULN.values() else (values < low)
            out = finite & (below | (values > high))
        hint = ""
        if (
            column in VAS_COLUMNS
            and out.any()
            and np.nanmax(np.where(finite, values, np.nan)) <= 100
            and ((values[finite] > high).mean() > 0.5)
        ):
            hint = "; most values are above 10: if the VAS was recorded in mm (0-100), pass --vas-unit mm"
        problems.add(out, column, expected, typed[column], hint=hint)
        empty[column] = np.isnan(values) & ~unparsed
        if column == "mmt_max" and "cmas" in columns and "mmt" in columns:  # CMAS patients need no MMT scale
            problems.add(
                empty[column] & typed["mmt"].notna().to_numpy(),
                column,
                "the MMT scale maximum on every row with an MMT value",
                typed[column],
            )
        elif column not in NULLABLE and (column != "mmt_max" or "mmt" in columns):
            problems.add(empty[column], column, f"{expected} (required on every visit)", typed[column])
        typed[column] = np.where(finite & ~out, values, np.nan)

    if "mmt" in columns and "mmt_max" in columns:
        over = typed["mmt"].to_numpy() > typed["mmt_max"].to_numpy()
        problems.add(over, "mmt", "an MMT score <= mmt_max", typed["mmt"], extra=typed["mmt_max"], extra_name="mmt_max")
    for enzyme in enzymes:
        uln = ENZYME_ULN[enzyme]
        if uln in columns:
            no_uln = typed[enzyme].notna().to_numpy() & empty[uln]
            problems.add(no_uln, uln, f"the ULN of the {enzyme!r} value on the same row", typed[uln])
    if not missing and not problems.any_in(ID_COLUMNS + ("week",)):
        problems.lines += cross_row_problems(typed, problems)
        _instrument_problems(typed, problems)
    if problems:
        raise VisitTableError(problems.render())

    for column in absent:
        if column == "enzyme":
            continue
        typed[column] = np.nan
        if column == "mmt" and "mmt_max" not in typed.columns:
            typed["mmt_max"] = np.nan
    if "mmt_max" not in typed.columns:
        typed["mmt_max"] = np.nan
    notes = list(raw.notes)
    for column in typed.columns.difference([*KIT_COLUMNS], sort=False):
        typed[column], note = _without_nul(typed[column], column, problems)
        notes += note
        typed[column] = _passthrough(typed[column])
    typed.attrs["absent_measures"] = absent
    typed.attrs["read_notes"] = notes + _haq_grid_notes(typed, problems)
    return typed


def _haq_grid_notes(typed: pd.DataFrame, problems: ProblemReport) -> list[str]:
    """Warnings (notes, not errors) for HAQ/CHAQ values no HAQ-DI can take: scored as given, but worth checking."""
    notes = []
    for column in ("haq", "chaq"):
        if column in typed.columns and (off := off_haq_di_grid(typed[column].to_numpy(dtype=float))).any():
            shown = ", ".join(f"{v:g}" for v in pd.unique(typed[column].to_numpy(dtype=float)[off])[:5])
            notes.append(
                f"{problems.source}: {problems.row_list(off)}, column {column!r}: {shown}: no HAQ-DI takes "
                "such a value (the mean of 6-8 category scores 0-3 is a multiple of 1/8, 1/7 or 1/6); "
                "scored as given"
            )
    return notes


def _measure_has_column(measure: str, columns) -> bool:
    """A CSM has a column when any of its instruments' value columns is in the table."""
    return any(INSTRUMENTS[i].column in columns for i in CORE_SET[measure].instruments if INSTRUMENTS[i].column)


def _instrument_problems(typed: pd.DataFrame, problems: ProblemReport) -> None:
    """JDM instruments: their explicit ranges, and one instrument per CSM at a patient's baseline."""
    if "chq_phs" in typed.columns and {"chq_phs_min", "chq_phs_max"} <= set(typed.columns):
        low, high, value = typed["chq_phs_min"], typed["chq_phs_max"], typed["chq_phs"]
        for column in ("chq_phs_min", "chq_phs_max"):
            problems.add(
                (value.notna() & typed[column].isna()).to_numpy(),
                column,
                "the CHQ physical summary range on every row with a chq_phs value",
                typed[column],
            )
        inverted = low.notna() & high.notna() & ~(high > low)
        problems.add(
            inverted.to_numpy(), "chq_phs_max", "a value above chq_phs_min", high, extra=low, extra_name="chq_phs_min"
        )
        outside = value.notna() & low.notna() & high.notna() & ((value < low) | (value > high))
        problems.add(outside.to_numpy(), "chq_phs", "a score within chq_phs_min to chq_phs_max", value)
    baseline = (typed.groupby(["site", "patient_id"], sort=False)["week"].transform("min") == typed["week"]).to_numpy()
    for measure, spec in CORE_SET.items():
        columns = [INSTRUMENTS[i].column for i in spec.instruments if INSTRUMENTS[i].column in typed.columns]
        if measure == "enzyme":
            enzymes = [e for e in ENZYMES if e in typed.columns]
            if "chq_phs" in typed.columns and enzymes:
                both = baseline & typed[enzymes].notna().any(axis=1).to_numpy() & typed["chq_phs"].notna().to_numpy()
                problems.add(
                    both,
                    "chq_phs",
                    "one instrument for the enzyme row at baseline (an enzyme or chq_phs, not both)",
                    typed["chq_phs"],
                )
            continue
        if len(columns) > 1:
            both = baseline & (typed[columns].notna().sum(axis=1) > 1).to_numpy()
            problems.add(
                both,
                columns[1],
                f"one instrument for {measure!r} at baseline ({' or '.join(repr(c) for c in columns)}, not both)",
                typed[columns[1]],
            )


def _spread(positions, texts, n) -> np.ndarray:
    values = np.full(n, None, dtype=object)
    shown = positions[: len(texts)]
    values[shown] = texts
    return values


def _decimal_hint(texts, decimal: str) -> str:
    if decimal == "." and any(isinstance(t, str) and re.fullmatch(r"\s*-?\d+,\d+\s*", t) for t in texts):
        return " (decimal commas? pass --decimal ,)"
    if decimal == "," and any(isinstance(t, str) and re.fullmatch(r"\s*-?\d+\.\d+\s*", t) for t in texts):
        return " (read with decimal commas; pass --decimal . if the file uses decimal points)"
    return ""


def _without_nul(column: pd.Series, name: str, problems: ProblemReport) -> tuple[pd.Series, list[str]]:
    """A free-text column with its NUL bytes replaced by U+FFFD in the cells that hold one (no file format the
    kit writes can hold a NUL), and a located note; every other cell is untouched."""
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return column, []
    holds = column.map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy(dtype=bool)
    if not holds.any():
        return column, []
    fixed = column.copy()
    fixed[holds] = column[holds].str.replace("\x00", "\ufffd", regex=False)
    return fixed, [
        f"{problems.source}: {problems.row_list(holds)}, column {name!r}: a NUL byte, replaced by "
        f"U+FFFD in that cell only"
    ]


def _passthrough(column: pd.Series) -> pd.Series:
    """Optional columns pass through; text that is entirely numeric becomes numbers."""
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return column
    values, bad = _as_number(column)
    return values if not bad.any() else column
