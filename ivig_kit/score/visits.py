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
import unicodedata

import numpy as np
import pandas as pd

from ivig_kit.errors import VisitTableError
from ivig_kit.score.mapping import ColumnMapping
from ivig_kit.score.measures import (
    CORE_SET,
    ENZYME_ULN,
    ENZYME_ULN_MAX,
    ENZYME_VALUE_MAX,
    ENZYMES,
    INSTRUMENTS,
    MMT_MAX_LIMIT,
    SCALE_RANGE,
    WEEK_MAX,
    off_haq_di_grid,
)
from ivig_kit.score.readers import (
    ID_COLUMNS,
    KIT_COLUMNS,
    MISSING_TOKENS,
    VAS_COLUMNS,
    RawTable,
    ReadOptions,
    read_table,
)

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
    # the JDM instruments (ranges from score.measures.INSTRUMENTS; see data/README.md)
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
#: At most this many problem lines are printed; the last line gives the total.
MAX_PROBLEM_LINES = 20

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
                problems.append(f"{mapping.source}: constant {column!r}: expected {expected}, got {_plain(value)!r}")
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


def _identifiers(column: pd.Series) -> pd.Series:
    """Identifiers as stripped text (numbers from Parquet become their digits, never padded); blank is NA."""
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        column = pd.Series(
            [None if v != v else (str(int(v)) if w else repr(float(v))) for v, w in zip(values, whole)],
            index=column.index,
            dtype="str",
        )
    text = column.astype("str").str.normalize("NFKC").str.strip()  # "Zürich" composed or not, "１" and "1": one
    return text.where(text != "", None).astype("str")


def normalise_identifier(text: str) -> str:
    """A site or patient identifier as the kit compares it: stripped and NFKC-normalised, so that "Zürich"
    composed or decomposed, and full-width "１２" and "12", are one identifier (in the visit table, the
    adverse-event table, ``--sites`` and ``--params`` alike)."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def _validate(raw: RawTable) -> pd.DataFrame:
    frame, source = raw.frame, raw.source
    problems = _Problems(source, raw.line_of_row)
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
            typed[column] = _identifiers(typed[column])
            problems.add(typed[column].isna().to_numpy(), column, "a non-empty identifier", typed[column])
            problems.add(
                typed[column].map(has_control_characters).to_numpy(dtype=bool),
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
        problems.lines += _cross_row_problems(typed, problems)
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


def _haq_grid_notes(typed: pd.DataFrame, problems: _Problems) -> list[str]:
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


def has_control_characters(text) -> bool:
    """True if ``text`` holds an invisible or bidirectional control character (Unicode category Cc or Cf)."""
    return isinstance(text, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def _instrument_problems(typed: pd.DataFrame, problems: _Problems) -> None:
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


def _without_nul(column: pd.Series, name: str, problems: _Problems) -> tuple[pd.Series, list[str]]:
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


def _cross_row_problems(typed: pd.DataFrame, problems: _Problems) -> list[str]:
    """Duplicate (site, patient, week) rows and mmt_max changing within a patient, by sorting once."""
    lines = []
    source = problems.source
    site = pd.factorize(typed["site"])[0].astype(np.int64)
    patient_code = pd.factorize(typed["patient_id"])[0].astype(np.int64)
    week = typed["week"].to_numpy(dtype=float)
    known = (site >= 0) & (patient_code >= 0) & ~np.isnan(week)
    patient = np.where(known, site * (patient_code.max() + 2) + patient_code, -1)
    in_order = (patient[1:] > patient[:-1]) | ((patient[1:] == patient[:-1]) & (week[1:] >= week[:-1]))
    if known.all() and in_order.all():  # most exports are sorted by patient and week already: no sort needed
        order = np.arange(len(typed))
    else:
        order = np.lexsort((week, patient))
        order = order[known[order]]
    typed.attrs["n_patients"] = int(len(order) > 0) + int(np.count_nonzero(np.diff(patient[order])))
    sorted_patient, sorted_week = patient[order], week[order]
    same_visit = (sorted_patient[1:] == sorted_patient[:-1]) & (sorted_week[1:] == sorted_week[:-1])
    if same_visit.any():
        duplicated = np.zeros(len(typed), dtype=bool)
        duplicated[order[1:][same_visit]] = True
        duplicated[order[:-1][same_visit]] = True
        first = int(np.argmax(duplicated))
        same = (patient == patient[first]) & (week == week[first])
        more = int(duplicated.sum() - same.sum())
        lines.append(
            f"{source}: {problems.row_list(same)}, columns 'site', 'patient_id', 'week': duplicate visit "
            f"(site {typed['site'].iloc[first]!r}, patient {typed['patient_id'].iloc[first]!r}, week {week[first]:g}); "
            f"expected one row per patient and week" + (f" (and {more} more duplicated rows)" if more else "")
        )
        problems.count += int(duplicated.sum())
    if "mmt_max" in typed.columns:
        scale = typed["mmt_max"].to_numpy(dtype=float)[order]
        # compare each known scale with the previous known scale of the same patient
        has = ~np.isnan(scale)
        kept_patient, kept_scale = sorted_patient[has], scale[has]
        differs = (kept_patient[1:] == kept_patient[:-1]) & (kept_scale[1:] != kept_scale[:-1])
        if differs.any():
            changing_patients = np.unique(kept_patient[1:][differs])
            first_patient = patient[order[has][1:][differs][0]]
            same = patient == first_patient
            first = int(np.argmax(same))
            values = ", ".join(f"{v:g}" for v in pd.unique(typed["mmt_max"].to_numpy()[same]) if v == v)
            lines.append(
                f"{source}: {problems.row_list(same)}, column 'mmt_max': changes within patient "
                f"{typed['patient_id'].iloc[first]!r} of site {typed['site'].iloc[first]!r} ({values}); expected one "
                f"MMT scale per patient"
                + (f" (and {len(changing_patients) - 1} more patients)" if len(changing_patients) > 1 else "")
            )
            problems.count += int(np.isin(patient, changing_patients).sum())
    return lines


class _Problems:
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
        got_text = "an empty cell" if got is None or (isinstance(got, float) and np.isnan(got)) else repr(_plain(got))
        if extra is not None:
            got_text += f" with {extra_name} {_plain(extra.iloc[first])!r}"
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


def _plain(value):
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
