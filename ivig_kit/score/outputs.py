"""Writing a score table: CSV (pyarrow's columnar writer), Parquet or Excel, chosen by the file name.

Values are written as data, never as instructions: identifiers and every other text cell stay
text (in Excel ``001`` stays ``001`` and ``=HYPERLINK(...)`` stays a string, not a formula).
Percentages are rounded to 2 decimals and the enzyme's baseline multiple of its ULN to 3 for
reading; points, totals and weeks are written as computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ivig_kit.errors import InputError
from ivig_kit.score.file_kinds import OUTPUT_FORMATS

#: Decimals of the rounded output columns (by suffix); the rest are written as computed.
OUTPUT_DECIMALS = {"_percent": 2, "_x_uln": 3}
#: Rows of an Excel sheet, less the header.
EXCEL_MAX_ROWS = 1_048_575


def output_format(path) -> str:
    """The format a path asks for, by its suffix; an :class:`InputError` for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(
            f"--out {path}: unknown output format {suffix or '(no suffix)'!r}; name it *.csv, *.parquet or *.xlsx"
        )
    return OUTPUT_FORMATS[suffix]


def rounded_for_output(scores: pd.DataFrame) -> pd.DataFrame:
    """A copy with the display-rounded columns rounded (the scores themselves are unchanged)."""
    rounded = {}
    for column in scores.columns:
        for suffix, decimals in OUTPUT_DECIMALS.items():
            if str(column).endswith(suffix) and pd.api.types.is_float_dtype(scores[column]):
                rounded[column] = scores[column].round(decimals)
    return scores.assign(**rounded) if rounded else scores


def scores_to_arrow(scores: pd.DataFrame) -> pa.Table:
    """The score table as an Arrow table: categories as text, identifiers as text."""
    table = pa.Table.from_pandas(rounded_for_output(scores), preserve_index=False)
    return table.replace_schema_metadata(None)


def write_scores(scores: pd.DataFrame, path) -> None:
    """Write ``scores`` to ``path`` as CSV, Parquet or Excel (by suffix), directly: callers make it atomic."""
    path = Path(path)
    kind = output_format(path)
    if kind == "Excel":
        _write_excel(scores, path)
        return
    table = scores_to_arrow(scores)
    if kind == "CSV":
        _write_csv(table, path)
    else:
        import pyarrow.parquet as pq

        pq.write_table(table, path)


_BOOLEAN_WORDS = pa.array(["false", "true"])


def _number_text(value: float) -> str:
    """A number as pyarrow's CSV writer writes it: shortest round trip, no ``.0`` on whole numbers."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


#: Texts of the numbers the score table repeats most: multiples of 0.5 in 0-2600 (points, totals,
#: weeks) and of 0.01 in -100..100 (percentages of an instrument's range, rounded for output).
_WORDS = {2: (0, 2600), 100: (-100, 100)}
_DICTIONARIES: dict[int, pa.Array] = {}


def _as_words(column: pa.ChunkedArray):
    """A float column as a dictionary of its texts when every value is on a grid of ``_WORDS``, else None.

    The same text pyarrow writes for each number, from a lookup instead of formatting every double:
    the CSV writer's most expensive work.
    """
    values = column.to_numpy()
    known = ~np.isnan(values)
    for per_unit, (low, high) in _WORDS.items():
        scaled = values[known] * per_unit
        if not ((scaled == np.rint(scaled)).all() and (values[known] >= low).all() and (values[known] <= high).all()):
            continue
        if per_unit not in _DICTIONARIES:
            _DICTIONARIES[per_unit] = pa.array(
                [_number_text(k / per_unit) for k in range(low * per_unit, high * per_unit + 1)]
            )
        codes = np.zeros(len(values), dtype=np.int32)
        codes[known] = np.rint(scaled).astype(np.int32) - low * per_unit
        return pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(codes, mask=~known), _DICTIONARIES[per_unit])])
    return None


def _write_csv(table: pa.Table, path: Path, rows_per_piece: int = 100_000) -> None:
    """pyarrow's CSV writer on slices of rows, formatted on all cores and written in order.

    Booleans are written as ``true``/``false`` through a two-word dictionary (half the cost of
    pyarrow's boolean formatting), points, totals, weeks and percentages through dictionaries of their
    texts; values are quoted only in slices where some value needs quotes; the header is written once,
    quoted only where needed.
    """
    import csv
    import io
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.csv as pa_csv

    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type) and (words := _as_words(table.column(i))) is not None:
            table = table.set_column(i, field.name, words)
        if pa.types.is_boolean(field.type):
            column = table.column(i)
            words = [
                pa.DictionaryArray.from_arrays(
                    pa.array(
                        np.asarray(chunk.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.int8),
                        mask=chunk.is_null().to_numpy(zero_copy_only=False),
                    ),  # null: unknown, written empty
                    _BOOLEAN_WORDS,
                )
                for chunk in column.chunks
            ]
            table = table.set_column(i, field.name, pa.chunked_array(words, pa.dictionary(pa.int8(), pa.string())))
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)

    def piece(start: int) -> pa.Buffer:
        rows = table.slice(start, rows_per_piece)
        try:  # unquoted where no value needs quotes (pyarrow refuses, rather than corrupts, if one does)
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(rows, sink, write_options=pa_csv.WriteOptions(include_header=False, quoting_style="none"))
        except pa.ArrowInvalid:
            sink = pa.BufferOutputStream()
            options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
            pa_csv.write_csv(rows, sink, write_options=options)
        return sink.getvalue()

    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    try:
        with open(path, "wb") as handle:
            handle.write(header.getvalue().encode("utf-8"))
            for buffer in pool.map(piece, range(0, table.num_rows, rows_per_piece)):  # in order, computed ahead
                handle.write(buffer)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C or a full disk, format no further pieces


def _write_excel(scores: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if len(scores) > EXCEL_MAX_ROWS:
        raise InputError(
            f"--out {path.name}: {len(scores):,} rows do not fit in an Excel sheet "
            f"({EXCEL_MAX_ROWS:,} at most); write *.csv or *.parquet"
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("scores")
    sheet.append([str(c) for c in scores.columns])
    table = rounded_for_output(scores)
    columns: list[list[object]] = []
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_bool_dtype(values):
            columns.append([None if v is pd.NA else bool(v) for v in values.astype(object).tolist()])  # NA: unknown
        elif pd.api.types.is_numeric_dtype(values):
            array = values.to_numpy(dtype=float)
            columns.append(
                [
                    None if np.isnan(v) else (int(v) if v.is_integer() and abs(v) < 2**53 else float(v))
                    for v in array.tolist()
                ]
            )
        else:
            columns.append([None if v is None or v != v else str(v) for v in values.astype(object).tolist()])

    def text_cell(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # a string, even if it starts with '=' (never a formula)
        return cell

    for row in zip(*columns):
        sheet.append([text_cell(v) if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    workbook.save(path)
