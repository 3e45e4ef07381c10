"""Spreadsheets and columnar files read with a bounded cost: Excel ``.xlsx`` and Parquet (and the caps a CSV
read with pandas is held to: its size before reading, its rows and columns as read).

A 2 MB ``.xlsx`` can hold 2 GB of sheet XML (it is a zip), and its declared dimension (``A1:XFD1048576``) can
ask a reader to pad every row to 16,384 cells. So, before anything is parsed, the zip's directory is
checked against :class:`ReadLimits` (uncompressed size, compression ratio, number of members); the sheet is
then read streaming (openpyxl ``read_only``) with its declared dimension ignored, only the rows and cells
that exist, and caps on rows and columns. A Parquet file's metadata (rows, uncompressed bytes, nested
types) is checked the same way before its data is read. Every refusal names the cap and how to raise it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from pathlib import Path

from ivig_kit.errors import VisitTableError


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclasses.dataclass(frozen=True)
class ReadLimits:
    """Caps on what one input file may cost; each can be raised with the environment variable in brackets.

    ``max_uncompressed_mb`` [``IVIG_KIT_MAX_UNCOMPRESSED_MB``, 256]: the .xlsx's members (sheet XML, shared
    strings) together, or a Parquet file's data, once uncompressed. ``max_ratio`` [``IVIG_KIT_MAX_XLSX_RATIO``,
    100]: uncompressed / compressed size of any .xlsx member over 1 MB. ``max_rows``
    [``IVIG_KIT_MAX_ROWS``, 1,048,576, Excel's own]: rows of a sheet or Parquet table. ``max_columns``
    [``IVIG_KIT_MAX_COLUMNS``, 1,000]: columns of a sheet or Parquet table.
    """

    max_uncompressed_mb: int = 256
    max_ratio: int = 100
    max_rows: int = 1_048_576
    max_columns: int = 1_000
    max_members: int = 10_000

    @classmethod
    def from_environment(cls) -> ReadLimits:
        """The defaults, each overridden by its environment variable when that holds a whole number > 0."""
        return cls(
            _env_int("IVIG_KIT_MAX_UNCOMPRESSED_MB", cls.max_uncompressed_mb),
            _env_int("IVIG_KIT_MAX_XLSX_RATIO", cls.max_ratio),
            _env_int("IVIG_KIT_MAX_ROWS", cls.max_rows),
            _env_int("IVIG_KIT_MAX_COLUMNS", cls.max_columns),
        )


_RAISE = {
    "max_uncompressed_mb": "IVIG_KIT_MAX_UNCOMPRESSED_MB",
    "max_ratio": "IVIG_KIT_MAX_XLSX_RATIO",
    "max_rows": "IVIG_KIT_MAX_ROWS",
    "max_columns": "IVIG_KIT_MAX_COLUMNS",
}


def _over(
    name: str, what: str, cap: str, limit: str, value: int, instead: str = "save the sheet as CSV"
) -> VisitTableError:
    return VisitTableError(
        f"{name}: {what}, over the cap of {cap}; if the file is genuine, raise it with "
        f"{_RAISE[limit]}={value}" + (f" (or {instead})" if instead else "")
    )


def check_text_size(path: Path, limits: ReadLimits) -> None:
    """Refuse a text table (CSV) over ``limits.max_uncompressed_mb`` from its size on disk (a text file is its
    own uncompressed size), before any of it is read."""
    size = path.stat().st_size
    if size > limits.max_uncompressed_mb * 1024 * 1024:
        raise _over(
            path.name,
            f"the file is {size / 1e6:,.0f} MB",
            f"{limits.max_uncompressed_mb} MB",
            "max_uncompressed_mb",
            -(-size // (1024 * 1024)),
            instead="",
        )


def check_rows_read(name: str, rows: int, columns: int, limits: ReadLimits) -> None:
    """Refuse a text table read with at most ``limits.max_rows + 1`` rows (``nrows``) that has more than
    ``max_rows`` rows or more than ``max_columns`` columns."""
    if rows > limits.max_rows:
        raise _over(
            name,
            f"more than {limits.max_rows:,} rows",
            f"{limits.max_rows:,} rows",
            "max_rows",
            limits.max_rows * 2,
            instead="",
        )
    if columns > limits.max_columns:
        raise _over(name, f"{columns:,} columns", f"{limits.max_columns:,} columns", "max_columns", columns, instead="")


def check_xlsx_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse an .xlsx whose zip directory declares more than ``limits`` allow, before any XML is parsed.

    The declared sizes bound the real cost: Python's zip reader never returns more bytes than a member
    declares (and checks its CRC)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise VisitTableError(f"{path.name}: not a readable Excel workbook (not a zip file: {error})") from None
    if len(members) > limits.max_members:
        raise VisitTableError(
            f"{path.name}: {len(members):,} members in the workbook's zip; an Excel workbook has at most a few hundred"
        )
    total = sum(m.file_size for m in members)
    cap = limits.max_uncompressed_mb * 1024 * 1024
    if total > cap:
        needed = -(-total // (1024 * 1024))
        raise _over(
            path.name,
            f"the workbook is {total / 1e6:,.0f} MB once uncompressed",
            f"{limits.max_uncompressed_mb} MB",
            "max_uncompressed_mb",
            needed,
        )
    for member in members:
        if member.file_size > 1024 * 1024:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_ratio:
                raise _over(
                    path.name,
                    f"{member.filename} is compressed {ratio:,.0f} to 1 "
                    f"({member.file_size / 1e6:,.0f} MB from {member.compress_size / 1e6:,.1f} MB)",
                    f"{limits.max_ratio} to 1",
                    "max_ratio",
                    int(ratio) + 1,
                )


def read_sheet_rows(path: Path, sheet_name: str | None, limits: ReadLimits) -> tuple[list[str], list[tuple]]:
    """The header and the non-empty rows of a sheet, streamed; the declared dimension is ignored (only cells
    that exist are read), and a row or column beyond ``limits`` stops the reading with a located error."""
    import openpyxl

    check_xlsx_zip(path, limits)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for a broken file
        raise VisitTableError(
            f"{path.name}: not a readable Excel workbook ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    try:
        if sheet_name is not None and sheet_name not in workbook.sheetnames:
            raise VisitTableError(f"{path.name}: no sheet {sheet_name!r}; sheets: {', '.join(workbook.sheetnames)}")
        sheet = workbook[sheet_name] if sheet_name is not None else workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row to 16,384 cells
        header_row, body, width, empty_run, checked = None, [], 0, 0, False
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if empty_run >= EMPTY_ROWS_CHECK and not checked:  # a long run of empty rows: is there more?
                    checked = True
                    last = _last_cell_row(path, getattr(sheet, "_worksheet_path", None))
                    if last is not None and last < number:
                        break  # nothing but empty rows to the end: not worth parsing them
                if number > limits.max_rows:
                    raise _over(
                        path.name,
                        f"sheet {sheet.title!r} has more than {limits.max_rows:,} rows",
                        f"{limits.max_rows:,} rows",
                        "max_rows",
                        limits.max_rows * 2,
                    )
                if len(row) > limits.max_columns and any(v is not None for v in row[limits.max_columns :]):
                    raise _over(
                        path.name,
                        f"sheet {sheet.title!r}, row {number}: a cell in column {len(row):,}",
                        f"{limits.max_columns:,} columns",
                        "max_columns",
                        len(row),
                    )
                if header_row is None:
                    if number == 1:
                        header_row = row
                        width = len(row)
                    continue
                if any(v is not None and v != "" for v in row):
                    body.append((number, row[:width]))
                    empty_run = 0
                else:
                    empty_run += 1
        except VisitTableError:
            raise
        except Exception as exc:  # broken XML inside a valid zip
            raise VisitTableError(
                f"{path.name}: not a readable Excel workbook ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        if header_row is None:
            raise VisitTableError(f"{path.name}: the sheet {sheet.title!r} is empty")
    finally:
        workbook.close()
    header = [("" if c is None else str(c)).strip() for c in header_row]
    while header and not header[-1]:
        header.pop()
    return header, body


#: After this many empty rows in a row, the rest of the sheet's XML is scanned (fast, without parsing) for cells.
EMPTY_ROWS_CHECK = 1000
_CELL = re.compile(rb"<(?:\w+:)?c[\s/>]")
_CELL_ROW = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="[A-Z]{1,3}([0-9]{1,7})"')


def _last_cell_row(path: Path, member: str | None) -> int | None:
    """The highest row number of any cell in the sheet's XML, found by a byte scan (no parsing); ``None`` when
    unknown (a cell without its ``r`` reference, or the sheet not found)."""
    if not member:
        return None
    last, overlap = 0, b""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as stream:
            while chunk := stream.read(1 << 20):
                text = overlap + chunk
                cut = max(len(overlap), len(text) - 256)  # a tag cut at the end is read with the next chunk
                end = text.rfind(b"<", cut)
                end = len(text) if end < 0 else end
                window = text[:end]
                if len(_CELL.findall(window)) != len(rows := _CELL_ROW.findall(window)):
                    return None
                last = max([last, *map(int, rows)])
                overlap = text[end:]
    except (KeyError, OSError, zipfile.BadZipFile, ValueError):
        return None
    return last


def check_parquet(path: Path, limits: ReadLimits):
    """The Parquet file's schema after its metadata is checked against ``limits`` (rows, columns, uncompressed
    bytes), before any data page is read."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise VisitTableError(
            f"{path.name}: not a readable Parquet table ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    if meta.num_rows > limits.max_rows:
        raise _over(path.name, f"{meta.num_rows:,} rows", f"{limits.max_rows:,} rows", "max_rows", meta.num_rows)
    if meta.num_columns > limits.max_columns:
        raise _over(
            path.name,
            f"{meta.num_columns:,} columns",
            f"{limits.max_columns:,} columns",
            "max_columns",
            meta.num_columns,
        )
    total = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
    if total > limits.max_uncompressed_mb * 1024 * 1024:
        raise _over(
            path.name,
            f"the table is {total / 1e6:,.0f} MB once uncompressed",
            f"{limits.max_uncompressed_mb} MB",
            "max_uncompressed_mb",
            -(-total // (1024 * 1024)),
        )
    return meta.schema.to_arrow_schema()


def nested_type(data_type) -> bool:
    """True for a Parquet/Arrow type that holds more than one value per cell (struct, list, map, union)."""
    import pyarrow as pa

    return pa.types.is_nested(data_type) or pa.types.is_union(data_type)
