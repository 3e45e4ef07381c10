"""Reading visit tables from files, typed and columnar: CSV (any common dialect), Parquet, Excel.

Numbers are parsed natively by pyarrow's CSV and Parquet readers, identifiers are read as text
(``"007"`` stays ``"007"``). Only when a column does not parse is it read again as text, and only
the cells that fail are located (row, and for CSV the file line, counting quoted multi-line
fields) so :mod:`ivig_kit.score.visits` can explain them. Nothing here judges values; that is
validation's job.

Real-world files: semicolon separators and decimal commas (European spreadsheet exports) are
detected (:mod:`ivig_kit.score.csv_dialect`), or set with ``separator`` / ``decimal``; UTF-8 (with or
without BOM) and UTF-16 with a BOM are read; Latin-1 and UTF-16 without a BOM are named as such with
the option that reads them.
A :class:`~ivig_kit.score.mapping.ColumnMapping` (YAML, ``data/example_mapping.yaml``) renames an
export's columns to the kit's and converts VAS in mm to cm.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ivig_kit.errors import VisitTableError
from ivig_kit.score.columns import (  # noqa: F401  (re-exported: the reader's vocabulary)
    ID_COLUMNS,
    INSTRUMENT_COLUMNS,
    KIT_COLUMNS,
    MISSING_TOKENS,
    NUMERIC_COLUMNS,
    VAS_COLUMNS,
    VAS_UNITS,
)
from ivig_kit.score.csv_dialect import SEPARATORS, decode_head, detect_dialect, detect_encoding, locate_bad_utf8
from ivig_kit.score.file_kinds import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES  # noqa: F401  (re-exported)

_NULL_VALUES = sorted({v for t in MISSING_TOKENS for v in (t, t.upper(), t.capitalize())})
_HEAD_BYTES = 1 << 16

if TYPE_CHECKING:
    from ivig_kit.score.mapping import ColumnMapping
    from ivig_kit.score.spreadsheets import ReadLimits


@dataclass(frozen=True)
class ReadOptions:
    """How to read a visit file; ``None`` means detect."""

    separator: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    #: unit of the three VAS columns in the file (a mapping's per-column unit wins)
    vas_unit: str = "cm"
    mapping: ColumnMapping | None = None
    sheet: str | None = None
    #: caps on an .xlsx or Parquet file's cost (:class:`~ivig_kit.score.spreadsheets.ReadLimits`); ``None``: the
    #: defaults and their environment variables
    limits: ReadLimits | None = None


@dataclass
class RawTable:
    """A file read into columns, not yet judged.

    ``frame`` has the kit's column names; numeric kit columns are float64 wherever the cell parsed
    (NaN for an empty cell or one that did not parse), identifiers are text. ``unparsed`` holds,
    per numeric column, the positions and text of the cells that are not numbers. ``row_lines``
    maps row positions to file lines, computed only when an error needs it.
    """

    frame: pd.DataFrame
    source: str
    unparsed: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    line_of_row: object = None  # callable(positions) -> list[int] | None
    decimal: str = "."
    notes: list[str] = field(default_factory=list)
    header_problems: list[str] = field(default_factory=list)


def read_table(path, options: ReadOptions | None = None) -> RawTable:
    """Read a visit file (CSV, Parquet or Excel, by its name) into a :class:`RawTable`."""
    options = options or ReadOptions()
    path = Path(path)
    if options.vas_unit not in VAS_UNITS:
        raise VisitTableError(f"VAS unit must be one of {', '.join(VAS_UNITS)}, not {options.vas_unit!r}")
    if not path.exists():
        raise VisitTableError(f"{path}: file not found")
    if path.is_dir():
        raise VisitTableError(f"{path}: is a folder, expected a CSV, Parquet or Excel (.xlsx) file")
    if not path.is_file():
        raise VisitTableError(
            f"{path}: is not a regular file (a device, pipe or socket); expected a CSV, Parquet or Excel (.xlsx) file"
        )
    if path.stat().st_size == 0:
        raise VisitTableError(f"{path.name}: the file is empty; expected a header row and one row per visit")
    suffix = path.suffix.lower()
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if suffix in PARQUET_SUFFIXES:
        table = _read_parquet(path, options)
    elif suffix in EXCEL_SUFFIXES:
        table = _read_excel(path, options)
    else:
        if head.startswith(b"PAR1"):
            raise VisitTableError(f"{path.name}: this is a Parquet file; name it *.parquet")
        if head.startswith(b"PK\x03\x04"):
            raise VisitTableError(
                f"{path.name}: this is a zip file, probably an Excel workbook; name it *.xlsx "
                f"(or save the sheet as CSV)"
            )
        table = _read_csv(path, head, options)
    return _apply_mapping(table, options)


# --- CSV --------------------------------------------------------------------------------------


def _read_csv(path: Path, head: bytes, options: ReadOptions) -> RawTable:
    name = path.name
    encoding = detect_encoding(name, head, options.encoding)
    text_head = decode_head(head, encoding).lstrip("\ufeff")
    separator, decimal, header = detect_dialect(
        name, text_head, options.separator, options.decimal, options.mapping.columns if options.mapping else ()
    )
    problems = _header_problems(name, header)
    if not header or all(not c for c in header):
        raise VisitTableError(f"{name}: the first line is empty; expected a header row and one row per visit")
    kit_name = _kit_names(header, options)
    if not set(kit_name.values()) & set(KIT_COLUMNS):
        found = ", ".join(repr(c) for c in header[:4])
        raise VisitTableError(
            f"{name}: not a visit table: its header ({found}) has none of the expected columns "
            f"{', '.join(KIT_COLUMNS[:9])}, ...; if it is one, check --sep and --mapping"
        )
    # unique internal names for pyarrow; duplicate and blank names were reported above
    names = [f"{c}\x00{i}" if (c in header[:i] or not c) else c for i, c in enumerate(header)]
    column_types = {
        n: (pa.string() if kit_name.get(c) in ID_COLUMNS else pa.float64())
        for n, c in zip(names, header)
        if kit_name.get(c) in KIT_COLUMNS
    }
    transcode = {} if encoding in ("utf-8", "utf-8-sig") else {"encoding": encoding}  # pyarrow skips a UTF-8 BOM
    read_options = pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24, **transcode)
    parse_options = pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True)
    convert = dict(
        null_values=_NULL_VALUES, strings_can_be_null=True, quoted_strings_can_be_null=True, decimal_point=decimal
    )

    def read(types):
        return pa_csv.read_csv(
            path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=pa_csv.ConvertOptions(column_types=types, **convert),
        )

    lines = _LineIndex(path, encoding, separator)
    try:
        table = read(column_types)
        unparsed = {}
    except pa.ArrowInvalid as error:
        message = str(error)
        if "UTF8" in message or "UTF-8" in message:
            locate_bad_utf8(path)
        if "CSV parse error" in message:
            raise VisitTableError(lines.explain_ragged(name, len(header), message)) from None
        if "conversion error" not in message:
            raise VisitTableError(f"{name}: not a well-formed CSV table ({message.strip()})") from None
        # a column did not parse: read numbers as text and locate the cells that fail
        try:
            table = read({n: pa.string() for n in column_types})
        except pa.ArrowInvalid as again:
            locate_bad_utf8(path)  # raises, located, when the text is not UTF-8
            raise VisitTableError(
                f"{name}: not a well-formed CSV table ({' '.join(str(again).split())[:200]})"
            ) from None
        table, unparsed = _convert_text_columns(
            table, [n for n, t in column_types.items() if t == pa.float64()], decimal
        )
    except UnicodeDecodeError as error:  # from a non-UTF-8 transcoding
        raise VisitTableError(f"{name}: not {encoding} text ({error.reason}); check --encoding") from None
    frame = table.to_pandas(split_blocks=True)  # no consolidation copy
    frame.columns = header
    unparsed = {header[names.index(n)]: v for n, v in unparsed.items()}
    frame, unparsed = _drop_empty_unnamed(frame, header, unparsed)
    notes = []
    if separator != "," and not options.separator:
        notes.append(
            f"{name}: read as {SEPARATORS.get(separator, repr(separator))}-separated"
            + (" with decimal commas" if decimal == "," else "")
        )
    return RawTable(frame, name, unparsed, lines.lines_of, decimal, notes, problems)


def _drop_empty_unnamed(frame: pd.DataFrame, header, unparsed):
    """A trailing separator on every line (header too) makes a nameless, empty last column: drop it."""
    keep = [i for i, c in enumerate(header) if c or frame.iloc[:, i].notna().any()]
    if len(keep) < len(header):
        frame = frame.iloc[:, keep]
    return frame, unparsed


def _header_problems(name: str, header: list[str]) -> list[str]:
    problems = []
    positions: dict[str, list[int]] = {}
    for i, column in enumerate(header):
        positions.setdefault(column, []).append(i + 1)
    for column, where in positions.items():
        if len(where) > 1 and column:
            problems.append(
                f"{name}: column {column!r} appears {len(where)} times (columns "
                f"{', '.join(map(str, where))}); expected each column once"
            )
    return problems


def _kit_names(header, options: ReadOptions) -> dict[str, str]:
    mapping = options.mapping.columns if options.mapping else {}
    return {c: mapping.get(c, c) for c in header}


def _convert_text_columns(table: pa.Table, numeric: list[str], decimal: str):
    """Text columns to float64; cells that are not numbers become null and are returned, located."""
    unparsed = {}
    for name in numeric:
        column = table.column(name)
        text = pc.utf8_trim_whitespace(column)
        lowered = pc.utf8_lower(text)
        blank = pc.or_kleene(pc.is_null(text), pc.is_in(lowered, value_set=pa.array(MISSING_TOKENS)))
        candidate = pc.if_else(blank, pa.scalar(None, pa.string()), text)
        if decimal == ",":  # a decimal point in a decimal-comma file is not a number there (as pyarrow reads it)
            candidate = pc.if_else(
                pc.match_substring(candidate, "."), pa.scalar("not a number"), pc.replace_substring(candidate, ",", ".")
            )
        values = pd.to_numeric(candidate.to_pandas(), errors="coerce").astype(float)
        bad = values.isna().to_numpy() & ~blank.to_numpy(zero_copy_only=False).astype(bool)
        if bad.any():
            positions = np.flatnonzero(bad)
            raw = column.take(pa.array(positions[:_KEEP_BAD])).to_pylist()
            unparsed[name] = (positions, raw)
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values.to_numpy(), pa.float64()))
    return table, unparsed


_KEEP_BAD = 20


class _LineIndex:
    """File line of each row, counting quoted multi-line fields, read only when an error needs it."""

    def __init__(self, path: Path, encoding: str, separator: str):
        self.path, self.encoding, self.separator = path, encoding, separator

    def _records(self):
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=self.separator)
            previous_end = 0
            for record in reader:
                if record:  # pyarrow skips empty lines, so rows are counted without them
                    yield previous_end + 1, record
                previous_end = reader.line_num

    def lines_of(self, positions) -> list[int | None]:
        wanted = sorted(set(int(p) + 1 for p in positions))  # record 0 is the header
        found, last = {}, wanted[-1] if wanted else -1
        for index, (line, _) in enumerate(self._records()):
            if index in wanted:
                found[index] = line
            if index >= last:
                break
        return [found.get(int(p) + 1) for p in positions]

    def explain_ragged(self, name: str, n_header: int, message: str = "") -> str:
        bad: list[str] = []
        total, trailing = 0, 0
        for index, (line, record) in enumerate(self._records()):
            if index == 0 or len(record) == n_header or not record:
                continue
            total += 1
            trailing += len(record) == n_header + 1 and record[-1].strip() == ""
            if len(bad) < 3:
                bad.append(f"line {line} has {len(record)}")
        if not bad:
            return f"{name}: not a well-formed CSV table ({' '.join(message.split())[:200]})"
        text = f"{name}: not a well-formed CSV table: the header has {n_header} fields but " + ", ".join(bad)
        if total > len(bad):
            text += f" (and {total - len(bad)} more rows)"
        if trailing == total and total:
            sep = SEPARATORS.get(self.separator, repr(self.separator))
            text += f"; every such row ends with an extra empty field (a trailing {sep}): remove it or name the column"
        return text


# --- Parquet and Excel -----------------------------------------------------------------------


def _read_parquet(path: Path, options: ReadOptions) -> RawTable:
    import pyarrow.parquet as pq

    from ivig_kit.score.spreadsheets import ReadLimits, check_parquet, nested_type

    schema = check_parquet(path, options.limits or ReadLimits.from_environment())
    nested = [(i, f) for i, f in enumerate(schema) if nested_type(f.type)]
    kit_nested = [
        f"column {f.name!r} (position {i + 1}) is a nested Parquet type ({str(f.type)[:80]})"
        for i, f in nested
        if _kit_names([f.name], options).get(f.name) in KIT_COLUMNS
    ]
    if kit_nested:
        raise VisitTableError(
            "\n".join(f"{path.name}: {text}; expected one number or text per cell" for text in kit_nested[:10])
        )
    try:
        table = pq.read_table(path, columns=[f.name for f in schema if not nested_type(f.type)] if nested else None)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise VisitTableError(
            f"{path.name}: not a readable Parquet table ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    header = [str(c) for c in table.column_names]
    problems = _header_problems(path.name, header)
    columns, unparsed = {}, {}
    for i, column in enumerate(header):
        array = table.column(i)
        try:
            if column in ID_COLUMNS:
                array = _identifier_text(array)
            elif column in NUMERIC_COLUMNS and (
                pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_decimal(array.type)
            ):
                array = array.cast(pa.float64())
            elif column in NUMERIC_COLUMNS:
                converted, bad = _convert_text_columns(pa.table({"c": array.cast(pa.string())}), ["c"], ".")
                array = converted.column(0)
                if bad:
                    unparsed[column] = bad["c"]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, VisitTableError) as error:
            raise VisitTableError(
                f"{path.name}: column {column!r} (type {str(array.type)[:60]}) cannot be read as "
                f"numbers or text ({str(error)[:120]})"
            ) from None
        columns[f"{column}\x00{i}" if column in columns else column] = array
    frame = pa.table(columns).to_pandas(split_blocks=True)
    frame.columns = header
    notes = [
        f"{path.name}: column {f.name!r} is a nested Parquet type ({str(f.type)[:80]}); not a kit column, left out"
        for _, f in nested
    ]
    return RawTable(frame, path.name, unparsed, None, ".", notes, problems)


def _identifier_text(array) -> pa.ChunkedArray:
    """Identifiers as text; integers become their digits (never padded), floats like 12.0 become 12."""
    if pa.types.is_floating(array.type):
        values = array.to_numpy()
        whole = np.isfinite(values) & (values == np.round(values))
        text = [None if v != v else (str(int(v)) if w else repr(float(v))) for v, w in zip(values, whole)]
        return pa.chunked_array([pa.array(text, pa.string())])
    try:
        return array.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise VisitTableError(
            f"an identifier column of type {array.type} cannot be read as text ({str(error)[:120]})"
        ) from None


def _read_excel(path: Path, options: ReadOptions) -> RawTable:
    from ivig_kit.score.spreadsheets import ReadLimits, read_sheet_rows

    header, numbered = read_sheet_rows(path, options.sheet, options.limits or ReadLimits.from_environment())
    sheet_rows = [number for number, _ in numbered]
    body = [row for _, row in numbered]
    problems = _header_problems(path.name, header)
    kit_name = _kit_names(header, options)
    columns, unparsed = {}, {}
    for i, column in enumerate(header):
        values = [row[i] if i < len(row) else None for row in body]
        key = f"{column}\x00{i}"
        target = kit_name.get(column)
        if target in ID_COLUMNS:
            columns[key] = pa.array(
                [
                    None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                    for v in values
                ],
                pa.string(),
            )
        elif target in NUMERIC_COLUMNS:
            numbers = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in values]
            text = [None if v is None else str(v) for v, n in zip(values, numbers)]
            as_text = [t if n is None else None for t, n in zip(text, numbers)]
            converted, bad = _convert_text_columns(pa.table({"c": pa.array(as_text, pa.string())}), ["c"], ".")
            parsed = converted.column(0).to_numpy()
            columns[key] = pa.array(
                np.where(np.isnan(np.array(numbers, dtype=float)), parsed, np.array(numbers, dtype=float)), pa.float64()
            )
            if bad:
                unparsed[column] = bad["c"]
        else:
            columns[key] = pa.array([None if v is None else str(v) for v in values], pa.string())
    frame = pa.table(columns).to_pandas() if columns else pd.DataFrame()
    frame.columns = header

    def lines_of(positions):  # the sheet's own row numbers (empty rows are skipped)
        return [sheet_rows[int(p)] for p in positions]

    table = RawTable(frame, path.name, unparsed, None, ".", [], problems)
    table.line_of_row = lines_of
    return table


# --- Mapping and units -------------------------------------------------------------------------


def _apply_mapping(table: RawTable, options: ReadOptions) -> RawTable:
    mapping = options.mapping
    frame = table.frame
    if mapping is not None:
        absent = [c for c in mapping.columns if c not in frame.columns]
        problems = [
            f"{mapping.source}: column {c!r} (-> {mapping.columns[c]!r}) is not in {table.source}; "
            f"its columns are {', '.join(map(repr, list(frame.columns)[:12]))}"
            for c in absent
        ]
        clashes = [t for s, t in mapping.columns.items() if s != t and t in frame.columns and s in frame.columns]
        problems += [
            f"{mapping.source}: {t!r} is mapped from another column but {table.source} has a {t!r} column "
            f"too; map or rename one of them"
            for t in clashes
        ]
        if problems:
            raise VisitTableError("\n".join(problems))
        frame = frame.rename(columns=mapping.columns)
        table.unparsed = {mapping.columns.get(c, c): v for c, v in table.unparsed.items()}
        for target, value in mapping.constants.items():
            if target in frame.columns:
                raise VisitTableError(f"{mapping.source}: constant {target!r}: {table.source} has that column already")
            frame[target] = value
    for column in VAS_COLUMNS:
        unit = (mapping.units.get(column) if mapping else None) or options.vas_unit
        if column in frame.columns and VAS_UNITS[unit] != 1.0 and pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column] / round(1 / VAS_UNITS[unit])
    table.frame = frame
    return table
